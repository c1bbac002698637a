//! Simple exponential smoothing as the intermittent-demand models use it: the level
//! starts at the first value, and α is found by a golden-section search on the
//! one-step squared error (as StatsForecast 2.1 does).

/// One-step forecast after the whole series: `f₁ = x₀`, `fᵢ₊₁ = α·xᵢ + (1−α)·fᵢ`.
pub fn forecast(x: &[f64], alpha: f64) -> f64 {
    let Some((&first, rest)) = x.split_first() else {
        return f64::NAN;
    };
    rest.iter()
        .fold(first, |f, &v| alpha * v + (1.0 - alpha) * f)
}

/// Σ (xᵢ − fᵢ)² over i ≥ 1: the one-step squared error. The level advances two
/// steps at a time on its dependency chain (`fᵢ₊₂ = (1−α)²·fᵢ + α(1−α)·xᵢ + α·xᵢ₊₁`),
/// with the step between computed beside it, which halves the chain's latency: the
/// α search evaluates this some fifty times per series.
pub fn sse(x: &[f64], alpha: f64) -> f64 {
    let Some((&first, rest)) = x.split_first() else {
        return 0.0;
    };
    let b = 1.0 - alpha;
    let (b2, ab) = (b * b, alpha * b);
    let mut f = first;
    let mut s = 0.0;
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        let (x0, x1) = (p[0], p[1]);
        let e0 = x0 - f;
        let f1 = b * f + alpha * x0;
        let e1 = x1 - f1;
        s += e0 * e0 + e1 * e1;
        f = b2 * f + (ab * x0 + alpha * x1);
    }
    if let [x0] = pairs.remainder() {
        s += (x0 - f) * (x0 - f);
    }
    s
}

/// The α in `[lo, hi]` that minimises [`sse`], by golden-section search to a bracket
/// of 1e-12; the search stops early when its two probes tie exactly (so a flat
/// objective gives the middle of the range).
pub fn best_alpha(x: &[f64], lo: f64, hi: f64) -> f64 {
    let phi = (5f64.sqrt() + 1.0) / 2.0;
    let (mut a, mut b) = (lo, hi);
    let mut c = b - (b - a) / phi;
    let mut d = a + (b - a) / phi;
    let (mut fc, mut fd) = (sse(x, c), sse(x, d));
    while (b - a).abs() >= 1e-12 {
        if fc < fd {
            b = d;
            d = c;
            fd = fc;
            c = b - (b - a) / phi;
            fc = sse(x, c);
        } else if fd < fc {
            a = c;
            c = d;
            fc = fd;
            d = a + (b - a) / phi;
            fd = sse(x, d);
        } else {
            break;
        }
    }
    (a + b) / 2.0
}

/// The forecast with the best α in `[lo, hi]`.
pub fn optimized_forecast(x: &[f64], lo: f64, hi: f64) -> f64 {
    forecast(x, best_alpha(x, lo, hi))
}

/// Seasonal exponential smoothing: each position of the season smoothed on its own
/// (the values at that position, the first `n mod m` left out so the last value ends a
/// season), with `alpha`, or each its best α in [0.01, 0.99] when `None`.
pub fn seasonal(
    y: &[f64],
    h: usize,
    m: usize,
    alpha: Option<f64>,
) -> Result<super::Output, super::Unfit> {
    let n = y.len();
    if n < m {
        return Err(super::Unfit::TooShort { need: m });
    }
    let r = n % m;
    let season: Vec<f64> = (0..m)
        .map(|i| {
            let sub: Vec<f64> = y[r + i..].iter().step_by(m).copied().collect();
            match alpha {
                Some(a) => forecast(&sub, a),
                None => optimized_forecast(&sub, 0.01, 0.99),
            }
        })
        .collect();
    Ok(super::Output {
        mean: (0..h).map(|k| season[k % m]).collect(),
        intervals: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_by_hand() {
        // f1 = 1, f2 = .5·3 + .5·1 = 2, f3 = .5·2 + .5·2 = 2.
        assert_eq!(forecast(&[1.0, 3.0, 2.0], 0.5), 2.0);
        assert_eq!(sse(&[1.0, 3.0, 2.0], 0.5), 4.0);
        // The two-step chain agrees with the plain recurrence, odd and even lengths.
        for n in [1usize, 2, 5, 8, 9] {
            let x: Vec<f64> = (0..n).map(|i| ((i * 7919) % 13) as f64 - 4.0).collect();
            let mut f = x[0];
            let mut plain = 0.0;
            for &v in &x[1..] {
                plain += (v - f) * (v - f);
                f = 0.3 * v + 0.7 * f;
            }
            assert!(
                (sse(&x, 0.3) - plain).abs() <= 1e-12 * plain.max(1.0),
                "{n}"
            );
        }
        assert_eq!(forecast(&[7.0], 0.3), 7.0);
        // A flat objective: the middle of the range.
        assert_eq!(best_alpha(&[5.0, 5.0, 5.0], 0.1, 0.3), 0.2);
    }

    #[test]
    fn search_finds_the_minimum_of_the_error() {
        let x = [3.0, 8.0, 1.0, 9.0, 4.0, 4.5, 10.0, 2.0, 6.0];
        let a = best_alpha(&x, 0.01, 0.99);
        let grid_best = (1..=980)
            .map(|i| 0.01 + i as f64 * 0.001)
            .map(|g| (sse(&x, g), g))
            .min_by(|p, q| p.0.total_cmp(&q.0))
            .unwrap();
        assert!(sse(&x, a) <= grid_best.0 + 1e-12);
        assert!((a - grid_best.1).abs() < 2e-3);
    }
}
