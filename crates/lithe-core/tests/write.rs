//! Files lithe writes are created like any other new file.

#[cfg(unix)]
#[test]
fn written_files_get_the_permissions_of_a_new_file() {
    use std::os::unix::fs::PermissionsExt;

    use lithe_core::{Column, Table, write_table};

    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference");
    std::fs::File::create(&reference).unwrap();
    let expect = std::fs::metadata(&reference).unwrap().permissions().mode() & 0o777;
    let out = dir.path().join("out.csv");
    let table = Table::new(vec![Column::from_f64("x", vec![1.0, 2.0])]).unwrap();
    write_table(&out, &table).unwrap();
    let got = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(got, expect, "mode {got:o}, a new file gets {expect:o}");
}

/// A table written in parts reads back as the parts one after another, in every
/// format; a writer dropped before `finish` leaves no file.
#[test]
fn a_table_written_in_parts_reads_back_whole() {
    use lithe_core::io::TableWriter;
    use lithe_core::{Column, ReadOptions, Table, read_table};

    let part = |ids: &[&str], x: &[f64]| {
        let ids: Vec<Option<&str>> = ids.iter().map(|s| Some(*s)).collect();
        Table::new(vec![
            Column::from_strings("id", &ids).unwrap(),
            Column::from_f64("x", x.to_vec()),
        ])
        .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    for name in ["out.csv", "out.csv.gz", "out.parquet"] {
        let path = dir.path().join(name);
        let mut w = TableWriter::create(&path).unwrap();
        w.write(&part(&["a", "b"], &[1.5, 2.5])).unwrap();
        w.write(&part(&["c"], &[f64::NAN])).unwrap();
        w.write(&part(&["d", "e"], &[4.0, -5.25])).unwrap();
        assert!(!path.exists(), "{name} appeared before finish");
        w.finish().unwrap();
        let t = read_table(&path, &ReadOptions::default()).unwrap();
        assert_eq!(t.n_rows(), 5, "{name}");
        let ids: Vec<String> = (0..5)
            .map(|r| t.column("id").unwrap().value_string(r).unwrap())
            .collect();
        assert_eq!(ids, ["a", "b", "c", "d", "e"], "{name}");
        let x = t.column("x").unwrap().to_f64();
        assert_eq!(x[0], 1.5);
        assert!(x[2].is_nan());
        assert_eq!(x[4], -5.25, "{name}");
        // Parts must agree on their columns.
        let mut w = TableWriter::create(&dir.path().join(format!("bad-{name}"))).unwrap();
        w.write(&part(&["a"], &[1.0])).unwrap();
        let other = Table::new(vec![Column::from_f64("y", vec![1.0])]).unwrap();
        assert!(w.write(&other).is_err());
        drop(w);
        assert!(!dir.path().join(format!("bad-{name}")).exists());
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".lithe-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

/// A writer makes no file before its first part (a run killed while fitting leaves
/// nothing behind), and refuses at once a path it may not write.
#[test]
fn the_temporary_file_appears_only_when_writing_starts() {
    use lithe_core::io::TableWriter;
    use lithe_core::{Column, Table};

    let dir = tempfile::tempdir().unwrap();
    let temps = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".lithe-tmp"))
            .count()
    };
    let path = dir.path().join("out.csv");
    let mut w = TableWriter::create(&path).unwrap();
    assert_eq!(temps(), 0);
    w.write(&Table::new(vec![Column::from_f64("x", vec![1.0])]).unwrap())
        .unwrap();
    assert_eq!(temps(), 1);
    drop(w);
    assert_eq!(temps(), 0);
    assert!(!path.exists());
    let e = TableWriter::create(dir.path()).err().unwrap();
    assert!(
        e.is_input() && e.to_string().contains("is a directory"),
        "{e}"
    );
    #[cfg(unix)]
    {
        let e = TableWriter::create(std::path::Path::new("/dev/null"))
            .err()
            .unwrap();
        assert!(e.is_input() && e.to_string().contains("a device"), "{e}");
    }
}

/// Parquet written by lithe carries a checksum the reader verifies: a flipped byte
/// anywhere in the file is an error, never a changed value.
#[test]
fn every_flipped_byte_of_a_lithe_parquet_file_is_caught() {
    use lithe_core::{Column, ReadOptions, Table, read_table, write_table};

    let dir = tempfile::tempdir().unwrap();
    let n = 200;
    let ids: Vec<Option<String>> = (0..n).map(|i| Some(format!("s{}", i % 17))).collect();
    let t = Table::new(vec![
        Column::from_strings("unique_id", &ids).unwrap(),
        Column::from_i64("ds", (0..n as i64).map(Some).collect()),
        Column::from_f64("y", (0..n).map(|i| (i as f64 * 0.37).sin()).collect()),
    ])
    .unwrap();
    let path = dir.path().join("t.parquet");
    write_table(&path, &t).unwrap();
    let good = std::fs::read(&path).unwrap();
    let rows = |t: &Table| -> Vec<Vec<Option<String>>> {
        (0..t.n_rows())
            .map(|r| t.columns().iter().map(|c| c.value_string(r)).collect())
            .collect()
    };
    let want = rows(&read_table(&path, &ReadOptions::default()).unwrap());
    assert_eq!(want.len(), n);
    let bad = dir.path().join("bad.parquet");
    let mut silent = Vec::new();
    for i in 0..good.len() {
        for mask in [0x01u8, 0x80] {
            let mut b = good.clone();
            b[i] ^= mask;
            std::fs::write(&bad, &b).unwrap();
            if let Ok(got) = read_table(&bad, &ReadOptions::default())
                && rows(&got) != want
            {
                silent.push((i, mask));
            }
        }
    }
    assert!(
        silent.is_empty(),
        "{} of {} flips changed values silently: {silent:?}",
        silent.len(),
        2 * good.len()
    );
}
