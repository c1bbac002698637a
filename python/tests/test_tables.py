"""The scikit-learn estimators: scikit-learn's own checks, the parameter spec, inputs
of every kind, pickle and model-file round trips, and bad input from Python."""

import inspect
import pickle

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.utils.estimator_checks import parametrize_with_checks

import lithe
from lithe._lithe import TabularModel, param_spec

ESTIMATORS = [
    lithe.GBDTClassifier(n_estimators=10),
    lithe.GBDTRegressor(n_estimators=10),
    lithe.RandomForestClassifier(n_estimators=10),
    lithe.RandomForestRegressor(n_estimators=10),
]

# Checks lithe fails on purpose, each with its reason, by learner.
EXPECTED_FAILED: dict[str, dict[str, str]] = {
    "rf": {
        # scikit-learn lists its own forests as failing this check, for this reason.
        "check_sample_weight_equivalence_on_dense_data": (
            "sample_weight is not equivalent to removing/repeating samples: as in "
            "scikit-learn's forests, each tree draws its bootstrap uniformly over the rows "
            "and multiplies the counts by the weights, so weighted and repeated data draw "
            "different samples."
        ),
    },
}


def _expected_failed(est):
    return dict(EXPECTED_FAILED.get(est._model, {}))


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed)
def test_scikit_learn_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "cls,model,skip",
    [
        (lithe.GBDTClassifier, "gbdt", {"objective"}),
        (lithe.GBDTRegressor, "gbdt", set()),
        (lithe.RandomForestClassifier, "rf", {"task"}),
        (lithe.RandomForestRegressor, "rf", {"task"}),
    ],
)
def test_signature_and_docs_come_from_the_spec(cls, model, skip):
    sig = inspect.signature(cls)
    spec = [p for p in param_spec(model) if p["name"] not in skip and p["name"] != "task"]
    names = [p["python_name"] for p in spec] + ["n_jobs"]
    assert list(sig.parameters) == names
    for p in spec:
        assert sig.parameters[p["python_name"]].default == p["default"], p["name"]
        assert p["doc"] in cls.__doc__
    # LightGBM's scikit-learn names where lithe's differ.
    if model == "gbdt":
        assert {"n_estimators", "min_child_samples", "subsample", "colsample_bytree", "reg_lambda"} <= set(names)


def _data(n=400, seed=0):
    X, y = make_classification(n, 5, n_informative=3, random_state=seed)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    df["city"] = pd.Categorical(np.where(X[:, 0] > 0, "north", "south"))
    return X, y, df


def test_frames_of_every_kind_give_the_same_predictions():
    X, y, df = _data()
    num = df.drop(columns="city")
    ref = lithe.GBDTClassifier(n_estimators=15).fit(X, y).predict_proba(X)
    for frame in (num, pl.from_pandas(num), pa.Table.from_pandas(num)):
        got = lithe.GBDTClassifier(n_estimators=15).fit(frame, y).predict_proba(frame)
        np.testing.assert_array_equal(got, ref)
    # A categorical column splits natively and predicts the same from any frame.
    m = lithe.GBDTClassifier(n_estimators=15).fit(df, y)
    assert list(m.feature_names_in_) == list(df.columns)
    p = m.predict_proba(df)
    np.testing.assert_array_equal(m.predict_proba(pl.from_pandas(df)), p)
    np.testing.assert_array_equal(m.predict_proba(pa.Table.from_pandas(df)), p)
    # Columns in another order are matched by name.
    np.testing.assert_array_equal(m.predict_proba(df[df.columns[::-1]]), p)


def test_labels_keep_their_type_and_order():
    X, y, _ = _data()
    labels = np.where(y == 1, "yes", "no")
    m = lithe.RandomForestClassifier(n_estimators=10).fit(X, labels)
    assert list(m.classes_) == ["no", "yes"]
    assert set(m.predict(X)) <= {"no", "yes"}
    y3 = (X[:, 0] > 0.5).astype(int) + (X[:, 1] > 0.5).astype(int) * 2 + 10
    m = lithe.GBDTClassifier(n_estimators=10).fit(X, y3)
    assert list(m.classes_) == sorted(set(y3))
    assert m.predict_proba(X).shape == (len(X), len(set(y3)))
    np.testing.assert_allclose(m.predict_proba(X).sum(axis=1), 1.0)


def test_pickle_and_model_file_round_trips(tmp_path):
    X, y, df = _data()
    for est in (lithe.GBDTClassifier(n_estimators=10), lithe.RandomForestClassifier(n_estimators=5)):
        est.fit(df, y)
        p = est.predict_proba(df)
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict_proba(df), p)
        path = tmp_path / "m.lithe"
        est.save_model(path)
        back = type(est).load_model(path)
        np.testing.assert_array_equal(back.predict_proba(df), p)
        np.testing.assert_array_equal(back.classes_, est.classes_)
        # The file is the CLI's: its header names the learner and the parameters.
        raw = TabularModel.load(str(path))
        assert raw.kind == est._model
    Xr, yr = make_regression(300, 4, random_state=1)
    r = lithe.GBDTRegressor(n_estimators=10, learning_rate=0.2).fit(Xr, yr)
    r.save_model(tmp_path / "r.lithe")
    back = lithe.GBDTRegressor.load_model(tmp_path / "r.lithe")
    assert back.learning_rate == 0.2
    np.testing.assert_array_equal(back.predict(Xr), r.predict(Xr))
    with pytest.raises(ValueError, match="holds a regression model"):
        lithe.GBDTClassifier.load_model(tmp_path / "r.lithe")


def test_early_stopping_with_an_eval_set():
    X, y, _ = _data(1000)
    m = lithe.GBDTClassifier(n_estimators=300, learning_rate=0.3, early_stopping_rounds=5)
    m.fit(X[:700], y[:700], eval_set=[(X[700:], y[700:])])
    assert 1 <= m.best_iteration_ < 300


@pytest.mark.parametrize(
    "make,message",
    [
        (lambda: lithe.GBDTClassifier(n_estimators=0), "n_estimators must be at least 1"),
        (lambda: lithe.GBDTRegressor(max_depth=0), "max_depth must be -1 (no limit) or at least 1, got 0"),
        (lambda: lithe.GBDTRegressor(subsample=1.5), "subsample must be in (0, 1], got 1.5"),
        (lambda: lithe.GBDTRegressor(objective="binary"), "objective binary does not fit the task regression"),
        (lambda: lithe.GBDTRegressor(objective="nope"), "objective has no value 'nope'"),
        (lambda: lithe.GBDTClassifier(early_stopping_rounds=3), "early_stopping_rounds needs a validation set"),
        (
            lambda: lithe.RandomForestClassifier(oob_score=True, bootstrap=False),
            "oob_score true needs bootstrap true",
        ),
        (lambda: lithe.RandomForestRegressor(max_features="half"), "max_features 'half' is not sqrt"),
        (lambda: lithe.GBDTClassifier(n_jobs=0), "n_jobs must not be 0"),
    ],
)
def test_bad_parameters_raise_value_error_naming_the_python_parameter(make, message):
    X, y, _ = _data(100)
    with pytest.raises(ValueError) as e:
        make().fit(X, y)
    assert message in str(e.value)


def test_bad_data_raises_and_never_crashes():
    X, y, df = _data(100)
    m = lithe.GBDTClassifier(n_estimators=5).fit(df, y)
    with pytest.raises(ValueError, match="lacks the column"):
        m.predict(df.drop(columns="f1"))
    with pytest.raises(ValueError, match="only 1 class"):
        lithe.GBDTClassifier().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError):
        lithe.GBDTRegressor().fit(X, np.full(len(X), np.inf))
    with pytest.raises(ValueError):
        lithe.GBDTRegressor().fit(X[:10], y)
    with pytest.raises(TypeError):
        lithe.GBDTRegressor(learning_rate=[0.1]).fit(X, y)
    with pytest.raises(ValueError, match="not a lithe model|empty"):
        TabularModel.from_bytes(b"")
    with pytest.raises(ValueError, match="no such file"):
        lithe.GBDTClassifier.load_model("/nonexistent/m.lithe")


@pytest.mark.parametrize(
    "cls",
    [lithe.GBDTClassifier, lithe.GBDTRegressor, lithe.RandomForestClassifier, lithe.RandomForestRegressor],
)
def test_unit_weights_are_no_weights(cls):
    X, y, df = _data(300)
    if issubclass(cls, lithe.GBDTRegressor) or issubclass(cls, lithe.RandomForestRegressor):
        y = X[:, 0] * 2.0 + X[:, 1]
    plain = cls(n_estimators=10).fit(df, y)
    for w in (np.ones(len(y)), [1] * len(y), pd.Series(np.ones(len(y))), 1.0):
        unit = cls(n_estimators=10).fit(df, y, sample_weight=w)
        np.testing.assert_array_equal(unit._raw(df), plain._raw(df))


def test_zero_weights_are_absent_rows():
    # Gradient boosting (squared error, min_child_samples 1, under 128 rows, the
    # zero-weight rows last and holding no value the others lack): the same model.
    rng = np.random.RandomState(0)
    X = np.column_stack([np.arange(120) % 40, (np.arange(120) * 7) % 13]).astype(float)
    y = np.abs(X[:, 0] - 20) + 0.3 * X[:, 1] + rng.rand(120)
    w = np.r_[np.ones(80), np.zeros(40)]
    kw = dict(n_estimators=20, num_leaves=8, min_child_samples=1)
    a = lithe.GBDTRegressor(**kw).fit(X, y, sample_weight=w)
    b = lithe.GBDTRegressor(**kw).fit(X[:80], y[:80])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    # A weight changes what is learnt: a heavy row pulls the constant model to it.
    Xc = np.zeros((4, 1))
    yc = np.array([10.0, 0.0, 0.0, 0.0])
    m = lithe.GBDTRegressor(objective="l2").fit(Xc, yc, sample_weight=[3, 1, 1, 1])
    np.testing.assert_allclose(m.predict(Xc[:1]), [5.0])


@pytest.mark.parametrize("cls", [lithe.GBDTClassifier, lithe.RandomForestClassifier])
def test_bad_weights_raise_value_error(cls):
    X, y, _ = _data(50)
    for w, message in [
        (np.ones(49), r"sample_weight.shape == \(49,\), expected \(50,\)"),
        (np.ones((50, 2)), r"sample_weight.shape == \(50, 2\)"),
        (np.r_[np.ones(49), -1.0], "sample_weight, row 50: -1.0 is negative"),
        (np.r_[np.nan, np.ones(49)], "sample_weight, row 1: NaN is not finite"),
        (np.r_[np.inf, np.ones(49)], "row 1: inf is not finite"),
        (np.zeros(50), "sample_weight is zero for every row"),
        (["a"] * 50, "sample_weight must be numbers"),
    ]:
        with pytest.raises(ValueError, match=message):
            cls(n_estimators=3).fit(X, y, sample_weight=w)


def test_eval_sample_weight_weighs_the_validation_metric():
    X, y, _ = _data(1000)
    kw = dict(n_estimators=200, learning_rate=0.3, early_stopping_rounds=5)
    half = lithe.GBDTClassifier(**kw).fit(X[:700], y[:700], eval_set=[(X[700:850], y[700:850])])
    w = np.r_[np.ones(150), np.zeros(150)]
    weighted = lithe.GBDTClassifier(**kw).fit(
        X[:700], y[:700], eval_set=[(X[700:], y[700:])], eval_sample_weight=[w]
    )
    assert json_report(weighted) == json_report(half)
    with pytest.raises(ValueError, match="eval_sample_weight needs an eval_set"):
        lithe.GBDTClassifier().fit(X, y, eval_sample_weight=[w])
    valid = [(X[700:], y[700:])]
    with pytest.raises(ValueError, match=r"eval_sample_weight.shape == \(2,\), expected \(300,\)"):
        lithe.GBDTClassifier().fit(X[:700], y[:700], eval_set=valid, eval_sample_weight=[[1, 1]])
    with pytest.raises(ValueError, match="validation data: eval_sample_weight, row 1: -1.0 is negative"):
        lithe.GBDTClassifier().fit(X[:700], y[:700], eval_set=valid, eval_sample_weight=[-np.ones(300)])


def json_report(est):
    import json

    return json.loads(est._booster.report_json)


def test_classifier_labels_are_checked_as_scikit_learn_checks_them():
    X, y, _ = _data(60)
    m = lithe.GBDTClassifier(n_estimators=3)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        m.fit(X, y + 0.5)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        m.fit(X, np.r_[np.nan, y[1:].astype(float)])
    with pytest.raises(ValueError, match="Input y contains infinity"):
        m.fit(X, np.r_[np.inf, y[1:].astype(float)])
    with pytest.raises(ValueError, match="Unknown label type: unknown"):
        m.fit(X, np.array([1] + ["a"] * 59, dtype=object))
    with pytest.raises(TypeError, match="labels represented as bytes"):
        m.fit(X, np.where(y == 1, b"yes", b"no"))
    # Floats that are whole numbers, and text in object arrays, are classes.
    assert list(m.fit(X, y.astype(float) * 2).classes_) == [0.0, 2.0]
    labels = np.where(y == 1, "yes", "no").astype(object)
    assert list(m.fit(X, labels).classes_) == ["no", "yes"]
    np.testing.assert_array_equal(m.predict(X[:5]), m.classes_[m.predict_proba(X[:5]).argmax(axis=1)])


def test_type_stubs_are_the_specs():
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("stubs", root / "tools" / "stubs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert (root / "lithe" / "_tables.pyi").read_text() == mod.render(), (
        "stubs are stale: python python/tools/stubs.py > python/lithe/_tables.pyi"
    )
