"""Prepare the tabular benchmark datasets as CSV train/test pairs with a header.

    python prep_tabular.py OUTDIR

Each dataset becomes OUTDIR/<name>/train.csv and test.csv (the same files for every
library), plus meta.json (target, task, categorical columns). Splits are fixed: the
official test split where one exists, otherwise a seeded 80/20 split (time order kept
for electricity).
"""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from common import SHARED

ADULT_COLS = ["age", "workclass", "fnlwgt", "education", "education_num", "marital_status", "occupation",
              "relationship", "race", "sex", "capital_gain", "capital_loss", "hours_per_week", "native_country",
              "income"]


def split(df, seed=0, frac=0.8):
    idx = np.random.default_rng(seed).permutation(len(df))
    k = int(len(df) * frac)
    return df.iloc[idx[:k]], df.iloc[idx[k:]]


def adult():
    kw = dict(names=ADULT_COLS, skipinitialspace=True, na_values=["?"])
    tr = pd.read_csv(SHARED / "adult/adult.data.gz", **kw)
    te = pd.read_csv(SHARED / "adult/adult.test", skiprows=1, **kw)
    te["income"] = te["income"].str.rstrip(".")
    return tr, te, "income", "binary", []


def covertype():
    tr = pd.read_csv(SHARED / "covertype/covertype_validate.csv")
    te = pd.read_csv(SHARED / "covertype/covertype_testing.csv")
    return tr, te, "Cover_Type", "multiclass", ["Soil_Type"]


def california():
    df = pd.read_csv(SHARED / "california_housing/housing.csv")
    tr, te = split(df)
    return tr, te, "median_house_value", "regression", []


def higgs():
    d = SHARED / "lightgbm_examples/binary_classification"
    names = ["label"] + [f"f{i}" for i in range(28)]
    tr = pd.read_csv(d / "binary.train", sep="\t", header=None, names=names)
    te = pd.read_csv(d / "binary.test", sep="\t", header=None, names=names)
    return tr, te, "label", "binary", []


def electricity():
    df = pd.read_csv(SHARED / "electricity/electricity.csv.gz")
    k = int(len(df) * 0.8)
    return df.iloc[:k], df.iloc[k:], "class", "binary", []


def bank():
    df = pd.read_csv(SHARED / "bank_marketing/bank-full.csv.gz", sep=";")
    tr, te = split(df)
    return tr, te, "y", "binary", []


def amazon():
    df = pd.read_csv(SHARED / "amazon_employee_access/Amazon_employee_access.csv")
    tr, te = split(df)
    return tr, te, "target", "binary", [c for c in df.columns if c != "target"]


def grinsztajn(sub, name, target, task):
    def f():
        df = pd.read_csv(SHARED / f"grinsztajn_tabular_benchmark/{sub}/{name}.csv.gz")
        tr, te = split(df)
        return tr, te, target, task, []
    return f


def synthetic(n=1_000_000, d=28, seed=42):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    w = rng.normal(size=d)
    logit = X @ w * 0.5 + np.sin(X[:, 0] * 2) + X[:, 1] * X[:, 2] - 0.5 * (X[:, 3] > 0.5)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(d)])
    df["y"] = y
    k = int(n * 0.8)
    return df.iloc[:k], df.iloc[k:], "y", "binary", []


DATASETS = {
    "adult": adult,
    "covertype": covertype,
    "california_housing": california,
    "higgs_subset": higgs,
    "electricity": electricity,
    "bank_marketing": bank,
    "amazon_employee_access": amazon,
    "grinsztajn_house_16H": grinsztajn("clf_num", "house_16H", "binaryClass", "binary"),
    "grinsztajn_MagicTelescope": grinsztajn("clf_num", "MagicTelescope", "class", "binary"),
    "grinsztajn_diamonds": grinsztajn("reg_num", "diamonds", "price", "regression"),
    "grinsztajn_houses": grinsztajn("reg_num", "houses", "medianhousevalue", "regression"),
    "synthetic_1m": synthetic,
}


def main():
    out = Path(sys.argv[1])
    names = sys.argv[2:] or list(DATASETS)
    for name in names:
        d = out / name
        if (d / "meta.json").exists():
            continue
        tr, te, target, task, cats = DATASETS[name]()
        d.mkdir(parents=True, exist_ok=True)
        tr.to_csv(d / "train.csv", index=False)
        te.to_csv(d / "test.csv", index=False)
        (d / "meta.json").write_text(json.dumps({"target": target, "task": task, "categorical": cats,
                                                 "train_rows": len(tr), "test_rows": len(te)}))
        print(f"prepared {name}: {len(tr)} + {len(te)} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
