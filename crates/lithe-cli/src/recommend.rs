//! `lithe recommend train|query|eval`: two-tower retrieval.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Subcommand};
use lithe_core::{Column, Error, Table};
use lithe_recsys::data::{ITEM_COL, USER_COL, id_strings, read_options};
use lithe_recsys::{
    Answer, Free, IndexParams, Interactions, Stage, TuneOptions, TwoTowerModel, TwoTowerParams,
    evaluate,
};
use serde_json::json;

use crate::{GlobalArgs, UsageError, emit};

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
    /// --epochs epochs on every interaction
    #[arg(long)]
    no_tune: bool,
    /// Settings to try on the validation slice (fits, the first being the given
    /// settings); flags given explicitly stay fixed
    #[arg(long, default_value_t = TuneOptions::default().trials, value_name = "N")]
    trials: usize,
    /// Embedding and output dimension of both towers [default: 64; tuned]
    #[arg(long)]
    dim: Option<usize>,
    /// Passes over the interactions [default: chosen on validation, up to 40; 12 with
    /// --no-tune]
    #[arg(long)]
    epochs: Option<usize>,
    /// Interactions per batch (one optimiser step)
    #[arg(long)]
    batch: Option<usize>,
    /// In-batch negatives of each interaction: the batch is scored in groups of N + 1,
    /// each row against its group's other items [default: 511]
    #[arg(long, value_name = "N")]
    negatives: Option<usize>,
    /// The history bag reads only each user's latest N items (0: all) [default: 0]
    #[arg(long, value_name = "N")]
    max_history: Option<usize>,
    /// Adam's step size [default: 0.005; tuned]
    #[arg(long)]
    learning_rate: Option<f64>,
    /// Softmax temperature over cosine scores [default: 0.15; tuned]
    #[arg(long)]
    temperature: Option<f64>,
    /// L2 penalty on the embedding rows each batch touches [default: 0.0001; tuned]
    #[arg(long)]
    l2: Option<f64>,
    /// Share of the sampling-bias (logQ) correction, 0 to 1
    #[arg(long)]
    logq: Option<f64>,
    /// Half-life (in interactions back from the latest, by timestamp) of history items
    /// in the user tower; 0 weighs them all the same
    #[arg(long)]
    half_life: Option<f64>,
    /// Latest items (before the one predicted, by timestamp) the user tower reads
    /// through a channel of its own; 0 switches it off [default: 10 with a timestamp
    /// column, else 0]
    #[arg(long, value_name = "N")]
    recent: Option<usize>,
    /// Links per node of the item index's HNSW graph
    #[arg(long, value_name = "N", default_value_t = IndexParams::default().connectivity)]
    index_degree: usize,
    /// Candidates kept while inserting an item into the index
    #[arg(long, value_name = "N", default_value_t = IndexParams::default().expansion_add)]
    index_build_width: usize,
    /// Candidates kept while searching the index (the start: raised until the
    /// self-check's recall reaches --index-target-recall)
    #[arg(long, value_name = "N", default_value_t = IndexParams::default().expansion_search)]
    index_search_width: usize,
    /// Recall@10 of the index against exact search, on a sample of users, that training
    /// widens the search to reach (0: no check)
    #[arg(long, value_name = "R", default_value_t = IndexParams::default().target_recall)]
    index_target_recall: f64,
    /// Random seed (initial weights, batch order, validation slice)
    #[arg(long, default_value_t = 42)]
    seed: u64,
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
    let d = TwoTowerParams::default();
    let params = TwoTowerParams {
        dim: a.dim.unwrap_or(d.dim),
        epochs: a.epochs.unwrap_or(d.epochs),
        batch: a.batch.unwrap_or(d.batch),
        negatives: a.negatives.unwrap_or(d.negatives),
        learning_rate: a.learning_rate.unwrap_or(d.learning_rate),
        temperature: a.temperature.unwrap_or(d.temperature),
        l2: a.l2.unwrap_or(d.l2),
        logq: a.logq.unwrap_or(d.logq),
        half_life: a.half_life.unwrap_or(d.half_life),
        recent: a.recent,
        max_history: a.max_history.unwrap_or(d.max_history),
        index: IndexParams {
            connectivity: a.index_degree,
            expansion_add: a.index_build_width,
            expansion_search: a.index_search_width,
            target_recall: a.index_target_recall,
        },
        seed: a.seed,
    };
    params.validate()?;
    let opts = TuneOptions {
        trials: if a.no_tune { 0 } else { a.trials },
        free: Free {
            learning_rate: a.learning_rate.is_none(),
            temperature: a.temperature.is_none(),
            l2: a.l2.is_none(),
            dim: a.dim.is_none(),
            epochs: a.epochs.is_none(),
        },
        ..TuneOptions::default()
    };
    if !a.no_tune && a.trials == 0 {
        return Err(UsageError("--trials must be at least 1 (or give --no-tune)".into()).into());
    }
    opts.validate()?;
    let t0 = Instant::now();
    let table = read(&a.interactions)?;
    let name = a.interactions.display().to_string();
    let valid = a.valid.as_deref().map(read).transpose()?;
    let valid_name = a.valid.as_ref().map(|p| p.display().to_string());
    let data = match (&valid, &valid_name) {
        (Some(v), Some(vn)) => Interactions::from_tables(&[(&table, &name), (v, vn)])?,
        _ => Interactions::from_table(&table, &name)?,
    };
    let valid_from = valid.as_ref().map(|_| table.n_rows());
    let user_features = a.user_features.as_deref().map(read).transpose()?;
    let item_features = a.item_features.as_deref().map(read).transpose()?;
    let read_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let model = crate::progress::with_message_bar(g, "training", |say| {
        TwoTowerModel::train(
            &params,
            &opts,
            &data,
            valid_from,
            user_features.as_ref(),
            item_features.as_ref(),
            |stage| match stage {
                Stage::Trial { trial, epoch } => say(&format!(
                    "tuning: trial {trial} of {}, epoch {epoch}",
                    opts.trials
                )),
                Stage::Final { epoch, epochs } => {
                    say(&format!("final fit: epoch {epoch} of {epochs}"))
                }
            },
        )
    })?;
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
        "interactions": data.len(),
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
    let mut new_user_feats: Option<lithe_recsys::features::SparseRows> = None;
    let users: Vec<String> = match (&a.user, &a.users) {
        (Some(u), None) => vec![u.clone()],
        (None, Some(path)) => {
            let t = read(path)?;
            let schema = &model.user_schema;
            if schema.columns.iter().any(|c| t.column(c.name()).is_some()) {
                let name = path.display().to_string();
                new_user_feats = Some(schema.encode(&t, USER_COL, &name)?.1);
            }
            let col = t
                .require(USER_COL)
                .map_err(|e| Error::input(format!("{}: {e}", path.display())))?;
            id_strings(col)
                .into_iter()
                .enumerate()
                .map(|(r, u)| {
                    u.ok_or_else(|| {
                        Error::input(format!(
                            "{}: row {}: missing {USER_COL}",
                            path.display(),
                            r + 2
                        ))
                    })
                })
                .collect::<Result<_, _>>()?
        }
        _ => return Err(UsageError("give --user ID or --users FILE".into()).into()),
    };
    use rayon::prelude::*;
    let answers: Vec<_> = users
        .par_iter()
        .enumerate()
        .map(|(r, u)| {
            // A user new to the model, with features: the user tower from them.
            if let Some(f) = &new_user_feats
                && model.users.get(u).is_none()
                && let Some(recs) = model.recommend_new_user(f.of(r), a.k)?
            {
                return Ok((recs, Answer::Tower));
            }
            model.recommend(u, a.k, a.exclude_seen)
        })
        .collect::<Result<_, lithe_core::Error>>()?;
    let unknown = answers.iter().filter(|x| x.1 == Answer::Popular).count();
    if unknown > 0 && !g.quiet {
        eprintln!(
            "note: {unknown} of {} users are not in the model and have no features; they get \
             the most popular items",
            users.len()
        );
    }
    let (mut uc, mut rank, mut item, mut score) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (u, (recs, _)) in users.iter().zip(&answers) {
        for (r, rec) in recs.iter().enumerate() {
            uc.push(u.as_str());
            rank.push(Some(r as i64 + 1));
            item.push(model.items.names[rec.item as usize].as_str());
            score.push(rec.score as f64);
        }
    }
    let table = Table::new(vec![
        Column::from_strings(USER_COL, &uc.iter().map(|s| Some(*s)).collect::<Vec<_>>())?,
        Column::from_i64("rank", rank),
        Column::from_strings(ITEM_COL, &item.iter().map(|s| Some(*s)).collect::<Vec<_>>())?,
        Column::from_f64("score", score),
    ])?;
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
    let name = a.test.display().to_string();
    let u = t
        .require(USER_COL)
        .map_err(|e| Error::input(format!("{name}: {e}")))?;
    let i = t
        .require(ITEM_COL)
        .map_err(|e| Error::input(format!("{name}: {e}")))?;
    let pairs: Vec<(String, String)> = id_strings(u)
        .into_iter()
        .zip(id_strings(i))
        .enumerate()
        .map(|(r, p)| match p {
            (Some(u), Some(i)) => Ok((u, i)),
            _ => Err(Error::input(format!(
                "{name}: row {}: missing {USER_COL} or {ITEM_COL}",
                r + 2
            ))),
        })
        .collect::<Result<_, _>>()?;
    if pairs.is_empty() {
        return Err(Error::input(format!("{name}: no test interactions")).into());
    }
    let r = evaluate(&model, &pairs, a.k)?;
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
