//! The model-file envelope shared by every model kind.
//!
//! ```text
//! offset  size  field
//! 0       8     magic  b"\x89LITHE\r\n"  (non-ASCII first byte and CRLF catch
//!                                          text-mode transfers, as PNG's does)
//! 8       2     format major (u16 LE)    a newer major is refused (every major keeps
//!                                          this envelope, so its checksum tells a
//!                                          damaged file from a newer one)
//! 10      2     format minor (u16 LE)    additions a reader may ignore
//! 12      1     kind length k
//! 13      k     kind, ASCII, e.g. "tabular.gbdt"
//! ..      8     header length h (u64 LE)
//! ..      h     header, UTF-8 JSON (see [`Header`])
//! ..      8     payload length p (u64 LE)
//! ..      p     payload, the model's own binary encoding
//! ..      8     xxh3-64 of every byte before it (u64 LE)
//! ```
//!
//! Files are written atomically. Reading checks, in order: size, magic, lengths,
//! checksum, version, then kind, so each failure gets its own message.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const MAGIC: &[u8; 8] = b"\x89LITHE\r\n";
pub const FORMAT_MAJOR: u16 = 1;
pub const FORMAT_MINOR: u16 = 0;
/// Refuse payloads beyond this size before allocating (a corrupted length field).
const MAX_SECTION: u64 = 1 << 40;

/// The JSON header every model file carries. Model crates put their parameters,
/// feature schema and training metrics in the `serde_json::Value` fields.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Header {
    /// Same as the envelope's kind.
    pub kind: String,
    /// lithe version that wrote the file.
    pub lithe_version: String,
    /// Seconds since the Unix epoch when the file was written.
    pub created_unix: u64,
    /// The model's `Params`, as JSON.
    #[serde(default)]
    pub params: serde_json::Value,
    /// Feature schema: names, types, categorical dictionaries.
    #[serde(default)]
    pub schema: serde_json::Value,
    /// Metrics measured during training (e.g. validation scores).
    #[serde(default)]
    pub metrics: serde_json::Value,
    /// xxh3 fingerprint of the training table, as hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_fingerprint: Option<String>,
    /// Anything else the kind wants to show in `lithe inspect`.
    #[serde(default)]
    pub extra: serde_json::Value,
}

impl Header {
    pub fn new(kind: &str) -> Self {
        Header {
            kind: kind.to_string(),
            lithe_version: crate::VERSION.to_string(),
            created_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            params: serde_json::Value::Null,
            schema: serde_json::Value::Null,
            metrics: serde_json::Value::Null,
            data_fingerprint: None,
            extra: serde_json::Value::Null,
        }
    }
}

/// A model file read back.
#[derive(Debug, Clone)]
pub struct ModelFile {
    pub format_major: u16,
    pub format_minor: u16,
    pub kind: String,
    pub header: Header,
    pub payload: Vec<u8>,
}

/// Encode a model file into bytes.
pub fn encode(header: &Header, payload: &[u8]) -> Result<Vec<u8>> {
    let mut out = prefix(header, payload.len())?;
    out.extend_from_slice(payload);
    let sum = xxhash_rust::xxh3::xxh3_64(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// Everything of the file before the payload: magic, version, kind, header, and the
/// payload's length.
fn prefix(header: &Header, payload_len: usize) -> Result<Vec<u8>> {
    let kind = header.kind.as_bytes();
    if kind.is_empty() || kind.len() > 255 || !kind.iter().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Runtime(format!(
            "model kind '{}' must be 1-255 printable ASCII characters",
            header.kind
        )));
    }
    let json = serde_json::to_vec(header)
        .map_err(|e| Error::Runtime(format!("encoding the model header: {e}")))?;
    let mut out = Vec::with_capacity(64 + kind.len() + json.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_MAJOR.to_le_bytes());
    out.extend_from_slice(&FORMAT_MINOR.to_le_bytes());
    out.push(kind.len() as u8);
    out.extend_from_slice(kind);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&(payload_len as u64).to_le_bytes());
    Ok(out)
}

/// Write a model file atomically: it appears whole or not at all. The bytes are those
/// of [`encode`], written piece by piece (a forest's payload can be tens of MB; it is
/// not copied again).
pub fn write(path: &Path, header: &Header, payload: &[u8]) -> Result<()> {
    let head = prefix(header, payload.len())?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(&head);
    hasher.update(payload);
    let sum = hasher.digest().to_le_bytes();
    crate::io::atomic_write(path, |f| {
        use std::io::Write;
        f.write_all(&head)
            .and_then(|()| f.write_all(payload))
            .and_then(|()| f.write_all(&sum))
            .map_err(|e| Error::io(path, e))
    })
}

struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
    name: &'a str,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: u64, what: &str) -> Result<&'a [u8]> {
        let end = (self.pos as u64)
            .checked_add(n)
            .filter(|&e| e <= self.b.len() as u64 && n <= MAX_SECTION)
            .ok_or_else(|| {
                Error::input(format!(
                    "{}: corrupted or truncated model file (its {what} runs past the end of the file)",
                    self.name
                ))
            })? as usize;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u64(&mut self, what: &str) -> Result<u64> {
        let s = self.take(8, what)?;
        Ok(u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
    }
}

/// Decode model-file bytes. `name` is used in messages.
pub fn decode(bytes: &[u8], name: &str) -> Result<ModelFile> {
    if bytes.is_empty() {
        return Err(Error::input(format!(
            "{name}: the file is empty, not a lithe model"
        )));
    }
    if bytes.len() < MAGIC.len() || &bytes[..8] != MAGIC {
        if MAGIC.starts_with(bytes) {
            return Err(Error::input(format!("{name}: the model file is truncated")));
        }
        return Err(Error::input(format!(
            "{name}: not a lithe model file (it does not start with lithe's magic bytes)"
        )));
    }
    let mut c = Cursor {
        b: bytes,
        pos: 8,
        name,
    };
    let v = c.take(4, "version")?;
    let major = u16::from_le_bytes([v[0], v[1]]);
    let minor = u16::from_le_bytes([v[2], v[3]]);
    let klen = c.take(1, "kind")?[0] as u64;
    let kind_bytes = c.take(klen, "kind")?;
    let hlen = c.u64("header length")?;
    let header_bytes = c.take(hlen, "header")?;
    let plen = c.u64("payload length")?;
    let payload = c.take(plen, "payload")?;
    let body_end = c.pos;
    let stored = c.u64("checksum")?;
    if c.pos != bytes.len() {
        return Err(Error::input(format!(
            "{name}: corrupted model file ({} unexpected bytes after the checksum)",
            bytes.len() - c.pos
        )));
    }
    if xxhash_rust::xxh3::xxh3_64(&bytes[..body_end]) != stored {
        return Err(Error::input(format!(
            "{name}: corrupted model file (checksum mismatch); the file was changed or damaged after it was written"
        )));
    }
    // The version is judged only once the checksum holds: garbage after the magic is
    // a corrupted file, not one "from a newer lithe".
    if major > FORMAT_MAJOR {
        return Err(Error::input(format!(
            "{name}: written in model-file format {major}.{minor} by a newer lithe; \
             this lithe ({}) reads format {FORMAT_MAJOR}.x — upgrade lithe to load it",
            crate::VERSION
        )));
    }
    if major == 0 {
        return Err(Error::input(format!(
            "{name}: corrupted model file (format version 0)"
        )));
    }

    let kind = std::str::from_utf8(kind_bytes)
        .map_err(|_| Error::input(format!("{name}: corrupted model file (kind is not text)")))?
        .to_string();
    let header: Header = serde_json::from_slice(header_bytes)
        .map_err(|e| Error::input(format!("{name}: corrupted model header: {e}")))?;
    if header.kind != kind {
        return Err(Error::input(format!(
            "{name}: corrupted model file (envelope kind '{kind}' but header kind '{}')",
            header.kind
        )));
    }
    Ok(ModelFile {
        format_major: major,
        format_minor: minor,
        kind,
        header,
        payload: payload.to_vec(),
    })
}

/// Read any lithe model file.
pub fn read(path: &Path) -> Result<ModelFile> {
    if path.is_dir() {
        return Err(Error::input(format!(
            "{}: is a directory, expected a model file",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(&bytes, &path.display().to_string())
}

/// Read a model file and check that it holds the expected kind (e.g. "tabular.gbdt";
/// a trailing `.*` accepts a family, e.g. "tabular.*").
pub fn read_kind(path: &Path, expected: &str) -> Result<ModelFile> {
    let m = read(path)?;
    let ok = match expected.strip_suffix(".*") {
        Some(family) => m.kind.split('.').next() == Some(family),
        None => m.kind == expected,
    };
    if !ok {
        return Err(Error::input(format!(
            "{}: this is a '{}' model, but a '{expected}' model is needed here",
            path.display(),
            m.kind
        )));
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Header, Vec<u8>) {
        let mut h = Header::new("test.thing");
        h.params = serde_json::json!({"rounds": 3});
        (h, vec![1, 2, 3, 4, 5])
    }

    #[test]
    fn write_puts_the_encoded_bytes_on_disk() {
        let (h, _) = sample();
        let p: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.lithe");
        write(&path, &h, &p).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), encode(&h, &p).unwrap());
        assert_eq!(read(&path).unwrap().payload, p);
    }

    #[test]
    fn round_trip() {
        let (h, p) = sample();
        let b = encode(&h, &p).unwrap();
        let m = decode(&b, "m").unwrap();
        assert_eq!(m.header, h);
        assert_eq!(m.payload, p);
        assert_eq!(m.kind, "test.thing");
        assert_eq!(
            (m.format_major, m.format_minor),
            (FORMAT_MAJOR, FORMAT_MINOR)
        );
    }

    #[test]
    fn every_truncation_is_reported_as_truncated() {
        let (h, p) = sample();
        let b = encode(&h, &p).unwrap();
        for n in 1..b.len() {
            let e = decode(&b[..n], "m").unwrap_err().to_string();
            assert!(e.contains("truncated"), "at {n}: {e}");
        }
        assert!(decode(&[], "m").unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        let (h, p) = sample();
        let b = encode(&h, &p).unwrap();
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x20;
            let e = decode(&c, "m");
            assert!(e.is_err(), "flip at {i} accepted");
            assert!(e.unwrap_err().is_input());
        }
    }

    #[test]
    fn newer_major_version_is_refused() {
        let (h, p) = sample();
        let mut b = encode(&h, &p).unwrap();
        b[8] = 2;
        // A newer lithe seals its file with a checksum of its own.
        let n = b.len() - 8;
        let sum = xxhash_rust::xxh3::xxh3_64(&b[..n]);
        b[n..].copy_from_slice(&sum.to_le_bytes());
        let e = decode(&b, "m").unwrap_err().to_string();
        assert!(e.contains("newer lithe"), "{e}");
    }

    #[test]
    fn garbage_after_the_magic_is_corrupted_not_newer() {
        let (h, p) = sample();
        let good = encode(&h, &p).unwrap();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for len in [9usize, 12, 40, good.len()] {
            let mut b = MAGIC.to_vec();
            while b.len() < len {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                b.push((state >> 56) as u8);
            }
            let e = decode(&b, "m").unwrap_err().to_string();
            assert!(e.contains("corrupted"), "{len}: {e}");
            assert!(!e.contains("newer"), "{len}: {e}");
        }
        // The same file with a damaged version field is corrupted too.
        let mut b = good.clone();
        b[8] = 0x47;
        b[9] = 0x42;
        let e = decode(&b, "m").unwrap_err().to_string();
        assert!(e.contains("corrupted") && !e.contains("newer"), "{e}");
    }

    #[test]
    fn not_a_model() {
        let e = decode(b"unique_id,ds,y\n", "m").unwrap_err().to_string();
        assert!(e.contains("not a lithe model"), "{e}");
    }
}
