//! The item index: unit vectors in an HNSW graph (`usearch`), searched by inner
//! product, with exact search for checking it.

use lithe_core::{Error, Result};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::dense::dot;

/// HNSW settings: graph degree and the candidate lists of insertion and search.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IndexParams {
    pub connectivity: usize,
    pub expansion_add: usize,
    pub expansion_search: usize,
}

impl Default for IndexParams {
    fn default() -> Self {
        IndexParams {
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 64,
        }
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
    fn exact_top_k_is_sorted_and_filtered() {
        let v = [1.0f32, 0.0, 0.0, 1.0, 0.7, 0.7, -1.0, 0.0];
        let got = exact_top_k(&v, 2, &[1.0, 0.0], 3, |k| k != 0);
        assert_eq!(got.iter().map(|x| x.0).collect::<Vec<_>>(), vec![2, 1, 3]);
    }
}
