//! `lithe tabular import` end to end: import, predict, eval, inspect, and bad input
//! (exit code 2, nothing written). Fixtures and golden values are lithe-trees'
//! (`bench/golden_import.py`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lithe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lithe"))
        .args(args)
        .output()
        .expect("run lithe")
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lithe-trees/tests/fixtures/import")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn ok(o: &Output) -> serde_json::Value {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "stderr: {err}");
    serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null)
}

fn assert_bad_input(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// The CSV's columns by name, as numbers (text columns are left out).
fn csv_columns(path: &Path) -> Vec<(String, Vec<f64>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let names: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            let v: Option<Vec<f64>> = rows.iter().map(|r| r[i].parse().ok()).collect();
            v.map(|v| (n.to_string(), v))
        })
        .collect()
}

#[test]
fn import_predict_eval_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.lithe");
    let src = fixtures().join("lgb_multiclass.txt");
    let out = ok(&lithe(&[
        "tabular",
        "import",
        "--from",
        "lightgbm",
        p(&src),
        "--out",
        p(&model),
        "--target",
        "label",
        "--classes",
        "lo,mid,hi",
    ]));
    assert_eq!(out["task"], "multiclass");
    assert_eq!(out["trees"], 30);
    assert_eq!(out["classes"], serde_json::json!(["lo", "mid", "hi"]));

    let rows = fixtures().join("rows.csv");
    let pred = dir.path().join("pred.csv");
    ok(&lithe(&[
        "tabular",
        "predict",
        "--model",
        p(&model),
        "--data",
        p(&rows),
        "--out",
        p(&pred),
    ]));
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
            .unwrap();
    let theirs = expected["models"]["lgb_multiclass"]["pred"]
        .as_array()
        .unwrap();
    let cols = csv_columns(&pred);
    let names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, ["p_lo", "p_mid", "p_hi"]);
    for (c, (_, ours)) in cols.iter().enumerate() {
        assert_eq!(ours.len(), theirs.len());
        for (r, v) in ours.iter().enumerate() {
            let t = theirs[r][c].as_f64().unwrap();
            assert!((v - t).abs() <= 1e-9, "row {r} class {c}: {v} vs {t}");
        }
    }

    // eval on the rows with a label column.
    let text = std::fs::read_to_string(&rows).unwrap();
    let mut labelled = String::new();
    for (i, line) in text.lines().enumerate() {
        let label = if i == 0 {
            "label"
        } else {
            ["lo", "mid", "hi"][i % 3]
        };
        labelled.push_str(&format!("{line},{label}\n"));
    }
    let lab = dir.path().join("labelled.csv");
    std::fs::write(&lab, labelled).unwrap();
    let m = ok(&lithe(&[
        "tabular",
        "eval",
        "--model",
        p(&model),
        "--data",
        p(&lab),
    ]));
    assert!(m["logloss"].as_f64().unwrap() > 0.0, "{m}");

    let o = lithe(&["tabular", "inspect", "--model", p(&model)]);
    ok(&o);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("imported from lightgbm, multiclass (multiclass num_class:3)"),
        "{s}"
    );
    assert!(s.contains("30 trees"), "{s}");

    // An XGBoost UBJSON model, binary, default labels.
    let xmodel = dir.path().join("x.lithe");
    let out = ok(&lithe(&[
        "tabular",
        "import",
        "--from",
        "xgboost",
        p(&fixtures().join("xgb_binary.ubj")),
        "--out",
        p(&xmodel),
    ]));
    assert_eq!(out["classes"], serde_json::json!(["0", "1"]));
    ok(&lithe(&[
        "tabular",
        "predict",
        "--model",
        p(&xmodel),
        "--data",
        p(&rows),
        "--out",
        p(&pred),
    ]));
    let theirs = expected["models"]["xgb_binary"]["pred"].as_array().unwrap();
    let cols = csv_columns(&pred);
    for (r, v) in cols[0].1.iter().enumerate() {
        let t = theirs[r][0].as_f64().unwrap();
        assert!((v - t).abs() <= 1e-9, "row {r}: {v} vs {t}");
    }
}

#[test]
fn bad_imports_exit_2_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.lithe");
    let text = std::fs::read_to_string(fixtures().join("lgb_binary.txt")).unwrap();
    let bad = dir.path().join("bad.txt");
    std::fs::write(
        &bad,
        text.replace("objective=binary sigmoid:1", "objective=my_loss"),
    )
    .unwrap();
    let o = lithe(&[
        "tabular",
        "import",
        "--from",
        "lightgbm",
        p(&bad),
        "--out",
        p(&model),
    ]);
    assert_bad_input(&o, "unknown objective 'my_loss'");
    assert!(!model.exists());

    // A LightGBM file given as XGBoost.
    let src = fixtures().join("lgb_binary.txt");
    let o = lithe(&[
        "tabular",
        "import",
        "--from",
        "xgboost",
        p(&src),
        "--out",
        p(&model),
    ]);
    assert_bad_input(&o, "not an XGBoost model");
    assert!(!model.exists());

    // Classes that do not fit, a missing file, the output over the input.
    let o = lithe(&[
        "tabular",
        "import",
        "--from",
        "lightgbm",
        p(&src),
        "--out",
        p(&model),
        "--classes",
        "a,b,c",
    ]);
    assert_bad_input(&o, "3 classes were given but the model has 2");
    assert!(!model.exists());
    let o = lithe(&[
        "tabular",
        "import",
        "--from",
        "lightgbm",
        p(&dir.path().join("nope.txt")),
        "--out",
        p(&model),
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!model.exists());
    let copy = dir.path().join("copy.txt");
    std::fs::write(&copy, &text).unwrap();
    let o = lithe(&[
        "tabular",
        "import",
        "--from",
        "lightgbm",
        p(&copy),
        "--out",
        p(&copy),
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), text);
    let o = lithe(&[
        "tabular",
        "import",
        "--from",
        "catboost",
        p(&src),
        "--out",
        p(&model),
    ]);
    assert_eq!(o.status.code(), Some(2));
}
