//! `lithe describe FILE`

use std::fmt::Write;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use lithe_core::describe::{Summary, describe, infer_target};
use serde_json::Value;

use crate::{DataArgs, GlobalArgs, emit};

#[derive(Args, Debug)]
pub struct DescribeArgs {
    /// CSV, gzip CSV or Parquet file
    file: PathBuf,
    /// Also show the task this column implies as a target (binary, multiclass, regression)
    #[arg(long, value_name = "COL")]
    target: Option<String>,
    /// JSON on stdout instead of a table
    #[arg(long)]
    json: bool,
    /// How many of the most frequent categories to list
    #[arg(long, default_value_t = 3, value_name = "K")]
    top: usize,
    #[command(flatten)]
    data: DataArgs,
}

pub fn run(a: DescribeArgs, g: &GlobalArgs) -> anyhow::Result<()> {
    let mut opts = a.data.read_options();
    let bar = crate::progress::file_bar(g, &a.file);
    opts.progress = crate::progress::callback(&bar);
    let t0 = Instant::now();
    let table = lithe_core::read_table(&a.file, &opts);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let table = table?;
    let read_s = t0.elapsed().as_secs_f64();
    tracing::info!(
        rows = table.n_rows(),
        cols = table.n_columns(),
        seconds = read_s,
        "read"
    );
    let mut s = describe(&table, a.top);
    if let Some(t) = &a.target {
        s.target = Some(infer_target(&table, t)?);
    }
    if !g.quiet {
        for w in &s.warnings {
            eprintln!("warning: {w}");
        }
    }
    let file = a.file.display().to_string();
    if a.json {
        let mut v = serde_json::to_value(&s)?;
        if let Value::Object(m) = &mut v {
            m.insert("file".into(), Value::String(file));
            m.insert("read_seconds".into(), serde_json::json!(read_s));
        }
        emit(&format!("{}\n", serde_json::to_string_pretty(&v)?))
    } else {
        emit(&render(&file, &s, read_s))
    }
}

pub fn human_bytes(n: usize) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => fmt_num(f),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn fmt_num(f: f64) -> String {
    if f == 0.0 {
        "0".into()
    } else if f.abs() >= 1e7 || f.abs() < 1e-3 {
        format!("{f:.4e}")
    } else {
        let s = format!("{f:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A plain-text table, one line per column.
pub fn render(file: &str, s: &Summary, read_s: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{file}: {} rows × {} columns, {} of typed data, read in {:.3} s\n",
        s.rows,
        s.columns.len(),
        human_bytes(s.memory_bytes),
        read_s
    );
    let header = [
        "#",
        "column",
        "type",
        "missing",
        "distinct",
        "min",
        "max",
        "mean",
        "top values",
    ];
    let rows: Vec<[String; 9]> = s
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let top = c
                .top
                .iter()
                .map(|(v, n)| format!("{} ({n})", clip(v, 24)))
                .collect::<Vec<_>>()
                .join(", ");
            [
                (i + 1).to_string(),
                clip(&c.name, 32),
                c.column_type.to_string(),
                c.missing.to_string(),
                c.distinct.to_string(),
                clip(&short(&c.min), 20),
                clip(&short(&c.max), 20),
                c.mean.map(fmt_num).unwrap_or_default(),
                top,
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let right = [true, false, false, true, true, true, true, true, false];
    let line = |cells: &[String]| {
        let mut l = String::new();
        for (k, cell) in cells.iter().enumerate() {
            let pad = widths[k] - cell.chars().count();
            if k > 0 {
                l.push_str("  ");
            }
            if right[k] {
                l.push_str(&" ".repeat(pad));
                l.push_str(cell);
            } else if k + 1 == cells.len() {
                l.push_str(cell);
            } else {
                l.push_str(cell);
                l.push_str(&" ".repeat(pad));
            }
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(&header.map(String::from)));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r));
    }
    if let Some(t) = &s.target {
        let _ = write!(out, "\ntarget '{}': {}", t.name, t.task.name());
        if !t.classes.is_empty() {
            let classes: Vec<String> = t
                .classes
                .iter()
                .take(10)
                .map(|(c, n)| format!("{} ({n})", clip(c, 24)))
                .collect();
            let more = if t.classes.len() > 10 {
                format!(", ... {} classes in all", t.classes.len())
            } else {
                String::new()
            };
            let _ = write!(out, " — classes {}{more}", classes.join(", "));
        }
        if t.missing > 0 {
            let _ = write!(out, "; {} rows have no target", t.missing);
        }
        out.push('\n');
    }
    out
}
