//! Interactions in: ids as strings, mapped to dense indices.

use hashbrown::HashMap;
use lithe_core::{Column, Error, ReadOptions, Result, Table};

/// The column names the interaction files use.
pub const USER_COL: &str = "user_id";
pub const ITEM_COL: &str = "item_id";
pub const WEIGHT_COL: &str = "weight";
pub const TIME_COL: &str = "timestamp";

/// Read options that keep the id columns as text exactly as written (lithe-core's
/// default identifier columns include both).
pub fn read_options() -> ReadOptions {
    ReadOptions::default().with_id(USER_COL).with_id(ITEM_COL)
}

/// Strings to dense indices, in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct IdMap {
    pub names: Vec<String>,
    index: HashMap<String, u32, foldhash::fast::FixedState>,
}

impl IdMap {
    pub fn from_names(names: Vec<String>) -> Self {
        let mut index = HashMap::with_capacity_and_hasher(names.len(), Default::default());
        for (i, n) in names.iter().enumerate() {
            index.insert(n.clone(), i as u32);
        }
        IdMap { names, index }
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        i
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Each row of an id column as text (`None` when missing).
pub fn id_strings(col: &Column) -> Vec<Option<String>> {
    match col.as_categorical() {
        Some(cat) => (0..col.len())
            .map(|r| cat.get(r).map(str::to_string))
            .collect(),
        None => (0..col.len()).map(|r| col.value_string(r)).collect(),
    }
}

/// A table of (user, item, weight) interactions with ids mapped to indices.
#[derive(Debug, Clone)]
pub struct Interactions {
    pub users: IdMap,
    pub items: IdMap,
    pub user: Vec<u32>,
    pub item: Vec<u32>,
    pub weight: Vec<f32>,
    /// The `timestamp` column (numbers, dates or datetimes), when there is one.
    pub time: Option<Vec<f64>>,
}

impl Interactions {
    /// From a table with `user_id` and `item_id` columns and an optional `weight`
    /// (positive numbers; default 1) and `timestamp` (numbers, dates or datetimes).
    /// Missing ids and non-positive or non-numeric weights are errors.
    pub fn from_table(t: &Table, name: &str) -> Result<Interactions> {
        Self::from_tables(&[(t, name)])
    }

    /// The rows of several tables in turn, as one set of interactions (ids mapped
    /// across all of them). Either every table has a `timestamp` column or none has.
    pub fn from_tables(tables: &[(&Table, &str)]) -> Result<Interactions> {
        let mut users = IdMap::default();
        let mut items = IdMap::default();
        let (mut user, mut item, mut weight) = (Vec::new(), Vec::new(), Vec::new());
        let mut time: Option<Vec<f64>> = None;
        for (k, &(t, name)) in tables.iter().enumerate() {
            if t.n_rows() == 0 {
                return Err(Error::input(format!(
                    "{name}: no interactions (the file has no rows)"
                )));
            }
            let users_col = t
                .require(USER_COL)
                .map_err(|e| Error::input(format!("{name}: {e}")))?;
            let items_col = t
                .require(ITEM_COL)
                .map_err(|e| Error::input(format!("{name}: {e}")))?;
            match t.column(WEIGHT_COL) {
                None => weight.extend(std::iter::repeat_n(1.0f32, t.n_rows())),
                Some(c) => {
                    if !c.column_type().is_numeric() {
                        return Err(Error::input(format!(
                            "{name}: column '{WEIGHT_COL}' must be numeric, found {}",
                            c.column_type().name()
                        )));
                    }
                    let w = c.to_f64();
                    if let Some(r) = w.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
                        return Err(Error::input(format!(
                            "{name}: row {}: '{WEIGHT_COL}' must be a positive number",
                            r + 2
                        )));
                    }
                    weight.extend(w.into_iter().map(|v| v as f32));
                }
            }
            let stamps = t.column(TIME_COL);
            if k > 0 && stamps.is_some() != time.is_some() {
                return Err(Error::input(format!(
                    "{name}: column '{TIME_COL}' must be in every interaction file or in none"
                )));
            }
            if let Some(c) = stamps {
                if c.column_type() == lithe_core::ColumnType::Categorical {
                    let (r, v) = c.first_unparsed().unwrap_or_default();
                    return Err(Error::input(format!(
                        "{name}: row {}: '{TIME_COL}' is '{v}', which is not a number, date or \
                         datetime",
                        r + 2
                    )));
                }
                let v = c.to_f64();
                if let Some(r) = v.iter().position(|x| !x.is_finite()) {
                    return Err(Error::input(format!(
                        "{name}: row {}: '{TIME_COL}' must be a number, date or datetime",
                        r + 2
                    )));
                }
                time.get_or_insert_with(Vec::new).extend(v);
            }
            for (r, (u, i)) in id_strings(users_col)
                .into_iter()
                .zip(id_strings(items_col))
                .enumerate()
            {
                let (Some(u), Some(i)) = (u, i) else {
                    return Err(Error::input(format!(
                        "{name}: row {}: missing {USER_COL} or {ITEM_COL}",
                        r + 2
                    )));
                };
                user.push(users.intern(&u));
                item.push(items.intern(&i));
            }
        }
        Ok(Interactions {
            users,
            items,
            user,
            item,
            weight,
            time,
        })
    }

    pub fn len(&self) -> usize {
        self.user.len()
    }

    pub fn is_empty(&self) -> bool {
        self.user.is_empty()
    }
}

/// Rows grouped by a key, CSR-style: `values[offsets[k]..offsets[k + 1]]` belong to `k`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Groups {
    pub offsets: Vec<u32>,
    pub values: Vec<u32>,
}

impl Groups {
    /// `values[r]` grouped by `keys[r]` (keys below `n`), in row order within a group.
    pub fn new(keys: &[u32], values: &[u32], n: usize) -> Groups {
        let mut offsets = vec![0u32; n + 1];
        for &k in keys {
            offsets[k as usize + 1] += 1;
        }
        for k in 0..n {
            offsets[k + 1] += offsets[k];
        }
        let mut fill = offsets.clone();
        let mut out = vec![0u32; values.len()];
        for (&k, &v) in keys.iter().zip(values) {
            out[fill[k as usize] as usize] = v;
            fill[k as usize] += 1;
        }
        Groups {
            offsets,
            values: out,
        }
    }

    pub fn of(&self, k: usize) -> &[u32] {
        &self.values[self.offsets[k] as usize..self.offsets[k + 1] as usize]
    }

    pub fn n_groups(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}
