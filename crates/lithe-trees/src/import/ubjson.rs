//! A small UBJSON reader (the format XGBoost writes to `.ubj`), into `serde_json`
//! values. Markers: `Z` null, `N` no-op, `T`/`F`, integers `i U I l L`, floats `d D`,
//! `H` high-precision number (as text), `C` char, `S` string, `[` array, `{` object;
//! containers may be optimised with `$` (one element type) and `#` (a count).
//! Numbers are big-endian. Every length is checked against the bytes left, and
//! nesting is bounded, so a hostile file gives an error, never a panic or a huge
//! allocation.

use serde_json::{Map, Number, Value};

const MAX_DEPTH: usize = 128;

pub(super) struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

pub(super) fn parse(bytes: &[u8]) -> Result<Value, String> {
    let mut r = Reader { b: bytes, at: 0 };
    let m = r.marker()?;
    let v = r.value(m, 0)?;
    Ok(v)
}

impl<'a> Reader<'a> {
    fn err<T>(&self, msg: impl std::fmt::Display) -> Result<T, String> {
        Err(format!("UBJSON at byte {}: {msg}", self.at))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        match self.at.checked_add(n).filter(|&e| e <= self.b.len()) {
            Some(e) => {
                let s = &self.b[self.at..e];
                self.at = e;
                Ok(s)
            }
            None => self.err("the file ends early"),
        }
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    /// The next marker, skipping no-ops.
    fn marker(&mut self) -> Result<u8, String> {
        loop {
            let m = self.byte()?;
            if m != b'N' {
                return Ok(m);
            }
        }
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// An integer of the type `m`.
    fn int(&mut self, m: u8) -> Result<i64, String> {
        Ok(match m {
            b'i' => i8::from_be_bytes(self.fixed()?) as i64,
            b'U' => u8::from_be_bytes(self.fixed()?) as i64,
            b'I' => i16::from_be_bytes(self.fixed()?) as i64,
            b'l' => i32::from_be_bytes(self.fixed()?) as i64,
            b'L' => i64::from_be_bytes(self.fixed()?),
            _ => return self.err(format!("expected an integer, found marker {:?}", m as char)),
        })
    }

    /// A length or count: an integer, non-negative.
    fn len(&mut self) -> Result<usize, String> {
        let m = self.marker()?;
        let n = self.int(m)?;
        usize::try_from(n).or_else(|_| self.err(format!("negative length {n}")))
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.len()?;
        let s = self.take(n)?;
        match std::str::from_utf8(s) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => self.err("a string that is not UTF-8"),
        }
    }

    fn value(&mut self, m: u8, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return self.err("nesting too deep");
        }
        Ok(match m {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' | b'U' | b'I' | b'l' | b'L' => Value::from(self.int(m)?),
            b'd' => float(f32::from_be_bytes(self.fixed()?) as f64),
            b'D' => float(f64::from_be_bytes(self.fixed()?)),
            b'H' => {
                let s = self.string()?;
                match s.parse::<f64>() {
                    Ok(v) => float(v),
                    Err(_) => return self.err(format!("bad high-precision number '{s}'")),
                }
            }
            b'C' => Value::String((self.byte()? as char).to_string()),
            b'S' => Value::String(self.string()?),
            b'[' => self.array(depth)?,
            b'{' => self.object(depth)?,
            _ => return self.err(format!("unknown marker {:?}", m as char)),
        })
    }

    /// An optimised container's element type and count, if given.
    fn header(&mut self) -> Result<(Option<u8>, Option<usize>), String> {
        let mut ty = None;
        if self.b.get(self.at) == Some(&b'$') {
            self.at += 1;
            let t = self.byte()?;
            if matches!(t, b'Z' | b'N' | b'T' | b'F' | b'[' | b'{') {
                // Elements without bytes would let a tiny file claim a huge count.
                return self.err(format!("unsupported container type {:?}", t as char));
            }
            ty = Some(t);
        }
        let mut count = None;
        if self.b.get(self.at) == Some(&b'#') {
            self.at += 1;
            let n = self.len()?;
            // Every element takes at least one byte.
            if n > self.b.len() - self.at {
                return self.err(format!("a count of {n} exceeds the bytes left"));
            }
            count = Some(n);
        } else if ty.is_some() {
            return self.err("a typed container without a count");
        }
        Ok((ty, count))
    }

    fn array(&mut self, depth: usize) -> Result<Value, String> {
        let (ty, count) = self.header()?;
        let mut out = Vec::with_capacity(count.unwrap_or(0));
        match count {
            Some(n) => {
                for _ in 0..n {
                    let m = match ty {
                        Some(t) => t,
                        None => self.marker()?,
                    };
                    out.push(self.value(m, depth + 1)?);
                }
            }
            None => loop {
                let m = self.marker()?;
                if m == b']' {
                    break;
                }
                out.push(self.value(m, depth + 1)?);
            },
        }
        Ok(Value::Array(out))
    }

    fn object(&mut self, depth: usize) -> Result<Value, String> {
        let (ty, count) = self.header()?;
        let mut out = Map::new();
        let mut read_one = |r: &mut Self| -> Result<(), String> {
            let k = r.string()?;
            let m = match ty {
                Some(t) => t,
                None => r.marker()?,
            };
            let v = r.value(m, depth + 1)?;
            out.insert(k, v);
            Ok(())
        };
        match count {
            Some(n) => {
                for _ in 0..n {
                    read_one(self)?;
                }
            }
            None => loop {
                // Keys carry no marker; `}` ends the object.
                if self.b.get(self.at) == Some(&b'}') {
                    self.at += 1;
                    break;
                }
                read_one(self)?;
            },
        }
        Ok(Value::Object(out))
    }
}

fn float(v: f64) -> Value {
    Number::from_f64(v).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_objects_arrays_and_typed_containers() {
        let mut b = b"{i\x01aSi\x02hii\x01b[$d#i\x02".to_vec();
        b.extend_from_slice(&1.5f32.to_be_bytes());
        b.extend_from_slice(&(-2.0f32).to_be_bytes());
        b.extend_from_slice(b"i\x01c[TFZi\x05]}");
        let v = parse(&b).unwrap();
        assert_eq!(v["a"], "hi");
        assert_eq!(v["b"], serde_json::json!([1.5, -2.0]));
        assert_eq!(v["c"], serde_json::json!([true, false, null, 5]));
    }

    #[test]
    fn hostile_input_is_an_error() {
        for b in [
            &b"{i\x01a[$i#L\x7f\xff\xff\xff\xff\xff\xff\xff"[..],
            b"[#i\xff",
            b"{i\x05ab",
            b"[[[[",
            b"[$Z#i\x10",
            b"Q",
        ] {
            assert!(parse(b).is_err(), "{b:?}");
        }
        let deep = vec![b'['; 10_000];
        assert!(parse(&deep).unwrap_err().contains("too deep"));
    }
}
