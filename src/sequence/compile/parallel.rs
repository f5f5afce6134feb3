//! Validation of a step's `parallel:`, and what `concurrency:` declares without it.
//!
//! Which points are independent is for the person writing the sequence to say: without
//! `parallel:` a step runs one point at a time. `concurrency: N` alone (N above 1) keeps
//! its old meaning, every point independent, with a warning that suggests `parallel:`.

use super::super::Parallel;
use super::super::raw::{Count, RawParallel, Scalar, Spanned};
use super::super::sweep::Sweep;
use super::loops::Scope;
use super::{Cx, quoted_list};
use crate::yaml::Problem;

impl Cx<'_> {
    /// The step's [`Parallel`]: from its `parallel:` (checked against its `sweep`), else
    /// from its `concurrency:`.
    pub(super) fn parallel(
        &mut self,
        raw: Option<Spanned<RawParallel>>,
        concurrency: Option<&Spanned<Count>>,
        sweep: &Sweep,
        step: &str,
        scope: &Scope,
    ) -> Parallel {
        let Some(raw) = raw else {
            return match concurrency {
                Some(c) if c.value.0 > 1 => {
                    self.concurrency_alone(c, sweep, step);
                    Parallel::All
                }
                _ => Parallel::Serial,
            };
        };
        let span = self.span(&raw);
        let names = sweep.names();
        let variables = quoted_list(names.iter().map(String::as_str));
        match raw.value {
            RawParallel::Word(Scalar::Text(word)) if word == "all" => Parallel::All,
            RawParallel::Word(word) => {
                let word = word.to_text();
                let mut problem = Problem::new(
                    span,
                    format!(
                        "`parallel` is `all` or a list of sweep variables such as `[ch]`, not `{word}`"
                    ),
                    "not `all` nor a list",
                );
                if names.contains(&word) {
                    problem = problem.help(format!(
                        "write `parallel: [{word}]` to run points of different `{word}` at once"
                    ));
                }
                self.problems.push(problem);
                Parallel::Serial
            }
            RawParallel::Vars(_) if names.is_empty() => {
                self.problem(
                    span,
                    format!(
                        "step `{step}` has no sweep, so `parallel` names no variable: write \
                         `parallel: all` for repeats that may overlap, or leave it out"
                    ),
                    "no sweep variables",
                );
                Parallel::Serial
            }
            RawParallel::Vars(list) if list.is_empty() => {
                self.problem(
                    span,
                    format!(
                        "`parallel: []` names no variable: list the sweep variables whose \
                         values tell independent points apart (variables: {variables}), or \
                         write `parallel: all`"
                    ),
                    "empty",
                );
                Parallel::Serial
            }
            RawParallel::Vars(list) => self.lane_slots(list, names, step, scope),
        }
    }

    /// The slots of the variables listed in `parallel:` (in the step's own sweep); a name
    /// that is no sweep variable of the step (a loop's variable included), or is listed
    /// twice, is a problem at its own position.
    fn lane_slots(
        &mut self,
        list: Vec<Spanned<Scalar>>,
        names: &[String],
        step: &str,
        scope: &Scope,
    ) -> Parallel {
        let mut slots = Vec::new();
        let mut ok = true;
        for item in list {
            let span = self.span(&item);
            let name = item.value.to_text();
            match names.iter().position(|n| *n == name) {
                Some(slot) if slots.contains(&slot) => {
                    self.problem(
                        span,
                        format!("`{name}` is named twice in `parallel`"),
                        "again",
                    );
                    ok = false;
                }
                Some(slot) => slots.push(slot),
                None => {
                    let variables = quoted_list(names.iter().map(String::as_str));
                    if let Some(outer) = scope.vars.iter().find(|v| v.name == name) {
                        self.problem(
                            span,
                            format!(
                                "`parallel` names `{name}`, a variable of loop `{}`: it names \
                                 only step `{step}`'s own sweep variables, as the loop's \
                                 iterations run one after another (variables: {variables})",
                                outer.owner
                            ),
                            "a loop's variable",
                        );
                        ok = false;
                        continue;
                    }
                    self.problem(
                        span,
                        format!(
                            "`parallel` names `{name}`, which is not a sweep variable of step \
                             `{step}` (variables: {variables})"
                        ),
                        "no such variable",
                    );
                    ok = false;
                }
            }
        }
        slots.sort_unstable();
        if ok {
            Parallel::Lanes(slots)
        } else {
            Parallel::Serial
        }
    }

    /// `concurrency: N` (N above 1) without `parallel:`: every point is declared
    /// independent, as before `parallel:` existed; a warning at the `concurrency` key says
    /// so and how to say it on purpose.
    fn concurrency_alone(&mut self, c: &Spanned<Count>, sweep: &Sweep, step: &str) {
        let value = self.span(c).start;
        // The key, which comes before its value (in block and flow style alike).
        let key = self.text[..value].rfind("concurrency").unwrap_or(value);
        let example = sweep.names().first().map_or("ch", String::as_str);
        self.warnings.push((
            key,
            format!(
                "`concurrency: {n}` without `parallel:` declares every point of step `{step}` \
                 independent: write `parallel: all` if they are, `parallel: [{example}]` if only \
                 points with different values of `{example}` are, or remove `concurrency` to \
                 run them one at a time",
                n = c.value.0
            ),
        ));
    }
}
