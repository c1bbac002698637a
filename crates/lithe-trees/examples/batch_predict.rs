//! Batch prediction timing of a saved model on a CSV file, split into the feature
//! matrix and the tree walk, median of several repetitions:
//!
//!     cargo run --release -p lithe-trees --example batch_predict -- MODEL DATA.csv [REPS]
//!
//! Runs on rayon's default pool (`RAYON_NUM_THREADS` sets its size).

use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: batch_predict MODEL DATA.csv [REPS]");
        std::process::exit(2);
    }
    let reps: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(20);
    let model = lithe_trees::load_any(std::path::Path::new(&args[1])).expect("model");
    let table =
        lithe_core::read_table(std::path::Path::new(&args[2]), &Default::default()).expect("data");
    if let lithe_trees::TabularModel::Gbdt(g) = &model {
        // Depth statistics: mean over trees of (max leaf depth, row-weighted mean depth).
        let m = g.features_of(&table).expect("matrix");
        let nf = g.features.len();
        let (mut dmax, mut dmean) = (0.0, 0.0);
        for t in &g.trees {
            if t.nodes.is_empty() {
                continue;
            }
            let mut depth = vec![0usize; t.nodes.len()];
            let mut leaf_depth = vec![0usize; t.n_leaves()];
            let mut mx = 0;
            for (i, nd) in t.nodes.iter().enumerate() {
                for c in [nd.left, nd.right] {
                    if c >= 0 {
                        depth[c as usize] = depth[i] + 1;
                    } else {
                        leaf_depth[!c as usize] = depth[i] + 1;
                        mx = mx.max(depth[i] + 1);
                    }
                }
            }
            dmax += mx as f64;
            let mut s = 0usize;
            for row in m.chunks(nf) {
                s += leaf_depth[t.leaf_of(row, &g.features)];
            }
            dmean += s as f64 / (m.len() / nf) as f64;
        }
        let n = g.trees.len() as f64;
        eprintln!("mean max depth {:.2}, mean path {:.2}", dmax / n, dmean / n);
    }
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
    eprintln!("first predict {:.3} ms", tt[0] * 1e3);
    println!(
        "{{\"rows\": {}, \"predict_ms\": {:.3}, \"matrix_ms\": {:.3}, \"walk_ms\": {:.3}, \"checksum\": {sink:.6}}}",
        table.n_rows(),
        median(tt) * 1e3,
        if tm.is_empty() { 0.0 } else { median(tm) * 1e3 },
        if tw.is_empty() { 0.0 } else { median(tw) * 1e3 },
    );
}
