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

/// Run the model over `y` from the states `init` (`l, [b], s_0…s_{m-1}`): the
/// objective `n·log Σe² (+ 2 Σ log|ŷ|)` and, when asked, the errors and final states.
/// The seasonal states live in one history buffer (`seas`, `n + m` long), so no
/// state is copied per step. Dispatches to a copy of the loop compiled for the
/// model's components.
#[allow(clippy::too_many_arguments)]
fn filter(
    y: &[f64],
    init: &[f64],
    k: Kind,
    p: Par,
    m: usize,
    seas: &mut Vec<f64>,
    errors: Option<&mut Vec<f64>>,
    last: Option<&mut Vec<f64>>,
) -> f64 {
    const N: u8 = 0;
    const A: u8 = 1;
    const M: u8 = 2;
    let code = |c: Comp| match c {
        Comp::N => N,
        Comp::A => A,
        Comp::M => M,
    };
    // One arm per (error, trend, season): multiplicative error or not, times each
    // trend and season component.
    macro_rules! one {
        ($e:expr, $t:ident, $s:ident) => {
            if errors.is_some() || last.is_some() {
                filter_as::<$e, $t, $s, true>(y, init, p, m, seas, errors, last)
            } else {
                filter_as::<$e, $t, $s, false>(y, init, p, m, seas, None, None)
            }
        };
    }
    macro_rules! go {
        ($( ($t:ident, $s:ident) ),* ) => {
            match (k.error == Comp::M, code(k.trend), code(k.season)) {
                $( (true, $t, $s) => one!(true, $t, $s),
                (false, $t, $s) => one!(false, $t, $s), )*
                _ => unreachable!(),
            }
        };
    }
    go!(
        (N, N),
        (N, A),
        (N, M),
        (A, N),
        (A, A),
        (A, M),
        (M, N),
        (M, A),
        (M, M)
    )
}

/// The unbiased binary exponent and the mantissa in [1, 2) of a finite `v ≥ 0`
/// (exact for normal numbers: `v = mantissa · 2^exponent`).
#[inline(always)]
fn split_binary(v: f64) -> (i64, f64) {
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mant = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    (exp, mant)
}

/// Σ log|f| over a run of values, as one logarithm per 32 values: the mantissas are
/// multiplied and the binary exponents added, so the sum agrees with adding the
/// logarithms one by one to rounding.
struct LogSum {
    mant: f64,
    exp: i64,
    count: u32,
    extra: f64,
}

impl LogSum {
    fn new() -> LogSum {
        LogSum {
            mant: 1.0,
            exp: 0,
            count: 0,
            extra: 0.0,
        }
    }

    #[inline(always)]
    fn add(&mut self, v: f64) {
        // Normal positive numbers split exactly into mantissa [1, 2) and exponent.
        if v.is_normal() {
            let (exp, mant) = split_binary(v);
            self.exp += exp;
            self.mant *= mant;
            self.count += 1;
            if self.count == 32 {
                self.flush();
            }
        } else if v > 0.0 && v.is_finite() {
            self.extra += v.ln();
        } else if v == 0.0 {
            self.extra += (v + 1e-8).ln();
        } else {
            self.extra += v.ln();
        }
    }

    fn flush(&mut self) {
        self.extra += self.mant.ln();
        self.mant = 1.0;
        self.count = 0;
    }

    fn total(mut self) -> f64 {
        self.flush();
        self.extra + self.exp as f64 * std::f64::consts::LN_2
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn filter_as<const ERR_M: bool, const TREND: u8, const SEASON: u8, const REC: bool>(
    y: &[f64],
    init: &[f64],
    p: Par,
    m: usize,
    seas: &mut Vec<f64>,
    mut errors: Option<&mut Vec<f64>>,
    last: Option<&mut Vec<f64>>,
) -> f64 {
    let has_t = TREND != 0;
    let has_s = SEASON != 0;
    let mut l = init[0];
    let mut b = if has_t { init[1] } else { 0.0 };
    seas.clear();
    if has_s {
        let s0 = 1 + has_t as usize;
        // History order: oldest first, so s_{m-1} (the one used next) is at the front.
        seas.extend(init[s0..s0 + m].iter().rev());
    }
    let ratio = p.beta / p.alpha;
    let mut sse = 0.0;
    let mut logf = LogSum::new();
    let n = y.len();
    for (i, &yi) in y.iter().enumerate() {
        let old_l = l;
        let old_b = b;
        let old_s = if has_s { seas[i] } else { 0.0 };
        // The one-step forecast, as the h-step forecast computes it.
        let mut f0 = match TREND {
            0 => old_l,
            1 => old_l + p.phi * old_b,
            _ => {
                if old_b < 0.0 {
                    f64::NAN
                } else {
                    old_l * old_b.powf(p.phi)
                }
            }
        };
        match SEASON {
            0 => {}
            1 => f0 += old_s,
            _ => f0 *= old_s,
        }
        if (f0 - NA).abs() < TOL {
            return NA;
        }
        let e = if !ERR_M {
            yi - f0
        } else {
            let d = if f0.abs() < TOL { f0 + TOL } else { f0 };
            (yi - f0) / d
        };
        if REC && let Some(es) = errors.as_deref_mut() {
            es.push(e);
        }
        // State update.
        let (q, phi_b) = match TREND {
            0 => (old_l, 0.0),
            1 => {
                let pb = p.phi * old_b;
                (old_l + pb, pb)
            }
            _ => {
                let pb = if (p.phi - 1.0).abs() < TOL {
                    old_b
                } else {
                    old_b.powf(p.phi)
                };
                (old_l * pb, pb)
            }
        };
        let pp = match SEASON {
            0 => yi,
            1 => yi - old_s,
            _ => {
                if old_s.abs() < TOL {
                    HUGE
                } else {
                    yi / old_s
                }
            }
        };
        l = q + p.alpha * (pp - q);
        if has_t {
            let r = match TREND {
                1 => l - old_l,
                _ => {
                    if old_l.abs() < TOL {
                        HUGE
                    } else {
                        l / old_l
                    }
                }
            };
            b = phi_b + ratio * (r - phi_b);
        }
        if has_s {
            let t = match SEASON {
                1 => yi - q,
                _ => {
                    if q.abs() < TOL {
                        HUGE
                    } else {
                        yi / q
                    }
                }
            };
            seas.push(old_s + p.gamma * (t - old_s));
        }
        sse += e * e;
        if ERR_M {
            logf.add(f0.abs());
        }
    }
    if let Some(out) = last {
        out.clear();
        out.push(l);
        if has_t {
            out.push(b);
        }
        if has_s {
            out.extend(seas[n..n + m].iter().rev());
        }
    }
    let mut lik = if sse > 0.0 {
        n as f64 * sse.ln()
    } else {
        n as f64 * (sse + 1e-8).ln()
    };
    if ERR_M {
        lik += 2.0 * logf.total();
    }
    lik
}

/// [`filter`]'s objective for [`LANES`] parameter sets at once, each lane running
/// exactly the scalar arithmetic, so the values are bit-identical. The lanes'
/// recursions are independent and overlap in the processor, which pays where one
/// run is bound by its chain of dependent operations (the non-seasonal models).
fn filter_batch(
    y: &[f64],
    inits: &[Vec<f64>; LANES],
    pars: &[Par; LANES],
    k: Kind,
) -> [f64; LANES] {
    match (k.error, k.trend) {
        (Comp::A, Comp::N) => filter_lanes::<false, 0>(y, inits, pars),
        (Comp::A, Comp::A) => filter_lanes::<false, 1>(y, inits, pars),
        (Comp::A, Comp::M) => filter_lanes::<false, 2>(y, inits, pars),
        (_, Comp::N) => filter_lanes::<true, 0>(y, inits, pars),
        (_, Comp::A) => filter_lanes::<true, 1>(y, inits, pars),
        (_, Comp::M) => filter_lanes::<true, 2>(y, inits, pars),
    }
}

#[inline(never)]
fn filter_lanes<const ERR_M: bool, const TREND: u8>(
    y: &[f64],
    inits: &[Vec<f64>; LANES],
    pars: &[Par; LANES],
) -> [f64; LANES] {
    let has_t = TREND != 0;
    let mut l: [f64; LANES] = std::array::from_fn(|j| inits[j][0]);
    let mut b: [f64; LANES] = std::array::from_fn(|j| if has_t { inits[j][1] } else { 0.0 });
    let alpha: [f64; LANES] = std::array::from_fn(|j| pars[j].alpha);
    let phi: [f64; LANES] = std::array::from_fn(|j| pars[j].phi);
    let ratio: [f64; LANES] = std::array::from_fn(|j| pars[j].beta / pars[j].alpha);
    let mut sse = [0.0; LANES];
    let mut na = [false; LANES];
    // Σ log|ŷ| as in LogSum, kept branch-free: mantissas multiplied over blocks of
    // 32 steps, exponents added; a lane meeting a zero, subnormal or non-finite
    // forecast is flagged and redone by the scalar filter.
    let mut log_extra = [0.0; LANES];
    let mut exps = [0i64; LANES];
    let mut odd = [false; LANES];
    for block in y.chunks(32) {
        let mut mant = [1.0f64; LANES];
        for &yi in block {
            for j in 0..LANES {
                let old_l = l[j];
                let old_b = b[j];
                let f0 = match TREND {
                    0 => old_l,
                    1 => old_l + phi[j] * old_b,
                    _ => {
                        if old_b < 0.0 {
                            f64::NAN
                        } else {
                            old_l * old_b.powf(phi[j])
                        }
                    }
                };
                na[j] |= (f0 - NA).abs() < TOL;
                let e = if !ERR_M {
                    yi - f0
                } else {
                    let d = if f0.abs() < TOL { f0 + TOL } else { f0 };
                    (yi - f0) / d
                };
                let (q, phi_b) = match TREND {
                    0 => (old_l, 0.0),
                    1 => {
                        let pb = phi[j] * old_b;
                        (old_l + pb, pb)
                    }
                    _ => {
                        let pb = if (phi[j] - 1.0).abs() < TOL {
                            old_b
                        } else {
                            old_b.powf(phi[j])
                        };
                        (old_l * pb, pb)
                    }
                };
                l[j] = q + alpha[j] * (yi - q);
                if has_t {
                    let r = match TREND {
                        1 => l[j] - old_l,
                        _ => {
                            if old_l.abs() < TOL {
                                HUGE
                            } else {
                                l[j] / old_l
                            }
                        }
                    };
                    b[j] = phi_b + ratio[j] * (r - phi_b);
                }
                sse[j] += e * e;
                if ERR_M {
                    let (ex, mt) = split_binary(f0.abs());
                    // Zero, subnormal or not finite: the raw exponent is 0 or 2047.
                    odd[j] |= ex == -1023 || ex == 1024;
                    exps[j] += ex;
                    mant[j] *= mt;
                }
            }
        }
        if ERR_M {
            for j in 0..LANES {
                log_extra[j] += mant[j].ln();
            }
        }
    }
    let n = y.len() as f64;
    let mut out = [0.0; LANES];
    for j in 0..LANES {
        if na[j] {
            out[j] = NA;
            continue;
        }
        let mut lik = if sse[j] > 0.0 {
            n * sse[j].ln()
        } else {
            n * (sse[j] + 1e-8).ln()
        };
        if ERR_M {
            if odd[j] {
                out[j] = f64::NAN;
                continue;
            }
            lik += 2.0 * (log_extra[j] + exps[j] as f64 * std::f64::consts::LN_2);
        }
        out[j] = lik;
    }
    out
}

/// The h-step point forecasts from the states `x` (`l, [b], s_0…`).
pub fn point_forecast(x: &[f64], k: Kind, phi: f64, m: usize, h: usize) -> Vec<f64> {
    let has_t = k.trend != Comp::N;
    let l = x[0];
    let b = if has_t { x[1] } else { 0.0 };
    let s = &x[1 + has_t as usize..];
    let mut out = Vec::with_capacity(h);
    let mut phistar = phi;
    for i in 0..h {
        let mut f = match k.trend {
            Comp::N => l,
            Comp::A => l + phistar * b,
            Comp::M => {
                if b < 0.0 {
                    f64::NAN
                } else {
                    l * b.powf(phistar)
                }
            }
        };
        if k.season != Comp::N {
            let j = (m - 1) - (i % m);
            match k.season {
                Comp::A => f += s[j],
                _ => f *= s[j],
            }
        }
        out.push(f);
        if (phi - 1.0).abs() < TOL {
            phistar += 1.0;
        } else {
            phistar += phi.powi(i as i32 + 1);
        }
    }
    out
}

/// The starting states: `l0, [b0]` and `m − 1` seasonal states (`s_{m-1}` is implied
/// by the normalisation), or `None` where the data cannot support them.
fn initial_states(y: &[f64], m: usize, trend: Comp, season: Comp) -> Option<Vec<f64>> {
    let n = y.len();
    let mut out = Vec::new();
    let (y_sa, init_seas): (Vec<f64>, Vec<f64>) = if season != Comp::N {
        if n < 4 {
            return None;
        }
        let mult = season == Comp::M;
        let seasonal: Vec<f64> = if n < 3 * m {
            // A line plus one harmonic, fitted by least squares.
            let t: Vec<f64> = (1..=n).map(|v| v as f64).collect();
            let w = 2.0 * std::f64::consts::PI / m as f64;
            let mut cols = vec![vec![1.0; n], t.clone()];
            cols.push(t.iter().map(|t| (w * t).cos()).collect());
            if m > 2 {
                cols.push(t.iter().map(|t| (w * t).sin()).collect());
            }
            let c = lstsq(&cols, y);
            if mult {
                if y.iter().any(|&v| v <= 0.0) {
                    return None;
                }
                y.iter()
                    .zip(&t)
                    .map(|(v, t)| v / (c[0] + c[1] * t))
                    .collect()
            } else {
                y.iter().zip(&t).map(|(v, t)| v - c[0] - c[1] * t).collect()
            }
        } else {
            let per = decompose_seasonal(y, m, mult);
            (0..n).map(|i| per[i % m]).collect()
        };
        let mut init: Vec<f64> = seasonal[1..m].iter().rev().copied().collect();
        let y_sa: Vec<f64> = if mult {
            for v in &mut init {
                *v = v.max(1e-2);
            }
            if init.iter().sum::<f64>() > m as f64 {
                let d: f64 = init.iter().map(|v| v + 1e-2).sum();
                for v in &mut init {
                    *v /= d;
                }
            }
            y.iter()
                .zip(&seasonal)
                .map(|(v, s)| v / s.max(1e-2))
                .collect()
        } else {
            y.iter().zip(&seasonal).map(|(v, s)| v - s).collect()
        };
        (y_sa, init)
    } else {
        (y.to_vec(), Vec::new())
    };
    let m_eff = if season == Comp::N { 1 } else { m };
    let maxn = (2 * m_eff).max(10).min(n);
    if trend == Comp::N {
        out.push(y_sa[..maxn].iter().sum::<f64>() / maxn as f64);
    } else {
        let t: Vec<f64> = (1..=maxn).map(|v| v as f64).collect();
        let c = lstsq(&[vec![1.0; maxn], t], &y_sa[..maxn]);
        let (l, b) = (c[0], c[1]);
        if trend == Comp::A {
            let (mut l0, mut b0) = (l, b);
            if (l0 + b0).abs() < 1e-8 {
                l0 *= 1.0 + 1e-3;
                b0 *= 1.0 - 1e-3;
            }
            out.push(l0);
            out.push(b0);
        } else {
            let mut l0 = l + b;
            if l0.abs() < 1e-8 {
                l0 = 1e-7;
            }
            let mut b0 = (l + 2.0 * b) / l0;
            let div = if b0.abs() <= 1e-8 { 1e-8 } else { b0 };
            l0 /= div;
            if b0.abs() > 1e10 {
                b0 = b0.signum() * 1e10;
            }
            if l0 < 1e-8 || b0 < 1e-8 {
                l0 = y_sa[0].max(1e-3);
                let div = if y_sa[0].abs() <= 1e-8 { 1e-8 } else { y_sa[0] };
                b0 = (y_sa[1] / div).max(1e-3);
            }
            out.push(l0);
            out.push(b0);
        }
    }
    out.extend(init_seas);
    Some(out)
}

/// Parameters held fixed instead of estimated.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Fixed {
    pub alpha: Option<f64>,
    pub beta: Option<f64>,
    pub gamma: Option<f64>,
    pub phi: Option<f64>,
}

/// Bounds of α, β, γ, φ. Shared by the candidates of one selection (see the module
/// note on the tightening bounds).
#[derive(Debug, Clone, Copy)]
struct Bounds {
    lower: [f64; 4],
    upper: [f64; 4],
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds {
            lower: [1e-4, 1e-4, 1e-4, 0.8],
            upper: [0.9999, 0.9999, 0.9999, 0.98],
        }
    }
}

/// Fit one model kind; `None` when it cannot be fitted (too many parameters for the
/// data, or states that cannot be initialised).
fn fit_kind(y: &[f64], m: usize, k: Kind, fixed: Fixed, b: &mut Bounds) -> Option<Fit> {
    let m = if k.season == Comp::N { 1 } else { m };
    let has_t = k.trend != Comp::N;
    let has_s = k.season != Comp::N;
    // Starting values (and the bounds they tighten).
    let alpha = fixed.alpha.unwrap_or_else(|| {
        let a = b.lower[0] + 0.2 * (b.upper[0] - b.lower[0]) / m as f64;
        if !(0.0..=1.0).contains(&a) {
            b.lower[0] + 2e-3
        } else {
            a
        }
    });
    let beta = has_t.then(|| {
        fixed.beta.unwrap_or_else(|| {
            b.upper[1] = b.upper[1].min(alpha);
            let v = b.lower[1] + 0.1 * (b.upper[1] - b.lower[1]);
            if v < 0.0 || v > alpha {
                alpha - 1e-3
            } else {
                v
            }
        })
    });
    let gamma = has_s.then(|| {
        fixed.gamma.unwrap_or_else(|| {
            b.upper[2] = b.upper[2].min(1.0 - alpha);
            let v = b.lower[2] + 0.05 * (b.upper[2] - b.lower[2]);
            if v < 0.0 || v > 1.0 - alpha {
                1.0 - alpha - 1e-3
            } else {
                v
            }
        })
    });
    let phi = k.damped.then(|| {
        fixed.phi.unwrap_or_else(|| {
            let v = b.lower[3] + 0.99 * (b.upper[3] - b.lower[3]);
            if !(0.0..=1.0).contains(&v) {
                b.upper[3] - 1e-3
            } else {
                v
            }
        })
    });
    let init = initial_states(y, m, k.trend, k.season)?;
    let nstate = init.len();
    // The search vector: the smoothing parameters present, then the states.
    let mut x0 = Vec::new();
    let mut lo = Vec::new();
    let mut hi = Vec::new();
    let mut opt = [false; 4];
    for (i, (v, fx)) in [
        (Some(alpha), fixed.alpha),
        (beta, fixed.beta),
        (gamma, fixed.gamma),
        (phi, fixed.phi),
    ]
    .into_iter()
    .enumerate()
    {
        if let Some(v) = v {
            x0.push(v);
            lo.push(b.lower[i]);
            hi.push(b.upper[i]);
            opt[i] = fx.is_none();
        }
    }
    let npar = x0.len();
    x0.extend_from_slice(&init);
    lo.resize(x0.len(), f64::NEG_INFINITY);
    hi.resize(x0.len(), f64::INFINITY);
    let n = y.len();
    if x0.len() + 1 >= n {
        return None;
    }
    let fixed_par = Par {
        alpha,
        beta: beta.unwrap_or(0.0),
        gamma: gamma.unwrap_or(0.0),
        phi: phi.unwrap_or(1.0),
    };
    let unpack = |x: &[f64]| -> Par {
        let mut p = fixed_par;
        let mut j = 0;
        let mut take = |on: bool, present: bool, slot: &mut f64| {
            if present {
                if on {
                    *slot = x[j];
                }
                j += 1;
            }
        };
        take(opt[0], true, &mut p.alpha);
        take(opt[1], beta.is_some(), &mut p.beta);
        take(opt[2], gamma.is_some(), &mut p.gamma);
        take(opt[3], phi.is_some(), &mut p.phi);
        p
    };
    // Full states from the search vector: the last seasonal state makes the season
    // sum to 0 (additive) or m (multiplicative).
    let full_states = |x: &[f64], out: &mut Vec<f64>| -> bool {
        out.clear();
        out.extend_from_slice(&x[npar..]);
        if has_s {
            let start = 1 + has_t as usize;
            let sum: f64 = out[start..].iter().sum();
            let target = if k.season == Comp::M { m as f64 } else { 0.0 };
            out.push(target - sum);
            if k.season == Comp::M && out[start..].iter().any(|&v| v < 0.0) {
                return false;
            }
        }
        true
    };
    let mut seas = Vec::with_capacity(n + m);
    let mut states = Vec::with_capacity(nstate + 1);
    let objective = |x: &[f64]| -> f64 {
        if !full_states(x, &mut states) {
            return f64::INFINITY;
        }
        // As StatsForecast: a failed run (NaN) counts as the best value, not the worst.
        let lik = filter(y, &states, k, unpack(x), m, &mut seas, None, None);
        if lik.is_nan() || (lik - NA).abs() < 1e-7 {
            f64::NEG_INFINITY
        } else {
            lik.max(-1e10)
        }
    };
    let best = if has_s {
        NelderMead::default().minimize(objective, &x0, &lo, &hi)
    } else {
        let mut lane_states: [Vec<f64>; LANES] =
            std::array::from_fn(|_| Vec::with_capacity(nstate + 1));
        let batch = |xs: &[&[f64]; LANES], out: &mut [f64; LANES]| {
            let mut pars = [fixed_par; LANES];
            for j in 0..LANES {
                full_states(xs[j], &mut lane_states[j]);
                pars[j] = unpack(xs[j]);
            }
            let mut liks = filter_batch(y, &lane_states, &pars, k);
            for j in 0..LANES {
                if liks[j].is_nan() {
                    // A lane the batch could not sum exactly: run it alone.
                    liks[j] = filter(y, &lane_states[j], k, pars[j], m, &mut seas, None, None);
                }
            }
            for (o, lik) in out.iter_mut().zip(liks) {
                // As StatsForecast: a failed run (NaN) counts as the best value.
                *o = if lik.is_nan() || (lik - NA).abs() < 1e-7 {
                    f64::NEG_INFINITY
                } else {
                    lik.max(-1e10)
                };
            }
        };
        NelderMead::default().minimize_batch(batch, &x0, &lo, &hi)
    };
    let par = unpack(&best.x);
    let mut init_full = Vec::new();
    full_states(&best.x, &mut init_full);
    let mut errors = Vec::with_capacity(n);
    let mut last = Vec::new();
    let lik = filter(
        y,
        &init_full,
        k,
        par,
        m,
        &mut seas,
        Some(&mut errors),
        Some(&mut last),
    );
    if lik.is_nan() || (lik - NA).abs() < 1e-7 {
        return None;
    }
    let np = x0.len() + 1;
    let nf = n as f64;
    let npf = np as f64;
    let aic = lik + 2.0 * npf;
    let bic = lik + nf.ln() * npf;
    let aicc = if n - np - 1 != 0 {
        aic + 2.0 * npf * (npf + 1.0) / (nf - npf - 1.0)
    } else {
        f64::INFINITY
    };
    let sigma2 = errors.iter().map(|e| e * e).sum::<f64>() / (nf - npf - 1.0);
    Some(Fit {
        kind: k,
        m,
        par,
        init: init_full,
        last,
        neg2loglik: lik,
        aic,
        aicc,
        bic,
        sigma2,
        n_params: np,
    })
}

/// Fit the models `spec` allows to `y` (no missing values) with season length `m`
/// and keep the one with the smallest AICc.
pub fn select(y: &[f64], m: usize, spec: Spec) -> Result<Fit, Unfit> {
    let n = y.len();
    if n == 0 {
        return Err(Unfit::NoData);
    }
    let mut bounds = Bounds::default();
    if y.iter().all(|&v| v == y[0]) {
        // A constant series: simple exponential smoothing with α held at 0.9999.
        let k = Kind {
            error: Comp::A,
            trend: Comp::N,
            season: Comp::N,
            damped: false,
        };
        let fixed = Fixed {
            alpha: Some(0.9999),
            ..Fixed::default()
        };
        return fit_kind(y, m, k, fixed, &mut bounds).ok_or(Unfit::TooShort { need: 4 });
    }
    let seasonal_ok = m > 1 && n > m;
    let season = if seasonal_ok {
        spec.season
    } else {
        Some(Comp::N)
    };
    let positive = y.iter().all(|&v| v > 0.0);
    if !positive && (spec.error == Some(Comp::M) || season == Some(Comp::M)) {
        return Err(Unfit::NotPositive);
    }
    let mut npars = 2;
    if matches!(spec.trend, Some(Comp::A | Comp::M)) {
        npars += 2;
    }
    if matches!(season, Some(Comp::A | Comp::M)) {
        npars += 2;
    }
    if spec.damped == Some(true) {
        npars += 1;
    }
    if n <= npars + 4 {
        return Err(Unfit::TooShort { need: npars + 5 });
    }
    let errors = spec.error.map_or(vec![Comp::A, Comp::M], |c| vec![c]);
    let trends = spec.trend.map_or(vec![Comp::N, Comp::A], |c| vec![c]);
    let seasons = season.map_or(vec![Comp::N, Comp::A, Comp::M], |c| vec![c]);
    let dampings = spec.damped.map_or(vec![true, false], |d| vec![d]);
    let mut best: Option<Fit> = None;
    for &error in &errors {
        for &trend in &trends {
            for &season in &seasons {
                for &damped in &dampings {
                    if trend == Comp::N && damped {
                        continue;
                    }
                    if error == Comp::A && (trend == Comp::M || season == Comp::M) {
                        continue;
                    }
                    if error == Comp::M && trend == Comp::M && season == Comp::A {
                        continue;
                    }
                    if !positive && (error == Comp::M || season == Comp::M) {
                        continue;
                    }
                    if season != Comp::N && m == 1 {
                        continue;
                    }
                    let k = Kind {
                        error,
                        trend,
                        season,
                        damped,
                    };
                    let Some(fit) = fit_kind(y, m, k, Fixed::default(), &mut bounds) else {
                        continue;
                    };
                    if !fit.aicc.is_nan() && best.as_ref().is_none_or(|b| fit.aicc < b.aicc) {
                        best = Some(fit);
                    }
                }
            }
        }
    }
    match best {
        Some(b) if b.aicc.is_finite() => Ok(b),
        _ => Err(Unfit::NoFit),
    }
}

/// Point forecasts and, for `levels`, the normal prediction intervals of the fitted
/// model's class.
pub fn forecast(fit: &Fit, h: usize, levels: &[f64]) -> Output {
    let k = fit.kind;
    let phi = if k.damped { fit.par.phi } else { 1.0 };
    let mean = point_forecast(&fit.last, k, phi, fit.m, h);
    let intervals = (!levels.is_empty()).then(|| {
        let var = forecast_variance(fit, &mean);
        let se: Vec<f64> = var.iter().map(|v| v.sqrt()).collect();
        Intervals::normal(&mean, &se, levels)
    });
    Output { mean, intervals }
}

/// The forecast variance at each step (Hyndman et al. 2008, ch. 6).
fn forecast_variance(fit: &Fit, mean: &[f64]) -> Vec<f64> {
    let h = mean.len();
    let Par {
        alpha,
        beta,
        gamma,
        phi,
    } = fit.par;
    let s2 = fit.sigma2;
    let m = fit.m;
    let k = fit.kind;
    let steps: Vec<f64> = (1..=h).map(|j| j as f64).collect();
    // Seasonal step counts: ⌊(j−1)/m⌋ and whether j is a multiple of m.
    let hm = |j: usize| ((j - 1) / m) as f64;
    let d = |j: usize| if j.is_multiple_of(m) { 1.0 } else { 0.0 };
    let sum_phi = |j: usize| (1..=j).map(|i| phi.powi(i as i32)).sum::<f64>();
    match (k.error, k.trend, k.season, k.damped) {
        (Comp::A, trend, season, damped) if season != Comp::M && trend != Comp::M => (1..=h)
            .map(|j| {
                let jf = steps[j - 1];
                let mut v = 1.0;
                match (trend, damped) {
                    (Comp::N, _) => v += alpha * alpha * (jf - 1.0),
                    (_, false) => {
                        v += (jf - 1.0)
                            * (alpha * alpha
                                + alpha * beta * jf
                                + beta * beta * jf * (2.0 * jf - 1.0) / 6.0)
                    }
                    (_, true) => {
                        v += alpha * alpha * (jf - 1.0)
                            + beta * phi * jf / (1.0 - phi).powi(2)
                                * (2.0 * alpha * (1.0 - phi) + beta * phi)
                            - beta * phi * (1.0 - phi.powi(j as i32))
                                / ((1.0 - phi).powi(2) * (1.0 - phi * phi))
                                * (2.0 * alpha * (1.0 - phi * phi)
                                    + beta * phi * (1.0 + 2.0 * phi - phi.powi(j as i32)))
                    }
                }
                if season == Comp::A {
                    let hmj = hm(j);
                    v += gamma * hmj * (2.0 * alpha + gamma);
                    match (trend, damped) {
                        (Comp::A, false) => v += gamma * hmj * beta * m as f64 * (hmj + 1.0),
                        (Comp::A, true) => {
                            let pm = phi.powi(m as i32);
                            v += 2.0 * beta * gamma * phi / ((1.0 - phi) * (1.0 - pm))
                                * (hmj * (1.0 - pm) - pm * (1.0 - pm.powf(hmj)))
                        }
                        _ => {}
                    }
                }
                s2 * v
            })
            .collect(),
        (Comp::M, Comp::N | Comp::A, Comp::N | Comp::A, damped) => {
            let c: Vec<f64> = (1..=h)
                .map(|j| {
                    let trend_part = match (k.trend, damped) {
                        (Comp::N, _) => 0.0,
                        (_, false) => beta * j as f64,
                        (_, true) => beta * sum_phi(j),
                    };
                    let season_part = if k.season == Comp::A {
                        gamma * d(j)
                    } else {
                        0.0
                    };
                    alpha + trend_part + season_part
                })
                .collect();
            let mut theta = vec![0.0; h];
            for j in 0..h {
                let mut acc = 0.0;
                for i in 0..j {
                    acc += c[i] * c[i] * theta[j - 1 - i];
                }
                theta[j] = mean[j] * mean[j] + s2 * acc;
            }
            theta
                .iter()
                .zip(mean)
                .map(|(t, f)| (1.0 + s2) * t - f * f)
                .collect()
        }
        (Comp::M, Comp::N | Comp::A, Comp::M, damped) => class3_variance(fit, h, damped),
        _ => vec![f64::NAN; h],
    }
}

/// Class 3 (multiplicative error and season): the exact moment recursion of Hyndman
/// et al. (2008, §6.5) on the product of the level/trend and seasonal state vectors.
fn class3_variance(fit: &Fit, h: usize, damped: bool) -> Vec<f64> {
    let m = fit.m;
    let Par {
        alpha,
        beta,
        gamma,
        phi,
    } = fit.par;
    let s2 = fit.sigma2;
    let has_t = fit.kind.trend != Comp::N;
    let x = &fit.last;
    let d1 = if has_t { 2 } else { 1 };
    let (h1, f1, g1) = if has_t {
        (
            Mat::from_rows(&[&[1.0, 1.0]]),
            Mat::from_rows(&[&[1.0, 1.0], &[0.0, if damped { phi } else { 1.0 }]]),
            Mat::from_rows(&[&[alpha, alpha], &[beta, beta]]),
        )
    } else {
        (
            Mat::from_rows(&[&[1.0]]),
            Mat::from_rows(&[&[1.0]]),
            Mat::from_rows(&[&[alpha]]),
        )
    };
    let mut h2 = Mat::zeros(1, m);
    h2.set(0, m - 1, 1.0);
    let mut f2 = Mat::zeros(m, m);
    f2.set(0, m - 1, 1.0);
    for i in 1..m {
        f2.set(i, i - 1, 1.0);
    }
    let mut g2 = Mat::zeros(m, m);
    g2.set(0, m - 1, gamma);
    let mut mh = Mat::zeros(d1, m);
    for i in 0..d1 {
        for j in 0..m {
            mh.set(i, j, x[i] * x[d1 + j]);
        }
    }
    let dim = d1 * m;
    let mut vh = Mat::zeros(dim, dim);
    let h21 = h2.kron(&h1);
    let f21 = f2.kron(&f1);
    let g21 = g2.kron(&g1);
    let kk = g2.kron(&f1).add(&f2.kron(&g1));
    let (f21t, g21t, kkt, h21t) = (f21.t(), g21.t(), kk.t(), h21.t());
    let (f2t, g2t) = (f2.t(), g2.t());
    let mut var = Vec::with_capacity(h);
    for _ in 0..h {
        let mu = h1.mul(&mh).mul(&h2.t()).at(0, 0);
        let v = (1.0 + s2) * h21.mul(&vh).mul(&h21t).at(0, 0) + s2 * mu * mu;
        var.push(v);
        // vec(Mh) stacks columns; the Kronecker layout above indexes it that way.
        let mut vec_m = Mat::zeros(dim, 1);
        for j in 0..m {
            for i in 0..d1 {
                vec_m.set(j * d1 + i, 0, mh.at(i, j));
            }
        }
        let mm = vec_m.mul(&vec_m.t());
        let e1 = f21.mul(&vh).mul(&f21t);
        let e2 = f21.mul(&vh).mul(&g21t);
        let e3 = g21.mul(&vh).mul(&f21t);
        let e4 = kk.mul(&vh.add(&mm)).mul(&kkt);
        let e5 = g21
            .scale(s2)
            .mul(&vh.scale(3.0).add(&mm.scale(2.0)))
            .mul(&g21t);
        vh = e1.add(&e2.add(&e3).add(&e4).add(&e5).scale(s2));
        mh = f1.mul(&mh).mul(&f2t).add(&g1.mul(&mh).mul(&g2t).scale(s2));
    }
    var
}
