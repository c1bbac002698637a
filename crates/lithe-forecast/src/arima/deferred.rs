//! Filter passes deferred where their covariance is held, finished together.

use super::*;

/// Diffuse prior variance of the differencing states.
pub const KAPPA: f64 = 1e6;

/// Where a deferred pass stopped: `(the index of the next observation, m, F)`.
pub(super) type Defer<'a> = Option<&'a mut Option<(usize, Vec<f64>, f64)>>;

/// A filter pass stopped where its covariance is held ([`StateSpace::likelihood_deferred`]).
pub struct Deferred {
    /// `(Σ e²/F, Σ log F, n)` so far: the whole pass's when `rest` is `None`.
    pub sums: (f64, f64, usize),
    pub(super) rest: Option<Rest>,
}

/// The rest of a deferred pass: from observation `from` on, the mean updates with the
/// gain vector `k = m / F`, from the state `a`, for the model's AR coefficients `phi`.
pub(super) struct Rest {
    pub(super) from: usize,
    pub(super) k: Vec<f64>,
    pub(super) gain: f64,
    pub(super) a: Vec<f64>,
    pub(super) phi: Vec<f64>,
    pub(super) r: usize,
    pub(super) dnz: Vec<(usize, f64)>,
}

/// Completes deferred passes of one model order over their series (`ys[i]` is pass
/// `i`'s): their sums, the same bits as whole passes. The rests run [`LANES`] side by
/// side, each first alone up to the latest start among them.
pub fn finish_passes(passes: Vec<Deferred>, ys: &[&[f64]]) -> Vec<(f64, f64, usize)> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2.
        return unsafe { finish_passes_avx2(passes, ys) };
    }
    finish_passes_any(passes, ys)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) fn finish_passes_avx2(passes: Vec<Deferred>, ys: &[&[f64]]) -> Vec<(f64, f64, usize)> {
    finish_passes_any(passes, ys)
}

#[inline(always)]
pub(super) fn finish_passes_any(passes: Vec<Deferred>, ys: &[&[f64]]) -> Vec<(f64, f64, usize)> {
    let mut sums: Vec<(f64, f64, usize)> = passes.iter().map(|p| p.sums).collect();
    let mut open: Vec<(usize, Rest)> = (passes.into_iter().enumerate())
        .filter_map(|(i, p)| p.rest.map(|r| (i, r)))
        .collect();
    for group in open.chunks_mut(LANES) {
        // Each pass alone up to the latest start in the group (to the end when it is
        // alone), then all together; the lanes past the group's size repeat its last
        // pass and are dropped.
        let start = match group {
            [(i, _)] => ys[*i].len(),
            _ => group.iter().map(|(_, r)| r.from).max().unwrap_or(0),
        };
        for (i, rest) in group.iter_mut() {
            let y = &ys[*i][rest.from..start];
            sums[*i] = rest.steps(y, sums[*i], None);
        }
        if group.len() == 1 {
            continue;
        }
        let lane = |j: usize| &group[j.min(group.len() - 1)];
        let gather = |f: &dyn Fn(&Rest) -> &[f64]| -> Vec<[f64; LANES]> {
            (0..f(&group[0].1).len())
                .map(|t| std::array::from_fn(|j| f(&lane(j).1)[t]))
                .collect()
        };
        let (phi, k, mut state) = (gather(&|r| &r.phi), gather(&|r| &r.k), gather(&|r| &r.a));
        let mut group_sums = std::array::from_fn(|j| sums[lane(j).0]);
        let lanes = Lanes {
            r: group[0].1.r,
            dnz: &group[0].1.dnz,
            phi: &phi,
            k: &k,
            gain: std::array::from_fn(|j| lane(j).1.gain),
        };
        let y = std::array::from_fn(|j| &ys[lane(j).0][start..]);
        // Sized copies for the non-seasonal models, as in the pass itself.
        macro_rules! go {
            ($rd:expr, $r:expr, $dnz:expr) => {{
                let lanes = Lanes {
                    r: $r,
                    dnz: $dnz,
                    ..lanes
                };
                tail_steps($rd, &lanes, &mut state, y, &mut group_sums, None)
            }};
        }
        sized!(state.len(), group[0].1.r, lanes.dnz, go);
        for (j, (i, _)) in group.iter().enumerate() {
            sums[*i] = group_sums[j];
        }
    }
    sums
}

impl Rest {
    /// This pass's held-covariance steps over `y` on its own, from and into its state.
    pub(super) fn steps(
        &mut self,
        y: &[f64],
        sums: (f64, f64, usize),
        resid: Option<&mut Vec<f64>>,
    ) -> (f64, f64, usize) {
        let rd = self.a.len();
        let (r, dnz) = (self.r, &self.dnz[..]);
        tail_one(
            rd,
            r,
            dnz,
            &self.phi,
            &self.k,
            self.gain,
            &mut self.a,
            y,
            sums,
            resid,
        )
    }
}

/// One pass's held-covariance steps over `y` (one lane of [`tail_steps`]): from and
/// into the state `a` (`rd` entries), with the AR coefficients `phi`, the gain vector
/// `k = m / F` and `F`, continuing `sums`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn tail_one(
    rd: usize,
    r: usize,
    dnz: &[(usize, f64)],
    phi: &[f64],
    k: &[f64],
    gain: f64,
    a: &mut [f64],
    y: &[f64],
    sums: (f64, f64, usize),
    resid: Option<&mut Vec<f64>>,
) -> (f64, f64, usize) {
    let lanes = Lanes {
        r,
        dnz,
        phi: phi.as_chunks().0,
        k: k.as_chunks().0,
        gain: [gain],
    };
    let mut sums = [sums];
    tail_steps(rd, &lanes, a.as_chunks_mut().0, [y], &mut sums, resid);
    sums[0]
}

/// What `W` filter passes of one model order share once each one's covariance is held
/// (lane `k` of each entry is pass `k`'s): the ARMA block size, the differencing
/// weights' non-zero entries, the AR coefficients (unpadded), the gain vectors `m / F`
/// and the prediction variances `F`.
pub(super) struct Lanes<'a, const W: usize> {
    pub(super) r: usize,
    pub(super) dnz: &'a [(usize, f64)],
    pub(super) phi: &'a [[f64; W]],
    pub(super) k: &'a [[f64; W]],
    pub(super) gain: [f64; W],
}

/// The filter's mean updates over `ys` (no missing values, the same length in every
/// lane) with the covariance held: `a ← T a + k e`, `e = y − z·T a`, continuing each
/// lane's sums `(Σ e²/F, Σ log F, n)` and pushing lane 0's standardised innovations to
/// `resid`. One pass is one lane; `W` passes side by side run the same operations in
/// the same order per lane (the same bits as one at a time) and hide the latency of the
/// recursion from one step to the next.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // (`t` indexes every lane's series)
pub(super) fn tail_steps<const W: usize>(
    rd: usize,
    lanes: &Lanes<W>,
    a: &mut [[f64; W]],
    ys: [&[f64]; W],
    sums: &mut [(f64, f64, usize); W],
    mut resid: Option<&mut Vec<f64>>,
) {
    let Lanes {
        r,
        dnz,
        phi,
        k,
        gain,
    } = *lanes;
    let a = &mut a[..rd];
    let k = &k[..rd];
    let counted = gain.map(|g| g < 1e4);
    let log_gain = gain.map(f64::ln);
    // The start of `Iterator::sum` for f64, so `z·x` below is `z_dot`'s bits.
    let zero: f64 = std::iter::empty::<f64>().sum();
    let mut anew_buf = [[0.0; W]; 16];
    let mut anew_vec;
    let anew: &mut [[f64; W]] = if rd <= 16 {
        &mut anew_buf[..rd]
    } else {
        anew_vec = vec![[0.0; W]; rd];
        &mut anew_vec
    };
    // (Branches outside the loops over lanes, so those run as vector operations.)
    for t in 0..ys[0].len() {
        // anew = T a, as `apply_t_sized` computes it.
        let a0 = a[0];
        for i in 0..r {
            let mut v = if i + 1 < r { a[i + 1] } else { [0.0; W] };
            if let Some(ph) = phi.get(i) {
                for w in 0..W {
                    v[w] += ph[w] * a0[w];
                }
            }
            anew[i] = v;
        }
        if rd > r {
            let mut v = a0;
            for &(j, d) in dnz {
                for w in 0..W {
                    v[w] += d * a[j][w];
                }
            }
            anew[r] = v;
            anew[r + 1..rd].copy_from_slice(&a[r..rd - 1]);
        }
        let mut s = [zero; W];
        for &(j, d) in dnz {
            for w in 0..W {
                s[w] += d * anew[j][w];
            }
        }
        let e: [f64; W] = std::array::from_fn(|w| ys[w][t] - (anew[0][w] + s[w]));
        for w in 0..W {
            let sums = &mut sums[w];
            if counted[w] {
                sums.2 += 1;
                sums.0 += if gain[w] == 0.0 {
                    f64::INFINITY
                } else {
                    e[w] * e[w] / gain[w]
                };
                sums.1 += log_gain[w];
            }
        }
        if let Some(rs) = resid.as_deref_mut() {
            rs.push(if gain[0] == 0.0 {
                f64::INFINITY
            } else {
                e[0] / gain[0].sqrt()
            });
        }
        for ((ai, an), ki) in a.iter_mut().zip(anew.iter()).zip(k) {
            for w in 0..W {
                ai[w] = an[w] + ki[w] * e[w];
            }
        }
    }
}
