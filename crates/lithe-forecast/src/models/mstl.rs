//! MSTL forecasting as StatsForecast's `MSTL` model: the series is decomposed into
//! its seasonal components (STL, shortest period first), the deseasonalised series
//! (trend + remainder) is forecast by AutoETS without a season (`ZZN`, with its
//! intervals), and each seasonal component is carried on by repeating its last
//! period.

use super::{Output, Unfit, ets};
use crate::stl::mstl;

/// Forecast `h` steps with the seasonal `periods` (sorted; all 1 means none).
pub fn forecast(y: &[f64], h: usize, periods: &[usize], levels: &[f64]) -> Result<Output, Unfit> {
    let n = y.len();
    let mut ps: Vec<usize> = periods.iter().copied().filter(|&p| p > 1).collect();
    ps.sort_unstable();
    ps.dedup();
    // STL needs every position of the longest period observed at least once (as
    // StatsForecast, a series shorter than two periods is still decomposed).
    if let Some(&longest) = ps.last()
        && n <= longest
    {
        return Err(Unfit::TooShort { need: longest + 1 });
    }
    let (seasonal, adjusted) = if ps.is_empty() {
        (Vec::new(), y.to_vec())
    } else {
        mstl(y, &ps)
    };
    let spec = ets::Spec {
        season: Some(ets::Comp::N),
        ..ets::Spec::AUTO
    };
    let fit = ets::select(&adjusted, 1, spec)?;
    let mut out = ets::forecast(&fit, h, levels);
    let seas: Vec<f64> = (0..h)
        .map(|k| {
            seasonal
                .iter()
                .zip(&ps)
                .map(|(c, &p)| c[n - p + k % p])
                .sum()
        })
        .collect();
    let add = |v: &mut Vec<f64>| v.iter_mut().zip(&seas).for_each(|(x, s)| *x += s);
    add(&mut out.mean);
    if let Some(iv) = out.intervals.as_mut() {
        iv.lo.iter_mut().chain(iv.hi.iter_mut()).for_each(add);
    }
    Ok(out)
}
