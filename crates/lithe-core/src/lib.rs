//! lithe-core: the ground every lithe model family stands on.
//!
//! - [`io`]: CSV, gzip CSV and Parquet into typed [`Table`]s (and back out);
//! - [`table`]: columns backed by Arrow arrays, categorical dictionaries, missing values;
//! - [`describe`]: what lithe sees in a table, column by column;
//! - [`model_file`]: the one model-file envelope every model kind uses;
//! - [`metrics`]: classification, regression, forecasting and ranking metrics;
//! - [`params`]: one parameter spec per model, read by every front end;
//! - [`error`]: one error type that tells bad input from runtime failure;
//! - [`quiet_panic`]: third-party decoders' panics on malformed input turned into errors.

pub mod describe;
pub mod error;
pub mod io;
pub mod metrics;
pub mod model_file;
pub mod params;
pub mod quiet_panic;
pub mod rng;
pub mod table;

pub use error::{Error, Result};
pub use io::{ReadOptions, read_table, write_table};
pub use table::{Column, ColumnData, ColumnType, Table};

/// The lithe version, written into every model file.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
