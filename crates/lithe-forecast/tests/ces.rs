//! AutoCES against StatsForecast's golden values (bench/golden_forecast_ces.py):
//! the selected seasonal form, parameters, AICc and point forecasts.

mod common;

use common::{Worst, fixture_series, grouped, num};

use lithe_forecast::models::ces::{self, Season};

#[test]
fn ces_matches_statsforecast() {
    let series = fixture_series();
    let groups = grouped("statsforecast_ces.csv", "unique_id", "model");
    let mut worst = Worst::new();
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
            worst.check(got, w, || format!("{id} {what}"));
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
    assert!(compared > 200);
    worst.assert_below(1e-6);
}
