//! The ETS filter: the objective, errors and final states of a model run over a
//! series, one series or several in SIMD lanes; point forecasts.

use super::*;

/// Run the model over `y` from the states `init` (`l, [b], s_0…s_{m-1}`): the
/// objective `n·log Σe² (+ 2 Σ log|ŷ|)` and, when asked, the errors and final states.
/// The seasonal states live in one history buffer (`seas`, `n + m` long), so no
/// state is copied per step. Dispatches to a copy of the loop compiled for the
/// model's components.
#[allow(clippy::too_many_arguments)]
pub(super) fn filter(
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
pub(super) fn split_binary(v: f64) -> (i64, f64) {
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mant = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    (exp, mant)
}

/// Σ log|f| over a run of values, as one logarithm per 32 values: the mantissas are
/// multiplied and the binary exponents added, so the sum agrees with adding the
/// logarithms one by one to rounding.
pub(super) struct LogSum {
    pub(super) mant: f64,
    pub(super) exp: i64,
    pub(super) count: u32,
    pub(super) extra: f64,
}

impl LogSum {
    pub(super) fn new() -> LogSum {
        LogSum {
            mant: 1.0,
            exp: 0,
            count: 0,
            extra: 0.0,
        }
    }

    #[inline(always)]
    pub(super) fn add(&mut self, v: f64) {
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

    pub(super) fn flush(&mut self) {
        self.extra += self.mant.ln();
        self.mant = 1.0;
        self.count = 0;
    }

    pub(super) fn total(mut self) -> f64 {
        self.flush();
        self.extra + self.exp as f64 * std::f64::consts::LN_2
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(never)]
pub(super) fn filter_as<const ERR_M: bool, const TREND: u8, const SEASON: u8, const REC: bool>(
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
pub(super) fn filter_batch(
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
pub(super) fn filter_lanes<const ERR_M: bool, const TREND: u8>(
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
