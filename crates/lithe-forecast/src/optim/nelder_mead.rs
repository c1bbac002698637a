//! Bounded Nelder–Mead, as StatsForecast runs it for ETS (and later CES and Theta):
//! every trial point is clamped into the box, the simplex starts from `x0` with each
//! coordinate in turn stretched by 5 %, the adaptive coefficients of Gao and Han
//! (2012) are used, and the search stops when the objective values' standard
//! deviation over the simplex drops below `tol` or after `max_iter` iterations.

/// The best point found and its objective value.
#[derive(Debug, Clone)]
pub struct Optimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub iterations: usize,
}

/// Settings of the search.
#[derive(Debug, Clone, Copy)]
pub struct NelderMead {
    pub init_step: f64,
    pub zero_pert: f64,
    pub tol: f64,
    pub max_iter: usize,
}

impl Default for NelderMead {
    fn default() -> Self {
        NelderMead {
            init_step: 0.05,
            zero_pert: 1e-4,
            tol: 1e-4,
            max_iter: 1000,
        }
    }
}

fn clamp_into(x: &mut [f64], lower: &[f64], upper: &[f64]) {
    for ((v, &lo), &hi) in x.iter_mut().zip(lower).zip(upper) {
        // max then min, as a NaN-free clamp that also accepts infinite bounds.
        *v = v.max(lo).min(hi);
    }
}

/// `centroid + coef·(xr − centroid)`, clamped into the box: the expansion (`coef` =
/// γ), outside contraction (ρ) and inside contraction (−ρ) points.
fn toward(centroid: &[f64], xr: &[f64], coef: f64, lower: &[f64], upper: &[f64], out: &mut [f64]) {
    for ((o, c), r) in out.iter_mut().zip(centroid).zip(xr) {
        *o = c + coef * (r - c);
    }
    clamp_into(out, lower, upper);
}

fn population_sd(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
}

/// How many points a batch objective is given at once.
pub const LANES: usize = 4;

impl NelderMead {
    /// Minimise `f` over the box `[lower, upper]` from `x0`.
    pub fn minimize<F: FnMut(&[f64]) -> f64>(
        &self,
        f: F,
        x0: &[f64],
        lower: &[f64],
        upper: &[f64],
    ) -> Optimum {
        self.run(
            Eval::<F, fn(&[&[f64]; LANES], &mut [f64; LANES])>::One(f),
            x0,
            lower,
            upper,
        )
    }

    /// Minimise with an objective that takes [`LANES`] points at once (the unused
    /// lanes of a call repeat the first point) and writes their values to `out`,
    /// for objectives whose cost is latency rather than arithmetic. Each iteration
    /// evaluates the reflected point together with the expansion and both
    /// contraction points it may need next, so one call replaces one or two
    /// sequential ones; the path taken, and the answer, are exactly those of
    /// [`NelderMead::minimize`].
    pub fn minimize_batch<F: FnMut(&[&[f64]; LANES], &mut [f64; LANES])>(
        &self,
        f: F,
        x0: &[f64],
        lower: &[f64],
        upper: &[f64],
    ) -> Optimum {
        self.run(Eval::<fn(&[f64]) -> f64, F>::Batch(f), x0, lower, upper)
    }

    fn run<F1, F4>(&self, mut f: Eval<F1, F4>, x0: &[f64], lower: &[f64], upper: &[f64]) -> Optimum
    where
        F1: FnMut(&[f64]) -> f64,
        F4: FnMut(&[&[f64]; LANES], &mut [f64; LANES]),
    {
        let n = x0.len();
        let nf = n as f64;
        let (alpha, gamma, rho, sigma) =
            (1.0, 1.0 + 2.0 / nf, 0.75 - 1.0 / (2.0 * nf), 1.0 - 1.0 / nf);
        let mut start = x0.to_vec();
        clamp_into(&mut start, lower, upper);
        let rows = n + 1;
        let mut simplex: Vec<f64> = Vec::with_capacity(rows * n);
        for _ in 0..rows {
            simplex.extend_from_slice(&start);
        }
        for i in 0..n {
            let v = simplex[i * n + i];
            let v = if v == 0.0 {
                self.zero_pert
            } else {
                v * (1.0 + self.init_step)
            };
            simplex[i * n + i] = v.max(lower[i]).min(upper[i]);
        }
        let mut fs = vec![0.0; rows];
        let all: Vec<usize> = (0..rows).collect();
        f.rows(&simplex, n, &all, &mut fs);
        let mut order: Vec<usize> = (0..rows).collect();
        let mut centroid = vec![0.0; n];
        let mut xr = vec![0.0; n];
        let mut xt = vec![0.0; n];
        let mut xoc = vec![0.0; n];
        let mut xic = vec![0.0; n];
        let mut best = 0;
        let mut it = 0;
        let mut others: Vec<usize> = Vec::with_capacity(rows);
        let batched = matches!(f, Eval::Batch(_));
        while it < self.max_iter {
            order.sort_by(|&a, &b| {
                fs[a]
                    .partial_cmp(&fs[b])
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            best = order[0];
            let worst = order[n];
            let second = order[n - 1];
            if population_sd(&fs) < self.tol {
                break;
            }
            it += 1;
            // Centroid of all points but the worst.
            centroid.iter_mut().for_each(|c| *c = 0.0);
            for r in 0..rows {
                for (c, v) in centroid.iter_mut().zip(&simplex[r * n..(r + 1) * n]) {
                    *c += v;
                }
            }
            for (c, w) in centroid
                .iter_mut()
                .zip(&simplex[worst * n..(worst + 1) * n])
            {
                *c = (*c - w) / nf;
            }
            // Reflection.
            for j in 0..n {
                xr[j] = centroid[j] + alpha * (centroid[j] - simplex[worst * n + j]);
            }
            clamp_into(&mut xr, lower, upper);
            // With a batch objective, the points that may follow are evaluated with it.
            let mut ahead = [f64::NAN; 3];
            let fr = if batched {
                toward(&centroid, &xr, gamma, lower, upper, &mut xt);
                toward(&centroid, &xr, rho, lower, upper, &mut xoc);
                toward(&centroid, &xr, -rho, lower, upper, &mut xic);
                let v = f.four([&xr, &xt, &xoc, &xic]);
                ahead = [v[1], v[2], v[3]];
                v[0]
            } else {
                f.one(&xr)
            };
            let replace = |x: &[f64], v: f64, simplex: &mut [f64], fs: &mut [f64]| {
                simplex[worst * n..(worst + 1) * n].copy_from_slice(x);
                fs[worst] = v;
            };
            if fs[best] <= fr && fr < fs[second] {
                replace(&xr, fr, &mut simplex, &mut fs);
                continue;
            }
            // Expansion.
            if fr < fs[best] {
                let fe = if batched {
                    ahead[0]
                } else {
                    toward(&centroid, &xr, gamma, lower, upper, &mut xt);
                    f.one(&xt)
                };
                if fe < fr {
                    replace(&xt, fe, &mut simplex, &mut fs);
                } else {
                    replace(&xr, fr, &mut simplex, &mut fs);
                }
                continue;
            }
            // Contraction, outside or inside.
            if fs[second] <= fr && fr < fs[worst] {
                let fc = if batched {
                    ahead[1]
                } else {
                    toward(&centroid, &xr, rho, lower, upper, &mut xoc);
                    f.one(&xoc)
                };
                if fc <= fr {
                    replace(&xoc, fc, &mut simplex, &mut fs);
                    continue;
                }
            } else {
                let fc = if batched {
                    ahead[2]
                } else {
                    toward(&centroid, &xr, -rho, lower, upper, &mut xic);
                    f.one(&xic)
                };
                if fc < fs[worst] {
                    replace(&xic, fc, &mut simplex, &mut fs);
                    continue;
                }
            }
            // Shrink towards the best point.
            others.clear();
            for r in 0..rows {
                if r == best {
                    continue;
                }
                for j in 0..n {
                    let b = simplex[best * n + j];
                    let v = b + sigma * (simplex[r * n + j] - b);
                    simplex[r * n + j] = v.max(lower[j]).min(upper[j]);
                }
                others.push(r);
            }
            f.rows(&simplex, n, &others, &mut fs);
        }
        Optimum {
            x: simplex[best * n..(best + 1) * n].to_vec(),
            value: fs[best],
            iterations: it,
        }
    }
}

/// An objective taking one point, or [`LANES`] at a time.
enum Eval<F1, F4> {
    One(F1),
    Batch(F4),
}

impl<F1, F4> Eval<F1, F4>
where
    F1: FnMut(&[f64]) -> f64,
    F4: FnMut(&[&[f64]; LANES], &mut [f64; LANES]),
{
    fn one(&mut self, x: &[f64]) -> f64 {
        match self {
            Eval::One(f) => f(x),
            Eval::Batch(f) => {
                let mut out = [0.0; LANES];
                f(&[x; LANES], &mut out);
                out[0]
            }
        }
    }

    fn four(&mut self, xs: [&[f64]; LANES]) -> [f64; LANES] {
        match self {
            Eval::One(f) => xs.map(f),
            Eval::Batch(f) => {
                let mut out = [0.0; LANES];
                f(&xs, &mut out);
                out
            }
        }
    }

    /// Evaluate rows `idx` of the simplex into `fs`.
    fn rows(&mut self, simplex: &[f64], n: usize, idx: &[usize], fs: &mut [f64]) {
        match self {
            Eval::One(f) => {
                for &r in idx {
                    fs[r] = f(&simplex[r * n..(r + 1) * n]);
                }
            }
            Eval::Batch(f) => {
                for chunk in idx.chunks(LANES) {
                    let pts: [&[f64]; LANES] = std::array::from_fn(|j| {
                        let r = chunk[j.min(chunk.len() - 1)];
                        &simplex[r * n..(r + 1) * n]
                    });
                    let mut out = [0.0; LANES];
                    f(&pts, &mut out);
                    for (&r, &v) in chunk.iter().zip(&out) {
                        fs[r] = v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_minimum_of_a_quadratic_inside_and_on_the_box() {
        let nm = NelderMead {
            tol: 1e-12,
            max_iter: 5000,
            ..Default::default()
        };
        let f = |x: &[f64]| (x[0] - 0.3).powi(2) + 2.0 * (x[1] + 1.5).powi(2) + 1.0;
        let inf = f64::INFINITY;
        let o = nm.minimize(f, &[1.0, 1.0], &[-inf, -inf], &[inf, inf]);
        assert!(
            (o.x[0] - 0.3).abs() < 1e-4 && (o.x[1] + 1.5).abs() < 1e-4,
            "{o:?}"
        );
        assert!((o.value - 1.0).abs() < 1e-8);
        // With x1 held to [0, 1] the answer sits on the bound.
        let o = nm.minimize(f, &[1.0, 0.5], &[-inf, 0.0], &[inf, 1.0]);
        assert!((o.x[0] - 0.3).abs() < 1e-4 && o.x[1].abs() < 1e-9, "{o:?}");
    }

    #[test]
    fn stops_on_a_flat_objective_at_once() {
        let o = NelderMead::default().minimize(|_| 2.0, &[0.5, 0.5], &[0.0, 0.0], &[1.0, 1.0]);
        assert_eq!(o.iterations, 0);
        assert_eq!(o.value, 2.0);
        // The first vertex of the starting simplex: x0 with its first coordinate
        // stretched by 5 %.
        assert_eq!(o.x, vec![0.525, 0.5]);
    }
}
