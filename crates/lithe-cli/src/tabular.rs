//! `lithe tabular train|predict|eval|inspect`

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use lithe_core::describe::Task;
use lithe_core::{Column, Table};
use lithe_trees::{GbdtModel, GbdtParams, Objective};
use serde_json::{Value, json};

use crate::{DataArgs, GlobalArgs, UsageError, emit};

#[derive(Subcommand, Debug)]
pub enum TabularCommand {
    /// Train a gradient-boosting model on a table
    Train(TrainArgs),
    /// Predict every row of a table; one output row per input row, in input order
    Predict(PredictArgs),
    /// Score a model on a labelled table (JSON metrics on stdout)
    Eval(EvalArgs),
    /// Show a model: parameters, trees, feature importance
    Inspect(InspectArgs),
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum TaskArg {
    Binary,
    Multiclass,
    Regression,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Training data (CSV, gzip CSV or Parquet)
    #[arg(long)]
    data: PathBuf,
    /// The column to predict
    #[arg(long)]
    target: String,
    /// Where to write the model
    #[arg(long)]
    out: PathBuf,
    /// The task (default: inferred from the target column)
    #[arg(long, value_enum)]
    task: Option<TaskArg>,
    /// The loss (default: from the task)
    #[arg(long, value_parser = objective_parser())]
    objective: Option<Objective>,
    /// Boosting rounds
    #[arg(long, default_value_t = GbdtParams::default().rounds)]
    rounds: usize,
    #[arg(long, default_value_t = GbdtParams::default().learning_rate)]
    learning_rate: f64,
    /// Maximum leaves per tree
    #[arg(long, default_value_t = GbdtParams::default().num_leaves)]
    num_leaves: usize,
    /// Maximum tree depth (-1: no limit)
    #[arg(long, default_value_t = GbdtParams::default().max_depth, allow_hyphen_values = true)]
    max_depth: i32,
    #[arg(long, default_value_t = GbdtParams::default().min_data_in_leaf)]
    min_data_in_leaf: usize,
    #[arg(long, default_value_t = GbdtParams::default().min_sum_hessian)]
    min_sum_hessian: f64,
    #[arg(long, default_value_t = GbdtParams::default().lambda_l2)]
    lambda_l2: f64,
    #[arg(long, default_value_t = GbdtParams::default().min_gain)]
    min_gain: f64,
    /// Bins per feature (2..=255)
    #[arg(long, default_value_t = GbdtParams::default().max_bins)]
    max_bins: usize,
    /// Huber's threshold, or the quantile to predict with --objective quantile
    #[arg(long, default_value_t = GbdtParams::default().alpha)]
    alpha: f64,
    /// Share of features each tree may use
    #[arg(long, default_value_t = GbdtParams::default().feature_fraction)]
    feature_fraction: f64,
    /// Share of rows each round trains on
    #[arg(long, default_value_t = GbdtParams::default().bagging_fraction)]
    bagging_fraction: f64,
    /// Validation data, scored after every round
    #[arg(long)]
    valid: Option<PathBuf>,
    /// Stop when the validation score has not improved for N rounds (needs --valid)
    #[arg(long, value_name = "N")]
    early_stopping_rounds: Option<usize>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    data_args: DataArgs,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[arg(long)]
    model: PathBuf,
    #[arg(long)]
    data: PathBuf,
    /// Where to write predictions (CSV, gzip CSV or Parquet by extension)
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    data_args: DataArgs,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    #[arg(long)]
    model: PathBuf,
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    data_args: DataArgs,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    #[arg(long)]
    model: PathBuf,
    /// JSON on stdout
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: TabularCommand, g: &GlobalArgs) -> anyhow::Result<()> {
    match cmd {
        TabularCommand::Train(a) => train(a, g),
        TabularCommand::Predict(a) => predict(a),
        TabularCommand::Eval(a) => eval(a),
        TabularCommand::Inspect(a) => inspect(a),
    }
}

fn read(path: &std::path::Path, data: &DataArgs, g: Option<&GlobalArgs>) -> anyhow::Result<Table> {
    let mut opts = data.read_options();
    let bar = g.and_then(|g| crate::progress::file_bar(g, path));
    opts.progress = crate::progress::callback(&bar);
    let t = lithe_core::read_table(path, &opts);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(t?)
}

/// `--objective` takes the names `Objective` knows (and `--help` lists them).
fn objective_parser() -> impl clap::builder::TypedValueParser<Value = Objective> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Objective::ALL.map(Objective::name))
        .try_map(|s| s.parse::<Objective>())
}

fn objective_of(a: &TrainArgs) -> anyhow::Result<Option<Objective>> {
    let from_task = a.task.map(|t| match t {
        TaskArg::Binary => Objective::Binary,
        TaskArg::Multiclass => Objective::Multiclass,
        TaskArg::Regression => Objective::L2,
    });
    let from_obj = a.objective;
    match (from_task, from_obj) {
        (Some(t), Some(o)) if t.task() != o.task() => Err(UsageError(format!(
            "--objective {} does not fit --task {}",
            o.name(),
            t.task().name()
        ))
        .into()),
        (_, Some(o)) => Ok(Some(o)),
        (t, None) => Ok(t),
    }
}

fn train(a: TrainArgs, g: &GlobalArgs) -> anyhow::Result<()> {
    let params = GbdtParams {
        objective: objective_of(&a)?,
        rounds: a.rounds,
        learning_rate: a.learning_rate,
        num_leaves: a.num_leaves,
        max_depth: a.max_depth,
        min_data_in_leaf: a.min_data_in_leaf,
        min_sum_hessian: a.min_sum_hessian,
        lambda_l2: a.lambda_l2,
        min_gain: a.min_gain,
        max_bins: a.max_bins,
        feature_fraction: a.feature_fraction,
        bagging_fraction: a.bagging_fraction,
        early_stopping_rounds: a.early_stopping_rounds.unwrap_or(0),
        alpha: a.alpha,
        seed: a.seed,
        ..GbdtParams::default()
    };
    params.validate()?;
    if a.early_stopping_rounds.is_some() && a.valid.is_none() {
        return Err(UsageError("--early-stopping-rounds needs --valid FILE".into()).into());
    }
    if a.early_stopping_rounds == Some(0) {
        return Err(UsageError("--early-stopping-rounds must be at least 1".into()).into());
    }
    let t0 = Instant::now();
    let table = read(&a.data, &a.data_args, Some(g))?;
    let valid = match &a.valid {
        Some(v) => Some(read(v, &a.data_args, Some(g))?),
        None => None,
    };
    let read_s = t0.elapsed().as_secs_f64();
    let bar = crate::progress::count_bar(g, params.rounds as u64, "training");
    let progress = |r: usize| {
        if let Some(b) = &bar {
            b.set_position(r as u64);
        }
    };
    let t1 = Instant::now();
    let fitted = GbdtModel::fit_valid(&params, &table, &a.target, valid.as_ref(), &progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let (model, report) = fitted?;
    let fit_s = t1.elapsed().as_secs_f64();
    let valid_json = report.valid_metric.as_ref().map(|name| {
        let best = report.best_round.map(|b| report.valid_history[b]);
        json!({"metric": name, "best_round": report.best_round.map(|b| b + 1), "best": best,
               "last": report.valid_history.last()})
    });
    let metrics = json!({"read_seconds": read_s, "fit_seconds": fit_s, "rows": table.n_rows(),
                         "rounds": report.rounds, "valid": valid_json});
    lithe_trees::save(&a.out, &model, metrics.clone(), Some(table.fingerprint()))?;
    let out = json!({
        "model": a.out.display().to_string(),
        "task": model.task().name(),
        "rows": table.n_rows(),
        "features": model.features.len(),
        "trees": model.trees.len(),
        "rounds": report.rounds,
        "valid": valid_json,
        "read_seconds": read_s,
        "fit_seconds": fit_s,
    });
    emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))
}

/// The metrics of a model on a labelled table (the set per task).
fn metrics(model: &GbdtModel, table: &Table) -> anyhow::Result<Value> {
    let target = table.require(&model.target)?;
    let pred = model.predict(table)?;
    let truth = truth(model, target)?;
    let keep: Vec<usize> = (0..truth.len()).filter(|&i| !truth[i].is_nan()).collect();
    if keep.is_empty() {
        return Err(lithe_core::Error::input(format!(
            "target column '{}' has every value missing",
            model.target
        ))
        .into());
    }
    use lithe_core::metrics as m;
    Ok(match model.task() {
        Task::Binary => {
            let y: Vec<f64> = keep.iter().map(|&i| truth[i]).collect();
            let p: Vec<f64> = keep.iter().map(|&i| pred[i]).collect();
            json!({"auc": m::auc(&y, &p).ok(), "logloss": m::logloss(&y, &p)?, "accuracy": m::binary_accuracy(&y, &p)?})
        }
        Task::Multiclass => {
            let k = model.classes.len();
            let y: Vec<usize> = keep.iter().map(|&i| truth[i] as usize).collect();
            let p: Vec<f64> = keep
                .iter()
                .flat_map(|&i| pred[i * k..(i + 1) * k].iter().copied())
                .collect();
            let argmax: Vec<usize> = p
                .chunks(k)
                .map(|r| {
                    r.iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map_or(0, |x| x.0)
                })
                .collect();
            json!({"accuracy": m::accuracy(&y, &argmax)?, "logloss": m::multiclass_logloss(&y, &p, k)?})
        }
        Task::Regression => {
            let y: Vec<f64> = keep.iter().map(|&i| truth[i]).collect();
            let p: Vec<f64> = keep.iter().map(|&i| pred[i]).collect();
            json!({"rmse": m::rmse(&y, &p)?, "mae": m::mae(&y, &p)?, "r2": m::r2(&y, &p)?})
        }
    })
}

/// The target as class indices (classification) or values (regression); `NaN` where
/// missing or (for classes) unknown to the model.
fn truth(model: &GbdtModel, col: &Column) -> anyhow::Result<Vec<f64>> {
    if model.task() == Task::Regression {
        if !col.column_type().is_numeric() {
            return Err(lithe_core::Error::input(format!(
                "target column '{}' must be numeric for regression",
                col.name()
            ))
            .into());
        }
        return Ok(col.to_f64());
    }
    Ok(model.class_indices(col))
}

fn predict(a: PredictArgs) -> anyhow::Result<()> {
    let model = lithe_trees::load(&a.model)?;
    let t0 = Instant::now();
    let table = read(&a.data, &a.data_args, None)?;
    let read_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let pred = model.predict(&table)?;
    let predict_s = t1.elapsed().as_secs_f64();
    let n = table.n_rows();
    let columns = match model.task() {
        Task::Binary | Task::Regression => vec![Column::from_f64("prediction", pred)],
        Task::Multiclass => {
            let k = model.classes.len();
            let labels: Vec<Option<&str>> = pred
                .chunks(k)
                .map(|r| {
                    r.iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map(|x| model.classes[x.0].as_str())
                })
                .collect();
            let mut cols = vec![Column::from_strings("prediction", &labels)?];
            for (c, label) in model.classes.iter().enumerate() {
                cols.push(Column::from_f64(
                    format!("p_{label}"),
                    (0..n).map(|i| pred[i * k + c]).collect(),
                ));
            }
            cols
        }
    };
    let t2 = Instant::now();
    lithe_core::write_table(&a.out, &Table::new(columns)?)?;
    let out = json!({
        "rows": n,
        "out": a.out.display().to_string(),
        "read_seconds": read_s,
        "predict_seconds": predict_s,
        "write_seconds": t2.elapsed().as_secs_f64(),
    });
    emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))
}

fn eval(a: EvalArgs) -> anyhow::Result<()> {
    let model = lithe_trees::load(&a.model)?;
    let table = read(&a.data, &a.data_args, None)?;
    let m = metrics(&model, &table)?;
    emit(&format!("{}\n", serde_json::to_string_pretty(&m)?))
}

fn inspect(a: InspectArgs) -> anyhow::Result<()> {
    let model = lithe_trees::load(&a.model)?;
    let file = lithe_core::model_file::read(&a.model)?;
    let mut imp = model.importance();
    imp.sort_by(|x, y| y.1.total_cmp(&x.1));
    if a.json {
        let v = json!({
            "header": file.header,
            "importance": imp.iter().map(|(f, g, s)| json!({"feature": f, "gain": g, "splits": s})).collect::<Vec<_>>(),
        });
        return emit(&format!("{}\n", serde_json::to_string_pretty(&v)?));
    }
    let mut out = format!(
        "{}: gradient boosting, {} ({}), target '{}'\n  {} trees, {} leaves, {} features\n  params: {}\n\n  feature importance (gain, splits):\n",
        a.model.display(),
        model.task().name(),
        model.objective.name(),
        model.target,
        model.trees.len(),
        model.trees.iter().map(|t| t.n_leaves()).sum::<usize>(),
        model.features.len(),
        serde_json::to_string(&model.params)?,
    );
    for (f, g, s) in &imp {
        out.push_str(&format!(
            "    {f:<32} {:>14} {s:>7}\n",
            crate::describe::fmt_num(*g)
        ));
    }
    emit(&out)
}
