//! Splits an expression's text into tokens, each with its byte range in the text.
//!
//! Numbers (`1` an integer, `1.5`, `.5`, `1e3` floats), texts in single or double quotes (a
//! quote is written doubled inside: `'it''s'`; a backslash is an ordinary character), names
//! (the rule of [`crate::sequence::name`]; `and`, `or` and `not` are operators), operators and
//! punctuation. Spellings from other languages (`=`, `!`, `&&`, `||`, `^`) are errors that
//! name the spelling meant.

use std::ops::Range;

use super::ExprError;
use crate::sequence::name::{may_follow, may_start};

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A text literal, quotes removed and doubled quotes undone.
    Str(String),
    /// A name: a variable, a function or the constant `pi`.
    Name,
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    Not,
    /// The end of the text.
    End,
}

/// A token and where it is.
#[derive(Debug, Clone)]
pub(super) struct Token {
    /// What it is.
    pub tok: Tok,
    /// Its bytes in the expression's text.
    pub span: Range<usize>,
}

/// The tokens of `text`, ending with [`Tok::End`] (whose span is the text's end).
pub(super) fn tokens(text: &str) -> Result<Vec<Token>, ExprError> {
    let mut out = Vec::new();
    let mut rest = text.char_indices().peekable();
    while let Some(&(start, c)) = rest.peek() {
        if c.is_whitespace() {
            rest.next();
            continue;
        }
        let (tok, end) = if c.is_ascii_digit()
            || (c == '.' && text[start + 1..].starts_with(|d: char| d.is_ascii_digit()))
        {
            number(text, start)?
        } else if c == '\'' || c == '"' {
            quoted(text, start, c)?
        } else if may_start(c) {
            let len = text[start..]
                .char_indices()
                .skip(1)
                .find(|&(_, c)| !may_follow(c))
                .map_or(text.len() - start, |(i, _)| i);
            let end = start + len;
            let tok = match &text[start..end] {
                "and" => Tok::And,
                "or" => Tok::Or,
                "not" => Tok::Not,
                _ => Tok::Name,
            };
            (tok, end)
        } else {
            operator(text, start, c)?
        };
        out.push(Token {
            tok,
            span: start..end,
        });
        while rest.peek().is_some_and(|&(i, _)| i < end) {
            rest.next();
        }
    }
    out.push(Token {
        tok: Tok::End,
        span: text.len()..text.len(),
    });
    Ok(out)
}

/// An operator or punctuation at `start`, and where it ends.
fn operator(text: &str, start: usize, c: char) -> Result<(Tok, usize), ExprError> {
    let next = text[start + c.len_utf8()..].chars().next();
    let two = |tok| Ok((tok, start + 2));
    let one = |tok| Ok((tok, start + 1));
    let wrong = |len: usize, meant: &str| {
        Err(ExprError::Syntax {
            span: start..start + len,
            found: format!("`{}`", &text[start..start + len]),
            expected: format!("`{meant}`"),
        })
    };
    match (c, next) {
        ('*', Some('*')) => two(Tok::Pow),
        ('=', Some('=')) => two(Tok::Eq),
        ('!', Some('=')) => two(Tok::Ne),
        ('<', Some('=')) => two(Tok::Le),
        ('>', Some('=')) => two(Tok::Ge),
        ('&', Some('&')) => wrong(2, "and"),
        ('|', Some('|')) => wrong(2, "or"),
        ('(', _) => one(Tok::LParen),
        (')', _) => one(Tok::RParen),
        (',', _) => one(Tok::Comma),
        ('+', _) => one(Tok::Plus),
        ('-', _) => one(Tok::Minus),
        ('*', _) => one(Tok::Star),
        ('/', _) => one(Tok::Slash),
        ('%', _) => one(Tok::Percent),
        ('<', _) => one(Tok::Lt),
        ('>', _) => one(Tok::Gt),
        ('=', _) => wrong(1, "=="),
        ('!', _) => wrong(1, "not"),
        ('^', _) => wrong(1, "**"),
        _ => Err(ExprError::Syntax {
            span: start..start + c.len_utf8(),
            found: format!("`{c}`"),
            expected: "a number, a name, `'text'`, an operator or a parenthesis".into(),
        }),
    }
}

/// A number at `start`: digits, an optional fraction, an optional exponent.
fn number(text: &str, start: usize) -> Result<(Tok, usize), ExprError> {
    let bytes = text.as_bytes();
    let digits = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut end = digits(start);
    let mut float = false;
    if bytes.get(end) == Some(&b'.') {
        float = true;
        end = digits(end + 1);
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        float = true;
        let mut at = end + 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let after = digits(at);
        if after == at {
            return Err(bad_number(text, start, "digits after the exponent's `e`"));
        }
        end = after;
    }
    // `2x`, `1.5.2`, `3e5V`: a number runs into a name or another point.
    if text[end..].starts_with(|c: char| c == '.' || may_follow(c)) {
        return Err(bad_number(text, start, "an operator after the number"));
    }
    let literal = &text[start..end];
    let tok = if float {
        match literal.parse::<f64>() {
            Ok(x) if x.is_finite() => Tok::Float(x),
            _ => {
                return Err(ExprError::Syntax {
                    span: start..end,
                    found: format!("`{literal}`, which is too large"),
                    expected: "a number below 1.8e308".into(),
                });
            }
        }
    } else {
        match literal.parse::<i64>() {
            Ok(i) => Tok::Int(i),
            Err(_) => {
                return Err(ExprError::Syntax {
                    span: start..end,
                    found: format!("`{literal}`, too large for a 64-bit integer"),
                    expected: format!("a smaller integer or a float (`{literal}.0`)"),
                });
            }
        }
    };
    Ok((tok, end))
}

/// The error for a malformed number starting at `start`.
fn bad_number(text: &str, start: usize, expected: &str) -> ExprError {
    let end = text[start..]
        .char_indices()
        .find(|&(_, c)| !(c == '.' || c == '+' || c == '-' || may_follow(c)))
        .map_or(text.len(), |(i, _)| start + i);
    ExprError::Syntax {
        span: start..end,
        found: format!("`{}`", &text[start..end]),
        expected: expected.into(),
    }
}

/// A text in `quote`s starting at `start`; a doubled quote stands for one.
fn quoted(text: &str, start: usize, quote: char) -> Result<(Tok, usize), ExprError> {
    let mut value = String::new();
    let mut at = start + 1;
    loop {
        let Some(len) = text[at..].find(quote) else {
            return Err(ExprError::Syntax {
                span: start..text.len(),
                found: "a text that is never closed".into(),
                expected: format!(
                    "a closing `{quote}` (write a {quote} inside as `{quote}{quote}`)"
                ),
            });
        };
        value.push_str(&text[at..at + len]);
        at += len + 1;
        if text[at..].starts_with(quote) {
            value.push(quote);
            at += 1;
        } else {
            return Ok((Tok::Str(value), at));
        }
    }
}
