//! The little dense linear algebra the models need: least squares by Householder QR,
//! the singular value decomposition of a tall matrix (one-sided Jacobi) and small
//! matrix products.

/// The least-squares coefficients `b` minimising `‖X b − y‖²`, with `X` given by its
/// columns (each of `y.len()` values). Householder QR, so it stays accurate where the
/// normal equations would square the condition number. A column that adds nothing
/// (numerically dependent on the earlier ones) gets coefficient 0.
pub fn lstsq(cols: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
    let n = y.len();
    let p = cols.len();
    let mut a: Vec<Vec<f64>> = cols.to_vec();
    let mut rhs = y.to_vec();
    let mut diag = vec![0.0; p];
    let scale: f64 = cols
        .iter()
        .flat_map(|c| c.iter())
        .fold(0.0, |s, v| s.max(v.abs()));
    for k in 0..p.min(n) {
        let norm = a[k][k..].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm <= 1e-12 * scale.max(1.0) * (n as f64).sqrt() {
            diag[k] = 0.0;
            continue;
        }
        let alpha = if a[k][k] > 0.0 { -norm } else { norm };
        // v = x − alpha·e1, stored in place of the column.
        a[k][k] -= alpha;
        let vnorm2: f64 = a[k][k..].iter().map(|v| v * v).sum();
        diag[k] = alpha;
        let (left, right) = a.split_at_mut(k + 1);
        let v = &left[k][k..];
        for col in right.iter_mut() {
            let dot: f64 = v.iter().zip(&col[k..]).map(|(a, b)| a * b).sum();
            let f = 2.0 * dot / vnorm2;
            for (c, vi) in col[k..].iter_mut().zip(v) {
                *c -= f * vi;
            }
        }
        let dot: f64 = v.iter().zip(&rhs[k..]).map(|(a, b)| a * b).sum();
        let f = 2.0 * dot / vnorm2;
        for (r, vi) in rhs[k..].iter_mut().zip(v) {
            *r -= f * vi;
        }
    }
    // Back substitution on R (diagonal in `diag`, above it in the columns).
    let mut b = vec![0.0; p];
    for k in (0..p.min(n)).rev() {
        if diag[k] == 0.0 {
            continue;
        }
        let mut s = rhs[k];
        for (j, bj) in b.iter().enumerate().skip(k + 1) {
            s -= a[j][k] * bj;
        }
        b[k] = s / diag[k];
    }
    b
}

/// The singular values (descending) and right singular vectors of a tall matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Svd {
    pub values: Vec<f64>,
    /// `vectors[j]` is the right singular vector of `values[j]`.
    pub vectors: Vec<Vec<f64>>,
    /// `X vectors[j]`: `values[j]` times the left singular vector.
    pub scaled_left: Vec<Vec<f64>>,
}

/// The singular value decomposition of `X` (given by its columns, each of the same
/// length) by one-sided Jacobi rotations (Hestenes): pairs of columns are rotated
/// until every pair is orthogonal to working precision; the column norms are then
/// the singular values and the accumulated rotation the right singular vectors.
/// Accurate to rounding in the small singular values too (a dependent column leaves
/// one near `ε·‖X‖`), which the normal equations would not be.
pub fn svd(cols: &[Vec<f64>]) -> Svd {
    let k = cols.len();
    let mut a: Vec<Vec<f64>> = cols.to_vec();
    let mut v: Vec<Vec<f64>> = (0..k)
        .map(|j| (0..k).map(|i| f64::from(u8::from(i == j))).collect())
        .collect();
    let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| a * b).sum::<f64>();
    for _sweep in 0..60 {
        let mut rotated = false;
        for i in 0..k {
            for j in i + 1..k {
                let (alpha, beta, gamma) =
                    (dot(&a[i], &a[i]), dot(&a[j], &a[j]), dot(&a[i], &a[j]));
                if gamma == 0.0 || gamma.abs() <= 1e-15 * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + (1.0 + zeta * zeta).sqrt());
                let c = 1.0 / (1.0 + t * t).sqrt();
                let s = c * t;
                for m in [&mut a, &mut v] {
                    let (lo, hi) = m.split_at_mut(j);
                    for (x, y) in lo[i].iter_mut().zip(hi[0].iter_mut()) {
                        let (xi, yj) = (*x, *y);
                        *x = c * xi - s * yj;
                        *y = s * xi + c * yj;
                    }
                }
            }
        }
        if !rotated {
            break;
        }
    }
    let norms: Vec<f64> = a.iter().map(|c| dot(c, c).sqrt()).collect();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&x, &y| norms[y].total_cmp(&norms[x]));
    Svd {
        values: order.iter().map(|&j| norms[j]).collect(),
        vectors: order.iter().map(|&j| v[j].clone()).collect(),
        scaled_left: order.iter().map(|&j| a[j].clone()).collect(),
    }
}

/// The minimum-norm least-squares coefficients `X⁺ y` by the pseudo-inverse (singular
/// values below `1e-15` of the largest count as zero, numpy's `pinv`), as
/// statsmodels' OLS computes them: a column that adds nothing shares the fit with the
/// columns it depends on instead of being dropped.
pub fn lstsq_min_norm(cols: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
    let d = svd(cols);
    let mut b = vec![0.0; cols.len()];
    let cutoff = 1e-15 * d.values.first().copied().unwrap_or(0.0);
    for ((sv, v), u) in d.values.iter().zip(&d.vectors).zip(&d.scaled_left) {
        if *sv <= cutoff || *sv == 0.0 {
            continue;
        }
        // u is σ times the left singular vector.
        let f = u.iter().zip(y).map(|(a, b)| a * b).sum::<f64>() / (sv * sv);
        for (bi, vi) in b.iter_mut().zip(v) {
            *bi += f * vi;
        }
    }
    b
}

/// A dense row-major matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct Mat {
    pub rows: usize,
    pub cols: usize,
    pub v: Vec<f64>,
}

impl Mat {
    pub fn zeros(rows: usize, cols: usize) -> Mat {
        Mat {
            rows,
            cols,
            v: vec![0.0; rows * cols],
        }
    }

    pub fn from_rows(rows: &[&[f64]]) -> Mat {
        let cols = rows.first().map_or(0, |r| r.len());
        Mat {
            rows: rows.len(),
            cols,
            v: rows.iter().flat_map(|r| r.iter().copied()).collect(),
        }
    }

    pub fn at(&self, i: usize, j: usize) -> f64 {
        self.v[i * self.cols + j]
    }

    pub fn set(&mut self, i: usize, j: usize, x: f64) {
        self.v[i * self.cols + j] = x;
    }

    pub fn t(&self) -> Mat {
        let mut out = Mat::zeros(self.cols, self.rows);
        for i in 0..self.rows {
            for j in 0..self.cols {
                out.set(j, i, self.at(i, j));
            }
        }
        out
    }

    pub fn mul(&self, o: &Mat) -> Mat {
        assert_eq!(self.cols, o.rows);
        let mut out = Mat::zeros(self.rows, o.cols);
        for i in 0..self.rows {
            for k in 0..self.cols {
                let a = self.at(i, k);
                if a == 0.0 {
                    continue;
                }
                let row = &o.v[k * o.cols..(k + 1) * o.cols];
                for (x, b) in out.v[i * o.cols..(i + 1) * o.cols].iter_mut().zip(row) {
                    *x += a * b;
                }
            }
        }
        out
    }

    pub fn add(&self, o: &Mat) -> Mat {
        Mat {
            rows: self.rows,
            cols: self.cols,
            v: self.v.iter().zip(&o.v).map(|(a, b)| a + b).collect(),
        }
    }

    pub fn scale(&self, f: f64) -> Mat {
        Mat {
            rows: self.rows,
            cols: self.cols,
            v: self.v.iter().map(|a| a * f).collect(),
        }
    }

    /// The Kronecker product `self ⊗ o`.
    pub fn kron(&self, o: &Mat) -> Mat {
        let mut out = Mat::zeros(self.rows * o.rows, self.cols * o.cols);
        for i in 0..self.rows {
            for j in 0..self.cols {
                let a = self.at(i, j);
                for k in 0..o.rows {
                    for l in 0..o.cols {
                        out.set(i * o.rows + k, j * o.cols + l, a * o.at(k, l));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_recovers_a_line_and_a_plane() {
        let t: Vec<f64> = (1..=10).map(|v| v as f64).collect();
        let y: Vec<f64> = t.iter().map(|t| 3.0 - 0.5 * t).collect();
        let b = lstsq(&[vec![1.0; 10], t.clone()], &y);
        assert!(
            (b[0] - 3.0).abs() < 1e-12 && (b[1] + 0.5).abs() < 1e-12,
            "{b:?}"
        );
        // Overdetermined with noise: the QR answer equals the normal equations' one.
        let noise = [0.3, -0.1, 0.2, -0.4, 0.1, 0.0, 0.25, -0.2, 0.05, -0.15];
        let y2: Vec<f64> = y.iter().zip(noise).map(|(a, b)| a + b).collect();
        let b = lstsq(&[vec![1.0; 10], t.clone()], &y2);
        let tm = 5.5;
        let ym = y2.iter().sum::<f64>() / 10.0;
        let slope = t
            .iter()
            .zip(&y2)
            .map(|(t, y)| (t - tm) * (y - ym))
            .sum::<f64>()
            / t.iter().map(|t| (t - tm) * (t - tm)).sum::<f64>();
        assert!((b[1] - slope).abs() < 1e-12);
        assert!((b[0] - (ym - slope * tm)).abs() < 1e-12);
        // A repeated column adds nothing.
        let b = lstsq(&[vec![1.0; 10], t.clone(), t.clone()], &y);
        assert!(
            (b[0] - 3.0).abs() < 1e-9 && (b[1] + b[2] + 0.5).abs() < 1e-9,
            "{b:?}"
        );
    }

    #[test]
    fn svd_of_small_matrices() {
        // X = [[3, 0], [4, 5]] (rows): singular values √45 and √5.
        let d = svd(&[vec![3.0, 4.0], vec![0.0, 5.0]]);
        assert!((d.values[0] - 45f64.sqrt()).abs() < 1e-12, "{d:?}");
        assert!((d.values[1] - 5f64.sqrt()).abs() < 1e-12, "{d:?}");
        // The right singular vectors are orthonormal and X v_j has norm σ_j.
        for (j, vj) in d.vectors.iter().enumerate() {
            let xv = [3.0 * vj[0], 4.0 * vj[0] + 5.0 * vj[1]];
            let norm = (xv[0] * xv[0] + xv[1] * xv[1]).sqrt();
            assert!((norm - d.values[j]).abs() < 1e-12);
            assert!((vj[0] * vj[0] + vj[1] * vj[1] - 1.0).abs() < 1e-14);
        }
        let v = &d.vectors;
        assert!((v[0][0] * v[1][0] + v[0][1] * v[1][1]).abs() < 1e-14);
        // A column equal to the sum of two others leaves a singular value at rounding.
        let t: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let u: Vec<f64> = t.iter().map(|x| (x * 0.3).sin()).collect();
        let w: Vec<f64> = t.iter().zip(&u).map(|(a, b)| a + b).collect();
        let d = svd(&[t, u, w]);
        let sum: f64 = d.values.iter().sum();
        assert!(d.values[2] / sum < 1e-14, "{:?}", d.values);
        assert!(d.values[1] / sum > 1e-3);
        // Least squares through the pseudo-inverse: exact on a consistent system, and
        // the minimum-norm answer for dependent columns (a repeated column shares).
        let t: Vec<f64> = (1..=10).map(|v| v as f64).collect();
        let y: Vec<f64> = t.iter().map(|t| 3.0 - 0.5 * t).collect();
        let b = lstsq_min_norm(&[vec![1.0; 10], t.clone()], &y);
        assert!(
            (b[0] - 3.0).abs() < 1e-12 && (b[1] + 0.5).abs() < 1e-12,
            "{b:?}"
        );
        let b = lstsq_min_norm(&[vec![1.0; 10], t.clone(), t.clone()], &y);
        assert!(
            (b[1] + 0.25).abs() < 1e-12 && (b[2] + 0.25).abs() < 1e-12,
            "{b:?}"
        );
        let b = lstsq_min_norm(&[vec![0.0; 10], t.clone()], &t);
        assert_eq!(b[0], 0.0);
        assert!((b[1] - 1.0).abs() < 1e-14);
    }

    #[test]
    fn kronecker_and_products() {
        let a = Mat::from_rows(&[&[1.0, 2.0], &[3.0, 4.0]]);
        let i = Mat::from_rows(&[&[1.0, 0.0], &[0.0, 1.0]]);
        assert_eq!(a.mul(&i), a);
        let k = i.kron(&a);
        assert_eq!(k.at(2, 2), 1.0);
        assert_eq!(k.at(3, 3), 4.0);
        assert_eq!(k.at(0, 2), 0.0);
        assert_eq!(a.t().at(0, 1), 3.0);
    }
}
