//! `TwoTowerModel`: two-tower retrieval over `lithe_recsys::api`, for
//! `python/lithe/recommend.py`.

use lithe_core::params::Spec;
use lithe_recsys::{TrainParams, TwoTowerModel};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::forecast::columns_out;
use crate::{compute, param_values, py_err, table_of};

/// A trained two-tower model.
#[pyclass(module = "lithe._lithe", name = "TwoTowerModel")]
pub struct PyTwoTower {
    model: TwoTowerModel,
}

fn model_err(e: lithe_core::Error) -> PyErr {
    py_err(e, Some("two_tower"))
}

#[pymethods]
impl PyTwoTower {
    /// Train on `interactions` (a table with user_id and item_id columns, optional
    /// weight and timestamp) with `params` (spec names); `valid` tunes on given
    /// interactions instead of a slice; side features are tables of user_id or
    /// item_id plus feature columns.
    #[staticmethod]
    #[pyo3(signature = (params, interactions, valid=None, user_features=None,
                        item_features=None, n_jobs=-1))]
    fn fit(
        py: Python<'_>,
        params: &Bound<'_, PyDict>,
        interactions: &Bound<'_, PyAny>,
        valid: Option<Bound<'_, PyAny>>,
        user_features: Option<Bound<'_, PyAny>>,
        item_features: Option<Bound<'_, PyAny>>,
        n_jobs: i64,
    ) -> PyResult<Self> {
        let values = param_values(params)?;
        let p = TrainParams::from_values(values.iter().map(|(k, v)| (k.as_str(), v.clone())))
            .map_err(model_err)?;
        let t = table_of(interactions)?;
        let valid = valid.as_ref().map(table_of).transpose()?;
        let uf = user_features.as_ref().map(table_of).transpose()?;
        let itf = item_features.as_ref().map(table_of).transpose()?;
        let model = compute(py, n_jobs, || {
            lithe_recsys::api::fit(&p, &t, valid.as_ref(), uf.as_ref(), itf.as_ref(), |_| {})
        })
        .map_err(model_err)?;
        Ok(PyTwoTower { model })
    }

    /// The top `k` items of each user of `users` (a table with user_id, and for new
    /// users the user feature columns): the output's columns (user_id, rank, item_id,
    /// score), the number of users answered with the popular items and the number
    /// answered from their features.
    #[pyo3(signature = (users, k=10, exclude_seen=true, exact=false, n_jobs=-1))]
    fn recommend<'py>(
        &mut self,
        py: Python<'py>,
        users: &Bound<'py, PyAny>,
        k: usize,
        exclude_seen: bool,
        exact: bool,
        n_jobs: i64,
    ) -> PyResult<(Bound<'py, PyList>, usize, usize)> {
        let t = table_of(users)?;
        self.model.exact = exact;
        let model = &self.model;
        let (out, answered) = compute(py, n_jobs, || {
            lithe_recsys::api::recommend(model, &t, k, exclude_seen)
        })
        .map_err(model_err)?;
        Ok((
            columns_out(py, &out)?,
            answered.popular,
            answered.from_features,
        ))
    }

    /// Recall@k, NDCG@k and coverage on held-out interactions, as JSON.
    #[pyo3(signature = (test, k=10, n_jobs=-1))]
    fn evaluate(
        &self,
        py: Python<'_>,
        test: &Bound<'_, PyAny>,
        k: usize,
        n_jobs: i64,
    ) -> PyResult<String> {
        let t = table_of(test)?;
        let model = &self.model;
        let r = compute(py, n_jobs, || {
            lithe_recsys::api::evaluate_table(model, &t, k)
        })
        .map_err(model_err)?;
        Ok(serde_json::to_string(&r).unwrap_or_default())
    }

    /// Embed new items from their features and add them to the index; returns how many.
    fn add_items(&mut self, py: Python<'_>, items: &Bound<'_, PyAny>) -> PyResult<usize> {
        let t = table_of(items)?;
        let model = &mut self.model;
        compute(py, 1, || model.add_items(&t, "items")).map_err(model_err)
    }

    #[getter]
    fn n_users(&self) -> usize {
        self.model.users.len()
    }

    #[getter]
    fn n_items(&self) -> usize {
        self.model.items.len()
    }

    /// The parameters the model was trained with (JSON; tuned ones as chosen).
    #[getter]
    fn params_json(&self) -> String {
        serde_json::to_string(&self.model.params).unwrap_or_default()
    }

    /// Tuning and index self-check, as JSON (null when there was none).
    #[getter]
    fn report_json(&self) -> String {
        let r = &self.model.report;
        serde_json::json!({"tuning": r.tuning, "index": r.index, "epoch_loss": r.epoch_loss})
            .to_string()
    }

    /// The model file's bytes (the CLI's format).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let b = self.model.to_bytes().map_err(model_err)?;
        Ok(PyBytes::new(py, &b))
    }

    #[staticmethod]
    fn from_bytes(bytes: &[u8]) -> PyResult<Self> {
        let model = TwoTowerModel::from_bytes(bytes, "the model bytes").map_err(model_err)?;
        Ok(PyTwoTower { model })
    }

    /// Write the model file (the CLI's format), atomically.
    fn save(&self, path: std::path::PathBuf) -> PyResult<()> {
        lithe_core::io::check_output(&path, &[]).map_err(model_err)?;
        self.model.save(&path).map_err(model_err)
    }

    /// Read a model file written by `save` or by `lithe recommend train`.
    #[staticmethod]
    fn load(path: std::path::PathBuf) -> PyResult<Self> {
        let model = TwoTowerModel::load(&path).map_err(model_err)?;
        Ok(PyTwoTower { model })
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let cls = py.get_type::<PyTwoTower>();
        let from = cls.getattr("from_bytes")?;
        let args = PyTuple::new(py, [self.to_bytes(py)?])?;
        PyTuple::new(py, [from, args.into_any()])
    }
}
