//! Validation of `on:`, the instrument a command of a point goes to when it is not the
//! point's own: it must name another instrument of the sequence, sit in a map with a
//! command to send, and not be in `setup`, `teardown` or `on_connect`, whose commands run
//! on the instrument they are listed under.

use super::super::raw::Spanned;
use super::Cx;
use super::instruments::Instruments;
use crate::yaml::Problem;

/// Where a command list runs, which decides what `on:` may name.
#[derive(Clone, Copy)]
pub(super) enum Target<'a> {
    /// The points of a step on instrument `own`: `on:` may name another of `ins`.
    Step {
        /// The step's instrument.
        own: usize,
        /// The sequence's instruments.
        ins: &'a Instruments,
    },
    /// `setup`, `teardown` or `on_connect` (the word): the commands run on the instrument
    /// they are listed under, and `on:` is refused.
    Fixed(&'a str),
}

impl Cx<'_> {
    /// `on:` in a map with none of `write`, `query`, `poll`, `wait`: a problem at `on`
    /// that says how to write the command.
    pub(super) fn on_nothing(&mut self, on: &Spanned<String>) {
        let span = self.span(on);
        self.problems.push(
            Problem::new(
                span,
                format!(
                    "`on: {}` goes with one of `write`, `query`, `poll`, `wait` in the same \
                     map, and this command has none",
                    on.value
                ),
                "on what?",
            )
            .help(format!(
                "write the command as `{{query: \"TEMP?\", on: {}}}`",
                on.value
            )),
        );
    }

    /// The instrument `on:` sends a command to, when it is not the point's own: an
    /// instrument of the sequence other than the step's (naming the step's own is allowed,
    /// with a warning, and changes nothing). Refused where commands run on the instrument
    /// they are listed under.
    pub(super) fn on(&mut self, raw: &Spanned<String>, target: Target<'_>) -> Option<usize> {
        let span = self.span(raw);
        let name = &raw.value;
        let (own, ins) = match target {
            Target::Step { own, ins } => (own, ins),
            Target::Fixed(list) => {
                let help = if list == "on_connect" {
                    "`on_connect` prepares each new connection of the instrument it is under: \
                     give the other instrument its own `on_connect`"
                        .to_owned()
                } else {
                    format!("list the command under `{list}: {{{name}: [...]}}` instead")
                };
                self.problems.push(
                    Problem::new(
                        span,
                        format!(
                            "`on` does not go in `{list}`: its commands run on the instrument \
                             they are listed under"
                        ),
                        "not here",
                    )
                    .help(help),
                );
                return None;
            }
        };
        let Some(i) = ins.list.iter().position(|i| i.name == *name) else {
            let what = if ins.single {
                "this sequence has one instrument: drop `on`".to_owned()
            } else {
                format!("instruments: {}", ins.names())
            };
            self.problem(
                span,
                format!("`on` names unknown instrument `{name}` ({what})"),
                "no such instrument",
            );
            return None;
        };
        if i == own {
            let key = self.text[..span.start].rfind("on").unwrap_or(span.start);
            self.warnings.push((
                key,
                format!(
                    "`on: {name}` names the step's own instrument: the command runs on the \
                     point's own connection, as it would without `on`"
                ),
            ));
            return None;
        }
        Some(i)
    }
}

/// Help for a YAML error at `offset` on a line that starts with `on:` right under a list
/// item that is a plain command string (`- "TEMP?"` over `on: tc`): a string cannot take
/// keys, so the YAML does not parse, and the reader's message says nothing of commands.
pub(super) fn under_a_string(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?.trim();
    let instrument = line.strip_prefix("on:")?.trim();
    let above = text[..start.checked_sub(1)?]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())?;
    let item = above.strip_prefix("- ")?.trim();
    if item.starts_with('{') || item.contains(": ") {
        return None;
    }
    let command = item.trim_matches(['"', '\'']);
    Some(format!(
        "a command string cannot take `on:`: write the command as a map, \
         `- {{query: \"{command}\", on: {instrument}}}` (or `write:`, `poll:`, `wait:`)"
    ))
}

#[cfg(test)]
mod tests {
    use super::under_a_string;

    /// `on:` under a plain command string gets help; under a map item, or anywhere else,
    /// none.
    #[test]
    fn on_under_a_string_is_explained() {
        let text = "commands:\n  - \"TEMP?\"\n    on: tc\n";
        let at = text.find("on:").unwrap();
        assert_eq!(
            under_a_string(text, at).as_deref(),
            Some(
                "a command string cannot take `on:`: write the command as a map, \
                 `- {query: \"TEMP?\", on: tc}` (or `write:`, `poll:`, `wait:`)"
            )
        );
        let map = "commands:\n  - query: TEMP?\n    on: tc\n";
        assert_eq!(under_a_string(map, map.find("on:").unwrap()), None);
        let other = "commands:\n  - \"TEMP?\"\n    as: t\n";
        assert_eq!(under_a_string(other, other.find("as:").unwrap()), None);
        assert_eq!(under_a_string("on: tc\n", 0), None);
    }
}
