//! The expression language of placeholders (`{volt / 1000}`), `let:` values and conditions
//! (`when:`, `check:`, `stop_when:`): parsed and checked once when the file is loaded,
//! evaluated per point on the point's values, with no access to anything else.
//!
//! [`Expr::parse`] resolves every name through a [`Scope`] to a slot of the point's values
//! or a constant (a parameter), checks the types the text makes certain, and compiles a
//! postfix program; [`Expr::eval`] runs it on an [`Env`] without allocating for numbers.
//!
//! | | |
//! |---|---|
//! | numbers | `1`, `-2` (integers, 64-bit); `1.5`, `.5`, `1e3`, `1.5e-3` (floats: a point or an exponent makes a float) |
//! | text | `'CH1'` or `"CH1"`; a quote inside is doubled: `'it''s'`; a backslash is an ordinary character |
//! | names | sweep variables, `let:` values, `params:` and measured values (`as:`): letters and digits of any script and `_` (`ΔT`); `pi` is 3.14159265359 unless a name `pi` is defined, which wins; `true` and `false` are conditions |
//! | arithmetic | `+ - * / % **`, unary `-` and `+`. Integers stay integers with `+ - * %` and `**` with an exponent ≥ 0 (an overflow is an error, never a wrap); `/` always gives a float; `%` takes the divisor's sign (`-7 % 3` is `2`) |
//! | comparisons | `== != < <= > >=` give a condition; texts compare with texts (`==`, `!=` only); `a < b < c` is an error: write `a < b and b < c` |
//! | logic | `and`, `or` (the right side is evaluated only when needed), `not`; a number is a condition too: not zero is true (SCPI's `1`/`0`); a text is not |
//! | precedence | loosest first: `or`, `and`, `not`, comparisons, `+ -`, `* / %`, unary `- +`, `**` (right-associative: `2 ** 3 ** 2` is `512`; `-2 ** 2` is `-4`) |
//! | functions | `abs min max` (integers stay integers; `min`/`max` take 2 or more), `round(x)` (to an integer, half away from zero), `round(x, n)` (a float with `n` decimals), `floor ceil` (integers), `sqrt exp ln log10 sin cos tan asin acos atan atan2(y, x)` (floats, radians), `if(cond, a, b)` (evaluates only the branch taken) |
//! | measured values | a reply is text; used as a number it is read as SCPI sends numbers (`+1.234E-03`, ` 42`); compared with a text, it is compared trimmed |
//! | rendering | integers as integers; floats with 12 significant digits (`%.12g`: `0.1 + 0.2` renders `0.3`, `1e-5` renders `1e-05`); conditions as `1`/`0`; `{expr:.3}` gives 3 decimals |
//! | errors at load | syntax, unknown names and functions (the known ones listed), wrong number of arguments, types certain from the text (`'a' + 1`, arithmetic on a text sweep variable), each with its line and column |
//! | errors per point | division or modulo by zero, a result that is not a finite number (`sqrt(-1)`, `ln(0)`), integer overflow, a reply that is not a number (`OVLD`, `NAN`), a measured value not taken yet: the point fails, naming the expression and its values |

mod error;
mod eval;
mod func;
mod kind;
mod lex;
mod parse;

use std::ops::Range;

pub use error::{EvalError, ExprError, Problem, show_values};

use crate::sequence::value::Value;
use eval::{Fault, Op, V};

/// Most levels of nesting (parentheses, calls, operators): deeper is an error, so that no
/// text, however long, exhausts the stack.
pub const MAX_DEPTH: usize = 64;

/// What a value certainly is, known when the file is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An integer.
    Int,
    /// A float.
    Float,
    /// An integer or a float, not known which (`x ** n`, `if(c, 1, 2.5)`).
    Number,
    /// Text.
    Text,
    /// A condition.
    Bool,
    /// A measured reply: text, read as a number when used as one.
    Reply,
}

/// What a name stands for in an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Binding {
    /// A slot of the point's values ([`Env::get`]), with what it holds.
    Slot(usize, Kind),
    /// A constant (a parameter), folded in when the expression is loaded.
    Const(Value),
}

/// The names an expression may use where it is written.
pub trait Scope {
    /// What `name` stands for, or `None` when it is unknown here.
    fn lookup(&self, name: &str) -> Option<Binding>;
    /// The names known here, for "unknown name" messages.
    fn known(&self) -> Vec<String>;
}

/// A point's values, by slot.
pub trait Env {
    /// The value in `slot`; `None`: a measured value not taken in this point.
    fn get(&self, slot: usize) -> Option<&Value>;
}

impl Env for [Value] {
    fn get(&self, slot: usize) -> Option<&Value> {
        <[Value]>::get(self, slot)
    }
}

impl<const N: usize> Env for [Value; N] {
    fn get(&self, slot: usize) -> Option<&Value> {
        <[Value]>::get(self, slot)
    }
}

impl Env for Vec<Value> {
    fn get(&self, slot: usize) -> Option<&Value> {
        <[Value]>::get(self, slot)
    }
}

/// A name used in an expression.
#[derive(Debug, Clone, PartialEq)]
struct NameUse {
    /// Where it is in the text.
    span: Range<usize>,
    /// Its slot, for a variable.
    slot: Option<usize>,
    /// Its value, for a constant.
    value: Option<Value>,
}

/// A parsed and checked expression.
#[derive(Debug, Clone)]
pub struct Expr {
    /// The text, as written.
    source: String,
    /// The program.
    ops: Vec<Op>,
    /// What it certainly gives.
    kind: Kind,
    /// The names used, in order (not the built-in `pi`).
    names: Vec<NameUse>,
    /// Stack the program needs.
    stack: usize,
    /// Its value, when it reads no slot.
    constant: Option<Value>,
}

/// Stack sizes evaluation picks from: the smallest that holds the program.
const SMALL: usize = 8;
/// See [`SMALL`].
const MEDIUM: usize = 32;
/// See [`SMALL`]; more than nesting [`MAX_DEPTH`] levels can need.
const LARGE: usize = 2 * MAX_DEPTH + 8;

impl Expr {
    /// Parses and checks `text`, resolving its names in `scope`. An expression that reads no
    /// slot is evaluated here: an error then is a load error ([`ExprError::Constant`]).
    pub fn parse(text: &str, scope: &dyn Scope) -> Result<Expr, ExprError> {
        let mut parser = parse::Parser {
            text,
            toks: lex::tokens(text)?,
            at: 0,
            scope,
            ops: Vec::new(),
            names: Vec::new(),
            depth: 0,
            max_depth: 0,
        };
        let sub = parser.all()?;
        if parser.max_depth > LARGE {
            return Err(ExprError::TooDeep {
                span: 0..text.len(),
            });
        }
        let mut expr = Expr {
            source: text.to_owned(),
            ops: parser.ops,
            kind: sub.kind,
            names: parser.names,
            stack: parser.max_depth,
            constant: None,
        };
        if expr.slots().next().is_none() {
            let value = expr.eval(&[][..]).map_err(|source| ExprError::Constant {
                span: 0..text.len(),
                source,
            })?;
            expr.kind = kind::of_value(&value);
            expr.ops = vec![Op::Lit(value.clone())];
            expr.stack = 1;
            expr.constant = Some(value);
        }
        Ok(expr)
    }

    /// The value for a point with values `env`.
    pub fn eval<E: Env + ?Sized>(&self, env: &E) -> Result<Value, EvalError> {
        self.run(env)
            .map(V::value)
            .map_err(|fault| self.fault(fault, env))
    }

    /// The truth of a condition for a point with values `env`: a condition, or a number
    /// (not zero is true).
    pub fn truth<E: Env + ?Sized>(&self, env: &E) -> Result<bool, EvalError> {
        self.run(env)
            .and_then(|v| v.truth().map_err(Fault::Problem))
            .map_err(|fault| self.fault(fault, env))
    }

    /// Runs the program on the smallest stack that holds it.
    fn run<'a, E: Env + ?Sized>(&'a self, env: &'a E) -> Result<V<'a>, Fault> {
        if self.stack <= SMALL {
            eval::run::<E, SMALL>(&self.ops, env)
        } else if self.stack <= MEDIUM {
            eval::run::<E, MEDIUM>(&self.ops, env)
        } else {
            eval::run::<E, LARGE>(&self.ops, env)
        }
    }

    /// The error for `fault`, with the values of the names used.
    fn fault<E: Env + ?Sized>(&self, fault: Fault, env: &E) -> EvalError {
        let what = match fault {
            Fault::Problem(p) => p,
            Fault::Missing(slot) => Problem::NotMeasured(
                self.names
                    .iter()
                    .find(|n| n.slot == Some(slot))
                    .map_or_else(
                        || format!("slot {slot}"),
                        |n| self.source[n.span.clone()].to_owned(),
                    ),
            ),
        };
        EvalError {
            expr: self.source.clone(),
            what,
            values: self.values(env),
        }
    }

    /// The names it uses with their values in the point `env` (first use order, each once;
    /// a measured value not taken is left out): what a message shows.
    pub fn values<E: Env + ?Sized>(&self, env: &E) -> Vec<(String, Value)> {
        let mut values: Vec<(String, Value)> = Vec::new();
        for used in &self.names {
            let name = &self.source[used.span.clone()];
            if values.iter().any(|(n, _)| n == name) {
                continue;
            }
            let value = match (used.slot, &used.value) {
                (Some(slot), _) => env.get(slot).cloned(),
                (None, value) => value.clone(),
            };
            if let Some(value) = value {
                values.push((name.to_owned(), value));
            }
        }
        values
    }

    /// What it certainly gives, for load-time checks (a condition that is text is an error).
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The slots it reads, in the order of the text (a slot read twice appears twice).
    pub fn slots(&self) -> impl Iterator<Item = usize> + '_ {
        self.names.iter().filter_map(|n| n.slot)
    }

    /// The names it uses (variables and parameters, not the built-in `pi`) with their byte
    /// offsets in the text, in order.
    pub fn names(&self) -> impl Iterator<Item = (&str, usize)> {
        self.names
            .iter()
            .map(|n| (&self.source[n.span.clone()], n.span.start))
    }

    /// The text, as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Its value when it reads no slot (literals and parameters only).
    pub fn constant(&self) -> Option<&Value> {
        self.constant.as_ref()
    }

    /// The slot when the expression is a bare name (`{volt}`): a direct lookup, for callers
    /// that render it without evaluating.
    pub fn as_slot(&self) -> Option<usize> {
        match self.ops.as_slice() {
            [Op::Load(slot, _)] => Some(*slot),
            _ => None,
        }
    }
}

/// A measured reply as a number, the way SCPI sends them (`+1.234E-03`, ` 42`); `None` for
/// text, `NAN` and `INF`.
pub fn reply_number(reply: &str) -> Option<f64> {
    func::parse_reply(reply).ok().map(func::Num::f)
}

#[cfg(test)]
mod load_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
