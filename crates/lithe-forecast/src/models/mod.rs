//! The models, by the names users know from StatsForecast.

pub mod auto_arima;
pub mod baseline;
pub mod ces;
pub mod ets;
pub mod intermittent;
pub mod mstl;
pub mod ses;
pub mod theta;

use crate::interval::Intervals;

/// A model's forecast for one series: `h` means and, when asked for and defined, the
/// intervals at each level.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub mean: Vec<f64>,
    pub intervals: Option<Intervals>,
}

/// The same value at every step.
fn flat(v: f64, h: usize) -> Output {
    Output {
        mean: vec![v; h],
        intervals: None,
    }
}

/// Why a model could not be fitted to a series (the run falls back and counts it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unfit {
    /// Fewer observations than the model needs.
    TooShort { need: usize },
    /// No observed value at all.
    NoData,
    /// Nonzero values but no positive demand (intermittent models).
    NoDemand,
    /// Zero or negative values where the model is multiplicative.
    NotPositive,
    /// None of the candidate models could be estimated.
    NoFit,
    /// The exogenous regressors (with an intercept) are linearly dependent.
    RankDeficient,
}

/// A series' exogenous regressors: each column's values over the series (as long as
/// it) and over the horizon (`h` values).
#[derive(Debug, Clone, Default)]
pub struct Exog<'a> {
    pub train: Vec<&'a [f64]>,
    pub future: Vec<&'a [f64]>,
}

impl std::fmt::Display for Unfit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unfit::TooShort { need } => write!(f, "shorter than the {need} values it needs"),
            Unfit::NoData => f.write_str("no observed values"),
            Unfit::NoDemand => f.write_str("no positive demand"),
            Unfit::NotPositive => f.write_str("zero or negative values for a multiplicative model"),
            Unfit::NoFit => f.write_str("no candidate model could be estimated"),
            Unfit::RankDeficient => {
                f.write_str("its exogenous regressors are linearly dependent (rank deficient)")
            }
        }
    }
}

/// Settings every model may read.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// StatsForecast's `season_length` (1 = no season).
    pub season: usize,
    /// Interval levels in percent, e.g. `[80.0, 95.0]`; empty for none.
    pub levels: Vec<f64>,
    /// `WindowAverage` / `SeasonalWindowAverage`'s `window_size` (required by them,
    /// as in StatsForecast).
    pub window: Option<usize>,
    /// SES and seasonal SES's smoothing parameter (required by them).
    pub alpha: Option<f64>,
    /// TSB's smoothing of demand sizes and of demand probability (required by it).
    pub alpha_d: Option<f64>,
    pub alpha_p: Option<f64>,
    /// Conformal intervals from this many windows of `h` steps at the end of each series
    /// (StatsForecast's `ConformalIntervals(h, n_windows)`), for every model.
    pub conformal_windows: Option<usize>,
    /// Every seasonal period given (`--season 24,168`); MSTL uses them all, the other
    /// models the first (`season`).
    pub seasons: Vec<usize>,
    /// AutoETS's model string (`ZZZ` = choose every component) and damping.
    pub ets: ets::Spec,
    /// How AutoARIMA's exact likelihood treats the filter state between calls.
    pub arima: auto_arima::Likelihood,
    /// Which neighbours AutoARIMA's stepwise search tries.
    pub arima_steps: auto_arima::Steps,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            season: 1,
            levels: Vec::new(),
            window: None,
            alpha: None,
            alpha_d: None,
            alpha_p: None,
            conformal_windows: None,
            ets: ets::Spec::AUTO,
            seasons: Vec::new(),
            arima: auto_arima::Likelihood::DEFAULT,
            arima_steps: auto_arima::Steps::DEFAULT,
        }
    }
}

/// The models lithe forecasts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    AutoEts,
    Holt,
    HoltWinters,
    AutoTheta,
    Theta,
    OptimizedTheta,
    DynamicTheta,
    DynamicOptimizedTheta,
    AutoCes,
    AutoArima,
    Ensemble,
    Mstl,
    Naive,
    SeasonalNaive,
    HistoricAverage,
    RandomWalkWithDrift,
    WindowAverage,
    SeasonalWindowAverage,
    Ses,
    SesOptimized,
    SeasonalSes,
    SeasonalSesOptimized,
    CrostonClassic,
    CrostonOptimized,
    CrostonSba,
    Tsb,
    Adida,
    Imapa,
}

impl Model {
    /// Every model: its command-line name (snake_case), its output column
    /// (StatsForecast's alias; AutoCES writes "CES") and whether it defines (normal)
    /// prediction intervals of its own.
    const TABLE: [(Model, &'static str, &'static str, bool); 28] = [
        (Model::AutoEts, "auto_ets", "AutoETS", true),
        (Model::Holt, "holt", "Holt", true),
        (Model::HoltWinters, "holt_winters", "HoltWinters", true),
        (Model::AutoTheta, "auto_theta", "AutoTheta", true),
        (Model::Theta, "theta", "Theta", true),
        (
            Model::OptimizedTheta,
            "optimized_theta",
            "OptimizedTheta",
            true,
        ),
        (Model::DynamicTheta, "dynamic_theta", "DynamicTheta", true),
        (
            Model::DynamicOptimizedTheta,
            "dynamic_optimized_theta",
            "DynamicOptimizedTheta",
            true,
        ),
        (Model::AutoCes, "auto_ces", "CES", true),
        (Model::AutoArima, "auto_arima", "AutoARIMA", true),
        (Model::Ensemble, "ensemble", "Ensemble", false),
        (Model::Mstl, "mstl", "MSTL", true),
        (Model::Naive, "naive", "Naive", true),
        (
            Model::SeasonalNaive,
            "seasonal_naive",
            "SeasonalNaive",
            true,
        ),
        (
            Model::HistoricAverage,
            "historic_average",
            "HistoricAverage",
            true,
        ),
        (
            Model::RandomWalkWithDrift,
            "random_walk_with_drift",
            "RWD",
            true,
        ),
        (
            Model::WindowAverage,
            "window_average",
            "WindowAverage",
            false,
        ),
        (
            Model::SeasonalWindowAverage,
            "seasonal_window_average",
            "SeasWA",
            false,
        ),
        (Model::Ses, "ses", "SES", false),
        (Model::SesOptimized, "ses_optimized", "SESOpt", false),
        (Model::SeasonalSes, "seasonal_ses", "SeasonalES", false),
        (
            Model::SeasonalSesOptimized,
            "seasonal_ses_optimized",
            "SeasESOpt",
            false,
        ),
        (
            Model::CrostonClassic,
            "croston_classic",
            "CrostonClassic",
            false,
        ),
        (
            Model::CrostonOptimized,
            "croston_optimized",
            "CrostonOptimized",
            false,
        ),
        (Model::CrostonSba, "croston_sba", "CrostonSBA", false),
        (Model::Tsb, "tsb", "TSB", false),
        (Model::Adida, "adida", "ADIDA", false),
        (Model::Imapa, "imapa", "IMAPA", false),
    ];

    pub const ALL: [Model; 28] = {
        let mut all = [Model::Naive; 28];
        let mut i = 0;
        while i < 28 {
            all[i] = Model::TABLE[i].0;
            i += 1;
        }
        all
    };

    fn row(self) -> &'static (Model, &'static str, &'static str, bool) {
        // Every model has its row (a test checks the table).
        Model::TABLE
            .iter()
            .find(|r| r.0 == self)
            .unwrap_or(&Model::TABLE[0])
    }

    /// The command-line name (snake_case).
    pub fn cli_name(self) -> &'static str {
        self.row().1
    }

    /// The output column name (StatsForecast's alias).
    pub fn column(self) -> &'static str {
        self.row().2
    }

    /// Whether the model gives prediction intervals under these settings: conformal
    /// ones for every model when asked for, else the models' own normal intervals.
    pub fn gives_intervals(self, s: &Settings) -> bool {
        s.conformal_windows.is_some() || self.has_intervals()
    }

    /// Whether the model defines (normal) prediction intervals of its own.
    pub fn has_intervals(self) -> bool {
        self.row().3
    }

    /// What the model needs in `s` that has no default: the parameter and what it must be.
    pub fn missing_setting(self, s: &Settings) -> Option<(&'static str, &'static str)> {
        const GIVEN: &str = "must be given (it has no default)";
        match self {
            Model::WindowAverage | Model::SeasonalWindowAverage if s.window.is_none() => {
                Some(("window_size", GIVEN))
            }
            Model::Ses | Model::SeasonalSes if s.alpha.is_none() => Some(("alpha", GIVEN)),
            Model::HoltWinters if s.season < 2 => Some(("season", "must be at least 2")),
            Model::AutoEts if s.ets.needs_season() && s.season < 2 => {
                Some(("season", "must be at least 2 with a seasonal ets_model"))
            }
            Model::Tsb if s.alpha_d.is_none() => Some(("alpha_d", GIVEN)),
            Model::Tsb if s.alpha_p.is_none() => Some(("alpha_p", GIVEN)),
            _ => None,
        }
    }

    /// The models whose forecasts `Ensemble` takes the median of, step by step.
    pub const ENSEMBLE: [Model; 4] = [
        Model::AutoEts,
        Model::AutoArima,
        Model::AutoCes,
        Model::AutoTheta,
    ];

    /// The model's point forecast, or that of the first model of its fallback chain
    /// ([`crate::run::fallback_chain`]) that fits (`NaN`s if none does): how an
    /// ensemble member stands in for a series it cannot fit.
    pub fn forecast_or_fall_back(
        self,
        y: &[f64],
        h: usize,
        s: &Settings,
        exog: Option<&Exog>,
    ) -> Vec<f64> {
        let point = Settings {
            levels: Vec::new(),
            ..s.clone()
        };
        crate::run::fallback_chain(self, s.season)
            .into_iter()
            .find_map(|m| m.forecast_with(y, h, &point, exog).ok())
            .map_or_else(|| vec![f64::NAN; h], |o| o.mean)
    }

    pub fn parse(name: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.cli_name() == name)
    }

    /// Forecast `h` steps of the series `y` (no missing values).
    pub fn forecast(self, y: &[f64], h: usize, s: &Settings) -> Result<Output, Unfit> {
        self.forecast_with(y, h, s, None)
    }

    /// Whether the model uses exogenous regressors (AutoARIMA, and the ensemble
    /// through it); the others ignore them, as in StatsForecast.
    pub fn uses_exog(self) -> bool {
        matches!(self, Model::AutoArima | Model::Ensemble)
    }

    /// [`Self::forecast`] with the series' exogenous regressors, if any.
    pub fn forecast_with(
        self,
        y: &[f64],
        h: usize,
        s: &Settings,
        exog: Option<&Exog>,
    ) -> Result<Output, Unfit> {
        use baseline as b;
        use intermittent as i;
        if y.is_empty() {
            return Err(Unfit::NoData);
        }
        let m = s.season.max(1);
        let ets_with = |spec: ets::Spec| -> Result<Output, Unfit> {
            let fit = ets::select(y, m, spec)?;
            Ok(ets::forecast(&fit, h, &s.levels))
        };
        match self {
            Model::AutoEts => ets_with(s.ets),
            Model::Holt => ets_with(ets::Spec::HOLT),
            Model::HoltWinters => ets_with(ets::Spec::HOLT_WINTERS),
            Model::AutoTheta => theta::forecast(y, h, m, None, &s.levels),
            Model::Theta => theta::forecast(y, h, m, Some(theta::Variant::Standard), &s.levels),
            Model::OptimizedTheta => {
                theta::forecast(y, h, m, Some(theta::Variant::Optimized), &s.levels)
            }
            Model::DynamicTheta => {
                theta::forecast(y, h, m, Some(theta::Variant::Dynamic), &s.levels)
            }
            Model::DynamicOptimizedTheta => {
                theta::forecast(y, h, m, Some(theta::Variant::DynamicOptimized), &s.levels)
            }
            Model::AutoCes => ces::forecast(y, h, m, None, &s.levels),
            Model::AutoArima => {
                auto_arima::forecast(y, h, m, &s.levels, s.arima, s.arima_steps, exog)
            }
            Model::Ensemble => Ok(ensemble(y, h, s, |_| None, exog)),
            Model::Mstl => {
                let periods = if s.seasons.is_empty() {
                    vec![m]
                } else {
                    s.seasons.clone()
                };
                mstl::forecast(y, h, &periods, &s.levels)
            }
            Model::Naive => b::naive(y, h, &s.levels),
            Model::SeasonalNaive => b::seasonal_naive(y, h, m, &s.levels),
            Model::HistoricAverage => b::historic_average(y, h, &s.levels),
            Model::RandomWalkWithDrift => b::random_walk_with_drift(y, h, &s.levels),
            Model::WindowAverage => b::window_average(y, h, s.window.unwrap_or(1)),
            Model::SeasonalWindowAverage => {
                b::seasonal_window_average(y, h, m, s.window.unwrap_or(1))
            }
            Model::Ses => Ok(flat(ses::forecast(y, s.alpha.unwrap_or(0.1)), h)),
            Model::SesOptimized => Ok(flat(ses::optimized_forecast(y, 0.01, 0.99), h)),
            Model::SeasonalSes => ses::seasonal(y, h, m, Some(s.alpha.unwrap_or(0.1))),
            Model::SeasonalSesOptimized => ses::seasonal(y, h, m, None),
            Model::CrostonClassic => Ok(i::croston(y, h, i::Croston::Classic)),
            Model::CrostonOptimized => Ok(i::croston(y, h, i::Croston::Optimized)),
            Model::CrostonSba => Ok(i::croston(y, h, i::Croston::Sba)),
            Model::Tsb => i::tsb(y, h, s.alpha_d.unwrap_or(0.1), s.alpha_p.unwrap_or(0.1)),
            Model::Adida => Ok(i::adida(y, h)),
            Model::Imapa => Ok(i::imapa(y, h)),
        }
    }
}

/// The ensemble's forecast: the median, step by step, of its members' point
/// forecasts, each taken from `known` when it has one (a member already run on this
/// series) and otherwise computed, standing in by its fallback chain where it cannot fit.
pub fn ensemble(
    y: &[f64],
    h: usize,
    s: &Settings,
    known: impl Fn(Model) -> Option<Vec<f64>>,
    exog: Option<&Exog>,
) -> Output {
    let means: Vec<Vec<f64>> = Model::ENSEMBLE
        .iter()
        .map(|&member| known(member).unwrap_or_else(|| member.forecast_or_fall_back(y, h, s, exog)))
        .collect();
    Output {
        mean: median_per_step(&means),
        intervals: None,
    }
}

/// The median of the forecasts at each step (the mean of the middle two for an even
/// count); `NaN` where every forecast is missing, and missing ones left out.
pub fn median_per_step(means: &[Vec<f64>]) -> Vec<f64> {
    let h = means.first().map_or(0, Vec::len);
    (0..h)
        .map(|k| {
            let mut v: Vec<f64> = means.iter().map(|m| m[k]).filter(|x| !x.is_nan()).collect();
            v.sort_by(f64::total_cmp);
            match v.len() {
                0 => f64::NAN,
                n if n % 2 == 1 => v[n / 2],
                n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
            }
        })
        .collect()
}

/// A seeded stream of standard normal draws (xorshift and Box–Muller) for the models'
/// simulation checks.
#[cfg(test)]
pub(crate) fn test_normals(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        let mut u = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let (a, b) = (u().max(1e-300), u());
        (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;

    /// The table has each model once, and names and columns are distinct.
    #[test]
    fn every_model_has_one_row() {
        for (i, m) in Model::ALL.iter().enumerate() {
            assert_eq!(Model::ALL.iter().filter(|x| *x == m).count(), 1, "{m:?}");
            assert_eq!(Model::parse(m.cli_name()), Some(*m));
            assert_eq!(m.row().0, *m);
            for other in &Model::ALL[i + 1..] {
                assert_ne!(m.cli_name(), other.cli_name());
                assert_ne!(m.column(), other.column());
            }
        }
        assert_eq!(Model::AutoCes.column(), "CES");
        assert!(Model::AutoArima.has_intervals() && !Model::Ensemble.has_intervals());
    }
}
