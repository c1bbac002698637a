//! Load a table and print what was read, as JSON: used by bench/load.py to time the
//! reader alone (no statistics, no output).
//!
//!     cargo run --release -p lithe-core --example load -- FILE [--threads N] [--no-header]
//!         [--delimiter C] [--skip-rows N] [--na-values a,b]

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = lithe_core::ReadOptions::default();
    let mut file = None;
    let mut threads = 0usize;
    let mut i = 0;
    while i < args.len() {
        let val = |i: usize| args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--threads" => {
                threads = val(i).parse().unwrap_or(0);
                i += 1;
            }
            "--no-header" => opts.has_header = false,
            "--delimiter" => {
                let v = val(i);
                opts.delimiter = Some(if v == "tab" {
                    b'\t'
                } else {
                    v.as_bytes().first().copied().unwrap_or(b',')
                });
                i += 1;
            }
            "--skip-rows" => {
                opts.skip_rows = val(i).parse().unwrap_or(0);
                i += 1;
            }
            "--na-values" => {
                opts.na_values = val(i).split(',').map(String::from).collect();
                i += 1;
            }
            "--block-size" => {
                opts.block_size = val(i).parse().unwrap_or(opts.block_size);
                i += 1;
            }
            f => file = Some(f.to_string()),
        }
        i += 1;
    }
    if threads > 0 {
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global();
    }
    let Some(file) = file else {
        eprintln!("usage: load FILE [--threads N]");
        std::process::exit(2);
    };
    let base_rss = rss_bytes();
    let t0 = Instant::now();
    match lithe_core::read_table(std::path::Path::new(&file), &opts) {
        Ok(t) => {
            let secs = t0.elapsed().as_secs_f64();
            println!(
                "{{\"rows\": {}, \"columns\": {}, \"typed_bytes\": {}, \"seconds\": {secs}, \"base_rss\": {base_rss}, \"peak_rss\": {}}}",
                t.n_rows(),
                t.n_columns(),
                t.memory_size(),
                status_bytes("VmHWM:")
            );
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(if e.is_input() { 2 } else { 1 });
        }
    }
}

/// Resident set size of this process now (Linux), 0 where unknown.
fn rss_bytes() -> u64 {
    status_bytes("VmRSS:")
}

/// A size field of /proc/self/status (VmRSS: now, VmHWM: peak), in bytes.
fn status_bytes(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
