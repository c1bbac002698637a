//! `lithe serve`: the model server (`lithe-serve`) from the command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::{GlobalArgs, UsageError};

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The model repository: <name>/<version>/model.lithe (or forecast.json); the
    /// newest version of each name is served, and new versions are swapped in
    #[arg(long, value_name = "DIR")]
    models: PathBuf,
    /// Address to listen on
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    addr: SocketAddr,
    /// Requests computing at once (default: the thread count)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_concurrency: Option<u32>,
    /// Requests that may wait beyond those; more are answered 503 with Retry-After at once
    #[arg(long, default_value_t = 256, value_name = "N")]
    max_queue: u32,
    /// Rows per micro-batch (tabular models); 1 turns batching off
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_batch: u32,
    /// How long a batch's first request may wait for more, in microseconds
    #[arg(long, default_value_t = 500, value_name = "N")]
    max_delay_us: u64,
    /// The largest request body accepted; larger ones are answered 413
    #[arg(long, default_value_t = 16 << 20, value_name = "N")]
    max_body_bytes: usize,
    /// Seconds between looks at the repository for new, changed or removed versions
    #[arg(long, default_value_t = 2.0, value_name = "S")]
    poll_secs: f64,
}

pub fn run(a: ServeArgs, g: &GlobalArgs) -> anyhow::Result<()> {
    let threads = g
        .threads
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let config = lithe_serve::Config {
        models: a.models,
        addr: a.addr,
        threads,
        max_concurrency: a.max_concurrency.map_or(threads, |n| n as usize),
        max_queue: a.max_queue as usize,
        max_batch: a.max_batch as usize,
        max_delay_us: a.max_delay_us,
        max_body_bytes: a.max_body_bytes,
        poll_secs: a.poll_secs,
    };
    lithe_serve::serve(config, |_| {}).map_err(|e| match e {
        lithe_serve::ServeError::Usage(m) => anyhow::Error::new(UsageError(m)),
        other => anyhow::Error::new(other),
    })
}
