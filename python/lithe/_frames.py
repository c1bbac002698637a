"""Inputs to lithe tables: NumPy arrays, pandas, polars and pyarrow frames.

Frames with the Arrow C stream interface (pyarrow, polars) cross as Arrow; pandas and
NumPy cross column by column (float64 values, or a categorical's codes and
categories). Every conversion the Rust side cannot make raises ValueError/TypeError.
"""

from __future__ import annotations

import numpy as np

__all__ = ["is_frame", "frame_names", "to_table", "matrix_table", "from_columns"]


def _module(x) -> str:
    return type(x).__module__.split(".")[0]


def is_frame(x) -> bool:
    """A pandas, polars or pyarrow table (named columns that may be categorical)."""
    return _module(x) in ("pandas", "polars", "pyarrow") and hasattr(x, "columns")


def frame_names(x) -> list[str]:
    if _module(x) == "pyarrow":
        return list(x.column_names)
    return [str(c) for c in x.columns]


def matrix_table(a: np.ndarray, names: list[str]):
    """A 2-D float64 array as lithe columns."""
    a = np.asarray(a, dtype=np.float64)
    cols = []
    for j, name in enumerate(names):
        cols.append((name, "f64", np.ascontiguousarray(a[:, j]).tobytes()))
    return ("columns", cols)


def _pandas_table(df, categorical: set[str]):
    import pandas as pd

    numeric = [
        pd.api.types.is_numeric_dtype(t) and not isinstance(t, pd.CategoricalDtype) for t in df.dtypes
    ]
    if all(numeric) and not categorical:
        # Numbers only: one conversion of the whole frame.
        try:
            a = df.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as e:
            raise ValueError(f"X cannot be read as numbers: {e}") from None
        return matrix_table(a, [str(c) for c in df.columns])
    cols = []
    for name in df.columns:
        s = df[name]
        key = str(name)
        dtype = s.dtype
        if isinstance(dtype, pd.CategoricalDtype) or key in categorical or not (
            pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
        ):
            if not isinstance(dtype, pd.CategoricalDtype):
                s = s.astype("object").where(s.notna(), None)
                s = s.map(lambda v: v if v is None else str(v)).astype("category")
            cats = [str(c) for c in s.cat.categories]
            codes = np.asarray(s.cat.codes, dtype=np.int64)
            cols.append((key, "cat", (codes.tobytes(), cats)))
        else:
            try:
                v = s.to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError) as e:
                raise ValueError(f"column '{key}' cannot be read as numbers: {e}") from None
            cols.append((key, "f64", np.ascontiguousarray(v).tobytes()))
    return ("columns", cols)


def to_table(x, categorical: set[str] | None = None):
    """A frame as a lithe table (see the module's doc); `categorical` names columns to
    split as categories even if they hold numbers."""
    categorical = categorical or set()
    mod = _module(x)
    if mod == "pandas":
        return _pandas_table(x, categorical)
    if mod == "polars":
        if categorical:
            import polars as pl

            x = x.with_columns([pl.col(c).cast(pl.Utf8) for c in categorical])
        return ("arrow", x)
    if mod == "pyarrow":
        if categorical:
            import pyarrow as pa

            for c in categorical:
                i = x.column_names.index(c)
                x = x.set_column(i, c, x.column(c).cast(pa.string()))
        return ("arrow", x)
    raise TypeError(f"lithe reads NumPy arrays and pandas, polars or pyarrow frames, got {type(x)}")


def from_columns(columns) -> dict:
    """Columns lithe hands back, `(name, kind, data)`, as NumPy arrays by name: kind
    `f64`/`i64` (8-byte words), `ts_us` (microseconds since 1970), `date` (days since
    1970) or `str` (int64 codes and their categories)."""
    out = {}
    for name, kind, data in columns:
        if kind == "f64":
            out[name] = np.frombuffer(data, dtype=np.float64)
        elif kind == "i64":
            out[name] = np.frombuffer(data, dtype=np.int64)
        elif kind == "ts_us":
            out[name] = np.frombuffer(data, dtype=np.int64).view("datetime64[us]")
        elif kind == "date":
            out[name] = np.frombuffer(data, dtype=np.int64).astype("datetime64[D]")
        elif kind == "str":
            codes, cats = data
            out[name] = np.asarray(cats, dtype=object)[np.frombuffer(codes, dtype=np.int64)]
        else:
            raise TypeError(f"internal: unknown column kind {kind!r}")
    return out
