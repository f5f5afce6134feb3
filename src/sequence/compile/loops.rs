//! Validation of loops (steps with `steps:`): the keys a loop does not take, how deep it
//! nests, its sweep (no name an enclosing loop has), `repeat` and the bound on its points,
//! and the [`Scope`] it hands its body: its variables after those of the loops around it
//! (a body step's templates index that list, then its own variables), its `instrument:`,
//! `retries` and `retry_on` as defaults, and its text values that could break a command's
//! framing.

use std::ops::Range;
use std::rc::Rc;

use super::super::bounds::{self, MAX_NESTING, MAX_POINTS, MAX_POINTS_TEXT};
use super::super::raw::{OrderedMap, RawAxis, RawMode, RawStep, Spanned};
use super::super::sweep::Mode;
use super::super::{Loop, RetryPolicy};
use super::Cx;
use super::exprs::var_kind;
use super::framing::BreakingValue;
use super::instruments::Instruments;
use crate::sequence::expr::Kind;
use crate::yaml::Problem;

/// A variable of an enclosing loop, as the steps of its body see it.
#[derive(Debug, Clone)]
pub(super) struct OuterVar {
    /// Its name.
    pub(super) name: String,
    /// True when it can take text values (no `{v:.N}`, no poll bound).
    pub(super) text: bool,
    /// The line of its key, for messages about a name used again.
    pub(super) line: usize,
    /// The loop that declares it.
    pub(super) owner: String,
}

/// What the enclosing loops give the steps of their body (nothing at the top level).
#[derive(Debug, Clone)]
pub(super) struct Scope {
    /// The enclosing loops' names, outermost first.
    pub(super) loops: Vec<String>,
    /// Their variables, outermost loop first, each loop's in its sweep's order.
    pub(super) vars: Vec<OuterVar>,
    /// The innermost `instrument:` of a loop, the default of a step.
    pub(super) instrument: Option<usize>,
    /// The innermost `retries` (or the run-wide one), the default of a step.
    pub(super) retries: u32,
    /// The innermost `retry_on` (or the run-wide one), the default of a step.
    pub(super) retry_on: RetryPolicy,
    /// The loops' text values that would break a command's framing.
    pub(super) breaking: Vec<BreakingValue>,
    /// True inside a loop nested too deep (reported once, at that loop).
    pub(super) too_deep: bool,
    /// The loops' `let:` values, outermost loop first.
    pub(super) lets: Vec<Rc<OrderedMap<Spanned<String>>>>,
}

impl Cx<'_> {
    pub(super) fn loop_(&mut self, raw: RawStep, ins: &Instruments, scope: &Scope) -> Loop {
        let name = raw.name.value.clone();
        let name_span = self.span(&raw.name);
        self.not_on_a_loop(&raw, &name);
        let depth = scope.loops.len() + 1;
        let too_deep = depth > MAX_NESTING;
        if too_deep && !scope.too_deep {
            self.problems.push(
                Problem::new(
                    name_span.clone(),
                    format!(
                        "loop `{name}` is nested {depth} deep, in {}: loops nest at most \
                         {MAX_NESTING} deep",
                        scope
                            .loops
                            .iter()
                            .map(|l| format!("`{l}`"))
                            .collect::<Vec<_>>()
                            .join(" > ")
                    ),
                    "too deep",
                )
                .help(bounds::NESTING_HELP),
            );
        }
        let instrument = match &raw.instrument {
            Some(named) => Some(self.instrument_ref(Some(named), ins)),
            None => scope.instrument,
        };
        let mode = match raw.mode {
            Some(RawMode::Zip) => Mode::Zip,
            _ => Mode::Product,
        };
        self.reused(raw.sweep.as_ref(), scope);
        let breaking = self.breaking_values(raw.sweep.as_ref(), ins);
        let lines: Vec<usize> = raw.sweep.as_ref().map_or_else(Vec::new, |s| {
            s.0.iter()
                .map(|(key, _)| self.line(self.span(key).start))
                .collect()
        });
        let sweep = self.sweep(raw.sweep, mode);
        let repeat_span = raw.repeat.as_ref().map(|r| self.span(r));
        let repeat = self.count(raw.repeat, 1, bounds::REPEAT).cast_unsigned();
        let what = format!("loop `{name}`");
        let repeat = self.passes(&what, "iterations", sweep.len(), repeat, repeat_span);
        let mut inner = scope.clone();
        inner.loops.push(name.clone());
        inner.vars.extend(
            sweep
                .axes()
                .iter()
                .zip(lines)
                .map(|((var, axis), line)| OuterVar {
                    name: var.clone(),
                    text: axis.has_text(),
                    line,
                    owner: name.clone(),
                }),
        );
        inner.breaking.extend(breaking);
        if let Some(lets) = raw.lets {
            // Checked here, once, over the loops' variables and lets (parameters too).
            let mut names: Vec<String> = inner.vars.iter().map(|v| v.name.clone()).collect();
            let mut kinds: Vec<Kind> = inner.vars.iter().map(|v| var_kind(v.text)).collect();
            let params = self.consts.clone();
            self.scope_lets(&inner, Some(&lets), &mut names, &mut kinds, &params);
            inner.lets.push(Rc::new(lets));
        }
        inner.instrument = instrument;
        inner.retries = self.retries(raw.retries, scope.retries);
        if let Some(list) = &raw.retry_on {
            inner.retry_on = RetryPolicy::from_list(list);
        }
        inner.too_deep |= too_deep;
        let body = match raw.steps {
            Some(list) if list.value.is_empty() => {
                let span = self.span(&list);
                self.problem(
                    span,
                    format!("loop `{name}` has no steps"),
                    "add steps, or remove `steps:`",
                );
                Vec::new()
            }
            Some(list) => self.nodes(list.value, ins, &inner),
            None => Vec::new(),
        };
        let looped = Loop {
            name,
            sweep,
            repeat,
            body,
        };
        self.loop_points(&looped, name_span);
        looped
    }

    /// Keys that a loop does not take, each a problem at its value: `commands` (a loop's
    /// points are its body's), `parallel` and `concurrency` (its iterations run one after
    /// another), `on_resume` (which says what a resume does to a step), `stop_when` and
    /// `when` (conditions of a step).
    fn not_on_a_loop(&mut self, raw: &RawStep, name: &str) {
        if let Some(commands) = &raw.commands {
            let span = self.span(commands);
            self.problem(
                span,
                format!(
                    "loop `{name}` has `steps:`, so it has no `commands` of its own: move them \
                     into a step of its body"
                ),
                "commands of a loop",
            );
        }
        let iterations = format!(
            "loop `{name}` runs its iterations one after another, each a barrier: give it to \
             the steps in its body whose points may overlap"
        );
        if let Some(parallel) = &raw.parallel {
            let span = self.span(parallel);
            self.problem(
                span,
                format!("`parallel` does not go on a loop: {iterations}"),
                "on a loop",
            );
        }
        if let Some(concurrency) = &raw.concurrency {
            let span = self.span(concurrency);
            self.problem(
                span,
                format!("`concurrency` does not go on a loop: {iterations}"),
                "on a loop",
            );
        }
        if let Some(on_resume) = &raw.on_resume {
            let span = self.span(on_resume);
            self.problem(
                span,
                format!(
                    "`on_resume` does not go on loop `{name}`: it says what a resume does to \
                     a step in a loop's body; give it to those steps"
                ),
                "on a loop",
            );
        }
        if let Some(stop_when) = &raw.stop_when {
            let span = self.span(stop_when);
            self.problem(
                span,
                format!(
                    "`stop_when` does not go on loop `{name}`: it is checked after each point \
                     of a step; give it to a step of its body (`then: {{break: {name}}}` ends \
                     the loop from there)"
                ),
                "on a loop",
            );
        }
        if let Some(when) = &raw.when {
            let span = self.span(when);
            self.problem(
                span,
                format!(
                    "`when` does not go on loop `{name}`: give it to the steps of its body \
                     that run only in some iterations"
                ),
                "on a loop",
            );
        }
    }

    /// A loop has at most [`MAX_POINTS`] points: iterations times the points of one (an
    /// iteration too large was reported where it passed the bound).
    fn loop_points(&mut self, looped: &Loop, at: Range<usize>) {
        let per = looped.points_per_iteration();
        let iterations = looped.iterations();
        let points = u128::from(per) * u128::from(iterations);
        if per <= MAX_POINTS && points > u128::from(MAX_POINTS) {
            self.problems.push(
                Problem::new(
                    at,
                    format!(
                        "loop `{}` has {points} points ({iterations} iterations x {per} per \
                         iteration): a sequence has at most {MAX_POINTS_TEXT}",
                        looped.name
                    ),
                    "too many points",
                )
                .help("split the loop over several sequences"),
            );
        }
    }

    /// A problem at each variable of `sweep` that an enclosing loop already has, or that is
    /// a parameter: a point's values are the loops' then the step's, by name, so one name
    /// would mean two values.
    pub(super) fn reused(&mut self, sweep: Option<&OrderedMap<Spanned<RawAxis>>>, scope: &Scope) {
        let Some(sweep) = sweep else { return };
        for (key, _) in &sweep.0 {
            let span = self.span(key);
            self.param_clash(&key.value, span, "sweep variable");
            if let Some(outer) = scope.vars.iter().find(|v| v.name == key.value) {
                let span = self.span(key);
                self.problem(
                    span,
                    format!(
                        "variable `{}` is already a variable of loop `{}` (line {}): a sweep \
                         in a loop needs names of its own",
                        key.value, outer.owner, outer.line
                    ),
                    "rename this variable",
                );
            }
        }
    }
}
