//! Prometheus metrics, kept in atomics (no lock on the request path) and written in
//! the text exposition format. Names follow Triton's, which operators know:
//! request, queue and compute durations in microseconds, counts per model and outcome,
//! batch sizes, queue depth.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Upper bounds (µs) of the latency histograms' buckets.
const LATENCY_US: [u64; 18] = [
    25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000,
];
/// Upper bounds of the batch-size histogram's buckets (rows).
const BATCH_ROWS: [u64; 12] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/// A histogram with fixed buckets.
pub struct Histogram {
    bounds: &'static [u64],
    /// One count per bucket (not cumulative), the last for values past every bound.
    counts: Vec<AtomicU64>,
    sum: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [u64]) -> Self {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, v: u64) {
        let b = self.bounds.partition_point(|&u| u < v);
        self.counts[b].fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let mut acc = 0;
        for (i, c) in self.counts.iter().enumerate() {
            acc += c.load(Relaxed);
            let le = self
                .bounds
                .get(i)
                .map_or("+Inf".to_string(), |b| b.to_string());
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{}le=\"{le}\"}} {acc}",
                sep(labels)
            );
        }
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum.load(Relaxed));
        let _ = writeln!(out, "{name}_count{{{labels}}} {acc}");
    }
}

fn sep(labels: &str) -> &'static str {
    if labels.is_empty() { "" } else { "," }
}

/// The outcomes requests are counted under.
pub const OUTCOMES: [&str; 4] = ["success", "client_error", "rejected", "server_error"];

/// One model's metrics (shared by all its versions).
pub struct ModelMetrics {
    pub request_us: Histogram,
    pub queue_us: Histogram,
    pub compute_us: Histogram,
    pub batch_rows: Histogram,
    /// Requests per outcome, in [`OUTCOMES`] order.
    outcomes: [AtomicU64; 4],
    /// Inputs rows answered (inference count) and model executions (batches).
    pub rows: AtomicU64,
    pub executions: AtomicU64,
}

impl ModelMetrics {
    fn new() -> Self {
        ModelMetrics {
            request_us: Histogram::new(&LATENCY_US),
            queue_us: Histogram::new(&LATENCY_US),
            compute_us: Histogram::new(&LATENCY_US),
            batch_rows: Histogram::new(&BATCH_ROWS),
            outcomes: Default::default(),
            rows: AtomicU64::new(0),
            executions: AtomicU64::new(0),
        }
    }

    /// One model execution of `rows` rows, started at `start`.
    pub fn executed(&self, start: std::time::Instant, rows: usize) {
        self.compute_us.observe(start.elapsed().as_micros() as u64);
        self.batch_rows.observe(rows as u64);
        self.executions.fetch_add(1, Relaxed);
    }

    pub fn count(&self, outcome: &str) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.outcomes[i].fetch_add(1, Relaxed);
        }
    }

    pub fn outcome_count(&self, outcome: &str) -> u64 {
        OUTCOMES
            .iter()
            .position(|o| *o == outcome)
            .map_or(0, |i| self.outcomes[i].load(Relaxed))
    }
}

/// Picks one histogram of a model's metrics.
type HistogramOf = fn(&ModelMetrics) -> &Histogram;

/// Every metric of the server.
#[derive(Default)]
pub struct Metrics {
    models: Mutex<BTreeMap<String, Arc<ModelMetrics>>>,
    /// Requests admitted and not yet answered (executing or waiting).
    pub in_flight: AtomicI64,
    /// Requests waiting for a compute slot or a batch.
    pub queued: AtomicI64,
    /// Inference requests for models the server does not have.
    pub unknown_model: AtomicU64,
    /// Model loads by outcome.
    pub loads_ok: AtomicU64,
    pub loads_failed: AtomicU64,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// The metrics of model `name`, created on first use.
    pub fn model(&self, name: &str) -> Arc<ModelMetrics> {
        let mut m = self.models.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(name.to_owned())
            .or_insert_with(|| Arc::new(ModelMetrics::new()))
            .clone()
    }

    /// The Prometheus text exposition of everything.
    pub fn render(&self, versions: &[(String, u64)]) -> String {
        let models: Vec<(String, Arc<ModelMetrics>)> = {
            let m = self.models.lock().unwrap_or_else(|p| p.into_inner());
            m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let mut out = String::new();
        let help = |out: &mut String, name: &str, kind: &str, text: &str| {
            let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} {kind}");
        };
        help(
            &mut out,
            "lithe_inference_requests_total",
            "counter",
            "Inference requests by model and outcome.",
        );
        for (name, m) in &models {
            for o in OUTCOMES {
                let _ = writeln!(
                    out,
                    "lithe_inference_requests_total{{model=\"{}\",outcome=\"{o}\"}} {}",
                    escape(name),
                    m.outcome_count(o)
                );
            }
        }
        help(
            &mut out,
            "lithe_inference_count",
            "counter",
            "Rows inferred (a batch of n rows counts n).",
        );
        for (name, m) in &models {
            let _ = writeln!(
                out,
                "lithe_inference_count{{model=\"{}\"}} {}",
                escape(name),
                m.rows.load(Relaxed)
            );
        }
        help(
            &mut out,
            "lithe_inference_exec_count",
            "counter",
            "Model executions (one per batch).",
        );
        for (name, m) in &models {
            let _ = writeln!(
                out,
                "lithe_inference_exec_count{{model=\"{}\"}} {}",
                escape(name),
                m.executions.load(Relaxed)
            );
        }
        let hists: [(&str, &str, HistogramOf); 4] = [
            (
                "lithe_inference_request_duration_us",
                "Time from a request's arrival to its answer.",
                |m| &m.request_us,
            ),
            (
                "lithe_inference_queue_duration_us",
                "Time a request waited for a compute slot or a batch.",
                |m| &m.queue_us,
            ),
            (
                "lithe_inference_compute_infer_duration_us",
                "Time the model computed (per execution).",
                |m| &m.compute_us,
            ),
            (
                "lithe_inference_batch_size",
                "Rows per model execution.",
                |m| &m.batch_rows,
            ),
        ];
        for (metric, text, get) in hists {
            help(&mut out, metric, "histogram", text);
            for (name, m) in &models {
                get(m).write(&mut out, metric, &format!("model=\"{}\"", escape(name)));
            }
        }
        help(
            &mut out,
            "lithe_inference_in_flight",
            "gauge",
            "Requests admitted and not yet answered.",
        );
        let _ = writeln!(
            out,
            "lithe_inference_in_flight {}",
            self.in_flight.load(Relaxed)
        );
        help(
            &mut out,
            "lithe_inference_queue_depth",
            "gauge",
            "Requests waiting for a compute slot or a batch.",
        );
        let _ = writeln!(
            out,
            "lithe_inference_queue_depth {}",
            self.queued.load(Relaxed)
        );
        help(
            &mut out,
            "lithe_unknown_model_requests_total",
            "counter",
            "Inference requests for a model not served.",
        );
        let _ = writeln!(
            out,
            "lithe_unknown_model_requests_total {}",
            self.unknown_model.load(Relaxed)
        );
        help(
            &mut out,
            "lithe_model_loads_total",
            "counter",
            "Model loads from the repository by outcome.",
        );
        let _ = writeln!(
            out,
            "lithe_model_loads_total{{outcome=\"success\"}} {}",
            self.loads_ok.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "lithe_model_loads_total{{outcome=\"failure\"}} {}",
            self.loads_failed.load(Relaxed)
        );
        help(
            &mut out,
            "lithe_model_version",
            "gauge",
            "The version served of each model.",
        );
        for (name, v) in versions {
            let _ = writeln!(out, "lithe_model_version{{model=\"{}\"}} {v}", escape(name));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::new(&BATCH_ROWS);
        for v in [1, 1, 3, 5000] {
            h.observe(v);
        }
        let mut s = String::new();
        h.write(&mut s, "x", "model=\"m\"");
        assert!(s.contains("x_bucket{model=\"m\",le=\"1\"} 2\n"), "{s}");
        assert!(s.contains("x_bucket{model=\"m\",le=\"4\"} 3\n"), "{s}");
        assert!(s.contains("x_bucket{model=\"m\",le=\"4096\"} 3\n"), "{s}");
        assert!(s.contains("x_bucket{model=\"m\",le=\"+Inf\"} 4\n"), "{s}");
        assert!(s.contains("x_sum{model=\"m\"} 5005\n"), "{s}");
        assert!(s.contains("x_count{model=\"m\"} 4\n"), "{s}");
    }

    #[test]
    fn outcomes_are_counted_per_model() {
        let m = Metrics::default();
        m.model("a").count("success");
        m.model("a").count("rejected");
        m.model("b").count("success");
        let text = m.render(&[("a".into(), 3)]);
        assert!(
            text.contains("lithe_inference_requests_total{model=\"a\",outcome=\"rejected\"} 1")
        );
        assert!(text.contains("lithe_inference_requests_total{model=\"b\",outcome=\"success\"} 1"));
        assert!(text.contains("lithe_model_version{model=\"a\"} 3"));
    }
}
