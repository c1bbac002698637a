//! Benchmarks every forecaster is measured against: naive, seasonal naive, the
//! historic average, the random walk with drift and window averages. The intervals
//! are normal, with the standard errors of the forecasting textbooks (Hyndman &
//! Athanasopoulos, *Forecasting: Principles and Practice*, 5.5), as StatsForecast
//! computes them.

use super::{Output, Unfit};
use crate::interval::Intervals;

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// √(Σe² / d): the residuals' root mean square with `d` degrees of freedom (0 when
/// there are none).
fn sigma(residuals: impl Iterator<Item = f64>, d: usize) -> f64 {
    if d == 0 {
        return 0.0;
    }
    (residuals.map(|e| e * e).sum::<f64>() / d as f64).sqrt()
}

fn with_intervals(mean: Vec<f64>, levels: &[f64], se: impl Fn(usize) -> f64) -> Output {
    let intervals = (!levels.is_empty()).then(|| {
        let se: Vec<f64> = (1..=mean.len()).map(se).collect();
        Intervals::normal(&mean, &se, levels)
    });
    Output { mean, intervals }
}

/// The last value, repeated. Standard error `σ√k`, σ from the one-step differences.
pub fn naive(y: &[f64], h: usize, levels: &[f64]) -> Result<Output, Unfit> {
    let n = y.len();
    let last = *y.last().ok_or(Unfit::NoData)?;
    let s = sigma(y.windows(2).map(|w| w[1] - w[0]), n - 1);
    Ok(with_intervals(vec![last; h], levels, |k| {
        s * (k as f64).sqrt()
    }))
}

/// The value one season back. Standard error `σ√(⌊(k−1)/m⌋ + 1)`, σ from the seasonal
/// differences.
pub fn seasonal_naive(y: &[f64], h: usize, m: usize, levels: &[f64]) -> Result<Output, Unfit> {
    let n = y.len();
    if n < m {
        return Err(Unfit::TooShort { need: m });
    }
    let last_season = &y[n - m..];
    let fc: Vec<f64> = (0..h).map(|k| last_season[k % m]).collect();
    let s = sigma((m..n).map(|t| y[t] - y[t - m]), n - m);
    Ok(with_intervals(fc, levels, |k| {
        s * (((k - 1) / m + 1) as f64).sqrt()
    }))
}

/// The mean of the history. Standard error `σ√(1 + 1/n)`.
pub fn historic_average(y: &[f64], h: usize, levels: &[f64]) -> Result<Output, Unfit> {
    let n = y.len();
    let mu = mean(y);
    let s = sigma(y.iter().map(|v| v - mu), n - 1);
    Ok(with_intervals(vec![mu; h], levels, |_| {
        s * (1.0 + 1.0 / n as f64).sqrt()
    }))
}

/// The last value plus the average step so far. Standard error `σ√(k(1 + k/(n−1)))`,
/// σ from the differences less the drift.
pub fn random_walk_with_drift(y: &[f64], h: usize, levels: &[f64]) -> Result<Output, Unfit> {
    let n = y.len();
    if n < 2 {
        return Err(Unfit::TooShort { need: 2 });
    }
    let drift = (y[n - 1] - y[0]) / (n - 1) as f64;
    let fc: Vec<f64> = (1..=h).map(|k| y[n - 1] + drift * k as f64).collect();
    let s = sigma(y.windows(2).map(|w| w[1] - w[0] - drift), n - 1);
    Ok(with_intervals(fc, levels, |k| {
        let k = k as f64;
        s * (k * (1.0 + k / (n - 1) as f64)).sqrt()
    }))
}

/// The mean of the last `w` values (no intervals).
pub fn window_average(y: &[f64], h: usize, w: usize) -> Result<Output, Unfit> {
    let w = w.max(1);
    if y.len() < w {
        return Err(Unfit::TooShort { need: w });
    }
    Ok(Output {
        mean: vec![mean(&y[y.len() - w..]); h],
        intervals: None,
    })
}

/// For each position in the season, the mean of its values over the last `w` seasons
/// (no intervals).
pub fn seasonal_window_average(y: &[f64], h: usize, m: usize, w: usize) -> Result<Output, Unfit> {
    let w = w.max(1);
    let need = w * m;
    if y.len() < need {
        return Err(Unfit::TooShort { need });
    }
    let tail = &y[y.len() - need..];
    let season: Vec<f64> = (0..m)
        .map(|j| (0..w).map(|i| tail[i * m + j]).sum::<f64>() / w as f64)
        .collect();
    Ok(Output {
        mean: (0..h).map(|k| season[k % m]).collect(),
        intervals: None,
    })
}
