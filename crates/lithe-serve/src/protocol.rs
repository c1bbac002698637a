//! The Open Inference Protocol's JSON: inference requests and responses, tensor
//! metadata, and the conversion between tensors and lithe's [`Table`]s.
//!
//! Every lithe model reads and writes tables, so the server's whole job between the
//! wire and a model is here: each input tensor becomes one column (`[n]` or `[n, 1]`
//! tensors, one value per row), each output column one tensor.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use lithe_core::{Column, ColumnData, Table};

use crate::error::ApiError;

/// `$inference_request`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InferRequest {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    pub inputs: Vec<RequestInput>,
    #[serde(default)]
    pub outputs: Option<Vec<RequestOutput>>,
}

/// `$request_input`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    pub name: String,
    pub shape: Vec<u64>,
    pub datatype: String,
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    pub data: Data,
}

/// `$request_output`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestOutput {
    pub name: String,
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
}

/// One element of a tensor's data as it came over the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
}

/// A tensor's data, flattened in row-major order (the protocol allows nested arrays
/// or a flat one).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Data(pub Vec<Scalar>);

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut out = Vec::new();
        d.deserialize_any(Flatten {
            out: &mut out,
            depth: 0,
        })?;
        Ok(Data(out))
    }
}

/// Nested arrays deeper than this are refused (a tensor of lithe's has rank 2 at most;
/// the bound keeps a hostile body from recursing deeply).
const MAX_DEPTH: u32 = 8;

struct Flatten<'a> {
    out: &'a mut Vec<Scalar>,
    depth: u32,
}

impl<'de> de::DeserializeSeed<'de> for Flatten<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Flatten<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of numbers, strings, booleans or nulls")
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.out.push(Scalar::Int(v));
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.out.push(match i64::try_from(v) {
            Ok(i) => Scalar::Int(i),
            Err(_) => Scalar::Float(v as f64),
        });
        Ok(())
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.out.push(Scalar::Float(v));
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.out.push(Scalar::Str(v.to_owned()));
        Ok(())
    }
    fn visit_string<E>(self, v: String) -> Result<(), E> {
        self.out.push(Scalar::Str(v));
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.out.push(Scalar::Bool(v));
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.out.push(Scalar::Null);
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom("data is nested too deeply"));
        }
        let depth = self.depth + 1;
        while seq
            .next_element_seed(Flatten {
                out: &mut *self.out,
                depth,
            })?
            .is_some()
        {}
        Ok(())
    }
}

/// `$inference_response`.
#[derive(Debug, Serialize)]
pub struct InferResponse {
    pub model_name: String,
    pub model_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub outputs: Vec<ResponseOutput>,
}

/// `$response_output`.
#[derive(Debug, Serialize)]
pub struct ResponseOutput {
    pub name: String,
    pub shape: Vec<usize>,
    pub datatype: &'static str,
    pub data: OutData,
}

/// An output tensor's values (a missing value is `null`).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum OutData {
    /// `NaN` is written `null`.
    F64(Vec<f64>),
    I64(Vec<Option<i64>>),
    Str(Vec<Option<String>>),
}

/// `$metadata_tensor`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TensorMeta {
    pub name: String,
    pub datatype: &'static str,
    pub shape: Vec<i64>,
}

impl TensorMeta {
    /// A one-column tensor of any number of rows.
    pub fn column(name: impl Into<String>, datatype: &'static str) -> Self {
        TensorMeta {
            name: name.into(),
            datatype,
            shape: vec![-1],
        }
    }
}

/// The protocol's tensor data types.
const DATATYPES: [&str; 14] = [
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16",
    "FP32", "FP64", "BYTES", "BF16",
];

/// The inclusive range of an integer data type.
fn int_range(datatype: &str) -> Option<(i128, i128)> {
    Some(match datatype {
        "UINT8" => (0, u8::MAX as i128),
        "UINT16" => (0, u16::MAX as i128),
        "UINT32" => (0, u32::MAX as i128),
        "UINT64" => (0, u64::MAX as i128),
        "INT8" => (i8::MIN as i128, i8::MAX as i128),
        "INT16" => (i16::MIN as i128, i16::MAX as i128),
        "INT32" => (i32::MIN as i128, i32::MAX as i128),
        "INT64" => (i64::MIN as i128, i64::MAX as i128),
        _ => return None,
    })
}

/// The rows of an input tensor: `[n]` or `[n, 1]`.
fn rows_of(input: &RequestInput) -> Result<usize, ApiError> {
    let n = match input.shape.as_slice() {
        [n] | [n, 1] => *n,
        _ => {
            return Err(ApiError::bad(format!(
                "input '{}': shape {:?} is not a column; lithe models take one value per row: \
                 shape [n] or [n, 1]",
                input.name, input.shape
            )));
        }
    };
    let n = usize::try_from(n).map_err(|_| {
        ApiError::bad(format!(
            "input '{}': shape {:?} is too large",
            input.name, input.shape
        ))
    })?;
    if n != input.data.0.len() {
        return Err(ApiError::bad(format!(
            "input '{}': shape {:?} holds {n} values but data has {}",
            input.name,
            input.shape,
            input.data.0.len()
        )));
    }
    Ok(n)
}

/// What an element of the wrong kind is called in a message.
fn kind(s: &Scalar) -> &'static str {
    match s {
        Scalar::Int(_) => "an integer",
        Scalar::Float(_) => "a number",
        Scalar::Str(_) => "a string",
        Scalar::Bool(_) => "a boolean",
        Scalar::Null => "null",
    }
}

fn wrong(input: &RequestInput, i: usize, s: &Scalar) -> ApiError {
    ApiError::bad(format!(
        "input '{}': element {i} is {} but the datatype is {}",
        input.name,
        kind(s),
        input.datatype
    ))
}

/// An input tensor's values after its checks.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// `FP*` (`NaN` = missing).
    Floats(Vec<f64>),
    /// `INT*`, `UINT*` and `BOOL` (0/1).
    Ints(Vec<Option<i64>>),
    /// `BYTES`.
    Text(Vec<Option<String>>),
}

/// One input tensor's values, checked against its datatype and shape: numbers for
/// the number types (`FP32` rounded to f32; integers within their type's range),
/// strings for `BYTES`, booleans for `BOOL`; `null` is missing.
pub fn decode(input: &RequestInput) -> Result<Decoded, ApiError> {
    rows_of(input)?;
    let dt = input.datatype.as_str();
    let data = &input.data.0;
    match dt {
        "FP64" | "FP32" | "FP16" | "BF16" => {
            let narrow = dt != "FP64";
            let mut v = Vec::with_capacity(data.len());
            for (i, s) in data.iter().enumerate() {
                v.push(match s {
                    Scalar::Float(x) if narrow => *x as f32 as f64,
                    Scalar::Float(x) => *x,
                    Scalar::Int(x) if narrow => *x as f32 as f64,
                    Scalar::Int(x) => *x as f64,
                    Scalar::Null => f64::NAN,
                    other => return Err(wrong(input, i, other)),
                });
            }
            Ok(Decoded::Floats(v))
        }
        "BYTES" => {
            let mut v = Vec::with_capacity(data.len());
            for (i, s) in data.iter().enumerate() {
                v.push(match s {
                    Scalar::Str(x) => Some(x.clone()),
                    Scalar::Null => None,
                    other => return Err(wrong(input, i, other)),
                });
            }
            Ok(Decoded::Text(v))
        }
        "BOOL" => {
            let mut v = Vec::with_capacity(data.len());
            for (i, s) in data.iter().enumerate() {
                v.push(match s {
                    Scalar::Bool(b) => Some(i64::from(*b)),
                    Scalar::Null => None,
                    other => return Err(wrong(input, i, other)),
                });
            }
            Ok(Decoded::Ints(v))
        }
        _ => {
            let Some((lo, hi)) = int_range(dt) else {
                return Err(ApiError::bad(format!(
                    "input '{}': unknown datatype '{dt}' (the protocol's are {})",
                    input.name,
                    DATATYPES.join(", ")
                )));
            };
            let mut v = Vec::with_capacity(data.len());
            for (i, s) in data.iter().enumerate() {
                let x = match s {
                    Scalar::Int(x) => *x as i128,
                    Scalar::Float(x) if x.fract() == 0.0 && x.abs() < 1.8e19 => *x as i128,
                    Scalar::Null => {
                        v.push(None);
                        continue;
                    }
                    other => return Err(wrong(input, i, other)),
                };
                if x < lo || x > hi {
                    return Err(ApiError::bad(format!(
                        "input '{}': element {i} ({x}) is outside the range of {dt}",
                        input.name
                    )));
                }
                // (UINT64 values past i64::MAX: no lithe input holds them.)
                v.push(Some(i64::try_from(x).map_err(|_| {
                    ApiError::bad(format!(
                        "input '{}': element {i} ({x}) is too large",
                        input.name
                    ))
                })?));
            }
            Ok(Decoded::Ints(v))
        }
    }
}

/// A decoded tensor as a column named `name`.
pub fn column_of(name: &str, d: Decoded) -> Result<Column, ApiError> {
    Ok(match d {
        Decoded::Floats(v) => Column::from_f64(name, v),
        Decoded::Ints(v) => Column::from_i64(name, v),
        Decoded::Text(v) => Column::from_strings(name, &v)?,
    })
}

/// One input tensor as a column of its own name (see [`decode`]).
pub fn to_column(input: &RequestInput) -> Result<Column, ApiError> {
    column_of(&input.name, decode(input)?)
}

/// Decoded inputs with their names.
pub type Named<'a> = Vec<(&'a str, Decoded)>;

/// The request's inputs decoded, after the checks every model shares: known inputs
/// only (`allowed`, when the model names its inputs), no input twice, and the same
/// number of rows in each. Returns the rows and each input's name and values.
pub fn decode_all<'a>(
    inputs: &'a [RequestInput],
    allowed: Option<&[TensorMeta]>,
) -> Result<(usize, Named<'a>), ApiError> {
    if inputs.is_empty() {
        return Err(ApiError::bad("the request has no inputs"));
    }
    let mut cols = Vec::with_capacity(inputs.len());
    let mut rows: Option<(usize, &str)> = None;
    for (i, input) in inputs.iter().enumerate() {
        if inputs[..i].iter().any(|p| p.name == input.name) {
            return Err(ApiError::bad(format!(
                "input '{}' is given twice",
                input.name
            )));
        }
        if let Some(allowed) = allowed
            && !allowed.iter().any(|m| m.name == input.name)
        {
            let names: Vec<&str> = allowed.iter().map(|m| m.name.as_str()).collect();
            return Err(ApiError::bad(format!(
                "unknown input '{}'; the model's inputs are {}",
                input.name,
                lithe_core::table::preview_list(&names, 12)
            )));
        }
        let n = rows_of(input)?;
        match rows {
            Some((m, first)) if m != n => {
                return Err(ApiError::bad(format!(
                    "input '{}' has {n} rows but input '{first}' has {m}",
                    input.name
                )));
            }
            _ => rows = Some((n, &input.name)),
        }
        cols.push((input.name.as_str(), decode(input)?));
    }
    Ok((rows.map_or(0, |r| r.0), cols))
}

/// Decoded inputs as one table.
pub fn table_of(cols: Vec<(&str, Decoded)>) -> Result<Table, ApiError> {
    let cols = cols
        .into_iter()
        .map(|(name, d)| column_of(name, d))
        .collect::<Result<Vec<_>, _>>()?;
    Table::new(cols).map_err(ApiError::from)
}

/// The request's inputs as one table (see [`decode_all`]).
pub fn to_table(
    inputs: &[RequestInput],
    allowed: Option<&[TensorMeta]>,
) -> Result<Table, ApiError> {
    table_of(decode_all(inputs, allowed)?.1)
}

/// A column as an output tensor of shape `[n]`.
pub fn to_output(col: &Column) -> ResponseOutput {
    let n = col.len();
    let (datatype, data) = match col.data() {
        ColumnData::Float(_) => ("FP64", OutData::F64(col.to_f64())),
        ColumnData::Int(a) => (
            "INT64",
            OutData::I64(
                (0..n)
                    .map(|r| (!col.is_null(r)).then(|| a.value(r)))
                    .collect(),
            ),
        ),
        _ => (
            "BYTES",
            OutData::Str((0..n).map(|r| col.value_string(r)).collect()),
        ),
    };
    ResponseOutput {
        name: col.name().to_owned(),
        shape: vec![n],
        datatype,
        data,
    }
}

/// The output tensors of `table`, all of them or those `wanted` (each must exist).
pub fn to_outputs(
    table: &Table,
    wanted: Option<&[RequestOutput]>,
) -> Result<Vec<ResponseOutput>, ApiError> {
    match wanted {
        None => Ok(table.columns().iter().map(to_output).collect()),
        Some(w) => w
            .iter()
            .map(|o| {
                table.column(&o.name).map(to_output).ok_or_else(|| {
                    let names: Vec<&str> = table.names().collect();
                    ApiError::bad(format!(
                        "unknown output '{}'; the model's outputs are {}",
                        o.name,
                        names.join(", ")
                    ))
                })
            })
            .collect(),
    }
}

/// A request parameter as a whole number, or `default` when absent.
pub fn param_usize(
    params: Option<&Map<String, Value>>,
    name: &str,
    default: usize,
) -> Result<usize, ApiError> {
    match params.and_then(|p| p.get(name)) {
        None => Ok(default),
        Some(v) => v
            .as_u64()
            .and_then(|x| usize::try_from(x).ok())
            .ok_or_else(|| {
                ApiError::bad(format!(
                    "parameter '{name}' must be a whole number, not {v}"
                ))
            }),
    }
}

/// A request parameter as a boolean, or `default` when absent.
pub fn param_bool(
    params: Option<&Map<String, Value>>,
    name: &str,
    default: bool,
) -> Result<bool, ApiError> {
    match params.and_then(|p| p.get(name)) {
        None => Ok(default),
        Some(v) => v.as_bool().ok_or_else(|| {
            ApiError::bad(format!("parameter '{name}' must be true or false, not {v}"))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> RequestInput {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn nested_data_is_flattened_in_row_major_order() {
        let i = input(r#"{"name":"x","shape":[2,1],"datatype":"FP64","data":[[1.5],[null]]}"#);
        assert_eq!(i.data.0, vec![Scalar::Float(1.5), Scalar::Null]);
        let c = to_column(&i).unwrap();
        let v = c.to_f64();
        assert_eq!(v[0], 1.5);
        assert!(v[1].is_nan());
    }

    #[test]
    fn fp32_values_are_rounded_to_f32() {
        let i = input(r#"{"name":"x","shape":[1],"datatype":"FP32","data":[0.1]}"#);
        assert_eq!(to_column(&i).unwrap().to_f64()[0], 0.1f32 as f64);
    }

    #[test]
    fn bad_tensors_are_refused_by_name() {
        let cases = [
            (
                r#"{"name":"a","shape":[2],"datatype":"FP32","data":[1]}"#,
                "shape [2] holds 2 values but data has 1",
            ),
            (
                r#"{"name":"a","shape":[1,2],"datatype":"FP32","data":[1,2]}"#,
                "is not a column",
            ),
            (
                r#"{"name":"a","shape":[1],"datatype":"FP32","data":["x"]}"#,
                "element 0 is a string but the datatype is FP32",
            ),
            (
                r#"{"name":"a","shape":[1],"datatype":"BYTES","data":[3]}"#,
                "element 0 is an integer but the datatype is BYTES",
            ),
            (
                r#"{"name":"a","shape":[1],"datatype":"UINT8","data":[300]}"#,
                "outside the range of UINT8",
            ),
            (
                r#"{"name":"a","shape":[1],"datatype":"INT32","data":[1.5]}"#,
                "element 0 is a number",
            ),
            (
                r#"{"name":"a","shape":[1],"datatype":"COMPLEX","data":[1]}"#,
                "unknown datatype 'COMPLEX'",
            ),
        ];
        for (json, want) in cases {
            let e = to_column(&input(json)).unwrap_err();
            assert_eq!(e.status, 400);
            assert!(e.message.contains(want), "{json}: {}", e.message);
            assert!(e.message.contains("'a'"), "{}", e.message);
        }
    }

    #[test]
    fn tables_check_names_and_rows() {
        let a = input(r#"{"name":"a","shape":[2],"datatype":"FP64","data":[1,2]}"#);
        let b = input(r#"{"name":"b","shape":[1],"datatype":"FP64","data":[1]}"#);
        let a2 = input(r#"{"name":"a","shape":[2],"datatype":"FP64","data":[1,2]}"#);
        let e = to_table(&[a, b], None).unwrap_err();
        assert!(
            e.message
                .contains("input 'b' has 1 rows but input 'a' has 2"),
            "{}",
            e.message
        );
        let a = input(r#"{"name":"a","shape":[2],"datatype":"FP64","data":[1,2]}"#);
        let e = to_table(&[a, a2], None).unwrap_err();
        assert!(e.message.contains("given twice"));
        let a = input(r#"{"name":"zz","shape":[2],"datatype":"FP64","data":[1,2]}"#);
        let allowed = [TensorMeta::column("a", "FP64")];
        let e = to_table(&[a], Some(&allowed)).unwrap_err();
        assert!(
            e.message
                .contains("unknown input 'zz'; the model's inputs are 'a'"),
            "{}",
            e.message
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("{}1{}", "[".repeat(20), "]".repeat(20));
        let json = format!(r#"{{"name":"a","shape":[1],"datatype":"FP64","data":{deep}}}"#);
        assert!(serde_json::from_str::<RequestInput>(&json).is_err());
    }
}
