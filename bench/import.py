"""Imported LightGBM and XGBoost models: lithe's predictions against the libraries'
own, and batch prediction time, on the real tabular sets.

    bench/run import.py [--threads 2] [--rounds 100] [--lithe PATH] [--peer-sets adult] [SET ...]

For each set (adult: binary with categorical and missing values; covertype:
multiclass; california_housing: regression with missing values; bank_marketing's
`campaign`: a Poisson count) it trains LightGBM (31 leaves) and XGBoost (depth 6, hist,
categorical) for --rounds rounds, saves them (LightGBM text, XGBoost UBJSON), runs
`lithe tabular import`, then `lithe tabular predict` on the test file, and reports:

  * max |lithe - library| over the whole test set (probabilities or values);
  * batch predict time, median of 3: lithe's `predict_seconds` (its JSON: the table
    already read, features mapped and predicted, output table built) against the
    library's `predict` on the loaded frame (LightGBM `Booster.predict(df)`, XGBoost
    `Booster.inplace_predict(df)`, its fastest path; `Booster.predict(DMatrix(df))` is
    reported too), same thread count;
  * with bench/.venv-import (bench/requirements-import.txt), lleaves and treelite
    (tl2cgen-compiled) one-row and batch times on the same model and rows, for the sets
    in --peer-sets (compiling covertype's 700+ trees takes them many minutes).

pandas 3 reads the CSV's numbers exactly (round trip), as lithe does, so both see the
same doubles.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TAB = Path(os.environ.get("LITHE_TAB", "/work/scratch/i26/tab"))
OUT = HERE / "out" / "import"
PEER_VENV = HERE / ".venv-import"
SETS = {
    # name: (directory, target, task)
    "adult": ("adult", "income", "binary"),
    "covertype": ("covertype", "Cover_Type", "multiclass"),
    "california_housing": ("california_housing", "median_house_value", "regression"),
    "bank_campaign": ("bank_marketing", "campaign", "poisson"),
}
CATEGORICAL = {"covertype": ["Soil_Type"]}
DROP = {"bank_campaign": ["y"]}


def frame(path, name, target, categories=None):
    df = pd.read_csv(path)
    df = df.drop(columns=[c for c in DROP.get(name, []) if c in df.columns])
    y = df.pop(target)
    cats = categories or {}
    for c in df.columns:
        if not pd.api.types.is_numeric_dtype(df[c]) or c in CATEGORICAL.get(name, []):
            if c not in cats:
                cats[c] = sorted(df[c].dropna().unique().tolist())
            df[c] = pd.Categorical(df[c], categories=cats[c])
    return df, y, cats


def labels(y, task, classes=None):
    if task in ("binary", "multiclass"):
        classes = classes if classes is not None else sorted(y.unique().tolist())
        idx = {c: i for i, c in enumerate(classes)}
        return y.map(idx).to_numpy(), classes
    return y.to_numpy(float), None


def median_time(f, repeats=3):
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def lithe(args, *cmd):
    r = subprocess.run([str(args.lithe), *cmd, "--threads", str(args.threads), "--quiet"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"lithe {' '.join(cmd)} failed: {r.stderr}")
    return json.loads(r.stdout)


def lithe_predict(args, model, test_csv, task, pred_csv):
    times = []
    for _ in range(3):
        times.append(lithe(args, "tabular", "predict", "--model", str(model), "--data", str(test_csv),
                           "--out", str(pred_csv))["predict_seconds"])
    df = pd.read_csv(pred_csv)
    p = df[[c for c in df.columns if c.startswith("p_")]].to_numpy() if task == "multiclass" \
        else df["prediction"].to_numpy()
    return p, statistics.median(times)


def train_lgb(X, y, task, k, rounds, threads):
    import lightgbm as lgb
    obj = {"binary": "binary", "multiclass": "multiclass", "regression": "regression",
           "poisson": "poisson"}[task]
    params = {"objective": obj, "num_leaves": 31, "learning_rate": 0.1, "verbose": -1,
              "num_threads": threads, "seed": 1}
    if task == "multiclass":
        params["num_class"] = k
    return lgb.train(params, lgb.Dataset(X, y), num_boost_round=rounds)


def train_xgb(X, y, task, k, rounds, threads):
    import xgboost as xgb
    obj = {"binary": "binary:logistic", "multiclass": "multi:softprob", "regression": "reg:squarederror",
           "poisson": "count:poisson"}[task]
    params = {"objective": obj, "max_depth": 6, "eta": 0.1, "tree_method": "hist", "nthread": threads,
              "seed": 1, "max_cat_to_onehot": 4}
    if task == "multiclass":
        params["num_class"] = k
    return xgb.train(params, xgb.DMatrix(X, y, enable_categorical=True), num_boost_round=rounds)


def peers(args, lib, model_file, test_csv, name, task, cats_json):
    """lleaves / treelite in their own venv (bench/.venv-import); None when absent."""
    py = PEER_VENV / "bin" / "python"
    if not py.exists():
        return {"note": f"{PEER_VENV} is absent (pip install -r bench/requirements-import.txt failed or not run)"}
    r = subprocess.run([str(py), str(Path(__file__).resolve()), "--peer-run", lib, str(model_file), str(test_csv),
                        name, task, cats_json, str(args.threads)], capture_output=True, text=True)
    if r.returncode != 0:
        return {"note": f"peer run failed: {r.stderr.strip().splitlines()[-1:] }"}
    return json.loads(r.stdout.strip().splitlines()[-1])


def peer_run(argv):
    """Inside bench/.venv-import: time lleaves (LightGBM) and treelite/tl2cgen."""
    lib, model_file, test_csv, name, task, cats_json, threads = argv
    threads = int(threads)
    cats = json.loads(cats_json)
    X, _, _ = frame(test_csv, name, SETS[name][1], cats)
    out = {}
    if lib == "lightgbm":
        Xn = X.copy()
        for c in cats:
            Xn[c] = Xn[c].cat.codes.replace(-1, np.nan).astype(float)
        Xn = Xn.to_numpy(float)
    else:
        Xn = None
    try:
        if lib == "lightgbm":
            import lleaves
            m = lleaves.Model(model_file=model_file)
            m.compile(cache=str(Path(model_file).with_suffix(".lleaves.o")))
            out["lleaves_batch_s"] = median_time(lambda: m.predict(Xn, n_jobs=threads))
            row = Xn[:1]
            out["lleaves_row_us"] = median_time(lambda: [m.predict(row, n_jobs=1) for _ in range(1000)]) * 1e3
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        out["lleaves"] = f"failed: {type(e).__name__}: {e}"
    try:
        import tl2cgen
        import treelite
        if lib == "lightgbm":
            tm = treelite.frontend.load_lightgbm_model(model_file)
            Xt = Xn
        else:
            tm = treelite.frontend.load_xgboost_model(model_file)
            Xt = X.copy()
            for c in cats:
                Xt[c] = Xt[c].cat.codes.replace(-1, np.nan).astype(float)
            Xt = Xt.to_numpy(np.float32)
        lib_so = str(Path(model_file).with_suffix(".tl2cgen.so"))
        tl2cgen.export_lib(tm, toolchain="gcc", libpath=lib_so, params={"parallel_comp": 2})
        pred = tl2cgen.Predictor(lib_so, nthread=threads)
        dm = tl2cgen.DMatrix(Xt)
        out["treelite_batch_s"] = median_time(lambda: pred.predict(tl2cgen.DMatrix(Xt)))
        one = tl2cgen.DMatrix(Xt[:1])
        out["treelite_row_us"] = median_time(lambda: [pred.predict(one) for _ in range(1000)]) * 1e3
        del dm
    except Exception as e:  # noqa: BLE001
        out["treelite"] = f"failed: {type(e).__name__}: {e}"
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--peer-sets", default="adult", help="sets timed with lleaves and treelite too")
    ap.add_argument("--lithe", default=str(ROOT / "target" / "release" / "lithe"))
    ap.add_argument("sets", nargs="*", default=list(SETS))
    args = ap.parse_args()
    import lightgbm as lgb
    import xgboost as xgb
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    print(f"# bench/import.py, {date.today()}, threads {args.threads}, rounds {args.rounds}, "
          f"lightgbm {lgb.__version__}, xgboost {xgb.__version__}")
    for name in args.sets:
        d, target, task = SETS[name]
        train_csv, test_csv = TAB / d / "train.csv", TAB / d / "test.csv"
        X, y_raw, cats = frame(train_csv, name, target)
        Xt, yt_raw, _ = frame(test_csv, name, target, dict(cats))
        y, classes = labels(y_raw, task)
        k = len(classes) if classes else 1
        for lib in ("lightgbm", "xgboost"):
            if lib == "lightgbm":
                b = train_lgb(X, y, task, k, args.rounds, args.threads)
                model = OUT / f"{name}.lgb.txt"
                b.save_model(model)
                lib_predict = lambda: b.predict(Xt, num_threads=args.threads)  # noqa: E731
                dm_predict = None
            else:
                b = train_xgb(X, y, task, k, args.rounds, args.threads)
                model = OUT / f"{name}.xgb.ubj"
                b.save_model(model)
                b.set_param({"nthread": args.threads})
                lib_predict = lambda: b.inplace_predict(Xt)  # noqa: E731
                dm_predict = lambda: b.predict(xgb.DMatrix(Xt, enable_categorical=True))  # noqa: E731
            lithe_model = OUT / f"{name}.{lib}.lithe"
            cmd = ["tabular", "import", "--from", lib, str(model), "--out", str(lithe_model), "--target", target]
            if classes:
                cmd += ["--classes", ",".join(str(c) for c in classes)]
            lithe(args, *cmd)
            theirs = np.asarray(lib_predict(), dtype=float)
            t_lib = median_time(lib_predict)
            t_dm = median_time(dm_predict) if dm_predict else None
            ours, t_lithe = lithe_predict(args, lithe_model, test_csv, task, OUT / f"{name}.{lib}.pred.csv")
            diff = float(np.max(np.abs(ours.reshape(theirs.shape) - theirs)))
            peer = peers(args, lib, model, test_csv, name, task, json.dumps(cats)) \
                if name in args.peer_sets.split(",") else {}
            r = {"set": name, "lib": lib, "task": task, "rows": len(Xt), "trees": b.num_trees() if lib == "lightgbm"
                 else len(json.loads(b.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]),
                 "max_abs_diff": diff, "lithe_s": t_lithe, "lib_s": t_lib, "speedup": t_lib / t_lithe,
                 "xgb_dmatrix_predict_s": t_dm, **peer}
            rows.append(r)
            print(json.dumps(r), flush=True)
    print()
    print(f"| set | library | rows | trees | max abs diff | lithe s | library s | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['set']} | {r['lib']} | {r['rows']} | {r['trees']} | {r['max_abs_diff']:.2e} | "
              f"{r['lithe_s']:.4f} | {r['lib_s']:.4f} | {r['speedup']:.1f}x |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--peer-run":
        peer_run(sys.argv[2:])
    else:
        main()
