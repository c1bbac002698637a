//! Importing LightGBM text models and XGBoost JSON / UBJSON models as lithe models.
//!
//! `lightgbm` and `xgboost` read the files into per-tree node lists; [`Builder`]
//! lays each tree out again depth-first (refusing cycles, shared nodes and children
//! out of range); `model` holds the result with the source library's exact split
//! rules and output transform; `walk` predicts with it. What cannot be reproduced
//! exactly (linear trees, DART weights, ranking or unknown objectives, multi-target
//! trees, `gblinear`) is refused with a message naming it.

mod keys;
mod lightgbm;
pub mod model;
mod ubjson;
mod walk;
mod xgboost;

use std::path::Path;

use lithe_core::describe::Task;
use lithe_core::{Error, Result};

pub use model::{ImportedModel, K_ZERO, Link, Node, Source};

/// An input error about the model file `name`.
fn bad(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::input(format!("{name}: {msg}"))
}

/// The model file's feature names: one per feature, none empty, none twice.
fn check_names(names: &[String], nf: usize, name: &str) -> Result<()> {
    if names.len() != nf {
        return Err(bad(
            name,
            format!("{} feature names for {nf} features", names.len()),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(d) = names
        .iter()
        .find(|n| n.is_empty() || !seen.insert(n.as_str()))
    {
        return Err(bad(
            name,
            format!("feature name '{d}' is empty or given twice"),
        ));
    }
    Ok(())
}

/// What the model file does not say: the target's name and the class labels.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    /// The target column's name (for `eval`); default `target`.
    pub target: String,
    /// Class labels in the library's class order (binary: negative, positive); default
    /// `0, 1, ...`. Must be absent for regression.
    pub classes: Option<Vec<String>>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            target: "target".into(),
            classes: None,
        }
    }
}

/// Import the model file at `path`.
pub fn import_file(source: Source, path: &Path, opts: &ImportOptions) -> Result<ImportedModel> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| Error::input(format!("{name}: {e}")))?;
    import_bytes(source, &bytes, &name, opts)
}

/// Import a model from its file's bytes; `name` is used in messages.
pub fn import_bytes(
    source: Source,
    bytes: &[u8],
    name: &str,
    opts: &ImportOptions,
) -> Result<ImportedModel> {
    let m = match source {
        Source::LightGbm => lightgbm::import(bytes, name, opts)?,
        Source::XgBoost => xgboost::import(bytes, name, opts)?,
    };
    m.check()
        .map_err(|e| Error::input(format!("{name}: {e}")))?;
    Ok(m)
}

/// The class labels for a task with `k` outputs: the given ones, or `0..k`.
pub(crate) fn class_labels(
    name: &str,
    task: Task,
    k: usize,
    given: &Option<Vec<String>>,
) -> Result<Vec<String>> {
    let n = match task {
        Task::Regression => 0,
        Task::Binary => 2,
        Task::Multiclass => k,
    };
    match given {
        None => Ok((0..n).map(|i| i.to_string()).collect()),
        Some(_) if n == 0 => Err(Error::input(format!(
            "{name}: classes were given but this is a regression model"
        ))),
        Some(c) => {
            if c.len() != n {
                return Err(Error::input(format!(
                    "{name}: {} classes were given but the model has {n}",
                    c.len()
                )));
            }
            let mut seen = std::collections::HashSet::new();
            if let Some(d) = c.iter().find(|x| !seen.insert(x.as_str())) {
                return Err(Error::input(format!("{name}: class '{d}' is given twice")));
            }
            Ok(c.clone())
        }
    }
}

/// A node as a reader produces it; children index the reader's own node list.
pub(crate) enum Raw {
    Leaf(f64),
    Split {
        feature: u32,
        /// The threshold as the predictor compares it (see [`Node`]).
        value: f64,
        /// [`model`]'s flags, without the set index.
        flags: u32,
        /// A categorical split's bitset.
        set: Option<Vec<u32>>,
        left: usize,
        right: usize,
        gain: f64,
    },
}

/// Lays trees out in the flat arrays of [`ImportedModel`].
pub(crate) struct Builder<'a> {
    name: &'a str,
    pub nodes: Vec<Node>,
    pub roots: Vec<u32>,
    pub sets: Vec<[u32; 2]>,
    pub words: Vec<u32>,
    pub gains: Vec<(f64, u32)>,
    /// XGBoost keeps pruned nodes in its arrays, unreachable from the root.
    pub allow_unreachable: bool,
}

impl<'a> Builder<'a> {
    pub fn new(name: &'a str, n_features: usize) -> Self {
        Builder {
            name,
            nodes: Vec::new(),
            roots: Vec::new(),
            sets: Vec::new(),
            words: Vec::new(),
            gains: vec![(0.0, 0); n_features],
            allow_unreachable: false,
        }
    }

    fn err(&self, tree: usize, msg: impl std::fmt::Display) -> Error {
        Error::input(format!("{}: tree {tree}: {msg}", self.name))
    }

    /// Add one tree, walking it depth first from `root` (left child right after its
    /// parent). Every node must be reached exactly once from the root.
    pub fn add_tree(&mut self, tree: usize, raw: &[Raw], root: usize) -> Result<()> {
        if self.nodes.len() >= u32::MAX as usize / 2 {
            return Err(self.err(tree, "too many nodes"));
        }
        self.roots.push(self.nodes.len() as u32);
        let mut seen = vec![false; raw.len()];
        // (raw index, the parent's slot to point at it: (node, is_left)).
        let mut stack: Vec<(usize, Option<(usize, bool)>)> = vec![(root, None)];
        while let Some((i, parent)) = stack.pop() {
            let r = raw
                .get(i)
                .ok_or_else(|| self.err(tree, format!("node {i} is out of range")))?;
            if std::mem::replace(&mut seen[i], true) {
                return Err(self.err(
                    tree,
                    format!("node {i} is reached twice (a cycle or a shared child)"),
                ));
            }
            let at = self.nodes.len();
            if at >= u32::MAX as usize / 2 {
                return Err(self.err(tree, "too many nodes"));
            }
            if let Some((p, is_left)) = parent
                && let Some(pn) = self.nodes.get_mut(p)
            {
                if is_left {
                    pn.left = at as u32;
                } else {
                    pn.right = at as u32;
                }
            }
            match r {
                Raw::Leaf(v) => self.nodes.push(Node::leaf(at as u32, *v)),
                Raw::Split {
                    feature,
                    value,
                    flags,
                    set,
                    left,
                    right,
                    gain,
                } => {
                    let mut flags = *flags;
                    if let Some(bits) = set {
                        let s = self.sets.len();
                        if s >= (1 << (32 - model::SET_SHIFT)) {
                            return Err(self.err(tree, "too many categorical splits"));
                        }
                        let a = self.words.len() as u32;
                        self.words.extend_from_slice(bits);
                        self.sets.push([a, self.words.len() as u32]);
                        flags |= (s as u32) << model::SET_SHIFT;
                    }
                    if let Some(g) = self.gains.get_mut(*feature as usize) {
                        g.0 += gain;
                        g.1 += 1;
                    }
                    self.nodes.push(Node {
                        value: *value,
                        feature: *feature,
                        flags,
                        left: 0,
                        right: 0,
                    });
                    stack.push((*right, Some((at, false))));
                    stack.push((*left, Some((at, true))));
                }
            }
        }
        if let Some(i) = seen.iter().position(|s| !s)
            && !self.allow_unreachable
        {
            return Err(self.err(tree, format!("node {i} cannot be reached from the root")));
        }
        Ok(())
    }
}
