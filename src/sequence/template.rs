//! Command text with `{...}` placeholders, parsed once and rendered at every point.
//!
//! A placeholder holds an expression ([`super::expr`]), parsed when the file is loaded in
//! the scope of its command (the point's variables, `let:` values, measured values taken
//! before it, parameters). A placeholder that is a variable's name alone becomes a slot
//! (the value's index), so the common case renders with a lookup and no evaluation; one
//! that reads no value at all (parameters, constants) is rendered once, at load, into the
//! literal text around it.
//!
//! Syntax: `{expr}` renders with [`Value::render`], `{expr:.3}` with
//! [`Value::render_fixed`] (a measured reply is read as a number for that), `{{` and `}}`
//! are literal braces. Errors carry the byte range of the offending placeholder, or of the
//! offending part of its expression, so the caller can point at it in the YAML source.

use std::ops::Range;

use super::expr::{self, Binding, Env, EvalError, Expr, ExprError, Kind, Problem};
use super::value::Value;

/// Most decimals `{var:.N}` accepts: past this the digits are noise and the text just long.
pub const MAX_DECIMALS: usize = 30;

/// A parsed command text: literal runs, variable slots and expressions, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Template {
    /// The text as written, kept for error messages and the run log.
    source: String,
    /// What rendering emits, in order.
    segments: Vec<Segment>,
}

/// One piece of a template.
#[derive(Debug, Clone)]
enum Segment {
    /// Text emitted as is (with `{{`/`}}` already unescaped, constants rendered).
    Literal(String),
    /// A placeholder that names a variable or `let:` value: its slot.
    Slot {
        /// Index of the value in the point's values.
        slot: usize,
        /// `Some(n)` for `{var:.n}`.
        decimals: Option<usize>,
        /// Byte range of the placeholder, braces included, in the source.
        span: Range<usize>,
    },
    /// Any other placeholder: an expression, evaluated per point.
    Expr {
        /// The expression.
        expr: Box<Expr>,
        /// `Some(n)` for `{expr:.n}`.
        decimals: Option<usize>,
        /// Byte range of the placeholder, braces included, in the source.
        span: Range<usize>,
    },
}

impl PartialEq for Segment {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Segment::Literal(a), Segment::Literal(b)) => a == b,
            (
                Segment::Slot {
                    slot: a,
                    decimals: da,
                    span: sa,
                },
                Segment::Slot {
                    slot: b,
                    decimals: db,
                    span: sb,
                },
            ) => a == b && da == db && sa == sb,
            (
                Segment::Expr {
                    expr: a,
                    decimals: da,
                    ..
                },
                Segment::Expr {
                    expr: b,
                    decimals: db,
                    ..
                },
            ) => a.source() == b.source() && da == db,
            _ => false,
        }
    }
}

/// Why a command text is not a valid template.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    /// A `{` with no `}` after it (before the end or the next `{`).
    #[error(
        "unclosed `{{` in `{text}`: close the placeholder with `}}`, or write `{{{{` for a literal brace"
    )]
    UnclosedBrace {
        /// The placeholder text from its `{` up to where it should have closed.
        text: String,
        /// Byte range of that text.
        span: Range<usize>,
    },
    /// A lone `}`.
    #[error("unmatched `}}`: write `}}}}` for a literal brace")]
    UnmatchedClose {
        /// Byte range of the brace.
        span: Range<usize>,
    },
    /// `{}` or `{:.3}`: no expression.
    #[error(
        "empty placeholder `{text}`: write a variable or an expression, or `{{{{` and `}}}}` for literal braces"
    )]
    EmptyPlaceholder {
        /// The placeholder, braces included.
        text: String,
        /// Byte range of the placeholder.
        span: Range<usize>,
    },
    /// The placeholder's expression is not valid here.
    #[error("placeholder `{text}`: {source}")]
    Expr {
        /// The placeholder, braces included.
        text: String,
        /// Why (its span is inside the expression).
        source: Box<ExprError>,
        /// Byte range, in the template text, of the part of the expression at fault.
        span: Range<usize>,
    },
    /// A format spec other than `.N`.
    #[error("unsupported format `:{spec}`: use `{{var}}` or `{{var:.N}}`")]
    BadFormat {
        /// The text after the colon.
        spec: String,
        /// Byte range of the placeholder.
        span: Range<usize>,
    },
    /// `{name:.N}` where the placeholder is a text known at load (a text parameter).
    #[error("`{text}` is a text, so it cannot be formatted with decimals: remove the `:.N`")]
    TextDecimals {
        /// The placeholder, braces included.
        text: String,
        /// Byte range of the placeholder.
        span: Range<usize>,
    },
    /// `{var:.N}` with N above [`MAX_DECIMALS`].
    #[error("`:.{decimals}` asks for too many decimals: at most {max} are allowed", max = MAX_DECIMALS)]
    TooManyDecimals {
        /// The number as written (saturated if it does not fit a `usize`).
        decimals: usize,
        /// Byte range of the placeholder.
        span: Range<usize>,
    },
}

impl TemplateError {
    /// Byte range in the template text of the offending placeholder (for pointing at it in the
    /// YAML source).
    pub fn span(&self) -> Range<usize> {
        match self {
            TemplateError::UnclosedBrace { span, .. }
            | TemplateError::UnmatchedClose { span }
            | TemplateError::EmptyPlaceholder { span, .. }
            | TemplateError::Expr { span, .. }
            | TemplateError::BadFormat { span, .. }
            | TemplateError::TextDecimals { span, .. }
            | TemplateError::TooManyDecimals { span, .. } => span.clone(),
        }
    }
}

impl Template {
    /// Parses `text`; names in its placeholders are resolved in `scope`.
    pub fn parse(text: &str, scope: &dyn expr::Scope) -> Result<Template, TemplateError> {
        let bytes = text.as_bytes();
        let mut segments = Vec::new();
        // Literal text not yet pushed as a segment, and where the unscanned literal run starts.
        let mut literal = String::new();
        let mut run_start = 0;
        let mut i = 0;
        // Scanning bytes is UTF-8 safe: `{` and `}` never occur inside a multi-byte character.
        while i < bytes.len() {
            match bytes[i] {
                b'{' | b'}' if bytes.get(i + 1) == Some(&bytes[i]) => {
                    literal.push_str(&text[run_start..=i]);
                    i += 2;
                    run_start = i;
                }
                b'}' => return Err(TemplateError::UnmatchedClose { span: i..i + 1 }),
                b'{' => {
                    literal.push_str(&text[run_start..i]);
                    let end = close_of(text, i)?;
                    match parse_placeholder(text, i..end, scope)? {
                        // A constant joins the literal text around it.
                        Placeholder::Constant(value, decimals) => {
                            render_value(&value, decimals, &mut literal);
                        }
                        Placeholder::Segment(segment) => {
                            if !literal.is_empty() {
                                segments.push(Segment::Literal(std::mem::take(&mut literal)));
                            }
                            segments.push(segment);
                        }
                    }
                    i = end;
                    run_start = i;
                }
                _ => i += 1,
            }
        }
        literal.push_str(&text[run_start..]);
        if !literal.is_empty() {
            segments.push(Segment::Literal(literal));
        }
        Ok(Template {
            source: text.to_owned(),
            segments,
        })
    }

    /// Appends the rendered text for the point whose values are `env` to `out`; fails when
    /// an expression cannot be evaluated (a division by zero, a measured value that is not
    /// a number, ...). What was appended before the failure stays in `out`.
    pub fn render<E: Env + ?Sized>(&self, env: &E, out: &mut String) -> Result<(), EvalError> {
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Slot {
                    slot,
                    decimals,
                    span,
                } => {
                    let Some(value) = env.get(*slot) else {
                        let name = self.source[span.start + 1..span.end - 1]
                            .split(':')
                            .next()
                            .unwrap_or_default()
                            .trim();
                        return Err(EvalError {
                            expr: name.to_owned(),
                            what: Problem::NotMeasured(name.to_owned()),
                            values: Vec::new(),
                        });
                    };
                    render_value(value, *decimals, out);
                }
                Segment::Expr { expr, decimals, .. } => {
                    let value = expr.eval(env)?;
                    match (decimals, &value) {
                        // A measured reply formatted with decimals: read as a number.
                        (Some(n), Value::Str(reply)) => match expr::reply_number(reply) {
                            Some(x) => Value::Float(x).render_fixed(*n, out),
                            None => {
                                return Err(EvalError {
                                    expr: expr.source().to_owned(),
                                    what: Problem::NotANumber(reply.clone()),
                                    values: Vec::new(),
                                });
                            }
                        },
                        _ => render_value(&value, *decimals, out),
                    }
                }
            }
        }
        Ok(())
    }

    /// Rendered into a new String.
    pub fn render_to_string<E: Env + ?Sized>(&self, env: &E) -> Result<String, EvalError> {
        let mut out = String::with_capacity(self.source.len() + 16);
        self.render(env, &mut out)?;
        Ok(out)
    }

    /// The placeholders that read values: (the slots read, decimals if `{x:.N}`, byte
    /// range in the original text). A slot placeholder reads its one slot; an expression
    /// every slot it uses.
    pub fn placeholders(
        &self,
    ) -> impl Iterator<Item = (Vec<usize>, Option<usize>, Range<usize>)> + '_ {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Slot {
                slot,
                decimals,
                span,
            } => Some((vec![*slot], *decimals, span.clone())),
            Segment::Expr {
                expr,
                decimals,
                span,
            } => Some((expr.slots().collect(), *decimals, span.clone())),
            Segment::Literal(_) => None,
        })
    }

    /// The expressions of the placeholders that are not a plain variable, with the byte
    /// range of each placeholder.
    pub fn expressions(&self) -> impl Iterator<Item = (&Expr, Range<usize>)> + '_ {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Expr { expr, span, .. } => Some((&**expr, span.clone())),
            _ => None,
        })
    }

    /// Its literal text (constants rendered, placeholders left out), joined.
    pub fn literal_text(&self) -> String {
        self.segments
            .iter()
            .filter_map(|segment| match segment {
                Segment::Literal(text) => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// The original text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when it reads no value: the same text at every point.
    pub fn is_constant(&self) -> bool {
        self.segments
            .iter()
            .all(|segment| matches!(segment, Segment::Literal(_)))
    }
}

/// Renders `value`, with `decimals` if given.
fn render_value(value: &Value, decimals: Option<usize>, out: &mut String) {
    match decimals {
        None => value.render(out),
        Some(n) => value.render_fixed(n, out),
    }
}

/// A parsed placeholder: a segment, or a constant folded into the literal text.
enum Placeholder {
    Segment(Segment),
    Constant(Value, Option<usize>),
}

/// The end (one past the `}`) of the placeholder opening at `open`.
fn close_of(text: &str, open: usize) -> Result<usize, TemplateError> {
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
fn parse_placeholder(
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

/// Names for tests: each a number at its index.
#[cfg(test)]
pub(crate) struct TestNames<'a>(pub &'a [&'a str]);

#[cfg(test)]
impl expr::Scope for TestNames<'_> {
    fn lookup(&self, name: &str) -> Option<Binding> {
        let slot = self.0.iter().position(|n| *n == name)?;
        Some(Binding::Slot(slot, Kind::Number))
    }

    fn known(&self) -> Vec<String> {
        self.0.iter().map(|n| (*n).to_owned()).collect()
    }
}

#[cfg(test)]
mod tests;
