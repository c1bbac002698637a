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

/// [`sse`] for several values of α in one pass over `x` (four lanes; the same
/// arithmetic lane by lane, so each result has the bits [`sse`] gives): the chains
/// run side by side for about the latency of one.
pub fn sse_lanes(x: &[f64], alpha: [f64; 4]) -> [f64; 4] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2.
        return unsafe { sse_lanes_avx2(x, alpha) };
    }
    sse_lanes_any(x, alpha)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn sse_lanes_avx2(x: &[f64], alpha: [f64; 4]) -> [f64; 4] {
    sse_lanes_any(x, alpha)
}

#[inline(always)]
fn sse_lanes_any(x: &[f64], alpha: [f64; 4]) -> [f64; 4] {
    let Some((&first, rest)) = x.split_first() else {
        return [0.0; 4];
    };
    let b = alpha.map(|a| 1.0 - a);
    let b2 = b.map(|v| v * v);
    let ab: [f64; 4] = std::array::from_fn(|k| alpha[k] * b[k]);
    let mut f = [first; 4];
    let mut s = [0.0; 4];
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        let (x0, x1) = (p[0], p[1]);
        for k in 0..4 {
            let e0 = x0 - f[k];
            let f1 = b[k] * f[k] + alpha[k] * x0;
            let e1 = x1 - f1;
            s[k] += e0 * e0 + e1 * e1;
            f[k] = b2[k] * f[k] + (ab[k] * x0 + alpha[k] * x1);
        }
    }
    if let [x0] = pairs.remainder() {
        for k in 0..4 {
            s[k] += (x0 - f[k]) * (x0 - f[k]);
        }
    }
    s
}

/// The α in `[lo, hi]` that minimises [`sse`], by golden-section search to a bracket
/// of 1e-12; the search stops early when its two probes tie exactly (so a flat
/// objective gives the middle of the range).
///
/// Two steps per pass over the series: the next probe is known, and the one after it
/// is one of two points fixed before the next value is; [`sse_lanes`] evaluates all
/// three together. The probes and their order are the sequential search's.
pub fn best_alpha(x: &[f64], lo: f64, hi: f64) -> f64 {
    let phi = (5f64.sqrt() + 1.0) / 2.0;
    let (mut a, mut b) = (lo, hi);
    let mut c = b - (b - a) / phi;
    let mut d = a + (b - a) / phi;
    let [fc0, fd0, _, _] = sse_lanes(x, [c, d, c, d]);
    let (mut fc, mut fd) = (fc0, fd0);
    // Where a step goes from (a, b, c, d): to the lower end when f(c) < f(d), moving
    // the bracket and returning the new probe.
    let step = |left: bool, a: &mut f64, b: &mut f64, c: &mut f64, d: &mut f64| {
        if left {
            *b = *d;
            *d = *c;
            *c = *b - (*b - *a) / phi;
            *c
        } else {
            *a = *c;
            *c = *d;
            *d = *a + (*b - *a) / phi;
            *d
        }
    };
    // Which way a step goes: to the lower end when f(c) < f(d), the upper when
    // f(d) < f(c); nowhere on a tie (or a NaN).
    let way = |fc: f64, fd: f64| {
        if fc < fd {
            Some(true)
        } else if fd < fc {
            Some(false)
        } else {
            None
        }
    };
    while (b - a).abs() >= 1e-12 {
        // This step's probe, and the next step's two possible probes.
        let Some(left) = way(fc, fd) else { break };
        let (mut a1, mut b1, mut c1, mut d1) = (a, b, c, d);
        let p1 = step(left, &mut a1, &mut b1, &mut c1, &mut d1);
        let next = |l: bool| {
            let (mut a2, mut b2, mut c2, mut d2) = (a1, b1, c1, d1);
            step(l, &mut a2, &mut b2, &mut c2, &mut d2)
        };
        let (pl, pr) = (next(true), next(false));
        let [f1, fl, fr, _] = sse_lanes(x, [p1, pl, pr, p1]);
        if left {
            (fd, fc) = (fc, f1);
        } else {
            (fc, fd) = (fd, f1);
        }
        (a, b, c, d) = (a1, b1, c1, d1);
        if (b - a).abs() < 1e-12 {
            break;
        }
        let Some(left) = way(fc, fd) else { break };
        step(left, &mut a, &mut b, &mut c, &mut d);
        if left {
            (fd, fc) = (fc, fl);
        } else {
            (fc, fd) = (fd, fr);
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

    /// The golden-section search one probe at a time, as it was written first.
    fn best_alpha_sequential(x: &[f64], lo: f64, hi: f64) -> f64 {
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

    #[test]
    fn two_steps_per_pass_is_the_sequential_search() {
        let mut state = 12345u64;
        for n in [1usize, 2, 3, 7, 40, 41, 300] {
            let x: Vec<f64> = (0..n)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    ((state >> 33) % 1000) as f64 / 10.0
                })
                .collect();
            for (lo, hi) in [(0.01, 0.99), (0.1, 0.3), (0.0, 1.0)] {
                assert_eq!(
                    best_alpha(&x, lo, hi).to_bits(),
                    best_alpha_sequential(&x, lo, hi).to_bits(),
                    "n = {n}, [{lo}, {hi}]"
                );
            }
            let lanes = sse_lanes(&x, [0.1, 0.5, 0.77, 0.99]);
            for (v, a) in lanes.iter().zip([0.1, 0.5, 0.77, 0.99]) {
                assert_eq!(v.to_bits(), sse(&x, a).to_bits());
            }
        }
        // A series with a missing value: both stop where the probes are NaN.
        let x = [1.0, f64::NAN, 3.0, 4.0];
        assert_eq!(
            best_alpha(&x, 0.01, 0.99).to_bits(),
            best_alpha_sequential(&x, 0.01, 0.99).to_bits()
        );
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
