//! `lithe recommend` end to end: train, query, eval, and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lithe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lithe"))
        .args(args)
        .output()
        .expect("run lithe")
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn assert_bad_input(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Users in four groups; a user of group `g` interacts with items `g*10 .. g*10+9`
/// (item ids are strings "it<N>"), each user with 6 of its group's 10 items. Item
/// `it0` is the most popular overall. Returns the file and each user's items.
fn write_interactions(dir: &Path) -> (PathBuf, Vec<Vec<usize>>) {
    let mut s = String::from("user_id,item_id,weight\n");
    let mut seen = Vec::new();
    for u in 0..80usize {
        let g = u % 4;
        let mut mine = Vec::new();
        for k in 0..6 {
            let item = g * 10 + (u / 4 + k * 3) % 10;
            mine.push(item);
            s.push_str(&format!("u{u},it{item},1\n"));
        }
        if g != 0 && u % 3 == 0 {
            s.push_str(&format!("u{u},it0,1\n"));
            mine.push(0);
        }
        seen.push(mine);
    }
    let path = dir.join("inter.csv");
    std::fs::write(&path, s).unwrap();
    (path, seen)
}

fn recs(out: &Output) -> Vec<(String, usize, String)> {
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("user_id,rank,item_id,score"));
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[1].parse().unwrap(), f[2].to_string())
        })
        .collect()
}

/// Train on the group data with settings for its size, and `extra` flags.
fn train_small(data: &Path, model: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "recommend",
        "train",
        "--interactions",
        p(data),
        "--out",
        p(model),
        "--dim",
        "16",
        "--epochs",
        "20",
        "--batch",
        "64",
        "--learning-rate",
        "0.02",
        "--l2",
        "0.003",
    ];
    args.extend_from_slice(extra);
    lithe(&args)
}

#[test]
fn train_query_eval() {
    let dir = tempfile::tempdir().unwrap();
    let (data, seen) = write_interactions(dir.path());
    let model = dir.path().join("m.lithe");
    let o = train_small(&data, &model, &["--threads", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["users"], 80);
    assert_eq!(info["items"], 40);

    // A known user gets its own group's items, unseen ones when asked.
    let o = lithe(&[
        "recommend",
        "query",
        "--model",
        p(&model),
        "--user",
        "u5",
        "--k",
        "4",
        "--exclude-seen",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = recs(&o);
    assert_eq!(r.iter().map(|x| x.1).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
    // Most of them from its own group (4 unseen items there, 30 elsewhere).
    let group = 5 % 4;
    let mut own = 0;
    for (_, _, item) in &r {
        let n: usize = item[2..].parse().unwrap();
        assert!(!seen[5].contains(&n), "{item} was seen");
        own += usize::from(n / 10 == group);
    }
    assert!(own >= 3, "{r:?}");
    // Without --exclude-seen the user's own items come back first.
    let o = lithe(&[
        "recommend",
        "query",
        "--model",
        p(&model),
        "--user",
        "u5",
        "--k",
        "3",
    ]);
    let r = recs(&o);
    let n: usize = r[0].2[2..].parse().unwrap();
    assert!(seen[5].contains(&n), "{:?}", r);

    // A file of users, one unknown: it gets the most popular item first, and a note.
    let users = dir.path().join("users.csv");
    std::fs::write(&users, "user_id\nu1\nnobody\n").unwrap();
    let out = dir.path().join("recs.csv");
    let o = lithe(&[
        "recommend",
        "query",
        "--model",
        p(&model),
        "--users",
        p(&users),
        "--k",
        "2",
        "--out",
        p(&out),
    ]);
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("1 of 2 users are not in the model and have no features")
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[3].starts_with("nobody,1,it0,"), "{text}");
    // On stdout too, an id with a comma is quoted, as in the files lithe writes.
    let o = lithe(&[
        "recommend",
        "query",
        "--model",
        p(&model),
        "--user",
        "a,b",
        "--k",
        "1",
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("user_id,rank,item_id,score\n\"a,b\",1,it0,"),
        "{text}"
    );

    // Held-out items of the users' own groups are found: recall well above chance
    // (a random list of 4 of the 34 unseen items finds the one in 12 %).
    let test = dir.path().join("test.csv");
    let mut t = String::from("user_id,item_id\n");
    for (u, mine) in seen.iter().enumerate() {
        let g = u % 4;
        let unseen = (0..10)
            .map(|k| g * 10 + k)
            .find(|i| !mine.contains(i))
            .unwrap();
        t.push_str(&format!("u{u},it{unseen}\n"));
    }
    std::fs::write(&test, t).unwrap();
    let o = lithe(&[
        "recommend",
        "eval",
        "--model",
        p(&model),
        "--test",
        p(&test),
        "--k",
        "4",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(m["recall@4"].as_f64().unwrap() > 0.5, "{m}");
    assert!(m["ndcg@4"].as_f64().unwrap() > 0.3, "{m}");
    assert!(m["coverage"].as_f64().unwrap() > 0.5, "{m}");
    assert_eq!(m["users"], 80);

    // The same seed gives the same model file contents for 1 and 2 threads.
    let model1 = dir.path().join("m1.lithe");
    let o = train_small(&data, &model1, &["--threads", "1"]);
    assert!(o.status.success());
    let q = |m: &Path| {
        lithe(&[
            "recommend",
            "query",
            "--model",
            p(m),
            "--users",
            p(&users),
            "--k",
            "10",
        ])
        .stdout
    };
    assert_eq!(q(&model), q(&model1));
}

#[test]
fn bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = write_interactions(dir.path());
    let model = dir.path().join("m.lithe");
    let train = |file: &Path, extra: &[&str]| {
        let mut args = vec![
            "recommend",
            "train",
            "--interactions",
            p(file),
            "--out",
            p(&model),
        ];
        args.extend_from_slice(extra);
        lithe(&args)
    };
    // Empty interactions, a missing column, a bad weight, bad flags: exit 2, no model.
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "user_id,item_id\n").unwrap();
    assert_bad_input(&train(&empty, &[]), "no rows");
    let nocol = dir.path().join("nocol.csv");
    std::fs::write(&nocol, "user,item_id\na,b\n").unwrap();
    assert_bad_input(&train(&nocol, &[]), "column 'user_id' not found");
    let badw = dir.path().join("badw.csv");
    std::fs::write(&badw, "user_id,item_id,weight\na,b,1\na,c,-2\n").unwrap();
    assert_bad_input(
        &train(&badw, &[]),
        "row 3: 'weight' must be a positive number",
    );
    assert_bad_input(
        &train(&data, &["--dim", "0"]),
        "dim must be between 1 and 4096",
    );
    assert_bad_input(&train(&data, &["--batch", "1"]), "batch must be at least 2");
    assert_bad_input(
        &train(&data, &["--temperature", "0"]),
        "temperature must be a positive number",
    );
    assert!(!model.exists());

    // Unknown model file, a file that is not a model, the wrong kind of model.
    let o = lithe(&[
        "recommend",
        "query",
        "--model",
        "nope.lithe",
        "--user",
        "u1",
    ]);
    assert_bad_input(&o, "no such file");
    let o = lithe(&["recommend", "query", "--model", p(&data), "--user", "u1"]);
    assert_eq!(o.status.code(), Some(2));
    let o = lithe(&[
        "recommend",
        "query",
        "--user",
        "u1",
        "--model",
        p(&data),
        "--k",
        "0",
    ]);
    assert_bad_input(&o, "--k");
    let o = lithe(&["recommend", "query", "--model", p(&data)]);
    assert_bad_input(&o, "give --user ID or --users FILE");

    // A model to query with bad user and test files.
    let o = train(&data, &["--epochs", "1", "--dim", "8"]);
    assert!(o.status.success());
    let bad_users = dir.path().join("bu.csv");
    std::fs::write(&bad_users, "uid\nu1\n").unwrap();
    let out = dir.path().join("r.csv");
    let o = lithe(&[
        "recommend",
        "query",
        "--model",
        p(&model),
        "--users",
        p(&bad_users),
        "--out",
        p(&out),
    ]);
    assert_bad_input(&o, "column 'user_id' not found");
    assert!(!out.exists());
    let o = lithe(&[
        "recommend",
        "eval",
        "--model",
        p(&model),
        "--test",
        p(&empty),
    ]);
    assert_bad_input(&o, "no rows");
}

#[test]
fn features_cold_start_and_added_items() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = write_interactions(dir.path());
    // Users carry their group as a segment, items as a genre.
    let uf = dir.path().join("uf.csv");
    let mut s = String::from("user_id,segment\n");
    for u in 0..80 {
        s.push_str(&format!("u{u},s{}\n", u % 4));
    }
    std::fs::write(&uf, s).unwrap();
    let itf = dir.path().join("if.csv");
    let mut s = String::from("item_id,genre\n");
    for i in 0..40 {
        s.push_str(&format!("it{i},g{}\n", i / 10));
    }
    std::fs::write(&itf, s).unwrap();
    let model = dir.path().join("m.lithe");
    let o = train_small(
        &data,
        &model,
        &["--user-features", p(&uf), "--item-features", p(&itf)],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // A new user with a segment is embedded by the user tower from it: its group's items.
    let users = dir.path().join("new.csv");
    std::fs::write(&users, "user_id,segment\nnewbie,s2\nghost,\n").unwrap();
    let o = lithe(&[
        "recommend",
        "query",
        "--model",
        p(&model),
        "--users",
        p(&users),
        "--k",
        "5",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = recs(&o);
    let newbie: Vec<usize> = r
        .iter()
        .filter(|x| x.0 == "newbie")
        .map(|x| x.2[2..].parse().unwrap())
        .collect();
    assert_eq!(newbie.len(), 5);
    assert!(
        newbie.iter().filter(|&&i| i / 10 == 2).count() >= 3,
        "{newbie:?}"
    );
    // A new user without features gets the popular items, and the note says so.
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 of 2 users are not in the model"));
    assert_eq!(r.iter().find(|x| x.0 == "ghost").unwrap().2, "it0");

    // A new item with a genre joins the index and reaches its group's users.
    let items = dir.path().join("items.csv");
    std::fs::write(&items, "item_id,genre\nfresh,g3\n").unwrap();
    let o = lithe(&[
        "recommend",
        "add-items",
        "--model",
        p(&model),
        "--items",
        p(&items),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (info["added"].as_u64(), info["items"].as_u64()),
        (Some(1), Some(41))
    );
    let mut reached = 0;
    for u in ["u3", "u7", "u11", "u15"] {
        let o = lithe(&[
            "recommend",
            "query",
            "--model",
            p(&model),
            "--user",
            u,
            "--k",
            "10",
            "--exclude-seen",
        ]);
        reached += usize::from(recs(&o).iter().any(|x| x.2 == "fresh"));
    }
    assert!(reached >= 3, "fresh reached {reached} of 4 group-3 users");

    // Adding it again, or a file without the genre column, is an error that leaves
    // the model as it is.
    let before = std::fs::read(&model).unwrap();
    let o = lithe(&[
        "recommend",
        "add-items",
        "--model",
        p(&model),
        "--items",
        p(&items),
    ]);
    assert_bad_input(&o, "item 'fresh' (row 1) is already in the model");
    let bare = dir.path().join("bare.csv");
    std::fs::write(&bare, "item_id\nnew2\n").unwrap();
    let o = lithe(&[
        "recommend",
        "add-items",
        "--model",
        p(&model),
        "--items",
        p(&bare),
    ]);
    assert_bad_input(&o, "'genre' not found");
    assert_eq!(std::fs::read(&model).unwrap(), before);

    // A model trained without item features cannot embed new items.
    let plain = dir.path().join("plain.lithe");
    let o = train_small(&data, &plain, &[]);
    assert!(o.status.success());
    let o = lithe(&[
        "recommend",
        "add-items",
        "--model",
        p(&plain),
        "--items",
        p(&items),
    ]);
    assert_bad_input(&o, "trained without item features");
}

/// The group data of [`write_interactions`] with a timestamp per row (each user's rows in
/// file order, a step apart), and a second file with one more interaction per user.
fn write_timed(dir: &Path) -> (PathBuf, PathBuf) {
    let (plain, _) = write_interactions(dir);
    let text = std::fs::read_to_string(&plain).unwrap();
    let mut s = String::from("user_id,item_id,weight,timestamp\n");
    for (t, line) in text.lines().skip(1).enumerate() {
        s.push_str(&format!("{line},{t}\n"));
    }
    let timed = dir.join("timed.csv");
    std::fs::write(&timed, s).unwrap();
    let mut v = String::from("user_id,item_id,weight,timestamp\n");
    for u in 0..80usize {
        let g = u % 4;
        v.push_str(&format!(
            "u{u},it{},1,{}\n",
            g * 10 + (u / 4 + 20) % 10,
            1000 + u
        ));
    }
    let valid = dir.join("valid.csv");
    std::fs::write(&valid, v).unwrap();
    (timed, valid)
}

fn header(model: &Path) -> serde_json::Value {
    let o = lithe(&["inspect", p(model), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["header"].clone()
}

#[test]
fn self_tuning_and_the_index_check() {
    let dir = tempfile::tempdir().unwrap();
    let (timed, valid) = write_timed(dir.path());
    let model = dir.path().join("m.lithe");
    let base = |extra: &[&str]| {
        let mut args = vec![
            "recommend",
            "train",
            "--interactions",
            p(&timed),
            "--out",
            p(&model),
            "--batch",
            "64",
            "--dim",
            "16",
        ];
        args.extend_from_slice(extra);
        lithe(&args)
    };
    // Defaults: a validation slice of each user's latest interaction, three fits, the
    // recent-items channel on (there are timestamps), the index checked.
    let o = base(&[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["tuning"]["validation"], "latest");
    assert_eq!(info["tuning"]["valid_users"], 80);
    assert_eq!(info["tuning"]["trials"], 3);
    assert_eq!(info["recent"], 10);
    assert_eq!(info["dim"], 16);
    assert!(
        info["index"]["recall@10"].as_f64().unwrap() >= 0.98,
        "{info}"
    );
    // The model file holds every trial with its validation curve, the chosen one, and
    // the index's check; the final fit ran the chosen trial's best epoch count.
    let h = header(&model);
    let t = &h["metrics"]["tuning"];
    let trials = t["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 3);
    let chosen = &trials[t["chosen"].as_u64().unwrap() as usize];
    assert_eq!(info["epochs"], chosen["best_epoch"]);
    assert_eq!(h["params"]["epochs"], chosen["best_epoch"]);
    assert_eq!(h["params"]["temperature"], chosen["temperature"]);
    let best = chosen["recall"][chosen["best_epoch"].as_u64().unwrap() as usize - 1].as_f64();
    assert_eq!(info["tuning"]["valid_recall@10"].as_f64(), best);
    for tr in trials {
        let curve = tr["recall"].as_array().unwrap();
        assert!(!curve.is_empty() && curve.len() <= 40);
        assert!(
            curve
                .iter()
                .all(|r| (0.0..=1.0).contains(&r.as_f64().unwrap()))
        );
        // The given dim is fixed.
        assert_eq!(tr["dim"], 16);
        assert!(
            tr["recall"].as_array().unwrap()[tr["best_epoch"].as_u64().unwrap() as usize - 1]
                .as_f64()
                .unwrap()
                <= best.unwrap()
        );
    }
    let check = &h["metrics"]["index_check"];
    assert_eq!(check["k"], 10);
    assert_eq!(check["queries"], 80);
    assert!(!check["widths"].as_array().unwrap().is_empty());
    // `inspect` shows it in text too.
    let o = lithe(&["inspect", p(&model)]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("tuning") && text.contains("index_check"),
        "{text}"
    );

    // Exact search gives the lists the index gives on this small catalogue.
    let q = |exact: bool| {
        let mut args = vec![
            "recommend",
            "query",
            "--model",
            p(&model),
            "--user",
            "u7",
            "--k",
            "5",
            "--exclude-seen",
        ];
        if exact {
            args.push("--exact");
        }
        recs(&lithe(&args))
    };
    assert_eq!(q(true), q(false));

    // Explicit flags stay fixed; explicit epochs are trained as given, with no early stop.
    let o = base(&["--temperature", "0.2", "--epochs", "4", "--trials", "3"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let h = header(&model);
    let trials = h["metrics"]["tuning"]["trials"].as_array().unwrap().clone();
    assert_eq!(trials.len(), 3);
    for tr in &trials {
        assert_eq!(tr["temperature"], 0.2);
        assert_eq!(tr["recall"].as_array().unwrap().len(), 4);
        assert_eq!(tr["best_epoch"], 4);
    }
    assert_eq!(h["params"]["epochs"], 4);

    // --no-tune: no slice, no search, the default 12 epochs; --recent 0 switches the
    // channel off.
    let o = base(&["--no-tune", "--recent", "0"]);
    assert!(o.status.success());
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(info.get("tuning").is_none());
    assert_eq!(
        (info["epochs"].as_u64(), info["recent"].as_u64()),
        (Some(12), Some(0))
    );
    assert!(header(&model)["metrics"].get("tuning").is_none());

    // A validation file: its users are scored, its items join the final model.
    let o = base(&["--valid", p(&valid), "--trials", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let info: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(info["tuning"]["validation"], "given");
    assert_eq!(info["tuning"]["valid_users"], 80);
    assert_eq!(info["interactions"], 80 * 6 + 20 + 80);
}

#[test]
fn self_tuning_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let (timed, valid) = write_timed(dir.path());
    let (plain, _) = write_interactions(dir.path());
    let model = dir.path().join("m.lithe");
    let train = |file: &Path, extra: &[&str]| {
        let mut args = vec![
            "recommend",
            "train",
            "--interactions",
            p(file),
            "--out",
            p(&model),
        ];
        args.extend_from_slice(extra);
        lithe(&args)
    };
    assert_bad_input(
        &train(&timed, &["--trials", "2", "--no-tune"]),
        "--no-tune and --trials do not go together",
    );
    assert_bad_input(
        &train(&timed, &["--trials", "101"]),
        "trials must be at most 100",
    );
    assert_bad_input(
        &train(&timed, &["--index-target-recall", "1.5"]),
        "index_target_recall must be between 0 and 1",
    );
    assert_bad_input(&train(&timed, &["--index-degree", "1"]), "index_degree");
    assert_bad_input(
        &train(&timed, &["--recent", "5000"]),
        "recent must be at most 1000",
    );
    // A validation file without timestamps beside interactions with them, and one
    // without the id columns.
    assert_bad_input(
        &train(&timed, &["--valid", p(&plain)]),
        "'timestamp' must be in every interaction file or in none",
    );
    let noid = dir.path().join("noid.csv");
    std::fs::write(&noid, "user,item_id,timestamp\nu1,it1,5\n").unwrap();
    assert_bad_input(
        &train(&timed, &["--valid", p(&noid)]),
        "column 'user_id' not found",
    );
    // --valid and --no-tune contradict each other.
    let o = train(&timed, &["--valid", p(&valid), "--no-tune"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!model.exists());
}
