//! XGBoost JSON and UBJSON models (`save_model("m.json" | "m.ubj")`, XGBoost 2.x/3.x;
//! `doc/model.schema`).
//!
//! Facts from XGBoost's source (`src/predictor/predict_fn.h`, `src/common/categorical.h`,
//! `src/common/math.h`, `src/objective/regression_loss.h`): inputs are f32; a missing
//! value takes the node's default child; a numeric split goes left when
//! `x < split_condition`; a categorical split goes **right** when the (truncated)
//! category is in the node's list, left otherwise, and left for an invalid code
//! (negative, or past the list). Leaves hold their value in `split_conditions`. The
//! margin starts at `base_score` taken to the margin scale (logit for logistic
//! objectives, log for Poisson, Gamma, Tweedie) and each tree's leaf is added in f32.
//! `base_score` is text: a number, or a list such as `[5E-1]` in 3.x.

use std::collections::HashMap;

use serde_json::Value;

use lithe_core::Result;
use lithe_core::describe::Task;

use super::model::{CAT, CAT_INVERT, ImportedModel, Link, NAN_LEFT, Source};
use super::{Builder, ImportOptions, Raw, bad, check_names, class_labels};
use crate::data::{Feature, FeatureKind};

/// XGBoost's JSON or UBJSON, told apart by what follows the opening `{`: JSON has a
/// quoted key (or whitespace), UBJSON a length marker.
fn parse(bytes: &[u8], name: &str) -> Result<Value> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    let not_model = || {
        bad(
            name,
            "not an XGBoost model (neither JSON nor UBJSON object)",
        )
    };
    let start = start.ok_or_else(not_model)?;
    if bytes[start] != b'{' {
        return Err(not_model());
    }
    let next = bytes[start + 1..]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied();
    let json = start > 0
        || matches!(next, Some(b'"') | Some(b'}') | None)
        || bytes
            .get(start + 1)
            .is_some_and(|b| b.is_ascii_whitespace());
    if json {
        serde_json::from_slice(bytes).map_err(|e| bad(name, format!("not valid JSON: {e}")))
    } else {
        super::ubjson::parse(bytes).map_err(|e| bad(name, format!("not valid UBJSON: {e}")))
    }
}

/// Follow `path` through objects.
fn at<'v>(v: &'v Value, path: &[&str], name: &str) -> Result<&'v Value> {
    let mut cur = v;
    for (i, k) in path.iter().enumerate() {
        cur = cur.get(k).ok_or_else(|| {
            bad(
                name,
                format!(
                    "not an XGBoost model: '{}' is missing",
                    path[..=i].join(".")
                ),
            )
        })?;
    }
    Ok(cur)
}

/// A number that XGBoost may store as text.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

fn count(v: &Value, what: &str, name: &str) -> Result<usize> {
    number(v)
        .filter(|x| *x >= 0.0 && x.fract() == 0.0 && *x < 1e9)
        .map(|x| x as usize)
        .ok_or_else(|| bad(name, format!("{what} is not a valid count: {v}")))
}

/// `base_score`: `"5E-1"`, `"[5E-1]"` or `"[a,b,c]"`, as f32 values.
fn base_scores(v: &Value, name: &str) -> Result<Vec<f32>> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => a
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    };
    let inner = text.trim().trim_start_matches('[').trim_end_matches(']');
    let vals: Option<Vec<f32>> = inner
        .split(',')
        .map(|x| x.trim().parse::<f32>().ok().filter(|v| v.is_finite()))
        .collect();
    vals.filter(|v| !v.is_empty()).ok_or_else(|| {
        bad(
            name,
            format!("base_score is not a number or list of numbers: {v}"),
        )
    })
}

/// How `base_score` becomes a margin.
#[derive(Clone, Copy)]
enum Margin {
    Identity,
    Logit,
    Log,
}

fn objective(obj: &str, name: &str) -> Result<(Task, Link, Margin)> {
    Ok(match obj {
        "binary:logistic" => (Task::Binary, Link::Sigmoid32, Margin::Logit),
        // The margin is what XGBoost predicts; lithe's prediction is its sigmoid.
        "binary:logitraw" => (Task::Binary, Link::Sigmoid32, Margin::Identity),
        "reg:logistic" => (Task::Regression, Link::Sigmoid32, Margin::Logit),
        "reg:squarederror" | "reg:linear" | "reg:absoluteerror" => {
            (Task::Regression, Link::Identity, Margin::Identity)
        }
        "count:poisson" | "reg:gamma" | "reg:tweedie" => {
            (Task::Regression, Link::Exp32, Margin::Log)
        }
        "multi:softprob" | "multi:softmax" => (Task::Multiclass, Link::Softmax32, Margin::Identity),
        other => {
            return Err(bad(
                name,
                format!(
                    "the objective '{other}' is not supported (lithe imports binary:logistic, binary:logitraw, reg:logistic, reg:squarederror, reg:absoluteerror, count:poisson, reg:gamma, reg:tweedie, multi:softprob and multi:softmax)"
                ),
            ));
        }
    })
}

fn margin(b: f32, how: Margin, name: &str) -> Result<f64> {
    Ok(match how {
        Margin::Identity => b as f64,
        Margin::Logit => {
            if !(b > 0.0 && b < 1.0) {
                return Err(bad(name, format!("base_score {b} is not a probability")));
            }
            let b = b.clamp(1e-6f32, 1.0f32 - 1e-6f32);
            (-(1.0f32 / b - 1.0f32).ln()) as f64
        }
        Margin::Log => {
            if b <= 0.0 {
                return Err(bad(name, format!("base_score {b} is not positive")));
            }
            b.ln() as f64
        }
    })
}

/// Category names per feature from the 3.x `cats` record (pandas / Arrow training).
fn category_names(cats: Option<&Value>, nf: usize) -> Vec<Option<Vec<String>>> {
    let mut out = vec![None; nf];
    let Some(enc) = cats.and_then(|c| c.get("enc")).and_then(Value::as_array) else {
        return out;
    };
    for (f, e) in enc.iter().enumerate().take(nf) {
        let Some(values) = e.get("values").and_then(Value::as_array) else {
            continue;
        };
        if values.is_empty() {
            continue;
        }
        let names: Option<Vec<String>> = match e.get("offsets").and_then(Value::as_array) {
            // Text: UTF-8 bytes cut at the offsets.
            Some(offsets) => {
                let bytes: Option<Vec<u8>> = values
                    .iter()
                    .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                    .collect();
                let offs: Option<Vec<usize>> = offsets
                    .iter()
                    .map(|o| o.as_u64().map(|o| o as usize))
                    .collect();
                bytes.zip(offs).and_then(|(bytes, offs)| {
                    offs.windows(2)
                        .map(|w| {
                            bytes
                                .get(w[0]..w[1])
                                .and_then(|s| std::str::from_utf8(s).ok())
                                .map(String::from)
                        })
                        .collect()
                })
            }
            None => Some(values.iter().map(|v| v.to_string()).collect()),
        };
        out[f] = names;
    }
    out
}

pub(super) fn import(bytes: &[u8], name: &str, opts: &ImportOptions) -> Result<ImportedModel> {
    let root = parse(bytes, name)?;
    let learner = at(&root, &["learner"], name)?;
    let gb = at(learner, &["gradient_booster"], name)?;
    let booster = at(gb, &["name"], name)?.as_str().unwrap_or("");
    let model = match booster {
        "gbtree" => at(gb, &["model"], name)?,
        "dart" => {
            let w = at(gb, &["weight_drop"], name)?
                .as_array()
                .ok_or_else(|| bad(name, "weight_drop is not a list"))?;
            if w.iter().any(|x| number(x) != Some(1.0)) {
                return Err(bad(
                    name,
                    "a DART model whose tree weights (weight_drop) are not all 1: lithe does not import DART weights",
                ));
            }
            at(gb, &["gbtree", "model"], name)?
        }
        "gblinear" => {
            return Err(bad(
                name,
                "a gblinear (linear booster) model: lithe imports tree models only",
            ));
        }
        other => return Err(bad(name, format!("unknown booster '{other}'"))),
    };
    let obj = at(learner, &["objective", "name"], name)?
        .as_str()
        .unwrap_or("");
    let (task, link, how) = objective(obj, name)?;
    let mp = at(learner, &["learner_model_param"], name)?;
    let nf = count(at(mp, &["num_feature"], name)?, "num_feature", name)?;
    if nf > super::model::MAX_FEATURES {
        return Err(bad(
            name,
            format!("num_feature {nf} is more than lithe takes"),
        ));
    }
    if let Some(t) = mp.get("num_target")
        && count(t, "num_target", name)? > 1
    {
        return Err(bad(name, "a multi-target model: lithe imports one target"));
    }
    let num_class = mp
        .get("num_class")
        .map(|v| count(v, "num_class", name))
        .transpose()?
        .unwrap_or(0);
    let k = match task {
        Task::Multiclass if num_class >= 2 => num_class,
        Task::Multiclass => {
            return Err(bad(
                name,
                format!("a multiclass model with num_class {num_class}"),
            ));
        }
        _ => 1,
    };
    let bases = base_scores(at(mp, &["base_score"], name)?, name)?;
    let base: Vec<f64> = match bases.len() {
        1 => vec![margin(bases[0], how, name)?; k],
        n if n == k => bases
            .iter()
            .map(|&b| margin(b, how, name))
            .collect::<Result<_>>()?,
        n => return Err(bad(name, format!("{n} base scores for {k} outputs"))),
    };

    let names: Vec<String> = match learner.get("feature_names").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_string())
            .collect(),
        _ => (0..nf).map(|i| format!("f{i}")).collect(),
    };
    check_names(&names, nf, name)?;
    let mut is_cat: Vec<bool> = match learner.get("feature_types").and_then(Value::as_array) {
        Some(a) if a.len() == nf => a.iter().map(|t| t.as_str() == Some("c")).collect(),
        _ => vec![false; nf],
    };

    let trees = at(model, &["trees"], name)?
        .as_array()
        .ok_or_else(|| bad(name, "trees is not a list"))?;
    let info = at(model, &["tree_info"], name)?
        .as_array()
        .ok_or_else(|| bad(name, "tree_info is not a list"))?;
    if info.len() != trees.len() {
        return Err(bad(
            name,
            format!("{} trees but {} tree_info entries", trees.len(), info.len()),
        ));
    }
    if trees.is_empty() {
        return Err(bad(name, "the model has no trees"));
    }
    let mut b = Builder::new(name, nf);
    b.allow_unreachable = true;
    let mut groups = Vec::with_capacity(trees.len());
    for (t, (tree, g)) in trees.iter().zip(info).enumerate() {
        let g = count(g, "tree_info", name)?;
        if g >= k {
            return Err(bad(name, format!("tree {t} belongs to class {g} of {k}")));
        }
        let raw = tree_nodes(name, t, tree, nf, &mut is_cat)?;
        b.add_tree(t, &raw, 0)?;
        groups.push(g as u32);
    }
    let mut cat_names = category_names(model.get("cats"), nf);
    let features = names
        .into_iter()
        .enumerate()
        .map(|(f, n)| Feature {
            name: n,
            kind: match cat_names.get_mut(f).and_then(Option::take) {
                Some(categories) if is_cat[f] => FeatureKind::Categorical { categories },
                _ => FeatureKind::Numeric { upper: Vec::new() },
            },
        })
        .collect();
    Ok(ImportedModel {
        source: Source::XgBoost,
        objective: obj.to_string(),
        target: opts.target.clone(),
        task,
        classes: class_labels(name, task, k, &opts.classes)?,
        features,
        codes: is_cat,
        link,
        average: None,
        base,
        roots: b.roots,
        groups,
        nodes: b.nodes,
        sets: b.sets,
        words: b.words,
        gains: b.gains,
    })
}

/// A list of numbers from a tree.
fn nums(tree: &Value, key: &str, n: usize, tn: &str, required: bool) -> Result<Option<Vec<f64>>> {
    let Some(a) = tree.get(key) else {
        return if required {
            Err(bad(tn, format!("{key} is missing")))
        } else {
            Ok(None)
        };
    };
    let a = a
        .as_array()
        .ok_or_else(|| bad(tn, format!("{key} is not a list")))?;
    if n != usize::MAX && a.len() != n {
        return Err(bad(
            tn,
            format!("{key} has {} values for {n} nodes", a.len()),
        ));
    }
    a.iter()
        .map(|v| number(v).ok_or_else(|| bad(tn, format!("{key} holds '{v}', not a number"))))
        .collect::<Result<Vec<f64>>>()
        .map(Some)
}

fn tree_nodes(
    name: &str,
    t: usize,
    tree: &Value,
    nf: usize,
    is_cat: &mut [bool],
) -> Result<Vec<Raw>> {
    let tname = format!("{name}: tree {t}");
    let tn = tname.as_str();
    if let Some(s) = tree
        .get("tree_param")
        .and_then(|p| p.get("size_leaf_vector"))
        && count(s, "size_leaf_vector", tn)? > 1
    {
        return Err(bad(
            tn,
            "a multi-target tree (vector leaves): lithe imports one target",
        ));
    }
    let left = nums(tree, "left_children", usize::MAX, tn, true)?.unwrap_or_default();
    let n = left.len();
    if n == 0 {
        return Err(bad(tn, "the tree has no nodes"));
    }
    let right = nums(tree, "right_children", n, tn, true)?.unwrap_or_default();
    let feature = nums(tree, "split_indices", n, tn, true)?.unwrap_or_default();
    let cond = nums(tree, "split_conditions", n, tn, true)?.unwrap_or_default();
    let default_left = nums(tree, "default_left", n, tn, true)?.unwrap_or_default();
    let split_type = nums(tree, "split_type", n, tn, false)?.unwrap_or_else(|| vec![0.0; n]);
    let gain = nums(tree, "loss_changes", n, tn, false)?.unwrap_or_else(|| vec![0.0; n]);
    // Categorical nodes: node id -> its categories.
    let mut cats: HashMap<usize, Vec<u32>> = HashMap::new();
    if split_type.contains(&1.0) {
        let all = nums(tree, "categories", usize::MAX, tn, true)?.unwrap_or_default();
        let nodes = nums(tree, "categories_nodes", usize::MAX, tn, true)?.unwrap_or_default();
        let segs = nums(tree, "categories_segments", nodes.len(), tn, true)?.unwrap_or_default();
        let sizes = nums(tree, "categories_sizes", nodes.len(), tn, true)?.unwrap_or_default();
        for ((&nd, &s), &z) in nodes.iter().zip(&segs).zip(&sizes) {
            let (s, z) = (s as usize, z as usize);
            let list = all
                .get(s..s.saturating_add(z))
                .ok_or_else(|| bad(tn, "categories_segments point outside categories"))?;
            let mut words: Vec<u32> = Vec::new();
            for &c in list {
                if !(c >= 0.0 && c.fract() == 0.0 && c < (1u32 << 24) as f64) {
                    return Err(bad(tn, format!("category {c} is not a valid code")));
                }
                let c = c as usize;
                if words.len() <= c / 32 {
                    words.resize(c / 32 + 1, 0);
                }
                words[c / 32] |= 1 << (c % 32);
            }
            cats.insert(nd as usize, words);
        }
    }
    let idx = |v: f64| -> Option<usize> {
        (v >= 0.0 && v.fract() == 0.0 && v < n as f64).then_some(v as usize)
    };
    let mut raw = Vec::with_capacity(n);
    for i in 0..n {
        if left[i] == -1.0 {
            let v = cond[i] as f32;
            if !v.is_finite() {
                return Err(bad(tn, format!("leaf {i} has the value {v}")));
            }
            raw.push(Raw::Leaf(v as f64));
            continue;
        }
        let (Some(l), Some(r)) = (idx(left[i]), idx(right[i])) else {
            return Err(bad(
                tn,
                format!(
                    "node {i} has a child out of range ({}, {})",
                    left[i], right[i]
                ),
            ));
        };
        let f = idx_feature(feature[i], nf).ok_or_else(|| {
            bad(
                tn,
                format!("node {i} splits on feature {} of {nf}", feature[i]),
            )
        })?;
        let mut flags = if default_left[i] != 0.0 { NAN_LEFT } else { 0 };
        let (value, set) = if split_type[i] == 1.0 {
            is_cat[f] = true;
            flags |= CAT | CAT_INVERT;
            let words = cats
                .remove(&i)
                .ok_or_else(|| bad(tn, format!("categorical node {i} has no categories")))?;
            (0.0, Some(words))
        } else if split_type[i] == 0.0 {
            let c = cond[i] as f32;
            if c.is_nan() {
                return Err(bad(tn, format!("node {i} has a NaN threshold")));
            }
            // `x < c` on f32 values is `x <= next_down(c)` on their exact doubles;
            // nothing is below -inf (and `x <= NaN` is never true).
            let v = if c == f32::NEG_INFINITY {
                f64::NAN
            } else {
                (c as f64).next_down()
            };
            (v, None)
        } else {
            return Err(bad(
                tn,
                format!("node {i} has an unknown split type {}", split_type[i]),
            ));
        };
        raw.push(Raw::Split {
            feature: f as u32,
            value,
            flags,
            set,
            left: l,
            right: r,
            gain: if gain[i].is_finite() { gain[i] } else { 0.0 },
        });
    }
    Ok(raw)
}

fn idx_feature(v: f64, nf: usize) -> Option<usize> {
    (v >= 0.0 && v.fract() == 0.0 && v < nf as f64).then_some(v as usize)
}
