//! Validation of a poll's `until:`: an expression over `value` (the reply) and the point's
//! values, or the map form (`equals`, `matches`, `within`+`of`, `above`, `below`) with its
//! bounds (a number, or one numeric variable in braces).

use super::super::params::{self, Param};
use super::super::raw::{RawUntilAny, Scalar, Spanned};
use super::super::{Bound, Until};
use super::exprs::Names;
use super::{Cx, Vars, quoted_list};
use crate::yaml::Problem;

/// Longest `matches:` pattern accepted: reply patterns are short, and a huge one costs
/// seconds and hundreds of MB to compile.
const MAX_REGEX_LEN: usize = 4096;
/// Compiled size limit of a `matches:` pattern (`{1000}` repetitions and the like).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
impl Cx<'_> {
    /// A poll bound: a number (quoted or not), or `"{var}"` naming a numeric sweep
    /// variable.
    fn bound(&mut self, raw: &Spanned<Scalar>, vars: Vars<'_>) -> Option<Bound> {
        let text = match &raw.value {
            Scalar::Num(n) => return Some(Bound::Fixed(n.as_f64())),
            Scalar::Text(text) => text.trim(),
        };
        // `of: "1.5"`: a number all the same (but not `inf` or `nan`, which Rust parses).
        if let Ok(x) = text.parse::<f64>()
            && x.is_finite()
        {
            return Some(Bound::Fixed(x));
        }
        let span = self.span(raw);
        let name = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .map(str::trim);
        let Some(name) = name else {
            self.problem(
                span,
                format!("`{text}` is not a number"),
                "a number, or a sweep variable in braces such as \"{setpoint}\"",
            );
            return None;
        };
        if !vars.names.contains(&name)
            && let Some(x) = params::get(self.params, name)
                .and_then(Param::as_value)
                .and_then(|v| v.as_f64())
        {
            // A number parameter: a bound fixed for the whole run.
            return Some(Bound::Fixed(x));
        }
        let Some(slot) = vars.names.iter().position(|v| *v == name) else {
            let known = if vars.names.is_empty() {
                "this step has no sweep variables".to_owned()
            } else {
                format!("variables: {}", quoted_list(vars.names.iter().copied()))
            };
            let problem = Problem::new(
                span,
                format!("unknown variable `{name}` ({known})"),
                "no such variable",
            );
            // A computed bound is a condition of its own.
            let problem = if super::super::name::is_name(name) {
                problem
            } else {
                problem.help(format!(
                    "a bound here is a number or one variable; for a computed one write the \
                     condition as an expression, e.g. `until: \"abs(value - ({name})) < 0.01\"`"
                ))
            };
            self.problems.push(problem);
            return None;
        };
        if vars.is_text(slot) {
            self.problem(
                span,
                format!("variable `{name}` takes text values; a poll bound must be a number"),
                "not numeric",
            );
            return None;
        }
        Some(Bound::Var(slot, name.to_owned()))
    }

    /// A poll's `until:`: an expression over `value` (the reply, at slot `value`) and the
    /// point's values, or the map form.
    pub(super) fn until(
        &mut self,
        raw: Spanned<RawUntilAny>,
        here: Names<'_>,
        value: usize,
    ) -> Option<Until> {
        let whole = self.span(&raw);
        let u = match raw.value {
            RawUntilAny::Expr(text) => {
                let spanned = Spanned {
                    value: text,
                    referenced: raw.referenced,
                    defined: raw.defined,
                };
                let names = Names {
                    value: Some(value),
                    ..here
                };
                let expr = self.condition(&spanned, names, "`until`")?;
                let shadowed = here.vars.names.contains(&"value")
                    || here.vars.params.iter().any(|(p, _)| p == "value")
                    || here.taken.iter().any(|(n, _)| n == "value");
                if shadowed && expr.names().any(|(n, _)| n == "value") {
                    self.warnings.push((
                        whole.start,
                        "in this `until:`, `value` is the poll's reply, not the variable, `let` \
                         value or parameter of that name; rename that one to read it here"
                            .to_owned(),
                    ));
                }
                return Some(Until::Expr {
                    expr: Box::new(expr),
                    value,
                });
            }
            RawUntilAny::Map(u) => *u,
        };
        let vars = here.vars;
        let mut found = Vec::new();
        if let Some(e) = u.equals {
            found.push(Until::Equals(self.reply_text(&e)?));
        }
        if let Some(m) = u.matches {
            if m.value.len() > MAX_REGEX_LEN {
                let span = self.span(&m);
                self.problem(
                    span,
                    format!(
                        "regular expression of {} bytes: the limit is {MAX_REGEX_LEN}",
                        m.value.len()
                    ),
                    "too long",
                );
                return None;
            }
            match regex::RegexBuilder::new(&m.value)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
            {
                Ok(re) => found.push(Until::Matches(re)),
                Err(e) => {
                    let span = self.span(&m);
                    let msg = e.to_string();
                    let msg = msg.lines().last().unwrap_or_default();
                    let msg = msg.trim_start_matches("error: ").to_owned();
                    self.problem(
                        span,
                        format!("bad regular expression `{}`: {msg}", m.value),
                        "here",
                    );
                    return None;
                }
            }
        }
        match (u.within, u.of) {
            (Some(tol), Some(of)) => found.push(Until::Within {
                tol: tol.value,
                of: self.bound(&of, vars)?,
            }),
            (None, None) => {}
            _ => {
                self.problem(
                    whole,
                    "`within` and `of` go together: `{within: 0.01, of: 300}`",
                    "here",
                );
                return None;
            }
        }
        if let Some(b) = u.above {
            found.push(Until::Above(self.bound(&b, vars)?));
        }
        if let Some(b) = u.below {
            found.push(Until::Below(self.bound(&b, vars)?));
        }
        if found.len() == 1 {
            found.pop()
        } else {
            self.problem(
                whole,
                "`until` needs exactly one condition: `equals`, `matches`, `within`+`of`, `above` or `below`",
                "here",
            );
            None
        }
    }

    /// A reply to compare with (`expect`, `equals`), exactly as written in the file: `1.0`
    /// stays `1.0`. Placeholders are not rendered there, so they are refused.
    fn reply_text(&mut self, value: &Spanned<Scalar>) -> Option<String> {
        let (text, span) = self.as_written(value);
        if text.contains('{') || text.contains('}') {
            self.problem(
                span,
                format!(
                    "`{text}`: replies are compared as written, placeholders are not rendered here"
                ),
                "no placeholders",
            );
            return None;
        }
        Some(text)
    }
}
