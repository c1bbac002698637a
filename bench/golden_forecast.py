"""Golden values for lithe-forecast's tests, produced by StatsForecast.

    bench/run golden_forecast.py

Generates twenty fixture series with a fixed seed (seasonal, trending, noisy,
intermittent, short; integer ds), writes them to
crates/lithe-forecast/tests/golden/series.csv, runs StatsForecast's baseline and
intermittent-demand models on them (horizon 7, season 4, levels 80 and 95 where the
model defines intervals) and writes the forecasts to
crates/lithe-forecast/tests/golden/statsforecast.csv; then conformal intervals
(ConformalIntervals(h=7, n_windows=2), levels 80 and 95) for four models on the series
long enough for them, to statsforecast_conformal.csv. Numbers only: the tests compare
lithe's forecasts with these.
"""
import pathlib

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.utils import ConformalIntervals
from statsforecast.models import (ADIDA, IMAPA, TSB, CrostonClassic, CrostonOptimized, CrostonSBA,
                                  HistoricAverage, Naive, RandomWalkWithDrift, SeasonalExponentialSmoothing,
                                  SeasonalExponentialSmoothingOptimized, SeasonalNaive, SeasonalWindowAverage,
                                  SimpleExponentialSmoothing, SimpleExponentialSmoothingOptimized,
                                  WindowAverage)

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/lithe-forecast/tests/golden"
H, M = 7, 4


def fixtures():
    rng = np.random.default_rng(20261126)
    series = {}
    for i in range(8):  # seasonal with trend and noise, lengths 20..90
        n = 20 + 10 * i
        t = np.arange(n)
        season = np.array([1.0, 1.3, 0.8, 0.9])[t % M]
        series[f"seasonal_{i}"] = (50 + 0.5 * i * t) * season + rng.normal(0, 2 + i, n)
    for i in range(6):  # intermittent demand, some very sparse
        n = 40 + 12 * i
        occur = rng.random(n) < (0.15 + 0.1 * i)
        series[f"intermittent_{i}"] = np.where(occur, rng.poisson(3 + i, n) + 1, 0).astype(float)
    for i in range(4):  # random walks, one with drift
        n = 30 + 15 * i
        series[f"walk_{i}"] = 100 + np.cumsum(rng.normal(0.3 * i, 1.5, n))
    series["short_5"] = np.array([3.0, 5.0, 4.0, 6.0, 5.0])
    series["constant_12"] = np.full(12, 7.0)
    rows = []
    for uid, y in series.items():
        rows.append(pd.DataFrame({"unique_id": uid, "ds": np.arange(1, len(y) + 1), "y": np.round(y, 4)}))
    return pd.concat(rows, ignore_index=True)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    df = fixtures()
    df.to_csv(OUT / "series.csv", index=False)
    with_intervals = [Naive(), SeasonalNaive(season_length=M), HistoricAverage(), RandomWalkWithDrift()]
    without = [WindowAverage(window_size=3), SeasonalWindowAverage(season_length=M, window_size=2),
               CrostonClassic(), CrostonOptimized(), CrostonSBA(), TSB(alpha_d=0.2, alpha_p=0.3),
               ADIDA(), IMAPA(), SimpleExponentialSmoothing(alpha=0.3), SimpleExponentialSmoothingOptimized(),
               SeasonalExponentialSmoothing(season_length=M, alpha=0.3),
               SeasonalExponentialSmoothingOptimized(season_length=M)]
    a = StatsForecast(models=with_intervals, freq=1, n_jobs=1).forecast(df=df, h=H, level=[80, 95])
    b = StatsForecast(models=without, freq=1, n_jobs=1).forecast(df=df, h=H)
    out = a.merge(b, on=["unique_id", "ds"])
    out.to_csv(OUT / "statsforecast.csv", index=False, float_format="%.10g")
    print(f"{out['unique_id'].nunique()} series, {len(out)} rows, columns: {', '.join(out.columns)}")
    ci = ConformalIntervals(h=H, n_windows=2)
    conformal = [Naive(prediction_intervals=ci), WindowAverage(window_size=3, prediction_intervals=ci),
                 CrostonClassic(prediction_intervals=ci), ADIDA(prediction_intervals=ci)]
    long_enough = df.groupby("unique_id")["y"].transform("size") >= 2 * H + 1
    c = StatsForecast(models=conformal, freq=1, n_jobs=1).forecast(df=df[long_enough], h=H, level=[80, 95])
    c.to_csv(OUT / "statsforecast_conformal.csv", index=False, float_format="%.10g")
    print(f"conformal: {c['unique_id'].nunique()} series, columns: {', '.join(c.columns)}")


if __name__ == "__main__":
    main()
