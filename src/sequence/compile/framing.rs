//! Framing checks: a command's text, and every text value a placeholder can put into it,
//! must not contain the instrument's write termination, nor a line break that is not part
//! of it. Such a command would reach the instrument as several messages (or end early),
//! and from then on every reply would answer the wrong command. A YAML `|` block, which
//! keeps its last line break, makes one by accident.

use std::ops::Range;

use super::super::Command;
use super::super::raw::{OrderedMap, RawAxis, ReplyRule, Scalar, Spanned};
use super::Cx;
use super::instruments::Instruments;

/// How an instrument's commands go on the wire: what the checks of its commands need.
#[derive(Debug, Clone, Copy)]
pub(in crate::sequence) struct Wire<'a> {
    /// Which plain commands read a reply.
    pub reply: ReplyRule,
    /// Appended to every command.
    pub write_termination: &'a str,
}

/// A text sweep value that would break a command's framing on some instrument if rendered
/// into it: kept for the commands of the step that declares it, or of every step in the
/// body of the loop that does.
#[derive(Debug, Clone)]
pub(super) struct BreakingValue {
    /// The sweep variable.
    name: String,
    /// Where the value is in the file.
    span: Range<usize>,
    /// The value.
    text: String,
}

/// What a command with a framing fault would do.
const CONSEQUENCE: &str = "so the instrument would not read it as one command and the \
                           replies after it would answer the wrong commands";

/// What in `text` would break the framing on `wire` (``the write termination `\r\n` ``,
/// ``a line break (`\n`)``), or `None` when nothing does.
pub(super) fn framing_fault(text: &str, wire: Wire<'_>) -> Option<String> {
    let term = wire.write_termination;
    if !term.is_empty() && text.contains(term) {
        Some(format!("the write termination `{}`", term.escape_debug()))
    } else if text.contains('\n') {
        Some("a line break (`\\n`)".to_owned())
    } else if text.contains('\r') {
        Some("a carriage return (`\\r`)".to_owned())
    } else {
        None
    }
}

impl Cx<'_> {
    /// A problem at `span` if the command text `text` breaks the framing on `wire`.
    pub(super) fn check_framing(&mut self, text: &str, span: Range<usize>, wire: Wire<'_>) {
        let Some(what) = framing_fault(text, wire) else {
            return;
        };
        let trailing = text.trim_end_matches(['\r', '\n']);
        let hint = if !trailing.contains(['\r', '\n']) && trailing.len() < text.len() {
            "the write termination is added to every command, so leave it out (a YAML `|` \
             block keeps its last line break: write `|-`, or a plain string)"
        } else {
            "write one command per list item"
        };
        self.problem(
            span,
            format!(
                "command `{}` contains {what}, {CONSEQUENCE}; {hint}",
                text.escape_debug()
            ),
            "one command per item",
        );
    }

    /// The text values of `sweep` that would break the framing on some instrument of `ins`
    /// if a placeholder rendered them into a command (checked against the commands by
    /// [`Cx::check_rendered_values`]).
    pub(super) fn breaking_values(
        &self,
        sweep: Option<&OrderedMap<Spanned<RawAxis>>>,
        ins: &Instruments,
    ) -> Vec<BreakingValue> {
        let wires: Vec<Wire<'_>> = (0..ins.list.len().max(1)).map(|i| ins.wire(i)).collect();
        let mut found = Vec::new();
        for (key, axis) in sweep.map(|s| s.0.as_slice()).unwrap_or_default() {
            let RawAxis::List(items) = &axis.value else {
                continue;
            };
            for item in items {
                if let Scalar::Text(text) = &item.value
                    && wires.iter().any(|w| framing_fault(text, *w).is_some())
                {
                    found.push(BreakingValue {
                        name: key.value.clone(),
                        // An item of a list parameter has no place of its own.
                        span: Some(self.span(item))
                            .filter(|s| !s.is_empty())
                            .unwrap_or_else(|| self.span(axis)),
                        text: text.clone(),
                    });
                }
            }
        }
        found
    }

    /// A problem at each of `values` that a placeholder of `commands` renders into a
    /// command whose framing it breaks: `names` are the variables the commands see, in slot
    /// order, and `wire` says how each command goes on the wire (its `on:` instrument's).
    pub(super) fn check_rendered_values<'w>(
        &mut self,
        values: &[BreakingValue],
        commands: &[Command],
        names: &[&str],
        wire: impl Fn(&Command) -> Wire<'w>,
    ) {
        for value in values {
            // A loop's value is checked against every step of its body: reported once.
            if self.problems.iter().any(|p| p.span == value.span) {
                continue;
            }
            let used = commands.iter().find_map(|c| {
                let t = c.template()?;
                let renders = t.placeholders().any(|(slots, _, _)| {
                    slots
                        .iter()
                        .any(|s| names.get(*s) == Some(&value.name.as_str()))
                });
                let what = framing_fault(&value.text, wire(c)).filter(|_| renders)?;
                Some((t, what))
            });
            if let Some((template, what)) = used {
                self.problem(
                    value.span.clone(),
                    format!(
                        "`{}` value `{}`, rendered into `{}`, contains {what}, {CONSEQUENCE}",
                        value.name,
                        value.text.escape_debug(),
                        template.source().escape_debug(),
                    ),
                    "this value",
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::compile;

    /// `line:col: message` of every problem of `yaml`, or nothing if it compiles.
    fn problems(yaml: &str) -> Vec<String> {
        let Err(err) = compile(yaml, Path::new("t.yaml")) else {
            return Vec::new();
        };
        err.render()
            .lines()
            .filter_map(|l| {
                let l = l.trim_start();
                l.strip_prefix("x t.yaml:")
                    .or_else(|| l.strip_prefix("× t.yaml:"))
            })
            .map(str::to_owned)
            .collect()
    }

    /// Commands containing the write termination or a stray line break, and text sweep
    /// values that would put one into a command, are refused where they are written;
    /// a value no command renders is not.
    #[test]
    fn commands_that_would_slip_are_refused() {
        let cases: &[(&str, &[&str])] = &[
            (
                "steps:\n- name: a\n  commands: [{query: \"A?\\nB?\", as: a}, {query: \"C?\", as: c}]\n",
                &[
                    "3:22: command `A?\\nB?` contains the write termination `\\n`, so the instrument \
                   would not read it as one command",
                ],
            ),
            (
                "steps:\n- name: a\n  commands:\n  - |\n    *IDN?\n",
                &["5:5: command `*IDN?\\n` contains the write termination `\\n`"],
            ),
            (
                "instrument: {write_termination: \"\\r\\n\"}\nsteps:\n- name: a\n  commands: [\"A 1\\rB?\"]\n",
                &["4:14: command `A 1\\rB?` contains a carriage return (`\\r`)"],
            ),
            (
                "instrument: {write_termination: \";\"}\nsteps:\n- name: a\n  commands: [\"A 1;B?\"]\n",
                &["4:14: command `A 1;B?` contains the write termination `;`"],
            ),
            (
                "steps:\n- name: a\n  sweep: {ch: [\"1\", \"2\\n3\"]}\n  commands: [\"SOUR{ch}:VOLT 1\"]\n",
                &[
                    "3:21: `ch` value `2\\n3`, rendered into `SOUR{ch}:VOLT 1`, contains the write \
                   termination `\\n`",
                ],
            ),
            (
                "steps:\n- name: a\n  sweep: {label: [\"x\\ny\"], v: [1]}\n  commands: [\"V {v}\"]\n",
                &[],
            ),
            (
                "instruments:\n  tc: {on_connect: [\"SYST:REM\\n\"]}\nsteps:\n- {name: a, instrument: tc, commands: [X]}\n",
                &["2:21: instrument `tc`: command `SYST:REM\\n` contains the write termination"],
            ),
        ];
        for (yaml, want) in cases {
            let got = problems(yaml);
            assert_eq!(got.len(), want.len(), "{yaml}\n{got:#?}");
            for (g, w) in got.iter().zip(*want) {
                assert!(g.starts_with(w), "{yaml}\n got: {g}\nwant: {w}");
            }
        }
        // What to do, after the message's first line.
        let advice = |yaml: &str| {
            let err = compile(yaml, Path::new("t.yaml")).expect_err("invalid");
            err.to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert!(advice(cases[0].0).contains("write one command per list item"));
        assert!(advice(cases[1].0).contains("a YAML `|` block keeps its last line break"));
    }
}
