//! Typing the fields of one block, and assembling blocks into final columns.
//!
//! Each block types each column on its own: the first present value picks the
//! narrowest type (int, float, date, datetime, else categorical), and a later value
//! that does not fit widens it (int → float, date → datetime, anything → categorical;
//! the last re-reads the block's text). Blocks are then joined; a join that would need
//! text a finished block no longer has (a numeric block meeting a categorical one)
//! asks the caller to read again with that column forced categorical.

use std::borrow::Cow;

use arrow_array::{Date32Array, Int64Array, TimestampMicrosecondArray};
use arrow_buffer::{NullBuffer, NullBufferBuilder, ScalarBuffer};

use super::dict::{Dictionary, dictionary_array};
use super::parse::{NaSet, parse_date, parse_datetime, parse_f64, parse_i64};
use super::tokenize::{LocalError, unquote};
use crate::error::Result;
use crate::table::{ColumnData, ColumnType, float_array};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// One column's values within one block.
pub(crate) enum Part {
    /// Every value missing (type still open).
    Missing(usize),
    Int(Vec<i64>, Option<NullBuffer>),
    /// `NaN` = missing.
    Float(Vec<f64>),
    Date(Vec<i32>, Option<NullBuffer>),
    Datetime(Vec<i64>, Option<NullBuffer>),
    Str(Vec<u32>, Option<NullBuffer>, Dictionary),
}

impl Part {
    pub fn len(&self) -> usize {
        match self {
            Part::Missing(n) => *n,
            Part::Int(v, _) => v.len(),
            Part::Float(v) => v.len(),
            Part::Date(v, _) => v.len(),
            Part::Datetime(v, _) => v.len(),
            Part::Str(v, _, _) => v.len(),
        }
    }

    pub fn kind(&self) -> Option<ColumnType> {
        Some(match self {
            Part::Missing(_) => return None,
            Part::Int(..) => ColumnType::Int,
            Part::Float(_) => ColumnType::Float,
            Part::Date(..) => ColumnType::Date,
            Part::Datetime(..) => ColumnType::Datetime,
            Part::Str(..) => ColumnType::Categorical,
        })
    }
}

/// The fields of one block, as the typing step sees them.
pub(crate) struct BlockFields<'a> {
    pub data: &'a [u8],
    pub fields: &'a [(u32, u32)],
    pub n_cols: usize,
    pub n_rows: usize,
    pub na: &'a NaSet,
    /// The block has a `"` somewhere; without one, fields need no unquoting.
    pub has_quotes: bool,
}

impl<'a> BlockFields<'a> {
    #[inline]
    fn raw(&self, col: usize, row: usize) -> (usize, &'a [u8]) {
        let (s, e) = self.fields[row * self.n_cols + col];
        (s as usize, &self.data[s as usize..e as usize])
    }

    #[inline(always)]
    fn value(&self, col: usize, row: usize) -> Option<Cow<'a, [u8]>> {
        let raw = self.raw(col, row).1;
        // Most numeric fields start with a digit and end without padding: no trimming,
        // quotes or missing-value tokens to check.
        if let (Some(&f), Some(&l)) = (raw.first(), raw.last())
            && f.is_ascii_digit()
            && l > b' '
            && l != b'"'
            && !self.na.may_start_with(f)
        {
            return Some(Cow::Borrowed(raw));
        }
        let v = if self.has_quotes {
            unquote(raw)
        } else {
            Cow::Borrowed(raw.trim_ascii())
        };
        if self.na.is_na(&v) { None } else { Some(v) }
    }
}

/// Type and collect column `col` of a block.
pub(crate) fn parse_part(b: &BlockFields, col: usize, force_str: bool) -> Result<Part, LocalError> {
    if force_str {
        return parse_str(b, col);
    }
    let n = b.n_rows;
    let mut r = 0;
    let first = loop {
        if r == n {
            return Ok(Part::Missing(n));
        }
        if let Some(v) = b.value(col, r) {
            break v;
        }
        r += 1;
    };
    if parse_i64(&first).is_some() {
        parse_int(b, col, r)
    } else if parse_f64(&first).is_some() {
        parse_float(b, col, r, vec![f64::NAN; r])
    } else if parse_date(&first).is_some() {
        parse_dates(b, col, r)
    } else if parse_datetime(&first).is_some() {
        let mut nulls = NullBufferBuilder::new(n);
        nulls.append_n_nulls(r);
        parse_datetimes(b, col, r, vec![0; r], nulls)
    } else {
        parse_str(b, col)
    }
}

fn parse_int(b: &BlockFields, col: usize, start: usize) -> Result<Part, LocalError> {
    let n = b.n_rows;
    let mut values = Vec::with_capacity(n);
    values.resize(start, 0i64);
    let mut nulls = NullBufferBuilder::new(n);
    nulls.append_n_nulls(start);
    for r in start..n {
        match b.value(col, r) {
            None => {
                values.push(0);
                nulls.append_null();
            }
            Some(v) => match parse_i64(&v) {
                Some(x) => {
                    values.push(x);
                    nulls.append_non_null();
                }
                None if parse_f64(&v).is_some() => {
                    let as_float = ints_as_floats(&values, nulls.finish().as_ref()).collect();
                    return parse_float(b, col, r, as_float);
                }
                None => return parse_str(b, col),
            },
        }
    }
    Ok(Part::Int(values, nulls.finish()))
}

fn parse_float(
    b: &BlockFields,
    col: usize,
    start: usize,
    mut values: Vec<f64>,
) -> Result<Part, LocalError> {
    values.reserve(b.n_rows - start);
    for r in start..b.n_rows {
        match b.value(col, r) {
            None => values.push(f64::NAN),
            Some(v) => match parse_f64(&v) {
                Some(x) => values.push(x),
                None => return parse_str(b, col),
            },
        }
    }
    Ok(Part::Float(values))
}

fn parse_dates(b: &BlockFields, col: usize, start: usize) -> Result<Part, LocalError> {
    let n = b.n_rows;
    let mut values = vec![0i32; start];
    values.reserve(n - start);
    let mut nulls = NullBufferBuilder::new(n);
    nulls.append_n_nulls(start);
    for r in start..n {
        match b.value(col, r) {
            None => {
                values.push(0);
                nulls.append_null();
            }
            Some(v) => match parse_date(&v) {
                Some(d) => {
                    values.push(d);
                    nulls.append_non_null();
                }
                None if parse_datetime(&v).is_some() => {
                    let micros = values.iter().map(|&d| d as i64 * MICROS_PER_DAY).collect();
                    return parse_datetimes(b, col, r, micros, nulls);
                }
                None => return parse_str(b, col),
            },
        }
    }
    Ok(Part::Date(values, nulls.finish()))
}

fn parse_datetimes(
    b: &BlockFields,
    col: usize,
    start: usize,
    mut values: Vec<i64>,
    mut nulls: NullBufferBuilder,
) -> Result<Part, LocalError> {
    for r in start..b.n_rows {
        match b.value(col, r) {
            None => {
                values.push(0);
                nulls.append_null();
            }
            Some(v) => match parse_datetime(&v) {
                Some(t) => {
                    values.push(t);
                    nulls.append_non_null();
                }
                None => return parse_str(b, col),
            },
        }
    }
    Ok(Part::Datetime(values, nulls.finish()))
}

fn parse_str(b: &BlockFields, col: usize) -> Result<Part, LocalError> {
    let n = b.n_rows;
    let mut dict = Dictionary::default();
    let mut codes = Vec::with_capacity(n);
    let mut nulls = NullBufferBuilder::new(n);
    // Neighbouring rows often repeat a category: remember the last one.
    let mut last: Option<(Cow<[u8]>, u32)> = None;
    for r in 0..n {
        match b.value(col, r) {
            None => {
                codes.push(0);
                nulls.append_null();
            }
            Some(v) => {
                if let Some((lv, lc)) = &last
                    && **lv == *v
                {
                    codes.push(*lc);
                    nulls.append_non_null();
                    continue;
                }
                let code = dict.intern_bytes(&v).map_err(|e| LocalError {
                    offset: b.raw(col, r).0,
                    message: format!(
                        "bytes that are not UTF-8 in field {} (byte {} of the field); \
                         lithe reads UTF-8 text, re-encode the file (e.g. iconv -f latin1 -t utf-8)",
                        col + 1,
                        e.valid_up_to() + 1
                    ),
                })?;
                codes.push(code);
                nulls.append_non_null();
                last = Some((v, code));
            }
        }
    }
    Ok(Part::Str(codes, nulls.finish(), dict))
}

/// Integers as floats, `NaN` where null.
fn ints_as_floats<'a>(
    v: &'a [i64],
    nulls: Option<&'a NullBuffer>,
) -> impl Iterator<Item = f64> + 'a {
    v.iter().enumerate().map(move |(i, &x)| match nulls {
        Some(n) if n.is_null(i) => f64::NAN,
        _ => x as f64,
    })
}

fn extend_nulls(dst: &mut NullBufferBuilder, src: &Option<NullBuffer>, len: usize) {
    match src {
        Some(nb) => dst.append_buffer(nb),
        None => dst.append_n_non_nulls(len),
    }
}

/// A block's column could not be appended: only text could hold both.
#[derive(Debug)]
pub(crate) struct NeedsText;

/// A column under construction. Parts are appended in file order and consumed as
/// they go, so memory holds the finished data plus the blocks in flight; the type
/// widens when a part needs it.
pub(crate) enum Builder {
    /// Only missing values so far.
    Open(usize),
    Int(Vec<i64>, NullBufferBuilder),
    Float(Vec<f64>),
    Date(Vec<i32>, NullBufferBuilder),
    Datetime(Vec<i64>, NullBufferBuilder),
    Str(Vec<u32>, NullBufferBuilder, Dictionary),
}

fn nulls_with(n_null: usize) -> NullBufferBuilder {
    let mut nb = NullBufferBuilder::new(0);
    nb.append_n_nulls(n_null);
    nb
}

impl Builder {
    pub fn new() -> Self {
        Builder::Open(0)
    }

    /// An empty builder of the given type (for forced categorical columns).
    pub fn of(ty: ColumnType) -> Self {
        match ty {
            ColumnType::Int => Builder::Int(Vec::new(), NullBufferBuilder::new(0)),
            ColumnType::Float => Builder::Float(Vec::new()),
            ColumnType::Date => Builder::Date(Vec::new(), NullBufferBuilder::new(0)),
            ColumnType::Datetime => Builder::Datetime(Vec::new(), NullBufferBuilder::new(0)),
            ColumnType::Categorical => {
                Builder::Str(Vec::new(), NullBufferBuilder::new(0), Dictionary::default())
            }
        }
    }

    /// Widen an open builder to hold `kind`, with its missing values so far.
    fn opened(n: usize, kind: ColumnType) -> Self {
        match kind {
            ColumnType::Int => Builder::Int(vec![0; n], nulls_with(n)),
            ColumnType::Float => Builder::Float(vec![f64::NAN; n]),
            ColumnType::Date => Builder::Date(vec![0; n], nulls_with(n)),
            ColumnType::Datetime => Builder::Datetime(vec![0; n], nulls_with(n)),
            ColumnType::Categorical => {
                Builder::Str(vec![0; n], nulls_with(n), Dictionary::default())
            }
        }
    }

    /// Room for `additional` more values (an estimate from the file size), so that a
    /// growing column is not copied and re-faulted at every doubling.
    pub fn reserve(&mut self, additional: usize) {
        fn exact<T>(v: &mut Vec<T>, add: usize) {
            v.reserve_exact(add);
        }
        self.each_vec(additional, exact, exact, exact, exact);
    }

    /// Make room for `add` more values, growing by half again rather than doubling:
    /// a column's spare capacity stays small when the row count was not known ahead.
    fn grow(&mut self, add: usize) {
        fn half<T>(v: &mut Vec<T>, add: usize) {
            if v.capacity() - v.len() < add {
                v.reserve_exact(add.max(v.len() / 2));
            }
        }
        self.each_vec(add, half, half, half, half);
    }

    fn each_vec(
        &mut self,
        add: usize,
        f64s: fn(&mut Vec<f64>, usize),
        i64s: fn(&mut Vec<i64>, usize),
        i32s: fn(&mut Vec<i32>, usize),
        u32s: fn(&mut Vec<u32>, usize),
    ) {
        match self {
            Builder::Open(_) => {}
            Builder::Int(v, _) | Builder::Datetime(v, _) => i64s(v, add),
            Builder::Float(v) => f64s(v, add),
            Builder::Date(v, _) => i32s(v, add),
            Builder::Str(v, _, _) => u32s(v, add),
        }
    }

    pub fn append(&mut self, part: Part) -> Result<(), NeedsText> {
        // Widen first where the part needs a wider type.
        let widened = match (&mut *self, part.kind()) {
            (Builder::Open(n), Some(k)) => Some(Builder::opened(*n, k)),
            (Builder::Int(v, nb), Some(ColumnType::Float)) => Some(Builder::Float(
                ints_as_floats(v, nb.finish().as_ref()).collect(),
            )),
            (Builder::Date(v, nb), Some(ColumnType::Datetime)) => {
                let mut nulls = NullBufferBuilder::new(v.len());
                if let Some(n) = nb.finish() {
                    nulls.append_buffer(&n);
                } else {
                    nulls.append_n_non_nulls(v.len());
                }
                Some(Builder::Datetime(
                    v.iter().map(|&d| d as i64 * MICROS_PER_DAY).collect(),
                    nulls,
                ))
            }
            _ => None,
        };
        if let Some(w) = widened {
            *self = w;
        }
        self.grow(part.len());
        match (self, part) {
            (Builder::Open(n), Part::Missing(m)) => *n += m,
            (Builder::Int(v, nb), Part::Missing(m)) => {
                v.resize(v.len() + m, 0);
                nb.append_n_nulls(m);
            }
            (Builder::Int(v, nb), Part::Int(p, pn)) => {
                extend_nulls(nb, &pn, p.len());
                v.extend_from_slice(&p);
            }
            (Builder::Float(v), Part::Missing(m)) => v.resize(v.len() + m, f64::NAN),
            (Builder::Float(v), Part::Float(p)) => v.extend_from_slice(&p),
            (Builder::Float(v), Part::Int(p, pn)) => v.extend(ints_as_floats(&p, pn.as_ref())),
            (Builder::Date(v, nb), Part::Missing(m)) => {
                v.resize(v.len() + m, 0);
                nb.append_n_nulls(m);
            }
            (Builder::Date(v, nb), Part::Date(p, pn)) => {
                extend_nulls(nb, &pn, p.len());
                v.extend_from_slice(&p);
            }
            (Builder::Datetime(v, nb), Part::Missing(m)) => {
                v.resize(v.len() + m, 0);
                nb.append_n_nulls(m);
            }
            (Builder::Datetime(v, nb), Part::Date(p, pn)) => {
                extend_nulls(nb, &pn, p.len());
                v.extend(p.iter().map(|&d| d as i64 * MICROS_PER_DAY));
            }
            (Builder::Datetime(v, nb), Part::Datetime(p, pn)) => {
                extend_nulls(nb, &pn, p.len());
                v.extend_from_slice(&p);
            }
            (Builder::Str(c, nb, _), Part::Missing(m)) => {
                c.resize(c.len() + m, 0);
                nb.append_n_nulls(m);
            }
            (Builder::Str(codes, nb, dict), Part::Str(p, pn, local)) if dict.is_empty() => {
                // The first categories seen: the block's dictionary becomes the column's.
                *dict = local;
                extend_nulls(nb, &pn, p.len());
                codes.extend_from_slice(&p);
            }
            (Builder::Str(codes, nb, dict), Part::Str(p, pn, local)) => {
                let remap = dict.merge(&local);
                extend_nulls(nb, &pn, p.len());
                match &pn {
                    None => codes.extend(p.iter().map(|&k| remap[k as usize])),
                    Some(n) => codes.extend(
                        p.iter()
                            .zip(n.iter())
                            .map(|(&k, ok)| if ok { remap[k as usize] } else { 0 }),
                    ),
                }
            }
            _ => return Err(NeedsText),
        }
        Ok(())
    }

    /// The finished column; a column that never saw a value is float, all missing.
    pub fn finish(self) -> Result<ColumnData> {
        Ok(match self {
            Builder::Open(n) => ColumnData::Float(float_array(vec![f64::NAN; n])),
            Builder::Int(mut v, mut nb) => {
                v.shrink_to_fit();
                ColumnData::Int(Int64Array::new(ScalarBuffer::from(v), nb.finish()))
            }
            Builder::Float(mut v) => {
                v.shrink_to_fit();
                ColumnData::Float(float_array(v))
            }
            Builder::Date(mut v, mut nb) => {
                v.shrink_to_fit();
                ColumnData::Date(Date32Array::new(ScalarBuffer::from(v), nb.finish()))
            }
            Builder::Datetime(mut v, mut nb) => {
                v.shrink_to_fit();
                ColumnData::Datetime(TimestampMicrosecondArray::new(
                    ScalarBuffer::from(v),
                    nb.finish(),
                ))
            }
            Builder::Str(mut c, mut nb, dict) => {
                c.shrink_to_fit();
                ColumnData::Categorical(dictionary_array(c, nb.finish(), dict.into_values()?))
            }
        })
    }
}
