//! Writing a table in parts, so a long job's output never has to be held whole.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use super::csv_write::{write_csv_header, write_csv_rows};
use crate::error::{Error, Result};
use crate::table::Table;

/// How a [`TableWriter`] encodes its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    CsvGzip,
    Parquet,
}

impl Format {
    /// By the file name: `.parquet`/`.pq` Parquet, `.gz` gzip CSV, else CSV.
    fn of(path: &Path) -> Format {
        let lower = path.to_string_lossy().to_ascii_lowercase();
        if lower.ends_with(".parquet") || lower.ends_with(".pq") {
            Format::Parquet
        } else if lower.ends_with(".gz") {
            Format::CsvGzip
        } else {
            Format::Csv
        }
    }
}

enum Out {
    Csv(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    /// Created with the first part's schema.
    Parquet(Option<ArrowWriter<File>>),
}

/// A table written part by part: each part's rows follow the previous part's, with
/// the same columns. The format follows the name as in [`super::write_table`]
/// (`.parquet`/`.pq` Parquet, `.gz` gzip CSV, else CSV). The rows go to a temporary
/// file beside `path`, created when the first part is written and renamed over `path`
/// by [`TableWriter::finish`]; a writer dropped before that leaves nothing behind.
/// Writing a whole table ([`super::write_table`], [`super::write_csv`],
/// [`super::write_parquet`]) is one part.
pub struct TableWriter {
    path: PathBuf,
    format: Format,
    /// The temporary file and its encoder, from the first part on.
    open: Option<(tempfile::NamedTempFile, Out)>,
    names: Option<Vec<String>>,
}

impl TableWriter {
    /// A writer for `path`; refuses at once a path lithe may not write (see
    /// [`super::check_output`]), but creates nothing until the first part.
    pub fn create(path: &Path) -> Result<TableWriter> {
        Self::with_format(path, Format::of(path))
    }

    pub(crate) fn with_format(path: &Path, format: Format) -> Result<TableWriter> {
        super::check_output(path, &[])?;
        Ok(TableWriter {
            path: path.to_path_buf(),
            format,
            open: None,
            names: None,
        })
    }

    fn start(path: &Path, format: Format) -> Result<(tempfile::NamedTempFile, Out)> {
        let tmp = super::temp_beside(path)?;
        let file = tmp.as_file().try_clone().map_err(|e| Error::io(path, e))?;
        let out = match format {
            Format::Parquet => Out::Parquet(None),
            Format::CsvGzip => Out::Gzip(flate2::write::GzEncoder::new(
                BufWriter::new(file),
                flate2::Compression::new(6),
            )),
            Format::Csv => Out::Csv(BufWriter::with_capacity(1 << 20, file)),
        };
        Ok((tmp, out))
    }

    /// Write `table` whole to `path` in `format`.
    pub(crate) fn write_whole(path: &Path, format: Format, table: &Table) -> Result<()> {
        let mut w = Self::with_format(path, format)?;
        w.write(table)?;
        w.finish()
    }

    /// Append the rows of `part` (the first part sets the columns; later parts must
    /// have the same names).
    pub fn write(&mut self, part: &Table) -> Result<()> {
        let names: Vec<String> = part.names().map(String::from).collect();
        let first = match &self.names {
            None => true,
            Some(n) if *n == names => false,
            Some(n) => {
                return Err(Error::Runtime(format!(
                    "{}: a part with columns {names:?} after parts with {n:?}",
                    self.path.display()
                )));
            }
        };
        let (tmp, out) = match &mut self.open {
            Some(o) => o,
            slot @ None => slot.insert(Self::start(&self.path, self.format)?),
        };
        let path = &self.path;
        let io = |e| Error::io(path, e);
        let csv: &mut dyn Write = match out {
            Out::Csv(w) => w,
            Out::Gzip(w) => w,
            Out::Parquet(w) => {
                let err = |e: parquet::errors::ParquetError| {
                    Error::Runtime(format!("{}: writing Parquet: {e}", path.display()))
                };
                let batch = part.to_record_batch()?;
                if w.is_none() {
                    let props = WriterProperties::builder()
                        .set_compression(Compression::ZSTD(
                            ZstdLevel::try_new(3).unwrap_or_default(),
                        ))
                        .set_key_value_metadata(Some(vec![KeyValue::new(
                            super::parquet_sum::KEY.to_string(),
                            super::parquet_sum::PLACEHOLDER.to_string(),
                        )]))
                        .build();
                    let file = tmp.as_file().try_clone().map_err(io)?;
                    *w =
                        Some(ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(err)?);
                }
                if let Some(w) = w {
                    w.write(&batch).map_err(err)?;
                }
                self.names = Some(names);
                return Ok(());
            }
        };
        if first {
            write_csv_header(part, csv).map_err(io)?;
        }
        write_csv_rows(part, csv).map_err(io)?;
        self.names = Some(names);
        Ok(())
    }

    /// Flush everything and put the file in place.
    pub fn finish(self) -> Result<()> {
        let path = &self.path;
        let io = |e| Error::io(path, e);
        let (mut tmp, out) = match self.open {
            Some(o) => o,
            None => Self::start(path, self.format)?,
        };
        let parquet = matches!(out, Out::Parquet(Some(_)));
        match out {
            Out::Csv(mut w) => w.flush().map_err(io)?,
            Out::Gzip(w) => w.finish().map_err(io)?.flush().map_err(io)?,
            Out::Parquet(Some(w)) => {
                w.close().map_err(|e| {
                    Error::Runtime(format!("{}: writing Parquet: {e}", path.display()))
                })?;
            }
            Out::Parquet(None) => {}
        }
        if parquet {
            super::parquet_sum::seal_file(tmp.as_file_mut()).map_err(io)?;
        }
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
        Ok(())
    }
}
