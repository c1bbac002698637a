//! Intermittent-demand models: Croston (classic, optimised, SBA), TSB, ADIDA and
//! IMAPA, defined as in StatsForecast 2.1.

use super::{Output, Unfit, flat, ses};

/// Which Croston variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Croston {
    /// α = 0.1 for sizes and intervals.
    Classic,
    /// α for each searched in [0.1, 0.3].
    Optimized,
    /// Classic times 0.95 (Syntetos–Boylan).
    Sba,
}

/// Positive demand sizes, and the intervals between nonzero values (the first
/// counted from a virtual demand just before the series).
fn sizes_and_intervals(y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let sizes = y.iter().copied().filter(|&v| v > 0.0).collect();
    let mut intervals = Vec::new();
    let mut prev: i64 = -1;
    for (t, &v) in y.iter().enumerate() {
        if v != 0.0 {
            intervals.push((t as i64 - prev) as f64);
            prev = t as i64;
        }
    }
    (sizes, intervals)
}

/// Croston's method: smoothed demand size over smoothed interval. A series without
/// positive demand gets the naive forecast (its last value), as in StatsForecast.
pub fn croston(y: &[f64], h: usize, variant: Croston) -> Output {
    let (z, p) = sizes_and_intervals(y);
    let last = y.last().copied().unwrap_or(f64::NAN);
    let scale = if variant == Croston::Sba { 0.95 } else { 1.0 };
    if z.is_empty() {
        return flat(scale * last, h);
    }
    let (zf, pf) = match variant {
        Croston::Optimized => (
            ses::optimized_forecast(&z, 0.1, 0.3),
            ses::optimized_forecast(&p, 0.1, 0.3),
        ),
        _ => (ses::forecast(&z, 0.1), ses::forecast(&p, 0.1)),
    };
    flat(scale * if pf != 0.0 { zf / pf } else { zf }, h)
}

/// Teunter–Syntetos–Babai: smoothed probability of demand (α_p) times smoothed demand
/// size (α_d). An all-zero series forecasts 0.
pub fn tsb(y: &[f64], h: usize, alpha_d: f64, alpha_p: f64) -> Result<Output, Unfit> {
    if y.iter().all(|&v| v == 0.0) {
        return Ok(flat(0.0, h));
    }
    let (z, _) = sizes_and_intervals(y);
    if z.is_empty() {
        return Err(Unfit::NoDemand);
    }
    let d: Vec<f64> = y.iter().map(|&v| f64::from(u8::from(v != 0.0))).collect();
    Ok(flat(
        ses::forecast(&d, alpha_p) * ses::forecast(&z, alpha_d),
        h,
    ))
}

/// The mean interval between nonzero values, rounded half to even (at least 1).
fn aggregation_level(y: &[f64]) -> usize {
    let (_, p) = sizes_and_intervals(y);
    let mean = p.iter().sum::<f64>() / p.len() as f64;
    (mean.round_ties_even() as usize).max(1)
}

/// Sums of consecutive blocks of `k`, leaving out the first `n mod k` values.
fn block_sums(y: &[f64], k: usize) -> Vec<f64> {
    y[y.len() % k..]
        .chunks_exact(k)
        .map(|c| c.iter().sum())
        .collect()
}

/// The optimised smoothing forecast of the series aggregated in blocks of `k`.
fn chunk_forecast(y: &[f64], k: usize) -> f64 {
    if y.len() < k {
        return y.last().copied().unwrap_or(f64::NAN);
    }
    let s = block_sums(y, k);
    if s.len() == 1 {
        return s[0];
    }
    ses::optimized_forecast(&s, 0.1, 0.3)
}

/// Aggregate–disaggregate intermittent demand approach: smooth the series summed over
/// blocks as long as the mean interval between demands, then spread over the block.
pub fn adida(y: &[f64], h: usize) -> Output {
    if y.iter().all(|&v| v == 0.0) {
        return flat(0.0, h);
    }
    let k = aggregation_level(y);
    flat(chunk_forecast(y, k) / k as f64, h)
}

/// Intermittent multiple aggregation prediction algorithm: the mean of the ADIDA-style
/// forecasts at every aggregation level from 1 to the mean interval.
pub fn imapa(y: &[f64], h: usize) -> Output {
    if y.iter().all(|&v| v == 0.0) {
        return flat(0.0, h);
    }
    let top = aggregation_level(y);
    let mut sum = 0.0;
    let mut count = 0usize;
    for k in 1..=top {
        let s = block_sums(y, k);
        let f = match s.len() {
            0 => continue,
            1 => s[0],
            _ => ses::optimized_forecast(&s, 0.1, 0.3),
        };
        sum += f / k as f64;
        count += 1;
    }
    flat(sum / count.max(1) as f64, h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn croston_by_hand() {
        // Demands 3 at t=1 and 5 at t=4: sizes [3, 5], intervals [2, 3].
        let y = [0.0, 3.0, 0.0, 0.0, 5.0];
        let (z, p) = sizes_and_intervals(&y);
        assert_eq!((z.clone(), p.clone()), (vec![3.0, 5.0], vec![2.0, 3.0]));
        // Sizes: 0.1·5 + 0.9·3 = 3.2; intervals: 0.1·3 + 0.9·2 = 2.1.
        let c = croston(&y, 2, Croston::Classic).mean;
        assert!((c[0] - 3.2 / 2.1).abs() < 1e-15 && c[0] == c[1]);
        let sba = croston(&y, 1, Croston::Sba).mean[0];
        assert!((sba - 0.95 * 3.2 / 2.1).abs() < 1e-15);
        assert_eq!(croston(&[0.0, 0.0], 1, Croston::Classic).mean, vec![0.0]);
    }

    #[test]
    fn aggregation_by_hand() {
        // Intervals [2, 2, 2]: level 2; blocks of [0,4,0,2,0,6] → [4, 2, 6].
        let y = [0.0, 4.0, 0.0, 2.0, 0.0, 6.0];
        assert_eq!(aggregation_level(&y), 2);
        assert_eq!(block_sums(&y, 2), vec![4.0, 2.0, 6.0]);
        assert_eq!(block_sums(&y, 4), vec![8.0]);
        let a = ses::best_alpha(&[4.0, 2.0, 6.0], 0.1, 0.3);
        let expect = ses::forecast(&[4.0, 2.0, 6.0], a) / 2.0;
        assert_eq!(adida(&y, 1).mean[0], expect);
        assert_eq!(tsb(&[0.0; 4], 2, 0.1, 0.1).unwrap().mean, vec![0.0, 0.0]);
        // TSB: occurrence [0,1,0,1,0,1] smoothed at 0.5, sizes [4,2,6] at 0.5.
        let d = ses::forecast(&[0.0, 1.0, 0.0, 1.0, 0.0, 1.0], 0.5);
        let z = ses::forecast(&[4.0, 2.0, 6.0], 0.5);
        assert_eq!(tsb(&y, 1, 0.5, 0.5).unwrap().mean, vec![d * z]);
    }
}
