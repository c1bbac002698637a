//! Training, the fitted model, recommendations and their evaluation.

use std::path::Path;

use lithe_core::metrics::{mean_ndcg_at_k, mean_recall_at_k};
use lithe_core::{Error, Result, Table, model_file};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

use crate::data::{Groups, ITEM_COL, IdMap, Interactions, USER_COL};
use crate::dense::dot;
use crate::features::{Coverage, FeatureSchema, SparseRows, align};
use crate::index::{
    EXTRA, IndexCheck, IndexParams, ItemIndex, exact_top_k, search_query, search_rows,
};
use crate::params::TwoTowerParams;
use crate::tower::{Features, Weights};
use crate::train::{Trainer, histories_and_places, item_counts};
use crate::tune::{TuneOptions, Tuning, max_dim, run_trial, search};
use crate::valid::Split;

pub const KIND: &str = "recommend.two_tower";

/// The layout of the model file's payload (`Saved`), in the header as `extra.payload`;
/// a file of another layout is refused with a message rather than misread.
pub const PAYLOAD: u64 = 2;

/// What training reports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FitReport {
    /// Mean batch loss of each epoch.
    pub epoch_loss: Vec<f64>,
    pub seconds: f64,
    /// Rows of the feature tables whose id had no interactions (left out).
    #[serde(default)]
    pub unused_user_features: usize,
    #[serde(default)]
    pub unused_item_features: usize,
    /// Users and items of the interactions without a row in their feature table.
    #[serde(default)]
    pub users_without_features: usize,
    #[serde(default)]
    pub items_without_features: usize,
    /// What self-tuning did, when it ran.
    #[serde(default)]
    pub tuning: Option<Tuning>,
    /// What the index's self-check measured, when it ran.
    #[serde(default)]
    pub index: Option<IndexCheck>,
}

/// Users the index's self-check queries (a seeded sample when there are more).
pub const CHECK_USERS: usize = 1000;

/// The index's self-check on a seeded sample of up to [`CHECK_USERS`] users with a
/// history, each query leaving out the user's items, as `recommend --exclude-seen`
/// does; widens the index's search until it reaches `params.index.target_recall`.
fn self_check(
    w: &Weights,
    history: &Groups,
    features: &Features,
    item_vectors: &[f32],
    index: &ItemIndex,
    params: &TwoTowerParams,
) -> Result<IndexCheck> {
    use rayon::prelude::*;
    let d = w.dim + EXTRA;
    let mut users: Vec<u32> = (0..history.n_groups() as u32)
        .filter(|&u| !history.of(u as usize).is_empty())
        .collect();
    if users.len() > CHECK_USERS {
        let mut rng = crate::SplitMix::new(params.seed ^ 0x1DE7);
        for k in 0..CHECK_USERS {
            let j = k + (rng.next_u64() % (users.len() - k) as u64) as usize;
            users.swap(k, j);
        }
        users.truncate(CHECK_USERS);
        users.sort_unstable();
    }
    let mut queries = vec![0f32; users.len() * d];
    let skip: Vec<Vec<u32>> = users
        .par_iter()
        .zip(queries.par_chunks_mut(d))
        .map(|(&u, q)| {
            let u = u as usize;
            let mut x = vec![0f32; w.dim];
            w.user_vector_of(Some(u), history.of(u), features.user.of(u), &mut x);
            q.copy_from_slice(&search_query(&x));
            let mut s = history.of(u).to_vec();
            s.sort_unstable();
            s.dedup();
            s
        })
        .collect();
    index.calibrate(
        item_vectors,
        &queries,
        &skip,
        crate::valid::VALID_K,
        &params.index,
    )
}

/// Where training is, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stage {
    /// Trial `trial` (from 1) on the validation slice, after `epoch` epochs.
    Trial { trial: usize, epoch: usize },
    /// The final fit on every interaction, after `epoch` of `epochs` epochs.
    Final { epoch: usize, epochs: usize },
}

/// The parts of a model that are saved (the index is saved beside them as bytes).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Saved {
    params: TwoTowerParams,
    index_params: IndexParams,
    users: Vec<String>,
    items: Vec<String>,
    weights: Weights,
    history: Groups,
    popular: Vec<u32>,
    item_vectors: Vec<f32>,
    index: Vec<u8>,
    user_schema: FeatureSchema,
    item_schema: FeatureSchema,
    features: Features,
    /// Items added after training (no id embedding; their rows in the embedding
    /// tables are zero).
    added_items: usize,
}

/// A fitted two-tower model with its item vectors and their index.
pub struct TwoTowerModel {
    pub params: TwoTowerParams,
    pub index_params: IndexParams,
    pub users: IdMap,
    pub items: IdMap,
    pub weights: Weights,
    /// Each user's training items (in file order; repeats kept).
    pub history: Groups,
    /// Items by training interactions, most first (ties: first seen).
    pub popular: Vec<u32>,
    /// The item tower's output for every item, row-major.
    pub item_vectors: Vec<f32>,
    pub index: ItemIndex,
    pub report: FitReport,
    pub user_schema: FeatureSchema,
    pub item_schema: FeatureSchema,
    /// Every user's and item's side features.
    pub features: Features,
    pub added_items: usize,
    /// Answer by exact search over every item vector instead of the index.
    pub exact: bool,
}

/// One recommendation.
#[derive(Debug, Clone, PartialEq)]
pub struct Rec {
    pub item: u32,
    pub score: f32,
}

/// How a user was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// By the user tower.
    Tower,
    /// A user the model does not know: the most popular items.
    Popular,
}

/// Side features encoded and aligned to the data's ids, with their schemas.
pub struct SideFeatures {
    pub user_schema: FeatureSchema,
    pub item_schema: FeatureSchema,
    pub features: Features,
    /// How the user and item feature tables' rows matched the interactions' ids.
    pub user_coverage: Coverage,
    pub item_coverage: Coverage,
}

impl SideFeatures {
    /// Encode the feature tables of users (`user_id` plus feature columns) and items
    /// (`item_id` plus feature columns), when given, in the order of `data`'s ids.
    pub fn encode(
        data: &Interactions,
        user_features: Option<&Table>,
        item_features: Option<&Table>,
    ) -> Result<SideFeatures> {
        let side = |t: Option<&Table>,
                    key: &str,
                    ids: &IdMap|
         -> Result<(FeatureSchema, SparseRows, Coverage)> {
            let Some(t) = t else {
                return Ok((
                    FeatureSchema::default(),
                    SparseRows::empty(ids.len()),
                    Coverage::default(),
                ));
            };
            let schema = FeatureSchema::infer(t, key);
            let name = format!("{key} features");
            let (row_ids, rows) = schema.encode(t, key, &name)?;
            let (aligned, cov) = align(ids, &row_ids, &rows, &name)?;
            Ok((schema, aligned, cov))
        };
        let (user_schema, user, user_coverage) = side(user_features, USER_COL, &data.users)?;
        let (item_schema, item, item_coverage) = side(item_features, ITEM_COL, &data.items)?;
        Ok(SideFeatures {
            user_schema,
            item_schema,
            features: Features { user, item },
            user_coverage,
            item_coverage,
        })
    }

    /// Rows of the user and item feature tables.
    pub fn rows(&self) -> (usize, usize) {
        (self.user_schema.n_rows(), self.item_schema.n_rows())
    }
}

impl TwoTowerModel {
    /// Train on `data` for `params.epochs` epochs, with side features of users
    /// (`user_id` plus feature columns) and items (`item_id` plus feature columns) when
    /// given. `progress` is called after each epoch with (epoch, mean loss).
    pub fn fit(
        params: &TwoTowerParams,
        data: &Interactions,
        user_features: Option<&Table>,
        item_features: Option<&Table>,
        progress: impl FnMut(usize, f64),
    ) -> Result<TwoTowerModel> {
        params.validate()?;
        if data.is_empty() {
            return Err(Error::input("no interactions to train on"));
        }
        let side = SideFeatures::encode(data, user_features, item_features)?;
        Self::fit_encoded(params, data, side, progress)
    }

    /// Train with self-tuning: hold out a validation slice (`valid_from`: rows from
    /// there on are the caller's slice; else each user's latest interaction, or a
    /// random share without timestamps), search the free settings with early stopping
    /// on it (at most `opts.trials` fits), then fit the chosen settings for their best
    /// epoch count on every interaction. With `opts.trials == 0`, or when no user has
    /// two interactions, this is [`Self::fit`].
    pub fn train(
        params: &TwoTowerParams,
        opts: &TuneOptions,
        data: &Interactions,
        valid_from: Option<usize>,
        user_features: Option<&Table>,
        item_features: Option<&Table>,
        mut progress: impl FnMut(Stage),
    ) -> Result<TwoTowerModel> {
        params.validate()?;
        opts.validate()?;
        if data.is_empty() {
            return Err(Error::input("no interactions to train on"));
        }
        let start = std::time::Instant::now();
        let side = SideFeatures::encode(data, user_features, item_features)?;
        let split = match (opts.trials, valid_from) {
            (0, _) => None,
            (_, Some(n)) => Some(Split::given(data, n)).filter(|s| !s.users.is_empty()),
            (_, None) => Split::cut(data, opts.valid_share, params.seed),
        };
        let Some(split) = split else {
            return Self::fit_encoded(params, data, side, |e, _| {
                progress(Stage::Final {
                    epoch: e,
                    epochs: params.epochs,
                })
            });
        };
        let (max_epochs, patience) = if opts.free.epochs {
            (opts.max_epochs, opts.patience)
        } else {
            (params.epochs, 0)
        };
        let rows = side.rows();
        let mut n = 0usize;
        let (trials, chosen) = search(
            params,
            &opts.free,
            opts.trials,
            max_dim(data.users.len(), data.items.len()),
            |p, rival| {
                n += 1;
                let trial = n;
                let mut epoch = 0;
                let mut t = run_trial(
                    p,
                    &split,
                    &side.features,
                    rows,
                    max_epochs,
                    patience,
                    rival,
                    || {
                        epoch += 1;
                        progress(Stage::Trial { trial, epoch });
                    },
                )?;
                if !opts.free.epochs {
                    t.best_epoch = params.epochs;
                }
                Ok(t)
            },
        )?;
        let tuning = Tuning {
            rule: split.rule,
            valid_users: split.users.len(),
            valid_items: split.n_held(),
            chosen,
            seconds: start.elapsed().as_secs_f64(),
            trials,
        };
        let final_params = tuning.trials[chosen].apply(params);
        let epochs = final_params.epochs;
        drop(split);
        let mut model = Self::fit_encoded(&final_params, data, side, |e, _| {
            progress(Stage::Final { epoch: e, epochs })
        })?;
        model.report.tuning = Some(tuning);
        model.report.seconds = start.elapsed().as_secs_f64();
        Ok(model)
    }

    /// [`Self::fit`] with the side features already encoded.
    pub fn fit_encoded(
        params: &TwoTowerParams,
        data: &Interactions,
        side: SideFeatures,
        mut progress: impl FnMut(usize, f64),
    ) -> Result<TwoTowerModel> {
        let start = std::time::Instant::now();
        let n_items = data.items.len();
        let (history, place) = histories_and_places(data);
        let counts = item_counts(data);
        let mut report = FitReport {
            unused_user_features: side.user_coverage.unused,
            unused_item_features: side.item_coverage.unused,
            users_without_features: side.user_coverage.uncovered,
            items_without_features: side.item_coverage.uncovered,
            ..FitReport::default()
        };
        let mut trainer = Trainer::new(params, data, &history, &place, &side.features, side.rows());
        for epoch in 0..params.epochs {
            let mean = trainer.run_epoch()?;
            report.epoch_loss.push(mean);
            progress(epoch + 1, mean);
        }
        let w = trainer.weights;
        let mut popular: Vec<u32> = (0..n_items as u32).collect();
        popular.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        let (item_vectors, _) = search_rows(
            &w.item_vectors(&side.features.item),
            &w.item_bias,
            params.temperature as f32,
            params.dim,
            None,
        );
        let mut index_params = params.index;
        let index = ItemIndex::build(&item_vectors, params.dim + EXTRA, &index_params)?;
        if index_params.target_recall > 0.0 {
            let check = self_check(&w, &history, &side.features, &item_vectors, &index, params)?;
            index_params.expansion_search = check
                .widths
                .last()
                .map_or(index_params.expansion_search, |w| w.0);
            report.index = Some(check);
        }
        report.seconds = start.elapsed().as_secs_f64();
        Ok(TwoTowerModel {
            params: params.clone(),
            index_params,
            users: data.users.clone(),
            items: data.items.clone(),
            weights: w,
            history,
            popular,
            item_vectors,
            index,
            report,
            user_schema: side.user_schema,
            item_schema: side.item_schema,
            features: side.features,
            added_items: 0,
            exact: false,
        })
    }

    /// The user tower's vector for a known user.
    pub fn user_vector(&self, u: usize) -> Vec<f32> {
        let mut out = vec![0f32; self.weights.dim];
        self.weights.user_vector_of(
            Some(u),
            self.history.of(u),
            self.features.user.of(u),
            &mut out,
        );
        out
    }

    /// The `k` items of the index nearest to the user vector `q`, among those `keep`
    /// accepts, best first.
    fn nearest(&self, u: &[f32], k: usize, keep: impl Fn(u64) -> bool) -> Result<Vec<Rec>> {
        let q = search_query(u);
        let found = if self.exact {
            exact_top_k(&self.item_vectors, self.weights.dim + EXTRA, &q, k, keep)
        } else {
            self.index.search(&q, k, keep)?
        };
        Ok(found
            .into_iter()
            .map(|(key, score)| Rec {
                item: key as u32,
                score,
            })
            .collect())
    }

    /// The `k` best items for the user called `id`: by the towers and the index for a
    /// known user (without the items in its training history when `exclude_seen`), the
    /// most popular items for an unknown one.
    pub fn recommend(&self, id: &str, k: usize, exclude_seen: bool) -> Result<(Vec<Rec>, Answer)> {
        let Some(u) = self.users.get(id) else {
            let recs = self
                .popular
                .iter()
                .take(k)
                .map(|&i| Rec {
                    item: i,
                    score: 0.0,
                })
                .collect();
            return Ok((recs, Answer::Popular));
        };
        let u = u as usize;
        let q = self.user_vector(u);
        let seen: HashSet<u32> = if exclude_seen {
            self.history.of(u).iter().copied().collect()
        } else {
            HashSet::new()
        };
        let recs = self.nearest(&q, k, |key| !seen.contains(&(key as u32)))?;
        Ok((recs, Answer::Tower))
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let (header, payload) = self.encode()?;
        model_file::write(path, &header, &payload)
    }

    /// The model file's bytes (what [`Self::save`] writes).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let (header, payload) = self.encode()?;
        model_file::encode(&header, &payload)
    }

    fn encode(&self) -> Result<(model_file::Header, Vec<u8>)> {
        let index = self.index.to_bytes()?;
        let index_sum = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&index));
        let saved = Saved {
            params: self.params.clone(),
            index_params: self.index_params,
            users: self.users.names.clone(),
            items: self.items.names.clone(),
            weights: self.weights.clone(),
            history: self.history.clone(),
            popular: self.popular.clone(),
            item_vectors: self.item_vectors.clone(),
            index,
            user_schema: self.user_schema.clone(),
            item_schema: self.item_schema.clone(),
            features: self.features.clone(),
            added_items: self.added_items,
        };
        let payload = postcard::to_stdvec(&saved)
            .map_err(|e| Error::Runtime(format!("encoding the model: {e}")))?;
        let mut header = model_file::Header::new(KIND);
        header.params = serde_json::to_value(&self.params).unwrap_or_default();
        header.schema = serde_json::json!({
            "users": self.users.len(),
            "items": self.items.len(),
            "dim": self.weights.dim,
        });
        header.metrics = serde_json::json!({
            "epoch_loss": self.report.epoch_loss,
            "fit_seconds": self.report.seconds,
        });
        if let Some(t) = &self.report.tuning {
            header.metrics["tuning"] = serde_json::to_value(t).unwrap_or_default();
        }
        if let Some(c) = &self.report.index {
            header.metrics["index_check"] = serde_json::to_value(c).unwrap_or_default();
        }
        header.extra = serde_json::json!({
            "payload": PAYLOAD,
            "index": self.index_params,
            "index_xxh3": index_sum,
        });
        Ok((header, payload))
    }

    pub fn load(path: &Path) -> Result<TwoTowerModel> {
        let file = model_file::read_kind(path, KIND)?;
        Self::decode(file, &path.display().to_string())
    }

    /// A model from a model file's bytes (`name` for messages).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<TwoTowerModel> {
        let file = model_file::decode(bytes, name)?;
        if file.kind != KIND {
            return Err(Error::input(format!(
                "{name}: this is a '{}' model, but a '{KIND}' model is needed here",
                file.kind
            )));
        }
        Self::decode(file, name)
    }

    fn decode(file: model_file::ModelFile, name: &str) -> Result<TwoTowerModel> {
        let payload = file
            .header
            .extra
            .get("payload")
            .and_then(|v| v.as_u64())
            .unwrap_or(1);
        if payload != PAYLOAD {
            return Err(Error::input(format!(
                "{name}: a {KIND} model of payload layout {payload}, which this lithe ({}) does \
                 not read (it reads {PAYLOAD}); train the model again with this lithe",
                lithe_core::VERSION
            )));
        }
        let bad = |what: &str| Error::input(format!("{name}: not a usable {KIND} model ({what})"));
        let s: Saved = postcard::from_bytes(&file.payload).map_err(|e| bad(&e.to_string()))?;
        let d = s.weights.dim;
        let (nu, ni) = (s.users.len(), s.items.len());
        let ok = d > 0
            && s.weights.user_emb.len() == nu * d
            && s.weights.item_emb.len() == ni * d
            && s.weights.user_w.len() == d * d
            && s.weights.item_w.len() == d * d
            && s.weights.user_b.len() == d
            && s.weights.item_b.len() == d
            && s.item_vectors.len() == ni * (d + EXTRA)
            && s.weights.item_bias.len() == ni
            && s.history.n_groups() == nu
            && s.history.offsets.windows(2).all(|w| w[0] <= w[1])
            && s.history
                .offsets
                .last()
                .is_some_and(|&e| e as usize == s.history.values.len())
            && s.history.values.iter().all(|&i| (i as usize) < ni)
            && s.popular.iter().all(|&i| (i as usize) < ni)
            && s.weights.user_feat.len() == s.user_schema.n_rows() * d
            && s.weights.item_feat.len() == s.item_schema.n_rows() * d
            && s.features.user.len() == nu
            && s.features.item.len() == ni
            && s.features.user.is_valid(s.user_schema.n_rows())
            && s.features.item.is_valid(s.item_schema.n_rows());
        if !ok {
            return Err(bad("inconsistent sizes"));
        }
        // The item index is a native (C++) structure that trusts its bytes: they must
        // be the ones saved, by their own checksum.
        let got = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(&s.index));
        match file.header.extra.get("index_xxh3").and_then(|v| v.as_str()) {
            Some(want) if want == got => {}
            Some(_) => return Err(bad("its item index does not match its checksum")),
            None => {
                return Err(bad(
                    "it has no item-index checksum: an older lithe saved it; train it again",
                ));
            }
        }
        let index = ItemIndex::from_bytes(&s.index, d + EXTRA, &s.index_params)?;
        if index.len() != ni {
            return Err(bad("the index does not hold every item"));
        }
        let report = serde_json::from_value::<FitReport>(serde_json::json!({
            "epoch_loss": file.header.metrics.get("epoch_loss").cloned().unwrap_or_default(),
            "seconds": file.header.metrics.get("fit_seconds").cloned().unwrap_or_default(),
            "tuning": file.header.metrics.get("tuning").cloned(),
            "index": file.header.metrics.get("index_check").cloned(),
        }))
        .unwrap_or_default();
        Ok(TwoTowerModel {
            params: s.params,
            index_params: s.index_params,
            users: IdMap::from_names(s.users),
            items: IdMap::from_names(s.items),
            weights: s.weights,
            history: s.history,
            popular: s.popular,
            item_vectors: s.item_vectors,
            index,
            report,
            user_schema: s.user_schema,
            item_schema: s.item_schema,
            features: s.features,
            added_items: s.added_items,
            exact: false,
        })
    }

    /// The `k` best items for a user the model has not seen, from its side features
    /// (`None` when the features give the tower nothing to work with).
    pub fn recommend_new_user(
        &self,
        feats: (&[u32], &[f32]),
        k: usize,
    ) -> Result<Option<Vec<Rec>>> {
        if feats.0.is_empty() {
            return Ok(None);
        }
        let mut q = vec![0f32; self.weights.dim];
        self.weights.user_vector_of(None, &[], feats, &mut q);
        Ok(Some(self.nearest(&q, k, |_| true)?))
    }

    /// Embed the items of `t` (`item_id` plus the item feature columns the model was
    /// trained with) with the item tower and add them to the index, without
    /// retraining. Returns how many were added. An id already in the model, or a
    /// model trained without item features, is an error.
    pub fn add_items(&mut self, t: &Table, name: &str) -> Result<usize> {
        if self.item_schema.is_empty() {
            return Err(Error::input(format!(
                "{name}: the model was trained without item features, so the item tower has \
                 nothing to embed a new item from; train with --item-features"
            )));
        }
        let (ids, rows) = self.item_schema.encode(t, ITEM_COL, name)?;
        let mut fresh = std::collections::HashMap::new();
        for (r, id) in ids.iter().enumerate() {
            if self.items.get(id).is_some() {
                return Err(Error::input(format!(
                    "{name}: item '{id}' (row {}) is already in the model",
                    r + 1
                )));
            }
            if let Some(before) = fresh.insert(id.as_str(), r) {
                return Err(Error::input(format!(
                    "{name}: item '{id}' has two rows ({} and {}); each new item needs one",
                    before + 1,
                    r + 1
                )));
            }
        }
        let d = self.weights.dim;
        let first = self.items.len();
        let mut vectors = vec![0f32; ids.len() * d];
        for (k, v) in vectors.chunks_mut(d).enumerate() {
            self.weights.item_vector_of(None, rows.of(k), v);
        }
        // A new item has no bias of its own: it gets the mean of the trained ones, and
        // its search row the length the others share.
        let b = &self.weights.item_bias;
        let mean = b.iter().map(|&x| x as f64).sum::<f64>() / b.len().max(1) as f64;
        let norm2 = self
            .item_vectors
            .chunks_exact(d + EXTRA)
            .map(|r| dot(r, r))
            .fold(0f32, f32::max);
        let bias = vec![mean as f32; ids.len()];
        let (vectors, _) = search_rows(
            &vectors,
            &bias,
            self.params.temperature as f32,
            d,
            Some(norm2),
        );
        self.index.add(first as u64, &vectors)?;
        self.weights.item_bias.extend_from_slice(&bias);
        let mut names = std::mem::take(&mut self.items.names);
        names.extend(ids.iter().cloned());
        self.items = IdMap::from_names(names);
        self.item_vectors.extend_from_slice(&vectors);
        self.weights.item_emb.resize(self.items.len() * d, 0.0);
        for k in 0..ids.len() {
            let (r, w) = rows.of(k);
            let entries: Vec<(u32, f32)> = r.iter().copied().zip(w.iter().copied()).collect();
            self.features.item.push(&entries);
        }
        self.popular.extend(first as u32..self.items.len() as u32);
        self.added_items += ids.len();
        Ok(ids.len())
    }
}

/// Ranking metrics over test users.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub k: usize,
    pub users: usize,
    /// Test users the model did not know (answered with popular items).
    pub unknown_users: usize,
    pub recall: f64,
    pub ndcg: f64,
    /// Distinct recommended items over the catalogue.
    pub coverage: f64,
}

/// Recall@k, NDCG@k and catalogue coverage of the top-`k` lists (training items
/// excluded) for the test interactions `test` (`user id`, `item id` pairs): per user,
/// recall is the share of its test items in its list and NDCG the list's discounted
/// gain over the best possible (`lithe_core::metrics`); both are averaged over users.
pub fn evaluate(model: &TwoTowerModel, test: &[(String, String)], k: usize) -> Result<EvalReport> {
    use rayon::prelude::*;
    let mut by_user: Vec<(String, Vec<String>)> = Vec::new();
    let mut slot: HashMap<&str, usize> = HashMap::new();
    for (u, i) in test {
        match slot.get(u.as_str()) {
            Some(&s) => by_user[s].1.push(i.clone()),
            None => {
                slot.insert(u, by_user.len());
                by_user.push((u.clone(), vec![i.clone()]));
            }
        }
    }
    let answers: Vec<(Vec<Rec>, Answer)> = by_user
        .par_iter()
        .map(|(u, _)| model.recommend(u, k, true))
        .collect::<Result<_>>()?;
    // Lists and held-out items by name, so a held-out item the model never saw counts
    // as relevant (and missed).
    let recs: Vec<Vec<&str>> = answers
        .iter()
        .map(|(r, _)| {
            r.iter()
                .map(|x| model.items.names[x.item as usize].as_str())
                .collect()
        })
        .collect();
    let rels: Vec<Vec<&str>> = by_user
        .iter()
        .map(|(_, items)| items.iter().map(String::as_str).collect())
        .collect();
    let shown: HashSet<u32> = answers
        .iter()
        .flat_map(|(r, _)| r.iter().map(|x| x.item))
        .collect();
    Ok(EvalReport {
        k,
        users: answers.len(),
        unknown_users: answers.iter().filter(|a| a.1 == Answer::Popular).count(),
        recall: mean_recall_at_k(&recs, &rels, k)?,
        ndcg: mean_ndcg_at_k(&recs, &rels, k)?,
        coverage: shown.len() as f64 / model.items.len().max(1) as f64,
    })
}
