"""Train and predict one dataset with one peer; print JSON timings, write predictions.

    python peer_tabular.py LIB DATADIR OUT.npy THREADS ROUNDS

LIB: lightgbm | xgboost | sklearn_hgb | sklearn_rf. Training time is end to end, file
in, model out, as a user of the library does it: pandas.read_csv of train.csv, fit, and
saving the model the library's way (LightGBM's and XGBoost's save_model, a pickle for
scikit-learn). The fit alone is reported too.
"""
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

lib, d, out, threads, rounds = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
meta = json.loads((d / "meta.json").read_text())
target, task, cats = meta["target"], meta["task"], meta["categorical"]


def frame(path, categories=None):
    df = pd.read_csv(path)
    y = df.pop(target)
    for c in df.columns:
        if c in cats or df[c].dtype == object or str(df[c].dtype) in ("str", "string"):
            if categories is None:
                df[c] = df[c].astype("category")
            else:
                df[c] = pd.Categorical(df[c], categories=categories[c])
    return df, y


# Import the library before the clock starts: start-up is not what is measured.
if lib == "lightgbm":
    import lightgbm as lgb
elif lib == "xgboost":
    import xgboost as xgb
elif lib == "sklearn_rf":
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
else:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

t0 = time.perf_counter()
X, y = frame(d / "train.csv")
cat_levels = {c: X[c].cat.categories for c in X.columns if hasattr(X[c], "cat")}
classes = np.sort(y.unique())
yi = np.searchsorted(classes, y) if task != "regression" else y.to_numpy()
common = dict(n_estimators=rounds, learning_rate=0.1)
if lib == "lightgbm":
    params = dict(common, num_leaves=31, min_child_samples=20, max_bin=255, n_jobs=threads, verbose=-1)
    model = (lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier)(**params)
elif lib == "xgboost":
    params = dict(common, tree_method="hist", max_leaves=31, grow_policy="lossguide", max_depth=0, max_bin=256,
                  min_child_weight=1e-3, n_jobs=threads, enable_categorical=True)
    model = (xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier)(**params)
elif lib == "sklearn_hgb":
    params = dict(max_iter=rounds, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20, max_bins=255,
                  early_stopping=False, categorical_features="from_dtype")
    model = (HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier)(**params)
elif lib == "sklearn_rf":
    # scikit-learn's forests take numbers only: categories as their codes (missing
    # stays missing), as a user of RandomForest would pass them. `rounds` = trees.
    for c in X.columns:
        if hasattr(X[c], "cat"):
            X[c] = X[c].cat.codes.astype("float64").where(X[c].notna())
    params = dict(n_estimators=rounds, n_jobs=threads, random_state=0)
    model = (RandomForestRegressor if task == "regression" else RandomForestClassifier)(**params)
else:
    raise SystemExit(f"unknown lib {lib}")
# LightGBM refuses some characters in feature names: give every library plain names.
names = list(X.columns)
X.columns = [f"f{i}" for i in range(len(names))]
t_fit = time.perf_counter()
model.fit(X, yi)
fit_only_s = time.perf_counter() - t_fit
saved = Path(out).with_suffix(".model")
if lib == "lightgbm":
    model.booster_.save_model(str(saved))
elif lib == "xgboost":
    model.save_model(str(saved.with_suffix(".ubj")))
else:
    with open(saved, "wb") as f:
        pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
fit_s = time.perf_counter() - t0

Xt, _ = frame(d / "test.csv", categories=cat_levels)
Xt.columns = X.columns
if lib == "sklearn_rf":
    for c in Xt.columns:
        if hasattr(Xt[c], "cat"):
            Xt[c] = Xt[c].cat.codes.astype("float64").where(Xt[c].notna())
# Median of five calls (as bench/tabular.py times lithe's prediction).
times = []
for _ in range(5):
    t1 = time.perf_counter()
    if task == "regression":
        p = model.predict(Xt)
    elif task == "binary":
        p = model.predict_proba(Xt)[:, 1]
    else:
        p = model.predict_proba(Xt)
    times.append(time.perf_counter() - t1)
pred_s = sorted(times)[len(times) // 2]
np.save(out, np.asarray(p, dtype=np.float64))
print(json.dumps({"train_seconds": fit_s, "fit_seconds": fit_only_s, "predict_seconds": pred_s}))
