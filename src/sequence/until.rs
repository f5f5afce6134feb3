//! The condition that ends a poll ([`Until`]): an expression over the reply (`value`) and
//! the point's values, or one of the map's conditions (`equals`, `matches`, `within`+`of`,
//! `above`, `below`).

use super::expr::{Env, EvalError, Expr};
use super::value::Value;

/// The condition that ends a poll.
#[derive(Debug, Clone)]
pub enum Until {
    /// An expression in which `value` (at slot `value`) is the reply.
    Expr {
        /// The condition.
        expr: Box<Expr>,
        /// The slot `value` is read from.
        value: usize,
    },
    /// Reply equals the text.
    Equals(String),
    /// Reply matches the regular expression.
    Matches(regex::Regex),
    /// Numeric reply within `tol` of `of`.
    Within {
        /// Tolerance.
        tol: f64,
        /// Target.
        of: Bound,
    },
    /// Numeric reply above the bound.
    Above(Bound),
    /// Numeric reply below the bound.
    Below(Bound),
}

/// A number in a poll condition: written in the file, or the point's value of a sweep
/// variable (`of: "{setpoint}"`, for "wait until the reading reaches what was just set").
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// A number from the file.
    Fixed(f64),
    /// A numeric sweep variable: its slot in the point's vars, and its name.
    Var(usize, String),
}

impl Bound {
    /// The number for a point with these values; `None` for a variable without a numeric
    /// value (validation only lets numeric variables through).
    pub fn value(&self, env: &dyn Env) -> Option<f64> {
        match self {
            Bound::Fixed(x) => Some(*x),
            Bound::Var(slot, _) => env.get(*slot).and_then(Value::as_f64),
        }
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Fixed(x) => write!(f, "{x}"),
            Bound::Var(_, name) => write!(f, "{{{name}}}"),
        }
    }
}

impl Until {
    /// True when `reply` satisfies the condition for a point with these values; the map's
    /// numeric conditions are false for a reply that is not a number, an expression fails.
    pub fn holds(&self, reply: &str, env: &dyn Env) -> Result<bool, EvalError> {
        let number = reply.trim().parse::<f64>().ok();
        let compare = |bound: &Bound, test: &dyn Fn(f64, f64) -> bool| {
            number
                .zip(bound.value(env))
                .is_some_and(|(x, b)| test(x, b))
        };
        Ok(match self {
            Until::Expr { expr, value } => {
                let reply = Value::Str(reply.to_owned());
                return expr.truth(&WithReply {
                    env,
                    slot: *value,
                    reply: &reply,
                });
            }
            Until::Equals(s) => reply.trim() == s,
            Until::Matches(re) => re.is_match(reply),
            Until::Within { tol, of } => compare(of, &|x, of| (x - of).abs() <= *tol),
            Until::Above(b) => compare(b, &|x, b| x > b),
            Until::Below(b) => compare(b, &|x, b| x < b),
        })
    }

    /// The condition with its variable bounds replaced by this point's values, for messages.
    pub fn describe(&self, env: &dyn Env) -> String {
        let bound = |b: &Bound| {
            b.value(env)
                .map_or_else(|| b.to_string(), |x| x.to_string())
        };
        match self {
            Until::Within { tol, of } => format!("within `{tol}` of `{}`", bound(of)),
            Until::Above(b) => format!("above `{}`", bound(b)),
            Until::Below(b) => format!("below `{}`", bound(b)),
            other => other.to_string(),
        }
    }
}

impl std::fmt::Display for Until {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Until::Expr { expr, .. } => write!(f, "`{}`", expr.source()),
            Until::Equals(s) => write!(f, "equals `{s}`"),
            Until::Matches(re) => write!(f, "matches `{}`", re.as_str()),
            Until::Within { tol, of } => write!(f, "within `{tol}` of `{of}`"),
            Until::Above(b) => write!(f, "above `{b}`"),
            Until::Below(b) => write!(f, "below `{b}`"),
        }
    }
}

/// The point's values, with a poll's reply at the slot of `value`.
struct WithReply<'a> {
    env: &'a dyn Env,
    slot: usize,
    reply: &'a Value,
}

impl Env for WithReply<'_> {
    fn get(&self, slot: usize) -> Option<&Value> {
        if slot == self.slot {
            Some(self.reply)
        } else {
            self.env.get(slot)
        }
    }
}
