//! Validation of commands: plain strings and the `write`/`query`/`poll`/`wait` maps, poll
//! conditions, and the placeholders of command templates.

use std::collections::HashSet;
use std::ops::Range;
use std::time::Duration;

use super::super::Command;
use super::super::expr::Expr;
use super::super::name;
use super::super::raw::{RawCommand, RawCommandMap, ReplyRule, Scalar, Spanned};
use super::super::template::Template;
use super::exprs::Names;
use super::framing::Wire;
use super::on::Target;
use super::{Cx, Vars, quoted_list};

/// Where a command map is in its list: what its expressions can read, its own measured
/// value (name, command index) if it has `as:`, and the slot of a poll's reply.
struct Place<'a> {
    names: Names<'a>,
    own: Option<(String, usize)>,
    value: usize,
}

/// Default pause between poll queries.
const DEFAULT_POLL_EVERY: Duration = Duration::from_millis(100);
/// Default longest time a poll may take.
const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(30);

impl Cx<'_> {
    /// The commands of a list that runs on `target`, whose instrument puts them on the wire
    /// as `wire` says.
    pub(super) fn commands(
        &mut self,
        raw: Vec<Spanned<RawCommand>>,
        vars: Vars<'_>,
        wire: Wire<'_>,
        target: Target<'_>,
    ) -> Vec<Command> {
        let mut names = HashSet::new();
        let mut out = Vec::with_capacity(raw.len());
        // The measured values so far (name, command index), in scope for what follows.
        let mut taken: Vec<(String, usize)> = Vec::new();
        let count = raw.len();
        for (index, cmd) in raw.into_iter().enumerate() {
            let span = self.span(&cmd);
            let mut own = None;
            if let RawCommand::Map(m) = &cmd.value
                && let Some(name) = &m.as_name
            {
                let at = self.span(name);
                if let Some(message) = name::value_problem("value name", &name.value) {
                    self.problem(at, message, "rename");
                } else if self.params.iter().any(|(p, _)| *p == name.value) {
                    self.param_clash(&name.value, at, "value name");
                } else if !names.insert(name.value.clone()) {
                    self.problem(
                        at,
                        format!(
                            "value name `{}` is used twice in one command list",
                            name.value
                        ),
                        "rename",
                    );
                } else if vars.names.contains(&name.value.as_str()) {
                    // Recording a readback under the variable's own name is common and
                    // stays valid; expressions keep reading the variable.
                    self.warnings.push((
                        at.start,
                        format!(
                            "value name `{}` is also a variable or `let` value of this step: \
                             expressions read the variable, not this reply; give the reply a \
                             name of its own to use it",
                            name.value
                        ),
                    ));
                } else {
                    own = Some((name.value.clone(), index));
                }
            }
            let here = Names {
                vars,
                taken: &taken,
                value: None,
            };
            let compiled = match cmd.value {
                RawCommand::Plain(text) => self.template(&text, span, here, wire).map(|t| {
                    if expects_reply(&text, wire.reply) {
                        Command::Query {
                            text: t,
                            name: None,
                            expect: None,
                            check: None,
                            on: None,
                            when: None,
                        }
                    } else {
                        Command::Write {
                            text: t,
                            on: None,
                            when: None,
                        }
                    }
                }),
                RawCommand::Map(map) => {
                    let at = Place {
                        names: here,
                        own: own.clone(),
                        value: vars.base + count,
                    };
                    self.command_map(*map, span, &at, wire, target)
                }
            };
            if let Some(c) = compiled {
                out.push(c);
            }
            taken.extend(own);
        }
        out
    }

    fn command_map(
        &mut self,
        m: RawCommandMap,
        whole: Range<usize>,
        at: &Place<'_>,
        wire: Wire<'_>,
        target: Target<'_>,
    ) -> Option<Command> {
        let here = at.names;
        let kinds: Vec<&str> = [
            ("write", m.write.is_some()),
            ("query", m.query.is_some()),
            ("poll", m.poll.is_some()),
            ("wait", m.wait.is_some()),
        ]
        .iter()
        .filter(|(_, present)| *present)
        .map(|(k, _)| *k)
        .collect();
        if kinds.is_empty()
            && let Some(on) = &m.on
        {
            self.on_nothing(on);
            return None;
        }
        // A command on another instrument goes on that instrument's wire.
        let on = m.on.as_ref().and_then(|o| self.on(o, target));
        let wire = match (on, target) {
            (Some(i), Target::Step { ins, .. }) => ins.wire(i),
            _ => wire,
        };
        if kinds.len() != 1 {
            let found = if kinds.is_empty() {
                "none".to_owned()
            } else {
                quoted_list(kinds.iter().copied())
            };
            self.problem(
                whole,
                format!("a command needs exactly one of `write`, `query`, `poll`, `wait` (found {found})"),
                "this command",
            );
            return None;
        }
        let kind = kinds[0];
        let ok = self.extras_go_with(&m, kind);
        let name = m.as_name.as_ref().map(|n| n.value.clone());
        let when = match &m.when {
            Some(w) => Some(Box::new(self.condition(w, here, "`when`")?)),
            None => None,
        };
        let command = match kind {
            "wait" => self
                .duration(m.wait, false)
                .map(|pause| Command::Wait { pause, on, when }),
            "write" => {
                let t = m.write?;
                let span = self.span(&t);
                self.template(&t.value, span, here, wire)
                    .map(|text| Command::Write { text, on, when })
            }
            "query" => self.query_map(&m, name, when, at, wire, on),
            _ => {
                let t = m.poll?;
                let span = self.span(&t);
                let text = self.template(&t.value, span, here, wire);
                let until = if let Some(u) = m.until {
                    self.until(u, here, at.value)
                } else {
                    self.problem(
                        whole,
                        "a `poll` needs `until:`",
                        "add e.g. `until: {equals: \"1\"}`",
                    );
                    None
                };
                Some(Command::Poll {
                    text: text?,
                    until: until?,
                    every: self.duration(m.every, true).unwrap_or(DEFAULT_POLL_EVERY),
                    timeout: self
                        .duration(m.timeout, true)
                        .unwrap_or(DEFAULT_POLL_TIMEOUT),
                    name,
                    on,
                    when,
                })
            }
        };
        command.filter(|_| ok)
    }

    /// A `query` map: its text, `expect` (a template) and `check` (over its reply, by its
    /// `as` name).
    fn query_map(
        &mut self,
        m: &RawCommandMap,
        name: Option<String>,
        when: Option<Box<Expr>>,
        at: &Place<'_>,
        wire: Wire<'_>,
        on: Option<usize>,
    ) -> Option<Command> {
        let here = at.names;
        let t = m.query.as_ref()?;
        let span = self.span(t);
        let text = self.template(&t.value, span, here, wire);
        let expect = match &m.expect {
            Some(e) => Some(self.expected(e, here)?),
            None => None,
        };
        // The check reads the reply by its name.
        let mine: Vec<(String, usize)> = here.taken.iter().cloned().chain(at.own.clone()).collect();
        let check = match &m.check {
            Some(c) => {
                let names = Names {
                    taken: &mine,
                    ..here
                };
                Some(Box::new(self.condition(c, names, "`check`")?))
            }
            None => None,
        };
        text.map(|text| Command::Query {
            text,
            name,
            expect,
            check,
            on,
            when,
        })
    }

    /// True when the keys of `m` besides its kind go with `kind` (`as` with a query or a
    /// poll, ...); each that does not is a problem at its value.
    fn extras_go_with(&mut self, m: &RawCommandMap, kind: &str) -> bool {
        let allowed: &[&str] = match kind {
            "query" => &["as", "expect", "check"],
            "poll" => &["as", "until", "every", "timeout"],
            _ => &[],
        };
        if let (Some(check), None) = (&m.check, &m.as_name)
            && kind == "query"
        {
            let span = self.span(check);
            self.problem(
                span,
                "`check` reads the reply by its name: give the query `as: NAME` and use NAME in the condition",
                "add `as:`",
            );
            return false;
        }
        let extras = [
            ("as", m.as_name.as_ref().map(|s| self.span(s))),
            ("expect", m.expect.as_ref().map(|s| self.span(s))),
            ("check", m.check.as_ref().map(|s| self.span(s))),
            ("until", m.until.as_ref().map(|s| self.span(s))),
            ("every", m.every.as_ref().map(|s| self.span(s))),
            ("timeout", m.timeout.as_ref().map(|s| self.span(s))),
        ];
        let mut ok = true;
        for (key, span) in extras {
            if let Some(span) = span
                && !allowed.contains(&key)
            {
                self.problem(
                    span,
                    format!("`{key}` does not go with `{kind}`"),
                    "remove this key",
                );
                ok = false;
            }
        }
        ok
    }

    /// `expect:` of a query: the reply it must be, rendered for the point. A number is the
    /// text as written (`1.0` stays `1.0`).
    fn expected(&mut self, value: &Spanned<Scalar>, here: Names<'_>) -> Option<Template> {
        let (text, span) = self.as_written(value);
        self.parse_template(&text, span, here)
    }

    /// A scalar's text as the file writes it (a number too: `1.0` stays `1.0`), and where.
    pub(super) fn as_written(&self, value: &Spanned<Scalar>) -> (String, Range<usize>) {
        let span = self.span(value);
        let text = match &value.value {
            Scalar::Text(t) => t.clone(),
            Scalar::Num(_) => self
                .text
                .get(span.clone())
                .map_or_else(|| value.value.to_text(), |s| s.trim().to_owned()),
        };
        (text, span)
    }

    /// Parses a command template; `span` is the YAML scalar (quotes included, if any).
    fn template(
        &mut self,
        text: &str,
        span: Range<usize>,
        here: Names<'_>,
        wire: Wire<'_>,
    ) -> Option<Template> {
        self.check_framing(text, span.clone(), wire);
        let t = self.parse_template(text, span.clone(), here)?;
        // Parameters are folded into the text: it is checked as it will be sent.
        if text.contains('{') {
            self.check_framing(&t.literal_text(), span, wire);
        }
        Some(t)
    }

    /// Parses `text`, the YAML scalar at `span`, as a template in scope `here`.
    fn parse_template(
        &mut self,
        text: &str,
        span: Range<usize>,
        here: Names<'_>,
    ) -> Option<Template> {
        match Template::parse(text, &here) {
            Ok(t) => {
                for (slots, decimals, inner) in t.placeholders() {
                    let text_slot = match slots.as_slice() {
                        [slot] => here.vars.is_text(*slot).then_some(*slot),
                        _ => None,
                    };
                    if let (Some(_), Some(slot)) = (decimals, text_slot) {
                        let at = self.inside(&span, text, inner);
                        self.problem(
                            at,
                            format!(
                                "`{}` has text values, so it cannot be formatted with decimals",
                                here.vars.names.get(slot).copied().unwrap_or_default()
                            ),
                            "use `{name}` here",
                        );
                    }
                }
                for (e, inner) in t.expressions() {
                    if e.kind() == super::super::expr::Kind::Text
                        && t.placeholders().any(|(_, d, s)| d.is_some() && s == inner)
                    {
                        let at = self.inside(&span, text, inner);
                        self.problem(
                            at,
                            format!(
                                "`{}` is a text, so it cannot be formatted with decimals",
                                e.source()
                            ),
                            "remove the `:.N`",
                        );
                    }
                }
                Some(t)
            }
            Err(e) => {
                let at = self.inside(&span, text, e.span());
                self.problem(at, e.to_string(), "here");
                None
            }
        }
    }
}

/// Whether a plain command waits for a reply under `rule`: a query is text ending in `?`, or
/// whose SCPI header does (`MEAS:VOLT? (@101)`).
pub fn expects_reply(text: &str, rule: ReplyRule) -> bool {
    match rule {
        ReplyRule::Always => true,
        ReplyRule::Never => false,
        ReplyRule::Queries => {
            let t = text.trim();
            t.ends_with('?')
                || t.split_whitespace()
                    .next()
                    .is_some_and(|h| h.ends_with('?'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which plain commands read a reply under each rule.
    #[test]
    fn reply_rules() {
        let cases = [
            ("MEAS1:CURR?", ReplyRule::Queries, true),
            ("MEAS:VOLT? (@101)", ReplyRule::Queries, true),
            ("SOUR:VOLT 1;*OPC?", ReplyRule::Queries, true),
            ("SOUR1:VOLT 0.5", ReplyRule::Queries, false),
            ("SOUR1:VOLT 0.5", ReplyRule::Always, true),
            ("*IDN?", ReplyRule::Never, false),
        ];
        for (text, rule, want) in cases {
            assert_eq!(expects_reply(text, rule), want, "{text} {rule:?}");
        }
    }
}
