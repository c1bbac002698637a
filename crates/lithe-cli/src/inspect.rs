//! `lithe inspect MODEL`

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;
use serde_json::{Value, json};

use crate::emit;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A lithe model file
    model: PathBuf,
    /// JSON on stdout instead of text
    #[arg(long)]
    json: bool,
}

fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = lithe_core::io::parse::civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

pub fn run(a: InspectArgs) -> anyhow::Result<()> {
    let m = lithe_core::model_file::read(&a.model)?;
    let h = &m.header;
    if a.json {
        let v = json!({
            "file": a.model.display().to_string(),
            "kind": m.kind,
            "format": format!("{}.{}", m.format_major, m.format_minor),
            "payload_bytes": m.payload.len(),
            "header": h,
        });
        return emit(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    let mut out = String::new();
    let _ = writeln!(out, "{}: lithe model", a.model.display());
    let _ = writeln!(out, "  kind         {}", m.kind);
    let _ = writeln!(out, "  format       {}.{}", m.format_major, m.format_minor);
    let _ = writeln!(
        out,
        "  written by   lithe {} on {}",
        h.lithe_version,
        utc(h.created_unix)
    );
    let _ = writeln!(
        out,
        "  payload      {}",
        crate::describe::human_bytes(m.payload.len())
    );
    if let Some(f) = &h.data_fingerprint {
        let _ = writeln!(out, "  trained on   data fingerprint {f}");
    }
    for (name, v) in [
        ("params", &h.params),
        ("schema", &h.schema),
        ("metrics", &h.metrics),
        ("extra", &h.extra),
    ] {
        if v.is_null() || v == &Value::Object(Default::default()) {
            continue;
        }
        let pretty = serde_json::to_string_pretty(v)?;
        let _ = writeln!(out, "  {name}:");
        for l in pretty.lines() {
            let _ = writeln!(out, "    {l}");
        }
    }
    emit(&out)
}
