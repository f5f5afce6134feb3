//! Validation of the steps: names (the name rule, unique, not `setup` or `teardown`), each
//! step's instrument, sweep, `repeat`, `parallel:`, `concurrency` and commands, and the
//! bound on points per step and in all.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::super::bounds::{self, MAX_POINTS, MAX_POINTS_TEXT};
use super::super::name;
use super::super::raw::{RawMode, RawStep, Spanned};
use super::super::sweep::Mode;
use super::super::{Parallel, RetryPolicy, Step};
use super::instruments::Instruments;
use super::{Cx, Vars};
use crate::yaml::Problem;

impl Cx<'_> {
    pub(super) fn steps(
        &mut self,
        raw: Option<Spanned<Vec<RawStep>>>,
        ins: &Instruments,
    ) -> Vec<Arc<Step>> {
        let Some(raw) = raw.filter(|s| !s.value.is_empty()) else {
            self.problem(0..0, "the sequence has no `steps`", "add a `steps:` list");
            return Vec::new();
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut steps = Vec::new();
        let mut spans = Vec::new();
        for step in raw.value {
            let span = self.span(&step.name);
            let name = step.name.value.clone();
            if let Some(first) = seen.get(&name) {
                let line = self.text[..*first].matches('\n').count() + 1;
                self.problem(
                    span.clone(),
                    format!("duplicate step name `{name}` (first used on line {line})"),
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
            steps.push(Arc::new(self.step(step, ins)));
            spans.push(span);
        }
        self.total_points(&steps, &spans);
        steps
    }

    /// A sequence has at most [`MAX_POINTS`] points: the step that takes it past them is
    /// reported, at its name. (A step too large on its own was reported already and stands
    /// in with one pass, so it adds no second problem here.)
    fn total_points(&mut self, steps: &[Arc<Step>], spans: &[Range<usize>]) {
        let mut total = 0u64;
        for (step, span) in steps.iter().zip(spans) {
            total = total.saturating_add(step.points());
            if total > MAX_POINTS {
                self.problems.push(
                    Problem::new(
                        span.clone(),
                        format!(
                            "with step `{}`, the sequence has {total} points: a sequence has at \
                             most {MAX_POINTS_TEXT}",
                            step.name
                        ),
                        "too many points",
                    )
                    .help("split the steps over several sequences"),
                );
                return;
            }
        }
    }

    fn step(&mut self, raw: RawStep, ins: &Instruments) -> Step {
        let instrument = if !ins.single && raw.instrument.is_none() {
            let span = self.span(&raw.name);
            self.problem(
                span,
                format!(
                    "step `{}` must name its instrument with `instrument:` (instruments: {})",
                    raw.name.value,
                    ins.names()
                ),
                "which instrument?",
            );
            0
        } else {
            self.instrument_ref(raw.instrument.as_ref(), ins)
        };
        let mode = match raw.mode {
            Some(RawMode::Zip) => Mode::Zip,
            _ => Mode::Product,
        };
        let breaking = self.breaking_values(raw.sweep.as_ref(), ins.wire(instrument));
        let sweep = self.sweep(raw.sweep, mode);
        let names: Vec<&str> = sweep.names().iter().map(String::as_str).collect();
        let text_vars: Vec<bool> = sweep.axes().iter().map(|(_, a)| a.has_text()).collect();
        let repeat_span = raw.repeat.as_ref().map(|r| self.span(r));
        let repeat = self.count(raw.repeat, 1, bounds::REPEAT).cast_unsigned();
        let repeat = self.passes(&raw.name.value, sweep.len(), repeat, repeat_span);
        let max_connections = ins.list.get(instrument).map_or(1, |i| i.max_connections);
        let parallel = self.parallel(
            raw.parallel,
            raw.concurrency.as_ref(),
            &sweep,
            &raw.name.value,
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
        if raw.commands.value.is_empty() {
            let span = self.span(&raw.commands);
            self.problem(
                span,
                format!("step `{}` has no commands", raw.name.value),
                "empty",
            );
        }
        let vars = Vars {
            names: &names,
            text: &text_vars,
        };
        let commands = self.commands(raw.commands.value, vars, ins.wire(instrument));
        self.check_rendered_values(breaking, &commands, sweep.names());
        let retries = self.retries(raw.retries, self.retries);
        let retry_on = raw
            .retry_on
            .as_deref()
            .map_or(self.retry_on, RetryPolicy::from_list);
        Step {
            outer: Vec::new(),
            on_resume: super::super::OnResume::Continue,
            retries,
            retry_on,
            name: raw.name.value,
            instrument,
            repeat,
            concurrency: usize::try_from(concurrency).unwrap_or(usize::MAX),
            parallel,
            commands,
            sweep,
        }
    }

    /// `repeat` passes over a sweep of `len` points, unless that makes more than
    /// [`MAX_POINTS`] points: then a problem at `repeat` (the sweep alone is within them, or
    /// was reported and stands in with one point), and one pass stands in.
    fn passes(&mut self, step: &str, len: u64, repeat: u64, at: Option<Range<usize>>) -> u64 {
        // Both are at most 10^12 here, so their product fits a u128.
        match u128::from(len) * u128::from(repeat) {
            points if points <= u128::from(MAX_POINTS) => repeat,
            points => {
                self.problems.push(
                    Problem::new(
                        at.unwrap_or(0..0),
                        format!(
                            "`repeat` of {repeat} gives step `{step}` {points} points ({len} per \
                             pass): a step has at most {MAX_POINTS_TEXT}"
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
