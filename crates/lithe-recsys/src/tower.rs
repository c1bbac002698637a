//! The two towers, their loss and its gradients, written by hand.
//!
//! User tower: `x_u = E_user[u] + Σ_k a_k E_item[h_k] + Σ w F_user[row]` (the history
//! bag, without the interaction being predicted in training; the user's side features,
//! see [`crate::features`]), then `u = normalise(W_u x_u + b_u)`. Item tower:
//! `v = normalise(W_v (E_item[i] + Σ w F_item[row]) + b_v)`.
//!
//! Loss over a batch of (user, item, weight) interactions: in-batch sampled softmax.
//! Row `b` scores every item of the batch, `s_bj = u_b · v_j / τ − log q_j`, where
//! `q_j` is item `j`'s share of the interactions (the chance it appears as another
//! row's negative: the logQ correction of Yi et al., RecSys 2019); another row holding
//! the same item as `b` is not a negative of `b` (accidental hit, masked);
//! `loss = −Σ_b w_b log softmax(s_b)_b / Σ_b w_b`.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::SplitMix;
use crate::data::Groups;
use crate::dense::{Mat, dot, matmul};
use crate::features::SparseRows;

/// The trainable weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    pub dim: usize,
    pub user_emb: Vec<f32>,
    /// Item embeddings: the item tower's input, and the user tower's history bag.
    pub item_emb: Vec<f32>,
    /// `dim × dim`, row-major: `z_k = Σ_j w[k·dim + j] x_j + b_k`.
    pub user_w: Vec<f32>,
    pub user_b: Vec<f32>,
    pub item_w: Vec<f32>,
    pub item_b: Vec<f32>,
    /// Half-life of the history bag's weights, in interactions counted back from the
    /// latest (0: a plain mean). Not trained.
    #[serde(default)]
    pub half_life: f32,
    /// Side-feature tables (hash buckets, then one row per numeric column); empty
    /// without features.
    #[serde(default)]
    pub user_feat: Vec<f32>,
    #[serde(default)]
    pub item_feat: Vec<f32>,
}

/// Each user's and each item's side features (rows of the feature tables).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Features {
    pub user: SparseRows,
    pub item: SparseRows,
}

impl Features {
    /// No features for `n_users` users and `n_items` items.
    pub fn none(n_users: usize, n_items: usize) -> Features {
        Features {
            user: SparseRows::empty(n_users),
            item: SparseRows::empty(n_items),
        }
    }
}

/// `out += Σ w · table[row]` over the sparse `feats`.
pub fn add_features(table: &[f32], feats: (&[u32], &[f32]), out: &mut [f32]) {
    let d = out.len();
    for (&r, &w) in feats.0.iter().zip(feats.1) {
        let row = &table[r as usize * d..(r as usize + 1) * d];
        for (o, &e) in out.iter_mut().zip(row) {
            *o += e * w;
        }
    }
}

/// The bag weights of a history of `n` items (oldest first) without position `skip`,
/// each divided by their sum: `2^(−(n−1−k)/half_life)`, or equal with no half-life.
/// Empty when nothing is left.
pub fn bag_weights(n: usize, skip: Option<usize>, half_life: f32, out: &mut Vec<f32>) {
    out.clear();
    out.extend((0..n).map(|k| {
        if Some(k) == skip {
            0.0
        } else if half_life > 0.0 {
            (-((n - 1 - k) as f32) / half_life).exp2()
        } else {
            1.0
        }
    }));
    let total: f32 = out.iter().sum();
    if total > 0.0 {
        out.iter_mut().for_each(|w| *w /= total);
    } else {
        out.clear();
    }
}

/// Gradients in the shapes of [`Weights`], with the embedding rows a batch touched.
#[derive(Debug, Clone)]
pub struct Grads {
    pub w: Weights,
    pub touched_user: Vec<u32>,
    pub touched_item: Vec<u32>,
    pub touched_user_feat: Vec<u32>,
    pub touched_item_feat: Vec<u32>,
    mark_user: Vec<bool>,
    mark_item: Vec<bool>,
    mark_user_feat: Vec<bool>,
    mark_item_feat: Vec<bool>,
}

impl Weights {
    /// Small random embeddings (uniform, standard deviation 0.1) and identity layers.
    pub fn init(n_users: usize, n_items: usize, dim: usize, seed: u64) -> Weights {
        let mut rng = SplitMix::new(seed);
        let a = 0.1 * 3f32.sqrt();
        let mut table = |n: usize| -> Vec<f32> {
            (0..n * dim)
                .map(|_| (rng.unit() as f32 * 2.0 - 1.0) * a)
                .collect()
        };
        let user_emb = table(n_users);
        let item_emb = table(n_items);
        let eye: Vec<f32> = (0..dim * dim)
            .map(|k| if k / dim == k % dim { 1.0 } else { 0.0 })
            .collect();
        Weights {
            dim,
            user_emb,
            item_emb,
            user_w: eye.clone(),
            user_b: vec![0.0; dim],
            item_w: eye,
            item_b: vec![0.0; dim],
            half_life: 0.0,
            user_feat: Vec::new(),
            item_feat: Vec::new(),
        }
    }

    pub fn n_users(&self) -> usize {
        self.user_emb.len() / self.dim
    }

    pub fn n_items(&self) -> usize {
        self.item_emb.len() / self.dim
    }

    /// The trainable tables in one fixed order: the user and item embeddings, the
    /// user layer's weights and bias, the item layer's, the user and item feature
    /// tables.
    pub fn tables(&self) -> [&Vec<f32>; 8] {
        [
            &self.user_emb,
            &self.item_emb,
            &self.user_w,
            &self.user_b,
            &self.item_w,
            &self.item_b,
            &self.user_feat,
            &self.item_feat,
        ]
    }

    /// [`Self::tables`], mutable.
    pub fn tables_mut(&mut self) -> [&mut Vec<f32>; 8] {
        [
            &mut self.user_emb,
            &mut self.item_emb,
            &mut self.user_w,
            &mut self.user_b,
            &mut self.item_w,
            &mut self.item_b,
            &mut self.user_feat,
            &mut self.item_feat,
        ]
    }

    fn zeros_like(&self) -> Weights {
        let mut z = self.clone();
        for t in z.tables_mut() {
            t.fill(0.0);
        }
        z
    }

    /// The user tower's input for user `u` with history `hist` (oldest first),
    /// leaving out the first occurrence of `skip` (the interaction being predicted)
    /// when given.
    pub fn user_input(&self, u: usize, hist: &[u32], skip: Option<u32>, out: &mut [f32]) {
        let d = self.dim;
        out.copy_from_slice(&self.user_emb[u * d..(u + 1) * d]);
        let at = skip.and_then(|s| hist.iter().position(|&i| i == s));
        let mut wts = Vec::new();
        bag_weights(hist.len(), at, self.half_life, &mut wts);
        for (&i, &a) in hist.iter().zip(&wts) {
            if a == 0.0 {
                continue;
            }
            let row = &self.item_emb[i as usize * d..(i as usize + 1) * d];
            for (o, &e) in out.iter_mut().zip(row) {
                *o += e * a;
            }
        }
    }

    /// The user's output vector (unit length) from its tower input.
    pub fn user_vector(&self, x: &[f32], out: &mut [f32]) {
        layer_norm_out(&self.user_w, &self.user_b, x, out);
    }

    /// The item tower's output for an item with id embedding `emb` (none for an item
    /// added after training) and side features `feats`.
    pub fn item_vector_of(&self, emb: Option<&[f32]>, feats: (&[u32], &[f32]), out: &mut [f32]) {
        let mut x = vec![0f32; self.dim];
        if let Some(e) = emb {
            x.copy_from_slice(e);
        }
        add_features(&self.item_feat, feats, &mut x);
        layer_norm_out(&self.item_w, &self.item_b, &x, out);
    }

    /// Every trained item's output vector, row-major.
    pub fn item_vectors(&self, feats: &SparseRows) -> Vec<f32> {
        let d = self.dim;
        let mut out = vec![0f32; self.n_items() * d];
        out.par_chunks_mut(d).enumerate().for_each(|(i, o)| {
            self.item_vector_of(Some(&self.item_emb[i * d..(i + 1) * d]), feats.of(i), o)
        });
        out
    }
}

/// `normalise(W x + b)`; a zero vector stays zero.
fn layer_norm_out(w: &[f32], b: &[f32], x: &[f32], out: &mut [f32]) {
    let d = x.len();
    for k in 0..d {
        out[k] = dot(&w[k * d..(k + 1) * d], x) + b[k];
    }
    let n = dot(out, out).sqrt();
    if n > 0.0 {
        out.iter_mut().for_each(|v| *v /= n);
    }
}

impl Grads {
    pub fn new(w: &Weights) -> Grads {
        Grads {
            w: w.zeros_like(),
            touched_user: Vec::new(),
            touched_item: Vec::new(),
            touched_user_feat: Vec::new(),
            touched_item_feat: Vec::new(),
            mark_user: vec![false; w.n_users()],
            mark_item: vec![false; w.n_items()],
            mark_user_feat: vec![false; w.user_feat.len() / w.dim],
            mark_item_feat: vec![false; w.item_feat.len() / w.dim],
        }
    }

    /// The rows each table of [`Weights::tables`] had a gradient in, for the
    /// embedding and feature tables; `None` for the dense layers (every entry).
    pub fn touched(&self) -> [Option<&[u32]>; 8] {
        [
            Some(&self.touched_user),
            Some(&self.touched_item),
            None,
            None,
            None,
            None,
            Some(&self.touched_user_feat),
            Some(&self.touched_item_feat),
        ]
    }

    /// Zero the touched rows and the dense layers.
    pub fn clear(&mut self) {
        let d = self.w.dim;
        for (list, mark, table) in [
            (
                &mut self.touched_user,
                &mut self.mark_user,
                &mut self.w.user_emb,
            ),
            (
                &mut self.touched_item,
                &mut self.mark_item,
                &mut self.w.item_emb,
            ),
            (
                &mut self.touched_user_feat,
                &mut self.mark_user_feat,
                &mut self.w.user_feat,
            ),
            (
                &mut self.touched_item_feat,
                &mut self.mark_item_feat,
                &mut self.w.item_feat,
            ),
        ] {
            for &r in list.iter() {
                table[r as usize * d..(r as usize + 1) * d].fill(0.0);
                mark[r as usize] = false;
            }
            list.clear();
        }
        for v in [
            &mut self.w.user_w,
            &mut self.w.user_b,
            &mut self.w.item_w,
            &mut self.w.item_b,
        ] {
            v.fill(0.0);
        }
    }
}

/// Add `g` to row `r` of a gradient table, noting the row as touched.
fn add_row(
    table: &mut [f32],
    list: &mut Vec<u32>,
    mark: &mut [bool],
    r: u32,
    g: &[f32],
    scale: f32,
) {
    let d = g.len();
    if !mark[r as usize] {
        mark[r as usize] = true;
        list.push(r);
    }
    for (t, &v) in table[r as usize * d..(r as usize + 1) * d]
        .iter_mut()
        .zip(g)
    {
        *t += v * scale;
    }
}

/// One batch: the interactions `(user, item, weight)`.
pub struct Batch<'a> {
    pub user: &'a [u32],
    pub item: &'a [u32],
    pub weight: &'a [f32],
}

/// Row `b` of `z` normalised into `out`; returns the norm.
fn normalise_rows(z: &[f32], out: &mut [f32], d: usize) -> Vec<f32> {
    out.copy_from_slice(z);
    out.chunks_mut(d)
        .map(|r| {
            let n = dot(r, r).sqrt();
            if n > 0.0 {
                r.iter_mut().for_each(|v| *v /= n);
            }
            n
        })
        .collect()
}

/// The gradient through `y = z / |z|`: `dz = (dy − y (y · dy)) / |z|`, in place.
fn back_normalise(y: &[f32], norms: &[f32], dy: &mut [f32], d: usize) {
    dy.par_chunks_mut(d)
        .zip(y.par_chunks(d))
        .zip(norms.par_iter())
        .for_each(|((g, y), &n)| {
            if n > 0.0 {
                let p = dot(y, g);
                for (g, &y) in g.iter_mut().zip(y) {
                    *g = (*g - y * p) / n;
                }
            } else {
                g.fill(0.0);
            }
        });
}

/// The batch loss; with `grads`, also its gradients (added to `grads`).
pub fn loss(
    w: &Weights,
    hist: &Groups,
    feats: &Features,
    batch: &Batch,
    log_q: &[f32],
    temperature: f32,
    grads: Option<&mut Grads>,
) -> f64 {
    let d = w.dim;
    let bsz = batch.user.len();
    // Tower inputs.
    let mut xu = vec![0f32; bsz * d];
    xu.par_chunks_mut(d).enumerate().for_each(|(b, x)| {
        let u = batch.user[b] as usize;
        w.user_input(u, hist.of(u), Some(batch.item[b]), x);
        add_features(&w.user_feat, feats.user.of(u), x);
    });
    let mut xv = vec![0f32; bsz * d];
    for (b, x) in xv.chunks_mut(d).enumerate() {
        let i = batch.item[b] as usize;
        x.copy_from_slice(&w.item_emb[i * d..(i + 1) * d]);
        add_features(&w.item_feat, feats.item.of(i), x);
    }
    // z = x Wᵀ + b, then unit vectors.
    let layer = |x: &[f32], wm: &[f32], bias: &[f32]| {
        let mut z = vec![0f32; bsz * d];
        matmul(Mat::new(x, bsz, d), Mat::new(wm, d, d).t(), &mut z, 0.0);
        for r in z.chunks_mut(d) {
            r.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
        }
        z
    };
    let zu = layer(&xu, &w.user_w, &w.user_b);
    let zv = layer(&xv, &w.item_w, &w.item_b);
    let mut uu = vec![0f32; bsz * d];
    let mut vv = vec![0f32; bsz * d];
    let nu = normalise_rows(&zu, &mut uu, d);
    let nv = normalise_rows(&zv, &mut vv, d);
    // Scores and the softmax, row by row; `s` becomes dloss/ds.
    let mut s = vec![0f32; bsz * bsz];
    matmul(
        Mat::new(&uu, bsz, d),
        Mat::new(&vv, bsz, d).t(),
        &mut s,
        0.0,
    );
    let inv_t = 1.0 / temperature;
    let w_total: f64 = batch.weight.iter().map(|&v| v as f64).sum();
    let row_loss: Vec<f64> = s
        .par_chunks_mut(bsz)
        .enumerate()
        .map(|(b, row)| {
            let own = batch.item[b];
            let mut max = f32::NEG_INFINITY;
            for (j, v) in row.iter_mut().enumerate() {
                if j != b && batch.item[j] == own {
                    *v = f32::NEG_INFINITY;
                } else {
                    *v = *v * inv_t - log_q[batch.item[j] as usize];
                    max = max.max(*v);
                }
            }
            let mut sum = 0f64;
            for v in row.iter_mut() {
                let e = ((*v - max) as f64).exp();
                sum += e;
                *v = e as f32;
            }
            let target = row[b] as f64 / sum;
            let wb = (batch.weight[b] as f64 / w_total) as f32;
            for (j, v) in row.iter_mut().enumerate() {
                let p = (*v as f64 / sum) as f32;
                *v = wb * (p - if j == b { 1.0 } else { 0.0 });
            }
            -(batch.weight[b] as f64) * target.max(f64::MIN_POSITIVE).ln()
        })
        .collect();
    let loss = row_loss.iter().sum::<f64>() / w_total;
    let Some(g) = grads else {
        return loss;
    };
    // du = ds v / τ, dv = dsᵀ u / τ.
    let mut du = vec![0f32; bsz * d];
    let mut dv = vec![0f32; bsz * d];
    matmul(Mat::new(&s, bsz, bsz), Mat::new(&vv, bsz, d), &mut du, 0.0);
    matmul(
        Mat::new(&s, bsz, bsz).t(),
        Mat::new(&uu, bsz, d),
        &mut dv,
        0.0,
    );
    du.iter_mut().chain(dv.iter_mut()).for_each(|v| *v *= inv_t);
    back_normalise(&uu, &nu, &mut du, d);
    back_normalise(&vv, &nv, &mut dv, d);
    // Layers: dW += dzᵀ x, db += Σ dz, dx = dz W.
    matmul(
        Mat::new(&du, bsz, d).t(),
        Mat::new(&xu, bsz, d),
        &mut g.w.user_w,
        1.0,
    );
    matmul(
        Mat::new(&dv, bsz, d).t(),
        Mat::new(&xv, bsz, d),
        &mut g.w.item_w,
        1.0,
    );
    for r in du.chunks(d) {
        g.w.user_b.iter_mut().zip(r).for_each(|(a, b)| *a += b);
    }
    for r in dv.chunks(d) {
        g.w.item_b.iter_mut().zip(r).for_each(|(a, b)| *a += b);
    }
    let mut dxu = vec![0f32; bsz * d];
    let mut dxv = vec![0f32; bsz * d];
    matmul(
        Mat::new(&du, bsz, d),
        Mat::new(&w.user_w, d, d),
        &mut dxu,
        0.0,
    );
    matmul(
        Mat::new(&dv, bsz, d),
        Mat::new(&w.item_w, d, d),
        &mut dxv,
        0.0,
    );
    // Embedding rows, in batch order.
    let mut wts = Vec::new();
    for b in 0..bsz {
        let (u, i) = (batch.user[b], batch.item[b]);
        let gx = &dxu[b * d..(b + 1) * d];
        add_row(
            &mut g.w.user_emb,
            &mut g.touched_user,
            &mut g.mark_user,
            u,
            gx,
            1.0,
        );
        add_row(
            &mut g.w.item_emb,
            &mut g.touched_item,
            &mut g.mark_item,
            i,
            &dxv[b * d..(b + 1) * d],
            1.0,
        );
        let (rows, ws) = feats.user.of(u as usize);
        for (&r, &a) in rows.iter().zip(ws) {
            let (t, l, m) = (
                &mut g.w.user_feat,
                &mut g.touched_user_feat,
                &mut g.mark_user_feat,
            );
            add_row(t, l, m, r, gx, a);
        }
        let gv = &dxv[b * d..(b + 1) * d];
        let (rows, ws) = feats.item.of(i as usize);
        for (&r, &a) in rows.iter().zip(ws) {
            let (t, l, m) = (
                &mut g.w.item_feat,
                &mut g.touched_item_feat,
                &mut g.mark_item_feat,
            );
            add_row(t, l, m, r, gv, a);
        }
        let h = hist.of(u as usize);
        bag_weights(
            h.len(),
            h.iter().position(|&j| j == i),
            w.half_life,
            &mut wts,
        );
        for (&j, &a) in h.iter().zip(&wts) {
            if a != 0.0 {
                add_row(
                    &mut g.w.item_emb,
                    &mut g.touched_item,
                    &mut g.mark_item,
                    j,
                    gx,
                    a,
                );
            }
        }
    }
    loss
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every gradient against a central finite difference of the loss, in f64 terms
    /// of the f32 model, on a small random model with repeated items and users.
    #[test]
    fn gradients_match_finite_differences() {
        let (n_users, n_items, d) = (4, 6, 5);
        let mut w = Weights::init(n_users, n_items, d, 3);
        w.half_life = 1.5;
        // Layers away from the identity, so their gradients are exercised.
        let mut rng = SplitMix::new(9);
        for v in w.user_w.iter_mut().chain(w.item_w.iter_mut()) {
            *v += (rng.unit() as f32 - 0.5) * 0.6;
        }
        for v in w.user_b.iter_mut().chain(w.item_b.iter_mut()) {
            *v = (rng.unit() as f32 - 0.5) * 0.2;
        }
        let users = [0u32, 1, 2, 0, 3, 1, 2];
        let items = [1u32, 2, 3, 4, 1, 5, 0];
        let weight = [1.0f32, 2.0, 1.0, 0.5, 1.0, 1.0, 3.0];
        // Histories include each row's item (and user 0 has item 1 twice).
        let hist = Groups::new(
            &[0, 1, 2, 0, 3, 1, 2, 0],
            &[1, 2, 3, 4, 1, 5, 0, 1],
            n_users,
        );
        let log_q: Vec<f32> = (0..n_items).map(|i| -1.0 - 0.1 * i as f32).collect();
        let batch = Batch {
            user: &users,
            item: &items,
            weight: &weight,
        };
        // Side features: three feature rows per tower, shared and weighted.
        w.user_feat = (0..3 * d).map(|_| rng.unit() as f32 - 0.5).collect();
        w.item_feat = (0..3 * d).map(|_| rng.unit() as f32 - 0.5).collect();
        let mut feats = Features::none(0, 0);
        for k in 0..n_users {
            feats
                .user
                .push(&[(k as u32 % 3, 1.0), (2, -0.7)][..1 + k % 2]);
        }
        for k in 0..n_items {
            feats
                .item
                .push(&[(k as u32 % 3, 0.5), ((k as u32 + 1) % 3, 0.5)]);
        }
        let t = 0.5;
        let mut g = Grads::new(&w);
        loss(&w, &hist, &feats, &batch, &log_q, t, Some(&mut g));
        let eps = 1e-3f32;
        let mut worst = 0f64;
        // Every entry of every trainable table.
        for f in 0..w.tables().len() {
            let n = w.tables()[f].len();
            assert!(n > 0, "table {f} is empty");
            for k in 0..n {
                let orig = w.tables()[f][k];
                w.tables_mut()[f][k] = orig + eps;
                let up = loss(&w, &hist, &feats, &batch, &log_q, t, None);
                w.tables_mut()[f][k] = orig - eps;
                let down = loss(&w, &hist, &feats, &batch, &log_q, t, None);
                w.tables_mut()[f][k] = orig;
                let numeric = (up - down) / (2.0 * eps as f64);
                let analytic = g.w.tables()[f][k] as f64;
                let err = (numeric - analytic).abs() / (1e-2 + numeric.abs().max(analytic.abs()));
                worst = worst.max(err);
                assert!(
                    err < 2e-2,
                    "gradient {k}: numeric {numeric}, analytic {analytic}"
                );
            }
        }
        assert!(worst > 0.0);
        // Rows no interaction reaches have no gradient and are not touched.
        assert!(!g.touched_user.is_empty() && g.touched_item.len() == 6);
    }

    #[test]
    fn the_user_input_leaves_out_one_occurrence_of_the_target() {
        let w = Weights::init(1, 3, 2, 1);
        let mut with = [0f32; 2];
        let mut without = [0f32; 2];
        w.user_input(0, &[0, 2, 2], Some(2), &mut with);
        w.user_input(0, &[0, 2], None, &mut without);
        assert_eq!(with, without);
    }
}
