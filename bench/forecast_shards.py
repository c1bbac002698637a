"""lithe forecast against StatsForecast on a whole M4 set, run in shards of series.

    bench/run forecast_shards.py [--set hourly] [--model auto_arima] [--shard-size 35]
                                 [--threads 2] [--max-shards K] [--combine]

StatsForecast's AutoARIMA takes hours on the whole of M4 Hourly, longer than one
sitting, so the set is cut into shards of consecutive series (in the file's order) and
each shard is one side-by-side run, exactly as `forecast.py --series` runs one: lithe
end to end (file in, forecast file out), then StatsForecast in a fresh Python process,
warmed up on two series and timed once, both with the same number of threads.

Each finished shard leaves its record in the repository, under
`bench/shards/<set>/<model>/<first>-<last>/`: `result.json` (times, the lithe commit
and binary hash, the statsforecast version, the date, the machine) and both forecast
files, gzipped (`lithe.csv.gz`, `sf.csv.gz`). The records are small and are committed,
so a run that takes longer than one sitting resumes in a fresh clone: a later call
skips the shards that have a record (--max-shards, or touching the file `STOP` in
`bench/out/forecast/<set>/shards/<model>/`, stops it between shards). Within a sitting
every shard runs one frozen copy of the lithe binary (`lithe.bin` in that directory,
copied on the first call). A later sitting builds afresh, so the call refuses to go on
if `crates/` or `Cargo.lock` differ from the commit the earlier records were run with
(--allow-new-build overrides that, for a deliberate restart with a new build).

--rerun-lithe OLD reruns lithe's side of the finished shards that an older build ran,
after a change to lithe: StatsForecast's forecasts and time stay as recorded, and the
old binary OLD (the one those shards ran, normally the frozen `lithe.bin`) runs right
before the new build on each shard, in the same sitting. The record keeps all three
times, and the shard's ratio becomes (StatsForecast ÷ old build, one run) × (old build ÷
new build, another run): two same-run ratios, so a machine that is faster or slower
than in the first sitting does not move it. The new forecasts replace the old ones.

--combine prints each shard's times and ratio, the totals, and the accuracy of the
shards finished so far (the concatenated forecasts scored by `lithe forecast eval`
against the same series), then where the two sides' forecasts differ: how many series,
who wins them on sMAPE and the largest gaps each way. For auto_arima it also scores the
Ensemble (the median of AutoETS, AutoARIMA, AutoCES and AutoTheta, step by step) over
the same series, from the whole-set member forecasts `forecast.py` leaves in
`bench/out/forecast/<set>/` (lithe_auto_ets.csv, sf_auto_ets.csv, ...):
StatsForecast's ensemble is the same median of its members, so it needs no second
AutoARIMA run.
"""
import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from common import LITHE, OUT, PYTHON, SHARED, machine, run_measured
from forecast import MODELS, PEER, SETS, evaluate


RECORDS = Path(__file__).resolve().parent / "shards"
ROOT = RECORDS.parent.parent


def git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


def source_commit():
    """The commit the lithe build comes from, with "+dirty" when crates/ has local changes."""
    head = git("rev-parse", "HEAD").stdout.strip()
    dirty = git("diff", "--quiet", "HEAD", "--", "crates", "Cargo.lock").returncode != 0
    return head + ("+dirty" if dirty else "")


def finished(records, ids):
    """The shards with a record, in order, as (directory, its series)."""
    done = []
    for d in sorted(records.glob("*-*")):
        if (d / "result.json").exists():
            first, last = (int(x) for x in d.name.split("-"))
            done.append((d, ids[first:last + 1]))
    return done


def next_shard(records, ids, size):
    """The first run of series no record covers, at most `size` long, or None."""
    covered = set()
    for d, _ in finished(records, ids):
        first, last = (int(x) for x in d.name.split("-"))
        covered.update(range(first, last + 1))
    first = next((i for i in range(len(ids)) if i not in covered), None)
    if first is None:
        return None
    last = first
    while last + 1 < len(ids) and last + 1 - first < size and last + 1 not in covered:
        last += 1
    return records / f"{first:04d}-{last:04d}", ids[first:last + 1]


def lithe_cmd(exe, train, out, model, h, season, threads):
    """The `lithe forecast` call of one shard, end to end (file in, forecast file out)."""
    _, _, flags, *_ = MODELS[model]
    return [str(exe), "forecast", "--data", str(train), "--horizon", str(h), "--season", str(season),
            "--models", model, *flags, "--threads", str(threads), "--out", str(out), "--quiet"]


def keep(src, dst):
    """A forecast file into the shard's record, gzipped (reproducibly: no mtime)."""
    import pandas as pd
    pd.read_csv(src).to_csv(dst, index=False, float_format="%.10g", compression={"method": "gzip", "mtime": 0})


def run_shard(d, rec, ids, tr, te, binary, commit, model, h, season, threads):
    d.mkdir(parents=True, exist_ok=True)
    train, test = d / "train.csv", d / "test.csv"
    tr[tr["unique_id"].isin(ids)].to_csv(train, index=False)
    te[te["unique_id"].isin(ids)].to_csv(test, index=False)
    cls, kwargs, *_ = MODELS[model]
    lithe_fc, sf_fc = d / "lithe.csv", d / "sf.csv"
    _, t_lithe, _ = run_measured(lithe_cmd(binary, train, lithe_fc, model, h, season, threads))
    o, _, _ = run_measured([PYTHON, "-c", PEER, str(train), str(sf_fc), str(h), str(season), str(threads),
                            "1", cls, json.dumps(kwargs), "small"])
    sf = json.loads(o)
    rec.mkdir(parents=True, exist_ok=True)
    for src, name in ((lithe_fc, "lithe.csv.gz"), (sf_fc, "sf.csv.gz")):
        keep(src, rec / name)
    (rec / "result.json").write_text(json.dumps({
        "series": len(ids), "first": ids[0], "last": ids[-1], "lithe_s": t_lithe, "sf_warm_s": sf["warm"],
        "lithe_commit": commit, "lithe_sha256": hashlib.sha256(binary.read_bytes()).hexdigest()[:16],
        "statsforecast": __import__("statsforecast").__version__,
        "threads": threads, "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine()}, indent=1))
    return t_lithe, sf["warm"]


def rerun_lithe(d, rec, ids, tr, old, binary, commit, model, h, season, threads):
    """Reruns lithe's side of a finished shard: the old binary, then the new one."""
    d.mkdir(parents=True, exist_ok=True)
    train = d / "train.csv"
    tr[tr["unique_id"].isin(ids)].to_csv(train, index=False)
    times = {}
    for name, exe in (("old", old), ("new", binary)):
        cmd = lithe_cmd(exe, train, d / f"lithe-{name}.csv", model, h, season, threads)
        _, times[name], _ = run_measured(cmd)
    keep(d / "lithe-new.csv", rec / "lithe.csv.gz")
    r = json.loads((rec / "result.json").read_text())
    r.setdefault("reruns", []).append({
        "old_commit": r["lithe_commit"], "old_sha256": r["lithe_sha256"], "old_s_then": r["lithe_s"],
        "old_s": times["old"], "new_s": times["new"], "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": machine()})
    r["lithe_commit"] = commit
    r["lithe_sha256"] = hashlib.sha256(binary.read_bytes()).hexdigest()[:16]
    # lithe's time on the first sitting's machine: the new time scaled by how much
    # faster the old build ran then than in this sitting.
    r["lithe_s"] = r["lithe_s"] * times["new"] / times["old"]
    (rec / "result.json").write_text(json.dumps(r, indent=1))
    return times["old"], times["new"], r


def median_of(frames, cols):
    import pandas as pd
    keyed = [f.set_index(["unique_id", "ds"])[c] for f, c in zip(frames, cols)]
    return pd.concat(keyed, axis=1).median(axis=1).rename("Ensemble").reset_index()


# Two forecasts of a series differ when at some step they part by more than this share
# of the series' mean absolute actual.
DIFFER = 1e-4


def smape(f, a):
    """sMAPE per step (the M4 definition) of the forecasts `f` against the actuals `a`."""
    return 200 * (f - a).abs() / (f.abs() + a.abs())


def relative_gap(f, g, a, uid):
    """|f − g| per step over the mean absolute actual `a` of the step's series `uid`."""
    return (f - g).abs() / a.abs().groupby(uid).transform("mean").clip(lower=1e-12)


def per_series(lithe, sf, test, top=5):
    """Where the two forecasts differ: how many series, who wins them on sMAPE, and the
    largest gaps each way (a mean of a heavy-tailed measure moves on a few series)."""
    import numpy as np
    col = [c for c in lithe.columns if c not in ("unique_id", "ds")][0]
    key = ["unique_id", "ds"]
    j = (test.merge(lithe[key + [col]], on=key)
         .merge(sf[key + [col]], on=key, suffixes=("_lithe", "_sf")))
    fl, fs, a = j[f"{col}_lithe"], j[f"{col}_sf"], j["y"]
    j["sl"], j["ss"] = smape(fl, a), smape(fs, a)
    j["gap"] = relative_gap(fl, fs, a, j["unique_id"])
    j["neg_l"], j["neg_s"] = fl < 0, fs < 0
    g = j.groupby("unique_id", sort=False).agg(
        sl=("sl", "mean"), ss=("ss", "mean"), gap=("gap", "max"),
        neg_l=("neg_l", "sum"), neg_s=("neg_s", "sum"))
    g["d"] = g["sl"] - g["ss"]
    diff = g[g["gap"] > DIFFER]
    print(f"\nSeries whose {col} forecasts differ (by more than 1e-4 of the series' test mean): "
          f"{len(diff)} of {len(g)}; lithe's sMAPE lower on {int((diff['d'] < 0).sum())}, higher on "
          f"{int((diff['d'] > 0).sum())}; median gap {np.median(diff['d']) if len(diff) else 0:+.4f}, "
          f"sum of gaps {diff['d'].sum():+.2f} (sMAPE points; the set's mean moves by sum ÷ {len(g)}).\n")
    print("| series | lithe sMAPE | SF sMAPE | lithe − SF | negative steps lithe / SF |")
    print("|---|---:|---:|---:|---:|")
    ranked = diff.sort_values("d")
    for uid, r in list(ranked.head(top).iterrows()) + list(ranked.tail(top).iterrows()):
        print(f"| {uid} | {r['sl']:.2f} | {r['ss']:.2f} | {r['d']:+.2f} | {int(r['neg_l'])} / {int(r['neg_s'])} |")
    print()


def combine(base, done, name, h, m, set_dir, full_train, full_test):
    import pandas as pd
    builds, per_machine, rs = set(), {}, []
    print("| shard | series | lithe s | SF warm s | SF ÷ lithe | machine | lithe binary | date |")
    print("|---|---:|---:|---:|---:|---|---|---|")
    for d, _ in done:
        r = json.loads((d / "result.json").read_text())
        rs.append(r)
        builds.add(r.get("lithe_commit", "?"))
        cpu = r["machine"].split(", ")[1] if ", " in r["machine"] else r["machine"]
        t = per_machine.setdefault(cpu, [0, 0.0, 0.0])
        t[0], t[1], t[2] = t[0] + r["series"], t[1] + r["lithe_s"], t[2] + r["sf_warm_s"]
        print(f"| {d.name} | {r['series']} | {r['lithe_s']:.1f} | {r['sf_warm_s']:.1f} | "
              f"{r['sf_warm_s'] / r['lithe_s']:.2f}× | {cpu} | {r['lithe_sha256']} | {r['date']} |")
    # Each shard's ratio is one same-machine run. Sums are only comparable within one kind
    # of machine, so the totals are per machine; over all shards, the series-weighted
    # geometric mean of the shard ratios.
    for cpu, (k, tl, ts) in per_machine.items():
        print(f"| **{cpu}** | {k} | {tl:.1f} | {ts:.1f} | **{ts / tl:.2f}×** | | | |")
    import math
    n = sum(len(ids) for _, ids in done)
    gm = math.exp(sum(r["series"] * math.log(r["sf_warm_s"] / r["lithe_s"]) for r in rs) / n)
    print(f"| **all {n} series** (geometric mean of the shards' ratios, by series) | {n} | | | "
          f"**{gm:.2f}×** | | | |\n")
    print("lithe built from:", ", ".join(sorted(builds)), "\n")
    ids = [i for _, s in done for i in s]
    tr = pd.read_csv(full_train)
    te = pd.read_csv(full_test)
    train, test = base / "done-train.csv", base / "done-test.csv"
    tr[tr["unique_id"].isin(ids)].to_csv(train, index=False)
    te[te["unique_id"].isin(ids)].to_csv(test, index=False)
    sides = {}
    for side in ("lithe", "sf"):
        fc = pd.concat([pd.read_csv(d / f"{side}.csv.gz") for d, _ in done])
        path = base / f"done-{side}.csv"
        fc.to_csv(path, index=False)
        sides[side] = (fc, evaluate(path, test, train, m)["models"])
    print(f"Accuracy over the {n} finished series of {name} (`lithe forecast eval`):\n")
    print("| model | lithe sMAPE | SF sMAPE | lithe MASE | SF MASE | lithe OWA | SF OWA |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    f = lambda v: "nan" if v is None else f"{v:.4f}"

    def row(label, sl, ss):
        print(f"| {label} | {f(sl['smape'])} | {f(ss['smape'])} | {f(sl['mase'])} | {f(ss['mase'])} | "
              f"{f(sl['owa'])} | {f(ss['owa'])} |")

    sl, ss = sides["lithe"][1], sides["sf"][1]
    row(next(iter(sl)), next(iter(sl.values())), next(iter(ss.values())))
    ensemble(base, sides, ids, set_dir, test, train, m, row)
    per_series(sides["lithe"][0], sides["sf"][0], te[te["unique_id"].isin(ids)])


def ensemble(base, sides, ids, set_dir, test, train, m, row):
    """The Ensemble's row, from the shards' AutoARIMA and the whole-set member files."""
    import pandas as pd
    members = {"lithe": [("lithe_auto_ets.csv", "AutoETS"), ("lithe_auto_ces.csv", "CES"),
                         ("lithe_auto_theta.csv", "AutoTheta")],
               "sf": [("sf_auto_ets.csv", "AutoETS"), ("sf_auto_ces.csv", "CES"),
                      ("sf_auto_theta.csv", "AutoTheta")]}
    if not all((set_dir / p).exists() for ms in members.values() for p, _ in ms):
        print("\n(no Ensemble: run `bench/run forecast.py --sets <set> --models auto_ets,auto_ces,auto_theta` "
              "for the member forecasts)")
        return
    scores = {}
    for side in ("lithe", "sf"):
        frames = [sides[side][0]] + [pd.read_csv(set_dir / p) for p, _ in members[side]]
        frames = [fr[fr["unique_id"].isin(ids)] for fr in frames]
        cols = ["AutoARIMA"] + [c for _, c in members[side]]
        path = base / f"done-{side}-ensemble.csv"
        median_of(frames, cols).to_csv(path, index=False)
        scores[side] = evaluate(path, test, train, m)["models"]["Ensemble"]
    row("Ensemble (median of the members' files)", scores["lithe"], scores["sf"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", default="hourly", choices=list(SETS))
    ap.add_argument("--model", default="auto_arima")
    ap.add_argument("--shard-size", type=int, default=35)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-shards", type=int, default=0)
    ap.add_argument("--combine", action="store_true")
    ap.add_argument("--allow-new-build", action="store_true")
    ap.add_argument("--rerun-lithe", metavar="OLD", type=Path)
    a = ap.parse_args()
    import pandas as pd
    name, h, m = SETS[a.set]
    full_train = SHARED / "m4" / "long" / f"{name}-train.csv.gz"
    full_test = SHARED / "m4" / "long" / f"{name}-test.csv"
    set_dir = OUT / "forecast" / a.set
    base = set_dir / "shards" / a.model
    base.mkdir(parents=True, exist_ok=True)
    records = RECORDS / a.set / a.model
    ids = list(pd.read_csv(full_train, usecols=["unique_id"])["unique_id"].unique())
    cls, _, _, *per_set = MODELS[a.model]
    season = per_set[0].get(a.set, m) if per_set else m
    if a.combine:
        done = finished(records, ids)
        print(f"{name}, {a.model}: {sum(len(s) for _, s in done)} of {len(ids)} series finished, "
              f"in {len(done)} shards\n")
        if done:
            combine(base, done, name, h, m, set_dir, full_train, full_test)
        return
    binary = base / "lithe.bin"
    if a.rerun_lithe:
        commit = source_commit()
        if commit.endswith("+dirty"):
            sys.exit("commit the change to crates/ first: the records name the commit they ran")
        old = base / "lithe-old.bin"
        shutil.copy2(a.rerun_lithe, old)
        shutil.copy2(LITHE, binary)
        (base / "lithe.commit").write_text(commit + "\n")
        tr = pd.read_csv(full_train)
        for rec, s in finished(records, ids):
            r = json.loads((rec / "result.json").read_text())
            if r.get("lithe_commit") == commit:
                continue
            if (base / "STOP").exists():
                print("stopping before", rec.name, flush=True)
                break
            t_old, t_new, r = rerun_lithe(base / rec.name, rec, s, tr, old, binary, commit, a.model, h,
                                          season, a.threads)
            print(f"{rec.name}: old build {t_old:.1f} s, new build {t_new:.1f} s; "
                  f"StatsForecast ÷ lithe now {r['sf_warm_s'] / r['lithe_s']:.2f}× ({time.strftime('%H:%M')})",
                  flush=True)
        return
    if binary.exists():
        commit = (base / "lithe.commit").read_text().strip()
    else:
        commit = source_commit()
        earlier = {json.loads((d / "result.json").read_text()).get("lithe_commit", "?")
                   for d, _ in finished(records, ids)}
        for c in earlier:
            same = c != "?" and not c.endswith("+dirty") and not commit.endswith("+dirty") and \
                git("diff", "--quiet", c, "HEAD", "--", "crates", "Cargo.lock").returncode == 0
            if not same and not a.allow_new_build:
                sys.exit(f"the finished shards were run with lithe from {c}, and crates/ or Cargo.lock "
                         f"differ from it now ({commit}); build that commit, or pass --allow-new-build")
        shutil.copy2(LITHE, binary)
        (base / "lithe.commit").write_text(commit + "\n")
    tr = pd.read_csv(full_train)
    te = pd.read_csv(full_test)
    ran = 0
    while (shard := next_shard(records, ids, a.shard_size)) is not None:
        d, s = shard
        if (base / "STOP").exists() or (a.max_shards and ran >= a.max_shards):
            print("stopping before", d.name, flush=True)
            break
        t_lithe, t_sf = run_shard(base / d.name, d, s, tr, te, binary, commit, a.model, h, season, a.threads)
        ran += 1
        print(f"{d.name}: lithe {t_lithe:.1f} s, StatsForecast warm {t_sf:.1f} s, "
              f"{t_sf / t_lithe:.2f}× ({time.strftime('%H:%M')})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
