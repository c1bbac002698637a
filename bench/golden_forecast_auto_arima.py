"""Golden values for lithe-forecast's AutoARIMA tests, produced by StatsForecast.

    bench/run golden_forecast_auto_arima.py

Fits StatsForecast's AutoARIMA to the fixture series of golden_forecast.py (season 4)
and golden_forecast_ets.py (season 12), and writes per series the selected orders
(arma = p, q, P, Q, m, d, D), whether it has a constant (drift or intercept), its AICc
and the forecasts with 80/95 intervals (horizon 8) to
crates/lithe-forecast/tests/golden/statsforecast_auto_arima.csv. Numbers only.
"""
import pathlib
import warnings

import numpy as np
import pandas as pd
from statsforecast.models import AutoARIMA

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/lithe-forecast/tests/golden"
H = 8


def fit_all(df, m, rows):
    for uid, g in df.groupby("unique_id", sort=True):
        y = g["y"].to_numpy(dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = AutoARIMA(season_length=m).fit(y)
            fc = model.predict(h=H, level=[80, 95])
        mod = model.model_
        p, q, P, Q, mm, d, D = mod["arma"]
        const = any(k in ("drift", "intercept") for k in mod["coef"])
        for k in range(H):
            rows.append({"unique_id": uid, "season": m, "p": p, "d": d, "q": q, "P": P, "D": D, "Q": Q,
                         "constant": int(const), "aicc": mod.get("aicc", np.nan), "step": k + 1,
                         "mean": fc["mean"][k], "lo80": fc["lo-80"][k], "lo95": fc["lo-95"][k],
                         "hi80": fc["hi-80"][k], "hi95": fc["hi-95"][k]})


def main():
    rows = []
    fit_all(pd.read_csv(OUT / "series.csv"), 4, rows)
    fit_all(pd.read_csv(OUT / "ets_series.csv"), 12, rows)
    out = pd.DataFrame(rows)
    out.to_csv(OUT / "statsforecast_auto_arima.csv", index=False, float_format="%.10g")
    print(out[out.step == 1][["unique_id", "p", "d", "q", "P", "D", "Q", "constant", "aicc"]].to_string())


if __name__ == "__main__":
    main()
