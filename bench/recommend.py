"""Recommendations on several shapes of data: lithe's self-tuning two-tower model against
implicit's ALS and BPR tuned on the same validation slice with the same budget of fits,
and a popularity baseline.

    bench/run recommend.py [--shapes a,b,...] [--trials 3] [--threads 2] [--features]
                           [--ratings PATH] [--max-test-users 5000]

Shapes (--shapes, default all but the million-item set; `all` for every one):

- MovieLens 100k under four protocols: `ml100k-last` (each user's latest rating held out;
  train with timestamps), `ml100k-u1` (the official random 80/20 split u1.base/u1.test),
  `ml100k-ua` and `ml100k-ub` (the official splits holding out 10 ratings a user: ratings
  1-10 and 11-20 of each user in u.data's order, as the data's mku.sh makes them). The
  random and ua/ub splits are not in time order, so their train files carry no timestamp.
- MovieLens 100k subsampled to long-tail shapes, leave-last-out: `ml100k-sparse` (a random
  30 % of each user's ratings: fewer interactions per item and user) and `ml100k-flat`
  (an interaction on an item with c ratings kept with probability min(1, 10 / c)^0.75:
  the head flattened, the tail kept).
- Generated interactions with known structure (`gen-*`, leave-last-out, timestamps): items
  in taste clusters with Zipf popularity inside the catalogue, users with a few favourite
  clusters and lognormal activity; each next interaction stays in the user's current
  cluster with probability `stick` (sessions) or draws a cluster from the user's tastes.
  `gen-10k` (5,000 users x 10,000 items, ~20 a user, Zipf 0.9, stick 0.7),
  `gen-10k-static` (the same with stick 0: no order in time), `gen-10k-flat` (Zipf 0.3),
  `gen-10k-dense` (~80 a user), `gen-100k` (20,000 x 100,000, Zipf 1.0, ~20 a user) and
  `gen-1m` (30,000 x 1,000,000, Zipf 1.1, ~20 a user; only with --shapes naming it or all).
- `--ratings PATH`: a MovieLens ratings.csv of your own (userId,movieId,rating,timestamp;
  e.g. ml-latest-small), as shape `ratings`: every rating an interaction weighted by its
  value, each user's latest held out.

For every shape the script cuts one validation slice from the training data, the way lithe
cuts its own: each user's latest training interaction when there are timestamps (ties: the
last in the file, which is sorted by user, time and item), else a random 10 % of each
user's interactions (at least one, never all); users with one interaction are not scored;
at most lithe's cap of validation users (max(1000, 5e7 / items), at most 10,000; a seeded
sample). lithe gets it as `--valid` (and the rest as `--interactions`): it tunes on it and
refits on both; ALS and BPR run a coordinate search of the same number of fits (--trials)
on it, scored the same way (recall@10, ties to NDCG@10, training items excluded), then
refit the best on the whole training data. `lithe (own slice)` on ml100k-last is lithe
with nothing but its defaults (it cuts the slice itself). With --features, lithe also runs
on the MovieLens shapes with side features (`lithe + features`: users' age, gender,
occupation and zip-code prefix from u.user; items' release year and genres from u.item);
the peers use the interactions only.

Metrics on the test interactions, for up to --max-test-users test users (a seeded sample;
all of them on the MovieLens shapes): recall@10 (a user's held-out items in its top 10 over
its held-out items), NDCG@10 and catalogue coverage, training items excluded, every test
user counted. Train seconds: lithe's whole `recommend train` process (tuning and refit
included); the peers' tuning fits plus the final fit (Python process time of the fit calls).
"""
import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse
import json
import math
import sys
import time
from datetime import date

import numpy as np
import pandas as pd
import scipy.sparse as sp

from common import LITHE, OUT, SHARED, machine, run_measured

ML = SHARED / "movielens_100k"
WORK = OUT / "recommend"
K = 10
FACTORS = 64
SEED = 42
DEFAULT_SHAPES = ["ml100k-last", "ml100k-u1", "ml100k-ua", "ml100k-ub", "ml100k-sparse", "ml100k-flat",
                  "gen-10k", "gen-10k-static", "gen-10k-flat", "gen-10k-dense", "gen-100k"]
ALL_SHAPES = DEFAULT_SHAPES + ["gen-1m"]
GEN = {
    "gen-10k": dict(users=5_000, items=10_000, per_user=20, zipf=0.9, clusters=100, stick=0.7),
    "gen-10k-static": dict(users=5_000, items=10_000, per_user=20, zipf=0.9, clusters=100, stick=0.0),
    "gen-10k-flat": dict(users=5_000, items=10_000, per_user=20, zipf=0.3, clusters=100, stick=0.7),
    "gen-10k-dense": dict(users=5_000, items=10_000, per_user=80, zipf=0.9, clusters=100, stick=0.7),
    "gen-100k": dict(users=20_000, items=100_000, per_user=20, zipf=1.0, clusters=500, stick=0.7),
    "gen-1m": dict(users=30_000, items=1_000_000, per_user=20, zipf=1.1, clusters=2_000, stick=0.7),
}


# ---------------------------------------------------------------- data shapes

def read_ml(name):
    return pd.read_csv(ML / name, sep="\t", names=["user_id", "item_id", "rating", "timestamp"])


def last_out(df):
    """(rest, last): each user's latest interaction (ties: the larger item_id), the rest."""
    df = df.sort_values(["user_id", "timestamp", "item_id"], kind="mergesort")
    last = df.groupby("user_id", sort=False).tail(1)
    return df.drop(last.index), last


def generate(users, items, per_user, zipf, clusters, stick, seed):
    """Interactions (user_id, item_id, timestamp) from the cluster model described above."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, clusters, items)
    pop = 1.0 / (rng.permutation(items) + 1.0) ** zipf
    order = np.argsort(cluster, kind="stable")
    bounds = np.searchsorted(cluster[order], np.arange(clusters + 1))
    members = [order[bounds[c]:bounds[c + 1]] for c in range(clusters)]
    cum = [np.cumsum(pop[m]) for m in members]
    weight = np.array([c[-1] if len(c) else 0.0 for c in cum])
    n_of = np.maximum(2, np.round(rng.lognormal(np.log(per_user) - 0.5, 1.0, users))).astype(int)
    n_of = np.minimum(n_of, 20 * per_user)
    rows_u, rows_i, rows_t = [], [], []
    t0 = 0
    for u in range(users):
        fav = rng.choice(clusters, size=1 + rng.poisson(1.5), p=weight / weight.sum())
        taste = rng.dirichlet(np.ones(len(fav)))
        seen = set()
        c = fav[rng.choice(len(fav), p=taste)]
        for step in range(n_of[u]):
            if step and rng.random() >= stick:
                c = fav[rng.choice(len(fav), p=taste)]
            for _ in range(20):
                if len(members[c]) == 0:
                    break
                j = members[c][np.searchsorted(cum[c], rng.random() * cum[c][-1])]
                if j not in seen:
                    seen.add(j)
                    rows_u.append(u)
                    rows_i.append(j)
                    rows_t.append(t0 + step)
                    break
        t0 += n_of[u] + 1
    return pd.DataFrame({"user_id": rows_u, "item_id": rows_i, "timestamp": rows_t})


def make_shape(name, ratings_path=None):
    """(train, test, timed, has_weight) for a shape."""
    rng = np.random.default_rng(SEED)
    if name == "ml100k-last":
        tr, te = last_out(read_ml("u.data"))
        return tr, te, True
    if name == "ml100k-u1":
        return read_ml("u1.base"), read_ml("u1.test"), False
    if name in ("ml100k-ua", "ml100k-ub"):
        u = read_ml("u.data")
        k = u.groupby("user_id").cumcount()
        lo = 0 if name == "ml100k-ua" else 10
        held = (k >= lo) & (k < lo + 10)
        return u[~held], u[held], False
    if name == "ml100k-sparse":
        u = read_ml("u.data")
        keep = rng.random(len(u)) < 0.3
        tr, te = last_out(u[keep])
        return tr, te, True
    if name == "ml100k-flat":
        u = read_ml("u.data")
        c = u.groupby("item_id")["item_id"].transform("size").to_numpy()
        keep = rng.random(len(u)) < np.minimum(1.0, 10.0 / c) ** 0.75
        tr, te = last_out(u[keep])
        return tr, te, True
    if name in GEN:
        tr, te = last_out(generate(seed=SEED, **GEN[name]))
        tr["item_id"] = "i" + tr["item_id"].astype(str)
        te["item_id"] = "i" + te["item_id"].astype(str)
        return tr, te, True
    if name == "ratings":
        r = pd.read_csv(ratings_path).rename(columns={"userId": "user_id", "movieId": "item_id",
                                                      "rating": "weight"})
        tr, te = last_out(r)
        return tr, te, True
    raise SystemExit(f"unknown shape {name}")


def side_features(d):
    """user_features.csv (age, gender, occupation, the zip code's first three characters)
    and item_features.csv (release year, genres as `|`-separated tokens) from u.user and
    u.item, into `d`; returns lithe's flags for them."""
    users = pd.read_csv(ML / "u.user", sep="|", names=["user_id", "age", "gender", "occupation", "zip"])
    users["zip3"] = "z" + users["zip"].astype(str).str[:3]  # text, not a number
    users[["user_id", "age", "gender", "occupation", "zip3"]].to_csv(d / "user_features.csv", index=False)
    genres = [g for g, _ in (line.rsplit("|", 1) for line in (ML / "u.genre").read_text().splitlines() if line)]
    items = pd.read_csv(ML / "u.item", sep="|", encoding="latin-1", header=None,
                        names=["item_id", "title", "release", "video", "url", *genres])
    items["year"] = pd.to_datetime(items["release"], format="%d-%b-%Y", errors="coerce").dt.year
    items["genres"] = items[genres].apply(lambda r: "|".join(g.replace(" ", "_") for g in genres if r[g] == 1),
                                          axis=1)
    items[["item_id", "year", "genres"]].to_csv(d / "item_features.csv", index=False)
    return ["--user-features", str(d / "user_features.csv"), "--item-features", str(d / "item_features.csv")]


def max_valid_users(n_items):
    return int(min(max(50_000_000 // max(n_items, 1), 1_000), 10_000))


def valid_slice(train, timed):
    """(fit part, validation part) cut as lithe cuts its own slice."""
    rng = np.random.default_rng(SEED + 1)
    counts = train.groupby("user_id").size()
    eligible = counts.index[counts >= 2].to_numpy()
    cap = max_valid_users(train["item_id"].nunique())
    if len(eligible) > cap:
        eligible = np.sort(rng.choice(eligible, cap, replace=False))
    cand = train[train["user_id"].isin(eligible)]
    if timed:
        held = cand.sort_values(["user_id", "timestamp", "item_id"], kind="mergesort").groupby(
            "user_id", sort=False).tail(1).index
    else:
        held = []
        for _, g in cand.groupby("user_id", sort=False):
            h = min(max(1, round(len(g) * 0.1)), len(g) - 1)
            held.extend(rng.choice(g.index.to_numpy(), h, replace=False))
        held = pd.Index(held)
    return train.drop(held), train.loc[held]


# ---------------------------------------------------------------- metrics

def metrics(recs, test, n_items):
    """recall@K, NDCG@K, coverage of top-K lists; every test user counts."""
    recs = recs.rename(columns=str.strip).sort_values(["user_id", "rank"], kind="mergesort")
    recs = recs[recs.groupby("user_id").cumcount() < K].copy()
    recs["pos"] = recs.groupby("user_id").cumcount() + 1
    rel = test[["user_id", "item_id"]].drop_duplicates()
    n_rel = rel.groupby("user_id").size()
    hits = recs.merge(rel, on=["user_id", "item_id"])
    rec = (hits.groupby("user_id").size() / n_rel).reindex(n_rel.index).fillna(0.0)
    dcg = (1.0 / np.log2(hits["pos"] + 1)).groupby(hits["user_id"]).sum().reindex(n_rel.index).fillna(0.0)
    idcg = n_rel.apply(lambda n: sum(1.0 / math.log2(r + 2) for r in range(min(n, K))))
    return {"recall": float(rec.mean()), "ndcg": float((dcg / idcg).mean()),
            "coverage": recs["item_id"].nunique() / max(n_items, 1)}


# ---------------------------------------------------------------- peers

def matrix(train, items=None):
    users, u = np.unique(train["user_id"].to_numpy(), return_inverse=True)
    if items is None:
        items = np.unique(train["item_id"].to_numpy())
    i = np.searchsorted(items, train["item_id"].to_numpy())
    w = train["weight"].to_numpy(np.float32) if "weight" in train else np.ones(len(train), np.float32)
    m = sp.csr_matrix((w, (u, i)), shape=(len(users), len(items)))
    m.sum_duplicates()
    return m, users, items


def peer_model(kind, params, threads):
    import implicit.cpu.als
    import implicit.cpu.bpr
    cls = {"als": implicit.cpu.als.AlternatingLeastSquares, "bpr": implicit.cpu.bpr.BayesianPersonalizedRanking}
    return cls[kind](factors=FACTORS, random_state=SEED, num_threads=threads, **params)


def peer_fit(kind, params, m, threads):
    from threadpoolctl import threadpool_limits
    model = peer_model(kind, params, threads)
    with threadpool_limits(1, "blas"):
        t0 = time.perf_counter()
        model.fit(m, show_progress=False)
        return model, time.perf_counter() - t0


def top_k(kind, model, m, users, items, query):
    """Top-K (user_id, rank, item_id, score) for the query users known in `users`."""
    pos = np.searchsorted(users, query)
    known = (pos < len(users)) & (users[np.minimum(pos, len(users) - 1)] == query)
    q, pos = query[known], pos[known]
    if kind == "popularity":
        counts = np.asarray((m > 0).sum(axis=0)).ravel()
        order = np.lexsort((np.arange(len(items)), -counts))
        ids = np.empty((len(q), K), dtype=np.int64)
        for r, p in enumerate(pos):
            seen = set(m.indices[m.indptr[p]:m.indptr[p + 1]])
            ids[r] = [j for j in order[:K + len(seen)] if j not in seen][:K]
        scores = counts[ids].astype(float)
    else:
        ids, scores = [], []
        for a in range(0, len(pos), 2048):
            i_, s_ = model.recommend(pos[a:a + 2048], m[pos[a:a + 2048]], N=K, filter_already_liked_items=True)
            ids.append(i_)
            scores.append(s_)
        ids = np.vstack(ids) if ids else np.zeros((0, K), dtype=np.int64)
        scores = np.vstack(scores) if scores else np.zeros((0, K))
    ok = ids >= 0
    return pd.DataFrame({
        "user_id": np.repeat(q, K).reshape(-1, K)[ok],
        "rank": np.tile(np.arange(1, K + 1), (len(q), 1))[ok],
        "item_id": items[np.where(ok, ids, 0)][ok],
        "score": np.asarray(scores, dtype=float)[ok],
    })


PEER_BASE = {
    "als": {"regularization": 0.01, "alpha": 1.0, "iterations": 15},
    "bpr": {"learning_rate": 0.01, "regularization": 0.01, "iterations": 100},
}
# Each setting's two directions, in turn; a move that helps is repeated (as lithe's search).
PEER_MOVES = {
    "als": [("regularization", 10.0), ("regularization", 0.1), ("alpha", 10.0), ("alpha", 0.1),
            ("iterations", 2.0), ("iterations", 0.5)],
    "bpr": [("learning_rate", 2.0), ("learning_rate", 0.5), ("regularization", 10.0),
            ("regularization", 0.1), ("iterations", 2.0), ("iterations", 0.5)],
}


def peer_search(kind, fit_part, val, threads, budget):
    """Coordinate search of `budget` fits on the validation slice; (best params, seconds, log)."""
    items = np.unique(np.concatenate([fit_part["item_id"].to_numpy(), val["item_id"].to_numpy()]))
    m, users, _ = matrix(fit_part, items)
    q = val["user_id"].unique()
    secs, log = 0.0, []

    def score(params):
        nonlocal secs
        model, s = peer_fit(kind, params, m, threads)
        secs += s
        r = metrics(top_k(kind, model, m, users, items, q), val, len(items))
        log.append((params, r["recall"], r["ndcg"]))
        return (r["recall"], r["ndcg"])

    best = dict(PEER_BASE[kind])
    best_s = score(best)
    moved = set()
    for key, f in PEER_MOVES[kind]:
        if key in moved:
            continue
        while len(log) < budget:
            p = dict(best)
            p[key] = max(1, int(round(p[key] * f))) if key == "iterations" else p[key] * f
            s = score(p)
            if s <= best_s:
                break
            best, best_s = p, s
            moved.add(key)
    return best, secs, log


# ---------------------------------------------------------------- runs

def run_lithe(d, threads, trials, use_valid, test, n_items, query, extra=()):
    model = d / "lithe.model"
    args = [str(LITHE), "recommend", "train", "--out", str(model), "--threads", str(threads),
            "--seed", str(SEED), "--quiet", "--trials", str(trials), *extra]
    if use_valid:
        args += ["--interactions", str(d / "fit.csv"), "--valid", str(d / "valid.csv")]
    else:
        args += ["--interactions", str(d / "train.csv")]
    out, secs, rss = run_measured(args)
    info = json.loads(out)
    pd.DataFrame({"user_id": query}).to_csv(d / "users.csv", index=False)
    recs = d / "recs_lithe.csv"
    run_measured([str(LITHE), "recommend", "query", "--model", str(model), "--users", str(d / "users.csv"),
                  "--k", str(K), "--exclude-seen", "--out", str(recs), "--threads", str(threads)])
    r = metrics(pd.read_csv(recs, dtype={"user_id": str, "item_id": str}), test, n_items)
    tuning = info.get("tuning", {})
    return {**r, "train_s": secs, "peak_rss_mb": rss / 1e6,
            "chosen": {k: info.get(k) for k in ("dim", "epochs", "learning_rate", "temperature", "l2", "recent")},
            "valid_recall": tuning.get("valid_recall@10"), "tuning_s": tuning.get("seconds")}


def run_shape(name, a):
    d = WORK / name
    d.mkdir(parents=True, exist_ok=True)
    train, test, timed = make_shape(name, a.ratings)
    weighted = "weight" in train
    cols = ["user_id", "item_id"] + (["weight"] if weighted else []) + (["timestamp"] if timed else [])
    train = train.sort_values(["user_id", "timestamp", "item_id"] if timed else ["user_id"], kind="mergesort")
    fit_part, val = valid_slice(train, timed)
    for df, f in [(train, "train.csv"), (fit_part, "fit.csv"), (val, "valid.csv")]:
        df[cols].to_csv(d / f, index=False)
    # Ids as text on both sides (lithe reads ids as text).
    for df in (train, test, fit_part, val):
        df["user_id"] = df["user_id"].astype(str)
        df["item_id"] = df["item_id"].astype(str)
    test = test[test["user_id"].isin(set(train["user_id"]))]
    query = test["user_id"].unique()
    if len(query) > a.max_test_users and not name.startswith("ml100k"):
        query = np.sort(np.random.default_rng(SEED + 2).choice(query, a.max_test_users, replace=False))
        test = test[test["user_id"].isin(set(query))]
    n_items = train["item_id"].nunique()
    head = (f"{name}: {len(train):,} training interactions, {train['user_id'].nunique():,} users, {n_items:,} "
            f"items; {len(test):,} test interactions of {len(query):,} users; validation {len(val):,} "
            f"interactions of {val['user_id'].nunique():,} users ({'latest' if timed else 'random 10 %'})")
    print(head, file=sys.stderr, flush=True)
    rows = []
    runs = [("lithe", True, [])] + ([("lithe (own slice)", False, [])] if name == "ml100k-last" else [])
    if a.features and name.startswith("ml100k"):
        runs.append(("lithe + features", True, side_features(d)))
    for label, use_valid, extra in runs:
        try:
            rows.append({"method": label, **run_lithe(d, a.threads, a.trials, use_valid, test, n_items, query,
                                                      extra)})
        except (RuntimeError, OSError, ValueError, KeyError) as e:
            rows.append({"method": label, "error": str(e)[-400:]})
        print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    for kind in ["als", "bpr"]:
        params, tune_s, log = peer_search(kind, fit_part, val, a.threads, a.trials)
        m, users, items = matrix(train)
        model, fit_s = peer_fit(kind, params, m, a.threads)
        r = metrics(top_k(kind, model, m, users, items, query), test, n_items)
        rows.append({"method": {"als": "implicit ALS", "bpr": "implicit BPR"}[kind], **r,
                     "train_s": tune_s + fit_s, "chosen": params,
                     "valid_recall": max(x[1] for x in log)})
        print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    m, users, items = matrix(train)
    rows.append({"method": "popularity", **metrics(top_k("popularity", None, m, users, items, query), test,
                                                   n_items)})
    return {"shape": name, "head": head, "rows": rows}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shapes", default=",".join(DEFAULT_SHAPES))
    ap.add_argument("--trials", type=int, default=3, help="fits each method may spend on validation (lithe's default)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ratings", help="a MovieLens ratings.csv to add as shape 'ratings'")
    ap.add_argument("--features", action="store_true", help="also lithe with side features (MovieLens shapes)")
    ap.add_argument("--max-test-users", type=int, default=5000)
    a = ap.parse_args()
    shapes = ALL_SHAPES if a.shapes == "all" else a.shapes.split(",")
    if a.ratings and "ratings" not in shapes:
        shapes.append("ratings")
    results = [run_shape(s, a) for s in shapes]
    (OUT / "recommend.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"Recommendations on several shapes — {date.today()}; {machine()}; {a.threads} threads; "
          f"{a.trials} fits of tuning each\n")
    print(f"| shape | lithe recall@{K} | ALS | BPR | popularity | lithe / ALS | lithe / BPR | lithe NDCG / ALS "
          f"| lithe train s | ALS train s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    wins = 0
    for res in results:
        by = {r["method"]: r for r in res["rows"]}
        li, al, bp, po = by.get("lithe", {}), by["implicit ALS"], by["implicit BPR"], by["popularity"]
        if "recall" not in li:
            print(f"| {res['shape']} | failed | {al['recall']:.4f} | {bp['recall']:.4f} | {po['recall']:.4f} | | | | | |")
            continue
        ratio = li["recall"] / al["recall"] if al["recall"] else float("inf")
        wins += ratio >= 1.1
        print(f"| {res['shape']} | {li['recall']:.4f} | {al['recall']:.4f} | {bp['recall']:.4f} | {po['recall']:.4f} "
              f"| {ratio:.2f} | {li['recall'] / bp['recall'] if bp['recall'] else float('inf'):.2f} "
              f"| {li['ndcg'] / al['ndcg'] if al['ndcg'] else float('inf'):.2f} | {li['train_s']:.1f} "
              f"| {al['train_s']:.1f} |")
    print(f"\nlithe ≥ 1.1 × ALS on {wins} of {len(results)} shapes.")
    for res in results:
        print(f"\n- {res['head']}")
        for r in res["rows"]:
            if "chosen" in r:
                extra = f", lithe's tuning {r['tuning_s']:.1f} s" if r.get("tuning_s") else ""
                print(f"  - {r['method']}: {r['chosen']} (validation recall@{K} {r['valid_recall']}{extra})")
            if r["method"] in ("lithe (own slice)", "lithe + features") and "recall" in r:
                print(f"  - {r['method']}: recall@{K} {r['recall']:.4f}, NDCG@{K} {r['ndcg']:.4f}, "
                      f"train {r['train_s']:.1f} s")


if __name__ == "__main__":
    main()
