//! ARIMA building blocks against StatsForecast and statsmodels
//! (bench/golden_forecast_arima.py): the KPSS statistic, the number of differences,
//! the seasonal strength and the number of seasonal differences.

mod common;

use std::collections::BTreeMap;

use common::{Worst, fixture_series, grouped, num, read_csv};

use lithe_forecast::arima;

#[test]
fn differencing_tests_match_statsforecast() {
    let series = fixture_series();
    let rows = read_csv("statsforecast_arima_tests.csv");
    assert!(rows.len() > 20);
    for r in rows {
        let id = &r["unique_id"];
        let y = &series[id];
        let m: usize = r["season"].parse().unwrap();
        let lags = (3.0 * (y.len() as f64).sqrt() / 13.0).floor() as usize;
        let stat = arima::kpss_statistic(y, lags);
        assert!(
            (stat - num(&r, "kpss")).abs() < 1e-9 * stat.abs().max(1.0),
            "{id}: KPSS {stat} vs {}",
            r["kpss"]
        );
        assert_eq!(arima::ndiffs(y, 2).to_string(), r["ndiffs"], "{id}: ndiffs");
        let strength = arima::seasonal_strength(y, m);
        assert!(
            (strength - num(&r, "strength")).abs() < 1e-8,
            "{id}: strength {strength} vs {}",
            r["strength"]
        );
        assert_eq!(
            arima::nsdiffs(y, m).to_string(),
            r["nsdiffs"],
            "{id}: nsdiffs"
        );
    }
}

/// The fit has the golden row's orders and constant.
fn assert_selected(id: &str, f: &lithe_forecast::models::auto_arima::Fit, r0: &common::Row) {
    let o = f.order;
    let want: Vec<usize> = ["p", "d", "q", "P", "D", "Q"]
        .iter()
        .map(|k| r0[*k].parse().unwrap())
        .collect();
    assert_eq!(vec![o.p, o.d, o.q, o.sp, o.sd, o.sq], want, "{id}: orders");
    assert_eq!(f.constant, r0["constant"] == "1", "{id}: constant");
}

/// AutoARIMA with StatsForecast's likelihood behaviour selects StatsForecast's model
/// (orders, constant, AICc) and gives its forecasts and intervals
/// (bench/golden_forecast_auto_arima.py).
#[test]
fn auto_arima_matches_statsforecast() {
    use lithe_forecast::models::auto_arima::{self, Likelihood, Steps};
    let series = fixture_series();
    let groups = grouped("statsforecast_auto_arima.csv", "unique_id", "season");
    let mut worst = Worst::new();
    for ((id, season), rows) in &groups {
        let y = &series[id];
        let m: usize = season.parse().unwrap();
        if y.iter().all(|&v| v == y[0]) {
            continue; // the constant series: a flat forecast, checked in the unit tests
        }
        let f = auto_arima::search(y, m, Likelihood::AsStatsForecast, Steps::Stepwise, &[])
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let r0 = &rows[0];
        assert_selected(id, &f, r0);
        let (mean, se) = auto_arima::predict(&f, rows.len(), &[]);
        let z80 = lithe_forecast::interval::normal_quantile(0.9);
        let mut check = |what: &str, got: f64, want: f64| {
            worst.check(got, want, || format!("{id} {what}"));
        };
        check("aicc", f.aicc, num(r0, "aicc"));
        for (k, r) in rows.iter().enumerate() {
            check("mean", mean[k], num(r, "mean"));
            check("lo80", mean[k] - z80 * se[k], num(r, "lo80"));
            check("hi80", mean[k] + z80 * se[k], num(r, "hi80"));
        }
    }
    worst.assert_below(1e-6);
}

/// Standard normal draws (xorshift and Box–Muller), seeded.
struct Normals(u64);

impl Normals {
    fn next(&mut self) -> f64 {
        let mut u = || {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        };
        let (a, b) = (u().max(1e-300), u());
        (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
    }
}

#[test]
fn arima_intervals_cover_simulated_processes() {
    use lithe_forecast::arima::{Order, delta, expand};
    use lithe_forecast::models::auto_arima::{Likelihood, fit, predict};
    // (order, coefficients [ar…, ma…, sar…, sma…]): ARIMA(1,1,1) and the airline model
    // (0,1,1)(0,1,1)₄.
    let cases = [
        (
            Order {
                p: 1,
                d: 1,
                q: 1,
                sp: 0,
                sd: 0,
                sq: 0,
                m: 1,
            },
            vec![0.6, -0.3],
        ),
        (
            Order {
                p: 0,
                d: 1,
                q: 1,
                sp: 0,
                sd: 1,
                sq: 1,
                m: 4,
            },
            vec![-0.4, -0.5],
        ),
    ];
    let (n, h, reps) = (200, 8, 300);
    for (o, coef) in cases {
        let (phi, theta) = expand(&coef, &o);
        let dl = delta(o.d, o.sd, o.m);
        let mut rng = Normals(77 + o.m as u64);
        let mut hits = [0usize; 2];
        let mut total = 0usize;
        for _ in 0..reps {
            // The ARMA part, after a burn-in, then integrated by the differencing weights.
            let burn = 100;
            let len = burn + n + h;
            let e: Vec<f64> = (0..len).map(|_| rng.next()).collect();
            let mut w = vec![0.0; len];
            for t in 0..len {
                let mut v = e[t];
                for (i, ph) in phi.iter().enumerate() {
                    if t > i {
                        v += ph * w[t - i - 1];
                    }
                }
                for (j, th) in theta.iter().enumerate() {
                    if t > j {
                        v += th * e[t - j - 1];
                    }
                }
                w[t] = v;
            }
            let mut y = vec![0.0; len];
            for t in 0..len {
                let mut v = w[t];
                for (k, d) in dl.iter().enumerate() {
                    if t > k {
                        v += d * y[t - k - 1];
                    }
                }
                y[t] = v;
            }
            let y = &y[burn..];
            let f = fit(&y[..n], o, false, Likelihood::Fresh, &[]).expect("the true order fits");
            let (mean, se) = predict(&f, h, &[]);
            for k in 0..h {
                let z = (y[n + k] - mean[k]).abs() / se[k];
                hits[0] += usize::from(z <= 1.2815515655446004);
                hits[1] += usize::from(z <= 1.959963984540054);
                total += 1;
            }
        }
        let (c80, c95) = (hits[0] as f64 / total as f64, hits[1] as f64 / total as f64);
        println!("{o:?}: 80 % covers {c80:.3}, 95 % covers {c95:.3}");
        // Fitted parameters: a little under nominal at most.
        assert!(
            (0.75..=0.85).contains(&c80),
            "{o:?}: 80 % interval covers {c80:.3}"
        );
        assert!(
            (0.92..=0.975).contains(&c95),
            "{o:?}: 95 % interval covers {c95:.3}"
        );
    }
}

/// AutoARIMA with exogenous regressors selects StatsForecast's model, with its
/// regression coefficients, forecasts and intervals
/// (bench/golden_forecast_auto_arima_xreg.py: generated series with two regressor
/// columns, one of them constant in X4 and seasonal in X2).
#[test]
fn auto_arima_with_regressors_matches_statsforecast() {
    use lithe_forecast::models::auto_arima::{self, Likelihood, Steps};
    let mut train: BTreeMap<String, [Vec<f64>; 3]> = BTreeMap::new();
    for r in read_csv("xreg_series.csv") {
        let e = train.entry(r["unique_id"].clone()).or_default();
        for (v, k) in e.iter_mut().zip(["y", "x1", "x2"]) {
            v.push(num(&r, k));
        }
    }
    let mut future: BTreeMap<String, [Vec<f64>; 2]> = BTreeMap::new();
    for r in read_csv("xreg_future.csv") {
        let e = future.entry(r["unique_id"].clone()).or_default();
        for (v, k) in e.iter_mut().zip(["x1", "x2"]) {
            v.push(num(&r, k));
        }
    }
    let groups = grouped("statsforecast_auto_arima_xreg.csv", "unique_id", "season");
    assert_eq!(groups.len(), 6);
    let mut worst = Worst::new();
    for ((id, season), rows) in &groups {
        let [y, x1, x2] = &train[id];
        let [f1, f2] = &future[id];
        let m: usize = season.parse().unwrap();
        let f = auto_arima::search(
            y,
            m,
            Likelihood::AsStatsForecast,
            Steps::Stepwise,
            &[x1, x2],
        )
        .unwrap_or_else(|e| panic!("{id}: {e}"));
        let r0 = &rows[0];
        assert_selected(id, &f, r0);
        assert_eq!(f.n_exog, 2);
        let (mean, se) = auto_arima::predict(&f, rows.len(), &[f1, f2]);
        let z80 = lithe_forecast::interval::normal_quantile(0.9);
        let mut check = |what: &str, got: f64, want: f64| {
            worst.check(got, want, || format!("{id} {what}"));
        };
        check("aicc", f.aicc, num(r0, "aicc"));
        let k = f.coef.len();
        check("ex_1", f.coef[k - 2], num(r0, "ex_1"));
        check("ex_2", f.coef[k - 1], num(r0, "ex_2"));
        for (k, r) in rows.iter().enumerate() {
            check("mean", mean[k], num(r, "mean"));
            check("lo80", mean[k] - z80 * se[k], num(r, "lo80"));
            check("hi80", mean[k] + z80 * se[k], num(r, "hi80"));
        }
    }
    worst.assert_below(1e-6);
}
