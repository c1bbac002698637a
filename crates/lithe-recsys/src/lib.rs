//! Two-tower retrieval: train a user tower and an item tower on interactions with an
//! in-batch sampled softmax, compute every item's vector once, index them (HNSW), and
//! answer a user with one pass of the user tower and one index lookup.
//!
//! Start at [`model::TwoTowerModel::fit`]; the towers and their hand-written
//! gradients are in [`tower`].

pub mod api;
pub mod data;
pub mod dense;
pub mod exact;
pub mod features;
pub mod index;
pub mod model;
pub mod params;
pub mod tower;
pub mod train;
pub mod tune;
pub mod valid;

pub use api::TrainParams;
pub use data::Interactions;
pub use index::{IndexCheck, IndexParams, ItemIndex};
pub use model::{Answer, EvalReport, FitReport, Rec, Stage, TwoTowerModel, evaluate};
pub use params::TwoTowerParams;
pub use tune::{Free, TuneOptions, Tuning};

/// The generator every random choice here uses (initial weights, batch order).
pub use lithe_core::rng::SplitMix;
