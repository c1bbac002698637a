//! Batch prediction timing of a saved model (either kind) on a CSV file: the first
//! call, and the median of the repetitions split into building the feature matrix
//! and walking the trees (the split for gradient boosting only).
//!
//!     cargo run --release -p lithe-trees --example batch_predict -- MODEL DATA.csv [REPS]
//!
//! Runs on rayon's default pool (`RAYON_NUM_THREADS` sets its size).

use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: batch_predict MODEL DATA.csv [REPS]");
        std::process::exit(2);
    }
    let reps: usize = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
        .max(1);
    let model = lithe_trees::load_any(std::path::Path::new(&args[1])).expect("model");
    let table =
        lithe_core::read_table(std::path::Path::new(&args[2]), &Default::default()).expect("data");
    let (mut tm, mut tw, mut tt) = (vec![], vec![], vec![]);
    let mut sink = 0.0;
    for _ in 0..reps {
        let t0 = Instant::now();
        let p = model.predict(&table).expect("predict");
        tt.push(t0.elapsed().as_secs_f64());
        sink += p[0];
        if let lithe_trees::TabularModel::Gbdt(g) = &model {
            let t0 = Instant::now();
            let m = g.features_of(&table).expect("matrix");
            tm.push(t0.elapsed().as_secs_f64());
            let t0 = Instant::now();
            let p = g.predict_matrix(&m);
            tw.push(t0.elapsed().as_secs_f64());
            sink += p[0];
        }
    }
    println!(
        "{{\"rows\": {}, \"first_ms\": {:.3}, \"predict_ms\": {:.3}, \"matrix_ms\": {:.3}, \"walk_ms\": {:.3}, \"checksum\": {sink:.6}}}",
        table.n_rows(),
        tt[0] * 1e3,
        median(tt) * 1e3,
        median(tm) * 1e3,
        median(tw) * 1e3,
    );
}
