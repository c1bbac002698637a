//! Data generators shared by the tree tests.
#![allow(dead_code)]

use lithe_core::{Column, Table};

/// A small deterministic generator (no extra dependency).
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Binary data: y depends on x1 (numeric), a missing-value pattern and a category.
pub fn binary_table(n: usize, seed: u64) -> Table {
    let mut r = Lcg(seed);
    let mut x1 = Vec::new();
    let mut x2 = Vec::new();
    let mut cat = Vec::new();
    let mut y = Vec::new();
    let cats = ["red", "green", "blue", "black", "white", "pink"];
    for _ in 0..n {
        let a = r.next() * 10.0;
        let b = if r.next() < 0.2 { f64::NAN } else { r.next() };
        let c = cats[(r.next() * 6.0) as usize];
        let logit = (a - 5.0)
            + if b.is_nan() { 2.0 } else { 0.0 }
            + if c == "blue" || c == "pink" {
                2.5
            } else {
                -1.0
            };
        let p = 1.0 / (1.0 + (-logit).exp());
        x1.push(a);
        x2.push(b);
        cat.push(Some(c));
        y.push(Some(if r.next() < p { "yes" } else { "no" }));
    }
    Table::new(vec![
        Column::from_f64("x1", x1),
        Column::from_f64("x2", x2),
        Column::from_strings("color", &cat).unwrap(),
        Column::from_strings("y", &y).unwrap(),
    ])
    .unwrap()
}

/// 1.0 where column `y` says "yes", else 0.0.
pub fn yes(t: &Table) -> Vec<f64> {
    (0..t.n_rows())
        .map(|r| {
            if t.column("y").unwrap().value_string(r).as_deref() == Some("yes") {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

/// Run `f` on a pool of `threads` threads.
pub fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// One row with `binary_table`'s features: x1 = 4, x2 = 0.5 and the given colour.
pub fn one_row(color: Option<&str>) -> Table {
    Table::new(vec![
        Column::from_f64("x1", vec![4.0]),
        Column::from_f64("x2", vec![0.5]),
        Column::from_strings("color", &[color]).unwrap(),
    ])
    .unwrap()
}

/// `predict_row` on each row of the row-major `matrix` gives the batch prediction
/// `batch`, bit for bit.
pub fn assert_rows_match_batch(
    predict_row: impl Fn(&[f32]) -> f64,
    matrix: &[f32],
    nf: usize,
    batch: &[f64],
) {
    for (r, row) in matrix.chunks(nf).enumerate() {
        assert_eq!(predict_row(row).to_bits(), batch[r].to_bits(), "row {r}");
    }
}

/// Rows (row-major, features x1, x2, color as in [`binary_table`]) of the values where
/// tree walks can go wrong: every split threshold of `trees` and its neighbouring
/// floats, ±0, ±infinity and `NaN` for the numbers; for the category index valid
/// indices, the missing bin, out-of-range, negative, fractional and `NaN` values.
pub fn edge_rows(trees: &[lithe_trees::tree::Tree]) -> Vec<f32> {
    let mut num: Vec<Vec<f32>> =
        vec![vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0]; 2];
    for t in trees {
        for nd in t.nodes.iter().filter(|nd| nd.feature < 2) {
            let v = nd.threshold;
            let f = nd.feature as usize;
            num[f].extend([
                v,
                f32::from_bits(v.to_bits() + 1),
                f32::from_bits(v.to_bits() - 1),
            ]);
        }
    }
    let cat = [
        0.0,
        1.0,
        2.0,
        3.0,
        4.0,
        5.0,
        6.0,
        7.0,
        99.0,
        -1.0,
        1.5,
        -0.0,
        f32::NAN,
        1e9,
    ];
    let n = num[0].len().max(num[1].len()).max(400);
    (0..n)
        .flat_map(|i| {
            [
                num[0][i % num[0].len()],
                num[1][(i * 7 + 3) % num[1].len()],
                cat[(i * 5 + i / 14) % cat.len()],
            ]
        })
        .collect()
}
