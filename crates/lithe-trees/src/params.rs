//! Parameters of gradient boosting, in one place: the CLI flags, the model header and
//! the docs all come from here. Names and defaults follow LightGBM's.

use serde::{Deserialize, Serialize};

use lithe_core::describe::Task;
use lithe_core::{Error, Result};

/// The loss being minimised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Log loss of a two-class target.
    Binary,
    /// Softmax cross-entropy over K classes (K trees per round).
    Multiclass,
    /// Squared error.
    L2,
    /// Absolute error (leaves refit to the median residual).
    L1,
    /// Huber loss: squared within `alpha` of the target, absolute beyond.
    Huber,
    /// Pinball loss for the `alpha` quantile (leaves refit to that quantile).
    Quantile,
    /// Poisson deviance with a log link, for counts (predictions are exp(score)).
    Poisson,
}

impl Objective {
    /// Every objective, in the order the docs list them.
    pub const ALL: [Objective; 7] = [
        Objective::Binary,
        Objective::Multiclass,
        Objective::L2,
        Objective::L1,
        Objective::Huber,
        Objective::Quantile,
        Objective::Poisson,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Objective::Binary => "binary",
            Objective::Multiclass => "multiclass",
            Objective::L2 => "l2",
            Objective::L1 => "l1",
            Objective::Huber => "huber",
            Objective::Quantile => "quantile",
            Objective::Poisson => "poisson",
        }
    }

    pub fn task(self) -> Task {
        match self {
            Objective::Binary => Task::Binary,
            Objective::Multiclass => Task::Multiclass,
            _ => Task::Regression,
        }
    }

    /// Leaf values are refit to a quantile of the residuals (as LightGBM does for L1
    /// and quantile), rather than taken from the gradient step.
    pub fn refit_quantile(self, alpha: f64) -> Option<f64> {
        match self {
            Objective::L1 => Some(0.5),
            Objective::Quantile => Some(alpha),
            _ => None,
        }
    }

    pub fn for_task(task: Task) -> Self {
        match task {
            Task::Binary => Objective::Binary,
            Task::Multiclass => Objective::Multiclass,
            Task::Regression => Objective::L2,
        }
    }
}

/// Gradient-boosting parameters (LightGBM's names and defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GbdtParams {
    /// The loss; `None` infers it from the target (see `lithe_core::describe::infer_target`).
    pub objective: Option<Objective>,
    /// Boosting rounds (trees per class).
    pub rounds: usize,
    pub learning_rate: f64,
    /// Maximum leaves per tree (leaf-wise growth).
    pub num_leaves: usize,
    /// Maximum depth; -1 for no limit.
    pub max_depth: i32,
    /// Minimum rows in a leaf.
    pub min_data_in_leaf: usize,
    /// Minimum sum of hessians in a leaf.
    pub min_sum_hessian: f64,
    /// L2 regularisation of leaf values.
    pub lambda_l2: f64,
    /// Minimum gain to make a split.
    pub min_gain: f64,
    /// Bins per feature (at most 255; missing values get a bin of their own).
    pub max_bins: usize,
    /// Rows sampled to find bin boundaries.
    pub bin_sample: usize,
    /// Categorical splits: at most this many categories on the smaller side.
    pub max_cat_threshold: usize,
    /// Categorical splits: smoothing added to each category's hessian when ordering.
    pub cat_smooth: f64,
    /// Categorical splits: extra L2 regularisation.
    pub cat_l2: f64,
    /// Categorical features with at most this many categories split one-vs-rest.
    pub max_cat_to_onehot: usize,
    /// Categorical splits: minimum rows for a category to take part.
    pub min_data_per_group: usize,
    /// Share of features each tree may use (sampled per tree).
    pub feature_fraction: f64,
    /// Share of rows each round trains on (sampled per round, without replacement).
    pub bagging_fraction: f64,
    /// Stop when the validation metric has not improved for this many rounds (0: never).
    pub early_stopping_rounds: usize,
    /// Huber's threshold, or the quantile for `quantile`.
    pub alpha: f64,
    /// Seed for every random choice.
    pub seed: u64,
}

impl Default for GbdtParams {
    fn default() -> Self {
        GbdtParams {
            objective: None,
            rounds: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            max_depth: -1,
            min_data_in_leaf: 20,
            min_sum_hessian: 1e-3,
            lambda_l2: 0.0,
            min_gain: 0.0,
            max_bins: 255,
            bin_sample: 200_000,
            max_cat_threshold: 32,
            cat_smooth: 10.0,
            cat_l2: 10.0,
            max_cat_to_onehot: 4,
            min_data_per_group: 100,
            feature_fraction: 1.0,
            bagging_fraction: 1.0,
            early_stopping_rounds: 0,
            alpha: 0.9,
            seed: 0,
        }
    }
}

impl std::str::FromStr for Objective {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Objective::ALL
            .into_iter()
            .find(|o| o.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Objective::ALL.iter().map(|o| o.name()).collect();
                format!(
                    "unknown objective '{s}'; choose one of {}",
                    names.join(", ")
                )
            })
    }
}

/// True for zero and positive numbers (false for NaN).
fn non_negative(x: f64) -> bool {
    x.is_finite() && x >= 0.0
}

/// The checks every tree learner shares; the message names the flag.
pub(crate) fn check_tree_shape(
    max_depth: i32,
    min_data_in_leaf: usize,
    max_bins: usize,
) -> Result<()> {
    if max_depth == 0 || max_depth < -1 {
        return Err(Error::input(format!(
            "--max-depth must be -1 (no limit) or at least 1, got {max_depth}"
        )));
    }
    if min_data_in_leaf == 0 {
        return Err(Error::input("--min-data-in-leaf must be at least 1"));
    }
    if !(2..=255).contains(&max_bins) {
        return Err(Error::input(format!(
            "--max-bins must be between 2 and 255, got {max_bins}"
        )));
    }
    Ok(())
}

impl GbdtParams {
    /// Check every value; the message names the flag.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::input(m));
        if self.rounds == 0 {
            return bad("--rounds must be at least 1".into());
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad(format!(
                "--learning-rate must be positive, got {}",
                self.learning_rate
            ));
        }
        if self.num_leaves < 2 {
            return bad(format!(
                "--num-leaves must be at least 2, got {}",
                self.num_leaves
            ));
        }
        check_tree_shape(self.max_depth, self.min_data_in_leaf, self.max_bins)?;
        if !non_negative(self.min_sum_hessian) {
            return bad(format!(
                "--min-sum-hessian must be non-negative, got {}",
                self.min_sum_hessian
            ));
        }
        if !non_negative(self.lambda_l2) {
            return bad(format!(
                "--lambda-l2 must be non-negative, got {}",
                self.lambda_l2
            ));
        }
        if !non_negative(self.min_gain) {
            return bad(format!(
                "--min-gain must be non-negative, got {}",
                self.min_gain
            ));
        }
        if self.objective == Some(Objective::Quantile) && !(self.alpha > 0.0 && self.alpha < 1.0) {
            return bad(format!(
                "--alpha must be in (0, 1) for the quantile objective, got {}",
                self.alpha
            ));
        }
        if self.objective == Some(Objective::Huber) && !(self.alpha > 0.0 && self.alpha.is_finite())
        {
            return bad(format!(
                "--alpha must be positive for the huber objective, got {}",
                self.alpha
            ));
        }
        for (flag, v) in [
            ("--feature-fraction", self.feature_fraction),
            ("--bagging-fraction", self.bagging_fraction),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return bad(format!("{flag} must be in (0, 1], got {v}"));
            }
        }
        Ok(())
    }
}
