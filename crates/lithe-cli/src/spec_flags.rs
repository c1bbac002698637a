//! Command-line flags made from the model crates' parameter specs
//! ([`lithe_core::params`]): one flag per parameter, its help the parameter's
//! documentation and default. No flag here states a default of its own.

use clap::{Arg, ArgMatches, Command};
use lithe_core::params::{Kind, ParamInfo, ParamValue, Spec};

/// One model's parameters, as a command offers them.
pub struct Model {
    /// The name the command's `--model` takes (`gbdt`, `rf`).
    pub label: &'static str,
    pub defaults: Vec<(&'static ParamInfo, ParamValue)>,
}

impl Model {
    pub fn of<S: Spec>(label: &'static str) -> Model {
        Model {
            label,
            defaults: S::defaults(),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.defaults.iter().any(|(p, _)| p.name == name)
    }
}

/// A default as the help shows it (`None` shows none: the documentation says what
/// happens).
fn shown(v: &ParamValue) -> Option<String> {
    match v {
        ParamValue::None => None,
        v => Some(v.to_string()),
    }
}

/// The flags of every parameter of `models` (a parameter they share is one flag), but
/// those in `skip` (flags the command defines itself).
pub fn add(mut cmd: Command, models: &[Model], skip: &[&str]) -> Command {
    let mut seen: Vec<&str> = Vec::new();
    for m in models {
        for (p, _) in &m.defaults {
            if skip.contains(&p.name) || seen.contains(&p.name) {
                continue;
            }
            seen.push(p.name);
            let owners: Vec<&Model> = models.iter().filter(|o| o.has(p.name)).collect();
            let defaults: Vec<(&str, Option<String>)> = owners
                .iter()
                .map(|o| {
                    let v = o.defaults.iter().find(|(q, _)| q.name == p.name);
                    (o.label, v.and_then(|(_, v)| shown(v)))
                })
                .collect();
            let docs: Vec<(&str, String)> = owners
                .iter()
                .filter_map(|o| o.defaults.iter().find(|(q, _)| q.name == p.name))
                .zip(&owners)
                .map(|((q, _), o)| (o.label, q.doc()))
                .collect();
            let mut help = if docs.windows(2).all(|w| w[0].1 == w[1].1) {
                p.doc()
            } else {
                let each: Vec<String> = docs.iter().map(|(l, d)| format!("{l}: {d}")).collect();
                each.join(" ")
            };
            if owners.len() < models.len() {
                help = format!("{}: {help}", owners[0].label);
            }
            let all_same = defaults.windows(2).all(|w| w[0].1 == w[1].1);
            if all_same {
                if let Some(d) = &defaults[0].1 {
                    help.push_str(&format!(" [default: {d}]"));
                }
            } else {
                let each: Vec<String> = defaults
                    .iter()
                    .map(|(l, d)| format!("{} for {l}", d.as_deref().unwrap_or("none")))
                    .collect();
                help.push_str(&format!(" [default: {}]", each.join(", ")));
            }
            let mut arg = Arg::new(p.name)
                .long(p.name.replace('_', "-"))
                .help(help)
                .num_args(1)
                .allow_hyphen_values(p.kind == Kind::Int || p.kind == Kind::Float);
            arg = match p.kind {
                Kind::Choice(names) => arg.value_parser(names.to_vec()).value_name("NAME"),
                Kind::Bool => arg.value_parser(["true", "false"]).value_name("true|false"),
                Kind::Int => arg.value_name("N"),
                Kind::Float => arg.value_name("X"),
                Kind::Text => arg.value_name("TEXT"),
            };
            cmd = cmd.arg(arg);
        }
    }
    cmd
}

/// The parameters given on the command line, as `(name, text)`.
pub fn given(m: &ArgMatches, models: &[Model], skip: &[&str]) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for model in models {
        for (p, _) in &model.defaults {
            if skip.contains(&p.name) || out.iter().any(|(n, _)| *n == p.name) {
                continue;
            }
            if let Ok(Some(v)) = m.try_get_one::<String>(p.name) {
                out.push((p.name, v.clone()));
            }
        }
    }
    out
}

/// `model`'s parameters from the given flags; a flag of another model is a usage error.
pub fn values_for<'a>(
    model: &Model,
    models: &[Model],
    given: &'a [(&'static str, String)],
) -> Result<Vec<(&'a str, ParamValue)>, crate::UsageError> {
    let mut out = Vec::new();
    for (name, text) in given {
        if !model.has(name) {
            let owners: Vec<&str> = models
                .iter()
                .filter(|o| o.has(name))
                .map(|o| o.label)
                .collect();
            return Err(crate::UsageError(format!(
                "--{} applies to --model {} only",
                name.replace('_', "-"),
                owners.join(" or ")
            )));
        }
        out.push((*name, ParamValue::Text(text.clone())));
    }
    Ok(out)
}

/// A command's parameter flags: which models' specs make them, and which parameters
/// the command sets from flags of its own.
pub trait FlagSet {
    fn models() -> Vec<Model>;
    const OWN: &'static [&'static str] = &[];
}

/// The parameter flags of a [`FlagSet`], as given on the command line: `(name, text)`.
pub struct Flags<S>(
    pub Vec<(&'static str, String)>,
    std::marker::PhantomData<fn() -> S>,
);

impl<S> Flags<S> {
    /// The given flags as parameter values (text, parsed by each parameter's type).
    pub fn values(&self) -> Vec<(&'static str, ParamValue)> {
        self.0
            .iter()
            .map(|(n, v)| (*n, ParamValue::Text(v.clone())))
            .collect()
    }
}

impl<S> std::fmt::Debug for Flags<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Flags").field(&self.0).finish()
    }
}

impl<S> Clone for Flags<S> {
    fn clone(&self) -> Self {
        Flags(self.0.clone(), std::marker::PhantomData)
    }
}

impl<S: FlagSet> clap::FromArgMatches for Flags<S> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Flags(
            given(m, &S::models(), S::OWN),
            std::marker::PhantomData,
        ))
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl<S: FlagSet> clap::Args for Flags<S> {
    fn augment_args(cmd: Command) -> Command {
        add(cmd, &S::models(), S::OWN)
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}
