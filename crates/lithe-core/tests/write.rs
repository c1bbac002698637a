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
