//! The imported model: another library's trees in flat node arrays that keep that
//! library's split rules exactly, the output transform of its objective, and the
//! mapping from a table's columns to its features.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use lithe_core::describe::Task;
use lithe_core::{Column, ColumnType, Error, Result, Table};

use crate::data::{Feature, FeatureKind};

/// LightGBM's `kZeroThreshold` (`1e-35f` widened to a double): a value whose magnitude
/// is at most this is zero to LightGBM's predictor.
pub const K_ZERO: f64 = 1e-35f32 as f64;

/// The most features an imported model may have.
pub const MAX_FEATURES: usize = 1_000_000;

/// The library a model came from; it fixes how inputs are compared and scores summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// Values compared as doubles, `x <= threshold`; scores summed in doubles.
    LightGbm,
    /// Values rounded to f32 first, `x < threshold`; scores summed in f32.
    XgBoost,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::LightGbm => "lightgbm",
            Source::XgBoost => "xgboost",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "lightgbm" | "lgb" | "lgbm" => Ok(Source::LightGbm),
            "xgboost" | "xgb" => Ok(Source::XgBoost),
            other => Err(Error::input(format!(
                "unknown model source '{other}'; choose lightgbm or xgboost"
            ))),
        }
    }
}

/// From raw scores to predictions, as the source library's objective does it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Link {
    Identity,
    /// `1 / (1 + exp(-scale · s))` per output, in doubles (LightGBM binary,
    /// multiclassova, cross_entropy).
    Sigmoid {
        scale: f64,
    },
    /// Softmax over the outputs, in doubles (LightGBM multiclass).
    Softmax,
    /// `exp(s)` in doubles (LightGBM poisson, gamma, tweedie).
    Exp,
    /// `sign(s) · s²` (LightGBM regression with `reg_sqrt`).
    SignedSquare,
    /// `log1p(exp(s))` (LightGBM cross_entropy_lambda).
    Softplus,
    /// XGBoost's f32 sigmoid (`1 / (exp(min(-s, 88.7)) + 1 + 1e-16)`).
    Sigmoid32,
    /// XGBoost's f32 softmax.
    Softmax32,
    /// `expf(s)` (XGBoost poisson, gamma, tweedie).
    Exp32,
}

impl Link {
    /// Transform one row's raw scores in place.
    pub fn apply(self, s: &mut [f64]) {
        match self {
            Link::Identity => {}
            Link::Sigmoid { scale } => {
                for v in s {
                    *v = 1.0 / (1.0 + (-scale * *v).exp());
                }
            }
            Link::Softmax => {
                let mx = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut sum = 0.0;
                for v in s.iter_mut() {
                    *v = (*v - mx).exp();
                    sum += *v;
                }
                for v in s.iter_mut() {
                    *v /= sum;
                }
            }
            Link::Exp => s.iter_mut().for_each(|v| *v = v.exp()),
            Link::SignedSquare => s.iter_mut().for_each(|v| *v = v.signum() * *v * *v),
            Link::Softplus => s.iter_mut().for_each(|v| *v = v.exp().ln_1p()),
            Link::Sigmoid32 => {
                for v in s {
                    let x = (-(*v as f32)).min(88.7f32);
                    let denom = x.exp() + 1.0f32 + 1e-16f32;
                    *v = (1.0f32 / denom) as f64;
                }
            }
            Link::Softmax32 => {
                let mut mx = f32::NEG_INFINITY;
                for v in s.iter() {
                    mx = mx.max(*v as f32);
                }
                let mut sum = 0f64;
                for v in s.iter_mut() {
                    let e = (*v as f32 - mx).exp();
                    *v = e as f64;
                    sum += e as f64;
                }
                let sum = sum as f32;
                for v in s.iter_mut() {
                    *v = (*v as f32 / sum) as f64;
                }
            }
            Link::Exp32 => s.iter_mut().for_each(|v| *v = (*v as f32).exp() as f64),
        }
    }
}

/// Node flags (low byte of [`Node::flags`]); the categorical set's index sits above.
pub(crate) const LEAF: u32 = 1;
pub(crate) const CAT: u32 = 2;
/// Missing values (`NaN`) go left.
pub(crate) const NAN_LEFT: u32 = 4;
/// Zero goes the other way than `0 <= threshold` says (LightGBM's zero-as-missing).
pub(crate) const ZERO_FLIP: u32 = 8;
/// Categories in the set go right (XGBoost) rather than left (LightGBM).
pub(crate) const CAT_INVERT: u32 = 16;
pub(crate) const SET_SHIFT: u32 = 8;

/// One node of the flat arrays. A numeric split sends `x` left when `x <= value`
/// (inputs were prepared by [`ImportedModel::prepare`]; an XGBoost `x < t` on f32 is
/// stored as `x <= next_down(t)`), with [`NAN_LEFT`] and [`ZERO_FLIP`] for the
/// special values. A leaf holds its value and points to itself.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub value: f64,
    pub feature: u32,
    pub flags: u32,
    pub left: u32,
    pub right: u32,
}

impl Node {
    pub(crate) fn leaf(at: u32, value: f64) -> Self {
        Node {
            value,
            feature: 0,
            flags: LEAF,
            left: at,
            right: at,
        }
    }

    #[inline(always)]
    pub(crate) fn is_leaf(&self) -> bool {
        self.flags & LEAF != 0
    }
}

/// A tree ensemble imported from LightGBM or XGBoost. Trees are contiguous runs of
/// `nodes` starting at `roots[t]`, children always after their parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportedModel {
    pub source: Source,
    /// The objective as the file names it (e.g. `binary sigmoid:1`, `reg:squarederror`).
    pub objective: String,
    pub target: String,
    pub task: Task,
    pub classes: Vec<String>,
    /// Categorical features with category names are `Categorical` (a column of text is
    /// mapped by value); every other feature, category codes included, is read as
    /// numbers.
    pub features: Vec<Feature>,
    /// Whether each feature is categorical (its number is a category code).
    pub codes: Vec<bool>,
    pub(crate) link: Link,
    /// LightGBM random forests: the summed scores are divided by the iterations.
    pub(crate) average: Option<f64>,
    /// The starting raw score of each output.
    pub(crate) base: Vec<f64>,
    pub(crate) roots: Vec<u32>,
    /// The output (class) each tree adds to.
    pub(crate) groups: Vec<u32>,
    pub(crate) nodes: Vec<Node>,
    /// Each categorical split's bitset: a range of `words`.
    pub(crate) sets: Vec<[u32; 2]>,
    pub(crate) words: Vec<u32>,
    /// `(total gain, splits)` per feature.
    pub(crate) gains: Vec<(f64, u32)>,
}

fn corrupt(msg: String) -> Error {
    Error::input(format!("corrupted imported model: {msg}"))
}

impl ImportedModel {
    /// Outputs per row: the number of classes for multiclass, else 1.
    pub fn n_out(&self) -> usize {
        if self.task == Task::Multiclass {
            self.classes.len()
        } else {
            1
        }
    }

    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    pub fn n_leaves(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_leaf()).count()
    }

    /// Width of a prepared row (at least 1, so a leaf's feature slot always exists).
    pub(crate) fn width(&self) -> usize {
        self.features.len().max(1)
    }

    /// The range of tree `t`'s nodes.
    pub(crate) fn tree_range(&self, t: usize) -> (usize, usize) {
        let a = self.roots.get(t).map_or(0, |&r| r as usize);
        let b = self
            .roots
            .get(t + 1)
            .map_or(self.nodes.len(), |&r| r as usize);
        (a, b)
    }

    /// Every structural rule the predictor relies on; run after import and on load.
    pub fn check(&self) -> Result<()> {
        let k = self.n_out();
        let classes_ok = match self.task {
            Task::Regression => self.classes.is_empty(),
            Task::Binary => self.classes.len() == 2,
            Task::Multiclass => self.classes.len() >= 2,
        };
        if !classes_ok {
            return Err(corrupt(format!(
                "a {} model with {} classes",
                self.task.name(),
                self.classes.len()
            )));
        }
        if self.codes.len() != self.features.len()
            || self.gains.len() != self.features.len()
            || self.base.len() != k
            || self.groups.len() != self.roots.len()
        {
            return Err(corrupt("inconsistent lengths".into()));
        }
        if let Some(a) = self.average
            && !(a.is_finite() && a > 0.0)
        {
            return Err(corrupt(format!("averaging over {a} iterations")));
        }
        if self.roots.first().is_some_and(|&r| r != 0) {
            return Err(corrupt("the first tree does not start at node 0".into()));
        }
        if self.roots.windows(2).any(|w| w[0] >= w[1])
            || self
                .roots
                .last()
                .is_some_and(|&r| r as usize >= self.nodes.len())
        {
            return Err(corrupt("tree offsets out of order".into()));
        }
        if self.groups.iter().any(|&g| g as usize >= k) {
            return Err(corrupt("a tree's class is out of range".into()));
        }
        for s in &self.sets {
            if s[0] > s[1] || s[1] as usize > self.words.len() {
                return Err(corrupt("a categorical set outside its bitsets".into()));
            }
        }
        let nf = self.features.len();
        if nf > MAX_FEATURES {
            return Err(corrupt(format!("{nf} features")));
        }
        for t in 0..self.roots.len() {
            let (a, b) = self.tree_range(t);
            for (i, n) in self.nodes.iter().enumerate().take(b).skip(a) {
                let i32_ = i as u32;
                if n.is_leaf() {
                    if n.left != i32_ || n.right != i32_ || n.feature != 0 || n.flags != LEAF {
                        return Err(corrupt(format!("tree {t}: a malformed leaf")));
                    }
                    continue;
                }
                // The left child comes next (depth-first layout; the batch walk relies on it).
                let child_ok = |c: u32| c > i32_ && (c as usize) < b;
                if n.left != i32_ + 1
                    || !child_ok(n.left)
                    || !child_ok(n.right)
                    || n.feature as usize >= nf
                {
                    return Err(corrupt(format!(
                        "tree {t}: node {} has children or feature out of range",
                        i - a
                    )));
                }
                // A zero flip sends zero the way `NaN` goes (LightGBM's Zero type).
                if n.flags & ZERO_FLIP != 0
                    && (n.flags & CAT != 0 || (0.0 <= n.value) == (n.flags & NAN_LEFT != 0))
                {
                    return Err(corrupt(format!("tree {t}: a malformed zero rule")));
                }
                if n.flags & CAT != 0 && (n.flags >> SET_SHIFT) as usize >= self.sets.len() {
                    return Err(corrupt(format!("tree {t}: a categorical set out of range")));
                }
            }
        }
        for (f, c) in self.features.iter().zip(&self.codes) {
            if f.is_categorical() && !c {
                return Err(corrupt(format!(
                    "feature '{}' has categories but no codes",
                    f.name
                )));
            }
        }
        Ok(())
    }

    /// A raw input value as the source library sees it: LightGBM treats magnitudes up
    /// to [`K_ZERO`] as zero; XGBoost rounds to f32 and takes a negative category code
    /// as invalid (`-1`, never in a set).
    #[inline]
    pub fn prepare(&self, feature: usize, x: f64) -> f64 {
        match self.source {
            Source::LightGbm => {
                if x.abs() <= K_ZERO {
                    0.0
                } else {
                    x
                }
            }
            Source::XgBoost => {
                let v = x as f32 as f64;
                if v < 0.0 && self.codes.get(feature).copied().unwrap_or(false) {
                    -1.0
                } else {
                    v
                }
            }
        }
    }

    /// The model's code of a category of a feature with category names (what
    /// [`Self::predict_raw_row`] expects in that feature's slot), `None` if unknown.
    pub fn category_index(&self, feature: usize, category: &str) -> Option<usize> {
        match &self.features.get(feature)?.kind {
            FeatureKind::Categorical { categories } => {
                categories.iter().position(|c| c == category)
            }
            FeatureKind::Numeric { .. } => None,
        }
    }

    /// The feature values of `table`, row-major, prepared ([`Self::prepare`]): columns
    /// matched by name; category names mapped to codes, unknown ones missing.
    pub fn matrix(&self, table: &Table) -> Result<Vec<f64>> {
        let n = table.n_rows();
        let nf = self.width();
        let mut cols: Vec<Vec<f64>> = Vec::with_capacity(self.features.len());
        for (fi, f) in self.features.iter().enumerate() {
            let col = table
                .column(&f.name)
                .ok_or_else(|| crate::data::missing_feature(&f.name))?;
            let mut v = match &f.kind {
                FeatureKind::Categorical { categories } => category_codes(col, categories),
                FeatureKind::Numeric { .. } => {
                    if col.column_type() == ColumnType::Categorical {
                        let why = if self.codes[fi] {
                            "the model has no category names for it, so it needs the integer codes"
                        } else {
                            "the model was trained on numbers"
                        };
                        return Err(Error::input(format!(
                            "feature column '{}' holds text but {why}",
                            f.name
                        )));
                    }
                    col.to_f64()
                }
            };
            for x in &mut v {
                *x = self.prepare(fi, *x);
            }
            cols.push(v);
        }
        let mut m = vec![0f64; n * nf];
        for (f, c) in cols.iter().enumerate() {
            for (r, &x) in c.iter().enumerate() {
                m[r * nf + f] = x;
            }
        }
        Ok(m)
    }

    /// Raw scores of every row of `table` (`n × outputs`), as the library reports them:
    /// LightGBM's `raw_score` (summed, not averaged, for random forests), XGBoost's
    /// `output_margin` (base margin plus the trees, in f32).
    pub fn predict_raw(&self, table: &Table) -> Result<Vec<f64>> {
        let m = self.matrix(table)?;
        Ok(self.raw_of_matrix(&m))
    }

    pub(crate) fn raw_of_matrix(&self, m: &[f64]) -> Vec<f64> {
        let k = self.n_out();
        let n = m.len() / self.width();
        let mut out = vec![0f64; n * k];
        super::walk::add_trees(self, m, &mut out);
        out
    }

    /// Predictions for every row of `table`: one value per row (binary: the positive
    /// class's probability; regression: the value) or one probability per class.
    pub fn predict(&self, table: &Table) -> Result<Vec<f64>> {
        let mut out = self.predict_raw(table)?;
        let k = self.n_out();
        for row in out.chunks_mut(k) {
            self.finish(row);
        }
        Ok(out)
    }

    /// From one row's raw scores to its predictions (averaging, then the link).
    pub fn finish(&self, raw: &mut [f64]) {
        if let Some(a) = self.average {
            for v in raw.iter_mut() {
                *v /= a;
            }
        }
        self.link.apply(raw);
    }

    /// One row's raw scores into `out` (one per output). `row` holds the features in
    /// model order: numbers, category codes, or [`Self::category_index`] values for
    /// features with category names (`NaN` = missing). No allocation.
    pub fn predict_raw_row(&self, row: &[f64], out: &mut [f64]) {
        super::walk::row_raw(self, row, out);
    }

    /// One row's predictions into `out` (see [`Self::predict_raw_row`]).
    pub fn predict_row(&self, row: &[f64], out: &mut [f64]) {
        self.predict_raw_row(row, out);
        self.finish(out);
    }

    /// `(feature, total gain, splits)` per feature.
    pub fn importance(&self) -> Vec<(String, f64, usize)> {
        self.features
            .iter()
            .zip(&self.gains)
            .map(|(f, &(g, s))| (f.name.clone(), g, s as usize))
            .collect()
    }
}

/// A column's values as codes of `categories` (`NaN` for missing and unknown): text by
/// value; numbers by numeric equality when the categories are numbers.
fn category_codes(col: &Column, categories: &[String]) -> Vec<f64> {
    let index: HashMap<&str, f64> = categories
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i as f64))
        .collect();
    if let Some(cat) = col.as_categorical() {
        let dict = cat.dictionary();
        let by_code: Vec<f64> = (0..cat.n_categories())
            .map(|c| index.get(dict.value(c)).copied().unwrap_or(f64::NAN))
            .collect();
        return cat
            .codes()
            .iter()
            .enumerate()
            .map(|(r, &c)| {
                if cat.is_null(r) {
                    f64::NAN
                } else {
                    by_code.get(c as usize).copied().unwrap_or(f64::NAN)
                }
            })
            .collect();
    }
    // Numbers: match by value (`3`, `3.0` and `3e0` are one category).
    let by_value: HashMap<u64, f64> = categories
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let v: f64 = c.trim().parse().ok()?;
            Some(((v + 0.0).to_bits(), i as f64))
        })
        .collect();
    col.to_f64()
        .into_iter()
        .map(|x| {
            if x.is_nan() {
                f64::NAN
            } else {
                by_value
                    .get(&(x + 0.0).to_bits())
                    .copied()
                    .unwrap_or(f64::NAN)
            }
        })
        .collect()
}
