//! Gradient histograms and the best split of a leaf.

use rayon::prelude::*;

use crate::data::{BinColumn, Binned};
use crate::params::GbdtParams;

/// Below this many (row, feature) pairs a leaf's work stays on one thread.
const SEQUENTIAL_BELOW: usize = 1 << 16;

/// Sums over the rows of a leaf that fall in one bin.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HistBin {
    pub g: f64,
    pub h: f64,
    pub n: u64,
}

impl HistBin {
    #[inline]
    fn add(&mut self, o: &HistBin) {
        self.g += o.g;
        self.h += o.h;
        self.n += o.n;
    }
}

/// Where each feature's bins start in a leaf's histogram.
pub struct Layout {
    pub offsets: Vec<usize>,
    pub total: usize,
}

impl Layout {
    pub fn new(b: &Binned) -> Self {
        let mut offsets = Vec::with_capacity(b.features.len() + 1);
        let mut total = 0;
        for f in &b.features {
            offsets.push(total);
            total += f.n_value_bins() + 1;
        }
        offsets.push(total);
        Layout { offsets, total }
    }
}

/// A row's gradient and hessian, kept beside the row index as the rows move between
/// leaves, so a leaf's gradients are always contiguous and in its row order.
pub type GradPair = (f32, f32);

/// Fill `hist` with the sums of the rows `idx`, whose gradients and hessians are `gh`
/// (in the same order). Features are done in parallel, each by one thread, so sums
/// are in a fixed order whatever the thread count.
pub fn build(
    hist: &mut [HistBin],
    layout: &Layout,
    b: &Binned,
    idx: &[u32],
    gh: &[GradPair],
    active: &[bool],
) {
    debug_assert_eq!(idx.len(), gh.len());
    // A leaf holding every row in order (the root) reads its columns sequentially.
    let all_rows = idx.len() == b.n_rows
        && idx.first() == Some(&0)
        && idx.last().map(|&r| r as usize + 1) == Some(b.n_rows);
    let mut chunks: Vec<(usize, &mut [HistBin])> = Vec::with_capacity(b.features.len());
    let mut rest = hist;
    for f in 0..b.features.len() {
        let len = layout.offsets[f + 1] - layout.offsets[f];
        let (head, tail) = rest.split_at_mut(len);
        chunks.push((f, head));
        rest = tail;
    }
    // Byte-binned features go in groups that share one pass over the rows (the row
    // index and gradients are read once per group, not once per feature), with enough
    // groups to keep every thread busy. Each feature's sums are still added in row
    // order, so the grouping never changes the result.
    let threads = rayon::current_num_threads();
    let mut bytes: Vec<(usize, &mut [HistBin])> = Vec::new();
    let mut groups: Vec<Vec<(usize, &mut [HistBin])>> = Vec::new();
    for (f, chunk) in chunks {
        if !active[f] {
            chunk.fill(HistBin::default());
        } else if matches!(b.bins[f], BinColumn::U8(_)) {
            bytes.push((f, chunk));
        } else {
            groups.push(vec![(f, chunk)]);
        }
    }
    // At most four features per group, at least two groups per thread when there are
    // features enough, and a whole number of groups per thread, of sizes that differ
    // by at most one, the larger ones spread out (so halving the list halves the work).
    let nb = bytes.len();
    if nb > 0 {
        let mut n_groups = nb.div_ceil(4).max(nb.min(2 * threads));
        n_groups = (n_groups.div_ceil(threads) * threads).min(nb);
        let (base, extra) = (nb / n_groups, nb % n_groups);
        let evens = n_groups.div_ceil(2);
        let mut it = bytes.into_iter();
        for i in 0..n_groups {
            // Slots 0, 2, 4, … take the extra features first, then 1, 3, 5, ….
            let rank = if i % 2 == 0 { i / 2 } else { evens + i / 2 };
            let size = base + usize::from(rank < extra);
            groups.push(it.by_ref().take(size).collect());
        }
    }
    let rows = if all_rows { None } else { Some(idx) };
    let one = |group: Vec<(usize, &mut [HistBin])>| {
        if let BinColumn::U16(col) = &b.bins[group[0].0] {
            let (_, chunk) = group.into_iter().next().expect("a group has a feature");
            chunk.fill(HistBin::default());
            let mut add = |bin: u16, gr: f32, hr: f32| {
                let e = &mut chunk[bin as usize];
                e.g += gr as f64;
                e.h += hr as f64;
                e.n += 1;
            };
            match rows {
                None => {
                    for (&bin, &(gr, hr)) in col.iter().zip(gh) {
                        add(bin, gr, hr);
                    }
                }
                Some(idx) => {
                    for (&r, &(gr, hr)) in idx.iter().zip(gh) {
                        add(col[r as usize], gr, hr);
                    }
                }
            }
            return;
        }
        let cols: Vec<&[u8]> = group
            .iter()
            .map(|(f, _)| match &b.bins[*f] {
                BinColumn::U8(c) => c.as_slice(),
                BinColumn::U16(_) => unreachable!("groups hold byte columns"),
            })
            .collect();
        let outs: Vec<&mut [HistBin]> = group.into_iter().map(|(_, c)| c).collect();
        match cols.len() {
            1 => byte_group::<1>(&cols, outs, rows, gh),
            2 => byte_group::<2>(&cols, outs, rows, gh),
            3 => byte_group::<3>(&cols, outs, rows, gh),
            _ => byte_group::<4>(&cols, outs, rows, gh),
        }
    };
    // Small leaves are not worth handing to other threads.
    if idx.len() * b.features.len() < SEQUENTIAL_BELOW {
        groups.into_iter().for_each(one);
    } else {
        groups.into_par_iter().for_each(one);
    }
}

/// Histograms of `G` byte-binned features in one pass over the rows (all rows in
/// order when `rows` is `None`, else the leaf's rows); `gh` holds the rows' gradients
/// in the same order.
fn byte_group<const G: usize>(
    cols: &[&[u8]],
    outs: Vec<&mut [HistBin]>,
    rows: Option<&[u32]>,
    gh: &[GradPair],
) {
    let cols: [&[u8]; G] = std::array::from_fn(|j| cols[j]);
    // Full 256-slot arrays: a u8 bin indexes them without checks.
    let mut local = [[HistBin::default(); 256]; G];
    let mut add = |r: usize, gr: f32, hr: f32| {
        let (gr, hr) = (gr as f64, hr as f64);
        for j in 0..G {
            let e = &mut local[j][cols[j][r] as usize];
            e.g += gr;
            e.h += hr;
            e.n += 1;
        }
    };
    match rows {
        None => {
            for (r, &(gr, hr)) in gh.iter().enumerate() {
                add(r, gr, hr);
            }
        }
        Some(idx) => {
            for (&r, &(gr, hr)) in idx.iter().zip(gh) {
                add(r as usize, gr, hr);
            }
        }
    }
    for (j, out) in outs.into_iter().enumerate() {
        out.copy_from_slice(&local[j][..out.len()]);
    }
}

/// `parent -= child`, bin by bin: the other child's histogram without a pass over its rows.
pub fn subtract(parent: &mut [HistBin], child: &[HistBin]) {
    for (p, c) in parent.iter_mut().zip(child) {
        p.g -= c.g;
        p.h -= c.h;
        p.n -= c.n;
    }
}

/// How a split sends rows left.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Value bins `0..=bin` go left; the missing bin goes left iff `default_left`.
    Numeric { bin: u8, default_left: bool },
    /// Bins in the set (a bitset over the feature's bins) go left; everything else
    /// (missing included) goes right.
    Categorical { left: Vec<u64> },
}

impl Rule {
    #[inline]
    pub fn goes_left(&self, bin: usize, missing_bin: usize) -> bool {
        match self {
            Rule::Numeric {
                bin: t,
                default_left,
            } => {
                if bin == missing_bin {
                    *default_left
                } else {
                    bin <= *t as usize
                }
            }
            Rule::Categorical { left } => left[bin >> 6] >> (bin & 63) & 1 == 1,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Split {
    pub feature: usize,
    pub gain: f64,
    pub rule: Rule,
    pub left: HistBin,
    pub right: HistBin,
    /// The L2 penalty of the children's values (categorical splits add `cat_l2`, as
    /// LightGBM's leaf outputs do).
    pub l2: f64,
}

#[inline]
fn score(g: f64, h: f64, l2: f64) -> f64 {
    g * g / (h + l2)
}

/// The leaf value that minimises the second-order loss.
#[inline]
pub fn leaf_value(g: f64, h: f64, l2: f64) -> f64 {
    if h + l2 <= 0.0 { 0.0 } else { -g / (h + l2) }
}

/// The right side and the gain of sending `left` left, if the split is allowed.
fn evaluate(
    left: &HistBin,
    total: &HistBin,
    parent: f64,
    l2: f64,
    need_h: f64,
) -> Option<(HistBin, f64)> {
    let right = HistBin {
        g: total.g - left.g,
        h: total.h - left.h,
        n: total.n - left.n,
    };
    if !allowed(left, &right, need_h) {
        return None;
    }
    Some((
        right,
        score(left.g, left.h, l2) + score(right.g, right.h, l2) - parent,
    ))
}

/// Whether a split leaves enough data on each side. As in LightGBM, a side's row
/// count for `min_data_in_leaf` is estimated from its hessian share of the leaf
/// (`n * h_side / h_leaf`): rows the model is already sure of (tiny hessians) count
/// for little, which keeps leaves from fitting a handful of confident rows to extreme
/// values (measured on covertype: multiclass logloss 0.423 → 0.388).
///
/// Both limits become one hessian a side needs ([`needed_hessian`]), computed once per
/// leaf: `round(h × n_leaf / h_leaf) >= min_data_in_leaf` is
/// `h >= (min_data_in_leaf − ½) × h_leaf / n_leaf`.
fn allowed(l: &HistBin, r: &HistBin, need_h: f64) -> bool {
    l.h >= need_h && r.h >= need_h && l.n > 0 && r.n > 0
}

/// The hessian each side of a split of the leaf `total` needs (see [`allowed`]).
fn needed_hessian(total: &HistBin, p: &GbdtParams) -> f64 {
    let by_count = (p.min_data_in_leaf as f64 - 0.5) * total.h / total.n.max(1) as f64;
    by_count.max(p.min_sum_hessian)
}

/// `x` rounded to the nearest whole number (x >= 0), without a libm call.
#[inline]
fn round_pos(x: f64) -> f64 {
    (x + 0.5) as u64 as f64
}

fn numeric_split(f: usize, bins: &[HistBin], total: &HistBin, p: &GbdtParams) -> Option<Split> {
    let missing = bins[bins.len() - 1];
    let n_value = bins.len() - 1;
    let parent = score(total.g, total.h, p.lambda_l2);
    let need_h = needed_hessian(total, p);
    let mut best: Option<Split> = None;
    let mut acc = HistBin::default();
    for (t, bin) in bins.iter().enumerate().take(n_value.saturating_sub(1)) {
        // An empty bin repeats the previous threshold's split, which wins ties anyway.
        if bin.n == 0 {
            continue;
        }
        acc.add(bin);
        for default_left in [false, true] {
            // With no missing rows in this leaf, both directions are the same split:
            // send missing values the way most rows go.
            if missing.n == 0 && default_left {
                continue;
            }
            let mut left = acc;
            if default_left {
                left.add(&missing);
            }
            let Some((right, gain)) = evaluate(&left, total, parent, p.lambda_l2, need_h) else {
                continue;
            };
            if best.as_ref().is_none_or(|b| gain > b.gain) {
                let dl = if missing.n == 0 {
                    left.n >= right.n
                } else {
                    default_left
                };
                best = Some(Split {
                    feature: f,
                    gain,
                    rule: Rule::Numeric {
                        bin: t as u8,
                        default_left: dl,
                    },
                    left,
                    right,
                    l2: p.lambda_l2,
                });
            }
        }
    }
    best
}

/// The best categorical split, as LightGBM finds it. Few categories: one category
/// against the rest. Otherwise categories with enough data (an estimated count of at
/// least `cat_smooth`) are ordered by `g / (h + cat_smooth)` and prefixes of that order
/// are tried from both ends, up to `max_cat_threshold` categories, scored with the
/// extra `cat_l2` and only where the prefix grew by `min_data_per_group` rows since the
/// last one tried. Categories outside the chosen prefix, rare ones and missing go right.
fn categorical_split(f: usize, bins: &[HistBin], total: &HistBin, p: &GbdtParams) -> Option<Split> {
    let n_value = bins.len() - 1;
    let per_h = total.n as f64 / total.h;
    let est = |b: &HistBin| round_pos(b.h * per_h);
    // The parent's score uses the plain L2, so categorical splits pay for `cat_l2`
    // when they compete with numeric ones.
    let parent = score(total.g, total.h, p.lambda_l2);
    let mut best: Option<Split> = None;
    let words = bins.len().div_ceil(64);
    let mut consider = |left: HistBin, mask: &[u64], l2: f64| {
        let right = HistBin {
            g: total.g - left.g,
            h: total.h - left.h,
            n: total.n - left.n,
        };
        if left.n == 0 || right.n == 0 {
            return;
        }
        let gain = score(left.g, left.h, l2) + score(right.g, right.h, l2) - parent;
        if best.as_ref().is_none_or(|b| gain > b.gain) {
            best = Some(Split {
                feature: f,
                gain,
                rule: Rule::Categorical {
                    left: mask.to_vec(),
                },
                left,
                right,
                l2,
            });
        }
    };
    let min_leaf = p.min_data_in_leaf as f64;
    if n_value <= p.max_cat_to_onehot {
        for (b, bin) in bins.iter().enumerate().take(n_value) {
            let other_h = total.h - bin.h;
            let ok = est(bin) >= min_leaf
                && bin.h >= p.min_sum_hessian
                && (total.n as f64 - est(bin)) >= min_leaf
                && other_h >= p.min_sum_hessian;
            if ok {
                let mut mask = vec![0u64; words];
                mask[b >> 6] |= 1 << (b & 63);
                consider(*bin, &mask, p.lambda_l2);
            }
        }
        return best;
    }
    let mut usable: Vec<usize> = (0..=n_value)
        .filter(|&b| bins[b].n > 0 && est(&bins[b]) >= p.cat_smooth)
        .collect();
    usable.sort_by(|&a, &b| {
        let ra = bins[a].g / (bins[a].h + p.cat_smooth);
        let rb = bins[b].g / (bins[b].h + p.cat_smooth);
        ra.total_cmp(&rb).then(a.cmp(&b))
    });
    let max_cats = p.max_cat_threshold.min(usable.len().div_ceil(2));
    let l2 = p.lambda_l2 + p.cat_l2;
    let group = p.min_data_per_group as f64;
    for from_top in [false, true] {
        let mut left = HistBin::default();
        let mut left_est = 0.0;
        let mut cur_group = 0.0;
        let mut mask = vec![0u64; words];
        for i in 0..usable.len().min(max_cats) {
            let b = if from_top {
                usable[usable.len() - 1 - i]
            } else {
                usable[i]
            };
            left.add(&bins[b]);
            mask[b >> 6] |= 1 << (b & 63);
            let e = est(&bins[b]);
            left_est += e;
            cur_group += e;
            if left_est < min_leaf || left.h < p.min_sum_hessian {
                continue;
            }
            let right_est = total.n as f64 - left_est;
            if right_est < min_leaf || right_est < group || total.h - left.h < p.min_sum_hessian {
                break;
            }
            if cur_group < group {
                continue;
            }
            cur_group = 0.0;
            consider(left, &mask, l2);
        }
    }
    best
}

/// The best split of a leaf over the active features (ties go to the lower feature).
pub fn best_split(
    hist: &[HistBin],
    layout: &Layout,
    b: &Binned,
    total: &HistBin,
    p: &GbdtParams,
    active: &[bool],
) -> Option<Split> {
    let one = |f: usize| {
        let bins = &hist[layout.offsets[f]..layout.offsets[f + 1]];
        if b.features[f].is_categorical() {
            categorical_split(f, bins, total, p)
        } else {
            numeric_split(f, bins, total, p)
        }
    };
    let better = |a: Split, c: Split| {
        if c.gain > a.gain || (c.gain == a.gain && c.feature < a.feature) {
            c
        } else {
            a
        }
    };
    let ok = |s: &Split| s.gain > p.min_gain && s.gain > 0.0;
    if layout.total < SEQUENTIAL_BELOW / 16 {
        (0..b.features.len())
            .filter(|&f| active[f])
            .filter_map(one)
            .filter(ok)
            .reduce(better)
    } else {
        (0..b.features.len())
            .into_par_iter()
            .filter(|&f| active[f])
            .filter_map(one)
            .filter(ok)
            .reduce_with(better)
    }
}
