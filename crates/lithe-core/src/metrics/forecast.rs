//! The M4 competition's accuracy measures (Makridakis, Spiliotis & Assimakopoulos 2020).

use super::{MetricError, check};

/// Symmetric MAPE in percent, M4's definition: mean of 200·|y − ŷ| / (|y| + |ŷ|).
/// A step where both are zero contributes zero.
pub fn smape(y: &[f64], pred: &[f64]) -> Result<f64, MetricError> {
    check(y.len(), pred.len())?;
    let s: f64 = y
        .iter()
        .zip(pred)
        .map(|(a, f)| {
            let d = a.abs() + f.abs();
            if d == 0.0 {
                0.0
            } else {
                200.0 * (a - f).abs() / d
            }
        })
        .sum();
    Ok(s / y.len() as f64)
}

/// Mean absolute scaled error: the forecast's MAE over the in-sample MAE of the
/// seasonal naive forecast with period `m` (`m = 1` for the naive forecast).
pub fn mase(insample: &[f64], y: &[f64], pred: &[f64], m: usize) -> Result<f64, MetricError> {
    check(y.len(), pred.len())?;
    if m == 0 {
        return Err(MetricError::Undefined(
            "the seasonal period must be at least 1".into(),
        ));
    }
    if insample.len() <= m {
        return Err(MetricError::Undefined(format!(
            "MASE needs more than {m} in-sample values, got {}",
            insample.len()
        )));
    }
    let scale: f64 = insample
        .windows(m + 1)
        .map(|w| (w[m] - w[0]).abs())
        .sum::<f64>()
        / (insample.len() - m) as f64;
    if scale == 0.0 {
        return Err(MetricError::Undefined(
            "MASE is undefined: the in-sample seasonal naive error is zero (constant series)"
                .into(),
        ));
    }
    let err: f64 = y.iter().zip(pred).map(|(a, f)| (a - f).abs()).sum::<f64>() / y.len() as f64;
    Ok(err / scale)
}

/// Overall weighted average: the mean of sMAPE and MASE, each relative to Naive2's.
pub fn owa(smape: f64, mase: f64, smape_naive2: f64, mase_naive2: f64) -> Result<f64, MetricError> {
    if smape_naive2 <= 0.0 || mase_naive2 <= 0.0 {
        return Err(MetricError::Undefined(
            "OWA needs Naive2's sMAPE and MASE to be positive".into(),
        ));
    }
    Ok(0.5 * (smape / smape_naive2 + mase / mase_naive2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed() {
        // |y−ŷ| = 1, 2; |y|+|ŷ| = 21, 38 → (200/21 + 400/38) / 2
        let s = smape(&[10.0, 20.0], &[11.0, 18.0]).unwrap();
        assert!((s - (200.0 / 21.0 + 400.0 / 38.0) / 2.0).abs() < 1e-12);
        assert_eq!(smape(&[0.0], &[0.0]).unwrap(), 0.0);
        assert_eq!(smape(&[0.0], &[3.0]).unwrap(), 200.0);
        // insample 1,3,2,4 with m=1: diffs 2,1,2 → scale 5/3; errors 1,1 → MAE 1.
        let m = mase(&[1.0, 3.0, 2.0, 4.0], &[5.0, 6.0], &[4.0, 7.0], 1).unwrap();
        assert!((m - 0.6).abs() < 1e-12);
        // seasonal m=2: diffs |2-1|,|4-3| = 1,1 → scale 1
        let m = mase(&[1.0, 3.0, 2.0, 4.0], &[5.0], &[3.0], 2).unwrap();
        assert!((m - 2.0).abs() < 1e-12);
        assert!(mase(&[2.0, 2.0, 2.0], &[1.0], &[1.0], 1).is_err());
        assert!(mase(&[1.0, 2.0], &[1.0], &[1.0], 2).is_err());
        assert_eq!(owa(10.0, 1.0, 20.0, 2.0).unwrap(), 0.5);
    }

    #[test]
    fn m4_paper_example() {
        // The M4 results (all 100,000 series): the winning method (Smyl) had sMAPE
        // 11.374 and MASE 1.536, Naive2 13.564 and 1.912, and the reported OWA is 0.821.
        let o = owa(11.374, 1.536, 13.564, 1.912).unwrap();
        assert!((o - 0.821).abs() < 5e-4, "{o}");
        assert_eq!(owa(13.564, 1.912, 13.564, 1.912).unwrap(), 1.0);
    }
}
