//! The two-tower API the front ends call (the command line, the Python package): one
//! parameter spec, training from tables, batch recommendation for known and new users
//! as a table, and evaluation on a table of held-out interactions.

use lithe_core::params::require;
use lithe_core::{Column, Error, Result, Table};
use rayon::prelude::*;

use crate::Interactions;
use crate::data::{ITEM_COL, USER_COL, id_strings};
use crate::index::IndexParams;
use crate::model::{Answer, EvalReport, Stage, TwoTowerModel, evaluate};
use crate::params::TwoTowerParams;
use crate::tune::{Free, TuneOptions};

lithe_core::param_spec! {
    /// The two-tower model's training parameters. The settings tuning may change
    /// (dim, epochs, learning_rate, temperature, l2) are searched on a validation slice
    /// from the model's defaults unless given; a given one stays fixed.
    #[derive(Debug, Clone, PartialEq)]
    pub struct TrainParams("two_tower") {
        /// Embedding and output dimension of both towers (default: tuned, from 64)
        dim: Option<usize> = None,
        /// Passes over the interactions (default: chosen on validation, up to 40; 12
        /// without tuning)
        epochs: Option<usize> = None,
        /// Interactions per batch (one optimiser step)
        batch: usize = TwoTowerParams::default().batch,
        /// In-batch negatives of each interaction: the batch is scored in groups of
        /// negatives + 1, each row against its group's other items
        negatives: usize = TwoTowerParams::default().negatives,
        /// The history bag reads only each user's latest max_history items (0: all)
        max_history: usize = TwoTowerParams::default().max_history,
        /// Adam's step size (default: tuned, from 0.005)
        learning_rate: Option<f64> = None,
        /// Softmax temperature over cosine scores (default: tuned, from 0.15)
        temperature: Option<f64> = None,
        /// L2 penalty on the embedding rows each batch touches (default: tuned, from
        /// 0.0001)
        l2: Option<f64> = None,
        /// Share of the sampling-bias (logQ) correction, 0 to 1
        logq: f64 = TwoTowerParams::default().logq,
        /// Half-life (in interactions back from the latest, by timestamp) of history
        /// items in the user tower; 0 weighs them all the same
        half_life: f64 = TwoTowerParams::default().half_life,
        /// Latest items (before the one predicted, by timestamp) the user tower reads
        /// through a channel of its own; 0 switches it off (default: 10 with a
        /// timestamp column, else 0)
        recent: Option<usize> = None,
        /// Links per node of the item index's HNSW graph
        index_degree: usize = IndexParams::default().connectivity,
        /// Candidates kept while inserting an item into the index
        index_build_width: usize = IndexParams::default().expansion_add,
        /// Candidates kept while searching the index (the start: raised until the
        /// self-check's recall reaches index_target_recall)
        index_search_width: usize = IndexParams::default().expansion_search,
        /// Recall@10 of the index against exact search, on a sample of users, that
        /// training widens the search to reach (0: no check)
        index_target_recall: f64 = IndexParams::default().target_recall,
        /// Random seed (initial weights, batch order, validation slice)
        seed: u64 = TwoTowerParams::default().seed,
        /// Settings tried on the validation slice (fits, the first being the given
        /// settings); 0: no validation slice and no search, every interaction trained
        /// on for epochs epochs
        trials: usize = TuneOptions::default().trials,
    }
}

impl TrainParams {
    fn check(&self) -> Result<()> {
        require(self.trials <= 100, "trials", || {
            format!("must be at most 100, got {}", self.trials)
        })?;
        self.model_params().validate()
    }

    /// The model's parameters: the given ones, and the defaults (tuning's start) for
    /// the rest.
    pub fn model_params(&self) -> TwoTowerParams {
        let d = TwoTowerParams::default();
        TwoTowerParams {
            dim: self.dim.unwrap_or(d.dim),
            epochs: self.epochs.unwrap_or(d.epochs),
            batch: self.batch,
            negatives: self.negatives,
            learning_rate: self.learning_rate.unwrap_or(d.learning_rate),
            temperature: self.temperature.unwrap_or(d.temperature),
            l2: self.l2.unwrap_or(d.l2),
            logq: self.logq,
            half_life: self.half_life,
            recent: self.recent,
            max_history: self.max_history,
            index: IndexParams {
                connectivity: self.index_degree,
                expansion_add: self.index_build_width,
                expansion_search: self.index_search_width,
                target_recall: self.index_target_recall,
            },
            seed: self.seed,
        }
    }

    /// How training tunes itself: `trials` fits, searching the settings not given.
    pub fn tune_options(&self) -> TuneOptions {
        TuneOptions {
            trials: self.trials,
            free: Free {
                learning_rate: self.learning_rate.is_none(),
                temperature: self.temperature.is_none(),
                l2: self.l2.is_none(),
                dim: self.dim.is_none(),
                epochs: self.epochs.is_none(),
            },
            ..TuneOptions::default()
        }
    }
}

/// Train on `interactions` (user_id, item_id, optional weight and timestamp); with
/// `valid`, tune on it instead of a slice cut from the interactions and fit the final
/// model on both. Side features: user_id or item_id plus feature columns.
pub fn fit(
    params: &TrainParams,
    interactions: &Table,
    valid: Option<&Table>,
    user_features: Option<&Table>,
    item_features: Option<&Table>,
    progress: impl FnMut(Stage),
) -> Result<TwoTowerModel> {
    params.validate()?;
    let data = match valid {
        Some(v) => Interactions::from_tables(&[(interactions, "interactions"), (v, "valid")])?,
        None => Interactions::from_table(interactions, "interactions")?,
    };
    let valid_from = valid.map(|_| interactions.n_rows());
    TwoTowerModel::train(
        &params.model_params(),
        &params.tune_options(),
        &data,
        valid_from,
        user_features,
        item_features,
        progress,
    )
}

/// What batch recommendation did beyond the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answered {
    /// Users unknown to the model and without features, who got the popular items.
    pub popular: usize,
    /// Users new to the model answered from their features by the user tower.
    pub from_features: usize,
}

/// The top `k` items for each user of `users` (a `user_id` column; for users new to
/// the model, the user feature columns it was trained with): a table `user_id, rank,
/// item_id, score`, users in input order. A known user is answered from its history
/// (its training items left out with `exclude_seen`); a new user with features by the
/// user tower; anyone else by the most popular items.
pub fn recommend(
    model: &TwoTowerModel,
    users: &Table,
    k: usize,
    exclude_seen: bool,
) -> Result<(Table, Answered)> {
    require(k >= 1, "k", || "must be at least 1".to_string())?;
    let schema = &model.user_schema;
    let features = if schema
        .columns
        .iter()
        .any(|c| users.column(c.name()).is_some())
    {
        Some(schema.encode(users, USER_COL, "users")?.1)
    } else {
        None
    };
    let ids: Vec<String> = id_strings(users.require(USER_COL)?)
        .into_iter()
        .enumerate()
        .map(|(r, u)| {
            u.ok_or_else(|| Error::input(format!("users: row {}: missing {USER_COL}", r + 1)))
        })
        .collect::<Result<_>>()?;
    let answers: Vec<_> = ids
        .par_iter()
        .enumerate()
        .map(|(r, u)| {
            if let Some(f) = &features
                && model.users.get(u).is_none()
                && let Some(recs) = model.recommend_new_user(f.of(r), k)?
            {
                return Ok((recs, Answer::Tower, true));
            }
            model
                .recommend(u, k, exclude_seen)
                .map(|(r, a)| (r, a, false))
        })
        .collect::<Result<_>>()?;
    let mut answered = Answered::default();
    let (mut uc, mut rank, mut item, mut score) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (u, (recs, how, new)) in ids.iter().zip(&answers) {
        answered.popular += usize::from(*how == Answer::Popular);
        answered.from_features += usize::from(*new);
        for (r, rec) in recs.iter().enumerate() {
            uc.push(Some(u.as_str()));
            rank.push(Some(r as i64 + 1));
            item.push(Some(model.items.names[rec.item as usize].as_str()));
            score.push(rec.score as f64);
        }
    }
    let table = Table::new(vec![
        Column::from_strings(USER_COL, &uc)?,
        Column::from_i64("rank", rank),
        Column::from_strings(ITEM_COL, &item)?,
        Column::from_f64("score", score),
    ])?;
    Ok((table, answered))
}

/// Recall@k, NDCG@k and coverage on held-out interactions (user_id, item_id).
pub fn evaluate_table(model: &TwoTowerModel, test: &Table, k: usize) -> Result<EvalReport> {
    require(k >= 1, "k", || "must be at least 1".to_string())?;
    let u = test.require(USER_COL)?;
    let i = test.require(ITEM_COL)?;
    let pairs: Vec<(String, String)> = id_strings(u)
        .into_iter()
        .zip(id_strings(i))
        .enumerate()
        .map(|(r, p)| match p {
            (Some(u), Some(i)) => Ok((u, i)),
            _ => Err(Error::input(format!(
                "row {}: missing {USER_COL} or {ITEM_COL}",
                r + 1
            ))),
        })
        .collect::<Result<_>>()?;
    if pairs.is_empty() {
        return Err(Error::input("no test interactions"));
    }
    evaluate(model, &pairs, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lithe_core::params::{ParamValue, Spec};

    /// The spec's defaults are the model's, and its rules name the parameter.
    #[test]
    fn defaults_are_the_models_and_errors_name_the_parameter() {
        assert_eq!(
            TrainParams::default().model_params(),
            TwoTowerParams::default()
        );
        assert_eq!(
            TrainParams::default().tune_options(),
            TuneOptions::default()
        );
        for (name, v, needle) in [
            ("dim", ParamValue::Int(0), "dim must be between 1 and 4096"),
            (
                "logq",
                ParamValue::Float(2.0),
                "logq must be between 0 and 1",
            ),
            ("trials", ParamValue::Int(101), "trials must be at most 100"),
            (
                "index_degree",
                ParamValue::Int(1),
                "index_degree must be between 2 and 256",
            ),
        ] {
            let e = TrainParams::from_values([(name, v)])
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{e}");
        }
    }

    fn interactions(users: usize, items: usize) -> Table {
        let (mut u, mut i) = (Vec::new(), Vec::new());
        for a in 0..users {
            for b in 0..6 {
                u.push(Some(format!("u{a}")));
                // Two tastes: even users like the low items, odd ones the high ones.
                i.push(Some(format!(
                    "i{}",
                    (a % 2) * items / 2 + (a + b * 3) % (items / 2)
                )));
            }
        }
        Table::new(vec![
            Column::from_strings(USER_COL, &u).unwrap(),
            Column::from_strings(ITEM_COL, &i).unwrap(),
        ])
        .unwrap()
    }

    /// Batch recommendation: known users in input order with k ranked items (none
    /// seen with exclude_seen), unknown users the popular items; the layout is fixed.
    #[test]
    fn batch_recommendation_layout_and_rules() {
        let t = interactions(40, 20);
        let p = TrainParams::from_values([
            ("trials", ParamValue::Int(0)),
            ("epochs", ParamValue::Int(3)),
            ("dim", ParamValue::Int(8)),
            ("batch", ParamValue::Int(32)),
            ("negatives", ParamValue::Int(15)),
        ])
        .unwrap();
        let m = fit(&p, &t, None, None, None, |_| {}).unwrap();
        let users = Table::new(vec![
            Column::from_strings(USER_COL, &[Some("u3"), Some("nobody"), Some("u0")]).unwrap(),
        ])
        .unwrap();
        let (out, answered) = recommend(&m, &users, 4, true).unwrap();
        assert_eq!(
            out.names().collect::<Vec<_>>(),
            ["user_id", "rank", "item_id", "score"]
        );
        assert_eq!(out.n_rows(), 12);
        assert_eq!(
            answered,
            Answered {
                popular: 1,
                from_features: 0
            }
        );
        let col = |name: &str| -> Vec<String> {
            (0..out.n_rows())
                .map(|r| out.column(name).unwrap().value_string(r).unwrap())
                .collect()
        };
        let (us, ranks, items) = (col("user_id"), col("rank"), col("item_id"));
        assert_eq!(us[0], "u3");
        assert_eq!(us[4], "nobody");
        assert_eq!(us[8], "u0");
        assert_eq!(&ranks[..4], ["1", "2", "3", "4"]);
        let seen_u0: Vec<String> = (0..t.n_rows())
            .filter(|&r| t.column(USER_COL).unwrap().value_string(r).unwrap() == "u0")
            .map(|r| t.column(ITEM_COL).unwrap().value_string(r).unwrap())
            .collect();
        assert!(items[8..].iter().all(|i| !seen_u0.contains(i)), "{items:?}");
        assert!(recommend(&m, &users, 0, true).is_err());
        let e = evaluate_table(&m, &users, 5).unwrap_err();
        assert!(e.to_string().contains("item_id"), "{e}");
    }
}
