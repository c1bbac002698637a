//! scipy's BFGS with forward-difference gradients and its two line searches
//! (`line_search_wolfe1` on MINPACK-2's `dcsrch`, then `line_search_wolfe2`), with a
//! batched objective for the gradient's perturbed points.

/// The result of [`bfgs`].
#[derive(Debug, Clone)]
pub struct BfgsResult {
    pub x: Vec<f64>,
    pub value: f64,
    /// 0 converged, 1 iteration limit, 2 line search failed, 3 NaN met.
    pub status: u8,
    pub iterations: usize,
    pub evaluations: usize,
    /// The final inverse-Hessian approximation (row-major).
    pub hess_inv: Vec<f64>,
}

/// Value and forward-difference gradient of `f`, with the one-point cache scipy's
/// `ScalarFunction` keeps (the order of evaluations is part of the answer when the
/// objective has state, as ARIMA's likelihood in StatsForecast does). `f` takes a
/// batch of points and writes their values in order: one point for a value, every
/// perturbed point of a gradient at once.
struct Cached<F> {
    f: F,
    x: Vec<f64>,
    fx: Option<f64>,
    g: Option<Vec<f64>>,
    evals: usize,
}

impl<F: FnMut(&[&[f64]], &mut [f64])> Cached<F> {
    fn eval(&mut self, x: &[f64]) -> f64 {
        self.evals += 1;
        let mut v = [0.0];
        (self.f)(&[x], &mut v);
        v[0]
    }

    fn at(&mut self, x: &[f64]) {
        if self.x.as_slice() != x {
            self.x = x.to_vec();
            self.fx = None;
            self.g = None;
        }
    }

    fn fun(&mut self, x: &[f64]) -> f64 {
        self.at(x);
        if let Some(v) = self.fx {
            return v;
        }
        let v = self.eval(x);
        self.fx = Some(v);
        v
    }

    fn grad(&mut self, x: &[f64]) -> Vec<f64> {
        self.at(x);
        if let Some(g) = &self.g {
            return g.clone();
        }
        let base = self.x.clone();
        let n = base.len();
        // The value at `x` (unless known) and every perturbed point, in that order, in
        // one call.
        let need_f = self.fx.is_none();
        let points: Vec<Vec<f64>> = need_f
            .then(|| base.clone())
            .into_iter()
            .chain((0..n).map(|i| {
                let mut h = 1.4901161193847656e-08;
                if (base[i] + h) - base[i] == 0.0 {
                    let s = if base[i] >= 0.0 { 1.0 } else { -1.0 };
                    h = 1.49011611938e-08 * s * base[i].abs().max(1.0);
                }
                let mut xp = base.clone();
                xp[i] = base[i] + h;
                xp
            }))
            .collect();
        let refs: Vec<&[f64]> = points.iter().map(|p| &p[..]).collect();
        let mut values = vec![0.0; points.len()];
        self.evals += points.len();
        (self.f)(&refs, &mut values);
        if need_f {
            self.fx = Some(values[0]);
        }
        let f0 = self.fx.unwrap_or(f64::NAN);
        let (points, values) = (
            &points[usize::from(need_f)..],
            &values[usize::from(need_f)..],
        );
        let g: Vec<f64> = (0..n)
            .map(|i| (values[i] - f0) / (points[i][i] - base[i]))
            .collect();
        self.g = Some(g.clone());
        g
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The magnitude of the cubic interpolant's `gamma` in [`dcstep`]: with `s` the
/// largest of |theta|, |d1| and |d2| (scaling against overflow),
/// `s · sqrt((theta/s)² − (d1/s)(d2/s))`, the radicand clamped at 0 when `clamp`.
fn cubic_gamma(theta: f64, d1: f64, d2: f64, clamp: bool) -> f64 {
    let s = theta.abs().max(d1.abs()).max(d2.abs());
    let rad = (theta / s).powi(2) - (d1 / s) * (d2 / s);
    s * if clamp { rad.max(0.0) } else { rad }.sqrt()
}

/// MINPACK-2's safeguarded step (`dcstep`), as scipy runs it.
#[allow(clippy::too_many_arguments)]
fn dcstep(
    stx: &mut f64,
    fx: &mut f64,
    dx: &mut f64,
    sty: &mut f64,
    fy: &mut f64,
    dy: &mut f64,
    stp: &mut f64,
    fp: f64,
    dp: f64,
    brackt: &mut bool,
    stpmin: f64,
    stpmax: f64,
) {
    let sgnd = dp * (*dx / dx.abs());
    let stpf;
    if fp > *fx {
        let theta = 3.0 * (*fx - fp) / (*stp - *stx) + *dx + dp;
        let mut gamma = cubic_gamma(theta, *dx, dp, false);
        if *stp < *stx {
            gamma = -gamma;
        }
        let p = (gamma - *dx) + theta;
        let q = ((gamma - *dx) + gamma) + dp;
        let r = p / q;
        let stpc = *stx + r * (*stp - *stx);
        let stpq = *stx + ((*dx / ((*fx - fp) / (*stp - *stx) + *dx)) / 2.0) * (*stp - *stx);
        stpf = if (stpc - *stx).abs() <= (stpq - *stx).abs() {
            stpc
        } else {
            stpc + (stpq - stpc) / 2.0
        };
        *brackt = true;
    } else if sgnd < 0.0 {
        let theta = 3.0 * (*fx - fp) / (*stp - *stx) + *dx + dp;
        let mut gamma = cubic_gamma(theta, *dx, dp, false);
        if *stp > *stx {
            gamma = -gamma;
        }
        let p = (gamma - dp) + theta;
        let q = ((gamma - dp) + gamma) + *dx;
        let r = p / q;
        let stpc = *stp + r * (*stx - *stp);
        let stpq = *stp + (dp / (dp - *dx)) * (*stx - *stp);
        stpf = if (stpc - *stp).abs() > (stpq - *stp).abs() {
            stpc
        } else {
            stpq
        };
        *brackt = true;
    } else if dp.abs() < dx.abs() {
        let theta = 3.0 * (*fx - fp) / (*stp - *stx) + *dx + dp;
        let mut gamma = cubic_gamma(theta, *dx, dp, true);
        if *stp > *stx {
            gamma = -gamma;
        }
        let p = (gamma - dp) + theta;
        let q = (gamma + (*dx - dp)) + gamma;
        let r = p / q;
        let stpc = if r < 0.0 && gamma != 0.0 {
            *stp + r * (*stx - *stp)
        } else if *stp > *stx {
            stpmax
        } else {
            stpmin
        };
        let stpq = *stp + (dp / (dp - *dx)) * (*stx - *stp);
        if *brackt {
            let mut v = if (stpc - *stp).abs() < (stpq - *stp).abs() {
                stpc
            } else {
                stpq
            };
            let bound = *stp + 0.66 * (*sty - *stp);
            v = if *stp > *stx {
                v.min(bound)
            } else {
                v.max(bound)
            };
            stpf = v;
        } else {
            let v = if (stpc - *stp).abs() > (stpq - *stp).abs() {
                stpc
            } else {
                stpq
            };
            stpf = v.min(stpmax).max(stpmin);
        }
    } else if *brackt {
        let theta = 3.0 * (fp - *fy) / (*sty - *stp) + *dy + dp;
        let mut gamma = cubic_gamma(theta, *dy, dp, false);
        if *stp > *sty {
            gamma = -gamma;
        }
        let p = (gamma - dp) + theta;
        let q = ((gamma - dp) + gamma) + *dy;
        let r = p / q;
        stpf = *stp + r * (*sty - *stp);
    } else if *stp > *stx {
        stpf = stpmax;
    } else {
        stpf = stpmin;
    }
    if fp > *fx {
        *sty = *stp;
        *fy = fp;
        *dy = dp;
    } else {
        if sgnd < 0.0 {
            *sty = *stx;
            *fy = *fx;
            *dy = *dx;
        }
        *stx = *stp;
        *fx = fp;
        *dx = dp;
    }
    *stp = stpf;
}

/// The point `xk + s·pk` a line search tries, as numpy computes it.
fn along(xk: &[f64], pk: &[f64], s: f64) -> Vec<f64> {
    xk.iter().zip(pk).map(|(a, p)| a + s * p).collect()
}

/// scipy's `line_search_wolfe1` (MINPACK-2 `dcsrch`): the step, f there and the last
/// gradient taken, or `None`.
fn wolfe1<F: FnMut(&[&[f64]], &mut [f64])>(
    c: &mut Cached<F>,
    xk: &[f64],
    pk: &[f64],
    phi0: f64,
    dphi0: f64,
    stp0: f64,
) -> Option<(f64, f64, Vec<f64>)> {
    let (ftol, gtol, xtol, stpmin, stpmax) = (1e-4, 0.9, 1e-14, 1e-100, 1e100);
    let mut last_g: Option<Vec<f64>> = None;
    let phi = |c: &mut Cached<F>, s: f64, last_g: &mut Option<Vec<f64>>| -> (f64, f64) {
        let x = along(xk, pk, s);
        // (The gradient first: it takes the value with it, in the same order.)
        let g = c.grad(&x);
        let f = c.fun(&x);
        let d = dot(&g, pk);
        *last_g = Some(g);
        (f, d)
    };
    let mut stp = stp0;
    if stp < stpmin || stp > stpmax || dphi0 >= 0.0 {
        return None;
    }
    let mut brackt = false;
    let mut stage = 1;
    let finit = phi0;
    let ginit = dphi0;
    let gtest = ftol * ginit;
    let mut width = stpmax - stpmin;
    let mut width1 = 2.0 * width;
    let (mut stx, mut sty) = (0.0, 0.0);
    let (mut fx, mut fy) = (finit, finit);
    let (mut gx, mut gy) = (ginit, ginit);
    let mut stmin = 0.0;
    let mut stmax = stp + 4.0 * stp;
    let (mut f, mut g) = phi(c, stp, &mut last_g);
    for _ in 0..100 {
        let ftest = finit + stp * gtest;
        if stage == 1 && f <= ftest && g >= 0.0 {
            stage = 2;
        }
        let warn = (brackt && (stp <= stmin || stp >= stmax || stmax - stmin <= xtol * stmax))
            || (stp == stpmax && f <= ftest && g <= gtest)
            || (stp == stpmin && (f > ftest || g >= gtest));
        if f <= ftest && g.abs() <= gtol * (-ginit) {
            return Some((stp, f, last_g.unwrap_or_default()));
        }
        if warn {
            return None;
        }
        if stage == 1 && f <= fx && f > ftest {
            let fm = f - stp * gtest;
            let mut fxm = fx - stx * gtest;
            let mut fym = fy - sty * gtest;
            let gm = g - gtest;
            let mut gxm = gx - gtest;
            let mut gym = gy - gtest;
            dcstep(
                &mut stx,
                &mut fxm,
                &mut gxm,
                &mut sty,
                &mut fym,
                &mut gym,
                &mut stp,
                fm,
                gm,
                &mut brackt,
                stmin,
                stmax,
            );
            fx = fxm + stx * gtest;
            fy = fym + sty * gtest;
            gx = gxm + gtest;
            gy = gym + gtest;
        } else {
            dcstep(
                &mut stx,
                &mut fx,
                &mut gx,
                &mut sty,
                &mut fy,
                &mut gy,
                &mut stp,
                f,
                g,
                &mut brackt,
                stmin,
                stmax,
            );
        }
        if brackt {
            if (sty - stx).abs() >= 0.66 * width1 {
                stp = stx + 0.5 * (sty - stx);
            }
            width1 = width;
            width = (sty - stx).abs();
            stmin = stx.min(sty);
            stmax = stx.max(sty);
        } else {
            stmin = stp + 1.1 * (stp - stx);
            stmax = stp + 4.0 * (stp - stx);
        }
        stp = stp.max(stpmin).min(stpmax);
        if brackt && (stp <= stmin || stp >= stmax || stmax - stmin <= xtol * stmax) {
            stp = stx;
        }
        if !stp.is_finite() {
            return None;
        }
        (f, g) = phi(c, stp, &mut last_g);
    }
    None
}

/// scipy's `_cubicmin`: the minimiser of the cubic through `(a, fa)` with slope `fpa`,
/// `(b, fb)` and `(c, fc)`, or `None` where numpy would raise or the result is not finite.
fn cubicmin(a: f64, fa: f64, fpa: f64, b: f64, fb: f64, c: f64, fc: f64) -> Option<f64> {
    let ok = |v: f64| v.is_finite().then_some(v);
    let (db, dc) = (b - a, c - a);
    let denom = ok((db * dc).powi(2) * (db - dc)).filter(|&d| d != 0.0)?;
    let (v0, v1) = (fb - fa - fpa * db, fc - fa - fpa * dc);
    let aa = ok(ok(dc * dc * v0 + -(db * db) * v1)? / denom)?;
    let bb = ok(ok(-(dc * dc * dc) * v0 + db * db * db * v1)? / denom)?;
    let radical = ok(bb * bb - 3.0 * aa * fpa).filter(|&r| r >= 0.0)?;
    let three_a = 3.0 * aa;
    if three_a == 0.0 {
        return None;
    }
    ok(a + (-bb + radical.sqrt()) / three_a)
}

/// scipy's `_quadmin`: the minimiser of the parabola through `(a, fa)` with slope `fpa`
/// and `(b, fb)`, or `None`.
fn quadmin(a: f64, fa: f64, fpa: f64, b: f64, fb: f64) -> Option<f64> {
    let db = b - a;
    let dd = db * db;
    if dd == 0.0 || !dd.is_finite() {
        return None;
    }
    let bb = (fb - fa - fpa * db) / dd;
    if !bb.is_finite() || bb == 0.0 {
        return None;
    }
    let x = a - fpa / (2.0 * bb);
    x.is_finite().then_some(x)
}

/// scipy's `line_search_wolfe2` (`scalar_search_wolfe2` and `_zoom`, c1 = 1e-4,
/// c2 = 0.9, amax = 1e100, ten rounds): BFGS's fallback when [`wolfe1`] fails. The
/// step, f there and the last gradient taken (empty when the search ran out of rounds
/// and returns its last step without one), or `None`.
fn wolfe2<F: FnMut(&[&[f64]], &mut [f64])>(
    c: &mut Cached<F>,
    xk: &[f64],
    pk: &[f64],
    phi0: f64,
    dphi0: f64,
    alpha_start: f64,
) -> Option<(f64, f64, Vec<f64>)> {
    let (c1, c2, amax) = (1e-4, 0.9, 1e100);
    let mut last_g: Vec<f64> = Vec::new();
    let phi = |c: &mut Cached<F>, s: f64| c.fun(&along(xk, pk, s));
    let mut derphi = |c: &mut Cached<F>, s: f64| {
        let g = c.grad(&along(xk, pk, s));
        let d = dot(&g, pk);
        last_g = g;
        d
    };
    let zoom = |c: &mut Cached<F>,
                derphi: &mut dyn FnMut(&mut Cached<F>, f64) -> f64,
                mut a_lo: f64,
                mut a_hi: f64,
                mut phi_lo: f64,
                mut phi_hi: f64,
                mut derphi_lo: f64|
     -> Option<(f64, f64)> {
        let (mut phi_rec, mut a_rec) = (phi0, 0.0);
        let mut i = 0;
        loop {
            let dalpha = a_hi - a_lo;
            let (a, b) = if dalpha < 0.0 {
                (a_hi, a_lo)
            } else {
                (a_lo, a_hi)
            };
            let mut a_j = None;
            if i > 0 {
                let cchk = 0.2 * dalpha;
                a_j = cubicmin(a_lo, phi_lo, derphi_lo, a_hi, phi_hi, a_rec, phi_rec)
                    .filter(|&x| !(x > b - cchk || x < a + cchk));
            }
            let a_j = match a_j {
                Some(x) => x,
                None => {
                    let qchk = 0.1 * dalpha;
                    match quadmin(a_lo, phi_lo, derphi_lo, a_hi, phi_hi) {
                        Some(x) if !(x > b - qchk || x < a + qchk) => x,
                        _ => a_lo + 0.5 * dalpha,
                    }
                }
            };
            let phi_aj = phi(c, a_j);
            if phi_aj > phi0 + c1 * a_j * dphi0 || phi_aj >= phi_lo {
                (phi_rec, a_rec) = (phi_hi, a_hi);
                (a_hi, phi_hi) = (a_j, phi_aj);
            } else {
                let derphi_aj = derphi(c, a_j);
                if derphi_aj.abs() <= -c2 * dphi0 {
                    return Some((a_j, phi_aj));
                }
                if derphi_aj * (a_hi - a_lo) >= 0.0 {
                    (phi_rec, a_rec) = (phi_hi, a_hi);
                    (a_hi, phi_hi) = (a_lo, phi_lo);
                } else {
                    (phi_rec, a_rec) = (phi_lo, a_lo);
                }
                (a_lo, phi_lo, derphi_lo) = (a_j, phi_aj, derphi_aj);
            }
            i += 1;
            if i > 10 {
                return None;
            }
        }
    };
    let mut alpha0 = 0.0;
    let mut alpha1 = alpha_start.min(amax);
    let mut phi_a1 = phi(c, alpha1);
    let mut phi_a0 = phi0;
    let mut derphi_a0 = dphi0;
    for i in 0..10 {
        if alpha1 == 0.0 || alpha0 > amax {
            return None;
        }
        if phi_a1 > phi0 + c1 * alpha1 * dphi0 || (phi_a1 >= phi_a0 && i > 0) {
            let (s, f) = zoom(c, &mut derphi, alpha0, alpha1, phi_a0, phi_a1, derphi_a0)?;
            return Some((s, f, std::mem::take(&mut last_g)));
        }
        let derphi_a1 = derphi(c, alpha1);
        if derphi_a1.abs() <= -c2 * dphi0 {
            return Some((alpha1, phi_a1, std::mem::take(&mut last_g)));
        }
        if derphi_a1 >= 0.0 {
            let (s, f) = zoom(c, &mut derphi, alpha1, alpha0, phi_a1, phi_a0, derphi_a1)?;
            return Some((s, f, std::mem::take(&mut last_g)));
        }
        let alpha2 = (2.0 * alpha1).min(amax);
        alpha0 = alpha1;
        alpha1 = alpha2;
        phi_a0 = phi_a1;
        phi_a1 = phi(c, alpha1);
        derphi_a0 = derphi_a1;
    }
    // Out of rounds: the last step, without a gradient.
    Some((alpha1, phi_a1, Vec::new()))
}

/// scipy's BFGS (`minimize(method="BFGS", tol=gtol)`) with forward-difference
/// gradients, its `line_search_wolfe1` and, where that fails, `line_search_wolfe2`;
/// when both fail the search stops, status 2.
pub fn bfgs<F: FnMut(&[f64]) -> f64>(
    mut f: F,
    x0: &[f64],
    gtol: f64,
    maxiter: usize,
) -> BfgsResult {
    bfgs_batched(
        |xs: &[&[f64]], out: &mut [f64]| {
            for (x, v) in xs.iter().zip(out.iter_mut()) {
                *v = f(x);
            }
        },
        x0,
        gtol,
        maxiter,
    )
}

/// [`bfgs`] with an objective that takes a batch of points and writes their values in
/// order (`f(points, values)`), as if called on each in turn: a gradient's perturbed
/// points come in one batch, so the objective can evaluate them side by side.
pub fn bfgs_batched<F: FnMut(&[&[f64]], &mut [f64])>(
    f: F,
    x0: &[f64],
    gtol: f64,
    maxiter: usize,
) -> BfgsResult {
    let n = x0.len();
    let mut c = Cached {
        f,
        x: Vec::new(),
        fx: None,
        g: None,
        evals: 0,
    };
    let mut xk = x0.to_vec();
    let mut g = c.grad(&xk);
    let mut old_f = c.fun(&xk);
    let mut hk = vec![0.0; n * n];
    for i in 0..n {
        hk[i * n + i] = 1.0;
    }
    let norm2 = |v: &[f64]| dot(v, v).sqrt();
    let mut old_old = old_f + norm2(&g) / 2.0;
    let mut gnorm = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if g.iter().any(|v| v.is_nan()) {
        gnorm = f64::NAN;
    }
    let mut k = 0;
    let mut warn = 0;
    while gnorm > gtol && k < maxiter {
        let pk: Vec<f64> = (0..n).map(|i| -dot(&hk[i * n..(i + 1) * n], &g)).collect();
        let gp = dot(&g, &pk);
        let mut alpha1 = if gp != 0.0 {
            let v = 1.01 * 2.0 * (old_f - old_old) / gp;
            if v.is_nan() { 1.0 } else { v.min(1.0) }
        } else {
            1.0
        };
        if alpha1 < 0.0 {
            alpha1 = 1.0;
        }
        let Some((alpha, fnew, gnew)) = wolfe1(&mut c, &xk, &pk, old_f, gp, alpha1)
            .or_else(|| wolfe2(&mut c, &xk, &pk, old_f, gp, alpha1))
        else {
            warn = 2;
            break;
        };
        let s: Vec<f64> = pk.iter().map(|p| alpha * p).collect();
        for (x, si) in xk.iter_mut().zip(&s) {
            *x += si;
        }
        let gnew = if gnew.is_empty() { c.grad(&xk) } else { gnew };
        let y: Vec<f64> = gnew.iter().zip(&g).map(|(a, b)| a - b).collect();
        g = gnew;
        k += 1;
        old_old = old_f;
        old_f = fnew;
        gnorm = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        if gnorm <= gtol {
            break;
        }
        if alpha * norm2(&pk) <= 0.0 {
            break;
        }
        if !old_f.is_finite() {
            warn = 2;
            break;
        }
        let ys = dot(&y, &s);
        let rho = if ys == 0.0 { 1000.0 } else { 1.0 / ys };
        // Hk ← (I − s yᵀρ) (Hk (I − y sᵀρ)) + ρ s sᵀ, associated as scipy does.
        let delta = |i: usize, j: usize| if i == j { 1.0 } else { 0.0 };
        let mut t = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                t[i * n + j] = (0..n)
                    .map(|l| hk[i * n + l] * (delta(l, j) - y[l] * s[j] * rho))
                    .sum();
            }
        }
        for i in 0..n {
            for j in 0..n {
                let v: f64 = (0..n)
                    .map(|l| (delta(i, l) - s[i] * y[l] * rho) * t[l * n + j])
                    .sum();
                hk[i * n + j] = v + rho * s[i] * s[j];
            }
        }
    }
    let status = if warn == 2 {
        2
    } else if k >= maxiter {
        1
    } else if gnorm.is_nan() || old_f.is_nan() || xk.iter().any(|v| v.is_nan()) {
        3
    } else {
        0
    };
    BfgsResult {
        x: xk,
        value: old_f,
        status,
        iterations: k,
        evaluations: c.evals,
        hess_inv: hk,
    }
}

#[cfg(test)]
mod bfgs_tests {
    use super::*;

    #[test]
    fn zoom_interpolants_known_answers() {
        // (x − 2)²: through (0, 4) with slope −4 and (1, 1).
        assert_eq!(quadmin(0.0, 4.0, -4.0, 1.0, 1.0), Some(2.0));
        // x³ − 3x: through (0, 0) with slope −3, (2, 2) and (−1, 2); its minimum is at 1.
        let x = cubicmin(0.0, 0.0, -3.0, 2.0, 2.0, -1.0, 2.0).unwrap();
        assert!((x - 1.0).abs() < 1e-12, "{x}");
        // No minimiser: a straight line, or coincident points.
        assert_eq!(quadmin(0.0, 1.0, 1.0, 1.0, 2.0), None);
        assert_eq!(cubicmin(0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0), None);
    }

    #[test]
    fn bfgs_follows_scipy() {
        // scipy 1.17.1: minimize(rosen, [-1.2, 1], method="BFGS", tol=1e-8,
        // options={"maxiter": 100}) → x (0.99999552, 0.99999104), nit 34, nfev 123.
        // scipy's small dot products go through BLAS kernels that may fuse multiply and
        // add, so the last bits (and on this ill-conditioned valley, an iteration or
        // two) can differ; the answer agrees to 1e-9.
        let rosen = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let r = bfgs(rosen, &[-1.2, 1.0], 1e-8, 100);
        assert_eq!(r.status, 0, "{r:?}");
        assert!((32..=36).contains(&r.iterations), "{r:?}");
        assert!((r.x[0] - 0.9999955222388851).abs() < 1e-9, "{r:?}");
        assert!((r.x[1] - 0.9999910370467212).abs() < 1e-9);
        // A smooth three-parameter function: scipy takes 8 iterations and 40 calls.
        let g = |x: &[f64]| {
            0.5 * (1.0 + (x[0] - 0.3).powi(2) + 3.0 * (x[1] + 0.2).powi(2) + (x[0] * x[1]).powi(2))
                .ln()
                + 0.1 * x[2] * x[2]
                + x[2].sin()
        };
        let r = bfgs(g, &[0.0, 0.0, 0.0], 1e-8, 100);
        assert_eq!((r.iterations, r.evaluations, r.status), (8, 40, 0), "{r:?}");
        assert!((r.value - -0.7928994997003533).abs() < 1e-14);
        assert!((r.x[0] - 0.2890558515698535).abs() < 1e-8);
        assert!((r.x[2] - -1.3064400175716626).abs() < 1e-8);
    }
}
