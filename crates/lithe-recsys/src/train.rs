//! The training loop: Adam over shuffled batches of interactions, one epoch at a time,
//! so that a caller can score the model between epochs (early stopping, tuning).

use lithe_core::{Error, Result};

use crate::SplitMix;
use crate::data::{Groups, Interactions};
use crate::params::TwoTowerParams;
use crate::tower::{Batch, Features, Grads, Scoring, Weights, loss};

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
        // Slices of one length, zipped, so the loop compiles to vector code.
        let (w, g) = (&mut w[from..to], &g[from..to]);
        let (m, v) = (&mut self.m[from..to], &mut self.v[from..to]);
        for (((w, &g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
            let gk = g + l2 * *w;
            *m = b1 * *m + (1.0 - b1) * gk;
            *v = b2 * *v + (1.0 - b2) * gk * gk;
            *w -= a * *m / (v.sqrt() + eps);
        }
    }
}

/// Each user's items, oldest first: by `timestamp` when there is one (ties in file
/// order), else in file order.
pub fn histories(data: &Interactions) -> Groups {
    histories_and_places(data).0
}

/// [`histories`], and each interaction's place in its user's history.
pub fn histories_and_places(data: &Interactions) -> (Groups, Vec<u32>) {
    let mut rows: Vec<u32> = (0..data.len() as u32).collect();
    if let Some(time) = &data.time {
        rows.sort_by(|&a, &b| time[a as usize].total_cmp(&time[b as usize]));
    }
    let users: Vec<u32> = rows.iter().map(|&r| data.user[r as usize]).collect();
    let by_user = Groups::new(&users, &rows, data.users.len());
    let mut place = vec![0u32; data.len()];
    let mut items = Vec::with_capacity(data.len());
    for u in 0..by_user.n_groups() {
        for (k, &r) in by_user.of(u).iter().enumerate() {
            place[r as usize] = k as u32;
            items.push(data.item[r as usize]);
        }
    }
    let history = Groups {
        offsets: by_user.offsets,
        values: items,
    };
    (history, place)
}

/// Interactions per item.
pub fn item_counts(data: &Interactions) -> Vec<u64> {
    let mut counts = vec![0u64; data.items.len()];
    for &i in &data.item {
        counts[i as usize] += 1;
    }
    counts
}

/// A model in training: its weights, optimiser state and batch order.
pub struct Trainer<'a> {
    params: &'a TwoTowerParams,
    data: &'a Interactions,
    history: &'a Groups,
    /// Each interaction's place in its user's history.
    place: &'a [u32],
    features: &'a Features,
    log_q: Vec<f32>,
    pub weights: Weights,
    grads: Grads,
    opt: Vec<Adam>,
    order: Vec<u32>,
    rng: SplitMix,
    step: i32,
    /// Epochs run so far.
    pub epoch: usize,
}

impl<'a> Trainer<'a> {
    /// Fresh weights for `data` (its users and items), with the feature tables sized
    /// for `user_feature_rows` and `item_feature_rows` rows.
    pub fn new(
        params: &'a TwoTowerParams,
        data: &'a Interactions,
        history: &'a Groups,
        place: &'a [u32],
        features: &'a Features,
        feature_rows: (usize, usize),
    ) -> Trainer<'a> {
        let d = params.dim;
        let counts = item_counts(data);
        // An item without training interactions (one held out for validation) is never
        // a batch's positive, so its correction is never read; 1 keeps it finite.
        let log_q: Vec<f32> = counts
            .iter()
            .map(|&c| (params.logq * (c.max(1) as f64 / data.len() as f64).ln()) as f32)
            .collect();
        let mut w = Weights::init(data.users.len(), data.items.len(), d, params.seed)
            .with_recent(params.window(data.time.is_some()));
        w.half_life = params.half_life as f32;
        w.max_history = params.max_history.min(u32::MAX as usize) as u32;
        w.user_feat = vec![0.0; feature_rows.0 * d];
        w.item_feat = vec![0.0; feature_rows.1 * d];
        let grads = Grads::new(&w);
        // One Adam per parameter table, in the order of `Weights::tables_mut`.
        let opt: Vec<Adam> = w.tables_mut().iter().map(|t| Adam::new(t.len())).collect();
        Trainer {
            params,
            data,
            history,
            place,
            features,
            log_q,
            weights: w,
            grads,
            opt,
            order: (0..data.len() as u32).collect(),
            rng: SplitMix::new(params.seed ^ 0x5EED),
            step: 0,
            epoch: 0,
        }
    }

    /// One pass over the interactions in a fresh order; returns the mean batch loss.
    /// A loss that is not finite, or a weight past [`MAX_WEIGHT`], is an error.
    pub fn run_epoch(&mut self) -> Result<f64> {
        let data = self.data;
        // A fresh order each epoch (Fisher–Yates from the seed).
        for k in (1..self.order.len()).rev() {
            let j = (self.rng.next_u64() % (k as u64 + 1)) as usize;
            self.order.swap(k, j);
        }
        let bsz = self.params.batch.min(data.len()).max(2.min(data.len()));
        let (lr, l2, t) = (
            self.params.learning_rate as f32,
            self.params.l2 as f32,
            self.params.temperature as f32,
        );
        let (mut sum, mut batches) = (0f64, 0usize);
        let (mut bu, mut bi, mut bw, mut bp) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for chunk in self.order.chunks(bsz) {
            if chunk.len() < 2 {
                continue;
            }
            bu.clear();
            bi.clear();
            bw.clear();
            bp.clear();
            for &r in chunk {
                bu.push(data.user[r as usize]);
                bi.push(data.item[r as usize]);
                bw.push(data.weight[r as usize]);
                bp.push(self.place[r as usize]);
            }
            let batch = Batch {
                user: &bu,
                item: &bi,
                weight: &bw,
                pos: &bp,
            };
            self.grads.clear();
            sum += loss(
                &self.weights,
                self.history,
                self.features,
                &batch,
                &Scoring {
                    log_q: &self.log_q,
                    temperature: t,
                    group: self.params.negatives + 1,
                },
                Some(&mut self.grads),
            );
            batches += 1;
            self.step += 1;
            // Embedding tables step only their touched rows, with L2; the dense
            // layers step whole, without.
            let touched = self.grads.touched();
            let gw = self.grads.w.tables();
            for (((wt, gt), adam), rows) in self
                .weights
                .tables_mut()
                .into_iter()
                .zip(gw)
                .zip(&mut self.opt)
                .zip(touched)
            {
                match rows {
                    Some((rows, width)) => {
                        for &r in rows {
                            let r = r as usize;
                            adam.step(wt, gt, r * width, (r + 1) * width, self.step, lr, l2);
                        }
                    }
                    None => adam.step(wt, gt, 0, gt.len(), self.step, lr, 0.0),
                }
            }
        }
        self.epoch += 1;
        let mean = sum / batches.max(1) as f64;
        if !mean.is_finite() {
            return Err(Error::input(format!(
                "training diverged in epoch {} (loss {mean}); try a smaller learning_rate \
                 (now {:?})",
                self.epoch, self.params.learning_rate
            )));
        }
        // The last step of the epoch comes after its last loss: a weight it made
        // non-finite, or so large that scores overflow, fails here rather than in a
        // model whose scores are NaN.
        let bad = self
            .weights
            .tables()
            .into_iter()
            .flatten()
            .find(|w| !w.is_finite() || w.abs() > MAX_WEIGHT);
        if let Some(w) = bad {
            return Err(Error::input(format!(
                "training diverged in epoch {}: a weight became {w:?}; try a smaller \
                 learning_rate (now {:?})",
                self.epoch, self.params.learning_rate
            )));
        }
        Ok(mean)
    }
}

/// The largest weight magnitude training accepts: products of vectors of such
/// weights stay well inside f32 at any dimension lithe uses.
pub const MAX_WEIGHT: f32 = 1e12;

#[cfg(test)]
mod tests {
    use super::*;
    use lithe_core::{Column, Table};

    #[test]
    fn histories_are_in_time_order_with_each_row_s_place() {
        let t = Table::new(vec![
            Column::from_strings("user_id", &[Some("a"), Some("b"), Some("a"), Some("a")]).unwrap(),
            Column::from_strings("item_id", &[Some("x"), Some("y"), Some("z"), Some("w")]).unwrap(),
            Column::from_f64("timestamp", vec![5.0, 1.0, 2.0, 5.0]),
        ])
        .unwrap();
        let d = Interactions::from_table(&t, "t").unwrap();
        let (h, place) = histories_and_places(&d);
        // a: z (2), then x and w (5, in file order); b: y.
        let names = |u: usize| -> Vec<&str> {
            h.of(u)
                .iter()
                .map(|&i| d.items.names[i as usize].as_str())
                .collect()
        };
        assert_eq!(names(0), vec!["z", "x", "w"]);
        assert_eq!(names(1), vec!["y"]);
        assert_eq!(place, vec![1, 0, 0, 2]);
        for (r, &at) in place.iter().enumerate() {
            assert_eq!(h.of(d.user[r] as usize)[at as usize], d.item[r]);
        }
    }
}
