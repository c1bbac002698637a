//! The Theta family (Assimakopoulos & Nikolopoulos, 2000; Fiorucci et al., 2016):
//! standard (STM), optimised (OTM), dynamic (DSTM) and dynamic optimised (DOTM)
//! Theta, and AutoTheta, which fits all four and keeps the one with the smallest
//! in-sample error, as StatsForecast's `AutoTheta` does.
//!
//! Like StatsForecast: the series is first seasonally adjusted when the 90 %
//! seasonality test says so (multiplicative classical decomposition, additive when
//! the data are not positive or an index falls below 0.01); the initial level and α
//! (and θ for the optimised variants) are estimated by the same bounded Nelder–Mead
//! on Σe²/mean|y| over all but the first three steps. The state recursion runs in
//! linear time (StatsForecast's copies the state history at every step).
//!
//! Prediction intervals: the forecasts are linear in the future errors, so their
//! variance is propagated exactly through the model's own recursion (StatsForecast
//! draws 200 sample paths instead, from a recursion that differs from its point
//! forecasts' for STM and OTM); σ is the standard deviation of the residuals after
//! the first three, on the adjusted scale.

use super::{Output, Unfit};
use crate::interval::Intervals;
use crate::metrics::{acf, decompose_seasonal};
use crate::optim::NelderMead;

/// A Theta variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    Standard,
    Optimized,
    Dynamic,
    DynamicOptimized,
}

impl Variant {
    pub const ALL: [Variant; 4] = [
        Variant::Standard,
        Variant::Optimized,
        Variant::Dynamic,
        Variant::DynamicOptimized,
    ];

    fn dynamic(self) -> bool {
        matches!(self, Variant::Dynamic | Variant::DynamicOptimized)
    }

    fn optimizes_theta(self) -> bool {
        matches!(self, Variant::Optimized | Variant::DynamicOptimized)
    }

    /// StatsForecast's model code.
    pub fn code(self) -> &'static str {
        match self {
            Variant::Standard => "STM",
            Variant::Optimized => "OTM",
            Variant::Dynamic => "DSTM",
            Variant::DynamicOptimized => "DOTM",
        }
    }
}

/// A fitted Theta model (on the seasonally adjusted series).
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub variant: Variant,
    pub initial_level: f64,
    pub alpha: f64,
    pub theta: f64,
    /// Σe²/mean|y| over all steps but the first three: the selection criterion.
    pub mse: f64,
    /// States after the last observation.
    state: State,
    n: usize,
    /// Standard deviation of the residuals after the first three.
    pub sigma: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct State {
    level: f64,
    mean_y: f64,
    a: f64,
    b: f64,
}

const TOL: f64 = 1e-10;
const NA: f64 = -99999.0;

/// One step of the recursion at time `i` (≥ 1): the forecast `mu` from the states
/// of `i − 1` (with `w = (1−α)^i` and `w1 = (1−α)^(i+1)`), then the states updated
/// with the value `y`.
#[inline(always)]
fn mu(s: &State, alpha: f64, c: f64, w: f64, w1: f64) -> f64 {
    s.level + c * (s.a * w + s.b * (1.0 - w1) / alpha)
}

#[inline(always)]
fn update(s: &mut State, i: usize, alpha: f64, y: f64, dynamic: bool) {
    let fi = i as f64;
    let old_mean = s.mean_y;
    s.level = alpha * y + (1.0 - alpha) * s.level;
    s.mean_y = (fi * old_mean + y) / (fi + 1.0);
    if dynamic {
        s.b = ((fi - 1.0) * s.b + 6.0 * (y - old_mean) / (fi + 1.0)) / (fi + 2.0);
        s.a = s.mean_y - s.b * (fi + 2.0) / 2.0;
    }
}

/// The starting states and the first forecast.
fn initial(y: &[f64], dynamic: bool, level0: f64, alpha: f64, theta: f64) -> (State, f64) {
    let (a, b, mu0) = if dynamic {
        (y[0], 0.0, y[0])
    } else {
        let n = y.len() as f64;
        let mean = y.iter().sum::<f64>() / n;
        let weighted = y
            .iter()
            .enumerate()
            .map(|(t, v)| v * (t + 1) as f64)
            .sum::<f64>()
            / n;
        let b = (6.0 * (2.0 * weighted - (n + 1.0) * mean)) / (n * n - 1.0);
        let a = mean - (n + 1.0) * b / 2.0;
        (a, b, level0 + (1.0 - 1.0 / theta) * (a + b))
    };
    let s = State {
        level: alpha * y[0] + (1.0 - alpha) * level0,
        mean_y: y[0],
        a,
        b,
    };
    (s, mu0)
}

/// Run the model over `y`: the criterion Σ_{t≥3} e²/mean|y| and the final states;
/// `errors` receives every residual when given.
fn run(
    y: &[f64],
    dynamic: bool,
    level0: f64,
    alpha: f64,
    theta: f64,
    mut errors: Option<&mut Vec<f64>>,
) -> (f64, State) {
    let (mut s, mu0) = initial(y, dynamic, level0, alpha, theta);
    let c = 1.0 - 1.0 / theta;
    let e0 = y[0] - mu0;
    if let Some(es) = errors.as_deref_mut() {
        es.push(e0);
    }
    let mut sse = 0.0;
    let base = 1.0 - alpha;
    let mut w = base.powf(1.0);
    for (i, &yi) in y.iter().enumerate().skip(1) {
        let w1 = base.powf((i + 1) as f64);
        let f = mu(&s, alpha, c, w, w1);
        if (f - NA).abs() < TOL {
            return (NA, s);
        }
        let e = yi - f;
        if let Some(es) = errors.as_deref_mut() {
            es.push(e);
        }
        if i >= 3 {
            sse += e * e;
        }
        update(&mut s, i, alpha, yi, dynamic);
        w = w1;
    }
    let mut mean_abs = y.iter().map(|v| v.abs()).sum::<f64>() / y.len() as f64;
    if mean_abs < TOL {
        mean_abs = TOL;
    }
    (sse / mean_abs, s)
}

/// Fit one variant to the (adjusted) series.
pub fn fit(y: &[f64], variant: Variant) -> Result<Fit, Unfit> {
    let n = y.len();
    if n <= 3 {
        return Err(Unfit::TooShort { need: 4 });
    }
    let dynamic = variant.dynamic();
    let mut x0 = vec![y[0] / 2.0, 0.5];
    let mut lo = vec![-1e10, 0.1];
    let mut hi = vec![1e10, 0.99];
    if variant.optimizes_theta() {
        x0.push(2.0);
        lo.push(1.0);
        hi.push(1e10);
    }
    let unpack = |x: &[f64]| (x[0], x[1], x.get(2).copied().unwrap_or(2.0));
    let objective = |x: &[f64]| {
        let (l0, a, t) = unpack(x);
        let (v, _) = run(y, dynamic, l0, a, t, None);
        if v.is_nan() || (v - NA).abs() < 1e-7 {
            f64::NEG_INFINITY
        } else {
            v.max(-1e10)
        }
    };
    let best = NelderMead::default().minimize(objective, &x0, &lo, &hi);
    let (level0, alpha, theta) = unpack(&best.x);
    let mut errors = Vec::with_capacity(n);
    let (mse, state) = run(y, dynamic, level0, alpha, theta, Some(&mut errors));
    let mse = if (mse - NA).abs() < 1e-7 {
        f64::NAN
    } else {
        mse
    };
    let tail = &errors[3.min(errors.len())..];
    let used = if tail.len() >= 2 { tail } else { &errors[..] };
    let mean = used.iter().sum::<f64>() / used.len() as f64;
    let sigma = (used.iter().map(|e| (e - mean) * (e - mean)).sum::<f64>()
        / (used.len() as f64 - 1.0).max(1.0))
    .sqrt();
    Ok(Fit {
        variant,
        initial_level: level0,
        alpha,
        theta,
        mse,
        state,
        n,
        sigma,
    })
}

/// Point forecasts and their standard errors (the forecasts are linear in the
/// future errors; their coefficients are carried through the recursion).
pub fn predict(fit: &Fit, h: usize) -> (Vec<f64>, Vec<f64>) {
    let dynamic = fit.variant.dynamic();
    let (alpha, c) = (fit.alpha, 1.0 - 1.0 / fit.theta);
    let base = 1.0 - alpha;
    let mut s = fit.state;
    // d[state][j]: the state's coefficient on the j-th future error.
    let mut dl = vec![0.0; h];
    let mut dm = vec![0.0; h];
    let mut da = vec![0.0; h];
    let mut db = vec![0.0; h];
    let mut dy = vec![0.0; h];
    let mut mean = Vec::with_capacity(h);
    let mut se = Vec::with_capacity(h);
    for k in 0..h {
        let i = fit.n + k;
        let w = base.powf(i as f64);
        let w1 = base.powf((i + 1) as f64);
        let f = mu(&s, alpha, c, w, w1);
        mean.push(f);
        let bw = (1.0 - w1) / alpha;
        for j in 0..h {
            dy[j] = dl[j] + c * (da[j] * w + db[j] * bw);
        }
        dy[k] += 1.0;
        se.push(fit.sigma * dy.iter().map(|v| v * v).sum::<f64>().sqrt());
        // Carry the coefficients through the update with y = f + ε.
        let fi = i as f64;
        for j in 0..h {
            let old_m = dm[j];
            dl[j] = alpha * dy[j] + (1.0 - alpha) * dl[j];
            dm[j] = (fi * old_m + dy[j]) / (fi + 1.0);
            if dynamic {
                db[j] = ((fi - 1.0) * db[j] + 6.0 * (dy[j] - old_m) / (fi + 1.0)) / (fi + 2.0);
                da[j] = dm[j] - db[j] * (fi + 2.0) / 2.0;
            }
        }
        update(&mut s, i, alpha, f, dynamic);
    }
    (mean, se)
}

/// AutoTheta's seasonality test: the lag-`m` autocorrelation beyond the 90 % band
/// (needs `m ≥ 4` and two seasons of data).
pub fn needs_decomposition(y: &[f64], m: usize) -> bool {
    let n = y.len();
    if m < 4 || n < 2 * m {
        return false;
    }
    let r = acf(y, m);
    let sum_sq: f64 = r[..m - 1].iter().map(|v| v * v).sum();
    let stat = ((1.0 + 2.0 * sum_sq) / n as f64).sqrt();
    (r[m - 1] / stat).abs() > 1.6448536269514722
}

/// Forecast with one variant, or with the best of all four (`None`), after the
/// seasonal adjustment the test asks for.
pub fn forecast(
    y: &[f64],
    h: usize,
    m: usize,
    variant: Option<Variant>,
    levels: &[f64],
) -> Result<Output, Unfit> {
    if y.len() <= 3 {
        return Err(Unfit::TooShort { need: 4 });
    }
    // Seasonal adjustment: the per-position indices and whether they multiply.
    let mut season: Option<(Vec<f64>, bool)> = None;
    if needs_decomposition(y, m) {
        let positive = y.iter().all(|&v| v > 0.0);
        let mut mult = positive;
        let mut idx = decompose_seasonal(y, m, mult);
        if mult && idx.iter().any(|&v| v < 0.01) {
            mult = false;
            idx = decompose_seasonal(y, m, false);
        }
        season = Some((idx, mult));
    }
    let adjusted: Vec<f64> = match &season {
        None => y.to_vec(),
        Some((idx, mult)) => y
            .iter()
            .enumerate()
            .map(|(t, v)| {
                if *mult {
                    v / idx[t % m]
                } else {
                    v - idx[t % m]
                }
            })
            .collect(),
    };
    let variants: Vec<Variant> = variant.map_or(Variant::ALL.to_vec(), |v| vec![v]);
    let mut best: Option<Fit> = None;
    for v in variants {
        let f = fit(&adjusted, v)?;
        if !f.mse.is_nan() && best.as_ref().is_none_or(|b| f.mse < b.mse) {
            best = Some(f);
        }
    }
    let best = match best {
        Some(b) if b.mse.is_finite() => b,
        _ => return Err(Unfit::NoFit),
    };
    let (mut mean, se) = predict(&best, h);
    let mut intervals = (!levels.is_empty()).then(|| Intervals::normal(&mean, &se, levels));
    if let Some((idx, mult)) = &season {
        let n = y.len();
        let apply = |v: &mut [f64]| {
            for (k, x) in v.iter_mut().enumerate() {
                let s = idx[(n + k) % m];
                if *mult {
                    *x *= s;
                } else {
                    *x += s;
                }
            }
        };
        apply(&mut mean);
        if let Some(iv) = intervals.as_mut() {
            for b in iv.lo.iter_mut().chain(iv.hi.iter_mut()) {
                apply(b);
            }
        }
    }
    Ok(Output { mean, intervals })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_theta_on_a_line_continues_it() {
        // On an exact line, SES of the line plus half its slope: the forecast keeps
        // rising at the line's slope (θ = 2 halves the drift, SES lags by it).
        let y: Vec<f64> = (0..40).map(|t| 10.0 + 2.0 * t as f64).collect();
        let out = forecast(&y, 5, 1, Some(Variant::Standard), &[]).unwrap();
        for k in 1..5 {
            let step = out.mean[k] - out.mean[k - 1];
            assert!((step - 1.0).abs() < 0.05, "{:?}", out.mean);
        }
    }

    #[test]
    fn standard_errors_are_the_simulated_ones() {
        // The propagated variance equals the spread of simulated paths through the
        // same recursion (independent check of the coefficient bookkeeping).
        let y: Vec<f64> = (0..60)
            .map(|t| 50.0 + 0.3 * t as f64 + ((t * 7919) % 13) as f64 / 3.0)
            .collect();
        for v in Variant::ALL {
            let f = fit(&y, v).unwrap();
            let h = 6;
            let (mean, se) = predict(&f, h);
            let mut normal = super::super::test_normals(12345);
            let paths = 20000;
            let mut sq = vec![0.0; h];
            let (alpha, c) = (f.alpha, 1.0 - 1.0 / f.theta);
            for _ in 0..paths {
                let mut s = f.state;
                for k in 0..h {
                    let i = f.n + k;
                    let w = (1.0 - alpha).powf(i as f64);
                    let w1 = (1.0 - alpha).powf((i + 1) as f64);
                    let yk = mu(&s, alpha, c, w, w1) + f.sigma * normal();
                    sq[k] += (yk - mean[k]).powi(2);
                    update(&mut s, i, alpha, yk, v.dynamic());
                }
            }
            for k in 0..h {
                let sim = (sq[k] / paths as f64).sqrt();
                assert!(
                    (sim / se[k] - 1.0).abs() < 0.03,
                    "{v:?} step {k}: {sim} vs {}",
                    se[k]
                );
            }
        }
    }
}
