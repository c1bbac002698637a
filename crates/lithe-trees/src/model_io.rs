//! Saving and loading models as lithe model files.

use std::path::Path;

use serde_json::json;

use lithe_core::describe::Task;
use lithe_core::model_file::{self, Header};
use lithe_core::{Error, Result};

use crate::api::TabularModel;

use crate::data::{Feature, FeatureKind};
use crate::forest::ForestModel;
use crate::gbdt::GbdtModel;
use crate::import::ImportedModel;
use crate::tree::Tree;

pub const KIND_GBDT: &str = "tabular.gbdt";
pub const KIND_RF: &str = "tabular.rf";
/// A LightGBM or XGBoost model imported by `lithe tabular import`.
pub const KIND_IMPORTED: &str = "tabular.imported";

/// What the header says about a model, whatever its kind.
struct About<'a> {
    target: &'a str,
    task: Task,
    objective: Option<&'a str>,
    classes: &'a [String],
    features: &'a [Feature],
    trees: usize,
    leaves: usize,
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
        leaves,
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
            FeatureKind::Numeric { upper } if upper.is_empty() => json!({"name": f.name, "type": "numeric"}),
            FeatureKind::Numeric { upper } => json!({"name": f.name, "type": "numeric", "bins": upper.len()}),
            FeatureKind::Categorical { categories } => json!({"name": f.name, "type": "categorical", "categories": categories}),
        }).collect::<Vec<_>>(),
    });
    let importance: Vec<_> = importance
        .into_iter()
        .map(|(name, gain, splits)| json!({"feature": name, "gain": gain, "splits": splits}))
        .collect();
    h.extra = json!({
        "trees": trees,
        "leaves": leaves,
        "importance": importance,
    });
    h
}

fn leaves(trees: &[Tree]) -> usize {
    trees.iter().map(|t| t.n_leaves()).sum()
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| Error::Runtime(e.to_string()))
}

fn encode<T: serde::Serialize>(m: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(m).map_err(|e| Error::Runtime(format!("encoding the model: {e}")))
}

fn finish(mut h: Header, metrics: serde_json::Value, fingerprint: Option<u64>) -> Header {
    h.metrics = metrics;
    h.data_fingerprint = fingerprint.map(|f| format!("{f:016x}"));
    h
}

fn gbdt_header(m: &GbdtModel, metrics: serde_json::Value, fp: Option<u64>) -> Result<Header> {
    let about = About {
        target: &m.target,
        task: m.task(),
        objective: Some(m.objective.name()),
        classes: &m.classes,
        features: &m.features,
        trees: m.trees.len(),
        leaves: leaves(&m.trees),
        importance: m.importance(),
    };
    Ok(finish(
        header(KIND_GBDT, to_json(&m.params)?, about),
        metrics,
        fp,
    ))
}

fn forest_header(
    m: &ForestModel,
    mut metrics: serde_json::Value,
    fp: Option<u64>,
) -> Result<Header> {
    let about = About {
        target: &m.target,
        task: m.task,
        objective: None,
        classes: &m.classes,
        features: &m.features,
        trees: m.trees.len(),
        leaves: leaves(&m.trees),
        importance: m.importance(),
    };
    // The out-of-bag score joins the metrics.
    if let (Some(oob), Some(obj)) = (&m.oob, metrics.as_object_mut()) {
        obj.insert("oob".into(), to_json(oob)?);
    }
    Ok(finish(
        header(KIND_RF, to_json(&m.params)?, about),
        metrics,
        fp,
    ))
}

fn imported_header(m: &ImportedModel, metrics: serde_json::Value) -> Result<Header> {
    let about = About {
        target: &m.target,
        task: m.task,
        objective: Some(&m.objective),
        classes: &m.classes,
        features: &m.features,
        trees: m.n_trees(),
        leaves: m.n_leaves(),
        importance: m.importance(),
    };
    let mut h = header(KIND_IMPORTED, imported_params(m), about);
    if let Some(s) = h.schema.get_mut("features").and_then(|f| f.as_array_mut()) {
        for (f, code) in s.iter_mut().zip(&m.codes) {
            if *code && f.get("type").and_then(|t| t.as_str()) == Some("numeric") {
                f["type"] = json!("category_code");
            }
        }
    }
    Ok(finish(h, metrics, None))
}

/// What the header says of an imported model's origin.
pub(crate) fn imported_params(m: &ImportedModel) -> serde_json::Value {
    json!({"source": m.source.name(), "objective": m.objective})
}

/// Write an imported model's file (atomically).
pub fn save_imported(path: &Path, m: &ImportedModel, metrics: serde_json::Value) -> Result<()> {
    model_file::write(path, &imported_header(m, metrics)?, &encode(m)?)
}

/// Write a gradient-boosting model file (atomically). `metrics` and `fingerprint` go
/// in the header.
pub fn save(
    path: &Path,
    m: &GbdtModel,
    metrics: serde_json::Value,
    fingerprint: Option<u64>,
) -> Result<()> {
    model_file::write(path, &gbdt_header(m, metrics, fingerprint)?, &encode(m)?)
}

/// Write a random-forest model file (atomically); its out-of-bag score joins `metrics`.
pub fn save_forest(
    path: &Path,
    m: &ForestModel,
    metrics: serde_json::Value,
    fingerprint: Option<u64>,
) -> Result<()> {
    model_file::write(path, &forest_header(m, metrics, fingerprint)?, &encode(m)?)
}

fn decode<T: serde::de::DeserializeOwned>(name: &str, payload: &[u8]) -> Result<T> {
    postcard::from_bytes(payload)
        .map_err(|e| Error::input(format!("{name}: corrupted model payload: {e}")))
}

/// Every tree of a model read from `path` must fit its features ([`Tree::check`]).
fn check_trees(name: &str, trees: &[Tree], features: &[Feature], per_leaf: usize) -> Result<()> {
    for (i, t) in trees.iter().enumerate() {
        t.check(features, per_leaf)
            .map_err(|e| Error::input(format!("{name}: corrupted model: tree {i}: {e}")))?;
    }
    Ok(())
}

/// The classes a task needs: none for regression, two for binary, at least two for
/// multiclass.
fn check_classes(name: &str, task: Task, classes: &[String]) -> Result<()> {
    let ok = match task {
        Task::Regression => classes.is_empty(),
        Task::Binary => classes.len() == 2,
        Task::Multiclass => classes.len() >= 2,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::input(format!(
            "{name}: corrupted model: a {} model with {} classes",
            task.name(),
            classes.len()
        )))
    }
}

fn decode_gbdt(name: &str, payload: &[u8]) -> Result<GbdtModel> {
    let m: GbdtModel = decode(name, payload)?;
    check_classes(name, m.task(), &m.classes)?;
    let k = m.n_class_trees();
    if m.init.len() != k || !m.trees.len().is_multiple_of(k) {
        return Err(Error::input(format!(
            "{name}: corrupted model: {} initial scores and {} trees for {k} trees per round",
            m.init.len(),
            m.trees.len()
        )));
    }
    check_trees(name, &m.trees, &m.features, 1)?;
    Ok(m)
}

fn decode_forest(name: &str, payload: &[u8]) -> Result<ForestModel> {
    let m: ForestModel = decode(name, payload)?;
    check_classes(name, m.task, &m.classes)?;
    let n_out = if m.task == Task::Multiclass {
        m.classes.len()
    } else {
        1
    };
    if m.n_out != n_out {
        return Err(Error::input(format!(
            "{name}: corrupted model: {} values per leaf for a {} model with {} classes",
            m.n_out,
            m.task.name(),
            m.classes.len()
        )));
    }
    check_trees(name, &m.trees, &m.features, m.n_out)?;
    Ok(m)
}

/// Read a gradient-boosting model file.
pub fn load(path: &Path) -> Result<GbdtModel> {
    let f = model_file::read_kind(path, KIND_GBDT)?;
    decode_gbdt(&path.display().to_string(), &f.payload)
}

/// Read a tabular model file of any kind.
pub fn load_any(path: &Path) -> Result<TabularModel> {
    let f = model_file::read_kind(path, "tabular.*")?;
    decode_any(&f, &path.display().to_string())
}

/// A tabular model from model-file bytes (as [`model_bytes`] makes); `name` is used in
/// messages.
pub fn from_bytes(bytes: &[u8], name: &str) -> Result<TabularModel> {
    let f = model_file::decode(bytes, name)?;
    if f.kind.split('.').next() != Some("tabular") {
        return Err(Error::input(format!(
            "{name}: this is a '{}' model, but a 'tabular.*' model is needed here",
            f.kind
        )));
    }
    decode_any(&f, name)
}

fn decode_any(f: &model_file::ModelFile, name: &str) -> Result<TabularModel> {
    match f.kind.as_str() {
        KIND_GBDT => Ok(TabularModel::Gbdt(decode_gbdt(name, &f.payload)?)),
        KIND_RF => Ok(TabularModel::Forest(decode_forest(name, &f.payload)?)),
        KIND_IMPORTED => {
            let m: ImportedModel = decode(name, &f.payload)?;
            m.check()
                .map_err(|e| Error::input(format!("{name}: {e}")))?;
            Ok(TabularModel::Imported(m))
        }
        other => Err(Error::input(format!(
            "{name}: a '{other}' model is not one this version of lithe can use (it knows {KIND_GBDT}, {KIND_RF} and {KIND_IMPORTED})"
        ))),
    }
}

/// The bytes of the model file [`save`] or [`save_forest`] would write.
pub fn model_bytes(
    m: &TabularModel,
    metrics: serde_json::Value,
    fingerprint: Option<u64>,
) -> Result<Vec<u8>> {
    let (h, payload) = match m {
        TabularModel::Gbdt(m) => (gbdt_header(m, metrics, fingerprint)?, encode(m)?),
        TabularModel::Forest(m) => (forest_header(m, metrics, fingerprint)?, encode(m)?),
        TabularModel::Imported(m) => (imported_header(m, metrics)?, encode(m)?),
    };
    model_file::encode(&h, &payload)
}
