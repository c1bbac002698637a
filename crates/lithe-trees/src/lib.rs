//! lithe-trees: histogram gradient boosting for tabular data.
//!
//! [`GbdtParams`] → [`GbdtModel::fit`] → [`GbdtModel::predict`]; models save to and
//! load from lithe model files ([`save`], [`load`]).

pub mod data;
pub mod gbdt;
pub mod hist;
pub mod model_io;
pub mod objective;
pub mod params;
pub mod tree;

pub use gbdt::{FitReport, GbdtModel};
pub use model_io::{KIND_GBDT, load, save};
pub use params::{GbdtParams, Objective};
