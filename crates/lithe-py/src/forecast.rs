//! `forecast`: many series forecast (or cross-validated) by `lithe_forecast::api`, for
//! the StatsForecast-shaped classes in `python/lithe/forecast/`.

use lithe_core::params::Spec;
use lithe_core::{ColumnData, Error, Table};
use lithe_forecast::api::{CrossValidation, ModelSpec, Request};
use lithe_forecast::params::model_named;
use lithe_forecast::{ModelParams, SeriesColumns};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::{compute, le_bytes, param_values, py_err, table_of};

/// One model as Python describes it: its lithe name, its alias (or None), its
/// parameters by lithe or Python name, its season lengths and interval levels.
type ModelArg<'py> = (
    String,
    Option<String>,
    Bound<'py, PyDict>,
    Vec<usize>,
    Vec<f64>,
);

/// A lithe error with the parameter named as StatsForecast names it.
fn forecast_err(e: Error) -> PyErr {
    match e {
        Error::Param {
            name: "season",
            message,
        } => PyValueError::new_err(format!("season_length {message}")),
        Error::Param {
            name: "horizon",
            message,
        } => PyValueError::new_err(format!("h {message}")),
        e => py_err(e, Some("forecast")),
    }
}

/// A table's columns as `(name, kind, data)`: kind `f64`, `i64`, `ts_us`, `date` (the
/// values as 8-byte little-endian words) or `str` (`(int64 code bytes, categories)`).
pub(crate) fn columns_out<'py>(py: Python<'py>, t: &Table) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for c in t.columns() {
        let (kind, data): (&str, Bound<'py, PyAny>) = match c.data() {
            ColumnData::Float(a) => ("f64", le_bytes(py, a.values(), f64::to_le_bytes).into_any()),
            ColumnData::Int(a) => ("i64", le_bytes(py, a.values(), i64::to_le_bytes).into_any()),
            ColumnData::Datetime(a) => (
                "ts_us",
                le_bytes(py, a.values(), i64::to_le_bytes).into_any(),
            ),
            ColumnData::Date(a) => {
                let days: Vec<i64> = a.values().iter().map(|&d| d as i64).collect();
                ("date", le_bytes(py, &days, i64::to_le_bytes).into_any())
            }
            ColumnData::Categorical(_) => {
                let cat = c
                    .as_categorical()
                    .ok_or_else(|| py_err(Error::Runtime("a categorical column".into()), None))?;
                let codes: Vec<i64> = (0..c.len())
                    .map(|r| {
                        if cat.is_null(r) {
                            -1
                        } else {
                            cat.codes()[r] as i64
                        }
                    })
                    .collect();
                let names: Vec<&str> = (0..cat.n_categories())
                    .map(|i| cat.dictionary().value(i))
                    .collect();
                let pair = PyTuple::new(
                    py,
                    [
                        le_bytes(py, &codes, i64::to_le_bytes).into_any(),
                        PyList::new(py, names)?.into_any(),
                    ],
                )?;
                ("str", pair.into_any())
            }
        };
        out.append((c.name(), kind, data))?;
    }
    Ok(out)
}

/// Forecast `horizon` steps of every series of `data` (a lithe table: the id, time and
/// target columns and any regressors) with `models`, or with `cv = (windows, step)`
/// cross-validate. Returns the output's columns (see [`columns_out`]), the run's
/// report as JSON and the notes for the user.
#[pyfunction]
#[pyo3(signature = (data, id_col, time_col, target_col, horizon, models, freq=None,
                    future=None, cv=None, n_jobs=-1))]
#[allow(clippy::too_many_arguments)]
pub fn forecast<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    id_col: String,
    time_col: String,
    target_col: String,
    horizon: usize,
    models: Vec<ModelArg<'py>>,
    freq: Option<String>,
    future: Option<Bound<'py, PyAny>>,
    cv: Option<(usize, usize)>,
    n_jobs: i64,
) -> PyResult<(Bound<'py, PyList>, String, Vec<String>)> {
    let mut specs = Vec::with_capacity(models.len());
    for (name, alias, params, seasons, levels) in &models {
        let model = model_named(name).map_err(forecast_err)?;
        let values = param_values(params)?;
        let p = ModelParams::from_values(values.iter().map(|(k, v)| (k.as_str(), v.clone())))
            .map_err(forecast_err)?;
        let settings = p.settings(seasons, levels).map_err(forecast_err)?;
        specs.push(ModelSpec {
            model,
            settings,
            alias: alias.clone(),
        });
    }
    if horizon == 0 {
        return Err(forecast_err(Error::param("horizon", "must be at least 1")));
    }
    let req = Request {
        columns: SeriesColumns {
            id: id_col,
            time: time_col,
            target: target_col,
        },
        horizon,
        models: specs,
        freq,
        cv: cv.map(|(windows, step)| CrossValidation { windows, step }),
    };
    let table = table_of(data)?;
    let future = future.as_ref().map(table_of).transpose()?;
    let (out, outcome) = compute(py, n_jobs, || {
        lithe_forecast::api::run(&table, future.as_ref(), &req)
    })
    .map_err(forecast_err)?;
    let r = &outcome.report;
    let fallbacks: Vec<serde_json::Value> = r
        .fallbacks
        .iter()
        .map(|((model, why, used), n)| {
            serde_json::json!({"model": model, "reason": why, "used": used, "series": n})
        })
        .collect();
    let report = serde_json::json!({
        "series": r.series,
        "fallbacks": fallbacks,
        "filled": r.filled,
        "gappy": r.gappy,
        "empty": r.empty,
        "skipped_windows": r.skipped_windows,
    });
    Ok((columns_out(py, &out)?, report.to_string(), outcome.notes))
}
