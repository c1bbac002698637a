"""Golden values for lithe-core's metric tests, computed with scikit-learn.

Writes crates/lithe-core/src/metrics/tests_golden.rs (numbers only):
    bench/.venv/bin/python bench/golden/metrics_golden.py > crates/lithe-core/src/metrics/tests_golden.rs
"""
import math

import numpy as np
import sklearn
from sklearn.metrics import (accuracy_score, log_loss, mean_absolute_error,
                             mean_squared_error, ndcg_score, r2_score, roc_auc_score)

rng = np.random.default_rng(20261126)

# Binary: 40 labels, scores correlated with the label, no ties.
y = (rng.random(40) < 0.4).astype(float)
p = np.clip(0.35 * y + rng.random(40) * 0.6 + 0.02, 0.001, 0.999)
# Scores with ties (rounded to one decimal).
yt = (rng.random(30) < 0.5).astype(float)
st = np.round(0.3 * yt + rng.random(30) * 0.7, 1)
# Multiclass: 25 rows, 3 classes, rows sum to one.
ym = rng.integers(0, 3, 25)
raw = rng.random((25, 3)) + np.eye(3)[ym] * 0.8
pm = raw / raw.sum(axis=1, keepdims=True)
# Regression.
yr = rng.normal(10, 3, 50)
pr = yr + rng.normal(0, 1.5, 50)

# NDCG cases: a ranking of item ids, the relevant set, k.
ndcg_cases = []
for case in range(6):
    n_items = 12
    order = list(rng.permutation(n_items))
    rel = sorted(rng.choice(n_items, size=1 + case % 3, replace=False).tolist())
    k = [3, 5, 10][case % 3]
    # sklearn wants per-item relevance and scores; a strictly decreasing score encodes the order.
    rel_vec = np.zeros((1, n_items))
    rel_vec[0, rel] = 1
    score = np.zeros((1, n_items))
    for rank, item in enumerate(order):
        score[0, item] = n_items - rank
    ndcg_cases.append((order, rel, k, ndcg_score(rel_vec, score, k=k)))


def arr(a):
    return "vec![" + ", ".join(repr(float(x)) for x in a) + "]"


def iarr(a):
    return "vec![" + ", ".join(str(int(x)) for x in a) + "]"


print(f"//! Golden values from scikit-learn {sklearn.__version__} (numbers only).")
print("//! Produced by bench/golden/metrics_golden.py; do not edit by hand.")
print("#![allow(clippy::excessive_precision, clippy::approx_constant)]")
print()
print(f"pub const SK_AUC: f64 = {roc_auc_score(y, p)!r};")
print(f"pub const SK_LOGLOSS: f64 = {log_loss(y, p)!r};")
print(f"pub const SK_ACCURACY: f64 = {accuracy_score(y, p > 0.5)!r};")
print(f"pub const SK_AUC_TIES: f64 = {roc_auc_score(yt, st)!r};")
print(f"pub const SK_MULTI_LOGLOSS: f64 = {log_loss(ym, pm, labels=[0, 1, 2])!r};")
print(f"pub const SK_RMSE: f64 = {math.sqrt(mean_squared_error(yr, pr))!r};")
print(f"pub const SK_MAE: f64 = {mean_absolute_error(yr, pr)!r};")
print(f"pub const SK_R2: f64 = {r2_score(yr, pr)!r};")
print()
print(f"pub fn binary_case() -> (Vec<f64>, Vec<f64>) {{\n    ({arr(y)}, {arr(p)})\n}}")
print(f"pub fn tied_case() -> (Vec<f64>, Vec<f64>) {{\n    ({arr(yt)}, {arr(st)})\n}}")
print(f"pub fn multiclass_case() -> (Vec<usize>, Vec<f64>) {{\n    ({iarr(ym)}, {arr(pm.ravel())})\n}}")
print(f"pub fn regression_case() -> (Vec<f64>, Vec<f64>) {{\n    ({arr(yr)}, {arr(pr)})\n}}")
print("pub type NdcgCase = (Vec<u32>, Vec<u32>, usize, f64);")
print("pub fn ndcg_cases() -> Vec<NdcgCase> {\n    vec![")
for order, rel, k, v in ndcg_cases:
    print(f"        (vec!{[int(x) for x in order]}, vec!{[int(x) for x in rel]}, {k}, {float(v)!r}),")
print("    ]\n}")
