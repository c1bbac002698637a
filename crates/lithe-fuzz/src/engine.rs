//! A mutational fuzzer that runs on stable Rust.
//!
//! Without compiler coverage, new behaviour is judged by what each input does: every
//! target returns a coarse class of its outcome (which stage refused the input and
//! how), and an input with a class not seen before joins the corpus, as a coverage
//! fuzzer keeps inputs that reach new edges. Inputs are mutated from the corpus by
//! byte flips, interesting values, insertions, deletions, duplications, splices and
//! tokens that matter to lithe's parsers (delimiters, quotes, line ends, missing
//! markers, extreme numbers and dates).
//!
//! Findings end the run with the input saved: a panic (caught), a hang (an input
//! running past the time limit in wall-clock and CPU time, seen by a watchdog thread) and an allocation past
//! the memory limit (seen by the counting allocator in the driver).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lithe_core::rng::SplitMix;

use crate::targets::Target;

/// How long and how hard to fuzz.
#[derive(Debug, Clone)]
pub struct Config {
    /// Wall-clock budget; the run stops at whichever of this and `max_execs` comes
    /// first.
    pub seconds: f64,
    pub max_execs: u64,
    pub seed: u64,
    /// Longest input tried (bytes).
    pub max_len: usize,
    /// An input running longer than this is a hang.
    pub hang_after: Duration,
    /// Where findings are written.
    pub findings: PathBuf,
    /// Inputs beside the generated seeds.
    pub corpus: Vec<Vec<u8>>,
    /// Write each input here before running it (slow; for crashes that kill the
    /// process).
    pub trace: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seconds: 10.0,
            max_execs: u64::MAX,
            seed: 1,
            max_len: 1 << 20,
            hang_after: Duration::from_secs(10),
            findings: PathBuf::from("fuzz-findings"),
            corpus: Vec::new(),
            trace: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: &'static str,
    pub execs: u64,
    pub seconds: f64,
    pub corpus: usize,
    pub classes: usize,
    pub slowest: Duration,
}

/// A finding: what went wrong, and where the input was saved.
#[derive(Debug, Clone)]
pub struct Finding {
    pub what: String,
    pub input: PathBuf,
}

/// The input being run, for the watchdog and the allocator to save.
pub static CURRENT: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// When the current input started (nanoseconds since the run began; 0 = idle).
static STARTED: AtomicU64 = AtomicU64::new(0);

const TOKENS: &[&[u8]] = &[
    b",",
    b";",
    b"\t",
    b"|",
    b"\"",
    b"\"\"",
    b"\n",
    b"\r\n",
    b"\r",
    b"\0",
    b"NA",
    b"null",
    b"NaN",
    b"inf",
    b"-inf",
    b"1e308",
    b"-1e308",
    b"1e-320",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"18446744073709551616",
    b"0",
    b"-1",
    b"007",
    b"1.50",
    b"9999-12-31",
    b"0000-01-01",
    b"2024-02-30",
    b"2024-01-01T25:61:61",
    b"\xEF\xBB\xBF",
    b"\xff\xfe",
    b"unique_id",
    b"ds",
    b"y",
    b"user_id",
    b"item_id",
    b"weight",
    b"timestamp",
    b"PAR1",
    b"\x1f\x8b",
    b"\x89LITHE\r\n",
];

const INTERESTING: &[u8] = &[0, 1, 0x7f, 0x80, 0xff, b'0', b'9', b'-', b'.', b'e'];

/// A number below `n` (> 0).
fn below(rng: &mut SplitMix, n: usize) -> usize {
    (rng.next_u64() % n.max(1) as u64) as usize
}

fn mutate(rng: &mut SplitMix, corpus: &[Vec<u8>], input: &mut Vec<u8>, max_len: usize) {
    let rounds = 1 + below(rng, 4);
    for _ in 0..rounds {
        let len = input.len();
        match below(rng, 9) {
            0 if len > 0 => {
                let i = below(rng, len);
                input[i] ^= 1 << below(rng, 8);
            }
            1 if len > 0 => {
                let i = below(rng, len);
                input[i] = INTERESTING[below(rng, INTERESTING.len())];
            }
            2 => {
                let i = below(rng, len + 1);
                let n = 1 + below(rng, 8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                input.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let i = below(rng, len);
                let n = 1 + below(rng, (len - i).min(64));
                input.drain(i..i + n);
            }
            4 if len > 0 => {
                // Repeat a stretch (rows, fields, digits).
                let i = below(rng, len);
                let n = 1 + below(rng, (len - i).min(256));
                let copy = input[i..i + n].to_vec();
                let at = below(rng, len + 1);
                input.splice(at..at, copy);
            }
            5 | 6 => {
                let t = TOKENS[below(rng, TOKENS.len())];
                let i = below(rng, len + 1);
                if below(rng, 2) == 0 || len == 0 {
                    input.splice(i..i, t.iter().copied());
                } else {
                    let end = (i + t.len()).min(len);
                    input.splice(i..end, t.iter().copied());
                }
            }
            7 if !corpus.is_empty() => {
                // Splice: a head of this input and a tail of another.
                let other = &corpus[below(rng, corpus.len())];
                let cut = below(rng, len + 1);
                let from = below(rng, other.len() + 1);
                input.truncate(cut);
                input.extend_from_slice(&other[from..]);
            }
            8 if len > 1 => {
                let keep = below(rng, len);
                input.truncate(keep);
            }
            _ => {}
        }
    }
    input.truncate(max_len);
}

fn save(dir: &Path, target: &str, what: &str, input: &[u8]) -> PathBuf {
    let _ = std::fs::create_dir_all(dir);
    let name = format!(
        "{target}-{what}-{:016x}.bin",
        xxhash_rust::xxh3::xxh3_64(input)
    );
    let path = dir.join(name);
    let _ = std::fs::write(&path, input);
    path
}

/// Fuzz `target` under `cfg`: the seeds and `cfg.corpus` first, then mutations.
pub fn fuzz(target: &Target, cfg: &Config) -> Result<Report, Finding> {
    let t0 = Instant::now();
    let mut corpus: Vec<Vec<u8>> = crate::seeds::seeds(target.name);
    corpus.extend(cfg.corpus.iter().cloned());
    corpus.retain(|c| c.len() <= cfg.max_len);
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let watchdog = spawn_watchdog(target.name, cfg, t0);
    let mut classes: HashSet<String> = HashSet::new();
    let mut rng = SplitMix::new(cfg.seed);
    let mut execs = 0u64;
    let mut slowest = Duration::ZERO;
    let mut input = Vec::new();
    let n_seeds = corpus.len();
    let budget = Duration::from_secs_f64(cfg.seconds.clamp(0.0, 1e9));
    let result = loop {
        if execs >= cfg.max_execs || (execs >= n_seeds as u64 && t0.elapsed() >= budget) {
            break Ok(());
        }
        input.clear();
        if (execs as usize) < n_seeds {
            input.extend_from_slice(&corpus[execs as usize]);
        } else {
            input.extend_from_slice(&corpus[below(&mut rng, corpus.len())]);
            mutate(&mut rng, &corpus, &mut input, cfg.max_len);
        }
        if let Ok(mut cur) = CURRENT.lock() {
            cur.clear();
            cur.extend_from_slice(&input);
        }
        if let Some(trace) = &cfg.trace {
            // Every input on disk before it runs: what a crash that kills the process
            // (a segfault in native code) needs to be reproduced.
            let _ = std::fs::write(trace, &input);
        }
        let start = Instant::now();
        STARTED.store((start - t0).as_nanos().max(1) as u64, Ordering::SeqCst);
        let outcome = lithe_core::quiet_panic::catch(|| (target.run)(&input));
        STARTED.store(0, Ordering::SeqCst);
        slowest = slowest.max(start.elapsed());
        execs += 1;
        match outcome {
            Ok(class) => {
                if classes.insert(class) && execs > n_seeds as u64 {
                    corpus.push(input.clone());
                }
            }
            Err(msg) => {
                let path = save(&cfg.findings, target.name, "panic", &input);
                break Err(Finding {
                    what: format!("panic: {msg}"),
                    input: path,
                });
            }
        }
    };
    drop(watchdog);
    result.map(|()| Report {
        target: target.name,
        execs,
        seconds: t0.elapsed().as_secs_f64(),
        corpus: corpus.len(),
        classes: classes.len(),
        slowest,
    })
}

/// Stops with the input saved when one runs past `cfg.hang_after`; ends with the
/// returned guard.
fn spawn_watchdog(target: &'static str, cfg: &Config, t0: Instant) -> Watchdog {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (limit, dir, flag) = (cfg.hang_after, cfg.findings.clone(), stop.clone());
    std::thread::spawn(move || {
        // The process's CPU time when this input was first seen running: an input is
        // a hang only when it has also *used* the time limit, not merely waited for
        // the CPU on a busy machine.
        let mut seen: Option<(u64, Duration)> = None;
        while !flag.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
            if flag.load(Ordering::SeqCst) {
                break;
            }
            let s = STARTED.load(Ordering::SeqCst);
            if s == 0 {
                continue;
            }
            let cpu = process_cpu();
            let cpu0 = match seen {
                Some((id, c)) if id == s => c,
                _ => {
                    seen = Some((s, cpu));
                    cpu
                }
            };
            let running = t0.elapsed().saturating_sub(Duration::from_nanos(s));
            if running > limit && cpu.saturating_sub(cpu0) + Duration::from_millis(200) >= limit {
                let input = CURRENT.lock().map(|c| c.clone()).unwrap_or_default();
                let path = save(&dir, target, "hang", &input);
                eprintln!(
                    "finding: {target}: an input ran for more than {:?} (hang); saved to {}",
                    limit,
                    path.display()
                );
                std::process::exit(3);
            }
        }
    });
    Watchdog(stop)
}

/// CPU time used by this process (user + system), from `/proc/self/stat` on Linux;
/// elsewhere wall time stands in (so every slow input counts).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after its ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    match f.as_slice() {
        // Clock ticks; Linux reports them at 100 per second.
        [u, s] => Duration::from_millis((u + s) * 10),
        _ => {
            static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
            START.get_or_init(Instant::now).elapsed()
        }
    }
}

struct Watchdog(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
