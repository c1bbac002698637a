//! Statistical forecasting for many series: a CSR-style series store, the models
//! StatsForecast users know, per-series fallbacks, and the M4 accuracy measures.

pub mod api;
pub mod arima;
pub mod eval;
pub mod interval;
pub mod linalg;
pub mod metrics;
pub mod models;
pub mod optim;
pub mod params;
pub mod run;
pub mod stl;
pub mod store;
pub mod time;

pub use api::{CrossValidation, ModelSpec, Outcome, Request};
pub use models::{Model, Settings};
pub use params::ModelParams;
pub use run::{
    ForecastParams, RunReport, cross_validation, cross_validation_to, forecast, forecast_to,
};
pub use store::{SeriesColumns, SeriesStore};
pub use time::{Freq, TimeKind};
