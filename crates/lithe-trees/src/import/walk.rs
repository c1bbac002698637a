//! The imported model's predictor. Batch: blocks of rows in parallel, each walked on
//! integer keys (`keys`): one tree walks every row of the block before the next tree,
//! two steps a pass, and rows that reached a leaf drop out of the list by a
//! branch-free compaction, so the processor overlaps many rows' steps. One row: the
//! plain walk on prepared doubles (`step`), which needs no compiling. Each row adds its
//! trees' values in tree order, in the source library's precision (doubles for
//! LightGBM, f32 for XGBoost), so the sums are the library's bit for bit.

use rayon::prelude::*;

use super::keys::Keyed;
use super::model::{CAT, CAT_INVERT, ImportedModel, NAN_LEFT, Node, SET_SHIFT, Source, ZERO_FLIP};

/// Rows per block: the block's values stay within about 64 KiB.
fn block_rows(nf: usize) -> usize {
    (8192 / nf.max(1)).clamp(32, 256)
}

/// Whether a categorical split sends `x` left.
pub(crate) fn cat_left(n: &Node, x: f64, sets: &[[u32; 2]], words: &[u32]) -> bool {
    if x.is_nan() {
        return n.flags & NAN_LEFT != 0;
    }
    // Truncation toward zero, as `static_cast<int>` (saturating where C++ is undefined:
    // both land outside every set).
    let c = x as i64;
    let inside = c >= 0
        && sets
            .get((n.flags >> SET_SHIFT) as usize)
            .and_then(|s| {
                let w = usize::try_from(c / 32).ok()?;
                if w >= (s[1] - s[0]) as usize {
                    return None;
                }
                words.get(s[0] as usize + w)
            })
            .is_some_and(|word| (word >> (c % 32)) & 1 == 1);
    inside != (n.flags & CAT_INVERT != 0)
}

/// One step down from node `p` for a prepared row. A leaf steps to itself.
#[inline(always)]
fn step(nodes: &[Node], sets: &[[u32; 2]], words: &[u32], row: &[f64], p: usize) -> usize {
    let n = &nodes[p];
    let x = row[n.feature as usize];
    let left = if n.flags & CAT == 0 {
        let le = x <= n.value;
        let flip = (x == 0.0) & (n.flags & ZERO_FLIP != 0);
        (le ^ flip) | (x.is_nan() & (n.flags & NAN_LEFT != 0))
    } else {
        cat_left(n, x, sets, words)
    };
    (if left { n.left } else { n.right }) as usize
}

/// Add every tree's leaf value to the raw scores `out` (`rows × outputs`; the model's
/// base score is written first) of the prepared row-major matrix.
pub(crate) fn add_trees(m: &ImportedModel, x: &[f64], out: &mut [f64]) {
    let nf = m.width();
    let k = m.n_out();
    let rows = block_rows(nf);
    let keyed = Keyed::new(m);
    let block = |o: &mut [f64], xs: &[f64]| {
        for r in o.chunks_mut(k) {
            r.copy_from_slice(&m.base);
        }
        match m.source {
            Source::LightGbm => keyed.add_block::<false>(m, xs, nf, o, k),
            Source::XgBoost => keyed.add_block::<true>(m, xs, nf, o, k),
        }
    };
    if out.len() <= k * rows {
        block(out, x);
    } else {
        out.par_chunks_mut(k * rows)
            .zip(x.par_chunks(nf * rows))
            .for_each(|(o, xs)| block(o, xs));
    }
}

/// One row's raw scores (the row in model order, not yet prepared).
pub(crate) fn row_raw(m: &ImportedModel, row: &[f64], out: &mut [f64]) {
    let k = m.n_out();
    let nf = m.width();
    // A prepared copy of the row without allocating for up to 64 features.
    let mut buf = [0f64; 64];
    let mut heap = Vec::new();
    let prepared: &mut [f64] = if nf <= buf.len() {
        &mut buf[..nf]
    } else {
        heap.resize(nf, 0.0);
        &mut heap
    };
    for (f, slot) in prepared.iter_mut().enumerate() {
        *slot = m.prepare(f, row.get(f).copied().unwrap_or(f64::NAN));
    }
    for (o, b) in out.iter_mut().zip(&m.base).take(k) {
        *o = *b;
    }
    let f32acc = m.source == Source::XgBoost;
    for (&root, &g) in m.roots.iter().zip(&m.groups) {
        let mut p = root as usize;
        while !m.nodes[p].is_leaf() {
            p = step(&m.nodes, &m.sets, &m.words, prepared, p);
        }
        let v = m.nodes[p].value;
        if let Some(o) = out.get_mut(g as usize) {
            *o = if f32acc {
                (*o as f32 + v as f32) as f64
            } else {
                *o + v
            };
        }
    }
}
