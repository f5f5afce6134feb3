//! What can go wrong with an expression: at load ([`ExprError`], with the byte range of the
//! offending part of the text) and per point ([`EvalError`], with the values it used).

use std::fmt;
use std::ops::Range;

use crate::sequence::value::Value;

/// Why an expression was refused when the file was loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExprError {
    /// The text is not an expression.
    #[error("expected {expected}, found {found}")]
    Syntax {
        /// The offending token.
        span: Range<usize>,
        /// What was there (`` `)` ``, `the end`).
        found: String,
        /// What could have been there.
        expected: String,
    },
    /// A name that is no variable, `let`, parameter or measured value here.
    #[error("unknown name `{name}`; known here: {}", list(known))]
    UnknownName {
        /// Where the name is.
        span: Range<usize>,
        /// The name.
        name: String,
        /// The names that are known, for the message.
        known: Vec<String>,
    },
    /// A call of a function that does not exist.
    #[error("unknown function `{name}`{}; functions: {}", variable_hint(*is_variable), list_str(super::func::NAMES))]
    UnknownFunction {
        /// Where the name is.
        span: Range<usize>,
        /// The name.
        name: String,
        /// The name is a variable (`volt(2)`).
        is_variable: bool,
    },
    /// A function called with too few or too many arguments.
    #[error("`{name}` takes {takes}, given {given}")]
    Arity {
        /// The whole call.
        span: Range<usize>,
        /// The function.
        name: &'static str,
        /// What it takes (`1 argument`, `1 or 2 arguments`).
        takes: &'static str,
        /// How many it was given.
        given: usize,
    },
    /// An operation on values of the wrong kind, certain from the text (`'a' + 1`, `mode * 2`
    /// with a text variable `mode`).
    #[error("{what}")]
    Type {
        /// The offending operand.
        span: Range<usize>,
        /// What is wrong, naming the operand.
        what: String,
    },
    /// `a < b < c`: comparisons do not chain.
    #[error("comparisons do not chain: write `a < b and b < c`")]
    Chained {
        /// The second comparison operator.
        span: Range<usize>,
    },
    /// Parentheses, calls or operators nested deeper than [`super::MAX_DEPTH`].
    #[error("the expression nests more than {} levels deep", super::MAX_DEPTH)]
    TooDeep {
        /// Where the limit was passed.
        span: Range<usize>,
    },
    /// An expression of constants and parameters that fails for every point.
    #[error("{source}")]
    Constant {
        /// The whole expression.
        span: Range<usize>,
        /// Why it fails.
        source: EvalError,
    },
}

impl ExprError {
    /// The bytes of the expression's text the error is about.
    pub fn span(&self) -> Range<usize> {
        match self {
            ExprError::Syntax { span, .. }
            | ExprError::UnknownName { span, .. }
            | ExprError::UnknownFunction { span, .. }
            | ExprError::Arity { span, .. }
            | ExprError::Type { span, .. }
            | ExprError::Chained { span }
            | ExprError::TooDeep { span }
            | ExprError::Constant { span, .. } => span.clone(),
        }
    }
}

/// `` `a`, `b` `` (or `none` for an empty list).
fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// [`list`] of static names.
fn list_str(names: &[&str]) -> String {
    list(&names.iter().map(|&n| n.to_owned()).collect::<Vec<_>>())
}

/// The note for a variable called like a function.
fn variable_hint(is_variable: bool) -> &'static str {
    if is_variable {
        " (it is a variable: a call needs a function)"
    } else {
        ""
    }
}

/// Why an expression could not be evaluated for a point.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    /// The expression's text.
    pub expr: String,
    /// What went wrong.
    pub what: Problem,
    /// The names the expression uses that have a value in this point, with it (first use
    /// order, each once).
    pub values: Vec<(String, Value)>,
}

/// What went wrong evaluating an expression.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    /// `x / 0`.
    #[error("division by zero")]
    DivisionByZero,
    /// `x % 0`.
    #[error("modulo by zero")]
    ModuloByZero,
    /// A result that is not a finite number: `sqrt(-1)`, `ln(0)`, `1e308 * 10`.
    #[error("`{0}` is not a finite number")]
    NotFinite(String),
    /// An integer result beyond 64 bits: `9223372036854775807 + 1`.
    #[error("`{0}` overflows a 64-bit integer")]
    Overflow(String),
    /// A measured reply used as a number that is not one (`OVLD`, `NAN`).
    #[error("reply `{0}` is not a number")]
    NotANumber(String),
    /// A measured value its query has not set in this point (not run yet, or skipped).
    #[error("`{0}` has not been measured in this point")]
    NotMeasured(String),
    /// A value of the wrong kind at run time (`round(x, n)` with a fractional `n`).
    #[error("{0}")]
    Type(String),
}

impl EvalError {
    /// The message with where the expression is used inserted after it:
    /// ``cannot evaluate `volt / r` in `SOUR:VOLT {volt / r}`: division by zero (r = 0)``.
    pub fn in_command(&self, command: &str) -> String {
        self.in_place(&format!("`{command}`"))
    }

    /// The message with `place`, a phrase quoting what it names, inserted after the
    /// expression: ``cannot evaluate `rb > 1` in the `check` of `MEAS?`: ...``.
    pub fn in_place(&self, place: &str) -> String {
        let mut out = format!("cannot evaluate `{}` in {place}: {}", self.expr, self.what);
        self.push_values(&mut out);
        out
    }

    /// Appends ` (a = 1, b = x)` when there are values.
    fn push_values(&self, out: &mut String) {
        out.push_str(&show_values(&self.values));
    }
}

/// ` (a = 1, b = x)`: names with their values as a message shows them (values rendered as
/// in a command), or nothing for none.
pub fn show_values(values: &[(String, Value)]) -> String {
    let mut out = String::new();
    for (i, (name, value)) in values.iter().enumerate() {
        out.push_str(if i == 0 { " (" } else { ", " });
        out.push_str(name);
        out.push_str(" = ");
        value.render(&mut out);
    }
    if !values.is_empty() {
        out.push(')');
    }
    out
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = format!("cannot evaluate `{}`: {}", self.expr, self.what);
        self.push_values(&mut out);
        f.write_str(&out)
    }
}

impl std::error::Error for EvalError {}
