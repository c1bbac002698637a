"""Forecasting many time series, a drop-in for StatsForecast:

    from lithe.forecast import StatsForecast
    from lithe.forecast.models import AutoETS, SeasonalNaive

    sf = StatsForecast(models=[AutoETS(season_length=24), SeasonalNaive(season_length=24)],
                       freq="h", n_jobs=-1)
    fc = sf.forecast(df=df, h=48, level=[80, 95])
"""

from ._core import StatsForecast
from .utils import ConformalIntervals

__all__ = ["StatsForecast", "ConformalIntervals"]
