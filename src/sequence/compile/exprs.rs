//! Expressions in the file: the names an expression of a step can read ([`Names`]), where
//! each is in a point's values, `let:` values, and conditions (`when:`, `check:`, a poll's
//! `until:`) parsed at their place with errors pointing into the YAML.
//!
//! A point's values, by slot: the enclosing loops' variables, the step's own, the `let:`
//! values (the loops', then the step's); then the measured ones, one slot per command of
//! the list (`as:` on the command at index i is at `base + i`), then a poll's reply
//! (`value`) at `base + commands`. Parameters are constants, folded in at load.

use std::ops::Range;

use super::super::expr::{self, Binding, Expr, Kind};
use super::super::raw::{OrderedMap, Spanned};
use super::super::value::Value;
use super::super::{Command, Let, Until};
use super::loops::Scope;
use super::{Cx, Vars};

/// The names an expression can read at one place of a step.
#[derive(Clone, Copy)]
pub(super) struct Names<'a> {
    /// The sweep variables (the loops', then the step's own) and the `let:` values.
    pub(super) vars: Vars<'a>,
    /// The measured values taken before this place: name and command index.
    pub(super) taken: &'a [(String, usize)],
    /// The slot of a poll's reply, `value`, in its `until:`.
    pub(super) value: Option<usize>,
}

impl expr::Scope for Names<'_> {
    fn lookup(&self, name: &str) -> Option<Binding> {
        if let Some(slot) = self.value.filter(|_| name == "value") {
            return Some(Binding::Slot(slot, Kind::Reply));
        }
        if let Some((_, index)) = self.taken.iter().rev().find(|(n, _)| n == name) {
            return Some(Binding::Slot(self.vars.base + index, Kind::Reply));
        }
        if let Some(slot) = self.vars.names.iter().position(|n| *n == name) {
            return Some(Binding::Slot(slot, self.vars.kinds[slot]));
        }
        self.vars
            .params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| Binding::Const(v.clone()))
    }

    fn known(&self) -> Vec<String> {
        let mut known: Vec<String> = self.vars.names.iter().map(|n| (*n).to_owned()).collect();
        known.extend(self.taken.iter().map(|(n, _)| n.clone()));
        if self.value.is_some() {
            known.push("value".to_owned());
        }
        known.extend(self.vars.params.iter().map(|(n, _)| n.clone()));
        known
    }
}

impl Cx<'_> {
    /// Maps a byte range inside the YAML string value `text`, whose node is at `whole`,
    /// onto the file: exact when the value is written as is (no escapes, no folding),
    /// else the whole value.
    pub(super) fn inside(
        &self,
        whole: &Range<usize>,
        text: &str,
        inner: Range<usize>,
    ) -> Range<usize> {
        let quote = usize::from(matches!(
            self.text.as_bytes().get(whole.start),
            Some(b'"' | b'\'')
        ));
        let start = whole.start + quote;
        if self.text.get(start..start + text.len()) == Some(text) {
            start + inner.start..start + inner.end
        } else {
            whole.clone()
        }
    }

    /// Parses the expression written at `raw`, reporting a problem (at the offending part)
    /// when it is not valid there; `what` names its use in messages (`` `when` ``).
    pub(super) fn expr(
        &mut self,
        raw: &Spanned<String>,
        names: Names<'_>,
        what: &str,
    ) -> Option<Expr> {
        let whole = self.span(raw);
        match Expr::parse(&raw.value, &names) {
            Ok(e) => Some(e),
            Err(err) => {
                let at = self.inside(&whole, &raw.value, err.span());
                self.problem(at, format!("{what} `{}`: {err}", raw.value), "here");
                None
            }
        }
    }

    /// A condition (`when`, `check`, `until`): an expression that is not certainly text.
    pub(super) fn condition(
        &mut self,
        raw: &Spanned<String>,
        names: Names<'_>,
        what: &str,
    ) -> Option<Expr> {
        let e = self.expr(raw, names, what)?;
        if e.kind() == Kind::Text {
            let at = self.span(raw);
            self.problem(
                at,
                format!("{what} `{}` is a text, not a condition", raw.value),
                "write a comparison, such as `mode == 'AC'`",
            );
            return None;
        }
        Some(e)
    }

    /// The `let:` values a step sees: its loops' (parsed again over the step's names; their
    /// problems were reported at the loops) then its own. `names` and `kinds` (the step's
    /// variables) grow by each.
    pub(super) fn scope_lets(
        &mut self,
        scope: &Scope,
        own: Option<&OrderedMap<Spanned<String>>>,
        names: &mut Vec<String>,
        kinds: &mut Vec<Kind>,
        params: &[(String, Value)],
    ) -> Vec<Let> {
        let mut lets = Vec::new();
        for raw in &scope.lets {
            lets.extend(self.lets(Some(raw), names, kinds, params, false));
        }
        lets.extend(self.lets(own, names, kinds, params, true));
        lets
    }

    /// `let:` values, each parsed over the values before it: `names` (with `kinds`), which
    /// grow by each. `report`: whether problems with their expressions are reported (a
    /// loop's lets, seen again by each step of its body, were reported at the loop); a
    /// name already in scope always is, once. A bad one is left out.
    pub(super) fn lets(
        &mut self,
        raw: Option<&OrderedMap<Spanned<String>>>,
        names: &mut Vec<String>,
        kinds: &mut Vec<Kind>,
        params: &[(String, Value)],
        report: bool,
    ) -> Vec<Let> {
        let Some(raw) = raw else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(raw.0.len());
        for (key, value) in &raw.0 {
            let name = key.value.clone();
            let at = self.span(key);
            let clash = names.contains(&name) || params.iter().any(|(p, _)| *p == name);
            if clash && !self.problems.iter().any(|p| p.span == at) {
                self.problem(
                    at.clone(),
                    format!(
                        "`let` value `{name}` has the name of a variable, `let` value or \
                         parameter already in scope: give it a name of its own"
                    ),
                    "rename it",
                );
            }
            if report && let Some(message) = super::super::name::value_problem("`let` name", &name)
            {
                self.problem(at, message, "rename it");
            }
            let problems = self.problems.len();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let here = Names {
                vars: Vars {
                    names: &refs,
                    kinds,
                    base: refs.len(),
                    params,
                },
                taken: &[],
                value: None,
            };
            let parsed = self.expr(value, here, &format!("`let` value `{name}`"));
            if !report {
                self.problems.truncate(problems);
            }
            match parsed {
                Some(e) if !clash => {
                    names.push(name.clone());
                    kinds.push(e.kind());
                    out.push(Let { name, expr: e });
                }
                // Refused (here or at its loop): the file does not run, but the name stays
                // in scope, of a kind that passes every check, so that its uses are not
                // reported again as unknown names.
                None if !clash => {
                    names.push(name);
                    kinds.push(Kind::Reply);
                }
                _ => {}
            }
        }
        out
    }
}

/// Whether any text or condition of `commands` reads a measured value (a slot at or past
/// `base`, other than a poll's own reply).
pub(super) fn reads_measured(commands: &[Command], base: usize) -> bool {
    let value = base + commands.len();
    let measured = |slot: usize| slot >= base && slot != value;
    commands.iter().any(|c| {
        let template = c.template().is_some_and(|t| {
            t.placeholders()
                .any(|(slots, _, _)| slots.into_iter().any(measured))
        });
        let when = c.when().is_some_and(|e| e.slots().any(measured));
        let extra = match c {
            Command::Query { check, expect, .. } => {
                check.as_ref().is_some_and(|e| e.slots().any(measured))
                    || expect.as_ref().is_some_and(|t| {
                        t.placeholders()
                            .any(|(slots, _, _)| slots.into_iter().any(measured))
                    })
            }
            Command::Poll {
                until: Until::Expr { expr, .. },
                ..
            } => expr.slots().any(measured),
            _ => false,
        };
        template || when || extra
    })
}

/// The kind of a sweep variable that can (`text`) or cannot take text values.
pub(super) fn var_kind(text: bool) -> Kind {
    if text { Kind::Text } else { Kind::Number }
}
