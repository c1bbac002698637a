//! Known answers and invariants of random forests.

use lithe_core::describe::Task;
use lithe_core::{Column, Table};
use lithe_trees::{ForestModel, ForestParams, MaxFeatures, TabularModel, load_any, save_forest};

mod common;
use common::{Lcg, assert_rows_match_batch, binary_table, edge_rows, on_threads, one_row, yes};

fn fit(params: &ForestParams, t: &Table) -> ForestModel {
    ForestModel::fit(params, t, "y").unwrap()
}

#[test]
fn learns_signal_and_oob_tracks_test_accuracy() {
    let train = binary_table(4000, 1);
    let test = binary_table(2000, 2);
    let m = fit(&ForestParams::default(), &train);
    assert_eq!(m.task, Task::Binary);
    assert_eq!(m.trees.len(), 100);
    let p = m.predict(&test).unwrap();
    let y = yes(&test);
    let auc = lithe_core::metrics::auc(&y, &p).unwrap();
    // The generator's Bayes AUC is about 0.93; a constant model scores 0.5.
    assert!(auc > 0.87, "auc {auc}");
    let acc = lithe_core::metrics::binary_accuracy(&y, &p).unwrap();
    let oob = m.oob.as_ref().expect("bootstrap forests have an OOB score");
    assert_eq!(oob.metric, "accuracy");
    // Every row is out of bag for about 37 of 100 trees.
    assert_eq!(oob.rows, 4000);
    assert!(
        (oob.value - acc).abs() < 0.03,
        "oob {} test {acc}",
        oob.value
    );
    let imp = m.importance();
    let gain = |name: &str| imp.iter().find(|x| x.0 == name).unwrap().1;
    assert!(gain("x1") > gain("x2") && gain("color") > 0.0, "{imp:?}");
}

#[test]
fn full_depth_trees_without_sampling_memorise_and_agree() {
    // 200 distinct rows (fewer than the bins, so binning loses nothing): with every
    // row and every feature, each tree is the same and fits the training set exactly.
    let mut r = Lcg(7);
    let x1: Vec<f64> = (0..200).map(|_| r.next()).collect();
    let x2: Vec<f64> = (0..200).map(|_| r.next()).collect();
    let y: Vec<Option<&str>> = (0..200)
        .map(|_| Some(if r.next() < 0.5 { "yes" } else { "no" }))
        .collect();
    let t = Table::new(vec![
        Column::from_f64("x1", x1),
        Column::from_f64("x2", x2),
        Column::from_strings("y", &y).unwrap(),
    ])
    .unwrap();
    let params = ForestParams {
        trees: 5,
        bootstrap: false,
        max_features: Some(MaxFeatures::All),
        ..ForestParams::default()
    };
    let m = fit(&params, &t);
    assert!(m.oob.is_none());
    assert!(m.trees.windows(2).all(|w| w[0] == w[1]));
    let p = m.predict(&t).unwrap();
    assert_eq!(p, yes(&t));
    // A leaf needs at least min_data_in_leaf rows: fewer leaves, no exact fit.
    let coarse = fit(
        &ForestParams {
            min_data_in_leaf: 10,
            ..params.clone()
        },
        &t,
    );
    assert!(
        coarse.trees[0].n_leaves() <= 20,
        "{}",
        coarse.trees[0].n_leaves()
    );
    assert!(coarse.trees[0].n_leaves() < m.trees[0].n_leaves());
    // max_depth bounds the leaves by 2^depth.
    let shallow = fit(
        &ForestParams {
            max_depth: 3,
            ..params
        },
        &t,
    );
    assert!(shallow.trees[0].n_leaves() <= 8);
}

#[test]
fn regression_averages_a_step_function() {
    let mut r = Lcg(3);
    let n = 3000;
    let x: Vec<f64> = (0..n).map(|_| r.next() * 4.0).collect();
    let noise: Vec<f64> = (0..n).map(|_| r.next() - 0.5).collect();
    let y: Vec<f64> = x
        .iter()
        .zip(&noise)
        .map(|(&v, e)| [1.0, 5.0, -2.0, 3.0][v as usize] + 0.2 * e)
        .collect();
    let t = Table::new(vec![Column::from_f64("x", x), Column::from_f64("y", y)]).unwrap();
    let m = fit(&ForestParams::default(), &t);
    assert_eq!(m.task, Task::Regression);
    let oob = m.oob.as_ref().unwrap();
    assert_eq!(oob.metric, "r2");
    assert!(oob.value > 0.98, "{oob:?}");
    for (v, want) in [(0.5f32, 1.0), (1.5, 5.0), (2.5, -2.0), (3.5, 3.0)] {
        let got = m.predict_row(&[v]);
        assert!((got - want).abs() < 0.15, "x={v}: {got} vs {want}");
    }
}

#[test]
fn multiclass_probabilities() {
    let mut r = Lcg(11);
    let n = 1500;
    let mut x = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let c = i % 3;
        x.push(c as f64 * 3.0 + r.next());
        y.push(Some(["cat", "dog", "eel"][c]));
    }
    let t = Table::new(vec![
        Column::from_f64("x", x),
        Column::from_strings("y", &y).unwrap(),
    ])
    .unwrap();
    let m = fit(&ForestParams::default(), &t);
    assert_eq!(m.task, Task::Multiclass);
    assert_eq!(m.n_out, 3);
    let p = m.predict(&t).unwrap();
    for row in p.chunks(3) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
    assert_eq!(m.predict_row(&[0.5]), 0.0);
    assert_eq!(m.predict_row(&[3.5]), 1.0);
    assert_eq!(m.predict_row(&[6.5]), 2.0);
    // Binning may put the last value of one class and the first of the next in one
    // bin, so a few rows near the gaps can be misread.
    assert!(m.oob.as_ref().unwrap().value > 0.99);
}

#[test]
fn threads_and_save_load_do_not_change_anything() {
    let t = binary_table(3000, 5);
    let test = binary_table(500, 6);
    let params = ForestParams {
        trees: 20,
        ..ForestParams::default()
    };
    let with = |threads| on_threads(threads, || fit(&params, &t));
    let (a, b) = (with(1), with(2));
    assert_eq!(a, b);
    let other = fit(
        &ForestParams {
            seed: 1,
            ..params.clone()
        },
        &t,
    );
    assert_ne!(a.trees, other.trees);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rf.lithe");
    save_forest(&path, &a, serde_json::json!({}), None).unwrap();
    let back = match load_any(&path).unwrap() {
        TabularModel::Forest(m) => m,
        other => panic!("loaded {}", other.kind()),
    };
    assert_eq!(back, a);
    let (pa, pb) = (a.predict(&test).unwrap(), back.predict(&test).unwrap());
    assert!(pa.iter().zip(&pb).all(|(x, y)| x.to_bits() == y.to_bits()));
    let matrix = lithe_trees::data::feature_matrix(&a.features, &test).unwrap();
    assert_rows_match_batch(|row| a.predict_row(row), &matrix, a.features.len(), &pa);
    // The batch walk agrees with the row walk on every threshold and odd value too
    // (forests split the category index by thresholds, so junk indices are numbers).
    let edges = edge_rows(&a.trees);
    let pe = a.predict_matrix(&edges);
    assert_rows_match_batch(|row| a.predict_row(row), &edges, a.features.len(), &pe);
}

#[test]
fn unseen_category_is_treated_as_missing() {
    let train = binary_table(2000, 8);
    let m = fit(&ForestParams::default(), &train);
    let missing = m.predict(&one_row(None)).unwrap();
    assert_eq!(m.predict(&one_row(Some("ultraviolet"))).unwrap(), missing);
    assert_ne!(m.predict(&one_row(Some("blue"))).unwrap(), missing);
}

#[test]
fn bad_parameters_and_targets_are_clear_errors() {
    let t = binary_table(100, 9);
    let err = |p: ForestParams| ForestModel::fit(&p, &t, "y").unwrap_err().to_string();
    assert_eq!(
        err(ForestParams {
            trees: 0,
            ..ForestParams::default()
        }),
        "trees must be at least 1"
    );
    assert_eq!(
        err(ForestParams {
            max_features: Some(MaxFeatures::Fraction(0.0)),
            ..ForestParams::default()
        }),
        "max_features must be in (0, 1], got 0"
    );
    // A rule between fields: an out-of-bag score needs bootstrap samples.
    assert_eq!(
        err(ForestParams {
            oob_score: Some(true),
            bootstrap: false,
            ..ForestParams::default()
        }),
        "oob_score true needs bootstrap true (out-of-bag rows exist only with bootstrap)"
    );
    let no_boot = ForestParams {
        bootstrap: false,
        ..ForestParams::default()
    };
    assert_eq!(ForestModel::fit(&no_boot, &t, "y").unwrap().oob, None);
    assert!("1.5".parse::<MaxFeatures>().is_err());
    assert_eq!("0.5".parse::<MaxFeatures>(), Ok(MaxFeatures::Fraction(0.5)));
    assert_eq!(MaxFeatures::Sqrt.count(54), 7);
    assert_eq!(MaxFeatures::Log2.count(54), 5);
    let one = Table::new(vec![
        Column::from_f64("x", vec![1.0, 2.0]),
        Column::from_strings("y", &[Some("a"), Some("a")]).unwrap(),
    ])
    .unwrap();
    let e = ForestModel::fit(
        &ForestParams {
            task: Some(Task::Binary),
            ..ForestParams::default()
        },
        &one,
        "y",
    )
    .unwrap_err();
    assert!(e.to_string().contains("single class"), "{e}");
    let missing = ForestModel::fit(&ForestParams::default(), &t, "nope").unwrap_err();
    assert!(missing.to_string().contains("nope"), "{missing}");
}
