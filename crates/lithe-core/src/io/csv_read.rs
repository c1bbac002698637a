//! The parallel CSV reader.
//!
//! One thread reads (and gunzips) the source into blocks that end on record
//! boundaries; the rayon pool types the blocks in parallel; the blocks are then joined
//! column by column. Memory stays near the typed data: a bounded number of text blocks
//! are in flight, and each column's parts are freed as they are copied.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;

use rayon::prelude::*;

use super::columns::{BlockFields, Builder, Part, parse_part};
use super::parse::NaSet;
use super::tokenize::{LocalError, last_record_end, line_of, tokenize, unquote};
use super::{Opener, ReadOptions as CsvOptions};
use crate::error::{Error, Result};
use crate::table::{Column, ColumnType, Table, preview_list};

const DELIMITER_CANDIDATES: [u8; 4] = [b',', b'\t', b';', b'|'];

/// Read a whole table. `open` is called again if a column turns out to need a second
/// pass (numbers early in the file, text later).
///
/// `text_len` is the expected size of the text, when known, used to size the columns.
pub(crate) fn read_csv(
    open: &Opener<'_>,
    name: &str,
    opts: &CsvOptions,
    text_len: Option<u64>,
) -> Result<Table> {
    let mut force: HashSet<usize> = HashSet::new();
    loop {
        match read_pass(open, name, opts, &force, text_len)? {
            Pass::Done(t) => return Ok(t),
            Pass::Again(cols) => {
                if cols.iter().all(|c| force.contains(c)) {
                    return Err(Error::Runtime(format!(
                        "{name}: column typing did not settle; please report this file"
                    )));
                }
                force.extend(cols);
            }
        }
    }
}

enum Pass {
    Done(Table),
    Again(Vec<usize>),
}

struct Header {
    names: Vec<String>,
    delim: u8,
    /// Bytes after the header (the start of the data).
    rest: Vec<u8>,
    /// 1-based line number of the first byte of `rest`.
    first_line: usize,
}

/// Fill `buf` from `src` until it holds at least `want` bytes or the source ends.
/// Returns true at the end of the source.
fn fill(src: &mut dyn Read, buf: &mut Vec<u8>, want: usize) -> std::io::Result<bool> {
    if buf.len() >= want {
        return Ok(false);
    }
    let need = want - buf.len();
    buf.reserve(need);
    // `read_to_end` reads into the spare capacity without zeroing it first.
    let got = src.take(need as u64).read_to_end(buf)?;
    Ok(got < need)
}

fn read_header(src: &mut dyn Read, name: &str, opts: &CsvOptions) -> Result<Header> {
    let io_err = |e: std::io::Error| Error::input(format!("{name}: {e}"));
    let mut buf = Vec::new();
    let mut eof = fill(src, &mut buf, opts.block_size).map_err(io_err)?;
    let mut start = 0;
    if buf.starts_with(b"\xEF\xBB\xBF") {
        start = 3;
    }
    let mut line = 1;
    // Skip the requested rows, then blank lines, reading more as needed.
    let mut to_skip = opts.skip_rows;
    loop {
        let Some(i) = memchr::memchr(b'\n', &buf[start..]) else {
            if eof {
                if to_skip > 0 || buf[start..].trim_ascii().is_empty() {
                    start = buf.len();
                }
                break;
            }
            let want = buf.len() + opts.block_size;
            eof = fill(src, &mut buf, want).map_err(io_err)?;
            continue;
        };
        let is_blank = buf[start..start + i].trim_ascii().is_empty();
        if to_skip == 0 && !is_blank {
            break;
        }
        to_skip = to_skip.saturating_sub(1);
        start += i + 1;
        line += 1;
    }
    if start >= buf.len() || buf[start..].trim_ascii().is_empty() {
        return Err(Error::input(format!(
            "{name}: the file is empty (no header, no rows)"
        )));
    }
    let first_line_end = memchr::memchr(b'\n', &buf[start..]).map_or(buf.len(), |i| start + i);
    // A carriage return inside the first line, not before its newline: lines end in a
    // bare CR (classic Mac), which would make the whole file one row.
    let first_line = &buf[start..first_line_end];
    if let Some(i) = memchr::memchr(b'\r', first_line)
        && first_line[i + 1..].iter().any(|b| !b.is_ascii_whitespace())
        && memchr::memchr(b'"', &first_line[..i]).is_none()
    {
        return Err(Error::input(format!(
            "{name}: line {line}: lines end in a bare carriage return (CR-only line endings); \
             lithe reads LF or CRLF line endings (convert with: tr '\\r' '\\n')"
        )));
    }
    let delim = opts
        .delimiter
        .unwrap_or_else(|| sniff_delimiter(&buf[start..first_line_end]));
    // The first record, whole (it may hold quoted newlines).
    let first_end = loop {
        match last_record_end_first(&buf[start..], delim) {
            Some(e) => break start + e,
            None if eof => break buf.len(),
            None => {
                let want = buf.len() + opts.block_size;
                eof = fill(src, &mut buf, want).map_err(io_err)?;
            }
        }
    };
    let first = &buf[start..first_end];
    let mut fields = Vec::new();
    let counts = tokenize_one(first, delim, &mut fields);
    let n_cols = fields.len();
    let names: Vec<String> = if opts.has_header {
        let mut names = Vec::with_capacity(n_cols);
        for (i, &(a, b)) in fields.iter().enumerate() {
            let v = unquote(&first[a as usize..b as usize]);
            let s = std::str::from_utf8(&v).map_err(|_| {
                Error::input(format!(
                    "{name}: line {line}: the header has bytes that are not UTF-8 (column {})",
                    i + 1
                ))
            })?;
            names.push(if s.is_empty() {
                format!("col_{i}")
            } else {
                s.to_string()
            });
        }
        let mut seen = HashSet::new();
        for n in &names {
            if !seen.insert(n.as_str()) {
                return Err(Error::input(format!(
                    "{name}: line {line}: duplicate column name '{n}' in the header; column names must be unique"
                )));
            }
        }
        names
    } else {
        (0..n_cols).map(|i| format!("col_{i}")).collect()
    };
    let (rest, first_line) = if opts.has_header {
        (buf.split_off(first_end), line + counts)
    } else {
        (buf.split_off(start), line)
    };
    if eof && rest.trim_ascii().is_empty() {
        return Err(Error::input(format!(
            "{name}: the header has no rows under it (columns: {})",
            preview_list(&names.iter().map(String::as_str).collect::<Vec<_>>(), 10)
        )));
    }
    let _ = eof;
    Ok(Header {
        names,
        delim,
        rest,
        first_line,
    })
}

/// End of the first record (past its newline), quote-aware.
fn last_record_end_first(data: &[u8], delim: u8) -> Option<usize> {
    // Walk records until the first complete one.
    let mut probe = 0;
    loop {
        let nl = memchr::memchr(b'\n', &data[probe..])? + probe;
        if let Some(e) = last_record_end(&data[..=nl], delim) {
            return Some(e);
        }
        probe = nl + 1;
    }
}

/// Split one record into fields; returns the number of lines it spans.
fn tokenize_one(rec: &[u8], delim: u8, out: &mut Vec<(u32, u32)>) -> usize {
    let n = super::tokenize::count_fields(rec, delim);
    out.clear();
    match tokenize(rec, delim, n, out) {
        Ok(c) => c.newlines.max(1),
        Err(_) => {
            // An unterminated quote in the header: take the record as one field.
            out.clear();
            out.push((0, rec.len() as u32));
            1
        }
    }
}

/// The candidate delimiter that occurs most often outside quotes in the first record.
fn sniff_delimiter(first: &[u8]) -> u8 {
    let mut counts = [0usize; 4];
    let mut in_quote = false;
    for &b in first {
        if b == b'"' {
            in_quote = !in_quote;
        } else if !in_quote && let Some(k) = DELIMITER_CANDIDATES.iter().position(|&d| d == b) {
            counts[k] += 1;
        }
    }
    let best = (0..4).max_by_key(|&k| (counts[k], 4 - k)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        DELIMITER_CANDIDATES[best]
    }
}

struct Block {
    index: usize,
    data: Vec<u8>,
}

struct BlockResult {
    index: usize,
    result: Result<Parsed, (LocalError, Vec<u8>)>,
}

struct Parsed {
    rows: usize,
    /// Bytes of text in the block.
    bytes: usize,
    newlines: usize,
    parts: Vec<Part>,
}

/// Read blocks that end on record boundaries and send them down `tx`.
fn produce(
    src: &mut dyn Read,
    mut pending: Vec<u8>,
    opts: &CsvOptions,
    delim: u8,
    tx: std::sync::mpsc::SyncSender<Block>,
    recycled: std::sync::mpsc::Receiver<Vec<u8>>,
    abort: &AtomicBool,
) -> std::io::Result<usize> {
    let bs = opts.block_size;
    let mut index = 0;
    let mut eof = false;
    let mut want = bs;
    loop {
        if abort.load(Ordering::Relaxed) {
            return Ok(index);
        }
        if !eof {
            eof = fill(src, &mut pending, want)?;
        }
        if pending.is_empty() {
            return Ok(index);
        }
        let cut = if eof {
            pending.len()
        } else {
            match last_record_end(&pending, delim) {
                Some(c) => c,
                None => {
                    // One record longer than a block: read more.
                    want = pending.len() + bs;
                    continue;
                }
            }
        };
        want = bs;
        // Reuse a parsed block's buffer when one is back: fresh pages cost page faults.
        let mut next = recycled.try_recv().unwrap_or_default();
        next.clear();
        next.reserve(bs + (pending.len() - cut));
        next.extend_from_slice(&pending[cut..]);
        pending.truncate(cut);
        let block = std::mem::replace(&mut pending, next);
        if tx.send(Block { index, data: block }).is_err() {
            return Ok(index);
        }
        index += 1;
        if eof && pending.is_empty() {
            return Ok(index);
        }
    }
}

fn parse_block(
    block: &Block,
    delim: u8,
    n_cols: usize,
    na: &NaSet,
    force: &HashSet<usize>,
) -> Result<Parsed, LocalError> {
    if block.data.len() > u32::MAX as usize {
        return Err(LocalError {
            offset: 0,
            message: "a single record is larger than 4 GiB".into(),
        });
    }
    if let Some(offset) = memchr::memchr(0, &block.data) {
        return Err(LocalError {
            offset,
            message: "a field holds a NUL byte (0x00); text data has none (is this a binary \
                      file?)"
                .into(),
        });
    }
    thread_local! {
        static FIELDS: std::cell::RefCell<Vec<(u32, u32)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    // Each worker keeps its field buffer from block to block.
    let mut fields = FIELDS.with(|f| std::mem::take(&mut *f.borrow_mut()));
    fields.clear();
    let result = parse_fields(block, delim, n_cols, na, force, &mut fields);
    FIELDS.with(|f| *f.borrow_mut() = fields);
    result
}

fn parse_fields(
    block: &Block,
    delim: u8,
    n_cols: usize,
    na: &NaSet,
    force: &HashSet<usize>,
    fields: &mut Vec<(u32, u32)>,
) -> Result<Parsed, LocalError> {
    let counts = tokenize(&block.data, delim, n_cols, fields)?;
    let bf = BlockFields {
        has_quotes: memchr::memchr(b'"', &block.data).is_some(),
        data: &block.data,
        fields,
        n_cols,
        n_rows: counts.rows,
        na,
    };
    let parts = (0..n_cols)
        .map(|c| parse_part(&bf, c, force.contains(&c)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Parsed {
        bytes: block.data.len(),
        rows: counts.rows,
        newlines: counts.newlines,
        parts,
    })
}

fn read_pass(
    open: &Opener<'_>,
    name: &str,
    opts: &CsvOptions,
    force_extra: &HashSet<usize>,
    text_len: Option<u64>,
) -> Result<Pass> {
    let mut src = open()?;
    let header = read_header(&mut *src, name, opts)?;
    let n_cols = header.names.len();
    let mut force = force_extra.clone();
    for c in &opts.categorical {
        match header.names.iter().position(|n| n == c) {
            Some(i) => {
                force.insert(i);
            }
            None => {
                let names: Vec<&str> = header.names.iter().map(String::as_str).collect();
                return Err(Error::input(format!(
                    "{name}: --categorical names column '{c}', which is not in the file; the columns are: {}",
                    preview_list(&names, 20)
                )));
            }
        }
    }
    for c in &opts.ids {
        if let Some(i) = header.names.iter().position(|n| n == c) {
            force.insert(i);
        }
    }
    let na = NaSet::new(&opts.na_values);
    let delim = header.delim;
    let abort = AtomicBool::new(false);
    let in_flight = rayon::current_num_threads() + 1;
    let (tx, rx) = sync_channel::<Block>(in_flight);
    let (tx_done, rx_done) = std::sync::mpsc::channel::<BlockResult>();

    let mut builders: Vec<Builder> = (0..n_cols)
        .map(|c| {
            if force.contains(&c) {
                Builder::of(ColumnType::Categorical)
            } else {
                Builder::new()
            }
        })
        .collect();
    let mut again: Vec<usize> = Vec::new();
    let mut total_rows = 0usize;
    let mut lines_done = 0usize;
    let mut failure: Option<Error> = None;

    let produced = std::thread::scope(|s| {
        let abort_ref = &abort;
        let rest = header.rest;
        let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let producer =
            s.spawn(move || produce(&mut *src, rest, opts, delim, tx, recycle_rx, abort_ref));
        let (na, force) = (&na, &force);
        s.spawn(move || {
            rx.into_iter().par_bridge().for_each_with(
                (tx_done, recycle_tx),
                |(tx, recycle), block| {
                    // Every block is parsed and reported, even after an error elsewhere,
                    // so the in-order append below never waits on a block that is gone.
                    let result = match parse_block(&block, delim, n_cols, na, force) {
                        Ok(p) => {
                            let _ = recycle.send(block.data);
                            Ok(p)
                        }
                        Err(e) => {
                            abort_ref.store(true, Ordering::Relaxed);
                            Err((e, block.data))
                        }
                    };
                    let _ = tx.send(BlockResult {
                        index: block.index,
                        result,
                    });
                },
            );
        });
        // Append blocks in file order as they finish.
        let mut waiting: BTreeMap<usize, Result<Parsed, (LocalError, Vec<u8>)>> = BTreeMap::new();
        let mut next = 0usize;
        for done in rx_done {
            waiting.insert(done.index, done.result);
            while let Some(r) = waiting.remove(&next) {
                next += 1;
                if failure.is_some() {
                    continue;
                }
                match r {
                    Err((e, data)) => {
                        let line = header.first_line + lines_done + line_of(&data, e.offset) - 1;
                        failure = Some(Error::input(format!("{name}: line {line}: {}", e.message)));
                        abort.store(true, Ordering::Relaxed);
                    }
                    Ok(p) => {
                        // After the first block, size the columns for the whole file.
                        let estimate = match text_len {
                            Some(len) if next == 1 && p.bytes > 0 => {
                                (p.rows as f64 * len as f64 / p.bytes as f64 * 1.02) as usize
                            }
                            _ => 0,
                        };
                        total_rows += p.rows;
                        lines_done += p.newlines;
                        for (c, part) in p.parts.into_iter().enumerate() {
                            if again.contains(&c) {
                                continue;
                            }
                            if builders[c].append(part).is_err() {
                                again.push(c);
                                builders[c] = Builder::new();
                            }
                            if estimate > 0 {
                                builders[c]
                                    .reserve(estimate.saturating_sub(total_rows).min(1 << 34));
                            }
                        }
                    }
                }
            }
        }
        (producer.join(), next, waiting.len())
    });
    let (produced, appended, stranded) = produced;
    let produced =
        produced.map_err(|_| Error::Runtime(format!("{name}: the reader thread failed")))?;
    if let Some(e) = failure {
        return Err(e);
    }
    let blocks = produced.map_err(|e| Error::input(format!("{name}: {e}")))?;
    if stranded != 0 || appended != blocks {
        return Err(Error::Runtime(format!(
            "{name}: read {blocks} blocks but assembled {appended}; please report this"
        )));
    }
    if !again.is_empty() {
        return Ok(Pass::Again(again));
    }
    if total_rows == 0 {
        return Err(Error::input(format!(
            "{name}: the header has no rows under it"
        )));
    }
    let mut columns = Vec::with_capacity(n_cols);
    for (builder, col_name) in builders.into_iter().zip(header.names) {
        let data = builder.finish().map_err(|e| e.context(name))?;
        columns.push(Column::new(col_name, data));
    }
    Ok(Pass::Done(Table::new(columns)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_common_delimiters() {
        assert_eq!(sniff_delimiter(b"a,b,c\n"), b',');
        assert_eq!(sniff_delimiter(b"a\tb\tc\n"), b'\t');
        assert_eq!(sniff_delimiter(b"\"a,x\";\"b\";c\n"), b';');
        assert_eq!(sniff_delimiter(b"a|b\n"), b'|');
        assert_eq!(sniff_delimiter(b"single\n"), b',');
    }
}
