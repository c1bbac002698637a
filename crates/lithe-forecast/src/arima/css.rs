//! The conditional sum of squares, one series or several in SIMD lanes.

use super::*;

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
pub(super) fn css_steps<const W: usize>(
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
pub(super) fn css_residuals<const W: usize, const FULL: bool>(
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
pub(super) fn css_lanes_avx2(
    w: &mut [[f64; LANES]],
    o: &Order,
    phi: &[[f64; LANES]],
    theta: &[[f64; LANES]],
    resid: &mut [[f64; LANES]],
) -> [f64; LANES] {
    css_steps(w, o, phi, theta, resid)
}
