"""Golden values for model import: small LightGBM and XGBoost models trained on
generated data, their files, a table of test rows and the libraries' own predictions.

    bench/.venv/bin/python bench/golden_import.py

Writes into crates/lithe-trees/tests/fixtures/import/:
  <name>.txt (LightGBM), <name>.json and <name>.ubj (XGBoost), <name>.dart.json (a DART
  model with dropped trees, which lithe refuses), rows.csv (the test rows) and
  expected.json: per model, the library's prediction (probabilities / values) and raw
  scores (margins) for every row of rows.csv, printed with full precision.

The test rows hold random rows plus rows exactly on every model's thresholds (and the
doubles just above and below them), NaN, 0.0, -0.0, +-1e-36, +-1e-35, negative,
fractional, large and unseen categories. Categorical columns are given to XGBoost with
its training categories, so a category it never saw arrives as missing (lithe's rule;
XGBoost 3.2 leaves an unseen category of a re-coded frame undefined).
"""
import json
import math
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb

OUT = Path(__file__).resolve().parent.parent / "crates/lithe-trees/tests/fixtures/import"
SEED = 27
LEVELS = ["red", "green", "blue", "black", "white", "pink", "grey", "teal"]
N = 3000
ROUNDS = 10


def features(rng, n):
    a = rng.normal(size=n)
    a[rng.random(n) < 0.06] = np.nan
    z = np.where(rng.random(n) < 0.4, 0.0, rng.normal(size=n))
    z[rng.random(n) < 0.05] = np.nan
    i = rng.integers(0, 30, n).astype(float)
    big = rng.normal(50_000.0, 20_000.0, n)
    s = rng.choice(LEVELS, n).astype(object)
    s[rng.random(n) < 0.05] = None
    c = rng.integers(0, 12, n)
    return pd.DataFrame({"num_a": a, "num_z": z, "num_i": i, "big": big,
                         "cat_s": pd.Categorical(s, categories=sorted(LEVELS)), "cat_c": c})


def targets(rng, df):
    a = df.num_a.fillna(-1.0).to_numpy()
    z = df.num_z.fillna(0.5).to_numpy()
    s = df.cat_s.cat.codes.to_numpy()
    c = df.cat_c.to_numpy()
    f = a + 2.0 * (z == 0) + 0.1 * df.num_i.to_numpy() + (s % 3 == 0) - 0.8 * (c % 4 == 1) \
        + (df.big.to_numpy() - 50_000.0) / 20_000.0
    y_bin = (f + rng.normal(size=len(df)) > 1.5).astype(int)
    y_multi = np.digitize(f + rng.normal(size=len(df)), [0.8, 2.2])
    y_reg = 1000.0 * f + 300.0 * rng.normal(size=len(df)) + 12_345.0
    y_pois = rng.poisson(np.exp(0.4 * np.clip(f, -3, 4)))
    return {"binary": y_bin, "multiclass": y_multi, "regression": y_reg, "poisson": y_pois,
            "gamma": y_pois + 0.5}


LGB_BASE = {"num_leaves": 8, "learning_rate": 0.2, "min_data_in_leaf": 5, "verbose": -1,
            "deterministic": True, "num_threads": 1, "seed": SEED, "cat_smooth": 1,
            "min_data_per_group": 5, "max_cat_to_onehot": 4}

LGB_MODELS = {
    "lgb_binary": ("binary", {"objective": "binary"}),
    "lgb_zero": ("binary", {"objective": "binary", "zero_as_missing": True, "sigmoid": 0.7}),
    "lgb_nomissing": ("regression", {"objective": "regression", "use_missing": False}),
    "lgb_multiclass": ("multiclass", {"objective": "multiclass", "num_class": 3}),
    "lgb_ova": ("multiclass", {"objective": "multiclassova", "num_class": 3}),
    "lgb_poisson": ("poisson", {"objective": "poisson"}),
    "lgb_tweedie": ("gamma", {"objective": "tweedie"}),
    "lgb_huber": ("regression", {"objective": "huber", "alpha": 500.0}),
    "lgb_rf": ("binary", {"objective": "binary", "boosting": "rf", "bagging_fraction": 0.7,
                          "bagging_freq": 1, "feature_fraction": 0.8}),
}

XGB_BASE = {"max_depth": 3, "eta": 0.3, "tree_method": "hist", "seed": SEED, "nthread": 1,
            "max_cat_to_onehot": 4}

XGB_MODELS = {
    "xgb_binary": ("binary", {"objective": "binary:logistic"}),
    "xgb_multiclass": ("multiclass", {"objective": "multi:softprob", "num_class": 3}),
    "xgb_regression": ("regression", {"objective": "reg:squarederror"}),
    "xgb_poisson": ("poisson", {"objective": "count:poisson"}),
    "xgb_gamma": ("gamma", {"objective": "reg:gamma"}),
    "xgb_logitraw": ("binary", {"objective": "binary:logitraw"}),
}


def xgb_frame(df, train):
    """cat_c as a category column with the training categories (unseen values -> missing)."""
    out = df.copy()
    cats = sorted(train["cat_c"].unique())
    out["cat_c"] = pd.Categorical(df["cat_c"].where(df["cat_c"].isin(cats)), categories=cats)
    return out


def lgb_thresholds(booster):
    d = booster.dump_model()
    names = d["feature_names"]
    out = []

    def walk(n):
        if "split_feature" in n:
            if n["decision_type"] == "<=":
                out.append((names[n["split_feature"]], float(n["threshold"])))
            walk(n["left_child"])
            walk(n["right_child"])
    for t in d["tree_info"]:
        walk(t["tree_structure"])
    return out


def xgb_thresholds(booster):
    out = []
    for t in json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]:
        for f, sc, lc, st in zip(t["split_indices"], t["split_conditions"], t["left_children"],
                                 t["split_type"]):
            if lc != -1 and st == 0:
                out.append((booster.feature_names[f], float(np.float32(sc))))
    return out


def test_rows(rng, train, thresholds):
    base = features(rng, 60)
    rows = [base]
    numeric = ["num_a", "num_z", "num_i", "big"]
    picked = {}
    for name, t in thresholds:
        picked.setdefault(name, set()).add(t)
    for name in numeric:
        ts = sorted(picked.get(name, []))
        if len(ts) > 8:
            ts = [ts[k] for k in sorted(rng.choice(len(ts), 8, replace=False))]
        vals = []
        for t in ts:
            vals += [t, math.nextafter(t, math.inf), math.nextafter(t, -math.inf),
                     float(np.nextafter(np.float32(t), np.float32(np.inf)))]
        vals += [np.nan, 0.0, -0.0, 1e-36, -1e-36, 1e-35, -1e-35, float(np.float32(1e-35)), 1e-34]
        r = features(rng, len(vals))
        r[name] = vals
        rows.append(r)
    # Categories: missing, unseen, and codes that are negative, fractional or large.
    r = features(rng, 12)
    r["cat_s"] = pd.Categorical([None, "zz", None, "zz"] + list(sorted(LEVELS)),
                                categories=sorted(LEVELS))
    rows.append(r)
    r = features(rng, 9)
    r["cat_c"] = [-1, -2, 12, 13, 1000, 0, 11, 5, 3]
    rows.append(r)
    out = pd.concat(rows, ignore_index=True)
    # A float cat_c column (fractional and negative fractional codes).
    out["cat_c"] = out["cat_c"].astype(float)
    out.loc[len(out) - 3:, "cat_c"] = [-0.5, 2.7, np.nan]
    return out


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    train = features(rng, N)
    ys = targets(rng, train)
    boosters = {}
    for name, (task, params) in LGB_MODELS.items():
        p = {**LGB_BASE, **params}
        ds = lgb.Dataset(train, ys[task], categorical_feature=["cat_s", "cat_c"], free_raw_data=False)
        b = lgb.train(p, ds, num_boost_round=ROUNDS)
        b.save_model(OUT / f"{name}.txt")
        boosters[name] = ("lgb", b)
    xtrain = xgb_frame(train, train)
    for name, (task, params) in XGB_MODELS.items():
        p = {**XGB_BASE, **params}
        d = xgb.DMatrix(xtrain, ys[task], enable_categorical=True)
        b = xgb.train(p, d, num_boost_round=ROUNDS)
        b.save_model(OUT / f"{name}.json")
        b.save_model(OUT / f"{name}.ubj")
        boosters[name] = ("xgb", b)
    # Integer codes without category names (a NumPy matrix with feature types).
    xnp = train.assign(cat_s=train.cat_s.cat.codes.replace(-1, np.nan).astype(float)).to_numpy(float)
    types = ["float", "float", "float", "float", "c", "c"]
    d = xgb.DMatrix(xnp, ys["binary"], feature_names=list(train.columns), feature_types=types,
                    enable_categorical=True)
    b = xgb.train({**XGB_BASE, "objective": "binary:logistic"}, d, num_boost_round=ROUNDS)
    b.save_model(OUT / "xgb_codes.json")
    boosters["xgb_codes"] = ("xgb_np", b)
    # DART with dropped trees: weights other than 1, refused by lithe.
    b = xgb.train({**XGB_BASE, "objective": "binary:logistic", "booster": "dart",
                   "rate_drop": 0.5, "skip_drop": 0.0}, xgb.DMatrix(xtrain, ys["binary"], enable_categorical=True),
                  num_boost_round=4)
    b.save_model(OUT / "xgb_dart.json")

    thresholds = []
    for name, (kind, b) in boosters.items():
        thresholds += lgb_thresholds(b) if kind == "lgb" else xgb_thresholds(b)
    rows = test_rows(rng, train, thresholds)
    # cat_s: text; everything else numbers; missing as empty cells.
    csv = rows.copy()
    csv["cat_s"] = csv["cat_s"].astype(object)
    with open(OUT / "rows.csv", "w") as f:
        f.write(",".join(csv.columns) + "\n")
        for rec in csv.itertuples(index=False):
            cells = []
            for v in rec:
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    cells.append("")
                elif isinstance(v, float):
                    cells.append(repr(v))
                else:
                    cells.append(str(v))
            f.write(",".join(cells) + "\n")
    # The frame as the libraries see it: unseen text categories become missing.
    rows["cat_s"] = pd.Categorical(rows["cat_s"].astype(object), categories=sorted(LEVELS))
    expected = {}
    for name, (kind, b) in boosters.items():
        if kind == "lgb":
            pred = b.predict(rows)
            raw = b.predict(rows, raw_score=True)
        elif kind == "xgb":
            d = xgb.DMatrix(xgb_frame(rows, train), enable_categorical=True)
            pred = b.predict(d)
            raw = b.predict(d, output_margin=True)
        else:
            x = rows.assign(cat_s=rows.cat_s.cat.codes.replace(-1, np.nan).astype(float)).to_numpy(float)
            d = xgb.DMatrix(x, feature_names=list(train.columns), feature_types=types, enable_categorical=True)
            pred = b.predict(d)
            raw = b.predict(d, output_margin=True)
        expected[name] = {"pred": np.asarray(pred, dtype=float).reshape(len(rows), -1).tolist(),
                          "raw": np.asarray(raw, dtype=float).reshape(len(rows), -1).tolist()}
    with open(OUT / "expected.json", "w") as f:
        json.dump({"rows": len(rows), "lightgbm": lgb.__version__, "xgboost": xgb.__version__,
                   "models": expected}, f)
    print(f"{len(boosters)} models, {len(rows)} rows -> {OUT}")


if __name__ == "__main__":
    main()
