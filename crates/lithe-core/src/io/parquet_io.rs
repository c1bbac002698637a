//! Parquet in and out through the `parquet` crate's Arrow reader and writer.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef};
use arrow_buffer::NullBufferBuilder;
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::ReadOptions;
use super::columns::{Builder, Part};
use super::dict::Dictionary;
use crate::error::{Error, Result};
use crate::table::{Column, ColumnType, Table, preview_list};

fn nulls_of(a: &dyn Array) -> Option<arrow_buffer::NullBuffer> {
    a.logical_nulls()
}

fn ints<T: ArrowPrimitiveType>(a: &ArrayRef) -> Part
where
    T::Native: Into<i64>,
{
    let p = a.as_primitive::<T>();
    let v: Vec<i64> = p.values().iter().map(|&x| x.into()).collect();
    Part::Int(v, nulls_of(a))
}

fn floats(values: impl Iterator<Item = f64>, a: &ArrayRef) -> Part {
    let nulls = nulls_of(a);
    let v: Vec<f64> = match nulls {
        None => values.collect(),
        Some(n) => values
            .zip(n.iter())
            .map(|(x, ok)| if ok { x } else { f64::NAN })
            .collect(),
    };
    Part::Float(v)
}

fn strings<'a>(values: impl Iterator<Item = Option<&'a str>>, len: usize) -> Part {
    let mut dict = Dictionary::default();
    let mut codes = Vec::with_capacity(len);
    let mut nulls = NullBufferBuilder::new(len);
    for v in values {
        match v {
            Some(s) => {
                codes.push(dict.intern(s));
                nulls.append_non_null();
            }
            None => {
                codes.push(0);
                nulls.append_null();
            }
        }
    }
    Part::Str(codes, nulls.finish(), dict)
}

fn stringify(p: Part) -> Part {
    match p {
        Part::Int(v, n) => {
            let len = v.len();
            let texts: Vec<Option<String>> = v
                .iter()
                .enumerate()
                .map(|(i, x)| match &n {
                    Some(nb) if nb.is_null(i) => None,
                    _ => Some(x.to_string()),
                })
                .collect();
            strings(texts.iter().map(|o| o.as_deref()), len)
        }
        other => other,
    }
}

fn to_part(name: &str, col: &str, a: &ArrayRef) -> Result<Part> {
    let micros = |v: i64, unit: &TimeUnit| match unit {
        TimeUnit::Second => v.saturating_mul(1_000_000),
        TimeUnit::Millisecond => v.saturating_mul(1_000),
        TimeUnit::Microsecond => v,
        TimeUnit::Nanosecond => v.div_euclid(1_000),
    };
    Ok(match a.data_type() {
        DataType::Null => Part::Missing(a.len()),
        DataType::Int8 => ints::<Int8Type>(a),
        DataType::Int16 => ints::<Int16Type>(a),
        DataType::Int32 => ints::<Int32Type>(a),
        DataType::Int64 => ints::<Int64Type>(a),
        DataType::UInt8 => ints::<UInt8Type>(a),
        DataType::UInt16 => ints::<UInt16Type>(a),
        DataType::UInt32 => ints::<UInt32Type>(a),
        DataType::UInt64 => {
            let p = a.as_primitive::<UInt64Type>();
            if p.values().iter().all(|&x| x <= i64::MAX as u64) {
                Part::Int(p.values().iter().map(|&x| x as i64).collect(), nulls_of(a))
            } else {
                floats(p.values().iter().map(|&x| x as f64), a)
            }
        }
        DataType::Float32 => floats(
            a.as_primitive::<Float32Type>()
                .values()
                .iter()
                .map(|&x| x as f64),
            a,
        ),
        DataType::Float64 => floats(a.as_primitive::<Float64Type>().values().iter().copied(), a),
        DataType::Boolean => {
            let b = a.as_boolean();
            strings(
                b.iter()
                    .map(|v| v.map(|x| if x { "true" } else { "false" })),
                a.len(),
            )
        }
        DataType::Utf8 => strings(a.as_string::<i32>().iter(), a.len()),
        DataType::LargeUtf8 => strings(a.as_string::<i64>().iter(), a.len()),
        DataType::Utf8View => strings(a.as_string_view().iter(), a.len()),
        DataType::Dictionary(_, v)
            if matches!(
                **v,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) =>
        {
            let d = a.as_any_dictionary();
            let values = d.values();
            let keys = d.normalized_keys();
            let texts: Vec<Option<&str>> = (0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        None
                    } else if let Some(s) = values.as_string_opt::<i32>() {
                        Some(s.value(keys[i]))
                    } else if let Some(s) = values.as_string_view_opt() {
                        Some(s.value(keys[i]))
                    } else {
                        values.as_string_opt::<i64>().map(|s| s.value(keys[i]))
                    }
                })
                .collect();
            strings(texts.into_iter(), a.len())
        }
        DataType::Date32 => Part::Date(
            a.as_primitive::<Date32Type>().values().to_vec(),
            nulls_of(a),
        ),
        DataType::Date64 => Part::Datetime(
            a.as_primitive::<Date64Type>()
                .values()
                .iter()
                .map(|&ms| ms.saturating_mul(1000))
                .collect(),
            nulls_of(a),
        ),
        DataType::Timestamp(unit, _) => {
            let v: Vec<i64> = match unit {
                TimeUnit::Second => a.as_primitive::<TimestampSecondType>().values().to_vec(),
                TimeUnit::Millisecond => a
                    .as_primitive::<TimestampMillisecondType>()
                    .values()
                    .to_vec(),
                TimeUnit::Microsecond => a
                    .as_primitive::<TimestampMicrosecondType>()
                    .values()
                    .to_vec(),
                TimeUnit::Nanosecond => a
                    .as_primitive::<TimestampNanosecondType>()
                    .values()
                    .to_vec(),
            };
            Part::Datetime(
                v.into_iter().map(|x| micros(x, unit)).collect(),
                nulls_of(a),
            )
        }
        other => {
            return Err(Error::input(format!(
                "{name}: column '{col}' has Parquet/Arrow type {other}, which lithe does not read \
                 (numbers, strings, booleans, dates and timestamps are supported)"
            )));
        }
    })
}

/// Read a Parquet file into a typed table.
pub fn read_parquet(path: &Path, opts: &ReadOptions) -> Result<Table> {
    let name = path.display().to_string();
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let total_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);
    super::parquet_sum::verify(&mut file, total_bytes, &name)?;
    let probe = file.try_clone().map_err(|e| Error::io(path, e))?;
    read_parquet_from(file, &probe, &name, total_bytes, opts)
}

/// Read Parquet bytes held in memory into a typed table.
pub fn read_parquet_bytes(bytes: Vec<u8>, name: &str, opts: &ReadOptions) -> Result<Table> {
    let total_bytes = bytes.len() as u64;
    super::parquet_sum::verify(&mut std::io::Cursor::new(&bytes), total_bytes, name)?;
    let bytes = bytes::Bytes::from(bytes);
    read_parquet_from(bytes.clone(), &bytes, name, total_bytes, opts)
}

/// The `parquet` and `arrow` crates panic on some malformed input (lengths and
/// offsets they trust). A file lithe wrote is verified by its checksum first; for any
/// other, a panic while decoding becomes an input error, printed by nobody.
fn read_parquet_from<R: parquet::file::reader::ChunkReader + 'static>(
    source: R,
    probe: &R,
    name: &str,
    total_bytes: u64,
    opts: &ReadOptions,
) -> Result<Table> {
    crate::quiet_panic::catch(|| decode_parquet(source, probe, name, total_bytes, opts))
        .unwrap_or_else(|why| {
            Err(Error::input(format!(
                "{name}: corrupted Parquet file (the decoder failed: {why})"
            )))
        })
}

fn decode_parquet<R: parquet::file::reader::ChunkReader + 'static>(
    source: R,
    probe: &R,
    name: &str,
    total_bytes: u64,
    opts: &ReadOptions,
) -> Result<Table> {
    let bad = |e: parquet::errors::ParquetError| {
        Error::input(format!("{name}: not a readable Parquet file: {e}"))
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(source).map_err(bad)?;
    super::parquet_pages::check(builder.metadata(), probe, name)?;
    let schema = builder.schema().clone();
    let expected_rows = builder.metadata().file_metadata().num_rows().max(1) as u64;
    let reader = builder.with_batch_size(64 * 1024).build().map_err(bad)?;
    let mut rows = 0usize;
    let batches = reader.map(|batch| {
        let batch = batch.map_err(|e| Error::input(format!("{name}: {e}")))?;
        rows += batch.num_rows();
        if let Some(p) = &opts.progress {
            p(total_bytes.saturating_mul(rows as u64) / expected_rows);
        }
        Ok(batch)
    });
    from_batches(&schema, batches, name, opts)
}

/// A typed table from Arrow record batches of one schema (a Parquet file's, or another
/// library's through the Arrow C stream interface); typed as a Parquet file is.
pub fn from_batches(
    schema: &arrow_schema::Schema,
    batches: impl Iterator<Item = Result<arrow_array::RecordBatch>>,
    name: &str,
    opts: &ReadOptions,
) -> Result<Table> {
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut seen = std::collections::HashSet::new();
    for n in &names {
        if !seen.insert(n.as_str()) {
            return Err(Error::input(format!("{name}: duplicate column name '{n}'")));
        }
    }
    if names.is_empty() {
        return Err(Error::input(format!("{name}: the file has no columns")));
    }
    let mut force = vec![false; names.len()];
    for c in &opts.categorical {
        match names.iter().position(|n| n == c) {
            Some(i) => force[i] = true,
            None => {
                let list: Vec<&str> = names.iter().map(String::as_str).collect();
                return Err(Error::input(format!(
                    "{name}: --categorical names column '{c}', which is not in the file; the columns are: {}",
                    preview_list(&list, 20)
                )));
            }
        }
    }
    for c in &opts.ids {
        if let Some(i) = names.iter().position(|n| n == c) {
            force[i] = true;
        }
    }
    let mut builders: Vec<Builder> = force
        .iter()
        .map(|&f| {
            if f {
                Builder::of(ColumnType::Categorical)
            } else {
                Builder::new()
            }
        })
        .collect();
    let mut rows = 0usize;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows();
        for (c, a) in batch.columns().iter().enumerate() {
            let mut p = to_part(name, &names[c], a)?;
            if force[c] {
                p = match p {
                    Part::Missing(n) => strings(std::iter::repeat_n(None, n), n),
                    other => stringify(other),
                };
            }
            builders[c].append(p).map_err(|_| {
                Error::input(format!(
                    "{name}: column '{}' changes type between row groups",
                    names[c]
                ))
            })?;
        }
    }
    if rows == 0 {
        return Err(Error::input(format!(
            "{name}: the file has columns but no rows"
        )));
    }
    let mut columns = Vec::with_capacity(names.len());
    for (b, n) in builders.into_iter().zip(names) {
        columns.push(Column::new(n, b.finish()?));
    }
    Table::new(columns)
}

/// Write a table as Parquet with zstd compression (atomically).
pub fn write_parquet(path: &Path, table: &Table) -> Result<()> {
    super::sink::TableWriter::write_whole(path, super::sink::Format::Parquet, table)
}
