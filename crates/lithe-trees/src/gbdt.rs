//! Gradient boosting: the training loop and the fitted model.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use lithe_core::describe::{Task, infer_target};
use lithe_core::{Column, ColumnData, ColumnType, Error, Result, Table};

use crate::data::{Binned, Feature, FeatureKind, numeric_values};
use crate::objective::{gradients, init_scores, sigmoid};
use crate::params::{GbdtParams, Objective};
use crate::tree::{Grower, Tree};

/// A fitted gradient-boosting model. Immutable; `predict` never mutates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GbdtModel {
    pub params: GbdtParams,
    pub objective: Objective,
    pub target: String,
    pub features: Vec<Feature>,
    /// Class labels (binary: `[negative, positive]`), empty for regression.
    pub classes: Vec<String>,
    /// Starting raw score per class.
    pub init: Vec<f64>,
    /// Trees, round by round; multiclass rounds hold one tree per class.
    pub trees: Vec<Tree>,
}

/// The target as numbers the objective works on, plus the class labels.
fn encode_target(col: &Column, obj: Objective) -> Result<(Vec<f64>, Vec<String>)> {
    let name = col.name();
    match obj {
        Objective::L2 => {
            if !col.column_type().is_numeric() {
                return Err(Error::input(format!(
                    "target column '{name}' is {} but regression needs numbers",
                    col.column_type()
                )));
            }
            Ok((col.to_f64(), Vec::new()))
        }
        Objective::Binary | Objective::Multiclass => {
            // Classes in a stable order: numerically for numbers, else as text.
            let mut labels: Vec<String> = Vec::new();
            let mut seen: HashMap<String, ()> = HashMap::new();
            for r in 0..col.len() {
                if let Some(v) = col.value_string(r)
                    && seen.insert(v.clone(), ()).is_none()
                {
                    labels.push(v);
                }
            }
            if col.column_type().is_numeric() {
                labels.sort_by(|a, b| {
                    let (x, y) = (
                        a.parse::<f64>().unwrap_or(f64::NAN),
                        b.parse::<f64>().unwrap_or(f64::NAN),
                    );
                    x.total_cmp(&y)
                });
            } else {
                labels.sort();
            }
            if labels.len() < 2 {
                return Err(Error::input(format!(
                    "target column '{name}' has a single class ({}); there is nothing to learn",
                    labels.first().map_or("none", String::as_str)
                )));
            }
            if obj == Objective::Binary && labels.len() != 2 {
                return Err(Error::input(format!(
                    "target column '{name}' has {} classes; binary needs exactly 2 (use --task multiclass)",
                    labels.len()
                )));
            }
            let index: HashMap<&str, usize> = labels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.as_str(), i))
                .collect();
            let y = (0..col.len())
                .map(|r| {
                    col.value_string(r)
                        .and_then(|v| index.get(v.as_str()).map(|&i| i as f64))
                        .unwrap_or(f64::NAN)
                })
                .collect();
            Ok((y, labels))
        }
    }
}

impl GbdtModel {
    /// Train on `table`, predicting column `target` from every other column.
    pub fn fit(params: &GbdtParams, table: &Table, target: &str) -> Result<Self> {
        Self::fit_with_progress(params, table, target, &|_| {})
    }

    /// As [`Self::fit`], calling `progress(round)` after each round.
    pub fn fit_with_progress(
        params: &GbdtParams,
        table: &Table,
        target: &str,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Self> {
        // Run on a pool thread: the many small parallel steps inside then start from
        // within the pool instead of waking it from outside each time.
        rayon::scope(|_| Self::fit_in_pool(params, table, target, progress))
    }

    fn fit_in_pool(
        params: &GbdtParams,
        table: &Table,
        target: &str,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Self> {
        params.validate()?;
        let tcol = table
            .require(target)
            .map_err(|e| Error::input(format!("target {e}")))?;
        let objective = match params.objective {
            Some(o) => o,
            None => Objective::for_task(infer_target(table, target)?.task),
        };
        let (y_all, classes) = encode_target(tcol, objective)?;
        let feature_cols: Vec<usize> = (0..table.n_columns())
            .filter(|&c| table.columns()[c].name() != target)
            .collect();
        if feature_cols.is_empty() {
            return Err(Error::input(format!(
                "the table has no columns besides the target '{target}'"
            )));
        }
        let binned = Binned::fit(table, &feature_cols, params.max_bins, params.bin_sample)?;
        // Rows without a target are left out.
        let rows: Vec<u32> = (0..table.n_rows() as u32)
            .filter(|&r| !y_all[r as usize].is_nan())
            .collect();
        if rows.is_empty() {
            return Err(Error::input(format!(
                "target column '{target}' has every value missing"
            )));
        }
        let n = table.n_rows();
        let y: Vec<f64> = y_all
            .iter()
            .map(|v| if v.is_nan() { 0.0 } else { *v })
            .collect();
        let n_class = if objective == Objective::Multiclass {
            classes.len()
        } else {
            1
        };
        let y_used: Vec<f64> = rows.iter().map(|&r| y[r as usize]).collect();
        let init = init_scores(objective, &y_used, n_class);
        let mut score: Vec<f64> = (0..n_class)
            .flat_map(|k| std::iter::repeat_n(init[k], n))
            .collect();
        let mut g = vec![0f32; n * n_class];
        let mut h = vec![0f32; n * n_class];
        let active = vec![true; binned.features.len()];
        let mut grower = Grower::new(&binned, params);
        let mut trees = Vec::with_capacity(params.rounds * n_class);
        let mut idx = rows.clone();
        for round in 0..params.rounds {
            gradients(objective, &y, &score, n_class, &mut g, &mut h);
            for k in 0..n_class {
                // Every tree starts from the rows in file order (the root then reads
                // its columns sequentially).
                idx.copy_from_slice(&rows);
                let (gk, hk) = (&g[k * n..(k + 1) * n], &h[k * n..(k + 1) * n]);
                let (tree, ranges) = grower.grow(&mut idx, gk, hk, &active);
                let sk = &mut score[k * n..(k + 1) * n];
                for (leaf, &(a, b)) in ranges.iter().enumerate() {
                    let v = tree.leaf_value[leaf];
                    for &r in &idx[a..b] {
                        sk[r as usize] += v;
                    }
                }
                trees.push(tree);
            }
            progress(round + 1);
        }
        Ok(GbdtModel {
            params: params.clone(),
            objective,
            target: target.to_string(),
            features: binned.features,
            classes,
            init,
            trees,
        })
    }

    pub fn task(&self) -> Task {
        self.objective.task()
    }

    /// Trees per round.
    pub fn n_class_trees(&self) -> usize {
        if self.objective == Objective::Multiclass {
            self.classes.len()
        } else {
            1
        }
    }

    /// The model's index of a category of a categorical feature (what `predict_row`
    /// expects in that feature's slot), `None` if the model never saw it.
    pub fn category_index(&self, feature: usize, category: &str) -> Option<usize> {
        match &self.features.get(feature)?.kind {
            FeatureKind::Categorical { categories } => {
                categories.iter().position(|c| c == category)
            }
            FeatureKind::Numeric { .. } => None,
        }
    }

    /// Raw scores of one row into `out` (one per class tree); no allocation.
    /// Numeric features are values (`NaN` = missing); categorical features are
    /// [`Self::category_index`] values (anything else = missing).
    pub fn predict_raw_row(&self, row: &[f32], out: &mut [f64]) {
        let k = self.n_class_trees();
        out[..k].copy_from_slice(&self.init[..k]);
        for (t, tree) in self.trees.iter().enumerate() {
            out[t % k] += tree.leaf_value[tree.leaf_of(row, &self.features)];
        }
    }

    /// The prediction for one row: the positive class's probability (binary), the
    /// value (regression) or the most likely class index (multiclass). No allocation
    /// for binary and regression.
    pub fn predict_row(&self, row: &[f32]) -> f64 {
        match self.objective {
            Objective::L2 => {
                let mut s = self.init[0];
                for tree in &self.trees {
                    s += tree.leaf_value[tree.leaf_of(row, &self.features)];
                }
                s
            }
            Objective::Binary => {
                let mut s = self.init[0];
                for tree in &self.trees {
                    s += tree.leaf_value[tree.leaf_of(row, &self.features)];
                }
                sigmoid(s)
            }
            Objective::Multiclass => {
                let mut out = vec![0.0; self.classes.len()];
                self.predict_raw_row(row, &mut out);
                out.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0.0, |(i, _)| i as f64)
            }
        }
    }

    /// The feature matrix of `table` as the model reads it: row-major f32, columns
    /// matched by name (in any order; extra columns, the target included, are ignored).
    pub fn features_of(&self, table: &Table) -> Result<Vec<f32>> {
        let n = table.n_rows();
        let nf = self.features.len();
        let mut cols: Vec<Vec<f32>> = Vec::with_capacity(nf);
        for f in &self.features {
            let col = table.column(&f.name).ok_or_else(|| {
                Error::input(format!(
                    "feature column '{}' is missing from the data (the model was trained with it)",
                    f.name
                ))
            })?;
            cols.push(match &f.kind {
                FeatureKind::Numeric { .. } => {
                    if col.column_type() == ColumnType::Categorical {
                        return Err(Error::input(format!(
                            "feature column '{}' holds text but the model was trained on numbers",
                            f.name
                        )));
                    }
                    numeric_values(col.data(), col)
                }
                FeatureKind::Categorical { categories } => {
                    let index: HashMap<&str, f32> = categories
                        .iter()
                        .enumerate()
                        .map(|(i, c)| (c.as_str(), i as f32))
                        .collect();
                    (0..n)
                        .map(|r| {
                            if col.is_null(r) {
                                return f32::NAN;
                            }
                            let v = match col.data() {
                                ColumnData::Categorical(_) => col
                                    .as_categorical()
                                    .and_then(|c| c.get(r))
                                    .map(str::to_string),
                                _ => col.value_string(r),
                            };
                            v.and_then(|s| index.get(s.as_str()).copied())
                                .unwrap_or(f32::NAN)
                        })
                        .collect()
                }
            });
        }
        let mut m = vec![0f32; n * nf];
        m.par_chunks_mut(nf.max(1))
            .enumerate()
            .for_each(|(r, row)| {
                for (f, c) in cols.iter().enumerate() {
                    row[f] = c[r];
                }
            });
        Ok(m)
    }

    /// Predictions for every row of `table`, in row order: `n × k` values, where k
    /// is 1 (binary: positive-class probability; regression: value) or the number of
    /// classes (multiclass: probabilities).
    pub fn predict(&self, table: &Table) -> Result<Vec<f64>> {
        let m = self.features_of(table)?;
        Ok(self.predict_matrix(&m))
    }

    /// Predictions for a row-major f32 matrix (see [`Self::predict`]).
    pub fn predict_matrix(&self, m: &[f32]) -> Vec<f64> {
        let nf = self.features.len().max(1);
        let k = self.n_class_trees();
        let n = m.len() / nf;
        let mut out = vec![0f64; n * k];
        out.par_chunks_mut(k * 256)
            .zip(m.par_chunks(nf * 256))
            .for_each(|(o, rows)| {
                for (r, row) in rows.chunks(nf).enumerate() {
                    let dst = &mut o[r * k..(r + 1) * k];
                    self.predict_raw_row(row, dst);
                    match self.objective {
                        Objective::L2 => {}
                        Objective::Binary => dst[0] = sigmoid(dst[0]),
                        Objective::Multiclass => {
                            let mx = dst.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                            let mut s = 0.0;
                            for v in dst.iter_mut() {
                                *v = (*v - mx).exp();
                                s += *v;
                            }
                            for v in dst.iter_mut() {
                                *v /= s;
                            }
                        }
                    }
                }
            });
        out
    }

    /// Total gain and number of splits per feature.
    pub fn importance(&self) -> Vec<(String, f64, usize)> {
        let mut gain = vec![0.0; self.features.len()];
        let mut count = vec![0usize; self.features.len()];
        for t in &self.trees {
            for (i, &f) in t.feature.iter().enumerate() {
                gain[f as usize] += t.gain[i];
                count[f as usize] += 1;
            }
        }
        self.features
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), gain[i], count[i]))
            .collect()
    }
}
