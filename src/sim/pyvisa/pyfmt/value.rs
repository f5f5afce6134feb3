//! [`PyValue`] and [`PyType`]: the values a device property holds, with Python's `str()`,
//! `repr()`, `int()`/`float()`/`str()` conversions and `<` on them.
//!
//! [`PyValue::convert`] is the `specs.type(value)` call pyvisa-sim makes on a setter's
//! value; [`PyValue::py_cmp`] is its comparison against the property's limits.

use std::cmp::Ordering;

use super::error::{OverflowError, PyError, Unsupported, ValueError};
use super::float::float_repr;
use super::pyparse::{IntParse, parse_py_float, parse_py_int};
use super::repr::repr_str;

/// A Python value held by a device property: int, float or str.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// A Python `int` that fits in 64 bits.
    Int(i64),
    /// A Python `float`.
    Float(f64),
    /// A Python `str`.
    Str(String),
}

/// Python's property types (`specs: type:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PyType {
    /// `int`
    Int,
    /// `float`
    Float,
    /// `str`
    Str,
}

impl PyType {
    /// Python's name of the type, as error messages quote it (`'float'`).
    pub fn name(self) -> &'static str {
        match self {
            PyType::Int => "int",
            PyType::Float => "float",
            PyType::Str => "str",
        }
    }
}

impl PyValue {
    /// The Python type of this value.
    pub fn py_type(&self) -> PyType {
        match self {
            PyValue::Int(_) => PyType::Int,
            PyValue::Float(_) => PyType::Float,
            PyValue::Str(_) => PyType::Str,
        }
    }

    /// Python `str(value)` (floats as Python's repr: `1.0`, `0.1`, `1e-05`, `1e+16`, `inf`,
    /// `nan`, `-0.0`).
    pub fn to_py_string(&self) -> String {
        match self {
            PyValue::Int(i) => i.to_string(),
            PyValue::Float(x) => float_repr(*x),
            PyValue::Str(s) => s.clone(),
        }
    }

    /// Python `repr(value)`: a `str` in quotes with escapes (see the [`pyfmt`](super) docs
    /// for which non-printable characters are escaped), numbers as
    /// [`PyValue::to_py_string`].
    pub fn py_repr(&self) -> String {
        match self {
            PyValue::Str(s) => repr_str(s, false),
            _ => self.to_py_string(),
        }
    }

    /// Python `int(v)`, `float(v)`, `str(v)` applied to this value (the `specs.type(value)`
    /// call of pyvisa-sim): `int("1.5")` fails, `int(1.9)` is 1, `int(" 7 ")` is 7,
    /// `int("1_000")` is 1000, `float("1e3")`, `float(" inf ")`, `float(2)`...
    ///
    /// Err holds Python's exception (`ValueError: invalid literal for int() with base 10:
    /// '1.5'`, `OverflowError: cannot convert float infinity to integer`), or an
    /// `unsupported:` message for an int beyond 64 bits, which Python would accept.
    pub fn convert(&self, to: PyType) -> Result<PyValue, PyError> {
        match (self, to) {
            (PyValue::Int(i), PyType::Int) => Ok(PyValue::Int(*i)),
            (PyValue::Int(i), PyType::Float) => Ok(PyValue::Float(*i as f64)),
            (PyValue::Float(x), PyType::Int) => float_to_int(*x).map(PyValue::Int),
            (PyValue::Float(x), PyType::Float) => Ok(PyValue::Float(*x)),
            (PyValue::Str(s), PyType::Int) => match parse_py_int(s, 10) {
                IntParse::Value(i) => Ok(PyValue::Int(i)),
                IntParse::Invalid => Err(ValueError::IntLiteral {
                    literal: repr_str(s, false),
                }
                .into()),
                IntParse::TooBig => Err(Unsupported::BigInt {
                    arg: repr_str(s, false),
                }
                .into()),
            },
            (PyValue::Str(s), PyType::Float) => {
                parse_py_float(s).map(PyValue::Float).ok_or_else(|| {
                    ValueError::FloatLiteral {
                        literal: repr_str(s, false),
                    }
                    .into()
                })
            }
            (v, PyType::Str) => Ok(PyValue::Str(v.to_py_string())),
        }
    }

    /// Python comparison `self < other` for same-typed values (ints/floats compare
    /// numerically across types, exactly as Python does, strs lexicographically by code
    /// point); None when Python would raise `TypeError` (str vs number).
    ///
    /// A NaN on either side gives `Some(Equal)`: Python's `<` and `>` are then both False,
    /// which is what `Equal` answers; `<=`, `>=` and `==` with a NaN are False in Python, so
    /// do not derive those from this result.
    pub fn py_cmp(&self, other: &PyValue) -> Option<Ordering> {
        match (self, other) {
            (PyValue::Int(a), PyValue::Int(b)) => Some(a.cmp(b)),
            (PyValue::Float(a), PyValue::Float(b)) => {
                Some(a.partial_cmp(b).unwrap_or(Ordering::Equal))
            }
            (PyValue::Int(a), PyValue::Float(b)) => Some(cmp_int_float(*a, *b)),
            (PyValue::Float(a), PyValue::Int(b)) => Some(cmp_int_float(*b, *a).reverse()),
            (PyValue::Str(a), PyValue::Str(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

/// `i` compared with `f` exactly (no rounding of `i` to a float); `Equal` for a NaN.
fn cmp_int_float(i: i64, f: f64) -> Ordering {
    /// 2^63, the first float above every i64.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return Ordering::Equal;
    }
    let floor = f.floor();
    if floor >= TWO_63 {
        return Ordering::Less;
    }
    if floor < -TWO_63 {
        return Ordering::Greater;
    }
    // `floor` is integral and in range, so the cast is exact.
    match i.cmp(&(floor as i64)) {
        Ordering::Equal if f > floor => Ordering::Less,
        other => other,
    }
}

/// Python `int(x)` of a float: truncation toward zero.
fn float_to_int(x: f64) -> Result<i64, PyError> {
    /// 2^63, the first float above every i64.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if x.is_nan() {
        return Err(ValueError::NanToInt.into());
    }
    if x.is_infinite() {
        return Err(OverflowError::InfinityToInt.into());
    }
    let t = x.trunc();
    if !(-TWO_63..TWO_63).contains(&t) {
        return Err(Unsupported::BigInt { arg: float_repr(x) }.into());
    }
    Ok(t as i64)
}
