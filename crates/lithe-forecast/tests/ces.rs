//! AutoCES against StatsForecast's golden values (bench/golden_forecast_ces.py):
//! the selected seasonal form, parameters, AICc and point forecasts.

mod common;

use common::{fixture_series, grouped, num};

use lithe_forecast::models::ces::{self, Season};

#[test]
fn ces_matches_statsforecast() {
    let series = fixture_series();
    let groups = grouped("statsforecast_ces.csv", "unique_id", "model");
    let mut worst = (0.0f64, String::new());
    let mut mismatched = Vec::new();
    let mut compared = 0;
    for ((id, model), rows) in &groups {
        let y = &series[id];
        let m: usize = rows[0]["season"].parse().unwrap();
        let out = ces::forecast(y, rows.len(), m, None, &[]);
        if rows[0]["method"] == "error" {
            assert!(
                out.is_err(),
                "{id} {model}: StatsForecast refuses it, lithe fitted"
            );
            continue;
        }
        let out = out.unwrap_or_else(|e| panic!("{id} {model}: {e}"));
        let want = rows[0]["method"].chars().next().unwrap();
        let seasonal_ok = m > 1 && y.len() >= 2 * m;
        let forms: Vec<Season> = if seasonal_ok {
            Season::ALL.to_vec()
        } else {
            vec![Season::None]
        };
        let fits: Vec<ces::Fit> = forms.iter().map(|&f| ces::fit(y, m, f)).collect();
        let best = fits
            .iter()
            .filter(|f| !f.aicc.is_nan())
            .min_by(|a, b| a.aicc.partial_cmp(&b.aicc).unwrap())
            .unwrap();
        if best.season.code() != want {
            mismatched.push(format!(
                "{id}: picked {:?}, StatsForecast {want}",
                best.season
            ));
        }
        for (what, got, w) in [
            ("aicc", best.aicc, num(&rows[0], "aicc")),
            ("alpha_0", best.par.a0, num(&rows[0], "alpha_0")),
            ("alpha_1", best.par.a1, num(&rows[0], "alpha_1")),
        ] {
            let d = (got - w).abs() / w.abs().max(1.0);
            if d > worst.0 {
                worst = (d, format!("{id} {what}: {got} vs {w}"));
            }
        }
        for (k, r) in rows.iter().enumerate() {
            let want = num(r, "mean");
            let d = (out.mean[k] - want).abs() / want.abs().max(1.0);
            compared += 1;
            if d > worst.0 {
                worst = (
                    d,
                    format!("{id} {model} step {}: {} vs {want}", k + 1, out.mean[k]),
                );
            }
        }
    }
    println!(
        "{compared} forecasts; worst relative difference {:.3e}: {}",
        worst.0, worst.1
    );
    assert!(mismatched.is_empty(), "{mismatched:#?}");
    assert!(compared > 200);
    assert!(worst.0 < 1e-6, "{}", worst.1);
}
