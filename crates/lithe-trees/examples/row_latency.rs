//! Single-row prediction latency: train 200 trees × 31 leaves on generated data
//! (28 numeric features, binary), then time `predict_row` over many rows on one thread.
//!
//!     cargo run --release -p lithe-trees --example row_latency

use std::time::Instant;

use lithe_core::{Column, Table};
use lithe_trees::{GbdtModel, GbdtParams};

fn main() {
    let (n, d) = (100_000usize, 28usize);
    let mut state = 42u64;
    let mut rnd = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let cols: Vec<Vec<f64>> = (0..d).map(|_| (0..n).map(|_| rnd()).collect()).collect();
    let y: Vec<Option<i64>> = (0..n)
        .map(|i| {
            let s: f64 = cols.iter().take(6).map(|c| c[i]).sum::<f64>() + cols[6][i] * cols[7][i];
            Some(i64::from(s + 0.3 * rnd() > 0.0))
        })
        .collect();
    let mut columns: Vec<Column> = cols
        .iter()
        .enumerate()
        .map(|(j, c)| Column::from_f64(format!("x{j}"), c.clone()))
        .collect();
    columns.push(Column::from_i64("y", y));
    let table = Table::new(columns).expect("table");
    let params = GbdtParams {
        rounds: 200,
        ..Default::default()
    };
    let model = GbdtModel::fit(&params, &table, "y").expect("fit");
    let m = model.features_of(&table).expect("matrix");
    let rows = 20_000;
    let mut sink = 0.0;
    // Warm up, then time.
    for r in 0..rows {
        sink += model.predict_row(&m[r * d..(r + 1) * d]);
    }
    let t0 = Instant::now();
    let reps = 5;
    for _ in 0..reps {
        for r in 0..rows {
            sink += model.predict_row(&m[r * d..(r + 1) * d]);
        }
    }
    let us = t0.elapsed().as_secs_f64() * 1e6 / (rows * reps) as f64;
    println!(
        "{{\"trees\": {}, \"leaves\": {}, \"features\": {d}, \"single_row_us\": {us:.3}, \"checksum\": {sink:.3}}}",
        model.trees.len(),
        model.trees.iter().map(|t| t.n_leaves()).sum::<usize>()
    );
}
