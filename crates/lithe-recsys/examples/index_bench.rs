//! The item index at scale: N synthetic unit vectors of dimension 64, queries from the
//! same distribution, recall@10 against exact search, and one-thread latency per query
//! for several search widths.
//!
//!     cargo run --release -p lithe-recsys --example index_bench -- [N] [QUERIES] [THREADS] [KIND]
//!         [degree=16] [build=128] [widths=16,32,64,128,256]
//!
//! Defaults: 1,000,000 items, 1,000 queries, 2 threads for building and for the exact
//! answers (the timed searches run on one thread), graph degree (connectivity) 16 and
//! build width 128 as lithe's models use, the search widths listed, KIND `lowrank`:
//! - `lowrank`: a 16-dimensional latent vector mapped to 64 by one fixed random matrix,
//!   plus noise of a twentieth of its size per coordinate, then unit length: 64
//!   coordinates, far fewer directions that matter, as in trained embeddings.
//! - `clusters`: 1,000 random centres and isotropic noise half a centre's size in all 64
//!   coordinates: locally a 64-dimensional cloud, the hard case for any graph index.

use std::time::Instant;

use lithe_recsys::SplitMix;
use lithe_recsys::dense::dot;
use lithe_recsys::index::{IndexParams, ItemIndex, exact_top_k};
use rayon::prelude::*;

const DIM: usize = 64;
const K: usize = 10;

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut SplitMix) -> f32 {
    let (a, b) = (rng.unit().max(1e-300), rng.unit());
    ((-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()) as f32
}

fn unit(v: &mut [f32]) {
    let n = dot(v, v).sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

/// `n` unit vectors around `clusters` random centres (spread 0.5 per coordinate
/// relative to the centre's 1), generated in parallel from per-row seeds.
fn clustered(n: usize, clusters: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix::new(seed);
    let centres: Vec<f32> = (0..clusters * DIM).map(|_| normal(&mut rng)).collect();
    let mut out = vec![0f32; n * DIM];
    out.par_chunks_mut(DIM).enumerate().for_each(|(r, v)| {
        let mut rng = SplitMix::new(seed ^ (r as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let c = (rng.next_u64() % clusters as u64) as usize;
        for (j, x) in v.iter_mut().enumerate() {
            *x = centres[c * DIM + j] + 0.5 * normal(&mut rng);
        }
        unit(v);
    });
    out
}

/// `n` unit vectors `normalise(A z + noise)`, `z` of `LATENT` standard normal draws,
/// `A` a fixed 64 × LATENT standard normal matrix (from `seed_a`), the noise a
/// twentieth of `A z`'s size per coordinate.
fn lowrank(n: usize, seed_a: u64, seed: u64) -> Vec<f32> {
    const LATENT: usize = 16;
    let mut rng = SplitMix::new(seed_a);
    let a: Vec<f32> = (0..DIM * LATENT).map(|_| normal(&mut rng)).collect();
    let mut out = vec![0f32; n * DIM];
    out.par_chunks_mut(DIM).enumerate().for_each(|(r, v)| {
        let mut rng = SplitMix::new(seed ^ (r as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let z: Vec<f32> = (0..LATENT).map(|_| normal(&mut rng)).collect();
        for (j, x) in v.iter_mut().enumerate() {
            *x = dot(&a[j * LATENT..(j + 1) * LATENT], &z);
        }
        let size = dot(v, v).sqrt() / (DIM as f32).sqrt();
        for x in v.iter_mut() {
            *x += 0.05 * size * normal(&mut rng);
        }
        unit(v);
    });
    out
}

fn main() {
    let kind = std::env::args()
        .skip(1)
        .find(|a| a.parse::<usize>().is_err() && !a.contains('='))
        .unwrap_or_else(|| "lowrank".to_string());
    let setting = |name: &str| -> Option<String> {
        std::env::args()
            .skip(1)
            .find_map(|a| a.strip_prefix(&format!("{name}=")).map(str::to_string))
    };
    let defaults = IndexParams::default();
    let degree: usize =
        setting("degree").map_or(defaults.connectivity, |v| v.parse().expect("degree=N"));
    let build: usize =
        setting("build").map_or(defaults.expansion_add, |v| v.parse().expect("build=N"));
    let widths: Vec<usize> = setting("widths").map_or(vec![16, 32, 64, 128, 256], |v| {
        v.split(',')
            .map(|w| w.parse().expect("widths=A,B,..."))
            .collect()
    });
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(1_000_000);
    let n_queries = args.get(1).copied().unwrap_or(1000);
    let threads = args.get(2).copied().unwrap_or(2);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .expect("thread pool");
    let t = Instant::now();
    let (items, queries) = match kind.as_str() {
        "clusters" => (clustered(n, 1000, 1), clustered(n_queries, 1000, 2)),
        "lowrank" => (lowrank(n, 3, 1), lowrank(n_queries, 3, 2)),
        other => panic!("unknown KIND {other}: lowrank or clusters"),
    };
    eprintln!("generated {n} items in {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let p = IndexParams {
        connectivity: degree,
        expansion_add: build,
        ..defaults
    };
    let index = ItemIndex::new(DIM, &p).expect("index");
    index.add_parallel(0, &items, threads).expect("build");
    let build_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let exact: Vec<Vec<u64>> = queries
        .par_chunks(DIM)
        .map(|q| {
            exact_top_k(&items, DIM, q, K, |_| true)
                .into_iter()
                .map(|x| x.0)
                .collect()
        })
        .collect();
    let exact_s = t.elapsed().as_secs_f64();
    println!(
        "{kind}: items {n}, dim {DIM}, queries {n_queries}; build {build_s:.1} s on {threads} threads \
         (connectivity {}, expansion_add {}); exact search {:.1} ms/query on {threads} threads",
        p.connectivity,
        p.expansion_add,
        exact_s * 1e3 * threads as f64 / n_queries as f64
    );
    println!("| expansion_search | recall@10 | p50 µs | p99 µs | queries/s (1 thread) |");
    println!("|---:|---:|---:|---:|---:|");
    for ef in widths {
        index.set_expansion_search(ef);
        // One warm-up pass, then the timed pass, one query at a time on this thread.
        for q in queries.chunks(DIM).take(100) {
            index.search(q, K, |_| true).expect("search");
        }
        let mut lat = Vec::with_capacity(n_queries);
        let mut found = 0usize;
        let all = Instant::now();
        for (q, want) in queries.chunks(DIM).zip(&exact) {
            let t = Instant::now();
            let got = index.search(q, K, |_| true).expect("search");
            lat.push(t.elapsed().as_secs_f64() * 1e6);
            found += got.iter().filter(|x| want.contains(&x.0)).count();
        }
        let total = all.elapsed().as_secs_f64();
        lat.sort_by(f64::total_cmp);
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
        println!(
            "| {ef} | {:.4} | {:.0} | {:.0} | {:.0} |",
            found as f64 / (K * n_queries) as f64,
            pct(0.5),
            pct(0.99),
            n_queries as f64 / total
        );
    }
}
