//! Reading and writing tables: CSV (optionally gzip) and Parquet.
//!
//! [`read_table`] detects the format from the file's first bytes (gzip magic, Parquet
//! magic, else CSV text) and returns a typed [`Table`]. [`write_table`] picks the
//! format from the file extension and writes atomically.

mod columns;
mod csv_read;
mod csv_write;
pub(crate) mod dict;
pub(crate) mod format;
mod parquet_io;
mod parquet_pages;
mod parquet_sum;
pub mod parse;
mod sink;
mod tokenize;

use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::table::Table;

pub use csv_write::{csv_string, write_csv};
pub use parquet_io::{from_batches, read_parquet, read_parquet_bytes, write_parquet};
pub use sink::TableWriter;

/// Called with the number of bytes of the source consumed so far.
pub type ProgressFn = Arc<dyn Fn(u64) + Send + Sync>;

pub(crate) type Opener<'a> = dyn Fn() -> Result<Box<dyn Read + Send + 'a>> + 'a;

/// The column names lithe treats as identifiers wherever they appear: series ids and
/// the user and item ids of interactions.
pub const ID_COLUMNS: [&str; 3] = ["unique_id", "user_id", "item_id"];

impl ReadOptions {
    /// These options with `col` read as an identifier too.
    pub fn with_id(mut self, col: &str) -> Self {
        if !self.ids.iter().any(|c| c == col) {
            self.ids.push(col.to_string());
        }
        self
    }
}

/// How to read a table. The defaults suit a CSV with a header row.
#[derive(Clone)]
pub struct ReadOptions {
    /// The first row names the columns (default). Otherwise columns are `col_0`, `col_1`, ...
    pub has_header: bool,
    /// Field delimiter; detected from the first line when `None` (`,` `\t` `;` `|`).
    pub delimiter: Option<u8>,
    /// Lines to skip before the header (or the first row).
    pub skip_rows: usize,
    /// Columns to read as categorical even if they look numeric.
    pub categorical: Vec<String>,
    /// Identifier columns: read as text exactly as written (`007` stays `007`, `1.50`
    /// stays `1.50`) when the file has them; a file without them is not an error.
    /// Default: [`ID_COLUMNS`]. Commands that take an id column by name add it here.
    pub ids: Vec<String>,
    /// Extra tokens that mean "missing", besides empty, NA, NaN, null and their variants.
    pub na_values: Vec<String>,
    /// Bytes of text per parallel work unit.
    pub block_size: usize,
    pub progress: Option<ProgressFn>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            has_header: true,
            delimiter: None,
            skip_rows: 0,
            categorical: Vec::new(),
            ids: ID_COLUMNS.iter().map(|s| s.to_string()).collect(),
            na_values: Vec::new(),
            block_size: 1 << 20,
            progress: None,
        }
    }
}

impl std::fmt::Debug for ReadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadOptions")
            .field("has_header", &self.has_header)
            .field("delimiter", &self.delimiter.map(char::from))
            .field("skip_rows", &self.skip_rows)
            .field("categorical", &self.categorical)
            .field("ids", &self.ids)
            .field("na_values", &self.na_values)
            .field("block_size", &self.block_size)
            .finish()
    }
}

/// What a file holds, judged by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    CsvGzip,
    Parquet,
}

/// Look at the first bytes of a file.
pub fn detect_format(path: &Path) -> Result<FileFormat> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match f.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(format_of(&magic[..got]))
}

fn format_of(magic: &[u8]) -> FileFormat {
    if magic.starts_with(&[0x1f, 0x8b]) {
        FileFormat::CsvGzip
    } else if magic.starts_with(b"PAR1") {
        FileFormat::Parquet
    } else {
        FileFormat::Csv
    }
}

/// Counts bytes as they are read, for progress reporting.
struct Counting<R> {
    inner: R,
    count: u64,
    progress: ProgressFn,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        (self.progress)(self.count);
        Ok(n)
    }
}

fn wrap<'a, R: Read + Send + 'a>(
    raw: R,
    gzip: bool,
    progress: &Option<ProgressFn>,
) -> Box<dyn Read + Send + 'a> {
    let counted: Box<dyn Read + Send + 'a> = match progress {
        Some(p) => Box::new(Counting {
            inner: raw,
            count: 0,
            progress: p.clone(),
        }),
        None => Box::new(raw),
    };
    if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 18,
            counted,
        )))
    } else {
        counted
    }
}

/// Read a CSV, gzip CSV or Parquet file into a typed table.
pub fn read_table(path: &Path, opts: &ReadOptions) -> Result<Table> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::input(format!(
            "{name}: is a directory, expected a file"
        )));
    }
    if !meta.is_file() {
        return read_stream(path, opts);
    }
    match detect_format(path)? {
        FileFormat::Parquet => read_parquet(path, opts),
        fmt => {
            let gzip = fmt == FileFormat::CsvGzip;
            let opts = &tuned(opts, meta.len(), gzip);
            let open = || -> Result<Box<dyn Read + Send>> {
                let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
                Ok(wrap(f, gzip, &opts.progress))
            };
            let text_len = (!gzip).then_some(meta.len());
            csv_read::read_csv(&open, &name, opts, text_len)
        }
    }
}

/// The most bytes read from a FIFO, device or other non-regular file.
pub const MAX_STREAM_BYTES: u64 = 4 << 30;

/// A FIFO, device or socket: read once, as a bounded stream, into memory, then parsed
/// like any file. A stream whose first 64 KiB are neither gzip nor Parquet and hold a
/// NUL byte (`/dev/zero`, `/dev/urandom`, binary data) is refused at once, and one longer than [`MAX_STREAM_BYTES`] when the limit is reached.
fn read_stream(path: &Path, opts: &ReadOptions) -> Result<Table> {
    let name = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    let mut src = f.take(MAX_STREAM_BYTES + 1);
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let k = match src.read(&mut chunk) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        if bytes.is_empty()
            && format_of(&chunk[..k]) == FileFormat::Csv
            && memchr::memchr(0, &chunk[..k]).is_some()
        {
            return Err(Error::input(format!(
                "{name}: holds NUL bytes from the start; not a CSV, gzip or Parquet table"
            )));
        }
        bytes.extend_from_slice(&chunk[..k]);
        if bytes.len() as u64 > MAX_STREAM_BYTES {
            return Err(Error::input(format!(
                "{name}: is not a regular file and gives more than {} GiB; save it to a file \
                 first",
                MAX_STREAM_BYTES >> 30
            )));
        }
    }
    read_bytes(bytes, &name, opts)
}

/// Read a table held in memory (CSV, gzip CSV or Parquet, judged by its first bytes).
pub fn read_bytes(bytes: Vec<u8>, name: &str, opts: &ReadOptions) -> Result<Table> {
    match format_of(&bytes) {
        FileFormat::Parquet => read_parquet_bytes(bytes, name, opts),
        _ => read_csv_bytes(&bytes, name, opts),
    }
}

/// Smaller blocks for small or compressed inputs: enough blocks to keep every thread
/// busy, and (for gzip, which inflates on one thread) parsing that starts early and
/// ends soon after the last byte is inflated.
fn tuned(opts: &ReadOptions, file_len: u64, gzip: bool) -> ReadOptions {
    let text_len = if gzip {
        file_len.saturating_mul(4)
    } else {
        file_len
    };
    let per_thread = text_len / (16 * rayon::current_num_threads().max(1) as u64);
    let mut block = (per_thread as usize).clamp(64 << 10, opts.block_size.max(64 << 10));
    if gzip {
        block = block.min(256 << 10);
    }
    ReadOptions {
        block_size: block.min(opts.block_size),
        ..opts.clone()
    }
}

/// Read CSV or gzip CSV text held in memory (used for embedded samples).
pub fn read_csv_bytes(bytes: &[u8], name: &str, opts: &ReadOptions) -> Result<Table> {
    let gzip = format_of(bytes) == FileFormat::CsvGzip;
    let opts = &tuned(opts, bytes.len() as u64, gzip);
    let open = || -> Result<Box<dyn Read + Send + '_>> { Ok(wrap(bytes, gzip, &opts.progress)) };
    let text_len = (!gzip).then_some(bytes.len() as u64);
    csv_read::read_csv(&open, name, opts, text_len)
}

/// Write a table; `.parquet`/`.pq` gives Parquet (zstd), `.gz` gzip CSV, else CSV.
/// The file appears whole or not at all.
pub fn write_table(path: &Path, table: &Table) -> Result<()> {
    let mut w = TableWriter::create(path)?;
    w.write(table)?;
    w.finish()
}

/// Write through a temporary file in the same directory, then rename over `path`.
pub fn atomic_write(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> Result<()>,
) -> Result<()> {
    let mut tmp = temp_beside(path)?;
    write(tmp.as_file_mut())?;
    tmp.as_file_mut()
        .sync_all()
        .map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Check that lithe may write `out`: its directory exists, and `out` is either new or
/// an existing regular file that is none of `inputs`. A device, FIFO, symlink or
/// directory is refused (writing replaces the file by a rename, which would put a
/// regular file in its place), and so is a path that names one of the command's own
/// inputs, however spelt. Commands call this before any work; every writer calls it
/// again when writing starts.
pub fn check_output(out: &Path, inputs: &[&Path]) -> Result<()> {
    let dir = directory_of(out);
    if !dir.is_dir() {
        return Err(Error::input(format!(
            "{}: the directory {} does not exist",
            out.display(),
            dir.display()
        )));
    }
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(out, e)),
    };
    let ft = meta.file_type();
    if !ft.is_file() {
        let what = if ft.is_symlink() {
            "a symbolic link"
        } else if ft.is_dir() {
            "a directory"
        } else {
            special_kind(&ft)
        };
        return Err(Error::input(format!(
            "{}: is {what}; lithe writes its output only to a new path or over a regular file \
             (it replaces the file whole, which would put a regular file in its place)",
            out.display()
        )));
    }
    for input in inputs {
        if same_file(out, input) {
            return Err(Error::input(format!(
                "{}: is also an input of this command ({}); writing it would destroy the input",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// The directory a file is (to be) in: its parent, or `.` for a bare name.
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

#[cfg(unix)]
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "not a regular file"
}

/// Whether two paths name the same existing file (same device and inode on Unix).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (a.canonicalize(), b.canonicalize()) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

/// A temporary file in `path`'s directory (an input error when that does not exist, or
/// when `path` exists and is not a regular file), with the permissions any newly
/// created file gets.
pub(crate) fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile> {
    check_output(path, &[])?;
    let dir = directory_of(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".lithe-tmp-");
    // The finished file gets the permissions any newly created file gets (0666 less
    // the umask), not the owner-only ones of a temporary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(dir).map_err(|e| Error::io(path, e))
}
