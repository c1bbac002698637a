//! Dynamic micro-batching: requests for one model version queue to a thread of its
//! own, which takes the first, waits up to the delay budget for more (or until the
//! batch holds `max_batch` rows), stacks their tables, runs the model once and hands
//! each request its rows back. A thread (not an async task) because the budget is
//! microseconds and the runtime's timers tick in milliseconds.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use lithe_core::{Column, ColumnData, Table};

use crate::error::ApiError;
use crate::metrics::{Metrics, ModelMetrics};
use crate::model::Loaded;
use crate::repo::BatchConfig;

/// A request waiting for its batch.
pub struct Job {
    pub table: Table,
    pub enqueued: Instant,
    pub reply: oneshot::Sender<Result<Table, ApiError>>,
}

/// The sending end of a model version's batch queue. Dropping it (when the version
/// is unloaded and its last request is answered) ends the thread.
pub struct Batcher {
    tx: SyncSender<Job>,
}

impl Batcher {
    pub fn start(
        name: &str,
        model: Arc<Loaded>,
        metrics: Arc<ModelMetrics>,
        server: Arc<Metrics>,
        config: BatchConfig,
    ) -> Batcher {
        let (tx, rx) = sync_channel(config.queue.max(1));
        let spawned = std::thread::Builder::new()
            .name(format!("batch-{name}"))
            .spawn(move || run(rx, &model, &metrics, &server, config));
        if let Err(e) = spawned {
            // (Without its thread the queue's receiver is gone: every send fails and
            // requests are answered 503, which says what happened.)
            tracing::error!("model '{name}': cannot start its batching thread: {e}");
        }
        Batcher { tx }
    }

    /// Queue a request; when the queue is full or the thread is gone, the request
    /// comes back as the error to answer.
    pub fn submit(&self, job: Job) -> Result<(), ApiError> {
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(ApiError::unavailable(
                "the model's batch queue is full; retry later",
            )),
            Err(TrySendError::Disconnected(_)) => {
                Err(ApiError::unavailable("the model is not accepting requests"))
            }
        }
    }
}

fn run(rx: Receiver<Job>, model: &Loaded, m: &ModelMetrics, server: &Metrics, c: BatchConfig) {
    let budget = Duration::from_micros(c.max_delay_us);
    while let Ok(first) = rx.recv() {
        let deadline = first.enqueued + budget;
        let mut rows = first.table.n_rows();
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
                    rows += j.table.n_rows();
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

/// Run a batch: stacked when the tables agree on their columns, else (or when the
/// stacked run fails, so that each request gets its own error) one by one.
fn execute(jobs: Vec<Job>, model: &Loaded, m: &ModelMetrics) {
    let one = |job: Job| {
        let t = Instant::now();
        let r = model.infer(&job.table, None);
        m.compute_us.observe(t.elapsed().as_micros() as u64);
        m.batch_rows.observe(job.table.n_rows() as u64);
        m.executions.fetch_add(1, Relaxed);
        let _ = job.reply.send(r);
    };
    if jobs.len() == 1 {
        jobs.into_iter().for_each(one);
        return;
    }
    let tables: Vec<&Table> = jobs.iter().map(|j| &j.table).collect();
    let Some(stacked) = stack(&tables) else {
        jobs.into_iter().for_each(one);
        return;
    };
    let t = Instant::now();
    let result = model.infer(&stacked, None);
    let Ok(out) = result else {
        jobs.into_iter().for_each(one);
        return;
    };
    m.compute_us.observe(t.elapsed().as_micros() as u64);
    m.batch_rows.observe(stacked.n_rows() as u64);
    m.executions.fetch_add(1, Relaxed);
    let mut at = 0u32;
    for job in jobs {
        let n = job.table.n_rows() as u32;
        let rows: Vec<u32> = (at..at + n).collect();
        at += n;
        let _ = job.reply.send(out.take(&rows).map_err(ApiError::from));
    }
}

/// The tables one under another, when they have the same columns (names, order and
/// types); `None` otherwise.
pub fn stack(tables: &[&Table]) -> Option<Table> {
    let first = tables.first()?;
    let same = tables.iter().all(|t| {
        t.n_columns() == first.n_columns()
            && t.columns()
                .iter()
                .zip(first.columns())
                .all(|(a, b)| a.name() == b.name() && a.column_type() == b.column_type())
    });
    if !same {
        return None;
    }
    let mut cols = Vec::with_capacity(first.n_columns());
    for (i, c) in first.columns().iter().enumerate() {
        let parts = tables.iter().map(|t| &t.columns()[i]);
        cols.push(match c.data() {
            ColumnData::Float(_) => {
                Column::from_f64(c.name(), parts.flat_map(|p| p.to_f64()).collect())
            }
            ColumnData::Int(_) => Column::from_i64(
                c.name(),
                parts
                    .flat_map(|p| match p.data() {
                        ColumnData::Int(a) => (0..a.len())
                            .map(|r| (!p.is_null(r)).then(|| a.value(r)))
                            .collect::<Vec<_>>(),
                        _ => Vec::new(),
                    })
                    .collect(),
            ),
            _ => {
                let text: Vec<Option<String>> = parts
                    .flat_map(|p| (0..p.len()).map(|r| p.value_string(r)))
                    .collect();
                Column::from_strings(c.name(), &text).ok()?
            }
        });
    }
    Table::new(cols).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacking_keeps_rows_in_order_and_missing_values() {
        let a = Table::new(vec![
            Column::from_f64("x", vec![1.0, f64::NAN]),
            Column::from_strings("c", &[Some("u"), None]).unwrap(),
        ])
        .unwrap();
        let b = Table::new(vec![
            Column::from_f64("x", vec![3.0]),
            Column::from_strings("c", &[Some("v")]).unwrap(),
        ])
        .unwrap();
        let s = stack(&[&a, &b]).unwrap();
        let x = s.column("x").unwrap().to_f64();
        assert_eq!((x[0], x[2]), (1.0, 3.0));
        assert!(x[1].is_nan());
        let c = s.column("c").unwrap();
        assert_eq!(
            (0..3).map(|r| c.value_string(r)).collect::<Vec<_>>(),
            vec![Some("u".into()), None, Some("v".into())]
        );
        let other = Table::new(vec![Column::from_f64("y", vec![1.0])]).unwrap();
        assert!(stack(&[&a, &other]).is_none());
    }
}
