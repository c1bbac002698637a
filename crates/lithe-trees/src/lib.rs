//! lithe-trees: tree ensembles for tabular data — histogram gradient boosting and
//! random forests on the same binned learner.
//!
//! [`GbdtParams`] → [`GbdtModel::fit`] → [`GbdtModel::predict`];
//! [`ForestParams`] → [`ForestModel::fit`] → [`ForestModel::predict`]. Models save to
//! and load from lithe model files ([`save`], [`save_forest`], [`load_any`]); [`import`]
//! reads LightGBM and XGBoost models into [`ImportedModel`]s.

pub mod api;
pub mod data;
pub mod forest;
pub mod gbdt;
pub mod hist;
pub mod import;
pub mod model_io;
pub mod objective;
pub mod params;
pub mod rows;
pub mod tree;
pub mod weights;

pub use api::{Ensemble, FitSummary, Metrics, TabularModel, TabularParams, fit, fit_weighted};
pub use forest::{ForestModel, ForestParams, MaxFeatures, OobScore};
pub use gbdt::{FitReport, GbdtModel};
pub use import::{ImportOptions, ImportedModel, Source};
pub use model_io::{
    KIND_GBDT, KIND_IMPORTED, KIND_RF, load, load_any, save, save_forest, save_imported,
};
pub use params::{GbdtParams, Objective};
pub use weights::Weights;
