//! Prediction intervals: the analytic forecast variances of model classes 1–3.

use super::*;

/// Point forecasts and, for `levels`, the normal prediction intervals of the fitted
/// model's class.
pub fn forecast(fit: &Fit, h: usize, levels: &[f64]) -> Output {
    let k = fit.kind;
    let phi = if k.damped { fit.par.phi } else { 1.0 };
    let mean = point_forecast(&fit.last, k, phi, fit.m, h);
    let intervals = (!levels.is_empty()).then(|| {
        let var = forecast_variance(fit, &mean);
        let se: Vec<f64> = var.iter().map(|v| v.sqrt()).collect();
        Intervals::normal(&mean, &se, levels)
    });
    Output { mean, intervals }
}

/// The forecast variance at each step (Hyndman et al. 2008, ch. 6).
pub(super) fn forecast_variance(fit: &Fit, mean: &[f64]) -> Vec<f64> {
    let h = mean.len();
    let Par {
        alpha,
        beta,
        gamma,
        phi,
    } = fit.par;
    let s2 = fit.sigma2;
    let m = fit.m;
    let k = fit.kind;
    let steps: Vec<f64> = (1..=h).map(|j| j as f64).collect();
    // Seasonal step counts: ⌊(j−1)/m⌋ and whether j is a multiple of m.
    let hm = |j: usize| ((j - 1) / m) as f64;
    let d = |j: usize| if j.is_multiple_of(m) { 1.0 } else { 0.0 };
    let sum_phi = |j: usize| (1..=j).map(|i| phi.powi(i as i32)).sum::<f64>();
    match (k.error, k.trend, k.season, k.damped) {
        (Comp::A, trend, season, damped) if season != Comp::M && trend != Comp::M => (1..=h)
            .map(|j| {
                let jf = steps[j - 1];
                let mut v = 1.0;
                match (trend, damped) {
                    (Comp::N, _) => v += alpha * alpha * (jf - 1.0),
                    (_, false) => {
                        v += (jf - 1.0)
                            * (alpha * alpha
                                + alpha * beta * jf
                                + beta * beta * jf * (2.0 * jf - 1.0) / 6.0)
                    }
                    (_, true) => {
                        v += alpha * alpha * (jf - 1.0)
                            + beta * phi * jf / (1.0 - phi).powi(2)
                                * (2.0 * alpha * (1.0 - phi) + beta * phi)
                            - beta * phi * (1.0 - phi.powi(j as i32))
                                / ((1.0 - phi).powi(2) * (1.0 - phi * phi))
                                * (2.0 * alpha * (1.0 - phi * phi)
                                    + beta * phi * (1.0 + 2.0 * phi - phi.powi(j as i32)))
                    }
                }
                if season == Comp::A {
                    let hmj = hm(j);
                    v += gamma * hmj * (2.0 * alpha + gamma);
                    match (trend, damped) {
                        (Comp::A, false) => v += gamma * hmj * beta * m as f64 * (hmj + 1.0),
                        (Comp::A, true) => {
                            let pm = phi.powi(m as i32);
                            v += 2.0 * beta * gamma * phi / ((1.0 - phi) * (1.0 - pm))
                                * (hmj * (1.0 - pm) - pm * (1.0 - pm.powf(hmj)))
                        }
                        _ => {}
                    }
                }
                s2 * v
            })
            .collect(),
        (Comp::M, Comp::N | Comp::A, Comp::N | Comp::A, damped) => {
            let c: Vec<f64> = (1..=h)
                .map(|j| {
                    let trend_part = match (k.trend, damped) {
                        (Comp::N, _) => 0.0,
                        (_, false) => beta * j as f64,
                        (_, true) => beta * sum_phi(j),
                    };
                    let season_part = if k.season == Comp::A {
                        gamma * d(j)
                    } else {
                        0.0
                    };
                    alpha + trend_part + season_part
                })
                .collect();
            let mut theta = vec![0.0; h];
            for j in 0..h {
                let mut acc = 0.0;
                for i in 0..j {
                    acc += c[i] * c[i] * theta[j - 1 - i];
                }
                theta[j] = mean[j] * mean[j] + s2 * acc;
            }
            theta
                .iter()
                .zip(mean)
                .map(|(t, f)| (1.0 + s2) * t - f * f)
                .collect()
        }
        (Comp::M, Comp::N | Comp::A, Comp::M, damped) => class3_variance(fit, h, damped),
        _ => vec![f64::NAN; h],
    }
}

/// Class 3 (multiplicative error and season): the exact moment recursion of Hyndman
/// et al. (2008, §6.5) on the product of the level/trend and seasonal state vectors.
pub(super) fn class3_variance(fit: &Fit, h: usize, damped: bool) -> Vec<f64> {
    let m = fit.m;
    let Par {
        alpha,
        beta,
        gamma,
        phi,
    } = fit.par;
    let s2 = fit.sigma2;
    let has_t = fit.kind.trend != Comp::N;
    let x = &fit.last;
    let d1 = if has_t { 2 } else { 1 };
    let (h1, f1, g1) = if has_t {
        (
            Mat::from_rows(&[&[1.0, 1.0]]),
            Mat::from_rows(&[&[1.0, 1.0], &[0.0, if damped { phi } else { 1.0 }]]),
            Mat::from_rows(&[&[alpha, alpha], &[beta, beta]]),
        )
    } else {
        (
            Mat::from_rows(&[&[1.0]]),
            Mat::from_rows(&[&[1.0]]),
            Mat::from_rows(&[&[alpha]]),
        )
    };
    let mut h2 = Mat::zeros(1, m);
    h2.set(0, m - 1, 1.0);
    let mut f2 = Mat::zeros(m, m);
    f2.set(0, m - 1, 1.0);
    for i in 1..m {
        f2.set(i, i - 1, 1.0);
    }
    let mut g2 = Mat::zeros(m, m);
    g2.set(0, m - 1, gamma);
    let mut mh = Mat::zeros(d1, m);
    for i in 0..d1 {
        for j in 0..m {
            mh.set(i, j, x[i] * x[d1 + j]);
        }
    }
    let dim = d1 * m;
    let mut vh = Mat::zeros(dim, dim);
    let h21 = h2.kron(&h1);
    let f21 = f2.kron(&f1);
    let g21 = g2.kron(&g1);
    let kk = g2.kron(&f1).add(&f2.kron(&g1));
    let (f21t, g21t, kkt, h21t) = (f21.t(), g21.t(), kk.t(), h21.t());
    let (f2t, g2t) = (f2.t(), g2.t());
    let mut var = Vec::with_capacity(h);
    for _ in 0..h {
        let mu = h1.mul(&mh).mul(&h2.t()).at(0, 0);
        let v = (1.0 + s2) * h21.mul(&vh).mul(&h21t).at(0, 0) + s2 * mu * mu;
        var.push(v);
        // vec(Mh) stacks columns; the Kronecker layout above indexes it that way.
        let mut vec_m = Mat::zeros(dim, 1);
        for j in 0..m {
            for i in 0..d1 {
                vec_m.set(j * d1 + i, 0, mh.at(i, j));
            }
        }
        let mm = vec_m.mul(&vec_m.t());
        let e1 = f21.mul(&vh).mul(&f21t);
        let e2 = f21.mul(&vh).mul(&g21t);
        let e3 = g21.mul(&vh).mul(&f21t);
        let e4 = kk.mul(&vh.add(&mm)).mul(&kkt);
        let e5 = g21
            .scale(s2)
            .mul(&vh.scale(3.0).add(&mm.scale(2.0)))
            .mul(&g21t);
        vh = e1.add(&e2.add(&e3).add(&e4).add(&e5).scale(s2));
        mh = f1.mul(&mh).mul(&f2t).add(&g1.mul(&mh).mul(&g2t).scale(s2));
    }
    var
}
