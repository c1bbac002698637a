//! The model repository: `DIR/<name>/<version>/model.lithe` (or `forecast.json`),
//! versions being whole numbers. The newest version of each name that loads is
//! served. A poll finds new, changed and removed versions; a new model is loaded
//! completely before it is swapped in (one pointer store under a lock held for
//! nanoseconds), so a request sees the old model or the new one, never a mix; a
//! version that fails to load is reported and the one before keeps serving; a model
//! that leaves the repository is dropped from the map, and freed when its last
//! in-flight request ends (requests hold it by `Arc`).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use crate::batch::Batcher;
use crate::metrics::{Metrics, ModelMetrics};
use crate::model::{FORECAST_FILE, Loaded, MODEL_FILE};

/// What identifies a version's file on disk: a rewrite changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Stamp {
    pub version: u64,
    len: u64,
    modified: Option<SystemTime>,
}

/// A model version being served.
pub struct Served {
    pub name: String,
    pub version: u64,
    pub stamp: Stamp,
    pub model: Arc<Loaded>,
    pub metrics: Arc<ModelMetrics>,
    /// The version's compute queue and batcher, when the model's answers are row by
    /// row (tabular models).
    pub batcher: Option<Batcher>,
}

/// How the server batches (shared by every model).
#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Rows a batch may hold; 1 turns batching off.
    pub max_batch: usize,
    /// How long the first request of a batch may wait for others.
    pub max_delay_us: u64,
    /// Requests a model's queue may hold waiting.
    pub queue: usize,
}

/// The served models by name.
pub struct Registry {
    dir: PathBuf,
    models: RwLock<Arc<BTreeMap<String, Arc<Served>>>>,
    /// Versions that failed to load, so a poll does not retry (and re-report) them
    /// until their file changes.
    failed: std::sync::Mutex<HashSet<(String, Stamp)>>,
    metrics: Arc<Metrics>,
    batch: BatchConfig,
}

/// A version directory found by a scan.
struct Found {
    version: u64,
    dir: PathBuf,
    stamp: Stamp,
}

fn stamp_of(dir: &Path, version: u64) -> Option<Stamp> {
    let meta = [MODEL_FILE, FORECAST_FILE]
        .iter()
        .find_map(|f| std::fs::metadata(dir.join(f)).ok().filter(|m| m.is_file()))?;
    Some(Stamp {
        version,
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

/// Every model name's version directories, newest first. Entries that are not
/// directories, or versions that are not whole numbers, are skipped.
fn scan(dir: &Path) -> std::io::Result<BTreeMap<String, Vec<Found>>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        let mut versions = Vec::new();
        let Ok(vs) = std::fs::read_dir(entry.path()) else {
            continue;
        };
        for v in vs.flatten() {
            let Some(version) = v.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) else {
                continue;
            };
            let vdir = v.path();
            if let Some(stamp) = stamp_of(&vdir, version) {
                versions.push(Found {
                    version,
                    dir: vdir,
                    stamp,
                });
            }
        }
        versions.sort_by_key(|f| std::cmp::Reverse(f.version));
        out.insert(name, versions);
    }
    Ok(out)
}

impl Registry {
    pub fn new(dir: PathBuf, metrics: Arc<Metrics>, batch: BatchConfig) -> Self {
        Registry {
            dir,
            models: RwLock::new(Arc::new(BTreeMap::new())),
            failed: Default::default(),
            metrics,
            batch,
        }
    }

    /// The model served under `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Served>> {
        self.snapshot().get(name).cloned()
    }

    /// Every served model, as of now.
    pub fn snapshot(&self) -> Arc<BTreeMap<String, Arc<Served>>> {
        self.models
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Bring the served models in line with the repository: load what is new or
    /// changed, drop what is gone. Returns one line per change or failure, for the log.
    pub fn poll(&self) -> std::io::Result<Vec<String>> {
        let found = scan(&self.dir)?;
        let current = self.snapshot();
        let mut next: BTreeMap<String, Arc<Served>> = BTreeMap::new();
        let mut log = Vec::new();
        for (name, versions) in &found {
            let now = current.get(name);
            let mut chosen = None;
            for f in versions {
                if now.is_some_and(|s| s.stamp == f.stamp) {
                    chosen = now.cloned();
                    break;
                }
                let key = (name.clone(), f.stamp);
                if self
                    .failed
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .contains(&key)
                {
                    continue;
                }
                match Loaded::load(&f.dir) {
                    Ok(m) => {
                        self.metrics.loads_ok.fetch_add(1, Relaxed);
                        log.push(match now {
                            Some(old) => format!(
                                "model '{name}': version {} replaces version {}",
                                f.version, old.version
                            ),
                            None => format!(
                                "model '{name}': version {} loaded ({})",
                                f.version, m.platform
                            ),
                        });
                        chosen = Some(self.served(name, f.stamp, m));
                        break;
                    }
                    Err(e) => {
                        self.metrics.loads_failed.fetch_add(1, Relaxed);
                        log.push(format!(
                            "error: model '{name}': version {} failed to load: {e}{}",
                            f.version,
                            match now {
                                Some(s) => format!(" (version {} keeps serving)", s.version),
                                None => String::new(),
                            }
                        ));
                        self.failed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .insert(key);
                    }
                }
            }
            // (The served version's files all gone, or none loading: keep what serves
            // only while its own directory exists.)
            match chosen {
                Some(s) => {
                    next.insert(name.clone(), s);
                }
                None => {
                    if let Some(s) = now
                        && versions.iter().any(|f| f.version == s.version)
                    {
                        next.insert(name.clone(), s.clone());
                    } else if let Some(s) = now {
                        log.push(format!(
                            "model '{name}': version {} removed; unloaded",
                            s.version
                        ));
                    }
                }
            }
        }
        for (name, s) in current.iter() {
            if !found.contains_key(name) {
                log.push(format!(
                    "model '{name}': removed from the repository; version {} unloaded",
                    s.version
                ));
            }
        }
        let changed = next.len() != current.len()
            || next
                .iter()
                .any(|(k, v)| current.get(k).is_none_or(|c| !Arc::ptr_eq(c, v)));
        if changed {
            *self.models.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        }
        Ok(log)
    }

    fn served(&self, name: &str, stamp: Stamp, m: Loaded) -> Arc<Served> {
        let model = Arc::new(m);
        let metrics = self.metrics.model(name);
        let batcher = model.row_aligned().then(|| {
            Batcher::start(
                name,
                model.clone(),
                metrics.clone(),
                self.metrics.clone(),
                self.batch,
            )
        });
        Arc::new(Served {
            name: name.to_owned(),
            version: stamp.version,
            stamp,
            model,
            metrics,
            batcher,
        })
    }
}
