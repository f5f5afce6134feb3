//! Command text with `{var}` placeholders, parsed once and rendered at every point.
//!
//! The YAML layer parses each command with the step's sweep variable names; a placeholder
//! becomes a slot (the variable's index), so rendering is a walk over literal text and slot
//! lookups with no name matching and no allocation beyond the output buffer.
//!
//! Syntax: `{var}` renders with [`Value::render`], `{var:.3}` with [`Value::render_fixed`],
//! `{{` and `}}` are literal braces. Errors carry the byte range of the offending placeholder
//! so the caller can point at it in the YAML source.

use std::ops::Range;

use super::value::Value;

/// Most decimals `{var:.N}` accepts: past this the digits are noise and the text just long.
pub const MAX_DECIMALS: usize = 30;

/// A parsed command text: literal runs and variable slots, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    /// The text as written, kept for error messages and the run log.
    source: String,
    /// What rendering emits, in order.
    segments: Vec<Segment>,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Text emitted as is (with `{{`/`}}` already unescaped).
    Literal(String),
    /// A placeholder.
    Slot {
        /// Index of the variable in the names given to [`Template::parse`].
        slot: usize,
        /// `Some(n)` for `{var:.n}`.
        decimals: Option<usize>,
        /// Byte range of the placeholder, braces included, in the source.
        span: Range<usize>,
    },
}

/// Why a command text is not a valid template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// `{}` or `{:.3}`: no variable name.
    #[error(
        "empty placeholder `{text}`: name a sweep variable, or write `{{{{` and `}}}}` for literal braces"
    )]
    EmptyPlaceholder {
        /// The placeholder, braces included.
        text: String,
        /// Byte range of the placeholder.
        span: Range<usize>,
    },
    /// The name is not an identifier.
    #[error(
        "placeholder `{text}`: `{name}` is not a variable name ({})",
        super::name::RULE
    )]
    BadName {
        /// The name as written.
        name: String,
        /// The placeholder, braces included.
        text: String,
        /// Byte range of the placeholder.
        span: Range<usize>,
    },
    /// The name is an identifier but not one of the step's sweep variables.
    #[error("placeholder `{{{name}}}` names no sweep variable ({})", known_list(.known))]
    UnknownVariable {
        /// The name as written.
        name: String,
        /// The variables the step does have.
        known: Vec<String>,
        /// Byte range of the placeholder.
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
    /// `{var:.N}` with N above [`MAX_DECIMALS`].
    #[error("`:.{decimals}` asks for too many decimals: at most {max} are allowed", max = MAX_DECIMALS)]
    TooManyDecimals {
        /// The number as written (saturated if it does not fit a `usize`).
        decimals: usize,
        /// Byte range of the placeholder.
        span: Range<usize>,
    },
}

/// "variables: `a`, `b`" or "this step has no sweep variables".
fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        return "this step has no sweep variables".to_owned();
    }
    let names: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
    format!("variables: {}", names.join(", "))
}

impl TemplateError {
    /// Byte range in the template text of the offending placeholder (for pointing at it in the
    /// YAML source).
    pub fn span(&self) -> Range<usize> {
        match self {
            TemplateError::UnclosedBrace { span, .. }
            | TemplateError::UnmatchedClose { span }
            | TemplateError::EmptyPlaceholder { span, .. }
            | TemplateError::BadName { span, .. }
            | TemplateError::UnknownVariable { span, .. }
            | TemplateError::BadFormat { span, .. }
            | TemplateError::TooManyDecimals { span, .. } => span.clone(),
        }
    }
}

impl Template {
    /// Parses `text`; `vars` are the variable names in slot order, a placeholder's slot is its
    /// index in `vars`.
    pub fn parse(text: &str, vars: &[&str]) -> Result<Template, TemplateError> {
        Template::parse_with(text, vars, &|_| None)
    }

    /// [`Template::parse`] where a name that is no variable may be a constant: `constant`
    /// gives its value (a parameter's), rendered once here into the literal text.
    pub fn parse_with(
        text: &str,
        vars: &[&str],
        constant: &dyn Fn(&str) -> Option<Value>,
    ) -> Result<Template, TemplateError> {
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
                    match parse_placeholder(text, i..end, vars, constant)? {
                        Segment::Literal(value) => literal.push_str(&value),
                        slot @ Segment::Slot { .. } => {
                            if !literal.is_empty() {
                                segments.push(Segment::Literal(std::mem::take(&mut literal)));
                            }
                            segments.push(slot);
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

    /// Appends the rendered text for the given values (indexed by slot) to `out`.
    ///
    /// # Panics
    /// When `values` is shorter than the `vars` the template was parsed with.
    pub fn render(&self, values: &[Value], out: &mut String) {
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => out.push_str(text),
                Segment::Slot {
                    slot,
                    decimals: None,
                    ..
                } => values[*slot].render(out),
                Segment::Slot {
                    slot,
                    decimals: Some(n),
                    ..
                } => values[*slot].render_fixed(*n, out),
            }
        }
    }

    /// Rendered into a new String.
    pub fn render_to_string(&self, values: &[Value]) -> String {
        let mut out = String::with_capacity(self.source.len() + 16);
        self.render(values, &mut out);
        out
    }

    /// The placeholders used: (slot, decimals if `{v:.N}`, byte range in the original text).
    pub fn placeholders(&self) -> impl Iterator<Item = (usize, Option<usize>, Range<usize>)> + '_ {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Slot {
                slot,
                decimals,
                span,
            } => Some((*slot, *decimals, span.clone())),
            Segment::Literal(_) => None,
        })
    }

    /// The original text.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True when it has no placeholders.
    pub fn is_constant(&self) -> bool {
        self.placeholders().next().is_none()
    }
}

/// The end (one past the `}`) of the placeholder opening at `open`.
fn close_of(text: &str, open: usize) -> Result<usize, TemplateError> {
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

/// Parses the placeholder at `span` (braces included) into a slot, or into the literal text
/// of a constant.
fn parse_placeholder(
    text: &str,
    span: Range<usize>,
    vars: &[&str],
    constant: &dyn Fn(&str) -> Option<Value>,
) -> Result<Segment, TemplateError> {
    let whole = &text[span.clone()];
    let inner = &whole[1..whole.len() - 1];
    let (name, spec) = match inner.split_once(':') {
        Some((name, spec)) => (name, Some(spec)),
        None => (inner, None),
    };
    if name.is_empty() {
        return Err(TemplateError::EmptyPlaceholder {
            text: whole.to_owned(),
            span,
        });
    }
    // A variable's own name is looked up first: a sweep variable whose name breaks the
    // rule was reported where it is defined, not again at each placeholder.
    let Some(slot) = vars.iter().position(|v| *v == name) else {
        if let Some(value) = constant(name) {
            let mut out = String::new();
            match spec {
                None => value.render(&mut out),
                Some(spec) => value.render_fixed(parse_decimals(spec, &span)?, &mut out),
            }
            return Ok(Segment::Literal(out));
        }
        if !super::name::is_name(name) {
            return Err(TemplateError::BadName {
                name: name.to_owned(),
                text: whole.to_owned(),
                span,
            });
        }
        return Err(TemplateError::UnknownVariable {
            name: name.to_owned(),
            known: vars.iter().map(|v| (*v).to_owned()).collect(),
            span,
        });
    };
    let decimals = match spec {
        None => None,
        Some(spec) => Some(parse_decimals(spec, &span)?),
    };
    Ok(Segment::Slot {
        slot,
        decimals,
        span,
    })
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

#[cfg(test)]
mod tests;
