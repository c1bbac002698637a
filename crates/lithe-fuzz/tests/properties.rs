//! Property tests of invariants that must hold for any data: ids round-trip byte for
//! byte, rows are neither lost nor invented, finite input gives finite predictions,
//! and the thread count changes nothing.

use lithe_core::{Column, ReadOptions, Table};
use proptest::prelude::*;

/// Ids as users write them: leading zeros, decimals, signs, spaces, quotes,
/// delimiters, non-ASCII; never empty and never a missing-value token.
fn id() -> impl Strategy<Value = String> {
    prop_oneof![
        "0[0-9]{1,4}",
        "[0-9]{1,3}\\.[0-9]{0,2}0",
        "[+-]?[0-9]{1,6}",
        "[a-z]{1,3}[ ,;|\"\t]?[a-z0-9]{1,3}",
        "[0-9]e[0-9]{1,2}",
        "ü[a-z]{1,4}",
    ]
    .prop_filter("not a missing-value token", |s| {
        !lithe_core::io::parse::DEFAULT_NA.contains(&s.as_str()) && s.trim() == s
    })
}

fn csv_of(t: &Table) -> Vec<u8> {
    lithe_core::io::csv_string(t).into_bytes()
}

fn read(bytes: &[u8], opts: &ReadOptions) -> Table {
    lithe_core::io::read_csv_bytes(bytes, "t.csv", opts).expect("lithe reads its own CSV")
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Interactions written by lithe and read back keep every id as written.
    #[test]
    fn interaction_ids_round_trip_byte_for_byte(
        pairs in proptest::collection::vec((id(), id()), 1..40)
    ) {
        let users: Vec<Option<&str>> = pairs.iter().map(|p| Some(p.0.as_str())).collect();
        let items: Vec<Option<&str>> = pairs.iter().map(|p| Some(p.1.as_str())).collect();
        let t = Table::new(vec![
            Column::from_strings("user_id", &users).unwrap(),
            Column::from_strings("item_id", &items).unwrap(),
        ]).unwrap();
        let back = read(&csv_of(&t), &lithe_recsys::data::read_options());
        let inter = lithe_recsys::Interactions::from_table(&back, "t.csv").unwrap();
        for (r, (u, i)) in pairs.iter().enumerate() {
            prop_assert_eq!(&inter.users.names[inter.user[r] as usize], u);
            prop_assert_eq!(&inter.items.names[inter.item[r] as usize], i);
        }
    }

    /// Series ids come out of a forecast as they went in, one block per series.
    #[test]
    fn series_ids_round_trip_through_a_forecast(
        ids in proptest::collection::hash_set(id(), 1..8)
    ) {
        let ids: Vec<String> = ids.into_iter().collect();
        let mut col = Vec::new();
        let (mut ds, mut y) = (Vec::new(), Vec::new());
        for (k, id) in ids.iter().enumerate() {
            for t in 0..5 {
                col.push(Some(id.as_str()));
                ds.push(Some(t as i64));
                y.push((k * 10 + t) as f64);
            }
        }
        let t = Table::new(vec![
            Column::from_strings("unique_id", &col).unwrap(),
            Column::from_i64("ds", ds),
            Column::from_f64("y", y),
        ]).unwrap();
        let back = read(&csv_of(&t), &ReadOptions::default());
        let cols = lithe_forecast::SeriesColumns::default();
        let store = lithe_forecast::SeriesStore::from_table(&back, &cols).unwrap();
        let p = lithe_forecast::ForecastParams {
            horizon: 2,
            models: vec![lithe_forecast::Model::Naive],
            settings: Default::default(),
            freq: None,
        };
        let (f, _) = lithe_forecast::forecast(&store, &p, "unique_id", "ds").unwrap();
        let mut got: Vec<String> = (0..f.n_rows())
            .filter_map(|r| f.column("unique_id").unwrap().value_string(r))
            .collect();
        got.dedup();
        let mut want = ids.clone();
        want.sort();
        let mut got_sorted = got.clone();
        got_sorted.sort();
        prop_assert_eq!(got_sorted, want);
        prop_assert_eq!(f.n_rows(), 2 * ids.len());
    }

    /// A table written as CSV and read back has every row (none dropped, none
    /// added), missing cells included, even with a single column.
    #[test]
    fn csv_keeps_every_row(
        cells in proptest::collection::vec(proptest::option::of(-1e6f64..1e6), 1..60),
        two in any::<bool>(),
    ) {
        let mut cols = vec![Column::from_f64("x", cells.iter().map(|c| c.unwrap_or(f64::NAN)).collect())];
        if two {
            cols.push(Column::from_f64("z", vec![1.0; cells.len()]));
        }
        let t = Table::new(cols).unwrap();
        let back = read(&csv_of(&t), &ReadOptions::default());
        prop_assert_eq!(back.n_rows(), cells.len());
        let x = back.column("x").unwrap().to_f64();
        for (a, b) in cells.iter().zip(&x) {
            match a {
                Some(v) => prop_assert_eq!(*v, *b),
                None => prop_assert!(b.is_nan()),
            }
        }
    }

    /// Finite features and targets give finite predictions, and the same model for
    /// one thread and for two.
    #[test]
    fn predictions_are_finite_and_the_same_for_any_thread_count(
        rows in proptest::collection::vec((-1e6f64..1e6, -1e3f64..1e3, -1e25f64..1e25), 30..120),
        lr in 0.01f64..1.0,
    ) {
        let t = Table::new(vec![
            Column::from_f64("a", rows.iter().map(|r| r.0).collect()),
            Column::from_f64("b", rows.iter().map(|r| r.1).collect()),
            Column::from_f64("y", rows.iter().map(|r| r.2).collect()),
        ]).unwrap();
        let params = lithe_trees::GbdtParams {
            rounds: 8,
            learning_rate: lr,
            min_data_in_leaf: 3,
            ..Default::default()
        };
        let fit = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| lithe_trees::GbdtModel::fit(&params, &t, "y"))
        };
        let one = fit(1).unwrap();
        let two = fit(2).unwrap();
        let p1 = one.predict(&t).unwrap();
        let p2 = two.predict(&t).unwrap();
        prop_assert!(p1.iter().all(|v| v.is_finite()), "{:?}", p1);
        prop_assert_eq!(p1, p2);
    }
}
