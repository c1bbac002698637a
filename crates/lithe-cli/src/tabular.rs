//! `lithe tabular train|predict|eval|inspect|import`

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand, ValueEnum};
use lithe_core::Table;
use lithe_core::describe::Task;
use lithe_trees::forest::ForestParams;
use lithe_trees::import::{ImportOptions, Source};
use lithe_trees::{GbdtParams, TabularModel, TabularParams};
use serde_json::{Value, json};

use crate::{DataArgs, GlobalArgs, UsageError, emit, spec_flags};

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
    /// Turn a LightGBM text model or an XGBoost JSON/UBJSON model into a lithe model
    Import(ImportArgs),
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
    /// gbdt: validation data, scored after every round (early stopping's judge)
    #[arg(long)]
    valid: Option<PathBuf>,
    #[command(flatten)]
    params: spec_flags::Flags<TreeFlags>,
    #[command(flatten)]
    data_args: DataArgs,
}

/// The learners' parameter flags, made from their specs; `--task` is the command's own.
#[derive(Debug, Clone)]
pub struct TreeFlags;

impl spec_flags::FlagSet for TreeFlags {
    fn models() -> Vec<spec_flags::Model> {
        learners().into()
    }
    const OWN: &'static [&'static str] = &["task"];
}

fn learners() -> [spec_flags::Model; 2] {
    [
        spec_flags::Model::of::<GbdtParams>("gbdt"),
        spec_flags::Model::of::<ForestParams>("rf"),
    ]
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

#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum FromArg {
    /// A LightGBM text model (`save_model` / `model_to_string`)
    Lightgbm,
    /// An XGBoost model saved as JSON or UBJSON (`save_model("m.json" | "m.ubj")`)
    Xgboost,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The library that wrote the model
    #[arg(long = "from", value_enum)]
    from: FromArg,
    /// The model file
    model: PathBuf,
    /// Where to write the lithe model
    #[arg(long)]
    out: PathBuf,
    /// The name of the target column (what `eval` reads the labels from)
    #[arg(long, default_value = "target")]
    target: String,
    /// Classifiers: the class labels in the library's class order (binary: negative
    /// then positive); default 0,1,...
    #[arg(long, value_delimiter = ',')]
    classes: Option<Vec<String>>,
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
            TabularCommand::Import(a) => (vec![a.model.as_path()], vec![a.out.as_path()]),
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
        TabularCommand::Import(a) => import(a),
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

fn train(a: TrainArgs, g: &GlobalArgs) -> anyhow::Result<()> {
    let learners = learners();
    let label = match a.model {
        ModelArg::Gbdt => "gbdt",
        ModelArg::Rf => "rf",
    };
    let learner = learners.iter().find(|l| l.label == label).expect("listed");
    let values = spec_flags::values_for(learner, &learners, &a.params.0)?;
    let mut params = TabularParams::from_values(label, values)?;
    if let Some(t) = a.task {
        params = params.with_task(match t {
            TaskArg::Binary => Task::Binary,
            TaskArg::Multiclass => Task::Multiclass,
            TaskArg::Regression => Task::Regression,
        })?;
    }
    if a.valid.is_some() && a.model == ModelArg::Rf {
        return Err(UsageError("--valid applies to --model gbdt only".into()).into());
    }
    if let TabularParams::Gbdt(p) = &params
        && p.early_stopping_rounds > 0
        && a.valid.is_none()
    {
        return Err(UsageError("--early-stopping-rounds needs --valid FILE".into()).into());
    }
    let t0 = Instant::now();
    let table = read(&a.data, &a.data_args, Some(g))?;
    let valid = match &a.valid {
        Some(v) => Some(read(v, &a.data_args, Some(g))?),
        None => None,
    };
    let read_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let (model, summary) =
        crate::progress::with_count_bar(g, params.steps() as u64, "training", |progress| {
            lithe_trees::fit(&params, &table, &a.target, valid.as_ref(), progress)
        })?;
    let fit_s = t1.elapsed().as_secs_f64();
    let rows = table.n_rows();
    let (metrics, out) = match (&model, &summary.report) {
        (TabularModel::Gbdt(m), Some(report)) => {
            if report.no_split && !g.quiet {
                eprintln!(
                    "note: training stopped after {} of {} rounds: no tree could split further \
                     (every candidate split breaks min_data_in_leaf, min_sum_hessian or min_gain)",
                    report.rounds, m.params.rounds
                );
            }
            let valid_json = report.valid_metric.as_ref().map(|name| {
                let best = report.best_round.map(|b| report.valid_history[b]);
                json!({"metric": name, "best_round": report.best_round.map(|b| b + 1), "best": best,
                       "last": report.valid_history.last()})
            });
            let metrics = json!({"read_seconds": read_s, "fit_seconds": fit_s, "rows": rows,
                                 "rounds": report.rounds, "valid": valid_json});
            let out = json!({
                "model": a.out.display().to_string(),
                "kind": "gbdt",
                "task": model.task().name(),
                "rows": rows,
                "features": model.features().len(),
                "trees": model.n_trees(),
                "rounds": report.rounds,
                "valid": valid_json,
                "read_seconds": read_s,
                "fit_seconds": fit_s,
            });
            (metrics, out)
        }
        _ => {
            let oob = match &model {
                TabularModel::Forest(f) => serde_json::to_value(&f.oob)?,
                TabularModel::Gbdt(_) | TabularModel::Imported(_) => Value::Null,
            };
            let metrics = json!({"read_seconds": read_s, "fit_seconds": fit_s, "rows": rows});
            let out = json!({
                "model": a.out.display().to_string(),
                "kind": "rf",
                "task": model.task().name(),
                "rows": rows,
                "features": model.features().len(),
                "trees": model.n_trees(),
                "leaves": model.n_leaves(),
                "oob": oob,
                "read_seconds": read_s,
                "fit_seconds": fit_s,
            });
            (metrics, out)
        }
    };
    model.save(&a.out, metrics, Some(table.fingerprint()))?;
    emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))
}

fn predict(a: PredictArgs) -> anyhow::Result<()> {
    let model = lithe_trees::load_any(&a.model)?;
    let t0 = Instant::now();
    let table = read(&a.data, &a.data_args, None)?;
    let read_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let pred = model.predict_table(&table)?;
    let predict_s = t1.elapsed().as_secs_f64();
    let t2 = Instant::now();
    lithe_core::write_table(&a.out, &pred)?;
    let out = json!({
        "rows": table.n_rows(),
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
    let m = model.evaluate(&table)?;
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
        TabularModel::Imported(m) => (
            format!(
                "imported from {}, {} ({})",
                m.source.name(),
                m.task.name(),
                m.objective
            ),
            model.params_json()?.to_string(),
            String::new(),
        ),
    };
    let mut out = format!(
        "{}: {what}, target '{}'\n  {} trees, {} leaves, {} features{oob}\n  params: {params}\n\n  feature importance (gain, splits):\n",
        a.model.display(),
        model.target(),
        model.n_trees(),
        model.n_leaves(),
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

fn import(a: ImportArgs) -> anyhow::Result<()> {
    let source = match a.from {
        FromArg::Lightgbm => Source::LightGbm,
        FromArg::Xgboost => Source::XgBoost,
    };
    let opts = ImportOptions {
        target: a.target,
        classes: a.classes,
    };
    let t0 = Instant::now();
    let m = lithe_trees::import::import_file(source, &a.model, &opts)?;
    let import_s = t0.elapsed().as_secs_f64();
    let out = json!({
        "model": a.out.display().to_string(),
        "kind": "imported",
        "source": source.name(),
        "objective": m.objective,
        "task": m.task.name(),
        "target": m.target,
        "classes": m.classes,
        "features": m.features.len(),
        "trees": m.n_trees(),
        "leaves": m.n_leaves(),
        "import_seconds": import_s,
    });
    let model = TabularModel::Imported(m);
    model.save(
        &a.out,
        json!({"imported_from": a.model.display().to_string()}),
        None,
    )?;
    emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))
}
