use super::{MetricError, check};

/// Root mean squared error.
pub fn rmse(y: &[f64], pred: &[f64]) -> Result<f64, MetricError> {
    check(y.len(), pred.len())?;
    let s: f64 = y.iter().zip(pred).map(|(a, b)| (a - b) * (a - b)).sum();
    Ok((s / y.len() as f64).sqrt())
}

/// Mean absolute error.
pub fn mae(y: &[f64], pred: &[f64]) -> Result<f64, MetricError> {
    check(y.len(), pred.len())?;
    let s: f64 = y.iter().zip(pred).map(|(a, b)| (a - b).abs()).sum();
    Ok(s / y.len() as f64)
}

/// Coefficient of determination, 1 - SS_res / SS_tot (scikit-learn's r2_score; a
/// constant target gives 1.0 for a perfect fit and 0.0 otherwise, as it does).
pub fn r2(y: &[f64], pred: &[f64]) -> Result<f64, MetricError> {
    check(y.len(), pred.len())?;
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|a| (a - mean) * (a - mean)).sum();
    let ss_res: f64 = y.iter().zip(pred).map(|(a, b)| (a - b) * (a - b)).sum();
    if ss_tot == 0.0 {
        return Ok(if ss_res == 0.0 { 1.0 } else { 0.0 });
    }
    Ok(1.0 - ss_res / ss_tot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::tests_golden::*;

    #[test]
    fn matches_scikit_learn() {
        let (y, p) = regression_case();
        assert!((rmse(&y, &p).unwrap() - SK_RMSE).abs() < 1e-12);
        assert!((mae(&y, &p).unwrap() - SK_MAE).abs() < 1e-12);
        assert!((r2(&y, &p).unwrap() - SK_R2).abs() < 1e-12);
    }

    #[test]
    fn hand_computed() {
        assert_eq!(rmse(&[1.0, 2.0], &[1.0, 4.0]).unwrap(), 2f64.sqrt());
        assert_eq!(mae(&[1.0, 2.0], &[0.0, 4.0]).unwrap(), 1.5);
        assert_eq!(r2(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]).unwrap(), 1.0);
        assert_eq!(r2(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0]).unwrap(), 0.0);
        assert_eq!(r2(&[5.0, 5.0], &[5.0, 5.0]).unwrap(), 1.0);
        assert_eq!(rmse(&[], &[]), Err(MetricError::Empty));
    }
}
