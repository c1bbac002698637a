//! The differencing tests that choose `d` (KPSS) and `D` (seasonal strength).

use super::*;

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
