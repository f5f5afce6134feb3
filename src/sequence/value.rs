//! The value a sweep variable takes at one point, and its canonical text.
//!
//! Sweeps ([`super::sweep`]) produce [`Value`]s; templates ([`super::template`]) render them
//! into command text; the run log serializes them. All three must agree on one spelling of a
//! number, so that `0.1 + 0.2` is sent, logged and diffed as `0.3`. That spelling is C's
//! `%.12g`: twelve significant digits hide binary rounding noise while keeping far more
//! precision than any instrument accepts.

use std::fmt::{self, Write as _};

use serde::{Serialize, Serializer};

/// Significant digits of the canonical float text (`%.12g`).
const SIGNIFICANT: i32 = 12;

/// A sweep variable's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A whole number, from a YAML integer or an integer `range`.
    Int(i64),
    /// A number from a YAML float, a `linspace`, a float `range` or a `log` sweep.
    Float(f64),
    /// Text from a list, sent verbatim (channel names, modes, ...).
    Str(String),
    /// A condition's result (an expression such as `{volt > 1}`), rendered `1`/`0` like an
    /// SCPI boolean.
    Bool(bool),
}

impl Value {
    /// Appends the canonical text: Int as integer; Float like C/Python `%.12g` (12 significant
    /// digits, trailing zeros and trailing point trimmed, scientific `1e-05`/`1.5e+20` exactly
    /// when Python's `'%.12g' % x` would use it, `-0.0` renders `0`, NaN `nan`, infinities
    /// `inf`/`-inf`); Str verbatim.
    pub fn render(&self, out: &mut String) {
        match self {
            Value::Int(i) => {
                if *i < 0 {
                    out.push('-');
                }
                push_decimal(out, i.unsigned_abs());
            }
            Value::Float(x) => render_g12(*x, out),
            Value::Str(s) => out.push_str(s),
            Value::Bool(b) => out.push(if *b { '1' } else { '0' }),
        }
    }

    /// Appends with exactly `decimals` digits after the point (Rust `{:.N}`); Int is formatted
    /// as a float with N decimals; Str verbatim; Bool `1`/`0` (an SCPI boolean has no decimals).
    ///
    /// `-0.0` renders like `0.0`, and non-finite values as `nan`, `inf` and `-inf`, the same
    /// spellings as [`Value::render`].
    pub fn render_fixed(&self, decimals: usize, out: &mut String) {
        let x = match self {
            Value::Int(i) => *i as f64,
            Value::Float(x) => *x,
            Value::Str(s) => {
                out.push_str(s);
                return;
            }
            Value::Bool(_) => {
                self.render(out);
                return;
            }
        };
        if !x.is_finite() {
            push_non_finite(x, out);
            return;
        }
        // Adding +0.0 turns -0.0 into 0.0 and leaves every other value alone.
        let _ = write!(out, "{:.*}", decimals, x + 0.0);
    }

    /// Numeric view (Int and Float), None for Str and Bool (a condition is not a number,
    /// though it renders `1`/`0`).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(x) => Some(*x),
            Value::Str(_) | Value::Bool(_) => None,
        }
    }

    /// True for [`Value::Str`]: the value cannot be used where a number is needed.
    pub fn is_text(&self) -> bool {
        matches!(self, Value::Str(_))
    }
}

impl fmt::Display for Value {
    /// The canonical text of [`Value::render`]; width and alignment flags apply to it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Value::Str(s) = self {
            return f.pad(s);
        }
        let mut text = String::new();
        self.render(&mut text);
        f.pad(&text)
    }
}

impl Serialize for Value {
    /// Int as a JSON integer; Float as the JSON number its canonical text denotes (so the log
    /// holds `0.3`, not `0.30000000000000004`); non-finite floats as the strings `nan`, `inf`
    /// and `-inf`, which JSON numbers cannot express; Str as a string; Bool as `true`/`false`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::Float(x) if x.is_finite() => {
                let mut text = String::new();
                render_g12(*x, &mut text);
                // The text came from a finite f64, so it always parses; fall back to the raw
                // value rather than panic if that ever changes.
                let rounded = text.parse::<f64>().unwrap_or(*x);
                serializer.serialize_f64(rounded)
            }
            Value::Float(x) => {
                let mut text = String::new();
                push_non_finite(*x, &mut text);
                serializer.serialize_str(&text)
            }
            Value::Str(s) => serializer.serialize_str(s),
            Value::Bool(b) => serializer.serialize_bool(*b),
        }
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

/// Appends `nan`, `inf` or `-inf`.
/// The decimal digits of `n` (what `{n}` prints), written at the end of `buf`: without the
/// formatting machinery, which cost more than the rest of rendering a `{i}` placeholder or
/// a point's id, done for every point. Two digits at a time, like `itoa`.
pub fn digits(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    while n >= 100 {
        let pair = 2 * (n % 100) as usize;
        n /= 100;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = 2 * n as usize;
        at -= 2;
        buf[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        buf[at] = b'0' + n as u8;
    }
    &buf[at..]
}

/// `"000102...99"`: the two digits of every number below 100.
const PAIRS: [u8; 200] = {
    let mut pairs = [0; 200];
    let mut i = 0;
    while i < 100 {
        pairs[2 * i] = b'0' + (i / 10) as u8;
        pairs[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    pairs
};

/// Appends the decimal digits of `n` (see [`digits`]).
pub fn push_decimal(out: &mut String, n: u64) {
    // ASCII digits only, so always valid: one short check instead of a push per char.
    out.push_str(std::str::from_utf8(digits(n, &mut [0; 20])).unwrap_or_default());
}

fn push_non_finite(x: f64, out: &mut String) {
    out.push_str(if x.is_nan() {
        "nan"
    } else if x > 0.0 {
        "inf"
    } else {
        "-inf"
    });
}

/// Appends `x` as C's `%.12g` would, without allocating beyond `out`.
///
/// C's rule: take the exponent `X` of the value rounded to 12 significant digits; if
/// `-4 <= X < 12` print fixed with `11 - X` decimals, else scientific with 11; then drop
/// trailing zeros and a trailing point. Rust's `{:.N}` and `{:.Ne}` round the exact binary
/// value half-to-even, as glibc does, so the digits match.
fn render_g12(x: f64, out: &mut String) {
    if !x.is_finite() {
        push_non_finite(x, out);
        return;
    }
    if x == 0.0 {
        out.push('0');
        return;
    }
    let start = out.len();
    let _ = write!(out, "{:.*e}", (SIGNIFICANT - 1) as usize, x);
    let e_pos = start + out[start..].find('e').unwrap_or(out.len() - start);
    let exponent: i32 = out[e_pos + 1..].parse().unwrap_or(0);
    if (-4..SIGNIFICANT).contains(&exponent) {
        out.truncate(start);
        let decimals = (SIGNIFICANT - 1 - exponent) as usize;
        let _ = write!(out, "{x:.decimals$}");
        trim_fraction(out, start);
    } else {
        out.truncate(e_pos);
        trim_fraction(out, start);
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    }
}

/// Drops trailing zeros after a decimal point in `out[start..]`, then the point if bare.
fn trim_fraction(out: &mut String, start: usize) {
    if out[start..].contains('.') {
        let kept = out.trim_end_matches('0').trim_end_matches('.').len();
        out.truncate(kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(v: &Value) -> String {
        let mut out = String::new();
        v.render(&mut out);
        out
    }

    /// Floats render exactly as Python's `'%.12g' % x` (expected strings printed by Python).
    #[test]
    fn float_render_matches_python_g12() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (-1.0, "-1"),
            (2.5, "2.5"),
            (0.1 + 0.2, "0.3"),
            (1e-5, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (0.000_123_456_789_012_345, "0.000123456789012"),
            (1e11, "100000000000"),
            (1e12, "1e+12"),
            (1.5e20, "1.5e+20"),
            (123_456_789_012_345.0, "1.23456789012e+14"),
            (123_456_789_012.0, "123456789012"),
            (1_234_567_890_123.0, "1.23456789012e+12"),
            (999_999_999_999.5, "1e+12"),
            (99_999_999_999.95, "99999999999.9"),
            (100_000_000_000.5, "100000000000"),
            (9.999_999_999_995, "9.99999999999"),
            (9.999_999_999_999_6, "10"),
            (0.000_099_999_999_999_99, "0.0001"),
            (1e-300, "1e-300"),
            (1.797_693_134_862_315_7e308, "1.79769313486e+308"),
            (5e-324, "4.94065645841e-324"),
            (-2.5e-7, "-2.5e-07"),
            (std::f64::consts::PI, "3.14159265359"),
            (-123.456, "-123.456"),
            (0.5, "0.5"),
            (100.0, "100"),
            (1e100, "1e+100"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for &(x, want) in cases {
            assert_eq!(rendered(&Value::Float(x)), want, "rendering {x:e}");
        }
    }

    /// Linspace-style values lose their binary noise: 0.1 * 3 renders `0.3`.
    #[test]
    fn accumulated_noise_is_hidden() {
        let want = [
            "0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1",
        ];
        for (i, want) in want.iter().enumerate() {
            let x = 0.0 + 1.0 * i as f64 / 10.0;
            assert_eq!(rendered(&Value::Float(x)), *want);
            assert_eq!(rendered(&Value::Float(0.1 * i as f64)), *want);
        }
    }

    /// Ints render as integers and Str verbatim; render appends rather than overwrites.
    #[test]
    fn render_int_and_str_and_appends() {
        let cases = [
            (Value::Int(0), "0"),
            (Value::Int(-42), "-42"),
            (Value::Int(i64::MAX), "9223372036854775807"),
            (Value::Int(i64::MIN), "-9223372036854775808"),
            (Value::Str("CH1".into()), "CH1"),
            (Value::Str(String::new()), ""),
            (Value::Str("{x} µ".into()), "{x} µ"),
            (Value::Bool(true), "1"),
            (Value::Bool(false), "0"),
        ];
        for (v, want) in &cases {
            let mut out = String::from("pre:");
            v.render(&mut out);
            assert_eq!(out, format!("pre:{want}"));
            assert_eq!(v.to_string(), *want);
        }
    }

    /// `render_fixed` gives exactly N decimals for numbers and leaves text alone.
    #[test]
    fn render_fixed_cases() {
        let cases = [
            (Value::Float(0.1 + 0.2), 3, "0.300"),
            (Value::Float(2.5), 0, "2"),
            (Value::Float(3.5), 0, "4"),
            (Value::Float(-1.234_56), 2, "-1.23"),
            (Value::Float(-0.0), 2, "0.00"),
            (Value::Float(1e-7), 3, "0.000"),
            (Value::Float(f64::NAN), 2, "nan"),
            (Value::Float(f64::INFINITY), 2, "inf"),
            (Value::Float(f64::NEG_INFINITY), 2, "-inf"),
            (Value::Int(5), 2, "5.00"),
            (Value::Int(-3), 0, "-3"),
            (Value::Str("OFF".into()), 3, "OFF"),
            (Value::Bool(true), 3, "1"),
        ];
        for (v, decimals, want) in &cases {
            let mut out = String::from(">");
            v.render_fixed(*decimals, &mut out);
            assert_eq!(out, format!(">{want}"), "{v:?} with {decimals} decimals");
        }
    }

    /// The numeric view and the text test agree with the variant.
    #[test]
    fn as_f64_and_is_text() {
        let cases = [
            (Value::Int(3), Some(3.0), false),
            (Value::Float(-0.5), Some(-0.5), false),
            (Value::Str("3".into()), None, true),
            (Value::Bool(true), None, false),
        ];
        for (v, num, text) in &cases {
            assert_eq!(v.as_f64(), *num, "{v:?}");
            assert_eq!(v.is_text(), *text, "{v:?}");
        }
    }

    /// Serialization writes the rounded number, so the log and the command agree.
    #[test]
    fn serializes_to_json() {
        let cases = [
            (Value::Int(7), "7"),
            (Value::Int(-7), "-7"),
            (Value::Float(0.1 + 0.2), "0.3"),
            (Value::Float(2.5), "2.5"),
            (Value::Float(1.0), "1.0"),
            (Value::Float(1e-5), "0.00001"),
            (Value::Float(1.5e20), "1.5e+20"),
            (Value::Float(1.0 / 3.0), "0.333333333333"),
            (Value::Float(f64::NAN), "\"nan\""),
            (Value::Float(f64::INFINITY), "\"inf\""),
            (Value::Float(f64::NEG_INFINITY), "\"-inf\""),
            (Value::Str("a\"b".into()), "\"a\\\"b\""),
            (Value::Bool(true), "true"),
            (Value::Bool(false), "false"),
        ];
        for (v, want) in &cases {
            assert_eq!(serde_json::to_string(v).unwrap(), *want, "{v:?}");
        }
    }

    /// Display honours width and alignment, like any other formatted value.
    #[test]
    fn display_pads() {
        assert_eq!(format!("{:>5}", Value::Float(0.5)), "  0.5");
        assert_eq!(format!("{:<4}|", Value::Str("ab".into())), "ab  |");
    }

    /// The `From` conversions pick the obvious variant.
    #[test]
    fn from_conversions() {
        assert_eq!(Value::from(1_i64), Value::Int(1));
        assert_eq!(Value::from(1.5), Value::Float(1.5));
        assert_eq!(Value::from("x"), Value::Str("x".into()));
        assert_eq!(Value::from(String::from("y")), Value::Str("y".into()));
    }

    /// `decimal` and the integer rendering print what `{n}` prints, signs and extremes
    /// included.
    #[test]
    fn integers_render_like_display() {
        for n in [
            0u64,
            7,
            10,
            99,
            100,
            101,
            999,
            1000,
            12_345,
            1 << 53,
            u64::MAX,
        ] {
            assert_eq!(digits(n, &mut [0; 20]), n.to_string().as_bytes());
            let mut out = String::from("x");
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
        for i in [0i64, 5, -1, -10, 42, i64::MAX, i64::MIN] {
            let mut out = String::from("x");
            Value::Int(i).render(&mut out);
            assert_eq!(out, format!("x{i}"));
        }
    }
}
