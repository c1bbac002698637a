//! Dense row-major matrix products for training, over `matrixmultiply`'s kernels.
//!
//! Products split their output rows into blocks (a quarter of the rows, a multiple of
//! 8, at most [`BLOCK`]), whatever the thread count, and each output element is summed
//! by one kernel call in one order, so results are the same for any number of threads
//! (and for any block size that is a multiple of the kernels' 8 rows).

use rayon::prelude::*;

/// Output rows per parallel task, at most.
pub const BLOCK: usize = 256;

/// Output rows per parallel task for an `m`-row product: a quarter of them rounded up
/// to a multiple of 8 (so a 64 × 64 weight gradient is worked in four parts), at most
/// [`BLOCK`].
fn block_rows(m: usize) -> usize {
    m.div_ceil(4).next_multiple_of(8).clamp(8, BLOCK)
}

/// A row-major matrix view: `rows × cols`, or its transpose.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub transposed: bool,
}

impl<'a> Mat<'a> {
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        debug_assert_eq!(data.len(), rows * cols);
        Mat {
            data,
            rows,
            cols,
            transposed: false,
        }
    }

    pub fn t(self) -> Self {
        Mat {
            transposed: !self.transposed,
            ..self
        }
    }

    /// Rows and columns as used in a product.
    fn shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// Row and column strides as used in a product.
    fn strides(&self) -> (isize, isize) {
        if self.transposed {
            (1, self.cols as isize)
        } else {
            (self.cols as isize, 1)
        }
    }
}

/// `c = a · b` (`beta = 0`) or `c += a · b` (`beta = 1`), `c` row-major `m × n`.
pub fn matmul(a: Mat, b: Mat, c: &mut [f32], beta: f32) {
    let (m, k) = a.shape();
    let (k2, n) = b.shape();
    assert_eq!(k, k2, "inner dimensions");
    assert_eq!(c.len(), m * n, "output size");
    let (rsa, csa) = a.strides();
    let (rsb, csb) = b.strides();
    let block = block_rows(m);
    c.par_chunks_mut(block * n.max(1))
        .enumerate()
        .for_each(|(blk, out)| {
            let r0 = blk * block;
            let rows = out.len() / n.max(1);
            if rows == 0 || k == 0 {
                if beta == 0.0 {
                    out.fill(0.0);
                }
                return;
            }
            // SAFETY: the pointers and strides describe `rows × k` of `a` starting at
            // row `r0`, all of `b`, and `out` (`rows × n`), all in bounds as asserted.
            unsafe {
                matrixmultiply::sgemm(
                    rows,
                    k,
                    n,
                    1.0,
                    a.data.as_ptr().offset(r0 as isize * rsa),
                    rsa,
                    csa,
                    b.data.as_ptr(),
                    rsb,
                    csb,
                    beta,
                    out.as_mut_ptr(),
                    n as isize,
                    1,
                );
            }
        });
}

/// `c = a · b` on the calling thread (for callers that parallelise around it).
pub fn matmul_serial(a: Mat, b: Mat, c: &mut [f32]) {
    let (m, k) = a.shape();
    let (k2, n) = b.shape();
    assert_eq!(k, k2, "inner dimensions");
    assert_eq!(c.len(), m * n, "output size");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        c.fill(0.0);
        return;
    }
    let (rsa, csa) = a.strides();
    let (rsb, csb) = b.strides();
    // SAFETY: the pointers and strides describe all of `a` (`m × k`), `b` (`k × n`) and
    // `c` (`m × n`), in bounds as asserted.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.data.as_ptr(),
            rsa,
            csa,
            b.data.as_ptr(),
            rsb,
            csb,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut s = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            s[j] += x[j] * y[j];
        }
    }
    let mut t = (s[0] + s[4]) + (s[1] + s[5]) + ((s[2] + s[6]) + (s[3] + s[7]));
    for (x, y) in ra.iter().zip(rb) {
        t += x * y;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn products_and_transposes_match_the_plain_sums() {
        let (m, k, n) = (150, 7, 5);
        let a: Vec<f32> = (0..m * k)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 4.0)
            .collect();
        let b: Vec<f32> = (0..k * n)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) / 2.0)
            .collect();
        let want = naive(&a, &b, m, k, n);
        let mut c = vec![1f32; m * n];
        matmul(Mat::new(&a, m, k), Mat::new(&b, k, n), &mut c, 0.0);
        assert_eq!(c, want);
        // aᵀ stored as k × m, bᵀ as n × k.
        let at: Vec<f32> = (0..k * m).map(|i| a[(i % m) * k + i / m]).collect();
        let bt: Vec<f32> = (0..n * k).map(|i| b[(i % k) * n + i / k]).collect();
        let mut c2 = want.clone();
        matmul(
            Mat::new(&at, k, m).t(),
            Mat::new(&bt, n, k).t(),
            &mut c2,
            1.0,
        );
        let twice: Vec<f32> = want.iter().map(|v| 2.0 * v).collect();
        assert_eq!(c2, twice);
    }
}
