"""Golden values for lithe-forecast's MSTL tests, produced by StatsForecast.

    bench/run golden_forecast_mstl.py

Fits StatsForecast's MSTL (default trend forecaster AutoETS(model="ZZN")) to the
fixture series of golden_forecast.py (season 4), golden_forecast_ets.py (season 12)
and, with two seasons (4 and 12), to the ets_series set; writes the forecasts with
80/95 intervals (horizon 8) to
crates/lithe-forecast/tests/golden/statsforecast_mstl.csv ("error" where
StatsForecast refuses the series). Numbers only.
"""
import pathlib

import pandas as pd
from statsforecast.models import MSTL

OUT = pathlib.Path(__file__).resolve().parent.parent / "crates/lithe-forecast/tests/golden"
H = 8


def fit_all(df, seasons, rows):
    for uid, g in df.groupby("unique_id", sort=True):
        y = g["y"].to_numpy(dtype=float)
        base = {"unique_id": uid, "seasons": "+".join(map(str, seasons))}
        try:
            fc = MSTL(season_length=seasons if len(seasons) > 1 else seasons[0]).forecast(y=y, h=H, level=[80, 95])
        except Exception:
            rows.append({**base, "step": 0, "mean": float("nan")})
            continue
        for k in range(H):
            rows.append({**base, "step": k + 1, "mean": fc["mean"][k], "lo80": fc["lo-80"][k],
                         "lo95": fc["lo-95"][k], "hi80": fc["hi-80"][k], "hi95": fc["hi-95"][k]})


def main():
    rows = []
    fit_all(pd.read_csv(OUT / "series.csv"), [4], rows)
    fit_all(pd.read_csv(OUT / "ets_series.csv"), [12], rows)
    fit_all(pd.read_csv(OUT / "ets_series.csv"), [4, 12], rows)
    out = pd.DataFrame(rows)
    out.to_csv(OUT / "statsforecast_mstl.csv", index=False, float_format="%.10g")
    print(out.groupby("seasons").size().to_string(), (out.step == 0).sum(), "refused")


if __name__ == "__main__":
    main()
