"""Golden values for lithe-forecast's ARIMA building blocks, produced by StatsForecast
and statsmodels.

    bench/run golden_forecast_arima.py

For every fixture series of golden_forecast.py (season 4) and golden_forecast_ets.py
(season 12): statsmodels' KPSS statistic with StatsForecast's lag rule, StatsForecast's
`ndiffs`, its seasonal strength (`seas_heuristic`) and `nsdiffs`. Writes
crates/lithe-forecast/tests/golden/statsforecast_arima_tests.csv. Numbers only.
"""
import math
import pathlib
import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsforecast.arima import ndiffs, nsdiffs, seas_heuristic

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/lithe-forecast/tests/golden"


def rows_for(df, m, rows):
    for uid, g in df.groupby("unique_id", sort=True):
        y = g["y"].to_numpy(dtype=float)
        if np.all(y == y[0]):
            continue
        lags = math.floor(3 * math.sqrt(len(y)) / 13)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stat = sm.tsa.kpss(y, "c", nlags=lags)[0]
            strength = seas_heuristic(y, m) if len(y) > m else float("nan")
            rows.append({"unique_id": uid, "season": m, "kpss": stat, "ndiffs": ndiffs(y),
                         "strength": strength, "nsdiffs": nsdiffs(y, period=m) if len(y) > m else 0})


def main():
    rows = []
    rows_for(pd.read_csv(OUT / "series.csv"), 4, rows)
    rows_for(pd.read_csv(OUT / "ets_series.csv"), 12, rows)
    out = pd.DataFrame(rows)
    out.to_csv(OUT / "statsforecast_arima_tests.csv", index=False, float_format="%.12g")
    print(out.to_string())


if __name__ == "__main__":
    main()
