//! MSTL against StatsForecast's golden values (bench/golden_forecast_mstl.py): one
//! and two seasons, forecasts and 80/95 intervals.

mod common;

use common::{fixture_series, grouped, num};

use lithe_forecast::models::mstl;

#[test]
fn mstl_matches_statsforecast() {
    let series = fixture_series();
    let groups = grouped("statsforecast_mstl.csv", "unique_id", "seasons");
    let mut worst = (0.0f64, String::new());
    let mut compared = 0;
    for ((id, seasons), rows) in &groups {
        let periods: Vec<usize> = seasons.split('+').map(|p| p.parse().unwrap()).collect();
        let out = mstl::forecast(&series[id], rows.len(), &periods, &[80.0, 95.0]);
        if rows[0]["step"] == "0" {
            assert!(
                out.is_err(),
                "{id} {seasons}: StatsForecast refuses it, lithe fitted"
            );
            continue;
        }
        let out = out.unwrap_or_else(|e| panic!("{id} {seasons}: {e}"));
        let iv = out.intervals.unwrap();
        for (k, r) in rows.iter().enumerate() {
            for (what, got) in [
                ("mean", out.mean[k]),
                ("lo80", iv.lo[0][k]),
                ("lo95", iv.lo[1][k]),
                ("hi80", iv.hi[0][k]),
                ("hi95", iv.hi[1][k]),
            ] {
                let want = num(r, what);
                let d = (got - want).abs() / want.abs().max(1.0);
                compared += 1;
                if d > worst.0 {
                    worst = (
                        d,
                        format!("{id} {seasons} {what} step {}: {got} vs {want}", k + 1),
                    );
                }
            }
        }
    }
    println!(
        "{compared} values; worst relative difference {:.3e}: {}",
        worst.0, worst.1
    );
    assert!(compared > 1000);
    assert!(worst.0 < 1e-6, "{}", worst.1);
}
