//! The functions an expression may call, by name, with their arity; and the arithmetic on
//! numbers that they and the operators share ([`Num`]): integers stay integers and fail on
//! overflow, every float result must be finite.

use super::Problem;
use crate::sequence::value::Value;

/// A function of the language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Func {
    Abs,
    Min,
    Max,
    Round,
    Floor,
    Ceil,
    Sqrt,
    Exp,
    Ln,
    Log10,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Atan2,
    If,
}

/// Every function with its name, in the order the documentation lists them.
const FUNCS: [(&str, Func); 18] = [
    ("abs", Func::Abs),
    ("min", Func::Min),
    ("max", Func::Max),
    ("round", Func::Round),
    ("floor", Func::Floor),
    ("ceil", Func::Ceil),
    ("sqrt", Func::Sqrt),
    ("exp", Func::Exp),
    ("ln", Func::Ln),
    ("log10", Func::Log10),
    ("sin", Func::Sin),
    ("cos", Func::Cos),
    ("tan", Func::Tan),
    ("asin", Func::Asin),
    ("acos", Func::Acos),
    ("atan", Func::Atan),
    ("atan2", Func::Atan2),
    ("if", Func::If),
];

/// The function names, for "unknown function" messages.
pub(super) const NAMES: &[&str] = &[
    "abs", "min", "max", "round", "floor", "ceil", "sqrt", "exp", "ln", "log10", "sin", "cos",
    "tan", "asin", "acos", "atan", "atan2", "if",
];

impl Func {
    /// The function called `name`.
    pub(super) fn from_name(name: &str) -> Option<Func> {
        FUNCS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }

    /// Its name.
    pub(super) fn name(self) -> &'static str {
        FUNCS
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |&(n, _)| n)
    }

    /// The fewest and most arguments it takes, and that in words.
    pub(super) fn takes(self) -> (usize, usize, &'static str) {
        match self {
            Func::Min | Func::Max => (2, usize::MAX, "2 or more arguments"),
            Func::Round => (1, 2, "1 or 2 arguments"),
            Func::Atan2 => (2, 2, "2 arguments"),
            Func::If => (
                3,
                3,
                "3 arguments (condition, value if true, value if false)",
            ),
            _ => (1, 1, "1 argument"),
        }
    }
}

/// A number while evaluating.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Num {
    I(i64),
    F(f64),
}

impl Num {
    /// As a float.
    pub(super) fn f(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::F(x) => x,
        }
    }

    /// Its canonical text, for messages.
    fn text(self) -> String {
        match self {
            Num::I(i) => i.to_string(),
            Num::F(x) => Value::Float(x).to_string(),
        }
    }
}

/// A binary arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

impl Arith {
    /// Its spelling.
    pub(super) fn symbol(self) -> &'static str {
        match self {
            Arith::Add => "+",
            Arith::Sub => "-",
            Arith::Mul => "*",
            Arith::Div => "/",
            Arith::Mod => "%",
            Arith::Pow => "**",
        }
    }
}

/// `a op b`.
pub(super) fn arith(op: Arith, a: Num, b: Num) -> Result<Num, Problem> {
    let shown = || format!("{} {} {}", a.text(), op.symbol(), b.text());
    if let (Num::I(x), Num::I(y)) = (a, b) {
        let int = match op {
            Arith::Add => x.checked_add(y),
            Arith::Sub => x.checked_sub(y),
            Arith::Mul => x.checked_mul(y),
            Arith::Mod if y == 0 => return Err(Problem::ModuloByZero),
            // Python's rule: the result has the divisor's sign (`-7 % 3 == 2`).
            Arith::Mod => Some(x.checked_rem(y).map_or(0, |r| {
                if r != 0 && (r < 0) != (y < 0) {
                    r + y
                } else {
                    r
                }
            })),
            Arith::Pow if y >= 0 => match u32::try_from(y) {
                Ok(e) => x.checked_pow(e),
                Err(_) if x == 0 || x == 1 => Some(x),
                Err(_) if x == -1 => Some(if y % 2 == 0 { 1 } else { -1 }),
                Err(_) => None,
            },
            Arith::Pow if x == 0 => return Err(Problem::DivisionByZero),
            Arith::Div | Arith::Pow => return float(op, x as f64, y as f64, shown),
        };
        return int.map(Num::I).ok_or_else(|| Problem::Overflow(shown()));
    }
    float(op, a.f(), b.f(), shown)
}

/// `x op y` in floats; the result must be finite.
fn float(op: Arith, x: f64, y: f64, shown: impl Fn() -> String) -> Result<Num, Problem> {
    let r = match op {
        Arith::Add => x + y,
        Arith::Sub => x - y,
        Arith::Mul => x * y,
        Arith::Div if y == 0.0 => return Err(Problem::DivisionByZero),
        Arith::Div => x / y,
        Arith::Mod if y == 0.0 => return Err(Problem::ModuloByZero),
        Arith::Mod => {
            let r = x % y;
            if r != 0.0 && (r < 0.0) != (y < 0.0) {
                r + y
            } else {
                r
            }
        }
        Arith::Pow if x == 0.0 && y < 0.0 => return Err(Problem::DivisionByZero),
        Arith::Pow => x.powf(y),
    };
    finite(r, shown)
}

/// `Num::F(x)` when finite, else the problem with the shown operation.
fn finite(x: f64, shown: impl Fn() -> String) -> Result<Num, Problem> {
    if x.is_finite() {
        Ok(Num::F(x))
    } else {
        Err(Problem::NotFinite(shown()))
    }
}

/// A float rounded to an integer by `how`, or overflow.
fn to_int(x: f64, how: fn(f64) -> f64, shown: impl Fn() -> String) -> Result<Num, Problem> {
    let r = how(x);
    // i64::MAX as f64 is 2^63, itself out of range; -2^63 is in range.
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&r) {
        Ok(Num::I(r as i64))
    } else {
        Err(Problem::Overflow(shown()))
    }
}

/// `f(x)` for a function of one number.
pub(super) fn call1(f: Func, x: Num) -> Result<Num, Problem> {
    let shown = || format!("{}({})", f.name(), x.text());
    if let Num::I(i) = x {
        match f {
            Func::Abs => {
                return i
                    .checked_abs()
                    .map(Num::I)
                    .ok_or_else(|| Problem::Overflow(shown()));
            }
            Func::Round | Func::Floor | Func::Ceil => return Ok(x),
            _ => {}
        }
    }
    let x = x.f();
    let r = match f {
        Func::Abs => x.abs(),
        Func::Round => return to_int(x, f64::round, shown),
        Func::Floor => return to_int(x, f64::floor, shown),
        Func::Ceil => return to_int(x, f64::ceil, shown),
        Func::Sqrt => x.sqrt(),
        Func::Exp => x.exp(),
        Func::Ln if x == 0.0 => f64::NEG_INFINITY,
        Func::Ln => x.ln(),
        Func::Log10 => x.log10(),
        Func::Sin => x.sin(),
        Func::Cos => x.cos(),
        Func::Tan => x.tan(),
        Func::Asin => x.asin(),
        Func::Acos => x.acos(),
        Func::Atan => x.atan(),
        Func::Min | Func::Max | Func::Atan2 | Func::If => f64::NAN,
    };
    finite(r, shown)
}

/// `f(a, b)` for a function of two numbers (`round` here is `round(x, n)`).
pub(super) fn call2(func: Func, a: Num, b: Num) -> Result<Num, Problem> {
    let shown = || format!("{}({}, {})", func.name(), a.text(), b.text());
    match func {
        // The operand itself, so `min(1, 2.5)` is the integer 1.
        Func::Min => Ok(if b.f() < a.f() { b } else { a }),
        Func::Max => Ok(if b.f() > a.f() { b } else { a }),
        Func::Atan2 => finite(a.f().atan2(b.f()), shown),
        Func::Round => match b {
            Num::I(digits) => finite(round_to(a.f(), digits), shown),
            Num::F(_) => Err(Problem::Type(format!(
                "`round`'s digits must be an integer, not `{}`",
                b.text()
            ))),
        },
        _ => Err(Problem::Type(format!(
            "`{}` takes one argument",
            func.name()
        ))),
    }
}

/// `value` rounded to `digits` decimals (to tens, hundreds, ... when negative), half away
/// from zero.
fn round_to(value: f64, digits: i64) -> f64 {
    // Beyond 17 digits either way a float has nothing left to round, or rounds to zero.
    let digits = digits.clamp(-400, 400) as i32;
    if digits > 17 {
        return value;
    }
    if digits >= 0 {
        let scale = 10f64.powi(digits);
        let scaled = value * scale;
        // Too large to have digits after the point to round.
        if scaled.is_finite() {
            scaled.round() / scale
        } else {
            value
        }
    } else {
        let scale = 10f64.powi(-digits);
        if scale.is_finite() {
            (value / scale).round() * scale
        } else {
            0.0 * value.signum()
        }
    }
}

/// A measured reply as a number, the way SCPI sends them (`+1.234E-03`, ` 42`): an integer
/// when it is one, else a float; `NAN` and `INF` are not numbers to compute with.
pub(super) fn parse_reply(reply: &str) -> Result<Num, Problem> {
    let t = reply.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Ok(Num::I(i));
    }
    match t.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(Num::F(x)),
        _ => Err(Problem::NotANumber(reply.to_owned())),
    }
}
