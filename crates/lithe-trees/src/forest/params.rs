//! The forest's parameters: one spec, and how many features each split tries.

use super::*;

/// How many features each split looks at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxFeatures {
    /// √(features), rounded down (scikit-learn's default for classification).
    Sqrt,
    /// log2(features), rounded down.
    Log2,
    /// Every feature (scikit-learn's default for regression).
    All,
    /// This share of the features, rounded down.
    Fraction(f64),
}

impl MaxFeatures {
    /// Features per split out of `nf` (at least one).
    pub fn count(self, nf: usize) -> usize {
        let k = match self {
            MaxFeatures::Sqrt => (nf as f64).sqrt() as usize,
            MaxFeatures::Log2 => (nf as f64).log2() as usize,
            MaxFeatures::All => nf,
            MaxFeatures::Fraction(f) => (f * nf as f64) as usize,
        };
        k.clamp(1, nf.max(1))
    }

    pub fn name(self) -> String {
        match self {
            MaxFeatures::Sqrt => "sqrt".into(),
            MaxFeatures::Log2 => "log2".into(),
            MaxFeatures::All => "all".into(),
            MaxFeatures::Fraction(f) => f.to_string(),
        }
    }
}

impl std::str::FromStr for MaxFeatures {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "sqrt" => Ok(MaxFeatures::Sqrt),
            "log2" => Ok(MaxFeatures::Log2),
            "all" => Ok(MaxFeatures::All),
            _ => match s.parse::<f64>() {
                Ok(f) if f > 0.0 && f <= 1.0 => Ok(MaxFeatures::Fraction(f)),
                _ => Err(format!(
                    "'{s}' is not sqrt, log2, all or a share of the features in (0, 1]"
                )),
            },
        }
    }
}

lithe_core::param_spec! {
    /// Random-forest parameters (scikit-learn's defaults).
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ForestParams("rf") {
        /// The task (default: inferred from the target).
        task: Option<Task> = None,
        /// Trees in the forest.
        trees: usize = 100 => "n_estimators",
        /// Maximum tree depth (-1: grow until leaves are pure or too small).
        max_depth: i32 = -1,
        /// Minimum rows in a leaf.
        min_data_in_leaf: usize = 1 => "min_samples_leaf",
        /// Features tried at each split: sqrt, log2, all, or a share in (0, 1]
        /// (default: sqrt for classification, all for regression).
        max_features: Option<MaxFeatures> = None,
        /// Train each tree on a bootstrap sample of the rows (else on every row).
        bootstrap: bool = true,
        /// Compute the out-of-bag score (default: whenever bootstrap is on; true needs
        /// bootstrap).
        oob_score: Option<bool> = None,
        /// Bins per numeric feature (2 to 255).
        max_bins: usize = 255 => "max_bin",
        /// Rows sampled to find bin boundaries.
        bin_sample: usize = 200_000,
        /// Seed for every random choice.
        seed: u64 = 0 => "random_state",
    }
}

impl ForestParams {
    /// Every rule, including those between fields; the message names the parameter.
    fn check(&self) -> Result<()> {
        require(self.trees >= 1, "trees", || "must be at least 1".into())?;
        crate::params::check_tree_shape(self.max_depth, self.min_data_in_leaf, self.max_bins)?;
        require(self.bin_sample >= 1, "bin_sample", || {
            "must be at least 1".into()
        })?;
        if let Some(MaxFeatures::Fraction(f)) = self.max_features {
            require(f > 0.0 && f <= 1.0, "max_features", || {
                format!("must be in (0, 1], got {f}")
            })?;
        }
        require(
            self.oob_score != Some(true) || self.bootstrap,
            "oob_score",
            || "true needs bootstrap true (out-of-bag rows exist only with bootstrap)".into(),
        )
    }

    /// The out-of-bag score is computed.
    pub fn with_oob(&self) -> bool {
        self.bootstrap && self.oob_score.unwrap_or(true)
    }
}

impl lithe_core::params::ParamType for MaxFeatures {
    const KIND: lithe_core::params::Kind = lithe_core::params::Kind::Text;
    fn from_param(v: &ParamValue) -> std::result::Result<Self, String> {
        match v {
            ParamValue::Text(s) => s.trim().parse(),
            ParamValue::Float(f) => format!("{f}").parse(),
            ParamValue::Int(1) => Ok(MaxFeatures::All),
            other => Err(format!(
                "must be sqrt, log2, all or a share of the features in (0, 1], got {other}"
            )),
        }
    }
    fn to_param(&self) -> ParamValue {
        match self {
            MaxFeatures::Fraction(f) => ParamValue::Float(*f),
            m => ParamValue::Text(m.name()),
        }
    }
}
