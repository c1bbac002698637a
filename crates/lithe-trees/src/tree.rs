//! One regression tree: grown leaf-wise on histograms, stored as flat arrays.

use std::hint::select_unpredictable;

use serde::{Deserialize, Serialize};

use crate::data::{BinColumn, Binned, Feature, FeatureKind};

use crate::hist::{self, GradPair, HistBin, Layout, Rule, Split};
use crate::params::GbdtParams;
use rayon::prelude::*;

/// Batch prediction's walk of many rows through many trees, set up once for a call
/// (gradient boosting's `predict_matrix`; [`Tree::for_each_leaf`] is the one-row walk).
///
/// Rows are turned into integer keys a block at a time ([`key_of`]): numeric values
/// keep their order and `NaN` becomes `u32::MAX`; categorical values become their bin.
/// A numeric node then sends a row left when `key + bias <= node key`, where the node
/// key is the threshold's key plus `bias`, and `bias` is 1 when missing values go left
/// (the sum wraps `NaN` round to 0, below every node key) and 0 when they go right.
/// One integer comparison replaces a float comparison and a test for `NaN`.
pub struct Walker<'a> {
    trees: &'a [Tree],
    features: &'a [Feature],
    nf: usize,
    /// Row stride of a block of keys: `nf` rounded up to a power of two.
    shift: u32,
    /// Per feature: its number of value bins (its missing bin) when categorical
    /// nodes read it, so that it is keyed by bin; `None` when keyed by value.
    nbins: Vec<Option<u32>>,
    /// Per tree: its nodes as the walk reads them, or `None` when the tree fails
    /// [`Tree::walkable`] (and is walked row by row, checked).
    nodes: Vec<Option<Vec<WalkNode>>>,
    /// Per walkable tree with categorical nodes: each node's set when it fits one word
    /// (a categorical feature of at most 63 categories), else 0; empty otherwise.
    masks: Vec<Vec<u64>>,
}

/// A node of the batch walk: 16 bytes, so four share a cache line.
#[derive(Clone, Copy)]
struct WalkNode {
    /// Numeric: the threshold's key plus `bias`. Categorical: where its set starts in
    /// the tree's `cat_bits`.
    key: u32,
    /// The feature, with [`SMALL_CAT`] set for categorical nodes whose set is one word,
    /// [`CAT_NODE`] for wider ones, and [`BIAS_LEFT`] for numeric nodes whose missing
    /// values go left.
    feature: u32,
    left: Child,
    right: Child,
}

/// A categorical node whose set spans several words of `cat_bits`.
const CAT_NODE: u32 = 1 << 30;
/// A categorical node whose set is one word ([`Walker::masks`]).
const SMALL_CAT: u32 = 1 << 29;
const BIAS_LEFT: u32 = 1 << 31;
const FEATURE_MASK: u32 = SMALL_CAT - 1;

/// The order-keeping integer key of a numeric value: `a <= b` exactly when
/// `key_of(a) <= key_of(b)` for values that are not `NaN`; `NaN` is `u32::MAX`.
#[inline(always)]
fn key_of(v: f32) -> u32 {
    // (+ 0.0 turns -0.0, equal to 0.0, into 0.0.)
    let b = (v + 0.0).to_bits();
    let k = if b >> 31 == 1 { !b } else { b | 1 << 31 };
    select_unpredictable(v.is_nan(), u32::MAX, k)
}

impl<'a> Walker<'a> {
    /// Trees over rows of `nf` values whose features are `features`.
    pub fn new(trees: &'a [Tree], features: &'a [Feature], nf: usize) -> Self {
        // A feature that categorical nodes read is keyed by its bins; any other by its
        // values (forests split categorical features by thresholds on their index).
        let mut nbins: Vec<Option<u32>> = vec![None; nf];
        for t in trees {
            for nd in t.nodes.iter().filter(|nd| nd.cat_set != u32::MAX) {
                if let (Some(nb), Some(ft)) = (
                    nbins.get_mut(nd.feature as usize),
                    features.get(nd.feature as usize),
                ) {
                    *nb = Some(ft.n_value_bins() as u32);
                }
            }
        }
        let (nodes, masks) = trees
            .iter()
            .map(|t| {
                if !t.walkable(nf) || nf >= SMALL_CAT as usize {
                    return (None, Vec::new());
                }
                // Trees with categorical nodes keep a one-word set per node (0 where
                // the set is wider or the node numeric).
                let cat_tree = !t.cat_bits.is_empty();
                let mut masks = Vec::with_capacity(if cat_tree { t.nodes.len() } else { 0 });
                let nodes = t
                    .nodes
                    .iter()
                    .map(|nd| {
                        let f = nd.feature;
                        let (node, mask) = if nd.cat_set != u32::MAX {
                            let nb = nbins[f as usize]?;
                            if nd.cat_set as usize + set_words(nb as usize) > t.cat_bits.len() {
                                return None;
                            }
                            let small = nb < 64;
                            let node = WalkNode {
                                key: nd.cat_set,
                                feature: f | if small { SMALL_CAT } else { CAT_NODE },
                                left: nd.left,
                                right: nd.right,
                            };
                            (
                                node,
                                if small {
                                    t.cat_bits[nd.cat_set as usize]
                                } else {
                                    0
                                },
                            )
                        } else {
                            if nd.threshold.is_nan() || nbins[f as usize].is_some() {
                                return None;
                            }
                            let node = WalkNode {
                                key: key_of(nd.threshold) + u32::from(nd.default_left),
                                feature: f | if nd.default_left { BIAS_LEFT } else { 0 },
                                left: nd.left,
                                right: nd.right,
                            };
                            (node, 0)
                        };
                        if cat_tree {
                            masks.push(mask);
                        }
                        Some(node)
                    })
                    .collect::<Option<Vec<WalkNode>>>();
                let masks = if nodes.is_some() { masks } else { Vec::new() };
                (nodes, masks)
            })
            .unzip();
        Walker {
            trees,
            features,
            nf,
            masks,
            shift: nf.max(1).next_power_of_two().trailing_zeros(),
            nbins,
            nodes,
        }
    }

    /// Every tree's leaf for every row of a row-major block: `visit(tree, row, leaf)`,
    /// each row seeing its trees in order (the sums match [`Tree::for_each_leaf`]'s). Rows go in
    /// blocks of [`BLOCK_ROWS`], and each tree walks a whole block before the next.
    pub fn for_each_leaf(&self, rows: &[f32], mut visit: impl FnMut(usize, usize, usize)) {
        let nf = self.nf.max(1);
        let n = (rows.len() / nf).min(BLOCK_ROWS);
        let mut walk = Walk {
            keys: vec![0; n << self.shift],
            row: vec![0; n],
            node: vec![0; n],
            cur: vec![0; n],
        };
        for (b, block) in rows.chunks(BLOCK_ROWS * nf).enumerate() {
            self.block_leaves(block, &mut walk, |t, r, leaf| {
                visit(t, b * BLOCK_ROWS + r, leaf)
            });
        }
    }

    /// [`Walker::for_each_leaf`] for a block of at most [`BLOCK_ROWS`] rows, one tree at a
    /// time: every row takes one step down the tree per pass, and the rows that reach a
    /// leaf drop out of the list of rows still walking. The steps of different rows are
    /// independent and no branch depends on the data at numeric nodes, so the processor
    /// overlaps them.
    fn block_leaves(
        &self,
        rows: &[f32],
        walk: &mut Walk,
        mut visit: impl FnMut(usize, usize, usize),
    ) {
        let nf = self.nf.max(1);
        let n = rows.len() / nf;
        for (row, keys) in rows
            .chunks_exact(nf)
            .zip(walk.keys.chunks_exact_mut(1 << self.shift))
        {
            for ((k, &v), &nb) in keys.iter_mut().zip(row).zip(&self.nbins) {
                *k = match nb {
                    Some(nb) => cat_bin(v, nb),
                    None => key_of(v),
                };
            }
        }
        for (t, (tree, nodes)) in self.trees.iter().zip(&self.nodes).enumerate() {
            match nodes {
                _ if tree.nodes.is_empty() => {
                    for r in 0..n {
                        visit(t, r, 0);
                    }
                    continue;
                }
                None => {
                    // (A tree the fast walk cannot trust: walk it checked, row by row.)
                    for (r, row) in rows.chunks(nf).enumerate() {
                        visit(t, r, tree.leaf_of(row, self.features));
                    }
                    continue;
                }
                Some(nodes) if tree.cat_bits.is_empty() => {
                    block_walk::<false>(nodes, &[], &tree.cat_bits, self.shift, n, walk)
                }
                Some(nodes) => {
                    block_walk::<true>(nodes, &self.masks[t], &tree.cat_bits, self.shift, n, walk)
                }
            }
            for (r, &c) in walk.cur[..n].iter().enumerate() {
                visit(t, r, !c as usize);
            }
        }
    }
}

/// Walk the `n` rows of the block (keys in `walk.keys`, `1 << shift` a row) to their
/// leaves: `walk.cur[r]` ends as `!leaf`. `nodes` come from a tree that is
/// [`Tree::walkable`] for the block's `nf <= 1 << shift` (so every node reads a key of
/// its row and points at later nodes or at leaves), and categorical nodes' sets lie
/// inside `cat_bits` and cover their feature's bins ([`Walker::new`]).
#[inline(always)]
fn block_walk<const CAT: bool>(
    nodes: &[WalkNode],
    masks: &[u64],
    cat_bits: &[u64],
    shift: u32,
    n: usize,
    walk: &mut Walk,
) {
    assert!(n <= walk.cur.len() && n <= walk.row.len() && n <= walk.node.len());
    assert!(walk.keys.len() >= n << shift && !nodes.is_empty());
    assert!(!CAT || masks.len() == nodes.len());
    for r in 0..n {
        walk.row[r] = r as u16;
        walk.node[r] = 0;
    }
    // Rows `walk.row[..k]` are still walking, at nodes `walk.node[..k]`.
    let mut k = n;
    while k > 0 {
        let mut w = 0;
        for j in 0..k {
            // SAFETY: j < k <= n and w <= j, so every index into `walk.row`, `walk.node`
            // and (through a row index r < n) `walk.cur` is below n, which the asserts
            // bound by their lengths. Nodes in `walk.node` are the root or children,
            // which `walkable` bounds by `nodes.len()`; a node's feature is below
            // `nf <= 1 << shift`, so the key index is below `n << shift`.
            let (r, at) = unsafe {
                (
                    *walk.row.get_unchecked(j) as usize,
                    *walk.node.get_unchecked(j) as usize,
                )
            };
            let nd = unsafe { nodes.get_unchecked(at) };
            let key = unsafe {
                *walk
                    .keys
                    .get_unchecked((r << shift) + (nd.feature & FEATURE_MASK) as usize)
            };
            let left = if CAT && nd.feature & CAT_NODE != 0 {
                // The key is a bin no larger than the missing bin, which the set covers.
                cat_bits[nd.key as usize + (key >> 6) as usize] >> (key & 63) & 1 == 1
            } else {
                let num_left = key.wrapping_add(nd.feature >> 31) <= nd.key;
                if CAT {
                    // Numeric and one-word categorical nodes without a branch on their
                    // kind, which is as hard to predict as the direction: both rules,
                    // then a pick (a numeric node's mask is 0 and its verdict unused).
                    let mask = unsafe { *masks.get_unchecked(at) };
                    let cat_left = mask.wrapping_shr(key) & 1 == 1;
                    select_unpredictable(nd.feature & SMALL_CAT != 0, cat_left, num_left)
                } else {
                    num_left
                }
            };
            let c = select_unpredictable(left, nd.left, nd.right);
            unsafe {
                *walk.cur.get_unchecked_mut(r) = c;
                *walk.row.get_unchecked_mut(w) = r as u16;
                *walk.node.get_unchecked_mut(w) = c;
            }
            // Rows that reached a leaf drop out: the next row overwrites their slot.
            w += usize::from(c >= 0);
        }
        k = w;
    }
}

/// Rows per block of the tree-at-a-time walk ([`Walker::for_each_leaf`]).
const BLOCK_ROWS: usize = 256;

/// A block's keys, the rows of the block still walking down a tree and the node each
/// is at.
struct Walk {
    keys: Vec<u32>,
    row: Vec<u16>,
    node: Vec<Child>,
    /// Where each row of the block is: a node, or `!leaf` once it has arrived.
    cur: Vec<Child>,
}

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
        let (n_nodes, n_leaves) = (self.nodes.len(), self.leaf_value.len());
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

struct Leaf {
    start: usize,
    end: usize,
    sum: HistBin,
    /// The L2 penalty of this leaf's value (see [`Split::l2`]).
    l2: f64,
    depth: usize,
    hist: Vec<HistBin>,
    best: Option<Split>,
    /// The internal node and side that point at this leaf (`None` for the root).
    parent: Option<(usize, bool)>,
}

/// Shared state for growing the trees of one model.
pub struct Grower<'a> {
    pub b: &'a Binned,
    pub layout: Layout,
    pub params: &'a GbdtParams,
    scratch: Vec<u32>,
    /// The gradient pairs of the rows in `idx` order (see [`GradPair`]), and scratch
    /// space for moving them.
    gh: Vec<GradPair>,
    scratch_gh: Vec<GradPair>,
    /// Whether the gradient pairs move with the rows (large data: reading a leaf's
    /// gradients from scattered rows misses the cache), or a leaf's are gathered into
    /// `gathered` when its histogram is built (small data, where moving them costs more).
    carry: bool,
    gathered: Vec<GradPair>,
    /// Histogram buffers to reuse (fresh ones cost page faults).
    pool: Vec<Vec<HistBin>>,
}

impl<'a> Grower<'a> {
    pub fn new(b: &'a Binned, params: &'a GbdtParams) -> Self {
        Grower {
            b,
            layout: Layout::new(b),
            params,
            scratch: Vec::new(),
            gh: Vec::new(),
            scratch_gh: Vec::new(),
            carry: b.n_rows >= CARRY_FROM_ROWS,
            gathered: Vec::new(),
            pool: Vec::new(),
        }
    }

    fn take_hist(&mut self) -> Vec<HistBin> {
        self.pool
            .pop()
            .unwrap_or_else(|| vec![HistBin::default(); self.layout.total])
    }

    fn can_split(&self, leaf_n: u64, depth: usize) -> bool {
        let p = self.params;
        (p.max_depth < 0 || (depth as i32) < p.max_depth)
            && leaf_n as usize >= 2 * p.min_data_in_leaf
    }

    /// Grow one tree on the rows `idx` (reordered in place so each leaf's rows are
    /// contiguous). Returns the tree (leaf values already scaled by the learning rate)
    /// and each leaf's range in `idx`.
    pub fn grow(
        &mut self,
        idx: &mut [u32],
        g: &[f32],
        h: &[f32],
        active: &[bool],
    ) -> (Tree, Vec<(usize, usize)>) {
        let p = self.params;
        let mut gh = std::mem::take(&mut self.gh);
        gh.clear();
        gh.resize(idx.len(), (0.0, 0.0));
        gh.par_chunks_mut(PAR_CHUNK)
            .zip(idx.par_chunks(PAR_CHUNK))
            .for_each(|(d, rows)| {
                for (d, &r) in d.iter_mut().zip(rows) {
                    *d = (g[r as usize], h[r as usize]);
                }
            });
        let mut root_hist = self.take_hist();
        hist::build(&mut root_hist, &self.layout, self.b, idx, &gh, active);
        let sum = root_sum(&root_hist, &self.layout, &gh);
        let mut leaves = vec![Leaf {
            start: 0,
            end: idx.len(),
            sum,
            l2: p.lambda_l2,
            depth: 0,
            hist: root_hist,
            best: None,
            parent: None,
        }];
        if self.can_split(sum.n, 0) {
            leaves[0].best =
                hist::best_split(&leaves[0].hist, &self.layout, self.b, &sum, p, active);
        }
        let mut tree = Tree::default();
        while leaves.len() < p.num_leaves {
            // The leaf whose best split gains most (ties: the earlier leaf).
            let Some(li) = (0..leaves.len())
                .filter(|&i| leaves[i].best.is_some())
                .max_by(|&a, &b| {
                    let ga = leaves[a].best.as_ref().map_or(0.0, |s| s.gain);
                    let gb = leaves[b].best.as_ref().map_or(0.0, |s| s.gain);
                    ga.total_cmp(&gb).then(b.cmp(&a))
                })
            else {
                break;
            };
            let split = leaves[li]
                .best
                .take()
                .unwrap_or_else(|| unreachable!("filtered on best"));
            let f = split.feature;
            let feat = &self.b.features[f];
            let missing_bin = feat.missing_bin();
            // Partition the leaf's rows: left ones first, in their original order.
            let (start, end) = (leaves[li].start, leaves[li].end);
            let lut: Vec<bool> = (0..=missing_bin)
                .map(|bin| split.rule.goes_left(bin, missing_bin))
                .collect();
            let rows = &mut idx[start..end];
            let (sr, sg) = (&mut self.scratch, &mut self.scratch_gh);
            let left = if self.carry {
                let pairs = &mut gh[start..end];
                with_lut(&lut, |lut| match &self.b.bins[f] {
                    BinColumn::U8(col) => partition_leaf(rows, pairs, col, lut, sr, sg),
                    BinColumn::U16(col) => partition_leaf(rows, pairs, col, lut, sr, sg),
                })
            } else {
                with_lut(&lut, |lut| match &self.b.bins[f] {
                    BinColumn::U8(col) => partition_by(rows, col, |b| lut[b], sr),
                    BinColumn::U16(col) => partition_by(rows, col, |b| lut[b], sr),
                })
            };
            let w = start + left;
            let mid = w;
            // The new internal node replaces the leaf.
            let node = tree.nodes.len();
            tree.gain.push(split.gain as f32);
            let mut nd = Node {
                feature: f as u32,
                cat_set: u32::MAX,
                ..Node::default()
            };
            match &split.rule {
                Rule::Numeric { bin, default_left } => {
                    let FeatureKind::Numeric { upper } = &feat.kind else {
                        unreachable!("numeric rule on a numeric feature")
                    };
                    nd.threshold = upper[*bin as usize];
                    nd.threshold_bin = *bin as u16;
                    nd.default_left = *default_left;
                }
                Rule::Categorical { left } => {
                    nd.cat_set = tree.cat_bits.len() as u32;
                    tree.cat_bits.extend_from_slice(left);
                }
            }
            tree.nodes.push(nd);
            if let Some((pn, is_left)) = leaves[li].parent {
                if is_left {
                    tree.nodes[pn].left = node as Child
                } else {
                    tree.nodes[pn].right = node as Child
                }
            }
            // Children: build the smaller's histogram, subtract it from the parent's for the larger.
            let depth = leaves[li].depth + 1;
            let parent_hist = std::mem::take(&mut leaves[li].hist);
            let (small_range, small_is_left) = if mid - start <= end - mid {
                ((start, mid), true)
            } else {
                ((mid, end), false)
            };
            let mut small_hist = self.take_hist();
            let small_rows = &idx[small_range.0..small_range.1];
            let small_gh = if self.carry {
                &gh[small_range.0..small_range.1]
            } else {
                self.gathered.clear();
                self.gathered
                    .extend(small_rows.iter().map(|&r| (g[r as usize], h[r as usize])));
                &self.gathered[..]
            };
            hist::build(
                &mut small_hist,
                &self.layout,
                self.b,
                small_rows,
                small_gh,
                active,
            );
            let mut large_hist = parent_hist;
            hist::subtract(&mut large_hist, &small_hist);
            let (left_hist, right_hist) = if small_is_left {
                (small_hist, large_hist)
            } else {
                (large_hist, small_hist)
            };
            let mut left = Leaf {
                start,
                end: mid,
                sum: split.left,
                l2: split.l2,
                depth,
                hist: left_hist,
                best: None,
                parent: Some((node, true)),
            };
            let mut right = Leaf {
                start: mid,
                end,
                sum: split.right,
                l2: split.l2,
                depth,
                hist: right_hist,
                best: None,
                parent: Some((node, false)),
            };
            for leaf in [&mut left, &mut right] {
                if self.can_split(leaf.sum.n, depth) {
                    leaf.best =
                        hist::best_split(&leaf.hist, &self.layout, self.b, &leaf.sum, p, active);
                }
            }
            leaves[li] = left;
            leaves.push(right);
        }
        self.gh = gh;
        // Leaves are numbered in `leaves` order; point the parents at them.
        let mut ranges = Vec::with_capacity(leaves.len());
        for (i, leaf) in leaves.iter_mut().enumerate() {
            self.pool.push(std::mem::take(&mut leaf.hist));
            if let Some((pn, is_left)) = leaf.parent {
                let c = !(i as Child);
                if is_left {
                    tree.nodes[pn].left = c
                } else {
                    tree.nodes[pn].right = c
                }
            }
            tree.leaf_value
                .push(p.learning_rate * hist::leaf_value(leaf.sum.g, leaf.sum.h, leaf.l2));
            ranges.push((leaf.start, leaf.end));
        }
        (tree, ranges)
    }
}

/// Rows per piece when a leaf's rows are split across threads.
const PAR_CHUNK: usize = 1 << 15;

/// From this many rows on, gradient pairs travel with the rows ([`Grower`]'s `carry`).
/// Measured: electricity (36k rows) fits 0.23 s carrying vs 0.16 s gathering;
/// synthetic_1m (800k) 6.1 s vs 6.8 s.
const CARRY_FROM_ROWS: usize = 1 << 17;

/// Call `f` with the split rule as a 0/1 table over bins (a 256-entry array for byte
/// bins, so indexing it with a byte needs no bounds check).
fn with_lut<R>(go_left: &[bool], f: impl FnOnce(&[usize]) -> R) -> R {
    if go_left.len() <= 256 {
        let mut small = [0usize; 256];
        for (d, &g) in small.iter_mut().zip(go_left) {
            *d = usize::from(g);
        }
        f(&small)
    } else {
        let big: Vec<usize> = go_left.iter().map(|&g| usize::from(g)).collect();
        f(&big)
    }
}

/// Reorder a leaf's `rows`, and their gradient `pairs` with them, so the rows whose
/// bin `lut` marks (1 = left) come first, both sides in their original order; returns how
/// many went left. A stable partition has one answer, so splitting a large leaf into
/// pieces done in parallel gives the same order for any thread count.
fn partition_leaf<T: Copy + Into<usize> + Sync>(
    rows: &mut [u32],
    pairs: &mut [GradPair],
    col: &[T],
    lut: &[usize],
    scratch: &mut Vec<u32>,
    scratch_pairs: &mut Vec<GradPair>,
) -> usize {
    let n = rows.len();
    // (Grown, never shrunk or cleared: every slot used is written before it is read.)
    if scratch.len() < n {
        scratch.resize(n, 0);
    }
    if scratch_pairs.len() < n {
        scratch_pairs.resize(n, (0.0, 0.0));
    }
    let (scratch, scratch_pairs) = (&mut scratch[..n], &mut scratch_pairs[..n]);
    // Each piece partitions itself in place (its right rows parked in its share of the
    // scratch space) ...
    let piece =
        |(rows, pairs, sr, sp): (&mut [u32], &mut [GradPair], &mut [u32], &mut [GradPair])| {
            let (mut w, mut s) = (0usize, 0usize);
            for k in 0..rows.len() {
                let (r, gh) = (rows[k], pairs[k]);
                let go = lut[col[r as usize].into()];
                rows[w] = r;
                pairs[w] = gh;
                sr[s] = r;
                sp[s] = gh;
                w += go;
                s += 1 - go;
            }
            rows[w..].copy_from_slice(&sr[..s]);
            pairs[w..].copy_from_slice(&sp[..s]);
            w
        };
    if n < 2 * PAR_CHUNK {
        return piece((rows, pairs, scratch, scratch_pairs));
    }
    let lefts: Vec<usize> = rows
        .par_chunks_mut(PAR_CHUNK)
        .zip(pairs.par_chunks_mut(PAR_CHUNK))
        .zip(scratch.par_chunks_mut(PAR_CHUNK))
        .zip(scratch_pairs.par_chunks_mut(PAR_CHUNK))
        .map(|(((r, p), sr), sp)| piece((r, p, sr, sp)))
        .collect();
    // ... then every piece's left rows go to the front and its right rows to the back,
    // in piece order, through the scratch space.
    let total_left: usize = lefts.iter().sum();
    let (front_r, back_r) = scratch.split_at_mut(total_left);
    let (front_p, back_p) = scratch_pairs.split_at_mut(total_left);
    let mut dest = Vec::with_capacity(lefts.len());
    let (mut fr, mut br, mut fp, mut bp) = (front_r, back_r, front_p, back_p);
    for (c, &l) in lefts.iter().enumerate() {
        let len = PAR_CHUNK.min(n - c * PAR_CHUNK);
        let (a, rest) = fr.split_at_mut(l);
        fr = rest;
        let (b, rest) = br.split_at_mut(len - l);
        br = rest;
        let (ap, rest) = fp.split_at_mut(l);
        fp = rest;
        let (bpp, rest) = bp.split_at_mut(len - l);
        bp = rest;
        dest.push((l, a, b, ap, bpp));
    }
    rows.par_chunks(PAR_CHUNK)
        .zip(pairs.par_chunks(PAR_CHUNK))
        .zip(dest)
        .for_each(|((r, p), (l, a, b, ap, bp))| {
            a.copy_from_slice(&r[..l]);
            b.copy_from_slice(&r[l..]);
            ap.copy_from_slice(&p[..l]);
            bp.copy_from_slice(&p[l..]);
        });
    rows.par_chunks_mut(PAR_CHUNK)
        .zip(scratch.par_chunks(PAR_CHUNK))
        .for_each(|(d, s)| d.copy_from_slice(s));
    pairs
        .par_chunks_mut(PAR_CHUNK)
        .zip(scratch_pairs.par_chunks(PAR_CHUNK))
        .for_each(|(d, s)| d.copy_from_slice(s));
    total_left
}

/// Reorder `rows` so the ones the rule `go` sends left (1 = left, 0 = right) come
/// first, both sides in their original order; returns how many went left. Branch-free:
/// every row is written to both sides and only the side it belongs to advances.
#[inline]
pub fn partition_by<T: Copy + Into<usize>>(
    rows: &mut [u32],
    col: &[T],
    go: impl Fn(usize) -> usize,
    scratch: &mut Vec<u32>,
) -> usize {
    scratch.clear();
    scratch.resize(rows.len(), 0);
    let (mut w, mut s) = (0usize, 0usize);
    for k in 0..rows.len() {
        let r = rows[k];
        let go = go(col[r as usize].into());
        rows[w] = r;
        scratch[s] = r;
        w += go;
        s += 1 - go;
    }
    rows[w..].copy_from_slice(&scratch[..s]);
    w
}

/// Totals of the root, taken from the first active feature's histogram (every row
/// falls in exactly one of its bins), or summed directly when no feature is active.
fn root_sum(hist: &[HistBin], layout: &Layout, gh: &[GradPair]) -> HistBin {
    let mut s = HistBin::default();
    let f0 = &hist[layout.offsets[0]..layout.offsets[1]];
    if f0.iter().map(|b| b.n).sum::<u64>() == gh.len() as u64 {
        for b in f0 {
            s.g += b.g;
            s.h += b.h;
            s.n += b.n;
        }
        return s;
    }
    for &(g, h) in gh {
        s.g += g as f64;
        s.h += h as f64;
        s.n += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stable partition the leaf partition must produce, done the plain way.
    fn reference(rows: &[u32], col: &[u8], go_left: &[bool]) -> Vec<u32> {
        let left = rows.iter().filter(|&&r| go_left[col[r as usize] as usize]);
        let right = rows.iter().filter(|&&r| !go_left[col[r as usize] as usize]);
        left.chain(right).copied().collect()
    }

    #[test]
    fn leaf_partition_is_the_stable_partition_in_pieces_or_whole() {
        let n = 5 * PAR_CHUNK + 123;
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u32
        };
        let col: Vec<u8> = (0..n).map(|_| (next() % 256) as u8).collect();
        let go_left: Vec<bool> = (0..256).map(|_| next() % 3 == 0).collect();
        // Every other row, then a slice small enough for one piece.
        let all: Vec<u32> = (0..n as u32).filter(|r| r % 2 == 0 || r % 7 == 0).collect();
        for rows in [&all[..], &all[..1000]] {
            let expect = reference(rows, &col, &go_left);
            for threads in [1, 2, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let mut got = rows.to_vec();
                let mut pairs: Vec<GradPair> =
                    got.iter().map(|&r| (r as f32, -(r as f32))).collect();
                let (mut s, mut sp) = (Vec::new(), Vec::new());
                let left = pool.install(|| {
                    with_lut(&go_left, |lut| {
                        partition_leaf(&mut got, &mut pairs, &col, lut, &mut s, &mut sp)
                    })
                });
                assert_eq!(got, expect, "{threads} threads, {} rows", rows.len());
                assert_eq!(
                    left,
                    expect
                        .iter()
                        .filter(|&&r| go_left[col[r as usize] as usize])
                        .count()
                );
                // The gradient pairs moved with their rows.
                assert!(
                    got.iter()
                        .zip(&pairs)
                        .all(|(&r, &(g, h))| g == r as f32 && h == -(r as f32))
                );
            }
        }
    }
}
