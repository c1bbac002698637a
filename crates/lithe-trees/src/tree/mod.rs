//! One regression tree: grown leaf-wise on histograms ([`grow`]), stored as flat arrays
//! (here), walked by rows in batches or one at a time ([`walk`]).

mod grow;
mod walk;

pub use grow::{Grower, partition_by};
pub(crate) use walk::pick;
pub use walk::{ROW_WALK_MAX_FEATURES, RowWalk, Walker, by_row_blocks};

use std::hint::select_unpredictable;

use serde::{Deserialize, Serialize};

use crate::data::{BinColumn, Binned, Feature, FeatureKind};

use crate::hist::{self, Layout, LeafTotal, Packed, Quant, Rule, Split};
use crate::params::GbdtParams;
use rayon::prelude::*;

/// A child pointer: `>= 0` is an internal node, `< 0` is leaf `!child`.
pub type Child = i32;

/// An internal node, packed so that one cache line holds everything a step needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub feature: u32,
    /// Numeric nodes: values `<= threshold` go left.
    pub threshold: f32,
    pub left: Child,
    pub right: Child,
    /// Categorical nodes: where the node's set starts in `cat_bits` (it spans the
    /// words of the feature's bins, missing included); `u32::MAX` for numeric nodes.
    pub cat_set: u32,
    /// Numeric nodes: the same rule on bins (`bin <= threshold_bin` goes left).
    pub threshold_bin: u16,
    /// Numeric nodes: where missing values go.
    pub default_left: bool,
}

/// A fitted tree: internal nodes in one array (a tree with one leaf has none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    pub nodes: Vec<Node>,
    /// Bins (category indices) that go left, as bitsets, one after another.
    pub cat_bits: Vec<u64>,
    /// Gain of each split, for feature importance (f32: it is only ever summed).
    pub gain: Vec<f32>,
    pub leaf_value: Vec<f64>,
}

/// Whether `bin` is in the set starting at word `start` (`bin` is at most the
/// feature's missing bin, which the set covers).
#[inline]
fn in_set(bits: &[u64], start: u32, bin: usize) -> bool {
    bits[start as usize + (bin >> 6)] >> (bin & 63) & 1 == 1
}

/// Words of a categorical node's set: it covers the feature's value bins and its
/// missing bin.
fn set_words(n_value_bins: usize) -> usize {
    n_value_bins / 64 + 1
}

/// The bin of a categorical feature's raw value: the category index `v` when it is
/// one (a whole number below `n_value_bins`), else the missing bin `n_value_bins`.
#[inline(always)]
fn cat_bin(v: f32, n_value_bins: u32) -> u32 {
    // The processor's truncation gives i32::MIN for NaN and out-of-range values, which
    // fails the test below; Rust's saturating `as` would add fix-ups.
    #[cfg(target_arch = "x86_64")]
    let i = unsafe { std::arch::x86_64::_mm_cvttss_si32(std::arch::x86_64::_mm_set_ss(v)) } as u32;
    #[cfg(not(target_arch = "x86_64"))]
    let i = v as u32;
    select_unpredictable((i < n_value_bins) & (i as f32 == v), i, n_value_bins)
}

impl Tree {
    pub fn n_leaves(&self) -> usize {
        self.leaf_value.len()
    }

    /// Steps from the root to the deepest leaf (0 for a tree of one leaf).
    pub fn depth(&self) -> u32 {
        let mut deepest = 0;
        let mut stack = Vec::new();
        if !self.nodes.is_empty() {
            stack.push((0usize, 1u32));
        }
        while let Some((i, d)) = stack.pop() {
            deepest = deepest.max(d);
            for c in [self.nodes[i].left, self.nodes[i].right] {
                if c >= 0 {
                    stack.push((c as usize, d + 1));
                }
            }
        }
        deepest
    }

    /// Follow the tree from the root, going left where `go_left(node)` says, to a leaf.
    #[inline]
    fn walk(&self, go_left: impl Fn(&Node) -> bool) -> usize {
        if self.nodes.is_empty() {
            return 0;
        }
        let mut node = 0usize;
        loop {
            let nd = &self.nodes[node];
            // Select the child by data, not by a branch: the direction is hard to predict.
            let next = [nd.right, nd.left][go_left(nd) as usize];
            if next < 0 {
                return !next as usize;
            }
            node = next as usize;
        }
    }

    /// The leaf a raw row falls in. Numeric features are values (`NaN` = missing);
    /// categorical features are the model's category index (anything else = missing).
    #[inline]
    pub fn leaf_of(&self, row: &[f32], features: &[Feature]) -> usize {
        self.walk(|nd| self.raw_left(nd, row, features))
    }

    /// Whether a raw value goes left at `nd` (see [`Self::leaf_of`]).
    #[inline(always)]
    fn raw_left(&self, nd: &Node, row: &[f32], features: &[Feature]) -> bool {
        let f = nd.feature as usize;
        let v = row[f];
        if nd.cat_set == u32::MAX {
            // (Integer arithmetic: no branch on the node's default direction.)
            (u8::from(v <= nd.threshold) | (u8::from(v.is_nan()) & u8::from(nd.default_left))) != 0
        } else {
            let bin = cat_bin(v, features[f].n_value_bins() as u32);
            in_set(&self.cat_bits, nd.cat_set, bin as usize)
        }
    }

    /// The leaves a raw row falls in for `L` trees at once: the walks are independent,
    /// so the processor overlaps their memory loads instead of waiting on each in turn.
    #[inline]
    pub fn leaves_of<const L: usize>(
        trees: &[Tree],
        row: &[f32],
        features: &[Feature],
    ) -> [usize; L] {
        let trees: &[Tree; L] = trees[..L].try_into().expect("L trees");
        if trees.iter().any(|t| t.nodes.is_empty()) {
            return std::array::from_fn(|l| trees[l].leaf_of(row, features));
        }
        let mut cur = [0 as Child; L];
        let mut open = L;
        while open > 0 {
            open = 0;
            for (c, t) in cur.iter_mut().zip(trees) {
                if *c >= 0 {
                    let nd = &t.nodes[*c as usize];
                    *c = if t.raw_left(nd, row, features) {
                        nd.left
                    } else {
                        nd.right
                    };
                    open += usize::from(*c >= 0);
                }
            }
        }
        cur.map(|c| !c as usize)
    }

    /// Every tree's leaf for every row of a row-major block (`nf` values a row):
    /// `visit(tree, row, leaf)`. Trees go in groups of four ([`Self::leaves_of`]), each
    /// group over all the rows before the next; each row still sees its trees in order,
    /// so sums built by `visit` are the same as walking one tree at a time. This is the
    /// one-row path of both learners and the batch path of forests; gradient boosting's
    /// batch prediction uses a [`Walker`].
    #[inline]
    pub fn for_each_leaf(
        trees: &[Tree],
        rows: &[f32],
        nf: usize,
        features: &[Feature],
        mut visit: impl FnMut(usize, usize, usize),
    ) {
        let mut groups = trees.chunks_exact(4);
        let mut t = 0;
        for four in &mut groups {
            for (r, row) in rows.chunks(nf).enumerate() {
                let leaves = Self::leaves_of::<4>(four, row, features);
                for (j, leaf) in leaves.into_iter().enumerate() {
                    visit(t + j, r, leaf);
                }
            }
            t += 4;
        }
        for tree in groups.remainder() {
            for (r, row) in rows.chunks(nf).enumerate() {
                visit(t, r, tree.leaf_of(row, features));
            }
            t += 1;
        }
    }

    /// Why this tree cannot be walked over rows of `features`, if it cannot: every
    /// node must read one of the features and lead to nodes after itself or to leaves,
    /// categorical sets must lie inside `cat_bits`, and the counts must agree (each
    /// leaf holding `values_per_leaf` values). Trees
    /// grown here always pass; model files are checked with it when read.
    pub fn check(
        &self,
        features: &[Feature],
        values_per_leaf: usize,
    ) -> std::result::Result<(), String> {
        if self.leaf_value.len() != (self.nodes.len() + 1) * values_per_leaf
            || self.gain.len() != self.nodes.len()
        {
            return Err(format!(
                "{} nodes, {} gains and {} leaves do not make a tree",
                self.nodes.len(),
                self.gain.len(),
                self.leaf_value.len()
            ));
        }
        if !self.walkable(features.len()) {
            return Err("a node reads an unknown feature or points outside the tree".into());
        }
        for nd in self.nodes.iter().filter(|nd| nd.cat_set != u32::MAX) {
            let words = set_words(features[nd.feature as usize].n_value_bins());
            if nd.cat_set as usize + words > self.cat_bits.len() {
                return Err("a categorical set lies outside the tree".into());
            }
        }
        Ok(())
    }

    /// Whether the block walk may index without bounds checks: every node reads a
    /// feature below `nf` and points at nodes after itself (so every walk ends) that
    /// exist, or at leaves that exist. Trees built here always are; this guards trees
    /// put together by hand or read from a damaged file. O(nodes).
    fn walkable(&self, nf: usize) -> bool {
        // A tree of n nodes has n + 1 leaves, each holding one value per output (so a
        // leaf index must be below both).
        let n_nodes = self.nodes.len();
        let n_leaves = (n_nodes + 1).min(self.leaf_value.len());
        self.nodes.iter().enumerate().all(|(i, nd)| {
            (nd.feature as usize) < nf
                && [nd.left, nd.right].iter().all(|&c| {
                    if c >= 0 {
                        (c as usize) > i && (c as usize) < n_nodes
                    } else {
                        (!c as usize) < n_leaves
                    }
                })
        })
    }

    /// The leaf of row `r` of a binned matrix.
    #[inline]
    pub fn leaf_of_binned(&self, b: &Binned, r: usize) -> usize {
        self.walk(|nd| {
            let f = nd.feature as usize;
            let bin = b.bins[f].get(r);
            if nd.cat_set == u32::MAX {
                if bin == b.features[f].missing_bin() {
                    nd.default_left
                } else {
                    bin <= nd.threshold_bin as usize
                }
            } else {
                in_set(&self.cat_bits, nd.cat_set, bin)
            }
        })
    }
}
