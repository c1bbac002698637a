"""Golden values for AutoARIMA with exogenous regressors, produced by StatsForecast.

    bench/run golden_forecast_auto_arima_xreg.py

Generates (seeded) series with two regressor columns x1 and x2 beside y and their
values over the next H steps, writes them to crates/lithe-forecast/tests/golden/
xreg_series.csv and xreg_future.csv, fits StatsForecast's AutoARIMA with X to each
series and writes the selected orders, the constant, the AICc, the regression
coefficients and the forecasts with 80 % intervals to
statsforecast_auto_arima_xreg.csv. Generated data and numbers only.
"""
import pathlib
import warnings

import numpy as np
import pandas as pd
from statsforecast.models import AutoARIMA

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/lithe-forecast/tests/golden"
H = 6


def arma_noise(rng, n, phi=0.0, theta=0.0, sd=1.0):
    e = rng.normal(0, sd, n + 1)
    out = np.zeros(n)
    prev = 0.0
    for t in range(n):
        prev = phi * prev + e[t + 1] + theta * e[t]
        out[t] = prev
    return out


def make():
    rng = np.random.default_rng(20261127)
    series = []  # (id, season, y, x1, x2) over n + H; the last H are the future

    n = 150 + H  # two regressors, AR(1) errors, no season
    x1 = np.sin(np.arange(n) / 7.0) + rng.normal(0, 0.3, n)
    x2 = (rng.random(n) < 0.2).astype(float)
    y = 10 + 3 * x1 + 5 * x2 + arma_noise(rng, n, phi=0.6)
    series.append(("X1", 1, y, x1, x2))

    n = 144 + H  # monthly season, a wandering regressor and a dummy
    t = np.arange(n)
    x1 = np.cumsum(rng.normal(0, 1, n))
    x2 = (t % 12 == 11).astype(float)
    y = 50 + 8 * np.sin(2 * np.pi * t / 12) + 0.8 * x1 + 6 * x2 + np.cumsum(rng.normal(0, 0.5, n))
    series.append(("X2", 12, y, x1, x2))

    n = 120 + H  # quarterly season, integrated errors with MA
    t = np.arange(n)
    x1 = rng.normal(0, 1, n)
    x2 = np.log1p(t)
    y = 20 + 2 * x1 + 3 * x2 + np.array([4, -1, -3, 0])[t % 4] + np.cumsum(arma_noise(rng, n, theta=0.4))
    series.append(("X3", 4, y, x1, x2))

    n = 160 + H  # a constant regressor beside a varying one
    x1 = rng.gamma(2.0, 1.5, n)
    x2 = np.full(n, 1.0)
    y = 5 - 1.5 * x1 + arma_noise(rng, n, phi=0.3, theta=0.3)
    series.append(("X4", 1, y, x1, x2))

    n = 180 + H  # a random walk with drift plus a regressor effect
    t = np.arange(n)
    x1 = rng.normal(0, 1, n)
    x2 = np.cos(t / 5.0)
    y = 100 + 0.3 * t + 2 * x1 - 4 * x2 + np.cumsum(rng.normal(0, 1, n))
    series.append(("X5", 1, y, x1, x2))

    n = 96 + H  # weak regressors: selection may leave them near zero
    x1 = rng.normal(0, 1, n)
    x2 = rng.normal(0, 1, n)
    y = 30 + 0.1 * x1 + arma_noise(rng, n, phi=0.8, sd=2.0)
    series.append(("X6", 1, y, x1, x2))
    return series


def main():
    train, future, rows = [], [], []
    for uid, m, y, x1, x2 in make():
        n = len(y) - H
        for k in range(len(y)):
            rec = {"unique_id": uid, "ds": k + 1, "x1": x1[k], "x2": x2[k]}
            if k < n:
                train.append({**rec, "y": y[k]})
            else:
                future.append(rec)
        X = np.column_stack([x1[:n], x2[:n]])
        Xf = np.column_stack([x1[n:], x2[n:]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = AutoARIMA(season_length=m).fit(y[:n], X=X)
            fc = model.predict(h=H, X=Xf, level=[80])
        mod = model.model_
        p, q, P, Q, mm, d, D = mod["arma"]
        coef = mod["coef"]
        const = any(k in ("drift", "intercept") for k in coef)
        for k in range(H):
            rows.append({"unique_id": uid, "season": m, "p": p, "d": d, "q": q, "P": P, "D": D,
                         "Q": Q, "constant": int(const), "aicc": mod.get("aicc", np.nan),
                         "ex_1": coef.get("ex_1", np.nan), "ex_2": coef.get("ex_2", np.nan),
                         "step": k + 1, "mean": fc["mean"][k], "lo80": fc["lo-80"][k],
                         "hi80": fc["hi-80"][k]})
    cols = ["unique_id", "ds", "y", "x1", "x2"]
    pd.DataFrame(train)[cols].to_csv(OUT / "xreg_series.csv", index=False, float_format="%.10g")
    pd.DataFrame(future)[["unique_id", "ds", "x1", "x2"]].to_csv(
        OUT / "xreg_future.csv", index=False, float_format="%.10g")
    out = pd.DataFrame(rows)
    out.to_csv(OUT / "statsforecast_auto_arima_xreg.csv", index=False, float_format="%.10g")
    print(out[out.step == 1][["unique_id", "p", "d", "q", "P", "D", "Q", "constant", "aicc",
                              "ex_1", "ex_2"]].to_string())


if __name__ == "__main__":
    main()
