//! The HTTP routes of the Open Inference Protocol, admission (a bounded number of
//! requests in the server; past it, 503 at once) and the request path: parse, check,
//! queue for a compute slot or a batch, compute, answer.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::{Semaphore, oneshot};

use crate::batch::Job;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::protocol::{InferRequest, InferResponse, decode_all, table_of, to_outputs};
use crate::repo::{Registry, Served};

/// Everything a request may touch.
pub struct App {
    pub registry: Arc<Registry>,
    pub metrics: Arc<Metrics>,
    /// Requests admitted and not yet answered, and the most there may be.
    in_flight: AtomicUsize,
    max_in_flight: usize,
    /// Compute slots (requests computing at once, outside batching).
    slots: Semaphore,
    /// Set when shutdown begins: readiness answers 503 from then on.
    pub stopping: AtomicBool,
}

impl App {
    pub fn new(
        registry: Arc<Registry>,
        metrics: Arc<Metrics>,
        max_concurrency: usize,
        max_queue: usize,
    ) -> Self {
        App {
            registry,
            metrics,
            in_flight: AtomicUsize::new(0),
            max_in_flight: max_concurrency.max(1) + max_queue,
            slots: Semaphore::new(max_concurrency.max(1)),
            stopping: AtomicBool::new(false),
        }
    }
}

/// A request's place in the server; given back when dropped.
pub struct Admitted<'a>(&'a App);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
        self.0.metrics.in_flight.fetch_sub(1, Relaxed);
    }
}

pub fn admit(app: &App) -> Result<Admitted<'_>, ApiError> {
    if app.in_flight.fetch_add(1, Relaxed) >= app.max_in_flight {
        app.in_flight.fetch_sub(1, Relaxed);
        return Err(ApiError::unavailable(format!(
            "the server is at its limit of {} requests in flight; retry later",
            app.max_in_flight
        )));
    }
    app.metrics.in_flight.fetch_add(1, Relaxed);
    Ok(Admitted(app))
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

fn ok_json(v: serde_json::Value) -> Response {
    json_response(StatusCode::OK, v.to_string().into_bytes())
}

/// The routes, over `app`, with request bodies limited to `max_body_bytes`.
pub fn router(app: Arc<App>, max_body_bytes: usize) -> Router {
    Router::new()
        .route(
            "/v2/health/live",
            get(|| async { ok_json(json!({"live": true})) }),
        )
        .route("/v2/health/ready", get(ready))
        .route("/v2", get(server_metadata))
        .route("/v2/models/{name}", get(metadata))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(metadata_version),
        )
        .route("/v2/models/{name}/ready", get(model_ready))
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(model_ready_version),
        )
        .route("/v2/models/{name}/infer", post(infer))
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(infer_version),
        )
        .route("/v2/repository/index", post(repository_index))
        .route("/metrics", get(metrics))
        .route(
            "/openapi.json",
            get(|| async { ok_json(crate::openapi::document()) }),
        )
        .fallback(|| async { ApiError::not_found("no such route; see /openapi.json") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(405, "method not allowed on this route; see /openapi.json")
        })
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(app)
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    if app.stopping.load(Relaxed) {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"ready": false}).to_string().into_bytes(),
        );
    }
    ok_json(json!({"ready": true}))
}

async fn server_metadata() -> Response {
    ok_json(json!({
        "name": "lithe",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["model_repository"],
    }))
}

/// The model served under `name`, at `version` if one is asked for.
fn lookup(app: &App, name: &str, version: Option<&str>) -> Result<Arc<Served>, ApiError> {
    let Some(s) = app.registry.get(name) else {
        let names: Vec<String> = app.registry.snapshot().keys().cloned().collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        return Err(ApiError::not_found(format!(
            "no model '{name}' is served (served: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                lithe_core::table::preview_list(&names, 20)
            }
        )));
    };
    if let Some(v) = version
        && v.parse::<u64>().ok() != Some(s.version)
    {
        return Err(ApiError::not_found(format!(
            "model '{name}' has no version '{v}' loaded (version {} is served)",
            s.version
        )));
    }
    Ok(s)
}

fn metadata_of(s: &Served) -> Response {
    ok_json(json!({
        "name": s.name,
        "versions": [s.version.to_string()],
        "platform": format!("lithe/{}", s.model.platform),
        "inputs": s.model.inputs,
        "outputs": s.model.outputs,
    }))
}

async fn metadata(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    match lookup(&app, &name, None) {
        Ok(s) => metadata_of(&s),
        Err(e) => e.into_response(),
    }
}

async fn metadata_version(
    State(app): State<Arc<App>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    match lookup(&app, &name, Some(&version)) {
        Ok(s) => metadata_of(&s),
        Err(e) => e.into_response(),
    }
}

fn ready_of(app: &App, name: &str, version: Option<&str>) -> Response {
    match lookup(app, name, version) {
        Ok(_) => ok_json(json!({"name": name, "ready": true})),
        Err(e) => e.into_response(),
    }
}

async fn model_ready(State(app): State<Arc<App>>, Path(name): Path<String>) -> Response {
    ready_of(&app, &name, None)
}

async fn model_ready_version(
    State(app): State<Arc<App>>,
    Path((name, version)): Path<(String, String)>,
) -> Response {
    ready_of(&app, &name, Some(&version))
}

/// Triton's repository index: every served model with its version and state.
async fn repository_index(State(app): State<Arc<App>>) -> Response {
    let models: Vec<_> = app
        .registry
        .snapshot()
        .values()
        .map(|s| json!({"name": s.name, "version": s.version.to_string(), "state": "READY"}))
        .collect();
    ok_json(serde_json::Value::Array(models))
}

async fn metrics(State(app): State<Arc<App>>) -> Response {
    let versions: Vec<(String, u64)> = app
        .registry
        .snapshot()
        .values()
        .map(|s| (s.name.clone(), s.version))
        .collect();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        app.metrics.render(&versions),
    )
        .into_response()
}

async fn infer(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    infer_at(app, name, None, body).await
}

async fn infer_version(
    State(app): State<Arc<App>>,
    Path((name, version)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    infer_at(app, name, Some(version), body).await
}

async fn infer_at(
    app: Arc<App>,
    name: String,
    version: Option<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let arrived = Instant::now();
    let served = match lookup(&app, &name, version.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            app.metrics.unknown_model.fetch_add(1, Relaxed);
            return e.into_response();
        }
    };
    let result = answer(&app, &served, arrived, body).await;
    let m = &served.metrics;
    match result {
        Ok(body) => {
            m.count("success");
            m.request_us.observe(arrived.elapsed().as_micros() as u64);
            json_response(StatusCode::OK, body)
        }
        Err(e) => {
            m.count(e.outcome());
            e.into_response()
        }
    }
}

/// The body of the answer to one inference request, or why there is none.
async fn answer(
    app: &App,
    served: &Arc<Served>,
    arrived: Instant,
    body: Result<Bytes, BytesRejection>,
) -> Result<Vec<u8>, ApiError> {
    let body = body.map_err(|r| {
        ApiError::new(
            r.status().as_u16(),
            format!("the request body cannot be read: {}", r.body_text()),
        )
    })?;
    let _admitted = admit(app)?;
    if served.batcher.as_ref().is_some_and(|b| b.is_full()) {
        return Err(crate::batch::full());
    }
    let req: InferRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("the request is not a valid inference request: {e}")))?;
    let model = &served.model;
    let allowed = model.closed_inputs().then_some(model.inputs.as_slice());
    let (rows, cols) = decode_all(&req.inputs, allowed)?;
    let m = &served.metrics;
    let out = if let Some(b) = &served.batcher {
        let cols = cols.into_iter().map(|(n, d)| (n.to_string(), d)).collect();
        let (reply, rx) = oneshot::channel();
        b.submit(Job {
            cols,
            rows,
            enqueued: arrived,
            reply,
        })?;
        rx.await
            .map_err(|_| ApiError::new(500, "the model's batch was lost"))??
    } else {
        app.metrics.queued.fetch_add(1, Relaxed);
        let permit = app.slots.acquire().await;
        app.metrics.queued.fetch_sub(1, Relaxed);
        let _permit = permit.map_err(|_| ApiError::unavailable("the server is shutting down"))?;
        let start = Instant::now();
        m.queue_us
            .observe(start.duration_since(arrived).as_micros() as u64);
        let out = if model.heavy() {
            let table = table_of(cols)?;
            let model = model.clone();
            let params = req.parameters.clone();
            tokio::task::spawn_blocking(move || model.infer(&table, params.as_ref()))
                .await
                .map_err(|_| ApiError::new(500, "the model failed on this request"))?
        } else {
            ApiError::catch(|| model.infer_decoded(rows, cols, req.parameters.as_ref()))
        }?;
        m.executed(start, rows);
        out
    };
    m.rows.fetch_add(rows as u64, Relaxed);
    let outputs = to_outputs(&out, req.outputs.as_deref())?;
    let resp = InferResponse {
        model_name: served.name.clone(),
        model_version: served.version.to_string(),
        id: req.id,
        outputs,
    };
    serde_json::to_vec(&resp).map_err(|e| ApiError::new(500, e.to_string()))
}
