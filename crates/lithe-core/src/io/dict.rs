//! Category dictionaries: strings interned once, numbered by first appearance.

use std::hash::BuildHasher;
use std::sync::Arc;

use arrow_array::types::UInt32Type;
use arrow_array::{Array, DictionaryArray, StringArray, UInt32Array};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use hashbrown::HashTable;

/// Interns strings into consecutive `u32` codes. The strings live in one byte arena,
/// so the dictionary turns into an Arrow `StringArray` without copying.
#[derive(Debug, Clone)]
pub struct Dictionary {
    bytes: Vec<u8>,
    offsets: Vec<usize>,
    table: HashTable<u32>,
    hasher: foldhash::fast::FixedState,
}

impl Default for Dictionary {
    fn default() -> Self {
        Dictionary {
            bytes: Vec::new(),
            offsets: vec![0],
            table: HashTable::new(),
            hasher: foldhash::fast::FixedState::with_seed(0x6c69_7468_6521),
        }
    }
}

impl Dictionary {
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn get(&self, code: u32) -> &str {
        let i = code as usize;
        // The arena only ever receives whole `&str`s, so every slice is UTF-8.
        std::str::from_utf8(&self.bytes[self.offsets[i]..self.offsets[i + 1]]).unwrap_or("")
    }

    #[cfg(test)]
    pub fn lookup(&self, s: &str) -> Option<u32> {
        self.lookup_bytes(s.as_bytes())
    }

    /// The code of these bytes if they were interned (so they are valid UTF-8).
    #[inline]
    pub fn lookup_bytes(&self, s: &[u8]) -> Option<u32> {
        let h = self.hasher.hash_one(s);
        let (bytes, offsets) = (&self.bytes, &self.offsets);
        self.table
            .find(h, |&c| {
                &bytes[offsets[c as usize]..offsets[c as usize + 1]] == s
            })
            .copied()
    }

    /// The code of `s`, adding it if new.
    pub fn intern(&mut self, s: &str) -> u32 {
        let h = self.hasher.hash_one(s.as_bytes());
        let Dictionary {
            bytes,
            offsets,
            table,
            hasher,
        } = self;
        if let Some(&c) = table.find(h, |&c| {
            &bytes[offsets[c as usize]..offsets[c as usize + 1]] == s.as_bytes()
        }) {
            return c;
        }
        let code = (offsets.len() - 1) as u32;
        bytes.extend_from_slice(s.as_bytes());
        offsets.push(bytes.len());
        table.insert_unique(h, code, |&c| {
            hasher.hash_one(&bytes[offsets[c as usize]..offsets[c as usize + 1]])
        });
        code
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len() as u32).map(|c| self.get(c))
    }

    /// The strings as an Arrow array, in code order.
    pub fn into_values(self) -> crate::Result<StringArray> {
        let too_big =
            || crate::Error::input("a categorical column holds more than 2 GiB of distinct text");
        let offsets = self
            .offsets
            .iter()
            .map(|&o| i32::try_from(o).map_err(|_| too_big()))
            .collect::<crate::Result<Vec<i32>>>()?;
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
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
