"""A script as a StatsForecast user writes it, run with either library's classes.

`run(StatsForecast, M, ConformalIntervals)` takes the classes from `statsforecast`
(bench/golden_python_forecast.py, which records the golden frames) or from
`lithe.forecast` (test_forecast.py, which compares them with the golden ones).
"""

import numpy as np
import pandas as pd


def data():
    """Three daily series of different lengths with a weekly pattern and a regressor."""
    rows = []
    for s, n in (("a", 60), ("b", 45), ("c", 80)):
        t = np.arange(n)
        y = 20 + 3 * np.sin(2 * np.pi * t / 7) + 0.05 * t * (1 + ord(s) % 3) + np.cos(t * 1.3)
        price = 1 + (t % 5) * 0.1
        ds = pd.date_range("2021-03-01", periods=n, freq="D")
        rows.append(pd.DataFrame({"unique_id": s, "ds": ds, "y": y + 2 * price, "price": price}))
    return pd.concat(rows, ignore_index=True)


def run(StatsForecast, M, ConformalIntervals):
    df = data()
    plain = df.drop(columns="price")
    out = {}
    sf = StatsForecast(
        models=[
            M.AutoETS(season_length=7),
            M.AutoTheta(season_length=7),
            M.SeasonalNaive(season_length=7),
            M.Naive(alias="Last"),
            M.HistoricAverage(),
            M.WindowAverage(window_size=3,
                            prediction_intervals=ConformalIntervals(h=5, n_windows=2)),
            M.SeasonalNaive(season_length=14, alias="SN14",
                            prediction_intervals=ConformalIntervals(h=5, n_windows=3)),
        ],
        freq="D",
        n_jobs=1,
    )
    out["forecast"] = sf.forecast(df=plain, h=5, level=[80, 95])
    out["cross_validation"] = sf.cross_validation(df=plain, h=5, n_windows=3, step_size=2)
    sf.fit(plain)
    out["predict"] = sf.predict(h=3)
    # Exogenous regressors: AutoARIMA reads the columns beside the value.
    last = df.groupby("unique_id")["ds"].max()
    future = pd.concat([
        pd.DataFrame({"unique_id": u, "ds": pd.date_range(d + pd.Timedelta(days=1), periods=4, freq="D"),
                      "price": [1.0, 1.1, 1.2, 1.3]})
        for u, d in last.items()
    ], ignore_index=True)
    arima = StatsForecast(models=[M.AutoARIMA(season_length=7)], freq="D", n_jobs=1)
    out["exogenous"] = arima.forecast(df=df, h=4, X_df=future)
    return out
