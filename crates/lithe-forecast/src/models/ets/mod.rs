//! ETS: exponential smoothing state-space models (Hyndman, Koehler, Ord & Snyder,
//! 2008), estimated by likelihood and selected by AICc as R's `forecast::ets` and
//! StatsForecast's `AutoETS` do.
//!
//! Parity with StatsForecast 2.1 (the reference our users compare with) is kept on
//! purpose in the details that change answers: the starting states (classical
//! decomposition, or a one-harmonic Fourier regression for short series, then a line
//! through the first `max(10, 2m)` adjusted values), the starting smoothing
//! parameters, the box-bounded adaptive Nelder–Mead with its stopping rule, the
//! `n·log(SSE)` (+ `2·Σlog|ŷ|` for multiplicative errors) objective, and the order in
//! which candidate models are tried. One quirk is kept because it changes which model
//! wins: the upper bounds of β and γ tighten as candidates are fitted in turn (β ≤
//! the smallest starting α seen so far, γ ≤ 1 − that α), as StatsForecast's shared
//! bound arrays do.
//!
//! Prediction intervals use the analytic variances of the model classes 1–3 of
//! Hyndman et al. (2008, ch. 6). Two places where StatsForecast 2.1 departs from the
//! book are not copied: the MAA variance uses `cⱼ = α + βj + γ·d_{j,m}` (StatsForecast
//! multiplies α by βj), and the class-3 recursion advances the mean state each step.

mod filter;
mod fit;
mod variance;

pub use filter::*;
pub use fit::*;
pub use variance::*;

use super::{Output, Unfit};
use crate::interval::Intervals;
use crate::linalg::{Mat, lstsq};
use crate::metrics::decompose_seasonal;
use crate::optim::{LANES, NelderMead};

/// One component of an ETS model: none, additive or multiplicative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comp {
    N,
    A,
    M,
}

impl Comp {
    fn letter(self) -> char {
        match self {
            Comp::N => 'N',
            Comp::A => 'A',
            Comp::M => 'M',
        }
    }
}

/// Which models to consider: each component fixed or `None` for "choose" (R's `Z`),
/// and damping fixed or chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    pub error: Option<Comp>,
    pub trend: Option<Comp>,
    pub season: Option<Comp>,
    pub damped: Option<bool>,
}

impl Spec {
    /// `ZZZ`: every admissible model.
    pub const AUTO: Spec = Spec {
        error: None,
        trend: None,
        season: None,
        damped: None,
    };

    /// StatsForecast's `Holt`: additive errors and trend, no season, damping chosen.
    pub const HOLT: Spec = Spec {
        error: Some(Comp::A),
        trend: Some(Comp::A),
        season: Some(Comp::N),
        damped: None,
    };

    /// StatsForecast's `HoltWinters` (additive): `AAA`, damping chosen.
    pub const HOLT_WINTERS: Spec = Spec {
        error: Some(Comp::A),
        trend: Some(Comp::A),
        season: Some(Comp::A),
        damped: None,
    };

    /// Parse a three-letter model string such as `ZZZ`, `AAN` or `MAM` (error, trend,
    /// season; `Z` chooses). Forbidden combinations (additive errors with a
    /// multiplicative component, `MMA`) are refused, as in R and StatsForecast.
    pub fn parse(s: &str) -> Result<Spec, String> {
        let c: Vec<char> = s.trim().to_ascii_uppercase().chars().collect();
        if c.len() != 3 {
            return Err(format!(
                "ETS model '{s}' must be three letters (error, trend, season), e.g. ZZZ or AAN"
            ));
        }
        let comp = |ch: char, allow_n: bool| -> Result<Option<Comp>, String> {
            match ch {
                'Z' => Ok(None),
                'A' => Ok(Some(Comp::A)),
                'M' => Ok(Some(Comp::M)),
                'N' if allow_n => Ok(Some(Comp::N)),
                _ => Err(format!(
                    "ETS model '{s}': '{ch}' is not a valid component there"
                )),
            }
        };
        let spec = Spec {
            error: comp(c[0], false)?,
            trend: comp(c[1], true)?,
            season: comp(c[2], true)?,
            damped: None,
        };
        if spec.trend == Some(Comp::M) {
            return Err(format!(
                "ETS model '{s}': multiplicative trends are not offered (StatsForecast's default too)"
            ));
        }
        if spec.error == Some(Comp::A) && spec.season == Some(Comp::M) {
            return Err(format!(
                "ETS model '{s}': additive errors with multiplicative seasonality are unstable and not allowed"
            ));
        }
        Ok(spec)
    }

    pub fn needs_season(&self) -> bool {
        matches!(self.season, Some(Comp::A | Comp::M))
    }
}

/// The kind of one fitted model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kind {
    pub error: Comp,
    pub trend: Comp,
    pub season: Comp,
    pub damped: bool,
}

impl Kind {
    /// R's and StatsForecast's label, e.g. `ETS(M,Ad,N)`.
    pub fn label(&self) -> String {
        format!(
            "ETS({},{}{},{})",
            self.error.letter(),
            self.trend.letter(),
            if self.damped { "d" } else { "" },
            self.season.letter()
        )
    }
}

/// Smoothing parameters; `beta`/`gamma`/`phi` are unused (and left at their neutral
/// values 0, 0, 1) when the model has no trend, no season, or no damping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Par {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub phi: f64,
}

/// A fitted ETS model.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub kind: Kind,
    /// Season length in use (1 for a non-seasonal model).
    pub m: usize,
    pub par: Par,
    /// Initial states `l, [b], s_0 … s_{m-1}` (s_0 the most recent season).
    pub init: Vec<f64>,
    /// States after the last observation, in the same layout.
    pub last: Vec<f64>,
    /// `−2 log L` up to a constant, as R reports it.
    pub neg2loglik: f64,
    pub aic: f64,
    pub aicc: f64,
    pub bic: f64,
    /// Residual variance: Σe² / (n − k − 1), where `k` counts the estimated values.
    pub sigma2: f64,
    pub n_params: usize,
}

const TOL: f64 = 1e-10;
const HUGE: f64 = 1e10;
const NA: f64 = -99999.0;
