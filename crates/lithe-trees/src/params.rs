//! Parameters of gradient boosting, in one place ([`lithe_core::param_spec!`]): the
//! CLI flags, the Python signatures, the model header and the docs all come from here.
//! Names and defaults follow LightGBM's.

use serde::{Deserialize, Serialize};

use lithe_core::Result;
use lithe_core::describe::Task;
use lithe_core::params::require;

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

lithe_core::param_spec! {
    /// Gradient-boosting parameters (LightGBM's names and defaults; the Python
    /// estimators use LightGBM's scikit-learn names where those differ).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct GbdtParams("gbdt") {
        /// The loss (default: from the task, or inferred from the target).
        objective: Option<Objective> = None,
        /// Boosting rounds (trees per class).
        rounds: usize = 100 => "n_estimators",
        /// Shrinkage of each tree.
        learning_rate: f64 = 0.1,
        /// Maximum leaves per tree (leaf-wise growth).
        num_leaves: usize = 31,
        /// Maximum tree depth (-1: no limit).
        max_depth: i32 = -1,
        /// Minimum rows in a leaf.
        min_data_in_leaf: usize = 20 => "min_child_samples",
        /// Minimum sum of hessians in a leaf.
        min_sum_hessian: f64 = 1e-3 => "min_child_weight",
        /// L2 regularisation of leaf values.
        lambda_l2: f64 = 0.0 => "reg_lambda",
        /// Minimum gain to make a split.
        min_gain: f64 = 0.0 => "min_split_gain",
        /// Bins per numeric feature (2 to 255; missing values get a bin of their own).
        max_bins: usize = 255 => "max_bin",
        /// Rows sampled to find bin boundaries.
        bin_sample: usize = 200_000,
        /// Categorical splits: at most this many categories on the smaller side.
        max_cat_threshold: usize = 32,
        /// Categorical splits: smoothing added to each category's hessian when ordering.
        cat_smooth: f64 = 10.0,
        /// Categorical splits: extra L2 regularisation.
        cat_l2: f64 = 10.0,
        /// Categorical features with at most this many categories split one-vs-rest.
        max_cat_to_onehot: usize = 4,
        /// Categorical splits: minimum rows for a category to take part.
        min_data_per_group: usize = 100,
        /// Share of features each tree may use (sampled per tree).
        feature_fraction: f64 = 1.0 => "colsample_bytree",
        /// Share of rows each round trains on (sampled per round, without replacement).
        bagging_fraction: f64 = 1.0 => "subsample",
        /// Stop when the validation score has not improved for this many rounds
        /// (0: never; needs a validation set).
        early_stopping_rounds: usize = 0,
        /// Huber's threshold, or the quantile to predict with the quantile objective.
        alpha: f64 = 0.9,
        /// Seed for every random choice.
        seed: u64 = 0 => "random_state",
    }
}

impl lithe_core::params::Named for Objective {
    const NAMES: &'static [&'static str] = &[
        "binary",
        "multiclass",
        "l2",
        "l1",
        "huber",
        "quantile",
        "poisson",
    ];
    const ALL: &'static [Self] = &Objective::ALL;
    fn name(self) -> &'static str {
        Objective::name(self)
    }
}
lithe_core::choice_param!(Objective);

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

/// The checks every tree learner shares.
pub(crate) fn check_tree_shape(
    max_depth: i32,
    min_data_in_leaf: usize,
    max_bins: usize,
) -> Result<()> {
    require(max_depth == -1 || max_depth >= 1, "max_depth", || {
        format!("must be -1 (no limit) or at least 1, got {max_depth}")
    })?;
    require(min_data_in_leaf >= 1, "min_data_in_leaf", || {
        "must be at least 1".into()
    })?;
    require((2..=255).contains(&max_bins), "max_bins", || {
        format!("must be between 2 and 255, got {max_bins}")
    })
}

impl GbdtParams {
    /// Every rule, including those between fields; the message names the parameter.
    fn check(&self) -> Result<()> {
        require(self.rounds >= 1, "rounds", || "must be at least 1".into())?;
        require(
            self.learning_rate > 0.0 && self.learning_rate.is_finite(),
            "learning_rate",
            || format!("must be positive, got {}", self.learning_rate),
        )?;
        require(self.num_leaves >= 2, "num_leaves", || {
            format!("must be at least 2, got {}", self.num_leaves)
        })?;
        check_tree_shape(self.max_depth, self.min_data_in_leaf, self.max_bins)?;
        require(self.bin_sample >= 1, "bin_sample", || {
            "must be at least 1".into()
        })?;
        for (name, v) in [
            ("min_sum_hessian", self.min_sum_hessian),
            ("lambda_l2", self.lambda_l2),
            ("min_gain", self.min_gain),
            ("cat_smooth", self.cat_smooth),
            ("cat_l2", self.cat_l2),
        ] {
            require(non_negative(v), name, || {
                format!("must be non-negative, got {v}")
            })?;
        }
        if self.objective == Some(Objective::Quantile) {
            require(self.alpha > 0.0 && self.alpha < 1.0, "alpha", || {
                format!(
                    "must be in (0, 1) for the quantile objective, got {}",
                    self.alpha
                )
            })?;
        }
        if self.objective == Some(Objective::Huber) {
            require(self.alpha > 0.0 && self.alpha.is_finite(), "alpha", || {
                format!(
                    "must be positive for the huber objective, got {}",
                    self.alpha
                )
            })?;
        }
        for (name, v) in [
            ("feature_fraction", self.feature_fraction),
            ("bagging_fraction", self.bagging_fraction),
        ] {
            require(v > 0.0 && v <= 1.0, name, || {
                format!("must be in (0, 1], got {v}")
            })?;
        }
        Ok(())
    }
}
