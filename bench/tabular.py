"""Tree ensembles: lithe against LightGBM, XGBoost (hist) and scikit-learn's
HistGradientBoosting, same data, same run, same thread count, matched settings
(255 bins, 31 leaves, learning rate 0.1, at least 20 rows per leaf, same rounds).

    bench/run tabular.py [--threads 2] [--rounds 100] [--peers lightgbm,xgboost,sklearn_hgb] [DATASET ...]
    bench/run tabular.py --model rf [--rounds 100] [DATASET ...]   (random forest against scikit-learn's)

Train time is end to end (file in, model out: lithe's `tabular train` process; the
peers' pandas.read_csv + fit + saving the model, library imported before the clock
starts); `fit s` is the fit alone (lithe: the `fit_seconds` that `tabular train`
reports). Predict time
is the batch prediction of the loaded test table, median of five (lithe: the
`predict_seconds` that `tabular predict` reports, five processes; peers:
`predict`/`predict_proba` on the loaded frame, five calls in one process). Metrics are
computed here, with scikit-learn, from each library's predictions on the same test file.
"""
import argparse
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, roc_auc_score

from common import LITHE, OUT, PYTHON, ROOT, machine, mb, run_measured

TAB = OUT / "tabular"
# Batch prediction is timed this many times (lithe: fresh processes; peers: calls in
# one process) and the median reported; keep in step with peer_tabular.py.
PREDICT_REPEATS = 5


def metrics(task, y, p, classes):
    if task == "binary":
        yi = (y == classes[1]).astype(int)
        return {"auc": roc_auc_score(yi, p), "logloss": log_loss(yi, np.clip(p, 1e-15, 1 - 1e-15)),
                "accuracy": accuracy_score(yi, p > 0.5)}
    if task == "multiclass":
        yi = np.searchsorted(classes, y)
        return {"accuracy": accuracy_score(yi, p.argmax(1)), "logloss": log_loss(yi, p, labels=range(len(classes)))}
    return {"rmse": mean_squared_error(y, p) ** 0.5}


def run_lithe(d, meta, threads, rounds, kind="gbdt"):
    model = d / "lithe.model"
    cats = meta["categorical"]
    extra = ["--categorical", ",".join(cats)] if cats else []
    size = ["--model", "rf", "--trees", str(rounds)] if kind == "rf" else ["--rounds", str(rounds)]
    o_train, t_train, rss = run_measured([str(LITHE), "tabular", "train", "--data", str(d / "train.csv"), "--target",
                                    meta["target"], "--out", str(model), "--threads", str(threads), *size,
                                    "--quiet", *extra])
    pred = d / "lithe_pred.csv"
    t_preds = []
    for _ in range(PREDICT_REPEATS):
        o, _, _ = run_measured([str(LITHE), "tabular", "predict", "--model", str(model), "--data",
                                str(d / "test.csv"), "--out", str(pred), "--threads", str(threads), "--quiet",
                                *extra])
        t_preds.append(json.loads(o)["predict_seconds"])
    t_pred = float(np.median(t_preds))
    t_fit = json.loads(o_train)["fit_seconds"]
    df = pd.read_csv(pred)
    if meta["task"] == "multiclass":
        p = df[[c for c in df.columns if c.startswith("p_")]].to_numpy()
    else:
        p = df["prediction"].to_numpy()
    return p, t_train, t_fit, t_pred, rss


def run_peer(lib, d, threads, rounds):
    out = d / f"{lib}_pred.npy"
    o, _, rss = run_measured([PYTHON, str(ROOT / "bench" / "peer_tabular.py"), lib, str(d), str(out), str(threads),
                              str(rounds)])
    r = json.loads(o)
    return np.load(out), r["train_seconds"], r["fit_seconds"], r["predict_seconds"], rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--peers", default=None, help="default: lightgbm,xgboost,sklearn_hgb (gbdt), sklearn_rf (rf)")
    ap.add_argument("--model", choices=["gbdt", "rf"], default="gbdt")
    ap.add_argument("datasets", nargs="*")
    a = ap.parse_args()
    subprocess.run([PYTHON, str(ROOT / "bench" / "prep_tabular.py"), str(TAB), *a.datasets], check=True)
    names = a.datasets or sorted(p.name for p in TAB.iterdir() if (p / "meta.json").exists())
    if a.peers is None:
        a.peers = "sklearn_rf" if a.model == "rf" else "lightgbm,xgboost,sklearn_hgb"
    peers = [p for p in a.peers.split(",") if p]
    rows = []
    for name in names:
        d = TAB / name
        meta = json.loads((d / "meta.json").read_text())
        train_y = pd.read_csv(d / "train.csv", usecols=[meta["target"]])[meta["target"]]
        y = pd.read_csv(d / "test.csv", usecols=[meta["target"]])[meta["target"]].to_numpy()
        classes = np.sort(train_y.unique())
        print(f"{name} ...", file=sys.stderr)
        res = {"lithe" if a.model == "gbdt" else "lithe_rf": run_lithe(d, meta, a.threads, a.rounds, a.model)}
        for lib in peers:
            try:
                res[lib] = run_peer(lib, d, a.threads, a.rounds)
            except RuntimeError as e:
                print(f"  {lib} failed: {str(e)[-300:]}", file=sys.stderr)
        for lib, (p, tt, tf, tp, rss) in res.items():
            rows.append({"dataset": name, "task": meta["task"], "rows": meta["train_rows"], "lib": lib,
                         **metrics(meta["task"], y, p, classes), "train_s": tt, "fit_s": tf, "predict_s": tp,
                         "peak_rss_mb": mb(rss)})
    (OUT / f"tabular_{a.model}.json").write_text(json.dumps(rows, indent=2))
    size = f"{a.rounds} trees" if a.model == "rf" else f"{a.rounds} rounds"
    print(f"Tree ensembles ({a.model}) — {date.today()}; {machine()}; {a.threads} threads; {size}\n")
    print("| dataset | task | train rows | library | AUC | logloss | accuracy | RMSE | train s | fit s | predict s | peak RSS MB |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    f = lambda r, k, fmt: (fmt.format(r[k]) if k in r else "")
    for r in rows:
        print(f"| {r['dataset']} | {r['task']} | {r['rows']:,} | {r['lib']} | {f(r, 'auc', '{:.4f}')} | "
              f"{f(r, 'logloss', '{:.4f}')} | {f(r, 'accuracy', '{:.4f}')} | {f(r, 'rmse', '{:.4g}')} | "
              f"{r['train_s']:.3f} | {r['fit_s']:.3f} | {r['predict_s']:.4f} | {r['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
