//! One parameter spec per model: every parameter's name, type, default and
//! documentation, stated once by [`param_spec!`](crate::param_spec).
//!
//! A model crate declares its parameter struct with the macro and writes one
//! `validate()` holding every rule (including those between fields). The front ends
//! read the spec at run time: the CLI turns each [`ParamInfo`] into a flag and its help,
//! the Python package into a keyword argument and its docstring, and the model-file
//! header is the struct serialised. So a default is written in one place.
//!
//! Values cross from a front end as [`ParamValue`]s: the CLI gives text
//! ([`ParamValue::Text`]), Python gives typed values; each parameter type knows how to
//! read both ([`ParamType`]).

use crate::{Error, Result};

/// A parameter value as a front end hands it over.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// Absent (Python's `None`): "choose for me" for an optional parameter.
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// Text: a command-line value (parsed by the parameter's type) or a name.
    Text(String),
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::None => f.write_str("none"),
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Int(i) => write!(f, "{i}"),
            ParamValue::Float(x) => write!(f, "{x}"),
            ParamValue::Text(s) => f.write_str(s),
        }
    }
}

/// What kind of value a parameter takes; front ends pick their parsers and type names
/// from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A whole number (negative allowed when the type is signed).
    Int,
    /// A number.
    Float,
    /// `true` or `false`.
    Bool,
    /// One of these names.
    Choice(&'static [&'static str]),
    /// Free text with its own grammar (described in the parameter's documentation).
    Text,
}

/// A Rust type that can be a parameter.
pub trait ParamType: Sized {
    const KIND: Kind;
    /// `None` is a value of this type (an `Option`).
    const OPTIONAL: bool = false;
    fn from_param(v: &ParamValue) -> std::result::Result<Self, String>;
    fn to_param(&self) -> ParamValue;
}

fn int_of(v: &ParamValue) -> std::result::Result<i64, String> {
    match v {
        ParamValue::Int(i) => Ok(*i),
        ParamValue::Float(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(*x as i64),
        ParamValue::Text(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| format!("must be a whole number, got '{s}'")),
        other => Err(format!("must be a whole number, got {other}")),
    }
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl ParamType for $t {
            const KIND: Kind = Kind::Int;
            fn from_param(v: &ParamValue) -> std::result::Result<Self, String> {
                let i = int_of(v)?;
                <$t>::try_from(i).map_err(|_| {
                    format!("must be a whole number in {}..={}, got {i}", <$t>::MIN, <$t>::MAX)
                })
            }
            fn to_param(&self) -> ParamValue {
                // Every parameter of this type fits i64 (sizes and seeds well below 2^63).
                ParamValue::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
    )*};
}
int_param!(usize, u64, u32, i32, i64);

impl ParamType for f64 {
    const KIND: Kind = Kind::Float;
    fn from_param(v: &ParamValue) -> std::result::Result<Self, String> {
        match v {
            ParamValue::Float(x) => Ok(*x),
            ParamValue::Int(i) => Ok(*i as f64),
            ParamValue::Text(s) => s
                .trim()
                .parse::<f64>()
                .map_err(|_| format!("must be a number, got '{s}'")),
            other => Err(format!("must be a number, got {other}")),
        }
    }
    fn to_param(&self) -> ParamValue {
        ParamValue::Float(*self)
    }
}

impl ParamType for bool {
    const KIND: Kind = Kind::Bool;
    fn from_param(v: &ParamValue) -> std::result::Result<Self, String> {
        match v {
            ParamValue::Bool(b) => Ok(*b),
            ParamValue::Text(s) => match s.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(format!("must be true or false, got '{s}'")),
            },
            other => Err(format!("must be true or false, got {other}")),
        }
    }
    fn to_param(&self) -> ParamValue {
        ParamValue::Bool(*self)
    }
}

impl ParamType for String {
    const KIND: Kind = Kind::Text;
    fn from_param(v: &ParamValue) -> std::result::Result<Self, String> {
        match v {
            ParamValue::Text(s) => Ok(s.clone()),
            other => Err(format!("must be text, got {other}")),
        }
    }
    fn to_param(&self) -> ParamValue {
        ParamValue::Text(self.clone())
    }
}

impl<T: ParamType> ParamType for Option<T> {
    const KIND: Kind = T::KIND;
    const OPTIONAL: bool = true;
    fn from_param(v: &ParamValue) -> std::result::Result<Self, String> {
        match v {
            ParamValue::None => Ok(None),
            v => T::from_param(v).map(Some),
        }
    }
    fn to_param(&self) -> ParamValue {
        self.as_ref().map_or(ParamValue::None, T::to_param)
    }
}

/// A parameter taking one of a fixed set of names: implement this and the
/// [`ParamType`] comes with it (via [`choice_param!`](crate::choice_param)).
pub trait Named: Sized + Copy + 'static {
    const NAMES: &'static [&'static str];
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
}

/// Read a name into a [`Named`] value.
pub fn named_from<T: Named>(v: &ParamValue) -> std::result::Result<T, String> {
    let choose = || format!("choose one of {}", T::NAMES.join(", "));
    match v {
        ParamValue::Text(s) => T::ALL
            .iter()
            .copied()
            .find(|t| t.name() == s.trim())
            .ok_or_else(|| format!("has no value '{s}'; {}", choose())),
        other => Err(format!("must be a name, got {other}; {}", choose())),
    }
}

/// Make a [`Named`] type a [`ParamType`].
#[macro_export]
macro_rules! choice_param {
    ($t:ty) => {
        impl $crate::params::ParamType for $t {
            const KIND: $crate::params::Kind =
                $crate::params::Kind::Choice(<$t as $crate::params::Named>::NAMES);
            fn from_param(
                v: &$crate::params::ParamValue,
            ) -> ::std::result::Result<Self, ::std::string::String> {
                $crate::params::named_from(v)
            }
            fn to_param(&self) -> $crate::params::ParamValue {
                $crate::params::ParamValue::Text(
                    <$t as $crate::params::Named>::name(*self).to_string(),
                )
            }
        }
    };
}

/// One parameter as the front ends see it.
#[derive(Debug, Clone, Copy)]
pub struct ParamInfo {
    /// The name: the struct field, the model header's key, the flag (`--` and dashes).
    pub name: &'static str,
    /// The scikit-learn/LightGBM name the Python estimators use, where it differs.
    pub alias: Option<&'static str>,
    /// The documentation, one line per source line.
    pub doc: &'static [&'static str],
    pub kind: Kind,
    /// `None` is a value (the default chooses from the data).
    pub optional: bool,
}

impl ParamInfo {
    /// The documentation as one paragraph.
    pub fn doc(&self) -> String {
        let lines: Vec<&str> = self.doc.iter().map(|l| l.trim()).collect();
        lines.join(" ").trim().to_string()
    }

    /// The command-line flag: `--` and the name with dashes.
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }

    /// The name the Python estimators use.
    pub fn python_name(&self) -> &'static str {
        self.alias.unwrap_or(self.name)
    }
}

/// A parameter struct declared with [`param_spec!`](crate::param_spec).
pub trait Spec: Default + Clone + Sized {
    /// The model this spec configures (`gbdt`, `rf`, …).
    const MODEL: &'static str;
    /// Every parameter, in declaration order.
    fn params() -> &'static [ParamInfo];
    /// Set one parameter by name; the error names the parameter.
    fn set(&mut self, name: &str, value: &ParamValue) -> Result<()>;
    /// One parameter's value by name.
    fn get(&self, name: &str) -> Option<ParamValue>;
    /// Every rule, including those between fields; the error names the parameter.
    fn validate(&self) -> Result<()>;

    /// The parameter called `name` (its own name or its Python alias).
    fn info(name: &str) -> Option<&'static ParamInfo> {
        Self::params()
            .iter()
            .find(|p| p.name == name || p.alias == Some(name))
    }

    /// The defaults overlaid with `values` (by name or alias), then validated.
    fn from_values<'a>(values: impl IntoIterator<Item = (&'a str, ParamValue)>) -> Result<Self> {
        let mut p = Self::default();
        for (name, v) in values {
            let info = Self::info(name).ok_or_else(|| {
                let names: Vec<&str> = Self::params().iter().map(|p| p.name).collect();
                Error::input(format!(
                    "{} has no parameter '{name}'; it has {}",
                    Self::MODEL,
                    names.join(", ")
                ))
            })?;
            p.set(info.name, &v)?;
        }
        p.validate()?;
        Ok(p)
    }

    /// The default of every parameter, in declaration order.
    fn defaults() -> Vec<(&'static ParamInfo, ParamValue)> {
        let d = Self::default();
        Self::params()
            .iter()
            .map(|p| (p, d.get(p.name).unwrap_or(ParamValue::None)))
            .collect()
    }
}

/// Check a rule on one parameter: `Err` naming it when `ok` is false.
pub fn require(ok: bool, name: &'static str, msg: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::param(name, msg()))
    }
}

/// Declare a parameter struct and its [`Spec`]: fields with their doc comments,
/// types and defaults, and optionally the Python name (`=> "n_estimators"`). The
/// struct's `validate` is written beside it as `fn check(&self) -> Result<()>` in an
/// `impl` block of its own; the spec calls it.
///
/// ```
/// lithe_core::param_spec! {
///     /// Settings of a toy model.
///     #[derive(Debug, Clone, PartialEq)]
///     pub struct Toy("toy") {
///         /// Rounds of fitting.
///         rounds: usize = 10 => "n_estimators",
///         /// Step size.
///         rate: f64 = 0.1,
///     }
/// }
/// impl Toy {
///     fn check(&self) -> lithe_core::Result<()> {
///         lithe_core::params::require(self.rounds >= 1, "rounds", || "must be at least 1".into())
///     }
/// }
/// use lithe_core::params::{Spec, ParamValue};
/// let t = Toy::from_values([("n_estimators", ParamValue::Text("3".into()))]).unwrap();
/// assert_eq!(t.rounds, 3);
/// assert!(Toy::from_values([("rounds", ParamValue::Int(0))]).is_err());
/// ```
#[macro_export]
macro_rules! param_spec {
    (
        $(#[$smeta:meta])*
        pub struct $name:ident ($model:literal) {
            $(
                $(#[doc = $doc:literal])*
                $field:ident : $ty:ty = $default:expr $(=> $alias:literal)?
            ),* $(,)?
        }
    ) => {
        $(#[$smeta])*
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl $name {
            /// Every rule, including those between fields; the error names the
            /// parameter.
            pub fn validate(&self) -> $crate::Result<()> {
                self.check()
            }
        }

        impl ::std::default::Default for $name {
            fn default() -> Self {
                $name { $( $field: $default, )* }
            }
        }

        impl $crate::params::Spec for $name {
            const MODEL: &'static str = $model;

            fn params() -> &'static [$crate::params::ParamInfo] {
                const P: &[$crate::params::ParamInfo] = &[$(
                    $crate::params::ParamInfo {
                        name: stringify!($field),
                        alias: $crate::param_spec!(@alias $($alias)?),
                        doc: &[$($doc),*],
                        kind: <$ty as $crate::params::ParamType>::KIND,
                        optional: <$ty as $crate::params::ParamType>::OPTIONAL,
                    },
                )*];
                P
            }

            fn set(
                &mut self,
                name: &str,
                value: &$crate::params::ParamValue,
            ) -> $crate::Result<()> {
                match name {
                    $( stringify!($field) => {
                        self.$field = <$ty as $crate::params::ParamType>::from_param(value)
                            .map_err(|m| $crate::Error::param(stringify!($field), m))?;
                        Ok(())
                    } )*
                    _ => Err($crate::Error::input(format!(
                        "{} has no parameter '{name}'", $model
                    ))),
                }
            }

            fn get(&self, name: &str) -> ::std::option::Option<$crate::params::ParamValue> {
                match name {
                    $( stringify!($field) => ::std::option::Option::Some(
                        <$ty as $crate::params::ParamType>::to_param(&self.$field)
                    ), )*
                    _ => ::std::option::Option::None,
                }
            }

            fn validate(&self) -> $crate::Result<()> {
                self.check()
            }
        }
    };
    (@alias) => { ::std::option::Option::None };
    (@alias $a:literal) => { ::std::option::Option::Some($a) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    pub enum Shape {
        Round,
        Square,
    }
    impl Named for Shape {
        const NAMES: &'static [&'static str] = &["round", "square"];
        const ALL: &'static [Self] = &[Shape::Round, Shape::Square];
        fn name(self) -> &'static str {
            Shape::NAMES[self as usize]
        }
    }
    crate::choice_param!(Shape);

    crate::param_spec! {
        /// A test spec.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Demo("demo") {
            /// How many.
            /// Second line.
            count: usize = 3 => "n_count",
            depth: i32 = -1,
            /// A rate.
            rate: f64 = 0.5,
            flag: bool = true,
            shape: Option<Shape> = None,
        }
    }

    impl Demo {
        fn check(&self) -> Result<()> {
            require(self.count >= 1, "count", || {
                format!("must be at least 1, got {}", self.count)
            })?;
            require(!(self.flag && self.depth == 0), "depth", || {
                "must not be 0 when flag is true".into()
            })
        }
    }

    #[test]
    fn spec_lists_fields_docs_kinds_and_defaults() {
        let p = Demo::params();
        assert_eq!(
            p.iter().map(|p| p.name).collect::<Vec<_>>(),
            ["count", "depth", "rate", "flag", "shape"]
        );
        assert_eq!(p[0].doc(), "How many. Second line.");
        assert_eq!(p[0].python_name(), "n_count");
        assert_eq!(p[0].flag(), "--count");
        assert_eq!(p[4].kind, Kind::Choice(&["round", "square"]));
        assert!(p[4].optional && !p[3].optional);
        let d: Vec<ParamValue> = Demo::defaults().into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            d,
            [
                ParamValue::Int(3),
                ParamValue::Int(-1),
                ParamValue::Float(0.5),
                ParamValue::Bool(true),
                ParamValue::None
            ]
        );
    }

    #[test]
    fn values_from_text_and_typed_and_errors_name_the_parameter() {
        let d = Demo::from_values([
            ("n_count", ParamValue::Text("7".into())),
            ("rate", ParamValue::Int(2)),
            ("shape", ParamValue::Text("square".into())),
            ("flag", ParamValue::Text("false".into())),
            ("depth", ParamValue::Text("0".into())),
        ])
        .unwrap();
        assert_eq!(
            (d.count, d.rate, d.shape, d.flag, d.depth),
            (7, 2.0, Some(Shape::Square), false, 0)
        );
        assert!(d.validate().is_ok());
        let zero = Demo { count: 0, ..d };
        assert_eq!(
            zero.validate().unwrap_err().to_string(),
            "count must be at least 1, got 0"
        );
        let msg = |r: Result<Demo>| r.unwrap_err().to_string();
        assert_eq!(
            msg(Demo::from_values([("count", ParamValue::Int(0))])),
            "count must be at least 1, got 0"
        );
        assert_eq!(
            msg(Demo::from_values([("count", ParamValue::Int(-2))])),
            "count must be a whole number in 0..=18446744073709551615, got -2"
        );
        assert_eq!(
            msg(Demo::from_values([("depth", ParamValue::Int(0))])),
            "depth must not be 0 when flag is true"
        );
        assert_eq!(
            msg(Demo::from_values([(
                "shape",
                ParamValue::Text("oval".into())
            )])),
            "shape has no value 'oval'; choose one of round, square"
        );
        assert!(
            msg(Demo::from_values([("nope", ParamValue::Int(1))])).contains("no parameter 'nope'")
        );
        assert_eq!(
            msg(Demo::from_values([("count", ParamValue::None)])),
            "count must be a whole number, got none"
        );
    }
}
