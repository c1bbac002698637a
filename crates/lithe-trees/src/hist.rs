//! Gradient histograms and the best split of a leaf.

use rayon::prelude::*;

use crate::data::Binned;
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

/// Fill `hist` with the sums of the rows `idx` (gradients `g`, hessians `h` indexed by
/// row). Features are done in parallel, each by one thread, so sums are in a fixed
/// order whatever the thread count.
pub fn build(
    hist: &mut [HistBin],
    layout: &Layout,
    b: &Binned,
    idx: &[u32],
    g: &[f32],
    h: &[f32],
    active: &[bool],
) {
    // A leaf holding every row in order (the root) reads everything sequentially;
    // otherwise gather the leaf's gradients once, in its row order.
    let all_rows = idx.len() == b.n_rows
        && idx.first() == Some(&0)
        && idx.last().map(|&r| r as usize + 1) == Some(b.n_rows);
    let ordered: Vec<(f32, f32)> = if all_rows {
        Vec::new()
    } else {
        idx.iter()
            .map(|&r| (g[r as usize], h[r as usize]))
            .collect()
    };
    let mut chunks: Vec<(usize, &mut [HistBin])> = Vec::with_capacity(b.features.len());
    let mut rest = hist;
    for f in 0..b.features.len() {
        let len = layout.offsets[f + 1] - layout.offsets[f];
        let (head, tail) = rest.split_at_mut(len);
        chunks.push((f, head));
        rest = tail;
    }
    let one = |(f, chunk): (usize, &mut [HistBin])| {
        if !active[f] {
            chunk.fill(HistBin::default());
            return;
        }
        // Accumulate into a full 256-slot array: a u8 bin indexes it without checks.
        let mut local = [HistBin::default(); 256];
        let col = &b.bins[f];
        if all_rows {
            for ((&bin, &gr), &hr) in col.iter().zip(g).zip(h) {
                let e = &mut local[bin as usize];
                e.g += gr as f64;
                e.h += hr as f64;
                e.n += 1;
            }
        } else {
            for (&r, &(gr, hr)) in idx.iter().zip(&ordered) {
                let e = &mut local[col[r as usize] as usize];
                e.g += gr as f64;
                e.h += hr as f64;
                e.n += 1;
            }
        }
        chunk.copy_from_slice(&local[..chunk.len()]);
    };
    // Small leaves are not worth handing to other threads.
    if idx.len() * b.features.len() < SEQUENTIAL_BELOW {
        chunks.into_iter().for_each(one);
    } else {
        chunks.into_par_iter().for_each(one);
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
    /// Bins in the set go left; everything else (missing included) goes right.
    Categorical { left: [u64; 4] },
}

impl Rule {
    #[inline]
    pub fn goes_left(&self, bin: u8, missing_bin: u8) -> bool {
        match self {
            Rule::Numeric {
                bin: t,
                default_left,
            } => {
                if bin == missing_bin {
                    *default_left
                } else {
                    bin <= *t
                }
            }
            Rule::Categorical { left } => left[(bin >> 6) as usize] >> (bin & 63) & 1 == 1,
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
    p: &GbdtParams,
) -> Option<(HistBin, f64)> {
    let right = HistBin {
        g: total.g - left.g,
        h: total.h - left.h,
        n: total.n - left.n,
    };
    if !allowed(left, &right, p) {
        return None;
    }
    Some((
        right,
        score(left.g, left.h, l2) + score(right.g, right.h, l2) - parent,
    ))
}

fn allowed(l: &HistBin, r: &HistBin, p: &GbdtParams) -> bool {
    l.n as usize >= p.min_data_in_leaf
        && r.n as usize >= p.min_data_in_leaf
        && l.h >= p.min_sum_hessian
        && r.h >= p.min_sum_hessian
}

fn numeric_split(f: usize, bins: &[HistBin], total: &HistBin, p: &GbdtParams) -> Option<Split> {
    let missing = bins[bins.len() - 1];
    let n_value = bins.len() - 1;
    let parent = score(total.g, total.h, p.lambda_l2);
    let mut best: Option<Split> = None;
    let mut acc = HistBin::default();
    for (t, bin) in bins.iter().enumerate().take(n_value.saturating_sub(1)) {
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
            let Some((right, gain)) = evaluate(&left, total, parent, p.lambda_l2, p) else {
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
                });
            }
        }
    }
    best
}

fn categorical_split(f: usize, bins: &[HistBin], total: &HistBin, p: &GbdtParams) -> Option<Split> {
    let n_value = bins.len() - 1;
    let l2 = p.lambda_l2 + p.cat_l2;
    let parent = score(total.g, total.h, l2);
    let present: Vec<usize> = (0..n_value).filter(|&b| bins[b].n > 0).collect();
    let mut best: Option<Split> = None;
    let consider = |set: &[usize], best: &mut Option<Split>| {
        let mut left = HistBin::default();
        let mut mask = [0u64; 4];
        for &b in set {
            left.add(&bins[b]);
            mask[b >> 6] |= 1 << (b & 63);
        }
        let Some((right, gain)) = evaluate(&left, total, parent, l2, p) else {
            return;
        };
        if best.as_ref().is_none_or(|b| gain > b.gain) {
            *best = Some(Split {
                feature: f,
                gain,
                rule: Rule::Categorical { left: mask },
                left,
                right,
            });
        }
    };
    if present.len() <= p.max_cat_to_onehot {
        for &b in &present {
            consider(&[b], &mut best);
        }
        return best;
    }
    // Order categories by their gradient ratio and try each prefix from both ends
    // (the Fisher ordering LightGBM uses), up to `max_cat_threshold` categories.
    let mut usable: Vec<usize> = present
        .into_iter()
        .filter(|&b| bins[b].n as usize >= p.min_data_per_group)
        .collect();
    usable.sort_by(|&a, &b| {
        let ra = bins[a].g / (bins[a].h + p.cat_smooth);
        let rb = bins[b].g / (bins[b].h + p.cat_smooth);
        ra.total_cmp(&rb).then(a.cmp(&b))
    });
    let limit = p.max_cat_threshold.min(usable.len().saturating_sub(1));
    for k in 1..=limit {
        consider(&usable[..k], &mut best);
        consider(&usable[usable.len() - k..], &mut best);
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
