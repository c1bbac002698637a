"""StatsForecast's AutoARIMA with its prior made exact, on the M4 Hourly series where its
forecasts and lithe's differ: does the peer, with that one defect removed, select what
lithe selects?

    bench/.venv-forecast/bin/python bench/sf_exact_prior.py [--threads 2] [--ids H1,H2] [--report]

StatsForecast's `getQ0` (Gardner, Harvey and Phillips's algorithm AS 154, as R's `arima`
computes it) leaves out the weight update of the algorithm's Givens rotations; the
elimination is then unstable, and on seasonal hourly models its prior is far off and
indefinite (lithe-forecast's test
`prior_matches_gardners_method_as_published_and_statsforecasts_bug_is_the_weight`).
Here `statsforecast.arima.getQ0` is replaced by the exact stationary covariance
(`arima_prior.exact_prior`, which the published algorithm, weights included, equals to
rounding); nothing else changes. The whole-set run's files
(bench/out/forecast/hourly/shards/auto_arima/done-*.csv, from forecast_shards.py
--combine) give the series, lithe's and StatsForecast's forecasts. By default the
series are those whose forecasts differ there, the widest sMAPE gaps first; results go
to `sf_exact_prior.csv` beside them, a chunk at a time, and a rerun goes on where the
last one stopped (so the script also reports on a partial run, with bounds); the
forecasts made so far are kept in bench/shards/hourly/auto_arima/sf_exact_prior.csv.gz.

Prints per series the sMAPE of lithe, StatsForecast and StatsForecast-with-the-exact-
prior, whether the last matches lithe's forecast, and the set's mean sMAPE and MASE with
StatsForecast's forecasts on those series replaced by the exact-prior ones.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from forecast import evaluate
from forecast_shards import DIFFER, relative_gap, smape

HERE = Path(__file__).resolve().parent
BASE = HERE / "out" / "forecast" / "hourly" / "shards" / "auto_arima"
# The forecasts made so far, kept in the repository as forecast_shards.py keeps its shards.
RECORD = HERE / "shards" / "hourly" / "auto_arima" / "sf_exact_prior.csv.gz"
H, M = 48, 24


def exact_getq0(phi, theta):
    from arima_prior import exact_prior
    return exact_prior(np.asarray(phi, float), np.asarray(theta, float))


def differing(lithe, sf, test):
    """Series whose forecasts differ (as forecast_shards.py's per-series table counts
    them), the widest sMAPE gaps first."""
    key = ["unique_id", "ds"]
    j = test.merge(lithe, on=key).merge(sf, on=key, suffixes=("_l", "_s"))
    j["rel"] = relative_gap(j["AutoARIMA_l"], j["AutoARIMA_s"], j["y"], j["unique_id"])
    j["d"] = smape(j["AutoARIMA_l"], j["y"]) - smape(j["AutoARIMA_s"], j["y"])
    g = j.groupby("unique_id").agg(rel=("rel", "max"), d=("d", "mean"))
    g = g[g["rel"] > DIFFER]
    return list(g["d"].abs().sort_values(ascending=False).index)


def run(train, ids, threads, out):
    import statsforecast.arima as A
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA
    A.getQ0 = exact_getq0
    done = set(pd.read_csv(out)["unique_id"]) if out.exists() else set()
    todo = [i for i in ids if i not in done]
    for k in range(0, len(todo), 2 * threads):
        chunk = todo[k:k + 2 * threads]
        df = train[train["unique_id"].isin(chunk)]
        fc = StatsForecast(models=[AutoARIMA(season_length=M)], freq=1, n_jobs=threads).forecast(df=df, h=H)
        fc.to_csv(out, mode="a", header=not out.exists(), index=False)
        print(f"  {len(done) + k + len(chunk)} of {len(ids)} series", file=sys.stderr, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ids", default="")
    ap.add_argument("--report", action="store_true", help="report on what has run; run nothing")
    a = ap.parse_args()
    train_p, test_p = BASE / "done-train.csv", BASE / "done-test.csv"
    train, test = pd.read_csv(train_p), pd.read_csv(test_p)
    lithe, sf = pd.read_csv(BASE / "done-lithe.csv"), pd.read_csv(BASE / "done-sf.csv")
    ids = a.ids.split(",") if a.ids else differing(lithe, sf, test)
    out = BASE / "sf_exact_prior.csv"
    if not out.exists() and RECORD.exists():
        pd.read_csv(RECORD).to_csv(out, index=False)
    if not a.report:
        run(train, ids, a.threads, out)
        pd.read_csv(out).to_csv(RECORD, index=False)
    fixed = pd.read_csv(out)
    fixed = fixed[fixed["unique_id"].isin(ids)]
    key = ["unique_id", "ds"]
    j = (test.merge(lithe, on=key).merge(sf, on=key, suffixes=("", "_sf"))
         .merge(fixed.rename(columns={"AutoARIMA": "AutoARIMA_fix"}), on=key))
    a_ = j["y"]
    for c, name in [("AutoARIMA", "l"), ("AutoARIMA_sf", "s"), ("AutoARIMA_fix", "x")]:
        j[name] = smape(j[c], a_)
    j["same_l"] = relative_gap(j["AutoARIMA_fix"], j["AutoARIMA"], a_, j["unique_id"])
    j["same_s"] = relative_gap(j["AutoARIMA_fix"], j["AutoARIMA_sf"], a_, j["unique_id"])
    g = j.groupby("unique_id").agg(l=("l", "mean"), s=("s", "mean"), x=("x", "mean"),
                                   same_l=("same_l", "max"), same_s=("same_s", "max"))
    g["as_lithe"], g["as_sf"] = g["same_l"] <= DIFFER, g["same_s"] <= DIFFER
    print(f"{len(g)} series run with the exact prior (of {len(ids)} asked for): its forecast is "
          f"lithe's on {int(g['as_lithe'].sum())}, StatsForecast's on {int(g['as_sf'].sum())}, "
          f"neither on {int((~g['as_lithe'] & ~g['as_sf']).sum())}.")
    print(f"mean sMAPE over them: lithe {g['l'].mean():.4f}, StatsForecast {g['s'].mean():.4f}, "
          f"StatsForecast with the exact prior {g['x'].mean():.4f}\n")
    print("| series | lithe | StatsForecast | SF, exact prior | exact-prior forecast is |")
    print("|---|---:|---:|---:|---|")
    g["d"] = g["l"] - g["s"]
    for uid, r in g.sort_values("d", ascending=False).iterrows():
        which = "lithe's" if r["as_lithe"] else ("StatsForecast's" if r["as_sf"] else "neither")
        print(f"| {uid} | {r['l']:.2f} | {r['s']:.2f} | {r['x']:.2f} | {which} |")
    # The whole set: StatsForecast's forecasts with the series run replaced by the
    # exact-prior ones. Series asked for but not run yet take StatsForecast's forecast
    # in one row and lithe's in the other, which bounds the whole-set figure.
    rows = [("lithe", BASE / "done-lithe.csv"), ("StatsForecast", BASE / "done-sf.csv")]
    rest = [i for i in ids if i not in set(g.index)]
    fills = [("", sf)] if not rest else [(", the rest as StatsForecast", sf), (", the rest as lithe", lithe)]
    for k, (label, fill) in enumerate(fills):
        merged = pd.concat([sf[~sf["unique_id"].isin(ids)], fixed[key + ["AutoARIMA"]],
                            fill[fill["unique_id"].isin(rest)][key + ["AutoARIMA"]]])
        path = BASE / f"done-sf-exact-prior-{k}.csv"
        merged.to_csv(path, index=False)
        rows.append((f"StatsForecast, exact prior{label}", path))
    print(f"\n| M4 Hourly, all series ({len(rest)} of the {len(ids)} not run) | sMAPE | MASE | "
          f"lithe's sMAPE against it | lithe's MASE against it |\n|---|---:|---:|---:|---:|")
    scores = {n: evaluate(p, test_p, train_p, M)["models"]["AutoARIMA"] for n, p in rows}
    lt = scores["lithe"]
    for n, sc in scores.items():
        print(f"| {n} | {sc['smape']:.4f} | {sc['mase']:.4f} | {100 * (lt['smape'] / sc['smape'] - 1):+.2f} % | "
              f"{100 * (lt['mase'] / sc['mase'] - 1):+.2f} % |")


if __name__ == "__main__":
    main()
