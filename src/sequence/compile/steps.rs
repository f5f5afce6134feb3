//! Validation of the tree of steps: names (the name rule, unique among siblings, not
//! `setup` or `teardown`), each step's instrument, sweep, `repeat`, `parallel:`,
//! `concurrency`, `on_resume` and commands, seen in the [`Scope`] of the loops around it
//! (loops themselves are in [`super::loops`]); and the bound on points per step, per loop
//! iteration and in all.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::super::bounds::{self, MAX_POINTS, MAX_POINTS_TEXT};
use super::super::conditions::{Condition, StopWhen};
use super::super::name;
use super::super::raw::{RawCommand, RawMode, RawStep, RawStopWhen, Spanned};
use super::super::sweep::Mode;
use super::super::{Command, Node, OnResume, Parallel, RetryPolicy, Step};
use super::exprs::{Names, reads_measured, var_kind};
use super::instruments::Instruments;
use super::loops::Scope;
use super::on::Target;
use super::{Cx, Vars};
use crate::sequence::expr::Kind;
use crate::yaml::Problem;

impl Cx<'_> {
    pub(super) fn steps(
        &mut self,
        raw: Option<Spanned<Vec<RawStep>>>,
        ins: &Instruments,
    ) -> Vec<Node> {
        let Some(raw) = raw.filter(|s| !s.value.is_empty()) else {
            self.problem(0..0, "the sequence has no `steps`", "add a `steps:` list");
            return Vec::new();
        };
        let top = Scope {
            loops: Vec::new(),
            vars: Vec::new(),
            instrument: None,
            retries: self.retries,
            retry_on: self.retry_on,
            breaking: Vec::new(),
            too_deep: false,
            lets: Vec::new(),
        };
        self.nodes(raw.value, ins, &top)
    }

    /// The steps and loops of one list (the top level, or a loop's body): names unique
    /// among them, and at most [`MAX_POINTS`] points in all.
    pub(super) fn nodes(
        &mut self,
        raw: Vec<RawStep>,
        ins: &Instruments,
        scope: &Scope,
    ) -> Vec<Node> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut nodes = Vec::new();
        let mut spans = Vec::new();
        for step in raw {
            let span = self.span(&step.name);
            let name = step.name.value.clone();
            if let Some(first) = seen.get(&name) {
                let line = self.line(*first);
                let within = scope
                    .loops
                    .last()
                    .map(|l| format!(" in loop `{l}`"))
                    .unwrap_or_default();
                self.problem(
                    span.clone(),
                    format!("duplicate step name `{name}`{within} (first used on line {line})"),
                    "rename this step",
                );
            } else {
                seen.insert(name.clone(), span.start);
            }
            if name == "setup" || name == "teardown" {
                self.problem(
                    span.clone(),
                    format!("step name `{name}` is taken by the `{name}:` commands"),
                    "rename this step",
                );
            } else if let Some(message) = name::problem("step name", &name) {
                self.problem(span.clone(), message, "rename this step");
            }
            let node = if step.steps.is_some() {
                Node::Loop(Arc::new(self.loop_(step, ins, scope)))
            } else {
                Node::Step(Arc::new(self.step(step, ins, scope)))
            };
            nodes.push(node);
            spans.push(span);
        }
        self.total_points(&nodes, &spans, scope.loops.last().map(String::as_str));
        nodes
    }

    /// The nodes of one list have at most [`MAX_POINTS`] points (in all, or per iteration
    /// of the loop `within`): the node that takes them past it is reported, at its name. (A
    /// node too large on its own was reported already, where it grew too large, and adds no
    /// second problem here.)
    fn total_points(&mut self, nodes: &[Node], spans: &[Range<usize>], within: Option<&str>) {
        let mut total = 0u64;
        for (node, span) in nodes.iter().zip(spans) {
            if node.points() > MAX_POINTS {
                return;
            }
            total = total.saturating_add(node.points());
            if total > MAX_POINTS {
                let kind = match node {
                    Node::Step(_) => "step",
                    Node::Loop(_) => "loop",
                };
                let name = node.name();
                let (message, help) = match within {
                    None => (
                        format!(
                            "with {kind} `{name}`, the sequence has {total} points: a sequence \
                             has at most {MAX_POINTS_TEXT}"
                        ),
                        "split the steps over several sequences",
                    ),
                    Some(l) => (
                        format!(
                            "with {kind} `{name}`, an iteration of loop `{l}` has {total} \
                             points: a sequence has at most {MAX_POINTS_TEXT}"
                        ),
                        "split the loop over several sequences",
                    ),
                };
                self.problems
                    .push(Problem::new(span.clone(), message, "too many points").help(help));
                return;
            }
        }
    }

    /// A step's instrument: its own `instrument:`, else its innermost loop's; with one
    /// instrument, that one.
    fn step_instrument(&mut self, raw: &RawStep, ins: &Instruments, scope: &Scope) -> usize {
        match (&raw.instrument, scope.instrument) {
            (Some(named), _) => self.instrument_ref(Some(named), ins),
            (None, Some(inherited)) => inherited,
            (None, None) if !ins.single => {
                let span = self.span(&raw.name);
                let or_loop = if scope.loops.is_empty() {
                    ""
                } else {
                    ", or an enclosing loop must name it"
                };
                self.problem(
                    span,
                    format!(
                        "step `{}` must name its instrument with `instrument:`{or_loop} \
                         (instruments: {})",
                        raw.name.value,
                        ins.names()
                    ),
                    "which instrument?",
                );
                0
            }
            (None, None) => 0,
        }
    }

    /// A step's commands as written: a problem if there are none, or no `commands:` at all.
    fn command_list(
        &mut self,
        raw: Option<Spanned<Vec<Spanned<RawCommand>>>>,
        step: &Spanned<String>,
    ) -> Vec<Spanned<RawCommand>> {
        match raw {
            Some(list) if list.value.is_empty() => {
                let span = self.span(&list);
                self.problem(
                    span,
                    format!("step `{}` has no commands", step.value),
                    "empty",
                );
                Vec::new()
            }
            Some(list) => list.value,
            None => {
                let span = self.span(step);
                self.problem(
                    span,
                    format!(
                        "step `{}` needs `commands:` (or `steps:`, to make it a loop)",
                        step.value
                    ),
                    "no commands",
                );
                Vec::new()
            }
        }
    }

    fn step(&mut self, raw: RawStep, ins: &Instruments, scope: &Scope) -> Step {
        let instrument = self.step_instrument(&raw, ins, scope);
        let mode = match raw.mode {
            Some(RawMode::Zip) => Mode::Zip,
            _ => Mode::Product,
        };
        self.reused(raw.sweep.as_ref(), scope);
        let breaking = self.breaking_values(raw.sweep.as_ref(), ins);
        let sweep = self.sweep(raw.sweep, mode);
        let mut owned: Vec<String> = scope
            .vars
            .iter()
            .map(|v| v.name.clone())
            .chain(sweep.names().iter().cloned())
            .collect();
        let mut kinds: Vec<Kind> = scope
            .vars
            .iter()
            .map(|v| var_kind(v.text))
            .chain(sweep.axes().iter().map(|(_, a)| var_kind(a.has_text())))
            .collect();
        let params = self.consts.clone();
        let lets = self.scope_lets(scope, raw.lets.as_ref(), &mut owned, &mut kinds, &params);
        let names: Vec<&str> = owned.iter().map(String::as_str).collect();
        let repeat_span = raw.repeat.as_ref().map(|r| self.span(r));
        let repeat = self.count(raw.repeat, 1, bounds::REPEAT).cast_unsigned();
        let what = format!("step `{}`", raw.name.value);
        let repeat = self.passes(&what, "points", sweep.len(), repeat, repeat_span);
        let max_connections = ins.list.get(instrument).map_or(1, |i| i.max_connections);
        let parallel = self.parallel(
            raw.parallel,
            raw.concurrency.as_ref(),
            &sweep,
            &raw.name.value,
            scope,
        );
        let concurrency = self.count(
            raw.concurrency,
            i64::try_from(max_connections).unwrap_or(i64::MAX),
            bounds::CONCURRENCY,
        );
        // One at a time, whatever the pool size.
        let concurrency = if parallel == Parallel::Serial {
            1
        } else {
            concurrency
        };
        let raw_commands = self.command_list(raw.commands, &raw.name);
        let vars = Vars {
            names: &names,
            kinds: &kinds,
            base: names.len(),
            params: &params,
        };
        let target = Target::Step {
            own: instrument,
            ins,
        };
        // What the commands measure (name, index), from the list as written: a command
        // refused below still puts its name in the scope of `stop_when:`.
        let measured: Vec<(String, usize)> = raw_commands
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match &c.value {
                RawCommand::Map(m) => m.as_name.as_ref().map(|n| (n.value.clone(), i)),
                RawCommand::Plain(_) => None,
            })
            .filter(|(n, _)| !names.contains(&n.as_str()))
            .collect();
        let commands = self.commands(raw_commands, vars, ins.wire(instrument), target);
        let wire = |c: &super::super::Command| ins.wire(c.on().unwrap_or(instrument));
        self.check_rendered_values(&scope.breaking, &commands, &names, wire);
        self.check_rendered_values(&breaking, &commands, &names, wire);
        let retries = self.retries(raw.retries, scope.retries);
        let retry_on = raw
            .retry_on
            .as_deref()
            .map_or(scope.retry_on, RetryPolicy::from_list);
        let on_resume = self.on_resume(raw.on_resume, &raw.name.value, scope);
        let (stop_when, when, keeps_measured) = self.conditions(
            raw.stop_when,
            raw.when.as_ref(),
            &raw.name.value,
            (&commands, &measured),
            vars,
            scope,
        );
        Step {
            retries,
            retry_on,
            name: raw.name.value,
            instrument,
            repeat,
            concurrency: usize::try_from(concurrency).unwrap_or(usize::MAX),
            parallel,
            commands,
            sweep,
            outer: scope.vars.iter().map(|v| v.name.clone()).collect(),
            on_resume,
            lets,
            keeps_measured,
            stop_when,
            when,
        }
    }

    /// A step's `stop_when:` (over every value of its points, the measured ones included)
    /// and `when:` (over its loops' variables), and whether running its points must keep
    /// the measured values (some text or condition reads one).
    fn conditions(
        &mut self,
        raw_stop: Option<Spanned<Vec<RawStopWhen>>>,
        raw_when: Option<&Spanned<String>>,
        step: &str,
        (commands, taken): (&[Command], &[(String, usize)]),
        vars: Vars<'_>,
        scope: &Scope,
    ) -> (Vec<StopWhen>, Option<Condition>, bool) {
        // `stop_when:` reads every value of the point, the measured ones included (`taken`:
        // each name with the index of the command that measures it).
        let point = Names {
            vars,
            taken,
            value: None,
        };
        let stop_when = self.stop_when(raw_stop, step, scope, point);
        // `when:` is decided as an iteration starts: on the loops' variables alone.
        let outer = scope.vars.len();
        let in_loops = Names {
            vars: Vars {
                names: &vars.names[..outer],
                kinds: &vars.kinds[..outer],
                base: outer,
                params: vars.params,
            },
            taken: &[],
            value: None,
        };
        let when = self.when(raw_when, scope, in_loops);
        let base = vars.base;
        let keeps_measured = reads_measured(commands, base)
            || stop_when
                .iter()
                .any(|s| s.expr.slots().any(|slot| slot >= base));
        (stop_when, when, keeps_measured)
    }

    /// A step's `on_resume:`. `rerun` means "run again when a resume continues an
    /// iteration of my loop", so a step outside loops, where no iteration is continued,
    /// may not say it: it would do nothing, silently.
    fn on_resume(&mut self, raw: Option<Spanned<OnResume>>, step: &str, scope: &Scope) -> OnResume {
        let Some(raw) = raw else {
            return OnResume::Continue;
        };
        if raw.value == OnResume::Rerun && scope.loops.is_empty() {
            let span = self.span(&raw);
            self.problems.push(
                Problem::new(
                    span,
                    format!(
                        "`on_resume: rerun` on step `{step}`, which is in no loop: a step runs \
                         again when a resume continues an iteration of its loop, and a step at \
                         the top level has none"
                    ),
                    "in no loop",
                )
                .help(
                    "to run it again whenever a resume continues the steps after it, put them \
                     in a group with it: `- name: g` and `steps: [...]`, without `sweep:`",
                ),
            );
            return OnResume::Continue;
        }
        raw.value
    }

    /// The 1-based line of byte `offset`.
    pub(super) fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }

    /// `repeat` passes over a sweep of `len` points (of a step, or iterations of a loop:
    /// `what` and `noun` say which), unless that makes more than [`MAX_POINTS`]: then a
    /// problem at `repeat` (the sweep alone is within them, or was reported and stands in
    /// with one point), and one pass stands in.
    pub(super) fn passes(
        &mut self,
        what: &str,
        noun: &str,
        len: u64,
        repeat: u64,
        at: Option<Range<usize>>,
    ) -> u64 {
        // Both are at most 10^12 here, so their product fits a u128.
        match u128::from(len) * u128::from(repeat) {
            n if n <= u128::from(MAX_POINTS) => repeat,
            n => {
                let most = if noun == "points" {
                    format!("a step has at most {MAX_POINTS_TEXT}")
                } else {
                    format!("a loop has at most {MAX_POINTS_TEXT} {noun}")
                };
                self.problems.push(
                    Problem::new(
                        at.unwrap_or(0..0),
                        format!(
                            "`repeat` of {repeat} gives {what} {n} {noun} ({len} per pass): \
                             {most}"
                        ),
                        "too many passes",
                    )
                    .help(bounds::REPEAT.help),
                );
                1
            }
        }
    }
}
