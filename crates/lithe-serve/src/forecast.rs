//! Forecasting behind the server: a version directory's `forecast.json` names the
//! models and their settings; each request carries a batch of series histories and
//! gets their forecasts (and intervals), the models fitted per request through
//! `lithe_forecast::api::run`.

use serde::Deserialize;
use serde_json::{Map, Value};

use lithe_core::params::{ParamValue, Spec};
use lithe_core::{Column, ColumnData, Table};
use lithe_forecast::api::{ModelSpec, Request};
use lithe_forecast::params::model_named;
use lithe_forecast::{ModelParams, SeriesColumns};

use crate::error::ApiError;
use crate::protocol::{TensorMeta, param_usize};

/// `forecast.json`: what `lithe forecast` takes as flags, as JSON.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// Model names as `lithe forecast --models` takes them (`auto_ets`, `theta`, ...).
    models: Vec<String>,
    /// Forecast steps when a request does not give `h`.
    horizon: usize,
    /// The largest `h` a request may ask for (default: `horizon`).
    #[serde(default)]
    max_horizon: Option<usize>,
    /// Season lengths (the first for every model, all of them for MSTL).
    #[serde(default)]
    season_length: SeasonLengths,
    /// Prediction-interval levels in percent.
    #[serde(default)]
    level: Vec<f64>,
    #[serde(default)]
    freq: Option<String>,
    /// The models' other parameters by name (`alpha`, `ets_model`, ...).
    #[serde(default)]
    params: Map<String, Value>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(untagged)]
enum SeasonLengths {
    #[default]
    None,
    One(usize),
    Many(Vec<usize>),
}

/// A forecasting version: the run every request gets, less its data.
#[derive(Debug)]
pub struct ForecastConfig {
    models: Vec<ModelSpec>,
    horizon: usize,
    max_horizon: usize,
    freq: Option<String>,
}

fn param_value(v: &Value) -> Result<ParamValue, String> {
    Ok(match v {
        Value::Null => ParamValue::None,
        Value::Bool(b) => ParamValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => ParamValue::Int(i),
            None => ParamValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => ParamValue::Text(s.clone()),
        other => return Err(format!("a parameter cannot be {other}")),
    })
}

impl ForecastConfig {
    /// The settings of a `forecast.json`, checked as `lithe forecast` checks its flags.
    pub fn parse(text: &str) -> Result<ForecastConfig, String> {
        let c: ConfigFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if c.models.is_empty() {
            return Err("models: name at least one model".into());
        }
        if c.horizon == 0 {
            return Err("horizon must be at least 1".into());
        }
        let max_horizon = c.max_horizon.unwrap_or(c.horizon);
        if max_horizon < c.horizon {
            return Err("max_horizon must be at least horizon".into());
        }
        let values = c
            .params
            .iter()
            .map(|(k, v)| Ok((k.as_str(), param_value(v)?)))
            .collect::<Result<Vec<_>, String>>()?;
        let params = ModelParams::from_values(values).map_err(|e| e.to_string())?;
        let seasons = match c.season_length {
            SeasonLengths::None => vec![],
            SeasonLengths::One(s) => vec![s],
            SeasonLengths::Many(v) => v,
        };
        let settings = params
            .settings(&seasons, &c.level)
            .map_err(|e| e.to_string())?;
        let mut models: Vec<ModelSpec> = Vec::new();
        for name in &c.models {
            let m = model_named(name).map_err(|e| e.to_string())?;
            if !models.iter().any(|s| s.model == m) {
                models.push(ModelSpec::new(m, settings.clone()));
            }
        }
        Ok(ForecastConfig {
            models,
            horizon: c.horizon,
            max_horizon,
            freq: c.freq,
        })
    }

    /// The tensors: `unique_id`, `ds` (integers, or ISO dates/times as `BYTES`), `y`
    /// and any exogenous regressors in; the ids, times and one column per model and
    /// interval bound out.
    pub fn tensors(&self) -> (Vec<TensorMeta>, Vec<TensorMeta>) {
        let cols = SeriesColumns::default();
        let inputs = vec![
            TensorMeta::column(&cols.id, "BYTES"),
            TensorMeta::column(&cols.time, "INT64"),
            TensorMeta::column(&cols.target, "FP64"),
        ];
        let mut outputs = vec![
            TensorMeta::column(&cols.id, "BYTES"),
            TensorMeta::column(&cols.time, "INT64"),
        ];
        for m in &self.models {
            outputs.push(TensorMeta::column(m.column(), "FP64"));
            if m.model.gives_intervals(&m.settings) {
                // (StatsForecast's order: the lower bounds, then the upper, by level.)
                let mut levels = m.settings.levels.clone();
                levels.sort_by(f64::total_cmp);
                for side in ["lo", "hi"] {
                    for l in &levels {
                        let l = lithe_forecast::run::level_name(*l);
                        outputs.push(TensorMeta::column(
                            format!("{}-{side}-{l}", m.column()),
                            "FP64",
                        ));
                    }
                }
            }
        }
        (inputs, outputs)
    }

    /// Forecasts of the request's series (`h` steps: the parameter, or the
    /// configured horizon).
    pub fn infer(
        &self,
        table: &Table,
        params: Option<&Map<String, Value>>,
    ) -> Result<Table, ApiError> {
        let h = param_usize(params, "h", self.horizon)?;
        if h == 0 || h > self.max_horizon {
            return Err(ApiError::bad(format!(
                "parameter 'h' must be between 1 and {}, got {h}",
                self.max_horizon
            )));
        }
        let cols = SeriesColumns::default();
        let table = times_parsed(table, &cols.time)?;
        let req = Request {
            columns: cols,
            horizon: h,
            models: self.models.clone(),
            freq: self.freq.clone(),
            cv: None,
        };
        Ok(lithe_forecast::api::run(&table, None, &req)?.0)
    }
}

/// `table` with its time column, when it came as text, parsed as dates (or, when some
/// value has a time of day, date-times).
fn times_parsed(table: &Table, time: &str) -> Result<Table, ApiError> {
    let Some(col) = table.column(time) else {
        return Ok(table.clone());
    };
    let Some(cat) = col.as_categorical() else {
        return Ok(table.clone());
    };
    let n = col.len();
    let text: Vec<Option<&str>> = (0..n).map(|r| cat.get(r)).collect();
    let parse = lithe_core::io::parse::parse_date;
    let data = if text.iter().flatten().all(|s| parse(s.as_bytes()).is_some()) {
        ColumnData::Date(
            text.iter()
                .map(|s| s.and_then(|s| parse(s.as_bytes())))
                .collect(),
        )
    } else {
        let mut v = Vec::with_capacity(n);
        for (r, s) in text.iter().enumerate() {
            v.push(match s {
                None => None,
                Some(s) => Some(
                    lithe_core::io::parse::parse_datetime(s.as_bytes()).ok_or_else(|| {
                        ApiError::bad(format!(
                            "input '{time}': element {r} ('{s}') is neither a date nor a date-time"
                        ))
                    })?,
                ),
            });
        }
        ColumnData::Datetime(
            v.into_iter()
                .collect::<arrow_array::TimestampMicrosecondArray>(),
        )
    };
    let columns = table
        .columns()
        .iter()
        .map(|c| {
            if c.name() == time {
                Column::new(time, data.clone())
            } else {
                c.clone()
            }
        })
        .collect();
    Table::new(columns).map_err(ApiError::from)
}
