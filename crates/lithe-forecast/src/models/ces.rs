//! Complex exponential smoothing (Svetunkov, Kourentzes & Ord, 2022) and AutoCES,
//! which fits the non-seasonal, simple, partial and full seasonal forms and keeps the
//! one with the smallest AICc, as StatsForecast's `AutoCES` does.
//!
//! As StatsForecast: the states start from the first values (or the first season
//! and an additive classical decomposition), each likelihood evaluation runs the
//! series forward, backward and forward again (backcasting the starting states),
//! and the smoothing parameters are found by the same bounded Nelder–Mead on
//! `n·log Σe²`.
//!
//! Prediction intervals: CES is a linear innovations state-space model, so the
//! forecast errors are linear in the future innovations; their coefficients are
//! carried through the model's recursion and give the exact forecast variance
//! (StatsForecast instead perturbs every stored state with noise and simulates).

use super::{Output, Unfit};
use crate::interval::Intervals;
use crate::metrics::decompose_seasonal;
use crate::optim::{LANES, NelderMead};

/// The seasonal form of a CES model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Season {
    /// No season.
    None,
    /// Simple: the complex level itself at lag m.
    Simple,
    /// Partial: a non-seasonal complex level plus a real seasonal component.
    Partial,
    /// Full: a non-seasonal complex level plus a complex seasonal component.
    Full,
}

impl Season {
    pub const ALL: [Season; 4] = [Season::None, Season::Simple, Season::Partial, Season::Full];

    fn components(self) -> usize {
        match self {
            Season::None | Season::Simple => 2,
            Season::Partial => 3,
            Season::Full => 4,
        }
    }

    pub fn code(self) -> char {
        match self {
            Season::None => 'N',
            Season::Simple => 'S',
            Season::Partial => 'P',
            Season::Full => 'F',
        }
    }
}

/// Smoothing parameters: α₀ + iα₁ for the level, β₀ + iβ₁ for the season.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Par {
    pub a0: f64,
    pub a1: f64,
    pub b0: f64,
    pub b1: f64,
}

/// A fitted CES model.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    pub season: Season,
    /// Lag of the seasonal states (1 without a season).
    pub m: usize,
    pub par: Par,
    pub neg2loglik: f64,
    pub aicc: f64,
    pub sigma2: f64,
    /// The last `m` state rows (`components` values each), oldest first.
    last: Vec<f64>,
}

const TOL: f64 = 1e-10;
const NA: f64 = -99999.0;

/// The state rows live in one row-major buffer of `rows × c`.
struct States {
    v: Vec<f64>,
    c: usize,
}

impl States {
    #[inline(always)]
    fn at(&self, i: usize, j: usize) -> f64 {
        self.v[i * self.c + j]
    }

    #[inline(always)]
    fn set(&mut self, i: usize, j: usize, x: f64) {
        self.v[i * self.c + j] = x;
    }
}

/// Row `i`'s one-step forecast from the rows before it.
#[inline(always)]
fn one_step(st: &States, i: usize, m: usize, season: Season) -> f64 {
    match season {
        Season::None => st.at(i - 1, 0),
        Season::Simple => st.at(i - m, 0),
        Season::Partial | Season::Full => st.at(i - 1, 0) + st.at(i - m, 2),
    }
}

/// Fill row `i` from the value `y` (StatsForecast's `cesupdate`).
#[inline(always)]
fn update(st: &mut States, i: usize, m: usize, season: Season, p: &Par, y: f64) {
    let lag = if season == Season::Simple { m } else { 1 };
    let mut e = y - st.at(i - lag, 0);
    if matches!(season, Season::Partial | Season::Full) {
        e -= st.at(i - m, 2);
    }
    let (s0, s1) = (st.at(i - lag, 0), st.at(i - lag, 1));
    st.set(i, 0, s0 - (1.0 - p.a1) * s1 + (p.a0 - p.a1) * e);
    st.set(i, 1, s0 + (1.0 - p.a0) * s1 + (p.a0 + p.a1) * e);
    match season {
        Season::Partial => {
            let v = st.at(i - m, 2) + p.b0 * e;
            st.set(i, 2, v);
        }
        Season::Full => {
            let (s2, s3) = (st.at(i - m, 2), st.at(i - m, 3));
            st.set(i, 2, s2 - (1.0 - p.b1) * s3 + (p.b0 - p.b1) * e);
            st.set(i, 3, s2 + (1.0 - p.b0) * s3 + (p.b0 + p.b1) * e);
        }
        _ => {}
    }
}

/// What the final pass of [`calc`] records for lane 0: every residual, and the last
/// `m` state rows of the data (oldest first, `c` values each), where forecasts start.
struct Record<'a> {
    errors: &'a mut [f64],
    before: &'a mut [f64],
}

/// The likelihood `n·log Σe²` of the last of three passes (forward, backward over
/// the reversed series to backcast the starting rows, forward again), or NA, for
/// [`LANES`] parameter sets at once from the same starting rows. Each lane runs the
/// scalar arithmetic exactly; the lanes' independent recursions overlap in the
/// processor, which pays because one run is bound by its chain of dependent
/// operations. A single fit passes the same parameters in every lane.
fn calc(
    y: &[f64],
    y_rev: &[f64],
    init: &[f64],
    m: usize,
    season: Season,
    pars: &[Par; LANES],
    record: Option<Record>,
) -> [f64; LANES] {
    match season {
        Season::None => calc_as::<0, 2>(y, y_rev, init, m, pars, record),
        Season::Simple => calc_as::<1, 2>(y, y_rev, init, m, pars, record),
        Season::Partial => calc_as::<2, 3>(y, y_rev, init, m, pars, record),
        Season::Full => calc_as::<3, 4>(y, y_rev, init, m, pars, record),
    }
}

/// State rows for all lanes, component-major so each operation runs across the
/// lanes at once.
type Lanes<const C: usize> = [[f64; LANES]; C];

/// The smoothing parameters of the lanes, with the coefficients `step_lanes` uses.
struct LanePar {
    a0_a1: [f64; LANES],
    one_a1: [f64; LANES],
    one_a0: [f64; LANES],
    a0p1: [f64; LANES],
    b0: [f64; LANES],
    b0_b1: [f64; LANES],
    one_b1: [f64; LANES],
    one_b0: [f64; LANES],
    b0p1: [f64; LANES],
}

/// Row `i` from its predecessor `prev` (row `i − 1`) and `lag` (row `i − m`) and the
/// value `y` (StatsForecast's `cesupdate`), in every lane.
#[inline(always)]
fn step_lanes<const S: u8, const C: usize>(
    prev: &Lanes<C>,
    lag: &Lanes<C>,
    p: &LanePar,
    y: [f64; LANES],
) -> Lanes<C> {
    let base = if S == 1 { lag } else { prev };
    let mut out = [[0.0; LANES]; C];
    for j in 0..LANES {
        let mut e = y[j] - base[0][j];
        if S >= 2 {
            e -= lag[2][j];
        }
        out[0][j] = base[0][j] - p.one_a1[j] * base[1][j] + p.a0_a1[j] * e;
        out[1][j] = base[0][j] + p.one_a0[j] * base[1][j] + p.a0p1[j] * e;
        if S == 2 {
            out[2][j] = lag[2][j] + p.b0[j] * e;
        }
        if S == 3 {
            out[2][j] = lag[2][j] - p.one_b1[j] * lag[3][j] + p.b0_b1[j] * e;
            out[3][j] = lag[2][j] + p.one_b0[j] * lag[3][j] + p.b0p1[j] * e;
        }
    }
    out
}

#[inline(always)]
fn forecast_lanes<const S: u8, const C: usize>(prev: &Lanes<C>, lag: &Lanes<C>) -> [f64; LANES] {
    std::array::from_fn(|j| match S {
        0 => prev[0][j],
        1 => lag[0][j],
        _ => prev[0][j] + lag[2][j],
    })
}

#[inline(never)]
fn calc_as<const S: u8, const C: usize>(
    y: &[f64],
    y_rev: &[f64],
    init: &[f64],
    m: usize,
    pars: &[Par; LANES],
    record: Option<Record>,
) -> [f64; LANES] {
    let lp = LanePar {
        a0_a1: pars.map(|p| p.a0 - p.a1),
        one_a1: pars.map(|p| 1.0 - p.a1),
        one_a0: pars.map(|p| 1.0 - p.a0),
        a0p1: pars.map(|p| p.a0 + p.a1),
        b0: pars.map(|p| p.b0),
        b0_b1: pars.map(|p| p.b0 - p.b1),
        one_b1: pars.map(|p| 1.0 - p.b1),
        one_b0: pars.map(|p| 1.0 - p.b0),
        b0p1: pars.map(|p| p.b0 + p.b1),
    };
    let start: Vec<Lanes<C>> = (0..m)
        .map(|k| std::array::from_fn(|c| [init[k * C + c]; LANES]))
        .collect();
    let mut ring: Vec<Lanes<C>> = start.clone();
    let mut trailing: Vec<Lanes<C>> = vec![[[0.0; LANES]; C]; m];
    let (_, na1) = pass_lanes::<S, C>(y, &start, &lp, &mut ring, &mut trailing, None);
    let back: Vec<Lanes<C>> = trailing.iter().rev().copied().collect();
    let (_, na2) = pass_lanes::<S, C>(y_rev, &back, &lp, &mut ring, &mut trailing, None);
    let fwd: Vec<Lanes<C>> = trailing.iter().rev().copied().collect();
    let (sse, na3) = pass_lanes::<S, C>(y, &fwd, &lp, &mut ring, &mut trailing, record);
    let n = y.len() as f64;
    std::array::from_fn(|j| {
        if na1[j] || na2[j] || na3[j] {
            NA
        } else {
            n * sse[j].ln()
        }
    })
}

/// One pass over `y` (forward, or backward over the reversed series) from the `m`
/// starting rows (oldest first), for all lanes: Σe² per lane and whether a lane met
/// the missing-value marker; `trailing` receives the `m` rows forecast past the end.
/// Only `m` rows are kept, in a ring: row `i` needs rows `i − 1` and `i − m`.
#[inline(always)]
fn pass_lanes<const S: u8, const C: usize>(
    y: &[f64],
    start: &[Lanes<C>],
    lp: &LanePar,
    ring: &mut [Lanes<C>],
    trailing: &mut [Lanes<C>],
    mut record: Option<Record>,
) -> ([f64; LANES], [bool; LANES]) {
    let m = start.len();
    ring.copy_from_slice(start);
    let mut prev = ring[m - 1];
    let mut slot = 0;
    let mut sse = [0.0; LANES];
    let mut na = [false; LANES];
    for (t, &yt) in y.iter().enumerate() {
        let lag = ring[slot];
        let f = forecast_lanes::<S, C>(&prev, &lag);
        for j in 0..LANES {
            na[j] |= (f[j] - NA).abs() < TOL;
            let e = yt - f[j];
            sse[j] += e * e;
        }
        if let Some(r) = record.as_mut() {
            r.errors[t] = yt - f[0];
        }
        let new = step_lanes::<S, C>(&prev, &lag, lp, [yt; LANES]);
        ring[slot] = new;
        prev = new;
        slot += 1;
        if slot == m {
            slot = 0;
        }
    }
    if let Some(r) = record {
        // Rows n..n+m, oldest first: the oldest sits in the current slot.
        for k in 0..m {
            let row = &ring[(slot + k) % m];
            for (dst, comp) in r.before[k * C..(k + 1) * C].iter_mut().zip(row) {
                *dst = comp[0];
            }
        }
    }
    for t in trailing.iter_mut() {
        let lag = ring[slot];
        let f = forecast_lanes::<S, C>(&prev, &lag);
        let new = step_lanes::<S, C>(&prev, &lag, lp, f);
        ring[slot] = new;
        *t = new;
        prev = new;
        slot += 1;
        if slot == m {
            slot = 0;
        }
    }
    (sse, na)
}

/// The starting rows (`m` of them, `c` values each).
fn initial_states(y: &[f64], m: usize, season: Season) -> Vec<f64> {
    let c = season.components();
    let mut st = vec![0.0; m * c];
    match season {
        Season::None => {
            let k = 10.max(m).min(y.len());
            let mean = y[..k].iter().sum::<f64>() / k as f64;
            st[0] = mean;
            st[1] = mean / 1.1;
        }
        Season::Simple => {
            for i in 0..m {
                st[i * c] = y[i];
                st[i * c + 1] = y[i] / 1.1;
            }
        }
        Season::Partial | Season::Full => {
            let mean = y[..m].iter().sum::<f64>() / m as f64;
            let seasonal = decompose_seasonal(y, m, false);
            for i in 0..m {
                st[i * c] = mean;
                st[i * c + 1] = mean / 1.1;
                st[i * c + 2] = seasonal[i];
                if season == Season::Full {
                    st[i * c + 3] = seasonal[i] / 1.1;
                }
            }
        }
    }
    st
}

/// Fit one seasonal form (`m` is the season length; ignored without a season).
pub fn fit(y: &[f64], m: usize, season: Season) -> Fit {
    let m = if season == Season::None { 1 } else { m };
    let n = y.len();
    let c = season.components();
    let init = initial_states(y, m, season);
    let (x0, lo, hi): (Vec<f64>, Vec<f64>, Vec<f64>) = match season {
        Season::None | Season::Simple => (vec![1.3, 1.0], vec![0.01; 2], vec![1.8, 1.9]),
        Season::Partial => (vec![1.3, 1.0, 0.1], vec![0.01; 3], vec![1.8, 1.9, 1.5]),
        Season::Full => (
            vec![1.3, 1.0, 1.3, 1.0],
            vec![0.01; 4],
            vec![1.8, 1.9, 1.5, 1.5],
        ),
    };
    let unpack = |x: &[f64]| Par {
        a0: x[0],
        a1: x[1],
        b0: x.get(2).copied().unwrap_or(f64::NAN),
        b1: x.get(3).copied().unwrap_or(f64::NAN),
    };
    let y_rev: Vec<f64> = y.iter().rev().copied().collect();
    let batch = |xs: &[&[f64]; LANES], out: &mut [f64; LANES]| {
        let pars: [Par; LANES] = std::array::from_fn(|j| unpack(xs[j]));
        let liks = calc(y, &y_rev, &init, m, season, &pars, None);
        for (o, lik) in out.iter_mut().zip(liks) {
            *o = if lik.is_nan() || (lik - NA).abs() < 1e-7 {
                f64::NEG_INFINITY
            } else {
                lik.max(-1e10)
            };
        }
    };
    let best = NelderMead::default().minimize_batch(batch, &x0, &lo, &hi);
    let par = unpack(&best.x);
    let mut errors = vec![f64::NAN; n];
    let mut last = vec![0.0; m * c];
    let record = Record {
        errors: &mut errors,
        before: &mut last,
    };
    let lik = calc(y, &y_rev, &init, m, season, &[par; LANES], Some(record))[0];
    let lik = if (lik - NA).abs() < 1e-7 {
        f64::NAN
    } else {
        lik
    };
    let np = (c + 1) as f64;
    let nf = n as f64;
    let aic = lik + 2.0 * np;
    let aicc = if nf - np - 1.0 != 0.0 {
        aic + 2.0 * np * (np + 1.0) / (nf - np - 1.0)
    } else {
        f64::INFINITY
    };
    let sigma2 = errors.iter().map(|e| e * e).sum::<f64>() / (nf - np - 1.0);
    Fit {
        season,
        m,
        par,
        neg2loglik: lik,
        aicc,
        sigma2,
        last,
    }
}

/// Point forecasts and their standard errors: the recursion run on with each
/// forecast as the value, carrying every state's coefficients on the future
/// innovations.
pub fn predict(fit: &Fit, h: usize) -> (Vec<f64>, Vec<f64>) {
    let (m, season, p) = (fit.m, fit.season, fit.par);
    let c = season.components();
    let mut st = States {
        v: vec![0.0; (m + h) * c],
        c,
    };
    st.v[..m * c].copy_from_slice(&fit.last);
    // Coefficients: one States-shaped buffer per future innovation.
    let mut coef: Vec<States> = (0..h)
        .map(|_| States {
            v: vec![0.0; (m + h) * c],
            c,
        })
        .collect();
    let mut mean = Vec::with_capacity(h);
    let mut se = Vec::with_capacity(h);
    let sigma = fit.sigma2.sqrt();
    for k in 0..h {
        let i = m + k;
        let f = one_step(&st, i, m, season);
        mean.push(f);
        update(&mut st, i, m, season, &p, f);
        let mut var = 0.0;
        for (j, cj) in coef.iter_mut().enumerate() {
            // Coefficient of innovation j on this step's value: its effect on the
            // one-step forecast, plus 1 for its own step.
            let d = one_step(cj, i, m, season) + if j == k { 1.0 } else { 0.0 };
            var += d * d;
            // The update is linear in (states, value) with no constant term.
            update(cj, i, m, season, &p, d);
        }
        se.push(sigma * var.sqrt());
    }
    (mean, se)
}

/// Fit the seasonal forms allowed (all four for `None`) and forecast with the one
/// of smallest AICc.
pub fn forecast(
    y: &[f64],
    h: usize,
    m: usize,
    form: Option<Season>,
    levels: &[f64],
) -> Result<Output, Unfit> {
    let n = y.len();
    let seasonal_ok = m > 1 && n >= 2 * m;
    let forms: Vec<Season> = match form {
        _ if !seasonal_ok => vec![Season::None],
        None => Season::ALL.to_vec(),
        Some(f) => vec![f],
    };
    let npars = match (seasonal_ok, form) {
        (false, _) => 2,
        (true, None) | (true, Some(Season::Full)) => 4,
        (true, Some(Season::Partial)) => 3,
        _ => 2,
    };
    if n <= npars {
        return Err(Unfit::TooShort { need: npars + 1 });
    }
    let mut best: Option<Fit> = None;
    for f in forms {
        let fit = fit(y, m, f);
        if !fit.aicc.is_nan() && best.as_ref().is_none_or(|b| fit.aicc < b.aicc) {
            best = Some(fit);
        }
    }
    let best = match best {
        Some(b) if b.aicc.is_finite() => b,
        _ => return Err(Unfit::NoFit),
    };
    let (mean, se) = predict(&best, h);
    let intervals = (!levels.is_empty()).then(|| Intervals::normal(&mean, &se, levels));
    Ok(Output { mean, intervals })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_errors_match_simulated_paths() {
        let y: Vec<f64> = (0..80)
            .map(|t| 100.0 + 10.0 * ((t % 12) as f64 - 5.5).abs() + ((t * 7919) % 17) as f64 / 4.0)
            .collect();
        let mut normal = super::super::test_normals(99);
        for season in Season::ALL {
            let fit = fit(&y, 12, season);
            let h = 15;
            let (mean, se) = predict(&fit, h);
            let paths = 20000;
            let mut sq = vec![0.0; h];
            let c = season.components();
            let m = fit.m;
            let sigma = fit.sigma2.sqrt();
            for _ in 0..paths {
                let mut st = States {
                    v: vec![0.0; (m + h) * c],
                    c,
                };
                st.v[..m * c].copy_from_slice(&fit.last);
                for k in 0..h {
                    let i = m + k;
                    let v = one_step(&st, i, m, season) + sigma * normal();
                    sq[k] += (v - mean[k]).powi(2);
                    update(&mut st, i, m, season, &fit.par, v);
                }
            }
            for k in 0..h {
                let sim = (sq[k] / paths as f64).sqrt();
                assert!(
                    (sim / se[k] - 1.0).abs() < 0.03,
                    "{season:?} step {k}: {sim} vs {}",
                    se[k]
                );
            }
        }
    }
}
