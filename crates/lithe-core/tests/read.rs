//! Reading tables: known answers, invariants (row order, block size, thread count,
//! round trips) and every bad input with its message.

use std::io::Write;
use std::path::{Path, PathBuf};

use lithe_core::io::{read_csv_bytes, write_csv, write_parquet};
use lithe_core::{ColumnData, ColumnType, ReadOptions, Table, read_table, write_table};

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn read_str(s: &str, opts: &ReadOptions) -> lithe_core::Result<Table> {
    read_csv_bytes(s.as_bytes(), "t.csv", opts)
}

fn cells(t: &Table, col: &str) -> Vec<Option<String>> {
    let c = t.column(col).unwrap();
    (0..c.len()).map(|r| c.value_string(r)).collect()
}

fn small_blocks() -> ReadOptions {
    ReadOptions {
        block_size: 64,
        ..Default::default()
    }
}

const MIXED: &str = "id,x,name,when,flag\n\
1,0.5,alpha,2024-01-02,1\n\
2,,beta,2024-01-03,0\n\
3,2.25,\"gam,ma\",2024-01-04T10:30:00,NA\n\
4,-1e3,alpha,,1\n";

#[test]
fn types_missing_values_and_quotes() {
    let t = read_str(MIXED, &ReadOptions::default()).unwrap();
    assert_eq!(t.n_rows(), 4);
    let types: Vec<ColumnType> = t.columns().iter().map(|c| c.column_type()).collect();
    use ColumnType::*;
    assert_eq!(types, vec![Int, Float, Categorical, Datetime, Int]);
    let x = t.column("x").unwrap().as_f64_slice().unwrap();
    assert_eq!(x[0], 0.5);
    assert!(x[1].is_nan());
    assert_eq!(x[3], -1000.0);
    assert_eq!(t.column("x").unwrap().null_count(), 1);
    let name = t.column("name").unwrap().as_categorical().unwrap();
    assert_eq!(name.n_categories(), 3);
    assert_eq!(name.get(2), Some("gam,ma"));
    assert_eq!(name.codes()[0], name.codes()[3]);
    assert_eq!(
        cells(&t, "when"),
        vec![
            Some("2024-01-02T00:00:00".to_string()),
            Some("2024-01-03T00:00:00".to_string()),
            Some("2024-01-04T10:30:00".to_string()),
            None
        ]
    );
    assert_eq!(t.column("flag").unwrap().null_count(), 1);
}

#[test]
fn block_size_and_thread_count_do_not_change_the_table() {
    // Enough rows for many blocks; values that widen types late in the file.
    let mut s = String::from("a,b,c,d\n");
    for i in 0..3000 {
        let b = if i == 2500 {
            "3.5".to_string()
        } else {
            i.to_string()
        };
        let c = if i == 2900 {
            "text".to_string()
        } else {
            (i % 7).to_string()
        };
        let d = if i % 11 == 0 {
            String::new()
        } else {
            format!("\"q{}\"", i % 5)
        };
        s.push_str(&format!("{i},{b},{c},{d}\n"));
    }
    let reference = read_str(
        &s,
        &ReadOptions {
            block_size: 1 << 20,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        reference.column("b").unwrap().column_type(),
        ColumnType::Float
    );
    assert_eq!(
        reference.column("c").unwrap().column_type(),
        ColumnType::Categorical
    );
    assert_eq!(cells(&reference, "c")[2900].as_deref(), Some("text"));
    assert_eq!(cells(&reference, "c")[8].as_deref(), Some("1"));
    for threads in [1, 2, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for bs in [64, 1000, 4096] {
            let opts = ReadOptions {
                block_size: bs,
                ..Default::default()
            };
            let t = pool.install(|| read_str(&s, &opts)).unwrap();
            assert_eq!(t.n_rows(), 3000);
            assert_eq!(
                t.fingerprint(),
                reference.fingerprint(),
                "threads {threads} block {bs}"
            );
            // Row order is the file's order.
            let a = t.column("a").unwrap();
            assert!((0..3000).all(|r| a.value_string(r) == Some(r.to_string())));
        }
    }
}

#[test]
fn quoted_newlines_across_blocks() {
    let mut s = String::from("k,text\n");
    for i in 0..200 {
        s.push_str(&format!("{i},\"line one\nline \"\"two\"\", {i}\"\n"));
    }
    let t = read_str(&s, &small_blocks()).unwrap();
    assert_eq!(t.n_rows(), 200);
    assert_eq!(
        cells(&t, "text")[7].as_deref(),
        Some("line one\nline \"two\", 7")
    );
}

#[test]
fn header_options() {
    let t = read_str(
        "1;x\n2;y\n",
        &ReadOptions {
            has_header: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(t.names().collect::<Vec<_>>(), vec!["col_0", "col_1"]);
    assert_eq!(t.n_rows(), 2);
    let t = read_str(
        "junk line\nmore junk\na\tb\n1\t2\n",
        &ReadOptions {
            skip_rows: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(t.names().collect::<Vec<_>>(), vec!["a", "b"]);
    let t = read_str("\u{feff}a,b\r\n1,2\r\n", &ReadOptions::default()).unwrap();
    assert_eq!(t.names().collect::<Vec<_>>(), vec!["a", "b"]);
    assert_eq!(cells(&t, "b"), vec![Some("2".to_string())]);
    let t = read_str(",b\n1,2\n", &ReadOptions::default()).unwrap();
    assert_eq!(t.names().collect::<Vec<_>>(), vec!["col_0", "b"]);
}

#[test]
fn delimiters_spaces_and_na_tokens() {
    // adult.data style: ", " separated, '?' for missing.
    let s = "39, State-gov, 77516, <=50K\n50, ?, 83311, >50K\n";
    let opts = ReadOptions {
        has_header: false,
        na_values: vec!["?".into()],
        ..Default::default()
    };
    let t = read_str(s, &opts).unwrap();
    assert_eq!(t.column("col_0").unwrap().column_type(), ColumnType::Int);
    assert_eq!(
        cells(&t, "col_1"),
        vec![Some("State-gov".to_string()), None]
    );
    let t = read_str("a|b\n1|x\n", &ReadOptions::default()).unwrap();
    assert_eq!(t.n_columns(), 2);
    let t = read_str(
        "a;b\n1,5;x\n",
        &ReadOptions {
            delimiter: Some(b';'),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(cells(&t, "a"), vec![Some("1,5".to_string())]);
}

#[test]
fn forced_categorical_and_all_missing() {
    let s = "zip,v,e\n02139,1,\n10001,2,NA\n";
    let opts = ReadOptions {
        categorical: vec!["zip".into()],
        ..Default::default()
    };
    let t = read_str(s, &opts).unwrap();
    assert_eq!(
        t.column("zip").unwrap().column_type(),
        ColumnType::Categorical
    );
    assert_eq!(cells(&t, "zip")[0].as_deref(), Some("02139"));
    let e = t.column("e").unwrap();
    assert_eq!(e.null_count(), 2);
    let e = read_str(
        s,
        &ReadOptions {
            categorical: vec!["nope".into()],
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.is_input());
    assert!(
        e.to_string().contains("--categorical names column 'nope'"),
        "{e}"
    );
}

#[test]
fn dates_stay_dates() {
    let t = read_str(
        "ds,y\n2020-01-01,1\n2020-01-02,2\n",
        &ReadOptions::default(),
    )
    .unwrap();
    assert!(matches!(
        t.column("ds").unwrap().data(),
        ColumnData::Date(_)
    ));
    assert_eq!(cells(&t, "ds")[1].as_deref(), Some("2020-01-02"));
}

#[test]
fn files_gzip_parquet_and_csv_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let plain = write_file(dir.path(), "m.csv", MIXED.as_bytes());
    let zipped = write_file(dir.path(), "m.csv.gz", &gz(MIXED.as_bytes()));
    let no_ext = write_file(dir.path(), "m.data", &gz(MIXED.as_bytes()));
    let a = read_table(&plain, &ReadOptions::default()).unwrap();
    for p in [&zipped, &no_ext] {
        assert_eq!(
            read_table(p, &ReadOptions::default())
                .unwrap()
                .fingerprint(),
            a.fingerprint()
        );
    }
    for name in ["out.parquet", "out.csv", "out.csv.gz"] {
        let p = dir.path().join(name);
        write_table(&p, &a).unwrap();
        let b = read_table(&p, &ReadOptions::default()).unwrap();
        assert_eq!(b.n_rows(), a.n_rows(), "{name}");
        for (x, y) in a.columns().iter().zip(b.columns()) {
            assert_eq!(x.name(), y.name());
            assert_eq!(x.column_type(), y.column_type(), "{name} {}", x.name());
            for r in 0..x.len() {
                assert_eq!(
                    x.value_string(r),
                    y.value_string(r),
                    "{name} {} row {r}",
                    x.name()
                );
            }
        }
    }
    // Parquet keeps exact typed values, so the fingerprint matches.
    let p = dir.path().join("again.parquet");
    write_parquet(&p, &a).unwrap();
    assert_eq!(
        read_table(&p, &ReadOptions::default())
            .unwrap()
            .fingerprint(),
        a.fingerprint()
    );
    // Forcing a Parquet integer column to categorical.
    let f = read_table(
        &p,
        &ReadOptions {
            categorical: vec!["id".into()],
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        f.column("id").unwrap().column_type(),
        ColumnType::Categorical
    );
    write_csv(&dir.path().join("x.csv"), &f).unwrap();
}

#[test]
fn floats_survive_a_csv_round_trip_bit_for_bit() {
    let vals: Vec<f64> = (0..500)
        .map(|i| (i as f64 * 0.7311).sin() * 10f64.powi(i % 40 - 20))
        .collect();
    let t = Table::new(vec![lithe_core::Column::from_f64("v", vals.clone())]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("v.csv");
    write_csv(&p, &t).unwrap();
    let back = read_table(&p, &ReadOptions::default()).unwrap();
    let got = back.column("v").unwrap().to_f64();
    for (a, b) in vals.iter().zip(&got) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
}

fn err_of(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let p = write_file(dir.path(), "bad.csv", bytes);
    let e = read_table(&p, &ReadOptions::default()).unwrap_err();
    assert!(e.is_input(), "not an input error: {e}");
    e.to_string()
}

#[test]
fn bad_inputs_have_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let e = read_table(&missing, &ReadOptions::default()).unwrap_err();
    assert!(
        e.is_input() && e.to_string().contains("no such file"),
        "{e}"
    );
    let e = read_table(dir.path(), &ReadOptions::default()).unwrap_err();
    assert!(
        e.is_input() && e.to_string().contains("is a directory"),
        "{e}"
    );

    assert!(err_of(b"").contains("the file is empty"));
    assert!(err_of(b"\n\n  \n").contains("the file is empty"));
    assert!(err_of(b"a,b,c\n").contains("header has no rows"));
    assert!(err_of(b"a,b,c\n\n").contains("header has no rows"));
    let e = err_of(b"a,b\n1,2\n3\n");
    assert!(
        e.contains("line 3") && e.contains("expected 2 fields, found 1"),
        "{e}"
    );
    let e = err_of(b"a,b,a\n1,2,3\n");
    assert!(e.contains("duplicate column name 'a'"), "{e}");
    let e = err_of(b"a,b\n1,caf\xe9\n");
    assert!(e.contains("line 2") && e.contains("not UTF-8"), "{e}");
    let e = err_of(b"a,b\n1,\"open\n2,3\n");
    assert!(e.contains("line 2") && e.contains("never closed"), "{e}");
    let e = err_of(b"a\xff,b\n1,2\n");
    assert!(e.contains("header") && e.contains("not UTF-8"), "{e}");
    let gz_truncated = &gz(MIXED.as_bytes())[..40];
    let e = err_of(gz_truncated);
    assert!(!e.is_empty());
}

#[test]
fn errors_deep_in_a_file_give_the_right_line() {
    let mut s = String::from("a,b\n");
    for i in 0..5000 {
        s.push_str(&format!("{i},{i}\n"));
    }
    s.push_str("oops\n");
    for i in 0..100 {
        s.push_str(&format!("{i},{i}\n"));
    }
    for bs in [64, 777, 1 << 20] {
        let e = read_str(
            &s,
            &ReadOptions {
                block_size: bs,
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("line 5002:"), "block {bs}: {e}");
    }
    // Same with a quoted, multi-line field before the error.
    let s2 = format!("a,b\n1,\"x\ny\"\n{}", &s[4..]);
    let e = read_str(&s2, &small_blocks()).unwrap_err();
    assert!(e.to_string().contains("line 5004:"), "{e}");
}

#[test]
fn required_columns_are_named() {
    let t = read_str(MIXED, &ReadOptions::default()).unwrap();
    let e = t.require("target").unwrap_err().to_string();
    assert!(
        e.contains("column 'target' not found") && e.contains("'id'"),
        "{e}"
    );
}

#[test]
fn outputs_are_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let t = read_str(MIXED, &ReadOptions::default()).unwrap();
    let e = write_table(&dir.path().join("no/such/dir/out.csv"), &t).unwrap_err();
    assert!(e.is_input(), "{e}");
    write_table(&dir.path().join("ok.csv"), &t).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".lithe-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
