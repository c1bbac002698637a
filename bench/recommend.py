"""Recommendations from implicit feedback: lithe against implicit's AlternatingLeastSquares
and BayesianPersonalizedRanking and a popularity baseline, on MovieLens 100k, leave-last-out.

    bench/run recommend.py [--threads 2] [--skip-tuning] [--repeats 1] [--lithe-args "..."]

Every rating counts as one interaction (weight 1). For each user the latest interaction
(by timestamp; ties broken by the larger item_id) is the test item and the rest is train;
bench/out/recommend/ gets train.csv (user_id,item_id,timestamp), test.csv
(user_id,item_id) and users.csv (user_id); the source data stays in the shared folder.

The peers are tuned on a validation split made the same way from train (each user's latest
train interaction), factors = 64 (lithe's default --dim): ALS over regularization, iterations
and alpha (the confidence scale of the user-item matrix), BPR over learning rate,
regularization and iterations, the best by recall@10 on validation; then refit on the whole
train. --skip-tuning uses fixed settings (the ones the grid picked on a 2-core run) instead.
random_state = 42 and num_threads = --threads throughout; OpenBLAS is kept to one thread,
as implicit asks. Each final fit runs in its own Python process (this script with --peer), so
that its peak RSS is its own; `train s` for the peers is the fit call alone (the popularity
baseline: the counting), for lithe the wall time of the whole `recommend train` process
(file in, model out; median of --repeats).

Every method writes a top-10 list per test user with the user's train items excluded
(user_id,rank,item_id,score; lithe: `recommend query --exclude-seen`), and the metrics are
computed here from those lists, the same way for all: recall@10 (one test item per user, so
the hit rate), NDCG@10 (1/log2(rank + 1) for a hit, else 0) and catalogue coverage (distinct
items across all top-10 lists / distinct items in train). lithe's own `recommend eval` is
printed beside ours as a cross-check. If lithe's `recommend` fails, the error is printed and
the peers' rows are still reported.

lithe runs twice: on the interactions alone, and with side features (`lithe + features`:
users' age, gender, occupation and zip-code prefix from u.user; items' release year and
genres from u.item, written to bench/out/recommend/ as user_features.csv and
item_features.csv). The peers use the interactions only.
"""
import os

# Before numpy is imported: implicit wants OpenBLAS single-threaded (it parallelises itself).
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse
import itertools
import json
import math
import shlex
import sys
import time
from datetime import date

import numpy as np
import pandas as pd
import scipy.sparse as sp

from common import LITHE, OUT, PYTHON, SHARED, machine, mb, median, run_measured

DATA = SHARED / "movielens_100k" / "u.data"
REC = OUT / "recommend"
K = 10
FACTORS = 64
SEED = 42
GRIDS = {
    "als": {"regularization": [0.01, 0.05, 0.1, 0.5], "iterations": [15, 30], "alpha": [1.0, 10.0, 40.0]},
    "bpr": {"learning_rate": [0.01, 0.05], "regularization": [0.001, 0.01], "iterations": [100, 200]},
}
# --skip-tuning: what the grid picked on the full validation run (2 threads). BPR's SGD is
# not deterministic with more than one thread (lock-free updates), and its regularization
# 0.001 and 0.01 are within a hit or two of each other on validation, so its pick can flip.
DEFAULTS = {
    "als": {"regularization": 0.5, "iterations": 30, "alpha": 10.0},
    "bpr": {"learning_rate": 0.01, "regularization": 0.01, "iterations": 100},
}
NAMES = {"als": "implicit ALS", "bpr": "implicit BPR", "popularity": "popularity"}


def short(e):
    """The gist of a failed command: its stderr without GNU time's lines, on one line."""
    text = str(e).split("): ", 1)[-1]
    keep = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith(
        ("LITHE_BENCH_MAXRSS_KB=", "Command exited with", "Command terminated by"))]
    return " ".join(keep)[:300]


def leave_last_out(df):
    """(rest, last): each user's latest interaction (ties: larger item_id) and the rest."""
    df = df.sort_values(["user_id", "timestamp", "item_id"], kind="mergesort")
    last = df.groupby("user_id", sort=False).tail(1)
    return df.drop(last.index), last


def matrix(train):
    """User-item CSR matrix of ones, with the user and item ids of its rows and columns."""
    users, u = np.unique(train["user_id"].to_numpy(), return_inverse=True)
    items, i = np.unique(train["item_id"].to_numpy(), return_inverse=True)
    m = sp.csr_matrix((np.ones(len(train), dtype=np.float32), (u, i)), shape=(len(users), len(items)))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m, users, items


def make_model(kind, params, threads):
    import implicit.cpu.als
    import implicit.cpu.bpr
    cls = {"als": implicit.cpu.als.AlternatingLeastSquares, "bpr": implicit.cpu.bpr.BayesianPersonalizedRanking}
    return cls[kind](factors=FACTORS, random_state=SEED, num_threads=threads, **params)


def fit(model, m):
    """Fit with BLAS held to one thread; returns the seconds of the fit call."""
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1, "blas"):
        t0 = time.perf_counter()
        model.fit(m, show_progress=False)
        return time.perf_counter() - t0


def top_k(kind, model, m, users, items, query_users):
    """Top-K frame (user_id, rank, item_id, score) for the query users known in train,
    their train items excluded."""
    pos = np.searchsorted(users, query_users)
    known = (pos < len(users)) & (users[np.minimum(pos, len(users) - 1)] == query_users)
    q, pos = query_users[known], pos[known]
    if kind == "popularity":
        counts = np.asarray(m.sum(axis=0)).ravel()
        order = np.lexsort((items, -counts))  # most interactions first, then smaller item_id
        ids = np.empty((len(q), K), dtype=np.int64)
        scores = np.empty((len(q), K))
        for r, p in enumerate(pos):
            seen = set(m.indices[m.indptr[p]:m.indptr[p + 1]])
            top = [j for j in itertools.islice((j for j in order if j not in seen), K)]
            ids[r], scores[r] = top, counts[top]
    else:
        ids, scores = model.recommend(pos, m[pos], N=K, filter_already_liked_items=True)
    ids = np.asarray(ids)
    ok = ids >= 0
    return pd.DataFrame({
        "user_id": np.repeat(q, K).reshape(-1, K)[ok],
        "rank": np.tile(np.arange(1, K + 1), (len(q), 1))[ok],
        "item_id": items[np.where(ok, ids, 0)][ok],
        "score": np.asarray(scores, dtype=float)[ok],
    })


def metrics(recs, test, n_train_items):
    """recall@K, NDCG@K and coverage from a top-K frame; one test item per user, every
    test user counts (a user with no list is a miss)."""
    recs = recs.rename(columns=str.strip).sort_values(["user_id", "rank"], kind="mergesort")
    recs = recs[recs.groupby("user_id").cumcount() < K].copy()
    recs["pos"] = recs.groupby("user_id").cumcount() + 1
    hits = recs.merge(test[["user_id", "item_id"]], on=["user_id", "item_id"])
    n = test["user_id"].nunique()
    return {
        "recall": hits["user_id"].nunique() / n,
        "ndcg": float(sum(1.0 / math.log2(r + 1) for r in hits.groupby("user_id")["pos"].min())) / n,
        "coverage": recs["item_id"].nunique() / n_train_items,
    }


def peer(a):
    """--peer: one final fit in its own process; writes the top-K file, prints the fit time."""
    d = REC
    train = pd.read_csv(d / "train.csv")
    query = pd.read_csv(d / "users.csv")["user_id"].to_numpy()
    m, users, items = matrix(train)
    if a.peer == "popularity":
        t0 = time.perf_counter()
        model = None
        np.asarray(m.sum(axis=0))
        secs = time.perf_counter() - t0
    else:
        model = make_model(a.peer, json.loads(a.params), a.threads)
        secs = fit(model, m)
    recs = top_k(a.peer, model, m, users, items, query)
    recs.to_csv(d / f"recs_{a.peer}.csv", index=False)
    print(json.dumps({"fit_seconds": secs}))


def tune(kind, train, threads):
    """Grid search on the validation split; returns (best params, table of all)."""
    fit_part, val = leave_last_out(train)
    m, users, items = matrix(fit_part)
    grid = GRIDS[kind]
    tried = []
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values))
        model = make_model(kind, params, threads)
        fit(model, m)
        r = metrics(top_k(kind, model, m, users, items, val["user_id"].to_numpy()), val, len(items))
        tried.append((params, r))
        print(f"  {kind} {params}: recall@{K} {r['recall']:.4f} NDCG@{K} {r['ndcg']:.4f}", file=sys.stderr)
    # best recall; ties to the better NDCG, then to the earlier grid point
    best = max(range(len(tried)), key=lambda j: (tried[j][1]["recall"], tried[j][1]["ndcg"], -j))
    return tried[best][0], tried


def side_features():
    """user_features.csv (age, gender, occupation, the zip code's first three characters)
    and item_features.csv (release year, genres as `|`-separated tokens), from u.user and
    u.item, into bench/out/recommend/."""
    users = pd.read_csv(SHARED / "movielens_100k" / "u.user", sep="|",
                        names=["user_id", "age", "gender", "occupation", "zip"])
    users["zip3"] = "z" + users["zip"].astype(str).str[:3]  # text, not a number
    users[["user_id", "age", "gender", "occupation", "zip3"]].to_csv(REC / "user_features.csv", index=False)
    genres = [g for g, _ in (line.rsplit("|", 1) for line in
              (SHARED / "movielens_100k" / "u.genre").read_text().splitlines() if line)]
    items = pd.read_csv(SHARED / "movielens_100k" / "u.item", sep="|", encoding="latin-1", header=None,
                        names=["item_id", "title", "release", "video", "url", *genres])
    items["year"] = pd.to_datetime(items["release"], format="%d-%b-%Y", errors="coerce").dt.year
    items["genres"] = items[genres].apply(lambda r: "|".join(g.replace(" ", "_") for g in genres if r[g] == 1),
                                          axis=1)
    items[["item_id", "year", "genres"]].to_csv(REC / "item_features.csv", index=False)
    return ["--user-features", str(REC / "user_features.csv"), "--item-features", str(REC / "item_features.csv")]


def run_lithe(threads, repeats, extra, test, n_items, label="lithe"):
    model = REC / "lithe.model"
    times, rss = [], []
    for _ in range(repeats):
        _, t, r = run_measured([str(LITHE), "recommend", "train", "--interactions", str(REC / "train.csv"),
                                "--out", str(model), "--threads", str(threads), "--seed", str(SEED), "--quiet",
                                *extra])
        times.append(t)
        rss.append(r)
    recs = REC / "recs_lithe.csv"
    run_measured([str(LITHE), "recommend", "query", "--model", str(model), "--users", str(REC / "users.csv"),
                  "--k", str(K), "--exclude-seen", "--out", str(recs)])
    row = {"method": label, **metrics(pd.read_csv(recs), test, n_items), "train_s": median(times),
           "peak_rss_mb": mb(max(rss))}
    try:
        o, _, _ = run_measured([str(LITHE), "recommend", "eval", "--model", str(model), "--test",
                                str(REC / "test.csv"), "--k", str(K)])
        row["lithe_eval"] = json.loads(o)
    except (RuntimeError, ValueError, OSError) as e:
        row["lithe_eval"] = {"error": short(e)}
    return row


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-tuning", action="store_true", help="fixed peer settings instead of the grid")
    ap.add_argument("--repeats", type=int, default=1, help="lithe train runs (median time)")
    ap.add_argument("--lithe-args", default="", help="extra flags for `lithe recommend train`")
    ap.add_argument("--peer", choices=["als", "bpr", "popularity"], help=argparse.SUPPRESS)
    ap.add_argument("--params", default="{}", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.peer:
        return peer(a)

    df = pd.read_csv(DATA, sep="\t", names=["user_id", "item_id", "rating", "timestamp"])
    train, test = leave_last_out(df)
    REC.mkdir(parents=True, exist_ok=True)
    train[["user_id", "item_id", "timestamp"]].to_csv(REC / "train.csv", index=False)
    test[["user_id", "item_id"]].to_csv(REC / "test.csv", index=False)
    test[["user_id"]].to_csv(REC / "users.csv", index=False)
    n_items = train["item_id"].nunique()
    print(f"MovieLens 100k: {len(df):,} interactions, {df['user_id'].nunique()} users, {n_items} items in train, "
          f"{len(test)} test users ({(~test['item_id'].isin(train['item_id'])).sum()} test items unseen in train)",
          file=sys.stderr)

    chosen, tuning_s = {}, None
    if a.skip_tuning:
        chosen = dict(DEFAULTS)
    else:
        t0 = time.perf_counter()
        for kind in GRIDS:
            chosen[kind], _ = tune(kind, train, a.threads)
        tuning_s = time.perf_counter() - t0
        print(f"tuning took {tuning_s:.1f} s", file=sys.stderr)

    rows = []
    feature_flags = side_features()
    for label, flags in [("lithe", []), ("lithe + features", feature_flags)]:
        try:
            rows.append(run_lithe(a.threads, a.repeats, shlex.split(a.lithe_args) + flags, test, n_items, label))
        except (RuntimeError, OSError, ValueError, KeyError) as e:
            print(f"{label} failed: {short(e)}", file=sys.stderr)
            rows.append({"method": label, "error": short(e)})
    for kind in ["als", "bpr", "popularity"]:
        try:
            o, _, rss = run_measured([PYTHON, os.path.abspath(__file__), "--peer", kind, "--threads",
                                      str(a.threads), "--params", json.dumps(chosen.get(kind, {}))])
        except RuntimeError as e:
            print(f"{kind} failed: {str(e)[-1000:]}", file=sys.stderr)
            rows.append({"method": NAMES[kind], "error": short(e)})
            continue
        recs = pd.read_csv(REC / f"recs_{kind}.csv")
        rows.append({"method": NAMES[kind], **metrics(recs, test, n_items),
                     "train_s": json.loads(o)["fit_seconds"], "peak_rss_mb": mb(rss),
                     "params": {"factors": FACTORS, **chosen[kind]} if kind in chosen else None})

    (OUT / "recommend.json").write_text(json.dumps(
        {"threads": a.threads, "tuned": not a.skip_tuning, "tuning_seconds": tuning_s, "rows": rows}, indent=2))
    print(f"Recommendations (implicit feedback) — MovieLens 100k, leave-last-out, {len(test)} test users — "
          f"{date.today()}; {machine()}; {a.threads} threads\n")
    print(f"| method | recall@{K} | NDCG@{K} | coverage | train s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['method']} | failed | | | | |")
        else:
            print(f"| {r['method']} | {r['recall']:.4f} | {r['ndcg']:.4f} | {r['coverage']:.4f} | "
                  f"{r['train_s']:.3f} | {r['peak_rss_mb']:.0f} |")
    print()
    how = "fixed settings, --skip-tuning" if a.skip_tuning else \
        f"best recall@{K} on the validation split, tuning took {tuning_s:.1f} s"
    for r in rows:
        if r.get("params"):
            print(f"- {r['method']}: " + ", ".join(f"{k}={v:g}" for k, v in r["params"].items()) + f" ({how})")
    by = {r["method"]: r for r in rows}
    lithe, als = by.get("lithe", {}), by.get("implicit ALS", {})
    for name in ["lithe", "lithe + features"]:
        r = by.get(name, {})
        if "recall" in r and als.get("recall"):
            print(f"- {name} recall@{K} / ALS recall@{K}: {r['recall'] / als['recall']:.2f}")
    if "lithe_eval" in lithe:
        ev = lithe["lithe_eval"]
        if "error" in ev:
            print(f"- lithe recommend eval failed: {ev['error']}")
        else:
            print(f"- lithe recommend eval (cross-check): recall@{K} {ev.get(f'recall@{K}')} (ours "
                  f"{lithe['recall']:.4f}), ndcg@{K} {ev.get(f'ndcg@{K}')} (ours {lithe['ndcg']:.4f}), "
                  f"coverage {ev.get('coverage')} (ours {lithe['coverage']:.4f})")
    if "error" in lithe:
        print(f"- lithe failed: {lithe['error']}")


if __name__ == "__main__":
    main()
