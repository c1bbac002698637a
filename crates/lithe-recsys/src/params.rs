//! Training parameters of the two-tower model.

use lithe_core::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TwoTowerParams {
    /// Embedding and output dimension of both towers.
    pub dim: usize,
    /// Passes over the interactions.
    pub epochs: usize,
    /// Interactions per batch; the other items of a batch are each one's negatives.
    pub batch: usize,
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
    pub seed: u64,
}

impl Default for TwoTowerParams {
    fn default() -> Self {
        TwoTowerParams {
            dim: 64,
            epochs: 12,
            batch: 1024,
            learning_rate: 0.005,
            temperature: 0.12,
            l2: 0.001,
            logq: 1.0,
            half_life: 0.0,
            seed: 42,
        }
    }
}

impl TwoTowerParams {
    pub fn validate(&self) -> Result<()> {
        let bad = |flag: &str, why: &str| Err(Error::input(format!("--{flag} {why}")));
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
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("learning-rate", "must be a positive number");
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad("temperature", "must be a positive number");
        }
        if !(self.logq.is_finite() && (0.0..=1.0).contains(&self.logq)) {
            return bad("logq", "must be between 0 and 1");
        }
        if !(self.half_life.is_finite() && self.half_life >= 0.0) {
            return bad("half-life", "must be zero (off) or a positive number");
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2", "must be zero or a positive number");
        }
        Ok(())
    }
}
