//! `lithe._lithe`: the Python extension module. A thin adapter: Python values in, the
//! model crates' API called with the GIL released, Python values out. Nothing here
//! models; the estimators' scikit-learn face lives in `python/lithe/`.
//!
//! Errors: bad input (lithe's [`Error::Input`] and [`Error::Param`]) raises
//! `ValueError`, with a parameter named by its Python name; anything else raises
//! `RuntimeError`. A panic inside lithe is caught and raised as `RuntimeError`, never
//! left to unwind into the interpreter.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use lithe_core::params::{Kind, ParamInfo, ParamValue, Spec};
use lithe_core::{Column, ColumnData, Error, Table};
use lithe_forecast::ModelParams;
use lithe_trees::forest::ForestParams;
use lithe_trees::{GbdtParams, TabularModel, TabularParams};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

mod arrow_in;
mod forecast;
mod recommend;

/// A lithe error as the Python exception a user expects. Parameter errors name the
/// parameter as the Python signature does (`n_estimators`, not `rounds`).
pub(crate) fn py_err(e: Error, model: Option<&str>) -> PyErr {
    match e {
        Error::Param { name, message } => {
            let alias = model.and_then(|m| specs(m).ok()).and_then(|ps| {
                ps.iter()
                    .find(|p| p.name == name)
                    .map(ParamInfo::python_name)
            });
            PyValueError::new_err(format!("{} {message}", alias.unwrap_or(name)))
        }
        e if e.is_input() => PyValueError::new_err(e.to_string()),
        e => PyRuntimeError::new_err(e.to_string()),
    }
}

fn specs(model: &str) -> PyResult<&'static [ParamInfo]> {
    match model {
        "gbdt" => Ok(GbdtParams::params()),
        "rf" => Ok(ForestParams::params()),
        "forecast" => Ok(ModelParams::params()),
        "two_tower" => Ok(lithe_recsys::TrainParams::params()),
        other => Err(PyValueError::new_err(format!(
            "unknown model '{other}'; choose gbdt, rf, forecast or two_tower"
        ))),
    }
}

fn defaults(model: &str) -> PyResult<Vec<(&'static ParamInfo, ParamValue)>> {
    match model {
        "gbdt" => Ok(GbdtParams::defaults()),
        "rf" => Ok(ForestParams::defaults()),
        "forecast" => Ok(ModelParams::defaults()),
        "two_tower" => Ok(lithe_recsys::TrainParams::defaults()),
        other => Err(PyValueError::new_err(format!(
            "unknown model '{other}'; choose gbdt, rf, forecast or two_tower"
        ))),
    }
}

fn to_py<'py>(py: Python<'py>, v: &ParamValue) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        ParamValue::None => py.None().into_bound(py),
        ParamValue::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        ParamValue::Int(i) => i.into_pyobject(py)?.into_any(),
        ParamValue::Float(x) => x.into_pyobject(py)?.into_any(),
        ParamValue::Text(s) => s.into_pyobject(py)?.into_any(),
    })
}

pub(crate) fn from_py(v: &Bound<'_, PyAny>) -> PyResult<ParamValue> {
    if v.is_none() {
        return Ok(ParamValue::None);
    }
    // bool before int: Python's bool is an int.
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Ok(ParamValue::Bool(v.extract()?));
    }
    if v.is_instance_of::<pyo3::types::PyInt>() {
        return v
            .extract::<i64>()
            .map(ParamValue::Int)
            .map_err(|_| PyValueError::new_err(format!("{v} is too large for a lithe parameter")));
    }
    if v.is_instance_of::<pyo3::types::PyFloat>() {
        return Ok(ParamValue::Float(v.extract()?));
    }
    if let Ok(s) = v.extract::<String>() {
        return Ok(ParamValue::Text(s));
    }
    // NumPy scalars and other number-likes.
    if let Ok(i) = v.call_method0("__index__").and_then(|i| i.extract::<i64>()) {
        return Ok(ParamValue::Int(i));
    }
    if let Ok(x) = v.call_method0("__float__").and_then(|x| x.extract::<f64>()) {
        return Ok(ParamValue::Float(x));
    }
    Err(PyTypeError::new_err(format!(
        "a parameter must be a number, a bool, a string or None, got {}",
        v.get_type().name()?
    )))
}

/// A Python dict of parameters (lithe or Python names) as `(name, value)` pairs.
pub(crate) fn param_values(params: &Bound<'_, PyDict>) -> PyResult<Vec<(String, ParamValue)>> {
    params
        .iter()
        .map(|(k, v)| Ok((k.extract::<String>()?, from_py(&v)?)))
        .collect()
}

/// Every parameter of `model` (`gbdt`, `rf`, `forecast` or `two_tower`): name, Python name, documentation,
/// kind, choices, whether `None` is a value, and the default.
#[pyfunction]
fn param_spec<'py>(py: Python<'py>, model: &str) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for (p, d) in defaults(model)? {
        let row = PyDict::new(py);
        row.set_item("name", p.name)?;
        row.set_item("python_name", p.python_name())?;
        row.set_item("doc", p.doc())?;
        let (kind, choices): (&str, Vec<&str>) = match p.kind {
            Kind::Int => ("int", vec![]),
            Kind::Float => ("float", vec![]),
            Kind::Bool => ("bool", vec![]),
            Kind::Choice(names) => ("choice", names.to_vec()),
            Kind::Text => ("text", vec![]),
        };
        row.set_item("kind", kind)?;
        row.set_item("choices", choices)?;
        row.set_item("optional", p.optional)?;
        row.set_item("default", to_py(py, &d)?)?;
        out.append(row)?;
    }
    Ok(out)
}

/// A thread pool per thread count, made once: `n_jobs` maps onto these.
fn pool(n_jobs: i64) -> PyResult<Arc<rayon::ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = match n_jobs {
        0 => return Err(PyValueError::new_err("n_jobs must not be 0")),
        n if n < 0 => (cores as i64 + 1 + n).max(1) as usize,
        n => n as usize,
    };
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .map_err(|_| PyRuntimeError::new_err("thread pool registry poisoned"))?;
    if let Some(p) = pools.get(&n) {
        return Ok(p.clone());
    }
    let p = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("could not start {n} threads: {e}")))?;
    let p = Arc::new(p);
    pools.insert(n, p.clone());
    Ok(p)
}

/// Tables of at most this many rows are predicted on the calling thread.
const SMALL: usize = 256;

/// Run `f` with a panic caught and turned into a runtime error.
pub(crate) fn catch<T>(f: impl FnOnce() -> lithe_core::Result<T>) -> lithe_core::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            Err(Error::Runtime(format!("internal error in lithe: {msg}")))
        }
    }
}

/// Run lithe work without the GIL, on `n_jobs` threads, with panics caught.
pub(crate) fn compute<T: Send>(
    py: Python<'_>,
    n_jobs: i64,
    f: impl FnOnce() -> lithe_core::Result<T> + Send,
) -> lithe_core::Result<T> {
    let pool = pool(n_jobs).map_err(|e| Error::input(e.to_string()))?;
    py.detach(|| pool.install(|| catch(f)))
}

/// A table from what the Python side hands over: `("arrow", obj)` for an object with
/// `__arrow_c_stream__` (pyarrow, polars, …), or `("columns", [(name, kind, data)])`
/// with kind `f64` (data: float64 bytes, NaN missing) or `cat` (data: `(int64 code
/// bytes, categories)`, code -1 missing).
pub(crate) fn table_of(src: &Bound<'_, PyAny>) -> PyResult<Table> {
    let t = src
        .cast::<PyTuple>()
        .map_err(|_| PyTypeError::new_err("internal: a table is passed as a (kind, data) tuple"))?;
    let kind: String = t.get_item(0)?.extract()?;
    let data = t.get_item(1)?;
    match kind.as_str() {
        "arrow" => arrow_in::table(&data),
        "columns" => {
            let mut cols = Vec::new();
            for c in data.cast::<PyList>()?.iter() {
                let (name, kind, data): (String, String, Bound<'_, PyAny>) = c.extract()?;
                cols.push(column_of(name, &kind, &data)?);
            }
            Table::new(cols).map_err(|e| py_err(e, None))
        }
        other => Err(PyTypeError::new_err(format!(
            "internal: unknown table kind '{other}'"
        ))),
    }
}

/// Little-endian 8-byte words (NumPy's `tobytes()` of float64 or int64 on the
/// platforms lithe builds for); a trailing partial word is ignored.
fn words<T>(b: &[u8], word: fn([u8; 8]) -> T) -> Vec<T> {
    b.chunks_exact(8)
        .map(|c| word(c.try_into().unwrap_or([0; 8])))
        .collect()
}

/// Values as little-endian 8-byte words in Python bytes (the inverse of [`words`]).
pub(crate) fn le_bytes<'py, T: Copy>(
    py: Python<'py>,
    v: &[T],
    word: fn(T) -> [u8; 8],
) -> Bound<'py, PyBytes> {
    let mut b = Vec::with_capacity(v.len() * 8);
    for &x in v {
        b.extend_from_slice(&word(x));
    }
    PyBytes::new(py, &b)
}

/// One column: kind `f64` (float64 bytes, NaN missing), `cat` (`(int64 code bytes,
/// categories)`, code -1 missing), `i64` (int64 bytes), `ts_us` (int64 microseconds
/// since 1970, UTC) or `date` (int64 days since 1970).
fn column_of(name: String, kind: &str, data: &Bound<'_, PyAny>) -> PyResult<Column> {
    Ok(match kind {
        "f64" => {
            let b = data.cast::<PyBytes>()?.as_bytes();
            Column::from_f64(name, words(b, f64::from_le_bytes))
        }
        "cat" => {
            let (codes, cats): (Bound<'_, PyBytes>, Vec<String>) = data.extract()?;
            let codes = words(codes.as_bytes(), i64::from_le_bytes);
            Column::from_codes(name, &codes, &cats).map_err(|e| py_err(e, None))?
        }
        "i64" | "ts_us" | "date" => {
            let b = data.cast::<PyBytes>()?.as_bytes();
            let v = words(b, i64::from_le_bytes);
            match kind {
                "i64" => Column::new(name, ColumnData::Int(v.into())),
                "ts_us" => Column::new(name, ColumnData::Datetime(v.into())),
                _ => {
                    let days: Option<Vec<i32>> = v.iter().map(|&d| i32::try_from(d).ok()).collect();
                    let days = days.ok_or_else(|| {
                        PyValueError::new_err(format!("column '{name}' holds a date out of range"))
                    })?;
                    Column::new(name, ColumnData::Date(days.into()))
                }
            }
        }
        other => {
            return Err(PyTypeError::new_err(format!(
                "internal: unknown column kind '{other}'"
            )));
        }
    })
}

/// A column as Python hands it over: `(kind, data)` (see [`column_of`]).
type ColumnArg<'py> = (String, Bound<'py, PyAny>);

/// A fitted tree ensemble (gradient boosting or random forest).
#[pyclass(module = "lithe._lithe", name = "TabularModel", frozen)]
struct PyTabular {
    model: TabularModel,
    /// The fit's summary: rounds, validation history, best round.
    report: Option<serde_json::Value>,
}

fn metrics_json(m: &lithe_trees::Metrics) -> serde_json::Value {
    serde_json::to_value(m).unwrap_or_default()
}

#[pymethods]
impl PyTabular {
    /// Train `model` (`gbdt` or `rf`) with `params` (Python names or lithe names) on
    /// table `x` plus the target column `target` (`y`: `(kind, data)` as a table's
    /// column), for `task`. `sample_weight` and `eval_sample_weight`: float64 bytes,
    /// one weight per row of `x` and of `valid`'s table.
    #[staticmethod]
    #[pyo3(signature = (
        model, params, x, y, target, task, valid=None, n_jobs=-1, sample_weight=None,
        eval_sample_weight=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn fit(
        py: Python<'_>,
        model: &str,
        params: &Bound<'_, PyDict>,
        x: &Bound<'_, PyAny>,
        y: ColumnArg<'_>,
        target: &str,
        task: &str,
        valid: Option<(Bound<'_, PyAny>, ColumnArg<'_>)>,
        n_jobs: i64,
        sample_weight: Option<&[u8]>,
        eval_sample_weight: Option<&[u8]>,
    ) -> PyResult<Self> {
        let values = param_values(params)?;
        let task = match task {
            "binary" => lithe_core::describe::Task::Binary,
            "multiclass" => lithe_core::describe::Task::Multiclass,
            "regression" => lithe_core::describe::Task::Regression,
            other => return Err(PyValueError::new_err(format!("unknown task '{other}'"))),
        };
        let p =
            TabularParams::from_values(model, values.iter().map(|(k, v)| (k.as_str(), v.clone())))
                .and_then(|p| p.with_task(task))
                .map_err(|e| py_err(e, Some(model)))?;
        let with_target =
            |x: &Bound<'_, PyAny>, y: &(String, Bound<'_, PyAny>)| -> PyResult<Table> {
                let t = table_of(x)?;
                let yc = column_of(target.to_string(), &y.0, &y.1)?;
                if yc.len() != t.n_rows() {
                    return Err(PyValueError::new_err(format!(
                        "X has {} rows but y has {}",
                        t.n_rows(),
                        yc.len()
                    )));
                }
                let mut cols = t.into_columns();
                cols.push(yc);
                Table::new(cols).map_err(|e| py_err(e, None))
            };
        let train = with_target(x, &y)?;
        let valid = match &valid {
            Some((vx, vy)) => Some(with_target(vx, vy)?),
            None => None,
        };
        let weight = |b: Option<&[u8]>| b.map(|b| words(b, f64::from_le_bytes));
        let (train_w, valid_w) = (weight(sample_weight), weight(eval_sample_weight));
        let weights = lithe_trees::Weights {
            train: train_w.as_deref(),
            valid: valid_w.as_deref(),
        };
        let (m, summary) = compute(py, n_jobs, || {
            lithe_trees::fit_weighted(&p, &train, target, valid.as_ref(), weights, &|_| {})
        })
        .map_err(|e| py_err(e, Some(model)))?;
        let report = summary.report.map(|r| {
            serde_json::json!({
                "rounds": r.rounds,
                "best_round": r.best_round,
                "valid_metric": r.valid_metric,
                "valid_history": r.valid_history,
            })
        });
        Ok(PyTabular { model: m, report })
    }

    /// Predictions, row by row, as float64 bytes: one value per row (binary: the
    /// positive class's probability; regression: the value) or one probability per
    /// class (multiclass).
    #[pyo3(signature = (x, n_jobs=-1))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        n_jobs: i64,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let t = table_of(x)?;
        let p = if t.n_rows() <= SMALL {
            // A few rows: predicted on this thread (a hop to the pool and back costs
            // more than the prediction).
            catch(|| self.model.predict(&t))
        } else {
            compute(py, n_jobs, || self.model.predict(&t))
        }
        .map_err(|e| py_err(e, None))?;
        Ok(le_bytes(py, &p, f64::to_le_bytes))
    }

    /// The metrics of the model on a table holding its target column.
    #[pyo3(signature = (x, n_jobs=-1))]
    fn evaluate(&self, py: Python<'_>, x: &Bound<'_, PyAny>, n_jobs: i64) -> PyResult<String> {
        let t = table_of(x)?;
        let m = compute(py, n_jobs, || self.model.evaluate(&t)).map_err(|e| py_err(e, None))?;
        Ok(metrics_json(&m).to_string())
    }

    /// `gbdt`, `rf` or `imported`.
    #[getter]
    fn kind(&self) -> &'static str {
        match self.model {
            TabularModel::Gbdt(_) => "gbdt",
            TabularModel::Forest(_) => "rf",
            TabularModel::Imported(_) => "imported",
        }
    }

    #[getter]
    fn task(&self) -> &'static str {
        self.model.task().name()
    }

    #[getter]
    fn target(&self) -> String {
        self.model.target().to_string()
    }

    #[getter]
    fn classes(&self) -> Vec<String> {
        self.model.classes().to_vec()
    }

    #[getter]
    fn feature_names(&self) -> Vec<String> {
        self.model
            .features()
            .iter()
            .map(|f| f.name.clone())
            .collect()
    }

    /// `(feature, total gain, splits)` per feature, in the model's feature order.
    #[getter]
    fn importance(&self) -> Vec<(String, f64, usize)> {
        self.model.importance()
    }

    /// The parameters as the model file stores them (JSON).
    #[getter]
    fn params_json(&self) -> PyResult<String> {
        self.model
            .params_json()
            .map(|v| v.to_string())
            .map_err(|e| py_err(e, None))
    }

    /// The fit's summary as JSON (gradient boosting), or None.
    #[getter]
    fn report_json(&self) -> Option<String> {
        self.report.as_ref().map(|r| r.to_string())
    }

    #[getter]
    fn n_trees(&self) -> usize {
        self.model.n_trees()
    }

    /// The lithe model file's bytes.
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let b = self
            .model
            .to_bytes(serde_json::json!({}))
            .map_err(|e| py_err(e, None))?;
        Ok(PyBytes::new(py, &b))
    }

    #[staticmethod]
    fn from_bytes(bytes: &[u8]) -> PyResult<Self> {
        let model = TabularModel::from_bytes(bytes).map_err(|e| py_err(e, None))?;
        Ok(PyTabular {
            model,
            report: None,
        })
    }

    /// Write the model file (the CLI's format), atomically.
    fn save(&self, path: std::path::PathBuf) -> PyResult<()> {
        lithe_core::io::check_output(&path, &[]).map_err(|e| py_err(e, None))?;
        self.model
            .save(&path, serde_json::json!({}), None)
            .map_err(|e| py_err(e, None))
    }

    /// Read a model file written by `save` or by `lithe tabular train`.
    #[staticmethod]
    fn load(path: std::path::PathBuf) -> PyResult<Self> {
        let model = lithe_trees::load_any(&path).map_err(|e| py_err(e, None))?;
        Ok(PyTabular {
            model,
            report: None,
        })
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let cls = py.get_type::<PyTabular>();
        let from = cls.getattr("from_bytes")?;
        let args = PyTuple::new(py, [self.to_bytes(py)?])?;
        PyTuple::new(py, [from, args.into_any()])
    }
}

#[pymodule]
fn _lithe(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", lithe_core::VERSION)?;
    m.add_function(wrap_pyfunction!(param_spec, m)?)?;
    m.add_class::<PyTabular>()?;
    m.add_function(wrap_pyfunction!(forecast::forecast, m)?)?;
    m.add_class::<recommend::PyTwoTower>()?;
    Ok(())
}
