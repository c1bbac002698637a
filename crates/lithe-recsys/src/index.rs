//! The item index: unit vectors in an HNSW graph (`usearch`), searched by inner
//! product, with exact search for checking it.

use lithe_core::{Error, Result};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::dense::dot;

/// HNSW settings: graph degree and the candidate lists of insertion and search, and
/// the recall the index must reach against exact search (its self-check).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IndexParams {
    /// Links a node keeps per layer (the graph degree).
    pub connectivity: usize,
    /// Candidates kept while inserting (build width).
    pub expansion_add: usize,
    /// Candidates kept while searching (search width); after building, raised until
    /// the self-check's recall reaches `target_recall`.
    pub expansion_search: usize,
    /// Recall@10 of the index against exact search, on a sample of the model's users,
    /// that the search width is raised to reach (0: no check).
    #[serde(default)]
    pub target_recall: f64,
}

impl Default for IndexParams {
    fn default() -> Self {
        IndexParams {
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 64,
            target_recall: 0.98,
        }
    }
}

/// Columns a search row has beyond the tower's output (see [`search_rows`]).
pub const EXTRA: usize = 2;

/// The rows the index (and exact search) holds for items of tower output `vectors`
/// (`d` wide) and score biases `bias`: `[v, τ·bias, r]`, `r` bringing every row to the
/// length whose square is `norm2` (the largest `|v|² + (τ·bias)²` when `None`; 0 for a
/// row already longer). A query `[u, 1, 0]` ([`search_query`]) then scores
/// `u·v + τ·bias` — the model's logit times τ — and, every row being as long, inner
/// products rank as cosines do, which is what the graph is built for. Returns the
/// rows and `norm2`.
pub fn search_rows(
    vectors: &[f32],
    bias: &[f32],
    tau: f32,
    d: usize,
    norm2: Option<f32>,
) -> (Vec<f32>, f32) {
    let sq: Vec<f32> = vectors
        .chunks_exact(d)
        .zip(bias)
        .map(|(v, &b)| dot(v, v) + (tau * b) * (tau * b))
        .collect();
    let norm2 = norm2.unwrap_or_else(|| sq.iter().fold(0f32, |m, &x| m.max(x)));
    let mut out = Vec::with_capacity(sq.len() * (d + EXTRA));
    for ((v, &b), &s) in vectors.chunks_exact(d).zip(bias).zip(&sq) {
        out.extend_from_slice(v);
        out.push(tau * b);
        out.push((norm2 - s).max(0.0).sqrt());
    }
    (out, norm2)
}

/// The search query for a user tower output `u`: `[u, 1, 0]`.
pub fn search_query(u: &[f32]) -> Vec<f32> {
    let mut q = Vec::with_capacity(u.len() + EXTRA);
    q.extend_from_slice(u);
    q.extend_from_slice(&[1.0, 0.0]);
    q
}

/// The widest search the self-check tries.
pub const MAX_EXPANSION: usize = 4096;

impl IndexParams {
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, why: String| Err(Error::param(name, why));
        if !(2..=256).contains(&self.connectivity) {
            return bad("index_degree", "must be between 2 and 256".into());
        }
        if !(1..=MAX_EXPANSION).contains(&self.expansion_add) {
            return bad(
                "index_build_width",
                format!("must be between 1 and {MAX_EXPANSION}"),
            );
        }
        if !(1..=MAX_EXPANSION).contains(&self.expansion_search) {
            return bad(
                "index_search_width",
                format!("must be between 1 and {MAX_EXPANSION}"),
            );
        }
        if !(self.target_recall.is_finite() && (0.0..=1.0).contains(&self.target_recall)) {
            return bad("index_target_recall", "must be between 0 and 1".into());
        }
        Ok(())
    }
}

/// What the index's self-check measured: recall@`k` against exact search on
/// `queries` sampled users, at each search width tried (the last is the one kept).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IndexCheck {
    pub k: usize,
    pub queries: usize,
    pub target: f64,
    /// `(search width, recall@k)`, in the order tried.
    pub widths: Vec<(usize, f64)>,
    /// Whether the last width reached the target.
    pub reached: bool,
}

impl IndexCheck {
    /// The recall at the width kept.
    pub fn recall(&self) -> f64 {
        self.widths.last().map_or(0.0, |w| w.1)
    }
}

/// Nearest items by inner product over unit vectors (cosine).
pub struct ItemIndex {
    index: Index,
    dim: usize,
}

fn runtime(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Runtime(format!("item index: {what}: {e}"))
}

impl ItemIndex {
    pub fn new(dim: usize, p: &IndexParams) -> Result<ItemIndex> {
        let opts = IndexOptions {
            dimensions: dim,
            metric: MetricKind::IP,
            quantization: ScalarKind::F32,
            connectivity: p.connectivity,
            expansion_add: p.expansion_add,
            expansion_search: p.expansion_search,
            multi: false,
        };
        let index = Index::new(&opts).map_err(|e| runtime("creating", e))?;
        Ok(ItemIndex { index, dim })
    }

    /// An index of `vectors` (row-major, `dim` wide), keyed by row number, inserted
    /// one after another in row order (so the graph is the same on every run).
    pub fn build(vectors: &[f32], dim: usize, p: &IndexParams) -> Result<ItemIndex> {
        let ix = ItemIndex::new(dim, p)?;
        ix.add(0, vectors)?;
        Ok(ix)
    }

    /// Add `vectors` under keys `first`, `first + 1`, ….
    pub fn add(&self, first: u64, vectors: &[f32]) -> Result<()> {
        let n = vectors.len() / self.dim;
        self.index
            .reserve(self.index.size() + n)
            .map_err(|e| runtime("reserving", e))?;
        for (k, v) in vectors.chunks_exact(self.dim).enumerate() {
            self.index
                .add(first + k as u64, v)
                .map_err(|e| runtime("adding", e))?;
        }
        Ok(())
    }

    /// Add `vectors` from several threads (keys as in [`Self::add`]): faster, but the
    /// graph then depends on timing.
    pub fn add_parallel(&self, first: u64, vectors: &[f32], threads: usize) -> Result<()> {
        use rayon::prelude::*;
        let n = vectors.len() / self.dim;
        self.index
            .reserve_capacity_and_threads(self.index.size() + n, threads.max(1))
            .map_err(|e| runtime("reserving", e))?;
        vectors
            .par_chunks_exact(self.dim)
            .enumerate()
            .try_for_each(|(k, v)| {
                self.index
                    .add(first + k as u64, v)
                    .map_err(|e| runtime("adding", e))
            })
    }

    pub fn len(&self) -> usize {
        self.index.size()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn set_expansion_search(&self, ef: usize) {
        self.index.change_expansion_search(ef);
    }

    /// The share of the exact top-`k` (over `items`, each query's `skip` items left out)
    /// that the index returns for `queries`, at the current search width.
    pub fn recall_against(
        &self,
        exact: &[Vec<(u32, f32)>],
        queries: &[f32],
        k: usize,
        skip: &[Vec<u32>],
    ) -> Result<f64> {
        use rayon::prelude::*;
        let found: Vec<(usize, usize)> = queries
            .par_chunks(self.dim)
            .zip(exact.par_iter())
            .zip(skip.par_iter())
            .map(|((q, want), seen)| {
                let got = self.search(q, k, |key| seen.binary_search(&(key as u32)).is_err())?;
                let hit = got
                    .iter()
                    .filter(|(key, _)| want.iter().any(|w| w.0 as u64 == *key))
                    .count();
                Ok((hit, want.len()))
            })
            .collect::<Result<_>>()?;
        let (hit, all) = found.iter().fold((0, 0), |(h, a), &(x, y)| (h + x, a + y));
        Ok(if all == 0 {
            1.0
        } else {
            hit as f64 / all as f64
        })
    }

    /// The self-check: recall@`k` against exact search over `items` for `queries`
    /// (each with its `skip` items left out), doubling the search width from
    /// `p.expansion_search` until it reaches `p.target_recall` or [`MAX_EXPANSION`];
    /// the index keeps the last width. Returns what was measured.
    pub fn calibrate(
        &self,
        items: &[f32],
        queries: &[f32],
        skip: &[Vec<u32>],
        k: usize,
        p: &IndexParams,
    ) -> Result<IndexCheck> {
        let exact = crate::exact::top_k_many(items, queries, self.dim, k, |q| &skip[q]);
        let mut check = IndexCheck {
            k,
            queries: exact.len(),
            target: p.target_recall,
            ..IndexCheck::default()
        };
        let mut width = p.expansion_search;
        loop {
            self.set_expansion_search(width);
            let r = self.recall_against(&exact, queries, k, skip)?;
            check.widths.push((width, r));
            if r >= p.target_recall {
                check.reached = true;
                break;
            }
            if width >= MAX_EXPANSION || width >= self.len() {
                break;
            }
            width = (width * 2).min(MAX_EXPANSION);
        }
        Ok(check)
    }

    /// The `k` nearest keys to `query` with their inner products, best first, among
    /// the keys `keep` accepts.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        keep: impl Fn(u64) -> bool,
    ) -> Result<Vec<(u64, f32)>> {
        let m = self
            .index
            .filtered_search(query, k, keep)
            .map_err(|e| runtime("searching", e))?;
        Ok(m.keys
            .into_iter()
            .zip(m.distances)
            .map(|(key, dist)| (key, 1.0 - dist))
            .collect())
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; self.index.serialized_length()];
        self.index
            .save_to_buffer(&mut buf)
            .map_err(|e| runtime("saving", e))?;
        Ok(buf)
    }

    pub fn from_bytes(bytes: &[u8], dim: usize, p: &IndexParams) -> Result<ItemIndex> {
        let ix = ItemIndex::new(dim, p)?;
        ix.index
            .load_from_buffer(bytes)
            .map_err(|e| Error::input(format!("the model's item index is damaged: {e}")))?;
        if ix.index.dimensions() != dim {
            return Err(Error::input(
                "the model's item index has the wrong dimension",
            ));
        }
        ix.index.change_expansion_search(p.expansion_search);
        Ok(ix)
    }
}

/// The exact `k` best rows of `vectors` by inner product with `query` among those
/// `keep` accepts, best first (ties: the lower row).
pub fn exact_top_k(
    vectors: &[f32],
    dim: usize,
    query: &[f32],
    k: usize,
    keep: impl Fn(u64) -> bool,
) -> Vec<(u64, f32)> {
    let mut heap: Vec<(f32, u64)> = Vec::with_capacity(k + 1);
    for (r, v) in vectors.chunks_exact(dim).enumerate() {
        if !keep(r as u64) {
            continue;
        }
        let s = dot(v, query);
        if heap.len() == k && heap.last().is_some_and(|&(w, _)| s <= w) {
            continue;
        }
        let at = heap.partition_point(|&(w, _)| w >= s);
        heap.insert(at, (s, r as u64));
        heap.truncate(k);
    }
    heap.into_iter().map(|(s, r)| (r, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SplitMix;

    fn unit_vectors(n: usize, dim: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix::new(seed);
        let mut v: Vec<f32> = (0..n * dim).map(|_| rng.unit() as f32 - 0.5).collect();
        for r in v.chunks_mut(dim) {
            let n = dot(r, r).sqrt();
            r.iter_mut().for_each(|x| *x /= n);
        }
        v
    }

    #[test]
    fn index_search_agrees_with_exact_search_on_a_small_set() {
        let (n, dim) = (2000, 16);
        let v = unit_vectors(n, dim, 1);
        let p = IndexParams::default();
        let ix = ItemIndex::build(&v, dim, &p).unwrap();
        assert_eq!(ix.len(), n);
        let queries = unit_vectors(50, dim, 2);
        let mut found = 0;
        for q in queries.chunks(dim) {
            let want: Vec<u64> = exact_top_k(&v, dim, q, 10, |_| true)
                .iter()
                .map(|x| x.0)
                .collect();
            let got = ix.search(q, 10, |_| true).unwrap();
            assert_eq!(got.len(), 10);
            // Scores are inner products, best first.
            for w in got.windows(2) {
                assert!(w[0].1 >= w[1].1 - 1e-6);
            }
            let (k0, s0) = got[0];
            assert!((dot(&v[k0 as usize * dim..(k0 as usize + 1) * dim], q) - s0).abs() < 1e-5);
            found += got.iter().filter(|x| want.contains(&x.0)).count();
        }
        assert!(
            found as f64 / 500.0 >= 0.98,
            "recall {}",
            found as f64 / 500.0
        );
        // A filter removes keys from the answer.
        let q = &queries[..dim];
        let best = ix.search(q, 1, |_| true).unwrap()[0].0;
        let without = ix.search(q, 10, |k| k != best).unwrap();
        assert!(without.iter().all(|x| x.0 != best));
        // The index survives a round trip through bytes.
        let back = ItemIndex::from_bytes(&ix.to_bytes().unwrap(), dim, &p).unwrap();
        assert_eq!(
            back.search(q, 10, |_| true).unwrap(),
            ix.search(q, 10, |_| true).unwrap()
        );
    }

    #[test]
    fn the_self_check_widens_the_search_until_the_target() {
        // Vectors in many tight clusters of a 32-dimensional space are hard for a
        // narrow search: the check must widen it.
        let (n, dim) = (3000, 32);
        let v = unit_vectors(n, dim, 11);
        let p = IndexParams {
            connectivity: 4,
            expansion_add: 8,
            expansion_search: 1,
            target_recall: 0.99,
        };
        let ix = ItemIndex::build(&v, dim, &p).unwrap();
        let queries = unit_vectors(100, dim, 12);
        let skip: Vec<Vec<u32>> = (0..100u32).map(|q| vec![q * 7, q * 7 + 1]).collect();
        let check = ix.calibrate(&v, &queries, &skip, 10, &p).unwrap();
        assert!(check.widths.len() > 1, "{check:?}");
        assert!(check.reached && check.recall() >= 0.99, "{check:?}");
        // Widths double; the recall at the first is below the target.
        assert_eq!(check.widths[0].0, 1);
        assert!(check.widths[0].1 < 0.99);
        for w in check.widths.windows(2) {
            assert_eq!(w[1].0, w[0].0 * 2);
        }
        // The recall reported is what the index now gives, measured again here.
        let exact = crate::exact::top_k_many(&v, &queries, dim, 10, |q| &skip[q]);
        let again = ix.recall_against(&exact, &queries, 10, &skip).unwrap();
        assert_eq!(again, check.recall());
    }

    #[test]
    fn an_added_item_becomes_retrievable() {
        let dim = 8;
        let v = unit_vectors(300, dim, 5);
        let ix = ItemIndex::build(&v, dim, &IndexParams::default()).unwrap();
        let new = unit_vectors(1, dim, 77);
        ix.add(300, &new).unwrap();
        let got = ix.search(&new, 1, |_| true).unwrap();
        assert_eq!(got[0].0, 300);
        assert!((got[0].1 - 1.0).abs() < 1e-5);
    }

    #[test]
    fn search_rows_score_with_the_bias_and_share_one_length() {
        let v = [1.0f32, 0.0, 0.6, 0.8, 0.0, 0.0];
        let bias = [0.5f32, -1.0, 2.0];
        let (rows, n2) = search_rows(&v, &bias, 0.1, 2, None);
        assert_eq!(rows.len(), 3 * (2 + EXTRA));
        for r in rows.chunks(4) {
            assert!((dot(r, r) - n2).abs() < 1e-6);
        }
        // Row 1: |v|² 1 + 0.1² is the largest, so its last column is 0.
        assert!((n2 - 1.01).abs() < 1e-6 && rows[7] == 0.0);
        let q = search_query(&[0.0, 1.0]);
        let scores: Vec<f32> = rows.chunks(4).map(|r| dot(r, &q)).collect();
        // u·v + τ·bias: 0 + 0.05, 0.8 − 0.1, 0 + 0.2.
        for (s, want) in scores.iter().zip([0.05f32, 0.7, 0.2]) {
            assert!((s - want).abs() < 1e-6, "{scores:?}");
        }
        // A fixed length keeps rows that would pass it at zero in the last column.
        let (r2, n) = search_rows(&v, &bias, 0.1, 2, Some(0.5));
        assert_eq!((n, r2[3]), (0.5, 0.0));
    }

    #[test]
    fn exact_top_k_is_sorted_and_filtered() {
        let v = [1.0f32, 0.0, 0.0, 1.0, 0.7, 0.7, -1.0, 0.0];
        let got = exact_top_k(&v, 2, &[1.0, 0.0], 3, |k| k != 0);
        assert_eq!(got.iter().map(|x| x.0).collect::<Vec<_>>(), vec![2, 1, 3]);
    }
}
