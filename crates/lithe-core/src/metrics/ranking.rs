//! Top-k retrieval metrics with binary relevance.

use std::collections::HashSet;
use std::hash::Hash;

use super::MetricError;

/// Share of the relevant items that appear in the first `k` recommendations.
pub fn recall_at_k<T: Eq + Hash>(
    recommended: &[T],
    relevant: &[T],
    k: usize,
) -> Result<f64, MetricError> {
    if relevant.is_empty() {
        return Err(MetricError::Undefined(
            "recall needs at least one relevant item".into(),
        ));
    }
    if k == 0 {
        return Err(MetricError::Undefined("k must be at least 1".into()));
    }
    let rel: HashSet<&T> = relevant.iter().collect();
    let hits = recommended
        .iter()
        .take(k)
        .filter(|r| rel.contains(r))
        .count();
    Ok(hits as f64 / rel.len() as f64)
}

/// Normalised discounted cumulative gain at `k`: DCG = Σ 1/log2(rank + 1) over the
/// relevant items among the first `k`, divided by the DCG of a perfect ranking.
pub fn ndcg_at_k<T: Eq + Hash>(
    recommended: &[T],
    relevant: &[T],
    k: usize,
) -> Result<f64, MetricError> {
    if relevant.is_empty() {
        return Err(MetricError::Undefined(
            "NDCG needs at least one relevant item".into(),
        ));
    }
    if k == 0 {
        return Err(MetricError::Undefined("k must be at least 1".into()));
    }
    let rel: HashSet<&T> = relevant.iter().collect();
    let mut seen: HashSet<&T> = HashSet::new();
    let dcg: f64 = recommended
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, r)| rel.contains(r) && seen.insert(r))
        .map(|(i, _)| 1.0 / ((i + 2) as f64).log2())
        .sum();
    let ideal: f64 = (0..rel.len().min(k))
        .map(|i| 1.0 / ((i + 2) as f64).log2())
        .sum();
    Ok(dcg / ideal)
}

type PerUser<T> = fn(&[T], &[T], usize) -> Result<f64, MetricError>;

fn mean_over<T: Eq + Hash>(
    recs: &[Vec<T>],
    rels: &[Vec<T>],
    k: usize,
    f: PerUser<T>,
) -> Result<f64, MetricError> {
    super::check(recs.len(), rels.len())?;
    let mut s = 0.0;
    let mut n = 0usize;
    for (r, t) in recs.iter().zip(rels) {
        if t.is_empty() {
            continue;
        }
        s += f(r, t, k)?;
        n += 1;
    }
    if n == 0 {
        return Err(MetricError::Undefined("no user has a relevant item".into()));
    }
    Ok(s / n as f64)
}

/// Mean recall@k over users that have at least one relevant item.
pub fn mean_recall_at_k<T: Eq + Hash>(
    recs: &[Vec<T>],
    rels: &[Vec<T>],
    k: usize,
) -> Result<f64, MetricError> {
    mean_over(recs, rels, k, recall_at_k)
}

/// Mean NDCG@k over users that have at least one relevant item.
pub fn mean_ndcg_at_k<T: Eq + Hash>(
    recs: &[Vec<T>],
    rels: &[Vec<T>],
    k: usize,
) -> Result<f64, MetricError> {
    mean_over(recs, rels, k, ndcg_at_k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::tests_golden::*;

    #[test]
    fn hand_computed() {
        assert_eq!(recall_at_k(&[1, 2, 3], &[3, 9], 3).unwrap(), 0.5);
        assert_eq!(recall_at_k(&[1, 2, 3], &[3, 9], 2).unwrap(), 0.0);
        // One relevant item at rank 2: 1/log2(3).
        let n = ndcg_at_k(&[7, 5, 6], &[5], 3).unwrap();
        assert!((n - 1.0 / 3f64.log2()).abs() < 1e-15);
        assert_eq!(ndcg_at_k(&[5, 7], &[5], 2).unwrap(), 1.0);
        assert_eq!(ndcg_at_k(&[1, 2], &[5], 2).unwrap(), 0.0);
        assert!(recall_at_k::<u32>(&[1], &[], 1).is_err());
        assert!(ndcg_at_k(&[1], &[1], 0).is_err());
    }

    #[test]
    fn matches_scikit_learn_ndcg() {
        // sklearn.metrics.ndcg_score with binary relevance, no tied scores.
        for (recs, rels, k, want) in ndcg_cases() {
            let got = ndcg_at_k(&recs, &rels, k).unwrap();
            assert!(
                (got - want).abs() < 1e-12,
                "{recs:?} {rels:?} k={k}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn means_skip_users_without_relevant_items() {
        let recs = vec![vec![1, 2], vec![3, 4], vec![5]];
        let rels = vec![vec![2], vec![], vec![9]];
        assert_eq!(mean_recall_at_k(&recs, &rels, 2).unwrap(), 0.5);
    }
}
