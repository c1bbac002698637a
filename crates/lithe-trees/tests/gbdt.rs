//! Known answers and invariants of gradient boosting.

use lithe_core::{Column, Table};
use lithe_trees::{GbdtModel, GbdtParams, Objective, load, save};

mod common;
use common::{Lcg, binary_table, edge_rows, on_threads, one_row, yes};

fn auc_of(m: &GbdtModel, t: &Table) -> f64 {
    let p = m.predict(t).unwrap();
    lithe_core::metrics::auc(&yes(t), &p).unwrap()
}

#[test]
fn learns_numeric_missing_and_categorical_signal() {
    let train = binary_table(4000, 1);
    let test = binary_table(2000, 2);
    let m = GbdtModel::fit(&GbdtParams::default(), &train, "y").unwrap();
    assert_eq!(m.objective, Objective::Binary);
    assert_eq!(m.classes, vec!["no".to_string(), "yes".to_string()]);
    let auc = auc_of(&m, &test);
    // The Bayes rate of this generator is about 0.93; a constant model scores 0.5.
    assert!(auc > 0.88, "auc {auc}");
    let imp = m.importance();
    let gain = |name: &str| imp.iter().find(|x| x.0 == name).unwrap().1;
    assert!(
        gain("x1") > gain("x2") && gain("color") > 0.0 && gain("x2") > 0.0,
        "{imp:?}"
    );
}

#[test]
fn regression_recovers_a_step_function() {
    let n = 2000;
    let x: Vec<f64> = (0..n).map(|i| i as f64 / n as f64).collect();
    let y: Vec<f64> = x
        .iter()
        .map(|&v| {
            if v < 0.3 {
                1.0
            } else if v < 0.7 {
                5.0
            } else {
                -2.0
            }
        })
        .collect();
    let t = Table::new(vec![
        Column::from_f64("x", x),
        Column::from_f64("y", y.clone()),
    ])
    .unwrap();
    let p = GbdtParams {
        rounds: 200,
        ..Default::default()
    };
    let m = GbdtModel::fit(&p, &t, "y").unwrap();
    assert_eq!(m.objective, Objective::L2);
    let pred = m.predict(&t).unwrap();
    let rmse = lithe_core::metrics::rmse(&y, &pred).unwrap();
    assert!(rmse < 1e-3, "rmse {rmse}");
}

#[test]
fn multiclass_separates_three_classes() {
    let mut r = Lcg(7);
    let n = 3000;
    let (mut a, mut b, mut y) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let (u, v) = (r.next(), r.next());
        a.push(u);
        b.push(v);
        y.push(Some(if u < 0.33 {
            0
        } else if v < 0.5 {
            1
        } else {
            2
        }));
    }
    let t = Table::new(vec![
        Column::from_f64("a", a),
        Column::from_f64("b", b),
        Column::from_i64("y", y),
    ])
    .unwrap();
    let m = GbdtModel::fit(&GbdtParams::default(), &t, "y").unwrap();
    assert_eq!(m.objective, Objective::Multiclass);
    assert_eq!(m.classes, vec!["0", "1", "2"]);
    let p = m.predict(&t).unwrap();
    let truth = t.column("y").unwrap().to_f64();
    let correct = p
        .chunks(3)
        .zip(&truth)
        .filter(|(row, c)| {
            row.iter()
                .enumerate()
                .max_by(|x, y| x.1.total_cmp(y.1))
                .unwrap()
                .0 as f64
                == **c
        })
        .count();
    assert!(correct as f64 / n as f64 > 0.99, "{correct}");
    for row in p.chunks(3) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }
    // Three trees a round: each row's raw scores agree across the walks.
    let matrix = m.features_of(&t).unwrap();
    assert_walks_agree(&m, &matrix[..600]);
    // A round's class trees grow in parallel; the model is the same on one thread.
    let one = on_threads(1, || {
        GbdtModel::fit(&GbdtParams::default(), &t, "y").unwrap()
    });
    assert_eq!(one, m);
}

/// The three walks give the same answers on every row of `matrix`: the batch walk
/// (`predict_matrix`), the compiled one-row walk (`predict_row`, `predict_raw_row`) and
/// each tree's own node-by-node walk (`Tree::leaf_of`), summed in tree order.
fn assert_walks_agree(m: &GbdtModel, matrix: &[f32]) {
    let nf = m.features.len();
    let k = m.n_class_trees();
    let batch = m.predict_matrix(matrix);
    // A few rows take the one-row walk inside `predict_matrix`, a block or more the
    // batch walker: the same bits either way (multiclass probabilities included).
    for few in [1, 3, 16, 17] {
        let n = (matrix.len() / nf).min(few);
        let small = m.predict_matrix(&matrix[..n * nf]);
        for (i, (a, b)) in small.iter().zip(&batch).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "{few} rows: value {i}");
        }
    }
    let mut raw = vec![0.0; k];
    for (r, row) in matrix.chunks(nf).enumerate() {
        let mut want = m.init[..k].to_vec();
        for (t, tree) in m.trees.iter().enumerate() {
            want[t % k] += tree.leaf_value[tree.leaf_of(row, &m.features)];
        }
        m.predict_raw_row(row, &mut raw);
        for c in 0..k {
            assert_eq!(raw[c].to_bits(), want[c].to_bits(), "row {r} class {c}");
        }
        if k == 1 {
            assert_eq!(m.predict_row(row).to_bits(), batch[r].to_bits(), "row {r}");
        }
    }
}

#[test]
fn save_load_gives_identical_predictions_and_rows_match_batch() {
    let train = binary_table(2000, 3);
    let test = binary_table(500, 4);
    let m = GbdtModel::fit(&GbdtParams::default(), &train, "y").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.lithe");
    save(&path, &m, serde_json::json!({}), Some(train.fingerprint())).unwrap();
    let back = load(&path).unwrap();
    assert_eq!(back, m);
    let (a, b) = (m.predict(&test).unwrap(), back.predict(&test).unwrap());
    assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    // The single-row path agrees with the batch path.
    let matrix = m.features_of(&test).unwrap();
    assert_walks_agree(&m, &matrix);
}

#[test]
fn batch_walk_matches_the_row_walk_on_edge_values() {
    let m = GbdtModel::fit(&GbdtParams::default(), &binary_table(2000, 3), "y").unwrap();
    let matrix = edge_rows(&m.trees);
    assert_walks_agree(&m, &matrix);
    // Missing, unknown and malformed category indices all count as missing.
    let missing = m.predict_row(&[4.0, 0.5, f32::NAN]);
    for junk in [6.0, 99.0, -1.0, 1.5, 1e9] {
        assert_eq!(
            m.predict_row(&[4.0, 0.5, junk]).to_bits(),
            missing.to_bits()
        );
    }
}

#[test]
fn batch_walk_handles_trees_of_one_leaf() {
    // No split can gain this much: every tree is a single leaf.
    let params = GbdtParams {
        min_gain: 1e12,
        ..GbdtParams::default()
    };
    let m = GbdtModel::fit(&params, &binary_table(500, 3), "y").unwrap();
    assert!(m.trees.iter().all(|t| t.nodes.is_empty()));
    let matrix = edge_rows(&m.trees);
    let batch = m.predict_matrix(&matrix);
    assert!(batch.len() >= 16);
    assert_walks_agree(&m, &matrix);
}

#[test]
fn row_walk_follows_trees_replaced_after_the_first_prediction() {
    let t = binary_table(1500, 3);
    let mut m = GbdtModel::fit(&GbdtParams::default(), &t, "y").unwrap();
    let matrix = edge_rows(&m.trees);
    let row = &matrix[..m.features.len()];
    let before = m.predict_row(row);
    // The compiled walk was built from the first tree list; a new list is walked as is.
    m.trees.truncate(5);
    assert_walks_agree(&m, &matrix);
    m.trees = GbdtModel::fit(&GbdtParams::default(), &binary_table(1500, 9), "y")
        .unwrap()
        .trees;
    assert_walks_agree(&m, &matrix);
    assert_ne!(m.predict_row(row).to_bits(), before.to_bits());
    // A clone compiles its own.
    let c = m.clone();
    assert_walks_agree(&c, &matrix);
}

#[test]
fn batch_walk_matches_the_row_walk_with_a_wide_categorical_feature() {
    // 150 categories: the sets span several words, beside one-word sets (6 colours)
    // and numeric nodes in the same trees.
    let mut r = Lcg(11);
    let n = 6000;
    let (mut x, mut city, mut color, mut y) = (vec![], vec![], vec![], vec![]);
    let names: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
    let colors = ["red", "green", "blue", "black", "white", "pink"];
    for _ in 0..n {
        let a = r.next();
        let c = (r.next() * 150.0) as usize;
        let k = (r.next() * 6.0) as usize;
        let logit = 3.0 * (a - 0.5) + if c % 7 < 3 { 2.0 } else { -1.5 } + k as f64 * 0.3;
        x.push(if r.next() < 0.1 { f64::NAN } else { a });
        city.push(if r.next() < 0.05 {
            None
        } else {
            Some(names[c].as_str())
        });
        color.push(Some(colors[k]));
        y.push(Some(if r.next() < 1.0 / (1.0 + (-logit).exp()) {
            "yes"
        } else {
            "no"
        }));
    }
    let t = Table::new(vec![
        Column::from_f64("x", x),
        Column::from_strings("city", &city).unwrap(),
        Column::from_strings("color", &color).unwrap(),
        Column::from_strings("y", &y).unwrap(),
    ])
    .unwrap();
    let m = GbdtModel::fit(&GbdtParams::default(), &t, "y").unwrap();
    let wide = m.trees.iter().any(|t| {
        t.nodes
            .iter()
            .any(|nd| nd.cat_set != u32::MAX && nd.feature == 1)
    });
    assert!(wide, "no split on the wide categorical feature");
    // Every category index, the missing bin, junk indices; numeric edges and NaN.
    let mut vals: Vec<f32> = (0..=151).map(|i| i as f32).collect();
    vals.extend([f32::NAN, -1.0, 0.5, 1e9, -0.0]);
    let mut matrix = Vec::new();
    for (i, &c) in vals.iter().enumerate() {
        for (j, xv) in [f32::NAN, 0.0, 0.3, 0.7, 1.0].into_iter().enumerate() {
            matrix.extend([xv, c, ((i + j) % 8) as f32]);
        }
    }
    assert_walks_agree(&m, &matrix);
}

#[test]
fn a_damaged_tree_in_a_model_file_is_a_clear_error() {
    let mut m = GbdtModel::fit(&GbdtParams::default(), &binary_table(500, 3), "y").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.lithe");
    // A child pointing back at its parent would walk forever; one past the end would
    // read outside the tree.
    for bad in [0, 10_000] {
        m.trees[3].nodes[1].left = bad;
        save(&path, &m, serde_json::json!({}), None).unwrap();
        let e = load(&path).unwrap_err();
        assert!(e.is_input(), "{e}");
        assert!(e.to_string().contains("tree 3"), "{e}");
    }
}

#[test]
fn thread_count_does_not_change_the_model() {
    let t = binary_table(3000, 5);
    let fit = |threads| {
        on_threads(threads, || {
            GbdtModel::fit(&GbdtParams::default(), &t, "y").unwrap()
        })
    };
    let (a, b) = (fit(1), fit(2));
    assert_eq!(a, b);
}

/// Past 131,072 rows the gradient pairs travel with the rows and large leaves are
/// partitioned in parallel pieces; the model must still not depend on the threads.
#[test]
fn large_data_model_does_not_depend_on_threads() {
    let t = binary_table(140_000, 11);
    let params = GbdtParams {
        rounds: 4,
        ..Default::default()
    };
    let fit = |threads| on_threads(threads, || GbdtModel::fit(&params, &t, "y").unwrap());
    let (a, b) = (fit(1), fit(3));
    assert_eq!(a, b);
    assert!(auc_of(&a, &t) > 0.8);
}

#[test]
fn unseen_category_is_treated_as_missing() {
    let train = binary_table(2000, 6);
    let m = GbdtModel::fit(&GbdtParams::default(), &train, "y").unwrap();
    let unseen = m.predict(&one_row(Some("ultraviolet"))).unwrap();
    let missing = m.predict(&one_row(None)).unwrap();
    assert_eq!(unseen, missing);
    assert_ne!(m.predict(&one_row(Some("blue"))).unwrap(), missing);
}

#[test]
fn input_errors_are_clear() {
    let t = binary_table(500, 8);
    let m = GbdtModel::fit(
        &GbdtParams {
            rounds: 5,
            ..Default::default()
        },
        &t,
        "y",
    )
    .unwrap();
    let no_color = Table::new(vec![
        Column::from_f64("x1", vec![1.0]),
        Column::from_f64("x2", vec![1.0]),
    ])
    .unwrap();
    let e = m.predict(&no_color).unwrap_err().to_string();
    assert!(e.contains("feature column 'color' is missing"), "{e}");

    let one = Table::new(vec![
        Column::from_f64("x", vec![1.0, 2.0]),
        Column::from_i64("y", vec![Some(1), Some(1)]),
    ])
    .unwrap();
    let e = GbdtModel::fit(&GbdtParams::default(), &one, "y")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("single value") || e.contains("single class"),
        "{e}"
    );

    let text = Table::new(vec![
        Column::from_f64("x", vec![1.0, 2.0, 3.0]),
        Column::from_strings("y", &[Some("a"), Some("b"), Some("c")]).unwrap(),
    ])
    .unwrap();
    let p = GbdtParams {
        objective: Some(Objective::L2),
        ..Default::default()
    };
    let e = GbdtModel::fit(&p, &text, "y").unwrap_err().to_string();
    assert!(e.contains("regression needs numbers"), "{e}");
    let e = GbdtModel::fit(&GbdtParams::default(), &text, "nope")
        .unwrap_err()
        .to_string();
    assert!(e.contains("'nope' not found"), "{e}");
    let e = GbdtModel::fit(
        &GbdtParams {
            num_leaves: 1,
            ..Default::default()
        },
        &text,
        "y",
    )
    .unwrap_err()
    .to_string();
    assert!(e.starts_with("num_leaves must be at least 2"), "{e}");
    // A rule between a parameter and the fit's inputs: early stopping needs a judge.
    let e = GbdtModel::fit_valid(
        &GbdtParams {
            early_stopping_rounds: 5,
            ..Default::default()
        },
        &text,
        "y",
        None,
        &|_| {},
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "early_stopping_rounds needs a validation set to judge the rounds"
    );
}

#[test]
fn early_stopping_keeps_the_best_round() {
    let train = binary_table(2000, 11);
    let valid = binary_table(1000, 12);
    let p = GbdtParams {
        rounds: 400,
        learning_rate: 0.3,
        early_stopping_rounds: 10,
        ..Default::default()
    };
    let (m, report) = GbdtModel::fit_valid(&p, &train, "y", Some(&valid), &|_| {}).unwrap();
    let best = report.best_round.unwrap();
    assert!(report.rounds < 400, "never stopped");
    assert_eq!(report.rounds, best + 11);
    assert_eq!(m.trees.len(), best + 1);
    assert_eq!(report.valid_metric.as_deref(), Some("logloss"));
    let h = &report.valid_history;
    assert!(h.iter().all(|&v| v >= h[best]));
    // The kept model scores the best validation logloss.
    let pred = m.predict(&valid).unwrap();
    let y: Vec<f64> = (0..valid.n_rows())
        .map(|r| {
            if valid.column("y").unwrap().value_string(r).as_deref() == Some("yes") {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let ll = lithe_core::metrics::logloss(&y, &pred).unwrap();
    assert!((ll - h[best]).abs() < 1e-9, "{ll} vs {}", h[best]);
}

#[test]
fn sampling_is_seeded_and_thread_count_free() {
    let t = binary_table(3000, 13);
    let p = GbdtParams {
        feature_fraction: 0.67,
        bagging_fraction: 0.7,
        rounds: 30,
        seed: 5,
        ..Default::default()
    };
    let fit = |threads, params: &GbdtParams| {
        on_threads(threads, || GbdtModel::fit(params, &t, "y").unwrap())
    };
    let a = fit(1, &p);
    assert_eq!(a, fit(2, &p));
    let other = GbdtParams {
        seed: 6,
        ..p.clone()
    };
    assert_ne!(a.trees, fit(2, &other).trees);
    assert!(auc_of(&a, &binary_table(1000, 14)) > 0.85);
    let e = GbdtModel::fit(
        &GbdtParams {
            bagging_fraction: 0.0,
            ..Default::default()
        },
        &t,
        "y",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("bagging_fraction must be in (0, 1]"),
        "{e}"
    );
}

fn regression_table(y: Vec<f64>) -> Table {
    let n = y.len();
    let x: Vec<f64> = (0..n).map(|i| (i % 97) as f64).collect();
    Table::new(vec![Column::from_f64("x", x), Column::from_f64("y", y)]).unwrap()
}

#[test]
fn robust_and_quantile_objectives() {
    let mut r = Lcg(21);
    // 90 % of targets are 5, 10 % are wild outliers: L1 predicts the median.
    let y: Vec<f64> = (0..2000)
        .map(|_| {
            if r.next() < 0.1 {
                1000.0 * r.next()
            } else {
                5.0
            }
        })
        .collect();
    let t = regression_table(y);
    let l1 = GbdtModel::fit(
        &GbdtParams {
            objective: Some(Objective::L1),
            ..Default::default()
        },
        &t,
        "y",
    )
    .unwrap();
    let p = l1.predict(&t).unwrap();
    let near = p.iter().filter(|&&v| (v - 5.0).abs() < 0.5).count();
    assert!(near as f64 / p.len() as f64 > 0.95, "{near}");
    let l2 = GbdtModel::fit(&GbdtParams::default(), &t, "y").unwrap();
    assert!(l2.init[0] > 20.0 && (l1.init[0] - 5.0).abs() < 1e-9);

    // The 0.9 quantile of uniform noise: about 90 % of targets fall below it.
    let y: Vec<f64> = (0..4000).map(|_| r.next() * 10.0).collect();
    let t = regression_table(y.clone());
    let q = GbdtParams {
        objective: Some(Objective::Quantile),
        alpha: 0.9,
        ..Default::default()
    };
    let m = GbdtModel::fit(&q, &t, "y").unwrap();
    let p = m.predict(&t).unwrap();
    let below = y.iter().zip(&p).filter(|(a, b)| a <= b).count() as f64 / y.len() as f64;
    assert!((below - 0.9).abs() < 0.05, "{below}");
    let e = GbdtModel::fit(&GbdtParams { alpha: 1.5, ..q }, &t, "y").unwrap_err();
    assert!(e.to_string().starts_with("alpha must be in (0, 1)"), "{e}");

    // Huber on clean data behaves like L2.
    let h = GbdtModel::fit(
        &GbdtParams {
            objective: Some(Objective::Huber),
            alpha: 100.0,
            ..Default::default()
        },
        &t,
        "y",
    )
    .unwrap();
    let l2 = GbdtModel::fit(&GbdtParams::default(), &t, "y").unwrap();
    let (ph, pl) = (h.predict(&t).unwrap(), l2.predict(&t).unwrap());
    assert!(ph.iter().zip(&pl).all(|(a, b)| (a - b).abs() < 1e-6));
}

#[test]
fn poisson_predicts_positive_rates() {
    let mut r = Lcg(31);
    let n = 3000;
    let x: Vec<f64> = (0..n).map(|_| r.next() * 3.0).collect();
    // Counts with mean exp(x): a sum of Bernoulli draws is close enough for this check.
    let y: Vec<f64> = x
        .iter()
        .map(|&v| {
            let lam = v.exp();
            (0..40).filter(|_| r.next() < lam / 40.0).count() as f64
        })
        .collect();
    let t = Table::new(vec![
        Column::from_f64("x", x.clone()),
        Column::from_f64("y", y.clone()),
    ])
    .unwrap();
    let p = GbdtParams {
        objective: Some(Objective::Poisson),
        ..Default::default()
    };
    let m = GbdtModel::fit(&p, &t, "y").unwrap();
    let pred = m.predict(&t).unwrap();
    assert!(pred.iter().all(|&v| v > 0.0));
    let (mp, my) = (
        pred.iter().sum::<f64>() / n as f64,
        y.iter().sum::<f64>() / n as f64,
    );
    assert!((mp - my).abs() / my < 0.05, "{mp} vs {my}");
    // Higher x, higher rate.
    let lo: f64 = x
        .iter()
        .zip(&pred)
        .filter(|(a, _)| **a < 1.0)
        .map(|(_, b)| b)
        .sum::<f64>();
    let hi: f64 = x
        .iter()
        .zip(&pred)
        .filter(|(a, _)| **a > 2.0)
        .map(|(_, b)| b)
        .sum::<f64>();
    assert!(hi > 3.0 * lo);
    let neg = regression_table(vec![-1.0, 2.0, 3.0]);
    let e = GbdtModel::fit(&p, &neg, "y").unwrap_err().to_string();
    assert!(e.contains("negative values"), "{e}");
}
