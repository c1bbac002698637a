"""lithe forecast against StatsForecast on M4 Hourly and Weekly: accuracy and time.

    bench/run forecast.py [--threads 2] [--repeats 3] [--sets hourly,weekly] [--models ...]
                          [--series N] [--sf-warmup full|small]

For each model, one lithe process reads the training file, forecasts every series and
writes the forecast file (median wall time of --repeats runs). StatsForecast does the
same in one Python process with n_jobs = threads: pandas.read_csv, forecast, to_csv;
the first call is the cold time, the median of the next --repeats calls the warm
time (the ratio uses the warm time). Both forecast files are scored by
`lithe forecast eval` with the M4 definitions (sMAPE, MASE, OWA against Naive2).
Hourly: h = 48, season 24; Weekly: h = 13, season 1 (as StatsForecast's own M4
experiments run it; MSTL on Weekly uses season 52, as StatsForecast's MSTL with season
1 needs the SuperSmoother package), MASE with the M4 frequencies (24 and 1).

--series N runs the first N series of each set only (their training and test rows
written to bench/out/forecast/<set>/). --sf-warmup small warms StatsForecast up on two
series instead of a whole cold run (for models that take hours on a whole set), and
reports no cold time. `ensemble` is the median of AutoETS, AutoARIMA, AutoCES and
AutoTheta, step by step, on both sides (StatsForecast runs the four in one call and the
median is taken in pandas); `auto_arima_fresh` is lithe's AutoARIMA with
--arima-likelihood fresh (R's likelihood; the default is StatsForecast's).
"""
import argparse
import json
import subprocess
import sys
import time

from common import LITHE, OUT, PYTHON, SHARED, machine, median, run_measured, subset

SETS = {
    "hourly": ("Hourly", 48, 24),
    "weekly": ("Weekly", 13, 1),
}
# lithe name → (StatsForecast class, constructor arguments, lithe flags[, season per set])
MODELS = {
    "auto_ets": ("AutoETS", {"season_length": "M"}, []),
    "auto_theta": ("AutoTheta", {"season_length": "M"}, []),
    "auto_ces": ("AutoCES", {"season_length": "M"}, []),
    "auto_arima": ("AutoARIMA", {"season_length": "M"}, []),
    "auto_arima_fresh": ("AutoARIMA", {"season_length": "M"}, ["--arima-likelihood", "fresh"]),
    "ensemble": ("Ensemble", {"season_length": "M"}, []),
    # MSTL with season 1 needs SuperSmoother in StatsForecast; weekly uses a year of weeks.
    "mstl": ("MSTL", {"season_length": "M"}, [], {"weekly": 52}),
    "holt": ("Holt", {"season_length": "M"}, []),
    "holt_winters": ("HoltWinters", {"season_length": "M"}, [], {"weekly": None}),
    "ses_optimized": ("SimpleExponentialSmoothingOptimized", {}, []),
    "seasonal_ses_optimized": ("SeasonalExponentialSmoothingOptimized", {"season_length": "M"}, []),
    "naive": ("Naive", {}, []),
    "seasonal_naive": ("SeasonalNaive", {"season_length": "M"}, []),
    "historic_average": ("HistoricAverage", {}, []),
    "random_walk_with_drift": ("RandomWalkWithDrift", {}, []),
    "window_average": ("WindowAverage", {"window_size": 4}, ["--window-size", "4"]),
    "seasonal_window_average": ("SeasonalWindowAverage", {"season_length": "M", "window_size": 2},
                                ["--window-size", "2"]),
    "croston_classic": ("CrostonClassic", {}, []),
    "croston_optimized": ("CrostonOptimized", {}, []),
    "croston_sba": ("CrostonSBA", {}, []),
    "tsb": ("TSB", {"alpha_d": 0.2, "alpha_p": 0.2}, ["--alpha-d", "0.2", "--alpha-p", "0.2"]),
    "adida": ("ADIDA", {}, []),
    "imapa": ("IMAPA", {}, []),
}

PEER = r'''
import json, sys, time
import pandas as pd
import statsforecast.models as sm
from statsforecast import StatsForecast
train, out, h, m, threads, repeats, cls, kwargs, warmup = sys.argv[1:10]
h, m, threads, repeats = int(h), int(m), int(threads), int(repeats)
kwargs = {k: (m if v == "M" else v) for k, v in json.loads(kwargs).items()}
MEMBERS = ["AutoETS", "AutoARIMA", "AutoCES", "AutoTheta"]
def models():
    if cls == "Ensemble":
        return [getattr(sm, c)(**kwargs) for c in MEMBERS]
    return [getattr(sm, cls)(**kwargs)]
def once(df=None, path=out):
    t0 = time.perf_counter()
    if df is None:
        df = pd.read_csv(train)
    fc = StatsForecast(models=models(), freq=1, n_jobs=threads).forecast(df=df, h=h)
    if cls == "Ensemble":
        # (AutoCES's column is "CES".)
        fc["Ensemble"] = fc[["AutoETS", "AutoARIMA", "CES", "AutoTheta"]].median(axis=1)
        fc = fc[["unique_id", "ds", "Ensemble"]]
    fc.to_csv(path, index=False)
    return time.perf_counter() - t0
if warmup == "small":
    df = pd.read_csv(train)
    once(df[df["unique_id"].isin(df["unique_id"].unique()[:2])], out + ".warmup.csv")
    cold = None
else:
    cold = once()
warm = sorted(once() for _ in range(repeats))[repeats // 2]
print(json.dumps({"cold": cold, "warm": warm}))
'''


def evaluate(fc, test, train, m):
    o = subprocess.run([str(LITHE), "forecast", "eval", "--forecast", str(fc), "--actual", str(test),
                        "--train", str(train), "--season", str(m)], capture_output=True, text=True, check=True)
    return json.loads(o.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sets", default="hourly,weekly")
    ap.add_argument("--models", default=",".join(m for m in MODELS if m not in ("auto_arima_fresh",)))
    ap.add_argument("--series", type=int, default=0)
    ap.add_argument("--sf-warmup", choices=["full", "small"], default="full")
    a = ap.parse_args()
    print(f"Forecasting — {time.strftime('%Y-%m-%d')}; {machine()}; {a.threads} threads; "
          f"statsforecast {__import__('statsforecast').__version__}\n")
    print("| set | model | lithe sMAPE | SF sMAPE | lithe MASE | SF MASE | lithe OWA | SF OWA | "
          "lithe s | SF cold s | SF warm s | SF warm ÷ lithe |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key in a.sets.split(","):
        name, h, m = SETS[key]
        train = SHARED / "m4" / "long" / f"{name}-train.csv.gz"
        test = SHARED / "m4" / "long" / f"{name}-test.csv"
        d = OUT / "forecast" / key
        d.mkdir(parents=True, exist_ok=True)
        if a.series:
            train, test = subset(train, test, d, a.series)
        for model in a.models.split(","):
            cls, kwargs, flags, *per_set = MODELS[model]
            season = per_set[0].get(key, m) if per_set else m
            if season is None:  # the model does not apply to this set
                continue
            lithe_fc = d / f"lithe_{model}.csv"
            cmd = [str(LITHE), "forecast", "--data", str(train), "--horizon", str(h), "--season", str(season),
                   "--models", model.removesuffix("_fresh"), *flags, "--threads", str(a.threads), "--out", str(lithe_fc), "--quiet"]
            t_lithe = median([run_measured(cmd)[1] for _ in range(a.repeats)])
            sf_fc = d / f"sf_{model}.csv"
            o, _, _ = run_measured([PYTHON, "-c", PEER, str(train), str(sf_fc), str(h), str(season), str(a.threads),
                                    str(a.repeats), cls, json.dumps(kwargs), a.sf_warmup])
            sf = json.loads(o)
            el = evaluate(lithe_fc, test, train, m)
            es = evaluate(sf_fc, test, train, m)
            col = next(iter(el["models"]))
            sl, ss = el["models"][col], es["models"][next(iter(es["models"]))]
            f = lambda v: "nan" if v is None else f"{v:.4f}"
            label = col if season == m else f"{col} (season {season})"
            label += " (fresh likelihood)" if "--arima-likelihood" in flags else ""
            cold = "–" if sf["cold"] is None else f"{sf['cold']:.3f}"
            print(f"| {name} | {label} | {f(sl['smape'])} | {f(ss['smape'])} | {f(sl['mase'])} | {f(ss['mase'])} | "
                  f"{f(sl['owa'])} | {f(ss['owa'])} | {t_lithe:.3f} | {cold} | {sf['warm']:.3f} | "
                  f"{sf['warm'] / t_lithe:.1f}× |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
