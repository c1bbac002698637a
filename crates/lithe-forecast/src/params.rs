//! The forecasting models' parameters: one spec, the source of the command line's
//! flags, the Python model classes' arguments and every check on them.
//!
//! The run's shape (horizon, season lengths, interval levels, frequency, columns) is
//! given with each call; these are the settings the models read.

use lithe_core::params::{Named, require};
use lithe_core::{Error, Result};

use crate::models::auto_arima::{Likelihood, Steps};
use crate::models::{Model, Settings, ets};

/// AutoETS's damping of the trend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damped {
    /// Try the trend damped and not.
    Auto,
    True,
    False,
}

impl Damped {
    fn choice(self) -> Option<bool> {
        match self {
            Damped::Auto => None,
            Damped::True => Some(true),
            Damped::False => Some(false),
        }
    }
}

impl Named for Damped {
    const NAMES: &'static [&'static str] = &["auto", "true", "false"];
    const ALL: &'static [Self] = &[Damped::Auto, Damped::True, Damped::False];
    fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}
lithe_core::choice_param!(Damped);

impl Named for Likelihood {
    const NAMES: &'static [&'static str] = &["fresh", "statsforecast"];
    const ALL: &'static [Self] = &[Likelihood::Fresh, Likelihood::AsStatsForecast];
    fn name(self) -> &'static str {
        match self {
            Likelihood::Fresh => "fresh",
            Likelihood::AsStatsForecast => "statsforecast",
        }
    }
}
lithe_core::choice_param!(Likelihood);

impl Named for Steps {
    const NAMES: &'static [&'static str] = &["cross", "stepwise"];
    const ALL: &'static [Self] = &[Steps::Cross, Steps::Stepwise];
    fn name(self) -> &'static str {
        match self {
            Steps::Cross => "cross",
            Steps::Stepwise => "stepwise",
        }
    }
}
lithe_core::choice_param!(Steps);

lithe_core::param_spec! {
    /// The settings the forecasting models read (StatsForecast's constructor arguments).
    #[derive(Debug, Clone, PartialEq)]
    pub struct ModelParams("forecast") {
        /// window_size of window_average and seasonal_window_average (no default, as in
        /// StatsForecast)
        window_size: Option<usize> = None,
        /// The smoothing parameter of ses and seasonal_ses (no default)
        alpha: Option<f64> = None,
        /// TSB's smoothing parameter for demand sizes (no default)
        alpha_d: Option<f64> = None,
        /// TSB's smoothing parameter for the probability of demand (no default)
        alpha_p: Option<f64> = None,
        /// Conformal prediction intervals for every model, from this many windows of
        /// horizon steps at the end of each series (StatsForecast's ConformalIntervals)
        conformal_windows: Option<usize> = None,
        /// AutoETS's model: error, trend, season letters (A additive, M multiplicative,
        /// N none, Z choose), e.g. ZZZ, AAN, MAM, ZZN
        ets_model: String = "ZZZ".to_string() => "model",
        /// AutoETS's damping of the trend: auto (try both), true or false
        damped: Damped = Damped::Auto,
        /// AutoARIMA's exact likelihood: statsforecast keeps the differencing states'
        /// covariance from the previous evaluation, as StatsForecast 2.1 does (its
        /// estimates of differenced models then mostly stay at the CSS ones); fresh
        /// starts every evaluation from the model's prior, as R's arima does
        arima_likelihood: Likelihood = Likelihood::DEFAULT,
        /// AutoARIMA's search: stepwise tries the neighbours StatsForecast and R try;
        /// cross also tries (p+1, Q+1) and (q+1, P+1) where that search stops, and goes
        /// on from either if it is better
        arima_search: Steps = Steps::DEFAULT,
    }
}

impl ModelParams {
    fn check(&self) -> Result<()> {
        require(self.window_size != Some(0), "window_size", || {
            "must be at least 1".to_string()
        })?;
        for (name, a) in [
            ("alpha", self.alpha),
            ("alpha_d", self.alpha_d),
            ("alpha_p", self.alpha_p),
        ] {
            if let Some(a) = a {
                require((0.0..=1.0).contains(&a), name, || {
                    format!("is a smoothing parameter and must be in [0, 1], got {a}")
                })?;
            }
        }
        if let Some(w) = self.conformal_windows {
            require(w >= 2, "conformal_windows", || {
                format!("must be at least 2, got {w}")
            })?;
        }
        self.ets().map(|_| ())
    }

    /// AutoETS's model string and damping as one spec.
    pub fn ets(&self) -> Result<ets::Spec> {
        let mut spec =
            ets::Spec::parse(&self.ets_model).map_err(|m| Error::param("ets_model", m))?;
        spec.damped = self.damped.choice();
        if spec.damped == Some(true) && spec.trend == Some(ets::Comp::N) {
            return Err(Error::param(
                "damped",
                format!(
                    "true needs a trend (ets_model {} has trend N)",
                    self.ets_model
                ),
            ));
        }
        Ok(spec)
    }

    /// The models' settings for season lengths `seasons` (the first for every model,
    /// all of them for MSTL; none = 1) and interval `levels` in percent.
    pub fn settings(&self, seasons: &[usize], levels: &[f64]) -> Result<Settings> {
        self.validate()?;
        require(!seasons.contains(&0), "season", || {
            "must be at least 1".to_string()
        })?;
        Ok(Settings {
            season: seasons.first().copied().unwrap_or(1),
            seasons: seasons.to_vec(),
            levels: levels.to_vec(),
            window: self.window_size,
            alpha: self.alpha,
            alpha_d: self.alpha_d,
            alpha_p: self.alpha_p,
            conformal_windows: self.conformal_windows,
            ets: self.ets()?,
            arima: self.arima_likelihood,
            arima_steps: self.arima_search,
        })
    }
}

/// A model by its snake_case name, or an error listing the names.
pub fn model_named(name: &str) -> Result<Model> {
    Model::parse(name.trim()).ok_or_else(|| {
        let known: Vec<&str> = Model::ALL.iter().map(|m| m.cli_name()).collect();
        Error::param(
            "models",
            format!(
                "names an unknown model '{}' (available: {})",
                name.trim(),
                known.join(", ")
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lithe_core::params::{ParamValue, Spec};

    /// The spec's defaults are the settings' defaults, and the rules name the parameter.
    #[test]
    fn defaults_match_the_settings_and_rules_name_the_parameter() {
        let s = ModelParams::default().settings(&[], &[]).unwrap();
        let d = Settings::default();
        assert_eq!(
            (s.ets, s.arima, s.arima_steps, s.window, s.season),
            (d.ets, d.arima, d.arima_steps, d.window, d.season)
        );
        for (name, v, needle) in [
            (
                "window_size",
                ParamValue::Int(0),
                "window_size must be at least 1",
            ),
            (
                "alpha",
                ParamValue::Float(1.5),
                "alpha is a smoothing parameter",
            ),
            (
                "conformal_windows",
                ParamValue::Int(1),
                "conformal_windows must be at least 2",
            ),
            (
                "ets_model",
                ParamValue::Text("AMN".into()),
                "multiplicative trends",
            ),
        ] {
            let e = ModelParams::from_values([(name, v)])
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{e}");
        }
        let e = ModelParams::from_values([
            ("ets_model", ParamValue::Text("ANN".into())),
            ("damped", ParamValue::Text("true".into())),
        ])
        .unwrap_err();
        assert!(
            e.to_string().starts_with("damped true needs a trend"),
            "{e}"
        );
        let e = ModelParams::default().settings(&[24, 0], &[]).unwrap_err();
        assert_eq!(e.to_string(), "season must be at least 1");
        assert!(model_named("arima").is_err());
        assert_eq!(model_named(" auto_ets").unwrap(), Model::AutoEts);
    }
}
