//! Self-tuning: train on the validation split, score every epoch, stop at the best
//! one, and search the settings that move recall most.

use lithe_core::Result;
use serde::{Deserialize, Serialize};

use crate::data::Groups;
use crate::params::TwoTowerParams;
use crate::tower::Features;
use crate::train::{Trainer, histories_and_places};
use crate::valid::{Score, Split, score};

/// One setting tried on the validation split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    pub learning_rate: f64,
    pub temperature: f64,
    pub l2: f64,
    pub dim: usize,
    /// Validation recall@10 after each epoch.
    pub recall: Vec<f64>,
    /// Validation NDCG@10 after each epoch.
    pub ndcg: Vec<f64>,
    /// The epoch (from 1) with the best recall (ties: the earlier).
    pub best_epoch: usize,
    /// Stopped early because it stayed behind the best trial so far (see
    /// [`run_trial`]).
    #[serde(default)]
    pub pruned: bool,
}

impl Trial {
    pub fn best(&self) -> Score {
        let e = self.best_epoch.max(1) - 1;
        Score {
            recall: self.recall.get(e).copied().unwrap_or(0.0),
            ndcg: self.ndcg.get(e).copied().unwrap_or(0.0),
        }
    }

    /// `params` with this trial's settings and its best epoch count.
    pub fn apply(&self, params: &TwoTowerParams) -> TwoTowerParams {
        TwoTowerParams {
            learning_rate: self.learning_rate,
            temperature: self.temperature,
            l2: self.l2,
            dim: self.dim,
            epochs: self.best_epoch.max(1),
            ..params.clone()
        }
    }
}

/// Better on validation: the higher recall, ties to the higher NDCG.
pub fn better(a: Score, b: Score) -> bool {
    a.recall > b.recall || (a.recall == b.recall && a.ndcg > b.ndcg)
}

/// Epochs in a row a trial may stay clearly behind its rival before it is stopped.
pub const PRUNE_AFTER: usize = 2;

/// The share of a standard error by which validation recall must rise to count as
/// progress for early stopping.
pub const MIN_GAIN_SE: f64 = 0.5;

/// The standard error of a recall `r` measured on `users` users, `√(r(1−r)/users)`.
fn standard_error(r: f64, users: f64) -> f64 {
    (r.clamp(0.0, 1.0) * (1.0 - r.clamp(0.0, 1.0)) / users).sqrt()
}

/// Early stopping's memory: the recall and epoch of the last progress (see
/// [`run_trial`]).
struct Progress {
    mark: f64,
    since: usize,
    users: f64,
    patience: usize,
}

impl Progress {
    fn new(users: f64, patience: usize) -> Progress {
        Progress {
            mark: f64::NEG_INFINITY,
            since: 0,
            users,
            patience,
        }
    }

    /// Record epoch `epoch`'s recall; whether training should stop.
    fn stop_after(&mut self, epoch: usize, recall: f64) -> bool {
        if recall > self.mark + MIN_GAIN_SE * standard_error(self.mark, self.users) {
            (self.mark, self.since) = (recall, epoch);
            false
        } else {
            self.patience > 0 && epoch - self.since >= self.patience
        }
    }
}

/// Train `params` on `split.train` for up to `max_epochs` epochs, scoring after each;
/// stop once `patience` epochs in a row have made no progress (0: run them all, and no
/// pruning). Progress is recall more than [`MIN_GAIN_SE`] standard errors above the
/// last progress, so a curve that wanders within the validation slice's noise stops
/// while a steady climb, however slow, goes on; the trial's best epoch is still the one
/// with the best recall. With a `rival` (the best trial so far), also stop once the best
/// recall so far has been more than one standard error (`√(r(1−r)/users)`) below the
/// rival's recall at the same epoch (its last, past its end) for [`PRUNE_AFTER`]
/// epochs in a row: a setting that far behind is not going to be chosen.
/// `on_epoch` is called after each epoch.
#[allow(clippy::too_many_arguments)]
pub fn run_trial(
    params: &TwoTowerParams,
    split: &Split,
    features: &Features,
    feature_rows: (usize, usize),
    max_epochs: usize,
    patience: usize,
    rival: Option<&Trial>,
    mut on_epoch: impl FnMut(),
) -> Result<Trial> {
    let (history, place): (Groups, Vec<u32>) = histories_and_places(&split.train);
    let mut trainer = Trainer::new(
        params,
        &split.train,
        &history,
        &place,
        features,
        feature_rows,
    );
    let mut trial = Trial {
        learning_rate: params.learning_rate,
        temperature: params.temperature,
        l2: params.l2,
        dim: params.dim,
        recall: Vec::new(),
        ndcg: Vec::new(),
        best_epoch: 0,
        pruned: false,
    };
    let mut best = Score {
        recall: -1.0,
        ndcg: -1.0,
    };
    let users = split.users.len().max(1) as f64;
    let mut behind = 0usize;
    let mut progress = Progress::new(users, patience);
    for epoch in 1..=max_epochs {
        trainer.run_epoch()?;
        let s = score(
            &trainer.weights,
            params.temperature as f32,
            &history,
            features,
            split,
        );
        trial.recall.push(s.recall);
        trial.ndcg.push(s.ndcg);
        on_epoch();
        if better(s, best) {
            best = s;
            trial.best_epoch = epoch;
        }
        if progress.stop_after(epoch, s.recall) {
            break;
        }
        if let Some(r) = rival.filter(|_| patience > 0)
            && let Some(&at) = r.recall.get(epoch.min(r.recall.len()).saturating_sub(1))
        {
            let se = standard_error(at, users);
            behind = if best.recall + se < at { behind + 1 } else { 0 };
            if behind >= PRUNE_AFTER {
                trial.pruned = true;
                break;
            }
        }
    }
    Ok(trial)
}

/// Which settings the search may change; a setting the caller gave is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Free {
    pub learning_rate: bool,
    pub temperature: bool,
    pub l2: bool,
    pub dim: bool,
    /// Whether the number of epochs is chosen on validation (early stopping); when
    /// fixed, every trial runs `epochs` epochs and is scored at the last.
    pub epochs: bool,
}

impl Default for Free {
    fn default() -> Self {
        Free {
            learning_rate: true,
            temperature: true,
            l2: true,
            dim: true,
            epochs: true,
        }
    }
}

/// How training tunes itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuneOptions {
    /// Settings tried on the validation slice, the first being the given parameters
    /// (0: no validation slice and no tuning; `params.epochs` epochs on everything).
    pub trials: usize,
    /// The most epochs a trial runs when the epochs are chosen on validation.
    pub max_epochs: usize,
    /// Stop a trial after this many epochs without a better validation score.
    pub patience: usize,
    /// The share of each validation user's interactions held out when there are no
    /// timestamps.
    pub valid_share: f64,
    pub free: Free,
}

impl Default for TuneOptions {
    fn default() -> Self {
        TuneOptions {
            trials: 3,
            max_epochs: 40,
            patience: 3,
            valid_share: 0.1,
            free: Free::default(),
        }
    }
}

impl TuneOptions {
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(lithe_core::Error::input(what.to_string()));
        if self.trials > 100 {
            return bad("trials must be at most 100");
        }
        if self.max_epochs == 0 {
            return bad("max_epochs must be at least 1");
        }
        if !(self.valid_share > 0.0 && self.valid_share < 1.0) {
            return bad("valid_share must be between 0 and 1 (exclusive)");
        }
        Ok(())
    }
}

/// What tuning did: the slice, every trial in the order run, the one chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tuning {
    pub rule: crate::valid::Rule,
    pub valid_users: usize,
    pub valid_items: usize,
    pub trials: Vec<Trial>,
    /// Index of the chosen trial in `trials`.
    pub chosen: usize,
    pub seconds: f64,
}

/// The largest embedding dimension the search may try: embedding tables with Adam's
/// two moments (three floats an entry) within 2 GiB, and at most 256.
pub fn max_dim(n_users: usize, n_items: usize) -> usize {
    let per_dim = 3 * 4 * (n_users + n_items).max(1);
    ((2usize << 30) / per_dim).min(256)
}

/// One move of the search: a setting and the factor it is multiplied by.
#[derive(Debug, Clone, Copy)]
enum Move {
    Temperature(f64),
    L2(f64),
    LearningRate(f64),
    Dim(f64),
}

impl Move {
    fn allowed(self, free: &Free) -> bool {
        match self {
            Move::Temperature(_) => free.temperature,
            Move::L2(_) => free.l2,
            Move::LearningRate(_) => free.learning_rate,
            Move::Dim(_) => free.dim,
        }
    }

    /// `p` moved, or `None` when the move leaves the allowed range.
    fn apply(self, p: &TwoTowerParams, max_dim: usize) -> Option<TwoTowerParams> {
        let mut q = p.clone();
        match self {
            Move::Temperature(f) => q.temperature = p.temperature * f,
            Move::L2(f) => {
                // From zero, the first step up is 1e-4.
                q.l2 = if p.l2 == 0.0 && f > 1.0 {
                    1e-4
                } else {
                    p.l2 * f
                }
            }
            Move::LearningRate(f) => q.learning_rate = p.learning_rate * f,
            Move::Dim(f) => q.dim = ((p.dim as f64 * f).round() as usize).max(8),
        }
        let ok = q.temperature >= 0.01
            && q.temperature <= 2.0
            && q.learning_rate <= 0.1
            && q.learning_rate >= 1e-5
            && q.dim <= max_dim
            && q.validate().is_ok()
            && q != *p;
        ok.then_some(q)
    }
}

/// The moves in the order they are tried: each setting's two directions in turn.
/// A move that beats the best so far is repeated in the same direction.
const MOVES: [[Move; 2]; 4] = [
    [Move::Temperature(1.3), Move::Temperature(0.8)],
    [Move::L2(0.1), Move::L2(10.0)],
    [Move::LearningRate(2.0), Move::LearningRate(0.5)],
    [Move::Dim(2.0), Move::Dim(0.5)],
];

/// Coordinate search from `base`: `run` trains and scores one setting; at most
/// `budget` runs, the first on `base`. Returns every trial and the index of the best.
pub fn search(
    base: &TwoTowerParams,
    free: &Free,
    budget: usize,
    max_dim: usize,
    mut run: impl FnMut(&TwoTowerParams, Option<&Trial>) -> Result<Trial>,
) -> Result<(Vec<Trial>, usize)> {
    let mut trials = vec![run(base, None)?];
    let mut best = 0usize;
    let mut at = base.clone();
    'outer: for pair in MOVES {
        for mv in pair {
            if !mv.allowed(free) {
                continue;
            }
            // Keep going in a direction that helped.
            loop {
                if trials.len() >= budget {
                    break 'outer;
                }
                let Some(p) = mv.apply(&at, max_dim) else {
                    break;
                };
                let t = run(&p, Some(&trials[best]))?;
                let won = better(t.best(), trials[best].best());
                trials.push(t);
                if !won {
                    break;
                }
                best = trials.len() - 1;
                at = p;
            }
            // A setting that moved one way is not tried the other way.
            if best != 0 && trials[best].differs_in(mv, base) {
                break;
            }
        }
    }
    Ok((trials, best))
}

impl Trial {
    fn differs_in(&self, mv: Move, base: &TwoTowerParams) -> bool {
        match mv {
            Move::Temperature(_) => self.temperature != base.temperature,
            Move::L2(_) => self.l2 != base.l2,
            Move::LearningRate(_) => self.learning_rate != base.learning_rate,
            Move::Dim(_) => self.dim != base.dim,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A trial whose validation recall is `f(params)` at epoch 3 of 4.
    fn fake(p: &TwoTowerParams, f: impl Fn(&TwoTowerParams) -> f64) -> Trial {
        let r = f(p);
        Trial {
            learning_rate: p.learning_rate,
            temperature: p.temperature,
            l2: p.l2,
            dim: p.dim,
            recall: vec![r / 2.0, r * 0.9, r, r * 0.95],
            ndcg: vec![0.0; 4],
            best_epoch: 3,
            pruned: false,
        }
    }

    #[test]
    fn the_search_follows_what_helps_within_its_budget() {
        let base = TwoTowerParams::default();
        // Recall peaks at temperature 0.1 and falls with l2; the rest does not matter.
        let f = |p: &TwoTowerParams| 1.0 - (p.temperature - 0.1).abs() - p.l2;
        let (trials, best) =
            search(&base, &Free::default(), 8, 256, |p, _| Ok(fake(p, f))).unwrap();
        assert_eq!(trials.len(), 8);
        let temps: Vec<f64> = trials.iter().map(|t| t.temperature).collect();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        // Up (worse), then down while it helps: 0.12, 0.096, then 0.0768 is worse.
        assert!(close(temps[0], 0.15) && close(temps[1], 0.195));
        assert!(close(temps[2], 0.12) && close(temps[3], 0.096) && close(temps[4], 0.0768));
        // Then l2 down from the best so far, again and again: each better.
        let l2: Vec<f64> = trials[5..].iter().map(|t| t.l2).collect();
        assert!(close(l2[0], 1e-5) && close(l2[1], 1e-6) && close(l2[2], 1e-7));
        assert!(trials[5..].iter().all(|t| close(t.temperature, 0.096)));
        assert_eq!(best, 7);
        // The chosen settings and epochs go into the final parameters.
        let p = trials[best].apply(&base);
        assert_eq!((p.epochs, p.temperature, p.l2), (3, 0.096, trials[7].l2));
        assert!(better(trials[best].best(), trials[0].best()));
    }

    #[test]
    fn early_stopping_waits_for_progress_beyond_the_noise() {
        // 400 users: at recall 0.25 a standard error is about 0.0217, progress needs
        // more than half of it (0.0108).
        let run = |curve: &[f64]| {
            let mut p = Progress::new(400.0, 3);
            curve
                .iter()
                .enumerate()
                .position(|(e, &r)| p.stop_after(e + 1, r))
                .map(|e| e + 1)
        };
        // Wandering within the noise after epoch 2: stops three epochs later.
        assert_eq!(run(&[0.20, 0.25, 0.255, 0.26, 0.258, 0.262, 0.30]), Some(5));
        // A slow climb (0.005 an epoch) counts once it adds up past the margin.
        let climb: Vec<f64> = (0..12).map(|e| 0.2 + 0.005 * e as f64).collect();
        assert_eq!(run(&climb), None);
        // A plain decline stops `patience` epochs after the best.
        assert_eq!(run(&[0.3, 0.2, 0.1, 0.05, 0.01]), Some(4));
        // Patience 0: never.
        let mut p = Progress::new(400.0, 0);
        assert!((1..10).all(|e| !p.stop_after(e, 0.1)));
    }

    #[test]
    fn a_trial_far_behind_its_rival_is_stopped() {
        use crate::data::Interactions;
        use lithe_core::{Column, Table};
        // 40 users of 4 groups, each with 6 items of its group in time order.
        let (mut u, mut i, mut t) = (Vec::new(), Vec::new(), Vec::new());
        for user in 0..40usize {
            for k in 0..6usize {
                u.push(format!("u{user}"));
                i.push(format!("i{}", (user % 4) * 10 + (user + k) % 10));
                t.push(k as f64);
            }
        }
        let table = Table::new(vec![
            Column::from_strings("user_id", &u.iter().map(Some).collect::<Vec<_>>()).unwrap(),
            Column::from_strings("item_id", &i.iter().map(Some).collect::<Vec<_>>()).unwrap(),
            Column::from_f64("timestamp", t),
        ])
        .unwrap();
        let data = Interactions::from_table(&table, "t").unwrap();
        let split = Split::cut(&data, 0.1, 1).unwrap();
        let features = Features::none(data.users.len(), data.items.len());
        let p = TwoTowerParams {
            dim: 8,
            batch: 32,
            ..TwoTowerParams::default()
        };
        let rival = |r: f64| Trial {
            learning_rate: 0.0,
            temperature: 0.0,
            l2: 0.0,
            dim: 8,
            recall: vec![r; 5],
            ndcg: vec![0.0; 5],
            best_epoch: 1,
            pruned: false,
        };
        // Up to `max_epochs` with `patience` against a rival whose recall is `r` throughout.
        let against = |max_epochs: usize, patience: usize, r: f64| {
            let rival = rival(r);
            run_trial(
                &p,
                &split,
                &features,
                (0, 0),
                max_epochs,
                patience,
                Some(&rival),
                || {},
            )
            .unwrap()
        };
        // Unbeatable: stopped after PRUNE_AFTER epochs. Beaten from the start: runs on.
        let far = against(10, 10, 1.0);
        assert!(far.pruned);
        assert_eq!(far.recall.len(), PRUNE_AFTER);
        let free = against(10, 10, 0.0);
        assert!(!free.pruned);
        assert_eq!(free.recall.len(), 10);
        // Without early stopping (patience 0) nothing is pruned.
        let all = against(4, 0, 1.0);
        assert!(!all.pruned && all.recall.len() == 4);
    }

    #[test]
    fn fixed_settings_are_never_moved_and_the_budget_holds() {
        let base = TwoTowerParams::default();
        let free = Free {
            temperature: false,
            dim: false,
            ..Free::default()
        };
        let f = |p: &TwoTowerParams| p.learning_rate;
        let (trials, _) = search(&base, &free, 5, 256, |p, _| Ok(fake(p, f))).unwrap();
        assert_eq!(trials.len(), 5);
        assert!(
            trials
                .iter()
                .all(|t| t.temperature == base.temperature && t.dim == base.dim)
        );
        // One run is all a budget of one allows.
        let (one, best) = search(&base, &free, 1, 256, |p, _| Ok(fake(p, f))).unwrap();
        assert_eq!((one.len(), best), (1, 0));
        // The dimension never passes its cap.
        let (dims, _) = search(&base, &Free::default(), 20, 64, |p, _| {
            Ok(fake(p, |q| q.dim as f64))
        })
        .unwrap();
        assert!(dims.iter().all(|t| t.dim <= 64));
    }
}
