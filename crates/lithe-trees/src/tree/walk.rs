//! Prediction walks: the batch walker (many rows through many trees, on integer keys,
//! without branches on the data) and the compiled one-row walk.

use super::*;

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
pub(crate) fn pick(c: bool, a: u32, b: u32) -> u32 {
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

/// Run `block` over blocks of `rows_per_block` rows of the row-major matrix `m` (`nf`
/// values a row) and their `k` outputs a row in `out`: in parallel, or on this thread
/// when there is one block (a hop to the thread pool costs more than a block of a few
/// hundred rows). Every row is in exactly one block, whatever the thread count.
pub fn by_row_blocks(
    out: &mut [f64],
    m: &[f32],
    k: usize,
    nf: usize,
    rows_per_block: usize,
    block: impl Fn(&mut [f64], &[f32]) + Sync,
) {
    if out.len() <= k * rows_per_block {
        block(out, m);
    } else {
        out.par_chunks_mut(k * rows_per_block)
            .zip(m.par_chunks(nf * rows_per_block))
            .for_each(|(o, rows)| block(o, rows));
    }
}
