"""Two-tower retrieval: `TwoTower` learns a user tower and an item tower from
interactions and answers each user with its top items from an item index.

    from lithe.recommend import TwoTower

    model = TwoTower(seed=1).fit(interactions)          # user_id, item_id[, weight, timestamp]
    recs = model.recommend(["u1", "u2"], k=10)          # user_id, rank, item_id, score

Every constructor argument, its default and documentation come from the model's
parameter spec in Rust (`lithe._lithe.param_spec("two_tower")`), the same as the
`lithe recommend train` flags. Settings left at None (dim, epochs, learning_rate,
temperature, l2) are tuned on a validation slice; a given one stays fixed.
"""

from __future__ import annotations

import json
import os

import numpy as np

from . import _frames
from ._lithe import TwoTowerModel, param_spec

__all__ = ["TwoTower"]

_PARAMS = param_spec("two_tower")
_IDS = {"user_id", "item_id"}


def _table(x, what: str, ids: set[str]):
    """A frame (pandas, polars, pyarrow) as a lithe table, the id columns as text."""
    if not _frames.is_frame(x):
        raise TypeError(f"{what} must be a pandas, polars or pyarrow frame, got {type(x)}")
    names = _frames.frame_names(x)
    need = sorted(c for c in ids if c not in names)
    if need:
        raise ValueError(f"{what} has no column {need[0]!r} (columns: {', '.join(names)})")
    return _frames.to_table(x, {c for c in names if c in _IDS})


def _frame(columns, like):
    """The output columns as a frame of the same library as `like` (pandas by default)."""
    data = _frames.from_columns(columns)
    mod = _frames._module(like) if like is not None else "pandas"
    if mod == "polars":
        import polars as pl

        return pl.DataFrame(data)
    if mod == "pyarrow":
        import pyarrow as pa

        return pa.table(data)
    import pandas as pd

    return pd.DataFrame(data)


class TwoTower:
    """A two-tower retrieval model (see the module's documentation)."""

    def __init__(self, *, n_jobs: int | None = None, **params):
        names = {p["python_name"]: p for p in _PARAMS}
        for k in params:
            if k not in names:
                raise TypeError(f"TwoTower got an unexpected argument {k!r}; it takes "
                                f"{', '.join(names)} and n_jobs")
        self.params = {k: params.get(k, p["default"]) for k, p in names.items()}
        self.n_jobs = n_jobs
        self._model = None

    def __repr__(self) -> str:
        given = {k: v for k, v in self.params.items()
                 if v != next(p["default"] for p in _PARAMS if p["python_name"] == k)}
        return "TwoTower(" + ", ".join(f"{k}={v!r}" for k, v in given.items()) + ")"

    def _jobs(self) -> int:
        return -1 if self.n_jobs is None else int(self.n_jobs)

    def _fitted(self) -> TwoTowerModel:
        if self._model is None:
            raise ValueError("this TwoTower is not fitted yet; call fit first")
        return self._model

    def fit(self, interactions, user_features=None, item_features=None, valid=None):
        """Train on `interactions` (user_id, item_id, optional positive weight and
        timestamp). `user_features` / `item_features`: user_id / item_id plus feature
        columns (numbers, categories, text). `valid`: interactions to tune on instead
        of a slice cut from `interactions` (the final model is fitted on both)."""
        t = _table(interactions, "interactions", {"user_id", "item_id"})
        v = None if valid is None else _table(valid, "valid", {"user_id", "item_id"})
        uf = None if user_features is None else _table(user_features, "user_features", {"user_id"})
        itf = None if item_features is None else _table(item_features, "item_features", {"item_id"})
        self._model = TwoTowerModel.fit(self.params, t, v, uf, itf, n_jobs=self._jobs())
        self.n_users_ = self._model.n_users
        self.n_items_ = self._model.n_items
        self.params_ = json.loads(self._model.params_json)
        return self

    def recommend(self, users, k: int = 10, exclude_seen: bool = True, exact: bool = False):
        """The top `k` items for each user: a frame `user_id, rank, item_id, score`,
        users in the order given. `users` is a list of ids, or a frame with a user_id
        column (and, for users new to the model, its user feature columns). A user the
        model does not know and has no features for gets the most popular items.
        `exclude_seen` leaves out the items each user interacted with in training;
        `exact` searches every item instead of the index."""
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive integer, got {k!r}")
        like = None
        if _frames.is_frame(users):
            like = users
            t = _table(users, "users", {"user_id"})
        else:
            if isinstance(users, (str, bytes)):
                raise TypeError("users must be a list of ids or a frame, not one string")
            ids = [str(u) for u in users]
            codes = np.arange(len(ids), dtype=np.int64)
            t = ("columns", [("user_id", "cat", (codes.tobytes(), ids))])
        cols, self.popular_users_, self.feature_users_ = self._fitted().recommend(
            t, int(k), bool(exclude_seen), bool(exact), n_jobs=self._jobs())
        return _frame(cols, like)

    def evaluate(self, test, k: int = 10) -> dict:
        """Recall@k, NDCG@k and catalogue coverage on held-out interactions
        (user_id, item_id), training items excluded from the lists."""
        t = _table(test, "test", {"user_id", "item_id"})
        return json.loads(self._fitted().evaluate(t, int(k), n_jobs=self._jobs()))

    def add_items(self, items):
        """Embed new items (item_id plus the item feature columns the model was trained
        with) with the item tower and add them to the index, without retraining."""
        n = self._fitted().add_items(_table(items, "items", {"item_id"}))
        self.n_items_ = self._model.n_items
        return n

    def save_model(self, path: str | os.PathLike):
        """Write the model file (the one `lithe recommend train` writes)."""
        self._fitted().save(os.fspath(path))
        return self

    @classmethod
    def load_model(cls, path: str | os.PathLike) -> "TwoTower":
        """A TwoTower from a model file (written by save_model or the CLI)."""
        self = cls()
        self._model = TwoTowerModel.load(os.fspath(path))
        self.n_users_ = self._model.n_users
        self.n_items_ = self._model.n_items
        self.params_ = json.loads(self._model.params_json)
        return self
