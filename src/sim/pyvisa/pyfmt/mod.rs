//! Python `str.format` for the values of a pyvisa-sim device file.
//!
//! pyvisa-sim answers a getter with `response.format(value)` and converts a setter's value
//! with `specs.type(value)` (`int`, `float` or `str`), comparing it with `<`/`>` against the
//! property's limits. To serve those device files byte for byte this module reproduces, for
//! one `int`, `float` or `str` value, what Python 3.11 does:
//!
//! - [`format()`]: `template.format(value)`: the replacement-field grammar (`{}`, `{0}`,
//!   `{:spec}`, `{0!r:spec}`, nested `{0:{0}}`, `{{`/`}}`), automatic numbering, and
//!   Python's errors, raised in the order Python raises them.
//! - [`format_value`]: `format(value, spec)`: the format-spec mini-language
//!   `[[fill]align][sign][z][#][0][width][,|_][.precision][type]` for the three types,
//!   in the C locale (`n` is `d`/`g`).
//! - [`PyValue::to_py_string`], [`PyValue::convert`], [`PyValue::py_cmp`]: `str()`,
//!   `int()`/`float()`/`str()` and `<` on these values.
//!
//! Errors are Python's, typed ([`PyError`], `error.rs`): each displays as the last line of
//! Python's traceback, `ExceptionType: message` (`ValueError: Single '}' encountered in
//! format string`), and callers can tell a `ValueError` (which pyvisa-sim catches) from
//! other exceptions by its variant. What Python accepts but this module does not reproduce
//! fails with [`PyError::Unsupported`], displayed `unsupported: ...`:
//!
//! - attribute and index access in a field (`{0.real}`, `{0[0]}`);
//! - `{:c}` of a surrogate code point (a Rust `String` cannot hold one);
//! - ints beyond 64 bits (`int("99999999999999999999")`, `int(1e300)`);
//! - a format spec's width over 10 000 or precision over 1 000 (Python takes any width
//!   that fits in memory, and precisions up to 2^31 - 1): a getter such as `{0:{0}}` lets
//!   a client-set value choose the width, and a huge one would abort the simulator on
//!   allocation. The limits are checked after Python's own checks of the spec, so a spec
//!   Python rejects still gets Python's error.
//!
//! Smaller differences, all documented where they apply: only ASCII digits count as digits
//! (Python also takes other Unicode decimal digits in widths, field numbers and `int()`),
//! and `repr` of a `str` escapes the non-printable characters it can recognise without
//! Unicode tables (controls, separators, private use, common format characters).
//!
//! Floats are formatted from the exact digits of Rust's formatter (`{:e}` for the shortest
//! round-trip digits, `{:.*e}` and `{:.*}` for correctly rounded ones, round-half-even on
//! the exact binary value as Python's `dtoa` does), then laid out as Python's
//! `format_float_short` lays them out.
//!
//! # Layout
//!
//! - `value`: [`PyValue`], [`PyType`], conversions and comparison.
//! - `template`: Python's template parser (`Markup`), shared with `strparse`.
//! - `args`: the fields of one [`format()`] call: lookup, numbering, conversions.
//! - `spec`: the format-spec mini-language, and formatting ints and strs.
//! - `number`: padding, sign and digit grouping of a formatted number.
//! - `float`: float formatting and `repr`.
//! - `pyparse`: Python's `int()` and `float()` of a str.
//! - `repr`: Python's `repr()` of a str.

mod args;
mod error;
mod float;
mod number;
mod pyparse;
mod repr;
mod spec;
mod template;
mod value;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use error::{OverflowError, PyError, Unsupported, ValueError};
pub(crate) use pyparse::{IntParse, parse_py_float, parse_py_int};
pub(crate) use template::Markup;
pub use value::{PyType, PyValue};

use args::Args;
use float::format_float;
use spec::{Spec, format_int, format_str, quote_code};

/// Python `template.format(value)`: every replacement field (`{}`, `{0}`, `{:spec}`,
/// `{0:spec}`) receives `value`; `{{` and `}}` are literal braces.
///
/// As in Python, automatic numbering counts: `{}{}` asks for a second argument and fails
/// with `IndexError: Replacement index 1 out of range for positional args tuple`, while
/// `{0}{0}` repeats the value. Conversions `!s`, `!r` and `!a` are supported. A format spec
/// may hold nested fields (`{0:>{0}}`), two levels deep as in Python.
///
/// Err (Python's error, see the module docs) for what Python rejects: `{:d}` of a
/// float, `{:f}` of a str, unbalanced braces, `{1}` (index out of range), named fields
/// `{x}` (`KeyError`), unknown conversions; `unsupported:` for attribute or index access.
pub fn format(template: &str, value: &PyValue) -> Result<String, PyError> {
    Args::new(value).build(template, 2)
}

/// Python `format(value, spec)` (the format-spec mini-language), in the C locale.
///
/// Err holds Python's error (`ValueError: Unknown format code 'd' for object of type
/// 'float'`), or `unsupported:` for `{:c}` of a surrogate and for a width over 10 000 or
/// a precision over 1 000 in a spec Python would accept (see the module docs).
pub fn format_value(value: &PyValue, spec: &str) -> Result<String, PyError> {
    if spec.is_empty() {
        return Ok(value.to_py_string());
    }
    match value {
        PyValue::Int(i) => {
            let spec = Spec::parse(spec, "int", Some('d'), '>')?;
            match spec.ty {
                Some('b' | 'c' | 'd' | 'o' | 'x' | 'X' | 'n') => format_int(*i, &spec),
                Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%') => format_float(*i as f64, &spec),
                other => Err(unknown_code(other, "int")),
            }
        }
        PyValue::Float(x) => {
            let spec = Spec::parse(spec, "float", None, '>')?;
            match spec.ty {
                None | Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'n' | '%') => {
                    format_float(*x, &spec)
                }
                other => Err(unknown_code(other, "float")),
            }
        }
        PyValue::Str(s) => {
            let spec = Spec::parse(spec, "str", Some('s'), '<')?;
            match spec.ty {
                Some('s') => format_str(s, &spec),
                other => Err(unknown_code(other, "str")),
            }
        }
    }
}

/// Python's error for a presentation type the value's type does not have.
fn unknown_code(ty: Option<char>, type_name: &'static str) -> PyError {
    ValueError::UnknownCode {
        code: quote_code(ty.unwrap_or('\0')),
        type_name,
    }
    .into()
}
