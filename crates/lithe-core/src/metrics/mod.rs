//! Metrics, with the definitions the incumbents use (scikit-learn for classification
//! and regression, the M4 competition for forecasting, the usual top-k definitions for
//! ranking). Every function checks its input and returns an error rather than NaN.

mod classification;
mod forecast;
mod ranking;
mod regression;

pub use classification::{accuracy, auc, binary_accuracy, logloss, multiclass_logloss};
pub use forecast::{mase, owa, smape};
pub use ranking::{mean_ndcg_at_k, mean_recall_at_k, ndcg_at_k, recall_at_k};
pub use regression::{mae, r2, rmse};

/// Why a metric cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricError {
    #[error("no values to score")]
    Empty,
    #[error("lengths differ: {0} targets, {1} predictions")]
    Length(usize, usize),
    #[error("{0}")]
    Undefined(String),
}

impl From<MetricError> for crate::Error {
    fn from(e: MetricError) -> Self {
        crate::Error::input(e.to_string())
    }
}

pub(crate) fn check(n_true: usize, n_pred: usize) -> Result<(), MetricError> {
    if n_true != n_pred {
        return Err(MetricError::Length(n_true, n_pred));
    }
    if n_true == 0 {
        return Err(MetricError::Empty);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests_golden;
