//! The Theta family against StatsForecast's golden values
//! (bench/golden_forecast_theta.py): selected variant, parameters, criterion and
//! point forecasts.

mod common;

use common::{Worst, fixture_series, grouped, num};

use lithe_forecast::models::theta::{self, Variant};

#[test]
fn theta_matches_statsforecast() {
    let series = fixture_series();
    let groups = grouped("statsforecast_theta.csv", "unique_id", "model");
    let mut worst = Worst::new();
    let mut mismatched = Vec::new();
    let mut compared = 0;
    for ((id, model), rows) in &groups {
        let y = &series[id];
        let m: usize = rows[0]["season"].parse().unwrap();
        let variant = match model.as_str() {
            "AutoTheta" => None,
            "Theta" => Some(Variant::Standard),
            "OptimizedTheta" => Some(Variant::Optimized),
            "DynamicTheta" => Some(Variant::Dynamic),
            _ => Some(Variant::DynamicOptimized),
        };
        let out = theta::forecast(y, rows.len(), m, variant, &[]);
        if rows[0]["method"] == "error" {
            assert!(
                out.is_err(),
                "{id} {model}: StatsForecast refuses it, lithe fitted"
            );
            continue;
        }
        let out = out.unwrap_or_else(|e| panic!("{id} {model}: {e}"));
        // The variant AutoTheta picks, checked through a direct fit of each.
        if variant.is_none() {
            let want = &rows[0]["method"];
            let picked = Variant::ALL
                .into_iter()
                .find(|v| {
                    let o = theta::forecast(y, rows.len(), m, Some(*v), &[]).unwrap();
                    o.mean == out.mean
                })
                .map(|v| v.code());
            if picked != Some(want.as_str()) {
                mismatched.push(format!(
                    "{id}: AutoTheta picked {picked:?}, StatsForecast {want}"
                ));
            }
        }
        for (k, r) in rows.iter().enumerate() {
            compared += 1;
            worst.check(out.mean[k], num(r, "mean"), || {
                format!("{id} {model} step {}", k + 1)
            });
        }
    }
    println!("{compared} forecasts");
    assert!(mismatched.is_empty(), "{mismatched:#?}");
    assert!(compared > 1000);
    worst.assert_below(1e-6);
}
