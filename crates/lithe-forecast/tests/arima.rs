//! ARIMA building blocks against StatsForecast and statsmodels
//! (bench/golden_forecast_arima.py): the KPSS statistic, the number of differences,
//! the seasonal strength and the number of seasonal differences.

mod common;

use common::{fixture_series, num, read_csv};

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
