//! Gradient histograms and the best split of a leaf.

use rayon::prelude::*;

use lithe_core::rng::SplitMix;

use crate::data::{BinColumn, Binned};
use crate::params::GbdtParams;

/// Below this many (row, feature) pairs a leaf's work stays on one thread.
const SEQUENTIAL_BELOW: usize = 1 << 16;

/// A sum over rows of quantised gradients and hessians, packed in one integer: the
/// gradient sum in the high 32 bits (signed), the hessian sum in the low 32 bits
/// (unsigned). Adding or subtracting two packed sums adds or subtracts both parts at
/// once, exactly, as long as the hessian part stays in `0..2^32` and the gradient part
/// fits an `i32`, which [`Quant::new`] guarantees for any sum over the rows of a tree.
/// A histogram bin, a leaf's total and a row's own gradient pair are all `Packed`.
///
/// This is the quantised training of LightGBM 4 (Shi et al., "Quantized Training of
/// Gradient Boosting Decision Trees", NeurIPS 2022), with more levels: the histogram
/// pass is one integer add per row and feature into an 8-byte bin (it was three adds
/// into a 24-byte bin), histograms subtract exactly, and leaf values are still computed
/// from the exact gradients ([`crate::tree::Grower::grow`]).
pub type Packed = i64;

/// The scale of a tree's quantised gradients: a row's gradient `g` becomes an integer
/// near `g / g_unit` by stochastic rounding (unbiased: its expectation is `g / g_unit`),
/// and likewise its hessian.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quant {
    g_unit: f64,
    h_unit: f64,
    levels: f64,
}

/// The most levels a gradient is quantised to, whatever the row count (finer than
/// this is below an `f32` gradient's own precision).
const MAX_LEVELS: f64 = (1u64 << 24) as f64;

impl Quant {
    /// The scale for a tree on `rows` rows whose gradients are at most `g_max` in
    /// absolute value and hessians at most `h_max`: both get `i32::MAX / rows` levels
    /// (at most 2^24), so no sum over the tree's rows overflows its half of a
    /// [`Packed`]. 800,000 rows get 2,684 levels; LightGBM's default is 4.
    pub fn new(g_max: f64, h_max: f64, rows: usize) -> Quant {
        let levels = (i32::MAX as f64 / rows.max(1) as f64)
            .floor()
            .min(MAX_LEVELS);
        let unit = |max: f64| {
            if max > 0.0 && max.is_finite() {
                max / levels
            } else {
                1.0
            }
        };
        Quant {
            g_unit: unit(g_max),
            h_unit: unit(h_max),
            levels,
        }
    }

    /// A row's packed pair: `g` and `h` rounded down or up at random, with the two
    /// uniform draws taken from the halves of `noise`. A negative or non-finite
    /// hessian counts as zero.
    #[inline]
    pub fn pack(&self, g: f32, h: f32, noise: u64) -> Packed {
        let draw = |bits: u64| bits as f64 * (1.0 / 4_294_967_296.0);
        let l = self.levels;
        // Rounding down is truncation once the value is shifted to be non-negative
        // (no libm `floor` call); the casts saturate, NaN becoming the lowest level.
        let gq = ((g as f64 / self.g_unit + draw(noise >> 32) + l) as i64 - l as i64)
            .clamp(-(l as i64), l as i64);
        let hq = ((h as f64 / self.h_unit + draw(noise & 0xFFFF_FFFF)) as i64).clamp(0, l as i64);
        (gq << 32) + hq
    }

    /// The gradient and hessian sums a packed sum stands for.
    #[inline]
    pub fn unpack(&self, p: Packed) -> (f64, f64) {
        (
            (p >> 32) as f64 * self.g_unit,
            (p & 0xFFFF_FFFF) as f64 * self.h_unit,
        )
    }
}

/// The noise for stochastic rounding of row `row` in the tree seeded `seed`: a
/// function of the two alone, so the quantised gradients are the same for any thread
/// count.
#[inline]
pub fn row_noise(seed: u64, row: u32) -> u64 {
    // Output number `row` of the SplitMix stream seeded `seed`, reached directly.
    SplitMix(seed.wrapping_add((row as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))).next_u64()
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

/// Fill `hist` with the sums of the rows `idx`, whose packed gradient pairs are `gh`
/// (in the same order). Features are done in parallel, each by one thread, so sums
/// are in a fixed order whatever the thread count.
pub fn build(
    hist: &mut [Packed],
    layout: &Layout,
    b: &Binned,
    idx: &[u32],
    gh: &[Packed],
    active: &[bool],
) {
    debug_assert_eq!(idx.len(), gh.len());
    // A leaf holding every row in order (the root) reads its columns sequentially.
    let all_rows = idx.len() == b.n_rows
        && idx.first() == Some(&0)
        && idx.last().map(|&r| r as usize + 1) == Some(b.n_rows);
    let mut chunks: Vec<(usize, &mut [Packed])> = Vec::with_capacity(b.features.len());
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
    let mut bytes: Vec<(usize, &mut [Packed])> = Vec::new();
    let mut groups: Vec<Vec<(usize, &mut [Packed])>> = Vec::new();
    for (f, chunk) in chunks {
        if !active[f] {
            chunk.fill(0);
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
    let one = |group: Vec<(usize, &mut [Packed])>| {
        if let BinColumn::U16(col) = &b.bins[group[0].0] {
            let (_, chunk) = group.into_iter().next().expect("a group has a feature");
            chunk.fill(0);
            match rows {
                None => {
                    for (&bin, &p) in col.iter().zip(gh) {
                        chunk[bin as usize] += p;
                    }
                }
                Some(idx) => {
                    for (&r, &p) in idx.iter().zip(gh) {
                        chunk[col[r as usize] as usize] += p;
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
        let outs: Vec<&mut [Packed]> = group.into_iter().map(|(_, c)| c).collect();
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
    outs: Vec<&mut [Packed]>,
    rows: Option<&[u32]>,
    gh: &[Packed],
) {
    let cols: [&[u8]; G] = std::array::from_fn(|j| cols[j]);
    // Full 256-slot arrays: a u8 bin indexes them without checks.
    let mut local = [[0 as Packed; 256]; G];
    let mut add = |r: usize, p: Packed| {
        for j in 0..G {
            local[j][cols[j][r] as usize] += p;
        }
    };
    match rows {
        None => {
            for (r, &p) in gh.iter().enumerate() {
                add(r, p);
            }
        }
        Some(idx) => {
            for (&r, &p) in idx.iter().zip(gh) {
                add(r as usize, p);
            }
        }
    }
    for (j, out) in outs.into_iter().enumerate() {
        out.copy_from_slice(&local[j][..out.len()]);
    }
}

/// `parent -= child`, bin by bin: the other child's histogram without a pass over its rows.
/// Exact: integer sums.
pub fn subtract(parent: &mut [Packed], child: &[Packed]) {
    for (p, c) in parent.iter_mut().zip(child) {
        *p -= c;
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
    /// The children's packed sums (in the histogram's [`Quant`]).
    pub left: Packed,
    pub right: Packed,
    /// The L2 penalty of the children's values (categorical splits add `cat_l2`, as
    /// LightGBM's leaf outputs do).
    pub l2: f64,
}

/// What the split search knows of a leaf: its packed sum, its exact row count and
/// the scale of its tree's gradients.
#[derive(Debug, Clone, Copy)]
pub struct LeafTotal {
    pub sum: Packed,
    pub n: u64,
    pub quant: Quant,
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

/// Whether a split leaves enough data on each side. As in LightGBM, a side's row
/// count for `min_data_in_leaf` is estimated from its hessian share of the leaf
/// (`n * h_side / h_leaf`): rows the model is already sure of (tiny hessians) count
/// for little, which keeps leaves from fitting a handful of confident rows to extreme
/// values (measured on covertype: multiclass logloss 0.423 → 0.388). Histograms hold
/// no row counts (as LightGBM's do not), so a side with no hessian counts as empty.
///
/// Both limits become one hessian a side needs ([`needed_hessian`]), computed once per
/// leaf: `round(h × n_leaf / h_leaf) >= min_data_in_leaf` is
/// `h >= (min_data_in_leaf − ½) × h_leaf / n_leaf`.
#[inline]
fn allowed(lh: f64, rh: f64, need_h: f64) -> bool {
    lh >= need_h && rh >= need_h && lh > 0.0 && rh > 0.0
}

/// The hessian each side of a split of a leaf of `n` rows and hessian `h` needs (see
/// [`allowed`]).
fn needed_hessian(h: f64, n: u64, p: &GbdtParams) -> f64 {
    let by_count = (p.min_data_in_leaf as f64 - 0.5) * h / n.max(1) as f64;
    by_count.max(p.min_sum_hessian)
}

/// `x` rounded to the nearest whole number (x >= 0), without a libm call.
#[inline]
fn round_pos(x: f64) -> f64 {
    (x + 0.5) as u64 as f64
}

fn numeric_split(f: usize, bins: &[Packed], t: &LeafTotal, p: &GbdtParams) -> Option<Split> {
    let q = &t.quant;
    let missing = bins[bins.len() - 1];
    // Without missing rows in the leaf both directions are the same split.
    let has_missing = missing != 0;
    let n_value = bins.len() - 1;
    let (tg, th) = q.unpack(t.sum);
    let parent = score(tg, th, p.lambda_l2);
    let need_h = needed_hessian(th, t.n, p);
    let mut best: Option<Split> = None;
    let mut acc: Packed = 0;
    for (th_bin, &bin) in bins.iter().enumerate().take(n_value.saturating_sub(1)) {
        // An empty bin repeats the previous threshold's split, which wins ties anyway.
        if bin == 0 {
            continue;
        }
        acc += bin;
        for default_left in [false, true] {
            if !has_missing && default_left {
                continue;
            }
            let left = if default_left { acc + missing } else { acc };
            let right = t.sum - left;
            let ((lg, lh), (rg, rh)) = (q.unpack(left), q.unpack(right));
            if !allowed(lh, rh, need_h) {
                continue;
            }
            let gain = score(lg, lh, p.lambda_l2) + score(rg, rh, p.lambda_l2) - parent;
            if best.as_ref().is_none_or(|b| gain > b.gain) {
                // With no missing rows here, missing values go the way of the larger
                // hessian.
                let dl = if has_missing { default_left } else { lh >= rh };
                best = Some(Split {
                    feature: f,
                    gain,
                    rule: Rule::Numeric {
                        bin: th_bin as u8,
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
fn categorical_split(f: usize, bins: &[Packed], t: &LeafTotal, p: &GbdtParams) -> Option<Split> {
    let q = &t.quant;
    let n_value = bins.len() - 1;
    let (tg, th) = q.unpack(t.sum);
    let per_h = t.n as f64 / th;
    let est = |b: Packed| round_pos(q.unpack(b).1 * per_h);
    // The parent's score uses the plain L2, so categorical splits pay for `cat_l2`
    // when they compete with numeric ones.
    let parent = score(tg, th, p.lambda_l2);
    let mut best: Option<Split> = None;
    let words = bins.len().div_ceil(64);
    let mut consider = |left: Packed, mask: &[u64], l2: f64| {
        let right = t.sum - left;
        let ((lg, lh), (rg, rh)) = (q.unpack(left), q.unpack(right));
        if lh <= 0.0 || rh <= 0.0 {
            return;
        }
        let gain = score(lg, lh, l2) + score(rg, rh, l2) - parent;
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
        for (b, &bin) in bins.iter().enumerate().take(n_value) {
            let bin_h = q.unpack(bin).1;
            let other_h = th - bin_h;
            let ok = est(bin) >= min_leaf
                && bin_h >= p.min_sum_hessian
                && (t.n as f64 - est(bin)) >= min_leaf
                && other_h >= p.min_sum_hessian;
            if ok {
                let mut mask = vec![0u64; words];
                mask[b >> 6] |= 1 << (b & 63);
                consider(bin, &mask, p.lambda_l2);
            }
        }
        return best;
    }
    let ratio = |b: usize| {
        let (g, h) = q.unpack(bins[b]);
        g / (h + p.cat_smooth)
    };
    let mut usable: Vec<(f64, usize)> = (0..=n_value)
        .filter(|&b| bins[b] != 0 && est(bins[b]) >= p.cat_smooth)
        .map(|b| (ratio(b), b))
        .collect();
    usable.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let max_cats = p.max_cat_threshold.min(usable.len().div_ceil(2));
    let l2 = p.lambda_l2 + p.cat_l2;
    let group = p.min_data_per_group as f64;
    for from_top in [false, true] {
        let mut left: Packed = 0;
        let mut left_est = 0.0;
        let mut cur_group = 0.0;
        let mut mask = vec![0u64; words];
        for i in 0..usable.len().min(max_cats) {
            let b = if from_top {
                usable[usable.len() - 1 - i].1
            } else {
                usable[i].1
            };
            left += bins[b];
            mask[b >> 6] |= 1 << (b & 63);
            let e = est(bins[b]);
            left_est += e;
            cur_group += e;
            let left_h = q.unpack(left).1;
            if left_est < min_leaf || left_h < p.min_sum_hessian {
                continue;
            }
            let right_est = t.n as f64 - left_est;
            if right_est < min_leaf || right_est < group || th - left_h < p.min_sum_hessian {
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
    hist: &[Packed],
    layout: &Layout,
    b: &Binned,
    total: &LeafTotal,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Feature, FeatureKind};

    #[test]
    fn packed_sums_unpack_to_the_sums_of_their_parts() {
        // 100 rows get the most levels, 2^24, so the units are powers of two and every
        // sum below is exact.
        let q = Quant::new(2.0, 0.25, 100);
        let (gu, hu) = (2.0 / (1u64 << 24) as f64, 0.25 / (1u64 << 24) as f64);
        let rows: Vec<(f32, f32)> = vec![
            (-2.0, 0.25),
            (2.0, 0.0),
            (-0.7, 0.1),
            (0.3, 0.2),
            (0.0, 0.0),
        ];
        let mut total: Packed = 0;
        let (mut eg, mut eh) = (0i64, 0i64);
        for (i, &(g, h)) in rows.iter().enumerate() {
            let p = q.pack(g, h, row_noise(7, i as u32));
            let (pg, ph) = q.unpack(p);
            // Within one level of the value, and a sum of its own parts.
            assert!((pg - g as f64).abs() <= gu * 1.000_001, "{g} -> {pg}");
            assert!((ph - h as f64).abs() <= hu * 1.000_001, "{h} -> {ph}");
            eg += (pg / gu).round() as i64;
            eh += (ph / hu).round() as i64;
            total += p;
        }
        assert_eq!(q.unpack(total), (eg as f64 * gu, eh as f64 * hu));
        // The extremes are exact, and the sum of the tree's rows at the extremes fits.
        assert_eq!(q.unpack(q.pack(-2.0, 0.25, 0)), (-2.0, 0.25));
        let worst: Packed = (0..100).map(|_| q.pack(-2.0, 0.25, 0)).sum();
        assert_eq!(q.unpack(worst), (-200.0, 25.0));
        let worst: Packed = (0..100).map(|_| q.pack(2.0, 0.25, u64::MAX)).sum();
        assert_eq!(q.unpack(worst), (200.0, 25.0));
        // Subtraction is exact.
        let part = q.pack(-0.7, 0.1, 3) + q.pack(0.3, 0.2, 4);
        let rest = q.pack(-2.0, 0.25, 5) + q.pack(2.0, 0.0, 6);
        assert_eq!(part + rest - part, rest);
    }

    #[test]
    fn stochastic_rounding_is_unbiased() {
        // Four levels only: the rounding error of one row is large, its mean is not.
        let q = Quant::new(1.0, 1.0, i32::MAX as usize / 4);
        for &(g, h) in &[(0.1f32, 0.3f32), (-0.55, 0.9), (0.8, 0.01)] {
            let n = 200_000u32;
            let (mut sg, mut sh) = (0.0, 0.0);
            for r in 0..n {
                let (pg, ph) = q.unpack(q.pack(g, h, row_noise(11, r)));
                sg += pg;
                sh += ph;
                // Every draw is one of the two neighbouring levels.
                assert!((pg - g as f64).abs() < 0.25 && (ph - h as f64).abs() < 0.25);
            }
            assert!(
                (sg / n as f64 - g as f64).abs() < 2e-3,
                "g {g}: {}",
                sg / n as f64
            );
            assert!(
                (sh / n as f64 - h as f64).abs() < 2e-3,
                "h {h}: {}",
                sh / n as f64
            );
        }
    }

    #[test]
    fn numeric_split_finds_the_step_and_learns_where_missing_goes() {
        // One feature of four value bins and a missing bin; rows in bins 0-1 have
        // gradient -1, in bins 2-3 +1, missing rows -1 (they belong left).
        let feature = Feature {
            name: "x".into(),
            kind: FeatureKind::Numeric {
                upper: vec![1.0, 2.0, 3.0, f32::INFINITY],
            },
        };
        let b = Binned {
            n_rows: 0,
            features: vec![feature],
            bins: vec![],
        };
        let layout = Layout::new(&b);
        let q = Quant::new(1.0, 1.0, 550);
        let rows_per_bin = [100, 150, 100, 100, 100];
        let grad = [-1.0f32, -1.0, 1.0, 1.0, -1.0];
        let mut hist = vec![0 as Packed; layout.total];
        for (bin, (&n, &g)) in rows_per_bin.iter().zip(&grad).enumerate() {
            for r in 0..n {
                hist[bin] += q.pack(g, 1.0, row_noise(1, r));
            }
        }
        let p = GbdtParams::default();
        // The split of the leaf of `n` rows whose bins are `hist`: the step, at bin 1,
        // with missing values sent left.
        let step = |hist: &[Packed], n: u64| {
            let total = LeafTotal {
                sum: hist.iter().sum(),
                n,
                quant: q,
            };
            let s = best_split(hist, &layout, &b, &total, &p, &[true]).expect("a split");
            let rule = Rule::Numeric {
                bin: 1,
                default_left: true,
            };
            assert_eq!(s.rule, rule);
            (s, total)
        };
        let (s, _) = step(&hist, 550);
        let ((lg, lh), (rg, rh)) = (q.unpack(s.left), q.unpack(s.right));
        for (got, want) in [(lg, -350.0), (lh, 350.0), (rg, 200.0), (rh, 200.0)] {
            assert!((got - want).abs() < 1e-3, "{got} vs {want}");
        }
        // gain = 350²/350 + 200²/200 − 150²/550
        assert!(
            (s.gain - (550.0 - 22500.0 / 550.0)).abs() < 1e-3,
            "{}",
            s.gain
        );
        // Without missing rows the split is the same and missing values follow the
        // larger hessian (left: 250 rows against 200).
        hist[4] = 0;
        let (_, total) = step(&hist, 450);
        // A leaf too small for two sides of min_data_in_leaf rows has no split.
        let p = GbdtParams {
            min_data_in_leaf: 201,
            ..GbdtParams::default()
        };
        assert!(best_split(&hist, &layout, &b, &total, &p, &[true]).is_none());
    }
}
