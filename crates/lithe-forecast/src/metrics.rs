//! The M4 competition's accuracy measures: sMAPE, MASE, and OWA against the Naive2
//! benchmark (Makridakis, Spiliotis & Assimakopoulos 2020; definitions as in the
//! competition's R evaluation script).

/// Symmetric MAPE in percent: mean of `200·|y − f| / (|y| + |f|)`.
pub fn smape(actual: &[f64], forecast: &[f64]) -> f64 {
    let s: f64 = actual
        .iter()
        .zip(forecast)
        .map(|(y, f)| 200.0 * (y - f).abs() / (y.abs() + f.abs()))
        .sum();
    s / actual.len() as f64
}

/// The MASE scale: mean absolute seasonal difference (lag `m`) of the history;
/// `None` when the history is no longer than `m`.
pub fn mase_scale(history: &[f64], m: usize) -> Option<f64> {
    let m = m.max(1);
    if history.len() <= m {
        return None;
    }
    let d: f64 = (m..history.len())
        .map(|t| (history[t] - history[t - m]).abs())
        .sum();
    Some(d / (history.len() - m) as f64)
}

/// Mean absolute error over the MASE scale.
pub fn mase(actual: &[f64], forecast: &[f64], scale: f64) -> f64 {
    let mae: f64 = actual
        .iter()
        .zip(forecast)
        .map(|(y, f)| (y - f).abs())
        .sum::<f64>()
        / actual.len() as f64;
    mae / scale
}

/// Sample autocorrelations at lags 1..=`max_lag` (demeaned, over the full-series
/// variance, as R's `acf`).
pub(crate) fn acf(y: &[f64], max_lag: usize) -> Vec<f64> {
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let dev: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let var: f64 = dev.iter().map(|d| d * d).sum();
    (1..=max_lag)
        .map(|k| (0..n - k).map(|t| dev[t] * dev[t + k]).sum::<f64>() / var)
        .collect()
}

/// The M4 seasonality test at the 90 % level: the autocorrelation at lag `m` exceeds
/// `1.645·√((1 + 2·Σ_{k<m} r_k²)/n)`. Needs `n ≥ 3m`, and (as R computes lags only up
/// to `⌊10·log10 n⌋`) `m` within that range.
pub fn is_seasonal(y: &[f64], m: usize) -> bool {
    let n = y.len();
    if m <= 1 || n < 3 * m {
        return false;
    }
    let max_lag = ((10.0 * (n as f64).log10()).floor() as usize).min(n - 1);
    if m > max_lag {
        return false;
    }
    let r = acf(y, m);
    let sum_sq: f64 = r[..m - 1].iter().map(|v| v * v).sum();
    let limit = 1.645 * ((1.0 + 2.0 * sum_sq) / n as f64).sqrt();
    r[m - 1].abs() > limit
}

/// Seasonal indices of a classical multiplicative decomposition (R's `decompose`):
/// a centred moving average of order `m` as the trend, the mean ratio to it per
/// position (counted from the first value), normalised to average 1.
pub fn seasonal_indices(y: &[f64], m: usize) -> Vec<f64> {
    decompose_seasonal(y, m, true)
}

/// The seasonal component of a classical decomposition, one value per position
/// (counted from the first observation): additive (differences from the centred
/// moving average, centred to sum 0) or multiplicative (ratios, normalised to average
/// 1). This is R's `decompose` and statsmodels' `seasonal_decompose`.
pub fn decompose_seasonal(y: &[f64], m: usize, multiplicative: bool) -> Vec<f64> {
    let n = y.len();
    let weights: Vec<f64> = if m.is_multiple_of(2) {
        let mut w = vec![1.0 / m as f64; m + 1];
        w[0] = 0.5 / m as f64;
        w[m] = 0.5 / m as f64;
        w
    } else {
        vec![1.0 / m as f64; m]
    };
    let half = weights.len() / 2;
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for t in half..n.saturating_sub(weights.len() - 1 - half) {
        let trend: f64 = weights
            .iter()
            .enumerate()
            .map(|(j, w)| w * y[t + j - half])
            .sum();
        let ratio = if multiplicative {
            y[t] / trend
        } else {
            y[t] - trend
        };
        if ratio.is_finite() {
            sums[t % m] += ratio;
            counts[t % m] += 1;
        }
    }
    let raw: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| s / c as f64)
        .collect();
    let mean = raw.iter().sum::<f64>() / m as f64;
    if multiplicative {
        raw.iter().map(|r| r / mean).collect()
    } else {
        raw.iter().map(|r| r - mean).collect()
    }
}

/// The Naive2 benchmark: the naive forecast of the seasonally adjusted series (when
/// the seasonality test says so), re-seasonalised.
pub fn naive2(y: &[f64], h: usize, m: usize) -> Vec<f64> {
    let n = y.len();
    let Some(&last) = y.last() else {
        return vec![f64::NAN; h];
    };
    if !is_seasonal(y, m) {
        return vec![last; h];
    }
    let si = seasonal_indices(y, m);
    let base = last / si[(n - 1) % m];
    (1..=h).map(|k| base * si[(n - 1 + k) % m]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_by_hand() {
        assert!((smape(&[100.0, 50.0], &[110.0, 50.0]) - 200.0 * 10.0 / 210.0 / 2.0).abs() < 1e-12);
        // Seasonal differences at lag 2 of [1, 2, 4, 3, 7]: 3, 1, 3.
        assert_eq!(mase_scale(&[1.0, 2.0, 4.0, 3.0, 7.0], 2), Some(7.0 / 3.0));
        assert_eq!(mase_scale(&[1.0, 2.0], 2), None);
        assert!((mase(&[2.0, 4.0], &[1.0, 1.0], 2.0) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn naive2_on_a_seasonal_and_a_flat_series() {
        // A clean multiplicative season of 4 on a rising level: the test finds it,
        // the indices come back, and the forecast continues the pattern.
        let pattern = [0.8, 1.2, 1.1, 0.9];
        let y: Vec<f64> = (0..48)
            .map(|t| (100.0 + t as f64) * pattern[t % 4])
            .collect();
        assert!(is_seasonal(&y, 4));
        let si = seasonal_indices(&y, 4);
        for (a, b) in si.iter().zip(pattern) {
            assert!((a - b).abs() < 0.01, "{si:?}");
        }
        let f = naive2(&y, 4, 4);
        let base = y[47] / si[3];
        assert!((f[0] - base * si[0]).abs() < 1e-9);
        // Without a season (or too short to test), Naive2 is the naive forecast.
        let flat: Vec<f64> = (0..20).map(|t| (t % 3) as f64 + 10.0).collect();
        assert!(!is_seasonal(&flat[..10], 4));
        assert_eq!(naive2(&flat[..10], 2, 4), vec![flat[9]; 2]);
    }
}
