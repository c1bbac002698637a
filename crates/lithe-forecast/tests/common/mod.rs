//! Helpers the golden-value tests share: reading the small CSV files in
//! `tests/golden/` and the fixture series.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

pub type Row = BTreeMap<String, String>;

/// A golden CSV file as rows of column → text (the files hold no quoted commas).
pub fn read_csv(name: &str) -> Vec<Row> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

/// A number from a row (NaN for an empty cell).
pub fn num(r: &Row, k: &str) -> f64 {
    r[k].parse::<f64>().unwrap_or(f64::NAN)
}

/// Every fixture series (series.csv and ets_series.csv) by id.
pub fn fixture_series() -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for file in ["series.csv", "ets_series.csv"] {
        for r in read_csv(file) {
            out.entry(r["unique_id"].clone())
                .or_default()
                .push(num(&r, "y"));
        }
    }
    out
}

/// Golden rows grouped by the values of two columns.
pub fn grouped(file: &str, a: &str, b: &str) -> BTreeMap<(String, String), Vec<Row>> {
    let mut groups: BTreeMap<(String, String), Vec<Row>> = BTreeMap::new();
    for r in read_csv(file) {
        groups
            .entry((r[a].clone(), r[b].clone()))
            .or_default()
            .push(r);
    }
    groups
}

/// The largest relative difference seen between lithe's values and the golden ones
/// (relative to `max(|want|, 1)`; two missing values agree, one missing value is a
/// mismatch), with a description of where it was.
pub struct Worst {
    pub diff: f64,
    pub at: String,
}

impl Worst {
    pub fn new() -> Worst {
        Worst {
            diff: 0.0,
            at: String::new(),
        }
    }

    pub fn check(&mut self, got: f64, want: f64, at: impl FnOnce() -> String) {
        let d = if got.is_nan() && want.is_nan() {
            0.0
        } else if got.is_nan() || want.is_nan() {
            f64::INFINITY
        } else {
            (got - want).abs() / want.abs().max(1.0)
        };
        if d > self.diff {
            self.diff = d;
            self.at = format!("{}: {got} vs {want}", at());
        }
    }

    /// Print the worst difference and require it below `tol`.
    pub fn assert_below(&self, tol: f64) {
        println!("worst relative difference {:.3e}: {}", self.diff, self.at);
        assert!(self.diff < tol, "{}", self.at);
    }
}
