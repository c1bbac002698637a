//! Losses: the starting score, and gradients and hessians of each row.

use rayon::prelude::*;

use crate::params::Objective;
use crate::weights::weighted_quantile;

#[inline]
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The `q` quantile of `v` (linear interpolation between order statistics).
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// The constant score boosting starts from, one per tree of a round.
pub fn init_scores(obj: Objective, y: &[f64], n_class: usize, alpha: f64) -> Vec<f64> {
    let n = y.len().max(1) as f64;
    match obj {
        Objective::L2 | Objective::Huber => vec![y.iter().sum::<f64>() / n],
        Objective::L1 => vec![quantile(&mut y.to_vec(), 0.5)],
        Objective::Quantile => vec![quantile(&mut y.to_vec(), alpha)],
        Objective::Poisson => vec![(y.iter().sum::<f64>() / n).max(1e-12).ln()],
        Objective::Binary => {
            let p = (y.iter().sum::<f64>() / n).clamp(1e-12, 1.0 - 1e-12);
            vec![(p / (1.0 - p)).ln()]
        }
        Objective::Multiclass => {
            let mut counts = vec![0.0f64; n_class];
            for &c in y {
                counts[c as usize] += 1.0;
            }
            counts.iter().map(|&c| (c.max(1e-12) / n).ln()).collect()
        }
    }
}

/// [`init_scores`] with row weights `w` (parallel to `y`): weighted means, class
/// shares and quantiles, as LightGBM starts from with weights. Unit weights give the
/// same bits as [`init_scores`].
pub fn init_scores_weighted(
    obj: Objective,
    y: &[f64],
    w: &[f64],
    n_class: usize,
    alpha: f64,
) -> Vec<f64> {
    let total: f64 = w.iter().sum();
    let mean = || y.iter().zip(w).map(|(y, w)| y * w).sum::<f64>() / total;
    let pairs = || y.iter().copied().zip(w.iter().copied()).collect::<Vec<_>>();
    match obj {
        Objective::L2 | Objective::Huber => vec![mean()],
        Objective::L1 => vec![weighted_quantile(&mut pairs(), 0.5)],
        Objective::Quantile => vec![weighted_quantile(&mut pairs(), alpha)],
        Objective::Poisson => vec![mean().max(1e-12).ln()],
        Objective::Binary => {
            let p = mean().clamp(1e-12, 1.0 - 1e-12);
            vec![(p / (1.0 - p)).ln()]
        }
        Objective::Multiclass => {
            let mut sums = vec![0.0f64; n_class];
            for (&c, &w) in y.iter().zip(w) {
                sums[c as usize] += w;
            }
            sums.iter().map(|&c| (c.max(1e-12) / total).ln()).collect()
        }
    }
}

/// Multiply each row's gradients and hessians (`g[k * n + i]`, every class `k`) by its
/// weight `w[i]`, as LightGBM weighs rows; the products are taken in f64.
pub fn weigh_gradients(g: &mut [f32], h: &mut [f32], w: &[f64]) {
    const CHUNK: usize = 1 << 14;
    let n = w.len().max(1);
    for (gk, hk) in g.chunks_mut(n).zip(h.chunks_mut(n)) {
        gk.par_chunks_mut(CHUNK)
            .zip(hk.par_chunks_mut(CHUNK))
            .zip(w.par_chunks(CHUNK))
            .for_each(|((gc, hc), wc)| {
                for ((gi, hi), &wi) in gc.iter_mut().zip(hc.iter_mut()).zip(wc) {
                    *gi = (*gi as f64 * wi) as f32;
                    *hi = (*hi as f64 * wi) as f32;
                }
            });
    }
}

/// Fill `g` and `h` (row-major by class for multiclass: `g[k * n + i]`) from the
/// current raw scores (`score[k * n + i]`).
pub fn gradients(
    obj: Objective,
    y: &[f64],
    score: &[f64],
    n_class: usize,
    alpha: f64,
    g: &mut [f32],
    h: &mut [f32],
) {
    let per_row = |f: &(dyn Fn(f64, f64) -> (f64, f64) + Sync), g: &mut [f32], h: &mut [f32]| {
        g.par_iter_mut()
            .zip(h.par_iter_mut())
            .enumerate()
            .for_each(|(i, (gi, hi))| {
                let (a, b) = f(score[i], y[i]);
                *gi = a as f32;
                *hi = b as f32;
            });
    };
    let n = y.len();
    match obj {
        Objective::L2 => {
            g.par_iter_mut()
                .zip(h.par_iter_mut())
                .enumerate()
                .for_each(|(i, (gi, hi))| {
                    *gi = (score[i] - y[i]) as f32;
                    *hi = 1.0;
                });
        }
        Objective::Binary => {
            g.par_iter_mut()
                .zip(h.par_iter_mut())
                .enumerate()
                .for_each(|(i, (gi, hi))| {
                    let p = sigmoid(score[i]);
                    *gi = (p - y[i]) as f32;
                    *hi = (p * (1.0 - p)).max(1e-16) as f32;
                });
        }
        Objective::L1 => per_row(&|s, y| ((s - y).signum(), 1.0), g, h),
        Objective::Huber => per_row(&|s, y| ((s - y).clamp(-alpha, alpha), 1.0), g, h),
        Objective::Quantile => per_row(
            &|s, y| (if y >= s { -alpha } else { 1.0 - alpha }, 1.0),
            g,
            h,
        ),
        // LightGBM's safeguard: the hessian uses exp(score + 0.7).
        Objective::Poisson => per_row(&|s, y| (s.exp() - y, (s + 0.7).exp()), g, h),
        Objective::Multiclass => {
            // Softmax per row; LightGBM's hessian factor K/(K-1) keeps steps comparable.
            // First each row's max and normaliser, then every class slice in parallel.
            let factor = n_class as f64 / (n_class as f64 - 1.0);
            let (mx, den): (Vec<f64>, Vec<f64>) = (0..n)
                .into_par_iter()
                .map(|i| {
                    let m = (0..n_class)
                        .map(|k| score[k * n + i])
                        .fold(f64::NEG_INFINITY, f64::max);
                    let s: f64 = (0..n_class).map(|k| (score[k * n + i] - m).exp()).sum();
                    (m, s)
                })
                .unzip();
            g.par_chunks_mut(n)
                .zip(h.par_chunks_mut(n))
                .enumerate()
                .for_each(|(k, (gk, hk))| {
                    for i in 0..n {
                        let p = (score[k * n + i] - mx[i]).exp() / den[i];
                        let is_label = y[i] as usize == k;
                        gk[i] = (p - if is_label { 1.0 } else { 0.0 }) as f32;
                        hk[i] = (factor * p * (1.0 - p)).max(1e-16) as f32;
                    }
                });
        }
    }
}
