//! The optimisers the models fit with: bounded Nelder–Mead ([`nelder_mead`], ETS, CES,
//! Theta) and BFGS ([`bfgs`], ARIMA).

mod bfgs;
mod nelder_mead;

pub use bfgs::*;
pub use nelder_mead::*;
