//! Building blocks of ARIMA (Box–Jenkins models in state-space form), as R's
//! `stats::arima` and StatsForecast's port compute them: the differencing tests that
//! choose `d` (KPSS) and `D` (seasonal strength of an STL decomposition), the
//! expansion of seasonal AR/MA polynomials, the stationarity transform, the
//! conditional sum of squares, the stationary initial covariance (exact: what Gardner,
//! Harvey & Phillips's 1980 algorithm gives as published, which R's and StatsForecast's
//! ports of it do not; see the tests) and the exact Gaussian likelihood by a Kalman
//! filter with a diffuse prior on the differencing states.
//!
//! `notes/statsforecast-autoarima.md` records how StatsForecast 2.1.1 composes these;
//! `models::auto_arima` runs the model search on top of them.

use crate::optim::LANES;
use crate::stl::Stl;

/// The KPSS statistic for level stationarity with `lags` Bartlett-weighted
/// autocovariances in the long-run variance (statsmodels' `kpss(x, "c", nlags)`).
pub fn kpss_statistic(x: &[f64], lags: usize) -> f64 {
    let n = x.len();
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let e: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let mut cum = 0.0;
    let mut eta = 0.0;
    for v in &e {
        cum += v;
        eta += cum * cum;
    }
    eta /= nf * nf;
    let mut s2: f64 = e.iter().map(|v| v * v).sum();
    for i in 1..=lags.min(n.saturating_sub(1)) {
        let prod: f64 = e[i..].iter().zip(&e[..n - i]).map(|(a, b)| a * b).sum();
        s2 += 2.0 * prod * (1.0 - i as f64 / (lags as f64 + 1.0));
    }
    s2 /= nf;
    eta / s2
}

/// The KPSS p-value by linear interpolation in the published table (Kwiatkowski et
/// al., 1992), clamped to [0.01, 0.10] as statsmodels reports it.
pub fn kpss_pvalue(stat: f64) -> f64 {
    const CRIT: [f64; 4] = [0.347, 0.463, 0.574, 0.739];
    const P: [f64; 4] = [0.10, 0.05, 0.025, 0.01];
    if stat <= CRIT[0] {
        return P[0];
    }
    if stat >= CRIT[3] {
        return P[3];
    }
    let k = CRIT.iter().position(|&c| stat < c).unwrap_or(3) - 1;
    P[k] + (P[k + 1] - P[k]) * (stat - CRIT[k]) / (CRIT[k + 1] - CRIT[k])
}

/// Whether every value equals the first (exactly; an empty series counts as constant).
pub(crate) fn is_constant(x: &[f64]) -> bool {
    x.iter().all(|&v| v == x[0])
}

/// Lag-`lag` differences of `x`.
pub fn diff(x: &[f64], lag: usize) -> Vec<f64> {
    if x.len() <= lag {
        return Vec::new();
    }
    x[lag..].iter().zip(x).map(|(a, b)| a - b).collect()
}

/// How many first differences make `x` level-stationary by the KPSS test at 5 %
/// (at most `max_d`), as StatsForecast's `ndiffs`: lags ⌊3√n/13⌋; after each
/// difference one more leading value is dropped, as StatsForecast does.
pub fn ndiffs(x: &[f64], max_d: usize) -> usize {
    let mut x: Vec<f64> = x.iter().copied().filter(|v| !v.is_nan()).collect();
    if x.is_empty() || is_constant(&x) {
        return 0;
    }
    let test = |x: &[f64]| {
        let lags = (3.0 * (x.len() as f64).sqrt() / 13.0).floor() as usize;
        x.len() > lags && kpss_pvalue(kpss_statistic(x, lags)) < 0.05
    };
    let mut d = 0;
    let mut dodiff = test(&x);
    while dodiff && d < max_d {
        d += 1;
        let dx = diff(&x, 1);
        x = dx.get(1..).map(<[f64]>::to_vec).unwrap_or_default();
        if x.is_empty() || is_constant(&x) {
            return d;
        }
        dodiff = test(&x);
    }
    d
}

/// The strength of the seasonal component of an STL decomposition (seasonal window
/// 11, no robustness): `max(0, 1 − var(remainder) / var(remainder + seasonal))`.
pub fn seasonal_strength(x: &[f64], m: usize) -> f64 {
    let d = Stl {
        period: m,
        seasonal: 11,
        seasonal_deg: 0,
        inner_iter: 5,
    }
    .fit(x);
    let rem: Vec<f64> = x
        .iter()
        .zip(&d.seasonal)
        .zip(&d.trend)
        .map(|((v, s), t)| (v - s) - t)
        .collect();
    let var = |v: &[f64]| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        v.iter().map(|a| (a - mean) * (a - mean)).sum::<f64>() / (n - 1.0)
    };
    let with: Vec<f64> = rem.iter().zip(&d.seasonal).map(|(r, s)| r + s).collect();
    (1.0 - var(&rem) / var(&with)).clamp(0.0, 1.0)
}

/// How many seasonal differences (at most one) the series needs: one when its
/// seasonal strength exceeds 0.64 (StatsForecast's `nsdiffs` with the "seas" test).
pub fn nsdiffs(x: &[f64], m: usize) -> usize {
    if m <= 1 || x.len() <= m || is_constant(x) || x.iter().any(|v| v.is_nan()) {
        return 0;
    }
    usize::from(seasonal_strength(x, m) > 0.64)
}

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

/// The conditional sum of squares of an ARMA model for the differenced series:
/// `(Σe²/n_e, residuals)`, the first `p + d + m(P + D)` residuals being zero.
pub fn css(y: &[f64], o: &Order, phi: &[f64], theta: &[f64]) -> (f64, Vec<f64>) {
    let mut w = y.to_vec();
    let mut resid = Vec::new();
    let s = css_in_place(&mut w, o, phi, theta, &mut resid);
    (s, resid)
}

/// [`css`] on `w` (the series, differenced in place), the residuals into `resid`
/// (resized to the series): an objective evaluated hundreds of times per model
/// allocates nothing.
pub fn css_in_place(
    w: &mut [f64],
    o: &Order,
    phi: &[f64],
    theta: &[f64],
    resid: &mut Vec<f64>,
) -> f64 {
    resid.clear();
    resid.resize(w.len(), 0.0);
    let [s] = css_steps(
        w.as_chunks_mut().0,
        o,
        phi.as_chunks().0,
        theta.as_chunks().0,
        resid.as_chunks_mut().0,
    );
    s
}

/// The conditional sum of squares of `W` parameter sets side by side (one is
/// [`css_in_place`], [`LANES`] are [`css_lanes`]): lane `k` of `w[l]` is lane `k`'s
/// series (differenced in place) and of `phi[j]`, `theta[j]` its coefficients, the same
/// number in every lane; `resid` (zeros, as long as `w`) takes the residuals. Every
/// lane does the same operations in the same order, so `W` lanes give the bits of one
/// at a time, and side by side they hide the latency of the residual recursion.
#[inline(always)]
fn css_steps<const W: usize>(
    w: &mut [[f64; W]],
    o: &Order,
    phi: &[[f64; W]],
    theta: &[[f64; W]],
    resid: &mut [[f64; W]],
) -> [f64; W] {
    let n = w.len();
    let ncond = o.p + o.d + o.m * (o.sp + o.sd);
    if ncond > n {
        return [f64::NAN; W];
    }
    let mut difference = |lag: usize| {
        for l in (lag..n).rev() {
            let prev = w[l - lag];
            for (v, p) in w[l].iter_mut().zip(prev) {
                *v -= p;
            }
        }
    };
    for _ in 0..o.d {
        difference(1);
    }
    for _ in 0..o.sd {
        difference(o.m);
    }
    let mut sums = ([0.0; W], [0usize; W]);
    // The first `q` residuals have fewer before them; from there on, every step reads
    // `p` values and `q` residuals, and the non-seasonal orders (up to 5 each) get a
    // copy with both fixed, which the compiler unrolls.
    let split = (ncond + theta.len()).min(n);
    css_residuals::<W, false>(w, phi, theta, resid, ncond..split, ncond, &mut sums);
    macro_rules! go {
        ($p:expr, $q:expr) => {
            css_residuals::<W, true>(
                w,
                &phi[..$p],
                &theta[..$q],
                resid,
                split..n,
                ncond,
                &mut sums,
            )
        };
    }
    macro_rules! orders {
        ($($p:literal),*) => {
            match phi.len() {
                $($p => orders!(@q $p; 0, 1, 2, 3, 4, 5),)*
                p => go!(p, theta.len()),
            }
        };
        (@q $p:literal; $($q:literal),*) => {
            match theta.len() {
                $($q => go!($p, $q),)*
                q => go!($p, q),
            }
        };
    }
    orders!(0, 1, 2, 3, 4, 5);
    let (ssq, nu) = sums;
    std::array::from_fn(|k| ssq[k] / nu[k] as f64)
}

/// The CSS residuals at `ls` (`w` differenced, `ncond` the first one), into `resid` and
/// the running sums `(Σ e², n)` of each lane; with `FULL`, every step has all `q`
/// residuals before it.
#[inline(always)]
fn css_residuals<const W: usize, const FULL: bool>(
    w: &[[f64; W]],
    phi: &[[f64; W]],
    theta: &[[f64; W]],
    resid: &mut [[f64; W]],
    ls: std::ops::Range<usize>,
    ncond: usize,
    (ssq, nu): &mut ([f64; W], [usize; W]),
) {
    let (p, q) = (phi.len(), theta.len());
    for l in ls {
        let mut t = w[l];
        for (ph, wv) in phi.iter().zip(w[l - p..l].iter().rev()) {
            for k in 0..W {
                t[k] -= ph[k] * wv[k];
            }
        }
        let nq = if FULL { q } else { (l - ncond).min(q) };
        for (th, rv) in theta[..nq].iter().zip(resid[l - nq..l].iter().rev()) {
            for k in 0..W {
                t[k] -= th[k] * rv[k];
            }
        }
        resid[l] = t;
        for k in 0..W {
            if !t[k].is_nan() {
                nu[k] += 1;
                ssq[k] += t[k] * t[k];
            }
        }
    }
}

/// The AR and MA coefficients of [`LANES`] models of one order (`(φ, θ)` each, as
/// [`expand`] gives them) side by side: entry `j` holds lane `k`'s `j`-th coefficient
/// at `k`.
pub fn coefficient_lanes(
    coefs: &[(Vec<f64>, Vec<f64>); LANES],
) -> (Vec<[f64; LANES]>, Vec<[f64; LANES]>) {
    let side_by_side = |ar: bool| -> Vec<[f64; LANES]> {
        let pick = |k: usize| if ar { &coefs[k].0 } else { &coefs[k].1 };
        (0..pick(0).len())
            .map(|j| std::array::from_fn(|k| pick(k)[j]))
            .collect()
    };
    (side_by_side(true), side_by_side(false))
}

/// [`css_in_place`] for [`LANES`] parameter sets side by side (the points of one
/// numerical gradient; [`css_steps`]), the same bits per lane, compiled for AVX2
/// where the processor has it.
pub fn css_lanes(
    w: &mut [[f64; LANES]],
    o: &Order,
    phi: &[[f64; LANES]],
    theta: &[[f64; LANES]],
    resid: &mut Vec<[f64; LANES]>,
) -> [f64; LANES] {
    resid.clear();
    resid.resize(w.len(), [0.0; LANES]);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2.
        return unsafe { css_lanes_avx2(w, o, phi, theta, resid) };
    }
    css_steps(w, o, phi, theta, resid)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn css_lanes_avx2(
    w: &mut [[f64; LANES]],
    o: &Order,
    phi: &[[f64; LANES]],
    theta: &[[f64; LANES]],
    resid: &mut [[f64; LANES]],
) -> [f64; LANES] {
    css_steps(w, o, phi, theta, resid)
}

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
fn solve(a: &mut [f64], b: &mut [f64], n: usize) -> Vec<f64> {
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

/// The state-space form of an ARIMA model and its Kalman filter state.
#[derive(Debug, Clone)]
pub struct StateSpace {
    pub phi: Vec<f64>,
    pub theta: Vec<f64>,
    pub delta: Vec<f64>,
    /// ARMA block size `max(p, q + 1)`.
    pub r: usize,
    /// State mean and covariance (row-major `rd × rd`).
    pub a: Vec<f64>,
    pub p: Vec<f64>,
    /// Prior covariance of the state for the next observation.
    pub pn: Vec<f64>,
}

/// The differencing weights of `1 − B`, `(1 − B)²` and none.
const ONE_DIFF: [f64; 1] = [1.0];
const TWO_DIFFS: [f64; 2] = [2.0, -1.0];
const NO_DIFF: [f64; 0] = [];

/// The non-zero entries, by state index, of differencing weights `d` (none zero) after
/// an ARMA block of `r` states.
const fn weights_at<const N: usize>(r: usize, d: [f64; N]) -> [(usize, f64); N] {
    let mut out = [(0, 0.0); N];
    let mut k = 0;
    while k < N {
        out[k] = (r + k, d[k]);
        k += 1;
    }
    out
}

/// `$go!(rd, r, dnz)` for a model with `rd` states, an ARMA block of `r` and the
/// differencing weights' non-zero entries `dnz` (by state index), with what it can
/// fixed at compile time, so that the compiler unrolls the loops: for a non-seasonal
/// model with up to 8 states and up to two differences, all three (the products by the
/// weights 1 and −1 then compile to nothing and a subtraction: the same bits); for
/// other states of up to 8, the state size.
macro_rules! sized {
    ($rd:expr, $r:expr, $dnz:expr, $go:ident) => {
        sized!(@table $rd, $r, $dnz, $go, match $rd {
            2 => $go!(2, $r, $dnz),
            3 => $go!(3, $r, $dnz),
            4 => $go!(4, $r, $dnz),
            5 => $go!(5, $r, $dnz),
            6 => $go!(6, $r, $dnz),
            7 => $go!(7, $r, $dnz),
            8 => $go!(8, $r, $dnz),
            rd => $go!(rd, $r, $dnz),
        };
            (1, 1, NO_DIFF), (2, 2, NO_DIFF), (3, 3, NO_DIFF), (4, 4, NO_DIFF),
            (5, 5, NO_DIFF), (6, 6, NO_DIFF), (7, 7, NO_DIFF), (8, 8, NO_DIFF),
            (2, 1, ONE_DIFF), (3, 2, ONE_DIFF), (4, 3, ONE_DIFF), (5, 4, ONE_DIFF),
            (6, 5, ONE_DIFF), (7, 6, ONE_DIFF), (8, 7, ONE_DIFF), (3, 1, TWO_DIFFS),
            (4, 2, TWO_DIFFS), (5, 3, TWO_DIFFS), (6, 4, TWO_DIFFS), (7, 5, TWO_DIFFS),
            (8, 6, TWO_DIFFS))
    };
    (@table $rd:expr, $r:expr, $dnz:expr, $go:ident, $other:expr;
        $(($a:literal, $b:literal, $d:ident)),*) => {
        match ($rd, $r) {
            $(($a, $b) if $dnz[..] == weights_at($b, $d)[..] => {
                $go!($a, $b, &weights_at($b, $d))
            })*
            _ => $other,
        }
    };
}

/// `z·x`: the observation of a state `x`, its ARMA level plus the differencing
/// weights' non-zero entries `dnz` (by state index) times their states.
#[inline(always)]
fn z_dot(x: &[f64], dnz: &[(usize, f64)]) -> f64 {
    x[0] + dnz.iter().map(|&(i, d)| d * x[i]).sum::<f64>()
}

/// Folds `|a − b|` and `|b|` entry by entry into four running maxima each (lane `k`
/// takes the entries `k mod 4`), so the loop runs four lanes wide.
#[inline(always)]
fn max_change(a: &[f64], b: &[f64], change: &mut [f64; 4], size: &mut [f64; 4]) {
    let n = a.len().min(b.len());
    let mut k = 0;
    while k + 4 <= n {
        for l in 0..4 {
            let d = (a[k + l] - b[k + l]).abs();
            change[l] = if d > change[l] { d } else { change[l] };
            let v = b[k + l].abs();
            size[l] = if v > size[l] { v } else { size[l] };
        }
        k += 4;
    }
    for k in k..n {
        let d = (a[k] - b[k]).abs();
        change[0] = if d > change[0] { d } else { change[0] };
        let v = b[k].abs();
        size[0] = if v > size[0] { v } else { size[0] };
    }
}

/// One observed value's share of a filter pass: its innovation `e` with variance `F`
/// into the sums `(Σ e²/F, Σ log F, n)` (left out while `F` is 1e4 or more, the diffuse
/// start), its standardised innovation into `resid`, and the mean update
/// `a = anew + m e / F`.
#[inline(always)]
fn absorb(
    a: &mut [f64],
    anew: &[f64],
    m: &[f64],
    e: f64,
    gain: f64,
    (ssq, sumlog, nu): &mut (f64, f64, usize),
    resid: Option<&mut Vec<f64>>,
) {
    if gain < 1e4 {
        *nu += 1;
        *ssq += if gain == 0.0 {
            f64::INFINITY
        } else {
            e * e / gain
        };
        *sumlog += gain.ln();
    }
    if let Some(rs) = resid {
        rs.push(if gain == 0.0 {
            f64::INFINITY
        } else {
            e / gain.sqrt()
        });
    }
    for ((a, an), mi) in a.iter_mut().zip(anew).zip(m) {
        *a = an + mi * e / gain;
    }
}

/// Diffuse prior variance of the differencing states.
pub const KAPPA: f64 = 1e6;

/// Where a deferred pass stopped: `(the index of the next observation, m, F)`.
type Defer<'a> = Option<&'a mut Option<(usize, Vec<f64>, f64)>>;

/// A filter pass stopped where its covariance is held ([`StateSpace::likelihood_deferred`]).
pub struct Deferred {
    /// `(Σ e²/F, Σ log F, n)` so far: the whole pass's when `rest` is `None`.
    pub sums: (f64, f64, usize),
    rest: Option<Rest>,
}

/// The rest of a deferred pass: from observation `from` on, the mean updates with the
/// gain vector `k = m / F`, from the state `a`, for the model's AR coefficients `phi`.
struct Rest {
    from: usize,
    k: Vec<f64>,
    gain: f64,
    a: Vec<f64>,
    phi: Vec<f64>,
    r: usize,
    dnz: Vec<(usize, f64)>,
}

/// Completes deferred passes of one model order over their series (`ys[i]` is pass
/// `i`'s): their sums, the same bits as whole passes. The rests run [`LANES`] side by
/// side, each first alone up to the latest start among them.
pub fn finish_passes(passes: Vec<Deferred>, ys: &[&[f64]]) -> Vec<(f64, f64, usize)> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2.
        return unsafe { finish_passes_avx2(passes, ys) };
    }
    finish_passes_any(passes, ys)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn finish_passes_avx2(passes: Vec<Deferred>, ys: &[&[f64]]) -> Vec<(f64, f64, usize)> {
    finish_passes_any(passes, ys)
}

#[inline(always)]
fn finish_passes_any(passes: Vec<Deferred>, ys: &[&[f64]]) -> Vec<(f64, f64, usize)> {
    let mut sums: Vec<(f64, f64, usize)> = passes.iter().map(|p| p.sums).collect();
    let mut open: Vec<(usize, Rest)> = (passes.into_iter().enumerate())
        .filter_map(|(i, p)| p.rest.map(|r| (i, r)))
        .collect();
    for group in open.chunks_mut(LANES) {
        // Each pass alone up to the latest start in the group (to the end when it is
        // alone), then all together; the lanes past the group's size repeat its last
        // pass and are dropped.
        let start = match group {
            [(i, _)] => ys[*i].len(),
            _ => group.iter().map(|(_, r)| r.from).max().unwrap_or(0),
        };
        for (i, rest) in group.iter_mut() {
            let y = &ys[*i][rest.from..start];
            sums[*i] = rest.steps(y, sums[*i], None);
        }
        if group.len() == 1 {
            continue;
        }
        let lane = |j: usize| &group[j.min(group.len() - 1)];
        let gather = |f: &dyn Fn(&Rest) -> &[f64]| -> Vec<[f64; LANES]> {
            (0..f(&group[0].1).len())
                .map(|t| std::array::from_fn(|j| f(&lane(j).1)[t]))
                .collect()
        };
        let (phi, k, mut state) = (gather(&|r| &r.phi), gather(&|r| &r.k), gather(&|r| &r.a));
        let mut group_sums = std::array::from_fn(|j| sums[lane(j).0]);
        let lanes = Lanes {
            r: group[0].1.r,
            dnz: &group[0].1.dnz,
            phi: &phi,
            k: &k,
            gain: std::array::from_fn(|j| lane(j).1.gain),
        };
        let y = std::array::from_fn(|j| &ys[lane(j).0][start..]);
        // Sized copies for the non-seasonal models, as in the pass itself.
        macro_rules! go {
            ($rd:expr, $r:expr, $dnz:expr) => {{
                let lanes = Lanes {
                    r: $r,
                    dnz: $dnz,
                    ..lanes
                };
                tail_steps($rd, &lanes, &mut state, y, &mut group_sums, None)
            }};
        }
        sized!(state.len(), group[0].1.r, lanes.dnz, go);
        for (j, (i, _)) in group.iter().enumerate() {
            sums[*i] = group_sums[j];
        }
    }
    sums
}

impl Rest {
    /// This pass's held-covariance steps over `y` on its own, from and into its state.
    fn steps(
        &mut self,
        y: &[f64],
        sums: (f64, f64, usize),
        resid: Option<&mut Vec<f64>>,
    ) -> (f64, f64, usize) {
        let rd = self.a.len();
        let (r, dnz) = (self.r, &self.dnz[..]);
        tail_one(
            rd,
            r,
            dnz,
            &self.phi,
            &self.k,
            self.gain,
            &mut self.a,
            y,
            sums,
            resid,
        )
    }
}

/// One pass's held-covariance steps over `y` (one lane of [`tail_steps`]): from and
/// into the state `a` (`rd` entries), with the AR coefficients `phi`, the gain vector
/// `k = m / F` and `F`, continuing `sums`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn tail_one(
    rd: usize,
    r: usize,
    dnz: &[(usize, f64)],
    phi: &[f64],
    k: &[f64],
    gain: f64,
    a: &mut [f64],
    y: &[f64],
    sums: (f64, f64, usize),
    resid: Option<&mut Vec<f64>>,
) -> (f64, f64, usize) {
    let lanes = Lanes {
        r,
        dnz,
        phi: phi.as_chunks().0,
        k: k.as_chunks().0,
        gain: [gain],
    };
    let mut sums = [sums];
    tail_steps(rd, &lanes, a.as_chunks_mut().0, [y], &mut sums, resid);
    sums[0]
}

/// What `W` filter passes of one model order share once each one's covariance is held
/// (lane `k` of each entry is pass `k`'s): the ARMA block size, the differencing
/// weights' non-zero entries, the AR coefficients (unpadded), the gain vectors `m / F`
/// and the prediction variances `F`.
struct Lanes<'a, const W: usize> {
    r: usize,
    dnz: &'a [(usize, f64)],
    phi: &'a [[f64; W]],
    k: &'a [[f64; W]],
    gain: [f64; W],
}

/// The filter's mean updates over `ys` (no missing values, the same length in every
/// lane) with the covariance held: `a ← T a + k e`, `e = y − z·T a`, continuing each
/// lane's sums `(Σ e²/F, Σ log F, n)` and pushing lane 0's standardised innovations to
/// `resid`. One pass is one lane; `W` passes side by side run the same operations in
/// the same order per lane (the same bits as one at a time) and hide the latency of the
/// recursion from one step to the next.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // (`t` indexes every lane's series)
fn tail_steps<const W: usize>(
    rd: usize,
    lanes: &Lanes<W>,
    a: &mut [[f64; W]],
    ys: [&[f64]; W],
    sums: &mut [(f64, f64, usize); W],
    mut resid: Option<&mut Vec<f64>>,
) {
    let Lanes {
        r,
        dnz,
        phi,
        k,
        gain,
    } = *lanes;
    let a = &mut a[..rd];
    let k = &k[..rd];
    let counted = gain.map(|g| g < 1e4);
    let log_gain = gain.map(f64::ln);
    // The start of `Iterator::sum` for f64, so `z·x` below is `z_dot`'s bits.
    let zero: f64 = std::iter::empty::<f64>().sum();
    let mut anew_buf = [[0.0; W]; 16];
    let mut anew_vec;
    let anew: &mut [[f64; W]] = if rd <= 16 {
        &mut anew_buf[..rd]
    } else {
        anew_vec = vec![[0.0; W]; rd];
        &mut anew_vec
    };
    // (Branches outside the loops over lanes, so those run as vector operations.)
    for t in 0..ys[0].len() {
        // anew = T a, as `apply_t_sized` computes it.
        let a0 = a[0];
        for i in 0..r {
            let mut v = if i + 1 < r { a[i + 1] } else { [0.0; W] };
            if let Some(ph) = phi.get(i) {
                for w in 0..W {
                    v[w] += ph[w] * a0[w];
                }
            }
            anew[i] = v;
        }
        if rd > r {
            let mut v = a0;
            for &(j, d) in dnz {
                for w in 0..W {
                    v[w] += d * a[j][w];
                }
            }
            anew[r] = v;
            anew[r + 1..rd].copy_from_slice(&a[r..rd - 1]);
        }
        let mut s = [zero; W];
        for &(j, d) in dnz {
            for w in 0..W {
                s[w] += d * anew[j][w];
            }
        }
        let e: [f64; W] = std::array::from_fn(|w| ys[w][t] - (anew[0][w] + s[w]));
        for w in 0..W {
            let sums = &mut sums[w];
            if counted[w] {
                sums.2 += 1;
                sums.0 += if gain[w] == 0.0 {
                    f64::INFINITY
                } else {
                    e[w] * e[w] / gain[w]
                };
                sums.1 += log_gain[w];
            }
        }
        if let Some(rs) = resid.as_deref_mut() {
            rs.push(if gain[0] == 0.0 {
                f64::INFINITY
            } else {
                e[0] / gain[0].sqrt()
            });
        }
        for ((ai, an), ki) in a.iter_mut().zip(anew.iter()).zip(k) {
            for w in 0..W {
                ai[w] = an[w] + ki[w] * e[w];
            }
        }
    }
}

impl StateSpace {
    /// The model with its prior: the stationary covariance for the ARMA block and
    /// `KAPPA` on the differencing states.
    pub fn new(phi: &[f64], theta: &[f64], delta: &[f64]) -> StateSpace {
        let r = phi.len().max(theta.len() + 1);
        let rd = r + delta.len();
        let mut pn = vec![0.0; rd * rd];
        let q = q0(phi, theta);
        for i in 0..r {
            for j in 0..r {
                pn[i * rd + j] = q[i * r + j];
            }
        }
        for i in r..rd {
            pn[i * rd + i] = KAPPA;
        }
        StateSpace {
            phi: phi.to_vec(),
            theta: theta.to_vec(),
            delta: delta.to_vec(),
            r,
            a: vec![0.0; rd],
            p: vec![0.0; rd * rd],
            pn,
        }
    }

    fn rd(&self) -> usize {
        self.a.len()
    }

    /// The one-step prediction of the state and its covariance (`T a`, `T P Tᵀ + V`).
    pub fn predict(&self, anew: &mut [f64], pnew: &mut [f64]) {
        let dnz = self.delta_nonzeros();
        let mut row = vec![0.0; self.rd()];
        self.apply_t(&self.a, anew, &dnz);
        self.next_cov(&self.phi_padded(), &self.p, pnew, &mut row, &dnz, None);
    }

    /// `φ` padded with zeros to the ARMA block size `r`.
    fn phi_padded(&self) -> Vec<f64> {
        let mut phi = vec![0.0; self.r];
        phi[..self.phi.len()].copy_from_slice(&self.phi);
        phi
    }

    /// The differencing weights' non-zero entries, by the state index they read.
    fn delta_nonzeros(&self) -> Vec<(usize, f64)> {
        self.delta
            .iter()
            .enumerate()
            .filter(|&(_, &d)| d != 0.0)
            .map(|(k, &d)| (self.r + k, d))
            .collect()
    }

    /// Run the filter over `y` from the current prior (`pn` for the first
    /// observation): `(Σ e²/F, Σ log F, n)` over the observations whose prediction
    /// variance `F` is below 1e4 (the diffuse start is left out), and the standardised
    /// innovations when `resid` is given. Afterwards `a`, `p` hold the filtered state
    /// at the end and `pn` the last prediction covariance.
    ///
    /// One pass over the covariance per observation: the next prediction covariance is
    /// `T P Tᵀ + R Rᵀ − (T m)(T m)ᵀ / F` straight from this one (`m = P z`), without
    /// forming the filtered covariance in between, and `T`'s rows are read as what they
    /// are (a companion block, the differencing weights, a shift), the weights by their
    /// non-zero entries.
    pub fn likelihood(&mut self, y: &[f64], resid: Option<&mut Vec<f64>>) -> (f64, f64, usize) {
        self.pass(y, resid, None)
    }

    /// [`Self::likelihood`] up to the point where the covariance is held, when it is:
    /// the rest of the pass, which updates the mean only, is left to
    /// [`finish_passes`], which runs several passes' rests side by side. `a` is the
    /// state where the pass stopped; `pn` and `p` are as after the whole pass.
    pub fn likelihood_deferred(&mut self, y: &[f64]) -> Deferred {
        let mut steady = None;
        let sums = self.pass(y, None, Some(&mut steady));
        let dnz = self.delta_nonzeros();
        Deferred {
            sums,
            rest: steady.map(|(from, m, gain): (usize, Vec<f64>, f64)| Rest {
                from,
                k: m.iter().map(|v| v / gain).collect(),
                gain,
                a: self.a.clone(),
                phi: self.phi.clone(),
                r: self.r,
                dnz,
            }),
        }
    }

    /// One filter pass; with `defer`, a held covariance ends it early with `(the index
    /// of the next observation, m, F)` in `defer`. On processors with AVX2 the pass is
    /// compiled four lanes wide (no fused multiply-add: the same bits either way).
    fn pass(&mut self, y: &[f64], resid: Option<&mut Vec<f64>>, defer: Defer) -> (f64, f64, usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2.
            return unsafe { self.pass_avx2(y, resid, defer) };
        }
        self.pass_any(y, resid, defer)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn pass_avx2(
        &mut self,
        y: &[f64],
        resid: Option<&mut Vec<f64>>,
        defer: Defer,
    ) -> (f64, f64, usize) {
        self.pass_any(y, resid, defer)
    }

    /// Large states (seasonal models) update the covariance in place
    /// ([`Self::likelihood_in_place`]). Small ones (every non-seasonal model: at most
    /// 8) get a copy of the structured pass with the sizes fixed, which the compiler
    /// unrolls: the state and, for up to two differences, the ARMA block and the
    /// differencing weights (`1 − B` or `(1 − B)²`, whose products by 1 and −1 then
    /// compile to nothing and a subtraction: the same bits).
    #[inline(always)]
    fn pass_any(
        &mut self,
        y: &[f64],
        resid: Option<&mut Vec<f64>>,
        defer: Defer,
    ) -> (f64, f64, usize) {
        if self.rd() > 8 {
            return self.likelihood_in_place(y, resid, defer);
        }
        macro_rules! go {
            ($rd:expr, $r:expr, $dnz:expr) => {
                self.likelihood_sized($rd, $r, $dnz, y, resid, defer)
            };
        }
        let dnz = self.delta_nonzeros();
        sized!(self.rd(), self.r, &dnz[..], go)
    }

    /// The filter of [`Self::likelihood_sized`] with the prediction covariance kept in
    /// one matrix updated in place, for large states.
    ///
    /// Stored with the ARMA block in reverse (ARMA state `i` at `r − 1 − i`, the
    /// differencing states after it as they are), the transition is a shift down by
    /// one plus two sparse terms: `T = S + c e_{r−1}ᵀ + e_r δᵀ`, with `c` the AR
    /// coefficients (reversed) and `δ` the differencing weights. The matrix is stored
    /// circularly, entry `(i, j)` at `((i + o) mod rd, (j + o) mod rd)`, so `S P Sᵀ`
    /// costs nothing: the offset `o` moves back by one and the row and column that
    /// wrap around are cleared. What is left of `T P Tᵀ + R Rᵀ − u uᵀ/F` is
    /// `c αᵀ + α cᵀ + e_r βᵀ + β e_rᵀ + v vᵀ − u uᵀ/F`, with `g = P e_{r−1}`,
    /// `h = P δ`, `α = S g + (g_{r−1}/2) c + (δ·g) e_r`, `β = S h + (δ·h / 2) e_r`,
    /// `v = (1, θ)` (reversed) and `u = T m`: rows and columns where `c` is not zero,
    /// and one dense rank-one update, where the structured pass reads one matrix and
    /// writes another with three operations an entry.
    #[inline(always)]
    fn likelihood_in_place(
        &mut self,
        y: &[f64],
        mut resid: Option<&mut Vec<f64>>,
        defer: Defer,
    ) -> (f64, f64, usize) {
        let (r, rd) = (self.r, self.rd());
        if y.is_empty() {
            return (0.0, 0.0, 0);
        }
        let dnz = self.delta_nonzeros();
        let perm = |i: usize| if i < r { r - 1 - i } else { i };
        let cnz: Vec<(usize, f64)> = (self.phi.iter().enumerate())
            .filter(|&(_, &p)| p != 0.0)
            .map(|(i, &p)| (r - 1 - i, p))
            .collect();
        let vnz: Vec<(usize, f64)> = std::iter::once((r - 1, 1.0))
            .chain(
                (self.theta.iter().enumerate())
                    .filter(|&(_, &t)| t != 0.0)
                    .map(|(k, &t)| (r - 2 - k, t)),
            )
            .collect();
        // The covariance, circularly stored with offset `o`.
        let mut cm = vec![0.0; rd * rd];
        let mut o = 0usize;
        for i in 0..rd {
            for j in 0..rd {
                cm[perm(i) * rd + perm(j)] = self.pn[i * rd + j];
            }
        }
        let to_standard = |cm: &[f64], o: usize| {
            let mut p = vec![0.0; rd * rd];
            for i in 0..rd {
                let row = (perm(i) + o) % rd * rd;
                for j in 0..rd {
                    p[i * rd + j] = cm[row + (perm(j) + o) % rd];
                }
            }
            p
        };
        let mut anew = vec![0.0; rd];
        let (mut gp, mut hp, mut mp, mut up) =
            (vec![0.0; rd], vec![0.0; rd], vec![0.0; rd], vec![0.0; rd]);
        let mut m = vec![0.0; rd];
        let mut snap = vec![0.0; rd * rd];
        let mut sums = (0.0, 0.0, 0usize);
        let after_gaps = y.iter().rposition(|v| v.is_nan()).map_or(0, |i| i + 1);
        let (mut gain, mut dm) = (0.0, 0.0);
        // Storage index of state `i < rd` at offset `o < rd` (no division).
        let at = |i: usize, o: usize| if i + o >= rd { i + o - rd } else { i + o };
        for (l, &yl) in y.iter().enumerate() {
            let ph = |i: usize| at(i, o);
            self.apply_t_sized(rd, r, &self.a, &mut anew, &dnz);
            let last = l + 1 == y.len();
            let observed = !yl.is_nan();
            // g = P e_{r−1} (a row, P being symmetric), h = P δ, m = P z = g + h.
            let row = |i: usize| &cm[ph(i) * rd..(ph(i) + 1) * rd];
            gp.copy_from_slice(row(r - 1));
            mp.copy_from_slice(&gp);
            hp.iter_mut().for_each(|v| *v = 0.0);
            for &(k, d) in &dnz {
                for ((mv, hv), c) in mp.iter_mut().zip(hp.iter_mut()).zip(row(k)) {
                    *mv += d * c;
                    *hv += d * c;
                }
            }
            if observed {
                dm = dnz.iter().map(|&(k, d)| d * mp[ph(k)]).sum::<f64>();
                gain = mp[ph(r - 1)] + dm;
                for (i, mi) in m.iter_mut().enumerate() {
                    *mi = mp[ph(perm(i))];
                }
                let e = yl - z_dot(&anew, &dnz);
                absorb(
                    &mut self.a,
                    &anew,
                    &m,
                    e,
                    gain,
                    &mut sums,
                    resid.as_deref_mut(),
                );
            } else {
                self.a.copy_from_slice(&anew);
                if let Some(rs) = resid.as_deref_mut() {
                    rs.push(f64::NAN);
                }
            }
            if last {
                let p = to_standard(&cm, o);
                self.finish(&p, observed.then_some((&m[..], gain)));
                self.pn = p;
                break;
            }
            let check = observed && l >= after_gaps && l % 8 == 7;
            if check {
                snap.copy_from_slice(&cm);
            }
            let s = gp[ph(r - 1)];
            let w: f64 = dnz.iter().map(|&(k, d)| d * gp[ph(k)]).sum();
            let t: f64 = dnz.iter().map(|&(k, d)| d * hp[ph(k)]).sum();
            let m_last = mp[ph(r - 1)];
            // The shift: the offset moves back by one; the row and column that wrap
            // around (the dropped last state) become the new first one, zero.
            o = if o == 0 { rd - 1 } else { o - 1 };
            let ph = |i: usize| at(i, o);
            let z0 = o;
            cm[z0 * rd..(z0 + 1) * rd].iter_mut().for_each(|v| *v = 0.0);
            for i in 0..rd {
                cm[i * rd + z0] = 0.0;
            }
            // α = S g + (s/2) c + w e_r and β = S h + (t/2) e_r, in storage order (the
            // shift is the offset's); u = S m + m_{r−1} c + (δ·m) e_r.
            gp[z0] = 0.0;
            hp[z0] = 0.0;
            for &(j, cj) in &cnz {
                gp[ph(j)] += 0.5 * s * cj;
            }
            // (Without differencing states there is no row r: w, t, h and δ·m are 0.)
            let pr = (rd > r).then(|| ph(r));
            if let Some(pr) = pr {
                gp[pr] += w;
                hp[pr] += 0.5 * t;
            }
            for &(j, cj) in &cnz {
                let pj = ph(j);
                for (x, a) in cm[pj * rd..(pj + 1) * rd].iter_mut().zip(&gp) {
                    *x += cj * a;
                }
                for (i, a) in gp.iter().enumerate() {
                    cm[i * rd + pj] += cj * a;
                }
            }
            if let Some(pr) = pr {
                for (x, b) in cm[pr * rd..(pr + 1) * rd].iter_mut().zip(&hp) {
                    *x += b;
                }
                for (i, b) in hp.iter().enumerate() {
                    cm[i * rd + pr] += b;
                }
            }
            for &(a, va) in &vnz {
                for &(b, vb) in &vnz {
                    cm[ph(a) * rd + ph(b)] += va * vb;
                }
            }
            if observed {
                up.copy_from_slice(&mp);
                up[z0] = 0.0;
                for &(j, cj) in &cnz {
                    up[ph(j)] += m_last * cj;
                }
                if let Some(pr) = pr {
                    up[pr] += dm;
                }
                for (i, ui) in up.iter().enumerate() {
                    let f = ui / gain;
                    for (x, uj) in cm[i * rd..(i + 1) * rd].iter_mut().zip(&up) {
                        *x -= f * uj;
                    }
                }
            }
            // Held once it stops changing, as in the structured pass: entry (i, j) is
            // now one row and one column back from where it was.
            let steady = check && {
                // (Four running maxima, so the loop runs four lanes wide.)
                let (mut change, mut size) = ([0.0f64; 4], [0.0f64; 4]);
                for i in 0..rd {
                    let (old, new) = (&snap[(i + 1) % rd * rd..][..rd], &cm[i * rd..][..rd]);
                    max_change(&old[1..], &new[..rd - 1], &mut change, &mut size);
                    max_change(&old[..1], &new[rd - 1..], &mut change, &mut size);
                }
                let top = |v: [f64; 4]| {
                    v.into_iter()
                        .fold(0.0, |m: f64, x| if x > m { x } else { m })
                };
                top(change) <= 1e-12 * top(size)
            };
            if steady {
                let held = (l + 1, &m[..], gain);
                sums = self.steady_tail(rd, r, y, held, &dnz, sums, resid, defer);
                let p = to_standard(&cm, o);
                self.finish(&p, Some((&m[..], gain)));
                self.pn = p;
                break;
            }
        }
        sums
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn likelihood_sized(
        &mut self,
        rd: usize,
        r: usize,
        dnz: &[(usize, f64)],
        y: &[f64],
        mut resid: Option<&mut Vec<f64>>,
        defer: Defer,
    ) -> (f64, f64, usize) {
        // The observation reads the ARMA level and the differencing states
        // (`dnz`: the differencing weights' non-zero entries, by state index).
        let zdot = |x: &[f64]| z_dot(x, dnz);
        // (Every buffer is sliced to its size, so with the sizes fixed the loops over
        // them have known trip counts.)
        let (mut anew, mut m, mut u) = (vec![0.0; rd], vec![0.0; rd], vec![0.0; rd]);
        let (anew, m, u) = (&mut anew[..rd], &mut m[..rd], &mut u[..rd]);
        let mut cur = std::mem::take(&mut self.pn);
        let mut next = vec![0.0; rd * rd];
        let mut row = vec![0.0; rd];
        let phi_pad = self.phi_padded();
        let rr = self.noise_block(r);
        let mut sums = (0.0, 0.0, 0usize);
        // Once the prediction covariance stops changing (to 1e-12 of its largest entry)
        // and no missing value lies ahead, it stays: the rest of the pass updates the
        // mean only ([`Self::steady_tail`]).
        let after_gaps = y.iter().rposition(|v| v.is_nan()).map_or(0, |i| i + 1);
        let mut gain = 0.0;
        for (l, &yl) in y.iter().enumerate() {
            self.apply_t_sized(rd, r, &self.a, anew, dnz);
            let last = l + 1 == y.len();
            let observed = !yl.is_nan();
            if observed {
                // m = P z, by rows (P is symmetric).
                m.copy_from_slice(&cur[..rd]);
                for &(k, d) in dnz {
                    for (mi, c) in m.iter_mut().zip(&cur[k * rd..(k + 1) * rd]) {
                        *mi += d * c;
                    }
                }
                gain = zdot(m);
                let e = yl - zdot(anew);
                absorb(
                    &mut self.a[..rd],
                    anew,
                    m,
                    e,
                    gain,
                    &mut sums,
                    resid.as_deref_mut(),
                );
            } else {
                self.a.copy_from_slice(anew);
                if let Some(rs) = resid.as_deref_mut() {
                    rs.push(f64::NAN);
                }
            }
            if last {
                self.finish(&cur, observed.then_some((&m[..], gain)));
                break;
            }
            if observed {
                self.apply_t_sized(rd, r, m, u, dnz);
            }
            self.next_cov_sized(
                rd,
                r,
                &phi_pad,
                &cur,
                &mut next,
                &mut row,
                dnz,
                observed.then_some((&u[..], gain)),
                (rr.0, &rr.1),
            );
            let steady = observed && l >= after_gaps && l % 8 == 7 && {
                let (mut change, mut size) = (0.0f64, 0.0f64);
                for (a, b) in cur[..rd * rd].iter().zip(&next[..rd * rd]) {
                    let d = (a - b).abs();
                    change = if d > change { d } else { change };
                    size = if b.abs() > size { b.abs() } else { size };
                }
                change <= 1e-12 * size
            };
            std::mem::swap(&mut cur, &mut next);
            if steady {
                // The rest of the pass updates the mean only, with this step's gain.
                let held = (l + 1, &m[..], gain);
                sums = self.steady_tail(rd, r, y, held, dnz, sums, resid, defer);
                self.finish(&cur, Some((&m[..], gain)));
                break;
            }
        }
        self.pn = cur;
        sums
    }

    /// The filtered covariance at the end of a pass: the prediction covariance `cur`,
    /// less `m mᵀ / F` when the last value was observed (`update = Some((m, F))`).
    fn finish(&mut self, cur: &[f64], update: Option<(&[f64], f64)>) {
        let rd = self.rd();
        self.p.copy_from_slice(cur);
        if let Some((m, gain)) = update {
            for i in 0..rd {
                let f = m[i] / gain;
                for (pv, mj) in self.p[i * rd..(i + 1) * rd].iter_mut().zip(m) {
                    *pv -= f * mj;
                }
            }
        }
    }

    /// The filter's mean updates over `y[from..]` (no missing values) once the
    /// covariance is held (`held = (from, m, F)`: `m = P z` and `F` are fixed;
    /// [`tail_steps`] for one pass), continuing the sums `(Σ e²/F, Σ log F, n)`. With
    /// `defer`, they are left to [`finish_passes`]: `held` goes into it instead.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn steady_tail(
        &mut self,
        rd: usize,
        r: usize,
        y: &[f64],
        (from, m, gain): (usize, &[f64], f64),
        dnz: &[(usize, f64)],
        sums: (f64, f64, usize),
        resid: Option<&mut Vec<f64>>,
        defer: Defer,
    ) -> (f64, f64, usize) {
        if let Some(slot) = defer {
            *slot = Some((from, m.to_vec(), gain));
            return sums;
        }
        let y = &y[from..];
        let k: Vec<f64> = m[..rd].iter().map(|v| v / gain).collect();
        let (phi, a) = (&self.phi, &mut self.a[..rd]);
        tail_one(rd, r, dnz, phi, &k, gain, a, y, sums, resid)
    }

    /// `out = T x` for a state vector `x` (`dnz`: the differencing weights' non-zero
    /// entries, by state index).
    fn apply_t(&self, x: &[f64], out: &mut [f64], dnz: &[(usize, f64)]) {
        self.apply_t_sized(self.rd(), self.r, x, out, dnz);
    }

    /// [`Self::apply_t`] for a state of `rd` entries.
    #[inline(always)]
    fn apply_t_sized(&self, rd: usize, r: usize, x: &[f64], out: &mut [f64], dnz: &[(usize, f64)]) {
        let (x, out) = (&x[..rd], &mut out[..rd]);
        for i in 0..r {
            let mut v = if i + 1 < r { x[i + 1] } else { 0.0 };
            if let Some(ph) = self.phi.get(i) {
                v += ph * x[0];
            }
            out[i] = v;
        }
        if rd > r {
            let mut v = x[0];
            for &(k, d) in dnz {
                v += d * x[k];
            }
            out[r] = v;
            out[r + 1..rd].copy_from_slice(&x[r..rd - 1]);
        }
    }

    /// `next = T cur Tᵀ + R Rᵀ`, less `u uᵀ / F` for `update = Some((u, F))`; `row` is
    /// scratch for one row of `T cur`. (For the forecasts' steps; the filter's passes
    /// have their own sized copies.)
    fn next_cov(
        &self,
        phi: &[f64],
        cur: &[f64],
        next: &mut [f64],
        row: &mut [f64],
        dnz: &[(usize, f64)],
        update: Option<(&[f64], f64)>,
    ) {
        let (nq, rr) = self.noise_block(self.r);
        let (rd, r) = (self.rd(), self.r);
        self.next_cov_sized(rd, r, phi, cur, next, row, dnz, update, (nq, &rr));
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn next_cov_sized(
        &self,
        rd: usize,
        r: usize,
        phi: &[f64],
        cur: &[f64],
        next: &mut [f64],
        row: &mut [f64],
        dnz: &[(usize, f64)],
        update: Option<(&[f64], f64)>,
        (nq, rr): (usize, &[f64]),
    ) {
        let (cur, next, row) = (&cur[..rd * rd], &mut next[..rd * rd], &mut row[..rd]);
        let cur_row = |i: usize| &cur[i * rd..(i + 1) * rd];
        // φ padded to r, and u (zero without an update), so each entry below is one
        // expression in one pass over the row.
        let phi = &phi[..r];
        let zeros;
        let (u, gain) = match update {
            Some(ug) => ug,
            None => {
                zeros = vec![0.0; rd];
                (&zeros[..], 1.0)
            }
        };
        let u = &u[..rd];
        for i in 0..rd {
            // Row i of T cur.
            let src: &[f64] = if i < r {
                let ph = phi[i];
                if ph == 0.0 {
                    if i + 1 < r {
                        cur_row(i + 1)
                    } else {
                        row.iter_mut().for_each(|v| *v = 0.0);
                        row
                    }
                } else {
                    if i + 1 < r {
                        for ((o, a), b) in row.iter_mut().zip(cur_row(0)).zip(cur_row(i + 1)) {
                            *o = ph * a + b;
                        }
                    } else {
                        for (o, a) in row.iter_mut().zip(cur_row(0)) {
                            *o = ph * a;
                        }
                    }
                    row
                }
            } else if i == r {
                row.copy_from_slice(cur_row(0));
                for &(k, d) in dnz {
                    for (o, c) in row.iter_mut().zip(cur_row(k)) {
                        *o += d * c;
                    }
                }
                row
            } else {
                cur_row(i - 1)
            };
            // Times Tᵀ (entry j is row j of T applied to `src`), less the update.
            let dst = &mut next[i * rd..(i + 1) * rd];
            let s0 = src[0];
            let f = u[i] / gain;
            for (((d, s), ph), uj) in dst[..r - 1]
                .iter_mut()
                .zip(&src[1..r])
                .zip(&phi[..r - 1])
                .zip(u)
            {
                *d = (s + ph * s0) - f * uj;
            }
            dst[r - 1] = phi[r - 1] * s0 - f * u[r - 1];
            if rd > r {
                dst[r] = (s0 + dnz.iter().map(|&(k, d)| d * src[k]).sum::<f64>()) - f * u[r];
                for ((d, s), uj) in dst[r + 1..]
                    .iter_mut()
                    .zip(&src[r..rd - 1])
                    .zip(&u[r + 1..])
                {
                    *d = s - f * uj;
                }
            }
        }
        // Plus R Rᵀ, its block of products computed once ([`Self::noise_block`]).
        for (i, rr_row) in rr.chunks_exact(nq).enumerate() {
            for (v, p) in next[i * rd..i * rd + nq].iter_mut().zip(rr_row) {
                *v += p;
            }
        }
    }

    /// The non-zero block of `R Rᵀ` (`R = (1, θ₁, …, θ_q)ᵀ`, cut to the ARMA block of
    /// `r` states): its size `q + 1` and its `(q + 1)²` products, row-major.
    fn noise_block(&self, r: usize) -> (usize, Vec<f64>) {
        let nq = self.theta.len().min(r - 1) + 1;
        let vk = |k: usize| if k == 0 { 1.0 } else { self.theta[k - 1] };
        (
            nq,
            (0..nq * nq).map(|ij| vk(ij / nq) * vk(ij % nq)).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded stream of uniform values in [−0.5, 0.5) (a linear congruential
    /// generator).
    fn uniform_noise(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        }
    }

    #[test]
    fn kpss_table_and_differencing() {
        assert_eq!(kpss_pvalue(0.2), 0.10);
        assert_eq!(kpss_pvalue(0.9), 0.01);
        assert!((kpss_pvalue(0.463) - 0.05).abs() < 1e-15);
        assert!((kpss_pvalue(0.5185) - 0.0375).abs() < 1e-12);
        // A random walk needs one difference; white noise none; a quadratic trend two.
        let mut noise = uniform_noise(7);
        let white: Vec<f64> = (0..300).map(|_| noise()).collect();
        let mut walk = vec![0.0];
        for _ in 1..300 {
            let v = walk[walk.len() - 1] + noise();
            walk.push(v);
        }
        assert_eq!(ndiffs(&white, 2), 0);
        assert_eq!(ndiffs(&walk, 2), 1);
        let quad: Vec<f64> = (0..300).map(|t| (t * t) as f64 / 50.0 + noise()).collect();
        assert_eq!(ndiffs(&quad, 2), 2);
        assert_eq!(ndiffs(&[3.0; 20], 2), 0);
    }

    #[test]
    fn seasonal_strength_tells_a_season_from_noise() {
        let mut noise = uniform_noise(3);
        let seasonal: Vec<f64> = (0..96)
            .map(|t| 10.0 * ((t % 12) as f64 - 5.5).abs() + noise())
            .collect();
        let flat: Vec<f64> = (0..96).map(|_| noise()).collect();
        assert!(seasonal_strength(&seasonal, 12) > 0.9);
        assert!(seasonal_strength(&flat, 12) < 0.64);
        assert_eq!(nsdiffs(&seasonal, 12), 1);
        assert_eq!(nsdiffs(&flat, 12), 0);
    }

    #[test]
    fn polynomials_and_transforms() {
        // (1 − 0.5B)(1 − 0.3B⁴) = 1 − 0.5B − 0.3B⁴ + 0.15B⁵.
        let o = Order {
            p: 1,
            d: 0,
            q: 1,
            sp: 1,
            sd: 0,
            sq: 1,
            m: 4,
        };
        let (phi, theta) = expand(&[0.5, 0.2, 0.3, 0.4], &o);
        assert_eq!(phi, vec![0.5, 0.0, 0.0, 0.3, -0.15]);
        // (1 + 0.2B)(1 + 0.4B⁴) = 1 + 0.2B + 0.4B⁴ + 0.08B⁵.
        assert!((theta[4] - 0.08).abs() < 1e-15 && theta[3] == 0.4 && theta[0] == 0.2);
        let raw = [0.3, -1.2, 0.7];
        let back = invpartrans(&partrans(&raw));
        for (a, b) in raw.iter().zip(&back) {
            assert!((a - b).abs() < 1e-12);
        }
        assert_eq!(delta(1, 0, 1), vec![1.0]);
        assert_eq!(delta(2, 0, 1), vec![2.0, -1.0]);
        assert_eq!(delta(1, 1, 4), vec![1.0, 0.0, 0.0, 1.0, -1.0]);
    }

    /// (4,0,0)(2,0,0)₂₄ expanded, with AR 1.022, −0.4156, 0.0914, 0.0303 and seasonal
    /// AR −0.75, −0.6038: stationary, its smallest root at 1.0106.
    fn near_bound() -> (Vec<f64>, Vec<f64>) {
        let o = Order {
            p: 4,
            d: 0,
            q: 0,
            sp: 2,
            sd: 0,
            sq: 0,
            m: 24,
        };
        expand(&[1.022, -0.4156, 0.0914, 0.0303, -0.75, -0.6038], &o)
    }

    /// ARMA models whose stationary covariance the tests check: small ones, a pure MA,
    /// white noise, two seasonal hourly ones and [`near_bound`].
    fn covariance_cases() -> Vec<(Vec<f64>, Vec<f64>)> {
        [
            (vec![0.5, -0.3], vec![0.4]),
            (vec![0.9], vec![0.2, 0.1, -0.3]),
            (vec![], vec![0.6, 0.2]),
            (vec![0.2, 0.1, 0.05, 0.3], vec![]),
            (vec![0.99], vec![-0.5]),
            (vec![], vec![]),
        ]
        .into_iter()
        .chain([
            // Seasonal hourly models, expanded: (2,0,1)(1,0,1)₂₄ and (1,0,2)(2,0,0)₂₄.
            {
                let o = Order {
                    p: 2,
                    d: 0,
                    q: 1,
                    sp: 1,
                    sd: 0,
                    sq: 1,
                    m: 24,
                };
                expand(&[0.5, -0.2, 0.3, 0.7, -0.4], &o)
            },
            {
                let o = Order {
                    p: 1,
                    d: 0,
                    q: 2,
                    sp: 2,
                    sd: 0,
                    sq: 0,
                    m: 24,
                };
                expand(&[-0.6, 0.2, 0.1, 0.5, 0.3], &o)
            },
            near_bound(),
        ])
        .collect()
    }

    #[test]
    fn stationary_covariance_solves_its_equation() {
        for (phi, theta) in covariance_cases() {
            let q = q0(&phi, &theta);
            let r = phi.len().max(theta.len() + 1);
            let t = |i: usize, k: usize| {
                if k == 0 && i < phi.len() {
                    phi[i]
                } else if k == i + 1 {
                    1.0
                } else {
                    0.0
                }
            };
            let v = |k: usize| {
                if k == 0 {
                    1.0
                } else if k <= theta.len() {
                    theta[k - 1]
                } else {
                    0.0
                }
            };
            for i in 0..r {
                for j in 0..r {
                    let mut tqt = 0.0;
                    for k in 0..r {
                        for l in 0..r {
                            tqt += t(i, k) * q[k * r + l] * t(j, l);
                        }
                    }
                    assert!(
                        (q[i * r + j] - tqt - v(i) * v(j)).abs() < 1e-10 * q[0].max(1.0),
                        "{phi:?} {theta:?}"
                    );
                    assert_eq!(q[i * r + j], q[j * r + i]);
                }
            }
        }
        // AR(1): σ²/(1 − φ²).
        assert!((q0(&[0.6], &[])[0] - 1.0 / 0.64).abs() < 1e-15);
        // Near the stationarity bound: its smallest root at 1.0106, where StatsForecast's
        // fit of M4 H397's (4,0,0)(2,1,0)₂₄ starts. Q₀₀ from scipy's Lyapunov solver
        // (bench/arima_prior.py); StatsForecast's getQ0 gives 4.486 and an indefinite
        // matrix here (and at H397's start a NaN likelihood): see the next test.
        let (phi, theta) = near_bound();
        let q = q0(&phi, &theta);
        assert!((q[0] - 5.268436737536857).abs() < 1e-9, "{}", q[0]);
    }

    /// Gardner, Harvey and Phillips's stationary covariance (1980, algorithm AS 154),
    /// the method R's `arima` and StatsForecast use: the `r(r+1)/2` equations
    /// `Q − T Q Tᵀ = R Rᵀ`, one per entry `(j, i)`, `j ≤ i`, in that order, solved by
    /// square-root-free Givens rotations (Gentleman, 1973) one equation at a time, then
    /// back substitution, the unknowns ordered with `Q_ab` (`1 ≤ a ≤ b`) first and the
    /// first row last. `carry_weight`: update the weight of the row being rotated in,
    /// as the published algorithm does; StatsForecast's `getQ0` does not. (Pure MA and
    /// single-state models have closed forms, which both use.)
    fn as154(phi: &[f64], theta: &[f64], carry_weight: bool) -> Vec<f64> {
        let p = phi.len();
        let r = p.max(theta.len() + 1);
        if p == 0 || r == 1 {
            return q0(phi, theta);
        }
        let np = r * (r + 1) / 2;
        let rest = np - r;
        let s = r - 1;
        // Column of the unknown Q_ab, a ≤ b.
        let col = |a: usize, b: usize| {
            if a == 0 {
                rest + b
            } else {
                let (j, i) = (a - 1, b - 1);
                j * s - j * j.saturating_sub(1) / 2 + (i - j)
            }
        };
        let ph = |k: usize| if k < p { phi[k] } else { 0.0 };
        let v = |k: usize| match k {
            0 => 1.0,
            _ if k <= theta.len() => theta[k - 1],
            _ => 0.0,
        };
        // The factor: diagonal `d`, the unit upper triangle's off-diagonal entries row
        // by row in `rbar` (row k from `start[k]`), the rotated right-hand side `tb`.
        let mut start = vec![0usize; np + 1];
        for k in 0..np {
            start[k + 1] = start[k] + (np - 1 - k);
        }
        let mut rbar = vec![0.0; start[np]];
        let mut d = vec![0.0; np];
        let mut tb = vec![0.0; np];
        let mut x = vec![0.0; np];
        for j in 0..r {
            for i in j..r {
                x.iter_mut().for_each(|e| *e = 0.0);
                x[col(j, i)] += 1.0;
                x[col(0, 0)] -= ph(i) * ph(j);
                if j + 1 < r {
                    x[col(0, j + 1)] -= ph(i);
                }
                if i + 1 < r {
                    x[col(0, i + 1)] -= ph(j);
                    x[col(j + 1, i + 1)] -= 1.0;
                }
                let mut y = v(i) * v(j);
                let mut w = 1.0;
                for k in 0..np {
                    let xk = x[k];
                    if xk == 0.0 {
                        continue;
                    }
                    let dk = d[k];
                    let dnew = dk + w * xk * xk;
                    d[k] = dnew;
                    let c = dk / dnew;
                    let sn = w * xk / dnew;
                    if carry_weight {
                        w *= c;
                    }
                    let row = &mut rbar[start[k]..start[k + 1]];
                    for (xl, rl) in x[k + 1..].iter_mut().zip(row.iter_mut()) {
                        let old = *xl;
                        *xl = old - xk * *rl;
                        *rl = c * *rl + sn * old;
                    }
                    let old = y;
                    y = old - xk * tb[k];
                    tb[k] = c * tb[k] + sn * old;
                    if dk == 0.0 {
                        break;
                    }
                }
            }
        }
        let mut sol = vec![0.0; np];
        for k in (0..np).rev() {
            let mut acc = tb[k];
            for (a, b) in rbar[start[k]..start[k + 1]].iter().zip(&sol[k + 1..]).rev() {
                acc -= a * b;
            }
            sol[k] = acc;
        }
        let mut out = vec![0.0; r * r];
        for a in 0..r {
            for b in a..r {
                out[a * r + b] = sol[col(a, b)];
                out[b * r + a] = sol[col(a, b)];
            }
        }
        out
    }

    /// The largest `Q_ij² − Q_ii Q_jj` of a row-major `r × r` matrix: positive when a
    /// 2 × 2 principal minor is negative, so the matrix is not a covariance.
    fn worst_minor(q: &[f64], r: usize) -> f64 {
        let mut worst = f64::NEG_INFINITY;
        for i in 0..r {
            for j in i + 1..r {
                worst = worst.max(q[i * r + j].powi(2) - q[i * r + i] * q[j * r + j]);
            }
        }
        worst
    }

    /// lithe's prior against Gardner et al.'s method as published (an independent
    /// computation), and where StatsForecast's prior goes wrong: its `getQ0` leaves out
    /// the weight update of the rotations, which is harmless in exact arithmetic (every
    /// row operation still combines true equations) but makes the elimination unstable,
    /// so with 52 states the errors are of order one.
    #[test]
    fn prior_matches_gardners_method_as_published_and_statsforecasts_bug_is_the_weight() {
        for (phi, theta) in covariance_cases() {
            let exact = q0(&phi, &theta);
            let scale = exact[0].max(1.0);
            let published = as154(&phi, &theta, true);
            let worst = exact
                .iter()
                .zip(&published)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-9 * scale, "{phi:?} {theta:?}: {worst}");
            // On small models the missing weight does not show.
            if phi.len().max(theta.len() + 1) <= 5 {
                let weightless = as154(&phi, &theta, false);
                assert!(
                    exact
                        .iter()
                        .zip(&weightless)
                        .all(|(a, b)| (a - b).abs() < 1e-12 * scale)
                );
            }
        }
        // Near the bound, 52 states: StatsForecast 2.1.1's getQ0 (bench/arima_prior.py)
        // gives Q₀₀ 4.485667568458259 against the exact 5.2684, Q[5][17]
        // −1.430023066222941e-06, Q[51][51] 0.008961953740315387, entries summing to
        // 63.719139461725774, and a smallest eigenvalue of −1.98. Without the weight
        // update the same elimination gives those numbers bit for bit.
        let (phi, theta) = near_bound();
        let r = phi.len();
        let weightless = as154(&phi, &theta, false);
        assert_eq!(weightless[0], 4.485667568458259);
        assert_eq!(weightless[5 * r + 17], -1.430023066222941e-06);
        assert_eq!(weightless[51 * r + 51], 0.008961953740315387);
        assert!((weightless.iter().sum::<f64>() - 63.719139461725774).abs() < 1e-10);
        // Not a covariance: Q₂₇,₅₀² exceeds Q₂₇,₂₇ Q₅₀,₅₀ by 0.0114.
        assert!(worst_minor(&weightless, r) > 0.01);
        assert!(worst_minor(&as154(&phi, &theta, true), r) < 1e-12);
        assert!(worst_minor(&q0(&phi, &theta), r) < 1e-12);
    }

    /// The filter written out with dense matrices: `T`, `z`, `R`, no structure used.
    fn dense_filter(ss: &StateSpace, y: &[f64]) -> (f64, f64, usize, Vec<f64>, Vec<f64>) {
        let (r, rd) = (ss.r, ss.a.len());
        let mut t = vec![0.0; rd * rd];
        for i in 0..r {
            if i < ss.phi.len() {
                t[i * rd] = ss.phi[i];
            }
            if i + 1 < r {
                t[i * rd + i + 1] = 1.0;
            }
        }
        if rd > r {
            t[r * rd] = 1.0;
            for (k, d) in ss.delta.iter().enumerate() {
                t[r * rd + r + k] = *d;
            }
            for i in r + 1..rd {
                t[i * rd + i - 1] = 1.0;
            }
        }
        let mut z = vec![0.0; rd];
        z[0] = 1.0;
        z[r..].copy_from_slice(&ss.delta);
        let mut rv = vec![0.0; rd];
        rv[0] = 1.0;
        rv[1..=ss.theta.len()].copy_from_slice(&ss.theta);
        let mul = |a: &[f64], b: &[f64]| {
            let mut o = vec![0.0; rd * rd];
            for i in 0..rd {
                for k in 0..rd {
                    for j in 0..rd {
                        o[i * rd + j] += a[i * rd + k] * b[k * rd + j];
                    }
                }
            }
            o
        };
        let mut tt = vec![0.0; rd * rd];
        for i in 0..rd {
            for j in 0..rd {
                tt[j * rd + i] = t[i * rd + j];
            }
        }
        let (mut a, mut p, mut pn) = (vec![0.0; rd], vec![0.0; rd * rd], ss.pn.clone());
        let (mut ssq, mut sumlog, mut nu) = (0.0, 0.0, 0);
        for (l, &yl) in y.iter().enumerate() {
            let an: Vec<f64> = (0..rd)
                .map(|i| (0..rd).map(|k| t[i * rd + k] * a[k]).sum())
                .collect();
            if l > 0 {
                pn = mul(&mul(&t, &p), &tt);
                for i in 0..rd {
                    for j in 0..rd {
                        pn[i * rd + j] += rv[i] * rv[j];
                    }
                }
            }
            if yl.is_nan() {
                a = an;
                p = pn.clone();
                continue;
            }
            let m: Vec<f64> = (0..rd)
                .map(|i| (0..rd).map(|k| pn[i * rd + k] * z[k]).sum())
                .collect();
            let f: f64 = (0..rd).map(|i| z[i] * m[i]).sum();
            let e = yl - (0..rd).map(|i| z[i] * an[i]).sum::<f64>();
            if f < 1e4 {
                nu += 1;
                ssq += e * e / f;
                sumlog += f.ln();
            }
            a = (0..rd).map(|i| an[i] + m[i] * e / f).collect();
            p = (0..rd * rd)
                .map(|k| pn[k] - m[k / rd] * m[k % rd] / f)
                .collect();
        }
        (ssq, sumlog, nu, a, p)
    }

    #[test]
    fn structured_filter_matches_the_dense_one() {
        let mut noise = uniform_noise(5);
        let mut y: Vec<f64> = Vec::new();
        let mut level = 10.0;
        for t in 0..300 {
            level += noise();
            y.push(level + 3.0 * ((t % 4) as f64) + noise());
        }
        // Gaps early on (the filter must predict through them); and none at all.
        for gaps in [vec![7, 8, 40, 41, 42, 150], vec![]] {
            let mut yg = y.clone();
            for &g in &gaps {
                yg[g] = f64::NAN;
            }
            for (o, par) in [
                (
                    Order {
                        p: 1,
                        d: 1,
                        q: 1,
                        sp: 1,
                        sd: 1,
                        sq: 0,
                        m: 4,
                    },
                    vec![0.4, -0.3, 0.5],
                ),
                (
                    Order {
                        p: 2,
                        d: 0,
                        q: 0,
                        sp: 0,
                        sd: 1,
                        sq: 1,
                        m: 4,
                    },
                    vec![0.3, 0.2, -0.6],
                ),
                (
                    Order {
                        p: 0,
                        d: 2,
                        q: 2,
                        sp: 0,
                        sd: 0,
                        sq: 0,
                        m: 1,
                    },
                    vec![-0.5, 0.1],
                ),
            ] {
                let (phi, theta) = expand(&par, &o);
                let dl = delta(o.d, o.sd, o.m);
                let mut ss = StateSpace::new(&phi, &theta, &dl);
                let (w_ssq, w_sumlog, w_nu, w_a, w_p) = dense_filter(&ss, &yg);
                let (ssq, sumlog, nu) = ss.likelihood(&yg, None);
                // (The diffuse start's 1e6 variances leave rounding of up to about 1e-7.)
                let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * a.abs().max(1.0);
                assert_eq!(nu, w_nu, "{o:?}");
                assert!(
                    close(ssq, w_ssq) && close(sumlog, w_sumlog),
                    "{o:?}: {ssq} {w_ssq} {sumlog} {w_sumlog}"
                );
                // (The diffuse start's 1e6 variances leave rounding of about 1e-8
                // in the state.)
                assert!(
                    ss.a.iter()
                        .zip(&w_a)
                        .all(|(a, b)| (a - b).abs() <= 1e-6 * a.abs().max(1.0)),
                    "{o:?}: state {:?} {w_a:?}",
                    ss.a
                );
                assert!(
                    ss.p.iter().zip(&w_p).all(|(a, b)| (a - b).abs() < 1e-6),
                    "{o:?}: covariance"
                );
            }
        }
    }

    #[test]
    fn lanes_give_the_bits_of_one_pass_at_a_time() {
        // A trending series with a weekly-like wiggle, and a seasonal one (m = 24).
        let mut noise = uniform_noise(5);
        let mut level = 50.0;
        let y: Vec<f64> = (0..600)
            .map(|t| {
                level += 0.1 + noise();
                level + 3.0 * ((t % 24) as f64 - 11.5).abs() + noise()
            })
            .collect();
        let order = |p, d, q, sp, sd, sq, m| Order {
            p,
            d,
            q,
            sp,
            sd,
            sq,
            m,
        };
        // Four nearby parameter sets per order, as a numerical gradient's points.
        let cases = [
            (order(2, 1, 2, 0, 0, 0, 1), vec![0.5, -0.2, -0.4, 0.1]),
            (order(1, 0, 3, 0, 0, 0, 1), vec![0.9, -0.3, 0.2, 0.1]),
            (order(3, 2, 1, 0, 0, 0, 1), vec![0.2, 0.1, -0.1, -0.7]),
            (order(1, 1, 1, 1, 1, 0, 24), vec![0.3, -0.5, -0.3]),
        ];
        for (o, base) in cases {
            let points: Vec<Vec<f64>> = (0..LANES)
                .map(|k| {
                    let mut x = base.clone();
                    x[k % base.len()] += 1e-3 * (k + 1) as f64;
                    x
                })
                .collect();
            let coefs: [(Vec<f64>, Vec<f64>); LANES] =
                std::array::from_fn(|k| expand(&points[k], &o));
            // The conditional sum of squares: lanes against one at a time.
            let (phi4, theta4) = coefficient_lanes(&coefs);
            let mut w4: Vec<[f64; LANES]> = y.iter().map(|&v| [v; LANES]).collect();
            let got = css_lanes(&mut w4, &o, &phi4, &theta4, &mut Vec::new());
            for (k, (phi, theta)) in coefs.iter().enumerate() {
                let want = css_in_place(&mut y.clone(), &o, phi, theta, &mut Vec::new());
                assert_eq!(got[k].to_bits(), want.to_bits(), "{o:?} lane {k}");
            }
            // The likelihood: deferred passes finished side by side against whole
            // passes, each pass's prior following from the one before (StatsForecast's
            // way), so the passes stop at different steps.
            let dlt = delta(o.d, o.sd, o.m);
            let mut whole = StateSpace::new(&coefs[0].0, &coefs[0].1, &dlt);
            let mut split = whole.clone();
            let (mut want, mut passes) = (Vec::new(), Vec::new());
            for (phi, theta) in &coefs {
                for ss in [&mut whole, &mut split] {
                    let r = ss.r;
                    let q = q0(phi, theta);
                    let rd = ss.a.len();
                    for i in 0..r {
                        ss.pn[i * rd..i * rd + r].copy_from_slice(&q[i * r..(i + 1) * r]);
                    }
                    ss.phi = phi.clone();
                    ss.theta = theta.clone();
                    ss.a.iter_mut().for_each(|v| *v = 0.0);
                }
                want.push(whole.likelihood(&y, None));
                passes.push(split.likelihood_deferred(&y));
                assert_eq!(split.pn, whole.pn, "{o:?}");
            }
            assert!(
                passes.iter().all(|p| p.rest.is_some()),
                "{o:?}: the covariance is held"
            );
            let ys = vec![&y[..]; LANES];
            for (k, (got, want)) in finish_passes(passes, &ys).iter().zip(&want).enumerate() {
                assert_eq!(got.0.to_bits(), want.0.to_bits(), "{o:?} lane {k}");
                assert_eq!(got.1.to_bits(), want.1.to_bits(), "{o:?} lane {k}");
                assert_eq!(got.2, want.2);
            }
        }
    }

    #[test]
    fn in_place_filter_matches_the_structured_pass() {
        // Hourly-sized seasonal models (states of 27 to 75), with gaps and without,
        // through the in-place pass and the structured one: the same sums, innovations,
        // final state, filtered and prediction covariances, to rounding.
        let mut noise = uniform_noise(11);
        let mut y: Vec<f64> = Vec::new();
        let mut level = 100.0;
        for t in 0..400 {
            level += noise();
            y.push(level + 8.0 * ((t % 24) as f64 - 11.5).abs() + 2.0 * noise());
        }
        let order = |p, d, q, sp, sd, sq| Order {
            p,
            d,
            q,
            sp,
            sd,
            sq,
            m: 24,
        };
        for gaps in [vec![3, 4, 60, 61, 200], vec![]] {
            let mut yg = y.clone();
            for &g in &gaps {
                yg[g] = f64::NAN;
            }
            for (o, par) in [
                (
                    order(2, 1, 1, 2, 1, 1),
                    vec![0.4, -0.2, 0.3, 0.2, 0.1, -0.6],
                ),
                (order(1, 0, 2, 1, 1, 0), vec![0.5, 0.3, -0.2, -0.4]),
                (order(0, 1, 1, 0, 1, 1), vec![-0.3, -0.7]),
                (order(3, 0, 0, 1, 0, 1), vec![0.3, 0.1, 0.2, 0.5, 0.4]),
            ] {
                let (phi, theta) = expand(&par, &o);
                let dl = delta(o.d, o.sd, o.m);
                let ss0 = StateSpace::new(&phi, &theta, &dl);
                let rd = ss0.rd();
                assert!(rd > 8, "{o:?}");
                let (mut a, mut b) = (ss0.clone(), ss0.clone());
                let (mut ra, mut rb) = (Vec::new(), Vec::new());
                let sa = a.likelihood_in_place(&yg, Some(&mut ra), None);
                let sb = b.likelihood_sized(rd, b.r, &b.delta_nonzeros(), &yg, Some(&mut rb), None);
                // (The diffuse start's 1e6 variances leave rounding of up to about 1e-8
                // here; a wrong term would be off in the first digits.)
                let close = |x: f64, y: f64| (x - y).abs() <= 1e-7 * x.abs().max(1.0);
                assert_eq!(sa.2, sb.2, "{o:?}");
                assert!(
                    close(sa.0, sb.0) && close(sa.1, sb.1),
                    "{o:?}: {sa:?} {sb:?}"
                );
                assert_eq!(ra.len(), rb.len());
                for (x, y) in ra.iter().zip(&rb) {
                    assert!(x.is_nan() && y.is_nan() || close(*x, *y), "{o:?}: {x} {y}");
                }
                for (x, y) in (a.a.iter().zip(&b.a)).chain(a.p.iter().zip(&b.p)) {
                    assert!(close(*x, *y), "{o:?}: {x} {y}");
                }
                for (x, y) in a.pn.iter().zip(&b.pn) {
                    assert!(close(*x, *y), "{o:?}: {x} {y}");
                }
            }
        }
    }

    #[test]
    fn kalman_likelihood_of_an_ar1_is_the_exact_gaussian_one() {
        // For AR(1), the exact likelihood factors into y₁ ~ N(0, 1/(1−φ²)) and
        // y_t | y_{t−1} ~ N(φ y_{t−1}, 1) (unit innovation variance, scaled out).
        let phi = 0.7;
        let y = [0.5, -0.2, 0.9, 1.4, 0.3, -0.8];
        let mut ss = StateSpace::new(&[phi], &[], &[]);
        let (ssq, sumlog, nu) = ss.likelihood(&y, None);
        let f1 = 1.0 / (1.0 - phi * phi);
        let want_ssq = y[0] * y[0] / f1
            + y.windows(2)
                .map(|w| (w[1] - phi * w[0]).powi(2))
                .sum::<f64>();
        assert_eq!(nu, 6);
        assert!((ssq - want_ssq).abs() < 1e-12);
        assert!((sumlog - f1.ln()).abs() < 1e-12);
        // With one difference the first value is diffuse (left out), and the rest are
        // the AR(1) of the differences conditioned on the first difference's prior.
        let levels: Vec<f64> = y
            .iter()
            .scan(10.0, |s, v| {
                *s += v;
                Some(*s)
            })
            .collect();
        let mut ss = StateSpace::new(&[phi], &[], &[1.0]);
        let (ssq_d, sumlog_d, nu_d) = ss.likelihood(&levels, None);
        let mut ss0 = StateSpace::new(&[phi], &[], &[]);
        let (ssq0, sumlog0, nu0) = ss0.likelihood(&y[1..], None);
        assert_eq!(nu_d, nu0);
        assert!(
            (ssq_d - ssq0).abs() < 1e-4 && (sumlog_d - sumlog0).abs() < 1e-4,
            "{ssq_d} {ssq0}"
        );
    }

    #[test]
    fn css_of_an_ar1_by_hand() {
        let o = Order {
            p: 1,
            d: 1,
            q: 0,
            sp: 0,
            sd: 0,
            sq: 0,
            m: 1,
        };
        let y = [1.0, 3.0, 4.0, 7.0, 8.0];
        // Differences 2, 1, 3, 1; residuals from the third value: 1 − 0.5·2, 3 − 0.5·1, 1 − 0.5·3.
        let (s, resid) = css(&y, &o, &[0.5], &[]);
        let want = [0.0, 2.5, -0.5];
        assert_eq!(&resid[..2], &[0.0, 0.0]);
        assert!(
            (s - want.iter().map(|v| v * v).sum::<f64>() / 3.0).abs() < 1e-12,
            "{resid:?}"
        );
    }
}
