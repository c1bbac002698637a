//! `lithe forecast [run]|cv|eval`

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use lithe_core::params::Spec;
use lithe_forecast::eval::evaluate;
use lithe_forecast::params::model_named;
use lithe_forecast::{CrossValidation, ModelParams, ModelSpec, Request, SeriesColumns};
use serde_json::{Map, Value, json};

use crate::tabular::read;
use crate::{DataArgs, GlobalArgs, UsageError, emit, spec_flags};

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
    #[command(flatten)]
    params: spec_flags::Flags<ModelFlags>,
    #[command(flatten)]
    cols: ColumnArgs,
    #[command(flatten)]
    data_args: DataArgs,
}

/// The models' parameter flags, made from their spec.
#[derive(Debug, Clone)]
struct ModelFlags;

impl spec_flags::FlagSet for ModelFlags {
    fn models() -> Vec<spec_flags::Model> {
        vec![spec_flags::Model::of::<ModelParams>("forecast")]
    }
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

/// Forecast (or, with `cv = Some((windows, step))`, cross-validate) and write the table.
fn forecast(mut a: RunArgs, cv: Option<(u32, u32)>, g: &GlobalArgs) -> anyhow::Result<()> {
    a.data_args.ids.push(a.cols.id_col.clone());
    let (Some(data), Some(horizon), Some(out)) = (&a.data, a.horizon, &a.out) else {
        return Err(UsageError("--data, --horizon and --out are required".into()).into());
    };
    let params = ModelParams::from_values(a.params.values())?;
    let seasons: Vec<usize> = a.season.iter().map(|&v| v as usize).collect();
    let settings = params.settings(&seasons, &a.level)?;
    let mut models: Vec<ModelSpec> = Vec::new();
    for n in &a.models {
        let m = model_named(n)?;
        if !models.iter().any(|s| s.model == m) {
            models.push(ModelSpec::new(m, settings.clone()));
        }
    }
    let req = Request {
        columns: a.cols.columns(),
        horizon: horizon as usize,
        models,
        freq: a.freq.clone(),
        cv: cv.map(|(windows, step)| CrossValidation {
            windows: windows as usize,
            step: step as usize,
        }),
    };
    let t0 = Instant::now();
    let table = read(data, &a.data_args, Some(g))?;
    let future = a
        .future
        .as_ref()
        .map(|f| read(f, &a.data_args, Some(g)))
        .transpose()?;
    let read_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    // The output is written part by part as the series are forecast (memory stays flat
    // in the number of series) and appears at `out` only when complete.
    let mut writer = lithe_core::io::TableWriter::create(out)?;
    let outcome = lithe_forecast::api::run_to(&table, future.as_ref(), &req, |t| writer.write(&t))?;
    writer.finish()?;
    let forecast_s = t1.elapsed().as_secs_f64();
    let report = &outcome.report;
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
        for note in &outcome.notes {
            eprintln!("note: {note}");
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
        "models": req.models.iter().map(ModelSpec::column).collect::<Vec<_>>(),
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
