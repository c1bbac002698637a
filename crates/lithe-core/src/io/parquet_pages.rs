//! A walk over a Parquet file's page headers before the `parquet` crate decodes it.
//!
//! The crate sizes some buffers from a page header before it knows the page holds
//! that much: a dictionary page claiming three billion values in a kilobyte file
//! makes it allocate 3 GB (found by `lithe-fuzz`). So every column chunk's pages are
//! walked first, their headers read with a small Thrift compact-protocol parser, and a
//! file whose pages do not fit their chunk, or whose sizes cannot be true, is refused
//! as corrupted before any decoding.

use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::ChunkReader;

use crate::error::{Error, Result};

/// The largest uncompressed page accepted. Writers cut pages at about 1 MiB; the
/// crate allocates this much to decompress one.
const MAX_PAGE: i64 = 1 << 30;

/// What a page header says, as far as sizes go.
#[derive(Debug, Default)]
struct Header {
    uncompressed: i64,
    compressed: i64,
    /// The values of a dictionary page (`None` for other pages).
    dict_values: Option<i64>,
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f).checked_shl(shift)?;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn zigzag(&mut self) -> Option<i64> {
        let v = self.varint()?;
        Some((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn skip(&mut self, n: u64) -> Option<()> {
        let end = self.pos.checked_add(usize::try_from(n).ok()?)?;
        (end <= self.b.len()).then(|| self.pos = end)
    }

    /// At least `n` bytes are left.
    fn enough(&self, n: u64) -> Option<()> {
        (n <= (self.b.len() - self.pos) as u64).then_some(())
    }

    /// Skip an element of a list, set or map: as a value, but a boolean is a byte.
    fn element(&mut self, t: u8, depth: u32) -> Option<()> {
        match t {
            1 | 2 => self.skip(1),
            _ => self.skip_value(t, depth),
        }
    }

    /// Skip a value of compact type `t` (nesting bounded by `depth`).
    fn skip_value(&mut self, t: u8, depth: u32) -> Option<()> {
        if depth > 32 {
            return None;
        }
        match t {
            1 | 2 => Some(()),
            3 => self.skip(1),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip(8),
            8 => {
                let n = self.varint()?;
                self.skip(n)
            }
            9 | 10 => {
                let h = self.byte()?;
                let n = match h >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                // Every element takes at least a byte (booleans in a list are one
                // each), so a count past the bytes left is false, and refused before
                // looping over it.
                self.enough(n)?;
                let et = h & 0x0f;
                for _ in 0..n {
                    self.element(et, depth + 1)?;
                }
                Some(())
            }
            11 => {
                let n = self.varint()?;
                if n == 0 {
                    return Some(());
                }
                self.enough(n.checked_mul(2)?)?;
                let kv = self.byte()?;
                for _ in 0..n {
                    self.element(kv >> 4, depth + 1)?;
                    self.element(kv & 0x0f, depth + 1)?;
                }
                Some(())
            }
            12 => self.skip_struct(depth + 1, |_, _, _| None),
            _ => None,
        }
    }

    /// Walk a struct's fields; `on(cursor, id, type)` reads the ones it wants
    /// (returning `Some(())`) and the rest are skipped.
    fn skip_struct(
        &mut self,
        depth: u32,
        mut on: impl FnMut(&mut Self, i16, u8) -> Option<Option<()>>,
    ) -> Option<()> {
        let mut last = 0i16;
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Some(());
            }
            let t = h & 0x0f;
            let id = match h >> 4 {
                0 => i16::try_from(self.zigzag()?).ok()?,
                d => last.checked_add(i16::from(d))?,
            };
            last = id;
            match on(self, id, t) {
                Some(Some(())) => {}
                Some(None) => return None,
                None => self.skip_value(t, depth)?,
            }
        }
    }
}

/// Parse one page header; returns it and its length in bytes.
fn page_header(b: &[u8]) -> Option<(Header, usize)> {
    let mut c = Cursor { b, pos: 0 };
    let mut h = Header::default();
    c.skip_struct(0, |c, id, t| match (id, t) {
        (2, 5) => Some(c.zigzag().map(|v| h.uncompressed = v)),
        (3, 5) => Some(c.zigzag().map(|v| h.compressed = v)),
        (7, 12) => {
            let mut n = None;
            let r = c.skip_struct(1, |c, id, t| match (id, t) {
                (1, 5) => Some(c.zigzag().map(|v| n = Some(v))),
                _ => None,
            });
            h.dict_values = Some(n.unwrap_or(0));
            Some(r)
        }
        _ => None,
    })?;
    Some((h, c.pos))
}

/// Walk every column chunk's pages; an error names the first that cannot be true.
pub(crate) fn check<R: ChunkReader>(meta: &ParquetMetaData, src: &R, name: &str) -> Result<()> {
    let corrupted = |why: String| Error::input(format!("{name}: corrupted Parquet file ({why})"));
    let file_len = src.len();
    for (g, rg) in meta.row_groups().iter().enumerate() {
        for col in rg.columns() {
            // Where the crate will read the chunk (its `byte_range`).
            let start = col
                .dictionary_page_offset()
                .unwrap_or(col.data_page_offset());
            let size = col.compressed_size();
            let end = start.checked_add(size).filter(|_| start >= 0 && size >= 0);
            let Some(end) = end.filter(|&e| e as u64 <= file_len) else {
                return Err(corrupted(format!(
                    "row group {g}: a column chunk lies outside the file"
                )));
            };
            let mut pos = start;
            while pos < end {
                let want = ((end - pos) as usize).min(64 << 10);
                let bytes = src
                    .get_bytes(pos as u64, want)
                    .map_err(|e| corrupted(e.to_string()))?;
                let Some((h, len)) = page_header(&bytes) else {
                    return Err(corrupted(format!(
                        "row group {g}: a page header at byte {pos} does not parse"
                    )));
                };
                if h.compressed < 0 || h.uncompressed < 0 || h.uncompressed > MAX_PAGE {
                    return Err(corrupted(format!(
                        "row group {g}: a page at byte {pos} claims {} bytes ({} compressed)",
                        h.uncompressed, h.compressed
                    )));
                }
                if let Some(n) = h.dict_values
                    && !(0..=h.uncompressed.max(1)).contains(&n)
                {
                    return Err(corrupted(format!(
                        "row group {g}: a dictionary page at byte {pos} claims {n} values in {} \
                         bytes",
                        h.uncompressed
                    )));
                }
                pos = pos
                    .checked_add(len as i64)
                    .and_then(|p| p.checked_add(h.compressed))
                    .filter(|&p| p <= end)
                    .ok_or_else(|| {
                        corrupted(format!("row group {g}: a page overruns its column chunk"))
                    })?;
            }
        }
    }
    Ok(())
}
