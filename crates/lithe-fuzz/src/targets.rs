//! The fuzz targets: each takes arbitrary bytes, runs them through a reader or an id
//! path of lithe, and checks what must hold for any input. A target returns
//! normally for every input; a panic, a hang or a huge allocation is a finding. Bad
//! input is expected to be an `Err`: only the invariants are asserted.

use std::path::PathBuf;
use std::sync::OnceLock;

use lithe_core::{Column, ReadOptions, Table};

/// A target's name and function.
pub struct Target {
    pub name: &'static str,
    pub about: &'static str,
    /// Runs one input; returns a coarse class of what happened (which stage
    /// refused it and how), the driver's signal of a new path.
    pub run: fn(&[u8]) -> String,
}

/// An error's message with the parts that vary by input (numbers, quoted text, file
/// names) removed: errors of one kind share a class.
pub fn class(stage: &str, e: &dyn std::fmt::Display) -> String {
    let msg = e.to_string();
    // Past the file name, the first words of the message, without what is quoted.
    let body = msg.split_once(": ").map_or(msg.as_str(), |(_, b)| b);
    let mut words = Vec::new();
    let mut quoted = false;
    for w in body.split_whitespace() {
        if w.starts_with('\'') || w.starts_with('"') {
            quoted = !(w.len() > 1 && (w.ends_with('\'') || w.ends_with('"')));
            continue;
        }
        if quoted {
            quoted = !(w.ends_with('\'') || w.ends_with('"'));
            continue;
        }
        if w.chars().all(|c| c.is_ascii_alphabetic()) {
            words.push(w);
        }
        if words.len() == 4 {
            break;
        }
    }
    format!("{stage}:{}", words.join(" "))
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "csv",
        about: "the CSV reader (options from the first byte), describe and the CSV writer",
        run: csv,
    },
    Target {
        name: "parquet",
        about: "the table reader on any bytes (Parquet, gzip, CSV), then describe",
        run: parquet,
    },
    Target {
        name: "model",
        about: "the model-file reader of every kind, the checksum re-sealed so damage reaches the payload decoders",
        run: model,
    },
    Target {
        name: "future",
        about: "forecast --future: future regressors checked against the horizon, then AutoARIMA",
        run: future,
    },
    Target {
        name: "ids",
        about: "recommend's id handling: interactions read, ids round-tripped byte for byte, a model trained and queried",
        run: ids,
    },
];

pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

fn opts_from(byte: u8) -> ReadOptions {
    let delimiter = match byte & 0b111 {
        0 | 5 => None,
        1 => Some(b','),
        2 => Some(b';'),
        3 => Some(b'\t'),
        4 => Some(b'|'),
        _ => Some(b' '),
    };
    ReadOptions {
        has_header: byte & 0b1000 == 0,
        delimiter,
        skip_rows: ((byte >> 4) & 0b11) as usize,
        block_size: 64 << 10,
        ..ReadOptions::default()
    }
}

/// CSV text: the first byte picks the options, the rest is the file.
pub fn csv(data: &[u8]) -> String {
    let Some((&first, rest)) = data.split_first() else {
        return "empty".into();
    };
    let t = match lithe_core::io::read_csv_bytes(rest, "fuzz.csv", &opts_from(first)) {
        Ok(t) => t,
        Err(e) => return class("read", &e),
    };
    check_table(&t);
    // What lithe writes, it reads back with the same shape.
    let text = lithe_core::io::csv_string(&t);
    let back = lithe_core::io::read_csv_bytes(text.as_bytes(), "back.csv", &ReadOptions::default());
    if t.n_columns() > 0 && t.n_rows() > 0 {
        let back = back.unwrap_or_else(|e| panic!("lithe's own CSV does not read back: {e}"));
        assert_eq!(
            back.n_rows(),
            t.n_rows(),
            "rows changed through a CSV round trip"
        );
        assert_eq!(back.n_columns(), t.n_columns());
    }
    kinds(&t)
}

/// The column types of a table, as a class.
fn kinds(t: &Table) -> String {
    let mut kinds: Vec<&str> = t.columns().iter().map(|c| c.column_type().name()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    format!("ok:{}:{}", t.n_columns().min(4), kinds.join(","))
}

/// Any bytes as a table file (Parquet, gzip CSV or CSV, judged by the first bytes).
pub fn parquet(data: &[u8]) -> String {
    match lithe_core::io::read_bytes(data.to_vec(), "fuzz.parquet", &ReadOptions::default()) {
        Ok(t) => {
            check_table(&t);
            kinds(&t)
        }
        Err(e) => class("read", &e),
    }
}

fn check_table(t: &Table) {
    for c in t.columns() {
        assert_eq!(
            c.len(),
            t.n_rows(),
            "a column's length differs from the table's"
        );
    }
    let s = lithe_core::describe::describe(t, 5);
    assert_eq!(s.rows, t.n_rows());
}

/// A model file: the envelope's checksum is re-sealed over the (damaged) bytes, so
/// what is tested is every decoder behind it, as a file from a buggy or hostile
/// writer would test them.
pub fn model(data: &[u8]) -> String {
    let mut b = data.to_vec();
    if b.len() > 8 {
        let n = b.len() - 8;
        let sum = xxhash_rust::xxh3::xxh3_64(&b[..n]);
        b[n..].copy_from_slice(&sum.to_le_bytes());
    }
    let path = scratch_file();
    if std::fs::write(&path, &b).is_err() {
        return "unwritable".into();
    }
    let mut out = String::new();
    match lithe_trees::load_any(&path) {
        Err(e) => out.push_str(&class("trees", &e)),
        Ok(m) => {
            out.push_str("trees:ok;");
            let _ = m.importance();
            let t = table_for(m.features());
            if let Ok(p) = m.predict(&t) {
                let per_row = if m.task() == lithe_core::describe::Task::Multiclass {
                    m.classes().len()
                } else {
                    1
                };
                assert_eq!(
                    p.len(),
                    t.n_rows() * per_row,
                    "one prediction per row and class"
                );
            }
        }
    }
    match lithe_recsys::TwoTowerModel::load(&path) {
        Err(e) => out.push_str(&class("recsys", &e)),
        Ok(m) => {
            out.push_str("recsys:ok");
            if let Some(u) = m.users.names.first() {
                let _ = m.recommend(u, 5, true);
            }
            let _ = m.recommend("a user the model never saw", 5, false);
        }
    }
    out
}

/// A table with the model's features: numbers and categories, some missing.
fn table_for(features: &[lithe_trees::data::Feature]) -> Table {
    let cols: Vec<Column> = features
        .iter()
        .map(|f| match &f.kind {
            lithe_trees::data::FeatureKind::Numeric { .. } => {
                Column::from_f64(f.name.clone(), vec![0.0, 1.5, f64::NAN, -1e9])
            }
            lithe_trees::data::FeatureKind::Categorical { categories } => {
                let first = categories.first().map(String::as_str);
                Column::from_strings(f.name.clone(), &[first, Some("unseen"), None, first])
                    .expect("strings make a column")
            }
        })
        .collect();
    Table::new(cols).unwrap_or_else(|_| Table::new(Vec::new()).expect("an empty table"))
}

/// One scratch file per thread, reused.
fn scratch_file() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"));
    let id = format!("{:?}", std::thread::current().id());
    let id: String = id.chars().filter(char::is_ascii_alphanumeric).collect();
    dir.path().join(format!("m-{id}.lithe"))
}

/// The training data of the `future` target: two series of 24 steps with one
/// regressor, integer or date stamps.
fn training(dates: bool) -> &'static Table {
    static INT: OnceLock<Table> = OnceLock::new();
    static DATE: OnceLock<Table> = OnceLock::new();
    let cell = if dates { &DATE } else { &INT };
    cell.get_or_init(|| {
        let mut s = String::from("unique_id,ds,y,price\n");
        for id in ["007", "7"] {
            for t in 0..24 {
                let ds = if dates {
                    format!("2024-01-{:02}", t + 1)
                } else {
                    t.to_string()
                };
                let y = 10.0 + (t % 5) as f64 + t as f64 / 3.0 + id.len() as f64;
                s.push_str(&format!("{id},{ds},{y},{}\n", t % 4));
            }
        }
        lithe_core::io::read_csv_bytes(s.as_bytes(), "train.csv", &ReadOptions::default())
            .expect("the training table reads")
    })
}

/// `forecast --future`: the first byte picks the horizon (1–8) and the stamps' kind,
/// the rest is the future file.
pub fn future(data: &[u8]) -> String {
    let Some((&first, rest)) = data.split_first() else {
        return "empty".into();
    };
    let h = 1 + (first & 0b111) as usize;
    let dates = first & 0b1000 != 0;
    let cols = lithe_forecast::SeriesColumns::default();
    let Ok(mut store) = lithe_forecast::SeriesStore::from_table_with_exog(
        training(dates),
        &cols,
        &["price".to_string()],
    ) else {
        panic!("the fixed training table must load");
    };
    let fut = match lithe_core::io::read_csv_bytes(rest, "future.csv", &ReadOptions::default()) {
        Ok(t) => t,
        Err(e) => return class("read", &e),
    };
    if let Err(e) = store.attach_future(&fut, &cols, h, None) {
        return class("attach", &e);
    }
    let params = lithe_forecast::ForecastParams {
        horizon: h,
        models: vec![lithe_forecast::Model::AutoArima],
        settings: lithe_forecast::Settings::default(),
        freq: None,
    };
    let t = match lithe_forecast::forecast(&store, &params, "unique_id", "ds") {
        Ok((t, _)) => t,
        Err(e) => return class("forecast", &e),
    };
    assert_eq!(t.n_rows(), 2 * h, "h rows per series");
    let ids: Vec<Option<String>> = (0..t.n_rows())
        .map(|r| t.column("unique_id").and_then(|c| c.value_string(r)))
        .collect();
    assert!(
        ids.iter()
            .all(|i| matches!(i.as_deref(), Some("007") | Some("7"))),
        "series ids changed: {ids:?}"
    );
    format!("ok:{h}")
}

/// Interactions: ids must come back exactly as written, and a model trained on them
/// must answer for every user.
pub fn ids(data: &[u8]) -> String {
    let t = match lithe_core::io::read_csv_bytes(
        data,
        "inter.csv",
        &lithe_recsys::data::read_options(),
    ) {
        Ok(t) => t,
        Err(e) => return class("read", &e),
    };
    let inter = match lithe_recsys::Interactions::from_table(&t, "inter.csv") {
        Ok(i) => i,
        Err(e) => return class("interactions", &e),
    };
    let users = lithe_recsys::data::id_strings(t.column("user_id").expect("checked by from_table"));
    let items = lithe_recsys::data::id_strings(t.column("item_id").expect("checked by from_table"));
    for r in 0..t.n_rows() {
        assert_eq!(
            users[r].as_deref(),
            Some(inter.users.names[inter.user[r] as usize].as_str()),
            "user id of row {r} changed"
        );
        assert_eq!(
            items[r].as_deref(),
            Some(inter.items.names[inter.item[r] as usize].as_str()),
            "item id of row {r} changed"
        );
    }
    if inter.user.len() > 400 {
        return "ok:large".into();
    }
    let params = lithe_recsys::TwoTowerParams {
        dim: 8,
        epochs: 1,
        ..lithe_recsys::TwoTowerParams::default()
    };
    let m = match lithe_recsys::TwoTowerModel::fit(&params, &inter, None, None, |_, _| {}) {
        Ok(m) => m,
        Err(e) => return class("fit", &e),
    };
    for u in inter.users.names.iter().take(5) {
        let (recs, _) = m
            .recommend(u, 3, false)
            .unwrap_or_else(|e| panic!("a known user '{u}' gets no answer: {e}"));
        assert!(
            recs.iter().all(|r| r.score.is_finite()),
            "a score is not finite"
        );
    }
    format!("ok:{}", inter.time.is_some())
}
