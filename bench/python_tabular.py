"""lithe's Python estimators against LightGBM's and XGBoost's scikit-learn estimators,
pandas in, same run, same thread count, matched settings (255 bins, 31 leaves, learning
rate 0.1, 20 rows per leaf, the same rounds).

    bench/run python_tabular.py [--threads 2] [--rounds 100] [--row-calls 3000] [DATASET ...]

Per set: `fit s` is `fit(frame, y)` on the training frame (read before the clock;
categorical columns as pandas `category`, which all three split natively); `predict s`
is `predict_proba`/`predict` on the test frame, median of five; the one-row latency is
the median of `--row-calls` calls of `predict_proba` (regression: `predict`) on a
one-row frame; `--numpy-row` adds the same on one NumPy row for models fitted on NumPy
(the lowest-overhead path of each library), on a generated 28-feature binary set. `CLI s` is `lithe tabular train`
end to end (the process, file in and model out); `same` says whether the Python
predictions equal the CLI's bit for bit.
"""
import argparse
import json
import subprocess
import time
import warnings
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
import xgboost
from sklearn.metrics import accuracy_score, mean_squared_error, roc_auc_score

import lithe
from common import LITHE, OUT, PYTHON, ROOT, machine, run_measured

TAB = OUT / "tabular"
DEFAULT_SETS = ["higgs_subset", "adult", "bank_marketing", "california_housing", "covertype", "electricity"]


def frames(d, meta):
    tr = pd.read_csv(d / "train.csv")
    te = pd.read_csv(d / "test.csv")
    target = meta["target"]
    ytr, yte = tr.pop(target), te.pop(target)
    for c in tr.columns:
        if not pd.api.types.is_numeric_dtype(tr[c].dtype) or c in meta["categorical"]:
            cats = pd.Index(sorted(set(tr[c].dropna().astype(str))))
            tr[c] = pd.Categorical(tr[c].astype(str).where(tr[c].notna()), categories=cats)
            te[c] = pd.Categorical(te[c].astype(str).where(te[c].notna()), categories=cats)
    return tr, ytr, te, yte


def score(task, y, p, classes):
    if task == "binary":
        return f"AUC {roc_auc_score(y == classes[1], p[:, 1]):.4f}"
    if task == "multiclass":
        return f"acc {accuracy_score(y, classes[p.argmax(1)]):.4f}"
    return f"RMSE {mean_squared_error(y, p) ** 0.5:.4f}"


def estimators(task, threads, rounds):
    common_lgb = dict(n_estimators=rounds, learning_rate=0.1, num_leaves=31, min_child_samples=20,
                      max_bin=255, n_jobs=threads, verbose=-1)
    common_xgb = dict(n_estimators=rounds, learning_rate=0.1, max_leaves=31, max_depth=0, grow_policy="lossguide",
                      max_bin=256, tree_method="hist", n_jobs=threads, enable_categorical=True,
                      min_child_weight=1e-3)
    if task == "regression":
        return {
            "lithe": lithe.GBDTRegressor(n_estimators=rounds, n_jobs=threads),
            "lightgbm": lightgbm.LGBMRegressor(**common_lgb),
            "xgboost": xgboost.XGBRegressor(**common_xgb),
        }
    return {
        "lithe": lithe.GBDTClassifier(n_estimators=rounds, n_jobs=threads),
        "lightgbm": lightgbm.LGBMClassifier(**common_lgb),
        "xgboost": xgboost.XGBClassifier(**common_xgb),
    }


def one_row_latency(est, row, task, calls):
    f = est.predict if task == "regression" else est.predict_proba
    for _ in range(50):
        f(row)
    ts = []
    for _ in range(calls):
        t0 = time.perf_counter()
        f(row)
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) * 1e6


def cli(d, meta, threads, rounds):
    model = d / "py_bench_cli.lithe"
    cats = meta["categorical"]
    extra = ["--categorical", ",".join(cats)] if cats else []
    _, wall, _ = run_measured([str(LITHE), "tabular", "train", "--data", str(d / "train.csv"), "--target",
                               meta["target"], "--out", str(model), "--rounds", str(rounds), "--threads",
                               str(threads), "--quiet", *extra])
    pred = d / "py_bench_cli_pred.csv"
    run_measured([str(LITHE), "tabular", "predict", "--model", str(model), "--data", str(d / "test.csv"),
                  "--out", str(pred), "--threads", str(threads), "--quiet", *extra])
    df = pd.read_csv(pred)
    if meta["task"] == "multiclass":
        p = df[[c for c in df.columns if c.startswith("p_")]].to_numpy()
    else:
        p = df["prediction"].to_numpy()
    return wall, p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--row-calls", type=int, default=3000)
    ap.add_argument("--numpy-row", action="store_true")
    ap.add_argument("datasets", nargs="*", default=DEFAULT_SETS)
    a = ap.parse_args()
    # A model fitted on a frame warns when given a NumPy row; the warning machinery
    # would dominate the one-row timings of all three libraries.
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    subprocess.run([PYTHON, str(ROOT / "bench" / "prep_tabular.py"), str(TAB), *a.datasets], check=True)
    print(f"# {machine()}; lithe {lithe.__version__}, LightGBM {lightgbm.__version__}, "
          f"XGBoost {xgboost.__version__}; {a.threads} threads, {a.rounds} rounds")
    print("| set | library | score | fit s | predict s | one row µs | lithe CLI train s | same as CLI |")
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for name in a.datasets:
        d = TAB / name
        meta = json.loads((d / "meta.json").read_text())
        task = meta["task"]
        tr, ytr, te, yte = frames(d, meta)
        row = te.iloc[:1]  # a one-row frame: how a frame-fitted model is served
        cli_s, cli_p = cli(d, meta, a.threads, a.rounds)
        for lib, est in estimators(task, a.threads, a.rounds).items():
            y = ytr
            if lib == "xgboost" and task != "regression":
                classes = np.unique(ytr)
                y = np.searchsorted(classes, ytr)
            t0 = time.perf_counter()
            est.fit(tr, y)
            fit_s = time.perf_counter() - t0
            ts = []
            for _ in range(5):
                t0 = time.perf_counter()
                p = est.predict(te) if task == "regression" else est.predict_proba(te)
                ts.append(time.perf_counter() - t0)
            classes = np.unique(ytr)
            lat = one_row_latency(est, row, task, a.row_calls)
            same = ""
            if lib == "lithe":
                mine = p if task != "binary" else p[:, 1]
                same = "yes" if np.array_equal(mine, cli_p) else f"no (max diff {np.abs(mine - cli_p).max():.2e})"
            r = dict(set=name, lib=lib, score=score(task, yte.to_numpy(), p, classes), fit=fit_s,
                     predict=float(np.median(ts)), row_us=lat, cli=cli_s if lib == "lithe" else None, same=same)
            results.append(r)
            print(f"| {name} | {lib} | {r['score']} | {fit_s:.3f} | {r['predict']:.4f} | {lat:.1f} | "
                  f"{cli_s:.3f} | {same} |" if lib == "lithe" else
                  f"| {name} | {lib} | {r['score']} | {fit_s:.3f} | {r['predict']:.4f} | {lat:.1f} | | |",
                  flush=True)
    if a.numpy_row:
        from sklearn.datasets import make_classification

        X, y = make_classification(20000, 28, random_state=0)
        print(f"\n| NumPy-fitted, one NumPy row ({a.rounds} rounds) | µs |\n|---|---|")
        for lib, est in estimators("binary", a.threads, a.rounds).items():
            est.fit(X, y)
            lat = one_row_latency(est, X[:1].copy(), "binary", a.row_calls)
            results.append(dict(set="generated_28", lib=lib, row_us_numpy=lat))
            print(f"| {lib} | {lat:.1f} |", flush=True)
    (OUT / "python_tabular.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
