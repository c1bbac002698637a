//! From a typed table to the binned matrix the learner works on.
//!
//! Numeric features are cut into at most `max_bins` bins at quantiles of a sample
//! (every distinct value gets its own bin when there are few); categorical features
//! give a bin to each of their most frequent categories. Missing values, and
//! categories without a bin, go to one extra bin per feature, whose rows follow the
//! direction each split learns for them.

use serde::{Deserialize, Serialize};

use std::collections::HashMap;

use rayon::prelude::*;

use lithe_core::{ColumnData, ColumnType, Error, Result, Table};

/// How one feature maps raw values to bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FeatureKind {
    /// `upper[b]` is bin `b`'s inclusive upper bound; the last is +∞.
    Numeric { upper: Vec<f32> },
    /// `categories[b]` is bin `b`'s category.
    Categorical { categories: Vec<String> },
}

/// A feature as the model knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    pub name: String,
    pub kind: FeatureKind,
}

impl Feature {
    /// Bins holding values (the missing bin comes after them).
    pub fn n_value_bins(&self) -> usize {
        match &self.kind {
            FeatureKind::Numeric { upper } => upper.len(),
            FeatureKind::Categorical { categories } => categories.len(),
        }
    }

    /// The bin of missing values (and of unknown categories).
    pub fn missing_bin(&self) -> usize {
        self.n_value_bins()
    }

    pub fn is_categorical(&self) -> bool {
        matches!(self.kind, FeatureKind::Categorical { .. })
    }

    /// The bin of a numeric value (`NaN` → missing bin).
    #[inline]
    pub fn numeric_bin(upper: &[f32], v: f32) -> u8 {
        if v.is_nan() {
            return upper.len() as u8;
        }
        upper.partition_point(|&u| u < v) as u8
    }
}

/// One feature's bin codes, a byte per row unless it has more than 256 bins
/// (categorical features with many frequent categories).
pub enum BinColumn {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

impl BinColumn {
    /// The bin of row `r`.
    #[inline(always)]
    pub fn get(&self, r: usize) -> usize {
        match self {
            BinColumn::U8(c) => c[r] as usize,
            BinColumn::U16(c) => c[r] as usize,
        }
    }
}

/// The training matrix: one column of bin codes per feature.
pub struct Binned {
    pub n_rows: usize,
    pub features: Vec<Feature>,
    /// `bins[f]`: feature `f`'s bin of each row.
    pub bins: Vec<BinColumn>,
}

/// Midpoint between two neighbouring distinct values that still separates them in f32.
fn cut(lo: f32, hi: f32) -> f32 {
    let m = ((lo as f64 + hi as f64) / 2.0) as f32;
    if m >= hi || m < lo { lo } else { m }
}

/// Upper bounds for a numeric feature from a sorted sample of its present values.
pub fn numeric_bounds(sorted: &[f32], max_bins: usize) -> Vec<f32> {
    let mut distinct: Vec<(f32, usize)> = Vec::new();
    for &v in sorted {
        match distinct.last_mut() {
            Some((d, n)) if *d == v => *n += 1,
            _ => distinct.push((v, 1)),
        }
    }
    let mut upper = Vec::new();
    if distinct.len() <= max_bins {
        for w in distinct.windows(2) {
            upper.push(cut(w[0].0, w[1].0));
        }
    } else {
        // Greedy quantiles: close a bin once it holds its share of what is left.
        let mut left = sorted.len();
        let mut bins_left = max_bins;
        let mut acc = 0usize;
        for (i, &(v, n)) in distinct.iter().enumerate() {
            acc += n;
            let target = left.div_ceil(bins_left).max(1);
            let last = i + 1 == distinct.len();
            if !last && acc >= target && bins_left > 1 {
                upper.push(cut(v, distinct[i + 1].0));
                left -= acc;
                acc = 0;
                bins_left -= 1;
            }
        }
    }
    upper.push(f32::INFINITY);
    upper
}

/// Most categories a feature keeps (its bins then fit in 16 bits with the missing bin).
pub const MAX_CATEGORIES: usize = u16::MAX as usize;

/// How many of the categories (most frequent first) get a bin of their own. As in
/// LightGBM: at least `max_bins` of them, more while those kept cover less than 99 %
/// of the rows; never one seen fewer than 3 times (past the first two). The rest share
/// the missing bin.
fn categorical_bins(order: &[usize], counts: &[usize], max_bins: usize) -> usize {
    let total: usize = order.iter().map(|&c| counts[c]).sum();
    let cover = (total as f64 * 0.99) as usize;
    let mut used = 0usize;
    let mut kept = 0usize;
    for (i, &c) in order.iter().enumerate() {
        if kept >= MAX_CATEGORIES || (used >= cover && kept >= max_bins) {
            break;
        }
        if counts[c] < 3 && i > 1 {
            break;
        }
        used += counts[c];
        kept += 1;
    }
    kept
}

/// Values of a numeric column as f32 (`NaN` = missing).
pub fn numeric_values(data: &ColumnData, col: &lithe_core::Column) -> Vec<f32> {
    match data {
        ColumnData::Float(a) => a.values().iter().map(|&v| v as f32).collect(),
        _ => col.to_f64().into_iter().map(|v| v as f32).collect(),
    }
}

/// Evenly spaced rows, at most `max` of them: a deterministic sample.
fn sample_rows(n: usize, max: usize) -> impl Iterator<Item = usize> {
    let step = n.div_ceil(max.max(1)).max(1);
    (0..n).step_by(step)
}

impl Binned {
    /// Bin the feature columns of `table` for training.
    pub fn fit(
        table: &Table,
        features: &[usize],
        max_bins: usize,
        bin_sample: usize,
    ) -> Result<Self> {
        let n = table.n_rows();
        let cols: Vec<(Feature, BinColumn)> = features
            .par_iter()
            .map(|&c| bin_column(&table.columns()[c], max_bins, bin_sample, n))
            .collect::<Result<_>>()?;
        let (features, bins) = cols.into_iter().unzip();
        Ok(Binned {
            n_rows: n,
            features,
            bins,
        })
    }
}

fn bin_column(
    col: &lithe_core::Column,
    max_bins: usize,
    bin_sample: usize,
    n: usize,
) -> Result<(Feature, BinColumn)> {
    let name = col.name().to_string();
    match col.column_type() {
        ColumnType::Categorical => {
            let cat = col
                .as_categorical()
                .ok_or_else(|| Error::Runtime("categorical view".into()))?;
            let mut counts = vec![0usize; cat.n_categories()];
            for (row, &code) in cat.codes().iter().enumerate() {
                if !cat.is_null(row) {
                    counts[code as usize] += 1;
                }
            }
            let mut order: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] > 0).collect();
            order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
            order.truncate(categorical_bins(&order, &counts, max_bins));
            let missing = order.len();
            let mut code_to_bin = vec![missing as u16; counts.len()];
            for (b, &c) in order.iter().enumerate() {
                code_to_bin[c] = b as u16;
            }
            let dict = cat.dictionary();
            let categories = order.iter().map(|&c| dict.value(c).to_string()).collect();
            let bin_of = |(row, &code): (usize, &u32)| {
                if cat.is_null(row) {
                    missing as u16
                } else {
                    code_to_bin[code as usize]
                }
            };
            let bins = if missing < 256 {
                BinColumn::U8(
                    cat.codes()
                        .iter()
                        .enumerate()
                        .map(|x| bin_of(x) as u8)
                        .collect(),
                )
            } else {
                BinColumn::U16(cat.codes().iter().enumerate().map(bin_of).collect())
            };
            Ok((
                Feature {
                    name,
                    kind: FeatureKind::Categorical { categories },
                },
                bins,
            ))
        }
        _ => {
            let values = numeric_values(col.data(), col);
            let mut sample: Vec<f32> = sample_rows(n, bin_sample)
                .map(|r| values[r])
                .filter(|v| !v.is_nan())
                .collect();
            sample.sort_unstable_by(f32::total_cmp);
            let upper = numeric_bounds(&sample, max_bins);
            let bins = BinColumn::U8(
                values
                    .iter()
                    .map(|&v| Feature::numeric_bin(&upper, v))
                    .collect(),
            );
            Ok((
                Feature {
                    name,
                    kind: FeatureKind::Numeric { upper },
                },
                bins,
            ))
        }
    }
}

/// The error for a feature the data lacks.
pub fn missing_feature(name: &str) -> Error {
    Error::input(format!(
        "feature column '{name}' is missing from the data (the model was trained with it)"
    ))
}

/// The error for text where the model was trained on numbers.
pub fn text_for_number(name: &str) -> Error {
    Error::input(format!(
        "feature column '{name}' holds text but the model was trained on numbers"
    ))
}

/// Rows below which [`feature_matrix`] stays on the calling thread.
const FEW_ROWS: usize = 4096;

/// The features of `table` as a row-major f32 matrix, as models read them: columns
/// matched by name (any order; extra columns ignored), numeric values as f32 (`NaN` =
/// missing), categories as the feature's category index (unknown or missing = `NaN`).
pub fn feature_matrix(features: &[Feature], table: &Table) -> Result<Vec<f32>> {
    let n = table.n_rows();
    let nf = features.len();
    let mut cols: Vec<Vec<f32>> = Vec::with_capacity(nf);
    for f in features {
        let col = table
            .column(&f.name)
            .ok_or_else(|| missing_feature(&f.name))?;
        cols.push(match &f.kind {
            FeatureKind::Numeric { .. } => {
                if col.column_type() == ColumnType::Categorical {
                    return Err(text_for_number(&f.name));
                }
                numeric_values(col.data(), col)
            }
            FeatureKind::Categorical { categories } => {
                let index = || -> HashMap<&str, f32> {
                    categories
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.as_str(), i as f32))
                        .collect()
                };
                match col.as_categorical() {
                    // Map the column's dictionary once, then every row by its code.
                    Some(cat) => {
                        let dict = cat.dictionary();
                        let n_dict = cat.n_categories();
                        // (A dictionary of a few values — a server's request of a few
                        // rows — is looked up directly; building the index would cost
                        // more.)
                        let by_code: Vec<f32> = if n_dict <= 4 {
                            (0..n_dict)
                                .map(|c| {
                                    categories
                                        .iter()
                                        .position(|k| k == dict.value(c))
                                        .map_or(f32::NAN, |i| i as f32)
                                })
                                .collect()
                        } else {
                            let index = index();
                            (0..n_dict)
                                .map(|c| index.get(dict.value(c)).copied().unwrap_or(f32::NAN))
                                .collect()
                        };
                        cat.codes()
                            .iter()
                            .enumerate()
                            .map(|(r, &c)| {
                                if cat.is_null(r) {
                                    f32::NAN
                                } else {
                                    by_code[c as usize]
                                }
                            })
                            .collect()
                    }
                    None => {
                        let index = index();
                        (0..n)
                            .map(|r| {
                                col.value_string(r)
                                    .and_then(|s| index.get(s.as_str()).copied())
                                    .unwrap_or(f32::NAN)
                            })
                            .collect()
                    }
                }
            }
        });
    }
    let mut m = vec![0f32; n * nf];
    let fill = |(r, row): (usize, &mut [f32])| {
        for (f, c) in cols.iter().enumerate() {
            row[f] = c[r];
        }
    };
    // (A few rows — a server's request — are not worth a hand-off to the thread pool,
    // which costs more than the copy.)
    if n <= FEW_ROWS {
        m.chunks_mut(nf.max(1)).enumerate().for_each(fill);
    } else {
        m.par_chunks_mut(nf.max(1)).enumerate().for_each(fill);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_a_bin_each() {
        let s = [1.0, 1.0, 2.0, 5.0, 5.0, 5.0];
        let u = numeric_bounds(&s, 255);
        assert_eq!(u, vec![1.5, 3.5, f32::INFINITY]);
        assert_eq!(Feature::numeric_bin(&u, 1.0), 0);
        assert_eq!(Feature::numeric_bin(&u, 1.5), 0);
        assert_eq!(Feature::numeric_bin(&u, 2.0), 1);
        assert_eq!(Feature::numeric_bin(&u, 100.0), 2);
        assert_eq!(Feature::numeric_bin(&u, f32::NAN), 3);
    }

    #[test]
    fn many_values_are_cut_at_quantiles() {
        let s: Vec<f32> = (0..10_000).map(|i| i as f32).collect();
        let u = numeric_bounds(&s, 10);
        assert_eq!(u.len(), 10);
        let mut counts = [0usize; 10];
        for &v in &s {
            counts[Feature::numeric_bin(&u, v) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c == 1000), "{counts:?}");
        // A heavy value keeps a bin of its own.
        let mut s: Vec<f32> = vec![0.0; 5000];
        s.extend((1..5001).map(|i| i as f32));
        let u = numeric_bounds(&s, 8);
        assert_eq!(Feature::numeric_bin(&u, 0.0), 0);
        assert_eq!(Feature::numeric_bin(&u, 1.0), 1);
    }
}
