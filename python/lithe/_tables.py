"""scikit-learn estimators over lithe's tree ensembles.

Every constructor argument, its default and its documentation come from the learner's
parameter spec in Rust (`lithe._lithe.param_spec`); LightGBM's scikit-learn names are
used where lithe's differ (`n_estimators`, `min_child_samples`, `subsample`, …).
"""

from __future__ import annotations

import json
import os

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, column_or_1d

from . import _frames
from ._lithe import TabularModel, param_spec

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(est, *args, **kw):
        kw["force_all_finite"] = kw.pop("ensure_all_finite", True)
        return est._validate_data(*args, **kw)


__all__ = ["GBDTClassifier", "GBDTRegressor", "RandomForestClassifier", "RandomForestRegressor"]

# Parameters an estimator sets itself rather than taking from the user.
_OWN = {"task"}


def _spec(model: str, skip: set[str]) -> list[dict]:
    return [p for p in param_spec(model) if p["name"] not in skip and p["name"] not in _OWN]


def _make_init(params: list[dict]):
    """An explicit keyword-only __init__ (scikit-learn reads the signature)."""
    names = [p["python_name"] for p in params] + ["n_jobs"]
    defaults = [p["default"] for p in params] + [None]
    src = "def __init__(self, *, {}):\n{}".format(
        ", ".join(f"{n}=_d[{i}]" for i, n in enumerate(names)),
        "\n".join(f"    self.{n} = {n}" for n in names),
    )
    ns: dict = {"_d": defaults}
    exec(src, ns)  # noqa: S102 - generated from the spec's names, not user input
    return ns["__init__"]


def _doc(summary: str, params: list[dict]) -> str:
    lines = [summary, "", "Parameters", "----------"]
    for p in params:
        kind = {"int": "int", "float": "float", "bool": "bool", "choice": "str", "text": "str or float"}[p["kind"]]
        if p["optional"]:
            kind += " or None"
        lines.append(f"{p['python_name']} : {kind}, default={p['default']!r}")
        doc = p["doc"]
        if p["python_name"] != p["name"]:
            doc += f" (lithe's `{p['name']}`)"
        if p["choices"]:
            doc += " One of: " + ", ".join(p["choices"]) + "."
        lines.append(f"    {doc}")
    lines.append("n_jobs : int or None, default=None")
    lines.append("    Threads to use (None or -1: every core).")
    return "\n".join(lines)


class _Trees(BaseEstimator):
    """Shared fit/predict of the four estimators."""

    _model = "gbdt"
    _params: list[dict] = []
    _task = "regression"

    # -- data ---------------------------------------------------------------------
    def _table(self, X, reset: bool, categorical=None):
        """X as a lithe table; on fit (`reset`) remember its columns."""
        if _frames.is_frame(X):
            names = _frames.frame_names(X)
            if len(set(names)) != len(names):
                raise ValueError("X has duplicate column names")
            if reset:
                self.n_features_in_ = len(names)
                if all(isinstance(c, str) for c in names):
                    self.feature_names_in_ = np.asarray(names, dtype=object)
                self._columns = names
                self._categorical = set(categorical or ())
            else:
                check_is_fitted(self)
                missing = [c for c in self._columns if c not in names]
                if missing:
                    raise ValueError(f"X lacks the column(s) the model was fitted on: {missing}")
            n = len(X) if _frames._module(X) != "pyarrow" else X.num_rows
            if n == 0:
                raise ValueError("X has 0 samples; at least 1 is required")
            return _frames.to_table(X, self._categorical)
        fitted_width_floats = (
            not reset
            and type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in (np.float64, np.float32)
            and X.shape[0] > 0
            and X.shape[1] == getattr(self, "n_features_in_", -1)
            and not hasattr(self, "feature_names_in_")
        )
        # A plain float matrix of the fitted width: scikit-learn's checks would pass it
        # unchanged (NaN is missing; infinity is refused below), so they are skipped.
        if not fitted_width_floats:
            X = _validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan")
            if reset:
                self._columns = [f"x{j}" for j in range(X.shape[1])]
                self._categorical = set()
                cat = list(categorical or ())
                if cat:
                    raise ValueError("categorical_feature needs a frame with named columns (pandas, polars, pyarrow)")
        if np.isinf(X).any():
            raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
        return _frames.matrix_table(X, self._columns)

    def _categorical_names(self, X, categorical_feature):
        if categorical_feature in (None, "auto"):
            return []
        names = _frames.frame_names(X) if _frames.is_frame(X) else None
        out = []
        for c in categorical_feature:
            if isinstance(c, (int, np.integer)):
                if names is None:
                    raise ValueError("categorical_feature by position needs a frame with named columns")
                out.append(names[c])
            else:
                out.append(str(c))
        return out

    def _target_name(self) -> str:
        name = "target"
        while name in self._columns:
            name = "_" + name
        return name

    def _lithe_params(self) -> dict:
        return {p["python_name"]: getattr(self, p["python_name"]) for p in self._params}

    # -- fit ------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None, eval_set=None, categorical_feature="auto", eval_sample_weight=None):
        """Train on X (NumPy array, pandas, polars or pyarrow frame) and y.

        sample_weight: one non-negative weight per row (None: all 1). Gradient
        boosting multiplies each row's gradient and hessian by it (LightGBM); a random
        forest multiplies each row's bootstrap count by it (scikit-learn).
        eval_set: a list with one (X, y) pair, scored after every round (gradient
        boosting; with `early_stopping_rounds`, the judge of early stopping).
        categorical_feature: column names or positions to split as categories besides
        the frame's categorical and text columns ("auto": those only).
        eval_sample_weight: a list with the weights of eval_set's rows (None: all 1).
        """
        cat = self._categorical_names(X, categorical_feature)
        if y is None:
            raise ValueError("requires y to be passed, but the target y is None")
        x = self._table(X, reset=True, categorical=cat)
        y = column_or_1d(y, warn=True)
        yv = self._target_column(y)
        weight = _weights(sample_weight, len(y), "sample_weight")
        valid = valid_weight = None
        if eval_set:
            if len(eval_set) != 1:
                raise ValueError("eval_set takes one (X, y) pair")
            vx, vy = eval_set[0]
            vx = self._table(vx, reset=False)
            vy = np.asarray(vy).ravel()
            if eval_sample_weight is not None:
                if len(eval_sample_weight) != 1:
                    raise ValueError("eval_sample_weight takes one array, for eval_set's one pair")
                valid_weight = _weights(eval_sample_weight[0], len(vy), "eval_sample_weight")
            valid = (vx, self._valid_column(vy))
        elif eval_sample_weight is not None:
            raise ValueError("eval_sample_weight needs an eval_set")
        target = self._target_name()
        model = TabularModel.fit(
            self._model,
            self._lithe_params(),
            x,
            yv,
            target,
            self._fit_task(),
            valid,
            self._jobs(),
            sample_weight=weight,
            eval_sample_weight=valid_weight,
        )
        self._booster = model
        report = json.loads(model.report_json) if model.report_json else None
        if report is not None:
            best = report["best_round"]
            self.best_iteration_ = (best + 1) if best is not None else report["rounds"]
        else:
            self.best_iteration_ = None
        return self

    def _fit_task(self) -> str:
        return self._task

    def _jobs(self) -> int:
        n = self.n_jobs
        return -1 if n is None else int(n)

    # -- predict ------------------------------------------------------------------------
    def _raw(self, X) -> np.ndarray:
        check_is_fitted(self, "_booster")
        x = self._table(X, reset=False)
        return np.frombuffer(self._booster.predict(x, self._jobs()), dtype=np.float64)

    @property
    def feature_importances_(self) -> np.ndarray:
        """Total split gain per feature, normalised to sum to 1 (input order)."""
        check_is_fitted(self, "_booster")
        gain = {f: g for f, g, _ in self._booster.importance}
        v = np.array([gain.get(c, 0.0) for c in self._columns], dtype=np.float64)
        s = v.sum()
        return v / s if s > 0 else v

    def save_model(self, path) -> "_Trees":
        """Write the lithe model file (the format `lithe tabular predict` reads)."""
        check_is_fitted(self, "_booster")
        self._booster.save(os.fspath(path))
        return self

    @classmethod
    def load_model(cls, path):
        """A fitted estimator from a lithe model file (written by `save_model` or by
        `lithe tabular train`)."""
        booster = TabularModel.load(os.fspath(path))
        expected = "rf" if cls._model == "rf" else "gbdt"
        if booster.kind != expected:
            raise ValueError(f"{os.fspath(path)} holds a {booster.kind} model, not {expected}")
        is_classifier = issubclass(cls, _Classifier)
        if is_classifier == (booster.task == "regression"):
            raise ValueError(f"{os.fspath(path)} holds a {booster.task} model")
        params = json.loads(booster.params_json)
        est = cls(**{p["python_name"]: params.get(p["name"], p["default"]) for p in cls._params})
        est._booster = booster
        est._columns = list(booster.feature_names)
        est._categorical = set()
        est.n_features_in_ = len(est._columns)
        if est._columns != [f"x{j}" for j in range(len(est._columns))]:
            # Names of a frame's columns (a NumPy-trained model's are lithe's x0, x1, …).
            est.feature_names_in_ = np.asarray(est._columns, dtype=object)
        est.best_iteration_ = None
        if is_classifier:
            est.classes_ = _classes_from_text(booster.classes)
            est.n_classes_ = len(est.classes_)
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"allow_nan": True}


def _classes_from_text(labels: list[str]) -> np.ndarray:
    """A model file's class labels: numbers when they all read as numbers."""
    try:
        v = np.array([float(c) for c in labels])
    except ValueError:
        return np.array(labels)
    return v.astype(np.int64) if np.all(v == np.round(v)) else v


def _weights(w, n: int, name: str):
    """Row weights as float64 bytes (None stays None; a scalar weighs every row).
    Their values (negative, NaN, all zero) are checked by lithe, which names the row."""
    if w is None:
        return None
    try:
        w = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be numbers: {e}") from None
    if w.ndim == 0:
        w = np.full(n, float(w))
    if w.shape != (n,):
        raise ValueError(f"{name}.shape == {w.shape}, expected ({n},)!")
    return np.ascontiguousarray(w).tobytes()


def _label_column(y, classes, codes=None):
    """Class labels as lithe reads a target: numbers as numbers (lithe orders them
    numerically, as np.unique does), anything else as text categories (ordered as
    text, as np.unique orders strings); `codes`: each row's index in `classes`, when
    known."""
    if y.dtype.kind in "biuf":
        return ("f64", np.ascontiguousarray(y, dtype=np.float64).tobytes())
    if codes is None:
        codes = np.searchsorted(classes, y)
    return ("cat", (codes.astype(np.int64).tobytes(), [str(c) for c in classes]))


def _check_labels(y, classes):
    """scikit-learn's check_classification_targets for a 1-d y, read from y's dtype,
    its first value and its distinct values `classes` (the same errors and messages,
    without another pass over y)."""
    if y.dtype.kind == "S" or (len(y) and isinstance(y.flat[0], bytes)):
        raise TypeError(
            "Support for labels represented as bytes is not supported. Convert "
            "the labels to a string or integer format."
        )
    kind = None
    if y.dtype == object and len(y) and not isinstance(y.flat[0], str):
        kind = "unknown"
    elif y.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    elif y.dtype.kind == "f" and len(classes):
        finite = np.isfinite(classes)
        if not finite.all():
            bad = "NaN" if np.isnan(classes).any() else f"infinity or a value too large for {y.dtype!r}"
            raise ValueError(f"Input y contains {bad}.")
        if np.any(classes != np.trunc(classes)):
            kind = "continuous"
    if kind is not None:
        raise ValueError(
            f"Unknown label type: {kind}. Maybe you are trying to fit a "
            "classifier, which expects discrete classes on a "
            "regression target with continuous values."
        )


class _Classifier(ClassifierMixin, _Trees):
    def _target_column(self, y):
        labels = y.astype(str) if y.dtype.kind == "O" else y
        # One pass over y: its classes and each row's index among them.
        self.classes_, codes = np.unique(labels, return_inverse=True)
        _check_labels(y, self.classes_)
        y = labels
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has only 1 class ({self.classes_[0] if len(self.classes_) else 'none'}); "
                "a classifier needs at least 2 classes"
            )
        self.n_classes_ = len(self.classes_)
        return _label_column(y, self.classes_, codes.reshape(-1))

    def _valid_column(self, y):
        if y.dtype.kind == "O":
            y = y.astype(str)
        if not np.isin(y, self.classes_).all():
            raise ValueError("eval_set's y has classes that are not in y")
        return _label_column(y, self.classes_)

    def _fit_task(self) -> str:
        return "binary" if len(self.classes_) == 2 else "multiclass"

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, one column per class of `classes_`."""
        check_is_fitted(self, "_booster")
        p = self._raw(X)
        k = len(self.classes_)
        if k == 2:
            return np.column_stack([1.0 - p, p])
        return p.reshape(-1, k)

    def predict(self, X) -> np.ndarray:
        """The most likely class of each row."""
        p = self.predict_proba(X)
        return self.classes_[np.argmax(p, axis=1)]


class _Regressor(RegressorMixin, _Trees):
    def _target_column(self, y):
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise ValueError(f"y must be numbers for a regressor: {e}") from None
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        return ("f64", np.ascontiguousarray(y).tobytes())

    _valid_column = _target_column

    def predict(self, X) -> np.ndarray:
        """The predicted value of each row."""
        return self._raw(X).copy()


def _finish(cls, model: str, skip: set[str], summary: str):
    cls._model = model
    cls._params = _spec(model, skip)
    cls.__init__ = _make_init(cls._params)
    cls.__doc__ = _doc(summary, cls._params)
    return cls


class GBDTClassifier(_Classifier):
    pass


class GBDTRegressor(_Regressor):
    pass


class RandomForestClassifier(_Classifier):
    pass


class RandomForestRegressor(_Regressor):
    pass


_finish(GBDTClassifier, "gbdt", {"objective"}, "Gradient-boosted trees for classification (LightGBM's algorithm).")
_finish(GBDTRegressor, "gbdt", set(), "Gradient-boosted trees for regression (LightGBM's algorithm).")
_finish(RandomForestClassifier, "rf", set(), "A random forest for classification (scikit-learn's defaults).")
_finish(RandomForestRegressor, "rf", set(), "A random forest for regression (scikit-learn's defaults).")
