//! The server end to end: a repository on disk, the server on a local port, requests
//! over real TCP. Predictions over HTTP must equal the library's on the same rows;
//! bad requests get a 4xx naming what is wrong and change nothing; versions swap.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use serde_json::{Value, json};

use lithe_core::{Column, Table};
use lithe_serve::server::App;
use lithe_trees::{TabularModel, TabularParams};

/// A running server on its own thread; stopped (and joined) on drop.
struct Server {
    addr: SocketAddr,
    app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn config(dir: &Path) -> lithe_serve::Config {
    lithe_serve::Config {
        models: dir.to_path_buf(),
        addr: "127.0.0.1:0".parse().unwrap(),
        threads: 2,
        max_concurrency: 2,
        max_queue: 16,
        max_batch: 1,
        max_delay_us: 0,
        max_body_bytes: 1 << 16,
        // (Tests poll the repository themselves, through the registry.)
        poll_secs: 3600.0,
    }
}

fn start(c: lithe_serve::Config) -> Server {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let stop = async move {
                let _ = stop_rx.await;
                Ok(())
            };
            lithe_serve::run(c, stop, |r| {
                ready_tx.send((r.addr, r.app.clone())).unwrap();
            })
            .await
            .unwrap();
        });
    });
    let (addr, app) = ready_rx.recv().unwrap();
    Server {
        addr,
        app,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

/// One HTTP/1.1 exchange: the status and the body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
) -> (u16, Vec<(String, String)>, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    // (A server may answer and close before reading a body it refuses.)
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (s, _, b) = http(addr, "GET", path, b"");
    (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
}

fn post(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let (s, _, b) = http(addr, "POST", path, body.to_string().as_bytes());
    (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
}

/// A table of `n` rows: two numeric features (one with missing values), one
/// categorical, and a binary target that depends on all three.
fn data(n: usize, seed: u64) -> Table {
    let mut rng = lithe_core::rng::SplitMix::new(seed);
    let mut x = Vec::new();
    let mut z = Vec::new();
    let mut c = Vec::new();
    let mut y = Vec::new();
    for i in 0..n {
        let a = rng.unit() * 4.0 - 2.0;
        let b = if i % 7 == 0 { f64::NAN } else { rng.unit() };
        let k = ["red", "green", "blue"][(rng.unit() * 3.0) as usize % 3];
        let s = a + if k == "red" { 1.0 } else { -0.5 } + if b.is_nan() { 0.5 } else { b };
        x.push(a);
        z.push(b);
        c.push(Some(k));
        y.push(Some(if s + rng.unit() - 0.5 > 0.3 {
            "yes"
        } else {
            "no"
        }));
    }
    Table::new(vec![
        Column::from_f64("x", x),
        Column::from_f64("z", z),
        Column::from_strings("colour", &c).unwrap(),
        Column::from_strings("label", &y).unwrap(),
    ])
    .unwrap()
}

fn train(rounds: i64, seed: u64) -> TabularModel {
    let params = TabularParams::from_values(
        "gbdt",
        [
            ("rounds", lithe_core::params::ParamValue::Int(rounds)),
            ("num_leaves", lithe_core::params::ParamValue::Int(7)),
        ],
    )
    .unwrap()
    .with_task(lithe_core::describe::Task::Binary)
    .unwrap();
    lithe_trees::fit(&params, &data(400, seed), "label", None, &|_| {})
        .unwrap()
        .0
}

fn put(repo: &Path, name: &str, version: u64, m: &TabularModel) -> PathBuf {
    let dir = repo.join(name).join(version.to_string());
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("model.lithe");
    m.save(&f, json!({}), None).unwrap();
    f
}

/// The request for rows `rows` of `t` (features only), `null` for missing values.
fn request(t: &Table, rows: &[usize]) -> Value {
    let n = rows.len();
    let num = |name: &str| {
        let v = t.column(name).unwrap().to_f64();
        let d: Vec<Value> = rows
            .iter()
            .map(|&r| {
                if v[r].is_nan() {
                    Value::Null
                } else {
                    json!(v[r])
                }
            })
            .collect();
        json!({"name": name, "shape": [n], "datatype": "FP64", "data": d})
    };
    let c = t.column("colour").unwrap();
    let cats: Vec<Value> = rows.iter().map(|&r| json!(c.value_string(r))).collect();
    json!({"id": "r1", "inputs": [num("x"), num("z"),
        {"name": "colour", "shape": [n, 1], "datatype": "BYTES", "data": cats}]})
}

fn predictions(resp: &Value) -> Vec<f64> {
    let out = resp["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "prediction")
        .unwrap();
    out["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

fn expected(m: &TabularModel, t: &Table, rows: &[usize]) -> Vec<f64> {
    let idx: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
    let sub = t.take(&idx).unwrap();
    m.predict(&sub).unwrap()
}

#[test]
fn health_metadata_and_predictions_equal_the_library() {
    let repo = tempfile::tempdir().unwrap();
    let model = train(20, 1);
    put(repo.path(), "churn", 1, &model);
    let s = start(config(repo.path()));
    let a = s.addr;
    assert_eq!(get(a, "/v2/health/live"), (200, json!({"live": true})));
    assert_eq!(get(a, "/v2/health/ready"), (200, json!({"ready": true})));
    let (st, meta) = get(a, "/v2");
    assert_eq!((st, meta["name"].clone()), (200, json!("lithe")));
    let (st, meta) = get(a, "/v2/models/churn");
    assert_eq!(st, 200);
    assert_eq!(meta["versions"], json!(["1"]));
    assert_eq!(meta["platform"], json!("lithe/tabular.gbdt"));
    let inputs: Vec<(String, String)> = meta["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().into(),
                i["datatype"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        inputs.contains(&("colour".into(), "BYTES".into())),
        "{inputs:?}"
    );
    assert!(inputs.contains(&("x".into(), "FP64".into())), "{inputs:?}");
    assert_eq!(
        get(a, "/v2/models/churn/versions/1/ready"),
        (200, json!({"name": "churn", "ready": true}))
    );

    let t = data(50, 9);
    for rows in [vec![0], vec![7], (0..50).collect::<Vec<_>>()] {
        let (st, resp) = post(a, "/v2/models/churn/infer", &request(&t, &rows));
        assert_eq!(st, 200, "{resp}");
        assert_eq!(resp["id"], json!("r1"));
        assert_eq!(resp["model_name"], json!("churn"));
        assert_eq!(resp["model_version"], json!("1"));
        assert_eq!(
            predictions(&resp),
            expected(&model, &t, &rows),
            "rows {rows:?}"
        );
    }
    // The versioned route and an output filter.
    let mut req = request(&t, &[3, 4]);
    req["outputs"] = json!([{"name": "prediction"}]);
    let (st, resp) = post(a, "/v2/models/churn/versions/1/infer", &req);
    assert_eq!(st, 200, "{resp}");
    assert_eq!(resp["outputs"][0]["shape"], json!([2]));
    assert_eq!(resp["outputs"][0]["datatype"], json!("FP64"));

    let (st, _, text) = http(a, "GET", "/metrics", b"");
    assert_eq!(st, 200);
    assert!(
        text.contains("lithe_inference_requests_total{model=\"churn\",outcome=\"success\"} 4"),
        "{text}"
    );
    assert!(
        text.contains("lithe_inference_count{model=\"churn\"} 54"),
        "{text}"
    );
    assert!(
        text.contains("lithe_inference_request_duration_us_count{model=\"churn\"} 4"),
        "{text}"
    );
    let (st, doc) = get(a, "/openapi.json");
    assert_eq!(st, 200);
    assert!(doc["paths"]["/v2/models/{name}/infer"]["post"].is_object());
}

#[test]
fn bad_requests_get_a_clear_4xx_and_change_nothing() {
    let repo = tempfile::tempdir().unwrap();
    let model = train(10, 2);
    put(repo.path(), "m", 1, &model);
    let s = start(config(repo.path()));
    let a = s.addr;
    let t = data(5, 3);
    let good = request(&t, &[0, 1]);
    let (_, before) = post(a, "/v2/models/m/infer", &good);

    let mut wrong_shape = good.clone();
    wrong_shape["inputs"][0]["shape"] = json!([3]);
    let mut wrong_type = good.clone();
    wrong_type["inputs"][0]["data"] = json!(["a", "b"]);
    let mut unknown_feature = good.clone();
    unknown_feature["inputs"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "w", "shape": [2], "datatype": "FP64", "data": [1, 2]}));
    let mut missing_feature = good.clone();
    missing_feature["inputs"].as_array_mut().unwrap().remove(1);
    let mut bad_datatype = good.clone();
    bad_datatype["inputs"][0]["datatype"] = json!("FLOAT");
    let mut text_for_number = good.clone();
    text_for_number["inputs"][0] =
        json!({"name": "x", "shape": [2], "datatype": "BYTES", "data": ["1", "2"]});
    let mut unknown_output = good.clone();
    unknown_output["outputs"] = json!([{"name": "p"}]);
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "/v2/models/m/infer",
            wrong_shape,
            400,
            "input 'x': shape [3] holds 3 values but data has 2",
        ),
        (
            "/v2/models/m/infer",
            wrong_type,
            400,
            "input 'x': element 0 is a string but the datatype is FP64",
        ),
        (
            "/v2/models/m/infer",
            unknown_feature,
            400,
            "unknown input 'w'",
        ),
        (
            "/v2/models/m/infer",
            missing_feature,
            400,
            "feature column 'z' is missing",
        ),
        (
            "/v2/models/m/infer",
            bad_datatype,
            400,
            "unknown datatype 'FLOAT'",
        ),
        ("/v2/models/m/infer", text_for_number, 400, "'x' holds text"),
        (
            "/v2/models/m/infer",
            unknown_output,
            400,
            "unknown output 'p'",
        ),
        (
            "/v2/models/nope/infer",
            good.clone(),
            404,
            "no model 'nope' is served (served: 'm')",
        ),
        (
            "/v2/models/m/versions/7/infer",
            good.clone(),
            404,
            "no version '7'",
        ),
        (
            "/v2/models/m/infer",
            json!({"inputs": []}),
            400,
            "no inputs",
        ),
        (
            "/v2/models/m/infer",
            json!({"inputs": [], "extra": 1}),
            400,
            "unknown field `extra`",
        ),
    ];
    for (path, body, status, want) in cases {
        let (st, resp) = post(a, path, &body);
        assert_eq!(st, status, "{path} {body}: {resp}");
        let msg = resp["error"].as_str().unwrap_or_default();
        assert!(msg.contains(want), "{body}: {msg}");
    }
    let (st, _, b) = http(a, "POST", "/v2/models/m/infer", b"{\"inputs\": [");
    assert_eq!(st, 400);
    assert!(b.contains("not a valid inference request"), "{b}");
    let big = vec![b' '; 1 << 17];
    let (st, _, b) = http(a, "POST", "/v2/models/m/infer", &big);
    assert_eq!(st, 413, "{b}");
    assert!(b.contains("\"error\""), "{b}");
    let (st, _, b) = http(a, "GET", "/v2/nothing", b"");
    assert_eq!(st, 404, "{b}");
    let (st, _, _) = http(a, "DELETE", "/v2/models/m/infer", b"");
    assert_eq!(st, 405);

    let (st, after) = post(a, "/v2/models/m/infer", &good);
    assert_eq!(st, 200);
    assert_eq!(predictions(&after), predictions(&before));
    let m = s.app.registry.get("m").unwrap().metrics.clone();
    assert_eq!(m.outcome_count("client_error"), 11);
    assert_eq!(m.outcome_count("success"), 2);
}

#[test]
fn versions_swap_failures_keep_the_old_one_and_removal_unloads() {
    let repo = tempfile::tempdir().unwrap();
    let (m1, m2) = (train(5, 4), train(15, 5));
    put(repo.path(), "m", 1, &m1);
    let s = start(config(repo.path()));
    let a = s.addr;
    let t = data(20, 6);
    let rows: Vec<usize> = (0..20).collect();
    let req = request(&t, &rows);
    let ask = || {
        let (st, r) = post(a, "/v2/models/m/infer", &req);
        assert_eq!(st, 200, "{r}");
        (
            r["model_version"].as_str().unwrap().to_string(),
            predictions(&r),
        )
    };
    assert_eq!(ask(), ("1".into(), expected(&m1, &t, &rows)));

    put(repo.path(), "m", 2, &m2);
    s.app.registry.poll().unwrap();
    assert_eq!(ask(), ("2".into(), expected(&m2, &t, &rows)));

    // A damaged newer version: reported, and version 2 keeps serving.
    let bad = put(repo.path(), "m", 3, &m1);
    let mut bytes = std::fs::read(&bad).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&bad, &bytes).unwrap();
    let log = s.app.registry.poll().unwrap();
    assert!(
        log.iter().any(
            |l| l.contains("version 3 failed to load") && l.contains("version 2 keeps serving")
        ),
        "{log:?}"
    );
    assert_eq!(ask().0, "2");
    assert_eq!(s.app.metrics.loads_failed.load(Relaxed), 1);
    // Polled again, the same bad file is not retried.
    assert!(s.app.registry.poll().unwrap().is_empty());

    // Versions 3 and 2 removed: back to version 1.
    std::fs::remove_dir_all(repo.path().join("m/3")).unwrap();
    std::fs::remove_dir_all(repo.path().join("m/2")).unwrap();
    s.app.registry.poll().unwrap();
    assert_eq!(ask(), ("1".into(), expected(&m1, &t, &rows)));

    // A request holding the model keeps it while the name leaves the repository.
    let held = s.app.registry.get("m").unwrap();
    std::fs::remove_dir_all(repo.path().join("m")).unwrap();
    s.app.registry.poll().unwrap();
    let (st, r) = post(a, "/v2/models/m/infer", &req);
    assert_eq!(st, 404, "{r}");
    assert_eq!(held.version, 1);
    assert_eq!(get(a, "/v2/models/m/ready").0, 404);
}

#[test]
fn batched_requests_answer_each_its_own_rows() {
    let repo = tempfile::tempdir().unwrap();
    let model = train(10, 7);
    put(repo.path(), "m", 1, &model);
    let mut c = config(repo.path());
    c.max_batch = 64;
    c.max_delay_us = 20_000;
    let s = start(c);
    let a = s.addr;
    let t = data(40, 8);
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let rows: Vec<usize> = (i * 5..i * 5 + 1 + i % 3).collect();
            let req = request(&t, &rows);
            std::thread::spawn(move || (rows, post(a, "/v2/models/m/infer", &req)))
        })
        .collect();
    for h in handles {
        let (rows, (st, resp)) = h.join().unwrap();
        assert_eq!(st, 200, "{resp}");
        assert_eq!(
            predictions(&resp),
            expected(&model, &t, &rows),
            "rows {rows:?}"
        );
    }
    // A bad request in a batch fails alone.
    let mut bad = request(&t, &[0]);
    bad["inputs"].as_array_mut().unwrap().remove(0);
    let (st, resp) = post(a, "/v2/models/m/infer", &bad);
    assert_eq!(st, 400, "{resp}");
}

#[test]
fn a_full_server_answers_503_with_retry_after() {
    let repo = tempfile::tempdir().unwrap();
    put(repo.path(), "m", 1, &train(3, 1));
    let mut c = config(repo.path());
    c.max_concurrency = 1;
    c.max_queue = 0;
    let s = start(c);
    // Take the one place, as a request in flight would.
    let held = lithe_serve::server::admit(&s.app).unwrap();
    let t = data(3, 1);
    let (st, headers, body) = http(
        s.addr,
        "POST",
        "/v2/models/m/infer",
        request(&t, &[0]).to_string().as_bytes(),
    );
    assert_eq!(st, 503, "{body}");
    assert!(
        headers.iter().any(|(k, v)| k == "retry-after" && v == "1"),
        "{headers:?}"
    );
    assert!(body.contains("limit of 1 requests in flight"), "{body}");
    drop(held);
    let (st, _, body) = http(
        s.addr,
        "POST",
        "/v2/models/m/infer",
        request(&t, &[0]).to_string().as_bytes(),
    );
    assert_eq!(st, 200, "{body}");
    assert_eq!(
        s.app
            .registry
            .get("m")
            .unwrap()
            .metrics
            .outcome_count("rejected"),
        1
    );
}

#[test]
fn forecasts_equal_the_library() {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path().join("fc/1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("forecast.json"),
        r#"{"models": ["auto_ets", "naive"], "horizon": 4, "max_horizon": 8, "season_length": 1, "level": [80]}"#,
    )
    .unwrap();
    let s = start(config(repo.path()));
    let mut ids = Vec::new();
    let mut ds = Vec::new();
    let mut y = Vec::new();
    for (k, id) in ["a", "b"].iter().enumerate() {
        for t in 0..30 {
            ids.push(json!(id));
            ds.push(json!(t));
            y.push(json!(
                10.0 + (k as f64) * 5.0 + (t as f64 * 0.7).sin() * 3.0 + t as f64 * 0.1
            ));
        }
    }
    let n = ids.len();
    let req = json!({"parameters": {"h": 6}, "inputs": [
        {"name": "unique_id", "shape": [n], "datatype": "BYTES", "data": ids},
        {"name": "ds", "shape": [n], "datatype": "INT64", "data": ds},
        {"name": "y", "shape": [n], "datatype": "FP64", "data": y},
    ]});
    let (st, resp) = post(s.addr, "/v2/models/fc/infer", &req);
    assert_eq!(st, 200, "{resp}");
    let inputs =
        serde_json::from_value::<Vec<lithe_serve::protocol::RequestInput>>(req["inputs"].clone())
            .unwrap();
    let table = lithe_serve::protocol::to_table(&inputs, None).unwrap();
    let config = lithe_serve::forecast::ForecastConfig::parse(
        r#"{"models": ["auto_ets", "naive"], "horizon": 6, "season_length": 1, "level": [80]}"#,
    )
    .unwrap();
    let want = config.infer(&table, None).unwrap();
    let outputs = resp["outputs"].as_array().unwrap();
    let names: Vec<&str> = outputs
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, want.names().collect::<Vec<_>>());
    let ets = outputs.iter().find(|o| o["name"] == "AutoETS").unwrap();
    let got: Vec<f64> = ets["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(got, want.column("AutoETS").unwrap().to_f64());
    assert_eq!(got.len(), 12);
    let (_, meta) = get(s.addr, "/v2/models/fc");
    let outs: Vec<&str> = meta["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(outs, names);
    // Past the configured limit:
    let mut far = req.clone();
    far["parameters"]["h"] = json!(9);
    let (st, resp) = post(s.addr, "/v2/models/fc/infer", &far);
    assert_eq!(st, 400);
    assert!(
        resp["error"].as_str().unwrap().contains("between 1 and 8"),
        "{resp}"
    );
}

#[test]
fn a_repository_that_is_not_a_directory_is_a_usage_error() {
    let c = config(Path::new("/nonexistent/lithe-repo"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let r = rt.block_on(lithe_serve::run(c, async { Ok(()) }, |_| {}));
    match r {
        Err(lithe_serve::ServeError::Usage(m)) => assert!(m.contains("is not a directory"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn recommendations_equal_the_library() {
    use lithe_core::params::{ParamValue, Spec};
    let mut users = Vec::new();
    let mut items = Vec::new();
    let mut rng = lithe_core::rng::SplitMix::new(11);
    for u in 0..60 {
        for _ in 0..8 {
            // Two taste groups, so the towers have something to learn.
            let i = (u % 2) * 20 + (rng.unit() * 20.0) as usize % 20;
            users.push(Some(format!("u{u}")));
            items.push(Some(format!("i{i}")));
        }
    }
    let table = Table::new(vec![
        Column::from_strings("user_id", &users).unwrap(),
        Column::from_strings("item_id", &items).unwrap(),
    ])
    .unwrap();
    let params = lithe_recsys::TrainParams::from_values([
        ("trials", ParamValue::Int(0)),
        ("epochs", ParamValue::Int(2)),
        ("dim", ParamValue::Int(8)),
    ])
    .unwrap();
    let model = lithe_recsys::api::fit(&params, &table, None, None, None, |_| {}).unwrap();
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path().join("rec/4");
    std::fs::create_dir_all(&dir).unwrap();
    model.save(&dir.join("model.lithe")).unwrap();
    let s = start(config(repo.path()));
    let req = json!({"parameters": {"k": 3}, "inputs": [
        {"name": "user_id", "shape": [3], "datatype": "BYTES", "data": ["u1", "u2", "stranger"]}]});
    let (st, resp) = post(s.addr, "/v2/models/rec/infer", &req);
    assert_eq!(st, 200, "{resp}");
    let q = Table::new(vec![
        Column::from_strings("user_id", &[Some("u1"), Some("u2"), Some("stranger")]).unwrap(),
    ])
    .unwrap();
    let (want, _) = lithe_recsys::api::recommend(&model, &q, 3, true).unwrap();
    let out = |name: &str| {
        resp["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == name)
            .unwrap()["data"]
            .clone()
    };
    let items: Vec<Option<String>> = (0..want.n_rows())
        .map(|r| want.column("item_id").unwrap().value_string(r))
        .collect();
    assert_eq!(out("item_id"), json!(items));
    assert_eq!(out("score"), json!(want.column("score").unwrap().to_f64()));
    assert_eq!(out("rank"), json!([1, 2, 3, 1, 2, 3, 1, 2, 3]));
    let (_, meta) = get(s.addr, "/v2/models/rec");
    assert_eq!(meta["platform"], json!("lithe/recommend.two_tower"));
    let (st, resp) = post(
        s.addr,
        "/v2/models/rec/infer",
        &json!({"parameters": {"k": "many"}, "inputs": req["inputs"]}),
    );
    assert_eq!(st, 400);
    assert!(
        resp["error"]
            .as_str()
            .unwrap()
            .contains("parameter 'k' must be a whole number"),
        "{resp}"
    );
}

#[test]
fn imported_lightgbm_and_xgboost_models_serve_what_the_library_predicts() {
    use lithe_trees::import::{ImportOptions, Source, import_file};
    let fixtures =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../lithe-trees/tests/fixtures/import");
    let rows = lithe_core::read_table(&fixtures.join("rows.csv"), &Default::default()).unwrap();
    let repo = tempfile::tempdir().unwrap();
    let mut models = Vec::new();
    for (name, source, file) in [
        ("lgb", Source::LightGbm, "lgb_binary.txt"),
        ("lgbmulti", Source::LightGbm, "lgb_multiclass.txt"),
        ("xgb", Source::XgBoost, "xgb_binary.ubj"),
    ] {
        let m = TabularModel::Imported(
            import_file(source, &fixtures.join(file), &ImportOptions::default()).unwrap(),
        );
        put(repo.path(), name, 1, &m);
        models.push((name, m));
    }
    let s = start(config(repo.path()));
    for (name, m) in &models {
        let (_, meta) = get(s.addr, &format!("/v2/models/{name}"));
        assert_eq!(meta["platform"], json!("lithe/tabular.imported"));
        let n = rows.n_rows();
        let inputs: Vec<Value> = meta["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let col = rows.column(i["name"].as_str().unwrap()).unwrap();
                let data: Vec<Value> = if i["datatype"] == "BYTES" {
                    (0..n).map(|r| json!(col.value_string(r))).collect()
                } else {
                    col.to_f64()
                        .iter()
                        .map(|v| if v.is_nan() { Value::Null } else { json!(v) })
                        .collect()
                };
                json!({"name": i["name"], "shape": [n], "datatype": i["datatype"], "data": data})
            })
            .collect();
        let (st, resp) = post(
            s.addr,
            &format!("/v2/models/{name}/infer"),
            &json!({"inputs": inputs}),
        );
        assert_eq!(st, 200, "{name}: {resp}");
        let want = m.predict_table(&rows).unwrap();
        for out in resp["outputs"].as_array().unwrap() {
            let col = want.column(out["name"].as_str().unwrap()).unwrap();
            if out["datatype"] == "FP64" {
                let got: Vec<f64> = out["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                assert_eq!(got, col.to_f64(), "{name} {}", out["name"]);
            } else {
                let got: Vec<Option<String>> = serde_json::from_value(out["data"].clone()).unwrap();
                assert_eq!(got, (0..n).map(|r| col.value_string(r)).collect::<Vec<_>>());
            }
        }
    }
}

#[test]
fn shutdown_answers_the_requests_in_flight() {
    let repo = tempfile::tempdir().unwrap();
    let dir = repo.path().join("fc/1");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("forecast.json"),
        r#"{"models": ["auto_ets"], "horizon": 12, "season_length": 12}"#,
    )
    .unwrap();
    let mut s = start(config(repo.path()));
    // Enough series that the request is still computing when the stop comes.
    let (mut ids, mut ds, mut y) = (Vec::new(), Vec::new(), Vec::new());
    let mut rng = lithe_core::rng::SplitMix::new(3);
    for k in 0..40 {
        for t in 0..60 {
            ids.push(json!(format!("s{k}")));
            ds.push(json!(t));
            y.push(json!(
                50.0 + ((t % 12) as f64) * 2.0 + rng.unit() * 5.0 + k as f64
            ));
        }
    }
    let n = ids.len();
    let req = json!({"inputs": [
        {"name": "unique_id", "shape": [n], "datatype": "BYTES", "data": ids},
        {"name": "ds", "shape": [n], "datatype": "INT64", "data": ds},
        {"name": "y", "shape": [n], "datatype": "FP64", "data": y},
    ]});
    let addr = s.addr;
    let client = std::thread::spawn(move || post(addr, "/v2/models/fc/infer", &req));
    while s.app.metrics.in_flight.load(Relaxed) == 0 {
        std::thread::yield_now();
    }
    let _ = s.stop.take().unwrap().send(());
    let (st, resp) = client.join().unwrap();
    assert_eq!(st, 200, "{resp}");
    assert_eq!(resp["outputs"][0]["shape"], json!([40 * 12]));
    assert!(s.app.stopping.load(Relaxed));
    s.thread.take().unwrap().join().unwrap();
}
