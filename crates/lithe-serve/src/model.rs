//! A model as the server holds it: loaded from a repository version directory, with
//! the tensors it takes and gives, answering a request's table through its family's
//! library API (the same calls the command line and Python make).

use std::path::Path;

use serde_json::{Map, Value};

use lithe_core::describe::Task;
use lithe_core::{Table, model_file};
use lithe_recsys::TwoTowerModel;
use lithe_trees::TabularModel;
use lithe_trees::rows::Cells;

use crate::error::ApiError;
use crate::forecast::ForecastConfig;
use crate::protocol::{Decoded, TensorMeta, param_bool, param_usize, table_of};

/// The file a version directory holds: any lithe model file.
pub const MODEL_FILE: &str = "model.lithe";

/// A forecasting version's settings (its models are fitted per request).
pub const FORECAST_FILE: &str = "forecast.json";

/// The family of a loaded model and the model itself.
pub enum Family {
    Tabular(Box<TabularModel>),
    Recommend(Box<TwoTowerModel>),
    Forecast(ForecastConfig),
}

/// A loaded model version and its metadata.
pub struct Loaded {
    pub family: Family,
    /// The model file's kind (`tabular.gbdt`, `recommend.two_tower`, `forecast`, ...).
    pub platform: String,
    pub inputs: Vec<TensorMeta>,
    pub outputs: Vec<TensorMeta>,
}

/// Recommendations per user when a request does not say.
pub const DEFAULT_K: usize = 10;

impl Loaded {
    /// The model of a version directory: its `model.lithe`, else its `forecast.json`.
    pub fn load(dir: &Path) -> Result<Loaded, String> {
        let file = dir.join(MODEL_FILE);
        if file.is_file() {
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            return Self::from_model_bytes(&bytes, &file.display().to_string());
        }
        let config = dir.join(FORECAST_FILE);
        if config.is_file() {
            let text = std::fs::read_to_string(&config)
                .map_err(|e| format!("{}: {e}", config.display()))?;
            let c =
                ForecastConfig::parse(&text).map_err(|e| format!("{}: {e}", config.display()))?;
            return Ok(Self::forecast(c));
        }
        Err(format!(
            "{} holds neither {MODEL_FILE} nor {FORECAST_FILE}",
            dir.display()
        ))
    }

    /// A model from a model file's bytes; `name` is used in messages.
    pub fn from_model_bytes(bytes: &[u8], name: &str) -> Result<Loaded, String> {
        let file = model_file::decode(bytes, name).map_err(|e| e.to_string())?;
        if file.kind.starts_with("tabular.") {
            let m = TabularModel::from_bytes(bytes).map_err(|e| e.to_string())?;
            return Ok(Self::tabular(m, file.kind));
        }
        if file.kind == lithe_recsys::model::KIND {
            let m = TwoTowerModel::from_bytes(bytes, name).map_err(|e| e.to_string())?;
            return Ok(Self::recommend(m));
        }
        Err(format!(
            "{name}: the server cannot serve models of kind '{}'",
            file.kind
        ))
    }

    fn tabular(m: TabularModel, kind: String) -> Loaded {
        let inputs = m
            .features()
            .iter()
            // (Numbers as FP64: an imported LightGBM model compares doubles, and a
            // lithe model takes them as well as FP32.)
            .map(|f| TensorMeta::column(&f.name, if f.is_categorical() { "BYTES" } else { "FP64" }))
            .collect();
        let mut outputs = Vec::new();
        match m.task() {
            Task::Binary | Task::Regression => {
                outputs.push(TensorMeta::column("prediction", "FP64"))
            }
            Task::Multiclass => {
                outputs.push(TensorMeta::column("prediction", "BYTES"));
                for c in m.classes() {
                    outputs.push(TensorMeta::column(format!("p_{c}"), "FP64"));
                }
            }
        }
        Loaded {
            family: Family::Tabular(Box::new(m)),
            platform: kind,
            inputs,
            outputs,
        }
    }

    fn recommend(m: TwoTowerModel) -> Loaded {
        let mut inputs = vec![TensorMeta::column("user_id", "BYTES")];
        for c in &m.user_schema.columns {
            let dt = match c {
                lithe_recsys::features::FeatureColumn::Numeric { .. } => "FP64",
                lithe_recsys::features::FeatureColumn::Text { .. } => "BYTES",
            };
            inputs.push(TensorMeta::column(c.name(), dt));
        }
        let outputs = vec![
            TensorMeta::column("user_id", "BYTES"),
            TensorMeta::column("rank", "INT64"),
            TensorMeta::column("item_id", "BYTES"),
            TensorMeta::column("score", "FP64"),
        ];
        Loaded {
            family: Family::Recommend(Box::new(m)),
            platform: lithe_recsys::model::KIND.to_string(),
            inputs,
            outputs,
        }
    }

    fn forecast(c: ForecastConfig) -> Loaded {
        let (inputs, outputs) = c.tensors();
        Loaded {
            family: Family::Forecast(c),
            platform: "forecast".to_string(),
            inputs,
            outputs,
        }
    }

    /// Whether each output row answers the input row of the same index, so that
    /// requests can be stacked into one batch and the answer split back by rows.
    pub fn row_aligned(&self) -> bool {
        matches!(self.family, Family::Tabular(_))
    }

    /// Whether a request may take long enough (model fitting) to be run off the
    /// server's I/O threads.
    pub fn heavy(&self) -> bool {
        matches!(self.family, Family::Forecast(_))
    }

    /// Whether the model names every input it takes (requests with others are refused).
    pub fn closed_inputs(&self) -> bool {
        !matches!(self.family, Family::Forecast(_))
    }

    /// The model's answer to a request's decoded inputs (`n` rows): a tabular model
    /// given floats and text predicts from them directly, without a table.
    pub fn infer_decoded(
        &self,
        n: usize,
        cols: Vec<(&str, Decoded)>,
        params: Option<&Map<String, Value>>,
    ) -> Result<Table, ApiError> {
        if let Family::Tabular(m) = &self.family
            && !cols.iter().any(|(_, d)| matches!(d, Decoded::Ints(_)))
        {
            let cells = |name: &str| {
                cols.iter().find(|(c, _)| *c == name).map(|(_, d)| match d {
                    Decoded::Floats(v) => Cells::Numbers(v),
                    Decoded::Text(v) => Cells::Text(v),
                    // (Excluded above: integers take the table path.)
                    Decoded::Ints(_) => Cells::Numbers(&[]),
                })
            };
            if let Some(t) = m.predict_cells(n, cells)? {
                return Ok(t);
            }
        }
        self.infer(&table_of(cols)?, params)
    }

    /// The model's answer to a request's table.
    pub fn infer(
        &self,
        table: &Table,
        params: Option<&Map<String, Value>>,
    ) -> Result<Table, ApiError> {
        match &self.family {
            Family::Tabular(m) => Ok(m.predict_table(table)?),
            Family::Recommend(m) => {
                let k = param_usize(params, "k", DEFAULT_K)?;
                let exclude = param_bool(params, "exclude_seen", true)?;
                Ok(lithe_recsys::api::recommend(m, table, k, exclude)?.0)
            }
            Family::Forecast(c) => c.infer(table, params),
        }
    }
}
