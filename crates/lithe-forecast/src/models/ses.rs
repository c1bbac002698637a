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

/// Σ (xᵢ − fᵢ)² over i ≥ 1: the one-step squared error.
pub fn sse(x: &[f64], alpha: f64) -> f64 {
    let Some((&first, rest)) = x.split_first() else {
        return 0.0;
    };
    let mut f = first;
    let mut s = 0.0;
    for &v in rest {
        s += (v - f) * (v - f);
        f = alpha * v + (1.0 - alpha) * f;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_by_hand() {
        // f1 = 1, f2 = .5·3 + .5·1 = 2, f3 = .5·2 + .5·2 = 2.
        assert_eq!(forecast(&[1.0, 3.0, 2.0], 0.5), 2.0);
        assert_eq!(sse(&[1.0, 3.0, 2.0], 0.5), 4.0);
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
