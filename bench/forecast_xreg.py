"""AutoARIMA with exogenous regressors: lithe against StatsForecast, accuracy and time.

    bench/run forecast_xreg.py [--series 200] [--threads 2] [--repeats 3]

M4 has no regressors, so the data is generated (seeded): series of 120-240 values,
each y = level + b1*x1 + b2*x2 + ARIMA noise (AR(1) errors, or a random walk with
drift), with x1 a smooth signal plus noise and x2 a 0/1 promotion flag; the next 12
values of x1 and x2 are known (--future / X_df), the next 12 of y are the test.
lithe: `lithe forecast --models auto_arima --future FUTURE` end to end; StatsForecast:
pandas.read_csv + StatsForecast([AutoARIMA()], freq=1, n_jobs).forecast(df, h, X_df)
+ to_csv, cold and warm. Both files scored by `lithe forecast eval` (season 1).
"""
import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from common import LITHE, OUT, PYTHON, machine, median, run_measured

H = 12

PEER = r'''
import json, sys, time
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoARIMA
train, future, out, h, threads, repeats = sys.argv[1:7]
h, threads, repeats = int(h), int(threads), int(repeats)
def once():
    t0 = time.perf_counter()
    df, X = pd.read_csv(train), pd.read_csv(future)
    fc = StatsForecast(models=[AutoARIMA()], freq=1, n_jobs=threads).forecast(df=df, h=h, X_df=X)
    fc.to_csv(out, index=False)
    return time.perf_counter() - t0
cold = once()
warm = sorted(once() for _ in range(repeats))[repeats // 2]
print(json.dumps({"cold": cold, "warm": warm}))
'''


def generate(n_series, d):
    rng = np.random.default_rng(7)
    train, future, test = [], [], []
    for s in range(n_series):
        n = int(rng.integers(120, 241)) + H
        t = np.arange(n)
        x1 = np.sin(t / rng.uniform(4, 12) + rng.uniform(0, 6)) + rng.normal(0, 0.3, n)
        x2 = (rng.random(n) < 0.15).astype(float)
        b1, b2 = rng.normal(0, 3), rng.uniform(0, 8)
        e = rng.normal(0, 1, n)
        if s % 2 == 0:
            noise = np.zeros(n)
            for k in range(1, n):
                noise[k] = 0.6 * noise[k - 1] + e[k]
        else:
            noise = np.cumsum(e + 0.1)
        y = 50 + b1 * x1 + b2 * x2 + noise
        uid = f"S{s}"
        for k in range(n):
            if k < n - H:
                train.append((uid, k + 1, y[k], x1[k], x2[k]))
            else:
                future.append((uid, k + 1, x1[k], x2[k]))
                test.append((uid, k + 1, y[k]))
    paths = d / "train.csv", d / "future.csv", d / "test.csv"
    pd.DataFrame(train, columns=["unique_id", "ds", "y", "x1", "x2"]).to_csv(paths[0], index=False)
    pd.DataFrame(future, columns=["unique_id", "ds", "x1", "x2"]).to_csv(paths[1], index=False)
    pd.DataFrame(test, columns=["unique_id", "ds", "y"]).to_csv(paths[2], index=False)
    return paths


def evaluate(fc, test, train):
    o = run_measured([str(LITHE), "forecast", "eval", "--forecast", str(fc), "--actual", str(test),
                      "--train", str(train), "--season", "1"])[0]
    return json.loads(o)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    d = OUT / "forecast" / "xreg"
    d.mkdir(parents=True, exist_ok=True)
    train, future, test = generate(a.series, d)
    lithe_fc, sf_fc = d / "lithe_auto_arima.csv", d / "sf_auto_arima.csv"
    cmd = [str(LITHE), "forecast", "--data", str(train), "--future", str(future), "--horizon", str(H),
           "--models", "auto_arima", "--threads", str(a.threads), "--out", str(lithe_fc), "--quiet"]
    t_lithe = median([run_measured(cmd)[1] for _ in range(a.repeats)])
    o, _, _ = run_measured([PYTHON, "-c", PEER, str(train), str(future), str(sf_fc), str(H),
                            str(a.threads), str(a.repeats)])
    sf = json.loads(o)
    el, es = evaluate(lithe_fc, test, train), evaluate(sf_fc, test, train)
    sl, ss = el["models"]["AutoARIMA"], es["models"]["AutoARIMA"]
    print(f"AutoARIMA with two regressors — {time.strftime('%Y-%m-%d')}; {machine()}; {a.threads} threads; "
          f"statsforecast {__import__('statsforecast').__version__}; {a.series} generated series, h = {H}\n")
    print("| lithe sMAPE | SF sMAPE | lithe MASE | SF MASE | lithe s | SF cold s | SF warm s | SF warm ÷ lithe |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {sl['smape']:.4f} | {ss['smape']:.4f} | {sl['mase']:.4f} | {ss['mase']:.4f} | {t_lithe:.3f} | "
          f"{sf['cold']:.3f} | {sf['warm']:.3f} | {sf['warm'] / t_lithe:.1f}× |")


if __name__ == "__main__":
    sys.exit(main())
