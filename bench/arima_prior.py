"""The stationary covariance (the Kalman filter's prior) of a near-nonstationary seasonal
ARMA model: exact, and StatsForecast's (Gardner et al. 1980, as R's default).

    bench/.venv-forecast/bin/python bench/arima_prior.py

The model is ARIMA(4,0,0)(2,1,0)₂₄ at the start StatsForecast's exact-likelihood fit
takes on M4 H397 (AR 1.022, −0.4156, 0.0914, 0.0303; seasonal AR −0.75, −0.6038;
smallest root 1.0106, just past the 1.01 bound). The exact solution of
Q = T Q Tᵀ + R Rᵀ comes from scipy's discrete Lyapunov solver; the golden Q[0,0] of the
test `stationary_covariance_solves_its_equation` (lithe-forecast, arima.rs) is its
value here. StatsForecast's getQ0 at the same point is far off and indefinite, so its
filter meets a negative prediction variance, the likelihood is NaN and the candidate is
rejected: its stepwise search then takes a path lithe's does not.

Why: StatsForecast's getQ0, like R's (stats/src/arima.c, `inclu2`), leaves out the
weight update of algorithm AS 154's square-root-free Givens rotations. The numbers
printed for it below are the golden values of lithe-forecast's test
`prior_matches_gardners_method_as_published_and_statsforecasts_bug_is_the_weight`,
which reproduces them bit for bit by leaving the update out, and gets the exact
covariance with it in.
"""
import numpy as np
from scipy.linalg import solve_discrete_lyapunov


def exact_prior(phi, theta):
    """The stationary covariance of the ARMA state (r = max(p, q + 1)) for unit
    innovation variance: the solution of Q = T Q Tᵀ + R Rᵀ, T the companion matrix
    of φ and R = (1, θ)."""
    r = max(len(phi), len(theta) + 1)
    T = np.zeros((r, r))
    T[: len(phi), 0] = phi
    T[:-1, 1:] = np.eye(r - 1)
    R = np.zeros(r)
    R[0] = 1.0
    R[1 : len(theta) + 1] = theta
    return solve_discrete_lyapunov(T, np.outer(R, R))


def smallest_ar_root(phi):
    """The smallest modulus of the roots of 1 − Σ φ_i zⁱ, trailing coefficients below
    1e-8 dropped (as StatsForecast's root check does); infinite with no AR part."""
    nz = np.flatnonzero(np.abs(phi) > 1e-8)
    if nz.size == 0:
        return np.inf
    return np.abs(np.polynomial.polynomial.polyroots(np.append(1.0, -phi[: nz.max() + 1]))).min()


def main():
    from statsforecast.arima import getQ0

    ar = np.array([1.022, -0.4156, 0.0914, 0.0303])
    sar = np.array([-0.75, -0.6038])
    m = 24
    # (1 − Σ ar_i Bⁱ)(1 − Σ sar_j B^{mj}) expanded: φ of length p + m·P.
    a = np.concatenate([[1.0], -ar])
    s = np.zeros(m * len(sar) + 1)
    s[0] = 1.0
    s[m * np.arange(1, len(sar) + 1)] = -sar
    phi = -np.convolve(a, s)[1:]
    theta = np.zeros(0)
    exact = exact_prior(phi, theta)
    gardner = getQ0(phi, theta)
    print(f"states {len(phi)}, smallest AR root {smallest_ar_root(phi):.6f}")
    print(f"exact (Lyapunov): Q[0,0] = {exact[0, 0]!r}, smallest eigenvalue "
          f"{np.linalg.eigvalsh(exact).min():.3g}")
    print(f"StatsForecast getQ0: Q[0,0] = {gardner[0, 0]!r}, smallest eigenvalue "
          f"{np.linalg.eigvalsh(gardner).min():.3g}, largest entry error "
          f"{np.abs(gardner - exact).max():.3g}")
    print(f"  Q[5,17] = {float(gardner[5, 17])!r}, Q[51,51] = {float(gardner[51, 51])!r}, sum of entries "
          f"{float(gardner.sum())!r}")
    i, j = np.unravel_index(np.argmax(gardner ** 2 - np.outer(np.diag(gardner), np.diag(gardner))),
                            gardner.shape)
    print(f"  largest Q[i,j]² − Q[i,i]·Q[j,j]: {gardner[i, j] ** 2 - gardner[i, i] * gardner[j, j]:.4g} "
          f"at ({i}, {j}) (positive: not a covariance)")


if __name__ == "__main__":
    main()
