//! Saving and loading models as lithe model files.

use std::path::Path;

use serde_json::json;

use lithe_core::model_file::{self, Header};
use lithe_core::{Error, Result};

use crate::data::FeatureKind;
use crate::gbdt::GbdtModel;

pub const KIND_GBDT: &str = "tabular.gbdt";

/// Write a model file (atomically). `metrics` and `fingerprint` go in the header.
pub fn save(
    path: &Path,
    m: &GbdtModel,
    metrics: serde_json::Value,
    fingerprint: Option<u64>,
) -> Result<()> {
    let mut h = Header::new(KIND_GBDT);
    h.params = serde_json::to_value(&m.params).map_err(|e| Error::Runtime(e.to_string()))?;
    h.schema = json!({
        "target": m.target,
        "task": m.task().name(),
        "objective": m.objective.name(),
        "classes": m.classes,
        "features": m.features.iter().map(|f| match &f.kind {
            FeatureKind::Numeric { upper } => json!({"name": f.name, "type": "numeric", "bins": upper.len()}),
            FeatureKind::Categorical { categories } => json!({"name": f.name, "type": "categorical", "categories": categories}),
        }).collect::<Vec<_>>(),
    });
    h.metrics = metrics;
    h.data_fingerprint = fingerprint.map(|f| format!("{f:016x}"));
    let importance: Vec<_> = m
        .importance()
        .into_iter()
        .map(|(name, gain, splits)| json!({"feature": name, "gain": gain, "splits": splits}))
        .collect();
    h.extra = json!({
        "trees": m.trees.len(),
        "leaves": m.trees.iter().map(|t| t.n_leaves()).sum::<usize>(),
        "importance": importance,
    });
    let payload =
        postcard::to_allocvec(m).map_err(|e| Error::Runtime(format!("encoding the model: {e}")))?;
    model_file::write(path, &h, &payload)
}

/// Read a gradient-boosting model file.
pub fn load(path: &Path) -> Result<GbdtModel> {
    let f = model_file::read_kind(path, KIND_GBDT)?;
    postcard::from_bytes(&f.payload)
        .map_err(|e| Error::input(format!("{}: corrupted model payload: {e}", path.display())))
}
