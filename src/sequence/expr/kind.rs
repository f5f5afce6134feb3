//! The load-time type rules: the [`Kind`] of each operation's result, and the errors that
//! are certain from the text (arithmetic on text, a text used as a condition, a number
//! compared with a text). A measured reply ([`Kind::Reply`]) passes every check: it is text
//! that becomes a number when used as one, known only per point.

use std::ops::Range;

use super::eval::Cmp;
use super::func::{Arith, Func};
use super::{ExprError, Kind};
use crate::sequence::value::Value;

/// A parsed operand: its static kind and where it is in the text.
#[derive(Debug, Clone)]
pub(super) struct Sub {
    /// What it certainly is.
    pub kind: Kind,
    /// Its bytes in the text.
    pub span: Range<usize>,
}

impl Sub {
    /// The operand extended to `end` with the kind of the larger operation.
    pub(super) fn to(&self, kind: Kind, end: usize) -> Sub {
        Sub {
            kind,
            span: self.span.start..end,
        }
    }
}

/// The kind of a constant.
pub(super) fn of_value(value: &Value) -> Kind {
    match value {
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Text,
        Value::Bool(_) => Kind::Bool,
    }
}

/// True for kinds that may be numbers.
fn numeric(kind: Kind) -> bool {
    matches!(kind, Kind::Int | Kind::Float | Kind::Number | Kind::Reply)
}

/// A type error at `sub`.
fn wrong(sub: &Sub, what: String) -> ExprError {
    ExprError::Type {
        span: sub.span.clone(),
        what,
    }
}

/// `sub` must be a number for `what` (`+`, `sqrt`).
pub(super) fn number(text: &str, sub: &Sub, what: &str) -> Result<(), ExprError> {
    let shown = &text[sub.span.clone()];
    match sub.kind {
        Kind::Text => Err(wrong(
            sub,
            format!("`{shown}` is text: `{what}` needs a number"),
        )),
        Kind::Bool => Err(wrong(
            sub,
            format!("`{shown}` is a condition (true or false): `{what}` needs a number"),
        )),
        _ => Ok(()),
    }
}

/// `sub` must be usable as a condition of the operator at `op` (numbers are: not zero is
/// true; texts are not).
pub(super) fn condition(text: &str, sub: &Sub, op: &Range<usize>) -> Result<(), ExprError> {
    if sub.kind == Kind::Text {
        let shown = &text[sub.span.clone()];
        let what = &text[op.clone()];
        let what = if what == shown { "a condition" } else { what };
        return Err(wrong(
            sub,
            format!(
                "`{shown}` is text: `{what}` needs a condition (compare it: `{shown} == 'ON'`)"
            ),
        ));
    }
    Ok(())
}

/// Integer if both are, float if either is, else not known.
fn join_numbers(a: Kind, b: Kind) -> Kind {
    match (a, b) {
        (Kind::Int, Kind::Int) => Kind::Int,
        (Kind::Float, _) | (_, Kind::Float) => Kind::Float,
        _ => Kind::Number,
    }
}

/// The kind of `l op r`, both checked to be numbers.
pub(super) fn arith(text: &str, op: Arith, l: &Sub, r: &Sub) -> Result<Kind, ExprError> {
    number(text, l, op.symbol())?;
    number(text, r, op.symbol())?;
    Ok(match op {
        Arith::Div => Kind::Float,
        Arith::Pow => match join_numbers(l.kind, r.kind) {
            // A negative integer exponent gives a float.
            Kind::Int => Kind::Number,
            other => other,
        },
        _ => join_numbers(l.kind, r.kind),
    })
}

/// The kind of `-x` or `+x`.
pub(super) fn negate(text: &str, sub: &Sub, op: &Range<usize>) -> Result<Kind, ExprError> {
    number(text, sub, &text[op.clone()])?;
    Ok(match sub.kind {
        Kind::Int => Kind::Int,
        Kind::Float => Kind::Float,
        _ => Kind::Number,
    })
}

/// Checks `l op r`: numbers with numbers, texts with texts (`==`/`!=` only), conditions with
/// conditions (`==`/`!=` only); a reply goes with numbers and texts.
pub(super) fn compare(
    text: &str,
    op: Cmp,
    l: &Sub,
    r: &Sub,
    op_span: &Range<usize>,
) -> Result<(), ExprError> {
    let shown = |s: &Sub| text[s.span.clone()].to_owned();
    let equality_only = |what: &str| {
        if op.is_equality() {
            Ok(())
        } else {
            Err(ExprError::Type {
                span: op_span.clone(),
                what: format!(
                    "{what} compare only with `==` and `!=`, not `{}`",
                    op.symbol()
                ),
            })
        }
    };
    match (l.kind, r.kind) {
        (Kind::Bool, Kind::Bool) => equality_only("conditions"),
        (Kind::Bool, _) => Err(wrong(
            r,
            format!(
                "`{}` is not a condition: it cannot be compared with `{}`",
                shown(r),
                shown(l)
            ),
        )),
        (_, Kind::Bool) => Err(wrong(
            l,
            format!(
                "`{}` is not a condition: it cannot be compared with `{}`",
                shown(l),
                shown(r)
            ),
        )),
        (Kind::Text, Kind::Text | Kind::Reply) | (Kind::Reply, Kind::Text) => {
            equality_only("texts")
        }
        (Kind::Text, _) => Err(wrong(
            l,
            format!(
                "`{}` is text and `{}` a number: they cannot be compared",
                shown(l),
                shown(r)
            ),
        )),
        (_, Kind::Text) => Err(wrong(
            r,
            format!(
                "`{}` is text and `{}` a number: they cannot be compared",
                shown(r),
                shown(l)
            ),
        )),
        _ => Ok(()),
    }
}

/// `round`'s digits: an integer.
pub(super) fn digits(text: &str, sub: &Sub) -> Result<(), ExprError> {
    number(text, sub, "round")?;
    if sub.kind == Kind::Float {
        return Err(wrong(
            sub,
            format!(
                "`{}` is a float: `round`'s digits must be an integer",
                &text[sub.span.clone()]
            ),
        ));
    }
    Ok(())
}

/// The kind of `func(args)`, its arguments checked as they were parsed.
pub(super) fn call(text: &str, func: Func, args: &[Sub]) -> Result<Kind, ExprError> {
    Ok(match func {
        Func::Abs => match args[0].kind {
            Kind::Int => Kind::Int,
            Kind::Float => Kind::Float,
            _ => Kind::Number,
        },
        Func::Min | Func::Max => args
            .iter()
            .skip(1)
            .fold(args[0].kind, |k, a| match (k, a.kind) {
                (Kind::Int, Kind::Int) => Kind::Int,
                (Kind::Float, Kind::Float) => Kind::Float,
                _ => Kind::Number,
            }),
        Func::Round if args.len() == 1 => Kind::Int,
        Func::Floor | Func::Ceil => Kind::Int,
        Func::If => branches(text, &args[1], &args[2])?,
        _ => Kind::Float,
    })
}

/// The kind of `if(c, a, b)`: both branches numbers, both texts or both conditions.
fn branches(text: &str, a: &Sub, b: &Sub) -> Result<Kind, ExprError> {
    let describe = |k: Kind| match k {
        Kind::Text => "text",
        Kind::Bool => "a condition",
        _ => "a number",
    };
    Ok(match (a.kind, b.kind) {
        (x, y) if x == y => x,
        (Kind::Reply, y) | (y, Kind::Reply) if y != Kind::Bool => Kind::Reply,
        (x, y) if numeric(x) && numeric(y) => Kind::Number,
        (x, y) => {
            return Err(wrong(
                b,
                format!(
                    "`if`'s branches differ: `{}` is {} and `{}` {}",
                    &text[a.span.clone()],
                    describe(x),
                    &text[b.span.clone()],
                    describe(y)
                ),
            ));
        }
    })
}
