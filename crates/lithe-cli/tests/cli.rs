//! The `lithe` binary end to end: output, exit codes, and every bad input answered
//! with a clear message, exit code 2 and nothing written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lithe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lithe"))
        .args(args)
        .output()
        .expect("run lithe")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Exit code 2, a message on stderr that contains `needle`, no panic, nothing on stdout.
fn assert_bad_input(o: &Output, needle: &str) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(o.stdout.is_empty(), "stdout: {}", stdout(o));
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn help_lists_only_working_commands() {
    let o = lithe(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    let commands: Vec<&str> = out
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let families = [
        "describe",
        "inspect",
        "tabular",
        "forecast",
        "recommend",
        "serve",
        "demo",
    ];
    assert_eq!(commands, [&families[..], &["help"]].concat());
    for c in families {
        let o = lithe(&[c, "--help"]);
        assert_eq!(o.status.code(), Some(0), "{c}");
        assert!(stdout(&o).contains("Usage: lithe"), "{c}");
    }
    assert_eq!(lithe(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(lithe(&["describe"]).status.code(), Some(2));
    assert_eq!(lithe(&["--threads", "0", "demo"]).status.code(), Some(2));
}

#[test]
fn describe_shows_types_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let f = file(
        dir.path(),
        "d.csv",
        b"id,price,city,when,label\n1,2.5,Paris,2024-01-01,yes\n2,,Lyon,2024-01-02,no\n3,4.5,Paris,,yes\n",
    );
    let o = lithe(&["describe", p(&f)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("3 rows × 5 columns"), "{out}");
    for want in ["price", "float", "categorical", "date", "Paris (2)"] {
        assert!(out.contains(want), "missing {want}: {out}");
    }
    let o = lithe(&["describe", p(&f), "--json", "--target", "label"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["rows"], 3);
    assert_eq!(v["columns"][1]["type"], "float");
    assert_eq!(v["columns"][1]["missing"], 1);
    assert_eq!(v["columns"][1]["mean"], 3.5);
    assert_eq!(v["columns"][2]["distinct"], 2);
    assert_eq!(v["columns"][3]["min"], "2024-01-01");
    assert_eq!(v["target"]["task"], "binary");
    // Reading options reach the reader.
    let t = file(dir.path(), "t.tsv", b"skip me\n1\t?\n2\tb\n");
    let o = lithe(&[
        "describe",
        p(&t),
        "--json",
        "--skip-rows",
        "1",
        "--no-header",
        "--na-values",
        "?",
        "--delimiter",
        "tab",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["columns"][1]["name"], "col_1");
    assert_eq!(v["columns"][1]["missing"], 1);
    let o = lithe(&["describe", p(&f), "--json", "--categorical", "id"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["columns"][0]["type"], "categorical");
}

#[test]
fn describe_warns_about_an_all_missing_feature_column() {
    let dir = tempfile::tempdir().unwrap();
    let f = file(dir.path(), "m.csv", b"a,b\n1,\n2,NA\n");
    let o = lithe(&["describe", p(&f)]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("warning: column 'b' has every value missing"),
        "{}",
        stderr(&o)
    );
    // As a target it is an error.
    let o = lithe(&["describe", p(&f), "--target", "b"]);
    assert_bad_input(&o, "target column 'b' has every value missing");
}

#[test]
fn describe_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(PathBuf, &str)> = vec![
        (d.join("absent.csv"), "no such file"),
        (file(d, "empty.csv", b""), "the file is empty"),
        (file(d, "header.csv", b"a,b,c\n"), "header has no rows"),
        (
            file(d, "ragged.csv", b"a,b\n1,2\n3,4,5\n"),
            "line 3: expected 2 fields, found 3",
        ),
        (
            file(d, "latin1.csv", b"name\ncaf\xe9\n"),
            "line 2: bytes that are not UTF-8",
        ),
        (
            file(d, "dup.csv", b"x,y,x\n1,2,3\n"),
            "duplicate column name 'x'",
        ),
        (file(d, "quote.csv", b"a\n\"never closed\n"), "never closed"),
    ];
    let before = files_in(d);
    for (path, needle) in &cases {
        let o = lithe(&["describe", p(path)]);
        assert_bad_input(&o, needle);
    }
    assert_eq!(files_in(d), before, "describe wrote files");
    let ok = file(d, "ok.csv", b"a,b\n1,2\n");
    assert_bad_input(
        &lithe(&["describe", p(&ok), "--target", "y"]),
        "target column 'y' not found",
    );
    assert_bad_input(&lithe(&["describe", p(&ok), "--categorical", "zz"]), "'zz'");
    assert_bad_input(&lithe(&["describe", p(d)]), "is a directory");
    let one = file(d, "one.csv", b"a,y\n1,5\n2,5\n");
    assert_bad_input(
        &lithe(&["describe", p(&one), "--target", "y"]),
        "single value",
    );
}

fn write_model(path: &Path, kind: &str) {
    let mut h = lithe_core::model_file::Header::new(kind);
    h.params = serde_json::json!({"num_leaves": 31, "learning_rate": 0.1});
    h.metrics = serde_json::json!({"valid_auc": 0.91});
    h.data_fingerprint = Some("00ff00ff00ff00ff".into());
    lithe_core::model_file::write(path, &h, &[7u8; 1000]).unwrap();
}

#[test]
fn inspect_prints_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.lithe");
    write_model(&m, "tabular.gbdt");
    let o = lithe(&["inspect", p(&m)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "kind         tabular.gbdt",
        "format       1.0",
        "num_leaves",
        "valid_auc",
        "00ff00ff00ff00ff",
    ] {
        assert!(out.contains(want), "missing {want}: {out}");
    }
    let o = lithe(&["inspect", p(&m), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["kind"], "tabular.gbdt");
    assert_eq!(v["payload_bytes"], 1000);
    assert_eq!(v["header"]["params"]["num_leaves"], 31);
}

#[test]
fn inspect_bad_model_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = d.join("good.lithe");
    write_model(&good, "tabular.gbdt");
    let bytes = std::fs::read(&good).unwrap();
    let truncated = file(d, "trunc.lithe", &bytes[..bytes.len() / 2]);
    let mut flipped = bytes.clone();
    let mid = bytes.len() - 300;
    flipped[mid] ^= 0xff;
    let corrupted = file(d, "corrupt.lithe", &flipped);
    // A newer lithe's file: another major version, sealed with its own checksum.
    let mut newer = bytes.clone();
    newer[8] = 9;
    let n = newer.len() - 8;
    let sum = xxhash_rust::xxh3::xxh3_64(&newer[..n]);
    newer[n..].copy_from_slice(&sum.to_le_bytes());
    let newer = file(d, "newer.lithe", &newer);
    let csv = file(d, "data.csv", b"a,b\n1,2\n");
    let cases: Vec<(PathBuf, &str)> = vec![
        (d.join("absent.lithe"), "no such file"),
        (file(d, "empty.lithe", b""), "empty"),
        (truncated, "truncated"),
        (corrupted, "checksum mismatch"),
        (newer, "newer lithe"),
        (csv, "not a lithe model file"),
    ];
    for (path, needle) in &cases {
        assert_bad_input(&lithe(&["inspect", p(path)]), needle);
    }
}

#[test]
fn a_model_of_another_kind_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("f.lithe");
    write_model(&m, "forecast.auto_ets");
    let e = lithe_core::model_file::read_kind(&m, "tabular.*").unwrap_err();
    assert!(e.is_input());
    assert!(
        e.to_string()
            .contains("this is a 'forecast.auto_ets' model, but a 'tabular.*' model is needed"),
        "{e}"
    );
    assert!(lithe_core::model_file::read_kind(&m, "forecast.*").is_ok());
}

#[test]
fn demo_runs_and_prints_a_scoreboard() {
    let o = lithe(&["demo", "--threads", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "20640 rows × 10 columns",
        "Scoreboard",
        "lithe (typed columns, parallel)",
        "values identical: yes",
        "Time series: 1000 generated hourly series",
        "benchmark: Naive2",
        "Recommendations: two towers",
        "baseline (most popular unseen)",
        "lithe describe",
    ] {
        assert!(out.contains(want), "missing {want}: {out}");
    }
}

#[test]
fn serve_refuses_a_repository_that_is_not_a_directory() {
    let o = lithe(&[
        "serve",
        "--models",
        "/nonexistent/lithe-models",
        "--addr",
        "127.0.0.1:0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--models: /nonexistent/lithe-models is not a directory"),
        "{err}"
    );
    let o = lithe(&["serve", "--models", ".", "--poll-secs", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--poll-secs must be a positive number"));
}
