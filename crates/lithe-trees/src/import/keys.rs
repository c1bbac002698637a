//! The batch walk on integer keys. Each block's prepared values become order-keeping
//! `u64` keys, one per (feature, variant) the model's splits need, so that every split
//! is one integer comparison with no test for `NaN` or zero:
//!
//! | variant | `NaN` | zero | other |
//! |---|---|---|---|
//! | `NAN_HI` / `NAN_LO` | above / below every threshold | key | key |
//! | `ZERO_HI` / `ZERO_LO` | above / below | above / below | key |
//! | `CAT_L` / `CAT_R` | code 63 / 62 | code | code, 63 when negative or ≥ 62 |
//! | `RAW` | the value's bits (categorical sets past code 61) | | |
//!
//! A numeric split goes left when `key <= threshold key`; a categorical split whose
//! codes are below 62 reads bit `code` of a 64-bit mask (bit 63: invalid codes and, with
//! `CAT_L`, missing; bit 62: missing with `CAT_R`). The two are computed together and
//! one is kept, and the child is picked by a conditional move (`tree::pick`), so no branch depends
//! on the data except for the rare wide categorical sets.

use std::hint::select_unpredictable;

use super::model::{CAT, CAT_INVERT, ImportedModel, NAN_LEFT, Node, SET_SHIFT, Source, ZERO_FLIP};
use crate::tree::pick;

const NAN_HI: u8 = 0;
const NAN_LO: u8 = 1;
const ZERO_HI: u8 = 2;
const ZERO_LO: u8 = 3;
const CAT_L: u8 = 4;
const CAT_R: u8 = 5;
const RAW: u8 = 6;

/// The constant key `u64::MAX` (slot 0): a leaf compares it with 0 and steps right,
/// to itself.
const MAX: u8 = 7;

/// Node flags, above the slot index in [`KNode::slot`].
const K_CAT: u32 = 1 << 31;
const K_WIDE: u32 = 1 << 30;
const K_LEAF: u32 = 1 << 29;
const SLOT: u32 = (1 << 29) - 1;

/// Codes at or above this use the wide path; 62 and 63 are the mask's special bits.
const NARROW: u64 = 62;

/// An order-keeping key of a (non-NaN) double; `-0.0` and `0.0` are one key. Every key
/// lies strictly between 0 and `u64::MAX`.
#[inline(always)]
fn key(x: f64) -> u64 {
    let b = (x + 0.0).to_bits();
    if b >> 63 == 1 { !b } else { b | 1 << 63 }
}

/// 16 bytes: the left child is the next node (trees are laid out depth first), a leaf
/// goes right to itself.
#[derive(Clone, Copy)]
struct KNode {
    /// Numeric: the threshold key; narrow categorical: the mask; wide: the index of
    /// the original node; leaf: 0.
    key: u64,
    /// The key slot, with the flags above it.
    slot: u32,
    right: u32,
}

/// The model compiled for the key walk.
pub(crate) struct Keyed {
    nodes: Vec<KNode>,
    /// (feature, variant) of each key slot.
    slots: Vec<(u32, u8)>,
}

impl Keyed {
    pub(crate) fn new(m: &ImportedModel) -> Self {
        let mut slots: Vec<(u32, u8)> = vec![(0, MAX)];
        let mut slot_of = |f: u32, v: u8| -> u32 {
            match slots.iter().position(|&s| s == (f, v)) {
                Some(i) => i as u32,
                None => {
                    slots.push((f, v));
                    (slots.len() - 1) as u32
                }
            }
        };
        let xgb = m.source == Source::XgBoost;
        let mut nodes = Vec::with_capacity(m.nodes.len());
        for (i, n) in m.nodes.iter().enumerate() {
            let nan_left = n.flags & NAN_LEFT != 0;
            let k = if n.is_leaf() {
                KNode {
                    key: 0,
                    slot: K_LEAF,
                    right: n.right,
                }
            } else if n.flags & CAT != 0 {
                match narrow_mask(m, n) {
                    Some(mask) => {
                        let v = if !xgb || nan_left { CAT_L } else { CAT_R };
                        KNode {
                            key: mask,
                            slot: slot_of(n.feature, v) | K_CAT,
                            right: n.right,
                        }
                    }
                    None => KNode {
                        key: i as u64,
                        slot: slot_of(n.feature, RAW) | K_WIDE,
                        right: n.right,
                    },
                }
            } else {
                // Zero flips only where zero and NaN go the same (default) way.
                let v = match (n.flags & ZERO_FLIP != 0, nan_left) {
                    (true, true) => ZERO_LO,
                    (true, false) => ZERO_HI,
                    (false, true) => NAN_LO,
                    (false, false) => NAN_HI,
                };
                // `NaN` as a threshold (XGBoost's `x < -inf`): nothing present goes left.
                let t = if n.value.is_nan() { 0 } else { key(n.value) };
                KNode {
                    key: t,
                    slot: slot_of(n.feature, v),
                    right: n.right,
                }
            };
            nodes.push(k);
        }
        Keyed { nodes, slots }
    }

    /// Add every tree's leaf values to `out` (`rows × k`, already holding the base
    /// scores) for a block of prepared rows `x` (`rows × nf`).
    pub(crate) fn add_block<const F32: bool>(
        &self,
        m: &ImportedModel,
        x: &[f64],
        nf: usize,
        out: &mut [f64],
        k: usize,
    ) {
        let n = out.len() / k;
        let ns = self.slots.len();
        let mut keys = vec![0u64; n * ns];
        for (row, ks) in x.chunks(nf).zip(keys.chunks_mut(ns)) {
            for (dst, &(f, v)) in ks.iter_mut().zip(&self.slots) {
                *dst = slot_key(row.get(f as usize).copied().unwrap_or(f64::NAN), v);
            }
        }
        let nodes = &self.nodes[..];
        let mut pos = vec![0u32; n];
        let mut live: Vec<u32> = vec![0; n];
        for (&root, &g) in m.roots.iter().zip(&m.groups) {
            pos.fill(root);
            for (i, l) in live.iter_mut().enumerate() {
                *l = i as u32;
            }
            let mut len = n;
            while len > 0 {
                let mut w = 0;
                let mut j = 0;
                // Four rows at a time, their steps interleaved: four independent chains
                // of loads for the processor to overlap.
                while j + 4 <= len {
                    let r: [usize; 4] = std::array::from_fn(|i| live[j + i] as usize);
                    let row: [&[u64]; 4] = r.map(|r| &keys[r * ns..(r + 1) * ns]);
                    let mut p: [usize; 4] = r.map(|r| pos[r] as usize);
                    for _ in 0..2 {
                        for i in 0..4 {
                            p[i] = self.step(m, row[i], p[i]);
                        }
                    }
                    for i in 0..4 {
                        pos[r[i]] = p[i] as u32;
                        live[w] = r[i] as u32;
                        w += usize::from(nodes[p[i]].slot & K_LEAF == 0);
                    }
                    j += 4;
                }
                for j in j..len {
                    let r = live[j] as usize;
                    let row = &keys[r * ns..(r + 1) * ns];
                    let mut p = pos[r] as usize;
                    p = self.step(m, row, p);
                    p = self.step(m, row, p);
                    pos[r] = p as u32;
                    live[w] = r as u32;
                    w += usize::from(nodes[p].slot & K_LEAF == 0);
                }
                len = w;
            }
            let g = g as usize;
            for (o, &p) in out.chunks_mut(k).zip(&pos) {
                let v = m.nodes[p as usize].value;
                o[g] = if F32 {
                    (o[g] as f32 + v as f32) as f64
                } else {
                    o[g] + v
                };
            }
        }
    }

    #[inline(always)]
    fn step(&self, m: &ImportedModel, row: &[u64], p: usize) -> usize {
        let n = &self.nodes[p];
        let k = row[(n.slot & SLOT) as usize];
        let num = k <= n.key;
        let cat = (n.key >> k.min(63)) & 1 != 0;
        let is_cat = n.slot & K_CAT != 0;
        let mut left = (num & !is_cat) | (cat & is_cat);
        if n.slot & K_WIDE != 0 {
            left = wide_left(m, n.key as usize, f64::from_bits(k));
        }
        pick(left, p as u32 + 1, n.right) as usize
    }
}

#[cold]
#[inline(never)]
fn wide_left(m: &ImportedModel, node: usize, x: f64) -> bool {
    m.nodes
        .get(node)
        .is_some_and(|n| super::walk::cat_left(n, x, &m.sets, &m.words))
}

/// A categorical node's 64-bit mask when every code in its set is below 62: bit `c`
/// set when code `c` goes left; bit 62 for `CAT_R`'s missing (right), bit 63 for
/// invalid codes (and `CAT_L`'s missing): left for XGBoost, right for LightGBM.
fn narrow_mask(m: &ImportedModel, n: &Node) -> Option<u64> {
    let s = m.sets.get((n.flags >> SET_SHIFT) as usize)?;
    let words = m.words.get(s[0] as usize..s[1] as usize)?;
    let mut bits = 0u64;
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            continue;
        }
        if i >= 2 {
            return None;
        }
        bits |= (w as u64) << (32 * i);
    }
    if bits >> NARROW != 0 {
        return None;
    }
    Some(if n.flags & CAT_INVERT != 0 {
        (!bits & ((1 << NARROW) - 1)) | 1 << 63
    } else {
        bits
    })
}

#[inline(always)]
fn slot_key(x: f64, v: u8) -> u64 {
    match v {
        NAN_HI => select_unpredictable(x.is_nan(), u64::MAX, key(x)),
        NAN_LO => select_unpredictable(x.is_nan(), 0, key(x)),
        ZERO_HI => select_unpredictable(x.is_nan() | (x == 0.0), u64::MAX, key(x)),
        ZERO_LO => select_unpredictable(x.is_nan() | (x == 0.0), 0, key(x)),
        CAT_L | CAT_R => {
            if x.is_nan() {
                if v == CAT_L { 63 } else { 62 }
            } else {
                // Truncation toward zero, as the libraries convert to int.
                let c = x as i64;
                if (0..NARROW as i64).contains(&c) {
                    c as u64
                } else {
                    63
                }
            }
        }
        MAX => u64::MAX,
        _ => x.to_bits(),
    }
}
