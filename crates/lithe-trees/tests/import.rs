//! Imported LightGBM and XGBoost models against the libraries' own predictions
//! (golden values from `bench/golden_import.py`), and every refusal.

use std::path::{Path, PathBuf};

use lithe_core::io::ReadOptions;
use lithe_core::{Error, Table};
use lithe_trees::import::{ImportOptions, ImportedModel, Source, import_bytes, import_file};
use lithe_trees::{TabularModel, load_any};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

fn rows() -> Table {
    lithe_core::read_table(&dir().join("rows.csv"), &ReadOptions::default()).unwrap()
}

/// The rows with `cat_s` as integer codes of the sorted levels (what `xgb_codes` was
/// trained on: a NumPy matrix), unknown text missing.
fn rows_as_codes() -> Table {
    let t = rows();
    let mut levels = [
        "red", "green", "blue", "black", "white", "pink", "grey", "teal",
    ];
    levels.sort();
    let cols = t
        .columns()
        .iter()
        .map(|c| {
            if c.name() != "cat_s" {
                return c.clone();
            }
            let codes = (0..t.n_rows())
                .map(|r| {
                    c.value_string(r)
                        .and_then(|v| levels.iter().position(|l| *l == v))
                        .map_or(f64::NAN, |i| i as f64)
                })
                .collect();
            lithe_core::Column::from_f64("cat_s", codes)
        })
        .collect();
    Table::new(cols).unwrap()
}

fn table_for(name: &str) -> Table {
    if name == "xgb_codes" {
        rows_as_codes()
    } else {
        rows()
    }
}

fn expected() -> serde_json::Value {
    let s = std::fs::read_to_string(dir().join("expected.json")).unwrap();
    serde_json::from_str(&s).unwrap()
}

fn flat(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
        .collect()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// The model files of one fixture: LightGBM's text, XGBoost's JSON and UBJSON.
fn files(name: &str) -> Vec<(Source, PathBuf)> {
    if name.starts_with("lgb") {
        return vec![(Source::LightGbm, dir().join(format!("{name}.txt")))];
    }
    ["json", "ubj"]
        .iter()
        .map(|e| dir().join(format!("{name}.{e}")))
        .filter(|p| p.exists())
        .map(|p| (Source::XgBoost, p))
        .collect()
}

fn import(source: Source, path: &Path) -> ImportedModel {
    import_file(source, path, &ImportOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_fixture_predicts_what_its_library_predicts() {
    let exp = expected();
    let models = exp["models"].as_object().unwrap();
    assert!(models.len() >= 15);
    let mut checked = 0;
    for (name, e) in models {
        let their_pred = flat(&e["pred"]);
        let their_raw = flat(&e["raw"]);
        let t = table_for(name);
        for (source, path) in files(name) {
            let m = import(source, &path);
            let raw = m.predict_raw(&t).unwrap();
            let pred = m.predict(&t).unwrap();
            assert_eq!(raw.len(), t.n_rows() * m.n_out(), "{name}");
            let d_raw = max_diff(&raw, &their_raw);
            eprintln!(
                "{}: raw {d_raw:e} pred {:e}",
                path.display(),
                max_diff(&pred, &their_pred)
            );
            assert!(
                d_raw <= 1e-9,
                "{}: raw scores differ by {d_raw}",
                path.display()
            );
            if m.objective == "binary:logitraw" {
                // XGBoost predicts the margin; lithe's prediction is its probability.
                let d = max_diff(&raw, &their_pred);
                assert!(d <= 1e-9, "{}: margins differ by {d}", path.display());
            } else {
                let d = max_diff(&pred, &their_pred);
                assert!(d <= 1e-9, "{}: predictions differ by {d}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked}");
}

#[test]
fn one_row_at_a_time_matches_the_batch() {
    for name in [
        "lgb_binary",
        "lgb_multiclass",
        "xgb_multiclass",
        "xgb_codes",
    ] {
        let t = table_for(name);
        for (source, path) in files(name) {
            let m = import(source, &path);
            let batch = m.predict(&t).unwrap();
            // The model's own matrix holds prepared values; preparing twice is harmless
            // (it is idempotent), so rows can be fed back one by one.
            let nf = m.features.len();
            let x = m.matrix(&t).unwrap();
            let k = m.n_out();
            let mut out = vec![0.0; k];
            for (r, row) in x.chunks(nf).enumerate() {
                m.predict_row(row, &mut out);
                assert_eq!(&out[..], &batch[r * k..(r + 1) * k], "{name} row {r}");
            }
        }
    }
}

#[test]
fn saved_and_loaded_models_predict_the_same() {
    let t = rows();
    let tmp = tempfile::tempdir().unwrap();
    for name in ["lgb_rf", "xgb_binary"] {
        for (source, path) in files(name) {
            let m = import(source, &path);
            let before = m.predict(&t).unwrap();
            let out = tmp.path().join("m.lithe");
            let model = TabularModel::Imported(m);
            model.save(&out, serde_json::json!({}), None).unwrap();
            let back = load_any(&out).unwrap();
            assert_eq!(back, model);
            assert_eq!(back.predict(&t).unwrap(), before);
            let bytes = model.to_bytes(serde_json::json!({})).unwrap();
            assert_eq!(TabularModel::from_bytes(&bytes).unwrap(), model);
            assert_eq!(back.kind(), "tabular.imported");
        }
    }
}

#[test]
fn tables_are_mapped_by_name_and_evaluated_with_given_labels() {
    let (_, path) = files("lgb_multiclass").remove(0);
    let opts = ImportOptions {
        target: "label".into(),
        classes: Some(vec!["lo".into(), "mid".into(), "hi".into()]),
    };
    let m = import_file(Source::LightGbm, &path, &opts).unwrap();
    let model = TabularModel::Imported(m);
    let t = rows();
    // Columns in another order, plus a label column: same predictions.
    let mut cols: Vec<_> = t.columns().iter().rev().cloned().collect();
    let n = t.n_rows();
    let labels: Vec<Option<&str>> = (0..n).map(|i| Some(["lo", "mid", "hi"][i % 3])).collect();
    cols.push(lithe_core::Column::from_strings("label", &labels).unwrap());
    let shuffled = Table::new(cols).unwrap();
    let a = model.predict_table(&t).unwrap();
    let b = model.predict_table(&shuffled).unwrap();
    assert_eq!(
        model.predict(&t).unwrap(),
        model.predict(&shuffled).unwrap()
    );
    assert_eq!(a.n_rows(), b.n_rows());
    let names: Vec<&str> = a.columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, vec!["prediction", "p_lo", "p_mid", "p_hi"]);
    let metrics = model.evaluate(&shuffled).unwrap();
    assert!(metrics.contains_key("logloss"));
    // A missing feature column is named.
    let without = Table::new(
        t.columns()
            .iter()
            .filter(|c| c.name() != "num_z")
            .cloned()
            .collect(),
    )
    .unwrap();
    let e = model.predict(&without).unwrap_err().to_string();
    assert!(e.contains("'num_z' is missing"), "{e}");
    // Wrong number of classes, or classes for regression.
    let bad = ImportOptions {
        classes: Some(vec!["a".into(), "b".into()]),
        ..Default::default()
    };
    let e = import_file(Source::LightGbm, &path, &bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("2 classes were given but the model has 3"),
        "{e}"
    );
}

fn refused(source: Source, bytes: &[u8], needle: &str) {
    let r = import_bytes(source, bytes, "model.file", &ImportOptions::default());
    match r {
        Err(Error::Input(msg)) => {
            assert!(msg.contains("model.file"), "no file name in: {msg}");
            assert!(msg.contains(needle), "expected '{needle}' in: {msg}");
        }
        Err(e) => panic!("not an input error: {e}"),
        Ok(_) => panic!("accepted; expected '{needle}'"),
    }
}

fn text(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap()
}

#[test]
fn bad_lightgbm_files_are_refused_by_name() {
    let good = text("lgb_binary.txt");
    refused(
        Source::LightGbm,
        &good.as_bytes()[..good.len() / 2],
        "truncated",
    );
    refused(Source::LightGbm, b"", "not a LightGBM text model");
    refused(
        Source::LightGbm,
        b"{\"learner\": {}}",
        "not a LightGBM text model",
    );
    refused(
        Source::LightGbm,
        good.replace("objective=binary sigmoid:1", "objective=my_loss")
            .as_bytes(),
        "unknown objective 'my_loss'",
    );
    refused(
        Source::LightGbm,
        good.replace("objective=binary sigmoid:1", "objective=lambdarank")
            .as_bytes(),
        "ranking objective",
    );
    refused(
        Source::LightGbm,
        good.replacen("is_linear=0", "is_linear=1", 1).as_bytes(),
        "linear tree",
    );
    // Tree 1's children: out of range, a cycle back to the root, a bad number.
    let tree1 = "left_child=1 -1 4 5 -2 -3 -7";
    assert!(good.contains(tree1), "fixture changed; update this test");
    refused(
        Source::LightGbm,
        good.replace(tree1, "left_child=1 -1 4 5 -2 -3 -70")
            .as_bytes(),
        "child -70 is out of range",
    );
    refused(
        Source::LightGbm,
        good.replace(tree1, "left_child=1 -1 4 5 -2 -3 0")
            .as_bytes(),
        "reached twice",
    );
    refused(
        Source::LightGbm,
        good.replace(tree1, "left_child=1 -1 4 5 -2 -3 x7")
            .as_bytes(),
        "'x7' is not a valid number",
    );
    refused(
        Source::LightGbm,
        good.replace(tree1, "left_child=1 -1 4 5 -2 -3").as_bytes(),
        "left_child has 6 values where 7 were expected",
    );
    refused(
        Source::LightGbm,
        good.replacen("split_feature=2 ", "split_feature=9 ", 1)
            .as_bytes(),
        "split feature 9 is out of range",
    );
}

#[test]
fn bad_xgboost_files_are_refused_by_name() {
    let good = text("xgb_binary.json");
    refused(
        Source::XgBoost,
        &good.as_bytes()[..good.len() / 2],
        "not valid JSON",
    );
    refused(Source::XgBoost, b"{\"a\": 1}", "'learner' is missing");
    refused(Source::XgBoost, b"[1, 2]", "not an XGBoost model");
    refused(
        Source::XgBoost,
        b"tree\nversion=v4\n",
        "not an XGBoost model",
    );
    let ubj = std::fs::read(dir().join("xgb_binary.ubj")).unwrap();
    refused(Source::XgBoost, &ubj[..ubj.len() / 3], "not valid UBJSON");
    refused(
        Source::XgBoost,
        good.replace("binary:logistic", "rank:ndcg").as_bytes(),
        "objective 'rank:ndcg' is not supported",
    );
    refused(
        Source::XgBoost,
        good.replace("\"name\":\"gbtree\"", "\"name\":\"gblinear\"")
            .as_bytes(),
        "gblinear",
    );
    refused(
        Source::XgBoost,
        text("xgb_dart.json").as_bytes(),
        "DART model whose tree weights (weight_drop) are not all 1",
    );
    // A child index past the tree's nodes, and a cycle.
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
    let tree = &mut v["learner"]["gradient_booster"]["model"]["trees"][0];
    tree["left_children"][0] = serde_json::json!(999);
    refused(
        Source::XgBoost,
        v.to_string().as_bytes(),
        "child out of range",
    );
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
    let tree = &mut v["learner"]["gradient_booster"]["model"]["trees"][0];
    tree["left_children"][1] = serde_json::json!(0);
    refused(Source::XgBoost, v.to_string().as_bytes(), "reached twice");
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
    v["learner"]["learner_model_param"]["base_score"] = serde_json::json!("[abc]");
    refused(Source::XgBoost, v.to_string().as_bytes(), "base_score");
    let mut v: serde_json::Value = serde_json::from_str(&good).unwrap();
    v["learner"]["gradient_booster"]["model"]["trees"][0]["tree_param"]["size_leaf_vector"] =
        serde_json::json!("3");
    refused(Source::XgBoost, v.to_string().as_bytes(), "multi-target");
}

#[test]
fn truncated_files_never_panic() {
    for name in [
        "lgb_multiclass.txt",
        "xgb_multiclass.json",
        "xgb_multiclass.ubj",
    ] {
        let bytes = std::fs::read(dir().join(name)).unwrap();
        let source = if name.ends_with("txt") {
            Source::LightGbm
        } else {
            Source::XgBoost
        };
        // A text model cut after its trees still holds them all.
        let end = if name.ends_with("txt") {
            text(name).find("end of trees").unwrap()
        } else {
            bytes.len()
        };
        for cut in (0..end).step_by(997) {
            let r = import_bytes(source, &bytes[..cut], name, &ImportOptions::default());
            assert!(matches!(r, Err(Error::Input(_))), "{name} cut at {cut}");
        }
    }
}

/// A hand-made LightGBM model: a categorical split on code 70 (past one 64-bit word,
/// the walker's wide path), then a numeric split under zero-as-missing whose default
/// direction disagrees with `0 <= threshold`.
const HAND: &str = "tree
version=v4
num_class=1
num_tree_per_iteration=1
label_index=0
max_feature_idx=1
objective=regression
feature_names=x c
feature_infos=[-1:1] 0:5:70

Tree=0
num_leaves=3
num_cat=1
split_feature=1 0
split_gain=1 1
threshold=0 -0.5
decision_type=1 6
left_child=-1 -2
right_child=1 -3
leaf_value=10 20 30
cat_boundaries=0 3
cat_threshold=0 0 64
is_linear=0
shrinkage=1


end of trees
";

#[test]
fn wide_category_sets_and_zero_as_missing_by_hand() {
    let m = import_bytes(
        Source::LightGbm,
        HAND.as_bytes(),
        "hand",
        &ImportOptions::default(),
    )
    .unwrap();
    let nan = f64::NAN;
    let cases = [
        (0.7, 70.0, 10.0),
        (0.7, 70.9, 10.0),
        (0.7, 69.0, 30.0),
        (nan, 5.0, 20.0),
        (1.0, nan, 30.0),
        (1.0, -1.0, 30.0),
        (1e-36, 1000.0, 20.0),
        (-0.5, 3.0, 20.0),
        (-0.4, 3.0, 30.0),
        (-0.0, 3.0, 20.0),
        (0.0, 1e10, 20.0),
    ];
    let t = Table::new(vec![
        lithe_core::Column::from_f64("c", cases.iter().map(|c| c.1).collect()),
        lithe_core::Column::from_f64("x", cases.iter().map(|c| c.0).collect()),
    ])
    .unwrap();
    let want: Vec<f64> = cases.iter().map(|c| c.2).collect();
    assert_eq!(m.predict(&t).unwrap(), want);
    let mut out = [0.0];
    for (x, c, v) in cases {
        m.predict_row(&[x, c], &mut out);
        assert_eq!(out[0], v, "x {x} c {c}");
    }
}
