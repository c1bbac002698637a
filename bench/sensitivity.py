"""How much a dataset's test metrics move under small changes of the settings, for
lithe and LightGBM side by side (same data, same run, 2 threads).

    bench/run sensitivity.py [DATASET] [--threads 2]
    bench/run sensitivity.py electricity --time-folds 5

Some test sets (electricity's is a later period than its training rows) give log
losses that swing by several percent when max_bins or min_data_in_leaf move by one;
a single setting then says little about which library is more accurate. This script
trains both libraries over a small grid of neighbouring settings and prints each
setting's AUC and log loss and their means.

With --time-folds N it instead evaluates the default settings by rolling origin: the
dataset's rows (training then test file, in their time order) are cut into N + 1
equal blocks, and fold i trains on blocks 1..i and tests on block i + 1, so every
fold forecasts a later period from everything before it.
"""
import argparse
import json
import subprocess
import sys

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from common import LITHE, OUT

GRID = [{}, {"max_bins": 254}, {"max_bins": 200}, {"max_bins": 128},
        {"min_data_in_leaf": 19}, {"min_data_in_leaf": 21}]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", nargs="?", default="electricity")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time-folds", type=int, default=0)
    a = ap.parse_args()
    import lightgbm as lgb
    d = OUT / "tabular" / a.dataset
    if not (d / "meta.json").exists():
        subprocess.run([sys.executable, str(OUT.parent / "prep_tabular.py"), str(OUT / "tabular"), a.dataset],
                       check=True)
    meta = json.loads((d / "meta.json").read_text())
    if meta["task"] != "binary" or meta["categorical"]:
        raise SystemExit("sensitivity.py handles binary datasets without categorical columns")
    target = meta["target"]
    tr, te = pd.read_csv(d / "train.csv"), pd.read_csv(d / "test.csv")
    classes = np.sort(tr[target].unique())
    if a.time_folds:
        time_folds(d, target, pd.concat([tr, te], ignore_index=True), classes, a.time_folds, a.threads)
        return
    ytr = (tr.pop(target) == classes[1]).astype(int)
    yte = (te.pop(target) == classes[1]).astype(int)
    rows = []
    for kw in GRID:
        p = dict(n_estimators=100, num_leaves=31, min_child_samples=kw.get("min_data_in_leaf", 20),
                 max_bin=kw.get("max_bins", 255), verbose=-1, n_jobs=a.threads)
        pl = lgb.LGBMClassifier(**p).fit(tr, ytr).predict_proba(te)[:, 1]
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in kw.items()]
        pt = lithe(d, d / "train.csv", d / "test.csv", target, a.threads, flags)
        rows.append((kw or "defaults", roc_auc_score(yte, pt), log_loss(yte, pt), roc_auc_score(yte, pl),
                     log_loss(yte, pl)))
    print(f"{a.dataset}: test metrics under neighbouring settings (100 rounds, 31 leaves)\n")
    print("| setting | lithe AUC | lithe logloss | LightGBM AUC | LightGBM logloss |")
    print("|---|---:|---:|---:|---:|")
    for s, la, ll, ga, gl in rows:
        print(f"| {s} | {la:.4f} | {ll:.4f} | {ga:.4f} | {gl:.4f} |")
    m = np.array([r[1:] for r in rows]).mean(0)
    print(f"| **mean** | {m[0]:.4f} | {m[1]:.4f} | {m[2]:.4f} | {m[3]:.4f} |")


def lithe(d, train, test, target, threads, flags=()):
    """lithe's positive-class probabilities on `test` from a model trained on `train`."""
    model, pred = d / "sens.model", d / "sens_pred.csv"
    subprocess.run([str(LITHE), "tabular", "train", "--data", str(train), "--target", target,
                    "--out", str(model), "--threads", str(threads), "--quiet", *flags], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([str(LITHE), "tabular", "predict", "--model", str(model), "--data", str(test),
                    "--out", str(pred), "--quiet"], check=True, stdout=subprocess.DEVNULL)
    return pd.read_csv(pred)["prediction"].to_numpy()


def time_folds(d, target, df, classes, n, threads):
    import lightgbm as lgb
    y = (df[target] == classes[1]).astype(int).to_numpy()
    cuts = [len(df) * i // (n + 1) for i in range(n + 2)]
    rows = []
    for i in range(1, n + 1):
        tr, te = df.iloc[:cuts[i]], df.iloc[cuts[i]:cuts[i + 1]]
        ytr, yte = y[:cuts[i]], y[cuts[i]:cuts[i + 1]]
        ftr, fte = d / "fold_train.csv", d / "fold_test.csv"
        tr.to_csv(ftr, index=False)
        te.to_csv(fte, index=False)
        pt = lithe(d, ftr, fte, target, threads)
        p = dict(n_estimators=100, num_leaves=31, min_child_samples=20, max_bin=255, verbose=-1, n_jobs=threads)
        pl = lgb.LGBMClassifier(**p).fit(tr.drop(columns=[target]), ytr).predict_proba(
            te.drop(columns=[target]))[:, 1]
        rows.append((i, len(tr), len(te), roc_auc_score(yte, pt), log_loss(yte, pt), roc_auc_score(yte, pl),
                     log_loss(yte, pl)))
    print(f"{d.name}: rolling origin, {n} folds, default settings (100 rounds, 31 leaves, 255 bins)\n")
    print("| fold | train rows | test rows | lithe AUC | lithe logloss | LightGBM AUC | LightGBM logloss |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for i, a, b, la, ll, ga, gl in rows:
        print(f"| {i} | {a:,} | {b:,} | {la:.4f} | {ll:.4f} | {ga:.4f} | {gl:.4f} |")
    m = np.array([r[3:] for r in rows]).mean(0)
    print(f"| **mean** | | | {m[0]:.4f} | {m[1]:.4f} | {m[2]:.4f} | {m[3]:.4f} |")
    print(f"\nlogloss lithe / LightGBM = {m[1] / m[3]:.3f}; AUC lithe - LightGBM = {m[0] - m[2]:+.4f}")


if __name__ == "__main__":
    main()
