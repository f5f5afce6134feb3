//! Validation of a step's conditions: `stop_when:` (a condition that is not empty, an
//! action that exists, a loop name that names an enclosing loop) and `when:`, seen in the
//! [`Scope`] of the loops around the step.

use super::super::conditions::{Action, Condition, LoopRef, StopWhen};
use super::super::raw::{RawAction, RawLoopAction, RawStopWhen, Spanned};
use super::Cx;
use super::exprs::Names;
use super::loops::Scope;
use crate::yaml::Problem;

/// The actions, for messages.
const ACTIONS: &str = "`break`, `stop`, `{next: LOOP}` or `{break: LOOP}`";

impl Cx<'_> {
    /// A step's `stop_when:` entries; each wrong one is a problem and left out.
    pub(super) fn stop_when(
        &mut self,
        raw: Option<Spanned<Vec<RawStopWhen>>>,
        step: &str,
        scope: &Scope,
        names: Names<'_>,
    ) -> Vec<StopWhen> {
        let Some(raw) = raw else {
            return Vec::new();
        };
        if raw.value.is_empty() {
            let span = self.span(&raw);
            self.problem(
                span,
                format!("`stop_when` of step `{step}` is empty"),
                "add `{if: ..., then: ...}` entries, or remove `stop_when:`",
            );
        }
        let mut out = Vec::with_capacity(raw.value.len());
        for entry in raw.value {
            let condition = self.step_condition(&entry.if_, "`if:` of a `stop_when` entry", names);
            let action = self.action(entry.then, step, scope);
            if let (Some(cond), Some(action)) = (condition, action) {
                out.push(StopWhen {
                    text: cond.text,
                    at: cond.at,
                    expr: cond.expr,
                    action,
                });
            }
        }
        out
    }

    /// A step's `when:`, over the loops' variables (`names`): a step in no loop may say
    /// one over parameters only. `scope` is the loops around the step.
    pub(super) fn when(
        &mut self,
        raw: Option<&Spanned<String>>,
        scope: &Scope,
        names: Names<'_>,
    ) -> Option<Condition> {
        let _ = scope;
        self.step_condition(raw?, "`when:`", names)
    }

    /// A condition (`what` says where it is, for messages); `None` and a problem when it is
    /// empty or not a valid expression over `names`.
    fn step_condition(
        &mut self,
        raw: &Spanned<String>,
        what: &str,
        names: Names<'_>,
    ) -> Option<Condition> {
        if raw.value.trim().is_empty() {
            let span = self.span(raw);
            self.problems.push(
                Problem::new(span, format!("{what} is empty"), "no condition")
                    .help("write an expression that is true or false, such as `current > 1e-3`"),
            );
            return None;
        }
        let expr = self.condition(raw, names, what)?;
        Some(Condition {
            text: raw.value.trim().to_owned(),
            at: (raw.referenced.line(), raw.referenced.column()),
            expr,
        })
    }

    /// The action of `then:`; `None` and a problem when it is not one.
    fn action(&mut self, raw: Spanned<RawAction>, step: &str, scope: &Scope) -> Option<Action> {
        let span = self.span(&raw);
        match raw.value {
            RawAction::Word(w) if w == "break" => Some(Action::Break),
            RawAction::Word(w) if w == "stop" => Some(Action::Stop),
            RawAction::Word(w) => {
                self.problem(
                    span,
                    format!("unknown action `{w}` in `then:`: an action is {ACTIONS}"),
                    "unknown action",
                );
                None
            }
            RawAction::Loop(RawLoopAction {
                next: Some(_),
                break_: Some(_),
            }) => {
                self.problem(
                    span,
                    "`then:` gives both `next` and `break`: give one",
                    "one action",
                );
                None
            }
            RawAction::Loop(RawLoopAction {
                next: Some(name), ..
            }) => self.loop_ref(&name, "next", step, scope).map(Action::Next),
            RawAction::Loop(RawLoopAction {
                break_: Some(name), ..
            }) => self
                .loop_ref(&name, "break", step, scope)
                .map(Action::BreakLoop),
            RawAction::Loop(RawLoopAction { .. }) => {
                self.problem(
                    span,
                    format!("`then:` names no action: an action is {ACTIONS}"),
                    "no action",
                );
                None
            }
        }
    }

    /// The enclosing loop `name` (of `{key: name}`), with its depth; `None` and a problem
    /// when no loop around the step has that name.
    fn loop_ref(
        &mut self,
        name: &Spanned<String>,
        key: &str,
        step: &str,
        scope: &Scope,
    ) -> Option<LoopRef> {
        if let Some(depth) = scope.loops.iter().position(|l| *l == name.value) {
            return Some(LoopRef {
                name: name.value.clone(),
                depth,
            });
        }
        let span = self.span(name);
        let problem = if scope.loops.is_empty() {
            Problem::new(
                span,
                format!(
                    "`{key}: {}` on step `{step}`, which is in no loop: `{key}` ends an \
                     enclosing loop{}",
                    name.value,
                    if key == "next" { "'s iteration" } else { "" }
                ),
                "in no loop",
            )
            .help("`then: break` ends this step, `then: stop` the run")
        } else {
            let loops = scope
                .loops
                .iter()
                .map(|l| format!("`{l}`"))
                .collect::<Vec<_>>()
                .join(", ");
            Problem::new(
                span,
                format!(
                    "`{key}: {}` names no loop around step `{step}` (its enclosing loops, \
                     outermost first: {loops})",
                    name.value
                ),
                "no such enclosing loop",
            )
        };
        self.problems.push(problem);
        None
    }
}
