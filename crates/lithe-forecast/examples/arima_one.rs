//! Time AutoARIMA's search on series of a long-format CSV (unique_id, ds, y):
//! prints each series' selected order, AICc and seconds.
//!
//!     cargo run --release -p lithe-forecast --example arima_one -- FILE.csv SEASON [ID…]
//!
//! `SF=1` uses StatsForecast's likelihood (otherwise R's), `STEPWISE=1` the plain
//! stepwise neighbourhood (otherwise the cross moves as well). `FIT="p,d,q,P,D,Q,c;…"`
//! also fits the given orders (c = 1 with the constant) and prints their AICc.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::time::Instant;

use lithe_forecast::arima::Order;
use lithe_forecast::models::auto_arima::{Likelihood, Steps, fit, search};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (path, m) = (&args[1], args[2].parse::<usize>().expect("season"));
    let want: Vec<&String> = args[3..].iter().collect();
    let file = std::fs::File::open(path).expect("open");
    let mut series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for line in std::io::BufReader::new(file).lines().skip(1) {
        let line = line.expect("line");
        let mut it = line.split(',');
        let (id, _, y) = (it.next().unwrap(), it.next(), it.next().unwrap());
        if want.is_empty() || want.iter().any(|w| *w == id) {
            series
                .entry(id.to_string())
                .or_default()
                .push(y.parse().expect("y"));
        }
    }
    let mut total = 0.0;
    for (id, y) in &series {
        let t0 = Instant::now();
        let how = if std::env::var("SF").is_ok() {
            Likelihood::AsStatsForecast
        } else {
            Likelihood::Fresh
        };
        let steps = if std::env::var("STEPWISE").is_ok() {
            Steps::Stepwise
        } else {
            Steps::Cross
        };
        // FIT="p,d,q,P,D,Q,c;…": also fit these orders (c = 1 for the constant).
        if let Ok(spec) = std::env::var("FIT") {
            for o in spec.split(';').filter(|o| !o.is_empty()) {
                let v: Vec<usize> = o
                    .split(',')
                    .map(|t| t.trim().parse().expect("FIT"))
                    .collect();
                let order = Order {
                    p: v[0],
                    d: v[1],
                    q: v[2],
                    sp: v[3],
                    sd: v[4],
                    sq: v[5],
                    m,
                };
                match fit(y, order, v[6] == 1, how, &[]) {
                    Some(f) => println!("{id} fit {o}: aicc={:.4} coef={:.4?}", f.aicc, f.coef),
                    None => println!("{id} fit {o}: failed"),
                }
            }
        }
        let r = search(y, m, how, steps, &[]);
        let s = t0.elapsed().as_secs_f64();
        total += s;
        match r {
            Ok(f) => println!(
                "{id} n={} {:?} const={} aicc={:.4} {s:.3}s",
                y.len(),
                f.order,
                f.constant,
                f.aicc
            ),
            Err(e) => println!("{id} n={} failed {e:?} {s:.3}s", y.len()),
        }
    }
    println!("total {total:.3}s over {} series", series.len());
}
