//! Why a command text is not a valid template ([`TemplateError`]), with the byte range to
//! point at in the YAML source.

use std::ops::Range;

use super::MAX_DECIMALS;
use crate::sequence::expr::ExprError;

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
