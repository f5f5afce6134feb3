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

use super::expr::{self, Env, EvalError, Expr, Problem};
use super::value::Value;

/// Most decimals `{var:.N}` accepts: past this the digits are noise and the text just long.
pub const MAX_DECIMALS: usize = 30;

/// A parsed command text: literal runs, variable slots and expressions, in order.
#[derive(Debug, Clone, Default)]
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

/// Names for tests: each a number at its index.
#[cfg(test)]
pub(crate) struct TestNames<'a>(pub &'a [&'a str]);

#[cfg(test)]
impl expr::Scope for TestNames<'_> {
    fn lookup(&self, name: &str) -> Option<expr::Binding> {
        let slot = self.0.iter().position(|n| *n == name)?;
        Some(expr::Binding::Slot(slot, expr::Kind::Number))
    }

    fn known(&self) -> Vec<String> {
        self.0.iter().map(|n| (*n).to_owned()).collect()
    }
}

mod error;
mod parse;
pub use error::TemplateError;
use parse::{Placeholder, close_of, parse_placeholder};

#[cfg(test)]
mod tests;
