//! Fitting: starting states, bounded Nelder–Mead over the parameters, and the
//! selection of a model by AICc.

use super::*;

/// The starting states: `l0, [b0]` and `m − 1` seasonal states (`s_{m-1}` is implied
/// by the normalisation), or `None` where the data cannot support them.
pub(super) fn initial_states(y: &[f64], m: usize, trend: Comp, season: Comp) -> Option<Vec<f64>> {
    let n = y.len();
    let mut out = Vec::new();
    let (y_sa, init_seas): (Vec<f64>, Vec<f64>) = if season != Comp::N {
        if n < 4 {
            return None;
        }
        let mult = season == Comp::M;
        let seasonal: Vec<f64> = if n < 3 * m {
            // A line plus one harmonic, fitted by least squares.
            let t: Vec<f64> = (1..=n).map(|v| v as f64).collect();
            let w = 2.0 * std::f64::consts::PI / m as f64;
            let mut cols = vec![vec![1.0; n], t.clone()];
            cols.push(t.iter().map(|t| (w * t).cos()).collect());
            if m > 2 {
                cols.push(t.iter().map(|t| (w * t).sin()).collect());
            }
            let c = lstsq(&cols, y);
            if mult {
                if y.iter().any(|&v| v <= 0.0) {
                    return None;
                }
                y.iter()
                    .zip(&t)
                    .map(|(v, t)| v / (c[0] + c[1] * t))
                    .collect()
            } else {
                y.iter().zip(&t).map(|(v, t)| v - c[0] - c[1] * t).collect()
            }
        } else {
            let per = decompose_seasonal(y, m, mult);
            (0..n).map(|i| per[i % m]).collect()
        };
        let mut init: Vec<f64> = seasonal[1..m].iter().rev().copied().collect();
        let y_sa: Vec<f64> = if mult {
            for v in &mut init {
                *v = v.max(1e-2);
            }
            if init.iter().sum::<f64>() > m as f64 {
                let d: f64 = init.iter().map(|v| v + 1e-2).sum();
                for v in &mut init {
                    *v /= d;
                }
            }
            y.iter()
                .zip(&seasonal)
                .map(|(v, s)| v / s.max(1e-2))
                .collect()
        } else {
            y.iter().zip(&seasonal).map(|(v, s)| v - s).collect()
        };
        (y_sa, init)
    } else {
        (y.to_vec(), Vec::new())
    };
    let m_eff = if season == Comp::N { 1 } else { m };
    let maxn = (2 * m_eff).max(10).min(n);
    if trend == Comp::N {
        out.push(y_sa[..maxn].iter().sum::<f64>() / maxn as f64);
    } else {
        let t: Vec<f64> = (1..=maxn).map(|v| v as f64).collect();
        let c = lstsq(&[vec![1.0; maxn], t], &y_sa[..maxn]);
        let (l, b) = (c[0], c[1]);
        if trend == Comp::A {
            let (mut l0, mut b0) = (l, b);
            if (l0 + b0).abs() < 1e-8 {
                l0 *= 1.0 + 1e-3;
                b0 *= 1.0 - 1e-3;
            }
            out.push(l0);
            out.push(b0);
        } else {
            let mut l0 = l + b;
            if l0.abs() < 1e-8 {
                l0 = 1e-7;
            }
            let mut b0 = (l + 2.0 * b) / l0;
            let div = if b0.abs() <= 1e-8 { 1e-8 } else { b0 };
            l0 /= div;
            if b0.abs() > 1e10 {
                b0 = b0.signum() * 1e10;
            }
            if l0 < 1e-8 || b0 < 1e-8 {
                l0 = y_sa[0].max(1e-3);
                let div = if y_sa[0].abs() <= 1e-8 { 1e-8 } else { y_sa[0] };
                b0 = (y_sa[1] / div).max(1e-3);
            }
            out.push(l0);
            out.push(b0);
        }
    }
    out.extend(init_seas);
    Some(out)
}

/// Parameters held fixed instead of estimated.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Fixed {
    pub alpha: Option<f64>,
    pub beta: Option<f64>,
    pub gamma: Option<f64>,
    pub phi: Option<f64>,
}

/// Bounds of α, β, γ, φ. Shared by the candidates of one selection (see the module
/// note on the tightening bounds).
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub(super) lower: [f64; 4],
    pub(super) upper: [f64; 4],
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            lower: [1e-4, 1e-4, 1e-4, 0.8],
            upper: [0.9999, 0.9999, 0.9999, 0.98],
        }
    }
}

/// Fit one model kind; `None` when it cannot be fitted (too many parameters for the
/// data, or states that cannot be initialised).
pub(super) fn fit_kind(y: &[f64], m: usize, k: Kind, fixed: Fixed, b: &mut Bounds) -> Option<Fit> {
    let m = if k.season == Comp::N { 1 } else { m };
    let has_t = k.trend != Comp::N;
    let has_s = k.season != Comp::N;
    // Starting values (and the bounds they tighten).
    let alpha = fixed.alpha.unwrap_or_else(|| {
        let a = b.lower[0] + 0.2 * (b.upper[0] - b.lower[0]) / m as f64;
        if !(0.0..=1.0).contains(&a) {
            b.lower[0] + 2e-3
        } else {
            a
        }
    });
    let beta = has_t.then(|| {
        fixed.beta.unwrap_or_else(|| {
            b.upper[1] = b.upper[1].min(alpha);
            let v = b.lower[1] + 0.1 * (b.upper[1] - b.lower[1]);
            if v < 0.0 || v > alpha {
                alpha - 1e-3
            } else {
                v
            }
        })
    });
    let gamma = has_s.then(|| {
        fixed.gamma.unwrap_or_else(|| {
            b.upper[2] = b.upper[2].min(1.0 - alpha);
            let v = b.lower[2] + 0.05 * (b.upper[2] - b.lower[2]);
            if v < 0.0 || v > 1.0 - alpha {
                1.0 - alpha - 1e-3
            } else {
                v
            }
        })
    });
    let phi = k.damped.then(|| {
        fixed.phi.unwrap_or_else(|| {
            let v = b.lower[3] + 0.99 * (b.upper[3] - b.lower[3]);
            if !(0.0..=1.0).contains(&v) {
                b.upper[3] - 1e-3
            } else {
                v
            }
        })
    });
    let init = initial_states(y, m, k.trend, k.season)?;
    let nstate = init.len();
    // The search vector: the smoothing parameters present, then the states.
    let mut x0 = Vec::new();
    let mut lo = Vec::new();
    let mut hi = Vec::new();
    let mut opt = [false; 4];
    for (i, (v, fx)) in [
        (Some(alpha), fixed.alpha),
        (beta, fixed.beta),
        (gamma, fixed.gamma),
        (phi, fixed.phi),
    ]
    .into_iter()
    .enumerate()
    {
        if let Some(v) = v {
            x0.push(v);
            lo.push(b.lower[i]);
            hi.push(b.upper[i]);
            opt[i] = fx.is_none();
        }
    }
    let npar = x0.len();
    x0.extend_from_slice(&init);
    lo.resize(x0.len(), f64::NEG_INFINITY);
    hi.resize(x0.len(), f64::INFINITY);
    let n = y.len();
    if x0.len() + 1 >= n {
        return None;
    }
    let fixed_par = Par {
        alpha,
        beta: beta.unwrap_or(0.0),
        gamma: gamma.unwrap_or(0.0),
        phi: phi.unwrap_or(1.0),
    };
    let unpack = |x: &[f64]| -> Par {
        let mut p = fixed_par;
        let mut j = 0;
        let mut take = |on: bool, present: bool, slot: &mut f64| {
            if present {
                if on {
                    *slot = x[j];
                }
                j += 1;
            }
        };
        take(opt[0], true, &mut p.alpha);
        take(opt[1], beta.is_some(), &mut p.beta);
        take(opt[2], gamma.is_some(), &mut p.gamma);
        take(opt[3], phi.is_some(), &mut p.phi);
        p
    };
    // Full states from the search vector: the last seasonal state makes the season
    // sum to 0 (additive) or m (multiplicative).
    let full_states = |x: &[f64], out: &mut Vec<f64>| -> bool {
        out.clear();
        out.extend_from_slice(&x[npar..]);
        if has_s {
            let start = 1 + has_t as usize;
            let sum: f64 = out[start..].iter().sum();
            let target = if k.season == Comp::M { m as f64 } else { 0.0 };
            out.push(target - sum);
            if k.season == Comp::M && out[start..].iter().any(|&v| v < 0.0) {
                return false;
            }
        }
        true
    };
    let mut seas = Vec::with_capacity(n + m);
    let mut states = Vec::with_capacity(nstate + 1);
    let objective = |x: &[f64]| -> f64 {
        if !full_states(x, &mut states) {
            return f64::INFINITY;
        }
        // As StatsForecast: a failed run (NaN) counts as the best value, not the worst.
        let lik = filter(y, &states, k, unpack(x), m, &mut seas, None, None);
        if lik.is_nan() || (lik - NA).abs() < 1e-7 {
            f64::NEG_INFINITY
        } else {
            lik.max(-1e10)
        }
    };
    let best = if has_s {
        NelderMead::default().minimize(objective, &x0, &lo, &hi)
    } else {
        let mut lane_states: [Vec<f64>; LANES] =
            std::array::from_fn(|_| Vec::with_capacity(nstate + 1));
        let batch = |xs: &[&[f64]; LANES], out: &mut [f64; LANES]| {
            let mut pars = [fixed_par; LANES];
            for j in 0..LANES {
                full_states(xs[j], &mut lane_states[j]);
                pars[j] = unpack(xs[j]);
            }
            let mut liks = filter_batch(y, &lane_states, &pars, k);
            for j in 0..LANES {
                if liks[j].is_nan() {
                    // A lane the batch could not sum exactly: run it alone.
                    liks[j] = filter(y, &lane_states[j], k, pars[j], m, &mut seas, None, None);
                }
            }
            for (o, lik) in out.iter_mut().zip(liks) {
                // As StatsForecast: a failed run (NaN) counts as the best value.
                *o = if lik.is_nan() || (lik - NA).abs() < 1e-7 {
                    f64::NEG_INFINITY
                } else {
                    lik.max(-1e10)
                };
            }
        };
        NelderMead::default().minimize_batch(batch, &x0, &lo, &hi)
    };
    let par = unpack(&best.x);
    let mut init_full = Vec::new();
    full_states(&best.x, &mut init_full);
    let mut errors = Vec::with_capacity(n);
    let mut last = Vec::new();
    let lik = filter(
        y,
        &init_full,
        k,
        par,
        m,
        &mut seas,
        Some(&mut errors),
        Some(&mut last),
    );
    if lik.is_nan() || (lik - NA).abs() < 1e-7 {
        return None;
    }
    let np = x0.len() + 1;
    let nf = n as f64;
    let npf = np as f64;
    let aic = lik + 2.0 * npf;
    let bic = lik + nf.ln() * npf;
    let aicc = if n - np - 1 != 0 {
        aic + 2.0 * npf * (npf + 1.0) / (nf - npf - 1.0)
    } else {
        f64::INFINITY
    };
    let sigma2 = errors.iter().map(|e| e * e).sum::<f64>() / (nf - npf - 1.0);
    Some(Fit {
        kind: k,
        m,
        par,
        init: init_full,
        last,
        neg2loglik: lik,
        aic,
        aicc,
        bic,
        sigma2,
        n_params: np,
    })
}

/// Fit the models `spec` allows to `y` (no missing values) with season length `m`
/// and keep the one with the smallest AICc.
pub fn select(y: &[f64], m: usize, spec: Spec) -> Result<Fit, Unfit> {
    let n = y.len();
    if n == 0 {
        return Err(Unfit::NoData);
    }
    let mut bounds = Bounds::default();
    if y.iter().all(|&v| v == y[0]) {
        // A constant series: simple exponential smoothing with α held at 0.9999.
        let k = Kind {
            error: Comp::A,
            trend: Comp::N,
            season: Comp::N,
            damped: false,
        };
        let fixed = Fixed {
            alpha: Some(0.9999),
            ..Fixed::default()
        };
        return fit_kind(y, m, k, fixed, &mut bounds).ok_or(Unfit::TooShort { need: 4 });
    }
    let seasonal_ok = m > 1 && n > m;
    let season = if seasonal_ok {
        spec.season
    } else {
        Some(Comp::N)
    };
    let positive = y.iter().all(|&v| v > 0.0);
    if !positive && (spec.error == Some(Comp::M) || season == Some(Comp::M)) {
        return Err(Unfit::NotPositive);
    }
    let mut npars = 2;
    if matches!(spec.trend, Some(Comp::A | Comp::M)) {
        npars += 2;
    }
    if matches!(season, Some(Comp::A | Comp::M)) {
        npars += 2;
    }
    if spec.damped == Some(true) {
        npars += 1;
    }
    if n <= npars + 4 {
        return Err(Unfit::TooShort { need: npars + 5 });
    }
    let errors = spec.error.map_or(vec![Comp::A, Comp::M], |c| vec![c]);
    let trends = spec.trend.map_or(vec![Comp::N, Comp::A], |c| vec![c]);
    let seasons = season.map_or(vec![Comp::N, Comp::A, Comp::M], |c| vec![c]);
    let dampings = spec.damped.map_or(vec![true, false], |d| vec![d]);
    let mut best: Option<Fit> = None;
    for &error in &errors {
        for &trend in &trends {
            for &season in &seasons {
                for &damped in &dampings {
                    if trend == Comp::N && damped {
                        continue;
                    }
                    if error == Comp::A && (trend == Comp::M || season == Comp::M) {
                        continue;
                    }
                    if error == Comp::M && trend == Comp::M && season == Comp::A {
                        continue;
                    }
                    if !positive && (error == Comp::M || season == Comp::M) {
                        continue;
                    }
                    if season != Comp::N && m == 1 {
                        continue;
                    }
                    let k = Kind {
                        error,
                        trend,
                        season,
                        damped,
                    };
                    let Some(fit) = fit_kind(y, m, k, Fixed::default(), &mut bounds) else {
                        continue;
                    };
                    if !fit.aicc.is_nan() && best.as_ref().is_none_or(|b| fit.aicc < b.aicc) {
                        best = Some(fit);
                    }
                }
            }
        }
    }
    match best {
        Some(b) if b.aicc.is_finite() => Ok(b),
        _ => Err(Unfit::NoFit),
    }
}
