"""lithe forecast against StatsForecast on a whole M4 set, run in shards of series.

    bench/run forecast_shards.py [--set hourly] [--model auto_arima] [--shard-size 35]
                                 [--threads 2] [--max-shards K] [--combine]

StatsForecast's AutoARIMA takes hours on the whole of M4 Hourly, longer than one
sitting, so the set is cut into shards of consecutive series (in the file's order) and
each shard is one side-by-side run, exactly as `forecast.py --series` runs one: lithe
end to end (file in, forecast file out), then StatsForecast in a fresh Python process,
warmed up on two series and timed once, both with the same number of threads. Each
finished shard leaves `result.json` (times, the lithe binary's hash, the statsforecast
version, the date) and both forecast files under
`bench/out/forecast/<set>/shards/<model>/<first>-<last>/`; a later call skips finished
shards, so the run can stop between shards (--max-shards, or touch the file `STOP` in
the model's shard directory) and resume in another sitting. Every shard runs the same
frozen copy of the lithe binary (`lithe.bin` in the model's shard directory, copied on
the first call; delete it to start over with a new build).

--combine prints each shard's times and ratio, the totals, and the accuracy of the
shards finished so far (the concatenated forecasts scored by `lithe forecast eval`
against the same series). For auto_arima it also scores the Ensemble (the median of
AutoETS, AutoARIMA, AutoCES and AutoTheta, step by step) over the same series, from the
whole-set member forecasts `forecast.py` leaves in `bench/out/forecast/<set>/`
(lithe_auto_ets.csv, sf_auto_ets.csv, ...): StatsForecast's ensemble is the same median
of its members, so it needs no second AutoARIMA run.
"""
import argparse
import hashlib
import json
import shutil
import sys
import time

from common import LITHE, OUT, PYTHON, SHARED, machine, run_measured
from forecast import MODELS, PEER, SETS, evaluate


def shard_dirs(base, ids, size):
    for first in range(0, len(ids), size):
        last = min(first + size, len(ids))
        yield base / f"{first:04d}-{last - 1:04d}", ids[first:last]


def run_shard(d, ids, tr, te, binary, model, h, season, threads):
    d.mkdir(parents=True, exist_ok=True)
    train, test = d / "train.csv", d / "test.csv"
    tr[tr["unique_id"].isin(ids)].to_csv(train, index=False)
    te[te["unique_id"].isin(ids)].to_csv(test, index=False)
    cls, kwargs, flags, *_ = MODELS[model]
    lithe_fc, sf_fc = d / "lithe.csv", d / "sf.csv"
    cmd = [str(binary), "forecast", "--data", str(train), "--horizon", str(h), "--season", str(season),
           "--models", model, *flags, "--threads", str(threads), "--out", str(lithe_fc), "--quiet"]
    _, t_lithe, _ = run_measured(cmd)
    o, _, _ = run_measured([PYTHON, "-c", PEER, str(train), str(sf_fc), str(h), str(season), str(threads),
                            "1", cls, json.dumps(kwargs), "small"])
    sf = json.loads(o)
    (d / "result.json").write_text(json.dumps({
        "series": len(ids), "lithe_s": t_lithe, "sf_warm_s": sf["warm"],
        "lithe_sha256": hashlib.sha256(binary.read_bytes()).hexdigest()[:16],
        "statsforecast": __import__("statsforecast").__version__,
        "threads": threads, "date": time.strftime("%Y-%m-%d %H:%M"), "machine": machine()}, indent=1))
    return t_lithe, sf["warm"]


def median_of(frames, cols):
    import pandas as pd
    keyed = [f.set_index(["unique_id", "ds"])[c] for f, c in zip(frames, cols)]
    return pd.concat(keyed, axis=1).median(axis=1).rename("Ensemble").reset_index()


def combine(base, done, name, h, m, set_dir, full_train, full_test):
    import pandas as pd
    tl = ts = 0.0
    print("| shard | series | lithe s | SF warm s | SF ÷ lithe | lithe build | date |")
    print("|---|---:|---:|---:|---:|---|---|")
    for d, _ in done:
        r = json.loads((d / "result.json").read_text())
        tl, ts = tl + r["lithe_s"], ts + r["sf_warm_s"]
        print(f"| {d.name} | {r['series']} | {r['lithe_s']:.1f} | {r['sf_warm_s']:.1f} | "
              f"{r['sf_warm_s'] / r['lithe_s']:.2f}× | {r['lithe_sha256']} | {r['date']} |")
    n = sum(len(ids) for _, ids in done)
    print(f"| **total** | {n} | {tl:.1f} | {ts:.1f} | **{ts / tl:.2f}×** | | |\n")
    ids = [i for _, s in done for i in s]
    tr = pd.read_csv(full_train)
    te = pd.read_csv(full_test)
    train, test = base / "done-train.csv", base / "done-test.csv"
    tr[tr["unique_id"].isin(ids)].to_csv(train, index=False)
    te[te["unique_id"].isin(ids)].to_csv(test, index=False)
    sides = {}
    for side in ("lithe", "sf"):
        fc = pd.concat([pd.read_csv(d / f"{side}.csv") for d, _ in done])
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
    a = ap.parse_args()
    import pandas as pd
    name, h, m = SETS[a.set]
    full_train = SHARED / "m4" / "long" / f"{name}-train.csv.gz"
    full_test = SHARED / "m4" / "long" / f"{name}-test.csv"
    set_dir = OUT / "forecast" / a.set
    base = set_dir / "shards" / a.model
    base.mkdir(parents=True, exist_ok=True)
    binary = base / "lithe.bin"
    if not binary.exists():
        shutil.copy2(LITHE, binary)
    ids = list(pd.read_csv(full_train, usecols=["unique_id"])["unique_id"].unique())
    shards = list(shard_dirs(base, ids, a.shard_size))
    cls, _, _, *per_set = MODELS[a.model]
    season = per_set[0].get(a.set, m) if per_set else m
    if a.combine:
        done = [(d, s) for d, s in shards if (d / "result.json").exists()]
        print(f"{name}, {a.model}: {len(done)} of {len(shards)} shards finished\n")
        if done:
            combine(base, done, name, h, m, set_dir, full_train, full_test)
        return
    tr = pd.read_csv(full_train)
    te = pd.read_csv(full_test)
    ran = 0
    for d, s in shards:
        if (d / "result.json").exists():
            continue
        if (base / "STOP").exists() or (a.max_shards and ran >= a.max_shards):
            print("stopping before", d.name, flush=True)
            break
        t_lithe, t_sf = run_shard(d, s, tr, te, binary, a.model, h, season, a.threads)
        ran += 1
        print(f"{d.name}: lithe {t_lithe:.1f} s, StatsForecast warm {t_sf:.1f} s, "
              f"{t_sf / t_lithe:.2f}× ({time.strftime('%H:%M')})", flush=True)


if __name__ == "__main__":
    sys.exit(main())
