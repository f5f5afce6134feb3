//! Python's `int(s, base)` and `float(s)` of a str: the text a setter's value or a
//! `stringparser` match holds, read as Python reads it.

use std::borrow::Cow;

/// Result of [`parse_py_int`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntParse {
    /// A valid literal.
    Value(i64),
    /// Python raises `ValueError`.
    Invalid,
    /// Python accepts it, but it does not fit in 64 bits.
    TooBig,
}

/// Python `int(s, base)` for base 2, 8, 10 or 16: surrounding whitespace, a sign, the
/// `0b`/`0o`/`0x` prefix of the base (not for base 10), digits with single underscores
/// between them. ASCII digits only.
pub(crate) fn parse_py_int(s: &str, base: u32) -> IntParse {
    let t = s.trim_matches(char::is_whitespace);
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let prefix = match base {
        2 => "0b",
        8 => "0o",
        16 => "0x",
        _ => "",
    };
    let mut body = t;
    if !prefix.is_empty() && t.len() >= 2 && t[..2].eq_ignore_ascii_case(prefix) {
        // After the prefix, one underscore may come before the first digit.
        body = &t[2..];
        body = body.strip_prefix('_').unwrap_or(body);
    }
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return IntParse::Invalid;
    }
    let mut acc: i128 = 0;
    let mut too_big = false;
    for c in body.chars().filter(|c| *c != '_') {
        let Some(d) = c.to_digit(base) else {
            return IntParse::Invalid;
        };
        if !too_big {
            acc = acc * i128::from(base) + i128::from(d);
            too_big = acc > i128::from(u64::MAX);
        }
    }
    let value = if negative { -acc } else { acc };
    match i64::try_from(value) {
        Ok(v) if !too_big => IntParse::Value(v),
        _ => IntParse::TooBig,
    }
}

/// Python `float(s)`: surrounding whitespace, underscores between digits, decimal and
/// exponent forms, `inf`/`infinity`/`nan` in any case with a sign. None where Python
/// raises `ValueError`. ASCII digits only.
pub(crate) fn parse_py_float(s: &str) -> Option<f64> {
    let t = s.trim_matches(char::is_whitespace);
    let cleaned: Cow<str> = if t.contains('_') {
        let mut prev = '\0';
        for c in t.chars() {
            let bad = if c == '_' {
                !prev.is_ascii_digit()
            } else {
                prev == '_' && !c.is_ascii_digit()
            };
            if bad {
                return None;
            }
            prev = c;
        }
        if prev == '_' {
            return None;
        }
        Cow::Owned(t.replace('_', ""))
    } else {
        Cow::Borrowed(t)
    };
    // Rust's float grammar is Python's once whitespace and underscores are gone, except
    // that it would take non-ASCII input nowhere either.
    cleaned.parse().ok()
}
