//! Per-row weights of a fit (scikit-learn's and LightGBM's `sample_weight`): their
//! checks, and the weighted quantile that L1 and quantile regression start from and
//! refit their leaves to.

use lithe_core::{Error, Result};

/// Row weights for [`crate::fit_weighted`]: one non-negative finite number per row of
/// the training table (`train`) and of the validation table (`valid`). `None` weighs
/// every row 1, and is the same fit as all ones.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Weights<'a> {
    pub train: Option<&'a [f64]>,
    pub valid: Option<&'a [f64]>,
}

/// Check weights for a table of `n_rows` rows: one per row, each finite and
/// non-negative. `name` is what the message calls them (`sample_weight`).
pub(crate) fn check(w: &[f64], n_rows: usize, name: &str) -> Result<()> {
    if w.len() != n_rows {
        return Err(Error::input(format!(
            "{name} has {} values but the data has {n_rows} rows; give one weight per row",
            w.len()
        )));
    }
    if let Some(r) = w.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        let why = if w[r].is_finite() {
            "is negative"
        } else {
            "is not finite"
        };
        return Err(Error::input(format!(
            "{name}, row {}: {:?} {why}; weights must be finite and non-negative",
            r + 1,
            w[r]
        )));
    }
    Ok(())
}

/// Check that the rows a fit learns from (`rows`: those with a target) do not all
/// weigh zero: there would be nothing to learn.
pub(crate) fn check_some_weight(w: &[f64], rows: &[u32], name: &str) -> Result<()> {
    if rows.iter().any(|&r| w[r as usize] > 0.0) {
        return Ok(());
    }
    Err(Error::input(format!(
        "{name} is zero for every row with a target; at least one weight must be \
         positive"
    )))
}

/// The weighted `q` quantile of values `v` with weights `w` (pairs `(value, weight)`,
/// reordered in place): weights count as repetitions, so integer weights give the
/// quantile of the rows repeated that many times, by [`crate::objective::quantile`]'s
/// linear interpolation (and unit weights its exact answer). Rows of zero weight are
/// left out, as if absent. Weights that average below 1 are first scaled to average
/// 1, so weights normalised to sum to 1 do not shrink every quantile to the minimum.
pub fn weighted_quantile(v: &mut Vec<(f64, f64)>, q: f64) -> f64 {
    v.retain(|&(_, w)| w > 0.0);
    if v.is_empty() {
        return 0.0;
    }
    v.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = v.iter().map(|p| p.1).sum();
    let unit = (total / v.len() as f64).min(1.0);
    // The position among `total / unit` repetitions; with unit weights, `q × (n − 1)`.
    let pos = q * (total / unit - 1.0);
    let mut end = 0.0;
    for (i, &(x, w)) in v.iter().enumerate() {
        end += w / unit;
        // Value `i` holds positions up to `end − 1`, then the line to the next value.
        if pos < end || i + 1 == v.len() {
            let frac = (pos - (end - 1.0)).clamp(0.0, 1.0);
            let next = v.get(i + 1).map_or(x, |p| p.0);
            return x + (next - x) * frac;
        }
    }
    v[v.len() - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::quantile;

    #[test]
    fn unit_weights_give_the_plain_quantile_bit_for_bit() {
        let vals = [3.5, -1.0, 2.25, 9.0, 0.1, 0.1, 7.75, -4.5, 1e-3];
        for q in [0.0, 0.1, 0.25, 0.5, 0.77, 0.9, 1.0] {
            for n in 1..=vals.len() {
                let want = quantile(&mut vals[..n].to_vec(), q);
                let mut pairs: Vec<(f64, f64)> = vals[..n].iter().map(|&x| (x, 1.0)).collect();
                assert_eq!(weighted_quantile(&mut pairs, q).to_bits(), want.to_bits());
            }
        }
    }

    #[test]
    fn integer_weights_are_repetitions_and_zero_weights_absence() {
        let pairs = vec![(1.0, 3.0), (5.0, 1.0), (2.0, 0.0), (4.0, 2.0), (-1.0, 1.0)];
        let repeated: Vec<f64> = pairs
            .iter()
            .flat_map(|&(x, w)| std::iter::repeat_n(x, w as usize))
            .collect();
        for q in [0.0, 0.1, 0.5, 0.63, 0.9, 1.0] {
            let a = weighted_quantile(&mut pairs.clone(), q);
            assert_eq!(
                a.to_bits(),
                quantile(&mut repeated.clone(), q).to_bits(),
                "{q}"
            );
            let mut dropped: Vec<_> = pairs.iter().copied().filter(|p| p.1 > 0.0).collect();
            assert_eq!(weighted_quantile(&mut dropped, q), a);
            // Weights summing to 1 read as weights averaging 1.
            let mut tiny: Vec<_> = pairs.iter().map(|&(x, w)| (x, w / 7.0)).collect();
            let mut mean_one: Vec<_> = pairs.iter().map(|&(x, w)| (x, w * 4.0 / 7.0)).collect();
            let (t, m) = (
                weighted_quantile(&mut tiny, q),
                weighted_quantile(&mut mean_one, q),
            );
            assert!((t - m).abs() < 1e-12, "{q}: {t} vs {m}");
        }
        // Most of the weight on 1: the median is 1, not a midpoint.
        assert_eq!(
            weighted_quantile(&mut vec![(1.0, 3.0), (9.0, 1.0)], 0.5),
            1.0
        );
        assert_eq!(weighted_quantile(&mut vec![(2.0, 0.0)], 0.5), 0.0);
    }

    #[test]
    fn bad_weights_are_named_with_their_row() {
        let e = |w: &[f64], n| check(w, n, "sample_weight").unwrap_err().to_string();
        assert!(e(&[1.0; 3], 4).contains("sample_weight has 3 values but the data has 4 rows"));
        assert!(e(&[1.0, -2.0], 2).contains("sample_weight, row 2: -2.0 is negative"));
        assert!(e(&[f64::NAN], 1).contains("row 1: NaN is not finite"));
        assert!(e(&[f64::INFINITY], 1).contains("row 1: inf is not finite"));
        assert!(check(&[0.0, 2.5], 2, "sample_weight").is_ok());
        let z = check_some_weight(&[0.0, 0.0, 1.0], &[0, 1], "sample_weight");
        assert!(z.unwrap_err().to_string().contains("zero for every row"));
    }
}
