//! One regression tree: grown leaf-wise on histograms, stored as flat arrays.

use std::hint::select_unpredictable;

use serde::{Deserialize, Serialize};

use crate::data::{BinColumn, Binned, Feature, FeatureKind};

use crate::hist::{self, Layout, LeafTotal, Packed, Quant, Rule, Split};
use crate::params::GbdtParams;
use rayon::prelude::*;

/// Batch prediction's walk of many rows through many trees, set up once for a call
/// (gradient boosting's `predict_matrix`; [`Tree::for_each_leaf`] is the one-row walk).
///
/// Rows are turned into integer keys a block at a time ([`key_of`]): numeric values
/// keep their order, so a numeric node sends a row left when `key < node key` (the
/// threshold's key plus one), one integer comparison. Each numeric feature has two keys, one
/// where `NaN` is `u32::MAX` (above every node key: missing goes right) and one where
/// it is 0 (below every node key: missing goes left), and each node reads the one its
/// default direction asks for, so the step needs no test for `NaN`. Categorical
/// features are keyed by their bin.
pub struct Walker<'a> {
    trees: &'a [Tree],
    features: &'a [Feature],
    nf: usize,
    /// Per feature: its number of value bins (its missing bin) when categorical
    /// nodes read it, so that it is keyed by bin; `None` when keyed by value.
    nbins: Vec<Option<u32>>,
    /// Per tree: its nodes as the walk reads them, or `None` when the tree fails
    /// [`Tree::walkable`] (and is walked row by row, checked).
    walks: Vec<Option<WalkTree>>,
}

/// A tree as the batch walk reads it: its internal nodes, then one self-loop node per
/// leaf (a row at a leaf stays there however many steps it takes), so a step never
/// branches on whether a row has arrived.
struct WalkTree {
    nodes: Vec<WalkNode>,
    /// Trees with categorical nodes: each node's set when it fits one word (a
    /// categorical feature of at most 63 categories), else 0; empty otherwise.
    masks: Vec<u64>,
    /// Byte offset of the first leaf node: a row has arrived when its node's offset
    /// is at least this.
    leaf_start: u32,
    /// Whether some categorical node's set spans several words.
    wide: bool,
    /// Per node: the leaf's value at leaf nodes, 0 at internal ones.
    values: Vec<f64>,
}

/// A node of the batch walk: 16 bytes, so four share a cache line.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct WalkNode {
    /// Rows whose key is below this go left. Numeric: the threshold's key plus one
    /// (`u32::MAX` for a leaf). One-word categorical: 0. Wider categorical: where its
    /// set starts in the tree's `cat_bits`.
    key: u32,
    /// The key slot of the row that the node reads, with [`CAT_NODE`] set for
    /// categorical nodes whose set spans several words.
    slot: u32,
    /// The children, as byte offsets into the node array.
    left: u32,
    right: u32,
}

/// A categorical node whose set spans several words of `cat_bits`.
const CAT_NODE: u32 = 1 << 30;
const SLOT_MASK: u32 = CAT_NODE - 1;
const NODE_BYTES: u32 = std::mem::size_of::<WalkNode>() as u32;

/// The order-keeping integer key of a numeric value: `a <= b` exactly when
/// `key_of(a) <= key_of(b)` for values that are not `NaN`; `NaN` is `u32::MAX`.
#[inline(always)]
fn key_of(v: f32) -> u32 {
    // (+ 0.0 turns -0.0, equal to 0.0, into 0.0.)
    let b = (v + 0.0).to_bits();
    let k = if b >> 31 == 1 { !b } else { b | 1 << 31 };
    select_unpredictable(v.is_nan(), u32::MAX, k)
}

/// Per feature: its number of value bins (its missing bin) when categorical nodes read
/// it, so that it is keyed by bin; `None` when keyed by value (forests split
/// categorical features by thresholds on their index).
fn key_kinds(trees: &[Tree], features: &[Feature], nf: usize) -> Vec<Option<u32>> {
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
    nbins
}

/// A row's key slots: per feature its key where missing goes right, then per feature
/// its key where missing goes left (see [`Walker`]).
#[inline]
fn fill_keys(row: &[f32], nbins: &[Option<u32>], keys: &mut [u32]) {
    let (right, left) = keys.split_at_mut(nbins.len());
    for (((kr, kl), &v), &nb) in right.iter_mut().zip(left).zip(row).zip(nbins) {
        (*kr, *kl) = match nb {
            Some(nb) => (cat_bin(v, nb), 0),
            None => {
                let k = key_of(v);
                (k, select_unpredictable(v.is_nan(), 0, k))
            }
        };
    }
}

impl<'a> Walker<'a> {
    /// Trees over rows of `nf` values whose features are `features`.
    pub fn new(trees: &'a [Tree], features: &'a [Feature], nf: usize) -> Self {
        let nbins = key_kinds(trees, features, nf);
        let walks = trees
            .iter()
            .map(|t| Self::walk_tree(t, &nbins, nf))
            .collect();
        Walker {
            trees,
            features,
            nf,
            nbins,
            walks,
        }
    }

    /// `t`'s walk nodes, or `None` if the fast walk cannot trust it.
    fn walk_tree(t: &Tree, nbins: &[Option<u32>], nf: usize) -> Option<WalkTree> {
        let (n_nodes, n_leaves) = (t.nodes.len(), t.leaf_value.len());
        // (Two key slots per feature, plus the row's current node, must fit the flags;
        // byte offsets of every node must fit a u32.)
        if !t.walkable(nf)
            || 2 * nf + 1 >= CAT_NODE as usize
            || (n_nodes + n_leaves) as u64 * NODE_BYTES as u64 > u32::MAX as u64
        {
            return None;
        }
        let child = |c: Child| {
            NODE_BYTES
                * if c >= 0 {
                    c as u32
                } else {
                    (n_nodes + !c as usize) as u32
                }
        };
        // Trees with categorical nodes keep a one-word set per node (0 where the set
        // is wider or the node numeric).
        let cat_tree = !t.cat_bits.is_empty();
        let mut masks = Vec::with_capacity(if cat_tree { n_nodes + n_leaves } else { 0 });
        let mut nodes = Vec::with_capacity(n_nodes + n_leaves);
        for nd in &t.nodes {
            let f = nd.feature;
            let (node, mask) = if nd.cat_set != u32::MAX {
                let nb = nbins[f as usize]?;
                if nd.cat_set as usize + set_words(nb as usize) > t.cat_bits.len() {
                    return None;
                }
                let small = nb < 64;
                let node = WalkNode {
                    // (One-word sets: no row's key is below 0, so only the mask counts.)
                    key: if small { 0 } else { nd.cat_set },
                    slot: f | if small { 0 } else { CAT_NODE },
                    left: child(nd.left),
                    right: child(nd.right),
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
                    // (Below `u32::MAX`: thresholds are not NaN.)
                    key: key_of(nd.threshold) + 1,
                    slot: f + if nd.default_left { nf as u32 } else { 0 },
                    left: child(nd.left),
                    right: child(nd.right),
                };
                (node, 0)
            };
            nodes.push(node);
            if cat_tree {
                masks.push(mask);
            }
        }
        for l in 0..n_leaves {
            // Either way, to itself.
            let me = child(!(l as Child));
            nodes.push(WalkNode {
                key: u32::MAX,
                slot: 0,
                left: me,
                right: me,
            });
            if cat_tree {
                masks.push(0);
            }
        }
        let mut values = vec![0.0; n_nodes];
        values.extend_from_slice(&t.leaf_value);
        Some(WalkTree {
            values,
            wide: nodes.iter().any(|nd| nd.slot & CAT_NODE != 0),
            nodes,
            masks,
            leaf_start: child(!0),
        })
    }

    /// Key slots of a row: two per feature, then the row's current node.
    fn stride(&self) -> usize {
        2 * self.nf.max(1) + 1
    }

    /// Adds every tree's leaf value for every row of a row-major block to `out`: tree
    /// `t` adds to `out[r * k + t % k]` for row `r` (`k` trees a round), each row adding
    /// its trees in order (the sums match [`Tree::for_each_leaf`]'s). Rows go in blocks
    /// of [`BLOCK_ROWS`], and each tree walks a whole block before the next.
    pub fn add_leaf_values(&self, rows: &[f32], out: &mut [f64], k: usize) {
        let nf = self.nf.max(1);
        let k = k.max(1);
        let n = (rows.len() / nf).min(BLOCK_ROWS);
        let mut walk = Walk {
            keys: vec![0; n * self.stride()],
            off: vec![0; n],
            node: vec![0; n],
        };
        for (block, out) in rows
            .chunks(BLOCK_ROWS * nf)
            .zip(out.chunks_mut(BLOCK_ROWS * k))
        {
            self.block_values(block, &mut walk, out, k);
        }
    }

    /// [`Walker::add_leaf_values`] for a block of at most [`BLOCK_ROWS`] rows, one tree
    /// at a time: every row takes steps down the tree per pass, and the rows that reach
    /// a leaf drop out of the list of rows still walking. The steps of different rows
    /// are independent and no branch depends on the data, so the processor overlaps them.
    fn block_values(&self, rows: &[f32], walk: &mut Walk, out: &mut [f64], k: usize) {
        let nf = self.nf.max(1);
        let n = rows.len() / nf;
        let stride = self.stride();
        for (row, keys) in rows
            .chunks_exact(nf)
            .zip(walk.keys.chunks_exact_mut(stride))
        {
            fill_keys(row, &self.nbins, &mut keys[..2 * nf]);
        }
        for (t, (tree, wt)) in self.trees.iter().zip(&self.walks).enumerate() {
            let out = &mut out[t % k..];
            // (A tree of one leaf walks too: its root is that leaf's node.)
            let wt = match wt {
                None => {
                    // (A tree the fast walk cannot trust: walk it checked, row by row.)
                    for (o, row) in out.iter_mut().step_by(k).zip(rows.chunks(nf)) {
                        *o += tree.leaf_value[tree.leaf_of(row, self.features)];
                    }
                    continue;
                }
                Some(wt) => wt,
            };
            if tree.cat_bits.is_empty() {
                block_walk::<false, false>(wt, &tree.cat_bits, stride, n, walk);
            } else if wt.wide {
                block_walk::<true, true>(wt, &tree.cat_bits, stride, n, walk);
            } else {
                block_walk::<true, false>(wt, &tree.cat_bits, stride, n, walk);
            }
            let keys = walk.keys.chunks_exact(stride).take(n);
            for (o, keys) in out.iter_mut().step_by(k).zip(keys) {
                *o += wt.values[(keys[stride - 1] / NODE_BYTES) as usize];
            }
        }
    }
}

/// Every tree of a model compiled for walking one row at a time: the batch walk's nodes
/// ([`Walker`]), all trees in one array, and the trees walked [`ROW_GROUP`] at a time, a
/// fixed number of steps each (the deepest leaf of the group's trees; a row that
/// arrives early stays at its leaf's self-loop node). No step branches on the data,
/// and the group's walks are independent, so the processor overlaps their loads.
#[derive(Debug, Clone)]
pub struct RowWalk {
    nf: usize,
    nbins: Vec<Option<u32>>,
    nodes: Vec<WalkNode>,
    /// One-word sets per node when some tree has categorical nodes, else empty.
    masks: Vec<u64>,
    /// Every tree's wide sets, one after another (wide nodes' keys point here).
    cat_bits: Vec<u64>,
    /// Per node: the leaf's value at leaf nodes, 0 at internal ones.
    values: Vec<f64>,
    /// Per tree: its root's byte offset.
    roots: Vec<u32>,
    /// Per group of [`ROW_GROUP`] trees: the steps that take every row to a leaf.
    steps: Vec<u32>,
    cat: bool,
    wide: bool,
}

/// Trees walked side by side by [`RowWalk`].
const ROW_GROUP: usize = 8;

/// Features up to which [`RowWalk::add_leaf_values`] keeps a row's keys on the stack.
pub const ROW_WALK_MAX_FEATURES: usize = 256;

impl RowWalk {
    /// `trees` over rows of `nf` values whose features are `features`; `None` when a
    /// tree fails the fast walk's checks, the row is wider than
    /// [`ROW_WALK_MAX_FEATURES`], or the nodes do not fit 32-bit byte offsets.
    pub fn new(trees: &[Tree], features: &[Feature], nf: usize) -> Option<Self> {
        if nf > ROW_WALK_MAX_FEATURES {
            return None;
        }
        let nbins = key_kinds(trees, features, nf);
        let walks: Vec<WalkTree> = trees
            .iter()
            .map(|t| Walker::walk_tree(t, &nbins, nf))
            .collect::<Option<_>>()?;
        let total: usize = walks.iter().map(|w| w.nodes.len()).sum();
        if total as u64 * NODE_BYTES as u64 > u32::MAX as u64 {
            return None;
        }
        let cat = trees.iter().any(|t| !t.cat_bits.is_empty());
        let mut rw = RowWalk {
            nf,
            nbins,
            nodes: Vec::with_capacity(total),
            masks: Vec::with_capacity(if cat { total } else { 0 }),
            cat_bits: Vec::new(),
            values: Vec::with_capacity(total),
            roots: Vec::with_capacity(trees.len()),
            steps: Vec::new(),
            cat,
            wide: walks.iter().any(|w| w.wide),
        };
        let mut depths = Vec::with_capacity(trees.len());
        for (t, w) in trees.iter().zip(walks) {
            let at = rw.nodes.len() as u32 * NODE_BYTES;
            let (cat_at, n) = (rw.cat_bits.len() as u32, w.nodes.len());
            rw.roots.push(at);
            rw.nodes.extend(w.nodes.iter().map(|nd| WalkNode {
                key: if nd.slot & CAT_NODE != 0 {
                    nd.key + cat_at
                } else {
                    nd.key
                },
                left: nd.left + at,
                right: nd.right + at,
                ..*nd
            }));
            if cat {
                if w.masks.is_empty() {
                    rw.masks.extend(std::iter::repeat_n(0, n));
                } else {
                    rw.masks.extend_from_slice(&w.masks);
                }
            }
            if w.wide {
                rw.cat_bits.extend_from_slice(&t.cat_bits);
            }
            rw.values.extend_from_slice(&w.values);
            depths.push(t.depth());
        }
        rw.steps = depths
            .chunks(ROW_GROUP)
            .map(|d| d.iter().copied().max().unwrap_or(0))
            .collect();
        Some(rw)
    }

    /// Adds every tree's leaf value for `row` to `out`: tree `t` adds to `out[t % k]`,
    /// in tree order (the sums match [`Tree::for_each_leaf`]'s).
    ///
    /// # Panics
    /// If `row` holds fewer than the model's features or `out` fewer than `k` values.
    pub fn add_leaf_values(&self, row: &[f32], out: &mut [f64], k: usize) {
        let nf = self.nf;
        assert!(row.len() >= nf && out.len() >= k && k >= 1);
        let mut keys = [0u32; 2 * ROW_WALK_MAX_FEATURES];
        fill_keys(&row[..nf], &self.nbins, &mut keys[..2 * nf]);
        match (self.cat, self.wide) {
            (false, _) => self.walk::<false, false>(&keys, out, k),
            (true, false) => self.walk::<true, false>(&keys, out, k),
            (true, true) => self.walk::<true, true>(&keys, out, k),
        }
    }

    #[inline(always)]
    fn walk<const CAT: bool, const WIDE: bool>(&self, keys: &[u32], out: &mut [f64], k: usize) {
        let (base, masks) = (self.nodes.as_ptr() as *const u8, self.masks.as_ptr());
        let keys = keys.as_ptr();
        // SAFETY: every offset starts at a root or is a child of a node [`Self::new`]
        // relocated, so inside `nodes` (and `masks` when CAT); key slots are below
        // 2 * nf, inside `keys`; wide sets lie inside `cat_bits` (see `walk_tree`).
        let step =
            |nd: u32| unsafe { walk_step::<CAT, WIDE>(base, masks, &self.cat_bits, keys, nd) };
        let mut class = 0;
        let mut add = |out: &mut [f64], nd: u32| {
            out[class] += self.values[(nd / NODE_BYTES) as usize];
            class += 1;
            if class == k {
                class = 0;
            }
        };
        for (roots, &steps) in self.roots.chunks(ROW_GROUP).zip(&self.steps) {
            if let Ok(roots) = <&[u32; ROW_GROUP]>::try_from(roots) {
                let mut c = *roots;
                for _ in 0..steps {
                    c = c.map(step);
                }
                for nd in c {
                    add(out, nd);
                }
            } else {
                for &root in roots {
                    let mut c = root;
                    for _ in 0..steps {
                        c = step(c);
                    }
                    add(out, c);
                }
            }
        }
    }
}

/// Walk the `n` rows of the block (keys in `walk.keys`, `stride` a row) to their
/// leaves: each row's last key slot ends as its leaf node's byte offset. `t` comes
/// from [`Walker::walk_tree`]: every node reads a key slot of its row and points at
/// later nodes or at leaf nodes, which point at themselves, and categorical nodes'
/// sets lie inside `cat_bits` and cover their feature's bins.
#[inline(always)]
fn block_walk<const CAT: bool, const WIDE: bool>(
    t: &WalkTree,
    cat_bits: &[u64],
    stride: usize,
    n: usize,
    walk: &mut Walk,
) {
    assert!(n <= walk.off.len() && n <= walk.node.len());
    assert!(walk.keys.len() >= n * stride && stride >= 1 && !t.nodes.is_empty());
    assert!(!CAT || t.masks.len() == t.nodes.len());
    // The buffers are read and written through pointers held in registers: through
    // the `Vec`s, every store could alias their headers, and each step would reload them.
    let (keys, offs, at) = (
        walk.keys.as_mut_ptr(),
        walk.off.as_mut_ptr(),
        walk.node.as_mut_ptr(),
    );
    let (base, masks) = (t.nodes.as_ptr() as *const u8, t.masks.as_ptr());
    let last = stride - 1;
    // SAFETY (for `step` and the loop): every node offset is one `walk_tree` made, so
    // inside `t.nodes` (and `t.masks`); a key slot is below `2 * nf + 1 = stride`; a
    // row offset is `r * stride` for r < n; list indices are below k <= n.
    let step = |nd: u32, off: usize| -> u32 {
        unsafe { walk_step::<CAT, WIDE>(base, masks, cat_bits, keys.add(off), nd) }
    };
    for r in 0..n {
        unsafe {
            *offs.add(r) = (r * stride) as u32;
            *at.add(r) = 0;
        }
    }
    // Rows `offs[..k]` are still walking, at nodes `at[..k]`; each pass takes them
    // [`WALK_STEPS`] steps down (a row that arrives early stays at its leaf).
    let mut k = n;
    while k > 0 {
        // The steps store only to addresses known at the start of each row's steps:
        // were the list compacted in the same loop, the stores' addresses would hang on
        // every earlier row's walk, and the processor would make later loads wait.
        // Four rows at a time, their steps written side by side: the processor then
        // has four independent walks in view at once (5–15 % faster than one row a
        // loop on adult, california and amazon).
        let mut j = 0;
        while j + 4 <= k {
            unsafe {
                let o: [usize; 4] = std::array::from_fn(|i| *offs.add(j + i) as usize);
                let mut c: [u32; 4] = std::array::from_fn(|i| *at.add(j + i));
                for _ in 0..WALK_STEPS {
                    c = [
                        step(c[0], o[0]),
                        step(c[1], o[1]),
                        step(c[2], o[2]),
                        step(c[3], o[3]),
                    ];
                }
                for i in 0..4 {
                    *keys.add(o[i] + last) = c[i];
                    *at.add(j + i) = c[i];
                }
            }
            j += 4;
        }
        for j in j..k {
            unsafe {
                let off = *offs.add(j) as usize;
                let mut c = *at.add(j);
                for _ in 0..WALK_STEPS {
                    c = step(c, off);
                }
                *keys.add(off + last) = c;
                *at.add(j) = c;
            }
        }
        // Rows that reached a leaf drop out: the next row overwrites their slot.
        let mut w = 0;
        for j in 0..k {
            unsafe {
                let c = *at.add(j);
                *offs.add(w) = *offs.add(j);
                *at.add(w) = c;
                w += usize::from(c < t.leaf_start);
            }
        }
        k = w;
    }
}

/// One step down a walk tree: the node at byte offset `nd` of `base` reads its key
/// slot of `keys` and answers the byte offset of the child the row goes to (a leaf
/// node answers itself).
///
/// # Safety
/// `nd` is a node offset of a [`WalkTree`] (or of a [`RowWalk`]) whose nodes start at
/// `base` and whose one-word sets start at `masks` (read only when `CAT`); the node's
/// key slot lies inside `keys`; a wide categorical node's set lies inside `cat_bits`
/// and covers every key that slot can hold.
#[inline(always)]
unsafe fn walk_step<const CAT: bool, const WIDE: bool>(
    base: *const u8,
    masks: *const u64,
    cat_bits: &[u64],
    keys: *const u32,
    nd: u32,
) -> u32 {
    unsafe {
        let node = &*(base.add(nd as usize) as *const WalkNode);
        let slot = if WIDE {
            node.slot & SLOT_MASK
        } else {
            node.slot
        };
        let key = *keys.add(slot as usize);
        if WIDE && node.slot & CAT_NODE != 0 {
            // The key is a bin no larger than the missing bin, which the set covers.
            let left = cat_bits[node.key as usize + (key >> 6) as usize] >> (key & 63) & 1;
            pick(left != 0, node.left, node.right)
        } else if CAT {
            // Numeric and one-word categorical nodes without a branch on their kind,
            // which is as hard to predict as the direction: a numeric node's mask is
            // 0, and no key is below a one-word categorical node's key.
            let mask = *masks.add((nd / NODE_BYTES) as usize);
            pick(
                (key < node.key) | (mask.wrapping_shr(key) & 1 == 1),
                node.left,
                node.right,
            )
        } else {
            pick_below(key, node.key, node.left, node.right)
        }
    }
}

/// `a` if `c`, else `b`, by a conditional move ([`pick_below`] for a comparison the
/// processor already made: testing the flag here takes fewer instructions than
/// comparing it with 0 there, 8 % fewer on amazon's walk).
#[inline(always)]
fn pick(c: bool, a: u32, b: u32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        let mut r = b;
        // SAFETY: register-only instructions.
        unsafe {
            std::arch::asm!(
                "test {c:e}, {c:e}",
                "cmovnz {r:e}, {a:e}",
                c = in(reg) u32::from(c),
                a = in(reg) a,
                r = inout(reg) r,
                options(pure, nomem, nostack),
            );
        }
        r
    }
    #[cfg(not(target_arch = "x86_64"))]
    select_unpredictable(c, a, b)
}

/// `a` if `x < y`, else `b`, by a conditional move: the step's next node is then ready
/// a cycle after the comparison, where a load indexed by the comparison (which is what
/// the compiler makes of a select between two fields) costs a trip to the cache.
#[inline(always)]
fn pick_below(x: u32, y: u32, a: u32, b: u32) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        let mut r = b;
        // SAFETY: register-only instructions.
        unsafe {
            std::arch::asm!(
                "cmp {x:e}, {y:e}",
                "cmovb {r:e}, {a:e}",
                x = in(reg) x,
                y = in(reg) y,
                a = in(reg) a,
                r = inout(reg) r,
                options(pure, nomem, nostack),
            );
        }
        r
    }
    #[cfg(not(target_arch = "x86_64"))]
    select_unpredictable(x < y, a, b)
}

/// Steps down a tree per row per pass of [`block_walk`]: more steps spread the cost of
/// keeping the list of walking rows, fewer waste less on rows already at a leaf.
const WALK_STEPS: usize = 2;

/// Rows per block of the tree-at-a-time walk ([`Walker::add_leaf_values`]).
const BLOCK_ROWS: usize = 256;

/// A block's keys (each row's key slots and, last, its current node), and the rows of
/// the block still walking down a tree: their key offsets and nodes.
struct Walk {
    keys: Vec<u32>,
    off: Vec<u32>,
    node: Vec<u32>,
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

struct Leaf {
    start: usize,
    end: usize,
    /// The packed sum of the leaf's rows (in the tree's [`Quant`]).
    sum: Packed,
    /// The L2 penalty of this leaf's value (see [`Split::l2`]).
    l2: f64,
    depth: usize,
    hist: Vec<Packed>,
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
    /// The quantised gradient pairs of the rows in `idx` order (see [`Packed`]), and
    /// scratch space for moving them.
    gh: Vec<Packed>,
    scratch_gh: Vec<Packed>,
    /// Whether the gradient pairs move with the rows (large data: reading a leaf's
    /// gradients from scattered rows misses the cache), or a leaf's are gathered from
    /// `by_row` into `gathered` when its histogram is built (small data, where moving
    /// them costs more).
    carry: bool,
    by_row: Vec<Packed>,
    gathered: Vec<Packed>,
    /// Histogram buffers to reuse (fresh ones cost page faults).
    pool: Vec<Vec<Packed>>,
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
            by_row: Vec::new(),
            gathered: Vec::new(),
            pool: Vec::new(),
        }
    }

    fn take_hist(&mut self) -> Vec<Packed> {
        self.pool
            .pop()
            .unwrap_or_else(|| vec![0; self.layout.total])
    }

    fn can_split(&self, leaf_n: usize, depth: usize) -> bool {
        let p = self.params;
        (p.max_depth < 0 || (depth as i32) < p.max_depth) && leaf_n >= 2 * p.min_data_in_leaf
    }

    /// Grow one tree on the rows `idx` (reordered in place so each leaf's rows are
    /// contiguous). The splits are searched on the gradients quantised with the noise
    /// of `seed` (see [`Packed`]); the leaf values come from the exact gradients, as in
    /// LightGBM's quantised training. Returns the tree (leaf values already scaled by
    /// the learning rate) and each leaf's range in `idx`.
    pub fn grow(
        &mut self,
        idx: &mut [u32],
        g: &[f32],
        h: &[f32],
        active: &[bool],
        seed: u64,
    ) -> (Tree, Vec<(usize, usize)>) {
        let p = self.params;
        let quant = quant_of(g, h, idx.len());
        let pack = |r: u32| quant.pack(g[r as usize], h[r as usize], hist::row_noise(seed, r));
        let mut gh = std::mem::take(&mut self.gh);
        gh.clear();
        gh.resize(idx.len(), 0);
        if self.carry {
            gh.par_chunks_mut(PAR_CHUNK)
                .zip(idx.par_chunks(PAR_CHUNK))
                .for_each(|(d, rows)| {
                    for (d, &r) in d.iter_mut().zip(rows) {
                        *d = pack(r);
                    }
                });
        } else {
            self.by_row.clear();
            self.by_row.resize(g.len(), 0);
            self.by_row
                .par_chunks_mut(PAR_CHUNK)
                .enumerate()
                .for_each(|(c, d)| {
                    for (j, d) in d.iter_mut().enumerate() {
                        *d = pack((c * PAR_CHUNK + j) as u32);
                    }
                });
            for (d, &r) in gh.iter_mut().zip(idx.iter()) {
                *d = self.by_row[r as usize];
            }
        }
        let mut root_hist = self.take_hist();
        hist::build(&mut root_hist, &self.layout, self.b, idx, &gh, active);
        let total = |sum: Packed, n: usize| LeafTotal {
            sum,
            n: n as u64,
            quant,
        };
        let sum: Packed = gh.par_iter().sum();
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
        if self.can_split(idx.len(), 0) {
            let t = total(sum, idx.len());
            leaves[0].best = hist::best_split(&leaves[0].hist, &self.layout, self.b, &t, p, active);
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
                    .extend(small_rows.iter().map(|&r| self.by_row[r as usize]));
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
                let n = leaf.end - leaf.start;
                if self.can_split(n, depth) {
                    let t = total(leaf.sum, n);
                    leaf.best = hist::best_split(&leaf.hist, &self.layout, self.b, &t, p, active);
                }
            }
            leaves[li] = left;
            leaves.push(right);
        }
        self.gh = gh;
        // Leaf values from the exact gradients, each summed in its rows' order.
        let values: Vec<f64> = leaves
            .par_iter()
            .map(|leaf| {
                let (mut sg, mut sh) = (0f64, 0f64);
                for &r in &idx[leaf.start..leaf.end] {
                    sg += g[r as usize] as f64;
                    sh += h[r as usize] as f64;
                }
                p.learning_rate * hist::leaf_value(sg, sh, leaf.l2)
            })
            .collect();
        tree.leaf_value = values;
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
    pairs: &mut [Packed],
    col: &[T],
    lut: &[usize],
    scratch: &mut Vec<u32>,
    scratch_pairs: &mut Vec<Packed>,
) -> usize {
    let n = rows.len();
    // (Grown, never shrunk or cleared: every slot used is written before it is read.)
    if scratch.len() < n {
        scratch.resize(n, 0);
    }
    if scratch_pairs.len() < n {
        scratch_pairs.resize(n, 0);
    }
    let (scratch, scratch_pairs) = (&mut scratch[..n], &mut scratch_pairs[..n]);
    // Each piece partitions itself in place (its right rows parked in its share of the
    // scratch space) ...
    let piece = |(rows, pairs, sr, sp): (&mut [u32], &mut [Packed], &mut [u32], &mut [Packed])| {
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

/// The quantisation of a tree on `rows` rows with gradients `g` and hessians `h`:
/// scaled to the largest finite ones.
fn quant_of(g: &[f32], h: &[f32], rows: usize) -> Quant {
    let (gm, hm) = g
        .par_chunks(PAR_CHUNK)
        .zip(h.par_chunks(PAR_CHUNK))
        .map(|(g, h)| {
            let (mut gm, mut hm) = (0f32, 0f32);
            for (&a, &b) in g.iter().zip(h) {
                // Selects, not branches: infinities and NaN count as 0.
                let a = a.abs();
                gm = gm.max(if a < f32::INFINITY { a } else { 0.0 });
                hm = hm.max(if b < f32::INFINITY { b } else { 0.0 });
            }
            (gm, hm)
        })
        .reduce(|| (0.0, 0.0), |a, b| (a.0.max(b.0), a.1.max(b.1)));
    Quant::new(gm as f64, hm as f64, rows)
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
                let mut pairs: Vec<Packed> = got.iter().map(|&r| -(r as Packed) << 20).collect();
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
                        .all(|(&r, &p)| p == -(r as Packed) << 20)
                );
            }
        }
    }
}
