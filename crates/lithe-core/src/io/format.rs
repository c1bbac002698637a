//! Writing values as text, the way lithe's CSV writer and `describe` show them.

use std::fmt::Write;

use super::parse::civil_from_days;
use crate::table::ColumnData;

pub(crate) fn write_date(out: &mut String, days: i64) {
    let (y, m, d) = civil_from_days(days);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
}

pub(crate) fn write_datetime(out: &mut String, micros: i64) {
    let days = micros.div_euclid(86_400_000_000);
    let rem = micros.rem_euclid(86_400_000_000);
    write_date(out, days);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let _ = write!(
        out,
        "T{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    if frac != 0 {
        let _ = write!(out, ".{frac:06}");
    }
}

pub(crate) fn write_f64(out: &mut String, v: f64) {
    if v.is_finite() && v == v.trunc() && v.abs() < 1e15 {
        // Whole numbers without a trailing ".0".
        let _ = write!(out, "{}", v as i64);
    } else {
        let mut b = ryu::Buffer::new();
        out.push_str(b.format(v));
    }
}

/// Append the value at `row` (which must not be null).
pub(crate) fn write_value(out: &mut String, data: &ColumnData, row: usize) {
    match data {
        ColumnData::Int(a) => {
            let mut b = itoa::Buffer::new();
            out.push_str(b.format(a.value(row)));
        }
        ColumnData::Float(a) => write_f64(out, a.value(row)),
        ColumnData::Categorical(a) => {
            let dict = super::dict::dictionary_values(a);
            out.push_str(dict.value(a.keys().value(row) as usize));
        }
        ColumnData::Date(a) => write_date(out, a.value(row) as i64),
        ColumnData::Datetime(a) => write_datetime(out, a.value(row)),
    }
}
