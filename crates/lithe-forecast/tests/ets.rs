//! ETS against StatsForecast's golden values (bench/golden_forecast_ets.py): the model
//! AutoETS, Holt and HoltWinters select, its parameters, AICc, forecasts and intervals.

mod common;

use common::{Worst, fixture_series, grouped, num};

use lithe_forecast::interval::Intervals;
use lithe_forecast::models::Unfit;
use lithe_forecast::models::ets::{self, Comp, Fit, Par, Spec};

fn components(f: &Fit) -> String {
    let c = |c: Comp| match c {
        Comp::N => 'N',
        Comp::A => 'A',
        Comp::M => 'M',
    };
    format!(
        "{}{}{}{}",
        c(f.kind.error),
        c(f.kind.trend),
        c(f.kind.season),
        if f.kind.damped { 'D' } else { 'N' }
    )
}

#[test]
fn ets_matches_statsforecast() {
    let series = fixture_series();
    let groups = grouped("statsforecast_ets.csv", "unique_id", "model");
    let mut worst = Worst::new();
    let mut report = Vec::new();
    for ((id, model), rows) in &groups {
        let y = &series[id];
        let m: usize = rows[0]["season"].parse().unwrap();
        let spec = match model.as_str() {
            "AutoETS" => Spec::AUTO,
            "Holt" => Spec::HOLT,
            _ => Spec::HOLT_WINTERS,
        };
        let fit = ets::select(y, m, spec);
        if rows[0]["method"] == "error" {
            assert!(
                fit.is_err(),
                "{id} {model}: StatsForecast refuses it, lithe fitted"
            );
            continue;
        }
        let fit = fit.unwrap_or_else(|e: Unfit| panic!("{id} {model}: {e}"));
        let want = &rows[0]["method"];
        if &components(&fit) != want {
            report.push(format!(
                "{id} {model}: selected {} vs {want}",
                components(&fit)
            ));
            continue;
        }
        let h = rows.len();
        let out = ets::forecast(&fit, h, &[80.0, 95.0]);
        let iv = out.intervals.as_ref().unwrap();
        // StatsForecast's class-3 (M?M) recursion does not advance the mean state, so
        // its intervals differ from the book's there; compare points only.
        let class3 = fit.kind.error == Comp::M && fit.kind.season == Comp::M;
        // StatsForecast's additive seasonal variances use the last step's count of
        // whole seasons, ⌊(h−1)/m⌋, at every step; the book's is per step. They agree
        // on the steps of the last season.
        let same_seasons = |k: usize| fit.kind.season == Comp::N || k / fit.m == (h - 1) / fit.m;
        for (k, r) in rows.iter().enumerate() {
            let mut pairs = vec![("mean", out.mean[k], num(r, "mean"))];
            if !class3 && same_seasons(k) {
                pairs.extend([
                    ("lo80", iv.lo[0][k], num(r, "lo80")),
                    ("lo95", iv.lo[1][k], num(r, "lo95")),
                    ("hi80", iv.hi[0][k], num(r, "hi80")),
                    ("hi95", iv.hi[1][k], num(r, "hi95")),
                ]);
            }
            if k == 0 {
                pairs.push(("aicc", fit.aicc, num(r, "aicc")));
                pairs.push(("alpha", fit.par.alpha, num(r, "alpha")));
            }
            for (what, got, want) in pairs {
                worst.check(got, want, || format!("{id} {model} {what} step {}", k + 1));
            }
        }
    }
    assert!(report.is_empty(), "{report:#?}");
    worst.assert_below(1e-6);
}

/// SplitMix64 with Box–Muller normals: a fixed, dependency-free stream.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

#[derive(Clone)]
struct Process {
    spec: Spec,
    alpha: f64,
    beta: f64,
    gamma: f64,
    phi: f64,
    sigma: f64,
    level: f64,
    slope: f64,
    season: Vec<f64>,
}

/// Simulate the process in its error-correction form (written apart from the
/// library's filter): `n` values, and the states (`l, [b], s_0…`) after the first
/// `keep` of them.
fn simulate(p: &Process, n: usize, keep: usize, rng: &mut Rng) -> (Vec<f64>, Vec<f64>) {
    let mult_err = p.spec.error == Some(Comp::M);
    let seas = p.spec.season.unwrap_or(Comp::N);
    let m = p.season.len().max(1);
    let (mut l, mut b) = (p.level, p.slope);
    // s[0] is the most recent seasonal state, s[m-1] the one used next.
    let mut s = p.season.clone();
    let mut out = Vec::with_capacity(n);
    let mut kept = Vec::new();
    for t in 0..n {
        if t == keep {
            kept.push(l);
            if p.spec.trend != Some(Comp::N) {
                kept.push(b);
            }
            kept.extend_from_slice(&s);
        }
        let e = p.sigma * rng.normal();
        let trend = l + p.phi * b;
        let sv = if seas == Comp::N { 0.0 } else { s[m - 1] };
        let mu = match seas {
            Comp::N => trend,
            Comp::A => trend + sv,
            Comp::M => trend * sv,
        };
        let y = if mult_err { mu * (1.0 + e) } else { mu + e };
        out.push(y);
        if mult_err {
            match seas {
                Comp::M => {
                    l = trend * (1.0 + p.alpha * e);
                    b = p.phi * b + p.beta * trend * e;
                    s.insert(0, sv * (1.0 + p.gamma * e));
                }
                _ => {
                    l = trend + p.alpha * mu * e;
                    b = p.phi * b + p.beta * mu * e;
                    if seas == Comp::A {
                        s.insert(0, sv + p.gamma * mu * e);
                    }
                }
            }
        } else {
            l = trend + p.alpha * e;
            b = p.phi * b + p.beta * e;
            if seas == Comp::A {
                s.insert(0, sv + p.gamma * e);
            }
        }
        s.truncate(m);
    }
    (out, kept)
}

fn spec(e: Comp, t: Comp, s: Comp, damped: bool) -> Spec {
    Spec {
        error: Some(e),
        trend: Some(t),
        season: Some(s),
        damped: Some(damped),
    }
}

/// Over many simulated series, the 80 % and 95 % intervals of the fitted true model
/// hold the next `h` values about as often as they promise (a little less, since the
/// parameters are estimated).
#[test]
fn ets_intervals_cover_simulated_processes() {
    use Comp::{A, M, N};
    let base = Process {
        spec: spec(A, N, N, false),
        alpha: 0.3,
        beta: 0.0,
        gamma: 0.0,
        phi: 1.0,
        sigma: 1.0,
        level: 100.0,
        slope: 0.0,
        season: vec![],
    };
    let cases = [
        base.clone(),
        Process {
            spec: spec(A, A, N, true),
            alpha: 0.4,
            beta: 0.1,
            phi: 0.9,
            slope: 1.0,
            ..base.clone()
        },
        Process {
            spec: spec(A, A, A, false),
            alpha: 0.2,
            beta: 0.05,
            gamma: 0.1,
            slope: 0.5,
            season: vec![6.0, -2.0, 1.0, -5.0],
            ..base.clone()
        },
        Process {
            spec: spec(M, N, N, false),
            sigma: 0.05,
            ..base.clone()
        },
        Process {
            spec: spec(M, A, N, false),
            alpha: 0.3,
            beta: 0.02,
            sigma: 0.02,
            slope: 0.5,
            ..base.clone()
        },
        Process {
            spec: spec(M, N, M, false),
            alpha: 0.2,
            gamma: 0.1,
            sigma: 0.04,
            season: vec![1.2, 0.9, 1.1, 0.8],
            ..base.clone()
        },
        Process {
            spec: spec(M, A, M, true),
            alpha: 0.2,
            beta: 0.02,
            gamma: 0.1,
            phi: 0.95,
            sigma: 0.03,
            slope: 0.5,
            season: vec![1.2, 0.9, 1.1, 0.8],
            ..base.clone()
        },
    ];
    let (n, h, reps) = (100, 8, 1500);
    for (ci, p) in cases.iter().enumerate() {
        let m = p.season.len().max(1);
        let mut rng = Rng(1000 + ci as u64);
        // [fitted, oracle] × [80, 95] hits, per step.
        let mut hits = vec![[[0usize; 2]; 2]; h];
        let count = |hits: &mut [[usize; 2]], iv: &Intervals, y: &[f64]| {
            for (k, (hk, yk)) in hits.iter_mut().zip(y).enumerate() {
                for (l, hl) in hk.iter_mut().enumerate() {
                    *hl += (iv.lo[l][k] <= *yk && *yk <= iv.hi[l][k]) as usize;
                }
            }
        };
        for _ in 0..reps {
            let (y, last) = simulate(p, n + h, n, &mut rng);
            let fit = ets::select(&y[..n], m, p.spec).expect("the true model fits");
            let out = ets::forecast(&fit, h, &[80.0, 95.0]);
            let mut fh: Vec<[usize; 2]> = hits.iter().map(|x| x[0]).collect();
            count(&mut fh, out.intervals.as_ref().unwrap(), &y[n..]);
            // The oracle: the true parameters and states, so only the variance
            // formula is on trial.
            let oracle = Fit {
                par: Par {
                    alpha: p.alpha,
                    beta: p.beta,
                    gamma: p.gamma,
                    phi: p.phi,
                },
                last,
                sigma2: p.sigma * p.sigma,
                ..fit
            };
            let out = ets::forecast(&oracle, h, &[80.0, 95.0]);
            let mut oh: Vec<[usize; 2]> = hits.iter().map(|x| x[1]).collect();
            count(&mut oh, out.intervals.as_ref().unwrap(), &y[n..]);
            for k in 0..h {
                hits[k][0] = fh[k];
                hits[k][1] = oh[k];
            }
        }
        let rate = |which: usize, l: usize, ks: std::ops::Range<usize>| {
            let len = ks.len();
            ks.map(|k| hits[k][which][l]).sum::<usize>() as f64 / (reps * len) as f64
        };
        let (f80, f95) = (rate(0, 0, 0..h), rate(0, 1, 0..h));
        let (o80, o95) = (rate(1, 0, 0..h), rate(1, 1, 0..h));
        let (late80, late95) = (rate(1, 0, h / 2..h), rate(1, 1, h / 2..h));
        println!(
            "{:?}: fitted {f80:.3} / {f95:.3}, oracle {o80:.3} / {o95:.3}, oracle late steps {late80:.3} / {late95:.3}",
            p.spec
        );
        // With the true parameters the intervals must be right, early and late.
        for (got, want) in [(o80, 0.8), (o95, 0.95), (late80, 0.8), (late95, 0.95)] {
            assert!(
                (got - want).abs() < 0.02,
                "{:?}: oracle coverage {got:.3} for {want}",
                p.spec
            );
        }
        // Fitted: a little under, from estimating ~10 values on 100 observations.
        assert!(
            (0.72..=0.86).contains(&f80),
            "{:?}: 80 % interval covers {f80:.3}",
            p.spec
        );
        assert!(
            (0.88..=0.98).contains(&f95),
            "{:?}: 95 % interval covers {f95:.3}",
            p.spec
        );
    }
}
