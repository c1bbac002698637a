//! Row weights (`sample_weight`): unit weights are no weights, bit for bit; zero
//! weights are absent rows and integer weights repeated rows, wherever the learners'
//! other rules allow it (each test says why they do); bad weights are errors.

use lithe_core::describe::Task;
use lithe_core::{Column, Table};
use lithe_trees::{
    ForestModel, ForestParams, GbdtModel, GbdtParams, MaxFeatures, Objective, TabularParams,
    Weights, fit_weighted,
};

mod common;
use common::{Lcg, binary_table};

/// `n` rows on a grid: x1 has 40 values, x2 13 (and missing every 11th row), so the
/// first 80 rows hold every value and any table of those rows bins them the same
/// (each distinct value is its own bin). `y` is a noisy function of both; `label`
/// is one of three classes.
fn grid(n: usize, seed: u64) -> Table {
    let mut r = Lcg(seed);
    let (mut x1, mut x2, mut y, mut label) = (vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let a = (i % 40) as f64 * 0.25;
        let b = if i % 11 == 5 {
            f64::NAN
        } else {
            ((i * 7) % 13) as f64
        };
        let v = (a - 5.0).abs() + if b.is_nan() { 3.0 } else { 0.3 * b } + r.next();
        x1.push(a);
        x2.push(b);
        y.push(v);
        label.push(Some(["lo", "mid", "hi"][(v / 3.0).min(2.0) as usize]));
    }
    Table::new(vec![
        Column::from_f64("x1", x1),
        Column::from_f64("x2", x2),
        Column::from_f64("y", y),
        Column::from_strings("label", &label).unwrap(),
    ])
    .unwrap()
}

/// The table without column `drop` (a grid's other target).
fn without(t: &Table, drop: &str) -> Table {
    Table::new(
        t.columns()
            .iter()
            .filter(|c| c.name() != drop)
            .cloned()
            .collect(),
    )
    .unwrap()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn gbdt(p: &GbdtParams, t: &Table, target: &str, w: Option<&[f64]>) -> GbdtModel {
    let weights = Weights {
        train: w,
        valid: None,
    };
    GbdtModel::fit_weighted(p, t, target, None, weights, &|_| {})
        .unwrap()
        .0
}

fn forest(p: &ForestParams, t: &Table, target: &str, w: Option<&[f64]>) -> ForestModel {
    ForestModel::fit_weighted(p, t, target, w, &|_| {}).unwrap()
}

#[test]
fn unit_weights_give_the_same_models_as_no_weights() {
    let bin = binary_table(1500, 4);
    let g = grid(600, 1);
    let (reg, cls) = (without(&g, "label"), without(&g, "y"));
    let ones = |t: &Table| vec![1.0; t.n_rows()];
    let sampled = GbdtParams {
        rounds: 30,
        bagging_fraction: 0.7,
        feature_fraction: 0.5,
        ..GbdtParams::default()
    };
    let cases: Vec<(GbdtParams, &Table, &str)> = vec![
        (GbdtParams::default(), &bin, "y"),
        (sampled, &bin, "y"),
        (GbdtParams::default(), &reg, "y"),
        (GbdtParams::default(), &cls, "label"),
    ];
    let mut cases = cases;
    for o in [
        Objective::L1,
        Objective::Quantile,
        Objective::Huber,
        Objective::Poisson,
    ] {
        let p = GbdtParams {
            objective: Some(o),
            rounds: 30,
            ..GbdtParams::default()
        };
        cases.push((p, &reg, "y"));
    }
    for (p, t, target) in &cases {
        let plain = gbdt(p, t, target, None);
        let unit = gbdt(p, t, target, Some(&ones(t)));
        assert_eq!(plain, unit, "{:?}", p.objective);
        assert_eq!(
            bits(&plain.predict(t).unwrap()),
            bits(&unit.predict(t).unwrap())
        );
    }
    // Validation weights of one: the same history.
    let (train, valid) = (bin.take(&(0..1000).collect::<Vec<_>>()).unwrap(), {
        bin.take(&(1000..1500).collect::<Vec<_>>()).unwrap()
    });
    let p = TabularParams::Gbdt(GbdtParams {
        rounds: 20,
        ..GbdtParams::default()
    });
    let run = |w: Weights<'_>| fit_weighted(&p, &train, "y", Some(&valid), w, &|_| {}).unwrap();
    let (m0, s0) = run(Weights::default());
    let (m1, s1) = run(Weights {
        train: Some(&ones(&train)),
        valid: Some(&ones(&valid)),
    });
    assert_eq!(m0, m1);
    assert_eq!(s0, s1);
    // Forests: bootstrap counts times one are the counts.
    for (t, target) in [(&bin, "y"), (&reg, "y"), (&cls, "label")] {
        let p = ForestParams {
            trees: 20,
            ..ForestParams::default()
        };
        let plain = forest(&p, t, target, None);
        let unit = forest(&p, t, target, Some(&ones(t)));
        assert_eq!(plain, unit);
    }
}

/// Gradient boosting where zero weights are exactly absent rows: the same bins, rows
/// of zero weight last (a row's quantisation noise follows its index), fewer than 128
/// rows (the quantisation's levels depend on the row count from 128 on), a constant
/// hessian and `min_data_in_leaf` 1 (the hessian-estimated count, LightGBM's rule,
/// counts zero-weight rows in the leaf's size: it can only bind when a leaf has rows
/// of different hessians or a limit above 1).
#[test]
fn gbdt_zero_weights_are_absent_rows() {
    let t = without(&grid(120, 2), "label");
    let kept = t.take(&(0..80).collect::<Vec<_>>()).unwrap();
    let w: Vec<f64> = (0..120).map(|i| if i < 80 { 1.0 } else { 0.0 }).collect();
    for o in [Objective::L2, Objective::L1, Objective::Quantile] {
        let p = GbdtParams {
            objective: Some(o),
            rounds: 25,
            num_leaves: 8,
            min_data_in_leaf: 1,
            ..GbdtParams::default()
        };
        let weighted = gbdt(&p, &t, "y", Some(&w));
        let dropped = gbdt(&p, &kept, "y", None);
        assert!(weighted.trees.iter().any(|t| t.n_leaves() > 4), "{o:?}");
        assert_eq!(weighted, dropped, "{o:?}");
        assert_eq!(
            bits(&weighted.predict(&t).unwrap()),
            bits(&dropped.predict(&t).unwrap())
        );
    }
}

/// Integer weights against repeated rows (squared and absolute error, weights 0, 1 or
/// 2, the same bins): the starting score, the gradient sums, the leaf values and L1's
/// weighted quantiles are the repeated rows' in another order, and with
/// `min_data_in_leaf` 1 and weights at most 2 the hessian-estimated counts allow the
/// same splits (a side needs half the leaf's mean hessian; any row weighing at least 1
/// has it). The quantisation noise follows the row index, so histogram sums differ
/// in their last bits: the same trees, values equal to rounding.
#[test]
fn gbdt_integer_weights_are_repeated_rows() {
    let t = without(&grid(120, 3), "label");
    let w: Vec<f64> = (0..120).map(|i| [1.0, 2.0, 0.0][(i * 5 / 3) % 3]).collect();
    let rep: Vec<u32> = (0..120u32)
        .flat_map(|i| std::iter::repeat_n(i, w[i as usize] as usize))
        .collect();
    let repeated = t.take(&rep).unwrap();
    for o in [Objective::L2, Objective::L1] {
        let p = GbdtParams {
            objective: Some(o),
            rounds: 25,
            num_leaves: 8,
            min_data_in_leaf: 1,
            ..GbdtParams::default()
        };
        let a = gbdt(&p, &t, "y", Some(&w));
        let b = gbdt(&p, &repeated, "y", None);
        assert_eq!(a.features, b.features);
        assert!((a.init[0] - b.init[0]).abs() < 1e-12, "{o:?}");
        assert_eq!(a.trees.len(), b.trees.len(), "{o:?}");
        assert!(a.trees.iter().any(|t| t.n_leaves() > 4), "{o:?}");
        for (ta, tb) in a.trees.iter().zip(&b.trees) {
            assert_eq!(ta.nodes, tb.nodes, "{o:?}");
            for (va, vb) in ta.leaf_value.iter().zip(&tb.leaf_value) {
                assert!((va - vb).abs() < 1e-9, "{o:?}: {va} vs {vb}");
            }
        }
        let (pa, pb) = (a.predict(&t).unwrap(), b.predict(&t).unwrap());
        assert!(
            pa.iter().zip(&pb).all(|(x, y)| (x - y).abs() < 1e-9),
            "{o:?}"
        );
    }
}

/// Weights are what the model starts from: with nothing to split on, the prediction
/// is the weighted mean (regression) or the weighted positive share (classification).
#[test]
fn a_model_without_splits_predicts_the_weighted_mean() {
    let x = Column::from_f64("x", vec![1.0; 4]);
    let reg = Table::new(vec![
        x.clone(),
        Column::from_f64("y", vec![10.0, 0.0, 0.0, 0.0]),
    ])
    .unwrap();
    let labels = [Some("yes"), Some("no"), Some("no"), Some("no")];
    let cls = Table::new(vec![x, Column::from_strings("y", &labels).unwrap()]).unwrap();
    let w = [3.0, 1.0, 1.0, 1.0];
    let gbdt_as = |o| GbdtParams {
        objective: Some(o),
        ..GbdtParams::default()
    };
    let g = gbdt(&gbdt_as(Objective::L2), &reg, "y", Some(&w));
    assert!((g.predict(&reg).unwrap()[0] - 5.0).abs() < 1e-12);
    let g = gbdt(&GbdtParams::default(), &cls, "y", Some(&w));
    assert!((g.predict(&cls).unwrap()[0] - 0.5).abs() < 1e-12);
    let p = ForestParams {
        bootstrap: false,
        trees: 3,
        ..ForestParams::default()
    };
    let reg_p = ForestParams {
        task: Some(Task::Regression),
        ..p.clone()
    };
    assert_eq!(
        forest(&reg_p, &reg, "y", Some(&w)).predict(&reg).unwrap()[0],
        5.0
    );
    assert_eq!(
        forest(&p, &cls, "y", Some(&w)).predict(&cls).unwrap()[0],
        0.5
    );
    // L1 starts from the weighted median: that of the rows repeated (0, 0, 0, 10, 10, 10).
    let l1 = gbdt_as(Objective::L1);
    assert_eq!(gbdt(&l1, &reg, "y", Some(&w)).init, vec![5.0]);
    assert_eq!(gbdt(&l1, &reg, "y", None).init, vec![0.0]);
}

/// Forests without bootstrap, classification: every sum is a sum of whole numbers, so
/// zero weights are absent rows and integer weights repeated rows bit for bit (a
/// row's weight multiplies its bootstrap count, as in scikit-learn; with bootstrap the
/// draws themselves differ, which scikit-learn's own forests share).
#[test]
fn forest_zero_and_integer_weights_are_absent_and_repeated_rows() {
    let t = without(&grid(300, 5), "y");
    let binary_labels: Vec<Option<&str>> = (0..300)
        .map(|r| {
            let l = t.column("label").unwrap().value_string(r);
            Some(if l.as_deref() == Some("lo") {
                "lo"
            } else {
                "other"
            })
        })
        .collect();
    let binary = Table::new(vec![
        t.column("x1").unwrap().clone(),
        t.column("x2").unwrap().clone(),
        Column::from_strings("label", &binary_labels).unwrap(),
    ])
    .unwrap();
    let w: Vec<f64> = (0..300)
        .map(|i| [1.0, 3.0, 0.0, 2.0][(i / 7) % 4])
        .collect();
    let rep: Vec<u32> = (0..300u32)
        .flat_map(|i| std::iter::repeat_n(i, w[i as usize] as usize))
        .collect();
    for max_features in [MaxFeatures::All, MaxFeatures::Sqrt] {
        let p = ForestParams {
            trees: 4,
            bootstrap: false,
            max_features: Some(max_features),
            ..ForestParams::default()
        };
        for t in [&t, &binary] {
            let weighted = forest(&p, t, "label", Some(&w));
            let repeated = forest(&p, &t.take(&rep).unwrap(), "label", None);
            assert_eq!(weighted.trees, repeated.trees);
            let zero: Vec<f64> = (0..300)
                .map(|i| if i % 3 == 0 { 0.0 } else { 1.0 })
                .collect();
            let kept: Vec<u32> = (0..300).filter(|i| i % 3 != 0).collect();
            let weighted = forest(&p, t, "label", Some(&zero));
            let dropped = forest(&p, &t.take(&kept).unwrap(), "label", None);
            assert_eq!(weighted.trees, dropped.trees);
        }
    }
}

#[test]
fn bad_weights_are_errors_that_say_what_is_wrong() {
    let t = binary_table(50, 1);
    let gb = TabularParams::Gbdt(GbdtParams::default());
    let rf = TabularParams::Forest(ForestParams::default());
    let err = |p: &TabularParams, valid: Option<&Table>, w: Weights<'_>| {
        fit_weighted(p, &t, "y", valid, w, &|_| {})
            .unwrap_err()
            .to_string()
    };
    fn train(w: &[f64]) -> Weights<'_> {
        Weights {
            train: Some(w),
            valid: None,
        }
    }
    let mut nan = vec![1.0; 50];
    nan[7] = f64::NAN;
    let mut neg = vec![1.0; 50];
    neg[3] = -0.5;
    let mut inf = vec![1.0; 50];
    inf[49] = f64::INFINITY;
    for p in [&gb, &rf] {
        let e = err(p, None, train(&[1.0; 49]));
        assert!(
            e.contains("sample_weight has 49 values but the data has 50 rows"),
            "{e}"
        );
        let e = err(p, None, train(&neg));
        assert!(e.contains("sample_weight, row 4: -0.5 is negative"), "{e}");
        let e = err(p, None, train(&nan));
        assert!(e.contains("sample_weight, row 8: NaN is not finite"), "{e}");
        let e = err(p, None, train(&inf));
        assert!(
            e.contains("sample_weight, row 50: inf is not finite"),
            "{e}"
        );
        let e = err(p, None, train(&[0.0; 50]));
        assert!(e.contains("sample_weight is zero for every row"), "{e}");
    }
    let valid = binary_table(20, 2);
    let e = err(
        &gb,
        Some(&valid),
        Weights {
            train: None,
            valid: Some(&[1.0; 3]),
        },
    );
    assert!(
        e.contains("validation data") && e.contains("eval_sample_weight has 3 values"),
        "{e}"
    );
    let e = err(
        &gb,
        Some(&valid),
        Weights {
            train: None,
            valid: Some(&[0.0; 20]),
        },
    );
    assert!(
        e.contains("eval_sample_weight is zero for every row"),
        "{e}"
    );
    let e = err(
        &gb,
        None,
        Weights {
            train: None,
            valid: Some(&[1.0; 20]),
        },
    );
    assert!(e.contains("without a validation set"), "{e}");
    let e = err(
        &rf,
        None,
        Weights {
            train: None,
            valid: Some(&[1.0; 20]),
        },
    );
    assert!(e.contains("gradient boosting only"), "{e}");
}

/// Validation weights weigh the metric: zero weights are absent validation rows.
#[test]
fn validation_weights_weigh_the_metric() {
    let t = binary_table(1500, 6);
    let train = t.take(&(0..1000).collect::<Vec<_>>()).unwrap();
    let valid = t.take(&(1000..1500).collect::<Vec<_>>()).unwrap();
    let half = t.take(&(1000..1250).collect::<Vec<_>>()).unwrap();
    let w: Vec<f64> = (0..500).map(|i| if i < 250 { 1.0 } else { 0.0 }).collect();
    let p = GbdtParams {
        rounds: 15,
        ..GbdtParams::default()
    };
    let run = |v: &Table, vw: Option<&[f64]>| {
        let weights = Weights {
            train: None,
            valid: vw,
        };
        GbdtModel::fit_weighted(&p, &train, "y", Some(v), weights, &|_| {})
            .unwrap()
            .1
    };
    let weighted = run(&valid, Some(&w));
    assert_eq!(weighted, run(&half, None));
    assert_ne!(weighted, run(&valid, None));
}
