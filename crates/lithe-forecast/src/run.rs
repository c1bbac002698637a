//! Forecasting every series of a store with every requested model, in parallel, with
//! a per-series fallback when a model cannot be fitted.

use std::collections::BTreeMap;

use arrow_array::{Date32Array, Int64Array, TimestampMicrosecondArray};
use lithe_core::{Column, ColumnData, Error, Result, Table};
use rayon::prelude::*;

use crate::models::{Exog, Model, Output, Settings, Unfit};
use crate::store::SeriesStore;
use crate::time::{Freq, TimeKind};

/// What to forecast.
#[derive(Debug, Clone)]
pub struct ForecastParams {
    pub horizon: usize,
    pub models: Vec<Model>,
    pub settings: Settings,
    /// The stamps' frequency; inferred from the data when `None`.
    pub freq: Option<Freq>,
}

impl ForecastParams {
    /// Series per parallel task: one where a series can take seconds (AutoARIMA and
    /// the ensemble, whose costs vary by orders of magnitude between series, so that
    /// no thread is left holding a batch of slow ones), sixteen otherwise.
    fn min_series_per_task(&self) -> usize {
        if self
            .models
            .iter()
            .any(|m| matches!(m, Model::AutoArima | Model::Ensemble))
        {
            1
        } else {
            16
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.horizon == 0 {
            return Err(Error::param("horizon", "must be at least 1"));
        }
        if self.settings.season == 0 {
            return Err(Error::param("season", "must be at least 1"));
        }
        if self.models.is_empty() {
            return Err(Error::param("models", "names no model to run"));
        }
        for m in &self.models {
            if let Some((name, why)) = m.missing_setting(&self.settings) {
                return Err(Error::param(name, format!("{why} for {}", m.cli_name())));
            }
        }
        if self.settings.conformal_windows.is_some_and(|w| w < 2) {
            return Err(Error::param("conformal_windows", "must be at least 2"));
        }
        if self.settings.conformal_windows.is_some() && self.settings.levels.is_empty() {
            return Err(Error::param(
                "conformal_windows",
                "needs level (the interval levels to give)",
            ));
        }
        if self.settings.window == Some(0) {
            return Err(Error::param("window_size", "must be at least 1"));
        }
        for (name, a) in [
            ("alpha", self.settings.alpha),
            ("alpha_d", self.settings.alpha_d),
            ("alpha_p", self.settings.alpha_p),
        ] {
            if let Some(a) = a.filter(|a| !(0.0..=1.0).contains(a)) {
                return Err(Error::param(
                    name,
                    format!("is a smoothing parameter and must be in [0, 1], got {a}"),
                ));
            }
        }
        for &l in &self.settings.levels {
            if !(l > 0.0 && l < 100.0) {
                return Err(Error::param(
                    "level",
                    format!("{l} must be above 0 and below 100 (percent)"),
                ));
            }
        }
        Ok(())
    }
}

/// How a run went: per model, the series that fell back, by reason and the model
/// that forecast them instead.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunReport {
    pub series: usize,
    /// (model, why, used instead) → number of series.
    pub fallbacks: BTreeMap<(String, String, String), usize>,
    /// Series with missing values that were filled before fitting.
    pub filled: usize,
    /// Series whose stamps skip steps of the frequency (values are used in order).
    pub gappy: usize,
    /// Series with no observed value (their forecasts are missing).
    pub empty: usize,
    /// Cross-validation windows left out because they would leave a series no history.
    pub skipped_windows: usize,
}

impl RunReport {
    pub fn fell_back(&self) -> usize {
        self.fallbacks.values().sum()
    }
}

/// The order a series falls back along when a model cannot be fitted to it: the
/// seasonal naive forecast (for a seasonal run), then the naive one.
pub fn fallback_chain(model: Model, season: usize) -> Vec<Model> {
    let mut chain = vec![model];
    if season > 1 && model != Model::SeasonalNaive && model != Model::Naive {
        chain.push(Model::SeasonalNaive);
    }
    if model != Model::Naive {
        chain.push(Model::Naive);
    }
    chain
}

/// A series ready for the models: leading missing values dropped, later ones filled
/// with the last observed value. Returns the values and whether any were filled.
pub fn clean(y: &[f64]) -> (Vec<f64>, bool) {
    let start = leading_missing(y);
    let mut filled = false;
    let mut last = f64::NAN;
    let out = y[start..]
        .iter()
        .map(|&v| {
            if v.is_finite() {
                last = v;
                v
            } else {
                filled = true;
                last
            }
        })
        .collect();
    (out, filled || (start > 0 && start < y.len()))
}

/// How many values [`clean`] drops from the front of `y`.
fn leading_missing(y: &[f64]) -> usize {
    y.iter().position(|v| v.is_finite()).unwrap_or(y.len())
}

/// The exogenous regressors of series `s` over its values `start..end` and the `h`
/// after them: from the future values past the series' end, from the series itself
/// inside it (cross-validation). `None` without regressors or a model to use them.
fn exog_of<'a>(
    store: &'a SeriesStore,
    p: &ForecastParams,
    s: usize,
    start: usize,
    end: usize,
) -> Option<Exog<'a>> {
    if store.exog.is_empty() || !p.models.iter().any(|m| m.uses_exog()) {
        return None;
    }
    let (off, n, h) = (
        store.offsets[s],
        store.offsets[s + 1] - store.offsets[s],
        p.horizon,
    );
    let future = |c: usize| -> &'a [f64] {
        if end == n {
            &store.future_exog[c][s * store.future_h..s * store.future_h + h]
        } else {
            &store.exog[c][off + end..off + end + h]
        }
    };
    Some(Exog {
        train: store
            .exog
            .iter()
            .map(|c| &c[off + start..off + end])
            .collect(),
        future: (0..store.exog.len()).map(future).collect(),
    })
}

/// The regressors of the first `end` values of a series (and of the `h` after them,
/// which lie inside it).
fn exog_prefix<'a>(e: &Exog<'a>, end: usize, h: usize) -> Exog<'a> {
    Exog {
        train: e.train.iter().map(|c| &c[..end]).collect(),
        future: e.train.iter().map(|c| &c[end..end + h]).collect(),
    }
}

/// `h` consecutive output rows of one series: their stamps, the cutoff and actual
/// values (cross-validation only), and every model's forecasts.
struct Block {
    stamps: Vec<i64>,
    cutoff: Option<i64>,
    actual: Vec<f64>,
    outputs: Vec<Output>,
}

struct SeriesResult {
    blocks: Vec<Block>,
    fallbacks: Fallbacks,
    filled: bool,
    gappy: bool,
    empty: bool,
    skipped_windows: usize,
}

/// Per fallback: the model's index, why it could not fit, and the model used instead.
type Fallbacks = Vec<(usize, Unfit, Option<Model>)>;

/// Every model's forecast of the clean series `y`, each falling back along
/// [`fallback_chain`] when it cannot fit.
fn fit_all(
    y: &[f64],
    exog: Option<&Exog>,
    p: &ForecastParams,
    fallbacks: &mut Fallbacks,
) -> Vec<Output> {
    let h = p.horizon;
    // The ensemble comes last, from its members' forecasts where they were run anyway.
    let mut order: Vec<usize> = (0..p.models.len()).collect();
    order.sort_by_key(|&i| p.models[i] == Model::Ensemble);
    let mut done: Vec<Option<Output>> = vec![None; p.models.len()];
    for mi in order {
        let model = p.models[mi];
        if model == Model::Ensemble && p.settings.conformal_windows.is_none() {
            let known = |member: Model| {
                let i = p.models.iter().position(|&m| m == member)?;
                done[i].as_ref().map(|o| o.mean.clone())
            };
            done[mi] = Some(crate::models::ensemble(y, h, &p.settings, known, exog));
            continue;
        }
        let mut first_err = None;
        let mut out = None;
        let mut used = None;
        for (step, m) in fallback_chain(model, p.settings.season)
            .into_iter()
            .enumerate()
        {
            match m.forecast_with(y, h, &p.settings, exog) {
                Ok(o) => {
                    if let Some(e) = first_err.take() {
                        fallbacks.push((mi, e, Some(m)));
                    }
                    out = Some(o);
                    used = Some(m);
                    break;
                }
                Err(e) => {
                    if step == 0 {
                        first_err = Some(e);
                    }
                }
            }
        }
        if let Some(e) = first_err {
            fallbacks.push((mi, e, None));
        }
        let mut out = out.unwrap_or_else(|| Output {
            mean: vec![f64::NAN; h],
            intervals: None,
        });
        if let (Some(windows), Some(m)) = (p.settings.conformal_windows, used) {
            out.intervals = conformal(y, exog, m, &out.mean, windows, p);
        }
        done[mi] = Some(out);
    }
    done.into_iter()
        .map(|o| o.expect("every model ran"))
        .collect()
}

/// Conformal intervals (StatsForecast's "conformal distribution"): the model forecasts
/// the last `windows` stretches of `h` values from the history before each; at every
/// step the forecast ± each window's absolute error makes a sample whose quantiles
/// (linear interpolation) bound the interval. `None` when the series is too short
/// for two windows or the model cannot fit a window's history.
fn conformal(
    y: &[f64],
    exog: Option<&Exog>,
    model: Model,
    mean: &[f64],
    windows: usize,
    p: &ForecastParams,
) -> Option<crate::interval::Intervals> {
    let h = p.horizon;
    let n_w = windows.min(y.len().saturating_sub(1) / h);
    if n_w < 2 {
        return None;
    }
    let mut errors = Vec::with_capacity(n_w);
    for i in 0..n_w {
        let end = y.len() - (n_w - i) * h;
        let e = exog.map(|e| exog_prefix(e, end, h));
        let f = model
            .forecast_with(&y[..end], h, &p.settings, e.as_ref())
            .ok()?;
        let e: Vec<f64> = f
            .mean
            .iter()
            .zip(&y[end..end + h])
            .map(|(a, b)| (a - b).abs())
            .collect();
        errors.push(e);
    }
    let mut lo = Vec::with_capacity(p.settings.levels.len());
    let mut hi = Vec::with_capacity(p.settings.levels.len());
    for &level in &p.settings.levels {
        let q = (100.0 - level) / 200.0;
        let (mut l, mut u) = (Vec::with_capacity(h), Vec::with_capacity(h));
        for (k, &m) in mean.iter().enumerate() {
            let mut sample: Vec<f64> = errors.iter().flat_map(|e| [m - e[k], m + e[k]]).collect();
            sample.sort_by(f64::total_cmp);
            l.push(linear_quantile(&sample, q));
            u.push(linear_quantile(&sample, 1.0 - q));
        }
        lo.push(l);
        hi.push(u);
    }
    Some(crate::interval::Intervals { lo, hi })
}

/// The `q` quantile of sorted values by linear interpolation (numpy's default).
fn linear_quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let i = pos.floor() as usize;
    let frac = pos - i as f64;
    match sorted.get(i + 1) {
        Some(&next) => sorted[i] + frac * (next - sorted[i]),
        None => sorted[i],
    }
}

fn is_gappy(store: &SeriesStore, s: usize, freq: Freq) -> bool {
    store
        .stamps(s)
        .windows(2)
        .any(|w| !freq.is_next(store.time_kind, w[0], w[1]))
}

/// The most forecast values (rows × value columns) one part of the output may hold:
/// 2 GiB of f64. Sizes multiplied from flags are checked against it before anything
/// is allocated.
pub const MAX_PART_VALUES: usize = 1 << 28;

/// Refuse flag values whose products cannot be held (a horizon of a billion steps, a
/// billion windows) before allocating, and conformal windows the series cannot give.
fn check_sizes(store: &SeriesStore, p: &ForecastParams, cv: Option<(usize, usize)>) -> Result<()> {
    let longest = (0..store.len())
        .map(|s| store.values(s).len())
        .max()
        .unwrap_or(0);
    let columns = p.models.len() * (1 + 2 * p.settings.levels.len()) + 2;
    let per_part = store.len().clamp(1, SERIES_PER_PART);
    let windows = match cv {
        Some((windows, step)) => {
            // The earliest window must leave its series at least one value to train on.
            let reach = (windows - 1)
                .checked_mul(step)
                .and_then(|b| b.checked_add(p.horizon));
            if reach.is_none_or(|r| r >= longest) {
                return Err(Error::input(format!(
                    "--windows {windows} with --step {step} and --horizon {} reach back past \
                     the start of every series (the longest has {longest} values)",
                    p.horizon
                )));
            }
            windows
        }
        None => 1,
    };
    let values = p
        .horizon
        .checked_mul(windows)
        .and_then(|v| v.checked_mul(columns))
        .and_then(|v| v.checked_mul(per_part));
    if values.is_none_or(|v| v > MAX_PART_VALUES) {
        return Err(Error::input(format!(
            "--horizon {} × {windows} window(s) × {per_part} series × {columns} columns is more \
             forecast values than lithe holds at once ({MAX_PART_VALUES}); use a shorter \
             horizon or fewer windows",
            p.horizon
        )));
    }
    if let (Some(w), None) = (p.settings.conformal_windows, cv) {
        // StatsForecast's rule: the windows and one more value must fit every series.
        let need = w.checked_mul(p.horizon).and_then(|v| v.checked_add(1));
        if let Some(s) = (0..store.len()).find(|&s| need.is_none_or(|n| store.values(s).len() < n))
        {
            return Err(Error::input(format!(
                "--conformal-windows {w} × --horizon {} needs series of at least {} values; \
                 series '{}' has {}",
                p.horizon,
                need.map_or_else(|| "more".to_string(), |n| n.to_string()),
                store.ids[s],
                store.values(s).len()
            )));
        }
    }
    Ok(())
}

/// Every series' horizon stamps can be represented (checked arithmetic; dates within
/// the years 1–9999), or an error naming the first series that cannot.
pub fn check_horizon(store: &SeriesStore, freq: Freq, h: usize) -> Result<()> {
    let kind = store.time_kind;
    for s in 0..store.len() {
        let last = store.stamps(s).last().copied().unwrap_or(0);
        if freq.advance(kind, last, h as i64).is_none() {
            return Err(Error::input(format!(
                "series '{}': {h} steps of {} after its last stamp {} cannot be represented \
                 (integer stamps must stay within ±9.2e18, dates within the years 1 to 9999)",
                store.ids[s],
                freq.describe(kind),
                crate::time::show(kind, last)
            )));
        }
    }
    Ok(())
}

fn one_series(store: &SeriesStore, s: usize, freq: Freq, p: &ForecastParams) -> SeriesResult {
    let values = store.values(s);
    let (y, filled) = clean(values);
    let exog = exog_of(store, p, s, leading_missing(values), values.len());
    let mut fallbacks = Vec::new();
    let outputs = fit_all(&y, exog.as_ref(), p, &mut fallbacks);
    let last = store.stamps(s).last().copied().unwrap_or(0);
    // Every horizon stamp was checked representable before any series was forecast.
    let stamps = (1..=p.horizon as i64)
        .map(|k| freq.advance(store.time_kind, last, k).unwrap_or(last))
        .collect();
    SeriesResult {
        blocks: vec![Block {
            stamps,
            cutoff: None,
            actual: Vec::new(),
            outputs,
        }],
        fallbacks,
        filled,
        gappy: is_gappy(store, s, freq),
        empty: y.is_empty(),
        skipped_windows: 0,
    }
}

/// Cross-validation windows of one series: window `w` of `windows` trains on the values
/// up to `n − h − (windows − 1 − w)·step` and forecasts the `h` after them.
fn cv_series(
    store: &SeriesStore,
    s: usize,
    freq: Freq,
    p: &ForecastParams,
    windows: usize,
    step: usize,
) -> SeriesResult {
    let (values, stamps) = (store.values(s), store.stamps(s));
    let (n, h) = (values.len(), p.horizon);
    let mut res = SeriesResult {
        blocks: Vec::with_capacity(windows),
        fallbacks: Vec::new(),
        filled: false,
        gappy: is_gappy(store, s, freq),
        empty: true,
        skipped_windows: 0,
    };
    for w in 0..windows {
        let back = h + (windows - 1 - w) * step;
        if back >= n {
            res.skipped_windows += 1;
            continue;
        }
        let end = n - back;
        let (y, filled) = clean(&values[..end]);
        res.filled |= filled;
        res.empty &= y.is_empty();
        let exog = exog_of(store, p, s, leading_missing(&values[..end]), end);
        let outputs = fit_all(&y, exog.as_ref(), p, &mut res.fallbacks);
        res.blocks.push(Block {
            stamps: stamps[end..end + h].to_vec(),
            cutoff: Some(stamps[end - 1]),
            actual: values[end..end + h].to_vec(),
            outputs,
        });
    }
    res
}

/// Series per part of the output in [`forecast_to`] and [`cross_validation_to`]: each
/// part is forecast in parallel, assembled and handed on before the next starts, so
/// the memory beyond the store does not grow with the number of series.
pub const SERIES_PER_PART: usize = 4096;

/// Forecast every series with every model: a table `id, time, <Model>…` (and
/// `<Model>-lo-<level>`, `<Model>-hi-<level>` for the models that define intervals),
/// `horizon` rows per series in store order, and a report.
pub fn forecast(
    store: &SeriesStore,
    p: &ForecastParams,
    id_name: &str,
    time_name: &str,
) -> Result<(Table, RunReport)> {
    run_whole(store, p, id_name, time_name, None)
}

/// [`forecast`] with the output handed to `sink` in parts of [`SERIES_PER_PART`]
/// series, in store order.
pub fn forecast_to(
    store: &SeriesStore,
    p: &ForecastParams,
    id_name: &str,
    time_name: &str,
    sink: impl FnMut(Table) -> Result<()>,
) -> Result<RunReport> {
    run_parts(store, p, id_name, time_name, None, SERIES_PER_PART, sink)
}

/// StatsForecast's `cross_validation`: for each series, `windows` forecasts of
/// `horizon` steps from cutoffs `step` apart, the last one ending at the series' end;
/// a table `id, time, cutoff, y, <Model>…`. Windows that would leave a series no
/// history are skipped (and counted).
pub fn cross_validation(
    store: &SeriesStore,
    p: &ForecastParams,
    windows: usize,
    step: usize,
    id_name: &str,
    time_name: &str,
) -> Result<(Table, RunReport)> {
    run_whole(store, p, id_name, time_name, Some((windows, step)))
}

/// [`run_parts`] in one part, returning its table.
fn run_whole(
    store: &SeriesStore,
    p: &ForecastParams,
    id_name: &str,
    time_name: &str,
    cv: Option<(usize, usize)>,
) -> Result<(Table, RunReport)> {
    let mut table = None;
    let report = run_parts(store, p, id_name, time_name, cv, store.len().max(1), |t| {
        table = Some(t);
        Ok(())
    })?;
    let table = table.ok_or_else(|| Error::input("no series to forecast"))?;
    Ok((table, report))
}

/// [`cross_validation`] with the output handed to `sink` in parts of
/// [`SERIES_PER_PART`] series, in store order.
pub fn cross_validation_to(
    store: &SeriesStore,
    p: &ForecastParams,
    windows: usize,
    step: usize,
    id_name: &str,
    time_name: &str,
    sink: impl FnMut(Table) -> Result<()>,
) -> Result<RunReport> {
    let cv = Some((windows, step));
    run_parts(store, p, id_name, time_name, cv, SERIES_PER_PART, sink)
}

/// Forecast (or cross-validate, `cv = Some((windows, step))`) the store's series in
/// parts of `part` series, each in parallel, handing each part's table to `sink`.
fn run_parts(
    store: &SeriesStore,
    p: &ForecastParams,
    id_name: &str,
    time_name: &str,
    cv: Option<(usize, usize)>,
    part: usize,
    mut sink: impl FnMut(Table) -> Result<()>,
) -> Result<RunReport> {
    p.validate()?;
    if let Some((windows, step)) = cv {
        if windows == 0 || step == 0 {
            return Err(Error::input("--windows and --step must be at least 1"));
        }
    } else if !store.exog.is_empty()
        && p.models.iter().any(|m| m.uses_exog())
        && store.future_h != p.horizon
    {
        return Err(Error::input(format!(
            "the exogenous regressors ({}) need their values over the horizon: {} per series",
            store.exog_names.join(", "),
            p.horizon
        )));
    }
    let freq = store.freq(p.freq);
    check_sizes(store, p, cv)?;
    if cv.is_none() {
        check_horizon(store, freq, p.horizon)?;
    }
    let mut report = RunReport {
        series: store.len(),
        ..Default::default()
    };
    let mut from = 0;
    while from < store.len() {
        let to = (from + part.max(1)).min(store.len());
        let results: Vec<SeriesResult> = (from..to)
            .into_par_iter()
            .with_min_len(p.min_series_per_task())
            .map(|s| match cv {
                None => one_series(store, s, freq, p),
                Some((windows, step)) => cv_series(store, s, freq, p, windows, step),
            })
            .collect();
        let table = assemble(
            store,
            p,
            &results,
            from,
            id_name,
            time_name,
            cv.is_some(),
            &mut report,
        )?;
        drop(results);
        sink(table)?;
        from = to;
    }
    Ok(report)
}

/// The table of the series `first..` whose results are `results`, adding their
/// counts to `report`.
#[allow(clippy::too_many_arguments)]
fn assemble(
    store: &SeriesStore,
    p: &ForecastParams,
    results: &[SeriesResult],
    first: usize,
    id_name: &str,
    time_name: &str,
    cv: bool,
    report: &mut RunReport,
) -> Result<Table> {
    for r in results {
        report.filled += usize::from(r.filled);
        report.gappy += usize::from(r.gappy);
        report.empty += usize::from(r.empty);
        report.skipped_windows += r.skipped_windows;
        for (mi, why, used) in &r.fallbacks {
            let used = used.map_or("nothing (missing forecasts)", |m| m.column());
            *report
                .fallbacks
                .entry((
                    p.models[*mi].column().to_string(),
                    why.to_string(),
                    used.to_string(),
                ))
                .or_default() += 1;
        }
    }
    let blocks = || {
        results
            .iter()
            .enumerate()
            .flat_map(|(s, r)| r.blocks.iter().map(move |b| (first + s, b)))
    };
    let n_rows: usize = blocks().map(|(_, b)| b.stamps.len()).sum();
    let mut columns = Vec::new();
    let series_of_rows: Vec<usize> = blocks()
        .flat_map(|(s, b)| std::iter::repeat_n(s, b.stamps.len()))
        .collect();
    columns.push(id_column(store, id_name, &series_of_rows)?);
    let stamps: Vec<i64> = blocks()
        .flat_map(|(_, b)| b.stamps.iter().copied())
        .collect();
    columns.push(time_column(store.time_kind, time_name, stamps));
    if cv {
        let cutoffs: Vec<i64> = blocks()
            .flat_map(|(_, b)| std::iter::repeat_n(b.cutoff.unwrap_or(0), b.stamps.len()))
            .collect();
        columns.push(time_column(store.time_kind, "cutoff", cutoffs));
        let actual: Vec<f64> = blocks()
            .flat_map(|(_, b)| b.actual.iter().copied())
            .collect();
        columns.push(Column::from_f64("y", actual));
    }
    let levels = &p.settings.levels;
    for (mi, &model) in p.models.iter().enumerate() {
        let mut mean = Vec::with_capacity(n_rows);
        for (_, b) in blocks() {
            mean.extend_from_slice(&b.outputs[mi].mean);
        }
        columns.push(Column::from_f64(model.column(), mean));
        if levels.is_empty() || !model.gives_intervals(&p.settings) {
            continue;
        }
        // StatsForecast's order: every lower bound, then every upper bound, each by
        // increasing level.
        let mut order: Vec<usize> = (0..levels.len()).collect();
        order.sort_by(|&a, &b| levels[a].total_cmp(&levels[b]));
        let bound = |li: usize, upper: bool| -> Vec<f64> {
            let mut v = Vec::with_capacity(n_rows);
            for (_, b) in blocks() {
                match &b.outputs[mi].intervals {
                    Some(iv) => v.extend_from_slice(if upper { &iv.hi[li] } else { &iv.lo[li] }),
                    None => v.extend(std::iter::repeat_n(f64::NAN, b.stamps.len())),
                }
            }
            v
        };
        for &li in &order {
            let name = format!("{}-lo-{}", model.column(), level_name(levels[li]));
            columns.push(Column::from_f64(name, bound(li, false)));
        }
        for &li in &order {
            let name = format!("{}-hi-{}", model.column(), level_name(levels[li]));
            columns.push(Column::from_f64(name, bound(li, true)));
        }
    }
    Table::new(columns)
}

/// `80` for 80.0, `99.5` for 99.5.
pub fn level_name(l: f64) -> String {
    if l.fract() == 0.0 {
        format!("{}", l as i64)
    } else {
        format!("{l}")
    }
}

fn id_column(store: &SeriesStore, name: &str, series_of_rows: &[usize]) -> Result<Column> {
    if store.ids_are_ints {
        let ids: Vec<Option<i64>> = series_of_rows
            .iter()
            .map(|&s| store.ids[s].parse::<i64>().ok())
            .collect();
        return Ok(Column::from_i64(name, ids));
    }
    let ids: Vec<Option<&str>> = series_of_rows
        .iter()
        .map(|&s| Some(store.ids[s].as_str()))
        .collect();
    Column::from_strings(name, &ids)
}

fn time_column(kind: TimeKind, name: &str, stamps: Vec<i64>) -> Column {
    match kind {
        TimeKind::Int => Column::new(name, ColumnData::Int(Int64Array::from(stamps))),
        TimeKind::Date => Column::new(
            name,
            ColumnData::Date(Date32Array::from(
                stamps
                    .into_iter()
                    .map(|d| d.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
                    .collect::<Vec<_>>(),
            )),
        ),
        TimeKind::Datetime => Column::new(
            name,
            ColumnData::Datetime(TimestampMicrosecondArray::from(stamps)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SeriesColumns;

    fn rows(t: &Table) -> Vec<Vec<Option<String>>> {
        (0..t.n_rows())
            .map(|r| t.columns().iter().map(|c| c.value_string(r)).collect())
            .collect()
    }

    /// The run in parts (three series per part here) gives the whole run's rows in the
    /// same order, and the same report, for forecasts and cross-validation.
    #[test]
    fn parts_concatenate_to_the_whole_run() {
        let mut ids = Vec::new();
        let mut ds = Vec::new();
        let mut y = Vec::new();
        for s in 0..7 {
            // Series 5 is too short for AutoETS's season and falls back; series 2 has
            // a gap in its values.
            let n = if s == 5 { 3 } else { 20 + s };
            for t in 0..n {
                ids.push(Some(format!("s{s}")));
                ds.push(Some(t as i64 + 1));
                let v = 10.0 + s as f64 + (t as f64 * 0.7).sin() * 3.0 + t as f64 * 0.2;
                y.push(if s == 2 && t == 6 { f64::NAN } else { v });
            }
        }
        let table = Table::new(vec![
            Column::from_strings("unique_id", &ids).unwrap(),
            Column::from_i64("ds", ds),
            Column::from_f64("y", y),
        ])
        .unwrap();
        let store = SeriesStore::from_table(&table, &SeriesColumns::default()).unwrap();
        let p = ForecastParams {
            horizon: 3,
            models: vec![Model::Naive, Model::AutoEts, Model::RandomWalkWithDrift],
            settings: Settings {
                season: 4,
                levels: vec![80.0],
                ..Settings::default()
            },
            freq: None,
        };
        for cv in [None, Some((2, 2))] {
            let (whole, report) = match cv {
                None => forecast(&store, &p, "unique_id", "ds").unwrap(),
                Some((w, s)) => cross_validation(&store, &p, w, s, "unique_id", "ds").unwrap(),
            };
            let mut parts = Vec::new();
            let in_parts = run_parts(&store, &p, "unique_id", "ds", cv, 3, |t| {
                parts.push(t);
                Ok(())
            })
            .unwrap();
            assert_eq!(parts.len(), 3);
            assert_eq!(in_parts, report);
            match cv {
                None => assert!(report.fell_back() > 0 && report.filled == 1, "{report:?}"),
                Some(_) => assert!(report.skipped_windows > 0, "{report:?}"),
            }
            let names: Vec<&str> = whole.names().collect();
            let mut joined = Vec::new();
            for t in &parts {
                assert_eq!(t.names().collect::<Vec<_>>(), names);
                joined.extend(rows(t));
            }
            assert_eq!(joined, rows(&whole));
        }
    }
}
