//! The lithe model server: every lithe model behind the Open Inference Protocol
//! (KServe v2) over HTTP/JSON, from a repository directory that is watched and
//! hot-swapped, with admission control, micro-batching and Prometheus metrics.
//!
//! Start at [`serve`]; the routes are in [`server`], the repository in [`repo`], the
//! protocol's JSON and the tensor ↔ table conversion in [`protocol`], and the models as
//! served in [`model`].

pub mod batch;
pub mod error;
pub mod forecast;
pub mod metrics;
pub mod model;
pub mod openapi;
pub mod protocol;
pub mod repo;
pub mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

pub use error::ApiError;

use metrics::Metrics;
use repo::{BatchConfig, Registry};
use server::App;

/// How to run the server (`lithe serve`'s flags).
#[derive(Debug, Clone)]
pub struct Config {
    /// The repository: `<name>/<version>/model.lithe`.
    pub models: PathBuf,
    pub addr: SocketAddr,
    /// Threads answering requests (HTTP, parsing and computing).
    pub threads: usize,
    /// Requests computing at once (outside batching).
    pub max_concurrency: usize,
    /// Requests waiting beyond those; more are answered 503 at once.
    pub max_queue: usize,
    /// Rows per batch; 1 turns micro-batching off.
    pub max_batch: usize,
    /// How long a batch's first request may wait for others.
    pub max_delay_us: u64,
    /// The largest request body accepted (413 past it).
    pub max_body_bytes: usize,
    /// Seconds between repository polls.
    pub poll_secs: f64,
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The configuration is wrong (exit code 2).
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
}

impl Config {
    fn check(&self) -> Result<(), ServeError> {
        let bad = |m: String| Err(ServeError::Usage(m));
        if !self.models.is_dir() {
            return bad(format!(
                "--models: {} is not a directory",
                self.models.display()
            ));
        }
        if self.threads == 0 || self.max_concurrency == 0 || self.max_batch == 0 {
            return bad("--threads, --max-concurrency and --max-batch must be at least 1".into());
        }
        if self.max_body_bytes < 64 {
            return bad("--max-body-bytes must be at least 64".into());
        }
        if !(self.poll_secs.is_finite() && self.poll_secs > 0.0) {
            return bad(format!(
                "--poll-secs must be a positive number of seconds, got {}",
                self.poll_secs
            ));
        }
        Ok(())
    }
}

/// A running server's shared state and how to stop it (for tests and embedders).
pub struct Running {
    pub app: Arc<App>,
    pub addr: SocketAddr,
}

fn log(line: &str) {
    eprintln!("lithe serve: {line}");
}

/// Run the server until SIGTERM or Ctrl-C: load the repository, listen, answer, poll
/// the repository; on the signal, readiness turns 503 and the requests in flight are
/// answered before it returns. `on_ready` hears the bound address once it listens.
pub fn serve(config: Config, on_ready: impl FnOnce(&Running)) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.threads)
        .thread_name("lithe-serve")
        .enable_all()
        .build()
        .map_err(|e| ServeError::Io(format!("cannot start the runtime: {e}")))?;
    // (Batch predictions of many rows use rayon; give it the same thread budget. It
    // may already be set up by an embedder, which is fine.)
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build_global();
    rt.block_on(async move {
        let stop = async {
            #[cfg(unix)]
            {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .map_err(|e| ServeError::Io(format!("cannot watch SIGTERM: {e}")))?;
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
            Ok::<(), ServeError>(())
        };
        run(config, stop, on_ready).await
    })
}

/// The server on the current runtime until `stop` completes.
pub async fn run<F>(
    config: Config,
    stop: F,
    on_ready: impl FnOnce(&Running),
) -> Result<(), ServeError>
where
    F: std::future::Future<Output = Result<(), ServeError>> + Send + 'static,
{
    config.check()?;
    let metrics = Arc::new(Metrics::default());
    let batch = BatchConfig {
        max_batch: config.max_batch,
        max_delay_us: config.max_delay_us,
        queue: config.max_queue,
    };
    let registry = Arc::new(Registry::new(config.models.clone(), metrics.clone(), batch));
    for line in registry
        .poll()
        .map_err(|e| ServeError::Usage(format!("--models: {}: {e}", config.models.display())))?
    {
        log(&line);
    }
    if registry.snapshot().is_empty() {
        log(&format!(
            "no model is served yet: {} holds no <name>/<version>/model.lithe that loads",
            config.models.display()
        ));
    }
    let app = Arc::new(App::new(
        registry.clone(),
        metrics,
        config.max_concurrency,
        config.max_queue,
    ));
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| ServeError::Usage(format!("--addr {}: {e}", config.addr)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Io(e.to_string()))?;
    let _ = listener.set_ttl(64);
    log(&format!("listening on http://{addr}"));
    on_ready(&Running {
        app: app.clone(),
        addr,
    });

    // The repository poll runs on a thread of its own: loading a large model must not
    // hold up requests.
    let poll_app = app.clone();
    let every = Duration::from_secs_f64(config.poll_secs);
    let poller = std::thread::Builder::new()
        .name("lithe-repo".into())
        .spawn(move || {
            while !poll_app.stopping.load(Relaxed) {
                std::thread::park_timeout(every);
                if poll_app.stopping.load(Relaxed) {
                    break;
                }
                match poll_app.registry.poll() {
                    Ok(lines) => lines.iter().for_each(|l| log(l)),
                    Err(e) => log(&format!("error: cannot read the repository: {e}")),
                }
            }
        })
        .map_err(|e| ServeError::Io(format!("cannot start the repository poll: {e}")))?;

    let router = server::router(app.clone(), config.max_body_bytes);
    let stop_app = app.clone();
    let shutdown = async move {
        let r = stop.await;
        stop_app.stopping.store(true, Relaxed);
        log("stopping: readiness is 503; answering the requests in flight");
        if let Err(e) = r {
            log(&format!("error: {e}"));
        }
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| ServeError::Io(format!("the server failed: {e}")))?;
    app.stopping.store(true, Relaxed);
    poller.thread().unpark();
    let _ = poller.join();
    log("stopped");
    Ok(())
}
