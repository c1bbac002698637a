//! Typed, columnar tables: what every model reads.
//!
//! A [`Table`] is a list of named [`Column`]s of equal length. Each column is backed
//! by an Arrow array, so a table converts to an Arrow `RecordBatch` (for Parquet, and
//! later Python) without copying. Missing values are Arrow nulls; in float columns a
//! null slot also holds `NaN`, so models can read the value slice directly.

use std::sync::Arc;

use arrow_array::types::UInt32Type;
use arrow_array::{
    Array, ArrayRef, Date32Array, DictionaryArray, Float64Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{Field, Schema};

use crate::error::{Error, Result};

/// The logical type lithe gives a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Int,
    Float,
    Categorical,
    Date,
    Datetime,
}

impl ColumnType {
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Int => "int",
            ColumnType::Float => "float",
            ColumnType::Categorical => "categorical",
            ColumnType::Date => "date",
            ColumnType::Datetime => "datetime",
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, ColumnType::Int | ColumnType::Float)
    }
}

impl std::fmt::Display for ColumnType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The values of one column.
#[derive(Debug, Clone)]
pub enum ColumnData {
    Int(Int64Array),
    /// Null slots hold `NaN`, and every `NaN` is null.
    Float(Float64Array),
    /// Keys index the dictionary of category strings; null keys are missing.
    Categorical(DictionaryArray<UInt32Type>),
    /// Days since 1970-01-01.
    Date(Date32Array),
    /// Microseconds since 1970-01-01T00:00:00 UTC.
    Datetime(TimestampMicrosecondArray),
}

/// A named column.
#[derive(Debug, Clone)]
pub struct Column {
    name: String,
    data: ColumnData,
}

impl Column {
    pub fn new(name: impl Into<String>, data: ColumnData) -> Self {
        Column {
            name: name.into(),
            data,
        }
    }

    /// A float column from values where `NaN` means missing.
    pub fn from_f64(name: impl Into<String>, values: Vec<f64>) -> Self {
        Column::new(name, ColumnData::Float(float_array(values)))
    }

    /// An integer column; `None` is missing.
    pub fn from_i64(name: impl Into<String>, values: Vec<Option<i64>>) -> Self {
        Column::new(name, ColumnData::Int(Int64Array::from(values)))
    }

    /// A categorical column from codes into `categories` (a code below zero is
    /// missing), as pandas stores one. Categories must be distinct.
    pub fn from_codes(
        name: impl Into<String>,
        codes: &[i64],
        categories: &[String],
    ) -> Result<Self> {
        let name = name.into();
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = categories.iter().find(|c| !seen.insert(c.as_str())) {
            return Err(Error::input(format!(
                "column '{name}': category '{dup}' is listed twice"
            )));
        }
        let k = categories.len() as i64;
        let mut keys = Vec::with_capacity(codes.len());
        let mut nulls = arrow_buffer::NullBufferBuilder::new(codes.len());
        for (row, &c) in codes.iter().enumerate() {
            if c < 0 {
                keys.push(0);
                nulls.append_null();
            } else if c < k {
                keys.push(c as u32);
                nulls.append_non_null();
            } else {
                return Err(Error::input(format!(
                    "column '{name}', row {}: code {c} but {k} categories",
                    row + 1
                )));
            }
        }
        let values = StringArray::from_iter_values(categories);
        let data = crate::io::dict::dictionary_array(keys, nulls.finish(), values);
        Ok(Column::new(name, ColumnData::Categorical(data)))
    }

    /// A categorical column from strings; `None` is missing. Categories are numbered
    /// in order of first appearance.
    pub fn from_strings<S: AsRef<str>>(
        name: impl Into<String>,
        values: &[Option<S>],
    ) -> Result<Self> {
        let mut dict = crate::io::dict::Dictionary::default();
        let mut keys = Vec::with_capacity(values.len());
        let mut nulls = arrow_buffer::NullBufferBuilder::new(values.len());
        for v in values {
            match v {
                Some(s) => {
                    keys.push(dict.intern(s.as_ref()));
                    nulls.append_non_null();
                }
                None => {
                    keys.push(0);
                    nulls.append_null();
                }
            }
        }
        let data = crate::io::dict::dictionary_array(keys, nulls.finish(), dict.into_values()?);
        Ok(Column::new(name, ColumnData::Categorical(data)))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn data(&self) -> &ColumnData {
        &self.data
    }

    pub fn column_type(&self) -> ColumnType {
        match self.data {
            ColumnData::Int(_) => ColumnType::Int,
            ColumnData::Float(_) => ColumnType::Float,
            ColumnData::Categorical(_) => ColumnType::Categorical,
            ColumnData::Date(_) => ColumnType::Date,
            ColumnData::Datetime(_) => ColumnType::Datetime,
        }
    }

    pub fn len(&self) -> usize {
        self.array().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of missing values.
    pub fn null_count(&self) -> usize {
        self.array().null_count()
    }

    pub fn is_null(&self, row: usize) -> bool {
        self.array().is_null(row)
    }

    /// The Arrow array behind the column (cheap: reference counted).
    pub fn array(&self) -> &dyn Array {
        match &self.data {
            ColumnData::Int(a) => a,
            ColumnData::Float(a) => a,
            ColumnData::Categorical(a) => a,
            ColumnData::Date(a) => a,
            ColumnData::Datetime(a) => a,
        }
    }

    pub fn array_ref(&self) -> ArrayRef {
        match &self.data {
            ColumnData::Int(a) => Arc::new(a.clone()),
            ColumnData::Float(a) => Arc::new(a.clone()),
            ColumnData::Categorical(a) => Arc::new(a.clone()),
            ColumnData::Date(a) => Arc::new(a.clone()),
            ColumnData::Datetime(a) => Arc::new(a.clone()),
        }
    }

    /// Bytes held by the column's buffers.
    pub fn memory_size(&self) -> usize {
        self.array().get_buffer_memory_size()
    }

    /// The values as `f64`, `NaN` where missing. Categorical columns give their codes;
    /// dates give days and datetimes microseconds since the epoch.
    pub fn to_f64(&self) -> Vec<f64> {
        fn conv<T: Copy>(vals: &[T], arr: &dyn Array, f: impl Fn(T) -> f64) -> Vec<f64> {
            match arr.logical_nulls() {
                None => vals.iter().map(|&v| f(v)).collect(),
                Some(n) => vals
                    .iter()
                    .zip(n.iter())
                    .map(|(&v, ok)| if ok { f(v) } else { f64::NAN })
                    .collect(),
            }
        }
        match &self.data {
            ColumnData::Float(a) => a.values().to_vec(),
            ColumnData::Int(a) => conv(a.values(), a, |v| v as f64),
            ColumnData::Date(a) => conv(a.values(), a, |v| v as f64),
            ColumnData::Datetime(a) => conv(a.values(), a, |v| v as f64),
            ColumnData::Categorical(a) => conv(a.keys().values(), a.keys(), |v| v as f64),
        }
    }

    /// The float values (`NaN` = missing) when this is a float column.
    pub fn as_f64_slice(&self) -> Option<&[f64]> {
        match &self.data {
            ColumnData::Float(a) => Some(a.values()),
            _ => None,
        }
    }

    /// Codes and dictionary when this is a categorical column.
    pub fn as_categorical(&self) -> Option<Categorical<'_>> {
        match &self.data {
            ColumnData::Categorical(a) => Some(Categorical { array: a }),
            _ => None,
        }
    }

    /// For a text column, the first row whose value is not a number, date or datetime,
    /// and that value: the cell that made a column of numbers or times text, for
    /// messages that quote the bad value rather than a good one. `None` for typed
    /// columns or when every value parses.
    pub fn first_unparsed(&self) -> Option<(usize, String)> {
        if self.column_type() != ColumnType::Categorical {
            return None;
        }
        (0..self.len()).find_map(|r| {
            let v = self.value_string(r)?;
            let b = v.trim().as_bytes();
            let parses = crate::io::parse::parse_f64(b).is_some()
                || crate::io::parse::parse_date(b).is_some()
                || crate::io::parse::parse_datetime(b).is_some();
            (!parses).then_some((r, v))
        })
    }

    /// The value at `row` as text, as lithe would write it to a CSV (`None` if missing).
    pub fn value_string(&self, row: usize) -> Option<String> {
        if self.is_null(row) {
            return None;
        }
        let mut out = String::new();
        crate::io::format::write_value(&mut out, &self.data, row);
        Some(out)
    }
}

/// A view of a categorical column.
#[derive(Debug, Clone, Copy)]
pub struct Categorical<'a> {
    array: &'a DictionaryArray<UInt32Type>,
}

impl<'a> Categorical<'a> {
    /// One code per row; the code of a missing row is meaningless (check [`Self::is_null`]).
    pub fn codes(&self) -> &'a [u32] {
        self.array.keys().values()
    }

    pub fn is_null(&self, row: usize) -> bool {
        self.array.is_null(row)
    }

    pub fn dictionary(&self) -> &'a StringArray {
        crate::io::dict::dictionary_values(self.array)
    }

    /// The category of `row`, `None` if missing.
    pub fn get(&self, row: usize) -> Option<&'a str> {
        if self.array.is_null(row) {
            None
        } else {
            Some(self.dictionary().value(self.codes()[row] as usize))
        }
    }

    pub fn n_categories(&self) -> usize {
        self.dictionary().len()
    }
}

/// Columns of equal length with distinct names.
#[derive(Debug, Clone, Default)]
pub struct Table {
    columns: Vec<Column>,
    n_rows: usize,
}

impl Table {
    /// Checks that lengths agree and names are distinct.
    pub fn new(columns: Vec<Column>) -> Result<Self> {
        let n_rows = columns.first().map_or(0, Column::len);
        let mut seen = std::collections::HashSet::new();
        for c in &columns {
            if c.len() != n_rows {
                return Err(Error::input(format!(
                    "column '{}' has {} rows, expected {}",
                    c.name,
                    c.len(),
                    n_rows
                )));
            }
            if !seen.insert(c.name.as_str()) {
                return Err(Error::input(format!("duplicate column name '{}'", c.name)));
            }
        }
        Ok(Table { columns, n_rows })
    }

    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    pub fn n_columns(&self) -> usize {
        self.columns.len()
    }

    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    pub fn into_columns(self) -> Vec<Column> {
        self.columns
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The column called `name`, or an error that names it and lists what is there.
    pub fn require(&self, name: &str) -> Result<&Column> {
        self.column(name).ok_or_else(|| {
            let names: Vec<&str> = self.names().collect();
            Error::input(format!(
                "column '{name}' not found; the columns are: {}",
                preview_list(&names, 20)
            ))
        })
    }

    /// The rows `rows` (in that order, repeats allowed) as a new table.
    pub fn take(&self, rows: &[u32]) -> Result<Table> {
        use arrow_array::cast::AsArray;
        use arrow_array::types::{Date32Type, Int64Type, TimestampMicrosecondType};
        let idx = arrow_array::UInt32Array::from(rows.to_vec());
        let opts = arrow_select::take::TakeOptions { check_bounds: true };
        let mut out = Vec::with_capacity(self.columns.len());
        for c in &self.columns {
            let a = arrow_select::take::take(c.array(), &idx, Some(opts.clone()))
                .map_err(|e| Error::input(format!("selecting rows of '{}': {e}", c.name)))?;
            let data = match &c.data {
                ColumnData::Int(_) => ColumnData::Int(a.as_primitive::<Int64Type>().clone()),
                ColumnData::Float(_) => {
                    ColumnData::Float(a.as_primitive::<arrow_array::types::Float64Type>().clone())
                }
                ColumnData::Date(_) => ColumnData::Date(a.as_primitive::<Date32Type>().clone()),
                ColumnData::Datetime(_) => {
                    ColumnData::Datetime(a.as_primitive::<TimestampMicrosecondType>().clone())
                }
                ColumnData::Categorical(_) => {
                    ColumnData::Categorical(a.as_dictionary::<UInt32Type>().clone())
                }
            };
            out.push(Column::new(c.name.clone(), data));
        }
        if out.is_empty() {
            return Ok(Table::default());
        }
        Table::new(out)
    }

    /// Bytes held by all column buffers: the size of the typed data.
    pub fn memory_size(&self) -> usize {
        self.columns.iter().map(Column::memory_size).sum()
    }

    /// The table as an Arrow record batch (no copy).
    pub fn to_record_batch(&self) -> Result<RecordBatch> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.array().data_type().clone(), true))
            .collect();
        let arrays: Vec<ArrayRef> = self.columns.iter().map(Column::array_ref).collect();
        let options = arrow_array::RecordBatchOptions::new().with_row_count(Some(self.n_rows));
        RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)
            .map_err(|e| Error::Runtime(format!("building a record batch: {e}")))
    }

    /// A stable 64-bit fingerprint of names, types and values (xxh3), for model
    /// headers. It depends only on what the values are, not on how the buffers happen
    /// to be laid out (values under nulls, absent vs all-valid null masks).
    pub fn fingerprint(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&(self.n_rows as u64).to_le_bytes());
        let mut buf: Vec<u8> = Vec::with_capacity(4096 * 9);
        for c in &self.columns {
            h.update(c.name.as_bytes());
            h.update(&[0, c.column_type() as u8]);
            let raw: &[u8] = match &c.data {
                ColumnData::Int(a) => a.values().inner().as_slice(),
                ColumnData::Float(a) => a.values().inner().as_slice(),
                ColumnData::Date(a) => a.values().inner().as_slice(),
                ColumnData::Datetime(a) => a.values().inner().as_slice(),
                ColumnData::Categorical(a) => {
                    for v in crate::io::dict::dictionary_values(a).iter().flatten() {
                        h.update(&(v.len() as u64).to_le_bytes());
                        h.update(v.as_bytes());
                    }
                    a.keys().values().inner().as_slice()
                }
            };
            let width = raw.len() / self.n_rows.max(1);
            let nulls = c.array().logical_nulls();
            for start in (0..self.n_rows).step_by(4096) {
                let end = (start + 4096).min(self.n_rows);
                buf.clear();
                for row in start..end {
                    let valid = nulls.as_ref().is_none_or(|n| n.is_valid(row));
                    buf.push(valid as u8);
                    if valid {
                        buf.extend_from_slice(&raw[row * width..(row + 1) * width]);
                    }
                }
                h.update(&buf);
            }
        }
        h.digest()
    }
}

/// "a, b, c, ... (N more)" for error messages.
pub fn preview_list(names: &[&str], max: usize) -> String {
    let shown: Vec<String> = names.iter().take(max).map(|n| format!("'{n}'")).collect();
    let mut s = shown.join(", ");
    if names.len() > max {
        s.push_str(&format!(", ... ({} more)", names.len() - max));
    }
    s
}

/// Wrap values (NaN = missing) as a float array with a matching null buffer.
pub(crate) fn float_array(values: Vec<f64>) -> Float64Array {
    let nulls = if values.iter().any(|v| v.is_nan()) {
        Some(arrow_buffer::NullBuffer::from_iter(
            values.iter().map(|v| !v.is_nan()),
        ))
    } else {
        None
    };
    Float64Array::new(values.into(), nulls)
}
