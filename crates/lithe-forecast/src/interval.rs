//! Prediction intervals: the normal quantile and symmetric intervals from standard
//! errors.

/// Interval bounds per level: `lo[l][k]`, `hi[l][k]` for level `l`, step `k`.
#[derive(Debug, Clone, PartialEq)]
pub struct Intervals {
    pub lo: Vec<Vec<f64>>,
    pub hi: Vec<Vec<f64>>,
}

impl Intervals {
    /// `mean ± z(level) · se` for every level (in percent) and step.
    pub fn normal(mean: &[f64], se: &[f64], levels: &[f64]) -> Intervals {
        let mut lo = Vec::with_capacity(levels.len());
        let mut hi = Vec::with_capacity(levels.len());
        for &level in levels {
            let z = normal_quantile(0.5 + level / 200.0);
            lo.push(mean.iter().zip(se).map(|(m, s)| m - z * s).collect());
            hi.push(mean.iter().zip(se).map(|(m, s)| m + z * s).collect());
        }
        Intervals { lo, hi }
    }
}

/// The standard normal distribution function, to about 1e-15 absolute.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let t = x / std::f64::consts::SQRT_2;
    if t.abs() < 2.5 {
        0.5 * (1.0 + erf_series(t))
    } else if t > 0.0 {
        1.0 - 0.5 * erfc_fraction(t)
    } else {
        0.5 * erfc_fraction(-t)
    }
}

/// erf by its Maclaurin series (good for small arguments).
fn erf_series(x: f64) -> f64 {
    let x2 = x * x;
    let mut term = x;
    let mut sum = x;
    // |x| < 2.5: the terms fall below 1e-17 of the sum within 80 steps.
    for n in 1..200 {
        let n = n as f64;
        term *= -x2 / n;
        let add = term / (2.0 * n + 1.0);
        sum += add;
        if add.abs() <= 1e-17 * sum.abs() {
            break;
        }
    }
    sum * std::f64::consts::FRAC_2_SQRT_PI
}

/// erfc for x ≥ 2.5 by its continued fraction, evaluated with the modified Lentz method.
fn erfc_fraction(x: f64) -> f64 {
    // erfc(x) = exp(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))))
    let tiny = 1e-300;
    let mut f = x;
    let mut c = x;
    let mut d = 0.0;
    for k in 1..500 {
        let a = k as f64 / 2.0;
        d = x + a * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = x + a / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / std::f64::consts::PI.sqrt() / f
}

/// The standard normal quantile: Newton's method on [`normal_cdf`], kept inside a
/// bisection bracket. `p` outside (0, 1) gives ∓∞ or `NaN`.
pub fn normal_quantile(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    // Work in the lower tail, where the distribution function keeps its precision.
    let (q, sign) = if p > 0.5 { (1.0 - p, 1.0) } else { (p, -1.0) };
    let (mut lo, mut hi) = (-40.0f64, 0.0f64);
    let mut x = (-(1.0 / q - 1.0).ln() * 0.6).clamp(lo, hi);
    for _ in 0..200 {
        let f = normal_cdf(x) - q;
        if f == 0.0 {
            break;
        }
        if f < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let density = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mut next = x - f / density;
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        let done = (next - x).abs() <= 1e-15 * x.abs().max(1.0);
        x = next;
        if done || hi - lo <= 1e-15 * x.abs().max(1.0) {
            break;
        }
    }
    sign * -x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_normal_values() {
        // Published quantiles of the standard normal.
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-12);
        assert!((normal_quantile(0.9) - 1.2815515655446004).abs() < 1e-12);
        assert!((normal_quantile(0.5)).abs() < 1e-14);
        assert!((normal_quantile(0.001) + 3.090232306167813).abs() < 1e-11);
        assert!((normal_cdf(1.0) - 0.8413447460685429).abs() < 1e-14);
        assert!((normal_cdf(-4.0) - 3.167124183311998e-05).abs() < 1e-18);
        for p in [0.01, 0.2, 0.5, 0.77, 0.999] {
            assert!((normal_cdf(normal_quantile(p)) - p).abs() < 1e-14);
        }
    }
}
