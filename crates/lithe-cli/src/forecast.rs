//! `lithe forecast [run]|cv|eval`

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use lithe_forecast::eval::evaluate;
use lithe_forecast::{ForecastParams, Freq, Model, SeriesColumns, SeriesStore, Settings};
use serde_json::{Map, Value, json};

use crate::tabular::read;
use crate::{DataArgs, GlobalArgs, UsageError, emit};

/// Forecast many time series (long format: id, time, value), or score forecasts
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ForecastCommand {
    #[command(subcommand)]
    sub: Option<ForecastSub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum ForecastSub {
    /// Forecast every series with every model (the default when no subcommand is given)
    Run(RunArgs),
    /// Cross-validate: forecast from several cutoffs inside each series (StatsForecast's
    /// cross_validation shape: id, time, cutoff, y, one column per model)
    Cv(CvArgs),
    /// Score a forecast file against actual values: sMAPE, MASE and OWA per model (JSON)
    Eval(EvalArgs),
}

/// Which columns hold the series id, the time and the value.
#[derive(Args, Debug, Clone)]
struct ColumnArgs {
    /// The series id column
    #[arg(long, default_value = "unique_id", value_name = "COL")]
    id_col: String,
    /// The time column: integers, dates or datetimes
    #[arg(long, default_value = "ds", value_name = "COL")]
    time_col: String,
    /// The value column
    #[arg(long, default_value = "y", value_name = "COL")]
    target_col: String,
}

impl ColumnArgs {
    fn columns(&self) -> SeriesColumns {
        SeriesColumns {
            id: self.id_col.clone(),
            time: self.time_col.clone(),
            target: self.target_col.clone(),
        }
    }
}

#[derive(Args, Debug, Clone)]
struct RunArgs {
    /// Training data in long format (CSV, gzip CSV or Parquet)
    #[arg(long, required = true)]
    data: Option<PathBuf>,
    /// Steps to forecast past the end of each series
    #[arg(long, required = true, value_parser = clap::value_parser!(u32).range(1..))]
    horizon: Option<u32>,
    /// Where to write the forecasts: id, time, one column per model
    #[arg(long, required = true)]
    out: Option<PathBuf>,
    /// The exogenous regressors' values over the horizon (long format: the id and time
    /// columns and every column of --data beside them and the value; --horizon rows per
    /// series), for the models that use them (auto_arima, ensemble)
    #[arg(long, value_name = "FILE")]
    future: Option<PathBuf>,
    /// Season length (StatsForecast's season_length); 1 for none. Several, comma-
    /// separated or repeated, for MSTL's multiple seasons (other models use the first)
    #[arg(long, default_value = "1", value_delimiter = ',', value_name = "M",
          value_parser = clap::value_parser!(u32).range(1..))]
    season: Vec<u32>,
    /// Models to run, comma-separated (snake_case names; see the README)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "naive,seasonal_naive",
        value_name = "NAMES"
    )]
    models: Vec<String>,
    /// Prediction-interval levels in percent, comma-separated (models that define
    /// intervals get <Model>-lo-<level> and <Model>-hi-<level> columns)
    #[arg(long, value_delimiter = ',', value_name = "LEVELS")]
    level: Vec<f64>,
    /// The time step: an integer for integer time, else D, W, h, min, s, M, Q, Y
    /// with an optional multiple (default: inferred from the data)
    #[arg(long, value_name = "F")]
    freq: Option<String>,
    /// window_size of window_average and seasonal_window_average
    #[arg(long, value_name = "N")]
    window_size: Option<usize>,
    /// The smoothing parameter of ses and seasonal_ses
    #[arg(long, value_name = "A")]
    alpha: Option<f64>,
    /// TSB's smoothing parameter for demand sizes
    #[arg(long, value_name = "A")]
    alpha_d: Option<f64>,
    /// TSB's smoothing parameter for the probability of demand
    #[arg(long, value_name = "A")]
    alpha_p: Option<f64>,
    /// Conformal prediction intervals for every model, from this many windows of
    /// --horizon steps at the end of each series (StatsForecast's ConformalIntervals)
    #[arg(long, value_name = "N")]
    conformal_windows: Option<usize>,
    /// AutoETS's model: error, trend, season letters (A additive, M multiplicative,
    /// N none, Z choose), e.g. ZZZ (default), AAN, MAM, ZZN
    #[arg(long, default_value = "ZZZ", value_name = "ETS")]
    ets_model: String,
    /// AutoETS's damping of the trend: auto (try both), true or false
    #[arg(long, default_value = "auto", value_name = "auto|true|false")]
    damped: String,
    /// AutoARIMA's exact likelihood: "statsforecast" keeps the differencing states'
    /// covariance from the previous evaluation, as StatsForecast 2.1 does (its
    /// estimates of differenced models then mostly stay at the CSS ones); "fresh"
    /// starts every evaluation from the model's prior, as R's arima does
    #[arg(
        long,
        default_value = "statsforecast",
        value_name = "fresh|statsforecast"
    )]
    arima_likelihood: String,
    /// AutoARIMA's search: "stepwise" tries the neighbours StatsForecast and R try;
    /// "cross" also tries (p+1, Q+1) and (q+1, P+1) where that search stops, and goes
    /// on from either if it is better
    #[arg(long, default_value = "cross", value_name = "cross|stepwise")]
    arima_search: String,
    #[command(flatten)]
    cols: ColumnArgs,
    #[command(flatten)]
    data_args: DataArgs,
}

#[derive(Args, Debug)]
struct CvArgs {
    /// Number of cutoffs per series; the last window ends at the series' end
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    windows: u32,
    /// Steps between consecutive cutoffs
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    step: u32,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// Forecasts: id, time and one column per model (as `lithe forecast` writes them)
    #[arg(long)]
    forecast: PathBuf,
    /// The actual values over the horizon, long format
    #[arg(long)]
    actual: PathBuf,
    /// The training data (for MASE's scale and the Naive2 benchmark), long format
    #[arg(long)]
    train: PathBuf,
    /// Season length for MASE and Naive2 (M4: Hourly 24, Weekly 1)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    season: u32,
    #[command(flatten)]
    cols: ColumnArgs,
    #[command(flatten)]
    data_args: DataArgs,
}

impl ForecastCommand {
    pub fn paths(&self) -> crate::Paths<'_> {
        fn run(a: &RunArgs) -> crate::Paths<'_> {
            let mut inputs: Vec<&std::path::Path> = Vec::new();
            inputs.extend(a.data.as_deref());
            inputs.extend(a.future.as_deref());
            crate::Paths {
                inputs,
                outputs: a.out.as_deref().into_iter().collect(),
            }
        }
        match &self.sub {
            Some(ForecastSub::Run(a)) => run(a),
            Some(ForecastSub::Cv(a)) => run(&a.run),
            Some(ForecastSub::Eval(_)) => crate::Paths::default(),
            None => run(&self.run),
        }
    }
}

pub fn run(cmd: ForecastCommand, g: &GlobalArgs) -> anyhow::Result<()> {
    match cmd.sub {
        Some(ForecastSub::Run(a)) => forecast(a, None, g),
        Some(ForecastSub::Cv(a)) => forecast(a.run, Some((a.windows, a.step)), g),
        Some(ForecastSub::Eval(a)) => eval(a),
        None => forecast(cmd.run, None, g),
    }
}

use lithe_forecast::models::auto_arima::{Likelihood, Steps};

fn parse_models(names: &[String]) -> anyhow::Result<Vec<Model>> {
    let mut models = Vec::new();
    for n in names {
        let n = n.trim();
        let m = Model::parse(n).ok_or_else(|| {
            let known: Vec<&str> = Model::ALL.iter().map(|m| m.cli_name()).collect();
            UsageError(format!(
                "--models: unknown model '{n}' (available: {})",
                known.join(", ")
            ))
        })?;
        if !models.contains(&m) {
            models.push(m);
        }
    }
    Ok(models)
}

/// Forecast (or, with `cv = Some((windows, step))`, cross-validate) and write the table.
fn forecast(mut a: RunArgs, cv: Option<(u32, u32)>, g: &GlobalArgs) -> anyhow::Result<()> {
    a.data_args.ids.push(a.cols.id_col.clone());
    let (Some(data), Some(horizon), Some(out)) = (&a.data, a.horizon, &a.out) else {
        return Err(UsageError("--data, --horizon and --out are required".into()).into());
    };
    let models = parse_models(&a.models)?;
    let t0 = Instant::now();
    let table = read(data, &a.data_args, Some(g))?;
    let read_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let cols = a.cols.columns();
    // Every column beside the id, time and value is an exogenous regressor (as in
    // StatsForecast); only the models that use them read them.
    let exog: Vec<String> = table
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .filter(|n| *n != cols.id && *n != cols.time && *n != cols.target)
        .collect();
    let uses_exog: Vec<&str> = models
        .iter()
        .filter(|m| m.uses_exog())
        .map(|m| m.cli_name())
        .collect();
    let regress = !exog.is_empty() && !uses_exog.is_empty();
    if let Some(f) = &a.future {
        if exog.is_empty() {
            return Err(UsageError(format!(
                "--future {}: the training data has no columns beside {}, {} and {}, so there \
                 are no regressors to give future values of",
                f.display(),
                cols.id,
                cols.time,
                cols.target
            ))
            .into());
        }
        if cv.is_some() {
            return Err(UsageError(
                "--future is for forecasting; cross-validation takes the regressors' values \
                 from the training data"
                    .into(),
            )
            .into());
        }
    }
    let mut store = if regress {
        SeriesStore::from_table_with_exog(&table, &cols, &exog)?
    } else {
        SeriesStore::from_table(&table, &cols)?
    };
    drop(table);
    if regress && cv.is_none() && a.future.is_none() {
        return Err(UsageError(format!(
            "{} use the columns beside the value as exogenous regressors ({}) and need their \
             future values: --future FILE ({}, {}, {}; {horizon} rows per series)",
            uses_exog.join(" and "),
            exog.join(", "),
            cols.id,
            cols.time,
            exog.join(", ")
        ))
        .into());
    }
    let freq = a
        .freq
        .as_deref()
        .map(|f| Freq::parse(f, store.time_kind))
        .transpose()?;
    if let (true, Some(f)) = (regress, &a.future) {
        let future = read(f, &a.data_args, Some(g))?;
        store.attach_future(&future, &cols, horizon as usize, freq)?;
    }
    if !g.quiet && !exog.is_empty() && !regress {
        eprintln!(
            "note: the columns {} beside the value are exogenous regressors; only auto_arima \
             and ensemble use them{}",
            exog.join(", "),
            if a.future.is_some() {
                ", so --future is not read"
            } else {
                ""
            }
        );
    }
    let params = ForecastParams {
        horizon: horizon as usize,
        models: models.clone(),
        settings: Settings {
            season: a.season.first().copied().unwrap_or(1) as usize,
            seasons: a.season.iter().map(|&v| v as usize).collect(),
            levels: a.level.clone(),
            window: a.window_size,
            alpha: a.alpha,
            alpha_d: a.alpha_d,
            alpha_p: a.alpha_p,
            conformal_windows: a.conformal_windows,
            ets: ets_spec(&a.ets_model, &a.damped)?,
            arima: match a.arima_likelihood.as_str() {
                "fresh" => Likelihood::Fresh,
                "statsforecast" => Likelihood::AsStatsForecast,
                other => {
                    return Err(UsageError(format!(
                        "--arima-likelihood: '{other}' is neither fresh nor statsforecast"
                    ))
                    .into());
                }
            },
            arima_steps: match a.arima_search.as_str() {
                "cross" => Steps::Cross,
                "stepwise" => Steps::Stepwise,
                other => {
                    return Err(UsageError(format!(
                        "--arima-search: '{other}' is neither cross nor stepwise"
                    ))
                    .into());
                }
            },
        },
        freq,
    };
    // The output is written part by part as the series are forecast (memory stays flat
    // in the number of series) and appears at `out` only when complete.
    let mut writer = lithe_core::io::TableWriter::create(out)?;
    let sink = |t: lithe_core::Table| writer.write(&t);
    let report = match cv {
        None => lithe_forecast::forecast_to(&store, &params, &cols.id, &cols.time, sink)?,
        Some((windows, step)) => lithe_forecast::cross_validation_to(
            &store,
            &params,
            windows as usize,
            step as usize,
            &cols.id,
            &cols.time,
            sink,
        )?,
    };
    writer.finish()?;
    let forecast_s = t1.elapsed().as_secs_f64();
    if !g.quiet {
        for ((model, why, used), n) in &report.fallbacks {
            eprintln!("warning: {model}: {n} series {why}; forecast by {used} instead");
        }
        if report.filled > 0 {
            eprintln!(
                "warning: {} series had missing values (leading ones dropped, later ones \
                 filled with the last observed value)",
                report.filled
            );
        }
        if report.skipped_windows > 0 {
            eprintln!(
                "warning: {} cross-validation windows left out (their series are too short)",
                report.skipped_windows
            );
        }
        if report.gappy > 0 {
            eprintln!(
                "warning: {} series skip time steps; their values were used in order",
                report.gappy
            );
        }
        let no_iv: Vec<&str> = models
            .iter()
            .filter(|m| !m.gives_intervals(&params.settings))
            .map(|m| m.column())
            .collect();
        if !a.level.is_empty() && !no_iv.is_empty() {
            eprintln!(
                "note: {} define no prediction intervals of their own; --level adds none for \
                 them (--conformal-windows N gives conformal ones)",
                no_iv.join(", ")
            );
        }
    }
    let fallbacks: Vec<Value> = report
        .fallbacks
        .iter()
        .map(|((model, why, used), n)| {
            json!({"model": model, "reason": why, "used": used, "series": n})
        })
        .collect();
    let summary = json!({
        "series": report.series,
        "horizon": horizon,
        "models": models.iter().map(|m| m.column()).collect::<Vec<_>>(),
        "out": out,
        "read_seconds": read_s,
        "forecast_seconds": forecast_s,
        "fell_back": report.fell_back(),
        "fallbacks": fallbacks,
        "filled": report.filled,
        "gappy": report.gappy,
        "empty": report.empty,
        "skipped_windows": report.skipped_windows,
    });
    emit(&format!("{}\n", serde_json::to_string_pretty(&summary)?))
}

fn eval(mut a: EvalArgs) -> anyhow::Result<()> {
    a.data_args.ids.push(a.cols.id_col.clone());
    let cols = a.cols.columns();
    let forecast = read(&a.forecast, &a.data_args, None)?;
    let actual = read(&a.actual, &a.data_args, None)?;
    let train = read(&a.train, &a.data_args, None)?;
    let e = evaluate(&forecast, &actual, &train, &cols, a.season as usize)?;
    let num = |v: f64| if v.is_finite() { json!(v) } else { Value::Null };
    let mut models = Map::new();
    for s in &e.models {
        models.insert(
            s.model.clone(),
            json!({"smape": num(s.smape), "mase": num(s.mase), "owa": num(s.owa)}),
        );
    }
    let out = json!({
        "series": e.series,
        "models": models,
        "naive2": {"smape": num(e.naive2_smape), "mase": num(e.naive2_mase)},
        "mase_skipped": e.mase_skipped,
    });
    emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))
}

/// AutoETS's model string and damping from the command line.
fn ets_spec(model: &str, damped: &str) -> lithe_core::Result<lithe_forecast::models::ets::Spec> {
    let mut spec =
        lithe_forecast::models::ets::Spec::parse(model).map_err(lithe_core::Error::input)?;
    spec.damped = match damped {
        "auto" => None,
        "true" => Some(true),
        "false" => Some(false),
        other => {
            return Err(lithe_core::Error::input(format!(
                "--damped must be auto, true or false, not '{other}'"
            )));
        }
    };
    if spec.damped == Some(true) && spec.trend == Some(lithe_forecast::models::ets::Comp::N) {
        return Err(lithe_core::Error::input(
            "--damped true needs a trend (the ETS model has trend N)",
        ));
    }
    Ok(spec)
}
