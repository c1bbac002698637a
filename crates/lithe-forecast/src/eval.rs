//! Scoring forecasts against actual values: sMAPE and MASE per series averaged over
//! series, and OWA against Naive2, as the M4 competition scores them.

use lithe_core::{Error, Result, Table};

use crate::metrics::{mase, mase_scale, naive2, smape};
use crate::run::clean;
use crate::store::{SeriesColumns, SeriesStore};

/// One model's scores over the series.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub model: String,
    pub smape: f64,
    pub mase: f64,
    pub owa: f64,
}

/// Scores of every model in a forecast file, and of Naive2.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub series: usize,
    pub models: Vec<Score>,
    pub naive2_smape: f64,
    pub naive2_mase: f64,
    /// Series left out of MASE because their history has no seasonal variation to
    /// scale by (too short, or constant at lag m).
    pub mase_skipped: usize,
}

/// The forecast columns of a forecast table: all but the id, the time and interval
/// bounds.
pub fn model_columns(forecast: &Table, cols: &SeriesColumns) -> Vec<String> {
    forecast
        .names()
        .filter(|n| *n != cols.id && *n != cols.time && *n != cols.target)
        .filter(|n| !n.contains("-lo-") && !n.contains("-hi-"))
        .map(str::to_string)
        .collect()
}

/// Score every model column of `forecast` on the `actual` values, with MASE scaled by
/// each series' `train` history at lag `season`.
pub fn evaluate(
    forecast: &Table,
    actual: &Table,
    train: &Table,
    cols: &SeriesColumns,
    season: usize,
) -> Result<Evaluation> {
    let train = SeriesStore::from_table(train, cols).map_err(|e| e.context("--train"))?;
    let actual = SeriesStore::from_table(actual, cols).map_err(|e| e.context("--actual"))?;
    let models = model_columns(forecast, cols);
    if models.is_empty() {
        return Err(Error::input(
            "--forecast has no model columns besides the id and time",
        ));
    }
    let train_of = train.id_index();
    // Per actual series: its history, and the Naive2 scores.
    let mut histories = Vec::with_capacity(actual.len());
    for s in 0..actual.len() {
        let id = &actual.ids[s];
        let t = *train_of.get(id.as_str()).ok_or_else(|| {
            Error::input(format!("series '{id}' is in --actual but not in --train"))
        })?;
        histories.push(clean(train.values(t)).0);
    }
    let mut n2_smape = 0.0;
    let mut n2_mase = 0.0;
    let mut scales = Vec::with_capacity(actual.len());
    for (s, hist) in histories.iter().enumerate() {
        let y = actual.values(s);
        let f = naive2(hist, y.len(), season);
        n2_smape += smape(y, &f);
        let scale = mase_scale(hist, season).filter(|&v| v > 0.0);
        if let Some(sc) = scale {
            n2_mase += mase(y, &f, sc);
        }
        scales.push(scale);
    }
    let n = actual.len() as f64;
    let scaled = scales.iter().filter(|s| s.is_some()).count();
    let n2_smape = n2_smape / n;
    let n2_mase = n2_mase / scaled as f64;
    // Group the forecast file once; every model column then takes the same layout.
    let (fc, rows) = SeriesStore::group(
        forecast,
        &SeriesColumns {
            target: models[0].clone(),
            ..cols.clone()
        },
    )
    .map_err(|e| e.context("--forecast"))?;
    let fc_of = fc.id_index();
    let mut scores = Vec::with_capacity(models.len());
    for model in models {
        let all =
            SeriesStore::arrange(forecast, &model, &rows).map_err(|e| e.context("--forecast"))?;
        let (mut sm, mut ms) = (0.0, 0.0);
        for (s, scale) in scales.iter().enumerate() {
            let id = &actual.ids[s];
            let fs = *fc_of.get(id.as_str()).ok_or_else(|| {
                Error::input(format!("--forecast has no {model} rows for series '{id}'"))
            })?;
            let (stamps, values) = (fc.stamps(fs), &all[fc.offsets[fs]..fc.offsets[fs + 1]]);
            let f: Vec<f64> = actual
                .stamps(s)
                .iter()
                .map(|t| {
                    stamps.binary_search(t).map(|i| values[i]).map_err(|_| {
                        Error::input(format!(
                            "--forecast has no {model} value for series '{id}' at {} = {t}",
                            cols.time
                        ))
                    })
                })
                .collect::<Result<_>>()?;
            let y = actual.values(s);
            sm += smape(y, &f);
            if let Some(sc) = *scale {
                ms += mase(y, &f, sc);
            }
        }
        let (sm, ms) = (sm / n, ms / scaled as f64);
        scores.push(Score {
            owa: 0.5 * (sm / n2_smape + ms / n2_mase),
            model,
            smape: sm,
            mase: ms,
        });
    }
    Ok(Evaluation {
        series: actual.len(),
        models: scores,
        naive2_smape: n2_smape,
        naive2_mase: n2_mase,
        mase_skipped: actual.len() - scaled,
    })
}
