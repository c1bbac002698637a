//! Orders, the expansion of seasonal AR/MA polynomials, the stationarity transform
//! and the differencing polynomial.

/// The orders of a seasonal ARIMA model `(p, d, q)(P, D, Q)_m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Order {
    pub p: usize,
    pub d: usize,
    pub q: usize,
    pub sp: usize,
    pub sd: usize,
    pub sq: usize,
    pub m: usize,
}

/// The expanded AR polynomial `φ` (length p + m·P) and MA polynomial `θ` (length
/// q + m·Q) of `(1 − Σφ_i Bⁱ)(1 − ΣΦ_j B^{mj})` and `(1 + Σθ_i Bⁱ)(1 + ΣΘ_j B^{mj})`
/// from the coefficients `[ar…, ma…, sar…, sma…]`.
pub fn expand(par: &[f64], o: &Order) -> (Vec<f64>, Vec<f64>) {
    let (p, q, sp, sq, m) = (o.p, o.q, o.sp, o.sq, o.m.max(1));
    let mut phi = vec![0.0; p + m * sp];
    let mut theta = vec![0.0; q + m * sq];
    phi[..p].copy_from_slice(&par[..p]);
    theta[..q].copy_from_slice(&par[p..p + q]);
    for j in 0..sp {
        let s = par[p + q + j];
        phi[(j + 1) * m - 1] += s;
        for i in 0..p {
            phi[(j + 1) * m + i] -= par[i] * s;
        }
    }
    for j in 0..sq {
        let s = par[p + q + sp + j];
        theta[(j + 1) * m - 1] += s;
        for i in 0..q {
            theta[(j + 1) * m + i] += par[p + i] * s;
        }
    }
    (phi, theta)
}

/// Map unconstrained values to the coefficients of a stationary AR polynomial
/// (tanh to partial autocorrelations, then Durbin–Levinson).
pub fn partrans(raw: &[f64]) -> Vec<f64> {
    let mut new: Vec<f64> = raw.iter().map(|v| v.tanh()).collect();
    let mut work = new.clone();
    for j in 1..new.len() {
        let a = new[j];
        for k in 0..j {
            work[k] -= a * new[j - k - 1];
        }
        new[..j].copy_from_slice(&work[..j]);
    }
    new
}

/// The inverse of [`partrans`] (NaN or ±∞ for a non-stationary polynomial).
pub fn invpartrans(phi: &[f64]) -> Vec<f64> {
    let p = phi.len();
    let mut new = phi.to_vec();
    let mut work = new.clone();
    for j in (1..p).rev() {
        let a = new[j];
        for k in 0..j {
            work[k] = (new[k] + a * new[j - k - 1]) / (1.0 - a * a);
        }
        new[..j].copy_from_slice(&work[..j]);
    }
    new.iter().map(|v| v.atanh()).collect()
}

/// The coefficients of `(1 − B)^d (1 − B^m)^D` after the leading 1, negated: the
/// weights that rebuild a value from its differenced value and past values.
pub fn delta(d: usize, sd: usize, m: usize) -> Vec<f64> {
    let mut poly = vec![1.0];
    let mut times = |lag: usize, k: usize| {
        for _ in 0..k {
            let mut next = vec![0.0; poly.len() + lag];
            for (i, c) in poly.iter().enumerate() {
                next[i] += c;
                next[i + lag] -= c;
            }
            poly = next;
        }
    };
    times(1, d);
    times(m, sd);
    poly[1..].iter().map(|c| -c).collect()
}
