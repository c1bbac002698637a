//! Seed inputs for each target, generated (no files needed): small valid inputs of
//! every shape the target reads, for the mutations to start from. `lithe-fuzz seeds
//! DIR` writes them out as a corpus for cargo-fuzz.

use lithe_core::{ReadOptions, Table};

const CSVS: &[&str] = &[
    "a,b\n1,2\n3,4\n",
    "x;y;z\n1.5;abc;2024-01-31\n-2e10;\"q;uoted\";2024-02-29T12:30:00\n",
    "id\tvalue\n007\t1\n7\tNA\n1.50\tinf\n",
    "\u{feff}\"a\",\"b\"\r\n\"multi\nline\",2\r\n,\r\n",
    "n|m\n9223372036854775807|-9223372036854775808\n1e308|-0.0\n",
    "date,k\n0001-01-01,1\n9999-12-31,2\n2024-13-01,3\n",
    "unique_id,ds,y\nH1,1,605\nH1,2,586\nH2,1,3124\n",
    "user_id,item_id,weight,timestamp\nu1,i1,1,1700000000\nu2,i1,2.5,1700000001\n",
];

fn table(text: &str) -> Table {
    lithe_core::io::read_csv_bytes(text.as_bytes(), "seed.csv", &ReadOptions::default())
        .expect("seed tables read")
}

fn tabular_data() -> Table {
    let mut s = String::from("x,c,y,k\n");
    for i in 0..120 {
        let c = ["red", "green", "blue"][i % 3];
        s.push_str(&format!(
            "{},{c},{},{}\n",
            i % 11,
            (i * 7 % 13) as f64 / 2.0,
            i % 3
        ));
    }
    table(&s)
}

fn interactions() -> String {
    let mut s = String::from("user_id,item_id\n");
    for u in 0..30 {
        for k in 0..4 {
            s.push_str(&format!("{:03},{}\n", u, (u * 3 + k * 7) % 17));
        }
    }
    s
}

/// The seeds of the named target.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "csv" => CSVS
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut v = vec![(i as u8) * 17];
                v.extend_from_slice(s.as_bytes());
                v
            })
            .collect(),
        "parquet" => parquet_seeds(),
        "model" => model_seeds(),
        "future" => future_seeds(),
        "ids" => vec![
            interactions().into_bytes(),
            b"user_id,item_id,timestamp\n007,0100,3\n7,100,1\n1.50,0100,2\n007,x,4\n".to_vec(),
            b"user_id,item_id,weight\n\"a,b\",1,0.5\n\" a\",2,1\na,1,2\n".to_vec(),
        ],
        _ => Vec::new(),
    }
}

fn write_read(t: &Table, name: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let p = dir.path().join(name);
    lithe_core::write_table(&p, t).expect("seed tables write");
    std::fs::read(&p).expect("and read back")
}

fn parquet_seeds() -> Vec<Vec<u8>> {
    let mixed = table(CSVS[1]);
    let ids = table(CSVS[2]);
    let tab = tabular_data();
    let mut out = vec![
        write_read(&mixed, "m.parquet"),
        write_read(&ids, "i.parquet"),
        write_read(&tab, "t.csv.gz"),
    ];
    // A file from another writer: no lithe checksum, so damage reaches the decoder.
    for t in [&mixed, &tab] {
        let batch = t.to_record_batch().expect("a record batch");
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None)
            .expect("a Parquet writer");
        w.write(&batch).expect("rows written");
        w.close().expect("a footer");
        out.push(buf);
    }
    out
}

fn model_seeds() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let t = tabular_data();
    let mut out = Vec::new();
    for (target, rounds) in [("y", 3), ("k", 2)] {
        let params = lithe_trees::GbdtParams {
            rounds,
            min_data_in_leaf: 5,
            ..Default::default()
        };
        let m = lithe_trees::GbdtModel::fit(&params, &t, target).expect("a seed model trains");
        let p = dir.path().join(format!("g-{target}.lithe"));
        lithe_trees::save(&p, &m, serde_json::Value::Null, None).expect("and saves");
        out.push(std::fs::read(&p).expect("and reads"));
    }
    let fp = lithe_trees::ForestParams {
        trees: 3,
        ..Default::default()
    };
    let f = lithe_trees::ForestModel::fit(&fp, &t, "k").expect("a seed forest trains");
    let p = dir.path().join("rf.lithe");
    lithe_trees::save_forest(&p, &f, serde_json::Value::Null, None).expect("and saves");
    out.push(std::fs::read(&p).expect("and reads"));
    let it = table(&interactions());
    let data = lithe_recsys::Interactions::from_table(&it, "seed").expect("interactions");
    let params = lithe_recsys::TwoTowerParams {
        dim: 8,
        epochs: 1,
        ..Default::default()
    };
    let m = lithe_recsys::TwoTowerModel::fit(&params, &data, None, None, |_, _| {})
        .expect("a seed recommender trains");
    let p = dir.path().join("tt.lithe");
    m.save(&p).expect("and saves");
    out.push(std::fs::read(&p).expect("and reads"));
    out
}

fn future_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (first, dates) in [(2u8, false), (0b1000 | 4, true)] {
        let h = 1 + (first & 0b111) as usize;
        let mut s = vec![first];
        s.extend_from_slice(b"unique_id,ds,price\n");
        for id in ["007", "7"] {
            for k in 0..h {
                let ds = if dates {
                    format!("2024-01-{:02}", 25 + k)
                } else {
                    (24 + k).to_string()
                };
                s.extend_from_slice(format!("{id},{ds},{}\n", k % 3).as_bytes());
            }
        }
        out.push(s);
    }
    out
}
