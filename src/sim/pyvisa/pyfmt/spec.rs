//! The format-spec mini-language: [`Spec`] parses
//! `[[fill]align][sign][z][#][0][width][,|_][.precision][type]` as Python does, and the
//! int and str formatters render a parsed spec (floats are in `float`).
//!
//! Widths over [`MAX_WIDTH`] and precisions over [`MAX_PRECISION`] are refused (see
//! [`Spec::check_limits`]), after Python's own checks of the spec.

use super::error::{OverflowError, PyError, Unsupported, ValueError};
use super::number::{Number, count, repeat};

/// The widest width a spec may ask for. A device file's getter such as `{0:{0}}` lets a
/// client-set value choose the width, and a huge one would abort the simulator when the
/// padding is allocated; Python takes any width that fits in memory.
pub(super) const MAX_WIDTH: i64 = 10_000;

/// The largest precision a spec may ask for, for the same reason as [`MAX_WIDTH`] (a float
/// formatted with it has that many digits); Python takes up to 2^31 - 1.
pub(super) const MAX_PRECISION: i64 = 1_000;

/// Thousands grouping requested by a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Grouping {
    /// No separator.
    None,
    /// `,` every three digits.
    Comma,
    /// `_` every three digits (decimal types).
    Underscore,
    /// `_` every four digits (`b`, `o`, `x`, `X`).
    UnderscoreFour,
}

impl Grouping {
    /// Group size and separator.
    pub(super) fn rule(self) -> (i64, &'static str) {
        match self {
            Grouping::None => (0, ""),
            Grouping::Comma => (3, ","),
            Grouping::Underscore => (3, "_"),
            Grouping::UnderscoreFour => (4, "_"),
        }
    }
}

/// A parsed format spec (Python's `InternalFormatSpec`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Spec {
    /// Padding character (`' '` unless given, `'0'` for a leading zero).
    pub(super) fill: char,
    /// `<`, `>`, `^` or `=`.
    pub(super) align: char,
    /// `+`, `-` or `' '` when given.
    pub(super) sign: Option<char>,
    /// `z`: show negative zero as zero (floats only).
    pub(super) no_neg_0: bool,
    /// `#`: alternate form.
    pub(super) alternate: bool,
    /// Minimum width, when given.
    pub(super) width: Option<i64>,
    /// Thousands separator.
    pub(super) grouping: Grouping,
    /// Digits after the point (or significant digits, or str length), when given.
    pub(super) precision: Option<i64>,
    /// Presentation type; None only for floats without one.
    pub(super) ty: Option<char>,
}

impl Spec {
    /// Parses `spec` as Python's `parse_internal_render_format_spec` does, with the
    /// defaults of the value's type.
    pub(super) fn parse(
        spec: &str,
        type_name: &'static str,
        default_type: Option<char>,
        default_align: char,
    ) -> Result<Spec, PyError> {
        let chars: Vec<char> = spec.chars().collect();
        let is_align = |c: Option<&char>| matches!(c, Some('<' | '>' | '=' | '^'));
        let mut out = Spec {
            fill: ' ',
            align: default_align,
            sign: None,
            no_neg_0: false,
            alternate: false,
            width: None,
            grouping: Grouping::None,
            precision: None,
            ty: default_type,
        };
        let mut pos = 0;
        let mut fill_given = false;
        let mut align_given = false;
        if is_align(chars.get(1)) {
            out.fill = chars[0];
            out.align = chars[1];
            (fill_given, align_given) = (true, true);
            pos = 2;
        } else if is_align(chars.first()) {
            out.align = chars[0];
            align_given = true;
            pos = 1;
        }
        if let Some(&c @ ('+' | '-' | ' ')) = chars.get(pos) {
            out.sign = Some(c);
            pos += 1;
        }
        if chars.get(pos) == Some(&'z') {
            out.no_neg_0 = true;
            pos += 1;
        }
        if chars.get(pos) == Some(&'#') {
            out.alternate = true;
            pos += 1;
        }
        if !fill_given && chars.get(pos) == Some(&'0') {
            out.fill = '0';
            if !align_given && default_align == '>' {
                out.align = '=';
            }
            pos += 1;
        }
        out.width = spec_integer(&chars, &mut pos)?;
        out.grouping = spec_grouping(&chars, &mut pos)?;
        if chars.get(pos) == Some(&'.') {
            pos += 1;
            out.precision = spec_integer(&chars, &mut pos)?;
            if out.precision.is_none() {
                return Err(ValueError::MissingPrecision.into());
            }
        }
        match chars.len() - pos {
            0 => {}
            1 => out.ty = Some(chars[pos]),
            _ => {
                return Err(ValueError::InvalidSpec {
                    spec: spec.to_owned(),
                    type_name,
                }
                .into());
            }
        }
        out.check_grouping()?;
        Ok(out)
    }

    /// Refuses a width over [`MAX_WIDTH`] or a precision over [`MAX_PRECISION`] with an
    /// `unsupported:` error. Each formatter calls it after Python's own checks of the spec,
    /// just before building the text, so a spec Python rejects still gets Python's error
    /// and only one Python would accept is refused here.
    pub(super) fn check_limits(&self) -> Result<(), PyError> {
        if let Some(width) = self.width.filter(|w| *w > MAX_WIDTH) {
            return Err(Unsupported::Width {
                width,
                max: MAX_WIDTH,
            }
            .into());
        }
        if let Some(precision) = self.precision.filter(|p| *p > MAX_PRECISION) {
            return Err(Unsupported::Precision {
                precision,
                max: MAX_PRECISION,
            }
            .into());
        }
        Ok(())
    }

    /// Rejects a separator the presentation type cannot take; `_` with `b`, `o`, `x`, `X`
    /// groups by four.
    fn check_grouping(&mut self) -> Result<(), PyError> {
        let sep = match self.grouping {
            Grouping::None => return Ok(()),
            Grouping::Comma => ',',
            Grouping::Underscore | Grouping::UnderscoreFour => '_',
        };
        match self.ty {
            None | Some('d' | 'e' | 'f' | 'g' | 'E' | 'G' | '%' | 'F') => Ok(()),
            Some('b' | 'o' | 'x' | 'X') if sep == '_' => {
                self.grouping = Grouping::UnderscoreFour;
                Ok(())
            }
            Some(ty) => Err(ValueError::SeparatorWith {
                sep,
                code: quote_code(ty),
            }
            .into()),
        }
    }
}

/// Reads the decimal integer at `pos` (none when no digit is there).
fn spec_integer(chars: &[char], pos: &mut usize) -> Result<Option<i64>, PyError> {
    let mut value: Option<i64> = None;
    while let Some(d) = chars.get(*pos).and_then(|c| c.to_digit(10)) {
        let acc = value.unwrap_or(0);
        value = Some(
            acc.checked_mul(10)
                .and_then(|a| a.checked_add(i64::from(d)))
                .ok_or_else(too_many_digits)?,
        );
        *pos += 1;
    }
    Ok(value)
}

/// Reads the `,` or `_` at `pos`, rejecting both together.
fn spec_grouping(chars: &[char], pos: &mut usize) -> Result<Grouping, PyError> {
    let both = || PyError::from(ValueError::BothSeparators);
    let mut grouping = Grouping::None;
    if chars.get(*pos) == Some(&',') {
        grouping = Grouping::Comma;
        *pos += 1;
    }
    if chars.get(*pos) == Some(&'_') {
        if grouping != Grouping::None {
            return Err(both());
        }
        grouping = Grouping::Underscore;
        *pos += 1;
    }
    if chars.get(*pos) == Some(&',') && grouping == Grouping::Underscore {
        return Err(both());
    }
    Ok(grouping)
}

/// Python's error for a number in a template or spec that does not fit in `Py_ssize_t`.
pub(super) fn too_many_digits() -> PyError {
    ValueError::TooManyDigits.into()
}

/// A character as Python's `%c`-or-`\x%x` error messages show it.
pub(super) fn quote_code(c: char) -> String {
    if c > ' ' && c < '\u{7f}' {
        c.to_string()
    } else {
        format!("\\x{:x}", u32::from(c))
    }
}

/// Formats a str (Python's `format_string_internal`).
pub(super) fn format_str(s: &str, spec: &Spec) -> Result<String, PyError> {
    match spec.sign {
        Some(' ') => {
            return Err(ValueError::StrSpace.into());
        }
        Some(_) => {
            return Err(ValueError::StrSign.into());
        }
        None => {}
    }
    if spec.no_neg_0 {
        return Err(ValueError::StrNegativeZero.into());
    }
    if spec.alternate {
        return Err(ValueError::StrAlternate.into());
    }
    if spec.align == '=' {
        return Err(ValueError::StrEqualsAlign.into());
    }
    spec.check_limits()?;
    let text: String = match spec.precision {
        Some(p) => s
            .chars()
            .take(usize::try_from(p).unwrap_or(usize::MAX))
            .collect(),
        None => s.to_owned(),
    };
    let len = count(&text);
    let total = spec.width.unwrap_or(-1).max(len);
    let left = match spec.align {
        '>' => total - len,
        '^' => (total - len) / 2,
        _ => 0,
    };
    let mut out = repeat(spec.fill, left);
    out.push_str(&text);
    out.push_str(&repeat(spec.fill, total - len - left));
    Ok(out)
}

/// Formats an int with an integer presentation type (Python's `format_long_internal`).
pub(super) fn format_int(v: i64, spec: &Spec) -> Result<String, PyError> {
    if spec.precision.is_some() {
        return Err(ValueError::IntPrecision.into());
    }
    if spec.no_neg_0 {
        return Err(ValueError::IntNegativeZero.into());
    }
    let ty = spec.ty.unwrap_or('d');
    if ty == 'c' {
        return format_char(v, spec);
    }
    spec.check_limits()?;
    let magnitude = v.unsigned_abs();
    let (digits, prefix) = match ty {
        'b' => (format!("{magnitude:b}"), "0b"),
        'o' => (format!("{magnitude:o}"), "0o"),
        'x' => (format!("{magnitude:x}"), "0x"),
        'X' => (format!("{magnitude:X}"), "0X"),
        _ => (magnitude.to_string(), ""),
    };
    // `n` groups by the C locale's rule: not at all.
    let grouping = if ty == 'n' {
        Grouping::None
    } else {
        spec.grouping
    };
    let number = Number {
        negative: v < 0,
        prefix: if spec.alternate { prefix } else { "" },
        digits: &digits,
        decimal: false,
        remainder: "",
    };
    Ok(number.layout(spec, grouping))
}

/// Formats an int with `c`: the character with that code point.
fn format_char(v: i64, spec: &Spec) -> Result<String, PyError> {
    if spec.sign.is_some() {
        return Err(ValueError::CharSign.into());
    }
    if spec.alternate {
        return Err(ValueError::CharAlternate.into());
    }
    if !(0..=0x10_ffff).contains(&v) {
        return Err(OverflowError::CharRange.into());
    }
    let Some(c) = u32::try_from(v).ok().and_then(char::from_u32) else {
        return Err(Unsupported::Surrogate { code: v }.into());
    };
    spec.check_limits()?;
    let text = c.to_string();
    let number = Number {
        negative: false,
        prefix: "",
        digits: "",
        decimal: false,
        remainder: &text,
    };
    Ok(number.layout(spec, Grouping::None))
}
