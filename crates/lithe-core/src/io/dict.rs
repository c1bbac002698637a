//! Category dictionaries: strings interned once, numbered by first appearance.

use std::hash::BuildHasher;
use std::sync::Arc;

use arrow_array::types::UInt32Type;
use arrow_array::{Array, DictionaryArray, StringArray, UInt32Array};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use hashbrown::HashTable;

/// Every dictionary hashes with the same fixed seed, so a hash computed for one
/// dictionary (a block's) is valid in another (the column's).
const SEED: u64 = 0x6c69_7468_6521;

/// Interns strings into consecutive `u32` codes. The strings live in one byte arena,
/// so the dictionary turns into an Arrow `StringArray` without copying. Each entry's
/// hash is kept, so growing the table and merging dictionaries never re-hash text.
#[derive(Debug, Clone)]
pub struct Dictionary {
    bytes: Vec<u8>,
    /// i32, as Arrow's Utf8 offsets are: the dictionary becomes a `StringArray` as is.
    offsets: Vec<i32>,
    /// 32-bit hashes (see [`spread`]), half the memory of 64-bit ones.
    hashes: Vec<u32>,
    table: HashTable<u32>,
    /// More than 2 GiB of distinct text was offered.
    overflowed: bool,
}

impl Default for Dictionary {
    fn default() -> Self {
        Dictionary {
            bytes: Vec::new(),
            offsets: vec![0],
            hashes: Vec::new(),
            table: HashTable::new(),
            overflowed: false,
        }
    }
}

/// A 32-bit hash of the bytes; tables use [`spread`] of it.
#[inline]
fn hash(s: &[u8]) -> u32 {
    (foldhash::fast::FixedState::with_seed(SEED).hash_one(s) >> 32) as u32
}

/// The 64-bit table hash of a stored 32-bit hash: a multiply spreads it over the high
/// bits (the table's tag) and the low bits (its bucket) alike.
#[inline]
fn spread(h: u32) -> u64 {
    (h as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl Dictionary {
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Room for `additional` more distinct strings without rehashing.
    pub fn reserve(&mut self, additional: usize) {
        self.offsets.reserve(additional);
        self.hashes.reserve(additional);
        let hashes = &self.hashes;
        self.table
            .reserve(additional, |&c| spread(hashes[c as usize]));
    }

    fn bytes_of(&self, code: u32) -> &[u8] {
        let i = code as usize;
        &self.bytes[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    #[cfg(test)]
    pub fn get(&self, code: u32) -> &str {
        // The arena only ever receives checked UTF-8, so every slice is UTF-8.
        std::str::from_utf8(self.bytes_of(code)).unwrap_or("")
    }

    /// The code of these bytes if they were interned.
    #[cfg(test)]
    pub fn lookup_bytes(&self, s: &[u8]) -> Option<u32> {
        self.table
            .find(spread(hash(s)), |&c| self.bytes_of(c) == s)
            .copied()
    }

    #[cfg(test)]
    pub fn lookup(&self, s: &str) -> Option<u32> {
        self.lookup_bytes(s.as_bytes())
    }

    /// The code of these bytes, adding them if new; bytes that are not UTF-8 are
    /// refused (checked only when new).
    #[inline]
    pub fn intern_bytes(&mut self, s: &[u8]) -> Result<u32, std::str::Utf8Error> {
        self.find_or_insert(s, hash(s), |b| {
            if b.is_ascii() {
                Ok(())
            } else {
                std::str::from_utf8(b).map(|_| ())
            }
        })
    }

    /// The code of `s`, adding it if new.
    pub fn intern(&mut self, s: &str) -> u32 {
        self.intern_known(s.as_bytes(), hash(s.as_bytes()))
    }

    /// Intern valid UTF-8 whose hash is already known.
    fn intern_known(&mut self, s: &[u8], h: u32) -> u32 {
        match self.find_or_insert(s, h, |_| Ok::<(), std::convert::Infallible>(())) {
            Ok(c) => c,
            Err(never) => match never {},
        }
    }

    /// Codes in `self` for every entry of `other`, in `other`'s code order (adding the
    /// new ones): how a block's categories map onto the column's.
    pub fn merge(&mut self, other: &Dictionary) -> Vec<u32> {
        self.reserve(other.len());
        (0..other.len() as u32)
            .map(|c| self.intern_known(other.bytes_of(c), other.hashes[c as usize]))
            .collect()
    }

    /// Find `s` (hash `h`), or check it with `admit` and add it.
    #[inline]
    fn find_or_insert<E>(
        &mut self,
        s: &[u8],
        h: u32,
        admit: impl FnOnce(&[u8]) -> Result<(), E>,
    ) -> Result<u32, E> {
        let Dictionary {
            bytes,
            offsets,
            hashes,
            table,
            overflowed,
        } = self;
        if let Some(&c) = table.find(spread(h), |&c| {
            &bytes[offsets[c as usize] as usize..offsets[c as usize + 1] as usize] == s
        }) {
            return Ok(c);
        }
        admit(s)?;
        let code = hashes.len() as u32;
        match i32::try_from(bytes.len() + s.len()) {
            Ok(end) => {
                bytes.extend_from_slice(s);
                offsets.push(end);
            }
            Err(_) => {
                // Past Arrow's 2 GiB of text: keep numbering, store nothing, and let
                // `into_values` report it.
                *overflowed = true;
                offsets.push(offsets.last().copied().unwrap_or(0));
            }
        }
        hashes.push(h);
        table.insert_unique(spread(h), code, |&c| spread(hashes[c as usize]));
        Ok(code)
    }

    /// The strings as an Arrow array, in code order.
    pub fn into_values(self) -> crate::Result<StringArray> {
        if self.overflowed {
            return Err(crate::Error::input(
                "a categorical column holds more than 2 GiB of distinct text",
            ));
        }
        let offsets = OffsetBuffer::new(ScalarBuffer::from(self.offsets));
        StringArray::try_new(offsets, self.bytes.into(), None)
            .map_err(|e| crate::Error::Runtime(format!("building a dictionary: {e}")))
    }
}

/// Assemble a dictionary array from keys (0 under nulls), nulls and the category strings.
pub(crate) fn dictionary_array(
    keys: Vec<u32>,
    nulls: Option<NullBuffer>,
    values: StringArray,
) -> DictionaryArray<UInt32Type> {
    let keys = UInt32Array::new(ScalarBuffer::from(keys), nulls);
    // Keys come from interning into `values`, so they are in range; `new` re-checks.
    DictionaryArray::new(keys, Arc::new(values))
}

pub(crate) fn dictionary_values(a: &DictionaryArray<UInt32Type>) -> &StringArray {
    a.values()
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("lithe builds categorical columns with string dictionaries")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_in_first_appearance_order() {
        let mut d = Dictionary::default();
        assert_eq!(d.intern("b"), 0);
        assert_eq!(d.intern("a"), 1);
        assert_eq!(d.intern("b"), 0);
        assert_eq!(d.intern(""), 2);
        assert_eq!(d.lookup("a"), Some(1));
        assert_eq!(d.lookup("zz"), None);
        for i in 0..10_000 {
            d.intern(&format!("k{i}"));
        }
        assert_eq!(d.len(), 10_003);
        assert_eq!(d.get(3), "k0");
        assert_eq!(d.lookup("k9999"), Some(10_002));
        let v = d.into_values().unwrap();
        assert_eq!(v.value(0), "b");
        assert_eq!(v.value(10_002), "k9999");
    }
}
