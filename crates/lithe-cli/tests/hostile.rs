//! Hostile inputs that once gave a silently wrong or destructive answer: each is now
//! a clear error (exit code 2, nothing written) or an answer that keeps the input as
//! written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lithe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lithe"))
        .args(args)
        .output()
        .expect("run lithe")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Exit code 2, one message naming `needle`, no panic.
fn assert_bad_input(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

fn assert_ok(o: &Output) {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
}

/// Files in `dir` whose names start with lithe's temporary prefix.
fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".lithe-tmp"))
        .collect()
}

const INTERACTIONS: &str = "user_id,item_id\n007,a\n7,b\n007,b\n1.50,a\n8,c\n8,a\n9,c\n9,b\n";

/// A recommender trained briefly (no tuning) on `interactions`, with item features
/// when given; its model file.
fn train_recommender(dir: &Path, interactions: &str, item_features: Option<&str>) -> PathBuf {
    let inter = file(dir, "inter.csv", interactions);
    let model = dir.join("m.lithe");
    let mut args = vec!["recommend", "train", "--interactions", p(&inter)];
    let feats = item_features.map(|t| file(dir, "items.csv", t));
    if let Some(f) = &feats {
        args.extend(["--item-features", p(f)]);
    }
    args.extend(["--out", p(&model), "--epochs", "2", "--no-tune", "-q"]);
    assert_ok(&lithe(&args));
    model
}

// ---- 1. ids keep their spelling ----

#[test]
fn recommend_query_keeps_user_ids_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_recommender(dir.path(), INTERACTIONS, None);
    let users = file(dir.path(), "users.csv", "user_id\n007\n1.50\n");
    let out = dir.path().join("q.csv");
    let o = lithe(&[
        "recommend",
        "query",
        "--model",
        p(&model),
        "--users",
        p(&users),
        "--k",
        "2",
        "--out",
        p(&out),
    ]);
    assert_ok(&o);
    assert!(!stderr(&o).contains("not in the model"), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    let ids: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids, ["007", "007", "1.50", "1.50"], "{text}");
}

#[test]
fn add_items_keeps_item_ids_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_recommender(
        dir.path(),
        "user_id,item_id\nu1,0100\nu1,0200\nu2,0200\nu2,0300\nu3,0100\nu3,0300\n",
        Some("item_id,colour\n0100,red\n0200,blue\n0300,red\n"),
    );
    let new = file(dir.path(), "new.csv", "item_id,colour\n0400,blue\n");
    assert_ok(&lithe(&[
        "recommend",
        "add-items",
        "--model",
        p(&model),
        "--items",
        p(&new),
        "-q",
    ]));
    let o = lithe(&[
        "recommend",
        "query",
        "--model",
        p(&model),
        "--user",
        "u1",
        "--k",
        "4",
        "--exact",
    ]);
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("0400") && out.contains("0100"), "{out}");
    assert!(!out.contains(",400,") && !out.contains(",100,"), "{out}");
}

#[test]
fn forecast_series_007_and_7_are_distinct_and_keep_their_names() {
    let dir = tempfile::tempdir().unwrap();
    let data = file(
        dir.path(),
        "f.csv",
        "unique_id,ds,y\n007,1,1\n007,2,2\n007,3,3\n7,1,5\n7,2,6\n7,3,7\n",
    );
    let out = dir.path().join("fc.csv");
    let o = lithe(&[
        "forecast",
        "--data",
        p(&data),
        "--models",
        "naive",
        "--horizon",
        "1",
        "--out",
        p(&out),
        "-q",
    ]);
    assert_ok(&o);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, "unique_id,ds,Naive\n007,4,3\n7,4,7\n");
}

#[test]
fn forecast_custom_id_column_keeps_its_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let data = file(
        dir.path(),
        "f.csv",
        "store,ds,y\n1.50,1,1\n1.50,2,2\n1.5,1,4\n1.5,2,5\n",
    );
    let out = dir.path().join("fc.csv");
    assert_ok(&lithe(&[
        "forecast",
        "--data",
        p(&data),
        "--models",
        "naive",
        "--horizon",
        "1",
        "--out",
        p(&out),
        "--id-col",
        "store",
        "-q",
    ]));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text, "store,ds,Naive\n1.5,3,5\n1.50,3,2\n");
}

// ---- 2. outputs that cannot destroy ----

#[test]
fn out_equal_to_an_input_is_refused_however_spelt() {
    let dir = tempfile::tempdir().unwrap();
    let data = file(dir.path(), "f.csv", "unique_id,ds,y\na,1,1\na,2,2\n");
    let before = std::fs::read(&data).unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let aliases = [p(&data).to_string(), format!("{}/../f.csv", p(&sub))];
    for out in &aliases {
        let o = lithe(&[
            "forecast",
            "--data",
            p(&data),
            "--models",
            "naive",
            "--horizon",
            "1",
            "--out",
            out,
        ]);
        assert_bad_input(&o, "is also an input");
    }
    let inter = file(dir.path(), "inter.csv", INTERACTIONS);
    let o = lithe(&[
        "recommend",
        "train",
        "--interactions",
        p(&inter),
        "--out",
        p(&inter),
    ]);
    assert_bad_input(&o, "is also an input");
    let o = lithe(&[
        "tabular",
        "train",
        "--data",
        p(&data),
        "--target",
        "y",
        "--out",
        p(&data),
    ]);
    assert_bad_input(&o, "is also an input");
    assert_eq!(std::fs::read(&data).unwrap(), before);
    assert!(temporaries(dir.path()).is_empty());
}

#[cfg(unix)]
#[test]
fn out_that_is_a_device_fifo_or_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = file(dir.path(), "f.csv", "unique_id,ds,y\na,1,1\na,2,2\n");
    let target = file(dir.path(), "target.csv", "keep me\n");
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let fifo = dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for (out, what) in [
        ("/dev/null", "a device"),
        (p(&link), "a symbolic link"),
        (p(&fifo), "a FIFO"),
        (p(dir.path()), "a directory"),
    ] {
        let o = lithe(&[
            "forecast",
            "--data",
            p(&data),
            "--models",
            "naive",
            "--horizon",
            "1",
            "--out",
            out,
        ]);
        assert_bad_input(&o, what);
    }
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me\n");
    assert!(temporaries(dir.path()).is_empty());
}

// ---- 3. non-finite numbers ----

fn regression_csv(extra: &str) -> String {
    let mut s = String::from("x,y\n");
    for i in 0..60 {
        s.push_str(&format!("{},{}\n", i % 7, (i * 13 % 17) as f64 / 3.0));
        if i == 3 {
            s.push_str(extra);
        }
    }
    s
}

#[test]
fn non_finite_or_huge_targets_are_refused_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.lithe");
    for (bad, shown) in [
        ("1,inf\n", "inf"),
        ("1,1e308\n", "1e308"),
        ("1,-1e308\n", "-1e308"),
    ] {
        let data = file(dir.path(), "d.csv", &regression_csv(bad));
        for learner in ["gbdt", "rf"] {
            let o = lithe(&[
                "tabular",
                "train",
                "--data",
                p(&data),
                "--target",
                "y",
                "--model",
                learner,
                "--out",
                p(&model),
            ]);
            assert_bad_input(&o, &format!("row 5: {shown} is not a usable target"));
            assert!(!model.exists());
        }
    }
    // The same rows given to `eval` against a good model.
    let good = file(dir.path(), "good.csv", &regression_csv(""));
    assert_ok(&lithe(&[
        "tabular",
        "train",
        "--data",
        p(&good),
        "--target",
        "y",
        "--rounds",
        "5",
        "--out",
        p(&model),
        "-q",
    ]));
    let data = file(dir.path(), "d.csv", &regression_csv("1,inf\n"));
    let o = lithe(&["tabular", "eval", "--model", p(&model), "--data", p(&data)]);
    assert_bad_input(&o, "row 5: inf is not a usable target");
}

#[test]
fn a_learning_rate_that_diverges_fails_training_instead_of_writing_a_nan_model() {
    let dir = tempfile::tempdir().unwrap();
    let data = file(dir.path(), "d.csv", &regression_csv(""));
    let model = dir.path().join("m.lithe");
    let o = lithe(&[
        "tabular",
        "train",
        "--data",
        p(&data),
        "--target",
        "y",
        "--learning-rate",
        "1e308",
        "--out",
        p(&model),
    ]);
    assert_bad_input(&o, "training diverged");
    assert!(!model.exists());
    let mut inter = String::from("user_id,item_id\n");
    for u in 0..40 {
        for k in 0..5 {
            inter.push_str(&format!("u{u},i{}\n", (u * 7 + k * 3) % 30));
        }
    }
    let inter = file(dir.path(), "inter.csv", &inter);
    let o = lithe(&[
        "recommend",
        "train",
        "--interactions",
        p(&inter),
        "--learning-rate",
        "1e30",
        "--out",
        p(&model),
    ]);
    assert_bad_input(&o, "training diverged");
    assert!(!model.exists());
    assert!(temporaries(dir.path()).is_empty());
}

#[test]
fn non_finite_series_values_are_refused_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let data = file(
        dir.path(),
        "f.csv",
        "unique_id,ds,y\na,1,1\na,2,inf\na,3,3\n",
    );
    let out = dir.path().join("fc.csv");
    let o = lithe(&[
        "forecast",
        "--data",
        p(&data),
        "--horizon",
        "1",
        "--out",
        p(&out),
    ]);
    assert_bad_input(&o, "target column 'y', row 2: inf is not a usable value");
    assert!(!out.exists());
}

// ---- 4. labels the model never saw ----

#[test]
fn eval_and_valid_with_unseen_labels_count_and_name_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut train = String::from("x,y\n");
    for i in 0..40 {
        train.push_str(&format!("{i},{}\n", i % 2));
    }
    let train = file(dir.path(), "train.csv", &train);
    let model = dir.path().join("m.lithe");
    assert_ok(&lithe(&[
        "tabular",
        "train",
        "--data",
        p(&train),
        "--target",
        "y",
        "--rounds",
        "3",
        "--out",
        p(&model),
        "-q",
    ]));
    let yes_no = file(dir.path(), "yn.csv", "x,y\n1,yes\n2,no\n3,no\n");
    let o = lithe(&[
        "tabular",
        "eval",
        "--model",
        p(&model),
        "--data",
        p(&yes_no),
    ]);
    assert_bad_input(
        &o,
        "3 rows have labels the model never saw: 'yes' (1 row), 'no' (2 rows)",
    );
    let renamed = file(dir.path(), "r.csv", "x,y\n1,1\n2,0\n3,2\n");
    let o = lithe(&[
        "tabular",
        "eval",
        "--model",
        p(&model),
        "--data",
        p(&renamed),
    ]);
    assert_bad_input(&o, "1 row has a label the model never saw: '2' (1 row)");
    let o = lithe(&[
        "tabular",
        "train",
        "--data",
        p(&train),
        "--target",
        "y",
        "--valid",
        p(&renamed),
        "--early-stopping-rounds",
        "2",
        "--out",
        p(&dir.path().join("m2.lithe")),
    ]);
    assert_bad_input(&o, "validation data");
}

// ---- 5. future regressors at the horizon's stamps ----

fn regressor_series(dir: &Path) -> PathBuf {
    let mut s = String::from("unique_id,ds,y,price\n");
    for t in 0..50 {
        s.push_str(&format!("a,{t},{},{}\n", 10 + t % 5 + t / 3, t % 4));
    }
    file(dir, "train.csv", &s)
}

#[test]
fn future_rows_must_be_the_horizon_stamps_each_once() {
    let dir = tempfile::tempdir().unwrap();
    let train = regressor_series(dir.path());
    let out = dir.path().join("fc.csv");
    let run = |future: &str| {
        let f = file(dir.path(), "future.csv", future);
        lithe(&[
            "forecast",
            "--data",
            p(&train),
            "--models",
            "auto_arima",
            "--horizon",
            "3",
            "--future",
            p(&f),
            "--out",
            p(&out),
        ])
    };
    let o = run("unique_id,ds,price\na,60,1\na,61,2\na,62,3\n");
    assert_bad_input(
        &o,
        "have ds = 60 (row 1) where step 1 of the horizon is ds = 50",
    );
    let o = run("unique_id,ds,price\na,50,1\na,50,2\na,52,3\n");
    assert_bad_input(&o, "two rows with ds = 50");
    assert!(!out.exists());
    assert_ok(&run("unique_id,ds,price\na,52,1\na,50,2\na,51,3\n"));
}

// ---- 7. time arithmetic that cannot overflow ----

#[test]
fn a_horizon_past_what_ds_can_hold_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fc.csv");
    let ints = file(dir.path(), "i.csv", "unique_id,ds,y\na,1,1\na,2,2\na,3,3\n");
    let o = lithe(&[
        "forecast",
        "--data",
        p(&ints),
        "--horizon",
        "3",
        "--freq",
        "9223372036854775807",
        "--out",
        p(&out),
    ]);
    assert_bad_input(&o, "cannot be represented");
    let dates = file(
        dir.path(),
        "d.csv",
        "unique_id,ds,y\na,9999-10-01,1\na,9999-11-01,2\na,9999-12-01,3\n",
    );
    let o = lithe(&[
        "forecast",
        "--data",
        p(&dates),
        "--horizon",
        "2",
        "--out",
        p(&out),
    ]);
    assert_bad_input(&o, "after its last stamp 9999-12-01 cannot be represented");
    assert!(!out.exists());
    let o = lithe(&[
        "forecast",
        "--data",
        p(&ints),
        "--horizon",
        "2",
        "--freq",
        "D",
        "--out",
        p(&out),
    ]);
    assert_bad_input(&o, "ds holds integers, which take an integer step");
}

// ---- bounded resources ----

#[test]
fn sizes_multiplied_from_flags_are_bounded_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fc.csv");
    let data = file(
        dir.path(),
        "i.csv",
        "unique_id,ds,y\na,1,1\na,2,2\na,3,3\nb,1,3\nb,2,4\n",
    );
    let o = lithe(&[
        "forecast",
        "--data",
        p(&data),
        "--horizon",
        "1000000000",
        "--out",
        p(&out),
    ]);
    assert_bad_input(&o, "more forecast values than lithe holds at once");
    let o = lithe(&[
        "forecast",
        "cv",
        "--data",
        p(&data),
        "--horizon",
        "1",
        "--windows",
        "4294967295",
        "--out",
        p(&out),
    ]);
    assert_bad_input(&o, "reach back past the start of every series");
    assert!(!out.exists());
}

// ---- 6. timestamps that do not parse ----

#[test]
fn a_timestamp_that_does_not_parse_is_an_error_naming_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let data = file(
        dir.path(),
        "ts.csv",
        "user_id,item_id,timestamp\nu1,a,1\nu1,b,2\nu2,a,yesterday\nu2,c,4\n",
    );
    let out = dir.path().join("m.lithe");
    let o = lithe(&[
        "recommend",
        "train",
        "--interactions",
        p(&data),
        "--out",
        p(&out),
    ]);
    assert_bad_input(&o, "row 4: 'timestamp' is 'yesterday'");
    assert!(!out.exists());
}

// ---- 8. feature tables, add-items, stray text ----

#[test]
fn feature_tables_with_duplicate_ids_are_refused_and_partial_coverage_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let inter = file(dir.path(), "inter.csv", INTERACTIONS);
    let out = dir.path().join("m.lithe");
    let dup = file(dir.path(), "uf.csv", "user_id,segment\n007,x\n8,y\n007,z\n");
    let o = lithe(&[
        "recommend",
        "train",
        "--interactions",
        p(&inter),
        "--user-features",
        p(&dup),
        "--out",
        p(&out),
        "--no-tune",
        "--epochs",
        "1",
    ]);
    assert_bad_input(&o, "id '007' has two rows (1 and 3)");
    let partial = file(dir.path(), "uf.csv", "user_id,segment\n007,x\n8,y\n");
    let o = lithe(&[
        "recommend",
        "train",
        "--interactions",
        p(&inter),
        "--user-features",
        p(&partial),
        "--out",
        p(&out),
        "--no-tune",
        "--epochs",
        "1",
    ]);
    assert_ok(&o);
    assert!(
        stderr(&o).contains("3 of 5 users have no row in --user-features"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn add_items_with_an_id_twice_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let model = train_recommender(
        dir.path(),
        INTERACTIONS,
        Some("item_id,colour\na,red\nb,blue\nc,red\n"),
    );
    let before = std::fs::read(&model).unwrap();
    let new = file(
        dir.path(),
        "new.csv",
        "item_id,colour\nd,red\ne,blue\nd,blue\n",
    );
    let o = lithe(&[
        "recommend",
        "add-items",
        "--model",
        p(&model),
        "--items",
        p(&new),
    ]);
    assert_bad_input(&o, "item 'd' has two rows (1 and 3)");
    assert_eq!(std::fs::read(&model).unwrap(), before);
}

#[test]
fn a_numeric_column_made_text_by_a_stray_value_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::from("x,y\n");
    for i in 0..300 {
        let x = if i == 150 {
            "oops".to_string()
        } else {
            format!("{}.5", i)
        };
        s.push_str(&format!("{x},{}\n", i % 2));
    }
    let data = file(dir.path(), "d.csv", &s);
    let o = lithe(&[
        "tabular",
        "train",
        "--data",
        p(&data),
        "--target",
        "y",
        "--rounds",
        "2",
        "--out",
        p(&dir.path().join("m.lithe")),
    ]);
    assert_ok(&o);
    let err = stderr(&o);
    assert!(
        err.contains("column 'x' holds numbers but was read as text")
            && err.contains("'oops' (row 151)")
            && err.contains("--na-values 'oops'"),
        "{err}"
    );
    let o = lithe(&["describe", p(&data)]);
    assert!(stderr(&o).contains("--na-values 'oops'"), "{}", stderr(&o));
}

#[test]
fn nul_bytes_and_cr_only_line_endings_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let nul = file(dir.path(), "nul.csv", "x,y\n1,a\u{0}b\n3,4\n");
    assert_bad_input(
        &lithe(&["describe", p(&nul)]),
        "line 2: a field holds a NUL byte",
    );
    let cr = file(dir.path(), "cr.csv", "x,y\r1,2\r3,4\r");
    assert_bad_input(&lithe(&["describe", p(&cr)]), "CR-only line endings");
    let crlf = file(dir.path(), "crlf.csv", "x,y\r\n1,2\r\n3,4\r\n");
    assert_ok(&lithe(&["describe", p(&crlf)]));
}

#[test]
fn cross_validation_that_would_write_only_a_header_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = file(dir.path(), "s.csv", "unique_id,ds,y\na,1,1\na,2,2\nb,1,1\n");
    let out = dir.path().join("cv.csv");
    let o = lithe(&[
        "forecast",
        "cv",
        "--data",
        p(&data),
        "--horizon",
        "2",
        "--out",
        p(&out),
    ]);
    assert_bad_input(&o, "reach back past the start of every series");
    assert!(!out.exists());
}

#[cfg(unix)]
#[test]
fn non_regular_inputs_are_read_once_as_a_bounded_stream() {
    let o = lithe(&["describe", "/dev/zero"]);
    assert_bad_input(&o, "NUL bytes");
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, "a,b\n1,x\n2,y\n1.5,z\n").unwrap())
    };
    let o = lithe(&["describe", p(&fifo)]);
    writer.join().unwrap();
    assert_ok(&o);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("3 rows × 2 columns"), "{out}");
}

#[test]
fn boosting_stops_when_a_round_adds_no_tree() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = String::from("x,y\n");
    for i in 0..100 {
        s.push_str(&format!("1,{}\n", i % 3));
    }
    let data = file(dir.path(), "c.csv", &s);
    let model = dir.path().join("m.lithe");
    // A hundred million rounds would take hours if each were run.
    let o = lithe(&[
        "tabular",
        "train",
        "--data",
        p(&data),
        "--target",
        "y",
        "--rounds",
        "100000000",
        "--out",
        p(&model),
    ]);
    assert_ok(&o);
    assert!(
        stderr(&o).contains("training stopped after 0 of 100000000 rounds"),
        "{}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["trees"], 0);
}

#[test]
fn negative_flag_values_reach_lithe_s_checks_and_parser_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = file(dir.path(), "d.csv", &regression_csv(""));
    let o = lithe(&[
        "tabular",
        "train",
        "--data",
        p(&data),
        "--target",
        "y",
        "--learning-rate",
        "-1",
        "--out",
        p(&dir.path().join("m.lithe")),
    ]);
    assert_bad_input(&o, "learning_rate must be positive, got -1");
    let o = lithe(&["tabular", "train", "--data", p(&data), "--nope"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("error: unexpected argument '--nope'"),
        "{err}"
    );
    assert!(lines[1].starts_with("Usage: lithe tabular train"), "{err}");
}
