//! `lithe-fuzz`: fuzz lithe's readers on stable Rust.
//!
//! ```text
//! lithe-fuzz [TARGET|all] [--seconds S] [--execs N] [--seed N] [--max-len BYTES]
//!            [--corpus DIR] [--findings DIR] [--hang-secs S] [--max-alloc-mb MB]
//!            [--trace FILE]   (each input written to FILE before it runs)
//! lithe-fuzz seeds DIR      write every target's seeds to DIR/<target>/
//! lithe-fuzz replay TARGET FILE   run one input and print its outcome
//! lithe-fuzz list
//! ```
//!
//! Exit codes: 0 nothing found; 1 a panic; 3 a hang; 4 an allocation past the limit;
//! 2 bad arguments.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use lithe_fuzz::engine::{self, Config};
use lithe_fuzz::targets::{TARGETS, target};

/// The system allocator, counting live bytes and refusing single allocations past a
/// limit (the process then stops with the input saved).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LIMIT: AtomicUsize = AtomicUsize::new(2 << 30);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > LIMIT.load(Ordering::Relaxed) {
            oversize(layout.size());
        }
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > LIMIT.load(Ordering::Relaxed) {
            oversize(new_size);
        }
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// An allocation past the limit: save the input that asked for it and stop. (The
/// limit is lifted first, so saving may allocate.)
fn oversize(size: usize) -> ! {
    LIMIT.store(usize::MAX, Ordering::Relaxed);
    let input = engine::CURRENT
        .lock()
        .map(|c| c.clone())
        .unwrap_or_default();
    let dir = FINDINGS
        .lock()
        .ok()
        .and_then(|d| d.clone())
        .unwrap_or_else(|| PathBuf::from("."));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!(
        "alloc-{:016x}.bin",
        xxhash_rust::xxh3::xxh3_64(&input)
    ));
    let _ = std::fs::write(&path, &input);
    eprintln!(
        "finding: an allocation of {size} bytes (past the limit); input saved to {}\n{}",
        path.display(),
        std::backtrace::Backtrace::force_capture()
    );
    std::process::exit(4);
}

static FINDINGS: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

fn usage() -> String {
    let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
    format!(
        "usage: lithe-fuzz [TARGET|all] [--seconds S] [--execs N] [--seed N] [--max-len BYTES] \
         [--corpus DIR] [--findings DIR] [--hang-secs S] [--max-alloc-mb MB] [--trace FILE]\n       \
         lithe-fuzz seeds DIR | list\ntargets: {}",
        names.join(", ")
    )
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("error: {msg}\n{}", usage());
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = Config::default();
    let mut which = "all".to_string();
    let mut corpus_dir: Option<PathBuf> = None;
    let mut i = 0;
    let value = |i: usize| -> Result<&str, String> {
        args.get(i + 1)
            .map(String::as_str)
            .ok_or_else(|| format!("{} needs a value", args[i]))
    };
    let num = |s: &str, what: &str| -> Result<f64, String> {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("{what}: '{s}' is not a non-negative number"))
    };
    while i < args.len() {
        match args[i].as_str() {
            "list" => {
                for t in TARGETS {
                    println!("{:8} {}", t.name, t.about);
                }
                return Ok(ExitCode::SUCCESS);
            }
            "replay" => {
                // lithe-fuzz replay TARGET FILE: run one input, print its outcome.
                let t =
                    target(value(i)?).ok_or_else(|| format!("unknown target '{}'", args[i + 1]))?;
                let file = args.get(i + 2).ok_or("replay needs a target and a file")?;
                let input = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
                // Not caught: a panic prints where it happened (RUST_BACKTRACE=1 for
                // the whole trace).
                println!("{}: {}", t.name, (t.run)(&input));
                return Ok(ExitCode::SUCCESS);
            }
            "seeds" => {
                let dir = PathBuf::from(value(i)?);
                for t in TARGETS {
                    let d = dir.join(t.name);
                    std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
                    for (k, s) in lithe_fuzz::seeds::seeds(t.name).iter().enumerate() {
                        std::fs::write(d.join(format!("seed-{k}")), s)
                            .map_err(|e| format!("{}: {e}", d.display()))?;
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            "--seconds" => cfg.seconds = num(value(i)?, "--seconds")?,
            "--execs" => cfg.max_execs = num(value(i)?, "--execs")? as u64,
            "--seed" => cfg.seed = num(value(i)?, "--seed")? as u64,
            "--max-len" => cfg.max_len = num(value(i)?, "--max-len")? as usize,
            "--hang-secs" => {
                cfg.hang_after = std::time::Duration::from_secs_f64(num(value(i)?, "--hang-secs")?)
            }
            "--max-alloc-mb" => LIMIT.store(
                (num(value(i)?, "--max-alloc-mb")? * 1048576.0) as usize,
                Ordering::Relaxed,
            ),
            "--corpus" => corpus_dir = Some(PathBuf::from(value(i)?)),
            "--findings" => cfg.findings = PathBuf::from(value(i)?),
            "--trace" => cfg.trace = Some(PathBuf::from(value(i)?)),
            a if a.starts_with('-') => return Err(format!("unknown flag {a}")),
            a => {
                which = a.to_string();
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    if let Ok(mut f) = FINDINGS.lock() {
        *f = Some(cfg.findings.clone());
    }
    // One thread: a finding is then the input's alone, and runs repeat.
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build_global();
    let targets: Vec<_> = if which == "all" {
        TARGETS.iter().collect()
    } else {
        vec![target(&which).ok_or_else(|| format!("unknown target '{which}'"))?]
    };
    for t in targets {
        let mut cfg = cfg.clone();
        if let Some(dir) = &corpus_dir {
            let d = dir.join(t.name);
            if let Ok(entries) = std::fs::read_dir(&d) {
                for e in entries.flatten() {
                    if let Ok(b) = std::fs::read(e.path()) {
                        cfg.corpus.push(b);
                    }
                }
            }
        }
        PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
        match engine::fuzz(t, &cfg) {
            Ok(r) => println!(
                "{:8} {:>9} execs in {:6.1} s ({:>7.0}/s), corpus {:>4}, outcome classes {:>4}, \
                 slowest input {:>7.1} ms, peak heap {:>6.1} MiB",
                r.target,
                r.execs,
                r.seconds,
                r.execs as f64 / r.seconds.max(1e-9),
                r.corpus,
                r.classes,
                r.slowest.as_secs_f64() * 1e3,
                PEAK.load(Ordering::Relaxed) as f64 / 1048576.0
            ),
            Err(f) => {
                eprintln!(
                    "finding: {}: {}; input saved to {}",
                    t.name,
                    f.what,
                    f.input.display()
                );
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
