//! The compute queue of a tabular model version, and dynamic micro-batching: requests
//! queue (bounded) to a thread of the version's own, which takes the first, waits up to
//! the delay budget for more (or until the batch holds `max_batch` rows), stacks their
//! rows, runs the model once and hands each request its rows back. With a batch of one
//! row it is just the queue: the I/O threads keep reading and answering (503 once the
//! queue is full) while the model computes, so the queue is where the server can see it
//! and not in the sockets. A thread (not an async task) because the budget is
//! microseconds and the runtime's timers tick in milliseconds.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use lithe_core::Table;

use crate::error::ApiError;
use crate::metrics::{Metrics, ModelMetrics};
use crate::model::Loaded;
use crate::protocol::Decoded;
use crate::repo::BatchConfig;

/// A request waiting for its batch: its inputs, decoded and checked.
pub struct Job {
    pub cols: Vec<(String, Decoded)>,
    pub rows: usize,
    pub enqueued: Instant,
    pub reply: oneshot::Sender<Result<Table, ApiError>>,
}

/// The sending end of a model version's queue. Dropping it (when the version is
/// unloaded and its last request is answered) ends the thread.
pub struct Batcher {
    tx: SyncSender<Job>,
    /// Requests queued and not yet taken by the thread.
    pending: Arc<AtomicUsize>,
    capacity: usize,
    /// The server's metrics (its queue-depth gauge counts this queue too).
    server: Arc<Metrics>,
}

impl Batcher {
    pub fn start(
        name: &str,
        model: Arc<Loaded>,
        metrics: Arc<ModelMetrics>,
        server: Arc<Metrics>,
        config: BatchConfig,
    ) -> Batcher {
        let capacity = config.queue.max(1);
        let (tx, rx) = sync_channel(capacity);
        let pending = Arc::new(AtomicUsize::new(0));
        let (taken, gauge) = (pending.clone(), server.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("batch-{name}"))
            .spawn(move || run(rx, &model, &metrics, &gauge, &taken, config));
        if let Err(e) = spawned {
            // (Without its thread the queue's receiver is gone: every send fails and
            // requests are answered 503, which says what happened.)
            tracing::error!("model '{name}': cannot start its batching thread: {e}");
        }
        Batcher {
            tx,
            pending,
            capacity,
            server,
        }
    }

    /// Whether the queue is full (checked before a request is parsed, so that the
    /// answer to one that cannot be taken costs next to nothing).
    pub fn is_full(&self) -> bool {
        self.pending.load(Relaxed) >= self.capacity
    }

    /// Queue a request; when the queue is full or the thread is gone, the request
    /// comes back as the error to answer.
    pub fn submit(&self, job: Job) -> Result<(), ApiError> {
        self.pending.fetch_add(1, Relaxed);
        self.server.queued.fetch_add(1, Relaxed);
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.pending.fetch_sub(1, Relaxed);
                self.server.queued.fetch_sub(1, Relaxed);
                Err(match e {
                    TrySendError::Full(_) => full(),
                    TrySendError::Disconnected(_) => {
                        ApiError::unavailable("the model is not accepting requests")
                    }
                })
            }
        }
    }
}

/// The answer when a model's queue is full.
pub fn full() -> ApiError {
    ApiError::unavailable("the model's queue is full; retry later")
}

fn run(
    rx: Receiver<Job>,
    model: &Loaded,
    m: &ModelMetrics,
    server: &Metrics,
    pending: &AtomicUsize,
    c: BatchConfig,
) {
    let budget = Duration::from_micros(c.max_delay_us);
    while let Ok(first) = rx.recv() {
        pending.fetch_sub(1, Relaxed);
        let deadline = first.enqueued + budget;
        let mut rows = first.rows;
        let mut jobs = vec![first];
        while rows < c.max_batch {
            // Whatever is queued already joins; then wait out the budget.
            let next = match rx.try_recv() {
                Ok(j) => Ok(j),
                Err(_) => {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    rx.recv_timeout(deadline - now)
                }
            };
            match next {
                Ok(j) => {
                    pending.fetch_sub(1, Relaxed);
                    rows += j.rows;
                    jobs.push(j);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
        let start = Instant::now();
        server.queued.fetch_sub(jobs.len() as i64, Relaxed);
        for j in &jobs {
            m.queue_us
                .observe(start.duration_since(j.enqueued).as_micros() as u64);
        }
        execute(jobs, model, m);
    }
}

/// The model's answer to decoded columns.
fn infer(model: &Loaded, rows: usize, cols: Vec<(String, Decoded)>) -> Result<Table, ApiError> {
    let (names, values): (Vec<String>, Vec<Decoded>) = cols.into_iter().unzip();
    let named = names.iter().map(String::as_str).zip(values).collect();
    ApiError::catch(|| model.infer_decoded(rows, named, None))
}

/// Run a batch: stacked when the requests agree on their inputs, else (or when the
/// stacked run fails, so that each request gets its own error) one by one.
fn execute(jobs: Vec<Job>, model: &Loaded, m: &ModelMetrics) {
    let one = |job: Job| {
        let t = Instant::now();
        let rows = job.rows;
        let r = infer(model, rows, job.cols);
        m.executed(t, rows);
        let _ = job.reply.send(r);
    };
    if jobs.len() == 1 {
        jobs.into_iter().for_each(one);
        return;
    }
    let Some(stacked) = stack(&jobs) else {
        jobs.into_iter().for_each(one);
        return;
    };
    let total: usize = jobs.iter().map(|j| j.rows).sum();
    let t = Instant::now();
    let Ok(out) = infer(model, total, stacked) else {
        jobs.into_iter().for_each(one);
        return;
    };
    m.executed(t, total);
    let mut at = 0u32;
    for job in jobs {
        let n = job.rows as u32;
        let rows: Vec<u32> = (at..at + n).collect();
        at += n;
        let _ = job.reply.send(out.take(&rows).map_err(ApiError::from));
    }
}

/// The jobs' inputs one under another, when they have the same inputs (names, order
/// and kinds); `None` otherwise.
pub fn stack(jobs: &[Job]) -> Option<Vec<(String, Decoded)>> {
    let first = jobs.first()?;
    let same = jobs.iter().all(|j| {
        j.cols.len() == first.cols.len()
            && j.cols.iter().zip(&first.cols).all(|((a, x), (b, y))| {
                a == b && std::mem::discriminant(x) == std::mem::discriminant(y)
            })
    });
    if !same {
        return None;
    }
    let mut out: Vec<(String, Decoded)> = first
        .cols
        .iter()
        .map(|(n, d)| {
            (
                n.clone(),
                match d {
                    Decoded::Floats(_) => Decoded::Floats(Vec::new()),
                    Decoded::Ints(_) => Decoded::Ints(Vec::new()),
                    Decoded::Text(_) => Decoded::Text(Vec::new()),
                },
            )
        })
        .collect();
    for j in jobs {
        for ((_, dst), (_, src)) in out.iter_mut().zip(&j.cols) {
            match (dst, src) {
                (Decoded::Floats(a), Decoded::Floats(b)) => a.extend_from_slice(b),
                (Decoded::Ints(a), Decoded::Ints(b)) => a.extend_from_slice(b),
                (Decoded::Text(a), Decoded::Text(b)) => a.extend_from_slice(b),
                _ => return None,
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(cols: Vec<(&str, Decoded)>, rows: usize) -> Job {
        Job {
            cols: cols.into_iter().map(|(n, d)| (n.to_string(), d)).collect(),
            rows,
            enqueued: Instant::now(),
            reply: oneshot::channel().0,
        }
    }

    #[test]
    fn stacking_keeps_rows_in_order_and_missing_values() {
        let a = job(
            vec![
                ("x", Decoded::Floats(vec![1.0, f64::NAN])),
                ("c", Decoded::Text(vec![Some("u".into()), None])),
            ],
            2,
        );
        let b = job(
            vec![
                ("x", Decoded::Floats(vec![3.0])),
                ("c", Decoded::Text(vec![Some("v".into())])),
            ],
            1,
        );
        let s = stack(&[a, b]).unwrap();
        let Decoded::Floats(x) = &s[0].1 else {
            panic!()
        };
        assert_eq!((x[0], x[2]), (1.0, 3.0));
        assert!(x[1].is_nan());
        assert_eq!(
            s[1].1,
            Decoded::Text(vec![Some("u".into()), None, Some("v".into())])
        );
        let a = job(vec![("x", Decoded::Floats(vec![1.0]))], 1);
        let other = job(vec![("y", Decoded::Floats(vec![1.0]))], 1);
        assert!(stack(&[a, other]).is_none());
        let a = job(vec![("x", Decoded::Floats(vec![1.0]))], 1);
        let ints = job(vec![("x", Decoded::Ints(vec![Some(1)]))], 1);
        assert!(stack(&[a, ints]).is_none());
    }
}
