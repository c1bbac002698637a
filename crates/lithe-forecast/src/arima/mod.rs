//! Building blocks of ARIMA (Box–Jenkins models in state-space form), as R's
//! `stats::arima` and StatsForecast's port compute them: the differencing tests that
//! choose `d` (KPSS) and `D` (seasonal strength of an STL decomposition), the
//! expansion of seasonal AR/MA polynomials, the stationarity transform, the
//! conditional sum of squares, the stationary initial covariance (exact: what Gardner,
//! Harvey & Phillips's 1980 algorithm gives as published, which R's and StatsForecast's
//! ports of it do not; see the tests) and the exact Gaussian likelihood by a Kalman
//! filter with a diffuse prior on the differencing states.
//!
//! `notes/statsforecast-autoarima.md` records how StatsForecast 2.1.1 composes these;
//! `models::auto_arima` runs the model search on top of them.
// First: its `sized!` macro serves the deferred passes too.
#[macro_use]
mod statespace;
mod css;
mod deferred;
mod diffs;
mod poly;
mod q0;
#[cfg(test)]
mod tests;

pub use css::*;
pub use deferred::*;
pub use diffs::*;
pub use poly::*;
pub use q0::*;
pub use statespace::*;

use crate::optim::LANES;
use crate::stl::Stl;
