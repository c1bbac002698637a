"""Why StatsForecast's AutoARIMA takes another path than lithe's on one series.

    bench/.venv-forecast/bin/python bench/arima_trace.py TRAIN.csv ID SEASON [p,d,q,P,D,Q,c ...]

Without orders, prints StatsForecast's stepwise trace (each candidate's AICc, `inf`
where its fit was rejected) and the model it selects. With orders (c = 1 with the
constant), prints for each why StatsForecast rejects or keeps it: each BFGS run's
status, evaluations, how many were not finite, its first and last value; StatsForecast's
prior (Gardner's getQ0) at the first exact-likelihood evaluation against the exact
stationary covariance (scipy's Lyapunov solver, `arima_prior.exact_prior`); the smallest
root of the AR polynomial (rejected below 1.01) and whether the coefficients' variances
have a negative entry (checkarima). Compare with lithe's side:

    FIT="p,d,q,P,D,Q,c;..." SF=1 target/release/examples/arima_one TRAIN.csv SEASON ID
"""
import sys

import numpy as np
import pandas as pd
import statsforecast.arima as A
from arima_prior import exact_prior, smallest_ar_root
from scipy.optimize import minimize as scipy_minimize
from statsforecast.models import AutoARIMA


def main():
    path, uid, m = sys.argv[1], sys.argv[2], int(sys.argv[3])
    df = pd.read_csv(path)
    y = df[df["unique_id"] == uid]["y"].to_numpy(dtype=float)
    if y.size == 0:
        sys.exit(f"no series {uid} in {path}")
    if len(sys.argv) == 4:
        print(f"== StatsForecast's stepwise search on {uid} (n = {y.size}, season {m})")
        fit = AutoARIMA(season_length=m, trace=True).fit(y)
        print("selected (p, q, P, Q, m, d, D):", fit.model_["arma"], "AICc", fit.model_["aicc"])
    runs = []

    def traced(fun, x0, args=(), **kw):
        values = []

        def f(p, *a):
            v = fun(p, *a)
            values.append(v)
            return v

        r = scipy_minimize(f, x0, args=args, **kw)
        runs.append((fun.__name__, r.status, values))
        return r

    priors = []

    def like(y, phi, theta, *rest):
        # The prior at the first exact-likelihood evaluation, against the exact one.
        if not priors and len(phi) + len(theta) > 0:
            exact = exact_prior(phi, theta)
            gardner = A.getQ0(phi, theta)
            root = smallest_ar_root(phi)
            priors.append(f"   prior at the start (smallest AR root {root:.4f}): Q00 {gardner[0, 0]:.3f} "
                          f"(exact {exact[0, 0]:.3f}), smallest eigenvalue {np.linalg.eigvalsh(gardner).min():.3f} "
                          f"(exact {np.linalg.eigvalsh(exact).min():.3f}), largest entry error "
                          f"{np.abs(gardner - exact).max():.3f}")
        return arima_like(y, phi, theta, *rest)

    arima_like = A.arima_like
    A.arima_like = like
    A.minimize = traced
    for spec in sys.argv[4:]:
        p, d, q, sp, sd, sq, c = map(int, spec.split(","))
        runs.clear()
        priors.clear()
        f = A.myarima(y, order=(p, d, q), seasonal={"order": (sp, sd, sq), "period": m},
                      constant=bool(c), ic="aicc")
        print(f"== {spec}: AICc {f['ic']}")
        for name, status, values in runs:
            bad = sum(not np.isfinite(v) for v in values)
            print(f"   {name}: scipy status {status}, {len(values)} evaluations, {bad} not finite, "
                  f"first {values[0] if values else None}, last {values[-1] if values else None}")
        print("\n".join(priors))
        root = smallest_ar_root(f["model"]["phi"])
        if np.isfinite(root):
            print(f"   smallest AR root {root:.5f}")
        if f["var_coef"] is not None:
            print(f"   negative variance: {bool((np.diag(f['var_coef']) < 0).any())}")


if __name__ == "__main__":
    main()
