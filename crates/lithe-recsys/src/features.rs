//! Side features of users and items. Every column of a feature table beside the key
//! is a feature: numeric columns (numbers, dates) are standardised; text columns are
//! split into tokens (on whitespace and `|`), each token hashed with its column into
//! one of [`BUCKETS`] rows of the tower's feature table. An entity's features are a
//! sparse list of (row, weight): a token weighs one over its column's token count (a
//! single category weighs 1), a numeric column's row is weighted by the standardised
//! value; a missing value adds nothing.

use lithe_core::{ColumnType, Error, Result, Table};
use serde::{Deserialize, Serialize};

use crate::data::id_strings;

/// Hash buckets of text tokens per tower.
pub const BUCKETS: usize = 1 << 14;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FeatureColumn {
    Numeric { name: String, mean: f64, std: f64 },
    Text { name: String },
}

impl FeatureColumn {
    pub fn name(&self) -> &str {
        match self {
            FeatureColumn::Numeric { name, .. } | FeatureColumn::Text { name } => name,
        }
    }
}

/// The feature columns of one tower, as learnt from its training table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeatureSchema {
    pub columns: Vec<FeatureColumn>,
}

/// Sparse rows, CSR-style: entity `k`'s entries are `offsets[k]..offsets[k + 1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SparseRows {
    pub offsets: Vec<u32>,
    pub rows: Vec<u32>,
    pub weights: Vec<f32>,
}

impl Default for SparseRows {
    fn default() -> Self {
        SparseRows {
            offsets: vec![0],
            rows: Vec::new(),
            weights: Vec::new(),
        }
    }
}

impl SparseRows {
    /// `n` entities without features.
    pub fn empty(n: usize) -> SparseRows {
        SparseRows {
            offsets: vec![0; n + 1],
            ..SparseRows::default()
        }
    }

    /// Entities (0 for a table without offsets, as a damaged model file may hold).
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn of(&self, k: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.offsets[k] as usize, self.offsets[k + 1] as usize);
        (&self.rows[a..b], &self.weights[a..b])
    }

    pub fn push(&mut self, entries: &[(u32, f32)]) {
        for &(r, w) in entries {
            self.rows.push(r);
            self.weights.push(w);
        }
        self.offsets.push(self.rows.len() as u32);
    }

    /// Every entry points inside a table of `n_rows` rows, and the offsets are sound.
    pub fn is_valid(&self, n_rows: usize) -> bool {
        !self.offsets.is_empty()
            && self.offsets[0] == 0
            && self.offsets.windows(2).all(|w| w[0] <= w[1])
            && self
                .offsets
                .last()
                .is_some_and(|&e| e as usize == self.rows.len())
            && self.rows.len() == self.weights.len()
            && self.rows.iter().all(|&r| (r as usize) < n_rows)
    }
}

fn bucket(column: usize, token: &str) -> u32 {
    let mut key = Vec::with_capacity(token.len() + 9);
    key.extend_from_slice(&(column as u64).to_le_bytes());
    key.push(0);
    key.extend_from_slice(token.as_bytes());
    (xxhash_rust::xxh3::xxh3_64(&key) % BUCKETS as u64) as u32
}

impl FeatureSchema {
    /// The schema of every column of `t` but `key`: numeric, date and datetime
    /// columns numeric (mean and standard deviation from `t`), text columns text.
    pub fn infer(t: &Table, key: &str) -> FeatureSchema {
        let columns = t
            .columns()
            .iter()
            .filter(|c| c.name() != key)
            .map(|c| match c.column_type() {
                ColumnType::Categorical => FeatureColumn::Text {
                    name: c.name().to_string(),
                },
                _ => {
                    let v: Vec<f64> = c.to_f64().into_iter().filter(|x| x.is_finite()).collect();
                    let n = v.len().max(1) as f64;
                    let mean = v.iter().sum::<f64>() / n;
                    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
                    let std = if var > 0.0 { var.sqrt() } else { 1.0 };
                    FeatureColumn::Numeric {
                        name: c.name().to_string(),
                        mean,
                        std,
                    }
                }
            })
            .collect();
        FeatureSchema { columns }
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Rows of the tower's feature table: the buckets, then one per numeric column
    /// (none without features).
    pub fn n_rows(&self) -> usize {
        if self.columns.is_empty() {
            return 0;
        }
        BUCKETS
            + self
                .columns
                .iter()
                .filter(|c| matches!(c, FeatureColumn::Numeric { .. }))
                .count()
    }

    /// The ids in `t`'s `key` column and each row's features. Every schema column
    /// must be in `t` (the error names the first missing one); a missing id is an
    /// error.
    pub fn encode(&self, t: &Table, key: &str, name: &str) -> Result<(Vec<String>, SparseRows)> {
        let ids = t
            .require(key)
            .map_err(|e| Error::input(format!("{name}: {e}")))?;
        let ids: Vec<String> = id_strings(ids)
            .into_iter()
            .enumerate()
            .map(|(r, v)| {
                v.ok_or_else(|| Error::input(format!("{name}: row {}: missing {key}", r + 2)))
            })
            .collect::<Result<_>>()?;
        let mut per_row: Vec<Vec<(u32, f32)>> = vec![Vec::new(); t.n_rows()];
        let mut numeric = 0u32;
        for (j, col) in self.columns.iter().enumerate() {
            let c = t
                .require(col.name())
                .map_err(|e| Error::input(format!("{name}: the model's feature {e}")))?;
            match col {
                FeatureColumn::Numeric { mean, std, .. } => {
                    if c.column_type() == ColumnType::Categorical {
                        return Err(Error::input(format!(
                            "{name}: feature column '{}' must be numeric, as in training",
                            col.name()
                        )));
                    }
                    let row = BUCKETS as u32 + numeric;
                    numeric += 1;
                    for (r, v) in c.to_f64().into_iter().enumerate() {
                        if v.is_finite() {
                            per_row[r].push((row, ((v - mean) / std) as f32));
                        }
                    }
                }
                FeatureColumn::Text { .. } => {
                    for (r, v) in id_strings(c).into_iter().enumerate() {
                        let Some(v) = v else { continue };
                        let tokens: Vec<&str> = v
                            .split(|ch: char| ch.is_whitespace() || ch == '|')
                            .filter(|s| !s.is_empty())
                            .collect();
                        let w = 1.0 / tokens.len().max(1) as f32;
                        for tok in tokens {
                            per_row[r].push((bucket(j, tok), w));
                        }
                    }
                }
            }
        }
        let mut rows = SparseRows::default();
        for entries in &per_row {
            rows.push(entries);
        }
        Ok((ids, rows))
    }
}

/// How a feature table's rows matched the entities of the interactions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Rows whose id has no interactions (left out).
    pub unused: usize,
    /// Entities of the interactions without a row (they get no features).
    pub uncovered: usize,
}

/// `t`'s rows put in the order of `ids` (entities without a row get no features; rows
/// of ids not in `ids` are left out; both counted). An id with two rows is an error
/// naming both (data rows from 1), not a silent choice of one.
pub fn align(
    ids: &crate::data::IdMap,
    row_ids: &[String],
    rows: &SparseRows,
    name: &str,
) -> Result<(SparseRows, Coverage)> {
    let mut slot = vec![usize::MAX; ids.len()];
    let mut cov = Coverage::default();
    let mut first_row: hashbrown::HashMap<&str, usize, foldhash::fast::FixedState> =
        Default::default();
    for (r, id) in row_ids.iter().enumerate() {
        if let Some(&before) = first_row.get(id.as_str()) {
            return Err(Error::input(format!(
                "{name}: id '{id}' has two rows ({} and {}); each id needs one",
                before + 1,
                r + 1
            )));
        }
        first_row.insert(id, r);
        match ids.get(id) {
            Some(k) => slot[k as usize] = r,
            None => cov.unused += 1,
        }
    }
    let mut out = SparseRows::default();
    let mut entries = Vec::new();
    for &r in &slot {
        entries.clear();
        if r != usize::MAX {
            let (rr, ww) = rows.of(r);
            entries.extend(rr.iter().copied().zip(ww.iter().copied()));
        } else {
            cov.uncovered += 1;
        }
        out.push(&entries);
    }
    Ok((out, cov))
}

#[cfg(test)]
mod tests {
    use super::*;
    use lithe_core::Column;

    #[test]
    fn columns_become_standardised_numbers_and_hashed_tokens() {
        let t = Table::new(vec![
            Column::from_strings("item_id", &[Some("a"), Some("b"), Some("c")]).unwrap(),
            Column::from_f64("year", vec![1990.0, 2000.0, f64::NAN]),
            Column::from_strings("genres", &[Some("Drama|Comedy"), None, Some("Drama")]).unwrap(),
        ])
        .unwrap();
        let s = FeatureSchema::infer(&t, "item_id");
        assert_eq!(s.columns.len(), 2);
        assert_eq!(s.n_rows(), BUCKETS + 1);
        let (ids, rows) = s.encode(&t, "item_id", "items").unwrap();
        assert_eq!(ids, vec!["a", "b", "c"]);
        let (r0, w0) = rows.of(0);
        // year: (1990 − 1995) / 5 = −1; then two tokens of weight ½.
        assert_eq!(r0[0], BUCKETS as u32);
        assert_eq!(w0, &[-1.0, 0.5, 0.5]);
        let (r1, w1) = rows.of(1);
        assert_eq!((r1.len(), w1), (1, &[1.0f32][..]));
        let (r2, w2) = rows.of(2);
        // "Drama" hashes to the same bucket in both rows; a missing year adds nothing.
        assert_eq!(r2, &[r0[1]]);
        assert_eq!(w2, &[1.0]);
        assert!(rows.is_valid(s.n_rows()));
        // A table without one of the columns is an error that names it.
        let t2 = Table::new(vec![
            Column::from_strings("item_id", &[Some("d")]).unwrap(),
            Column::from_f64("year", vec![1995.0]),
        ])
        .unwrap();
        let e = s.encode(&t2, "item_id", "new.csv").unwrap_err().to_string();
        assert!(e.contains("'genres' not found"), "{e}");
    }
}
