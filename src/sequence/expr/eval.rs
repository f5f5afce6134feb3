//! Running a compiled expression: a flat postfix program ([`Op`]s) on a fixed-size stack of
//! borrowed values ([`V`]), so a numeric expression evaluates without allocating. `if`,
//! `and` and `or` are jumps: the branch not taken is never evaluated.

use super::Env;
use super::Problem;
use super::func::{Arith, Func, Num, arith, call1, call2, parse_reply};
use crate::sequence::value::Value;

/// A value on the stack: numbers and conditions by value, texts borrowed from the program or
/// the point's values.
#[derive(Debug, Clone, Copy)]
pub(super) enum V<'a> {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Text: a literal or a text variable.
    Str(&'a str),
    /// A measured reply: text, read as a number when used as one.
    Reply(&'a str),
}

impl<'a> V<'a> {
    /// The stack value of `value`; a text is a reply when `reply`.
    fn of(value: &'a Value, reply: bool) -> V<'a> {
        match value {
            Value::Int(i) => V::Int(*i),
            Value::Float(x) => V::Float(*x),
            Value::Bool(b) => V::Bool(*b),
            Value::Str(s) if reply => V::Reply(s),
            Value::Str(s) => V::Str(s),
        }
    }

    /// The owned value.
    pub(super) fn value(self) -> Value {
        match self {
            V::Int(i) => Value::Int(i),
            V::Float(x) => Value::Float(x),
            V::Bool(b) => Value::Bool(b),
            V::Str(s) | V::Reply(s) => Value::Str(s.to_owned()),
        }
    }

    /// As a number; a reply is parsed.
    fn num(self) -> Result<Num, Problem> {
        match self {
            V::Int(i) => Ok(Num::I(i)),
            V::Float(x) => Ok(Num::F(x)),
            V::Reply(s) => parse_reply(s),
            V::Str(s) => Err(Problem::Type(format!("text `{s}` used as a number"))),
            V::Bool(_) => Err(Problem::Type("a condition used as a number".into())),
        }
    }

    /// As a condition: numbers are true when not zero (SCPI's `1`/`0`).
    pub(super) fn truth(self) -> Result<bool, Problem> {
        match self {
            V::Bool(b) => Ok(b),
            V::Str(s) => Err(Problem::Type(format!("text `{s}` used as a condition"))),
            other => Ok(other.num()?.f() != 0.0),
        }
    }
}

impl From<Num> for V<'_> {
    fn from(n: Num) -> Self {
        match n {
            Num::I(i) => V::Int(i),
            Num::F(x) => V::Float(x),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// True for `==` and `!=`, the comparisons texts allow.
    pub(super) fn is_equality(self) -> bool {
        matches!(self, Cmp::Eq | Cmp::Ne)
    }

    /// Its spelling.
    pub(super) fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }

    /// The test on an ordering.
    fn holds(self, order: Option<std::cmp::Ordering>) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        match self {
            Cmp::Eq => order == Some(Equal),
            Cmp::Ne => order != Some(Equal),
            Cmp::Lt => order == Some(Less),
            Cmp::Le => matches!(order, Some(Less | Equal)),
            Cmp::Gt => order == Some(Greater),
            Cmp::Ge => matches!(order, Some(Greater | Equal)),
        }
    }
}

/// One instruction.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Op {
    /// Push a literal (or a folded parameter).
    Lit(Value),
    /// Push the point's value in a slot; `true`: a measured reply.
    Load(usize, bool),
    /// Unary minus.
    Neg,
    /// Unary plus: checks for a number (and reads a reply as one).
    Pos,
    /// `not`.
    Not,
    /// Replace the top with its truth (the right side of `and`/`or`).
    Truth,
    /// A binary arithmetic operator.
    Arith(Arith),
    /// A comparison.
    Cmp(Cmp),
    /// A function of one number.
    Call1(Func),
    /// A function of two numbers.
    Call2(Func),
    /// Pop a condition; when false, go to the target.
    JumpIfFalse(usize),
    /// Go to the target.
    Jump(usize),
    /// `and`: when the top is false, make it `false` and go to the target; else pop it.
    AndJump(usize),
    /// `or`: when the top is true, make it `true` and go to the target; else pop it.
    OrJump(usize),
}

/// Why running stopped: a problem, or a slot with no value yet.
#[derive(Debug)]
pub(super) enum Fault {
    Problem(Problem),
    Missing(usize),
}

impl From<Problem> for Fault {
    fn from(p: Problem) -> Self {
        Fault::Problem(p)
    }
}

/// The evaluation stack: `N` values, enough for the program (its depth is computed when it
/// is compiled).
struct Stack<'a, const N: usize> {
    items: [V<'a>; N],
    len: usize,
}

impl<'a, const N: usize> Stack<'a, N> {
    fn push(&mut self, v: V<'a>) -> Result<(), Fault> {
        let slot = self.items.get_mut(self.len).ok_or_else(overflow)?;
        *slot = v;
        self.len += 1;
        Ok(())
    }

    fn pop(&mut self) -> Result<V<'a>, Fault> {
        self.len = self.len.checked_sub(1).ok_or_else(overflow)?;
        Ok(self.items[self.len])
    }

    fn top(&mut self) -> Result<&mut V<'a>, Fault> {
        let at = self.len.checked_sub(1).ok_or_else(overflow)?;
        Ok(&mut self.items[at])
    }
}

/// A stack out of bounds: a bug in the compiler's depth count, reported, not a panic.
fn overflow() -> Fault {
    Fault::Problem(Problem::Type(
        "internal error: evaluation stack out of bounds".into(),
    ))
}

/// Runs `ops` with the point's values `env` on a stack of `N`.
pub(super) fn run<'a, E: Env + ?Sized, const N: usize>(
    ops: &'a [Op],
    env: &'a E,
) -> Result<V<'a>, Fault> {
    let mut stack = Stack::<N> {
        items: [V::Int(0); N],
        len: 0,
    };
    let mut pc = 0;
    while let Some(op) = ops.get(pc) {
        pc += 1;
        match op {
            Op::Lit(v) => stack.push(V::of(v, false))?,
            Op::Load(slot, reply) => {
                let value = env.get(*slot).ok_or(Fault::Missing(*slot))?;
                stack.push(V::of(value, *reply))?;
            }
            Op::Neg => {
                let n = match stack.pop()?.num()? {
                    Num::I(i) => Num::I(
                        i.checked_neg()
                            .ok_or_else(|| Problem::Overflow(format!("-({i})")))?,
                    ),
                    Num::F(x) => Num::F(-x),
                };
                stack.push(n.into())?;
            }
            Op::Pos => {
                let n = stack.pop()?.num()?;
                stack.push(n.into())?;
            }
            Op::Not => {
                let t = stack.pop()?.truth()?;
                stack.push(V::Bool(!t))?;
            }
            Op::Truth => {
                let t = stack.pop()?.truth()?;
                stack.push(V::Bool(t))?;
            }
            Op::Arith(op) => {
                let b = stack.pop()?.num()?;
                let a = stack.pop()?.num()?;
                stack.push(arith(*op, a, b)?.into())?;
            }
            Op::Cmp(op) => {
                let b = stack.pop()?;
                let a = stack.pop()?;
                stack.push(V::Bool(compare(*op, a, b)?))?;
            }
            Op::Call1(f) => {
                let x = stack.pop()?.num()?;
                stack.push(call1(*f, x)?.into())?;
            }
            Op::Call2(f) => {
                let b = stack.pop()?.num()?;
                let a = stack.pop()?.num()?;
                stack.push(call2(*f, a, b)?.into())?;
            }
            Op::JumpIfFalse(to) => {
                if !stack.pop()?.truth()? {
                    pc = *to;
                }
            }
            Op::Jump(to) => pc = *to,
            Op::AndJump(to) | Op::OrJump(to) => {
                let when = matches!(op, Op::OrJump(_));
                let top = stack.top()?;
                if top.truth()? == when {
                    *top = V::Bool(when);
                    pc = *to;
                } else {
                    stack.pop()?;
                }
            }
        }
    }
    stack.pop()
}

/// `a op b`: numbers by value (a reply read as one), texts as text (a reply trimmed),
/// conditions with `==`/`!=` only.
fn compare(op: Cmp, a: V<'_>, b: V<'_>) -> Result<bool, Problem> {
    let text_only = |what: &str| {
        if op.is_equality() {
            Ok(())
        } else {
            Err(Problem::Type(format!(
                "{what} compare only with `==` and `!=`, not `{}`",
                op.symbol()
            )))
        }
    };
    match (a, b) {
        (V::Reply(x), V::Reply(y)) => {
            if let (Ok(x), Ok(y)) = (parse_reply(x), parse_reply(y)) {
                return Ok(numbers(op, x, y));
            }
            text_only("replies that are not numbers")?;
            Ok(op.holds(Some(x.trim().cmp(y.trim()))))
        }
        (V::Str(x) | V::Reply(x), V::Str(y) | V::Reply(y)) => {
            text_only("texts")?;
            let x = if matches!(a, V::Reply(_)) {
                x.trim()
            } else {
                x
            };
            let y = if matches!(b, V::Reply(_)) {
                y.trim()
            } else {
                y
            };
            Ok(op.holds(Some(x.cmp(y))))
        }
        (V::Bool(x), V::Bool(y)) => {
            text_only("conditions")?;
            Ok(op.holds(Some(x.cmp(&y))))
        }
        (V::Bool(_), _) | (_, V::Bool(_)) => Err(Problem::Type(
            "a condition compared with a value that is not one".into(),
        )),
        (V::Str(s), _) | (_, V::Str(s)) => {
            Err(Problem::Type(format!("text `{s}` compared with a number")))
        }
        _ => Ok(numbers(op, a.num()?, b.num()?)),
    }
}

/// `x op y` on numbers: integers exactly, else as floats.
fn numbers(op: Cmp, x: Num, y: Num) -> bool {
    match (x, y) {
        (Num::I(x), Num::I(y)) => op.holds(Some(x.cmp(&y))),
        _ => op.holds(x.f().partial_cmp(&y.f())),
    }
}
