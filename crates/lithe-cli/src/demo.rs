//! `lithe demo`: lithe's main job on embedded defaults, with a scoreboard.
//!
//! Each model family adds a section here as it lands. Every number printed is
//! measured in this run.

use std::fmt::Write as _;
use std::io::Read;
use std::time::Instant;

use clap::Args;
use lithe_core::describe::describe;
use lithe_core::{ReadOptions, Table};

use crate::{GlobalArgs, emit};

/// California housing (1990 census block groups), as in ../data/README.md.
const HOUSING: &[u8] = include_bytes!("../../../data/california_housing.csv.gz");

#[derive(Args, Debug)]
pub struct DemoArgs {}

fn ms(s: f64) -> String {
    if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{s:.2} s")
    }
}

/// Median wall time of `runs` calls.
fn timed<T>(runs: usize, mut f: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<(T, f64)> {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t0 = Instant::now();
        last = Some(f()?);
        times.push(t0.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let out = last.ok_or_else(|| anyhow::anyhow!("no run"))?;
    Ok((out, times[times.len() / 2]))
}

/// The simple baseline: gunzip, split lines and fields, parse numbers or keep strings,
/// on one thread, into row-major cells.
enum Cell {
    Num(f64),
    Text(String),
    Missing,
}

fn naive_read(gz: &[u8]) -> anyhow::Result<usize> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz).read_to_string(&mut text)?;
    let rows: Vec<Vec<Cell>> = text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            l.split(',')
                .map(|f| {
                    if f.is_empty() {
                        Cell::Missing
                    } else {
                        f.parse()
                            .map(Cell::Num)
                            .unwrap_or_else(|_| Cell::Text(f.to_string()))
                    }
                })
                .collect()
        })
        .collect();
    // Touch the cells so the work cannot be skipped.
    let weight: usize = rows
        .iter()
        .flatten()
        .map(|c| match c {
            Cell::Num(v) => usize::from(v.is_finite()),
            Cell::Text(t) => t.len().min(1),
            Cell::Missing => 0,
        })
        .sum();
    std::hint::black_box(weight);
    Ok(rows.len())
}

fn same_values(a: &Table, b: &Table) -> bool {
    a.n_rows() == b.n_rows()
        && a.n_columns() == b.n_columns()
        && a.columns().iter().zip(b.columns()).all(|(x, y)| {
            x.name() == y.name()
                && x.column_type() == y.column_type()
                && (0..x.len()).all(|r| x.value_string(r) == y.value_string(r))
        })
}

/// Gradient boosting and a random forest on the housing sample: every fifth row held
/// out; their RMSE against always predicting the training mean.
fn tabular_section(table: &Table, out: &mut String) -> anyhow::Result<()> {
    let target = "median_house_value";
    let test_rows: Vec<u32> = (0..table.n_rows() as u32).filter(|r| r % 5 == 0).collect();
    let train_rows: Vec<u32> = (0..table.n_rows() as u32).filter(|r| r % 5 != 0).collect();
    let (train, test) = (table.take(&train_rows)?, table.take(&test_rows)?);
    let params = lithe_trees::GbdtParams::default();
    let t0 = Instant::now();
    let model = lithe_trees::GbdtModel::fit(&params, &train, target)?;
    let fit_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let pred = model.predict(&test)?;
    let pred_s = t1.elapsed().as_secs_f64();
    let y = test.require(target)?.to_f64();
    let y_train = train.require(target)?.to_f64();
    let mean = y_train.iter().sum::<f64>() / y_train.len() as f64;
    let rmse = lithe_core::metrics::rmse(&y, &pred)?;
    let base = lithe_core::metrics::rmse(&y, &vec![mean; y.len()])?;
    let r2 = lithe_core::metrics::r2(&y, &pred)?;
    let forest_params = lithe_trees::ForestParams::default();
    let t2 = Instant::now();
    let forest = lithe_trees::ForestModel::fit(&forest_params, &train, target)?;
    let forest_s = t2.elapsed().as_secs_f64();
    let forest_rmse = lithe_core::metrics::rmse(&y, &forest.predict(&test)?)?;
    let _ = writeln!(
        out,
        "── Tables: tree ensembles predict median_house_value ({} rows to train, {} held out)\n",
        train.n_rows(),
        test.n_rows()
    );
    let _ = writeln!(out, "   {:<44} {:>12} {:>10}", "model", "test RMSE", "time");
    let _ = writeln!(
        out,
        "   {:<44} {:>12.0} {:>10}",
        format!(
            "lithe GBDT ({} trees × {} leaves)",
            params.rounds, params.num_leaves
        ),
        rmse,
        ms(fit_s)
    );
    let _ = writeln!(
        out,
        "   {:<44} {:>12.0} {:>10}",
        format!("lithe random forest ({} trees)", forest_params.trees),
        forest_rmse,
        ms(forest_s)
    );
    let _ = writeln!(
        out,
        "   {:<44} {:>12.0} {:>10}",
        "baseline (the training mean)", base, "—"
    );
    let _ = writeln!(
        out,
        "   GBDT R² {:.3}; predicting {} rows took {}; its error is {:.0}% of the baseline's\n",
        r2,
        test.n_rows(),
        ms(pred_s),
        100.0 * rmse / base
    );
    Ok(())
}

/// Generated interactions: 2,000 users and 1,000 items in 20 taste groups, each user
/// mostly choosing items of its group, item popularity falling off by rank within a
/// group, 30 interactions a user in time order; each user's last interaction is held
/// out. The two-tower model against the most-popular-items baseline, both with the
/// user's training items left out.
fn recommend_section(out: &mut String) -> anyhow::Result<()> {
    use lithe_core::Column;
    use lithe_recsys::{Interactions, SplitMix, TwoTowerModel, TwoTowerParams, evaluate};
    let (n_users, n_items, groups, per_user) = (2000usize, 1000usize, 20usize, 30usize);
    let per_group = n_items / groups;
    let mut rng = SplitMix::new(7);
    let (mut users, mut items, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for u in 0..n_users {
        let g = u % groups;
        let mut seen = Vec::new();
        while seen.len() < per_user + 1 {
            // 80 %: the user's group; else anywhere. Within a group, rank r is chosen
            // with weight 1/(r+1).
            let grp = if rng.unit() < 0.8 {
                g
            } else {
                (rng.next_u64() % groups as u64) as usize
            };
            let x = rng.unit() * (per_group as f64).ln_1p();
            let r = (x.exp() - 1.0).floor() as usize;
            let item = grp * per_group + r.min(per_group - 1);
            if !seen.contains(&item) {
                seen.push(item);
            }
        }
        for &i in &seen[..per_user] {
            users.push(format!("u{u}"));
            items.push(format!("i{i}"));
        }
        test.push((format!("u{u}"), format!("i{}", seen[per_user])));
    }
    let table = Table::new(vec![
        Column::from_strings("user_id", &users.iter().map(Some).collect::<Vec<_>>())?,
        Column::from_strings("item_id", &items.iter().map(Some).collect::<Vec<_>>())?,
    ])?;
    let data = Interactions::from_table(&table, "demo interactions")?;
    // Fewer epochs than the default: enough for this data, and the demo stays quick.
    let params = TwoTowerParams {
        epochs: 5,
        ..TwoTowerParams::default()
    };
    let t0 = Instant::now();
    let model = TwoTowerModel::fit(&params, &data, None, None, |_, _| {})?;
    let fit_s = t0.elapsed().as_secs_f64();
    let k = 10;
    let t1 = Instant::now();
    let r = evaluate(&model, &test, k)?;
    let query_s = t1.elapsed().as_secs_f64();
    // The baseline: the most popular items the user has not seen.
    let mut hits = 0usize;
    for (u, want) in &test {
        let ui = model.users.get(u).map(|u| u as usize);
        let seen: Vec<u32> = ui.map(|u| model.history.of(u).to_vec()).unwrap_or_default();
        let top = model.popular.iter().filter(|i| !seen.contains(i)).take(k);
        hits += usize::from(
            top.into_iter()
                .any(|&i| model.items.names[i as usize] == *want),
        );
    }
    let pop = hits as f64 / test.len() as f64;
    let _ = writeln!(
        out,
        "── Recommendations: two towers, {} generated users × {} items, {} interactions, last one held out
",
        n_users,
        n_items,
        data.len()
    );
    let _ = writeln!(out, "   {:<44} {:>12} {:>10}", "model", "recall@10", "time");
    let _ = writeln!(
        out,
        "   {:<44} {:>12.3} {:>10}",
        format!(
            "lithe two-tower (dim {}, {} epochs)",
            params.dim, params.epochs
        ),
        r.recall,
        ms(fit_s)
    );
    let _ = writeln!(
        out,
        "   {:<44} {:>12.3} {:>10}",
        "baseline (most popular unseen)", pop, "—"
    );
    let _ = writeln!(
        out,
        "   {} users answered through the index in {} ({:.0} µs a user); catalogue coverage {:.0}%\n",
        r.users,
        ms(query_s),
        query_s * 1e6 / r.users.max(1) as f64,
        100.0 * r.coverage
    );
    Ok(())
}

/// Generated hourly series (a daily profile, a drifting level, noise), the last two
/// days held out: lithe's automatic and seasonal models against the naive forecast, scored as the
/// M4 competition scores (sMAPE, MASE, OWA against Naive2).
fn forecast_section(out: &mut String) -> anyhow::Result<()> {
    use lithe_forecast::{ForecastParams, Model, SeriesColumns, SeriesStore, Settings};
    let (n_series, len, h, m) = (1000usize, 24 * 14, 48usize, 24usize);
    let mut state = 2026u64;
    let mut unif = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut ids, mut ds, mut y) = (Vec::new(), Vec::new(), Vec::new());
    let (mut test_ids, mut test_ds, mut test_y) = (Vec::new(), Vec::new(), Vec::new());
    for s in 0..n_series {
        let level = 50.0 + 450.0 * unif();
        let drift = (unif() - 0.5) * 0.0004;
        let peak = 0.2 + 0.6 * unif();
        let noise = 0.03 + 0.1 * unif();
        let mut hist = Vec::with_capacity(len);
        for t in 0..len {
            let hour = (t % m) as f64;
            let profile = 1.0 + peak * (std::f64::consts::TAU * (hour - 6.0) / 24.0).sin();
            let v = level * (1.0 + drift * t as f64) * profile * (1.0 + noise * (unif() - 0.5));
            hist.push(v);
        }
        for (t, &v) in hist.iter().enumerate() {
            let (ids, ds, y) = if t < len - h {
                (&mut ids, &mut ds, &mut y)
            } else {
                (&mut test_ids, &mut test_ds, &mut test_y)
            };
            ids.push(Some(format!("s{s:04}")));
            ds.push(Some(t as i64 + 1));
            y.push(v);
        }
    }
    let long = |ids: &[Option<String>], ds, y| -> anyhow::Result<Table> {
        Ok(Table::new(vec![
            lithe_core::Column::from_strings("unique_id", ids)?,
            lithe_core::Column::from_i64("ds", ds),
            lithe_core::Column::from_f64("y", y),
        ])?)
    };
    let table = long(&ids, ds, y)?;
    let test = long(&test_ids, test_ds, test_y)?;
    let models = [
        Model::AutoTheta,
        Model::AutoCes,
        Model::SeasonalNaive,
        Model::SeasonalWindowAverage,
        Model::HistoricAverage,
        Model::Naive,
    ];
    let params = ForecastParams {
        horizon: h,
        models: models.to_vec(),
        settings: Settings {
            season: m,
            window: Some(3),
            ..Default::default()
        },
        freq: None,
    };
    let t0 = Instant::now();
    let store = SeriesStore::from_table(&table, &SeriesColumns::default())?;
    let (fc, _) = lithe_forecast::forecast(&store, &params, "unique_id", "ds")?;
    let secs = t0.elapsed().as_secs_f64();
    let scores = lithe_forecast::eval::evaluate(&fc, &test, &table, &SeriesColumns::default(), m)?;
    let _ = writeln!(
        out,
        "── Time series: {n_series} generated hourly series, {} days each; the last {h} hours held out\n",
        (len - h) / 24
    );
    let _ = writeln!(
        out,
        "   {:<44} {:>8} {:>8} {:>8}",
        "model", "sMAPE", "MASE", "OWA"
    );
    for (model, score) in models.iter().zip(&scores.models) {
        let label = match model {
            Model::SeasonalWindowAverage => "lithe SeasWA (mean of the last 3 days)".to_string(),
            Model::AutoCes => "lithe AutoCES".to_string(),
            Model::Naive => "baseline: Naive (the last value)".to_string(),
            _ => format!("lithe {}", model.column()),
        };
        let _ = writeln!(
            out,
            "   {label:<44} {:>8.2} {:>8.3} {:>8.3}",
            score.smape, score.mase, score.owa
        );
    }
    let _ = writeln!(
        out,
        "   {:<44} {:>8.2} {:>8.3} {:>8.3}",
        "benchmark: Naive2 (M4, deseasonalised naive)",
        scores.naive2_smape,
        scores.naive2_mase,
        1.0
    );
    let _ = writeln!(
        out,
        "   all six models on all {n_series} series (grouping, fitting, output) took {}\n",
        ms(secs)
    );
    Ok(())
}

pub fn run(_a: DemoArgs, g: &GlobalArgs) -> anyhow::Result<()> {
    let threads = rayon::current_num_threads();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "lithe {} — right-sized machine-learning models\n\n\
         Small, specialised models beat large language models on tables, time series and\n\
         recommendations: more accurate, far faster and far cheaper, and easy to retrain\n\
         when the world changes. lithe puts them in one Rust binary with one model format.\n\n\
         In this build: the data layer (CSV, gzip CSV and Parquet into typed columns, in\n\
         parallel), model files, metrics, tree ensembles for tables, and forecasting for\n\
         many series (baselines, intermittent demand, AutoETS, AutoARIMA, Theta, CES, MSTL\n\
         and their ensemble). Two-tower retrieval arrives next.\n",
        lithe_core::VERSION
    );
    emit(&out)?;
    out.clear();

    // Data: read the embedded sample.
    let opts = ReadOptions::default();
    let name = "california_housing.csv.gz";
    let (table, t_lithe) = timed(5, || {
        Ok(lithe_core::io::read_csv_bytes(HOUSING, name, &opts)?)
    })?;
    let summary = describe(&table, 2);
    let _ = writeln!(
        out,
        "── Data: California housing, 1990 census block groups (embedded sample; StatLib,\n   via ageron/handson-ml2, Apache-2.0). What lithe sees:\n"
    );
    for l in crate::describe::render(name, &summary, t_lithe).lines() {
        let _ = writeln!(out, "{}", format!("   {l}").trim_end());
    }
    let (rows_naive, t_naive) = timed(5, || naive_read(HOUSING))?;
    if rows_naive != table.n_rows() {
        anyhow::bail!(
            "demo: the baseline read {rows_naive} rows, lithe {}",
            table.n_rows()
        );
    }

    // Parquet round trip through a temporary directory.
    let dir = tempfile::tempdir()?;
    let pq = dir.path().join("housing.parquet");
    let (_, t_write) = timed(1, || Ok(lithe_core::write_table(&pq, &table)?))?;
    let pq_size = std::fs::metadata(&pq)?.len() as usize;
    let (back, t_back) = timed(3, || {
        Ok(lithe_core::read_table(&pq, &ReadOptions::default())?)
    })?;
    let identical = same_values(&table, &back);

    let _ = writeln!(
        out,
        "\n── Scoreboard: gzip CSV → typed columns (median of 5 runs, {threads} threads)\n"
    );
    let _ = writeln!(out, "   {:<44} {:>10} {:>12}", "reader", "time", "rows/s");
    let rate = |t: f64| format!("{:.1} M", table.n_rows() as f64 / t / 1e6);
    let _ = writeln!(
        out,
        "   {:<44} {:>10} {:>12}",
        "lithe (typed columns, parallel)",
        ms(t_lithe),
        rate(t_lithe)
    );
    let _ = writeln!(
        out,
        "   {:<44} {:>10} {:>12}",
        "baseline (split lines and fields, 1 thread)",
        ms(t_naive),
        rate(t_naive)
    );
    let _ = writeln!(
        out,
        "   lithe is {:.1}× the baseline's speed\n",
        t_naive / t_lithe
    );
    let _ = writeln!(
        out,
        "   Parquet (zstd): wrote {} in {}, read back in {}; values identical: {}",
        crate::describe::human_bytes(pq_size),
        ms(t_write),
        ms(t_back),
        if identical { "yes" } else { "NO" }
    );
    if !identical {
        anyhow::bail!("demo: the Parquet round trip changed values");
    }
    emit(&out)?;
    out.clear();
    tabular_section(&table, &mut out)?;
    forecast_section(&mut out)?;
    recommend_section(&mut out)?;
    let _ = writeln!(
        out,
        "\n── Try it on your own data\n\n   \
         lithe describe data.csv                      types, missing values, ranges, top categories\n   \
         lithe describe data.csv --target y --json    the task y implies, as JSON\n   \
         lithe describe data.tsv --no-header --na-values '?'\n   \
         lithe tabular train --data train.csv --target y --out model.lithe\n   \
         lithe tabular predict --model model.lithe --data new.csv --out predictions.csv\n   \
         lithe tabular eval --model model.lithe --data test.csv    AUC, logloss, RMSE... as JSON\n   \
         lithe inspect model.lithe                    what a model file holds\n   \
         lithe forecast --data series.csv --horizon 48 --season 24 --out forecast.csv\n   \
         lithe recommend train --interactions events.csv --out recs.lithe\n   \
         lithe recommend query --model recs.lithe --user 42 --k 10 --exclude-seen\n   \
         lithe --help"
    );
    let _ = g;
    emit(&out)
}
