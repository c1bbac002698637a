//! Predictions for a few rows given feature by feature (a server's request), without
//! building a table first: the same feature matrix [`crate::data::feature_matrix`]
//! makes, the same messages, the same prediction layout.

use lithe_core::{Result, Table};

use crate::api::TabularModel;
use crate::data::{Feature, FeatureKind, missing_feature, text_for_number};

/// One feature's values for every row, as a front end received them.
#[derive(Debug, Clone, Copy)]
pub enum Cells<'a> {
    /// Numbers (`NaN` = missing).
    Numbers(&'a [f64]),
    /// Text (`None` = missing).
    Text(&'a [Option<String>]),
}

/// The row-major f32 matrix of `n` rows, or `None` where the direct path does not
/// apply (a categorical feature given as numbers: the table path decides those).
fn matrix<'a>(
    features: &[Feature],
    n: usize,
    cells: &impl Fn(&str) -> Option<Cells<'a>>,
) -> Result<Option<Vec<f32>>> {
    let nf = features.len();
    let mut m = vec![0f32; n * nf];
    for (f, feat) in features.iter().enumerate() {
        let c = cells(&feat.name).ok_or_else(|| missing_feature(&feat.name))?;
        match (&feat.kind, c) {
            (FeatureKind::Numeric { .. }, Cells::Numbers(v)) if v.len() == n => {
                for (r, x) in v.iter().enumerate() {
                    m[r * nf + f] = *x as f32;
                }
            }
            (FeatureKind::Numeric { .. }, Cells::Text(_)) => {
                return Err(text_for_number(&feat.name));
            }
            (FeatureKind::Categorical { categories }, Cells::Text(v)) if v.len() == n => {
                for (r, s) in v.iter().enumerate() {
                    m[r * nf + f] = s
                        .as_deref()
                        .and_then(|s| categories.iter().position(|k| k == s))
                        .map_or(f32::NAN, |i| i as f32);
                }
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(m))
}

impl TabularModel {
    /// [`Self::predict_table`] for `n` rows whose features `cells` gives by name, or
    /// `None` when the model (an imported one) or the input (a categorical feature
    /// given as numbers) takes the table path. Meant for a few rows: categories are
    /// looked up without an index.
    pub fn predict_cells<'a>(
        &self,
        n: usize,
        cells: impl Fn(&str) -> Option<Cells<'a>>,
    ) -> Result<Option<Table>> {
        let pred = match self {
            TabularModel::Gbdt(g) => match matrix(&g.features, n, &cells)? {
                Some(m) => g.predict_matrix(&m),
                None => return Ok(None),
            },
            TabularModel::Forest(f) => match matrix(&f.features, n, &cells)? {
                Some(m) => f.predict_matrix(&m),
                None => return Ok(None),
            },
            TabularModel::Imported(_) => return Ok(None),
        };
        self.prediction_table(pred, n).map(Some)
    }
}
