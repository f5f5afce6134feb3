//! Floats: `format(x, spec)` for the float presentation types and `repr(x)`, following
//! Python's `PyOS_double_to_string`.
//!
//! The digits come from Rust's formatter (`{:e}` for the shortest round-trip digits,
//! `{:.*e}` and `{:.*}` for correctly rounded ones), then [`lay_out_digits`] places them
//! as Python's `format_float_short` does.

use std::fmt::Write as _;

use super::error::{PyError, ValueError};
use super::number::{Number, repeat};
use super::spec::{Grouping, Spec};

/// Formats a float (Python's `format_float_internal`); ints reach it for `e f g %`.
pub(super) fn format_float(x: f64, spec: &Spec) -> Result<String, PyError> {
    if spec.precision.is_some_and(|p| p > i64::from(i32::MAX)) {
        return Err(ValueError::PrecisionTooBig.into());
    }
    spec.check_limits()?;
    // No type: like repr without a precision, else like `g` keeping a decimal digit.
    let (mut code, default_precision, add_dot_0) = match spec.ty {
        None => ('r', 0, true),
        Some('n') => ('g', 6, false),
        Some(c) => (c, 6, false),
    };
    let mut value = x;
    let percent = code == '%';
    if percent {
        code = 'f';
        value *= 100.0;
    }
    let precision = match spec.precision {
        None => default_precision,
        Some(p) => {
            if code == 'r' {
                code = 'g';
            }
            p
        }
    };
    let flags = FloatFlags {
        add_dot_0,
        alternate: spec.alternate,
        no_neg_0: spec.no_neg_0,
    };
    let mut text = double_to_string(value, code, precision, flags);
    if percent {
        text.push('%');
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let int_end = body
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(body.len());
    let decimal = body[int_end..].starts_with('.');
    let number = Number {
        negative,
        prefix: "",
        digits: &body[..int_end],
        decimal,
        remainder: &body[int_end + usize::from(decimal)..],
    };
    // `n` groups by the C locale's rule: not at all.
    let grouping = if spec.ty == Some('n') {
        Grouping::None
    } else {
        spec.grouping
    };
    Ok(number.layout(spec, grouping))
}

/// Python `repr(x)`.
pub(super) fn float_repr(x: f64) -> String {
    let flags = FloatFlags {
        add_dot_0: true,
        alternate: false,
        no_neg_0: false,
    };
    double_to_string(x, 'r', 0, flags)
}

/// The flags of `PyOS_double_to_string` that format specs set.
#[derive(Debug, Clone, Copy)]
struct FloatFlags {
    /// Keep at least one digit after the point (`repr`, and specs without a type).
    add_dot_0: bool,
    /// `#`: keep the point and, for `g`, trailing zeros.
    alternate: bool,
    /// `z`: a result that shows zero drops its minus sign.
    no_neg_0: bool,
}

/// Decimal digits of a finite non-negative float as `_Py_dg_dtoa` returns them: no leading
/// or trailing zeros (zero itself is `"0"`), value `0.DIGITS × 10^decpt`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Digits {
    /// The significant digits, possibly empty when a fixed precision rounds to zero.
    digits: String,
    /// Position of the decimal point relative to the first digit.
    decpt: i64,
}

impl Digits {
    /// Shortest digits that round-trip (dtoa mode 0).
    fn shortest(x: f64) -> Digits {
        Digits::from_exponent_form(&format!("{x:e}"))
    }

    /// `n` (at least 1) significant digits, correctly rounded (dtoa mode 2).
    fn significant(x: f64, n: i64) -> Digits {
        let after_point = usize::try_from(n - 1).unwrap_or(0);
        Digits::from_exponent_form(&format!("{x:.after_point$e}"))
    }

    /// `n` digits after the point, correctly rounded (dtoa mode 3).
    fn fixed(x: f64, n: i64) -> Digits {
        if x == 0.0 {
            return Digits::zero();
        }
        let after_point = usize::try_from(n).unwrap_or(0);
        let text = format!("{x:.after_point$}");
        let (int_part, frac) = text.split_once('.').unwrap_or((&text, ""));
        let all = format!("{int_part}{frac}");
        let trimmed = all.trim_start_matches('0');
        let leading = signed(all.len() - trimmed.len());
        let digits = trimmed.trim_end_matches('0');
        if digits.is_empty() {
            // Rounds to zero: dtoa returns no digits, the point `n` places left.
            return Digits {
                digits: String::new(),
                decpt: -n,
            };
        }
        Digits {
            digits: digits.to_owned(),
            decpt: signed(int_part.len()) - leading,
        }
    }

    /// dtoa's answer for zero in every mode.
    fn zero() -> Digits {
        Digits {
            digits: "0".to_owned(),
            decpt: 1,
        }
    }

    /// Reads Rust's `d.ddde±x` form of a non-negative float.
    fn from_exponent_form(text: &str) -> Digits {
        let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
        let exp: i64 = exp.parse().unwrap_or(0);
        let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
        let digits = digits.trim_end_matches('0');
        if digits.is_empty() {
            return Digits::zero();
        }
        Digits {
            digits: digits.to_owned(),
            decpt: exp + 1,
        }
    }
}

/// `usize` to `i64`, saturating (lengths here are far below the limit).
fn signed(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Python's `PyOS_double_to_string` for `code` in `e E f F g G r`.
fn double_to_string(x: f64, code: char, precision: i64, flags: FloatFlags) -> String {
    let upper = code.is_ascii_uppercase();
    let code = code.to_ascii_lowercase();
    let mut negative = x.is_sign_negative();
    if x.is_nan() || x.is_infinite() {
        let word = match (x.is_nan(), upper) {
            (true, false) => "nan",
            (true, true) => "NAN",
            (false, false) => "inf",
            (false, true) => "INF",
        };
        // The sign of a NaN is never shown.
        return if negative && !x.is_nan() {
            format!("-{word}")
        } else {
            word.to_owned()
        };
    }
    let magnitude = x.abs();
    let (digits, precision) = match code {
        'e' => (Digits::significant(magnitude, precision + 1), precision + 1),
        'f' => (Digits::fixed(magnitude, precision), precision),
        'g' => {
            let precision = precision.max(1);
            (Digits::significant(magnitude, precision), precision)
        }
        _ => (Digits::shortest(magnitude), 0),
    };
    if flags.no_neg_0 && (digits.digits.is_empty() || digits.digits == "0") {
        negative = false;
    }
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&lay_out_digits(&digits, code, precision, flags, upper));
    out
}

/// Places the point, pads with zeros and adds the exponent (the body of Python's
/// `format_float_short`, with `precision` already adjusted for `e` and `g`).
fn lay_out_digits(
    d: &Digits,
    code: char,
    precision: i64,
    flags: FloatFlags,
    upper: bool,
) -> String {
    let digits = d.digits.as_str();
    let len = signed(digits.len());
    let mut decpt = d.decpt;
    // The output is the slice [start, end) of the digits padded with zeros both ways.
    let mut end = len;
    let mut use_exp = false;
    match code {
        'e' => {
            use_exp = true;
            end = precision;
        }
        'f' => end = decpt + precision,
        'g' => {
            let limit = if flags.add_dot_0 {
                precision - 1
            } else {
                precision
            };
            use_exp = decpt <= -4 || decpt > limit;
            if flags.alternate {
                end = precision;
            }
        }
        // repr switches to an exponent at 1e16.
        _ => use_exp = decpt <= -4 || decpt > 16,
    }
    let mut exp = 0;
    if use_exp {
        exp = decpt - 1;
        decpt = 1;
    }
    let start = if decpt <= 0 { decpt - 1 } else { 0 };
    let min_end = if !use_exp && flags.add_dot_0 {
        decpt + 1
    } else {
        decpt
    };
    end = end.max(min_end);
    let mut out = String::new();
    if decpt <= 0 {
        out.push_str(&repeat('0', decpt - start));
        out.push('.');
        out.push_str(&repeat('0', -decpt));
        out.push_str(digits);
    } else {
        out.push_str(&repeat('0', -start));
        if decpt <= len {
            let at = usize::try_from(decpt).unwrap_or(0);
            out.push_str(&digits[..at]);
            out.push('.');
            out.push_str(&digits[at..]);
        } else {
            out.push_str(digits);
        }
    }
    if len < decpt {
        out.push_str(&repeat('0', decpt - len));
        out.push('.');
        out.push_str(&repeat('0', end - decpt));
    } else {
        out.push_str(&repeat('0', end - len));
    }
    if out.ends_with('.') && !flags.alternate {
        out.pop();
    }
    if use_exp {
        out.push(if upper { 'E' } else { 'e' });
        // Writing to a String cannot fail.
        let _ = write!(out, "{exp:+03}");
    }
    out
}
