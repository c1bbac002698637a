"""Golden values for lithe-forecast's Theta tests, produced by StatsForecast.

    bench/run golden_forecast_theta.py

Fits StatsForecast's AutoTheta, Theta, OptimizedTheta, DynamicTheta and
DynamicOptimizedTheta to the fixture series of golden_forecast.py (season 4) and of
golden_forecast_ets.py (season 12), and writes per series and model the selected
variant, its parameters, the selection criterion and the point forecasts (horizon 8)
to crates/lithe-forecast/tests/golden/statsforecast_theta.csv ("error" where
StatsForecast refuses the series). Numbers only. StatsForecast's Theta intervals come
from 200 sampled paths, so they are not golden values.
"""
import pathlib

import numpy as np
import pandas as pd
from statsforecast.models import AutoTheta, DynamicOptimizedTheta, DynamicTheta, OptimizedTheta, Theta

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/lithe-forecast/tests/golden"
H = 8


def fit_all(df, m, rows):
    for uid, g in df.groupby("unique_id", sort=True):
        y = g["y"].to_numpy(dtype=float)
        for cls in [AutoTheta, Theta, OptimizedTheta, DynamicTheta, DynamicOptimizedTheta]:
            model = cls(season_length=m)
            base = {"unique_id": uid, "season": m, "model": cls.__name__}
            try:
                model.fit(y)
                fc = model.predict(h=H)
            except Exception:
                rows.append({**base, "method": "error", "step": 0})
                continue
            mod = model.model_
            par = mod["par"]
            for k in range(H):
                rows.append({**base, "method": mod["modeltype"], "initial_smoothed": par["initial_smoothed"],
                             "alpha": par["alpha"], "theta": par["theta"], "mse": mod["mse"],
                             "decompose": bool(mod.get("decompose", False)),
                             "step": k + 1, "mean": fc["mean"][k]})


def main():
    rows = []
    fit_all(pd.read_csv(OUT / "series.csv"), 4, rows)
    fit_all(pd.read_csv(OUT / "ets_series.csv"), 12, rows)
    out = pd.DataFrame(rows)
    out.to_csv(OUT / "statsforecast_theta.csv", index=False, float_format="%.10g")
    print(out[out.step <= 1].groupby(["model", "method", "decompose"]).size().to_string())


if __name__ == "__main__":
    main()
