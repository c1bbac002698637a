//! The front-end-neutral API of the tree ensembles: fit on a [`Table`], predict to a
//! [`Table`], evaluate to metrics, save and load. The CLI, the Python package and the
//! server call these and nothing below them, so the prediction layout and the metrics
//! per task are decided here, once.

use std::collections::BTreeMap;
use std::path::Path;

use lithe_core::describe::Task;
use lithe_core::params::{ParamValue, Spec};
use lithe_core::{Column, Error, Result, Table};

use crate::data::Feature;
use crate::forest::{ForestModel, ForestParams};
use crate::gbdt::{FitReport, GbdtModel};
use crate::import::ImportedModel;
use crate::params::{GbdtParams, Objective};
use crate::tree::Tree;
use crate::weights::Weights;

/// What every fitted tree ensemble answers; [`TabularModel`] is one of them.
pub trait Ensemble {
    fn task(&self) -> Task;
    /// The column the model predicts.
    fn target(&self) -> &str;
    /// Class labels (binary: `[negative, positive]`), empty for regression.
    fn classes(&self) -> &[String];
    fn features(&self) -> &[Feature];
    fn n_trees(&self) -> usize;
    fn n_leaves(&self) -> usize;
    /// One value per row (binary: positive-class probability; regression: value) or
    /// one probability per class (multiclass), in row order.
    fn predict(&self, table: &Table) -> Result<Vec<f64>>;
    /// The target as class indices; `NaN` where missing, an error on unseen labels.
    fn class_indices(&self, col: &Column) -> Result<Vec<f64>>;
    /// `(feature, total gain, splits)` per feature.
    fn importance(&self) -> Vec<(String, f64, usize)>;
}

impl Ensemble for GbdtModel {
    fn task(&self) -> Task {
        GbdtModel::task(self)
    }
    fn target(&self) -> &str {
        &self.target
    }
    fn classes(&self) -> &[String] {
        &self.classes
    }
    fn features(&self) -> &[Feature] {
        &self.features
    }
    fn n_trees(&self) -> usize {
        self.trees.len()
    }
    fn n_leaves(&self) -> usize {
        self.trees.iter().map(Tree::n_leaves).sum()
    }
    fn predict(&self, table: &Table) -> Result<Vec<f64>> {
        GbdtModel::predict(self, table)
    }
    fn class_indices(&self, col: &Column) -> Result<Vec<f64>> {
        GbdtModel::class_indices(self, col)
    }
    fn importance(&self) -> Vec<(String, f64, usize)> {
        GbdtModel::importance(self)
    }
}

impl Ensemble for ForestModel {
    fn task(&self) -> Task {
        self.task
    }
    fn target(&self) -> &str {
        &self.target
    }
    fn classes(&self) -> &[String] {
        &self.classes
    }
    fn features(&self) -> &[Feature] {
        &self.features
    }
    fn n_trees(&self) -> usize {
        self.trees.len()
    }
    fn n_leaves(&self) -> usize {
        self.trees.iter().map(Tree::n_leaves).sum()
    }
    fn predict(&self, table: &Table) -> Result<Vec<f64>> {
        ForestModel::predict(self, table)
    }
    fn class_indices(&self, col: &Column) -> Result<Vec<f64>> {
        ForestModel::class_indices(self, col)
    }
    fn importance(&self) -> Vec<(String, f64, usize)> {
        ForestModel::importance(self)
    }
}

impl Ensemble for ImportedModel {
    fn task(&self) -> Task {
        self.task
    }
    fn target(&self) -> &str {
        &self.target
    }
    fn classes(&self) -> &[String] {
        &self.classes
    }
    fn features(&self) -> &[Feature] {
        &self.features
    }
    fn n_trees(&self) -> usize {
        ImportedModel::n_trees(self)
    }
    fn n_leaves(&self) -> usize {
        ImportedModel::n_leaves(self)
    }
    fn predict(&self, table: &Table) -> Result<Vec<f64>> {
        ImportedModel::predict(self, table)
    }
    fn class_indices(&self, col: &Column) -> Result<Vec<f64>> {
        crate::gbdt::class_indices(col, &self.classes)
    }
    fn importance(&self) -> Vec<(String, f64, usize)> {
        ImportedModel::importance(self)
    }
}

/// The learner and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum TabularParams {
    Gbdt(GbdtParams),
    Forest(ForestParams),
}

impl TabularParams {
    /// `gbdt` or `rf` with these parameter values (by name or Python alias) over the
    /// defaults; validated.
    pub fn from_values<'a>(
        model: &str,
        values: impl IntoIterator<Item = (&'a str, ParamValue)>,
    ) -> Result<Self> {
        match model {
            "gbdt" => Ok(TabularParams::Gbdt(GbdtParams::from_values(values)?)),
            "rf" => Ok(TabularParams::Forest(ForestParams::from_values(values)?)),
            other => Err(Error::input(format!(
                "unknown model '{other}'; choose gbdt or rf"
            ))),
        }
    }

    /// Set the task: gradient boosting takes the task's objective unless one was
    /// given (and refuses one that does not fit); a forest takes the task itself.
    pub fn with_task(mut self, task: Task) -> Result<Self> {
        match &mut self {
            TabularParams::Gbdt(p) => match p.objective {
                Some(o) if o.task() != task => {
                    return Err(Error::param(
                        "objective",
                        format!("{} does not fit the task {}", o.name(), task.name()),
                    ));
                }
                Some(_) => {}
                None => p.objective = Some(Objective::for_task(task)),
            },
            TabularParams::Forest(p) => p.task = Some(task),
        }
        Ok(self)
    }

    /// Boosting rounds or trees: the units of the progress count.
    pub fn steps(&self) -> usize {
        match self {
            TabularParams::Gbdt(p) => p.rounds,
            TabularParams::Forest(p) => p.trees,
        }
    }
}

/// What training reports besides the model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FitSummary {
    /// Gradient boosting's rounds, validation history and stopping reason.
    pub report: Option<FitReport>,
}

/// Train on `table`, predicting column `target` from every other column. `valid` is
/// gradient boosting's validation table (scored every round, and early stopping's
/// judge); `progress(step)` is called after each round or tree.
pub fn fit(
    params: &TabularParams,
    table: &Table,
    target: &str,
    valid: Option<&Table>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<(TabularModel, FitSummary)> {
    fit_weighted(params, table, target, valid, Weights::default(), progress)
}

/// [`fit`] with row weights (scikit-learn's and LightGBM's `sample_weight`): one
/// finite, non-negative weight per row of `table`, and optionally of `valid`.
/// Gradient boosting weighs each row's gradient and hessian, as LightGBM does; a
/// forest multiplies each row's bootstrap count by its weight, as scikit-learn does.
/// No weights and unit weights give the same model.
pub fn fit_weighted(
    params: &TabularParams,
    table: &Table,
    target: &str,
    valid: Option<&Table>,
    weights: Weights<'_>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<(TabularModel, FitSummary)> {
    match params {
        TabularParams::Gbdt(p) => {
            let (m, report) = GbdtModel::fit_weighted(p, table, target, valid, weights, progress)?;
            Ok((
                TabularModel::Gbdt(m),
                FitSummary {
                    report: Some(report),
                },
            ))
        }
        TabularParams::Forest(p) => {
            if valid.is_some() || weights.valid.is_some() {
                return Err(Error::input(
                    "a validation set applies to gradient boosting only (a random forest \
                     scores itself out of bag)",
                ));
            }
            let m = ForestModel::fit_weighted(p, table, target, weights.train, progress)?;
            Ok((TabularModel::Forest(m), FitSummary::default()))
        }
    }
}

/// A tabular model of any kind, for code that predicts without caring which.
#[derive(Debug, Clone, PartialEq)]
pub enum TabularModel {
    Gbdt(GbdtModel),
    Forest(ForestModel),
    /// A LightGBM or XGBoost model (`lithe tabular import`).
    Imported(ImportedModel),
}

/// Metrics by name (`null` where a metric is undefined, e.g. AUC on one class).
pub type Metrics = BTreeMap<&'static str, Option<f64>>;

fn argmax(r: &[f64]) -> usize {
    r.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |x| x.0)
}

impl TabularModel {
    /// The model as its [`Ensemble`] face.
    pub fn ensemble(&self) -> &dyn Ensemble {
        match self {
            TabularModel::Gbdt(m) => m,
            TabularModel::Forest(m) => m,
            TabularModel::Imported(m) => m,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            TabularModel::Gbdt(_) => crate::KIND_GBDT,
            TabularModel::Forest(_) => crate::KIND_RF,
            TabularModel::Imported(_) => crate::KIND_IMPORTED,
        }
    }

    pub fn task(&self) -> Task {
        self.ensemble().task()
    }

    pub fn target(&self) -> &str {
        self.ensemble().target()
    }

    pub fn classes(&self) -> &[String] {
        self.ensemble().classes()
    }

    pub fn features(&self) -> &[Feature] {
        self.ensemble().features()
    }

    pub fn n_trees(&self) -> usize {
        self.ensemble().n_trees()
    }

    pub fn n_leaves(&self) -> usize {
        self.ensemble().n_leaves()
    }

    /// See [`Ensemble::predict`].
    pub fn predict(&self, table: &Table) -> Result<Vec<f64>> {
        self.ensemble().predict(table)
    }

    pub fn class_indices(&self, col: &Column) -> Result<Vec<f64>> {
        self.ensemble().class_indices(col)
    }

    pub fn importance(&self) -> Vec<(String, f64, usize)> {
        self.ensemble().importance()
    }

    /// The parameters as the model header stores them.
    pub fn params_json(&self) -> Result<serde_json::Value> {
        let v = match self {
            TabularModel::Gbdt(m) => serde_json::to_value(&m.params),
            TabularModel::Forest(m) => serde_json::to_value(&m.params),
            TabularModel::Imported(m) => Ok(crate::model_io::imported_params(m)),
        };
        v.map_err(|e| Error::Runtime(e.to_string()))
    }

    /// The prediction table, one row per input row in input order: `prediction` (the
    /// positive-class probability, the value, or for multiclass the most likely label)
    /// and for multiclass `p_<label>` per class.
    pub fn predict_table(&self, table: &Table) -> Result<Table> {
        let pred = self.predict(table)?;
        self.prediction_table(pred, table.n_rows())
    }

    /// The prediction table of [`Self::predict_table`] from [`Self::predict`]'s values
    /// for `n` rows.
    pub fn prediction_table(&self, pred: Vec<f64>, n: usize) -> Result<Table> {
        let columns = match self.task() {
            Task::Binary | Task::Regression => vec![Column::from_f64("prediction", pred)],
            Task::Multiclass => {
                let classes = self.classes();
                let k = classes.len();
                let labels: Vec<Option<&str>> = pred
                    .chunks(k)
                    .map(|r| Some(classes[argmax(r)].as_str()))
                    .collect();
                let mut cols = vec![Column::from_strings("prediction", &labels)?];
                for (c, label) in classes.iter().enumerate() {
                    cols.push(Column::from_f64(
                        format!("p_{label}"),
                        (0..n).map(|i| pred[i * k + c]).collect(),
                    ));
                }
                cols
            }
        };
        Table::new(columns)
    }

    /// The target column as the metrics read it: class indices (classification) or
    /// values (regression); `NaN` where missing.
    pub fn truth(&self, col: &Column) -> Result<Vec<f64>> {
        if self.task() == Task::Regression {
            return crate::gbdt::numeric_target(col);
        }
        self.class_indices(col)
    }

    /// The metrics of the model on a labelled table (rows with a missing target are
    /// left out): binary `auc`, `logloss`, `accuracy`; multiclass `accuracy`,
    /// `logloss`; regression `rmse`, `mae`, `r2`.
    pub fn evaluate(&self, table: &Table) -> Result<Metrics> {
        let target = table.require(self.target())?;
        let pred = self.predict(table)?;
        let truth = self.truth(target)?;
        let keep: Vec<usize> = (0..truth.len()).filter(|&i| !truth[i].is_nan()).collect();
        if keep.is_empty() {
            return Err(Error::input(format!(
                "target column '{}' has every value missing",
                self.target()
            )));
        }
        use lithe_core::metrics as m;
        let mut out = Metrics::new();
        match self.task() {
            Task::Binary => {
                let y: Vec<f64> = keep.iter().map(|&i| truth[i]).collect();
                let p: Vec<f64> = keep.iter().map(|&i| pred[i]).collect();
                out.insert("auc", m::auc(&y, &p).ok());
                out.insert("logloss", Some(m::logloss(&y, &p)?));
                out.insert("accuracy", Some(m::binary_accuracy(&y, &p)?));
            }
            Task::Multiclass => {
                let k = self.classes().len();
                let y: Vec<usize> = keep.iter().map(|&i| truth[i] as usize).collect();
                let p: Vec<f64> = keep
                    .iter()
                    .flat_map(|&i| pred[i * k..(i + 1) * k].iter().copied())
                    .collect();
                let best: Vec<usize> = p.chunks(k).map(argmax).collect();
                out.insert("accuracy", Some(m::accuracy(&y, &best)?));
                out.insert("logloss", Some(m::multiclass_logloss(&y, &p, k)?));
            }
            Task::Regression => {
                let y: Vec<f64> = keep.iter().map(|&i| truth[i]).collect();
                let p: Vec<f64> = keep.iter().map(|&i| pred[i]).collect();
                out.insert("rmse", Some(m::rmse(&y, &p)?));
                out.insert("mae", Some(m::mae(&y, &p)?));
                out.insert("r2", Some(m::r2(&y, &p)?));
            }
        }
        Ok(out)
    }

    /// Write the model file (atomically); `metrics` and the training data's
    /// fingerprint go in its header.
    pub fn save(
        &self,
        path: &Path,
        metrics: serde_json::Value,
        fingerprint: Option<u64>,
    ) -> Result<()> {
        match self {
            TabularModel::Gbdt(m) => crate::save(path, m, metrics, fingerprint),
            TabularModel::Forest(m) => crate::save_forest(path, m, metrics, fingerprint),
            TabularModel::Imported(m) => crate::save_imported(path, m, metrics),
        }
    }

    /// The model file's bytes (what [`Self::save`] writes), for front ends that keep
    /// models in memory (pickling).
    pub fn to_bytes(&self, metrics: serde_json::Value) -> Result<Vec<u8>> {
        crate::model_io::model_bytes(self, metrics, None)
    }

    /// A model from a model file's bytes (what [`Self::to_bytes`] gives).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        crate::model_io::from_bytes(bytes, "model")
    }
}
