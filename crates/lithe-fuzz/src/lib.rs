//! lithe-fuzz: fuzz targets for lithe's readers and id handling, their seeds, and a
//! mutational fuzzing engine that runs on stable Rust (the `lithe-fuzz` binary). The
//! same targets run under cargo-fuzz (libFuzzer, nightly) from `fuzz/`.

pub mod engine;
pub mod seeds;
pub mod targets;
