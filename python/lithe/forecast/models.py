"""The forecasting models, by StatsForecast's names and constructor arguments.

Each model here is a description (its lithe model, settings and output name); the
fitting happens in Rust when `StatsForecast.forecast` or `cross_validation` runs.
Arguments StatsForecast takes that lithe does not offer are accepted at their
StatsForecast defaults and refused with a ValueError otherwise, so a script never
gets a different model than it asked for without being told.
"""

from __future__ import annotations

from .._lithe import param_spec
from .utils import ConformalIntervals

__all__ = [
    "AutoETS", "AutoARIMA", "AutoTheta", "AutoCES", "MSTL", "Holt", "HoltWinters",
    "Theta", "OptimizedTheta", "DynamicTheta", "DynamicOptimizedTheta", "Naive",
    "SeasonalNaive", "HistoricAverage", "RandomWalkWithDrift", "WindowAverage",
    "SeasonalWindowAverage", "SimpleExponentialSmoothing",
    "SimpleExponentialSmoothingOptimized", "SeasonalExponentialSmoothing",
    "SeasonalExponentialSmoothingOptimized", "CrostonClassic", "CrostonOptimized",
    "CrostonSBA", "TSB", "ADIDA", "IMAPA",
]

# lithe's defaults of the models' settings (one source: the Rust parameter spec).
_DEFAULTS = {p["python_name"]: p["default"] for p in param_spec("forecast")}


def _only(model: str, name: str, value, default):
    if value != default:
        raise ValueError(
            f"lithe's {model} does not offer {name}={value!r} (only the default, {default!r})"
        )


def _season(model: str, season_length) -> list[int]:
    seasons = list(season_length) if isinstance(season_length, (list, tuple)) else [season_length]
    out = []
    for s in seasons:
        if isinstance(s, bool) or not isinstance(s, int) and not hasattr(s, "__index__"):
            raise TypeError(f"{model}: season_length must be an integer, got {s!r}")
        s = int(s)
        if s < 1:
            raise ValueError(f"{model}: season_length must be at least 1, got {s}")
        out.append(s)
    return out


class _Model:
    """A model as StatsForecast's `models=[...]` holds it."""

    _lithe: str = ""

    def __init__(self, alias: str, prediction_intervals=None, season_length=1, **params):
        if prediction_intervals is not None and not isinstance(prediction_intervals, ConformalIntervals):
            raise TypeError("prediction_intervals must be a ConformalIntervals")
        self.alias = alias
        self.prediction_intervals = prediction_intervals
        self.season_length = season_length
        self._seasons = _season(type(self).__name__, season_length)
        self._params = {k: v for k, v in params.items() if v is not None}

    def __repr__(self) -> str:
        return self.alias

    def _describe(self, levels: list[float], intervals: ConformalIntervals | None, h: int):
        """(lithe model, alias, parameters, season lengths, levels) for the Rust side."""
        params = dict(self._params)
        ci = self.prediction_intervals or intervals
        # As StatsForecast: conformal intervals are computed only when levels are asked for.
        if ci is not None and levels:
            if ci.h != h:
                raise ValueError(
                    f"{self.alias}: the conformal intervals were made for h={ci.h}, "
                    f"but the forecast is for h={h}"
                )
            params["conformal_windows"] = ci.n_windows
        return (self._lithe, self.alias, params, self._seasons, levels)


class AutoETS(_Model):
    _lithe = "auto_ets"

    def __init__(self, season_length: int = 1, model: str = _DEFAULTS["model"], damped=None,
                 phi=None, alias: str = "AutoETS", prediction_intervals=None,
                 distribution: str = "normal"):
        _only("AutoETS", "phi", phi, None)
        _only("AutoETS", "distribution", distribution, "normal")
        if damped is not None and not isinstance(damped, bool):
            raise TypeError(f"AutoETS: damped must be None, True or False, got {damped!r}")
        super().__init__(alias, prediction_intervals, season_length, model=model,
                         damped=None if damped is None else str(damped).lower())
        self.model, self.damped = model, damped


_ARIMA_DEFAULTS = dict(
    d=None, D=None, max_p=5, max_q=5, max_P=2, max_Q=2, max_order=5, max_d=2, max_D=1,
    start_p=2, start_q=2, start_P=1, start_Q=1, stationary=False, seasonal=True, ic="aicc",
    stepwise=True, nmodels=94, trace=False, approximation=False, method=None, truncate=None,
    test="kpss", test_kwargs=None, seasonal_test="seas", seasonal_test_kwargs=None,
    allowdrift=True, allowmean=True, blambda=None, biasadj=False, distribution="normal",
)


class AutoARIMA(_Model):
    _lithe = "auto_arima"

    def __init__(self, d=None, D=None, max_p=5, max_q=5, max_P=2, max_Q=2, max_order=5,
                 max_d=2, max_D=1, start_p=2, start_q=2, start_P=1, start_Q=1,
                 stationary=False, seasonal=True, ic="aicc", stepwise=True, nmodels=94,
                 trace=False, approximation=False, method=None, truncate=None, test="kpss",
                 test_kwargs=None, seasonal_test="seas", seasonal_test_kwargs=None,
                 allowdrift=True, allowmean=True, blambda=None, biasadj=False,
                 season_length: int = 1, distribution: str = "normal",
                 alias: str = "AutoARIMA", prediction_intervals=None):
        given = dict(locals())
        for name, default in _ARIMA_DEFAULTS.items():
            _only("AutoARIMA", name, given[name], default)
        super().__init__(alias, prediction_intervals, season_length)


class _Theta(_Model):
    def __init__(self, season_length=1, decomposition_type="multiplicative", alias="",
                 prediction_intervals=None):
        _only(type(self).__name__, "decomposition_type", decomposition_type, "multiplicative")
        super().__init__(alias, prediction_intervals, season_length)


class AutoTheta(_Theta):
    _lithe = "auto_theta"

    def __init__(self, season_length: int = 1, decomposition_type: str = "multiplicative",
                 model=None, alias: str = "AutoTheta", prediction_intervals=None,
                 distribution: str = "normal"):
        _only("AutoTheta", "model", model, None)
        _only("AutoTheta", "distribution", distribution, "normal")
        super().__init__(season_length, decomposition_type, alias, prediction_intervals)


class Theta(_Theta):
    _lithe = "theta"

    def __init__(self, season_length: int = 1, decomposition_type: str = "multiplicative",
                 alias: str = "Theta", prediction_intervals=None):
        super().__init__(season_length, decomposition_type, alias, prediction_intervals)


class OptimizedTheta(_Theta):
    _lithe = "optimized_theta"

    def __init__(self, season_length: int = 1, decomposition_type: str = "multiplicative",
                 alias: str = "OptimizedTheta", prediction_intervals=None):
        super().__init__(season_length, decomposition_type, alias, prediction_intervals)


class DynamicTheta(_Theta):
    _lithe = "dynamic_theta"

    def __init__(self, season_length: int = 1, decomposition_type: str = "multiplicative",
                 alias: str = "DynamicTheta", prediction_intervals=None):
        super().__init__(season_length, decomposition_type, alias, prediction_intervals)


class DynamicOptimizedTheta(_Theta):
    _lithe = "dynamic_optimized_theta"

    def __init__(self, season_length: int = 1, decomposition_type: str = "multiplicative",
                 alias: str = "DynamicOptimizedTheta", prediction_intervals=None):
        super().__init__(season_length, decomposition_type, alias, prediction_intervals)


class AutoCES(_Model):
    _lithe = "auto_ces"

    def __init__(self, season_length: int = 1, model: str = "Z", alias: str = "CES",
                 prediction_intervals=None, distribution: str = "normal"):
        _only("AutoCES", "model", model, "Z")
        _only("AutoCES", "distribution", distribution, "normal")
        super().__init__(alias, prediction_intervals, season_length)


class MSTL(_Model):
    """MSTL: the trend and remainder forecast by AutoETS without a season (ZZN), as
    StatsForecast's default `trend_forecaster`."""

    _lithe = "mstl"

    def __init__(self, season_length, trend_forecaster=None, stl_kwargs=None,
                 alias: str = "MSTL", prediction_intervals=None):
        if trend_forecaster is not None and not (
            type(trend_forecaster) is AutoETS and trend_forecaster.model == "ZZN"
            and trend_forecaster.damped is None
        ):
            raise ValueError("lithe's MSTL forecasts the trend with AutoETS(model='ZZN') only")
        _only("MSTL", "stl_kwargs", stl_kwargs, None)
        super().__init__(alias, prediction_intervals, season_length)


class Holt(_Model):
    _lithe = "holt"

    def __init__(self, season_length: int = 1, error_type: str = "A", alias: str = "Holt",
                 prediction_intervals=None):
        if error_type not in ("A", "M"):
            raise ValueError(f"Holt: error_type must be 'A' or 'M', got {error_type!r}")
        params = {} if error_type == "A" else {"model": "MAN"}
        if error_type == "M":
            self._lithe = "auto_ets"
        super().__init__(alias, prediction_intervals, season_length, **params)


class HoltWinters(_Model):
    _lithe = "holt_winters"

    def __init__(self, season_length: int = 1, error_type: str = "A",
                 alias: str = "HoltWinters", prediction_intervals=None):
        if error_type not in ("A", "M"):
            raise ValueError(f"HoltWinters: error_type must be 'A' or 'M', got {error_type!r}")
        params = {} if error_type == "A" else {"model": "MAM"}
        if error_type == "M":
            self._lithe = "auto_ets"
        super().__init__(alias, prediction_intervals, season_length, **params)


def _simple(name: str, lithe: str, alias: str):
    """A model whose only arguments are its alias and intervals."""

    def __init__(self, alias: str = alias, prediction_intervals=None):
        _Model.__init__(self, alias, prediction_intervals)

    return type(name, (_Model,), {"_lithe": lithe, "__init__": __init__,
                                  "__doc__": f"StatsForecast's {name}."})


Naive = _simple("Naive", "naive", "Naive")
HistoricAverage = _simple("HistoricAverage", "historic_average", "HistoricAverage")
RandomWalkWithDrift = _simple("RandomWalkWithDrift", "random_walk_with_drift", "RWD")
SimpleExponentialSmoothingOptimized = _simple(
    "SimpleExponentialSmoothingOptimized", "ses_optimized", "SESOpt")
CrostonClassic = _simple("CrostonClassic", "croston_classic", "CrostonClassic")
CrostonOptimized = _simple("CrostonOptimized", "croston_optimized", "CrostonOptimized")
CrostonSBA = _simple("CrostonSBA", "croston_sba", "CrostonSBA")
ADIDA = _simple("ADIDA", "adida", "ADIDA")
IMAPA = _simple("IMAPA", "imapa", "IMAPA")


class SeasonalNaive(_Model):
    _lithe = "seasonal_naive"

    def __init__(self, season_length: int, alias: str = "SeasonalNaive", prediction_intervals=None):
        super().__init__(alias, prediction_intervals, season_length)


class WindowAverage(_Model):
    _lithe = "window_average"

    def __init__(self, window_size: int, alias: str = "WindowAverage", prediction_intervals=None):
        super().__init__(alias, prediction_intervals, 1, window_size=window_size)


class SeasonalWindowAverage(_Model):
    _lithe = "seasonal_window_average"

    def __init__(self, season_length: int, window_size: int, alias: str = "SeasWA",
                 prediction_intervals=None):
        super().__init__(alias, prediction_intervals, season_length, window_size=window_size)


class SimpleExponentialSmoothing(_Model):
    _lithe = "ses"

    def __init__(self, alpha: float, alias: str = "SES", prediction_intervals=None):
        super().__init__(alias, prediction_intervals, 1, alpha=alpha)


class SeasonalExponentialSmoothing(_Model):
    _lithe = "seasonal_ses"

    def __init__(self, season_length: int, alpha: float, alias: str = "SeasonalES",
                 prediction_intervals=None):
        super().__init__(alias, prediction_intervals, season_length, alpha=alpha)


class SeasonalExponentialSmoothingOptimized(_Model):
    _lithe = "seasonal_ses_optimized"

    def __init__(self, season_length: int, alias: str = "SeasESOpt", prediction_intervals=None):
        super().__init__(alias, prediction_intervals, season_length)


class TSB(_Model):
    _lithe = "tsb"

    def __init__(self, alpha_d: float, alpha_p: float, alias: str = "TSB", prediction_intervals=None):
        super().__init__(alias, prediction_intervals, 1, alpha_d=alpha_d, alpha_p=alpha_p)
