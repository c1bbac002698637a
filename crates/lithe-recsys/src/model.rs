//! Training, the fitted model, recommendations and their evaluation.

use std::path::Path;

use lithe_core::metrics::{mean_ndcg_at_k, mean_recall_at_k};
use lithe_core::{Error, Result, Table, model_file};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

use crate::SplitMix;
use crate::data::{Groups, ITEM_COL, IdMap, Interactions, USER_COL};
use crate::features::{FeatureSchema, SparseRows, align};
use crate::index::{IndexParams, ItemIndex};
use crate::params::TwoTowerParams;
use crate::tower::{Batch, Features, Grads, Weights, add_features, loss};

pub const KIND: &str = "recommend.two_tower";

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

/// Adam's moments for one parameter vector.
struct Adam {
    m: Vec<f32>,
    v: Vec<f32>,
}

impl Adam {
    fn new(n: usize) -> Adam {
        Adam {
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }

    /// Update `w[range]` from `g[range]` at step `t` (lazy for embedding rows: a row's
    /// moments move only on the steps that touch it).
    #[allow(clippy::too_many_arguments)]
    fn step(&mut self, w: &mut [f32], g: &[f32], from: usize, to: usize, t: i32, lr: f32, l2: f32) {
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        let c1 = 1.0 - b1.powi(t);
        let c2 = 1.0 - b2.powi(t);
        let a = lr * c2.sqrt() / c1;
        for k in from..to {
            let gk = g[k] + l2 * w[k];
            self.m[k] = b1 * self.m[k] + (1.0 - b1) * gk;
            self.v[k] = b2 * self.v[k] + (1.0 - b2) * gk * gk;
            w[k] -= a * self.m[k] / (self.v[k].sqrt() + eps);
        }
    }
}

impl TwoTowerModel {
    /// Train on `data`, with side features of users (`user_id` plus feature columns)
    /// and items (`item_id` plus feature columns) when given. `progress` is called
    /// after each epoch with (epoch, mean loss).
    pub fn fit(
        params: &TwoTowerParams,
        data: &Interactions,
        user_features: Option<&Table>,
        item_features: Option<&Table>,
        mut progress: impl FnMut(usize, f64),
    ) -> Result<TwoTowerModel> {
        params.validate()?;
        if data.is_empty() {
            return Err(Error::input("no interactions to train on"));
        }
        let start = std::time::Instant::now();
        let (n_users, n_items, d) = (data.users.len(), data.items.len(), params.dim);
        // Histories oldest first: by timestamp when there is one (ties in file order).
        let history = match &data.time {
            Some(time) => {
                let mut rows: Vec<u32> = (0..data.len() as u32).collect();
                rows.sort_by(|&a, &b| time[a as usize].total_cmp(&time[b as usize]));
                let users: Vec<u32> = rows.iter().map(|&r| data.user[r as usize]).collect();
                let items: Vec<u32> = rows.iter().map(|&r| data.item[r as usize]).collect();
                Groups::new(&users, &items, n_users)
            }
            None => Groups::new(&data.user, &data.item, n_users),
        };
        let mut counts = vec![0u64; n_items];
        for &i in &data.item {
            counts[i as usize] += 1;
        }
        let log_q: Vec<f32> = counts
            .iter()
            .map(|&c| (params.logq * (c as f64 / data.len() as f64).ln()) as f32)
            .collect();
        let mut w = Weights::init(n_users, n_items, d, params.seed);
        w.half_life = params.half_life as f32;
        let mut report = FitReport::default();
        let side = |t: Option<&Table>,
                    key: &str,
                    ids: &IdMap,
                    unused: &mut usize|
         -> Result<(FeatureSchema, SparseRows)> {
            let Some(t) = t else {
                return Ok((FeatureSchema::default(), SparseRows::empty(ids.len())));
            };
            let schema = FeatureSchema::infer(t, key);
            let (row_ids, rows) = schema.encode(t, key, &format!("{key} features"))?;
            let (aligned, left_out) = align(ids, &row_ids, &rows);
            *unused = left_out;
            Ok((schema, aligned))
        };
        let (user_schema, user_rows) = side(
            user_features,
            USER_COL,
            &data.users,
            &mut report.unused_user_features,
        )?;
        let (item_schema, item_rows) = side(
            item_features,
            ITEM_COL,
            &data.items,
            &mut report.unused_item_features,
        )?;
        w.user_feat = vec![0.0; user_schema.n_rows() * d];
        w.item_feat = vec![0.0; item_schema.n_rows() * d];
        let features = Features {
            user: user_rows,
            item: item_rows,
        };
        let mut grads = Grads::new(&w);
        // One Adam per parameter table, in the order of `Weights::tables_mut`.
        let mut opt: Vec<Adam> = w.tables_mut().iter().map(|t| Adam::new(t.len())).collect();
        let mut order: Vec<u32> = (0..data.len() as u32).collect();
        let mut rng = SplitMix::new(params.seed ^ 0x5EED);
        let bsz = params.batch.min(data.len()).max(2.min(data.len()));
        let (lr, l2, t) = (
            params.learning_rate as f32,
            params.l2 as f32,
            params.temperature as f32,
        );
        let mut step = 0i32;
        let (mut bu, mut bi, mut bw) = (Vec::new(), Vec::new(), Vec::new());
        for epoch in 0..params.epochs {
            // A fresh order each epoch (Fisher–Yates from the seed).
            for k in (1..order.len()).rev() {
                let j = (rng.next_u64() % (k as u64 + 1)) as usize;
                order.swap(k, j);
            }
            let (mut sum, mut batches) = (0f64, 0usize);
            for chunk in order.chunks(bsz) {
                if chunk.len() < 2 {
                    continue;
                }
                bu.clear();
                bi.clear();
                bw.clear();
                for &r in chunk {
                    bu.push(data.user[r as usize]);
                    bi.push(data.item[r as usize]);
                    bw.push(data.weight[r as usize]);
                }
                let batch = Batch {
                    user: &bu,
                    item: &bi,
                    weight: &bw,
                };
                grads.clear();
                sum += loss(&w, &history, &features, &batch, &log_q, t, Some(&mut grads));
                batches += 1;
                step += 1;
                // Embedding tables step only their touched rows, with L2; the dense
                // layers step whole, without.
                let touched = grads.touched();
                let gw = grads.w.tables();
                for (((wt, gt), adam), rows) in w
                    .tables_mut()
                    .into_iter()
                    .zip(gw)
                    .zip(&mut opt)
                    .zip(touched)
                {
                    match rows {
                        Some(rows) => {
                            for &r in rows {
                                let r = r as usize;
                                adam.step(wt, gt, r * d, (r + 1) * d, step, lr, l2);
                            }
                        }
                        None => adam.step(wt, gt, 0, gt.len(), step, lr, 0.0),
                    }
                }
            }
            let mean = sum / batches.max(1) as f64;
            if !mean.is_finite() {
                return Err(Error::Runtime(format!(
                    "training diverged in epoch {} (loss {mean}); try a smaller --learning-rate",
                    epoch + 1
                )));
            }
            report.epoch_loss.push(mean);
            progress(epoch + 1, mean);
        }
        let mut popular: Vec<u32> = (0..n_items as u32).collect();
        popular.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        let item_vectors = w.item_vectors(&features.item);
        let index_params = IndexParams::default();
        let index = ItemIndex::build(&item_vectors, d, &index_params)?;
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
            user_schema,
            item_schema,
            features,
            added_items: 0,
        })
    }

    /// The user tower's vector for a known user.
    pub fn user_vector(&self, u: usize) -> Vec<f32> {
        let d = self.weights.dim;
        let mut x = vec![0f32; d];
        self.weights.user_input(u, self.history.of(u), None, &mut x);
        add_features(&self.weights.user_feat, self.features.user.of(u), &mut x);
        let mut out = vec![0f32; d];
        self.weights.user_vector(&x, &mut out);
        out
    }

    /// The `k` items of the index nearest to the user vector `q`, among those `keep`
    /// accepts, best first.
    fn nearest(&self, q: &[f32], k: usize, keep: impl Fn(u64) -> bool) -> Result<Vec<Rec>> {
        Ok(self
            .index
            .search(q, k, keep)?
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
        let saved = Saved {
            params: self.params.clone(),
            index_params: self.index_params,
            users: self.users.names.clone(),
            items: self.items.names.clone(),
            weights: self.weights.clone(),
            history: self.history.clone(),
            popular: self.popular.clone(),
            item_vectors: self.item_vectors.clone(),
            index: self.index.to_bytes()?,
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
        header.extra = serde_json::to_value(self.index_params).unwrap_or_default();
        model_file::write(path, &header, &payload)
    }

    pub fn load(path: &Path) -> Result<TwoTowerModel> {
        let file = model_file::read_kind(path, KIND)?;
        let bad = |what: &str| {
            Error::input(format!(
                "{}: not a usable {KIND} model ({what})",
                path.display()
            ))
        };
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
            && s.item_vectors.len() == ni * d
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
        let index = ItemIndex::from_bytes(&s.index, d, &s.index_params)?;
        if index.len() != ni {
            return Err(bad("the index does not hold every item"));
        }
        let report = serde_json::from_value::<FitReport>(serde_json::json!({
            "epoch_loss": file.header.metrics.get("epoch_loss").cloned().unwrap_or_default(),
            "seconds": file.header.metrics.get("fit_seconds").cloned().unwrap_or_default(),
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
        let d = self.weights.dim;
        let mut x = vec![0f32; d];
        add_features(&self.weights.user_feat, feats, &mut x);
        let mut q = vec![0f32; d];
        self.weights.user_vector(&x, &mut q);
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
        let mut fresh = std::collections::HashSet::new();
        for id in &ids {
            if self.items.get(id).is_some() || !fresh.insert(id.as_str()) {
                return Err(Error::input(format!(
                    "{name}: item '{id}' is already in the model"
                )));
            }
        }
        let d = self.weights.dim;
        let first = self.items.len();
        let mut vectors = vec![0f32; ids.len() * d];
        for (k, v) in vectors.chunks_mut(d).enumerate() {
            self.weights.item_vector_of(None, rows.of(k), v);
        }
        self.index.add(first as u64, &vectors)?;
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
