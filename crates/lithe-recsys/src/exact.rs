//! Exact top-k by inner product for many queries at once: blocks of queries against
//! chunks of the catalogue through one matrix product each, a small sorted list per
//! query. Validation during training, the index's self-check and `query --exact` use
//! it.

use rayon::prelude::*;

use crate::dense::{Mat, matmul_serial};

/// Queries per block and items per chunk: a block's scores (`64 × 8192` floats, 2 MiB)
/// stay in cache-sized pieces whatever the catalogue's size.
const QUERY_BLOCK: usize = 64;
const ITEM_CHUNK: usize = 8192;

/// The `k` best `(item, score)` of `list` after offering `(item, score)`: best first,
/// ties to the lower item.
#[inline]
fn offer(list: &mut Vec<(u32, f32)>, k: usize, item: u32, score: f32) {
    if list.len() == k {
        let &(wi, ws) = list.last().expect("k > 0");
        if score < ws || (score == ws && item > wi) {
            return;
        }
    }
    let at = list.partition_point(|&(i, s)| s > score || (s == score && i < item));
    list.insert(at, (item, score));
    list.truncate(k);
}

/// For each query (rows of `queries`, `dim` wide), the `k` items of `items` (rows,
/// `dim` wide) with the largest inner product, best first (ties: the lower item),
/// leaving out the items in `skip(q)` (sorted ascending). Results do not depend on the
/// thread count.
pub fn top_k_many<'s>(
    items: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
    skip: impl Fn(usize) -> &'s [u32] + Sync,
) -> Vec<Vec<(u32, f32)>> {
    let n_items = items.len() / dim.max(1);
    let n_q = queries.len() / dim.max(1);
    if k == 0 || dim == 0 {
        return vec![Vec::new(); n_q];
    }
    let blocks: Vec<Vec<Vec<(u32, f32)>>> = queries
        .par_chunks(QUERY_BLOCK * dim)
        .enumerate()
        .map(|(blk, qs)| {
            let nq = qs.len() / dim;
            let mut lists: Vec<Vec<(u32, f32)>> = vec![Vec::with_capacity(k + 1); nq];
            let mut scores = vec![0f32; nq * ITEM_CHUNK.min(n_items.max(1))];
            for (c, chunk) in items.chunks(ITEM_CHUNK * dim).enumerate() {
                let ni = chunk.len() / dim;
                let first = (c * ITEM_CHUNK) as u32;
                let out = &mut scores[..nq * ni];
                matmul_serial(Mat::new(qs, nq, dim), Mat::new(chunk, ni, dim).t(), out);
                for (q, (row, list)) in out.chunks(ni).zip(&mut lists).enumerate() {
                    let seen = skip(blk * QUERY_BLOCK + q);
                    for (j, &s) in row.iter().enumerate() {
                        let item = first + j as u32;
                        if list.len() == k {
                            let &(wi, ws) = list.last().expect("k > 0");
                            if s < ws || (s == ws && item > wi) {
                                continue;
                            }
                        }
                        if seen.binary_search(&item).is_ok() {
                            continue;
                        }
                        offer(list, k, item, s);
                    }
                }
            }
            lists
        })
        .collect();
    blocks.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SplitMix;
    use crate::index::exact_top_k;

    #[test]
    fn agrees_with_one_query_at_a_time_across_chunks() {
        let (n, dim, nq, k) = (ITEM_CHUNK + 777, 8, 70, 5);
        let mut rng = SplitMix::new(3);
        // Values on a coarse grid, so that ties happen and their order is tested.
        let mut grid = |len: usize| -> Vec<f32> {
            (0..len)
                .map(|_| (rng.next_u64() % 9) as f32 / 4.0 - 1.0)
                .collect()
        };
        let items = grid(n * dim);
        let queries = grid(nq * dim);
        let skips: Vec<Vec<u32>> = (0..nq as u32).map(|q| vec![q, q * 100 + 7]).collect();
        let got = top_k_many(&items, &queries, dim, k, |q| &skips[q]);
        for (q, list) in got.iter().enumerate() {
            let want = exact_top_k(&items, dim, &queries[q * dim..(q + 1) * dim], k, |key| {
                !skips[q].contains(&(key as u32))
            });
            let want: Vec<(u32, f32)> = want.into_iter().map(|(i, s)| (i as u32, s)).collect();
            assert_eq!(list.len(), k);
            // The same scores in the same order; ties resolved to the lower item.
            assert_eq!(list, &want, "query {q}");
        }
    }
}
