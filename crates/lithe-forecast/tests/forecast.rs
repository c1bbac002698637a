//! Forecasting many series: the store, the models by hand and against StatsForecast's
//! golden values, and a batch that never fails.

use std::path::Path;

use lithe_core::{Column, Table};
use lithe_forecast::models::{Model, Settings};
use lithe_forecast::{ForecastParams, SeriesColumns, SeriesStore, forecast};

fn long_table(series: &[(&str, Vec<f64>)]) -> Table {
    let mut ids = Vec::new();
    let mut ds = Vec::new();
    let mut y = Vec::new();
    for (id, v) in series {
        for (t, &x) in v.iter().enumerate() {
            ids.push(Some(id.to_string()));
            ds.push(Some(t as i64 + 1));
            y.push(x);
        }
    }
    Table::new(vec![
        Column::from_strings("unique_id", &ids).unwrap(),
        Column::from_i64("ds", ds),
        Column::from_f64("y", y),
    ])
    .unwrap()
}

fn params(models: &[Model], h: usize, season: usize, levels: &[f64]) -> ForecastParams {
    ForecastParams {
        horizon: h,
        models: models.to_vec(),
        settings: Settings {
            season,
            levels: levels.to_vec(),
            window: Some(2),
            alpha: Some(0.3),
            alpha_d: Some(0.2),
            alpha_p: Some(0.3),
            conformal_windows: None,
            ..Settings::default()
        },
        freq: None,
    }
}

fn col<'a>(t: &'a Table, name: &str) -> &'a [f64] {
    t.column(name)
        .and_then(|c| c.as_f64_slice())
        .unwrap_or_else(|| panic!("no float column {name}"))
}

#[test]
fn the_store_groups_by_id_and_sorts_by_time() {
    let t = Table::new(vec![
        Column::from_strings("unique_id", &[Some("b"), Some("a"), Some("b"), Some("a")]).unwrap(),
        Column::from_i64("ds", vec![Some(2), Some(5), Some(1), Some(4)]),
        Column::from_f64("y", vec![20.0, 50.0, 10.0, 40.0]),
    ])
    .unwrap();
    let s = SeriesStore::from_table(&t, &SeriesColumns::default()).unwrap();
    assert_eq!(s.ids, vec!["a", "b"]);
    assert_eq!(s.values(1), &[10.0, 20.0]);
    assert_eq!(s.values(0), &[40.0, 50.0]);
    assert_eq!(s.stamps(0), &[4, 5]);
}

#[test]
fn bad_series_input_is_a_clear_error() {
    let dup = Table::new(vec![
        Column::from_strings("unique_id", &[Some("a"), Some("a")]).unwrap(),
        Column::from_i64("ds", vec![Some(3), Some(3)]),
        Column::from_f64("y", vec![1.0, 2.0]),
    ])
    .unwrap();
    let e = SeriesStore::from_table(&dup, &SeriesColumns::default()).unwrap_err();
    assert!(
        e.is_input() && e.to_string().contains("'a'") && e.to_string().contains("ds = 3"),
        "{e}"
    );
    let text_y = Table::new(vec![
        Column::from_strings("unique_id", &[Some("a")]).unwrap(),
        Column::from_i64("ds", vec![Some(1)]),
        Column::from_strings("y", &[Some("high")]).unwrap(),
    ])
    .unwrap();
    let e = SeriesStore::from_table(&text_y, &SeriesColumns::default()).unwrap_err();
    assert!(
        e.is_input() && e.to_string().contains("must be numeric"),
        "{e}"
    );
    let cols = SeriesColumns {
        id: "series".into(),
        ..Default::default()
    };
    let e = SeriesStore::from_table(&text_y, &cols).unwrap_err();
    assert!(e.is_input() && e.to_string().contains("series"), "{e}");
    let store = SeriesStore::from_table(
        &long_table(&[("a", vec![1.0, 2.0])]),
        &SeriesColumns::default(),
    )
    .unwrap();
    for (h, season) in [(0, 1), (3, 0)] {
        let e = forecast(
            &store,
            &params(&[Model::Naive], h, season, &[]),
            "unique_id",
            "ds",
        )
        .unwrap_err();
        assert!(e.is_input(), "{e}");
    }
    let mut p = params(&[Model::Tsb], 3, 1, &[]);
    p.settings.alpha_p = None;
    let e = forecast(&store, &p, "unique_id", "ds").unwrap_err();
    assert!(e.to_string().contains("alpha_p must be given"), "{e}");
}

#[test]
fn baselines_and_their_intervals_by_hand() {
    let y = vec![2.0, 4.0, 3.0, 7.0, 6.0];
    let store =
        SeriesStore::from_table(&long_table(&[("s", y.clone())]), &SeriesColumns::default())
            .unwrap();
    let models = [
        Model::Naive,
        Model::SeasonalNaive,
        Model::HistoricAverage,
        Model::RandomWalkWithDrift,
    ];
    let (t, report) = forecast(&store, &params(&models, 3, 2, &[95.0]), "unique_id", "ds").unwrap();
    assert_eq!(report.fell_back(), 0);
    let z = 1.959963984540054;
    // Naive: differences 2, −1, 4, −1 → σ² = 22/4.
    let s = (22.0f64 / 4.0).sqrt();
    assert_eq!(col(&t, "Naive"), &[6.0, 6.0, 6.0]);
    assert!((col(&t, "Naive-hi-95")[1] - (6.0 + z * s * 2f64.sqrt())).abs() < 1e-12);
    // Seasonal naive (m = 2): last season [7, 6]; lag-2 differences 1, 3, 3 → σ² = 19/3.
    assert_eq!(col(&t, "SeasonalNaive"), &[7.0, 6.0, 7.0]);
    let s = (19.0f64 / 3.0).sqrt();
    assert!((col(&t, "SeasonalNaive-lo-95")[2] - (7.0 - z * s * 2f64.sqrt())).abs() < 1e-12);
    // Historic average 4.4; deviations' squares sum to 17.2 → σ² = 17.2/4, × (1 + 1/5).
    assert!((col(&t, "HistoricAverage")[0] - 4.4).abs() < 1e-12);
    let s = (17.2f64 / 4.0 * 1.2).sqrt();
    assert!((col(&t, "HistoricAverage-hi-95")[0] - (4.4 + z * s)).abs() < 1e-12);
    // Drift (6 − 2)/4 = 1: 7, 8, 9; residuals 1, −2, 3, −2 → σ² = 18/4.
    assert_eq!(col(&t, "RWD"), &[7.0, 8.0, 9.0]);
    let s = (18.0f64 / 4.0).sqrt() * (3.0f64 * (1.0 + 3.0 / 4.0)).sqrt();
    assert!((col(&t, "RWD-hi-95")[2] - (9.0 + z * s)).abs() < 1e-12);
    // The horizon continues the time index.
    assert_eq!(t.column("ds").unwrap().to_f64(), vec![6.0, 7.0, 8.0]);
}

#[test]
fn awkward_series_never_fail_the_batch_and_fallbacks_are_counted() {
    let store = SeriesStore::from_table(
        &long_table(&[
            ("short", vec![5.0, 6.0]),
            ("constant", vec![3.0; 12]),
            ("zeros", vec![0.0; 10]),
            (
                "negative",
                vec![-4.0, -2.0, -5.0, -1.0, -3.0, -2.0, -6.0, -1.0, -2.0],
            ),
            (
                "holes",
                vec![f64::NAN, 1.0, f64::NAN, 3.0, 4.0, f64::NAN, 2.0, 5.0, 1.0],
            ),
            ("missing", vec![f64::NAN; 6]),
        ]),
        &SeriesColumns::default(),
    )
    .unwrap();
    let (t, report) = forecast(
        &store,
        &params(&Model::ALL, 4, 4, &[80.0]),
        "unique_id",
        "ds",
    )
    .unwrap();
    assert_eq!(t.n_rows(), 6 * 4);
    assert_eq!((report.filled, report.empty), (1, 1));
    for m in Model::ALL {
        let v = col(&t, m.column());
        // Every series but the one with no values at all ("missing", rows 8..12) gets
        // a forecast.
        let missing = |i: &usize| (8..12).contains(i);
        let ok = v
            .iter()
            .enumerate()
            .all(|(i, x)| missing(&i) || x.is_finite());
        let nan = v
            .iter()
            .enumerate()
            .all(|(i, x)| !missing(&i) || x.is_nan());
        assert!(ok, "{m:?}: {v:?}");
        assert!(nan, "{m:?}");
    }
    // The two-point series is too short for a season of 4: seasonal naive falls back
    // to naive (5, 6 → 6).
    assert_eq!(&col(&t, "SeasonalNaive")[16..20], &[6.0; 4]);
    let key = (
        "SeasonalNaive".to_string(),
        "shorter than the 4 values it needs".to_string(),
        "Naive".to_string(),
    );
    assert_eq!(
        report.fallbacks.get(&key),
        Some(&1),
        "{:?}",
        report.fallbacks
    );
    // Series come out sorted by id: constant, holes, missing, negative, short, zeros.
    let id_col = t.column("unique_id").unwrap();
    let ids: Vec<String> = (0..6)
        .map(|s| id_col.value_string(4 * s).unwrap())
        .collect();
    assert_eq!(
        ids,
        ["constant", "holes", "missing", "negative", "short", "zeros"]
    );
    // Negative values only: TSB has no positive demand and falls back to the seasonal
    // naive forecast (the last season: -2, -6, -1, -2).
    assert_eq!(&col(&t, "TSB")[12..16], &[-2.0, -6.0, -1.0, -2.0]);
    let key = (
        "TSB".to_string(),
        "no positive demand".to_string(),
        "SeasonalNaive".to_string(),
    );
    assert_eq!(
        report.fallbacks.get(&key),
        Some(&1),
        "{:?}",
        report.fallbacks
    );
    // Holes are filled with the last value before them (leading ones dropped).
    assert_eq!(&col(&t, "Naive")[4..8], &[1.0; 4]);
}

/// StatsForecast's forecasts of the fixture series (bench/golden_forecast.py).
#[test]
fn forecasts_match_statsforecast() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let read = |f: &str| lithe_core::read_table(&dir.join(f), &Default::default()).unwrap();
    let series = read("series.csv");
    let expect = read("statsforecast.csv");
    let store = SeriesStore::from_table(&series, &SeriesColumns::default()).unwrap();
    let all: Vec<Model> = Model::ALL
        .into_iter()
        .filter(|m| *m != Model::SeasonalWindowAverage)
        .collect();
    let mut p = params(&all, 7, 4, &[80.0, 95.0]);
    p.settings.window = Some(3);
    let (got, _) = forecast(&store, &p, "unique_id", "ds").unwrap();
    let mut p2 = params(&[Model::SeasonalWindowAverage], 7, 4, &[]);
    p2.settings.window = Some(2);
    let (got2, _) = forecast(&store, &p2, "unique_id", "ds").unwrap();
    assert_eq!(got.n_rows(), expect.n_rows());
    let mut checked = 0;
    for name in expect.names().filter(|n| *n != "unique_id" && *n != "ds") {
        let want = expect.column(name).unwrap().to_f64();
        let have = got
            .column(name)
            .or_else(|| got2.column(name))
            .unwrap_or_else(|| panic!("lithe has no column {name}"))
            .to_f64();
        for (i, (w, h)) in want.iter().zip(&have).enumerate() {
            if w.is_nan() {
                // StatsForecast leaves a too-short series empty; lithe falls back.
                assert!(h.is_finite(), "{name} row {i}");
                continue;
            }
            assert!(
                (w - h).abs() <= 1e-6 * w.abs().max(1.0),
                "{name} row {i} ({}): StatsForecast {w}, lithe {h}",
                expect.column("unique_id").unwrap().value_string(i).unwrap()
            );
            checked += 1;
        }
    }
    assert!(checked > 2000, "{checked}");
}

/// StatsForecast's conformal intervals (ConformalIntervals(h=7, n_windows=2)) for four
/// models, on the fixture series long enough for two windows.
#[test]
fn conformal_intervals_match_statsforecast() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let read = |f: &str| lithe_core::read_table(&dir.join(f), &Default::default()).unwrap();
    // As StatsForecast requires (and lithe now too), only series that hold the two
    // windows and one value more: 15.
    let all = read("series.csv");
    let ids: Vec<String> = (0..all.n_rows())
        .map(|r| all.column("unique_id").unwrap().value_string(r).unwrap())
        .collect();
    let mut count = std::collections::HashMap::new();
    for id in &ids {
        *count.entry(id.as_str()).or_insert(0usize) += 1;
    }
    let keep: Vec<u32> = (0..ids.len() as u32)
        .filter(|&r| count[ids[r as usize].as_str()] >= 15)
        .collect();
    let store =
        SeriesStore::from_table(&all.take(&keep).unwrap(), &SeriesColumns::default()).unwrap();
    let expect = read("statsforecast_conformal.csv");
    let models = [
        Model::Naive,
        Model::WindowAverage,
        Model::CrostonClassic,
        Model::Adida,
    ];
    let mut p = params(&models, 7, 4, &[80.0, 95.0]);
    p.settings.window = Some(3);
    p.settings.conformal_windows = Some(2);
    let (got, _) = forecast(&store, &p, "unique_id", "ds").unwrap();
    let key = |t: &Table, r: usize| {
        (
            t.column("unique_id").unwrap().value_string(r).unwrap(),
            t.column("ds").unwrap().value_string(r).unwrap(),
        )
    };
    let row_of: std::collections::HashMap<(String, String), usize> =
        (0..got.n_rows()).map(|r| (key(&got, r), r)).collect();
    let mut checked = 0;
    for name in expect.names().filter(|n| *n != "unique_id" && *n != "ds") {
        let want = expect.column(name).unwrap().to_f64();
        let have = got
            .column(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .to_f64();
        for (r, w) in want.iter().enumerate() {
            let h = have[row_of[&key(&expect, r)]];
            assert!(
                (w - h).abs() <= 1e-6 * w.abs().max(1.0),
                "{name} {:?}: StatsForecast {w}, lithe {h}",
                key(&expect, r)
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 18 * 7 * 20);
}
