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
use crate::dense::{Mat, dot, matmul, matmul_serial};

/// Parts of the item table the bag gradients are spread over in parallel.
const SCATTER_PARTS: usize = 8;

/// Rows of the score matrix handled together (see [`loss`]).
const SCORE_BLOCK: usize = 128;
use crate::features::SparseRows;

/// Trainable tables in [`Weights::tables`].
pub const TABLES: usize = 11;

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
    /// The history bag reads only the latest `max_history` items (0: all). Not trained.
    #[serde(default)]
    pub max_history: u32,
    /// Side-feature tables (hash buckets, then one row per numeric column); empty
    /// without features.
    #[serde(default)]
    pub user_feat: Vec<f32>,
    #[serde(default)]
    pub item_feat: Vec<f32>,
    /// The recent-items channel of the user tower: the weights of the last
    /// `recent_a.len()` items before the one predicted (most recent first) and the
    /// channel's own layer (`dim × dim`, no bias); both empty when the channel is off.
    #[serde(default)]
    pub recent_a: Vec<f32>,
    #[serde(default)]
    pub recent_w: Vec<f32>,
    /// Each item's score bias (a learnt popularity prior, in units of the softmax's
    /// logits): a row scores item `j` as `u·v_j / τ + bias_j`.
    #[serde(default)]
    pub item_bias: Vec<f32>,
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

impl Weights {
    /// The first position of a history of `n` items (oldest first) the bag reads.
    #[inline]
    pub fn bag_start(&self, n: usize) -> usize {
        match self.max_history {
            0 => 0,
            m => n.saturating_sub(m as usize),
        }
    }

    /// The raw weight of position `k` of a history of `n` items in the bag: 0 before
    /// [`Self::bag_start`], else `2^(−(n−1−k)/half_life)`, or 1 with no half-life. A
    /// bag is the weighted mean.
    #[inline]
    pub fn bag_weight(&self, n: usize, k: usize) -> f32 {
        if k < self.bag_start(n) {
            0.0
        } else if self.half_life > 0.0 {
            (-((n - 1 - k) as f32) / self.half_life).exp2()
        } else {
            1.0
        }
    }

    /// The bag weights of a history of `n` items without position `skip`, each
    /// divided by their sum. Empty when nothing is left.
    pub fn bag_weights(&self, n: usize, skip: Option<usize>, out: &mut Vec<f32>) {
        out.clear();
        out.extend((0..n).map(|k| {
            if Some(k) == skip {
                0.0
            } else {
                self.bag_weight(n, k)
            }
        }));
        let total: f32 = out.iter().sum();
        if total > 0.0 {
            out.iter_mut().for_each(|w| *w /= total);
        } else {
            out.clear();
        }
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
    /// Items a batch scored (their biases have a gradient).
    pub touched_bias: Vec<u32>,
    mark_user: Vec<bool>,
    mark_item: Vec<bool>,
    mark_user_feat: Vec<bool>,
    mark_item_feat: Vec<bool>,
    mark_bias: Vec<bool>,
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
            max_history: 0,
            user_feat: Vec::new(),
            item_feat: Vec::new(),
            recent_a: Vec::new(),
            recent_w: Vec::new(),
            item_bias: vec![0.0; n_items],
        }
    }

    /// Switch on the recent-items channel over the last `window` items: equal weights
    /// `1 / window`, the identity layer.
    pub fn with_recent(mut self, window: usize) -> Weights {
        let d = self.dim;
        if window > 0 {
            self.recent_a = vec![1.0 / window as f32; window];
            self.recent_w = (0..d * d)
                .map(|k| if k / d == k % d { 1.0 } else { 0.0 })
                .collect();
        }
        self
    }

    /// Items the recent-items channel looks back over (0: off).
    pub fn window(&self) -> usize {
        self.recent_a.len()
    }

    /// The recent-items channel's input for the item at position `p` of `hist`
    /// (oldest first): `Σ_k a_k E_item[hist[p − 1 − k]]` over the items before `p`.
    pub fn recent_input(&self, hist: &[u32], p: usize, out: &mut [f32]) {
        let d = self.dim;
        out.fill(0.0);
        for (k, &a) in self.recent_a.iter().enumerate().take(p) {
            let i = hist[p - 1 - k] as usize;
            for (o, &e) in out.iter_mut().zip(&self.item_emb[i * d..(i + 1) * d]) {
                *o += a * e;
            }
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
    /// tables, the recent-items channel's layer and weights.
    pub fn tables(&self) -> [&Vec<f32>; TABLES] {
        [
            &self.user_emb,
            &self.item_emb,
            &self.user_w,
            &self.user_b,
            &self.item_w,
            &self.item_b,
            &self.user_feat,
            &self.item_feat,
            &self.recent_w,
            &self.recent_a,
            &self.item_bias,
        ]
    }

    /// [`Self::tables`], mutable.
    pub fn tables_mut(&mut self) -> [&mut Vec<f32>; TABLES] {
        [
            &mut self.user_emb,
            &mut self.item_emb,
            &mut self.user_w,
            &mut self.user_b,
            &mut self.item_w,
            &mut self.item_b,
            &mut self.user_feat,
            &mut self.item_feat,
            &mut self.recent_w,
            &mut self.recent_a,
            &mut self.item_bias,
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
        self.bag_weights(hist.len(), at, &mut wts);
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

    /// The user's output vector (unit length) from its tower input and, with the
    /// recent-items channel on, that channel's input.
    pub fn user_vector(&self, x: &[f32], recent: Option<&[f32]>, out: &mut [f32]) {
        let d = x.len();
        for (k, o) in out.iter_mut().enumerate() {
            *o = dot(&self.user_w[k * d..(k + 1) * d], x) + self.user_b[k];
        }
        if let Some(r) = recent.filter(|_| self.window() > 0) {
            for (k, o) in out.iter_mut().enumerate() {
                *o += dot(&self.recent_w[k * d..(k + 1) * d], r);
            }
        }
        let n = dot(out, out).sqrt();
        if n > 0.0 {
            out.iter_mut().for_each(|v| *v /= n);
        }
    }

    /// A known user's output vector from its id `u` (none for a user new to the
    /// model), its history (oldest first) and its side features.
    pub fn user_vector_of(
        &self,
        u: Option<usize>,
        hist: &[u32],
        feats: (&[u32], &[f32]),
        out: &mut [f32],
    ) {
        let d = self.dim;
        let mut x = vec![0f32; d];
        if let Some(u) = u {
            self.user_input(u, hist, None, &mut x);
        }
        add_features(&self.user_feat, feats, &mut x);
        let mut r = vec![0f32; d];
        self.recent_input(hist, hist.len(), &mut r);
        self.user_vector(&x, Some(&r), out);
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
            touched_bias: Vec::new(),
            mark_bias: vec![false; w.item_bias.len()],
            mark_user: vec![false; w.n_users()],
            mark_item: vec![false; w.n_items()],
            mark_user_feat: vec![false; w.user_feat.len() / w.dim],
            mark_item_feat: vec![false; w.item_feat.len() / w.dim],
        }
    }

    /// The rows each table of [`Weights::tables`] had a gradient in, with the
    /// table's row width, for the embedding, feature and bias tables; `None` for the
    /// dense layers (every entry).
    pub fn touched(&self) -> [Option<(&[u32], usize)>; TABLES] {
        let d = self.w.dim;
        [
            Some((&self.touched_user, d)),
            Some((&self.touched_item, d)),
            None,
            None,
            None,
            None,
            Some((&self.touched_user_feat, d)),
            Some((&self.touched_item_feat, d)),
            None,
            None,
            Some((&self.touched_bias, 1)),
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
        for &r in &self.touched_bias {
            self.w.item_bias[r as usize] = 0.0;
            self.mark_bias[r as usize] = false;
        }
        self.touched_bias.clear();
        for v in [
            &mut self.w.user_w,
            &mut self.w.user_b,
            &mut self.w.item_w,
            &mut self.w.item_b,
            &mut self.w.recent_w,
            &mut self.w.recent_a,
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

/// One batch: the interactions `(user, item, weight)`, and each one's position in its
/// user's history.
pub struct Batch<'a> {
    pub user: &'a [u32],
    pub item: &'a [u32],
    pub weight: &'a [f32],
    pub pos: &'a [u32],
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

/// The history bags of a batch's distinct users: each one's weighted sum of its
/// history items' embeddings and the sum of the weights, before anything is left out.
/// A row's bag is then `(sum − w_s E[item]) / (total − w_s)`, its own interaction (at
/// position `s`) left out, so a heavy user's history is summed once a batch, not once a
/// row.
struct Bags {
    /// Row → index into `users`.
    slot: Vec<u32>,
    /// Distinct users, in order of first appearance in the batch.
    users: Vec<u32>,
    sum: Vec<f32>,
    /// Per row: the weight of the left-out position and `1 / (total − w_s)` (0 when
    /// nothing is left).
    skip_w: Vec<f32>,
    inv: Vec<f32>,
}

impl Bags {
    fn new(w: &Weights, hist: &Groups, batch: &Batch) -> Bags {
        let d = w.dim;
        let mut at: hashbrown::HashMap<u32, u32, foldhash::fast::FixedState> =
            hashbrown::HashMap::with_capacity_and_hasher(batch.user.len(), Default::default());
        let mut users = Vec::new();
        let slot: Vec<u32> = batch
            .user
            .iter()
            .map(|&u| {
                *at.entry(u).or_insert_with(|| {
                    users.push(u);
                    users.len() as u32 - 1
                })
            })
            .collect();
        let mut sum = vec![0f32; users.len() * d];
        let total: Vec<f32> = sum
            .par_chunks_mut(d)
            .zip(users.par_iter())
            .map(|(out, &u)| {
                let h = hist.of(u as usize);
                let mut total = 0f32;
                for (k, &i) in h.iter().enumerate().skip(w.bag_start(h.len())) {
                    let a = w.bag_weight(h.len(), k);
                    total += a;
                    let row = &w.item_emb[i as usize * d..(i as usize + 1) * d];
                    for (o, &e) in out.iter_mut().zip(row) {
                        *o += e * a;
                    }
                }
                total
            })
            .collect();
        let (mut skip_w, mut inv) = (
            Vec::with_capacity(slot.len()),
            Vec::with_capacity(slot.len()),
        );
        for (b, &s) in slot.iter().enumerate() {
            let h = hist.of(users[s as usize] as usize);
            let ws = w.bag_weight(h.len(), batch.pos[b] as usize);
            let t = total[s as usize];
            let left = t - ws;
            skip_w.push(ws);
            inv.push(if left > t * 1e-6 { 1.0 / left } else { 0.0 });
        }
        Bags {
            slot,
            users,
            sum,
            skip_w,
            inv,
        }
    }
}

/// `exp(x)` for `x ≤ 0` in f32 (the softmax's shifted scores): `x = n ln 2 + r` with
/// `ln 2` in two parts (so `r` is exact), `e^r` by its Taylor series to degree 7 on
/// `|r| ≤ ln 2 / 2`; relative error below 3e-7, and a plain loop the compiler
/// vectorises.
#[inline]
fn exp_neg(x: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Round to nearest by adding and taking away 1.5 · 2^23 (no call to `roundf`).
    const SHIFT: f32 = 12_582_912.0;
    let n = (x * std::f32::consts::LOG2_E + SHIFT) - SHIFT;
    let n = if n < -127.0 { -127.0 } else { n };
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^n from the bits of n + 127 + 2^23 (whose low bits are n + 127): no float to
    // integer conversion, so the loop stays in vector registers.
    let nc = if n < -126.0 { -126.0 } else { n };
    let e = p * f32::from_bits(((nc + 8_388_735.0).to_bits() & 0xFF) << 23);
    // Below 2^−126 (and for a masked −∞) the answer is zero.
    if n > -127.0 { e } else { 0.0 }
}

/// A score row made into unnormalised softmax weights, in place: `s/τ − log q`, the
/// `masked` entries (accidental hits) at −∞, shifted by the row's maximum and
/// exponentiated; returns their sum (in eight f64 lanes, a fixed order).
fn softmax_row(row: &mut [f32], lq: &[f32], inv_t: f32, masked: &[u32]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2.
        return unsafe { softmax_row_avx2(row, lq, inv_t, masked) };
    }
    softmax_row_any(row, lq, inv_t, masked)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn softmax_row_avx2(row: &mut [f32], lq: &[f32], inv_t: f32, masked: &[u32]) -> f64 {
    softmax_row_any(row, lq, inv_t, masked)
}

/// [`softmax_row`] written in eight lanes, so that it compiles to vector code; the
/// arithmetic is the same lane by lane whatever the instruction set.
#[inline(always)]
fn softmax_row_any(row: &mut [f32], lq: &[f32], inv_t: f32, masked: &[u32]) -> f64 {
    let mut mx = [f32::NEG_INFINITY; 8];
    let mut rc = row.chunks_exact_mut(8);
    let mut qc = lq.chunks_exact(8);
    for (c, q) in (&mut rc).zip(&mut qc) {
        for l in 0..8 {
            c[l] = c[l] * inv_t - q[l];
            mx[l] = if c[l] > mx[l] { c[l] } else { mx[l] };
        }
    }
    for (v, q) in rc.into_remainder().iter_mut().zip(qc.remainder()) {
        *v = *v * inv_t - q;
        mx[0] = if *v > mx[0] { *v } else { mx[0] };
    }
    let mut max = mx
        .iter()
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    if !masked.is_empty() {
        for &j in masked {
            row[j as usize] = f32::NEG_INFINITY;
        }
        // The maximum again: a masked entry may have held it.
        max = row
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m });
    }
    for v in row.iter_mut() {
        *v = exp_neg(*v - max);
    }
    let mut lanes = [0f64; 8];
    let mut rc = row.chunks_exact(8);
    for c in &mut rc {
        for l in 0..8 {
            lanes[l] += c[l] as f64;
        }
    }
    for &v in rc.remainder() {
        lanes[0] += v as f64;
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5]))
        + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
}

/// One block of rows' share of the loss: each row's loss, and with gradients the
/// block's `du` rows, its share of its group's `dv` and of the group's item biases.
type BlockOut = (Vec<f64>, Vec<f32>, Vec<f32>, Vec<f32>);

/// For each row of a batch, the other rows with the same item, CSR-style (offsets,
/// rows); most rows have none.
fn accidental_hits(items: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut first: hashbrown::HashMap<u32, Vec<u32>, foldhash::fast::FixedState> =
        hashbrown::HashMap::with_capacity_and_hasher(items.len(), Default::default());
    for (b, &i) in items.iter().enumerate() {
        first.entry(i).or_default().push(b as u32);
    }
    let mut at = Vec::with_capacity(items.len() + 1);
    let mut out = Vec::new();
    at.push(0u32);
    for (b, i) in items.iter().enumerate() {
        if let Some(rows) = first.get(i).filter(|r| r.len() > 1) {
            out.extend(rows.iter().copied().filter(|&j| j as usize != b));
        }
        at.push(out.len() as u32);
    }
    (at, out)
}

/// How a batch is scored: each item's logQ correction (`logq · log q_item`), the
/// softmax temperature, and the rows per group of in-batch negatives.
pub struct Scoring<'a> {
    pub log_q: &'a [f32],
    pub temperature: f32,
    pub group: usize,
}

/// The batch loss; with `grads`, also its gradients (added to `grads`).
pub fn loss(
    w: &Weights,
    hist: &Groups,
    feats: &Features,
    batch: &Batch,
    scoring: &Scoring,
    grads: Option<&mut Grads>,
) -> f64 {
    let Scoring {
        log_q,
        temperature,
        group,
    } = *scoring;
    let d = w.dim;
    let bsz = batch.user.len();
    let bags = Bags::new(w, hist, batch);
    // Tower inputs.
    let mut xu = vec![0f32; bsz * d];
    xu.par_chunks_mut(d).enumerate().for_each(|(b, x)| {
        let u = batch.user[b] as usize;
        let s = bags.slot[b] as usize;
        x.copy_from_slice(&w.user_emb[u * d..(u + 1) * d]);
        let inv = bags.inv[b];
        if inv > 0.0 {
            let i = batch.item[b] as usize;
            let own = &w.item_emb[i * d..(i + 1) * d];
            let ws = bags.skip_w[b];
            for ((o, &sm), &e) in x.iter_mut().zip(&bags.sum[s * d..(s + 1) * d]).zip(own) {
                *o += (sm - ws * e) * inv;
            }
        }
        add_features(&w.user_feat, feats.user.of(u), x);
    });
    // The recent-items channel: the items before each row's own, in time order.
    let window = w.window();
    let mut xr = vec![0f32; if window > 0 { bsz * d } else { 0 }];
    xr.par_chunks_mut(d).enumerate().for_each(|(b, r)| {
        w.recent_input(hist.of(batch.user[b] as usize), batch.pos[b] as usize, r);
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
    let mut zu = layer(&xu, &w.user_w, &w.user_b);
    if window > 0 {
        matmul(
            Mat::new(&xr, bsz, d),
            Mat::new(&w.recent_w, d, d).t(),
            &mut zu,
            1.0,
        );
    }
    let zv = layer(&xv, &w.item_w, &w.item_b);
    let mut uu = vec![0f32; bsz * d];
    let mut vv = vec![0f32; bsz * d];
    let nu = normalise_rows(&zu, &mut uu, d);
    let nv = normalise_rows(&zv, &mut vv, d);
    let inv_t = 1.0 / temperature;
    let w_total: f64 = batch.weight.iter().map(|&v| v as f64).sum();
    // A row scores item j as `u·v_j / τ + bias_j − logq·log q_j`.
    let lq: Vec<f32> = batch
        .item
        .iter()
        .map(|&i| log_q[i as usize] - w.item_bias[i as usize])
        .collect();
    let want_grads = grads.is_some();
    // The batch's rows in groups of `group`: a row's negatives are the other items of its
    // group. Each group's scores, softmax and gradients are worked one block of rows at
    // a time, so that a block's scores stay in cache: `s = u vᵀ` for the block's rows
    // against the group's items, made into dloss/ds in place; then the block's
    // `du = ds v` and its share of the group's `dv = dsᵀ u` (summed over the group's
    // blocks in block order, whatever the thread count).
    let group = group.clamp(2, bsz.max(2));
    let mut tasks = Vec::new();
    for g0 in (0..bsz).step_by(group) {
        let g1 = (g0 + group).min(bsz);
        for r0 in (g0..g1).step_by(SCORE_BLOCK) {
            tasks.push((g0, g1, r0, (r0 + SCORE_BLOCK).min(g1)));
        }
    }
    // Rows holding the same item as another row of their group (accidental hits): for
    // each row, the others to mask, as positions in the group.
    let hits: Vec<(Vec<u32>, Vec<u32>)> = (0..bsz)
        .step_by(group)
        .map(|g0| accidental_hits(&batch.item[g0..(g0 + group).min(bsz)]))
        .collect();
    let blocks: Vec<BlockOut> = tasks
        .par_iter()
        .map(|&(g0, g1, r0, r1)| {
            let (rows, gn) = (r1 - r0, g1 - g0);
            let (dup_at, dup) = &hits[g0 / group];
            let ub = &uu[r0 * d..r1 * d];
            let vg = &vv[g0 * d..g1 * d];
            let mut s = vec![0f32; rows * gn];
            matmul_serial(Mat::new(ub, rows, d), Mat::new(vg, gn, d).t(), &mut s);
            let losses: Vec<f64> = s
                .chunks_mut(gn)
                .enumerate()
                .map(|(k, row)| {
                    let b = r0 + k;
                    let own = b - g0;
                    let masked = &dup[dup_at[own] as usize..dup_at[own + 1] as usize];
                    let sum = softmax_row(row, &lq[g0..g1], inv_t, masked);
                    let target = row[own] as f64 / sum;
                    let wb = (batch.weight[b] as f64 / w_total) as f32;
                    let scale = wb / sum as f32;
                    for v in row.iter_mut() {
                        *v *= scale;
                    }
                    row[own] -= wb;
                    -(batch.weight[b] as f64) * target.max(f64::MIN_POSITIVE).ln()
                })
                .collect();
            if !want_grads {
                return (losses, Vec::new(), Vec::new(), Vec::new());
            }
            let mut du = vec![0f32; rows * d];
            matmul_serial(Mat::new(&s, rows, gn), Mat::new(vg, gn, d), &mut du);
            let mut dv = vec![0f32; gn * d];
            matmul_serial(Mat::new(&s, rows, gn).t(), Mat::new(ub, rows, d), &mut dv);
            // The biases' gradient: the block's column sums of dloss/ds.
            let mut dbias = vec![0f32; gn];
            for row in s.chunks(gn) {
                for (a, &v) in dbias.iter_mut().zip(row) {
                    *a += v;
                }
            }
            (losses, du, dv, dbias)
        })
        .collect();
    let loss = blocks.iter().flat_map(|b| &b.0).sum::<f64>() / w_total;
    let Some(g) = grads else {
        return loss;
    };
    let mut du = Vec::with_capacity(bsz * d);
    let mut dv = vec![0f32; bsz * d];
    for (&(g0, g1, _, _), (_, bdu, bdv, bias)) in tasks.iter().zip(&blocks) {
        du.extend_from_slice(bdu);
        for (a, &v) in dv[g0 * d..g1 * d].iter_mut().zip(bdv) {
            *a += v;
        }
        for (&i, &v) in batch.item[g0..g1].iter().zip(bias) {
            add_row(
                &mut g.w.item_bias,
                &mut g.touched_bias,
                &mut g.mark_bias,
                i,
                &[v],
                1.0,
            );
        }
    }
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
    let mut dxr = vec![0f32; xr.len()];
    if window > 0 {
        matmul(
            Mat::new(&du, bsz, d).t(),
            Mat::new(&xr, bsz, d),
            &mut g.w.recent_w,
            1.0,
        );
        matmul(
            Mat::new(&du, bsz, d),
            Mat::new(&w.recent_w, d, d),
            &mut dxr,
            0.0,
        );
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
    // Embedding rows, in batch order; each distinct user's bag gradient is gathered
    // (`dbag`) and spread over its history once, after the rows.
    let mut dbag = vec![0f32; bags.users.len() * d];
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
        let inv = bags.inv[b];
        if inv > 0.0 {
            let s = bags.slot[b] as usize;
            for (a, &v) in dbag[s * d..(s + 1) * d].iter_mut().zip(gx) {
                *a += v * inv;
            }
            // The left-out interaction is not in its own bag.
            add_row(
                &mut g.w.item_emb,
                &mut g.touched_item,
                &mut g.mark_item,
                i,
                gx,
                -bags.skip_w[b] * inv,
            );
        }
        if window > 0 {
            let gr = &dxr[b * d..(b + 1) * d];
            let h = hist.of(u as usize);
            let p = batch.pos[b] as usize;
            for k in 0..window.min(p) {
                let j = h[p - 1 - k];
                g.w.recent_a[k] += dot(gr, &w.item_emb[j as usize * d..(j as usize + 1) * d]);
                add_row(
                    &mut g.w.item_emb,
                    &mut g.touched_item,
                    &mut g.mark_item,
                    j,
                    gr,
                    w.recent_a[k],
                );
            }
        }
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
    }
    // Each distinct user's bag gradient spread over its history: the item table in
    // fixed parts worked in parallel, each part's rows summed in user order (so the
    // sums do not depend on the thread count).
    let rows_per = w.n_items().div_ceil(SCATTER_PARTS).max(1);
    let fresh: Vec<Vec<u32>> =
        g.w.item_emb
            .par_chunks_mut(rows_per * d)
            .zip(g.mark_item.par_chunks_mut(rows_per))
            .enumerate()
            .map(|(part, (table, mark))| {
                let lo = part * rows_per;
                let hi = lo + mark.len();
                let mut fresh = Vec::new();
                for (s, &u) in bags.users.iter().enumerate() {
                    let h = hist.of(u as usize);
                    let gb = &dbag[s * d..(s + 1) * d];
                    for (k, &j) in h.iter().enumerate().skip(w.bag_start(h.len())) {
                        let j = j as usize;
                        if j < lo || j >= hi {
                            continue;
                        }
                        let a = w.bag_weight(h.len(), k);
                        if !mark[j - lo] {
                            mark[j - lo] = true;
                            fresh.push(j as u32);
                        }
                        let row = &mut table[(j - lo) * d..(j - lo + 1) * d];
                        for (t, &v) in row.iter_mut().zip(gb) {
                            *t += v * a;
                        }
                    }
                }
                fresh
            })
            .collect();
    for f in fresh {
        g.touched_item.extend(f);
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
        let mut w = Weights::init(n_users, n_items, d, 3).with_recent(2);
        w.half_life = 1.5;
        // User 0's bag reads its latest two items only.
        w.max_history = 2;
        // Layers away from the identity, so their gradients are exercised.
        let mut rng = SplitMix::new(9);
        for v in w.user_w.iter_mut().chain(w.item_w.iter_mut()) {
            *v += (rng.unit() as f32 - 0.5) * 0.6;
        }
        for v in w.user_b.iter_mut().chain(w.item_b.iter_mut()) {
            *v = (rng.unit() as f32 - 0.5) * 0.2;
        }
        for v in w.recent_w.iter_mut().chain(w.recent_a.iter_mut()) {
            *v += (rng.unit() as f32 - 0.5) * 0.6;
        }
        for v in w.item_bias.iter_mut() {
            *v = (rng.unit() as f32 - 0.5) * 2.0;
        }
        let users = [0u32, 1, 2, 0, 3, 1, 2];
        let items = [1u32, 2, 3, 4, 1, 5, 0];
        let weight = [1.0f32, 2.0, 1.0, 0.5, 1.0, 1.0, 3.0];
        // Histories include each row's item (and user 0 has item 1 twice); `pos` is
        // each row's place in its user's history: user 0's is [1, 4, 1] (the first
        // row is its last item 1, with two items before it), user 1's [2, 5], user
        // 2's [3, 0], user 3's [1].
        let hist = Groups::new(
            &[0, 1, 2, 0, 3, 1, 2, 0],
            &[1, 2, 3, 4, 1, 5, 0, 1],
            n_users,
        );
        let pos = [2u32, 0, 0, 1, 0, 1, 1];
        let log_q: Vec<f32> = (0..n_items).map(|i| -1.0 - 0.1 * i as f32).collect();
        let batch = Batch {
            user: &users,
            item: &items,
            weight: &weight,
            pos: &pos,
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
        // The whole batch as one group (rows 0 and 4 share item 1: an accidental hit),
        // and in groups of four (the two in different groups).
        for group in [7usize, 4] {
            let mut g = Grads::new(&w);
            let sc = Scoring {
                log_q: &log_q,
                temperature: t,
                group,
            };
            loss(&w, &hist, &feats, &batch, &sc, Some(&mut g));
            let eps = 1e-3f32;
            let mut worst = 0f64;
            // Every entry of every trainable table.
            for f in 0..w.tables().len() {
                let n = w.tables()[f].len();
                assert!(n > 0, "table {f} is empty");
                for k in 0..n {
                    let orig = w.tables()[f][k];
                    w.tables_mut()[f][k] = orig + eps;
                    let up = loss(&w, &hist, &feats, &batch, &sc, None);
                    w.tables_mut()[f][k] = orig - eps;
                    let down = loss(&w, &hist, &feats, &batch, &sc, None);
                    w.tables_mut()[f][k] = orig;
                    let numeric = (up - down) / (2.0 * eps as f64);
                    let analytic = g.w.tables()[f][k] as f64;
                    let err =
                        (numeric - analytic).abs() / (1e-2 + numeric.abs().max(analytic.abs()));
                    worst = worst.max(err);
                    assert!(
                        err < 2e-2,
                        "group {group}, table {f}, gradient {k}: numeric {numeric}, analytic {analytic}"
                    );
                }
            }
            assert!(worst > 0.0);
            // Rows no interaction reaches have no gradient and are not touched.
            assert!(!g.touched_user.is_empty() && g.touched_item.len() == 6);
        }
    }

    #[test]
    fn the_recent_channel_reads_the_items_before_the_one_predicted() {
        let mut w = Weights::init(1, 4, 2, 1).with_recent(2);
        w.item_emb = vec![1.0, 0.0, 0.0, 1.0, 2.0, 2.0, -1.0, 3.0];
        w.recent_a = vec![0.5, 0.25];
        let hist = [0u32, 1, 2, 3];
        let mut r = [9f32; 2];
        // Before position 3: items 2 (weight ½) and 1 (weight ¼).
        w.recent_input(&hist, 3, &mut r);
        assert_eq!(r, [1.0, 1.25]);
        // Before position 1 only item 0 exists; before 0 nothing.
        w.recent_input(&hist, 1, &mut r);
        assert_eq!(r, [0.5, 0.0]);
        w.recent_input(&hist, 0, &mut r);
        assert_eq!(r, [0.0, 0.0]);
        // Off: no weights, no layer.
        let off = Weights::init(1, 4, 2, 1);
        assert_eq!((off.window(), off.recent_w.len()), (0, 0));
        // A capped bag reads the latest items only.
        let mut capped = w.clone();
        capped.max_history = 2;
        assert_eq!(capped.bag_start(4), 2);
        assert_eq!(
            (capped.bag_weight(4, 1), capped.bag_weight(4, 2)),
            (0.0, 1.0)
        );
    }

    #[test]
    fn exp_neg_matches_the_standard_exp() {
        let mut worst = 0f64;
        for k in 0..=200_000 {
            let x = -(k as f32) * 4e-4;
            let want = (x as f64).exp();
            let got = exp_neg(x) as f64;
            worst = worst.max((got - want).abs() / want);
        }
        assert!(worst < 3e-7, "relative error {worst}");
        assert_eq!(exp_neg(0.0), 1.0);
        assert_eq!(exp_neg(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_neg(-200.0), 0.0);
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
