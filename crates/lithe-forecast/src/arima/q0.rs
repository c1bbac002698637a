//! The stationary initial covariance of the ARMA state.

/// The stationary covariance of the ARMA state (`r = max(p, q + 1)`): the solution of
/// `Q = T Q Tᵀ + R Rᵀ` for the companion transition `T` of `φ` and `R = (1, θ)`,
/// row-major `r × r`, for unit innovation variance.
///
/// Built from the process's moments instead of solving the `r(r+1)/2` equations at
/// once (which costs `O(r⁶)`: a second for the 51 states of a seasonal hourly model).
/// State entry `i` is `Σ_{j<r−i} φ_{i+j} y_{t−1−j} + R_{i+j} ε_{t−j}`, so the first row
/// of `Q` follows from the autocovariances `γ` (the ARMA Yule–Walker equations, a
/// `(p+1)`-square system) and the ψ-weights, and the equation itself, read entry by
/// entry, gives the rest from the bottom-right corner up:
/// `Q_ik = φ_iφ_k Q_00 + φ_i Q_0,k+1 + φ_k Q_i+1,0 + Q_i+1,k+1 + R_i R_k`.
/// `O(p³ + r²)`.
pub fn q0(phi: &[f64], theta: &[f64]) -> Vec<f64> {
    let p = phi.len();
    let q = theta.len();
    let r = p.max(q + 1);
    let rv = |k: usize| {
        if k == 0 {
            1.0
        } else if k <= q {
            theta[k - 1]
        } else {
            0.0
        }
    };
    let ph = |i: usize| if i < p { phi[i] } else { 0.0 };
    // ψ-weights: Cov(y_t, ε_{t−j}) = ψ_j.
    let mut psi = vec![0.0; r + 1];
    for j in 0..=r {
        let mut v = rv(j);
        for i in 1..=j.min(p) {
            v += phi[i - 1] * psi[j - i];
        }
        psi[j] = v;
    }
    // c_k = Cov(MA part at t, y_{t−k}) = Σ_{j≥k} R_j ψ_{j−k}.
    let c: Vec<f64> = (0..=r)
        .map(|k| (k..r).map(|j| rv(j) * psi[j - k]).sum())
        .collect();
    // γ(k) − Σ_i φ_i γ(|k − i|) = c_k for k = 0..=p, then the recursion beyond p.
    let mut gamma = vec![0.0; r + 1];
    if p == 0 {
        gamma.copy_from_slice(&c);
    } else {
        let n = p + 1;
        let mut a = vec![0.0; n * n];
        let mut b = c[..n].to_vec();
        for k in 0..n {
            a[k * n + k] += 1.0;
            for i in 1..=p {
                a[k * n + k.abs_diff(i)] -= phi[i - 1];
            }
        }
        let g = solve(&mut a, &mut b, n);
        let upto = n.min(r + 1);
        gamma[..upto].copy_from_slice(&g[..upto]);
        for k in n..=r {
            let mut v = c[k];
            for i in 1..=p {
                v += phi[i - 1] * gamma[k - i];
            }
            gamma[k] = v;
        }
    }
    let mut out = vec![0.0; r * r];
    // First row: Cov(y_t, state entry k).
    for k in 0..r {
        let v: f64 = (0..r - k)
            .map(|j| ph(k + j) * gamma[j + 1] + rv(k + j) * psi[j])
            .sum();
        out[k] = v;
        out[k * r] = v;
    }
    out[0] = gamma[0];
    let q00 = gamma[0];
    for i in (1..r).rev() {
        for k in (i..r).rev() {
            let first = |x: usize| if x < r { out[x] } else { 0.0 };
            let next = if k + 1 < r {
                out[(i + 1) * r + k + 1]
            } else {
                0.0
            };
            let next = if i + 1 < r { next } else { 0.0 };
            let v = ph(i) * ph(k) * q00
                + ph(i) * first(k + 1)
                + ph(k) * first(i + 1)
                + next
                + rv(i) * rv(k);
            out[i * r + k] = v;
            out[k * r + i] = v;
        }
    }
    out
}

/// Gaussian elimination with partial pivoting on the `n × n` system `a x = b`.
pub(super) fn solve(a: &mut [f64], b: &mut [f64], n: usize) -> Vec<f64> {
    for k in 0..n {
        let piv = (k..n)
            .max_by(|&i, &j| a[i * n + k].abs().total_cmp(&a[j * n + k].abs()))
            .unwrap_or(k);
        if piv != k {
            for c in 0..n {
                a.swap(k * n + c, piv * n + c);
            }
            b.swap(k, piv);
        }
        let d = a[k * n + k];
        for i in k + 1..n {
            let f = a[i * n + k] / d;
            if f != 0.0 {
                for c in k..n {
                    a[i * n + c] -= f * a[k * n + c];
                }
                b[i] -= f * b[k];
            }
        }
    }
    let mut x = vec![0.0; n];
    for k in (0..n).rev() {
        let mut s = b[k];
        for c in k + 1..n {
            s -= a[k * n + c] * x[c];
        }
        x[k] = s / a[k * n + k];
    }
    x
}
