"""`StatsForecast`: StatsForecast's class over lithe's forecasting library.

Frames in (pandas or polars, long format: id, time, value and any exogenous
regressors), frames out with StatsForecast's columns and dtypes. The series are
forecast in Rust, in parallel on `n_jobs` threads, with the GIL released.
"""

from __future__ import annotations

import json
import warnings

import numpy as np

from .. import _frames, _lithe
from .models import _Model
from .utils import ConformalIntervals

__all__ = ["StatsForecast"]


def _freq(freq) -> str | None:
    """StatsForecast's `freq` (a pandas alias or an integer step) as lithe's."""
    if freq is None:
        return None
    if isinstance(freq, bool):
        raise TypeError("freq must be a pandas frequency alias or an integer")
    if isinstance(freq, (int, np.integer)):
        return str(int(freq))
    if not isinstance(freq, str):
        # A pandas DateOffset.
        freq = getattr(freq, "freqstr", str(freq))
    # Anchored aliases ("W-SUN", "QE-DEC") step like their base.
    return freq.split("-")[0]


def _pandas_columns(df, id_col: str, time_col: str):
    """A pandas frame as lithe columns, and how to give its id and time back."""
    import pandas as pd

    cols = []
    kinds = {}
    for name in df.columns:
        s = df[name]
        key = str(name)
        if key == id_col:
            if pd.api.types.is_integer_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype):
                if s.isna().any():
                    raise ValueError(f"id column '{key}' has missing values")
                cols.append((key, "i64", s.to_numpy(dtype=np.int64).tobytes()))
            else:
                c = s.astype("category") if not isinstance(s.dtype, pd.CategoricalDtype) else s
                cats = [str(v) for v in c.cat.categories]
                cols.append((key, "cat", (np.asarray(c.cat.codes, dtype=np.int64).tobytes(), cats)))
            kinds[key] = s.dtype
        elif key == time_col:
            if isinstance(s.dtype, pd.DatetimeTZDtype):
                raise ValueError(
                    f"time column '{key}' has a time zone; give naive datetimes (e.g. in UTC)"
                )
            if pd.api.types.is_datetime64_dtype(s.dtype):
                if s.isna().any():
                    raise ValueError(f"time column '{key}' has missing values")
                us = s.to_numpy().astype("datetime64[us]").view(np.int64)
                cols.append((key, "ts_us", us.tobytes()))
            elif pd.api.types.is_integer_dtype(s.dtype):
                cols.append((key, "i64", s.to_numpy(dtype=np.int64).tobytes()))
            else:
                raise ValueError(
                    f"time column '{key}' must hold integers or datetimes, not {s.dtype}"
                )
            kinds[key] = s.dtype
        else:
            try:
                v = s.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                raise ValueError(
                    f"column '{key}' must hold numbers (every column beside {id_col} and "
                    f"{time_col} is the value or an exogenous regressor), not {s.dtype}"
                ) from None
            cols.append((key, "f64", np.ascontiguousarray(v).tobytes()))
    return ("columns", cols), kinds


class StatsForecast:
    """Forecast many series with many models, as `statsforecast.StatsForecast`.

    `models` are the classes of `lithe.forecast.models`; `freq` a pandas frequency
    alias (`"h"`, `"D"`, `"W"`, `"MS"`, …) or an integer step for integer time;
    `n_jobs` the threads (-1: every core). `fallback_model` may be None, `Naive()` or
    `SeasonalNaive(...)`: lithe falls back for a series a model cannot fit to the
    seasonal naive forecast (seasonal models) and then the naive one, and counts it.
    """

    def __init__(self, models, freq, n_jobs: int = 1, fallback_model=None, verbose: bool = False):
        models = list(models)
        if not models:
            raise ValueError("models must name at least one model")
        for m in models:
            if not isinstance(m, _Model):
                raise TypeError(
                    f"{m!r} is not a lithe.forecast.models model (import the models from "
                    "lithe.forecast.models)"
                )
        aliases = [m.alias for m in models]
        dup = sorted({a for a in aliases if aliases.count(a) > 1})
        if dup:
            raise ValueError(f"two models have the alias {dup[0]!r}; give each its own alias")
        if fallback_model is not None and type(fallback_model).__name__ not in ("Naive", "SeasonalNaive"):
            raise ValueError(
                "lithe falls back to SeasonalNaive and then Naive; fallback_model may be None, "
                "Naive() or SeasonalNaive(...)"
            )
        if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
            raise ValueError(f"n_jobs must be a nonzero integer, got {n_jobs!r}")
        self.models = models
        self.freq = freq
        self.n_jobs = int(n_jobs)
        self.fallback_model = fallback_model
        self.verbose = verbose
        self._freq = _freq(freq)
        self.last_report_ = None

    def __repr__(self) -> str:
        return f"StatsForecast(models=[{','.join(map(repr, self.models))}])"

    # -- the runs -------------------------------------------------------------------

    def _run(self, df, h, level, X_df, prediction_intervals, cv, id_col, time_col, target_col):
        if isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1:
            raise ValueError(f"h must be a positive integer, got {h!r}")
        h = int(h)
        levels = [] if level is None else [float(v) for v in level]
        if prediction_intervals is not None and not isinstance(prediction_intervals, ConformalIntervals):
            raise TypeError("prediction_intervals must be a ConformalIntervals")
        mod = _frames._module(df)
        if mod not in ("pandas", "polars"):
            raise TypeError(f"df must be a pandas or polars DataFrame, got {type(df)}")
        for c in (id_col, time_col, target_col):
            if c not in df.columns:
                raise ValueError(f"df has no column '{c}' (columns: {', '.join(map(str, df.columns))})")
        if X_df is not None and _frames._module(X_df) != mod:
            raise TypeError("X_df must be the same kind of frame as df")
        if mod == "pandas":
            table, kinds = _pandas_columns(df, id_col, time_col)
            future = None if X_df is None else _pandas_columns(X_df, id_col, time_col)[0]
        else:
            table, kinds = ("arrow", df), dict(zip(df.columns, df.dtypes))
            future = None if X_df is None else ("arrow", X_df)
        models = [m._describe(levels, prediction_intervals, h) for m in self.models]
        columns, report, notes = _lithe.forecast(
            table, id_col, time_col, target_col, h, models, freq=self._freq, future=future,
            cv=cv, n_jobs=self.n_jobs,
        )
        self.last_report_ = json.loads(report)
        for note in notes:
            warnings.warn(note, stacklevel=3)
        arrays = _frames.from_columns(columns)
        return self._frame(mod, arrays, kinds, id_col, time_col)

    @staticmethod
    def _frame(mod, arrays, kinds, id_col, time_col):
        """The output frame, the id and time columns in the input's dtypes."""
        if mod == "pandas":
            import pandas as pd

            out = pd.DataFrame(arrays)
            for c in (id_col, time_col, "cutoff"):
                if c not in out.columns:
                    continue
                want = kinds[time_col] if c == "cutoff" else kinds[c]
                if out[c].dtype != want:
                    out[c] = out[c].astype(want)
            return out
        import polars as pl

        out = pl.DataFrame(arrays)
        casts = []
        for c in (id_col, time_col, "cutoff"):
            if c in out.columns:
                want = kinds[time_col] if c == "cutoff" else kinds[c]
                if out.schema[c] != want:
                    casts.append(pl.col(c).cast(want))
        return out.with_columns(casts) if casts else out

    def forecast(self, h: int, df, X_df=None, level=None, fitted: bool = False,
                 prediction_intervals=None, id_col: str = "unique_id", time_col: str = "ds",
                 target_col: str = "y"):
        """Forecast `h` steps past the end of every series of `df`: a frame of the id,
        the time and one column per model (and its `-lo-`/`-hi-` interval bounds for
        each level in percent). `X_df` holds the exogenous regressors' values over the
        horizon, for the models that use them."""
        if fitted:
            raise ValueError("lithe does not return in-sample fitted values (fitted=True)")
        return self._run(df, h, level, X_df, prediction_intervals, None, id_col, time_col, target_col)

    def fit(self, df, prediction_intervals=None, id_col: str = "unique_id", time_col: str = "ds",
            target_col: str = "y"):
        """Keep the series for `predict` (lithe fits when it forecasts; the forecasts are
        those of `forecast`)."""
        if _frames._module(df) not in ("pandas", "polars"):
            raise TypeError(f"df must be a pandas or polars DataFrame, got {type(df)}")
        self._fit = (df, prediction_intervals, id_col, time_col, target_col)
        return self

    def predict(self, h: int, X_df=None, level=None):
        """The forecasts of the series given to `fit`."""
        if not hasattr(self, "_fit"):
            raise ValueError("call fit before predict")
        df, pi, id_col, time_col, target_col = self._fit
        return self._run(df, h, level, X_df, pi, None, id_col, time_col, target_col)

    def fit_predict(self, h: int, df, X_df=None, level=None, prediction_intervals=None,
                    id_col: str = "unique_id", time_col: str = "ds", target_col: str = "y"):
        self.fit(df, prediction_intervals, id_col, time_col, target_col)
        return self.predict(h, X_df, level)

    def cross_validation(self, h: int, df, n_windows: int = 1, step_size: int = 1,
                         test_size=None, input_size=None, level=None, fitted: bool = False,
                         refit=True, prediction_intervals=None, id_col: str = "unique_id",
                         time_col: str = "ds", target_col: str = "y"):
        """Forecasts from `n_windows` cutoffs `step_size` apart, the last window ending at
        each series' end: a frame of the id, the time, the cutoff, the actual value and
        one column per model. `test_size` (instead of `n_windows`) sets the windows as
        StatsForecast does."""
        if fitted:
            raise ValueError("lithe does not return in-sample fitted values (fitted=True)")
        if refit is not True:
            raise ValueError("lithe refits every window (refit=True only)")
        if input_size is not None:
            raise ValueError("lithe trains each window on the whole history (input_size=None only)")
        for name, v in (("step_size", step_size), ("n_windows", n_windows)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if test_size is not None:
            if test_size < h or (test_size - h) % step_size:
                raise ValueError("test_size must be h plus a multiple of step_size")
            n_windows = (test_size - h) // step_size + 1
        return self._run(df, h, level, None, prediction_intervals, (int(n_windows), int(step_size)),
                         id_col, time_col, target_col)
