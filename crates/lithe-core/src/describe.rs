//! What lithe sees in a table: per column type, missing and distinct counts, range,
//! mean and the most frequent categories; and, for a named target, the task it implies.

use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::table::{Column, ColumnData, ColumnType, Table};

/// The learning task a target column implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Binary,
    Multiclass,
    Regression,
}

impl Task {
    pub fn name(self) -> &'static str {
        match self {
            Task::Binary => "binary",
            Task::Multiclass => "multiclass",
            Task::Regression => "regression",
        }
    }
}

impl crate::params::Named for Task {
    const NAMES: &'static [&'static str] = &["binary", "multiclass", "regression"];
    const ALL: &'static [Self] = &[Task::Binary, Task::Multiclass, Task::Regression];
    fn name(self) -> &'static str {
        Task::name(self)
    }
}
crate::choice_param!(Task);

/// Integer targets with at most this many distinct values are taken as classes.
pub const MAX_INFERRED_CLASSES: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct ColumnSummary {
    pub name: String,
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    pub count: usize,
    pub missing: usize,
    pub distinct: usize,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub min: Value,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub max: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    /// Most frequent values with their counts (categorical columns).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub top: Vec<(String, usize)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetSummary {
    pub name: String,
    pub task: Task,
    /// Class labels and counts for classification targets, most frequent first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<(String, usize)>,
    pub missing: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub rows: usize,
    pub columns: Vec<ColumnSummary>,
    /// Bytes of typed data held in memory.
    pub memory_bytes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetSummary>,
    /// Things a modeller should know (all-missing, constant or id-like columns).
    pub warnings: Vec<String>,
}

fn finite_stats(vals: &[f64]) -> (Option<f64>, Option<f64>) {
    let n = vals.len();
    if n == 0 {
        return (None, None);
    }
    let mean = vals.iter().sum::<f64>() / n as f64;
    let std = if n > 1 {
        (vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    (Some(mean), Some(std))
}

fn count_distinct_sorted<T: PartialEq>(v: &[T]) -> usize {
    if v.is_empty() {
        return 0;
    }
    1 + v.windows(2).filter(|w| w[0] != w[1]).count()
}

fn num(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

fn summarize(col: &Column, top_k: usize) -> ColumnSummary {
    let missing = col.null_count();
    let count = col.len() - missing;
    let mut s = ColumnSummary {
        name: col.name().to_string(),
        column_type: col.column_type(),
        count,
        missing,
        distinct: 0,
        min: Value::Null,
        max: Value::Null,
        mean: None,
        std: None,
        top: Vec::new(),
    };
    match col.data() {
        ColumnData::Float(a) => {
            let mut v: Vec<f64> = a.values().iter().copied().filter(|x| !x.is_nan()).collect();
            v.sort_unstable_by(f64::total_cmp);
            s.distinct = count_distinct_sorted(&v);
            if let (Some(lo), Some(hi)) = (v.first(), v.last()) {
                s.min = num(*lo);
                s.max = num(*hi);
            }
            (s.mean, s.std) = finite_stats(&v);
        }
        ColumnData::Int(_) | ColumnData::Date(_) | ColumnData::Datetime(_) => {
            let mut v: Vec<i64> = match col.data() {
                ColumnData::Int(a) => a.iter().flatten().collect(),
                ColumnData::Date(a) => a.iter().flatten().map(i64::from).collect(),
                ColumnData::Datetime(a) => a.iter().flatten().collect(),
                _ => Vec::new(),
            };
            v.sort_unstable();
            s.distinct = count_distinct_sorted(&v);
            if let (Some(&lo), Some(&hi)) = (v.first(), v.last()) {
                match col.data() {
                    ColumnData::Int(_) => {
                        s.min = json!(lo);
                        s.max = json!(hi);
                        let f: Vec<f64> = v.iter().map(|&x| x as f64).collect();
                        (s.mean, s.std) = finite_stats(&f);
                    }
                    ColumnData::Date(_) => {
                        let mut a = String::new();
                        crate::io::format::write_date(&mut a, lo);
                        let mut b = String::new();
                        crate::io::format::write_date(&mut b, hi);
                        (s.min, s.max) = (json!(a), json!(b));
                    }
                    _ => {
                        let mut a = String::new();
                        crate::io::format::write_datetime(&mut a, lo);
                        let mut b = String::new();
                        crate::io::format::write_datetime(&mut b, hi);
                        (s.min, s.max) = (json!(a), json!(b));
                    }
                }
            }
        }
        ColumnData::Categorical(_) => {
            if let Some(c) = col.as_categorical() {
                let mut counts = vec![0usize; c.n_categories()];
                for (row, &code) in c.codes().iter().enumerate() {
                    if !c.is_null(row) {
                        counts[code as usize] += 1;
                    }
                }
                s.distinct = counts.iter().filter(|&&n| n > 0).count();
                let mut order: Vec<usize> = (0..counts.len()).filter(|&i| counts[i] > 0).collect();
                // Most frequent first; ties by first appearance (dictionary order).
                order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
                s.top = order
                    .iter()
                    .take(top_k)
                    .map(|&i| (c.dictionary().value(i).to_string(), counts[i]))
                    .collect();
            }
        }
    }
    s
}

/// Columns of numbers turned text by a few stray values: a text column with more than
/// 100 distinct values of which at least 90 % parse as numbers. Models would treat
/// such a column as a category per distinct number; the warning names the first
/// stray value and suggests `--na-values`.
/// Identifier columns (`ids`) are text by design and are not judged.
pub fn stray_text(table: &Table, ids: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for c in table.columns() {
        if ids.iter().any(|i| i == c.name()) {
            continue;
        }
        let Some(cat) = c.as_categorical() else {
            continue;
        };
        let dict = cat.dictionary();
        let n = cat.n_categories();
        if n <= 100 {
            continue;
        }
        let numbers = (0..n)
            .filter(|&i| crate::io::parse::parse_f64(dict.value(i).trim().as_bytes()).is_some())
            .count();
        if numbers * 10 < n * 9 {
            continue;
        }
        let Some((row, v)) = c.first_unparsed() else {
            continue;
        };
        out.push(format!(
            "column '{}' holds numbers but was read as text ({n} categories) because of \
             {} values such as '{v}' (row {}); if they mean missing, pass --na-values '{v}'",
            c.name(),
            n - numbers,
            row + 1
        ));
    }
    out
}

/// Summarise every column (in parallel). `top_k` bounds the categories listed.
pub fn describe(table: &Table, top_k: usize) -> Summary {
    let columns: Vec<ColumnSummary> = table
        .columns()
        .par_iter()
        .map(|c| summarize(c, top_k))
        .collect();
    let mut warnings = Vec::new();
    for c in &columns {
        if c.count == 0 {
            warnings.push(format!(
                "column '{}' has every value missing; models cannot learn from it",
                c.name
            ));
        } else if c.distinct == 1 && table.n_rows() > 1 {
            warnings.push(format!("column '{}' is constant", c.name));
        } else if c.column_type == ColumnType::Categorical && c.distinct == c.count && c.count > 100
        {
            warnings.push(format!(
                "column '{}' has a different value in every row (an id?)",
                c.name
            ));
        }
    }
    warnings.extend(stray_text(table, &crate::io::ID_COLUMNS.map(String::from)));
    Summary {
        rows: table.n_rows(),
        columns,
        memory_bytes: table.memory_size(),
        target: None,
        warnings,
    }
}

/// The task a target column implies: categorical → binary or multiclass by the
/// number of classes; numeric with exactly two values → binary; integer with at most
/// [`MAX_INFERRED_CLASSES`] values → multiclass; anything else → regression.
/// Errors name the problem: column absent, every value missing, a single value.
pub fn infer_target(table: &Table, name: &str) -> Result<TargetSummary> {
    let col = table.require(name).map_err(|e| match e {
        Error::Input(m) => Error::input(format!("target {m}")),
        other => other,
    })?;
    let s = summarize(col, usize::MAX);
    if s.count == 0 {
        return Err(Error::input(format!(
            "target column '{name}' has every value missing; there is nothing to learn"
        )));
    }
    if s.distinct < 2 {
        let v = s
            .top
            .first()
            .map(|t| t.0.clone())
            .unwrap_or_else(|| s.min.to_string());
        return Err(Error::input(format!(
            "target column '{name}' has a single value ({v}); there is nothing to learn"
        )));
    }
    let classes = |col: &Column| -> Vec<(String, usize)> {
        let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
        for row in 0..col.len() {
            if let Some(v) = col.value_string(row) {
                *counts.entry(v).or_default() += 1;
            }
        }
        let mut v: Vec<(String, usize)> = counts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    let task = match s.column_type {
        ColumnType::Categorical if s.distinct == 2 => Task::Binary,
        ColumnType::Categorical => Task::Multiclass,
        ColumnType::Date | ColumnType::Datetime => {
            return Err(Error::input(format!(
                "target column '{name}' holds dates; lithe needs a numeric or categorical target"
            )));
        }
        _ if s.distinct == 2 => Task::Binary,
        ColumnType::Int if s.distinct <= MAX_INFERRED_CLASSES => Task::Multiclass,
        _ => Task::Regression,
    };
    Ok(TargetSummary {
        name: name.to_string(),
        task,
        classes: if task == Task::Regression {
            Vec::new()
        } else {
            classes(col)
        },
        missing: s.missing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table::new(vec![
            Column::from_f64("x", vec![1.0, 2.0, f64::NAN, 2.0]),
            Column::from_i64("k", vec![Some(3), None, Some(3), Some(1)]),
            Column::from_strings("c", &[Some("a"), Some("b"), Some("a"), None]).unwrap(),
            Column::from_f64("empty", vec![f64::NAN; 4]),
        ])
        .unwrap()
    }

    #[test]
    fn summaries() {
        let s = describe(&table(), 5);
        let x = &s.columns[0];
        assert_eq!((x.count, x.missing, x.distinct), (3, 1, 2));
        assert_eq!(x.min, json!(1.0));
        assert_eq!(x.max, json!(2.0));
        assert!((x.mean.unwrap() - 5.0 / 3.0).abs() < 1e-12);
        let k = &s.columns[1];
        assert_eq!(
            (k.column_type, k.distinct, k.min.clone()),
            (ColumnType::Int, 2, json!(1))
        );
        let c = &s.columns[2];
        assert_eq!(c.top, vec![("a".to_string(), 2), ("b".to_string(), 1)]);
        assert_eq!(s.columns[3].count, 0);
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("'empty' has every value missing"))
        );
    }

    #[test]
    fn targets() {
        let t = table();
        assert_eq!(infer_target(&t, "c").unwrap().task, Task::Binary);
        assert_eq!(infer_target(&t, "k").unwrap().task, Task::Binary);
        let e = infer_target(&t, "nope").unwrap_err().to_string();
        assert!(e.contains("'nope' not found"), "{e}");
        let e = infer_target(&t, "empty").unwrap_err().to_string();
        assert!(e.contains("every value missing"), "{e}");
        let one = Table::new(vec![Column::from_i64("y", vec![Some(1), Some(1)])]).unwrap();
        assert!(
            infer_target(&one, "y")
                .unwrap_err()
                .to_string()
                .contains("single value")
        );
        let reg = Table::new(vec![Column::from_f64("y", vec![0.5, 1.5, 2.5])]).unwrap();
        assert_eq!(infer_target(&reg, "y").unwrap().task, Task::Regression);
        let multi = Table::new(vec![Column::from_i64("y", (1..=7).map(Some).collect())]).unwrap();
        assert_eq!(infer_target(&multi, "y").unwrap().task, Task::Multiclass);
    }
}
