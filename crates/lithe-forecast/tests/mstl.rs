//! MSTL against StatsForecast's golden values (bench/golden_forecast_mstl.py): one
//! and two seasons, forecasts and 80/95 intervals.

mod common;

use common::{Worst, fixture_series, grouped, num};

use lithe_forecast::models::mstl;

#[test]
fn mstl_matches_statsforecast() {
    let series = fixture_series();
    let groups = grouped("statsforecast_mstl.csv", "unique_id", "seasons");
    let mut worst = Worst::new();
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
                compared += 1;
                worst.check(got, num(r, what), || {
                    format!("{id} {seasons} {what} step {}", k + 1)
                });
            }
        }
    }
    println!("{compared} values");
    assert!(compared > 1000);
    worst.assert_below(1e-6);
}
