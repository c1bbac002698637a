//! Many series in one store: values of all series back to back (CSR-style, one
//! `Vec<f64>` and an offsets array), each series sorted by time.

use std::collections::HashMap;

use lithe_core::{Column, ColumnData, ColumnType, Error, Result, Table};

use crate::time::{Freq, TimeKind};

/// Which columns hold the series id, the time stamp and the value.
#[derive(Debug, Clone)]
pub struct SeriesColumns {
    pub id: String,
    pub time: String,
    pub target: String,
}

impl Default for SeriesColumns {
    fn default() -> Self {
        SeriesColumns {
            id: "unique_id".into(),
            time: "ds".into(),
            target: "y".into(),
        }
    }
}

/// Series in long format, grouped: series `s` owns `values[offsets[s]..offsets[s + 1]]`
/// and the same range of `stamps`, in time order. Missing values are `NaN`.
#[derive(Debug, Clone)]
pub struct SeriesStore {
    pub ids: Vec<String>,
    /// Whether the ids were integers in the input (they are written back as such).
    pub ids_are_ints: bool,
    pub offsets: Vec<usize>,
    pub values: Vec<f64>,
    pub stamps: Vec<i64>,
    pub time_kind: TimeKind,
    /// Exogenous regressors: their column names, and each column's values in the
    /// store's layout (beside `values`). Empty unless asked for.
    pub exog_names: Vec<String>,
    pub exog: Vec<Vec<f64>>,
    /// The regressors' future values: per column, `future_h` values per series in
    /// store order ([`Self::attach_future`]).
    pub future_exog: Vec<Vec<f64>>,
    pub future_h: usize,
}

impl SeriesStore {
    /// Group a long table (`id, time, target` columns; others ignored) into series,
    /// sorted by id (numerically for integer ids) as StatsForecast orders them, each
    /// sorted by time.
    pub fn from_table(table: &Table, cols: &SeriesColumns) -> Result<Self> {
        Ok(Self::group(table, cols)?.0)
    }

    /// [`Self::from_table`], and the table row behind each stored value, so further
    /// value columns of the same table can be laid out the same way
    /// ([`Self::arrange`]) without grouping again.
    pub fn group(table: &Table, cols: &SeriesColumns) -> Result<(Self, Vec<u32>)> {
        let id_col = table.require(&cols.id)?;
        let time_col = table.require(&cols.time)?;
        table.require(&cols.target)?;
        if table.n_rows() == 0 {
            return Err(Error::input("the data has no rows"));
        }
        let y = numeric_values(table, &cols.target)?;
        let (time_kind, stamps) = stamps_of(time_col, &cols.time)?;
        let (mut series_of_row, ids, ids_are_ints) = group_ids(id_col, &cols.id)?;
        let n_series = ids.len();
        // Renumber the series in id order.
        let mut by_id: Vec<u32> = (0..n_series as u32).collect();
        if ids_are_ints {
            by_id.sort_by_key(|&s| ids[s as usize].parse::<i64>().unwrap_or(i64::MAX));
        } else {
            by_id.sort_by(|&a, &b| ids[a as usize].cmp(&ids[b as usize]));
        }
        let mut rank = vec![0u32; n_series];
        for (r, &s) in by_id.iter().enumerate() {
            rank[s as usize] = r as u32;
        }
        for s in &mut series_of_row {
            *s = rank[*s as usize];
        }
        let ids: Vec<String> = by_id.iter().map(|&s| ids[s as usize].clone()).collect();
        // Counting sort of rows by series, keeping file order within a series.
        let mut offsets = vec![0usize; n_series + 1];
        for &s in &series_of_row {
            offsets[s as usize + 1] += 1;
        }
        for s in 0..n_series {
            offsets[s + 1] += offsets[s];
        }
        let mut next = offsets.clone();
        let mut order = vec![0u32; series_of_row.len()];
        for (row, &s) in series_of_row.iter().enumerate() {
            order[next[s as usize]] = row as u32;
            next[s as usize] += 1;
        }
        let mut values = Vec::with_capacity(order.len());
        let mut sorted_stamps = Vec::with_capacity(order.len());
        for s in 0..n_series {
            let rows = &mut order[offsets[s]..offsets[s + 1]];
            rows.sort_by_key(|&r| stamps[r as usize]);
            for w in rows.windows(2) {
                if stamps[w[0] as usize] == stamps[w[1] as usize] {
                    return Err(Error::input(format!(
                        "series '{}' has two rows with {} = {} (rows {} and {} of the data); \
                         each (id, time) pair must appear once",
                        ids[s],
                        cols.time,
                        time_col.value_string(w[0] as usize).unwrap_or_default(),
                        w[0] + 1,
                        w[1] + 1
                    )));
                }
            }
            values.extend(rows.iter().map(|&r| y[r as usize]));
            sorted_stamps.extend(rows.iter().map(|&r| stamps[r as usize]));
        }
        Ok((
            SeriesStore {
                ids,
                ids_are_ints,
                offsets,
                values,
                stamps: sorted_stamps,
                time_kind,
                exog_names: Vec::new(),
                exog: Vec::new(),
                future_exog: Vec::new(),
                future_h: 0,
            },
            order,
        ))
    }

    /// [`Self::from_table`] with the columns `exog` as exogenous regressors: numeric,
    /// with a value on every row.
    pub fn from_table_with_exog(
        table: &Table,
        cols: &SeriesColumns,
        exog: &[String],
    ) -> Result<Self> {
        let (mut store, rows) = Self::group(table, cols)?;
        for name in exog {
            let v = regressor_values(table, name)?;
            let arranged: Vec<f64> = rows.iter().map(|&r| v[r as usize]).collect();
            if let Some(i) = arranged.iter().position(|v| v.is_nan()) {
                let s = store.offsets.partition_point(|&o| o <= i) - 1;
                return Err(Error::input(format!(
                    "exogenous column '{name}' has no value on row {} of the data (series '{}'); \
                     a regressor needs a value on every row",
                    rows[i] + 1,
                    store.ids[s]
                )));
            }
            store.exog_names.push(name.clone());
            store.exog.push(arranged);
        }
        Ok(store)
    }

    /// Attach the regressors' values over the next `h` steps of every series from a
    /// long table (the id and time columns, and every regressor by name): exactly `h`
    /// rows per series, at the horizon's stamps (the series' last stamp advanced by
    /// `freq`, inferred when `None`), each once, as StatsForecast's `X_df`.
    pub fn attach_future(
        &mut self,
        table: &Table,
        cols: &SeriesColumns,
        h: usize,
        freq: Option<crate::Freq>,
    ) -> Result<()> {
        let freq = self.freq(freq);
        let (kind, stamps) = stamps_of(table.require(&cols.time)?, &cols.time)?;
        let (series_of_row, ids, _) = group_ids(table.require(&cols.id)?, &cols.id)?;
        if !stamps.is_empty() && kind != self.time_kind {
            return Err(Error::input(format!(
                "the future values' time column '{}' holds {kind:?} stamps, the training data {:?}",
                cols.time, self.time_kind
            )));
        }
        let index = self.id_index();
        let mut store_of = Vec::with_capacity(ids.len());
        for id in &ids {
            let s = index.get(id.as_str()).copied().ok_or_else(|| {
                Error::input(format!(
                    "the future values have series '{id}', which is not in the training data"
                ))
            })?;
            store_of.push(s);
        }
        let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); self.len()];
        for (row, &g) in series_of_row.iter().enumerate() {
            rows_of[store_of[g as usize]].push(row);
        }
        for (s, rows) in rows_of.iter_mut().enumerate() {
            if rows.len() != h {
                return Err(Error::input(format!(
                    "the future values have {} rows for series '{}'; they need {h} (one per \
                     step of the horizon)",
                    rows.len(),
                    self.ids[s]
                )));
            }
            rows.sort_by_key(|&r| stamps[r]);
            // The rows must be the horizon's stamps, one each.
            let last = self.stamps(s).last().copied().unwrap_or(0);
            let time = table.require(&cols.time)?;
            for (k, w) in rows.iter().enumerate() {
                if k > 0 && stamps[*w] == stamps[rows[k - 1]] {
                    return Err(Error::input(format!(
                        "the future values of series '{}' have two rows with {} = {} (rows {} \
                         and {}); each horizon step needs one",
                        self.ids[s],
                        cols.time,
                        time.value_string(*w).unwrap_or_default(),
                        rows[k - 1].min(*w) + 1,
                        rows[k - 1].max(*w) + 1
                    )));
                }
                let want = freq.advance(self.time_kind, last, k as i64 + 1);
                if want != Some(stamps[*w]) {
                    let want = want.map_or_else(
                        || "a stamp that cannot be represented".to_string(),
                        |t| format!("{} = {}", cols.time, crate::time::show(self.time_kind, t)),
                    );
                    return Err(Error::input(format!(
                        "the future values of series '{}' have {} = {} (row {}) where step {} \
                         of the horizon is {want} (the series ends at {}, step {})",
                        self.ids[s],
                        cols.time,
                        time.value_string(*w).unwrap_or_default(),
                        w + 1,
                        k + 1,
                        crate::time::show(self.time_kind, last),
                        freq.describe(self.time_kind)
                    )));
                }
            }
        }
        let mut future = Vec::with_capacity(self.exog_names.len());
        for name in &self.exog_names {
            let v = regressor_values(table, name)?;
            let mut col = Vec::with_capacity(self.len() * h);
            for rows in &rows_of {
                for &r in rows {
                    if v[r].is_nan() {
                        return Err(Error::input(format!(
                            "exogenous column '{name}' has no value on row {} of the future \
                             values",
                            r + 1
                        )));
                    }
                    col.push(v[r]);
                }
            }
            future.push(col);
        }
        self.future_exog = future;
        self.future_h = h;
        Ok(())
    }

    /// The values of another column of the table this store was grouped from, in the
    /// store's layout (`rows` from [`Self::group`]).
    pub fn arrange(table: &Table, column: &str, rows: &[u32]) -> Result<Vec<f64>> {
        let v = numeric_values(table, column)?;
        Ok(rows.iter().map(|&r| v[r as usize]).collect())
    }

    /// Each id's series index.
    pub fn id_index(&self) -> HashMap<&str, usize> {
        self.ids
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), i))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn values(&self, s: usize) -> &[f64] {
        &self.values[self.offsets[s]..self.offsets[s + 1]]
    }

    pub fn stamps(&self, s: usize) -> &[i64] {
        &self.stamps[self.offsets[s]..self.offsets[s + 1]]
    }

    /// The frequency: `given` if set, else the most common step between stamps
    /// (a store of one-point series steps by 1 for integers and by a day otherwise).
    pub fn freq(&self, given: Option<Freq>) -> Freq {
        given
            .or_else(|| Freq::infer(self.time_kind, (0..self.len()).map(|s| self.stamps(s))))
            .unwrap_or(match self.time_kind {
                TimeKind::Datetime => Freq::Step(86_400_000_000),
                _ => Freq::Step(1),
            })
    }
}

/// A numeric column's values as `f64` (`NaN` = missing); an input error for any other.
fn numeric_values(table: &Table, name: &str) -> Result<Vec<f64>> {
    let c = table.require(name)?;
    if !c.column_type().is_numeric() {
        return Err(Error::input(format!(
            "target column '{name}' must be numeric, but it holds {} values ({})",
            c.column_type(),
            bad_value(c)
        )));
    }
    finite(c.to_f64(), "target", name)
}

/// The largest magnitude of a value or regressor: squares and sums of squares stay
/// finite in f64.
const MAX_VALUE: f64 = 1e100;

/// `v` (`NaN` = missing) when every present value is finite and within
/// ±[`MAX_VALUE`]; else an error naming the first row that is not.
fn finite(v: Vec<f64>, what: &str, name: &str) -> Result<Vec<f64>> {
    if let Some(r) = v.iter().position(|x| x.abs() > MAX_VALUE) {
        return Err(Error::input(format!(
            "{what} column '{name}', row {}: {:?} is not a usable value (finite, within \
             ±1e100)",
            r + 1,
            v[r]
        )));
    }
    Ok(v)
}

/// An exogenous regressor's values as `f64`; an input error for a non-numeric column.
fn regressor_values(table: &Table, name: &str) -> Result<Vec<f64>> {
    let c = table.require(name)?;
    if !c.column_type().is_numeric() {
        return Err(Error::input(format!(
            "exogenous column '{name}' must be numeric, but it holds {} values ({}); every \
             column beside the id, time and value is a regressor",
            c.column_type(),
            bad_value(c)
        )));
    }
    finite(c.to_f64(), "exogenous", name)
}

/// The value that made a column text, with its row (data rows from 1), for messages.
fn bad_value(c: &Column) -> String {
    match c.first_unparsed() {
        Some((r, v)) => format!("'{v}' on row {}", r + 1),
        None => format!(
            "'{}'",
            (0..c.len())
                .find_map(|r| c.value_string(r))
                .unwrap_or_default()
        ),
    }
}

/// The time column as integers, with its kind.
fn stamps_of(c: &Column, name: &str) -> Result<(TimeKind, Vec<i64>)> {
    let kind = match c.column_type() {
        ColumnType::Int | ColumnType::Float => TimeKind::Int,
        ColumnType::Date => TimeKind::Date,
        ColumnType::Datetime => TimeKind::Datetime,
        ColumnType::Categorical => {
            return Err(Error::input(format!(
                "time column '{name}' must hold integers, dates or datetimes, \
                 but it holds text ({})",
                bad_value(c)
            )));
        }
    };
    // Integers without gaps or huge values pass as they are.
    if let ColumnData::Int(a) = c.data() {
        let v = a.values();
        if c.null_count() == 0 && v.iter().all(|x| x.unsigned_abs() <= 9_000_000_000_000_000) {
            return Ok((kind, v.to_vec()));
        }
    }
    let mut out = Vec::with_capacity(c.len());
    for (row, v) in c.to_f64().into_iter().enumerate() {
        if v.is_nan() {
            return Err(Error::input(format!(
                "time column '{name}' is missing on row {} of the data",
                row + 1
            )));
        }
        if v.fract() != 0.0 || v.abs() > 9.0e15 {
            return Err(Error::input(format!(
                "time column '{name}' must hold integers, dates or datetimes, \
                 but row {} holds {v}",
                row + 1
            )));
        }
        out.push(v as i64);
    }
    Ok((kind, out))
}

/// Each row's series index, the ids in order of first appearance, and whether the
/// ids are integers.
fn group_ids(c: &Column, name: &str) -> Result<(Vec<u32>, Vec<String>, bool)> {
    let missing = |row: usize| {
        Error::input(format!(
            "id column '{name}' is missing on row {} of the data",
            row + 1
        ))
    };
    let mut ids = Vec::new();
    let mut out = Vec::with_capacity(c.len());
    match c.data() {
        ColumnData::Categorical(_) => {
            let cat = c
                .as_categorical()
                .ok_or_else(|| Error::Runtime("categorical".into()))?;
            let mut of_code = vec![u32::MAX; cat.n_categories()];
            for (row, &code) in cat.codes().iter().enumerate() {
                if cat.is_null(row) {
                    return Err(missing(row));
                }
                let slot = &mut of_code[code as usize];
                if *slot == u32::MAX {
                    *slot = ids.len() as u32;
                    ids.push(cat.dictionary().value(code as usize).to_string());
                }
                out.push(*slot);
            }
            Ok((out, ids, false))
        }
        _ => {
            let ints = c.column_type() == ColumnType::Int;
            let mut of_key: HashMap<String, u32> = HashMap::new();
            for row in 0..c.len() {
                let key = c.value_string(row).ok_or_else(|| missing(row))?;
                let next = of_key.len() as u32;
                let s = *of_key.entry(key.clone()).or_insert_with(|| {
                    ids.push(key);
                    next
                });
                out.push(s);
            }
            Ok((out, ids, ints))
        }
    }
}
