"""StatsForecast's `statsforecast.utils` names that scripts import."""

from __future__ import annotations

__all__ = ["ConformalIntervals"]


class ConformalIntervals:
    """Conformal prediction intervals (StatsForecast's): the model forecasts the last
    `n_windows` stretches of `h` values of each series from the history before each,
    and the absolute errors bound the intervals."""

    def __init__(self, h: int, n_windows: int = 2, method: str = "conformal_distribution"):
        if n_windows < 2:
            raise ValueError("n_windows must be at least 2")
        if h < 1:
            raise ValueError("h must be at least 1")
        if method != "conformal_distribution":
            raise ValueError(
                f"method {method!r}: lithe gives conformal_distribution intervals only"
            )
        self.h = h
        self.n_windows = n_windows
        self.method = method

    def __repr__(self) -> str:
        return f"ConformalIntervals(h={self.h}, n_windows={self.n_windows})"
