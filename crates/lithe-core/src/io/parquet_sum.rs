//! A whole-file checksum for the Parquet files lithe writes.
//!
//! The `parquet` crate verifies page CRCs on read but cannot write them, and a flipped
//! byte in an unchecked page changes values silently. So lithe seals every Parquet
//! file it writes: the footer's key-value metadata holds `lithe.xxh3` = 32 hex digits,
//! the xxh3-64 of every byte before the footer (magic and all column chunks: page
//! headers, pages, indexes) followed by the xxh3-64 of the footer itself with those
//! 32 digits read as `0`. The value is written as zeros, and patched in place once
//! the file is complete (same length, so no offset moves). Any other reader ignores
//! the key; lithe's reader verifies it when present, so a damaged byte anywhere but
//! the last eight (footer length and magic, which fail to parse when damaged) is an
//! error instead of a changed value.

use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::Range;

use crate::error::{Error, Result};

/// The footer key that carries the checksum.
pub(crate) const KEY: &str = "lithe.xxh3";
/// The value written before the checksum is known.
pub(crate) const PLACEHOLDER: &str = "00000000000000000000000000000000";
const DIGITS: usize = 32;

/// Where the footer starts and ends (`[start, end)`, before the last 8 bytes), from
/// the file's length and its last 8 bytes.
fn footer_range(len: u64, tail: &[u8; 8]) -> Option<Range<u64>> {
    if &tail[4..] != b"PAR1" {
        return None;
    }
    let flen = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]) as u64;
    let end = len.checked_sub(8)?;
    let start = end.checked_sub(flen)?;
    (start >= 4).then_some(start..end)
}

/// The span of the checksum's digits inside the footer: the first run of 32 hex
/// digits after the key, preceded by its length byte (thrift compact strings).
fn value_span(footer: &[u8]) -> Option<Range<usize>> {
    let key = memchr::memmem::find(footer, KEY.as_bytes())? + KEY.len();
    (key..(key + 8).min(footer.len())).find_map(|p| {
        let span = p..p + DIGITS;
        let digits = footer.get(span.clone())?;
        (p > 0 && footer[p - 1] == DIGITS as u8 && digits.iter().all(u8::is_ascii_hexdigit))
            .then_some(span)
    })
}

/// The sealed value for a file's bytes before the footer (hashed by the caller) and
/// its footer (with the digits at `span`).
fn seal(data_hash: u64, footer: &[u8], span: &Range<usize>) -> String {
    let mut f = footer.to_vec();
    f[span.clone()].copy_from_slice(PLACEHOLDER.as_bytes());
    format!("{data_hash:016x}{:016x}", xxhash_rust::xxh3::xxh3_64(&f))
}

/// Hash `len` bytes from the start of `src` (streamed).
fn hash_prefix(src: &mut impl Read, len: u64) -> std::io::Result<u64> {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let k = (left as usize).min(buf.len());
        src.read_exact(&mut buf[..k])?;
        h.update(&buf[..k]);
        left -= k as u64;
    }
    Ok(h.digest())
}

fn read_footer(f: &mut (impl Read + Seek), len: u64) -> std::io::Result<Option<(u64, Vec<u8>)>> {
    if len < 12 {
        return Ok(None);
    }
    let mut tail = [0u8; 8];
    f.seek(SeekFrom::Start(len - 8))?;
    f.read_exact(&mut tail)?;
    let Some(r) = footer_range(len, &tail) else {
        return Ok(None);
    };
    let mut footer = vec![0u8; (r.end - r.start) as usize];
    f.seek(SeekFrom::Start(r.start))?;
    f.read_exact(&mut footer)?;
    Ok(Some((r.start, footer)))
}

/// Patch the checksum into a Parquet file lithe has just written (with
/// [`PLACEHOLDER`] as the value of [`KEY`]).
pub(crate) fn seal_file(f: &mut std::fs::File) -> std::io::Result<()> {
    let len = f.metadata()?.len();
    let bad = || std::io::Error::other("the Parquet footer lithe just wrote has no checksum slot");
    let (start, footer) = read_footer(f, len)?.ok_or_else(bad)?;
    let span = value_span(&footer).ok_or_else(bad)?;
    f.seek(SeekFrom::Start(0))?;
    let data = hash_prefix(f, start)?;
    let value = seal(data, &footer, &span);
    f.seek(SeekFrom::Start(start + span.start as u64))?;
    f.write_all(value.as_bytes())?;
    f.flush()
}

/// Verify a Parquet file's checksum when it carries one (files from other writers
/// carry none and pass). `name` is used in messages.
pub(crate) fn verify(f: &mut (impl Read + Seek), len: u64, name: &str) -> Result<()> {
    let io = |e: std::io::Error| Error::input(format!("{name}: {e}"));
    let Some((start, footer)) = read_footer(f, len).map_err(io)? else {
        return Ok(());
    };
    // A damaged byte inside the key itself leaves one of its halves whole.
    let has = |k: &str| memchr::memmem::find(&footer, k.as_bytes()).is_some();
    if !has(KEY) && !has("lithe.") && !has(".xxh3") {
        return Ok(());
    }
    let corrupted = || {
        Error::input(format!(
            "{name}: corrupted Parquet file (checksum mismatch); the file was changed or \
             damaged after lithe wrote it"
        ))
    };
    if !has(KEY) {
        return Err(corrupted());
    }
    let span = value_span(&footer).ok_or_else(corrupted)?;
    f.seek(SeekFrom::Start(0)).map_err(io)?;
    let data = hash_prefix(f, start).map_err(io)?;
    if seal(data, &footer, &span).as_bytes() != &footer[span] {
        return Err(corrupted());
    }
    Ok(())
}
