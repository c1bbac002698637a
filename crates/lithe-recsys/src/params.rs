//! Training parameters of the two-tower model.

use lithe_core::{Error, Result};

use crate::index::IndexParams;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoTowerParams {
    /// Embedding and output dimension of both towers.
    pub dim: usize,
    /// Passes over the interactions.
    pub epochs: usize,
    /// Interactions per batch (one Adam step).
    pub batch: usize,
    /// In-batch negatives of each interaction: the batch is scored in groups of
    /// `negatives + 1` rows, each row against the other items of its group.
    #[serde(default = "default_negatives")]
    pub negatives: usize,
    /// Adam's step size.
    pub learning_rate: f64,
    /// Softmax temperature over cosine scores.
    pub temperature: f64,
    /// L2 penalty on the embedding rows a batch touches.
    pub l2: f64,
    /// How much of the sampling-bias (logQ) correction to apply: scores in training
    /// are `u·v/τ − logq · log q_item`; 1 is the full correction, 0 none.
    pub logq: f64,
    /// Half-life, in interactions back from the latest, of a user's history items in
    /// the user tower's bag (0: every item counts the same). The history is in
    /// `timestamp` order when the interactions have one, else in file order.
    pub half_life: f64,
    /// The user tower's recent-items channel: how many of the latest items (before the
    /// one predicted, in time order) it looks at, with weights and a layer of its own;
    /// 0 switches it off. `None`: [`DEFAULT_WINDOW`] when the interactions have
    /// timestamps, off when they do not (file order is no clock).
    #[serde(default)]
    pub recent: Option<usize>,
    /// The history bag reads only each user's latest `max_history` items (0: all).
    #[serde(default)]
    pub max_history: usize,
    /// The item index: graph degree, build and search widths, and the recall its
    /// self-check must reach.
    #[serde(default)]
    pub index: IndexParams,
    pub seed: u64,
}

fn default_negatives() -> usize {
    511
}

/// The recent-items window used when the interactions have timestamps.
pub const DEFAULT_WINDOW: usize = 10;

impl Default for TwoTowerParams {
    fn default() -> Self {
        TwoTowerParams {
            dim: 64,
            epochs: 12,
            batch: 1024,
            negatives: default_negatives(),
            learning_rate: 0.005,
            temperature: 0.15,
            l2: 1e-4,
            logq: 1.0,
            half_life: 0.0,
            recent: None,
            max_history: 0,
            index: IndexParams::default(),
            seed: 42,
        }
    }
}

impl TwoTowerParams {
    /// The recent-items window for interactions with (`timed`) or without timestamps.
    pub fn window(&self, timed: bool) -> usize {
        self.recent
            .unwrap_or(if timed { DEFAULT_WINDOW } else { 0 })
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, why: &str| Err(Error::param(name, why));
        if self.dim == 0 || self.dim > 4096 {
            return bad("dim", "must be between 1 and 4096");
        }
        if self.epochs == 0 {
            return bad("epochs", "must be at least 1");
        }
        if self.batch < 2 {
            return bad(
                "batch",
                "must be at least 2 (a batch's other items are the negatives)",
            );
        }
        if self.negatives == 0 {
            return bad("negatives", "must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning_rate", "must be a positive number");
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad("temperature", "must be a positive number");
        }
        if !(self.logq.is_finite() && (0.0..=1.0).contains(&self.logq)) {
            return bad("logq", "must be between 0 and 1");
        }
        if !(self.half_life.is_finite() && self.half_life >= 0.0) {
            return bad("half_life", "must be zero (off) or a positive number");
        }
        if self.recent.is_some_and(|w| w > 1000) {
            return bad("recent", "must be at most 1000 items");
        }
        self.index.validate()?;
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2", "must be zero or a positive number");
        }
        Ok(())
    }
}
