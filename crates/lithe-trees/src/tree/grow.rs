//! Growing one tree leaf-wise on gradient histograms, and the stable row partitions
//! that split a leaf's rows.

use super::*;

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
