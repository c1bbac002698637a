//! Writing a table as CSV (gzip when the name ends in `.gz`).

use std::io::Write;
use std::path::Path;

use super::format::write_value;
use super::sink::{Format, TableWriter};
use crate::error::Result;
use crate::table::Table;

/// Quoted: a field holding a quote, a line end, or any delimiter the reader might
/// detect (so lithe's own output always reads back with its columns), or with
/// spaces at its ends.
fn needs_quotes(s: &str) -> bool {
    s.bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r' | b';' | b'\t' | b'|'))
        || s.starts_with(' ')
        || s.ends_with(' ')
}

fn push_field(out: &mut Vec<u8>, s: &str) {
    if needs_quotes(s) {
        out.push(b'"');
        for b in s.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// Encode rows `[from, to)` of the table as CSV lines.
fn encode_rows(table: &Table, from: usize, to: usize, out: &mut Vec<u8>) {
    let mut cell = String::new();
    let single = table.n_columns() == 1;
    for row in from..to {
        for (i, col) in table.columns().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if !col.is_null(row) {
                cell.clear();
                write_value(&mut cell, col.data(), row);
                push_field(out, &cell);
            } else if single {
                // A blank line is no row to a reader: a lone missing cell is `""`.
                out.extend_from_slice(b"\"\"");
            }
        }
        out.push(b'\n');
    }
}

/// The header line of a CSV file (missing values are empty cells in the rows).
pub(crate) fn write_csv_header(table: &Table, w: &mut dyn Write) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(1 << 10);
    for (i, name) in table.names().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_field(&mut out, name);
    }
    out.push(b'\n');
    w.write_all(&out)
}

/// The row lines of a CSV file, encoded a few chunks at a time in parallel.
pub(crate) fn write_csv_rows(table: &Table, w: &mut dyn Write) -> std::io::Result<()> {
    const CHUNK: usize = 64 * 1024;
    let mut from = 0;
    while from < table.n_rows() {
        let to = (from + CHUNK).min(table.n_rows());
        // Encode a few chunks in parallel, then write them in order.
        let ranges: Vec<(usize, usize)> = (0..rayon::current_num_threads().max(1))
            .map(|k| {
                let a = (from + k * CHUNK).min(table.n_rows());
                (a, (a + CHUNK).min(table.n_rows()))
            })
            .filter(|(a, b)| a < b)
            .collect();
        use rayon::prelude::*;
        let encoded: Vec<Vec<u8>> = ranges
            .par_iter()
            .map(|&(a, b)| {
                let mut buf = Vec::with_capacity((b - a) * 16);
                encode_rows(table, a, b, &mut buf);
                buf
            })
            .collect();
        for e in &encoded {
            w.write_all(e)?;
        }
        from = ranges.last().map_or(to, |r| r.1);
    }
    Ok(())
}

/// A table as CSV text (header and rows, quoted where a field needs it), for output
/// that goes to stdout rather than a file.
pub fn csv_string(table: &Table) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_csv_header(table, &mut out).and_then(|_| write_csv_rows(table, &mut out));
    // Fields are UTF-8 strings and formatted numbers.
    String::from_utf8_lossy(&out).into_owned()
}

/// Write a table to `path` as CSV, gzip-compressed when the name ends in `.gz`.
pub fn write_csv(path: &Path, table: &Table) -> Result<()> {
    let gzip = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let format = if gzip { Format::CsvGzip } else { Format::Csv };
    TableWriter::write_whole(path, format, table)
}
