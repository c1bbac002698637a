//! The little dense linear algebra the models need: least squares by Householder QR
//! and small matrix products.

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
