//! `lithe tabular` end to end: train, predict, eval, inspect, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lithe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lithe"))
        .args(args)
        .output()
        .expect("run lithe")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `lithe tabular train --data DATA --target TARGET --out MODEL EXTRA...`
fn train_model(data: &Path, target: &str, model: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "tabular",
        "train",
        "--data",
        p(data),
        "--target",
        target,
        "--out",
        p(model),
    ];
    args.extend_from_slice(extra);
    lithe(&args)
}

fn assert_bad_input(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A CSV where `label` is "hi" when x + (city == "b") > 1, with noise-free structure.
fn write_data(dir: &Path, name: &str, n: usize, with_label: bool, shuffle_cols: bool) -> PathBuf {
    let mut s = String::new();
    s.push_str(if shuffle_cols { "city,x,z" } else { "x,city,z" });
    s.push_str(if with_label { ",label\n" } else { "\n" });
    for i in 0..n {
        let x = (i * 37 % 100) as f64 / 50.0;
        let city = ["a", "b", "c"][i % 3];
        let z = (i * 13 % 7) as f64;
        let label = if x + if city == "b" { 1.0 } else { 0.0 } > 1.0 {
            "hi"
        } else {
            "lo"
        };
        if shuffle_cols {
            s.push_str(&format!("{city},{x},{z}"));
        } else {
            s.push_str(&format!("{x},{city},{z}"));
        }
        if with_label {
            s.push_str(&format!(",{label}"));
        }
        s.push('\n');
    }
    let path = dir.join(name);
    std::fs::write(&path, s).unwrap();
    path
}

#[test]
fn train_predict_eval_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = write_data(d, "train.csv", 600, true, false);
    let model = d.join("m.lithe");
    let o = train_model(
        &train,
        "label",
        &model,
        &["--rounds", "30", "--threads", "2"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["task"], "binary");
    assert_eq!(v["trees"], 30);
    assert!(v["fit_seconds"].as_f64().unwrap() > 0.0);

    // Predict on data with the columns in another order and no label.
    let test = write_data(d, "test.csv", 90, false, true);
    let out = d.join("pred.csv");
    let o = lithe(&[
        "tabular",
        "predict",
        "--model",
        p(&model),
        "--data",
        p(&test),
        "--out",
        p(&out),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "prediction");
    assert_eq!(lines.len(), 91);
    // Row order: row i's probability matches its label (rows alternate cities). The
    // positive class is the last label in sorted order: "lo".
    for (i, l) in lines[1..].iter().enumerate() {
        let p_lo: f64 = l.parse().unwrap();
        let x = (i * 37 % 100) as f64 / 50.0;
        let hi = x + if i % 3 == 1 { 1.0 } else { 0.0 } > 1.0;
        assert_eq!(p_lo < 0.5, hi, "row {i}: {p_lo}");
    }

    let labelled = write_data(d, "labelled.csv", 90, true, true);
    let o = lithe(&[
        "tabular",
        "eval",
        "--model",
        p(&model),
        "--data",
        p(&labelled),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for k in ["auc", "logloss", "accuracy"] {
        assert!(v[k].is_number(), "{k}: {v}");
    }
    let o = lithe(&["tabular", "inspect", "--model", p(&model)]);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("30 trees") && s.contains("feature importance") && s.contains("city"),
        "{s}"
    );
    let o = lithe(&["inspect", p(&model)]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("tabular.gbdt"));
}

#[test]
fn early_stopping_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = write_data(d, "train.csv", 600, true, false);
    let valid = write_data(d, "valid.csv", 200, true, true);
    let model = d.join("m.lithe");
    let o = train_model(
        &train,
        "label",
        &model,
        &[
            "--rounds",
            "300",
            "--learning-rate",
            "0.5",
            "--valid",
            p(&valid),
            "--early-stopping-rounds",
            "5",
            "--bagging-fraction",
            "0.8",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"]["metric"], "logloss");
    let best = v["valid"]["best_round"].as_u64().unwrap();
    assert_eq!(v["trees"].as_u64().unwrap(), best);
    assert!(v["rounds"].as_u64().unwrap() < 300);
}

#[test]
fn multiclass_predictions_have_a_column_per_class() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::from("x,y\n");
    for i in 0..300 {
        s.push_str(&format!("{},{}\n", i, ["cat", "dog", "eel"][i * 3 / 300]));
    }
    let data = dir.path().join("m.csv");
    std::fs::write(&data, s).unwrap();
    let model = dir.path().join("m.lithe");
    let o = train_model(
        &data,
        "y",
        &model,
        &["--rounds", "10", "--min-data-in-leaf", "5"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = dir.path().join("p.csv");
    assert_eq!(
        lithe(&[
            "tabular",
            "predict",
            "--model",
            p(&model),
            "--data",
            p(&data),
            "--out",
            p(&out)
        ])
        .status
        .code(),
        Some(0)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("prediction,p_cat,p_dog,p_eel"));
    assert!(lines.next().unwrap().starts_with("cat,"));
    assert!(text.lines().last().unwrap().starts_with("eel,"));
}

#[test]
fn bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = write_data(d, "train.csv", 200, true, false);
    let model = d.join("m.lithe");
    assert_bad_input(
        &train_model(&train, "nope", &model, &[]),
        "target column 'nope' not found",
    );
    assert!(!model.exists(), "a model was written");
    assert_bad_input(
        &train_model(&train, "label", &model, &["--num-leaves", "1"]),
        "num_leaves must be at least 2, got 1",
    );
    assert_bad_input(
        &train_model(&train, "label", &model, &["--task", "regression"]),
        "regression needs numbers",
    );
    assert_bad_input(
        &train_model(&train, "label", &model, &["--early-stopping-rounds", "5"]),
        "--early-stopping-rounds needs --valid",
    );
    let one = d.join("one.csv");
    std::fs::write(&one, "x,y\n1,a\n2,a\n").unwrap();
    assert_bad_input(&train_model(&one, "y", &model, &[]), "single value");
    assert!(!model.exists());

    let o = train_model(&train, "label", &model, &["--rounds", "3"]);
    assert_eq!(o.status.code(), Some(0));
    let no_city = d.join("no_city.csv");
    std::fs::write(&no_city, "x,z\n1,2\n").unwrap();
    let out = d.join("pred.csv");
    assert_bad_input(
        &lithe(&[
            "tabular",
            "predict",
            "--model",
            p(&model),
            "--data",
            p(&no_city),
            "--out",
            p(&out),
        ]),
        "feature column 'city' is missing",
    );
    assert!(!out.exists());
    // A model file of another kind.
    let other = d.join("other.lithe");
    lithe_core::model_file::write(
        &other,
        &lithe_core::model_file::Header::new("forecast.auto_ets"),
        b"x",
    )
    .unwrap();
    assert_bad_input(
        &lithe(&[
            "tabular",
            "predict",
            "--model",
            p(&other),
            "--data",
            p(&train),
            "--out",
            p(&out),
        ]),
        "this is a 'forecast.auto_ets' model",
    );
    let truncated = d.join("trunc.lithe");
    let bytes = std::fs::read(&model).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() - 10]).unwrap();
    assert_bad_input(
        &lithe(&[
            "tabular",
            "eval",
            "--model",
            p(&truncated),
            "--data",
            p(&train),
        ]),
        "truncated",
    );
}

#[test]
fn random_forest_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = write_data(d, "train.csv", 600, true, false);
    let model = d.join("rf.lithe");
    let o = train_model(
        &train,
        "label",
        &model,
        &["--model", "rf", "--trees", "25", "--max-features", "all"],
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kind"], "rf");
    assert_eq!(v["trees"], 25);
    assert_eq!(v["oob"]["metric"], "accuracy");
    // The label is a noise-free function of the features.
    assert!(v["oob"]["value"].as_f64().unwrap() > 0.97, "{v}");

    let labelled = write_data(d, "labelled.csv", 90, true, true);
    let o = lithe(&[
        "tabular",
        "eval",
        "--model",
        p(&model),
        "--data",
        p(&labelled),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["accuracy"].as_f64().unwrap() > 0.97, "{v}");

    let test = write_data(d, "test.csv", 90, false, true);
    let out = d.join("pred.csv");
    let o = lithe(&[
        "tabular",
        "predict",
        "--model",
        p(&model),
        "--data",
        p(&test),
        "--out",
        p(&out),
    ]);
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 91);

    let o = lithe(&["tabular", "inspect", "--model", p(&model)]);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(
        s.contains("random forest") && s.contains("25 trees") && s.contains("out-of-bag accuracy"),
        "{s}"
    );

    // Without bootstrap there is no out-of-bag score.
    let o = train_model(
        &train,
        "label",
        &d.join("rf2.lithe"),
        &["--model", "rf", "--trees", "3", "--bootstrap", "false"],
    );
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["oob"].is_null(), "{v}");

    // Flags of the other learner are refused, not ignored.
    let bad = d.join("bad.lithe");
    let o = train_model(&train, "label", &bad, &["--model", "rf", "--rounds", "5"]);
    assert_bad_input(&o, "--rounds applies to --model gbdt only");
    let o = train_model(&train, "label", &bad, &["--trees", "5"]);
    assert_bad_input(&o, "--trees applies to --model rf only");
    let o = train_model(
        &train,
        "label",
        &bad,
        &["--model", "rf", "--max-features", "2"],
    );
    assert_bad_input(&o, "max_features '2' is not sqrt, log2, all or a share");
    let o = train_model(
        &train,
        "label",
        &bad,
        &[
            "--model",
            "rf",
            "--bootstrap",
            "false",
            "--oob-score",
            "true",
        ],
    );
    assert_bad_input(&o, "oob_score true needs bootstrap true");
    assert!(!bad.exists());
}

/// Every parameter of both learners' specs is a flag whose help shows the spec's
/// documentation and default, and a model trained with no flags stores exactly the
/// spec's defaults in its header: the default is written once, in the spec.
#[test]
fn flags_help_and_model_header_come_from_the_parameter_specs() {
    use lithe_core::params::{ParamValue, Spec};
    use lithe_trees::GbdtParams;
    use lithe_trees::forest::ForestParams;

    let o = lithe(&["tabular", "train", "--help"]);
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    // One line per flag and its help (clap puts the help on the lines below the flag).
    let mut sections: Vec<String> = Vec::new();
    for line in help.lines() {
        let t = line.trim_start();
        if t.starts_with("--") || t.starts_with("-q,") || t.starts_with("-v,") {
            sections.push(t.to_string());
        } else if let Some(last) = sections.last_mut() {
            last.push(' ');
            last.push_str(t);
        }
    }
    let section = |flag: &str| {
        sections
            .iter()
            .find(|s| s.split_whitespace().next() == Some(flag))
            .unwrap_or_else(|| panic!("no {flag} in --help:\n{help}"))
            .clone()
    };
    let shown = |v: &ParamValue| match v {
        ParamValue::None => None,
        v => Some(v.to_string()),
    };
    let gbdt = GbdtParams::defaults();
    let rf = ForestParams::defaults();
    for (p, d) in gbdt.iter().chain(rf.iter()) {
        if p.name == "task" {
            continue; // `--task` is the command's own flag (it picks the objective too)
        }
        let s = section(&p.flag());
        assert!(s.contains(&p.doc()), "{}: {s}", p.name);
        let in_gbdt = gbdt.iter().find(|(q, _)| q.name == p.name).map(|(_, v)| v);
        let in_rf = rf.iter().find(|(q, _)| q.name == p.name).map(|(_, v)| v);
        match (in_gbdt, in_rf) {
            (Some(a), Some(b)) if a != b => assert!(
                s.contains(&format!(
                    "[default: {} for gbdt, {} for rf]",
                    shown(a).unwrap_or("none".into()),
                    shown(b).unwrap_or("none".into())
                )),
                "{s}"
            ),
            _ => match shown(d) {
                Some(d) => assert!(s.contains(&format!("[default: {d}]")), "{s}"),
                None => assert!(!s.contains("[default:"), "{s}"),
            },
        }
    }

    // The header: a model trained without parameter flags stores the defaults.
    let dir = tempfile::tempdir().unwrap();
    let train = write_data(dir.path(), "train.csv", 300, true, false);
    for (model, defaults) in [("gbdt", &gbdt), ("rf", &rf)] {
        let path = dir.path().join(format!("{model}.lithe"));
        let o = train_model(&train, "label", &path, &["--model", model]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let header = lithe_core::model_file::read(&path).unwrap().header;
        for (p, d) in defaults.iter() {
            let stored = &header.params[p.name];
            // The header keeps the parameters as given: an objective or task left to
            // the data stays null there (the schema records what was inferred).
            let want = match d {
                ParamValue::None => serde_json::Value::Null,
                ParamValue::Bool(b) => serde_json::json!(b),
                ParamValue::Int(i) => serde_json::json!(i),
                ParamValue::Float(x) => serde_json::json!(x),
                ParamValue::Text(t) => serde_json::json!(t),
            };
            assert_eq!(stored, &want, "{model}: {}", p.name);
        }
        let keys = header.params.as_object().unwrap().len();
        assert_eq!(keys, defaults.len(), "{model}: {}", header.params);
    }
}
