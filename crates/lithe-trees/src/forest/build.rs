//! Growing one tree of the forest: depth-first, a fresh draw of features at every
//! split, the best split by the impurity proxy over histograms of its rows.

use super::*;

/// Targets as the learner reads them.
pub(super) enum Targets {
    /// Binary (0/1) or regression values.
    Value(Vec<f64>),
    /// Multiclass: class index per row.
    Class(Vec<u32>, usize),
}

impl Targets {
    pub(super) fn n_out(&self) -> usize {
        match self {
            Targets::Value(_) => 1,
            Targets::Class(_, k) => *k,
        }
    }
}

/// A node's (or a bin's) totals: weight (bootstrap copies × row weights) and distinct
/// rows.
#[derive(Clone, Copy, Default)]
pub(super) struct Tot {
    pub(super) w: f64,
    pub(super) n: u32,
}

/// One histogram bin: totals and, for one output, the weighted target sum.
#[derive(Clone, Copy, Default)]
pub(super) struct HBin {
    pub(super) w: f64,
    pub(super) s: f64,
    pub(super) n: u32,
}

/// Per-tree scratch, reused by every node: one feature's histogram, the node's rows'
/// weights and targets gathered in row order, and the split search's buffers.
#[derive(Default)]
pub(super) struct Scratch {
    pub(super) hist: Vec<HBin>,
    /// Multiclass: per-bin class sums (`bin * k + class`).
    pub(super) class_sums: Vec<f64>,
    pub(super) touched: Vec<u32>,
    pub(super) rows_tmp: Vec<u32>,
    /// The node's rows' weights, and weight × target (one output) or class (multiclass).
    pub(super) node_w: Vec<f64>,
    pub(super) node_wy: Vec<f64>,
    pub(super) node_class: Vec<u32>,
    pub(super) left_s: Vec<f64>,
    pub(super) right_s: Vec<f64>,
    pub(super) with_missing: Vec<f64>,
}

/// Add `rows` (with their gathered weights and targets) to the histogram of a column.
/// With `TRACK`, list each bin on its first use in `touched` (small nodes); without,
/// the caller finds the used bins by a pass over the histogram (large nodes, where
/// the branch would cost more than the pass).
#[inline]
pub(super) fn fill<T: Copy + Into<usize>, const TRACK: bool>(
    col: &[T],
    rows: &[u32],
    s: &mut Scratch,
    k: usize,
) {
    let hist = &mut s.hist;
    let touched = &mut s.touched;
    if k == 1 {
        for ((&r, &w), &wy) in rows.iter().zip(&s.node_w).zip(&s.node_wy) {
            let b: usize = col[r as usize].into();
            let e = &mut hist[b];
            if TRACK && e.n == 0 {
                touched.push(b as u32);
            }
            e.w += w;
            e.s += wy;
            e.n += 1;
        }
    } else {
        for ((&r, &w), &c) in rows.iter().zip(&s.node_w).zip(&s.node_class) {
            let b: usize = col[r as usize].into();
            let e = &mut hist[b];
            if TRACK && e.n == 0 {
                touched.push(b as u32);
            }
            e.w += w;
            e.n += 1;
            s.class_sums[b * k + c as usize] += w;
        }
    }
}

/// Sum of `Σ_d s_d² / w` over the outputs: the criterion a split maximises.
#[inline]
pub(super) fn proxy(s: &[f64], w: f64) -> f64 {
    if w <= 0.0 {
        return 0.0;
    }
    s.iter().map(|v| v * v).sum::<f64>() / w
}

pub(super) struct Best {
    pub(super) gain: f64,
    pub(super) feature: usize,
    /// Bins `<= bin` go left, missing goes left iff `default_left`.
    pub(super) bin: usize,
    pub(super) default_left: bool,
}

/// Nodes with at most this many rows are split by sorting them (one output only).
pub(super) const SMALL_NODE: usize = 16; // positions fit in 4 bits of a sort key

/// Trees grown in parallel before their out-of-bag leaves are added up.
pub(super) const OOB_BATCH: usize = 16;

/// Rows scored together by every tree in turn (batch prediction).
pub(super) const ROW_BLOCK: usize = 512;

/// Whether a split of feature `f` with gain `g` beats `best`. Ties go to the lower
/// feature, so the draw order of features never matters.
#[inline]
pub(super) fn improves(best: &Option<Best>, g: f64, f: usize) -> bool {
    best.as_ref()
        .is_none_or(|b| g > b.gain || (g == b.gain && f < b.feature))
}

/// A node waiting to be grown: its ranges of in-bag and out-of-bag rows, its depth,
/// and the internal node and side that point at it.
type Pending = ((usize, usize), (usize, usize), usize, Option<(usize, bool)>);

pub(super) struct TreeBuilder<'a> {
    pub(super) b: &'a Binned,
    pub(super) y: &'a Targets,
    /// Bootstrap copies of each row.
    pub(super) w: Vec<u32>,
    /// The user's row weights, multiplying the copies.
    pub(super) sample_weight: Option<&'a [f64]>,
    pub(super) n_out: usize,
    pub(super) mtry: usize,
    pub(super) params: &'a ForestParams,
    pub(super) rng: SplitMix,
    pub(super) s: Scratch,
    pub(super) feats: Vec<usize>,
}

impl TreeBuilder<'_> {
    /// Fill the histogram of feature `f` over the node's `rows` (whose weights and
    /// targets are gathered in `s`); `touched` lists the bins used, in order.
    fn histogram(&mut self, f: usize, rows: &[u32]) {
        let k = self.n_out;
        let n_bins = self.b.features[f].missing_bin() + 1;
        let s = &mut self.s;
        if rows.len() >= n_bins {
            // A large node: no bookkeeping per row, then one pass over the bins.
            match &self.b.bins[f] {
                BinColumn::U8(c) => fill::<_, false>(c, rows, s, k),
                BinColumn::U16(c) => fill::<_, false>(c, rows, s, k),
            }
            s.touched.clear();
            s.touched
                .extend((0..n_bins as u32).filter(|&b| s.hist[b as usize].n > 0));
            return;
        }
        match &self.b.bins[f] {
            BinColumn::U8(c) => fill::<_, true>(c, rows, s, k),
            BinColumn::U16(c) => fill::<_, true>(c, rows, s, k),
        }
        if s.touched.len() > 64 {
            // Many bins: collect them in order by one pass instead of sorting.
            let top = s.touched.iter().copied().max().unwrap_or(0) as usize;
            s.touched.clear();
            s.touched
                .extend((0..=top as u32).filter(|&b| s.hist[b as usize].n > 0));
        } else {
            s.touched.sort_unstable();
        }
    }

    fn clear_histogram(&mut self) {
        let k = self.n_out;
        let s = &mut self.s;
        for &b in &s.touched {
            let b = b as usize;
            s.hist[b] = HBin::default();
            if k > 1 {
                s.class_sums[b * k..(b + 1) * k].fill(0.0);
            }
        }
        s.touched.clear();
    }

    /// The best split of feature `f` from its histogram, if better than `best`.
    fn evaluate(&mut self, f: usize, node: &Tot, node_sums: &[f64], best: &mut Option<Best>) {
        let k = self.n_out;
        let feat = &self.b.features[f];
        let missing = feat.missing_bin();
        let min_leaf = self.params.min_data_in_leaf as u32;
        let parent = proxy(node_sums, node.w);
        let s = &mut self.s;
        let (hist, class_sums, touched) = (&s.hist, &s.class_sums, &s.touched);
        let (left_s, right_s, with_missing) = (&mut s.left_s, &mut s.right_s, &mut s.with_missing);
        let bin_sums = |b: usize| -> &[f64] {
            if k == 1 {
                std::slice::from_ref(&hist[b].s)
            } else {
                &class_sums[b * k..(b + 1) * k]
            }
        };
        let consider = |left: &Tot, left_s: &[f64], right_s: &mut [f64]| -> Option<f64> {
            let rn = node.n - left.n;
            if left.n < min_leaf || rn < min_leaf || left.w <= 0.0 || node.w - left.w <= 0.0 {
                return None;
            }
            for ((r, n), l) in right_s.iter_mut().zip(node_sums).zip(left_s) {
                *r = n - l;
            }
            Some(proxy(left_s, left.w) + proxy(right_s, node.w - left.w) - parent)
        };
        // Bins in order (categories: most frequent first), the missing bin (the
        // largest) apart, which goes to whichever side scores better.
        let has_missing = touched.last().is_some_and(|&b| b as usize == missing);
        let n_values = touched.len() - usize::from(has_missing);
        let mut left = Tot::default();
        left_s.clear();
        left_s.resize(k, 0.0);
        right_s.resize(k, 0.0);
        with_missing.resize(k, 0.0);
        for &bin in &touched[..n_values] {
            let bin = bin as usize;
            left.w += hist[bin].w;
            left.n += hist[bin].n;
            for (l, v) in left_s.iter_mut().zip(bin_sums(bin)) {
                *l += v;
            }
            for default_left in [false, true] {
                if default_left && !has_missing {
                    continue;
                }
                let (cand, cand_s): (Tot, &[f64]) = if default_left {
                    let m = hist[missing];
                    for ((wm, l), v) in with_missing
                        .iter_mut()
                        .zip(left_s.iter())
                        .zip(bin_sums(missing))
                    {
                        *wm = l + v;
                    }
                    (
                        Tot {
                            w: left.w + m.w,
                            n: left.n + m.n,
                        },
                        with_missing,
                    )
                } else {
                    (left, left_s)
                };
                if let Some(g) = consider(&cand, cand_s, right_s)
                    && improves(best, g, f)
                {
                    // With no missing rows here, send missing values the heavier way.
                    let dl = if has_missing {
                        default_left
                    } else {
                        cand.w >= node.w - cand.w
                    };
                    *best = Some(Best {
                        gain: g,
                        feature: f,
                        bin,
                        default_left: dl,
                    });
                }
            }
        }
    }

    /// [`Self::evaluate`] for a node of at most [`SMALL_NODE`] rows and one output:
    /// sort its rows by bin instead of filling and clearing a histogram. Returns
    /// whether the feature varies in the node.
    fn evaluate_small(
        &mut self,
        f: usize,
        rows: &[u32],
        node: &Tot,
        node_sum: f64,
        best: &mut Option<Best>,
    ) -> bool {
        let m = rows.len();
        let missing = self.b.features[f].missing_bin() as u32;
        let col = &self.b.bins[f];
        // Keys `bin << 4 | position`: sorting them sorts the rows by bin, stably.
        let mut keys = [0u32; SMALL_NODE];
        for (i, &r) in rows.iter().enumerate() {
            keys[i] = (col.get(r as usize) as u32) << 4 | i as u32;
        }
        let keys = &mut keys[..m];
        for i in 1..m {
            let x = keys[i];
            let mut j = i;
            while j > 0 && keys[j - 1] > x {
                keys[j] = keys[j - 1];
                j -= 1;
            }
            keys[j] = x;
        }
        let (node_w, node_wy) = (&self.s.node_w, &self.s.node_wy);
        let item = |k: u32| {
            let i = (k & 15) as usize;
            (k >> 4, node_w[i], node_wy[i])
        };
        let mut items = [(0u32, 0.0f64, 0.0f64); SMALL_NODE];
        for (it, &k) in items.iter_mut().zip(keys.iter()) {
            *it = item(k);
        }
        let items = &items[..m];
        if items[0].0 == items[m - 1].0 {
            return false;
        }
        let (mut miss_n, mut miss_w, mut miss_s) = (0u32, 0.0, 0.0);
        let mut nv = m;
        while nv > 0 && items[nv - 1].0 == missing {
            nv -= 1;
            miss_n += 1;
            miss_w += items[nv].1;
            miss_s += items[nv].2;
        }
        let has_missing = nv < m;
        let min_leaf = self.params.min_data_in_leaf as u32;
        let parent = node_sum * node_sum / node.w;
        let (mut lw, mut ls, mut ln) = (0.0, 0.0, 0u32);
        for i in 0..nv {
            lw += items[i].1;
            ls += items[i].2;
            ln += 1;
            if i + 1 < nv && items[i + 1].0 == items[i].0 {
                continue;
            }
            for default_left in [false, true] {
                if default_left && !has_missing {
                    continue;
                }
                let (cw, cs, cn) = if default_left {
                    (lw + miss_w, ls + miss_s, ln + miss_n)
                } else {
                    (lw, ls, ln)
                };
                let rw = node.w - cw;
                if cn < min_leaf || node.n - cn < min_leaf || cw <= 0.0 || rw <= 0.0 {
                    continue;
                }
                let rs = node_sum - cs;
                let g = cs * cs / cw + rs * rs / rw - parent;
                if improves(best, g, f) {
                    *best = Some(Best {
                        gain: g,
                        feature: f,
                        bin: items[i].0 as usize,
                        default_left: if has_missing { default_left } else { cw >= rw },
                    });
                }
            }
        }
        true
    }

    /// Whether a node's rows all have the same target.
    fn pure(&self, rows: &[u32], node_sums: &[f64], node: &Tot) -> bool {
        match self.y {
            Targets::Class(..) => node_sums.iter().any(|&s| s >= node.w),
            Targets::Value(y) => {
                let first = y[rows[0] as usize];
                rows.iter().all(|&r| y[r as usize] == first)
            }
        }
    }

    /// Gather the weights and targets of a node's rows (in its row order) and return
    /// its totals, with the per-output sums in `sums`.
    fn gather(&mut self, rows: &[u32], sums: &mut [f64]) -> Tot {
        let s = &mut self.s;
        sums.fill(0.0);
        s.node_w.clear();
        match self.sample_weight {
            None => s
                .node_w
                .extend(rows.iter().map(|&r| self.w[r as usize] as f64)),
            Some(sw) => s.node_w.extend(
                rows.iter()
                    .map(|&r| self.w[r as usize] as f64 * sw[r as usize]),
            ),
        }
        let w: f64 = s.node_w.iter().sum();
        match self.y {
            Targets::Value(y) => {
                s.node_wy.clear();
                s.node_wy
                    .extend(rows.iter().zip(&s.node_w).map(|(&r, &w)| w * y[r as usize]));
                sums[0] = s.node_wy.iter().sum();
            }
            Targets::Class(c, _) => {
                s.node_class.clear();
                s.node_class.extend(rows.iter().map(|&r| c[r as usize]));
                for (&cl, &w) in s.node_class.iter().zip(&s.node_w) {
                    sums[cl as usize] += w;
                }
            }
        }
        Tot {
            w,
            n: rows.len() as u32,
        }
    }

    /// Grow one tree on the rows of `idx`.
    /// Grow one tree on the rows of `idx`. The out-of-bag rows `oob` follow the same
    /// splits (reordered in place like `idx`); returns the tree and each out-of-bag
    /// row's leaf.
    pub(super) fn grow(&mut self, idx: &mut [u32], oob: &mut [u32]) -> (Tree, Vec<(u32, u32)>) {
        let k = self.n_out;
        let nf = self.b.features.len();
        let mut tree = Tree::default();
        let mut oob_leaf = Vec::with_capacity(oob.len());
        let mut stack: Vec<Pending> = vec![((0, idx.len()), (0, oob.len()), 0, None)];
        let mut node_sums = vec![0.0; k];
        while let Some(((start, end), (ostart, oend), depth, parent)) = stack.pop() {
            let rows = &idx[start..end];
            let node = self.gather(rows, &mut node_sums);
            let can_split = (self.params.max_depth < 0 || (depth as i32) < self.params.max_depth)
                && node.n as usize >= 2 * self.params.min_data_in_leaf
                && !self.pure(rows, &node_sums, &node);
            let mut best: Option<Best> = None;
            if can_split {
                // Draw features without replacement until `mtry` have been looked at
                // and at least one of them varies here (scikit-learn's rule).
                let (mut visited, mut varying) = (0usize, 0usize);
                for i in 0..nf {
                    if visited >= self.mtry && varying > 0 {
                        break;
                    }
                    let j = i + (self.rng.next_u64() % (nf - i) as u64) as usize;
                    self.feats.swap(i, j);
                    let f = self.feats[i];
                    visited += 1;
                    let rows = &idx[start..end];
                    if k == 1 && rows.len() <= SMALL_NODE {
                        if self.evaluate_small(f, rows, &node, node_sums[0], &mut best) {
                            varying += 1;
                        }
                        continue;
                    }
                    self.histogram(f, rows);
                    if self.s.touched.len() > 1 {
                        varying += 1;
                        self.evaluate(f, &node, &node_sums, &mut best);
                    }
                    self.clear_histogram();
                }
            }
            let link = |tree: &mut Tree, c: Child| {
                if let Some((pn, is_left)) = parent {
                    if is_left {
                        tree.nodes[pn].left = c
                    } else {
                        tree.nodes[pn].right = c
                    }
                }
            };
            let Some(split) = best.filter(|b| b.gain > -1e-9 * node.w.max(1.0)) else {
                let leaf = tree.leaf_value.len() / k;
                tree.leaf_value
                    .extend(node_sums.iter().map(|s| s / node.w.max(f64::MIN_POSITIVE)));
                link(&mut tree, !(leaf as Child));
                oob_leaf.extend(oob[ostart..oend].iter().map(|&r| (r, leaf as u32)));
                continue;
            };
            let f = split.feature;
            let feat = &self.b.features[f];
            let missing = feat.missing_bin();
            let mut nd = Node {
                feature: f as u32,
                cat_set: u32::MAX,
                ..Node::default()
            };
            nd.threshold = match &feat.kind {
                FeatureKind::Numeric { upper } => upper[split.bin],
                // A category's value is its index, which is its bin.
                FeatureKind::Categorical { .. } => split.bin as f32 + 0.5,
            };
            nd.threshold_bin = split.bin as u16;
            nd.default_left = split.default_left;
            let id = tree.nodes.len();
            tree.nodes.push(nd);
            tree.gain.push(split.gain as f32);
            link(&mut tree, id as Child);
            let rows = &mut idx[start..end];
            // Left: value bins up to the threshold, and missing when it goes left.
            let (t, dl) = (split.bin, usize::from(split.default_left));
            let go = |b: usize| {
                if b == missing {
                    dl
                } else {
                    usize::from(b <= t)
                }
            };
            let orows = &mut oob[ostart..oend];
            let tmp = &mut self.s.rows_tmp;
            let (left, oleft) = match &self.b.bins[f] {
                BinColumn::U8(c) => (
                    partition_by(rows, c, go, tmp),
                    partition_by(orows, c, go, tmp),
                ),
                BinColumn::U16(c) => (
                    partition_by(rows, c, go, tmp),
                    partition_by(orows, c, go, tmp),
                ),
            };
            let (mid, omid) = (start + left, ostart + oleft);
            stack.push(((mid, end), (omid, oend), depth + 1, Some((id, false))));
            stack.push(((start, mid), (ostart, omid), depth + 1, Some((id, true))));
        }
        (tree, oob_leaf)
    }
}
