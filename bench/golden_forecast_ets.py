"""Golden values for lithe-forecast's ETS tests (AutoETS, Holt, HoltWinters), produced
by StatsForecast.

    bench/run golden_forecast_ets.py

Fits StatsForecast's AutoETS, Holt and HoltWinters to every series of two fixture
sets: the twenty series of golden_forecast.py (season 4) and eight more made here with
a fixed seed (season 12: short series that take the Fourier start, multiplicative
seasons, damped trends). Writes, per series and model, the selected model, its
parameters, AICc and the forecasts with 80/95 intervals (horizon 8) to
crates/lithe-forecast/tests/golden/statsforecast_ets.csv ("error" where StatsForecast
refuses the series), and the extra series to ets_series.csv. Numbers only.
"""
import math
import pathlib

import numpy as np
import pandas as pd
from statsforecast.models import AutoETS, Holt, HoltWinters

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/lithe-forecast/tests/golden"
H = 8


def extra_fixtures():
    rng = np.random.default_rng(20261127)
    m = 12
    series = {}
    for i in range(3):  # short seasonal series: fewer than three seasons
        n = 26 + 4 * i
        t = np.arange(n)
        series[f"short_seasonal_{i}"] = 200 + 10 * np.sin(2 * np.pi * t / m) + rng.normal(0, 2, n) + i * t
    for i in range(3):  # multiplicative seasonality on a growing level
        n = 72 + 12 * i
        t = np.arange(n)
        pattern = 1 + 0.3 * np.sin(2 * np.pi * t / m + i)
        series[f"mult_{i}"] = (100 + 2 * t) * pattern * np.exp(rng.normal(0, 0.03, n))
    for i in range(2):  # damped growth without season
        n = 60 + 20 * i
        t = np.arange(n)
        series[f"damped_{i}"] = 50 + 30 * (1 - 0.95 ** t) + rng.normal(0, 0.8, n)
    rows = [pd.DataFrame({"unique_id": k, "ds": np.arange(1, len(v) + 1), "y": np.round(v, 4)})
            for k, v in series.items()]
    return pd.concat(rows, ignore_index=True), m


def fit_all(df, m, rows):
    for uid, g in df.groupby("unique_id", sort=True):
        y = g["y"].to_numpy(dtype=float)
        models = [("AutoETS", AutoETS(season_length=m)), ("Holt", Holt(season_length=m))]
        if m > 1:
            models.append(("HoltWinters", HoltWinters(season_length=m)))
        for name, model in models:
            base = {"unique_id": uid, "season": m, "model": name}
            try:
                model.fit(y)
                fc = model.predict(h=H, level=[80, 95])
            except Exception as e:  # StatsForecast refuses the series
                rows.append({**base, "method": "error", "step": 0})
                continue
            mod = model.model_
            alpha, beta, gamma, phi = (float(v) for v in mod["par"][:4])
            for k in range(H):
                rows.append({**base, "method": mod["components"], "alpha": alpha, "beta": beta,
                             "gamma": gamma, "phi": phi, "aicc": mod["aicc"], "sigma2": mod["sigma2"],
                             "step": k + 1, "mean": fc["mean"][k],
                             "lo80": fc["lo-80"][k], "lo95": fc["lo-95"][k],
                             "hi80": fc["hi-80"][k], "hi95": fc["hi-95"][k]})


def main():
    base = pd.read_csv(OUT / "series.csv")
    extra, m = extra_fixtures()
    extra.to_csv(OUT / "ets_series.csv", index=False)
    rows = []
    fit_all(base, 4, rows)
    fit_all(extra, m, rows)
    out = pd.DataFrame(rows)
    out.to_csv(OUT / "statsforecast_ets.csv", index=False, float_format="%.10g")
    sel = out[out.step <= 1].groupby(["model", "method"]).size()
    print(sel.to_string())


if __name__ == "__main__":
    main()
