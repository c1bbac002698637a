//! The forecasting API the front ends call (the command line, the Python package):
//! a long table of series in, a table of forecasts (or of cross-validation windows)
//! out. The rule that every column beside the id, the time and the value is an
//! exogenous regressor, and the checks on the regressors' future values, live here.
//!
//! Each model carries its own settings and output name, as StatsForecast's model
//! objects do; models that share settings run in one pass over the series.

use lithe_core::{Column, Error, Result, Table};

use crate::models::{Model, Settings};
use crate::run::{self, ForecastParams, RunReport};
use crate::store::{SeriesColumns, SeriesStore};
use crate::time::Freq;

/// One model to run: which, with what settings, and its output column's name.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    pub model: Model,
    pub settings: Settings,
    /// The output column (StatsForecast's `alias`); the model's own name when `None`.
    pub alias: Option<String>,
}

impl ModelSpec {
    pub fn new(model: Model, settings: Settings) -> ModelSpec {
        ModelSpec {
            model,
            settings,
            alias: None,
        }
    }

    /// The name of the model's forecast column.
    pub fn column(&self) -> &str {
        self.alias.as_deref().unwrap_or(self.model.column())
    }
}

/// StatsForecast's `cross_validation`: `windows` forecasts from cutoffs `step` apart,
/// the last ending at each series' end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrossValidation {
    pub windows: usize,
    pub step: usize,
}

/// A forecasting run.
#[derive(Debug, Clone)]
pub struct Request {
    pub columns: SeriesColumns,
    pub horizon: usize,
    pub models: Vec<ModelSpec>,
    /// The time step (see [`Freq::parse`]); inferred from the data when `None`.
    pub freq: Option<String>,
    /// Cross-validate instead of forecasting past the series' ends.
    pub cv: Option<CrossValidation>,
}

/// How a run went: the counts, and notes for the user (nothing wrong, but worth saying).
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub report: RunReport,
    pub notes: Vec<String>,
}

/// The exogenous regressors: every column beside the id, the time and the value.
pub fn exogenous_columns(table: &Table, cols: &SeriesColumns) -> Vec<String> {
    table
        .names()
        .filter(|n| *n != cols.id && *n != cols.time && *n != cols.target)
        .map(str::to_string)
        .collect()
}

/// Forecast (or cross-validate) the series of `table`, handing the output to `sink`
/// in parts of series in id order. `future` holds the regressors' values over the
/// horizon (StatsForecast's `X_df`) for the models that use them.
pub fn run_to(
    table: &Table,
    future: Option<&Table>,
    req: &Request,
    sink: impl FnMut(Table) -> Result<()>,
) -> Result<Outcome> {
    run_with(table, future, req, false, sink)
}

/// [`run_to`] with the whole output as one table.
pub fn run(table: &Table, future: Option<&Table>, req: &Request) -> Result<(Table, Outcome)> {
    let mut whole = None;
    let outcome = run_with(table, future, req, true, |t| {
        whole = Some(t);
        Ok(())
    })?;
    let table = whole.ok_or_else(|| Error::input("no series to forecast"))?;
    Ok((table, outcome))
}

/// The run, its output in parts of series or (`whole`) in one table.
fn run_with(
    table: &Table,
    future: Option<&Table>,
    req: &Request,
    whole: bool,
    mut sink: impl FnMut(Table) -> Result<()>,
) -> Result<Outcome> {
    if req.models.is_empty() {
        return Err(Error::param("models", "names no model to run"));
    }
    let (store, freq, notes) = prepare(table, future, req)?;
    let groups = groups(&req.models);
    let cv = req.cv.is_some();
    let mut outcome = Outcome {
        report: RunReport::default(),
        notes,
    };
    let (id, time) = (&req.columns.id, &req.columns.time);
    if let ([(settings, members)], false) = (groups.as_slice(), whole) {
        // One pass; the output streams in parts, each under the models' aliases.
        let p = params(req, settings, members, freq);
        let sink = |t: Table| sink(join(&req.models, &groups, std::slice::from_ref(&t), cv)?);
        let report = match req.cv {
            None => run::forecast_to(&store, &p, id, time, sink)?,
            Some(cv) => run::cross_validation_to(&store, &p, cv.windows, cv.step, id, time, sink)?,
        };
        merge_report(&mut outcome.report, aliased(report, &req.models, members));
    } else {
        // A pass per group of settings, each whole, then the columns in the request's order.
        let mut tables = Vec::with_capacity(groups.len());
        for (settings, members) in &groups {
            let p = params(req, settings, members, freq);
            let (t, report) = match req.cv {
                None => run::forecast(&store, &p, id, time)?,
                Some(cv) => run::cross_validation(&store, &p, cv.windows, cv.step, id, time)?,
            };
            merge_report(&mut outcome.report, aliased(report, &req.models, members));
            tables.push(t);
        }
        sink(join(&req.models, &groups, &tables, cv)?)?;
    }
    Ok(outcome)
}

/// The series store with its regressors (and their future values), the frequency, and
/// the notes on regressors that go unused.
fn prepare(
    table: &Table,
    future: Option<&Table>,
    req: &Request,
) -> Result<(SeriesStore, Option<Freq>, Vec<String>)> {
    let cols = &req.columns;
    let exog = exogenous_columns(table, cols);
    let mut users: Vec<&str> = Vec::new();
    for m in req.models.iter().filter(|m| m.model.uses_exog()) {
        if !users.contains(&m.model.cli_name()) {
            users.push(m.model.cli_name());
        }
    }
    let regress = !exog.is_empty() && !users.is_empty();
    if future.is_some() {
        if exog.is_empty() {
            return Err(Error::input(format!(
                "future values are for exogenous regressors, but the training data has no \
                 columns beside {}, {} and {}",
                cols.id, cols.time, cols.target
            )));
        }
        if req.cv.is_some() {
            return Err(Error::input(
                "future values are for forecasting; cross-validation takes the regressors' \
                 values from the training data",
            ));
        }
    }
    let mut store = if regress {
        SeriesStore::from_table_with_exog(table, cols, &exog)?
    } else {
        SeriesStore::from_table(table, cols)?
    };
    if regress && req.cv.is_none() && future.is_none() {
        return Err(Error::input(format!(
            "{} use the columns beside the value as exogenous regressors ({}) and need their \
             future values: a table of {}, {}, {} with {} rows per series",
            users.join(" and "),
            exog.join(", "),
            cols.id,
            cols.time,
            exog.join(", "),
            req.horizon
        )));
    }
    let freq = req
        .freq
        .as_deref()
        .map(|f| Freq::parse(f, store.time_kind))
        .transpose()?;
    if let (true, Some(f)) = (regress, future) {
        store.attach_future(f, cols, req.horizon, freq)?;
    }
    let mut notes = Vec::new();
    if !exog.is_empty() && !regress {
        notes.push(format!(
            "the columns {} beside the value are exogenous regressors; only auto_arima and \
             ensemble use them{}",
            exog.join(", "),
            if future.is_some() {
                ", so the future values go unused"
            } else {
                ""
            }
        ));
    }
    let no_intervals: Vec<&str> = req
        .models
        .iter()
        .filter(|m| !m.settings.levels.is_empty() && !m.model.gives_intervals(&m.settings))
        .map(ModelSpec::column)
        .collect();
    if !no_intervals.is_empty() {
        notes.push(format!(
            "{} define no prediction intervals of their own; level adds none for them \
             (conformal_windows gives conformal ones)",
            no_intervals.join(", ")
        ));
    }
    Ok((store, freq, notes))
}

/// The models grouped by equal settings, in order of first appearance; a model that
/// appears twice with the same settings (under two aliases) goes to another group.
fn groups(models: &[ModelSpec]) -> Vec<(Settings, Vec<usize>)> {
    let mut out: Vec<(Settings, Vec<usize>)> = Vec::new();
    for (i, m) in models.iter().enumerate() {
        let fits = |(s, members): &&mut (Settings, Vec<usize>)| {
            *s == m.settings && members.iter().all(|&j| models[j].model != m.model)
        };
        match out.iter_mut().find(|g| fits(g)) {
            Some(g) => g.1.push(i),
            None => out.push((m.settings.clone(), vec![i])),
        }
    }
    out
}

fn params(
    req: &Request,
    settings: &Settings,
    members: &[usize],
    freq: Option<Freq>,
) -> ForecastParams {
    ForecastParams {
        horizon: req.horizon,
        models: members.iter().map(|&i| req.models[i].model).collect(),
        settings: settings.clone(),
        freq,
    }
}

/// A pass's report with its fallbacks under the aliases of the pass's models
/// (`members`, each model once).
fn aliased(mut r: RunReport, models: &[ModelSpec], members: &[usize]) -> RunReport {
    r.fallbacks = std::mem::take(&mut r.fallbacks)
        .into_iter()
        .map(|((model, why, used), n)| {
            let spec = members
                .iter()
                .map(|&i| &models[i])
                .find(|m| m.model.column() == model);
            let model = spec.map_or(model.clone(), |m| m.column().to_string());
            ((model, why, used), n)
        })
        .collect();
    r
}

/// The counts of another pass over the same series: their fallbacks added; the rest
/// (properties of the series) are the same in every pass.
fn merge_report(into: &mut RunReport, r: RunReport) {
    let mut fallbacks = std::mem::take(&mut into.fallbacks);
    for (k, n) in r.fallbacks {
        *fallbacks.entry(k).or_default() += n;
    }
    *into = RunReport { fallbacks, ..r };
}

/// The groups' tables (or one part of a one-group run) as one: the key columns of the
/// first, then each model's columns (its forecast and its interval bounds) in the
/// request's order, under its alias.
fn join(
    models: &[ModelSpec],
    groups: &[(Settings, Vec<usize>)],
    tables: &[Table],
    cv: bool,
) -> Result<Table> {
    let keys = if cv { 4 } else { 2 };
    let mut columns: Vec<Column> = tables[0].columns()[..keys].to_vec();
    for (i, m) in models.iter().enumerate() {
        let g = groups
            .iter()
            .position(|(_, members)| members.contains(&i))
            .ok_or_else(|| Error::Runtime("a model outside every group".into()))?;
        let name = m.model.column();
        let lo = format!("{name}-lo-");
        let hi = format!("{name}-hi-");
        let own = |c: &Column, pre: &str| -> Option<Column> {
            let new = if c.name() == name && pre == lo {
                m.column().to_string()
            } else {
                format!(
                    "{}{}",
                    &pre.replacen(name, m.column(), 1),
                    c.name().strip_prefix(pre)?
                )
            };
            Some(Column::new(new, c.data().clone()))
        };
        for pre in [&lo, &hi] {
            columns.extend(tables[g].columns().iter().filter_map(|c| own(c, pre)));
        }
    }
    Table::new(columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::ModelParams;
    use lithe_core::params::{ParamValue, Spec};

    fn series() -> Table {
        let mut ids = Vec::new();
        let (mut ds, mut y) = (Vec::new(), Vec::new());
        for s in 0..3 {
            for t in 0..40 {
                ids.push(Some(format!("s{s}")));
                ds.push(Some(t as i64));
                y.push(10.0 + s as f64 + ((t % 4) as f64) * 2.0 + t as f64 * 0.1);
            }
        }
        Table::new(vec![
            Column::from_strings("unique_id", &ids).unwrap(),
            Column::from_i64("ds", ds),
            Column::from_f64("y", y),
        ])
        .unwrap()
    }

    fn settings(season: usize, levels: &[f64]) -> Settings {
        ModelParams::default().settings(&[season], levels).unwrap()
    }

    fn request(models: Vec<ModelSpec>, cv: Option<CrossValidation>) -> Request {
        Request {
            columns: SeriesColumns::default(),
            horizon: 4,
            models,
            freq: None,
            cv,
        }
    }

    fn values(t: &Table, name: &str) -> Vec<f64> {
        t.column(name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .to_f64()
    }

    /// Models with settings of their own (two season lengths, two aliases of one model)
    /// give, column for column, what each gives run alone, in the request's order.
    #[test]
    fn models_with_their_own_settings_equal_separate_runs() {
        let t = series();
        let mut sn4 = ModelSpec::new(Model::SeasonalNaive, settings(4, &[80.0]));
        sn4.alias = Some("SN4".into());
        let sn2 = ModelSpec::new(Model::SeasonalNaive, settings(2, &[80.0]));
        let mut naive = ModelSpec::new(Model::Naive, settings(4, &[80.0]));
        naive.alias = Some("N".into());
        let ets = ModelSpec::new(Model::AutoEts, settings(4, &[80.0]));
        for cv in [
            None,
            Some(CrossValidation {
                windows: 2,
                step: 3,
            }),
        ] {
            let req = request(
                vec![sn4.clone(), sn2.clone(), naive.clone(), ets.clone()],
                cv,
            );
            let (all, _) = run(&t, None, &req).unwrap();
            let names: Vec<&str> = all.names().collect();
            let keys: &[&str] = if cv.is_some() {
                &["unique_id", "ds", "cutoff", "y"]
            } else {
                &["unique_id", "ds"]
            };
            let mut want: Vec<&str> = keys.to_vec();
            want.extend([
                "SN4",
                "SN4-lo-80",
                "SN4-hi-80",
                "SeasonalNaive",
                "SeasonalNaive-lo-80",
                "SeasonalNaive-hi-80",
                "N",
                "N-lo-80",
                "N-hi-80",
                "AutoETS",
                "AutoETS-lo-80",
                "AutoETS-hi-80",
            ]);
            assert_eq!(names, want);
            for (spec, col) in [(&sn4, "SN4"), (&sn2, "SeasonalNaive"), (&naive, "N")] {
                let (alone, _) = run(&t, None, &request(vec![spec.clone()], cv)).unwrap();
                assert_eq!(values(&all, col), values(&alone, col), "{col}");
                let lo = format!("{col}-lo-80");
                assert_eq!(values(&all, &lo), values(&alone, &lo), "{lo}");
            }
            assert_ne!(values(&all, "SN4"), values(&all, "SeasonalNaive"));
        }
    }

    /// A model that falls back is counted under its own alias, also when the same
    /// model runs in another pass under another name.
    #[test]
    fn fallbacks_are_counted_under_the_models_alias() {
        let short = ModelSpec::new(Model::SeasonalNaive, settings(4, &[]));
        let mut long = ModelSpec::new(Model::SeasonalNaive, settings(100, &[]));
        long.alias = Some("SN100".into());
        let (_, o) = run(&series(), None, &request(vec![short, long], None)).unwrap();
        let keys: Vec<(&str, &str)> = o
            .report
            .fallbacks
            .keys()
            .map(|(m, _, used)| (m.as_str(), used.as_str()))
            .collect();
        assert_eq!(keys, [("SN100", "Naive")]);
        assert_eq!(o.report.fell_back(), 3);
    }

    /// Regressors: required over the horizon for a model that uses them, refused where
    /// there are none or for cross-validation, noted where no model uses them.
    #[test]
    fn the_exogenous_rule() {
        let base = series();
        let mut cols = base.columns().to_vec();
        let n = base.n_rows();
        cols.push(Column::from_f64(
            "price",
            (0..n).map(|i| (i % 7) as f64).collect(),
        ));
        let with_x = Table::new(cols).unwrap();
        let arima = ModelSpec::new(Model::AutoArima, settings(1, &[]));
        let naive = ModelSpec::new(Model::Naive, settings(1, &[]));
        let e = run(&with_x, None, &request(vec![arima.clone()], None)).unwrap_err();
        assert!(e.to_string().contains("need their future values"), "{e}");
        let (_, o) = run(&with_x, None, &request(vec![naive.clone()], None)).unwrap();
        assert!(o.notes[0].contains("price"), "{:?}", o.notes);
        let e = run(&base, Some(&base), &request(vec![naive], None)).unwrap_err();
        assert!(e.to_string().contains("no columns beside"), "{e}");
        let cv = Some(CrossValidation {
            windows: 1,
            step: 1,
        });
        let e = run(&with_x, Some(&with_x), &request(vec![arima.clone()], cv)).unwrap_err();
        assert!(e.to_string().contains("cross-validation"), "{e}");
        assert!(run(&with_x, None, &request(vec![arima], cv)).is_ok());
    }

    /// A setting a model needs and lacks is named by its parameter.
    #[test]
    fn missing_settings_name_the_parameter() {
        let p = ModelParams::from_values([("alpha", ParamValue::Float(0.3))]).unwrap();
        let wa = ModelSpec::new(Model::WindowAverage, p.settings(&[1], &[]).unwrap());
        let e = run(&series(), None, &request(vec![wa], None)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "window_size must be given (it has no default) for window_average"
        );
    }
}
