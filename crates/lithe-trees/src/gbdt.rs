//! Gradient boosting: the training loop and the fitted model.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use lithe_core::describe::{Task, infer_target};
use lithe_core::rng::SplitMix;
use lithe_core::{Column, Error, Result, Table};

use crate::data::{Binned, Feature, FeatureKind, feature_matrix};
use crate::objective::{
    gradients, init_scores, init_scores_weighted, quantile, sigmoid, weigh_gradients,
};
use crate::params::{GbdtParams, Objective};
use crate::tree::{Grower, RowWalk, Tree, Walker, by_row_blocks};
use crate::weights::{self, Weights, weighted_quantile};

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
    /// The trees compiled for [`Self::predict_row`], built on its first call.
    #[serde(skip)]
    row_walk: RowWalkCache,
}

/// [`GbdtModel`]'s compiled one-row walk. It remembers which tree list it was built
/// from (its address and length) and is not used for another: a model whose `trees`
/// were replaced or resized walks them uncompiled. A clone starts empty; any two
/// caches compare equal (the trees decide a model's equality).
#[derive(Default)]
struct RowWalkCache(std::sync::OnceLock<Option<Box<(usize, usize, RowWalk)>>>);

impl Clone for RowWalkCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for RowWalkCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for RowWalkCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowWalkCache")
    }
}

/// What every learner starts from: the objective, the encoded target (`NaN` where
/// missing) and its class labels, the binned features (every column but the target)
/// and the rows that have a target.
pub(crate) struct Prepared {
    pub objective: Objective,
    pub y_all: Vec<f64>,
    pub classes: Vec<String>,
    pub binned: Binned,
    pub rows: Vec<u32>,
}

impl Prepared {
    /// `objective`: `None` infers it from the target.
    pub fn new(
        table: &Table,
        target: &str,
        objective: Option<Objective>,
        max_bins: usize,
        bin_sample: usize,
    ) -> Result<Self> {
        let tcol = table
            .require(target)
            .map_err(|e| Error::input(format!("target {e}")))?;
        let objective = match objective {
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
        let binned = Binned::fit(table, &feature_cols, max_bins, bin_sample)?;
        // Rows without a target are left out.
        let rows: Vec<u32> = (0..table.n_rows() as u32)
            .filter(|&r| !y_all[r as usize].is_nan())
            .collect();
        if rows.is_empty() {
            return Err(Error::input(format!(
                "target column '{target}' has every value missing"
            )));
        }
        Ok(Prepared {
            objective,
            y_all,
            classes,
            binned,
            rows,
        })
    }
}

/// Whether every value is finite: a branch-free test of the exponent bits, which
/// vectorises (the check runs over every gradient each round).
fn all_finite(v: &[f32]) -> bool {
    const EXP: u32 = 0x7f80_0000;
    v.chunks(4096).all(|c| {
        c.iter()
            .fold(0u32, |acc, x| acc | u32::from(x.to_bits() & EXP == EXP))
            == 0
    })
}

/// Training that produced a non-finite number: an error (the input's scale or the
/// learning rate is at fault), never a model that predicts NaN.
fn diverged(params: &GbdtParams, round: usize, what: &str) -> Error {
    Error::input(format!(
        "training diverged in round {}: {what}; the target's scale or learning_rate \
         ({:?}) is too large",
        round + 1,
        params.learning_rate
    ))
}

/// A regression target's values (`NaN` where missing). Text, infinities and values
/// too large to square are errors naming the first such row (data rows count from 1).
pub fn numeric_target(col: &Column) -> Result<Vec<f64>> {
    let name = col.name();
    if !col.column_type().is_numeric() {
        return Err(Error::input(format!(
            "target column '{name}' is {} but regression needs numbers",
            col.column_type()
        )));
    }
    let y = col.to_f64();
    if let Some(r) = y.iter().position(|v| v.abs() > MAX_TARGET) {
        return Err(Error::input(format!(
            "target column '{name}', row {}: {:?} is not a usable target (regression needs \
             finite values within ±1e30)",
            r + 1,
            y[r]
        )));
    }
    Ok(y)
}

/// Batches of at most this many rows are predicted row by row (the compiled one-row
/// walk); larger ones by the batch walker.
const FEW_ROWS: usize = 16;

/// The largest target magnitude accepted: gradients are stored as f32 (as LightGBM
/// stores them), which holds about ±3.4e38; differences of two targets must fit.
const MAX_TARGET: f64 = 1e30;

/// The target as numbers the objective works on, plus the class labels.
pub(crate) fn encode_target(col: &Column, obj: Objective) -> Result<(Vec<f64>, Vec<String>)> {
    let name = col.name();
    match obj {
        Objective::L2
        | Objective::L1
        | Objective::Huber
        | Objective::Quantile
        | Objective::Poisson => {
            let y = numeric_target(col)?;
            if obj == Objective::Poisson && y.iter().any(|&v| v < 0.0) {
                return Err(Error::input(format!(
                    "target column '{name}' has negative values; the poisson objective needs counts (>= 0)"
                )));
            }
            Ok((y, Vec::new()))
        }
        Objective::Binary | Objective::Multiclass => {
            // Classes in a stable order: numerically for numbers, else as text.
            let mut labels: Vec<String> = Vec::new();
            let mut seen: std::collections::HashSet<String> = Default::default();
            for r in 0..col.len() {
                if let Some(v) = col.value_string(r)
                    && seen.insert(v.clone())
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

    /// Train with a validation table: its score is tracked each round, and with
    /// `early_stopping_rounds > 0` training stops once it has not improved for that many
    /// rounds, keeping the trees of the best round.
    pub fn fit_valid(
        params: &GbdtParams,
        table: &Table,
        target: &str,
        valid: Option<&Table>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<(Self, FitReport)> {
        Self::fit_weighted(params, table, target, valid, Weights::default(), progress)
    }

    /// [`Self::fit_valid`] with row weights, as LightGBM applies them: each training
    /// row's gradient and hessian are multiplied by its weight (so `min_sum_hessian`
    /// and the hessian-estimated `min_data_in_leaf` see weighted hessians), the
    /// starting score is the weighted mean / log-odds / log-priors / quantile, L1 and
    /// quantile leaves refit to weighted quantiles, and validation weights weigh the
    /// validation metric. Binning and bagging ignore weights, as LightGBM's do.
    pub fn fit_weighted(
        params: &GbdtParams,
        table: &Table,
        target: &str,
        valid: Option<&Table>,
        weights: Weights<'_>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<(Self, FitReport)> {
        // Run on a pool thread: the many small parallel steps inside then start from
        // within the pool instead of waking it from outside each time.
        rayon::scope(|_| Self::fit_in_pool(params, table, target, valid, weights, progress))
    }

    /// As [`Self::fit`], calling `progress(round)` after each round.
    pub fn fit_with_progress(
        params: &GbdtParams,
        table: &Table,
        target: &str,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Self> {
        Self::fit_valid(params, table, target, None, progress).map(|(m, _)| m)
    }

    fn fit_in_pool(
        params: &GbdtParams,
        table: &Table,
        target: &str,
        valid: Option<&Table>,
        weights: Weights<'_>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<(Self, FitReport)> {
        params.validate()?;
        lithe_core::params::require(
            params.early_stopping_rounds == 0 || valid.is_some(),
            "early_stopping_rounds",
            || "needs a validation set to judge the rounds".into(),
        )?;
        let w = weights.train;
        if let Some(w) = w {
            weights::check(w, table.n_rows(), "sample_weight")?;
        }
        match (valid, weights.valid) {
            (Some(v), Some(vw)) => weights::check(vw, v.n_rows(), "eval_sample_weight")
                .map_err(|e| e.context("validation data"))?,
            (None, Some(_)) => {
                return Err(Error::input(
                    "eval_sample_weight was given without a validation set",
                ));
            }
            _ => {}
        }
        let Prepared {
            objective,
            y_all,
            classes,
            binned,
            rows,
        } = Prepared::new(
            table,
            target,
            params.objective,
            params.max_bins,
            params.bin_sample,
        )?;
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
        let init = match w {
            None => init_scores(objective, &y_used, n_class, params.alpha),
            Some(w) => {
                weights::check_some_weight(w, &rows, "sample_weight")?;
                let w_used: Vec<f64> = rows.iter().map(|&r| w[r as usize]).collect();
                init_scores_weighted(objective, &y_used, &w_used, n_class, params.alpha)
            }
        };
        let mut score: Vec<f64> = (0..n_class)
            .flat_map(|k| std::iter::repeat_n(init[k], n))
            .collect();
        let mut g = vec![0f32; n * n_class];
        let mut h = vec![0f32; n * n_class];
        let nf = binned.features.len();
        // One grower and index buffer per class: a round's class trees are independent
        // given the gradients, so they grow in parallel (each is still the same for any
        // thread count).
        let mut growers: Vec<(Grower, Vec<u32>)> = (0..n_class)
            .map(|_| (Grower::new(&binned, params), rows.clone()))
            .collect();
        let mut trees = Vec::with_capacity(params.rounds.min(4096) * n_class);
        let bagging = params.bagging_fraction < 1.0;
        let mut valid_state = match valid {
            Some(v) => Some(ValidState::new(
                v,
                target,
                objective,
                &classes,
                &binned.features,
                &init,
                weights.valid,
            )?),
            None => None,
        };
        let mut report = FitReport::default();
        if let Some(v) = init.iter().find(|v| !v.is_finite()) {
            return Err(diverged(params, 0, &format!("the initial score is {v}")));
        }
        for round in 0..params.rounds {
            gradients(objective, &y, &score, n_class, params.alpha, &mut g, &mut h);
            if let Some(w) = w {
                weigh_gradients(&mut g, &mut h, w);
            }
            if !all_finite(&g) || !all_finite(&h) {
                return Err(diverged(params, round, "a gradient is not finite"));
            }
            let mut rng =
                SplitMix(params.seed ^ (round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let active = sample_features(nf, params.feature_fraction, &mut rng);
            let rng_seed = rng.next_u64();
            let bag: Option<Vec<u32>> = bagging.then(|| {
                rows.iter()
                    .copied()
                    .filter(|_| rng.unit() < params.bagging_fraction)
                    .collect()
            });
            let grow_one = |k: usize, (grower, idx): &mut (Grower, Vec<u32>), sk: &mut [f64]| {
                // Every tree starts from its rows in file order (the root of an unbagged
                // tree then reads its columns sequentially).
                let src = bag.as_deref().unwrap_or(&rows);
                idx.clear();
                idx.extend_from_slice(src);
                let (gk, hk) = (&g[k * n..(k + 1) * n], &h[k * n..(k + 1) * n]);
                // Each tree's gradients are quantised with noise of its own.
                let tree_seed = rng_seed ^ (k as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
                let (mut tree, ranges) = grower.grow(idx, gk, hk, &active, tree_seed);
                if let Some(q) = objective.refit_quantile(params.alpha) {
                    // Each leaf moves by the quantile of its rows' residuals.
                    for (leaf, &(a, b)) in ranges.iter().enumerate() {
                        let rows = &idx[a..b];
                        let res = |r: u32| y[r as usize] - sk[r as usize];
                        let v = match w {
                            None => {
                                quantile(&mut rows.iter().map(|&r| res(r)).collect::<Vec<_>>(), q)
                            }
                            Some(w) => weighted_quantile(
                                &mut rows.iter().map(|&r| (res(r), w[r as usize])).collect(),
                                q,
                            ),
                        };
                        tree.leaf_value[leaf] = params.learning_rate * v;
                    }
                }
                if bagging {
                    // Rows outside the bag need their leaf too.
                    sk.par_chunks_mut(4096).enumerate().for_each(|(c, chunk)| {
                        for (j, s) in chunk.iter_mut().enumerate() {
                            *s += tree.leaf_value[tree.leaf_of_binned(&binned, c * 4096 + j)];
                        }
                    });
                } else {
                    for (leaf, &(a, b)) in ranges.iter().enumerate() {
                        let v = tree.leaf_value[leaf];
                        for &r in &idx[a..b] {
                            sk[r as usize] += v;
                        }
                    }
                }
                tree
            };
            let round_trees: Vec<Tree> = if n_class == 1 {
                vec![grow_one(0, &mut growers[0], &mut score)]
            } else {
                growers
                    .par_iter_mut()
                    .zip(score.par_chunks_mut(n))
                    .enumerate()
                    .map(|(k, (gr, sk))| grow_one(k, gr, sk))
                    .collect()
            };
            if let Some(v) = round_trees
                .iter()
                .flat_map(|t| &t.leaf_value)
                .find(|v| !v.is_finite())
            {
                return Err(diverged(params, round, &format!("a leaf value is {v}")));
            }
            if round_trees.iter().all(|t| t.leaf_value.len() <= 1) {
                // No tree of this round could split: stop, without it.
                report.no_split = true;
                break;
            }
            for (k, tree) in round_trees.into_iter().enumerate() {
                if let Some(vs) = valid_state.as_mut() {
                    vs.add_tree(&tree, k, &binned.features);
                }
                trees.push(tree);
            }
            report.rounds = round + 1;
            progress(round + 1);
            if let Some(vs) = valid_state.as_mut() {
                let m = vs.metric(objective, n_class, params.alpha);
                report.valid_history.push(m);
                let best = report.best_round.map(|b| report.valid_history[b]);
                if best.is_none_or(|b| m < b) {
                    report.best_round = Some(round);
                }
                if params.early_stopping_rounds > 0
                    && report
                        .best_round
                        .is_some_and(|b| round - b >= params.early_stopping_rounds)
                {
                    break;
                }
            }
        }
        if score.iter().any(|v| !v.is_finite()) {
            return Err(diverged(
                params,
                report.rounds.saturating_sub(1),
                "a training row's score is not finite",
            ));
        }
        if params.early_stopping_rounds > 0
            && let Some(b) = report.best_round
        {
            trees.truncate((b + 1) * n_class);
        }
        report.valid_metric = valid_state.map(|_| metric_name(objective).to_string());
        let model = GbdtModel {
            params: params.clone(),
            objective,
            target: target.to_string(),
            features: binned.features,
            classes,
            init,
            trees,
            row_walk: RowWalkCache::default(),
        };
        Ok((model, report))
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

    /// From a raw score to a prediction (binary and regression objectives).
    #[inline]
    fn link(&self, s: f64) -> f64 {
        match self.objective {
            Objective::Binary => sigmoid(s),
            Objective::Poisson => s.exp(),
            _ => s,
        }
    }

    /// Each row's class index among the model's classes (`NaN` where missing or
    /// unknown to the model), for scoring classification predictions.
    pub fn class_indices(&self, col: &Column) -> Result<Vec<f64>> {
        class_indices(col, &self.classes)
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
        let trees = &self.trees;
        let key = (trees.as_ptr() as usize, trees.len());
        let compiled = self.row_walk.0.get_or_init(|| {
            RowWalk::new(trees, &self.features, self.features.len())
                .map(|w| Box::new((key.0, key.1, w)))
        });
        match compiled.as_deref() {
            Some((ptr, len, w)) if (*ptr, *len) == key => w.add_leaf_values(row, out, k),
            _ => Tree::for_each_leaf(trees, row, row.len(), &self.features, |t, _, leaf| {
                // (`k == 1` spares a division per tree.)
                out[if k == 1 { 0 } else { t % k }] += trees[t].leaf_value[leaf];
            }),
        }
    }

    /// The prediction for one row: the positive class's probability (binary), the
    /// value (regression) or the most likely class index (multiclass). No allocation
    /// for binary and regression.
    pub fn predict_row(&self, row: &[f32]) -> f64 {
        if self.objective == Objective::Multiclass {
            let mut out = vec![0.0; self.classes.len()];
            self.predict_raw_row(row, &mut out);
            return out
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0.0, |(i, _)| i as f64);
        }
        let mut s = [0.0];
        self.predict_raw_row(row, &mut s);
        self.link(s[0])
    }

    /// The feature matrix of `table` as the model reads it: row-major f32, columns
    /// matched by name (in any order; extra columns, the target included, are ignored).
    pub fn features_of(&self, table: &Table) -> Result<Vec<f32>> {
        feature_matrix(&self.features, table)
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
        let finish = |o: &mut [f64]| {
            for dst in o.chunks_mut(k) {
                if self.objective == Objective::Multiclass {
                    let mx = dst.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let mut s = 0.0;
                    for v in dst.iter_mut() {
                        *v = (*v - mx).exp();
                        s += *v;
                    }
                    for v in dst.iter_mut() {
                        *v /= s;
                    }
                } else {
                    dst[0] = self.link(dst[0]);
                }
            }
        };
        if n <= FEW_ROWS {
            // A few rows: the one-row walk (compiled once per model) beats compiling
            // the batch walker for them; both add each row's trees in the same order.
            for (dst, row) in out.chunks_mut(k).zip(m.chunks(nf)) {
                self.predict_raw_row(row, dst);
            }
            finish(&mut out);
            return out;
        }
        let walker = Walker::new(&self.trees, &self.features, nf);
        let block = |o: &mut [f64], rows: &[f32]| {
            // Each row adds its trees in order, as `predict_raw_row` does.
            for dst in o.chunks_mut(k) {
                dst.copy_from_slice(&self.init[..k]);
            }
            walker.add_leaf_values(rows, o, k);
            finish(o);
        };
        by_row_blocks(&mut out, m, k, nf, 256, block);
        out
    }

    /// Total gain and number of splits per feature.
    pub fn importance(&self) -> Vec<(String, f64, usize)> {
        let mut gain = vec![0.0; self.features.len()];
        let mut count = vec![0usize; self.features.len()];
        for t in &self.trees {
            for (i, nd) in t.nodes.iter().enumerate() {
                let f = nd.feature;
                gain[f as usize] += t.gain[i] as f64;
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

/// Each row's class index among `classes`, `NaN` where missing or not a known class.
/// Each row's class index (`NaN` where the label is missing). A label the model never
/// saw is an error that counts and names them: scoring only the known rows would
/// report a figure for a subset the user did not ask for.
pub(crate) fn class_indices(col: &Column, classes: &[String]) -> Result<Vec<f64>> {
    let mut unknown: Vec<(String, usize)> = Vec::new();
    let mut n_unknown = 0usize;
    let y = (0..col.len())
        .map(|r| match col.value_string(r) {
            None => f64::NAN,
            Some(v) => match classes.iter().position(|c| *c == v) {
                Some(i) => i as f64,
                None => {
                    n_unknown += 1;
                    match unknown.iter_mut().find(|(l, _)| *l == v) {
                        Some((_, k)) => *k += 1,
                        None => unknown.push((v, 1)),
                    }
                    f64::NAN
                }
            },
        })
        .collect();
    if n_unknown > 0 {
        let shown: Vec<String> = unknown
            .iter()
            .take(5)
            .map(|(l, k)| format!("'{l}' ({k} row{})", if *k == 1 { "" } else { "s" }))
            .collect();
        let more = if unknown.len() > 5 {
            format!(" and {} more", unknown.len() - 5)
        } else {
            String::new()
        };
        return Err(Error::input(format!(
            "target column '{}': {n_unknown} row{} the model never saw: {}{more}; \
             the model's classes are {}",
            col.name(),
            if n_unknown == 1 {
                " has a label"
            } else {
                "s have labels"
            },
            shown.join(", "),
            lithe_core::table::preview_list(
                &classes.iter().map(String::as_str).collect::<Vec<_>>(),
                10
            )
        )));
    }
    Ok(y)
}

/// What happened during training.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Rounds trained (fewer than asked when early stopping triggered).
    pub rounds: usize,
    /// The validation metric's name (`logloss`, `multi_logloss`, `rmse`).
    pub valid_metric: Option<String>,
    /// The validation metric after each round.
    pub valid_history: Vec<f64>,
    /// The round (0-based) with the best validation metric.
    pub best_round: Option<usize>,
    /// Training stopped because a round's trees found no split (as LightGBM stops):
    /// later rounds could only repeat the same constant step.
    #[serde(default)]
    pub no_split: bool,
}

fn metric_name(obj: Objective) -> &'static str {
    match obj {
        Objective::Binary => "logloss",
        Objective::Multiclass => "multi_logloss",
        Objective::L2 => "rmse",
        Objective::L1 => "l1",
        Objective::Huber => "huber",
        Objective::Quantile => "quantile",
        Objective::Poisson => "poisson",
    }
}

/// The features a tree may split on: a `fraction` of them, at least one.
fn sample_features(nf: usize, fraction: f64, rng: &mut SplitMix) -> Vec<bool> {
    if fraction >= 1.0 {
        return vec![true; nf];
    }
    let k = ((nf as f64 * fraction).round() as usize).clamp(1, nf);
    let mut order: Vec<usize> = (0..nf).collect();
    for i in 0..k {
        let j = i + (rng.next_u64() % (nf - i) as u64) as usize;
        order.swap(i, j);
    }
    let mut active = vec![false; nf];
    for &f in &order[..k] {
        active[f] = true;
    }
    active
}

/// Validation rows, their targets and their running raw scores.
struct ValidState {
    matrix: Vec<f32>,
    nf: usize,
    y: Vec<f64>,
    score: Vec<f64>,
    /// Row weights of the metric (`None`: every row weighs 1).
    w: Option<Vec<f64>>,
}

impl ValidState {
    fn new(
        valid: &Table,
        target: &str,
        objective: Objective,
        classes: &[String],
        features: &[Feature],
        init: &[f64],
        w: Option<&[f64]>,
    ) -> Result<Self> {
        let tcol = valid
            .require(target)
            .map_err(|e| Error::input(format!("validation data: target {e}")))?;
        let y: Vec<f64> = match objective {
            Objective::Binary | Objective::Multiclass => {
                class_indices(tcol, classes).map_err(|e| e.context("validation data"))?
            }
            _ => encode_target(tcol, objective)?.0,
        };
        if y.iter().all(|v| v.is_nan()) {
            return Err(Error::input(format!(
                "validation data: no row has a target the model knows in '{target}'"
            )));
        }
        if let Some(w) = w {
            let known: Vec<u32> = (0..y.len() as u32)
                .filter(|&r| !y[r as usize].is_nan())
                .collect();
            weights::check_some_weight(w, &known, "eval_sample_weight")
                .map_err(|e| e.context("validation data"))?;
        }
        let matrix = feature_matrix(features, valid).map_err(|e| e.context("validation data"))?;
        let nv = valid.n_rows();
        // One start per class tree.
        let score = init
            .iter()
            .flat_map(|&v| std::iter::repeat_n(v, nv))
            .collect();
        Ok(ValidState {
            matrix,
            nf: features.len().max(1),
            y,
            score,
            w: w.map(<[f64]>::to_vec),
        })
    }

    fn add_tree(&mut self, tree: &Tree, k: usize, features: &[Feature]) {
        let nv = self.y.len();
        let (m, nf) = (&self.matrix, self.nf);
        self.score[k * nv..(k + 1) * nv]
            .par_iter_mut()
            .enumerate()
            .for_each(|(r, s)| {
                *s += tree.leaf_value[tree.leaf_of(&m[r * nf..(r + 1) * nf], features)];
            });
    }

    /// The metric (lower is better) over rows with a known target.
    fn metric(&self, objective: Objective, n_class: usize, alpha: f64) -> f64 {
        let nv = self.y.len();
        let rows = (0..nv).filter(|&r| !self.y[r].is_nan());
        let (mut sum, mut cnt) = (0.0, 0usize);
        let mut total_w = 0.0;
        for r in rows {
            cnt += 1;
            let y = self.y[r];
            let loss = match objective {
                Objective::L2 => (self.score[r] - y).powi(2),
                Objective::L1 => (self.score[r] - y).abs(),
                Objective::Huber => {
                    let d = (self.score[r] - y).abs();
                    if d <= alpha {
                        0.5 * d * d
                    } else {
                        alpha * (d - 0.5 * alpha)
                    }
                }
                Objective::Quantile => {
                    let d = y - self.score[r];
                    if d >= 0.0 {
                        alpha * d
                    } else {
                        (alpha - 1.0) * d
                    }
                }
                Objective::Poisson => self.score[r].exp() - y * self.score[r],
                Objective::Binary => {
                    let p = sigmoid(self.score[r]).clamp(1e-15, 1.0 - 1e-15);
                    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
                }
                Objective::Multiclass => {
                    let mx = (0..n_class)
                        .map(|k| self.score[k * nv + r])
                        .fold(f64::NEG_INFINITY, f64::max);
                    let den: f64 = (0..n_class)
                        .map(|k| (self.score[k * nv + r] - mx).exp())
                        .sum();
                    let p = ((self.score[y as usize * nv + r] - mx).exp() / den).clamp(1e-15, 1.0);
                    -p.ln()
                }
            };
            match &self.w {
                None => sum += loss,
                Some(w) => {
                    sum += w[r] * loss;
                    total_w += w[r];
                }
            }
        }
        let mean = match self.w {
            None => sum / cnt.max(1) as f64,
            Some(_) => sum / total_w,
        };
        if objective == Objective::L2 {
            mean.sqrt()
        } else {
            mean
        }
    }
}
