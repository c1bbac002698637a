//! Saving and loading models as lithe model files.

use std::path::Path;

use serde_json::json;

use lithe_core::describe::Task;
use lithe_core::model_file::{self, Header};
use lithe_core::{Column, Error, Result, Table};

use crate::data::{Feature, FeatureKind};
use crate::forest::ForestModel;
use crate::gbdt::GbdtModel;
use crate::tree::Tree;

pub const KIND_GBDT: &str = "tabular.gbdt";
pub const KIND_RF: &str = "tabular.rf";

/// What the header says about a model, whatever its kind.
struct About<'a> {
    target: &'a str,
    task: Task,
    objective: Option<&'a str>,
    classes: &'a [String],
    features: &'a [Feature],
    trees: &'a [Tree],
    importance: Vec<(String, f64, usize)>,
}

/// The header fields every tabular model shares.
fn header(kind: &str, params: serde_json::Value, a: About) -> Header {
    let About {
        target,
        task,
        objective,
        classes,
        features,
        trees,
        importance,
    } = a;
    let mut h = Header::new(kind);
    h.params = params;
    h.schema = json!({
        "target": target,
        "task": task.name(),
        "objective": objective,
        "classes": classes,
        "features": features.iter().map(|f| match &f.kind {
            FeatureKind::Numeric { upper } => json!({"name": f.name, "type": "numeric", "bins": upper.len()}),
            FeatureKind::Categorical { categories } => json!({"name": f.name, "type": "categorical", "categories": categories}),
        }).collect::<Vec<_>>(),
    });
    let importance: Vec<_> = importance
        .into_iter()
        .map(|(name, gain, splits)| json!({"feature": name, "gain": gain, "splits": splits}))
        .collect();
    h.extra = json!({
        "trees": trees.len(),
        "leaves": trees.iter().map(|t| t.n_leaves()).sum::<usize>(),
        "importance": importance,
    });
    h
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::Runtime(e.to_string()))
}

fn encode<T: serde::Serialize>(m: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(m).map_err(|e| Error::Runtime(format!("encoding the model: {e}")))
}

/// The header (with `metrics` and the data fingerprint) and the encoded model, written
/// atomically.
fn write_model<P: serde::Serialize, M: serde::Serialize>(
    path: &Path,
    kind: &str,
    params: &P,
    about: About,
    metrics: serde_json::Value,
    fingerprint: Option<u64>,
    model: &M,
) -> Result<()> {
    let mut h = header(kind, to_json(params)?, about);
    h.metrics = metrics;
    h.data_fingerprint = fingerprint.map(|f| format!("{f:016x}"));
    model_file::write(path, &h, &encode(model)?)
}

/// Write a gradient-boosting model file (atomically). `metrics` and `fingerprint` go
/// in the header.
pub fn save(
    path: &Path,
    m: &GbdtModel,
    metrics: serde_json::Value,
    fingerprint: Option<u64>,
) -> Result<()> {
    let about = About {
        target: &m.target,
        task: m.task(),
        objective: Some(m.objective.name()),
        classes: &m.classes,
        features: &m.features,
        trees: &m.trees,
        importance: m.importance(),
    };
    write_model(path, KIND_GBDT, &m.params, about, metrics, fingerprint, m)
}

/// Write a random-forest model file (atomically); its out-of-bag score joins `metrics`.
pub fn save_forest(
    path: &Path,
    m: &ForestModel,
    mut metrics: serde_json::Value,
    fingerprint: Option<u64>,
) -> Result<()> {
    let about = About {
        target: &m.target,
        task: m.task,
        objective: None,
        classes: &m.classes,
        features: &m.features,
        trees: &m.trees,
        importance: m.importance(),
    };
    if let (Some(oob), Some(obj)) = (&m.oob, metrics.as_object_mut()) {
        obj.insert("oob".into(), to_json(oob)?);
    }
    write_model(path, KIND_RF, &m.params, about, metrics, fingerprint, m)
}

fn decode<T: serde::de::DeserializeOwned>(path: &Path, payload: &[u8]) -> Result<T> {
    postcard::from_bytes(payload)
        .map_err(|e| Error::input(format!("{}: corrupted model payload: {e}", path.display())))
}

/// Every tree of a model read from `path` must fit its features ([`Tree::check`]).
fn check_trees(path: &Path, trees: &[Tree], features: &[Feature], per_leaf: usize) -> Result<()> {
    for (i, t) in trees.iter().enumerate() {
        t.check(features, per_leaf).map_err(|e| {
            Error::input(format!(
                "{}: corrupted model: tree {i}: {e}",
                path.display()
            ))
        })?;
    }
    Ok(())
}

/// The classes a task needs: none for regression, two for binary, at least two for
/// multiclass.
fn check_classes(path: &Path, task: Task, classes: &[String]) -> Result<()> {
    let ok = match task {
        Task::Regression => classes.is_empty(),
        Task::Binary => classes.len() == 2,
        Task::Multiclass => classes.len() >= 2,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::input(format!(
            "{}: corrupted model: a {} model with {} classes",
            path.display(),
            task.name(),
            classes.len()
        )))
    }
}

fn decode_gbdt(path: &Path, payload: &[u8]) -> Result<GbdtModel> {
    let m: GbdtModel = decode(path, payload)?;
    check_classes(path, m.task(), &m.classes)?;
    let k = m.n_class_trees();
    if m.init.len() != k || !m.trees.len().is_multiple_of(k) {
        return Err(Error::input(format!(
            "{}: corrupted model: {} initial scores and {} trees for {k} trees per round",
            path.display(),
            m.init.len(),
            m.trees.len()
        )));
    }
    check_trees(path, &m.trees, &m.features, 1)?;
    Ok(m)
}

fn decode_forest(path: &Path, payload: &[u8]) -> Result<ForestModel> {
    let m: ForestModel = decode(path, payload)?;
    check_classes(path, m.task, &m.classes)?;
    let n_out = if m.task == Task::Multiclass {
        m.classes.len()
    } else {
        1
    };
    if m.n_out != n_out {
        return Err(Error::input(format!(
            "{}: corrupted model: {} values per leaf for a {} model with {} classes",
            path.display(),
            m.n_out,
            m.task.name(),
            m.classes.len()
        )));
    }
    check_trees(path, &m.trees, &m.features, m.n_out)?;
    Ok(m)
}

/// Read a gradient-boosting model file.
pub fn load(path: &Path) -> Result<GbdtModel> {
    let f = model_file::read_kind(path, KIND_GBDT)?;
    decode_gbdt(path, &f.payload)
}

/// A tabular model of either kind, for code that predicts without caring which.
#[derive(Debug, Clone, PartialEq)]
pub enum TabularModel {
    Gbdt(GbdtModel),
    Forest(ForestModel),
}

impl TabularModel {
    pub fn kind(&self) -> &'static str {
        match self {
            TabularModel::Gbdt(_) => KIND_GBDT,
            TabularModel::Forest(_) => KIND_RF,
        }
    }

    pub fn task(&self) -> Task {
        match self {
            TabularModel::Gbdt(m) => m.task(),
            TabularModel::Forest(m) => m.task,
        }
    }

    pub fn target(&self) -> &str {
        match self {
            TabularModel::Gbdt(m) => &m.target,
            TabularModel::Forest(m) => &m.target,
        }
    }

    pub fn classes(&self) -> &[String] {
        match self {
            TabularModel::Gbdt(m) => &m.classes,
            TabularModel::Forest(m) => &m.classes,
        }
    }

    pub fn features(&self) -> &[Feature] {
        match self {
            TabularModel::Gbdt(m) => &m.features,
            TabularModel::Forest(m) => &m.features,
        }
    }

    pub fn trees(&self) -> &[Tree] {
        match self {
            TabularModel::Gbdt(m) => &m.trees,
            TabularModel::Forest(m) => &m.trees,
        }
    }

    /// One value per row (binary: positive-class probability; regression: value) or
    /// one probability per class (multiclass), in row order.
    pub fn predict(&self, table: &Table) -> Result<Vec<f64>> {
        match self {
            TabularModel::Gbdt(m) => m.predict(table),
            TabularModel::Forest(m) => m.predict(table),
        }
    }

    pub fn class_indices(&self, col: &Column) -> Result<Vec<f64>> {
        match self {
            TabularModel::Gbdt(m) => m.class_indices(col),
            TabularModel::Forest(m) => m.class_indices(col),
        }
    }

    pub fn importance(&self) -> Vec<(String, f64, usize)> {
        match self {
            TabularModel::Gbdt(m) => m.importance(),
            TabularModel::Forest(m) => m.importance(),
        }
    }
}

/// Read a tabular model file of any kind.
pub fn load_any(path: &Path) -> Result<TabularModel> {
    let f = model_file::read_kind(path, "tabular.*")?;
    match f.kind.as_str() {
        KIND_GBDT => Ok(TabularModel::Gbdt(decode_gbdt(path, &f.payload)?)),
        KIND_RF => Ok(TabularModel::Forest(decode_forest(path, &f.payload)?)),
        other => Err(Error::input(format!(
            "{}: a '{other}' model is not one this version of lithe can use (it knows {KIND_GBDT} and {KIND_RF})",
            path.display()
        ))),
    }
}
