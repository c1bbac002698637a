//! The validation slice: interactions held out of training to score the model between
//! epochs (early stopping) and to compare settings (tuning), then put back for the
//! final fit.

use serde::{Deserialize, Serialize};

use crate::SplitMix;
use crate::data::{Groups, Interactions};
use crate::exact::top_k_many;
use crate::index::{EXTRA, search_query, search_rows};
use crate::tower::{Features, Weights};

/// The list length validation scores.
pub const VALID_K: usize = 10;

/// How the slice was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Each validation user's latest interaction (by `timestamp`; ties: the last in
    /// file order).
    Latest,
    /// A random share of each validation user's interactions.
    Random,
    /// Given by the caller (a validation file).
    Given,
}

/// Interactions split into a training part and held-out items per validation user.
pub struct Split {
    /// The training rows, with the same user and item maps as the whole data (an item
    /// seen only in the held-out part has no training rows).
    pub train: Interactions,
    /// Validation users, ascending.
    pub users: Vec<u32>,
    /// Each validation user's held-out items (distinct, ascending).
    pub held: Vec<Vec<u32>>,
    pub rule: Rule,
}

/// How many users validation scores: all of them up to a budget of score products, at
/// least 1,000 and at most 10,000 (`5·10⁷ / items`: 5,000 users for 10,000 items).
pub fn max_valid_users(n_items: usize) -> usize {
    (50_000_000 / n_items.max(1)).clamp(1_000, 10_000)
}

fn rows_of_users(data: &Interactions) -> Groups {
    let rows: Vec<u32> = (0..data.len() as u32).collect();
    Groups::new(&data.user, &rows, data.users.len())
}

fn take_rows(data: &Interactions, keep: &[bool]) -> Interactions {
    let pick = |v: &[u32]| -> Vec<u32> {
        v.iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(x, _)| *x)
            .collect()
    };
    Interactions {
        users: data.users.clone(),
        items: data.items.clone(),
        user: pick(&data.user),
        item: pick(&data.item),
        weight: data
            .weight
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(x, _)| *x)
            .collect(),
        time: data.time.as_ref().map(|t| {
            t.iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .map(|(x, _)| *x)
                .collect()
        }),
    }
}

impl Split {
    /// Cut a slice from `data`: for up to [`max_valid_users`] users with at least two
    /// interactions (a seeded sample when there are more), the latest interaction
    /// when there are timestamps, else a random `share` of the user's interactions (at
    /// least one, and never all). `None` when no user has two interactions.
    pub fn cut(data: &Interactions, share: f64, seed: u64) -> Option<Split> {
        let by_user = rows_of_users(data);
        let mut eligible: Vec<u32> = (0..data.users.len() as u32)
            .filter(|&u| by_user.of(u as usize).len() >= 2)
            .collect();
        if eligible.is_empty() {
            return None;
        }
        let mut rng = SplitMix::new(seed ^ 0x007A_11D8);
        let cap = max_valid_users(data.items.len());
        if eligible.len() > cap {
            // A partial Fisher–Yates draw of `cap` users, then in ascending order.
            for k in 0..cap {
                let j = k + (rng.next_u64() % (eligible.len() - k) as u64) as usize;
                eligible.swap(k, j);
            }
            eligible.truncate(cap);
            eligible.sort_unstable();
        }
        let mut keep = vec![true; data.len()];
        let rule = if data.time.is_some() {
            Rule::Latest
        } else {
            Rule::Random
        };
        for &u in &eligible {
            let rows = by_user.of(u as usize);
            match &data.time {
                Some(time) => {
                    // Rows are in file order, so the last maximum is the latest.
                    let mut best = rows[0];
                    for &r in rows {
                        if time[r as usize] >= time[best as usize] {
                            best = r;
                        }
                    }
                    keep[best as usize] = false;
                }
                None => {
                    let n = rows.len();
                    let h = ((n as f64 * share).round() as usize).clamp(1, n - 1);
                    let mut order: Vec<u32> = rows.to_vec();
                    for k in 0..h {
                        let j = k + (rng.next_u64() % (n - k) as u64) as usize;
                        order.swap(k, j);
                    }
                    for &r in &order[..h] {
                        keep[r as usize] = false;
                    }
                }
            }
        }
        Some(Split::from_keep(data, &keep, rule))
    }

    /// The slice given by the caller: rows `n_train..` of `data` are held out (their
    /// users must have training rows to be scored; others are left out of scoring).
    pub fn given(data: &Interactions, n_train: usize) -> Split {
        let keep: Vec<bool> = (0..data.len()).map(|r| r < n_train).collect();
        Split::from_keep(data, &keep, Rule::Given)
    }

    fn from_keep(data: &Interactions, keep: &[bool], rule: Rule) -> Split {
        let mut held: Vec<Vec<u32>> = vec![Vec::new(); data.users.len()];
        let mut in_train = vec![false; data.users.len()];
        for (r, &kept) in keep.iter().enumerate() {
            let u = data.user[r] as usize;
            if kept {
                in_train[u] = true;
            } else {
                held[u].push(data.item[r]);
            }
        }
        let mut users = Vec::new();
        let mut lists = Vec::new();
        for (u, mut items) in held.into_iter().enumerate() {
            if items.is_empty() || !in_train[u] {
                continue;
            }
            items.sort_unstable();
            items.dedup();
            users.push(u as u32);
            lists.push(items);
        }
        Split {
            train: take_rows(data, keep),
            users,
            held: lists,
            rule,
        }
    }

    /// Held-out interactions in all.
    pub fn n_held(&self) -> usize {
        self.held.iter().map(Vec::len).sum()
    }
}

/// Recall@10 and NDCG@10 on a validation slice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub recall: f64,
    pub ndcg: f64,
}

/// Score weights trained on `split.train` (whose histories are `history`): each
/// validation user's top [`VALID_K`] items by exact search over every item, its
/// training items left out, against its held-out items; both measures averaged over
/// users.
pub fn score(
    w: &Weights,
    temperature: f32,
    history: &Groups,
    features: &Features,
    split: &Split,
) -> Score {
    use rayon::prelude::*;
    let d = w.dim + EXTRA;
    let (items, _) = search_rows(
        &w.item_vectors(&features.item),
        &w.item_bias,
        temperature,
        w.dim,
        None,
    );
    let mut queries = vec![0f32; split.users.len() * d];
    let seen: Vec<Vec<u32>> = split
        .users
        .par_iter()
        .zip(queries.par_chunks_mut(d))
        .map(|(&u, q)| {
            let u = u as usize;
            let mut x = vec![0f32; w.dim];
            w.user_vector_of(Some(u), history.of(u), features.user.of(u), &mut x);
            q.copy_from_slice(&search_query(&x));
            let mut s = history.of(u).to_vec();
            s.sort_unstable();
            s.dedup();
            s
        })
        .collect();
    let lists = top_k_many(&items, &queries, d, VALID_K, |q| &seen[q]);
    let (mut recall, mut ndcg) = (0f64, 0f64);
    for (list, held) in lists.iter().zip(&split.held) {
        let mut dcg = 0f64;
        let mut hits = 0usize;
        for (r, (item, _)) in list.iter().enumerate() {
            if held.binary_search(item).is_ok() {
                hits += 1;
                dcg += 1.0 / ((r + 2) as f64).log2();
            }
        }
        let ideal: f64 = (0..held.len().min(VALID_K))
            .map(|r| 1.0 / ((r + 2) as f64).log2())
            .sum();
        recall += hits as f64 / held.len() as f64;
        ndcg += dcg / ideal;
    }
    let n = split.users.len().max(1) as f64;
    Score {
        recall: recall / n,
        ndcg: ndcg / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lithe_core::{Column, Table};

    fn data(rows: &[(&str, &str, Option<f64>)]) -> Interactions {
        let mut cols = vec![
            Column::from_strings(
                "user_id",
                &rows.iter().map(|r| Some(r.0)).collect::<Vec<_>>(),
            )
            .unwrap(),
            Column::from_strings(
                "item_id",
                &rows.iter().map(|r| Some(r.1)).collect::<Vec<_>>(),
            )
            .unwrap(),
        ];
        if rows[0].2.is_some() {
            cols.push(Column::from_f64(
                "timestamp",
                rows.iter().map(|r| r.2.unwrap()).collect(),
            ));
        }
        Interactions::from_table(&Table::new(cols).unwrap(), "t").unwrap()
    }

    #[test]
    fn the_latest_interaction_of_each_user_is_held_out() {
        // u1's latest is c (time 5); u2's two rows at time 9 tie: the later in the file
        // (e) is held out; u3 has one interaction and is not scored.
        let d = data(&[
            ("u1", "a", Some(1.0)),
            ("u1", "c", Some(5.0)),
            ("u1", "b", Some(3.0)),
            ("u2", "d", Some(9.0)),
            ("u2", "e", Some(9.0)),
            ("u2", "a", Some(2.0)),
            ("u3", "a", Some(4.0)),
        ]);
        let s = Split::cut(&d, 0.1, 1).unwrap();
        assert_eq!(s.rule, Rule::Latest);
        let name = |i: u32| d.items.names[i as usize].as_str();
        let users: Vec<&str> = s
            .users
            .iter()
            .map(|&u| d.users.names[u as usize].as_str())
            .collect();
        assert_eq!(users, vec!["u1", "u2"]);
        assert_eq!(
            s.held
                .iter()
                .map(|h| h.iter().map(|&i| name(i)).collect::<Vec<_>>())
                .collect::<Vec<_>>(),
            vec![vec!["c"], vec!["e"]]
        );
        // The training part is every other row, in file order, with the same ids.
        assert_eq!(s.train.len(), 5);
        assert_eq!(s.train.items.names, d.items.names);
        let kept: Vec<&str> = s.train.item.iter().map(|&i| name(i)).collect();
        assert_eq!(kept, vec!["a", "b", "d", "a", "a"]);
        assert_eq!(
            s.train.time.as_ref().unwrap(),
            &vec![1.0, 3.0, 9.0, 2.0, 4.0]
        );
        assert_eq!(s.n_held(), 2);
    }

    #[test]
    fn without_timestamps_a_random_share_is_held_out_never_all() {
        let mut rows = Vec::new();
        let items: Vec<String> = (0..40).map(|i| format!("i{i}")).collect();
        for i in &items {
            rows.push(("big", i.as_str(), None));
        }
        rows.push(("pair", "i0", None));
        rows.push(("pair", "i1", None));
        rows.push(("one", "i2", None));
        let d = data(&rows);
        let s = Split::cut(&d, 0.1, 7).unwrap();
        assert_eq!(s.rule, Rule::Random);
        // 10 % of 40 is 4; of 2 it rounds to 0, and at least one is held; "one" has a
        // single interaction and is not scored.
        assert_eq!(s.held.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 1]);
        assert_eq!(s.train.len(), d.len() - 5);
        // The same seed gives the same slice; another seed another one.
        assert_eq!(Split::cut(&d, 0.1, 7).unwrap().held, s.held);
        assert!((8..20).any(|seed| Split::cut(&d, 0.1, seed).unwrap().held != s.held));
    }

    #[test]
    fn a_given_slice_scores_only_users_with_training_rows() {
        let d = data(&[
            ("u1", "a", None),
            ("u2", "b", None),
            ("u1", "b", None),
            ("u3", "c", None),
        ]);
        // Rows from 2 on are the slice: u1's b is scored, u3 has no training row.
        let s = Split::given(&d, 2);
        assert_eq!(s.rule, Rule::Given);
        assert_eq!(s.users, vec![0]);
        assert_eq!(s.train.len(), 2);
        assert!(Split::cut(&data(&[("u1", "a", None), ("u2", "a", None)]), 0.1, 1).is_none());
    }
}
