//! Reading one placeholder of a command text: where it ends (braces in quoted texts
//! skipped), its format spec, and what it becomes (a slot, an expression, or a constant
//! folded into the text).

use std::ops::Range;

use super::{MAX_DECIMALS, Segment, TemplateError};
use crate::sequence::expr::{self, Binding, Expr, Kind};
use crate::sequence::value::Value;

/// A parsed placeholder: a segment, or a constant folded into the literal text.
pub(super) enum Placeholder {
    Segment(Segment),
    Constant(Value, Option<usize>),
}

/// The end (one past the `}`) of the placeholder opening at `open`.
pub(super) fn close_of(text: &str, open: usize) -> Result<usize, TemplateError> {
    // A brace inside a quoted text of the expression (`{'}'}`) does not count; a quote
    // left open does not hide the rest (the expression then reports it).
    if let Some(end) = quoted_close(text, open) {
        return Ok(end);
    }
    let rest = &text[open + 1..];
    match rest.find(['{', '}']) {
        Some(offset) if rest.as_bytes()[offset] == b'}' => Ok(open + 1 + offset + 1),
        // Another `{` (or the end) before any `}`: this one never closed.
        found => {
            let end = found.map_or(text.len(), |offset| open + 1 + offset);
            Err(TemplateError::UnclosedBrace {
                text: text[open..end].to_owned(),
                span: open..end,
            })
        }
    }
}

/// The end (one past the `}`) of the placeholder opening at `open`, braces in quoted texts
/// skipped; `None` when another `{` or the end comes first outside quotes, or a quote is
/// left open.
fn quoted_close(text: &str, open: usize) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text[open + 1..].char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '}') => return Some(open + 1 + i + 1),
            (None, '{') => return None,
            _ => {}
        }
    }
    None
}

/// Parses the placeholder at `span` (braces included).
pub(super) fn parse_placeholder(
    text: &str,
    span: Range<usize>,
    scope: &dyn expr::Scope,
) -> Result<Placeholder, TemplateError> {
    let whole = &text[span.clone()];
    let inner = &whole[1..whole.len() - 1];
    // The format spec follows the last `:` outside quotes (an expression has no `:` of its
    // own, but a quoted text in it may).
    let (body, spec) = match last_colon(inner) {
        Some(at) => (&inner[..at], Some(&inner[at + 1..])),
        None => (inner, None),
    };
    if body.trim().is_empty() {
        return Err(TemplateError::EmptyPlaceholder {
            text: whole.to_owned(),
            span,
        });
    }
    let decimals = match spec {
        None => None,
        Some(spec) => Some(parse_decimals(spec, &span)?),
    };
    // Offset of the expression in the template text: its error spans are inside it.
    let offset = span.start + 1;
    // A constant text (a text parameter) takes no decimals: it would be sent as is.
    let constant = |value: Value| match (&value, decimals) {
        (Value::Str(_), Some(_)) => Err(TemplateError::TextDecimals {
            text: whole.to_owned(),
            span: span.clone(),
        }),
        _ => Ok(Placeholder::Constant(value, decimals)),
    };
    // A name alone: a slot, or a constant (a measured reply goes through the expression,
    // which reads it as a number where one is needed).
    match scope.lookup(body.trim()) {
        Some(Binding::Const(value)) => return constant(value),
        Some(Binding::Slot(slot, kind)) if kind != Kind::Reply => {
            return Ok(Placeholder::Segment(Segment::Slot {
                slot,
                decimals,
                span,
            }));
        }
        _ => {}
    }
    let expr = Expr::parse(body, scope).map_err(|source| {
        let inner = source.span();
        TemplateError::Expr {
            text: whole.to_owned(),
            span: offset + inner.start..offset + inner.end,
            source: Box::new(source),
        }
    })?;
    if let Some(value) = expr.constant() {
        return constant(value.clone());
    }
    Ok(Placeholder::Segment(Segment::Expr {
        expr: Box::new(expr),
        decimals,
        span,
    }))
}

/// The byte offset of the last `:` of `inner` outside quotes.
fn last_colon(inner: &str) -> Option<usize> {
    let mut quote = None;
    let mut last = None;
    for (i, c) in inner.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ':') => last = Some(i),
            _ => {}
        }
    }
    last
}

/// Parses a `.N` format spec into N.
fn parse_decimals(spec: &str, span: &Range<usize>) -> Result<usize, TemplateError> {
    let bad = || TemplateError::BadFormat {
        spec: spec.to_owned(),
        span: span.clone(),
    };
    let digits = spec.strip_prefix('.').ok_or_else(bad)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let decimals = digits.parse::<usize>().unwrap_or(usize::MAX);
    if decimals > MAX_DECIMALS {
        return Err(TemplateError::TooManyDecimals {
            decimals,
            span: span.clone(),
        });
    }
    Ok(decimals)
}
