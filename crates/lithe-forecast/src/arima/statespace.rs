//! The state-space form and its Kalman filter: the exact Gaussian likelihood with a
//! diffuse prior on the differencing states.

use super::*;

/// The state-space form of an ARIMA model and its Kalman filter state.
#[derive(Debug, Clone)]
pub struct StateSpace {
    pub phi: Vec<f64>,
    pub theta: Vec<f64>,
    pub delta: Vec<f64>,
    /// ARMA block size `max(p, q + 1)`.
    pub r: usize,
    /// State mean and covariance (row-major `rd × rd`).
    pub a: Vec<f64>,
    pub p: Vec<f64>,
    /// Prior covariance of the state for the next observation.
    pub pn: Vec<f64>,
}

/// The differencing weights of `1 − B`, `(1 − B)²` and none.
pub(super) const ONE_DIFF: [f64; 1] = [1.0];
pub(super) const TWO_DIFFS: [f64; 2] = [2.0, -1.0];
pub(super) const NO_DIFF: [f64; 0] = [];

/// The non-zero entries, by state index, of differencing weights `d` (none zero) after
/// an ARMA block of `r` states.
pub(super) const fn weights_at<const N: usize>(r: usize, d: [f64; N]) -> [(usize, f64); N] {
    let mut out = [(0, 0.0); N];
    let mut k = 0;
    while k < N {
        out[k] = (r + k, d[k]);
        k += 1;
    }
    out
}

/// `$go!(rd, r, dnz)` for a model with `rd` states, an ARMA block of `r` and the
/// differencing weights' non-zero entries `dnz` (by state index), with what it can
/// fixed at compile time, so that the compiler unrolls the loops: for a non-seasonal
/// model with up to 8 states and up to two differences, all three (the products by the
/// weights 1 and −1 then compile to nothing and a subtraction: the same bits); for
/// other states of up to 8, the state size.
macro_rules! sized {
    ($rd:expr, $r:expr, $dnz:expr, $go:ident) => {
        sized!(@table $rd, $r, $dnz, $go, match $rd {
            2 => $go!(2, $r, $dnz),
            3 => $go!(3, $r, $dnz),
            4 => $go!(4, $r, $dnz),
            5 => $go!(5, $r, $dnz),
            6 => $go!(6, $r, $dnz),
            7 => $go!(7, $r, $dnz),
            8 => $go!(8, $r, $dnz),
            rd => $go!(rd, $r, $dnz),
        };
            (1, 1, NO_DIFF), (2, 2, NO_DIFF), (3, 3, NO_DIFF), (4, 4, NO_DIFF),
            (5, 5, NO_DIFF), (6, 6, NO_DIFF), (7, 7, NO_DIFF), (8, 8, NO_DIFF),
            (2, 1, ONE_DIFF), (3, 2, ONE_DIFF), (4, 3, ONE_DIFF), (5, 4, ONE_DIFF),
            (6, 5, ONE_DIFF), (7, 6, ONE_DIFF), (8, 7, ONE_DIFF), (3, 1, TWO_DIFFS),
            (4, 2, TWO_DIFFS), (5, 3, TWO_DIFFS), (6, 4, TWO_DIFFS), (7, 5, TWO_DIFFS),
            (8, 6, TWO_DIFFS))
    };
    (@table $rd:expr, $r:expr, $dnz:expr, $go:ident, $other:expr;
        $(($a:literal, $b:literal, $d:ident)),*) => {
        match ($rd, $r) {
            $(($a, $b) if $dnz[..] == weights_at($b, $d)[..] => {
                $go!($a, $b, &weights_at($b, $d))
            })*
            _ => $other,
        }
    };
}

/// `z·x`: the observation of a state `x`, its ARMA level plus the differencing
/// weights' non-zero entries `dnz` (by state index) times their states.
#[inline(always)]
pub(super) fn z_dot(x: &[f64], dnz: &[(usize, f64)]) -> f64 {
    x[0] + dnz.iter().map(|&(i, d)| d * x[i]).sum::<f64>()
}

/// Folds `|a − b|` and `|b|` entry by entry into four running maxima each (lane `k`
/// takes the entries `k mod 4`), so the loop runs four lanes wide.
#[inline(always)]
pub(super) fn max_change(a: &[f64], b: &[f64], change: &mut [f64; 4], size: &mut [f64; 4]) {
    let n = a.len().min(b.len());
    let mut k = 0;
    while k + 4 <= n {
        for l in 0..4 {
            let d = (a[k + l] - b[k + l]).abs();
            change[l] = if d > change[l] { d } else { change[l] };
            let v = b[k + l].abs();
            size[l] = if v > size[l] { v } else { size[l] };
        }
        k += 4;
    }
    for k in k..n {
        let d = (a[k] - b[k]).abs();
        change[0] = if d > change[0] { d } else { change[0] };
        let v = b[k].abs();
        size[0] = if v > size[0] { v } else { size[0] };
    }
}

/// One observed value's share of a filter pass: its innovation `e` with variance `F`
/// into the sums `(Σ e²/F, Σ log F, n)` (left out while `F` is 1e4 or more, the diffuse
/// start), its standardised innovation into `resid`, and the mean update
/// `a = anew + m e / F`.
#[inline(always)]
pub(super) fn absorb(
    a: &mut [f64],
    anew: &[f64],
    m: &[f64],
    e: f64,
    gain: f64,
    (ssq, sumlog, nu): &mut (f64, f64, usize),
    resid: Option<&mut Vec<f64>>,
) {
    if gain < 1e4 {
        *nu += 1;
        *ssq += if gain == 0.0 {
            f64::INFINITY
        } else {
            e * e / gain
        };
        *sumlog += gain.ln();
    }
    if let Some(rs) = resid {
        rs.push(if gain == 0.0 {
            f64::INFINITY
        } else {
            e / gain.sqrt()
        });
    }
    for ((a, an), mi) in a.iter_mut().zip(anew).zip(m) {
        *a = an + mi * e / gain;
    }
}

impl StateSpace {
    /// The model with its prior: the stationary covariance for the ARMA block and
    /// `KAPPA` on the differencing states.
    pub fn new(phi: &[f64], theta: &[f64], delta: &[f64]) -> StateSpace {
        let r = phi.len().max(theta.len() + 1);
        let rd = r + delta.len();
        let mut pn = vec![0.0; rd * rd];
        let q = q0(phi, theta);
        for i in 0..r {
            for j in 0..r {
                pn[i * rd + j] = q[i * r + j];
            }
        }
        for i in r..rd {
            pn[i * rd + i] = KAPPA;
        }
        StateSpace {
            phi: phi.to_vec(),
            theta: theta.to_vec(),
            delta: delta.to_vec(),
            r,
            a: vec![0.0; rd],
            p: vec![0.0; rd * rd],
            pn,
        }
    }

    pub(super) fn rd(&self) -> usize {
        self.a.len()
    }

    /// The one-step prediction of the state and its covariance (`T a`, `T P Tᵀ + V`).
    pub fn predict(&self, anew: &mut [f64], pnew: &mut [f64]) {
        let dnz = self.delta_nonzeros();
        let mut row = vec![0.0; self.rd()];
        self.apply_t(&self.a, anew, &dnz);
        self.next_cov(&self.phi_padded(), &self.p, pnew, &mut row, &dnz, None);
    }

    /// `φ` padded with zeros to the ARMA block size `r`.
    pub(super) fn phi_padded(&self) -> Vec<f64> {
        let mut phi = vec![0.0; self.r];
        phi[..self.phi.len()].copy_from_slice(&self.phi);
        phi
    }

    /// The differencing weights' non-zero entries, by the state index they read.
    pub(super) fn delta_nonzeros(&self) -> Vec<(usize, f64)> {
        self.delta
            .iter()
            .enumerate()
            .filter(|&(_, &d)| d != 0.0)
            .map(|(k, &d)| (self.r + k, d))
            .collect()
    }

    /// Run the filter over `y` from the current prior (`pn` for the first
    /// observation): `(Σ e²/F, Σ log F, n)` over the observations whose prediction
    /// variance `F` is below 1e4 (the diffuse start is left out), and the standardised
    /// innovations when `resid` is given. Afterwards `a`, `p` hold the filtered state
    /// at the end and `pn` the last prediction covariance.
    ///
    /// One pass over the covariance per observation: the next prediction covariance is
    /// `T P Tᵀ + R Rᵀ − (T m)(T m)ᵀ / F` straight from this one (`m = P z`), without
    /// forming the filtered covariance in between, and `T`'s rows are read as what they
    /// are (a companion block, the differencing weights, a shift), the weights by their
    /// non-zero entries.
    pub fn likelihood(&mut self, y: &[f64], resid: Option<&mut Vec<f64>>) -> (f64, f64, usize) {
        self.pass(y, resid, None)
    }

    /// [`Self::likelihood`] up to the point where the covariance is held, when it is:
    /// the rest of the pass, which updates the mean only, is left to
    /// [`finish_passes`], which runs several passes' rests side by side. `a` is the
    /// state where the pass stopped; `pn` and `p` are as after the whole pass.
    pub fn likelihood_deferred(&mut self, y: &[f64]) -> Deferred {
        let mut steady = None;
        let sums = self.pass(y, None, Some(&mut steady));
        let dnz = self.delta_nonzeros();
        Deferred {
            sums,
            rest: steady.map(|(from, m, gain): (usize, Vec<f64>, f64)| Rest {
                from,
                k: m.iter().map(|v| v / gain).collect(),
                gain,
                a: self.a.clone(),
                phi: self.phi.clone(),
                r: self.r,
                dnz,
            }),
        }
    }

    /// One filter pass; with `defer`, a held covariance ends it early with `(the index
    /// of the next observation, m, F)` in `defer`. On processors with AVX2 the pass is
    /// compiled four lanes wide (no fused multiply-add: the same bits either way).
    pub(super) fn pass(
        &mut self,
        y: &[f64],
        resid: Option<&mut Vec<f64>>,
        defer: Defer,
    ) -> (f64, f64, usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2.
            return unsafe { self.pass_avx2(y, resid, defer) };
        }
        self.pass_any(y, resid, defer)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    pub(super) fn pass_avx2(
        &mut self,
        y: &[f64],
        resid: Option<&mut Vec<f64>>,
        defer: Defer,
    ) -> (f64, f64, usize) {
        self.pass_any(y, resid, defer)
    }

    /// Large states (seasonal models) update the covariance in place
    /// ([`Self::likelihood_in_place`]). Small ones (every non-seasonal model: at most
    /// 8) get a copy of the structured pass with the sizes fixed, which the compiler
    /// unrolls: the state and, for up to two differences, the ARMA block and the
    /// differencing weights (`1 − B` or `(1 − B)²`, whose products by 1 and −1 then
    /// compile to nothing and a subtraction: the same bits).
    #[inline(always)]
    pub(super) fn pass_any(
        &mut self,
        y: &[f64],
        resid: Option<&mut Vec<f64>>,
        defer: Defer,
    ) -> (f64, f64, usize) {
        if self.rd() > 8 {
            return self.likelihood_in_place(y, resid, defer);
        }
        macro_rules! go {
            ($rd:expr, $r:expr, $dnz:expr) => {
                self.likelihood_sized($rd, $r, $dnz, y, resid, defer)
            };
        }
        let dnz = self.delta_nonzeros();
        sized!(self.rd(), self.r, &dnz[..], go)
    }

    /// The filter of [`Self::likelihood_sized`] with the prediction covariance kept in
    /// one matrix updated in place, for large states.
    ///
    /// Stored with the ARMA block in reverse (ARMA state `i` at `r − 1 − i`, the
    /// differencing states after it as they are), the transition is a shift down by
    /// one plus two sparse terms: `T = S + c e_{r−1}ᵀ + e_r δᵀ`, with `c` the AR
    /// coefficients (reversed) and `δ` the differencing weights. The matrix is stored
    /// circularly, entry `(i, j)` at `((i + o) mod rd, (j + o) mod rd)`, so `S P Sᵀ`
    /// costs nothing: the offset `o` moves back by one and the row and column that
    /// wrap around are cleared. What is left of `T P Tᵀ + R Rᵀ − u uᵀ/F` is
    /// `c αᵀ + α cᵀ + e_r βᵀ + β e_rᵀ + v vᵀ − u uᵀ/F`, with `g = P e_{r−1}`,
    /// `h = P δ`, `α = S g + (g_{r−1}/2) c + (δ·g) e_r`, `β = S h + (δ·h / 2) e_r`,
    /// `v = (1, θ)` (reversed) and `u = T m`: rows and columns where `c` is not zero,
    /// and one dense rank-one update, where the structured pass reads one matrix and
    /// writes another with three operations an entry.
    #[inline(always)]
    pub(super) fn likelihood_in_place(
        &mut self,
        y: &[f64],
        mut resid: Option<&mut Vec<f64>>,
        defer: Defer,
    ) -> (f64, f64, usize) {
        let (r, rd) = (self.r, self.rd());
        if y.is_empty() {
            return (0.0, 0.0, 0);
        }
        let dnz = self.delta_nonzeros();
        let perm = |i: usize| if i < r { r - 1 - i } else { i };
        let cnz: Vec<(usize, f64)> = (self.phi.iter().enumerate())
            .filter(|&(_, &p)| p != 0.0)
            .map(|(i, &p)| (r - 1 - i, p))
            .collect();
        let vnz: Vec<(usize, f64)> = std::iter::once((r - 1, 1.0))
            .chain(
                (self.theta.iter().enumerate())
                    .filter(|&(_, &t)| t != 0.0)
                    .map(|(k, &t)| (r - 2 - k, t)),
            )
            .collect();
        // The covariance, circularly stored with offset `o`.
        let mut cm = vec![0.0; rd * rd];
        let mut o = 0usize;
        for i in 0..rd {
            for j in 0..rd {
                cm[perm(i) * rd + perm(j)] = self.pn[i * rd + j];
            }
        }
        let to_standard = |cm: &[f64], o: usize| {
            let mut p = vec![0.0; rd * rd];
            for i in 0..rd {
                let row = (perm(i) + o) % rd * rd;
                for j in 0..rd {
                    p[i * rd + j] = cm[row + (perm(j) + o) % rd];
                }
            }
            p
        };
        let mut anew = vec![0.0; rd];
        let (mut gp, mut hp, mut mp, mut up) =
            (vec![0.0; rd], vec![0.0; rd], vec![0.0; rd], vec![0.0; rd]);
        let mut m = vec![0.0; rd];
        let mut snap = vec![0.0; rd * rd];
        let mut sums = (0.0, 0.0, 0usize);
        let after_gaps = y.iter().rposition(|v| v.is_nan()).map_or(0, |i| i + 1);
        let (mut gain, mut dm) = (0.0, 0.0);
        // Storage index of state `i < rd` at offset `o < rd` (no division).
        let at = |i: usize, o: usize| if i + o >= rd { i + o - rd } else { i + o };
        for (l, &yl) in y.iter().enumerate() {
            let ph = |i: usize| at(i, o);
            self.apply_t_sized(rd, r, &self.a, &mut anew, &dnz);
            let last = l + 1 == y.len();
            let observed = !yl.is_nan();
            // g = P e_{r−1} (a row, P being symmetric), h = P δ, m = P z = g + h.
            let row = |i: usize| &cm[ph(i) * rd..(ph(i) + 1) * rd];
            gp.copy_from_slice(row(r - 1));
            mp.copy_from_slice(&gp);
            hp.iter_mut().for_each(|v| *v = 0.0);
            for &(k, d) in &dnz {
                for ((mv, hv), c) in mp.iter_mut().zip(hp.iter_mut()).zip(row(k)) {
                    *mv += d * c;
                    *hv += d * c;
                }
            }
            if observed {
                dm = dnz.iter().map(|&(k, d)| d * mp[ph(k)]).sum::<f64>();
                gain = mp[ph(r - 1)] + dm;
                for (i, mi) in m.iter_mut().enumerate() {
                    *mi = mp[ph(perm(i))];
                }
                let e = yl - z_dot(&anew, &dnz);
                absorb(
                    &mut self.a,
                    &anew,
                    &m,
                    e,
                    gain,
                    &mut sums,
                    resid.as_deref_mut(),
                );
            } else {
                self.a.copy_from_slice(&anew);
                if let Some(rs) = resid.as_deref_mut() {
                    rs.push(f64::NAN);
                }
            }
            if last {
                let p = to_standard(&cm, o);
                self.finish(&p, observed.then_some((&m[..], gain)));
                self.pn = p;
                break;
            }
            let check = observed && l >= after_gaps && l % 8 == 7;
            if check {
                snap.copy_from_slice(&cm);
            }
            let s = gp[ph(r - 1)];
            let w: f64 = dnz.iter().map(|&(k, d)| d * gp[ph(k)]).sum();
            let t: f64 = dnz.iter().map(|&(k, d)| d * hp[ph(k)]).sum();
            let m_last = mp[ph(r - 1)];
            // The shift: the offset moves back by one; the row and column that wrap
            // around (the dropped last state) become the new first one, zero.
            o = if o == 0 { rd - 1 } else { o - 1 };
            let ph = |i: usize| at(i, o);
            let z0 = o;
            cm[z0 * rd..(z0 + 1) * rd].iter_mut().for_each(|v| *v = 0.0);
            for i in 0..rd {
                cm[i * rd + z0] = 0.0;
            }
            // α = S g + (s/2) c + w e_r and β = S h + (t/2) e_r, in storage order (the
            // shift is the offset's); u = S m + m_{r−1} c + (δ·m) e_r.
            gp[z0] = 0.0;
            hp[z0] = 0.0;
            for &(j, cj) in &cnz {
                gp[ph(j)] += 0.5 * s * cj;
            }
            // (Without differencing states there is no row r: w, t, h and δ·m are 0.)
            let pr = (rd > r).then(|| ph(r));
            if let Some(pr) = pr {
                gp[pr] += w;
                hp[pr] += 0.5 * t;
            }
            for &(j, cj) in &cnz {
                let pj = ph(j);
                for (x, a) in cm[pj * rd..(pj + 1) * rd].iter_mut().zip(&gp) {
                    *x += cj * a;
                }
                for (i, a) in gp.iter().enumerate() {
                    cm[i * rd + pj] += cj * a;
                }
            }
            if let Some(pr) = pr {
                for (x, b) in cm[pr * rd..(pr + 1) * rd].iter_mut().zip(&hp) {
                    *x += b;
                }
                for (i, b) in hp.iter().enumerate() {
                    cm[i * rd + pr] += b;
                }
            }
            for &(a, va) in &vnz {
                for &(b, vb) in &vnz {
                    cm[ph(a) * rd + ph(b)] += va * vb;
                }
            }
            if observed {
                up.copy_from_slice(&mp);
                up[z0] = 0.0;
                for &(j, cj) in &cnz {
                    up[ph(j)] += m_last * cj;
                }
                if let Some(pr) = pr {
                    up[pr] += dm;
                }
                for (i, ui) in up.iter().enumerate() {
                    let f = ui / gain;
                    for (x, uj) in cm[i * rd..(i + 1) * rd].iter_mut().zip(&up) {
                        *x -= f * uj;
                    }
                }
            }
            // Held once it stops changing, as in the structured pass: entry (i, j) is
            // now one row and one column back from where it was.
            let steady = check && {
                // (Four running maxima, so the loop runs four lanes wide.)
                let (mut change, mut size) = ([0.0f64; 4], [0.0f64; 4]);
                for i in 0..rd {
                    let (old, new) = (&snap[(i + 1) % rd * rd..][..rd], &cm[i * rd..][..rd]);
                    max_change(&old[1..], &new[..rd - 1], &mut change, &mut size);
                    max_change(&old[..1], &new[rd - 1..], &mut change, &mut size);
                }
                let top = |v: [f64; 4]| {
                    v.into_iter()
                        .fold(0.0, |m: f64, x| if x > m { x } else { m })
                };
                top(change) <= 1e-12 * top(size)
            };
            if steady {
                let held = (l + 1, &m[..], gain);
                sums = self.steady_tail(rd, r, y, held, &dnz, sums, resid, defer);
                let p = to_standard(&cm, o);
                self.finish(&p, Some((&m[..], gain)));
                self.pn = p;
                break;
            }
        }
        sums
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn likelihood_sized(
        &mut self,
        rd: usize,
        r: usize,
        dnz: &[(usize, f64)],
        y: &[f64],
        mut resid: Option<&mut Vec<f64>>,
        defer: Defer,
    ) -> (f64, f64, usize) {
        // The observation reads the ARMA level and the differencing states
        // (`dnz`: the differencing weights' non-zero entries, by state index).
        let zdot = |x: &[f64]| z_dot(x, dnz);
        // (Every buffer is sliced to its size, so with the sizes fixed the loops over
        // them have known trip counts.)
        let (mut anew, mut m, mut u) = (vec![0.0; rd], vec![0.0; rd], vec![0.0; rd]);
        let (anew, m, u) = (&mut anew[..rd], &mut m[..rd], &mut u[..rd]);
        let mut cur = std::mem::take(&mut self.pn);
        let mut next = vec![0.0; rd * rd];
        let mut row = vec![0.0; rd];
        let phi_pad = self.phi_padded();
        let rr = self.noise_block(r);
        let mut sums = (0.0, 0.0, 0usize);
        // Once the prediction covariance stops changing (to 1e-12 of its largest entry)
        // and no missing value lies ahead, it stays: the rest of the pass updates the
        // mean only ([`Self::steady_tail`]).
        let after_gaps = y.iter().rposition(|v| v.is_nan()).map_or(0, |i| i + 1);
        let mut gain = 0.0;
        for (l, &yl) in y.iter().enumerate() {
            self.apply_t_sized(rd, r, &self.a, anew, dnz);
            let last = l + 1 == y.len();
            let observed = !yl.is_nan();
            if observed {
                // m = P z, by rows (P is symmetric).
                m.copy_from_slice(&cur[..rd]);
                for &(k, d) in dnz {
                    for (mi, c) in m.iter_mut().zip(&cur[k * rd..(k + 1) * rd]) {
                        *mi += d * c;
                    }
                }
                gain = zdot(m);
                let e = yl - zdot(anew);
                absorb(
                    &mut self.a[..rd],
                    anew,
                    m,
                    e,
                    gain,
                    &mut sums,
                    resid.as_deref_mut(),
                );
            } else {
                self.a.copy_from_slice(anew);
                if let Some(rs) = resid.as_deref_mut() {
                    rs.push(f64::NAN);
                }
            }
            if last {
                self.finish(&cur, observed.then_some((&m[..], gain)));
                break;
            }
            if observed {
                self.apply_t_sized(rd, r, m, u, dnz);
            }
            self.next_cov_sized(
                rd,
                r,
                &phi_pad,
                &cur,
                &mut next,
                &mut row,
                dnz,
                observed.then_some((&u[..], gain)),
                (rr.0, &rr.1),
            );
            let steady = observed && l >= after_gaps && l % 8 == 7 && {
                let (mut change, mut size) = (0.0f64, 0.0f64);
                for (a, b) in cur[..rd * rd].iter().zip(&next[..rd * rd]) {
                    let d = (a - b).abs();
                    change = if d > change { d } else { change };
                    size = if b.abs() > size { b.abs() } else { size };
                }
                change <= 1e-12 * size
            };
            std::mem::swap(&mut cur, &mut next);
            if steady {
                // The rest of the pass updates the mean only, with this step's gain.
                let held = (l + 1, &m[..], gain);
                sums = self.steady_tail(rd, r, y, held, dnz, sums, resid, defer);
                self.finish(&cur, Some((&m[..], gain)));
                break;
            }
        }
        self.pn = cur;
        sums
    }

    /// The filtered covariance at the end of a pass: the prediction covariance `cur`,
    /// less `m mᵀ / F` when the last value was observed (`update = Some((m, F))`).
    pub(super) fn finish(&mut self, cur: &[f64], update: Option<(&[f64], f64)>) {
        let rd = self.rd();
        self.p.copy_from_slice(cur);
        if let Some((m, gain)) = update {
            for i in 0..rd {
                let f = m[i] / gain;
                for (pv, mj) in self.p[i * rd..(i + 1) * rd].iter_mut().zip(m) {
                    *pv -= f * mj;
                }
            }
        }
    }

    /// The filter's mean updates over `y[from..]` (no missing values) once the
    /// covariance is held (`held = (from, m, F)`: `m = P z` and `F` are fixed;
    /// [`tail_steps`] for one pass), continuing the sums `(Σ e²/F, Σ log F, n)`. With
    /// `defer`, they are left to [`finish_passes`]: `held` goes into it instead.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn steady_tail(
        &mut self,
        rd: usize,
        r: usize,
        y: &[f64],
        (from, m, gain): (usize, &[f64], f64),
        dnz: &[(usize, f64)],
        sums: (f64, f64, usize),
        resid: Option<&mut Vec<f64>>,
        defer: Defer,
    ) -> (f64, f64, usize) {
        if let Some(slot) = defer {
            *slot = Some((from, m.to_vec(), gain));
            return sums;
        }
        let y = &y[from..];
        let k: Vec<f64> = m[..rd].iter().map(|v| v / gain).collect();
        let (phi, a) = (&self.phi, &mut self.a[..rd]);
        tail_one(rd, r, dnz, phi, &k, gain, a, y, sums, resid)
    }

    /// `out = T x` for a state vector `x` (`dnz`: the differencing weights' non-zero
    /// entries, by state index).
    pub(super) fn apply_t(&self, x: &[f64], out: &mut [f64], dnz: &[(usize, f64)]) {
        self.apply_t_sized(self.rd(), self.r, x, out, dnz);
    }

    /// [`Self::apply_t`] for a state of `rd` entries.
    #[inline(always)]
    pub(super) fn apply_t_sized(
        &self,
        rd: usize,
        r: usize,
        x: &[f64],
        out: &mut [f64],
        dnz: &[(usize, f64)],
    ) {
        let (x, out) = (&x[..rd], &mut out[..rd]);
        for i in 0..r {
            let mut v = if i + 1 < r { x[i + 1] } else { 0.0 };
            if let Some(ph) = self.phi.get(i) {
                v += ph * x[0];
            }
            out[i] = v;
        }
        if rd > r {
            let mut v = x[0];
            for &(k, d) in dnz {
                v += d * x[k];
            }
            out[r] = v;
            out[r + 1..rd].copy_from_slice(&x[r..rd - 1]);
        }
    }

    /// `next = T cur Tᵀ + R Rᵀ`, less `u uᵀ / F` for `update = Some((u, F))`; `row` is
    /// scratch for one row of `T cur`. (For the forecasts' steps; the filter's passes
    /// have their own sized copies.)
    pub(super) fn next_cov(
        &self,
        phi: &[f64],
        cur: &[f64],
        next: &mut [f64],
        row: &mut [f64],
        dnz: &[(usize, f64)],
        update: Option<(&[f64], f64)>,
    ) {
        let (nq, rr) = self.noise_block(self.r);
        let (rd, r) = (self.rd(), self.r);
        self.next_cov_sized(rd, r, phi, cur, next, row, dnz, update, (nq, &rr));
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn next_cov_sized(
        &self,
        rd: usize,
        r: usize,
        phi: &[f64],
        cur: &[f64],
        next: &mut [f64],
        row: &mut [f64],
        dnz: &[(usize, f64)],
        update: Option<(&[f64], f64)>,
        (nq, rr): (usize, &[f64]),
    ) {
        let (cur, next, row) = (&cur[..rd * rd], &mut next[..rd * rd], &mut row[..rd]);
        let cur_row = |i: usize| &cur[i * rd..(i + 1) * rd];
        // φ padded to r, and u (zero without an update), so each entry below is one
        // expression in one pass over the row.
        let phi = &phi[..r];
        let zeros;
        let (u, gain) = match update {
            Some(ug) => ug,
            None => {
                zeros = vec![0.0; rd];
                (&zeros[..], 1.0)
            }
        };
        let u = &u[..rd];
        for i in 0..rd {
            // Row i of T cur.
            let src: &[f64] = if i < r {
                let ph = phi[i];
                if ph == 0.0 {
                    if i + 1 < r {
                        cur_row(i + 1)
                    } else {
                        row.iter_mut().for_each(|v| *v = 0.0);
                        row
                    }
                } else {
                    if i + 1 < r {
                        for ((o, a), b) in row.iter_mut().zip(cur_row(0)).zip(cur_row(i + 1)) {
                            *o = ph * a + b;
                        }
                    } else {
                        for (o, a) in row.iter_mut().zip(cur_row(0)) {
                            *o = ph * a;
                        }
                    }
                    row
                }
            } else if i == r {
                row.copy_from_slice(cur_row(0));
                for &(k, d) in dnz {
                    for (o, c) in row.iter_mut().zip(cur_row(k)) {
                        *o += d * c;
                    }
                }
                row
            } else {
                cur_row(i - 1)
            };
            // Times Tᵀ (entry j is row j of T applied to `src`), less the update.
            let dst = &mut next[i * rd..(i + 1) * rd];
            let s0 = src[0];
            let f = u[i] / gain;
            for (((d, s), ph), uj) in dst[..r - 1]
                .iter_mut()
                .zip(&src[1..r])
                .zip(&phi[..r - 1])
                .zip(u)
            {
                *d = (s + ph * s0) - f * uj;
            }
            dst[r - 1] = phi[r - 1] * s0 - f * u[r - 1];
            if rd > r {
                dst[r] = (s0 + dnz.iter().map(|&(k, d)| d * src[k]).sum::<f64>()) - f * u[r];
                for ((d, s), uj) in dst[r + 1..]
                    .iter_mut()
                    .zip(&src[r..rd - 1])
                    .zip(&u[r + 1..])
                {
                    *d = s - f * uj;
                }
            }
        }
        // Plus R Rᵀ, its block of products computed once ([`Self::noise_block`]).
        for (i, rr_row) in rr.chunks_exact(nq).enumerate() {
            for (v, p) in next[i * rd..i * rd + nq].iter_mut().zip(rr_row) {
                *v += p;
            }
        }
    }

    /// The non-zero block of `R Rᵀ` (`R = (1, θ₁, …, θ_q)ᵀ`, cut to the ARMA block of
    /// `r` states): its size `q + 1` and its `(q + 1)²` products, row-major.
    pub(super) fn noise_block(&self, r: usize) -> (usize, Vec<f64>) {
        let nq = self.theta.len().min(r - 1) + 1;
        let vk = |k: usize| if k == 0 { 1.0 } else { self.theta[k - 1] };
        (
            nq,
            (0..nq * nq).map(|ij| vk(ij / nq) * vk(ij % nq)).collect(),
        )
    }
}
