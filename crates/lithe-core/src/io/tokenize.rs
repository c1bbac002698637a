//! Splitting CSV bytes into records and fields.
//!
//! A quote opens a quoted field only at the start of a field (after optional spaces);
//! inside, `""` is an escaped quote and delimiters and newlines are literal. Blank
//! lines are skipped. Blocks without any quote take a fast path driven by `memchr2`.

use memchr::{memchr, memrchr};

/// Where a problem was found, relative to the start of a block.
#[derive(Debug)]
pub(crate) struct LocalError {
    pub offset: usize,
    pub message: String,
}

/// Line number (1-based, within the block) of a byte offset.
pub(crate) fn line_of(data: &[u8], offset: usize) -> usize {
    1 + memchr::memchr_iter(b'\n', &data[..offset.min(data.len())]).count()
}

/// Position of the next `"` at or after `p`: a short byte scan (most quoted fields
/// are short), then `memchr` for long text.
#[inline]
fn find_quote(data: &[u8], p: usize) -> Option<usize> {
    let lim = (p + 24).min(data.len());
    let mut k = p;
    while k < lim {
        if data[k] == b'"' {
            return Some(k);
        }
        k += 1;
    }
    memchr(b'"', &data[k..]).map(|i| k + i)
}

/// From the start of a field, the position of the delimiter or newline that ends it
/// (`data.len()` if the data ends first). `Err(open)` when a quoted field opened at
/// `open` is still open at the end of the data.
#[inline]
fn field_end(data: &[u8], start: usize, delim: u8) -> Result<usize, usize> {
    let n = data.len();
    let mut p = start;
    while p < n && data[p] == b' ' {
        p += 1;
    }
    if p < n && data[p] == b'"' {
        let open = p;
        p += 1;
        loop {
            p = match find_quote(data, p) {
                Some(q) => q + 1,
                None => return Err(open),
            };
            if p < n && data[p] == b'"' {
                p += 1;
            } else {
                break;
            }
        }
    }
    while p < n {
        let c = data[p];
        if c == delim || c == b'\n' {
            return Ok(p);
        }
        p += 1;
    }
    Ok(n)
}

/// The end of the last complete record in `data` (just past its newline), judged by the
/// same quoting rules as [`tokenize`]. `None` if no record is complete yet.
pub(crate) fn last_record_end(data: &[u8], delim: u8) -> Option<usize> {
    if memchr(b'"', data).is_none() {
        return memrchr(b'\n', data).map(|p| p + 1);
    }
    let n = data.len();
    let mut pos = 0;
    let mut last = None;
    while pos < n {
        match field_end(data, pos, delim) {
            // A field running to the end of the data may continue in the next read.
            Err(_) => return last,
            Ok(e) if e == n => return last,
            Ok(e) => {
                pos = e + 1;
                if data[e] == b'\n' {
                    last = Some(pos);
                }
            }
        }
    }
    last
}

/// Number of fields in the first record of `data` (quote-aware).
pub(crate) fn count_fields(data: &[u8], delim: u8) -> usize {
    let mut pos = 0;
    let mut count = 1;
    loop {
        match field_end(data, pos, delim) {
            Ok(e) if e < data.len() && data[e] == delim => {
                count += 1;
                pos = e + 1;
            }
            _ => return count,
        }
    }
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(|&c| c == b' ' || c == b'\r' || c == b'\t')
}

/// Counts of what [`tokenize`] found.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub rows: usize,
    pub newlines: usize,
}

/// Split a block of whole records into `(start, end)` byte ranges, `n_cols` per row.
/// Field ranges exclude the delimiter and a `\r` before the newline; quoted fields
/// keep their quotes (see [`unquote`]).
pub(crate) fn tokenize(
    data: &[u8],
    delim: u8,
    n_cols: usize,
    fields: &mut Vec<(u32, u32)>,
) -> Result<Counts, LocalError> {
    if memchr(b'"', data).is_none() {
        tokenize_plain(data, delim, n_cols, fields)
    } else {
        tokenize_quoted(data, delim, n_cols, fields)
    }
}

fn ragged(data: &[u8], row_start: usize, delim: u8, n_cols: usize, found: usize) -> LocalError {
    let found = if found > n_cols {
        // Count the whole line for the message.
        let end = memchr(b'\n', &data[row_start..]).map_or(data.len(), |i| row_start + i);
        1 + memchr::memchr_iter(delim, &data[row_start..end]).count()
    } else {
        found
    };
    LocalError {
        offset: row_start,
        message: format!("expected {n_cols} fields, found {found} (ragged row)"),
    }
}

/// Positions of `delim` and `\n`, found eight bytes at a time (SWAR: a word's bytes
/// are compared at once and the matches iterated as bits), which beats a `memchr`
/// call per field when fields are a few bytes long.
struct Structural<'a> {
    data: &'a [u8],
    /// Start of the word `mask` describes.
    base: usize,
    mask: u64,
    delim: u64,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit of each byte set exactly where that byte of `v` is zero.
#[inline]
fn zero_bytes(v: u64) -> u64 {
    !(((v & !HI).wrapping_add(!HI)) | v) & HI
}

impl<'a> Structural<'a> {
    fn new(data: &'a [u8], delim: u8) -> Self {
        let mut s = Structural {
            data,
            base: 0,
            mask: 0,
            delim: LO * delim as u64,
        };
        s.mask = s.word_mask(0);
        s
    }

    #[inline]
    fn word_mask(&self, at: usize) -> u64 {
        let w = match self.data.get(at..at + 8) {
            Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
            None => {
                // The tail: pad with a byte that is neither delimiter nor newline.
                let mut b = [0u8; 8];
                let rest = self.data.get(at..).unwrap_or(&[]);
                b[..rest.len()].copy_from_slice(rest);
                let pad = if self.delim == 0 { 1 } else { 0 };
                for x in &mut b[rest.len()..] {
                    *x = pad;
                }
                u64::from_le_bytes(b)
            }
        };
        zero_bytes(w ^ self.delim) | zero_bytes(w ^ (LO * b'\n' as u64))
    }
}

impl Iterator for Structural<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += 8;
            if self.base >= self.data.len() {
                return None;
            }
            self.mask = self.word_mask(self.base);
        }
        let p = self.base + (self.mask.trailing_zeros() / 8) as usize;
        self.mask &= self.mask - 1;
        Some(p)
    }
}

fn tokenize_plain(
    data: &[u8],
    delim: u8,
    n_cols: usize,
    fields: &mut Vec<(u32, u32)>,
) -> Result<Counts, LocalError> {
    let mut counts = Counts::default();
    let mut start = 0usize;
    let mut row_start = 0usize;
    let mut in_row = 0usize;
    for p in Structural::new(data, delim) {
        if data[p] == delim {
            in_row += 1;
            if in_row >= n_cols {
                return Err(ragged(data, row_start, delim, n_cols, in_row + 1));
            }
            fields.push((start as u32, p as u32));
            start = p + 1;
        } else {
            counts.newlines += 1;
            let mut end = p;
            if end > start && data[end - 1] == b'\r' {
                end -= 1;
            }
            if in_row == 0 && is_blank(&data[start..end]) {
                start = p + 1;
                row_start = start;
                continue;
            }
            fields.push((start as u32, end as u32));
            in_row += 1;
            if in_row != n_cols {
                return Err(ragged(data, row_start, delim, n_cols, in_row));
            }
            counts.rows += 1;
            in_row = 0;
            start = p + 1;
            row_start = start;
        }
    }
    // A last record without a newline.
    let mut end = data.len();
    if end > start && data[end - 1] == b'\r' {
        end -= 1;
    }
    if in_row > 0 || !is_blank(&data[start..end]) {
        fields.push((start as u32, end as u32));
        in_row += 1;
        if in_row != n_cols {
            return Err(ragged(data, row_start, delim, n_cols, in_row));
        }
        counts.rows += 1;
    }
    Ok(counts)
}

fn tokenize_quoted(
    data: &[u8],
    delim: u8,
    n_cols: usize,
    fields: &mut Vec<(u32, u32)>,
) -> Result<Counts, LocalError> {
    let n = data.len();
    let mut counts = Counts::default();
    let mut pos = 0usize;
    while pos < n {
        let row_start = pos;
        // Skip a blank line.
        let mut q = pos;
        while q < n && matches!(data[q], b' ' | b'\r') {
            q += 1;
        }
        if q == n {
            break;
        }
        if data[q] == b'\n' {
            pos = q + 1;
            continue;
        }
        let mut in_row = 0usize;
        loop {
            let fstart = pos;
            let end = field_end(data, pos, delim).map_err(|open| LocalError {
                offset: open,
                message: "a quoted field is never closed".into(),
            })?;
            let at_delim = end < n && data[end] == delim;
            let mut fend = end;
            if !at_delim && fend > fstart && data[fend - 1] == b'\r' {
                fend -= 1;
            }
            in_row += 1;
            if in_row > n_cols {
                return Err(ragged(data, row_start, delim, n_cols, in_row));
            }
            fields.push((fstart as u32, fend as u32));
            pos = end + 1;
            if !at_delim {
                break;
            }
        }
        if in_row != n_cols {
            return Err(ragged(data, row_start, delim, n_cols, in_row));
        }
        counts.rows += 1;
    }
    counts.newlines = memchr::memchr_iter(b'\n', data).count();
    Ok(counts)
}

/// A field's value: surrounding spaces trimmed, quotes removed, `""` unescaped.
#[inline]
pub(crate) fn unquote(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let t = raw.trim_ascii();
    if t.first() != Some(&b'"') {
        return std::borrow::Cow::Borrowed(t);
    }
    let inner = &t[1..];
    // Find the closing quote, skipping escaped pairs.
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < inner.len() {
        if inner[i] == b'"' {
            if inner.get(i + 1) == Some(&b'"') {
                let o = out.get_or_insert_with(|| inner[..i].to_vec());
                o.push(b'"');
                i += 2;
                continue;
            }
            // Closing quote; anything after it is kept as written.
            let rest = inner[i + 1..].trim_ascii();
            return match out {
                Some(mut o) => {
                    o.extend_from_slice(rest);
                    std::borrow::Cow::Owned(o)
                }
                None if rest.is_empty() => std::borrow::Cow::Borrowed(&inner[..i]),
                None => {
                    let mut o = inner[..i].to_vec();
                    o.extend_from_slice(rest);
                    std::borrow::Cow::Owned(o)
                }
            };
        }
        if let Some(o) = out.as_mut() {
            o.push(inner[i]);
        }
        i += 1;
    }
    match out {
        Some(o) => std::borrow::Cow::Owned(o),
        None => std::borrow::Cow::Borrowed(inner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str, n_cols: usize) -> Result<Vec<Vec<String>>, LocalError> {
        let mut f = Vec::new();
        let c = tokenize(s.as_bytes(), b',', n_cols, &mut f)?;
        assert_eq!(f.len(), c.rows * n_cols);
        Ok(f.chunks(n_cols)
            .map(|row| {
                row.iter()
                    .map(|&(a, b)| {
                        String::from_utf8(
                            unquote(&s.as_bytes()[a as usize..b as usize]).into_owned(),
                        )
                        .unwrap()
                    })
                    .collect()
            })
            .collect())
    }

    #[test]
    fn plain_records() {
        let rows = split("1,2\r\n\n3,4\n5,\n", 2).unwrap();
        assert_eq!(rows, vec![vec!["1", "2"], vec!["3", "4"], vec!["5", ""]]);
        let rows = split("1,2\n3,4", 2).unwrap();
        assert_eq!(rows.len(), 2);
        let rows = split("a\n\nb\n", 1).unwrap();
        assert_eq!(rows, vec![vec!["a"], vec!["b"]]);
    }

    #[test]
    fn quoted_records() {
        let s = "\"a,b\",\"say \"\"hi\"\"\"\n \"multi\nline\" ,x\n\n\"\",\"tail\"";
        let rows = split(s, 2).unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["a,b", "say \"hi\""],
                vec!["multi\nline", "x"],
                vec!["", "tail"]
            ]
        );
        let mut f = Vec::new();
        let c = tokenize(s.as_bytes(), b',', 2, &mut f).unwrap();
        assert_eq!(c.newlines, 4);
    }

    #[test]
    fn ragged_rows_are_reported() {
        let e = split("1,2\n3\n", 2).unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(
            e.message.contains("expected 2 fields, found 1"),
            "{}",
            e.message
        );
        let e = split("1,2\n3,4,5\n", 2).unwrap_err();
        assert!(e.message.contains("found 3"), "{}", e.message);
        let e = split("\"1\",2\n\"3\",4,5\n", 2).unwrap_err();
        assert!(e.message.contains("found 3"), "{}", e.message);
        let e = split("\"1,2\n", 2).unwrap_err();
        assert!(e.message.contains("never closed"));
    }

    #[test]
    fn record_boundaries_follow_quotes() {
        assert_eq!(last_record_end(b"a,b\nc,d\ne,", b','), Some(8));
        assert_eq!(last_record_end(b"a,b", b','), None);
        assert_eq!(last_record_end(b"\"x\ny\",1\n\"open\n", b','), Some(8));
        assert_eq!(last_record_end(b"\"x\"", b','), None);
        // A quote inside an unquoted field is literal.
        assert_eq!(last_record_end(b"5\" tv,1\n2,3\n", b','), Some(12));
    }

    #[test]
    fn structural_positions_match_a_byte_scan() {
        for delim in [b',', b'\t', b';', 0u8] {
            for len in 0..40 {
                let data: Vec<u8> = (0..len)
                    .map(|i| [b'a', delim, b'\n', b'x', b'\r'][(i * 7 + len) % 5])
                    .collect();
                let want: Vec<usize> = (0..len)
                    .filter(|&i| data[i] == delim || data[i] == b'\n')
                    .collect();
                let got: Vec<usize> = Structural::new(&data, delim).collect();
                assert_eq!(got, want, "delim {delim} len {len}");
            }
        }
    }

    #[test]
    fn unquoting() {
        assert_eq!(&*unquote(b"  12 "), b"12");
        assert_eq!(&*unquote(b"\"a\"\"b\""), b"a\"b");
        assert_eq!(&*unquote(b"\"ab\"cd"), b"abcd");
        assert_eq!(&*unquote(b"5\" tv"), b"5\" tv");
    }
}
