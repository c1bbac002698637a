//! LightGBM text models (`save_model` / `model_to_string`, format v3/v4).
//!
//! Facts from LightGBM's `include/LightGBM/tree.h` and `src/io/tree.cpp`:
//! `decision_type` bit 0 is categorical, bit 1 default-left, bits 2–3 the missing type
//! (0 None, 1 Zero, 2 NaN). A numeric split goes left when `x <= threshold` on
//! doubles; under None and Zero a `NaN` is first made 0; under Zero a value within
//! `kZeroThreshold` of 0 takes the default direction, under NaN a `NaN` does. A
//! categorical split sends `NaN` and negative values right, else truncates to an int
//! and goes left when that bit of the node's `cat_threshold` words (between
//! `cat_boundaries[t]` and `cat_boundaries[t+1]`, `t` the threshold) is set. A
//! negative child `c` is leaf `!c`. The predictor drops values within
//! `kZeroThreshold` of 0 (they read as 0).

use std::collections::HashMap;
use std::str::FromStr;

use lithe_core::Result;
use lithe_core::describe::Task;

use super::model::{CAT, ImportedModel, Link, NAN_LEFT, Source, ZERO_FLIP};
use super::{Builder, ImportOptions, Raw, bad, check_names, class_labels};
use crate::data::{Feature, FeatureKind};

/// The file's sections: header keys, one key map per tree, the parameters and the
/// pandas categories line.
struct Sections<'a> {
    header: HashMap<&'a str, &'a str>,
    average_output: bool,
    trees: Vec<HashMap<&'a str, &'a str>>,
    params: HashMap<&'a str, &'a str>,
    pandas: Option<&'a str>,
}

fn sections<'a>(text: &'a str, name: &str) -> Result<Sections<'a>> {
    let mut lines = text.lines().map(str::trim_end).peekable();
    while lines.peek().is_some_and(|l| l.is_empty()) {
        lines.next();
    }
    if lines.next() != Some("tree") {
        return Err(bad(
            name,
            "not a LightGBM text model (its first line should be 'tree')",
        ));
    }
    let mut s = Sections {
        header: HashMap::new(),
        average_output: false,
        trees: Vec::new(),
        params: HashMap::new(),
        pandas: None,
    };
    let mut ended = false;
    let mut current: Option<HashMap<&str, &str>> = None;
    for line in lines.by_ref() {
        if line == "end of trees" {
            s.trees.extend(current.take());
            ended = true;
            break;
        }
        if line.starts_with("Tree=") {
            s.trees.extend(current.take());
            current = Some(HashMap::new());
            continue;
        }
        if line.is_empty() {
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or((line, ""));
        match current.as_mut() {
            Some(t) => {
                t.insert(k, v);
            }
            None if line == "average_output" => s.average_output = true,
            None => {
                s.header.insert(k, v);
            }
        }
    }
    if !ended {
        return Err(bad(name, "the file is truncated (no 'end of trees' line)"));
    }
    for line in lines {
        if let Some(p) = line.strip_prefix("pandas_categorical:") {
            s.pandas = Some(p);
        } else if let Some(kv) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']'))
            && let Some((k, v)) = kv.split_once(": ")
        {
            s.params.insert(k, v);
        }
    }
    Ok(s)
}

/// A space-separated list of exactly `n` values.
fn list<T: FromStr>(name: &str, what: &str, s: Option<&&str>, n: usize) -> Result<Vec<T>> {
    let s = s.ok_or_else(|| bad(name, format!("{what} is missing")))?;
    let v: Vec<T> = s
        .split(' ')
        .filter(|x| !x.is_empty())
        .map(|x| {
            x.parse()
                .map_err(|_| bad(name, format!("{what}: '{x}' is not a valid number")))
        })
        .collect::<Result<_>>()?;
    if v.len() != n {
        return Err(bad(
            name,
            format!("{what} has {} values where {n} were expected", v.len()),
        ));
    }
    Ok(v)
}

fn one<T: FromStr>(name: &str, what: &str, s: Option<&&str>) -> Result<T> {
    let s = s.ok_or_else(|| bad(name, format!("{what} is missing")))?;
    s.trim()
        .parse()
        .map_err(|_| bad(name, format!("{what}: '{s}' is not a valid number")))
}

/// The task, output count and link of a LightGBM objective line.
fn objective(name: &str, line: &str) -> Result<(Task, usize, Link)> {
    let mut it = line.split(' ').filter(|x| !x.is_empty());
    let obj = it.next().unwrap_or("");
    let mut kv: HashMap<&str, &str> = HashMap::new();
    let mut sqrt = false;
    for t in it {
        match t.split_once(':') {
            Some((k, v)) => {
                kv.insert(k, v);
            }
            None if t == "sqrt" => sqrt = true,
            None => {}
        }
    }
    let num = |key: &str, default: f64| -> Result<f64> {
        match kv.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| bad(name, format!("objective '{line}': bad {key} '{v}'"))),
        }
    };
    let classes = || -> Result<usize> {
        let k = num("num_class", 0.0)?;
        if k >= 2.0 && k.fract() == 0.0 && k < 1e6 {
            Ok(k as usize)
        } else {
            Err(bad(name, format!("objective '{line}': bad num_class")))
        }
    };
    Ok(match obj {
        "binary" => (
            Task::Binary,
            1,
            Link::Sigmoid {
                scale: num("sigmoid", 1.0)?,
            },
        ),
        "multiclass" | "softmax" => (Task::Multiclass, classes()?, Link::Softmax),
        "multiclassova" | "multiclass_ova" | "ova" | "ovr" => (
            Task::Multiclass,
            classes()?,
            Link::Sigmoid {
                scale: num("sigmoid", 1.0)?,
            },
        ),
        "cross_entropy" | "xentropy" => (Task::Regression, 1, Link::Sigmoid { scale: 1.0 }),
        "cross_entropy_lambda" | "xentlambda" => (Task::Regression, 1, Link::Softplus),
        "regression"
        | "regression_l2"
        | "l2"
        | "mean_squared_error"
        | "mse"
        | "regression_l1"
        | "l1"
        | "mean_absolute_error"
        | "mae"
        | "huber"
        | "fair"
        | "quantile"
        | "mape" => (
            Task::Regression,
            1,
            if sqrt {
                Link::SignedSquare
            } else {
                Link::Identity
            },
        ),
        "poisson" | "gamma" | "tweedie" => (Task::Regression, 1, Link::Exp),
        "lambdarank" | "rank_xendcg" | "xendcg" => {
            return Err(bad(
                name,
                format!(
                    "the ranking objective '{obj}' is not supported (lithe has no ranking task)"
                ),
            ));
        }
        _ => {
            return Err(bad(
                name,
                format!(
                    "unknown objective '{line}': lithe cannot tell how it turns raw scores into predictions"
                ),
            ));
        }
    })
}

/// Category names per feature from `pandas_categorical` (one list per column that was
/// a pandas `category`, in column order). Those columns are some of the categorical
/// features; the lists go to the only subsequence whose codes (`feature_infos`) fit.
fn pandas_names(
    name: &str,
    line: Option<&str>,
    categorical: &[usize],
    max_code: &[Option<i64>],
) -> Result<HashMap<usize, Vec<String>>> {
    let Some(line) = line
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "null")
    else {
        return Ok(HashMap::new());
    };
    let v: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| bad(name, format!("pandas_categorical is not valid JSON: {e}")))?;
    let lists = v
        .as_array()
        .ok_or_else(|| bad(name, "pandas_categorical is not a list"))?;
    let mut names: Vec<Vec<String>> = Vec::with_capacity(lists.len());
    for l in lists {
        let l = l
            .as_array()
            .ok_or_else(|| bad(name, "pandas_categorical holds something other than lists"))?;
        names.push(
            l.iter()
                .map(|c| match c {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        );
    }
    if names.is_empty() {
        return Ok(HashMap::new());
    }
    let lens: Vec<i64> = names.iter().map(|l| l.len() as i64).collect();
    let fits = |f: usize, l: usize| {
        max_code
            .get(f)
            .copied()
            .flatten()
            .is_none_or(|m| m < lens[l])
    };
    // ways[i][j]: assignments of lists j.. to features i.. (capped at 2).
    let (nf, nl) = (categorical.len(), names.len());
    let mut ways = vec![vec![0u8; nl + 1]; nf + 1];
    for row in ways.iter_mut() {
        row[nl] = 1;
    }
    for i in (0..nf).rev() {
        for j in (0..nl).rev() {
            let take = if fits(categorical[i], j) {
                ways[i + 1][j + 1]
            } else {
                0
            };
            ways[i][j] = (take + ways[i + 1][j]).min(2);
        }
    }
    match ways[0][0] {
        0 => Err(bad(
            name,
            format!(
                "pandas_categorical has {nl} lists of categories that do not fit the {nf} categorical features"
            ),
        )),
        1 => {
            let mut out = HashMap::new();
            let (mut i, mut j) = (0, 0);
            while j < nl && i < nf {
                if fits(categorical[i], j) && ways[i + 1][j + 1] >= 1 {
                    out.insert(categorical[i], std::mem::take(&mut names[j]));
                    j += 1;
                }
                i += 1;
            }
            Ok(out)
        }
        _ => Err(bad(
            name,
            format!(
                "cannot tell which of the {nf} categorical features the {nl} lists of pandas_categorical belong to"
            ),
        )),
    }
}

pub(super) fn import(bytes: &[u8], name: &str, opts: &ImportOptions) -> Result<ImportedModel> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| bad(name, "not a LightGBM text model (not UTF-8 text)"))?;
    let s = sections(text, name)?;
    let h = &s.header;
    let obj_line = h.get("objective").copied().ok_or_else(|| {
        bad(name, "the model names no objective (a custom objective?): lithe cannot tell how to turn its raw scores into predictions")
    })?;
    let (task, k, link) = objective(name, obj_line)?;
    let per_iter: usize = one(
        name,
        "num_tree_per_iteration",
        h.get("num_tree_per_iteration"),
    )?;
    if per_iter != k {
        return Err(bad(
            name,
            format!("{per_iter} trees per iteration for an objective with {k} outputs"),
        ));
    }
    let max_idx: i64 = one(name, "max_feature_idx", h.get("max_feature_idx"))?;
    if !(0..super::model::MAX_FEATURES as i64).contains(&max_idx) {
        return Err(bad(
            name,
            format!("max_feature_idx {max_idx} is out of range"),
        ));
    }
    let nf = max_idx as usize + 1;
    let names: Vec<String> = match h.get("feature_names") {
        Some(v) => v
            .split(' ')
            .filter(|x| !x.is_empty())
            .map(String::from)
            .collect(),
        None => (0..nf).map(|i| format!("Column_{i}")).collect(),
    };
    check_names(&names, nf, name)?;
    // Categorical features: by feature_infos (a list of codes), the
    // categorical_feature parameter, and the categorical splits.
    let infos: Vec<&str> = h
        .get("feature_infos")
        .map(|v| v.split(' ').filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    let mut is_cat = vec![false; nf];
    let mut max_code: Vec<Option<i64>> = vec![None; nf];
    for (f, info) in infos.iter().enumerate().take(nf) {
        if !info.starts_with('[') && *info != "none" {
            is_cat[f] = true;
            max_code[f] = info.split(':').filter_map(|c| c.parse::<i64>().ok()).max();
        }
    }
    if let Some(v) = s.params.get("categorical_feature") {
        for c in v.split(',').map(str::trim) {
            if let Ok(i) = c.parse::<usize>()
                && i < nf
            {
                is_cat[i] = true;
            }
        }
    }

    let mut b = Builder::new(name, nf);
    let mut groups = Vec::with_capacity(s.trees.len());
    for (t, tree) in s.trees.iter().enumerate() {
        let raw = tree_nodes(name, t, tree, nf, &mut is_cat)?;
        b.add_tree(t, &raw.0, raw.1)?;
        groups.push((t % k) as u32);
    }
    if s.trees.is_empty() {
        return Err(bad(name, "the model has no trees"));
    }
    if s.trees.len() % k != 0 {
        return Err(bad(
            name,
            format!(
                "{} trees is not a whole number of iterations of {k}",
                s.trees.len()
            ),
        ));
    }
    let categorical: Vec<usize> = (0..nf).filter(|&f| is_cat[f]).collect();
    let mut cat_names = pandas_names(name, s.pandas, &categorical, &max_code)?;
    let features = names
        .into_iter()
        .enumerate()
        .map(|(f, n)| Feature {
            name: n,
            kind: match cat_names.remove(&f) {
                Some(categories) => FeatureKind::Categorical { categories },
                None => FeatureKind::Numeric { upper: Vec::new() },
            },
        })
        .collect();
    let average = s.average_output.then(|| (s.trees.len() / k) as f64);
    Ok(ImportedModel {
        source: Source::LightGbm,
        objective: obj_line.to_string(),
        target: opts.target.clone(),
        task,
        classes: class_labels(name, task, k, &opts.classes)?,
        features,
        codes: is_cat,
        link,
        average,
        base: vec![0.0; k],
        roots: b.roots,
        groups,
        nodes: b.nodes,
        sets: b.sets,
        words: b.words,
        gains: b.gains,
    })
}

/// One tree's nodes (internal nodes first, then leaves) and its root.
fn tree_nodes(
    name: &str,
    t: usize,
    tree: &HashMap<&str, &str>,
    nf: usize,
    is_cat: &mut [bool],
) -> Result<(Vec<Raw>, usize)> {
    let tname = format!("{name}: tree {t}");
    let tn = tname.as_str();
    if tree.get("is_linear").is_some_and(|v| v.trim() != "0") {
        return Err(bad(
            name,
            format!(
                "tree {t} is a linear tree (linear_tree=true); lithe cannot import linear trees"
            ),
        ));
    }
    let leaves: usize = one(tn, "num_leaves", tree.get("num_leaves"))?;
    if leaves == 0 || leaves > 1 << 24 {
        return Err(bad(tn, format!("num_leaves {leaves} is out of range")));
    }
    let leaf_value: Vec<f64> = list(tn, "leaf_value", tree.get("leaf_value"), leaves)?;
    if let Some(v) = leaf_value.iter().find(|v| !v.is_finite()) {
        return Err(bad(tn, format!("leaf value {v} is not a finite number")));
    }
    if leaves == 1 {
        return Ok((vec![Raw::Leaf(leaf_value[0])], 0));
    }
    let ni = leaves - 1;
    let feature: Vec<u32> = list(tn, "split_feature", tree.get("split_feature"), ni)?;
    let threshold: Vec<f64> = list(tn, "threshold", tree.get("threshold"), ni)?;
    let decision: Vec<i8> = match tree.get("decision_type") {
        Some(_) => list(tn, "decision_type", tree.get("decision_type"), ni)?,
        None => vec![0; ni],
    };
    let left: Vec<i64> = list(tn, "left_child", tree.get("left_child"), ni)?;
    let right: Vec<i64> = list(tn, "right_child", tree.get("right_child"), ni)?;
    let gain: Vec<f64> = match tree.get("split_gain") {
        Some(_) => list(tn, "split_gain", tree.get("split_gain"), ni)?,
        None => vec![0.0; ni],
    };
    let num_cat: usize = one(tn, "num_cat", tree.get("num_cat"))?;
    let (bounds, words): (Vec<usize>, Vec<u32>) = if num_cat > 0 {
        if num_cat > ni {
            return Err(bad(tn, format!("num_cat {num_cat} exceeds the splits")));
        }
        let bounds: Vec<usize> = list(
            tn,
            "cat_boundaries",
            tree.get("cat_boundaries"),
            num_cat + 1,
        )?;
        if bounds.first() != Some(&0) || bounds.windows(2).any(|w| w[0] > w[1]) {
            return Err(bad(tn, "cat_boundaries are not increasing from 0"));
        }
        let n_words = bounds.last().copied().unwrap_or(0);
        let words: Vec<u32> = list(tn, "cat_threshold", tree.get("cat_threshold"), n_words)?;
        (bounds, words)
    } else {
        (vec![0], Vec::new())
    };
    // Internal node i is raw i; leaf j is raw ni + j.
    let child = |c: i64| -> Result<usize> {
        if c >= 0 {
            let c = c as usize;
            if c < ni {
                return Ok(c);
            }
        } else {
            let l = (!c) as usize;
            if l < leaves {
                return Ok(ni + l);
            }
        }
        Err(bad(tn, format!("child {c} is out of range")))
    };
    let mut raw = Vec::with_capacity(ni + leaves);
    for i in 0..ni {
        let f = feature[i] as usize;
        if f >= nf {
            return Err(bad(
                tn,
                format!("split feature {f} is out of range ({nf} features)"),
            ));
        }
        let d = decision[i];
        let default_left = d & 2 != 0;
        let (value, flags, set) = if d & 1 != 0 {
            is_cat[f] = true;
            let c = threshold[i];
            if !(c >= 0.0 && c.fract() == 0.0 && (c as usize) < num_cat) {
                return Err(bad(
                    tn,
                    format!("categorical split {i} names set {c}, which does not exist"),
                ));
            }
            let c = c as usize;
            let (a, z) = (bounds[c], bounds[c + 1]);
            (0.0, CAT, Some(words[a..z].to_vec()))
        } else {
            let t = threshold[i];
            if t.is_nan() {
                return Err(bad(tn, format!("split {i} has a NaN threshold")));
            }
            let zero_left = 0.0 <= t;
            let (nan_left, zero) = match (d >> 2) & 3 {
                // None: NaN is 0.
                0 => (zero_left, zero_left),
                // Zero: NaN is 0, and 0 takes the default direction.
                1 => (default_left, default_left),
                // NaN: NaN takes the default direction.
                2 => (default_left, zero_left),
                m => {
                    return Err(bad(
                        tn,
                        format!("split {i} has an unknown missing type {m}"),
                    ));
                }
            };
            let mut flags = 0;
            if nan_left {
                flags |= NAN_LEFT;
            }
            if zero != zero_left {
                flags |= ZERO_FLIP;
            }
            (t, flags, None)
        };
        raw.push(Raw::Split {
            feature: f as u32,
            value,
            flags,
            set,
            left: child(left[i])?,
            right: child(right[i])?,
            gain: if gain[i].is_finite() { gain[i] } else { 0.0 },
        });
    }
    raw.extend(leaf_value.iter().map(|&v| Raw::Leaf(v)));
    Ok((raw, 0))
}

#[cfg(test)]
mod tests {
    use super::super::model::K_ZERO;
    use super::*;

    #[test]
    fn zero_threshold_is_lightgbm_s_float_constant() {
        assert_eq!(K_ZERO, 1.0000000180025095e-35);
    }

    #[test]
    fn objectives_map_to_links() {
        let (t, k, l) = objective("m", "binary sigmoid:0.7").unwrap();
        assert_eq!((t, k, l), (Task::Binary, 1, Link::Sigmoid { scale: 0.7 }));
        let (t, k, l) = objective("m", "multiclassova num_class:3 sigmoid:1").unwrap();
        assert_eq!(
            (t, k, l),
            (Task::Multiclass, 3, Link::Sigmoid { scale: 1.0 })
        );
        assert_eq!(
            objective("m", "regression sqrt").unwrap().2,
            Link::SignedSquare
        );
        assert_eq!(
            objective("m", "tweedie tweedie_variance_power:1.5")
                .unwrap()
                .2,
            Link::Exp
        );
        let e = objective("m", "lambdarank").unwrap_err().to_string();
        assert!(e.contains("ranking"), "{e}");
        let e = objective("m", "custom_thing").unwrap_err().to_string();
        assert!(e.contains("unknown objective 'custom_thing'"), "{e}");
    }

    #[test]
    fn pandas_lists_go_to_the_features_their_codes_fit() {
        let line = Some(r#"[["a","b"]]"#);
        // Feature 3 has codes up to 5, so the two names belong to feature 1.
        let m = pandas_names("m", line, &[1, 3], &[None, Some(1), None, Some(5)]).unwrap();
        assert_eq!(m.get(&1).map(Vec::len), Some(2));
        assert!(!m.contains_key(&3));
        // Both fit: ambiguous.
        let e = pandas_names("m", line, &[1, 3], &[None, Some(1), None, Some(0)]).unwrap_err();
        assert!(e.to_string().contains("cannot tell"), "{e}");
    }
}
