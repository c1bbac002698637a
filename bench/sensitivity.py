"""How much a dataset's test metrics move under small changes of the settings, for
lithe and LightGBM side by side (same data, same run, 2 threads).

    bench/run sensitivity.py [DATASET] [--threads 2]

Some test sets (electricity's is a later period than its training rows) give log
losses that swing by several percent when max_bins or min_data_in_leaf move by one;
a single setting then says little about which library is more accurate. This script
trains both libraries over a small grid of neighbouring settings and prints each
setting's AUC and log loss and their means.
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
    ytr = (tr.pop(target) == classes[1]).astype(int)
    yte = (te.pop(target) == classes[1]).astype(int)
    rows = []
    for kw in GRID:
        p = dict(n_estimators=100, num_leaves=31, min_child_samples=kw.get("min_data_in_leaf", 20),
                 max_bin=kw.get("max_bins", 255), verbose=-1, n_jobs=a.threads)
        pl = lgb.LGBMClassifier(**p).fit(tr, ytr).predict_proba(te)[:, 1]
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in kw.items()]
        model, pred = d / "sens.model", d / "sens_pred.csv"
        subprocess.run([str(LITHE), "tabular", "train", "--data", str(d / "train.csv"), "--target", target,
                        "--out", str(model), "--threads", str(a.threads), "--quiet", *flags], check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([str(LITHE), "tabular", "predict", "--model", str(model), "--data", str(d / "test.csv"),
                        "--out", str(pred), "--quiet"], check=True, stdout=subprocess.DEVNULL)
        pt = pd.read_csv(pred)["prediction"].to_numpy()
        rows.append((kw or "defaults", roc_auc_score(yte, pt), log_loss(yte, pt), roc_auc_score(yte, pl),
                     log_loss(yte, pl)))
    print(f"{a.dataset}: test metrics under neighbouring settings (100 rounds, 31 leaves)\n")
    print("| setting | lithe AUC | lithe logloss | LightGBM AUC | LightGBM logloss |")
    print("|---|---:|---:|---:|---:|")
    for s, la, ll, ga, gl in rows:
        print(f"| {s} | {la:.4f} | {ll:.4f} | {ga:.4f} | {gl:.4f} |")
    m = np.array([r[1:] for r in rows]).mean(0)
    print(f"| **mean** | {m[0]:.4f} | {m[1]:.4f} | {m[2]:.4f} | {m[3]:.4f} |")


if __name__ == "__main__":
    main()
