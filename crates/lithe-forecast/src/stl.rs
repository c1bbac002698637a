//! STL: seasonal-trend decomposition by loess (Cleveland, Cleveland, McRae &
//! Terpenning, 1990), with the defaults of statsmodels' `STL` (which follows the
//! original Fortran): trend window the next odd number ≥ 1.5·period/(1 − 1.5/seasonal),
//! low-pass window the next odd number > period, degree-1 trend and low-pass loess,
//! jumps of 1, five inner passes and no robustness iterations.

/// A decomposition's parts (each as long as the series).
#[derive(Debug, Clone, PartialEq)]
pub struct Decomposition {
    pub seasonal: Vec<f64>,
    pub trend: Vec<f64>,
}

/// STL settings.
#[derive(Debug, Clone, Copy)]
pub struct Stl {
    pub period: usize,
    /// Seasonal smoother window (odd, ≥ 3).
    pub seasonal: usize,
    /// Degree of the seasonal loess (0 or 1).
    pub seasonal_deg: usize,
    pub inner_iter: usize,
}

fn next_odd(v: usize) -> usize {
    if v.is_multiple_of(2) { v + 1 } else { v }
}

/// The tricube weight of a point at distance `r` in a window of half-width `h`
/// (1 within `h1` of the centre; the caller excludes points beyond 0.999·h).
fn tricube(r: f64, h: f64, h1: f64) -> f64 {
    if r <= h1 {
        1.0
    } else {
        let t = r / h;
        let u = 1.0 - t * t * t;
        u * u * u
    }
}

/// The loess estimate at `xs` (1-based) from points `nleft..=nright` (1-based) of
/// `y`, with tricube weights over the window half-width; `w` is scratch. `None`
/// when every weight is zero.
#[allow(clippy::too_many_arguments)]
fn est(
    y: &[f64],
    n: usize,
    len: usize,
    deg: usize,
    xs: f64,
    nleft: usize,
    nright: usize,
    w: &mut [f64],
) -> Option<f64> {
    let range = n as f64 - 1.0;
    let mut h = (xs - nleft as f64).max(nright as f64 - xs);
    if len > n {
        h += ((len - n) / 2) as f64;
    }
    let h9 = 0.999 * h;
    let h1 = 0.001 * h;
    let mut a = 0.0;
    for (j, wj) in w.iter_mut().enumerate().take(nright).skip(nleft - 1) {
        *wj = 0.0;
        let r = ((j + 1) as f64 - xs).abs();
        if r <= h9 {
            *wj = tricube(r, h, h1);
            a += *wj;
        }
    }
    if a <= 0.0 {
        return None;
    }
    for wj in &mut w[nleft - 1..nright] {
        *wj /= a;
    }
    if h > 0.0 && deg > 0 {
        let mut a = 0.0;
        for (j, wj) in w.iter().enumerate().take(nright).skip(nleft - 1) {
            a += wj * (j + 1) as f64;
        }
        let mut b = xs - a;
        let mut c = 0.0;
        for (j, wj) in w.iter().enumerate().take(nright).skip(nleft - 1) {
            let d = (j + 1) as f64 - a;
            c += wj * (d * d);
        }
        if c.sqrt() > 0.001 * range {
            b /= c;
            for (j, wj) in w.iter_mut().enumerate().take(nright).skip(nleft - 1) {
                *wj *= b * ((j + 1) as f64 - a) + 1.0;
            }
        }
    }
    Some(
        w[nleft - 1..nright]
            .iter()
            .zip(&y[nleft - 1..nright])
            .map(|(w, y)| w * y)
            .sum(),
    )
}

/// Loess smoothing of `y[..n]` with window `len` at every point (jump 1).
fn ess(y: &[f64], n: usize, len: usize, deg: usize, out: &mut [f64], w: &mut [f64]) {
    if n < 2 {
        out[0] = y[0];
        return;
    }
    if len >= n {
        for i in 0..n {
            out[i] = est(y, n, len, deg, (i + 1) as f64, 1, n, w).unwrap_or(y[i]);
        }
        return;
    }
    let nsh = (len + 2) / 2;
    let (mut nleft, mut nright) = (1, len);
    // Where the window sits symmetrically around the point (odd `len`), the
    // normalised tricube weights are the same at every point and a local line
    // through them adds nothing (its slope term is zero up to rounding): one weight
    // vector serves them all.
    let mut central: Option<Vec<f64>> = None;
    for i in 0..n {
        if i + 1 > nsh && nright != n {
            nleft += 1;
            nright += 1;
        }
        let xs = i + 1;
        if len % 2 == 1 && xs - nleft == nright - xs {
            let cw = central.get_or_insert_with(|| {
                let mut v = vec![0.0; len];
                let h = ((len - 1) / 2) as f64;
                let (h9, h1) = (0.999 * h, 0.001 * h);
                let mut a = 0.0;
                for (k, vk) in v.iter_mut().enumerate() {
                    let r = (k as f64 - h).abs();
                    if r <= h9 {
                        *vk = tricube(r, h, h1);
                        a += *vk;
                    }
                }
                v.iter_mut().for_each(|vk| *vk /= a);
                v
            });
            out[i] = cw
                .iter()
                .zip(&y[nleft - 1..nright])
                .map(|(w, y)| w * y)
                .sum();
            continue;
        }
        out[i] = est(y, n, len, deg, xs as f64, nleft, nright, w).unwrap_or(y[i]);
    }
}

/// Moving average of window `len` over `x[..n]` into `out[..n − len + 1]`.
fn moving_average(x: &[f64], n: usize, len: usize, out: &mut [f64]) {
    let flen = len as f64;
    let mut v: f64 = x[..len].iter().sum();
    out[0] = v / flen;
    for j in 1..n - len + 1 {
        v += x[len + j - 1] - x[j - 1];
        out[j] = v / flen;
    }
}

impl Stl {
    /// Decompose `y` (at least two periods long).
    pub fn fit(&self, y: &[f64]) -> Decomposition {
        let n = y.len();
        let np = self.period;
        let ns = self.seasonal;
        let nt = next_odd((1.5 * np as f64 / (1.0 - 1.5 / ns as f64)).ceil() as usize);
        let nl = next_odd(np + 1);
        let len = n + 2 * np;
        let mut trend = vec![0.0; n];
        let mut season = vec![0.0; n];
        let mut detrended = vec![0.0; n];
        let mut cycle = vec![0.0; len];
        let mut w = vec![0.0; len];
        let mut sub = vec![0.0; n / np + 1];
        let mut sub_s = vec![0.0; n / np + 3];
        let mut a1 = vec![0.0; len];
        let mut a2 = vec![0.0; len];
        let mut low = vec![0.0; n];
        for _ in 0..self.inner_iter {
            for i in 0..n {
                detrended[i] = y[i] - trend[i];
            }
            // Cycle-subseries smoothing, each extended one period at both ends.
            for j in 0..np {
                let k = (n - (j + 1)) / np + 1;
                for i in 0..k {
                    sub[i] = detrended[i * np + j];
                }
                ess(&sub, k, ns, self.seasonal_deg, &mut sub_s[1..], &mut w);
                let nright = ns.min(k);
                sub_s[0] =
                    est(&sub, k, ns, self.seasonal_deg, 0.0, 1, nright, &mut w).unwrap_or(sub_s[1]);
                let nleft = 1.max((k + 1).saturating_sub(ns));
                sub_s[k + 1] = est(
                    &sub,
                    k,
                    ns,
                    self.seasonal_deg,
                    (k + 1) as f64,
                    nleft,
                    k,
                    &mut w,
                )
                .unwrap_or(sub_s[k]);
                for (m, v) in sub_s.iter().enumerate().take(k + 2) {
                    cycle[m * np + j] = *v;
                }
            }
            // Low-pass filter of the cycle: moving averages of np, np and 3, then loess.
            moving_average(&cycle, len, np, &mut a1);
            moving_average(&a1, len - np + 1, np, &mut a2);
            moving_average(&a2, len - 2 * np + 2, 3, &mut a1);
            ess(&a1, n, nl, 1, &mut low, &mut w);
            for i in 0..n {
                season[i] = cycle[np + i] - low[i];
                detrended[i] = y[i] - season[i];
            }
            ess(&detrended, n, nt, 1, &mut trend, &mut w);
        }
        Decomposition {
            seasonal: season,
            trend,
        }
    }
}

/// MSTL (Bandara, Hyndman & Bergmeir, 2021) as StatsForecast's `mstl`: each
/// seasonal period in turn (shortest first) is re-estimated by STL on the series
/// less the other seasonal components, with seasonal windows 11, 15, 19, …, twice
/// over when there are several periods. Returns the seasonal components (in the
/// order of `periods` sorted) and the deseasonalised series (trend + remainder).
pub fn mstl(y: &[f64], periods: &[usize]) -> (Vec<Vec<f64>>, Vec<f64>) {
    let mut ps = periods.to_vec();
    ps.sort_unstable();
    let n = y.len();
    let iterate = if ps.len() == 1 { 1 } else { 2 };
    let mut seas = vec![vec![0.0; n]; ps.len()];
    let mut deseas = y.to_vec();
    let mut trend = vec![0.0; n];
    for _ in 0..iterate {
        for (i, &p) in ps.iter().enumerate() {
            for t in 0..n {
                deseas[t] += seas[i][t];
            }
            let fit = Stl {
                period: p,
                seasonal: 7 + 4 * (i + 1),
                seasonal_deg: 0,
                inner_iter: 5,
            }
            .fit(&deseas);
            seas[i] = fit.seasonal;
            for t in 0..n {
                deseas[t] -= seas[i][t];
            }
            trend = fit.trend;
        }
    }
    // trend + (deseasonalised − trend), as StatsForecast sums its columns.
    let adjusted = deseas
        .iter()
        .zip(&trend)
        .map(|(d, t)| t + (d - t))
        .collect();
    (seas, adjusted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_clean_season_and_line() {
        let pattern = [3.0, -1.0, 0.5, -2.5];
        let y: Vec<f64> = (0..48)
            .map(|t| 10.0 + 0.2 * t as f64 + pattern[t % 4])
            .collect();
        let d = Stl {
            period: 4,
            seasonal: 11,
            seasonal_deg: 0,
            inner_iter: 5,
        }
        .fit(&y);
        for t in 8..40 {
            assert!(
                (d.seasonal[t] - pattern[t % 4]).abs() < 0.05,
                "t {t}: {}",
                d.seasonal[t]
            );
            assert!((d.trend[t] - (10.0 + 0.2 * t as f64)).abs() < 0.05);
        }
    }
}
