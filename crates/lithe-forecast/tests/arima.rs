//! ARIMA building blocks against StatsForecast and statsmodels
//! (bench/golden_forecast_arima.py): the KPSS statistic, the number of differences,
//! the seasonal strength and the number of seasonal differences.

mod common;

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

/// AutoARIMA with StatsForecast's likelihood behaviour selects StatsForecast's model
/// (orders, constant, AICc) and gives its forecasts and intervals
/// (bench/golden_forecast_auto_arima.py).
#[test]
fn auto_arima_matches_statsforecast() {
    use lithe_forecast::models::auto_arima::{self, Likelihood};
    let series = fixture_series();
    let groups = grouped("statsforecast_auto_arima.csv", "unique_id", "season");
    let mut worst = Worst::new();
    for ((id, season), rows) in &groups {
        let y = &series[id];
        let m: usize = season.parse().unwrap();
        if y.iter().all(|&v| v == y[0]) {
            continue; // the constant series: a flat forecast, checked in the unit tests
        }
        let f = auto_arima::search(y, m, Likelihood::AsStatsForecast)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        let o = f.order;
        let r0 = &rows[0];
        let want: Vec<usize> = ["p", "d", "q", "P", "D", "Q"]
            .iter()
            .map(|k| r0[*k].parse().unwrap())
            .collect();
        assert_eq!(vec![o.p, o.d, o.q, o.sp, o.sd, o.sq], want, "{id}: orders");
        assert_eq!(f.constant, r0["constant"] == "1", "{id}: constant");
        let (mean, se) = auto_arima::predict(&f, rows.len());
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
