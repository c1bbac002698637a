//! `lithe recommend train|query|eval`: two-tower retrieval.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use lithe_core::params::{ParamValue, Spec};
use lithe_core::{Column, Error, Table};
use lithe_recsys::data::{USER_COL, read_options};
use lithe_recsys::{Stage, TrainParams, TwoTowerModel};
use serde_json::json;

use crate::{GlobalArgs, UsageError, emit, spec_flags};

#[derive(Subcommand, Debug)]
pub enum RecommendCommand {
    /// Train a two-tower model on interactions (user_id, item_id[, weight, timestamp])
    Train(Box<TrainArgs>),
    /// Recommend items for one user or a file of users
    Query(QueryArgs),
    /// Recall@k, NDCG@k and catalogue coverage on held-out interactions (JSON)
    Eval(EvalArgs),
    /// Embed new items from their features and add them to the model's index
    AddItems(AddItemsArgs),
}

#[derive(Args, Debug)]
pub struct AddItemsArgs {
    /// The model file (rewritten in place, atomically)
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
    /// New items: item_id plus the item feature columns the model was trained with
    #[arg(long, value_name = "FILE")]
    items: PathBuf,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Interactions: columns user_id and item_id, optional weight (positive) and timestamp
    #[arg(long, value_name = "FILE")]
    interactions: PathBuf,
    /// Where to write the model
    #[arg(long, value_name = "MODEL")]
    out: PathBuf,
    /// User side features: user_id plus feature columns (numbers, categories, text)
    #[arg(long, value_name = "FILE")]
    user_features: Option<PathBuf>,
    /// Item side features: item_id plus feature columns (numbers, categories, text)
    #[arg(long, value_name = "FILE")]
    item_features: Option<PathBuf>,
    /// Validation interactions (same columns) for tuning and early stopping, instead of
    /// a slice cut from --interactions; the final model is fitted on both files
    #[arg(long, value_name = "FILE", conflicts_with = "no_tune")]
    valid: Option<PathBuf>,
    /// No validation slice and no search: train the given (or default) settings for
    /// --epochs epochs on every interaction (as --trials 0)
    #[arg(long)]
    no_tune: bool,
    #[command(flatten)]
    params: spec_flags::Flags<TowerFlags>,
}

/// The model's parameter flags, made from its spec.
#[derive(Debug, Clone)]
pub struct TowerFlags;

impl spec_flags::FlagSet for TowerFlags {
    fn models() -> Vec<spec_flags::Model> {
        vec![spec_flags::Model::of::<TrainParams>("two_tower")]
    }
}

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// The model file
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
    /// One user id
    #[arg(long, value_name = "ID", conflicts_with = "users")]
    user: Option<String>,
    /// A file with a user_id column (and, for users new to the model, the user
    /// feature columns it was trained with)
    #[arg(long, value_name = "FILE")]
    users: Option<PathBuf>,
    /// Items per user
    #[arg(long, default_value_t = 10)]
    k: usize,
    /// Leave out the items each user interacted with in training
    #[arg(long)]
    exclude_seen: bool,
    /// Exact search over every item instead of the index (slower; for small
    /// catalogues, or to check the index)
    #[arg(long)]
    exact: bool,
    /// Write the recommendations here (CSV, gzip CSV or Parquet) instead of stdout
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The model file
    #[arg(long, value_name = "MODEL")]
    model: PathBuf,
    /// Held-out interactions: user_id, item_id
    #[arg(long, value_name = "FILE")]
    test: PathBuf,
    /// List length
    #[arg(long, default_value_t = 10)]
    k: usize,
}

impl RecommendCommand {
    pub fn paths(&self) -> crate::Paths<'_> {
        let (inputs, outputs) = match self {
            RecommendCommand::Train(a) => {
                let mut i = vec![a.interactions.as_path()];
                i.extend(a.user_features.as_deref());
                i.extend(a.item_features.as_deref());
                i.extend(a.valid.as_deref());
                (i, vec![a.out.as_path()])
            }
            RecommendCommand::Query(a) => {
                let mut i = vec![a.model.as_path()];
                i.extend(a.users.as_deref());
                (i, a.out.as_deref().into_iter().collect())
            }
            RecommendCommand::Eval(_) => (vec![], vec![]),
            // The model is rewritten in place by design; the items file must not be it.
            RecommendCommand::AddItems(a) => {
                (vec![a.model.as_path(), &*a.items], vec![a.model.as_path()])
            }
        };
        crate::Paths { inputs, outputs }
    }
}

pub fn run(cmd: RecommendCommand, g: &GlobalArgs) -> anyhow::Result<()> {
    match cmd {
        RecommendCommand::Train(a) => train(*a, g),
        RecommendCommand::Query(a) => query(a, g),
        RecommendCommand::Eval(a) => eval(a),
        RecommendCommand::AddItems(a) => add_items(a, g),
    }
}

/// Read a file of interactions, users or items, the id columns as text.
fn read(path: &std::path::Path) -> anyhow::Result<Table> {
    Ok(lithe_core::read_table(path, &read_options())?)
}

fn train(a: TrainArgs, g: &GlobalArgs) -> anyhow::Result<()> {
    let mut values = a.params.values();
    if a.no_tune {
        if values.iter().any(|(n, _)| *n == "trials") {
            return Err(UsageError("--no-tune and --trials do not go together".into()).into());
        }
        values.push(("trials", ParamValue::Int(0)));
    }
    let params = TrainParams::from_values(values)?;
    let t0 = Instant::now();
    let table = read(&a.interactions)?;
    let valid = a.valid.as_deref().map(read).transpose()?;
    let user_features = a.user_features.as_deref().map(read).transpose()?;
    let item_features = a.item_features.as_deref().map(read).transpose()?;
    let read_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let trials = params.trials;
    let model = crate::progress::with_message_bar(g, "training", |say| {
        lithe_recsys::api::fit(
            &params,
            &table,
            valid.as_ref(),
            user_features.as_ref(),
            item_features.as_ref(),
            |stage| match stage {
                Stage::Trial { trial, epoch } => {
                    say(&format!("tuning: trial {trial} of {trials}, epoch {epoch}"))
                }
                Stage::Final { epoch, epochs } => {
                    say(&format!("final fit: epoch {epoch} of {epochs}"))
                }
            },
        )
    })?;
    let interactions = table.n_rows() + valid.as_ref().map_or(0, Table::n_rows);
    for (n, what) in [
        (model.report.unused_user_features, "user feature rows"),
        (model.report.unused_item_features, "item feature rows"),
    ] {
        if n > 0 && !g.quiet {
            eprintln!("note: {n} {what} name ids without interactions; they were left out");
        }
    }
    for (n, of, what, flag) in [
        (
            model.report.users_without_features,
            model.users.len(),
            "users",
            "--user-features",
        ),
        (
            model.report.items_without_features,
            model.items.len(),
            "items",
            "--item-features",
        ),
    ] {
        if n > 0 && !g.quiet {
            eprintln!(
                "warning: {n} of {of} {what} have no row in {flag}; they train without features"
            );
        }
    }
    let fit_s = t1.elapsed().as_secs_f64();
    model.save(&a.out)?;
    let p = &model.params;
    let mut out = json!({
        "model": a.out.display().to_string(),
        "interactions": interactions,
        "users": model.users.len(),
        "items": model.items.len(),
        "dim": p.dim,
        "epochs": p.epochs,
        "learning_rate": p.learning_rate,
        "temperature": p.temperature,
        "l2": p.l2,
        "recent": model.weights.window(),
        "final_loss": model.report.epoch_loss.last(),
        "read_seconds": read_s,
        "fit_seconds": fit_s,
    });
    if let Some(c) = &model.report.index {
        out["index"] = json!({
            "recall@10": c.recall(),
            "target": c.target,
            "search_width": model.index_params.expansion_search,
            "queries": c.queries,
        });
        if !c.reached && !g.quiet {
            eprintln!(
                "warning: the item index reached recall@10 {:.3} against exact search at its widest \
                 search ({}), below the target {}; query --exact answers exactly",
                c.recall(),
                model.index_params.expansion_search,
                c.target
            );
        }
    }
    if let Some(t) = &model.report.tuning {
        let best = t.trials[t.chosen].best();
        out["tuning"] = json!({
            "validation": t.rule,
            "valid_users": t.valid_users,
            "trials": t.trials.len(),
            "chosen": t.chosen + 1,
            "valid_recall@10": best.recall,
            "valid_ndcg@10": best.ndcg,
            "seconds": t.seconds,
        });
    }
    emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))
}

fn load(path: &std::path::Path) -> anyhow::Result<TwoTowerModel> {
    Ok(TwoTowerModel::load(path)?)
}

fn query(a: QueryArgs, g: &GlobalArgs) -> anyhow::Result<()> {
    if a.k == 0 {
        return Err(UsageError("--k must be at least 1".into()).into());
    }
    if a.user.is_none() && a.users.is_none() {
        return Err(UsageError("give --user ID or --users FILE".into()).into());
    }
    let mut model = load(&a.model)?;
    model.exact = a.exact;
    let users = match (&a.user, &a.users) {
        (Some(u), None) => Table::new(vec![Column::from_strings(USER_COL, &[Some(u.as_str())])?])?,
        (None, Some(path)) => read(path)?,
        _ => return Err(UsageError("give --user ID or --users FILE".into()).into()),
    };
    let (table, answered) = lithe_recsys::api::recommend(&model, &users, a.k, a.exclude_seen)
        .map_err(|e| match &a.users {
            Some(path) => e.context(path.display()),
            None => e,
        })?;
    if answered.popular > 0 && !g.quiet {
        eprintln!(
            "note: {} of {} users are not in the model and have no features; they get \
             the most popular items",
            answered.popular,
            users.n_rows()
        );
    }
    match &a.out {
        Some(path) => lithe_core::write_table(path, &table)?,
        None => emit(&lithe_core::io::csv_string(&table))?,
    }
    Ok(())
}

fn eval(a: EvalArgs) -> anyhow::Result<()> {
    if a.k == 0 {
        return Err(UsageError("--k must be at least 1".into()).into());
    }
    let model = load(&a.model)?;
    let t = read(&a.test)?;
    let r = lithe_recsys::api::evaluate_table(&model, &t, a.k)
        .map_err(|e| e.context(a.test.display()))?;
    let k = a.k;
    let out = json!({
        format!("recall@{k}"): r.recall,
        format!("ndcg@{k}"): r.ndcg,
        "coverage": r.coverage,
        "users": r.users,
        "unknown_users": r.unknown_users,
    });
    emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))
}

fn add_items(a: AddItemsArgs, g: &GlobalArgs) -> anyhow::Result<()> {
    let mut model = load(&a.model)?;
    let t = read(&a.items)?;
    let name = a.items.display().to_string();
    if t.n_rows() == 0 {
        return Err(Error::input(format!("{name}: no items")).into());
    }
    let n = model.add_items(&t, &name)?;
    model.save(&a.model)?;
    if !g.quiet {
        eprintln!("added {n} items; the model now holds {}", model.items.len());
    }
    let out =
        json!({"model": a.model.display().to_string(), "added": n, "items": model.items.len()});
    emit(&format!("{}\n", serde_json::to_string_pretty(&out)?))
}
