"""Golden values for lithe-forecast's AutoCES tests, produced by StatsForecast.

    bench/run golden_forecast_ces.py

Fits StatsForecast's AutoCES to the fixture series of golden_forecast.py (season 4)
and golden_forecast_ets.py (season 12), and writes per series the selected seasonal
form, the smoothing parameters, AICc and the point forecasts (horizon 8) to
crates/lithe-forecast/tests/golden/statsforecast_ces.csv ("error" where StatsForecast
refuses the series). Numbers only. StatsForecast's CES intervals come from simulation
with perturbed states, so they are not golden values.
"""
import pathlib

import pandas as pd
from statsforecast.models import AutoCES

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/lithe-forecast/tests/golden"
H = 8


def fit_all(df, m, rows):
    for uid, g in df.groupby("unique_id", sort=True):
        y = g["y"].to_numpy(dtype=float)
        model = AutoCES(season_length=m)
        base = {"unique_id": uid, "season": m, "model": "CES"}
        try:
            model.fit(y)
            fc = model.predict(h=H)
        except Exception:
            rows.append({**base, "method": "error", "step": 0})
            continue
        mod = model.model_
        par = mod["par"]
        for k in range(H):
            rows.append({**base, "method": mod["seasontype"], "alpha_0": par["alpha_0"], "alpha_1": par["alpha_1"],
                         "beta_0": par["beta_0"], "beta_1": par["beta_1"], "aicc": mod["aicc"],
                         "step": k + 1, "mean": fc["mean"][k]})


def main():
    rows = []
    fit_all(pd.read_csv(OUT / "series.csv"), 4, rows)
    fit_all(pd.read_csv(OUT / "ets_series.csv"), 12, rows)
    out = pd.DataFrame(rows)
    out.to_csv(OUT / "statsforecast_ces.csv", index=False, float_format="%.10g")
    print(out[out.step <= 1].groupby(["method"]).size().to_string())


if __name__ == "__main__":
    main()
