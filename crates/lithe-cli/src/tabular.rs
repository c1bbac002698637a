//! `lithe tabular train|predict|eval|inspect`

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use lithe_core::describe::Task;
use lithe_core::{Column, Table};
use lithe_trees::{
    ForestModel, ForestParams, GbdtModel, GbdtParams, MaxFeatures, Objective, TabularModel,
};
use serde_json::{Value, json};

use crate::{DataArgs, GlobalArgs, UsageError, emit};

#[derive(Subcommand, Debug)]
pub enum TabularCommand {
    /// Train a gradient-boosting model (or, with --model rf, a random forest) on a table
    Train(Box<TrainArgs>),
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

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq)]
pub enum ModelArg {
    /// Gradient boosting (LightGBM's algorithm and parameter names)
    Gbdt,
    /// Random forest (scikit-learn's defaults)
    Rf,
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
    /// The learner
    #[arg(long, value_enum, default_value_t = ModelArg::Gbdt)]
    model: ModelArg,
    /// gbdt: the loss (default: from the task)
    #[arg(long, value_parser = objective_parser())]
    objective: Option<Objective>,
    /// gbdt: boosting rounds [default: 100]
    #[arg(long)]
    rounds: Option<usize>,
    /// gbdt: shrinkage of each tree [default: 0.1]
    #[arg(long)]
    learning_rate: Option<f64>,
    /// gbdt: maximum leaves per tree [default: 31]
    #[arg(long)]
    num_leaves: Option<usize>,
    /// Maximum tree depth (-1: no limit)
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    max_depth: i32,
    /// Minimum rows in a leaf [default: 20 for gbdt, 1 for rf]
    #[arg(long)]
    min_data_in_leaf: Option<usize>,
    /// gbdt: minimum sum of hessians in a leaf [default: 0.001]
    #[arg(long)]
    min_sum_hessian: Option<f64>,
    /// gbdt: L2 regularisation of leaf values [default: 0]
    #[arg(long)]
    lambda_l2: Option<f64>,
    /// gbdt: minimum gain to split [default: 0]
    #[arg(long)]
    min_gain: Option<f64>,
    /// Bins per numeric feature (2..=255)
    #[arg(long, default_value_t = GbdtParams::default().max_bins)]
    max_bins: usize,
    /// gbdt: Huber's threshold, or the quantile to predict with --objective quantile [default: 0.9]
    #[arg(long)]
    alpha: Option<f64>,
    /// gbdt: share of features each tree may use [default: 1]
    #[arg(long)]
    feature_fraction: Option<f64>,
    /// gbdt: share of rows each round trains on [default: 1]
    #[arg(long)]
    bagging_fraction: Option<f64>,
    /// gbdt: validation data, scored after every round
    #[arg(long)]
    valid: Option<PathBuf>,
    /// gbdt: stop when the validation score has not improved for N rounds (needs --valid)
    #[arg(long, value_name = "N")]
    early_stopping_rounds: Option<usize>,
    /// rf: trees in the forest [default: 100]
    #[arg(long)]
    trees: Option<usize>,
    /// rf: features tried at each split: sqrt, log2, all or a share in (0, 1]
    /// [default: sqrt for classification, all for regression]
    #[arg(long, value_parser = max_features_parser)]
    max_features: Option<MaxFeatures>,
    /// rf: train each tree on a bootstrap sample of the rows [default: true]
    #[arg(long, action = clap::ArgAction::Set, value_name = "true|false")]
    bootstrap: Option<bool>,
    /// rf: compute the out-of-bag score (with --bootstrap true) [default: true]
    #[arg(long, action = clap::ArgAction::Set, value_name = "true|false")]
    oob_score: Option<bool>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    data_args: DataArgs,
}

fn max_features_parser(s: &str) -> Result<MaxFeatures, String> {
    s.parse()
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

impl TabularCommand {
    pub fn paths(&self) -> crate::Paths<'_> {
        let (inputs, outputs) = match self {
            TabularCommand::Train(a) => {
                let mut i = vec![a.data.as_path()];
                i.extend(a.valid.as_deref());
                (i, vec![a.out.as_path()])
            }
            TabularCommand::Predict(a) => (vec![&*a.model, &*a.data], vec![a.out.as_path()]),
            TabularCommand::Eval(a) => (vec![&*a.model, &*a.data], vec![]),
            TabularCommand::Inspect(_) => (vec![], vec![]),
        };
        crate::Paths { inputs, outputs }
    }
}

pub fn run(cmd: TabularCommand, g: &GlobalArgs) -> anyhow::Result<()> {
    match cmd {
        TabularCommand::Train(a) => train(*a, g),
        TabularCommand::Predict(a) => predict(a),
        TabularCommand::Eval(a) => eval(a),
        TabularCommand::Inspect(a) => inspect(a),
    }
}

pub(crate) fn read(
    path: &std::path::Path,
    data: &DataArgs,
    g: Option<&GlobalArgs>,
) -> anyhow::Result<Table> {
    let mut opts = data.read_options();
    let bar = g.and_then(|g| crate::progress::file_bar(g, path));
    opts.progress = crate::progress::callback(&bar);
    let t = lithe_core::read_table(path, &opts);
    let ids = opts.ids;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let t = t?;
    if g.is_some_and(|g| !g.quiet) {
        for w in lithe_core::describe::stray_text(&t, &ids) {
            eprintln!("warning: {}: {w}", path.display());
        }
    }
    Ok(t)
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

/// Flags of the other learner, given explicitly, are a usage error (not ignored).
fn check_flags(a: &TrainArgs) -> anyhow::Result<()> {
    let gbdt_only = [
        ("--objective", a.objective.is_some()),
        ("--rounds", a.rounds.is_some()),
        ("--learning-rate", a.learning_rate.is_some()),
        ("--num-leaves", a.num_leaves.is_some()),
        ("--min-sum-hessian", a.min_sum_hessian.is_some()),
        ("--lambda-l2", a.lambda_l2.is_some()),
        ("--min-gain", a.min_gain.is_some()),
        ("--alpha", a.alpha.is_some()),
        ("--feature-fraction", a.feature_fraction.is_some()),
        ("--bagging-fraction", a.bagging_fraction.is_some()),
        ("--valid", a.valid.is_some()),
        ("--early-stopping-rounds", a.early_stopping_rounds.is_some()),
    ];
    let rf_only = [
        ("--trees", a.trees.is_some()),
        ("--max-features", a.max_features.is_some()),
        ("--bootstrap", a.bootstrap.is_some()),
        ("--oob-score", a.oob_score.is_some()),
    ];
    let (wrong, other) = match a.model {
        ModelArg::Gbdt => (&rf_only[..], "rf"),
        ModelArg::Rf => (&gbdt_only[..], "gbdt"),
    };
    if let Some((flag, _)) = wrong.iter().find(|(_, given)| *given) {
        return Err(UsageError(format!("{flag} applies to --model {other} only")).into());
    }
    Ok(())
}

fn train(a: TrainArgs, g: &GlobalArgs) -> anyhow::Result<()> {
    check_flags(&a)?;
    if a.model == ModelArg::Rf {
        return train_forest(a, g);
    }
    let d = GbdtParams::default();
    let params = GbdtParams {
        objective: objective_of(&a)?,
        rounds: a.rounds.unwrap_or(d.rounds),
        learning_rate: a.learning_rate.unwrap_or(d.learning_rate),
        num_leaves: a.num_leaves.unwrap_or(d.num_leaves),
        max_depth: a.max_depth,
        min_data_in_leaf: a.min_data_in_leaf.unwrap_or(d.min_data_in_leaf),
        min_sum_hessian: a.min_sum_hessian.unwrap_or(d.min_sum_hessian),
        lambda_l2: a.lambda_l2.unwrap_or(d.lambda_l2),
        min_gain: a.min_gain.unwrap_or(d.min_gain),
        max_bins: a.max_bins,
        feature_fraction: a.feature_fraction.unwrap_or(d.feature_fraction),
        bagging_fraction: a.bagging_fraction.unwrap_or(d.bagging_fraction),
        early_stopping_rounds: a.early_stopping_rounds.unwrap_or(0),
        alpha: a.alpha.unwrap_or(d.alpha),
        seed: a.seed,
        ..d
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
    let t1 = Instant::now();
    let (model, report) =
        crate::progress::with_count_bar(g, params.rounds as u64, "training", |progress| {
            GbdtModel::fit_valid(&params, &table, &a.target, valid.as_ref(), progress)
        })?;
    let fit_s = t1.elapsed().as_secs_f64();
    if report.no_split && !g.quiet {
        eprintln!(
            "note: training stopped after {} of {} rounds: no tree could split further \
             (every candidate split breaks min_data_in_leaf, min_sum_hessian or min_gain)",
            report.rounds, params.rounds
        );
    }
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
        "kind": "gbdt",
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

fn train_forest(a: TrainArgs, g: &GlobalArgs) -> anyhow::Result<()> {
    let d = ForestParams::default();
    let params = ForestParams {
        task: a.task.map(|t| match t {
            TaskArg::Binary => Task::Binary,
            TaskArg::Multiclass => Task::Multiclass,
            TaskArg::Regression => Task::Regression,
        }),
        trees: a.trees.unwrap_or(d.trees),
        max_depth: a.max_depth,
        min_data_in_leaf: a.min_data_in_leaf.unwrap_or(d.min_data_in_leaf),
        max_features: a.max_features,
        bootstrap: a.bootstrap.unwrap_or(d.bootstrap),
        oob_score: a.oob_score.unwrap_or(d.oob_score),
        max_bins: a.max_bins,
        seed: a.seed,
        ..d
    };
    params.validate()?;
    if params.oob_score && a.oob_score.is_some() && !params.bootstrap {
        return Err(UsageError("--oob-score true needs --bootstrap true".into()).into());
    }
    let t0 = Instant::now();
    let table = read(&a.data, &a.data_args, Some(g))?;
    let read_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let model = crate::progress::with_count_bar(g, params.trees as u64, "training", |progress| {
        ForestModel::fit_with_progress(&params, &table, &a.target, progress)
    })?;
    let fit_s = t1.elapsed().as_secs_f64();
    let metrics = json!({"read_seconds": read_s, "fit_seconds": fit_s, "rows": table.n_rows()});
    lithe_trees::save_forest(&a.out, &model, metrics, Some(table.fingerprint()))?;
    let out = json!({
        "model": a.out.display().to_string(),
        "kind": "rf",
        "task": model.task.name(),
        "rows": table.n_rows(),
        "features": model.features.len(),
        "trees": model.trees.len(),
        "leaves": model.trees.iter().map(|t| t.n_leaves()).sum::<usize>(),
        "oob": model.oob,
        "read_seconds": read_s,
        "fit_seconds": fit_s,
    });
    emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))
}

/// The metrics of a model on a labelled table (the set per task).
fn metrics(model: &TabularModel, table: &Table) -> anyhow::Result<Value> {
    let target = table.require(model.target())?;
    let pred = model.predict(table)?;
    let truth = truth(model, target)?;
    let keep: Vec<usize> = (0..truth.len()).filter(|&i| !truth[i].is_nan()).collect();
    if keep.is_empty() {
        return Err(lithe_core::Error::input(format!(
            "target column '{}' has every value missing",
            model.target()
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
            let k = model.classes().len();
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
fn truth(model: &TabularModel, col: &Column) -> anyhow::Result<Vec<f64>> {
    if model.task() == Task::Regression {
        return Ok(lithe_trees::gbdt::numeric_target(col)?);
    }
    Ok(model.class_indices(col)?)
}

fn predict(a: PredictArgs) -> anyhow::Result<()> {
    let model = lithe_trees::load_any(&a.model)?;
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
            let k = model.classes().len();
            let labels: Vec<Option<&str>> = pred
                .chunks(k)
                .map(|r| {
                    r.iter()
                        .enumerate()
                        .max_by(|a, b| a.1.total_cmp(b.1))
                        .map(|x| model.classes()[x.0].as_str())
                })
                .collect();
            let mut cols = vec![Column::from_strings("prediction", &labels)?];
            for (c, label) in model.classes().iter().enumerate() {
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
    let model = lithe_trees::load_any(&a.model)?;
    let table = read(&a.data, &a.data_args, None)?;
    let m = metrics(&model, &table)?;
    emit(&format!("{}\n", serde_json::to_string_pretty(&m)?))
}

fn inspect(a: InspectArgs) -> anyhow::Result<()> {
    let model = lithe_trees::load_any(&a.model)?;
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
    let (what, params, oob) = match &model {
        TabularModel::Gbdt(m) => (
            format!(
                "gradient boosting, {} ({})",
                m.task().name(),
                m.objective.name()
            ),
            serde_json::to_string(&m.params)?,
            String::new(),
        ),
        TabularModel::Forest(m) => (
            format!("random forest, {}", m.task.name()),
            serde_json::to_string(&m.params)?,
            m.oob
                .as_ref()
                .map(|o| {
                    format!(
                        "\n  out-of-bag {}: {:.4} ({} rows)",
                        o.metric, o.value, o.rows
                    )
                })
                .unwrap_or_default(),
        ),
    };
    let trees = model.trees();
    let mut out = format!(
        "{}: {what}, target '{}'\n  {} trees, {} leaves, {} features{oob}\n  params: {params}\n\n  feature importance (gain, splits):\n",
        a.model.display(),
        model.target(),
        trees.len(),
        trees.iter().map(|t| t.n_leaves()).sum::<usize>(),
        model.features().len(),
    );
    for (f, g, s) in &imp {
        out.push_str(&format!(
            "    {f:<32} {:>14} {s:>7}\n",
            crate::describe::fmt_num(*g)
        ));
    }
    emit(&out)
}
