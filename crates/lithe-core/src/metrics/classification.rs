use super::{MetricError, check};

/// Probabilities are clipped to [EPS, 1 - EPS] before the log, as scikit-learn's
/// `log_loss` did through 1.4 (eps=1e-15).
const EPS: f64 = 1e-15;

fn check_labels(y: &[f64]) -> Result<(), MetricError> {
    if let Some(v) = y.iter().find(|&&v| v != 0.0 && v != 1.0) {
        return Err(MetricError::Undefined(format!(
            "binary labels must be 0 or 1, found {v}"
        )));
    }
    Ok(())
}

/// Area under the ROC curve for labels in {0, 1} and real-valued scores; tied
/// scores count one half (the trapezoid rule, same as scikit-learn's roc_auc_score).
pub fn auc(y: &[f64], score: &[f64]) -> Result<f64, MetricError> {
    check(y.len(), score.len())?;
    check_labels(y)?;
    if score.iter().any(|s| s.is_nan()) {
        return Err(MetricError::Undefined("a score is NaN".into()));
    }
    let mut idx: Vec<usize> = (0..y.len()).collect();
    idx.sort_unstable_by(|&a, &b| score[a].total_cmp(&score[b]));
    let n_pos = y.iter().filter(|&&v| v == 1.0).count() as f64;
    let n_neg = y.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return Err(MetricError::Undefined(
            "AUC needs both classes among the labels".into(),
        ));
    }
    // Sum of positive ranks (average ranks for ties): Mann–Whitney U.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && score[idx[j + 1]] == score[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        let pos_in_tie = idx[i..=j].iter().filter(|&&k| y[k] == 1.0).count() as f64;
        rank_sum += avg_rank * pos_in_tie;
        i = j + 1;
    }
    Ok((rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

/// Mean binary cross-entropy of probabilities `p` of the positive class.
pub fn logloss(y: &[f64], p: &[f64]) -> Result<f64, MetricError> {
    check(y.len(), p.len())?;
    check_labels(y)?;
    let mut s = 0.0;
    for (&t, &q) in y.iter().zip(p) {
        if !(0.0..=1.0).contains(&q) {
            return Err(MetricError::Undefined(format!(
                "probabilities must lie in [0, 1], found {q}"
            )));
        }
        let q = q.clamp(EPS, 1.0 - EPS);
        s -= if t == 1.0 { q.ln() } else { (1.0 - q).ln() };
    }
    Ok(s / y.len() as f64)
}

/// Mean cross-entropy for class indices `y` and row-major probabilities
/// (`n_classes` per row). Rows are renormalised after clipping, as scikit-learn does.
pub fn multiclass_logloss(y: &[usize], p: &[f64], n_classes: usize) -> Result<f64, MetricError> {
    if n_classes < 2 {
        return Err(MetricError::Undefined("need at least two classes".into()));
    }
    if p.len() != y.len() * n_classes {
        return Err(MetricError::Length(y.len(), p.len() / n_classes.max(1)));
    }
    check(y.len(), y.len())?;
    let mut s = 0.0;
    for (row, &t) in p.chunks_exact(n_classes).zip(y) {
        if t >= n_classes {
            return Err(MetricError::Undefined(format!(
                "class index {t} is out of range for {n_classes} classes"
            )));
        }
        let total: f64 = row.iter().map(|q| q.clamp(EPS, 1.0 - EPS)).sum();
        s -= (row[t].clamp(EPS, 1.0 - EPS) / total).ln();
    }
    Ok(s / y.len() as f64)
}

/// Share of predictions equal to the truth.
pub fn accuracy<T: PartialEq>(y: &[T], pred: &[T]) -> Result<f64, MetricError> {
    check(y.len(), pred.len())?;
    Ok(y.iter().zip(pred).filter(|(a, b)| a == b).count() as f64 / y.len() as f64)
}

/// Accuracy of probabilities thresholded at 0.5 (p > 0.5 predicts class 1).
pub fn binary_accuracy(y: &[f64], p: &[f64]) -> Result<f64, MetricError> {
    check(y.len(), p.len())?;
    check_labels(y)?;
    let hits = y
        .iter()
        .zip(p)
        .filter(|&(&t, &q)| (q > 0.5) == (t == 1.0))
        .count();
    Ok(hits as f64 / y.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::tests_golden::*;

    #[test]
    fn matches_scikit_learn() {
        let (y, p) = binary_case();
        assert!((auc(&y, &p).unwrap() - SK_AUC).abs() < 1e-12);
        assert!((logloss(&y, &p).unwrap() - SK_LOGLOSS).abs() < 1e-12);
        assert!((binary_accuracy(&y, &p).unwrap() - SK_ACCURACY).abs() < 1e-12);
        let (yt, st) = tied_case();
        assert!((auc(&yt, &st).unwrap() - SK_AUC_TIES).abs() < 1e-12);
        let (ym, pm) = multiclass_case();
        assert!((multiclass_logloss(&ym, &pm, 3).unwrap() - SK_MULTI_LOGLOSS).abs() < 1e-12);
    }

    #[test]
    fn hand_computed() {
        // Perfect ranking, fully reversed, all tied.
        assert_eq!(auc(&[0.0, 0.0, 1.0], &[0.1, 0.2, 0.9]).unwrap(), 1.0);
        assert_eq!(auc(&[1.0, 0.0], &[0.1, 0.9]).unwrap(), 0.0);
        assert_eq!(auc(&[1.0, 0.0, 1.0, 0.0], &[0.5; 4]).unwrap(), 0.5);
        assert!((logloss(&[1.0], &[0.5]).unwrap() - 2f64.ln()).abs() < 1e-15);
        assert_eq!(
            accuracy(&["a", "b", "c"], &["a", "x", "c"]).unwrap(),
            2.0 / 3.0
        );
    }

    #[test]
    fn refuses_bad_input() {
        assert_eq!(auc(&[], &[]), Err(MetricError::Empty));
        assert!(matches!(
            auc(&[1.0, 1.0], &[0.2, 0.3]),
            Err(MetricError::Undefined(_))
        ));
        assert!(matches!(
            auc(&[1.0, 2.0], &[0.2, 0.3]),
            Err(MetricError::Undefined(_))
        ));
        assert_eq!(logloss(&[1.0], &[0.2, 0.3]), Err(MetricError::Length(1, 2)));
        assert!(logloss(&[1.0], &[1.5]).is_err());
        assert!(multiclass_logloss(&[3], &[0.2, 0.3, 0.5], 3).is_err());
    }
}
