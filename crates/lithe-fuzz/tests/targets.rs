//! Every fuzz target on its seeds and a few hundred deterministic mutations: the
//! targets stay runnable, and inputs that once crashed lithe stay fixed.

use lithe_fuzz::engine::{Config, fuzz};
use lithe_fuzz::targets::TARGETS;

#[test]
fn every_target_survives_its_seeds_and_a_short_deterministic_run() {
    let dir = tempfile::tempdir().unwrap();
    for t in TARGETS {
        let cfg = Config {
            seconds: 1e6,
            max_execs: 300,
            seed: 7,
            findings: dir.path().to_path_buf(),
            ..Config::default()
        };
        let r = fuzz(t, &cfg)
            .unwrap_or_else(|f| panic!("{}: {} ({})", t.name, f.what, f.input.display()));
        assert_eq!(r.execs, 300, "{}", t.name);
        assert!(r.classes >= 2, "{}: every input did the same thing", t.name);
    }
}

/// Inputs the fuzzer found, kept as regression cases.
#[test]
fn inputs_that_once_failed_now_pass() {
    let target = |n| lithe_fuzz::targets::target(n).unwrap();
    // A one-column table with a missing cell lost that row through lithe's CSV (the
    // blank line), and a header naming `;` read back split on it.
    (target("csv").run)(b"\x09NA\n1.\"id\tvalue\n0alue\n0\tinf\n\tinfuser_id\n");
    (target("csv").run)(b"\x11x;y;z\n1.5;abc;2024-01-31\n-2e10;\"q;uoted\";2024-02-29T12:30:00\n");
    // A 1 KB Parquet file whose dictionary page claims 420 million values: the
    // `parquet` crate allocated 3.4 GB for it. The page walk refuses it first.
    let class = (target("parquet").run)(include_bytes!("findings/parquet-dictionary-3gb.bin"));
    assert!(class.contains("corrupted Parquet"), "{class}");
    // A page header whose Thrift list claims more booleans than it has bytes: lithe's own header walk
    // looped over them (a hang); counts past the bytes left are now refused.
    let class = (target("parquet").run)(include_bytes!("findings/parquet-thrift-list-hang.bin"));
    assert!(class.contains("corrupted Parquet"), "{class}");
    // A re-sealed recommender whose feature table has no offsets: its length was
    // computed as 0 − 1.
    (target("model").run)(include_bytes!("findings/model-empty-offsets.bin"));
    // A re-sealed forest whose node points at leaf 50 of a tree with 31 leaves of
    // three values each: the check counted values, not leaves.
    let class = (target("model").run)(include_bytes!("findings/forest-leaf-index.bin"));
    assert!(class.contains("trees:corrupted"), "{class}");
    // A re-sealed forest with no values per leaf: prediction chunked rows by zero.
    let class = (target("model").run)(include_bytes!("findings/forest-zero-values-per-leaf.bin"));
    assert!(class.contains("trees:corrupted"), "{class}");
}
