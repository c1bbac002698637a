//! ARIMA building blocks against StatsForecast and statsmodels
//! (bench/golden_forecast_arima.py): the KPSS statistic, the number of differences,
//! the seasonal strength and the number of seasonal differences.

use std::collections::BTreeMap;
use std::path::Path;

use lithe_forecast::arima;

type Row = BTreeMap<String, String>;

fn read_csv(name: &str) -> Vec<Row> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

fn num(r: &Row, k: &str) -> f64 {
    r[k].parse::<f64>().unwrap_or(f64::NAN)
}

#[test]
fn differencing_tests_match_statsforecast() {
    let mut series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for file in ["series.csv", "ets_series.csv"] {
        for r in read_csv(file) {
            series
                .entry(r["unique_id"].clone())
                .or_default()
                .push(num(&r, "y"));
        }
    }
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
