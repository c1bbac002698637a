//! `lithe forecast` and `lithe forecast eval` end to end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lithe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lithe"))
        .args(args)
        .output()
        .expect("run lithe")
}

fn file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Two series, "a" seasonal with period 3, "b" short.
const TRAIN: &str =
    "unique_id,ds,y\na,1,10\na,2,20\na,3,30\na,4,11\na,5,21\na,6,31\nb,1,5\nb,2,7\n";

fn assert_bad_input(o: &Output, needle: &str, out: &Path) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists(), "{} was written", out.display());
}

#[test]
fn forecast_writes_statsforecast_shaped_output_and_reports_fallbacks() {
    let dir = tempfile::tempdir().unwrap();
    let train = file(dir.path(), "train.csv", TRAIN);
    let out = dir.path().join("fc.csv");
    let o = lithe(&[
        "forecast",
        "--data",
        s(&train),
        "--horizon",
        "3",
        "--season",
        "3",
        "--models",
        "seasonal_naive,naive",
        "--level",
        "90",
        "--out",
        s(&out),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["series"], 2);
    assert_eq!(summary["fell_back"], 1);
    assert!(String::from_utf8_lossy(&o.stderr).contains("SeasonalNaive: 1 series"));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "unique_id,ds,SeasonalNaive,SeasonalNaive-lo-90,SeasonalNaive-hi-90,Naive,Naive-lo-90,Naive-hi-90"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 6);
    // Series a repeats its last season; b (too short for it) falls back to naive.
    let firsts: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[0], r[1], r[2])).collect();
    assert_eq!(
        firsts,
        [
            ("a", "7", "11"),
            ("a", "8", "21"),
            ("a", "9", "31"),
            ("b", "3", "7"),
            ("b", "4", "7"),
            ("b", "5", "7")
        ]
    );
    // The same through the explicit `run` subcommand.
    let out2 = dir.path().join("fc2.csv");
    let o = lithe(&[
        "forecast",
        "run",
        "--data",
        s(&train),
        "--horizon",
        "3",
        "--season",
        "3",
        "--models",
        "seasonal_naive,naive",
        "--level",
        "90",
        "--out",
        s(&out2),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stderr.is_empty());
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&out2).unwrap());
}

#[test]
fn eval_scores_models_against_naive2() {
    let dir = tempfile::tempdir().unwrap();
    let train = file(dir.path(), "train.csv", TRAIN);
    let fc = file(
        dir.path(),
        "fc.csv",
        "unique_id,ds,Good,Good-lo-80\na,7,10,0\na,8,20,0\nb,3,8,0\n",
    );
    let actual = file(
        dir.path(),
        "test.csv",
        "unique_id,ds,y\na,7,12\na,8,20\nb,3,8\n",
    );
    let o = lithe(&[
        "forecast",
        "eval",
        "--forecast",
        s(&fc),
        "--actual",
        s(&actual),
        "--train",
        s(&train),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Only the model column is scored (interval bounds are not models).
    assert_eq!(v["models"].as_object().unwrap().len(), 1);
    // sMAPE: a: (200·2/22 + 0)/2, b: 0 → mean over the two series.
    let smape_a = (200.0 * 2.0 / 22.0) / 2.0;
    let got = v["models"]["Good"]["smape"].as_f64().unwrap();
    assert!((got - smape_a / 2.0).abs() < 1e-9, "{got}");
    // Naive2 without a season is the naive forecast: a → 31, b → 7.
    let n2 = v["naive2"]["smape"].as_f64().unwrap();
    let want = ((200.0 * 19.0 / 43.0 + 200.0 * 11.0 / 51.0) / 2.0 + 200.0 / 15.0) / 2.0;
    assert!((n2 - want).abs() < 1e-9, "{n2} vs {want}");
    assert!(v["models"]["Good"]["owa"].as_f64().unwrap() < 0.2);
}

#[test]
fn bad_forecast_input_is_exit_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let train = file(dir.path(), "train.csv", TRAIN);
    let out = dir.path().join("fc.csv");
    let run = |args: &[&str]| {
        let mut all = vec!["forecast", "--out", s(&out)];
        all.extend_from_slice(args);
        lithe(&all)
    };
    let o = run(&["--data", s(&train), "--horizon", "0"]);
    assert_bad_input(&o, "--horizon", &out);
    let o = run(&["--data", s(&train), "--horizon", "2", "--season", "0"]);
    assert_bad_input(&o, "--season", &out);
    let o = run(&["--data", s(&train), "--horizon", "2", "--models", "prophet"]);
    assert_bad_input(&o, "unknown model 'prophet'", &out);
    let o = run(&[
        "--data",
        s(&train),
        "--horizon",
        "2",
        "--target-col",
        "sales",
    ]);
    assert_bad_input(&o, "sales", &out);
    let text = file(
        dir.path(),
        "text.csv",
        "unique_id,ds,y\na,1,high\na,2,low\n",
    );
    let o = run(&["--data", s(&text), "--horizon", "2"]);
    assert_bad_input(&o, "must be numeric", &out);
    let dup = file(
        dir.path(),
        "dup.csv",
        "unique_id,ds,y\na,1,3\na,2,4\na,2,5\n",
    );
    let o = run(&["--data", s(&dup), "--horizon", "2"]);
    assert_bad_input(&o, "two rows with ds = 2", &out);
    let o = run(&["--data", s(&train), "--horizon", "2", "--models", "tsb"]);
    assert_bad_input(&o, "alpha_d must be given", &out);
    let o = run(&[
        "--data",
        s(&train),
        "--horizon",
        "2",
        "--models",
        "ses",
        "--alpha",
        "1.5",
    ]);
    assert_bad_input(
        &o,
        "alpha is a smoothing parameter and must be in [0, 1], got 1.5",
        &out,
    );
    let o = run(&["--data", s(&train), "--horizon", "2", "--freq", "W"]);
    assert_bad_input(&o, "freq W", &out);
    let o = run(&[
        "--data",
        s(&train),
        "--horizon",
        "2",
        "--conformal-windows",
        "1",
        "--level",
        "80",
    ]);
    assert_bad_input(&o, "at least 2", &out);
    let o = run(&[
        "--data",
        s(&train),
        "--horizon",
        "2",
        "--conformal-windows",
        "2",
    ]);
    assert_bad_input(&o, "conformal_windows needs level", &out);
    for (args, needle) in [
        (
            vec!["--models", "auto_ets", "--ets-model", "ANM"],
            "not allowed",
        ),
        (
            vec!["--models", "auto_ets", "--ets-model", "AA"],
            "three letters",
        ),
        (
            vec!["--models", "auto_ets", "--ets-model", "AMN"],
            "multiplicative trends",
        ),
        (
            vec!["--models", "auto_ets", "--damped", "maybe"],
            "--damped",
        ),
        (
            vec![
                "--models",
                "auto_ets",
                "--ets-model",
                "ANN",
                "--damped",
                "true",
            ],
            "needs a trend",
        ),
        (
            vec!["--models", "holt_winters"],
            "season must be at least 2",
        ),
        (
            vec!["--models", "auto_arima", "--arima-likelihood", "exact"],
            "--arima-likelihood",
        ),
        (
            vec!["--models", "auto_arima", "--arima-search", "exhaustive"],
            "--arima-search",
        ),
        (
            vec!["--models", "auto_ets", "--ets-model", "AAA"],
            "season must be at least 2 with a seasonal ets_model",
        ),
    ] {
        let mut all = vec!["--data", s(&train), "--horizon", "2"];
        all.extend(args);
        let o = run(&all);
        assert_bad_input(&o, needle, &out);
    }
}

/// The automatic models end to end: StatsForecast's column names, intervals, and a
/// too-short series handed down the fallback chain rather than failing the batch.
#[test]
fn automatic_models_run_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("unique_id,ds,y\n");
    for t in 0..60 {
        let v = 100.0 + t as f64 + [5.0, -3.0, 1.0, -2.0][t % 4] + ((t * 37) % 11) as f64 * 0.3;
        text.push_str(&format!("long,{},{v}\n", t + 1));
    }
    text.push_str("tiny,1,4\ntiny,2,5\ntiny,3,6\n");
    let train = file(dir.path(), "train.csv", &text);
    let out = dir.path().join("fc.csv");
    let o = lithe(&[
        "forecast",
        "--data",
        s(&train),
        "--horizon",
        "4",
        "--season",
        "4",
        "--models",
        "auto_ets,holt,holt_winters,auto_theta,auto_ces,mstl,auto_arima,ensemble",
        "--level",
        "80",
        "--out",
        s(&out),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let written = std::fs::read_to_string(&out).unwrap();
    let header = written.lines().next().unwrap();
    for col in [
        "AutoETS",
        "Holt",
        "HoltWinters",
        "AutoTheta",
        "CES",
        "MSTL",
        "AutoARIMA",
        "Ensemble",
        "AutoETS-lo-80",
        "MSTL-hi-80",
        "AutoARIMA-lo-80",
    ] {
        assert!(header.split(',').any(|c| c == col), "no {col} in {header}");
    }
    assert_eq!(written.lines().count(), 1 + 2 * 4);
    // The long series' forecasts continue its level (about 160), with the bounds around them.
    let cols: Vec<&str> = header.split(',').collect();
    let at = |name: &str| cols.iter().position(|c| *c == name).unwrap();
    for line in written.lines().skip(1).filter(|l| l.starts_with("long")) {
        let v: Vec<f64> = line
            .split(',')
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect();
        for m in [
            "AutoETS",
            "AutoTheta",
            "CES",
            "MSTL",
            "HoltWinters",
            "AutoARIMA",
            "Ensemble",
        ] {
            let f = v[at(m) - 1];
            assert!((150.0..175.0).contains(&f), "{m}: {f}");
        }
        // The ensemble is the mean of the middle two of its four members.
        let mut members: Vec<f64> = ["AutoETS", "AutoARIMA", "CES", "AutoTheta"]
            .iter()
            .map(|m| v[at(m) - 1])
            .collect();
        members.sort_by(f64::total_cmp);
        let median = (members[1] + members[2]) / 2.0;
        assert!((v[at("Ensemble") - 1] - median).abs() <= 1e-9 * median.abs());
        assert!(v[at("AutoETS-lo-80") - 1] < v[at("AutoETS") - 1]);
        assert!(v[at("AutoETS-hi-80") - 1] > v[at("AutoETS") - 1]);
    }
    // The three-value series cannot carry these models: it falls back and is counted.
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(summary["fell_back"].as_u64().unwrap() >= 5, "{summary}");
}

#[test]
fn conformal_windows_give_every_model_intervals() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fc.csv");
    let run = |train: &Path| {
        lithe(&[
            "forecast",
            "--data",
            s(train),
            "--horizon",
            "1",
            "--models",
            "window_average",
            "--window-size",
            "2",
            "--level",
            "80",
            "--conformal-windows",
            "2",
            "--out",
            s(&out),
        ])
    };
    // As in StatsForecast, every series must hold the windows and one value more.
    let o = run(&file(dir.path(), "train.csv", TRAIN));
    assert_bad_input(
        &o,
        "needs series of at least 3 values; series 'b' has 2",
        &out,
    );
    let only_a: String = TRAIN
        .lines()
        .filter(|l| !l.starts_with("b,"))
        .collect::<Vec<_>>()
        .join("\n");
    let o = run(&file(dir.path(), "a.csv", &only_a));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("unique_id,ds,WindowAverage,WindowAverage-lo-80,WindowAverage-hi-80\n"),
        "{text}"
    );
    // a: windows end at 21 (from 30, 11: 20.5 → |20.5 − 21| = 0.5) and 31 (from 11, 21:
    // 16 → 15); forecast 26 ± {0.5, 15}, 10 % and 90 % quantiles of {11, 25.5, 26.5, 41}.
    let a: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(&a[..3], &["a", "7", "26"]);
    let (lo, hi): (f64, f64) = (a[3].parse().unwrap(), a[4].parse().unwrap());
    assert!(
        (lo - 15.35).abs() < 1e-9 && (hi - 36.65).abs() < 1e-9,
        "{lo} {hi}"
    );
}

#[test]
fn cross_validation_has_statsforecast_shape() {
    let dir = tempfile::tempdir().unwrap();
    let train = file(dir.path(), "train.csv", TRAIN);
    let out = dir.path().join("cv.csv");
    let o = lithe(&[
        "forecast",
        "cv",
        "--data",
        s(&train),
        "--horizon",
        "2",
        "--windows",
        "2",
        "--step",
        "1",
        "--models",
        "naive",
        "--out",
        s(&out),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // Series b (two values) has no history before its only possible cutoffs.
    assert_eq!(summary["skipped_windows"], 2);
    let text = std::fs::read_to_string(&out).unwrap();
    // a = 10 20 30 11 21 31: cutoffs at ds 3 (naive 30 for ds 4, 5) and ds 4 (11 for 5, 6).
    assert_eq!(
        text,
        "unique_id,ds,cutoff,y,Naive\na,4,3,11,30\na,5,3,21,30\na,5,4,21,11\na,6,4,31,11\n"
    );
    let o = lithe(&[
        "forecast",
        "cv",
        "--data",
        s(&train),
        "--horizon",
        "2",
        "--windows",
        "0",
        "--out",
        s(&dir.path().join("none.csv")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!dir.path().join("none.csv").exists());
}

/// The run succeeded (its stderr in the message when not).
fn assert_ok(o: &Output) {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Column `k` of a written CSV file, as text, without the header.
fn csv_column(path: &Path, k: usize) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(k).unwrap().to_string())
        .collect()
}

/// The generated series with regressors x1, x2 of the AutoARIMA golden test
/// (bench/golden_forecast_auto_arima_xreg.py), as (header, rows).
fn xreg_fixture(name: &str) -> (String, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lithe-forecast/tests/golden")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines().map(String::from);
    let header = lines.next().unwrap();
    (header, lines.collect())
}

/// Columns beside the value are exogenous regressors: AutoARIMA reads their future
/// values from --future and gives StatsForecast's forecasts; cross-validation takes
/// them from the data itself, the same forecast as a run on the shorter history.
#[test]
fn auto_arima_uses_exogenous_regressors() {
    let dir = tempfile::tempdir().unwrap();
    let (head, rows) = xreg_fixture("xreg_series.csv");
    let (fhead, frows) = xreg_fixture("xreg_future.csv");
    let only = |rows: &[String], id: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r.starts_with(&format!("{id},")))
            .cloned()
            .collect()
    };
    let x1: Vec<String> = only(&rows, "X1");
    let train = file(
        dir.path(),
        "train.csv",
        &format!("{head}\n{}\n", x1.join("\n")),
    );
    let future = file(
        dir.path(),
        "future.csv",
        &format!("{fhead}\n{}\n", only(&frows, "X1").join("\n")),
    );
    let out = dir.path().join("fc.csv");
    let o = lithe(&[
        "forecast",
        "--data",
        s(&train),
        "--future",
        s(&future),
        "--horizon",
        "6",
        "--models",
        "auto_arima,naive",
        "--out",
        s(&out),
    ]);
    assert_ok(&o);
    let (_, golden) = xreg_fixture("statsforecast_auto_arima_xreg.csv");
    let want: Vec<f64> = only(&golden, "X1")
        .iter()
        .map(|r| r.split(',').nth(13).unwrap().parse().unwrap())
        .collect();
    let got: Vec<f64> = csv_column(&out, 2)
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(got.len(), 6);
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-6 * w.abs(), "{got:?} vs {want:?}");
    }

    // Cross-validation's last window equals a forecast from the history before it with
    // the window's regressor values as the future.
    let cv_out = dir.path().join("cv.csv");
    let o = lithe(&[
        "forecast",
        "cv",
        "--data",
        s(&train),
        "--horizon",
        "6",
        "--windows",
        "1",
        "--models",
        "auto_arima",
        "--out",
        s(&cv_out),
    ]);
    assert_ok(&o);
    let n = x1.len();
    let short = file(
        dir.path(),
        "short.csv",
        &format!("{head}\n{}\n", x1[..n - 6].join("\n")),
    );
    let held: Vec<String> = x1[n - 6..]
        .iter()
        .map(|r| {
            let f: Vec<&str> = r.split(',').collect();
            format!("{},{},{},{}", f[0], f[1], f[3], f[4])
        })
        .collect();
    let short_future = file(
        dir.path(),
        "short_future.csv",
        &format!("{fhead}\n{}\n", held.join("\n")),
    );
    let o = lithe(&[
        "forecast",
        "--data",
        s(&short),
        "--future",
        s(&short_future),
        "--horizon",
        "6",
        "--models",
        "auto_arima",
        "--out",
        s(&out),
    ]);
    assert_ok(&o);
    let direct: Vec<String> = csv_column(&out, 2);
    let cv: Vec<String> = csv_column(&cv_out, 4);
    assert_eq!(cv, direct);

    // Linearly dependent regressors: the series falls back, and the run says why.
    let dependent: Vec<String> = x1
        .iter()
        .map(|r| {
            let f: Vec<&str> = r.split(',').collect();
            let x1: f64 = f[3].parse().unwrap();
            format!("{},{},{},{},{}", f[0], f[1], f[2], f[3], 2.0 * x1)
        })
        .collect();
    let dep = file(
        dir.path(),
        "dep.csv",
        &format!("{head}\n{}\n", dependent.join("\n")),
    );
    let o = lithe(&[
        "forecast",
        "--data",
        s(&dep),
        "--future",
        s(&future),
        "--horizon",
        "6",
        "--models",
        "auto_arima",
        "--out",
        s(&out),
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("rank deficient"), "{err}");
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["fell_back"], 1, "{summary}");

    // Models without regressors ignore the columns (and need no future values).
    let o = lithe(&[
        "forecast",
        "--data",
        s(&train),
        "--horizon",
        "6",
        "--models",
        "naive",
        "--out",
        s(&out),
    ]);
    assert_ok(&o);
}

#[test]
fn bad_regressor_input_is_exit_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (head, rows) = xreg_fixture("xreg_series.csv");
    let (fhead, frows) = xreg_fixture("xreg_future.csv");
    let train = file(
        dir.path(),
        "train.csv",
        &format!("{head}\n{}\n", rows.join("\n")),
    );
    let future = file(
        dir.path(),
        "future.csv",
        &format!("{fhead}\n{}\n", frows.join("\n")),
    );
    let short = file(
        dir.path(),
        "short.csv",
        &format!("{fhead}\n{}\n", frows[1..].join("\n")),
    );
    let plain = file(dir.path(), "plain.csv", TRAIN);
    let text = file(
        dir.path(),
        "text.csv",
        "unique_id,ds,y,promo\na,1,3,yes\na,2,4,no\na,3,5,no\n",
    );
    let out = dir.path().join("fc.csv");
    for (args, needle) in [
        (
            vec!["--data", s(&train), "--models", "auto_arima"],
            "need their future values",
        ),
        (
            vec![
                "--data",
                s(&train),
                "--models",
                "ensemble",
                "--future",
                s(&short),
            ],
            "they need 6",
        ),
        (
            vec![
                "--data",
                s(&plain),
                "--models",
                "auto_arima",
                "--future",
                s(&future),
            ],
            "no columns beside",
        ),
        (
            vec!["--data", s(&text), "--models", "auto_arima"],
            "exogenous column 'promo'",
        ),
    ] {
        let mut all = vec!["forecast", "--horizon", "6", "--out", s(&out)];
        all.extend(args);
        let o = lithe(&all);
        assert_bad_input(&o, needle, &out);
    }
}
