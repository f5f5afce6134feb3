//! Validation of `params:` (their names), and of the names that may not clash with a
//! parameter: sweep variables (of steps and loops) and `as:` names, which would otherwise
//! shadow it in command text (`{vmax}`) and in expressions.

use std::ops::Range;

use super::super::name;
use super::super::raw::{OrderedMap, RawParam, Spanned};
use super::Cx;
use crate::yaml::Problem;

impl Cx<'_> {
    /// A problem at each parameter whose name breaks the name rule.
    pub(super) fn check_params(&mut self, raw: Option<Spanned<OrderedMap<Spanned<RawParam>>>>) {
        let Some(raw) = raw else { return };
        for (key, _) in &raw.value.0 {
            let at = self.span(key).start;
            self.param_at.push((key.value.clone(), at));
            if let Some(message) = name::value_problem("parameter name", &key.value) {
                let span = self.span(key);
                self.problem(span, message, "rename");
            }
        }
    }

    /// A problem at `span` when `name`, defined there as a `what` (`sweep variable`, `value
    /// name`), is also a parameter: inside its step it would shadow the parameter.
    pub(super) fn param_clash(&mut self, name: &str, span: Range<usize>, what: &str) {
        if self.params.iter().any(|(p, _)| p == name) {
            let at = self.param_at.iter().find(|(p, _)| p == name);
            let line = self.line(at.map_or(0, |(_, at)| *at));
            self.problems.push(
                Problem::new(
                    span,
                    format!(
                        "{what} `{name}` would shadow the parameter `{name}` (`params:`, line \
                         {line}): one name would mean two values"
                    ),
                    "rename",
                )
                .help("rename one of them"),
            );
        }
    }
}
