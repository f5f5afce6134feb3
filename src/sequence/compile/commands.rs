//! Validation of commands: plain strings and the `write`/`query`/`poll`/`wait` maps, poll
//! conditions, and the placeholders of command templates.

use std::collections::HashSet;
use std::ops::Range;
use std::time::Duration;

use super::super::name;
use super::super::params::{self, Param};
use super::super::raw::{RawCommand, RawCommandMap, RawUntil, ReplyRule, Scalar, Spanned};
use super::super::template::Template;
use super::super::{Bound, Command, Until};
use super::framing::Wire;
use super::on::Target;
use super::{Cx, Vars, quoted_list};

/// Default pause between poll queries.
const DEFAULT_POLL_EVERY: Duration = Duration::from_millis(100);
/// Longest `matches:` pattern accepted: reply patterns are short, and a huge one costs
/// seconds and hundreds of MB to compile.
const MAX_REGEX_LEN: usize = 4096;
/// Compiled size limit of a `matches:` pattern (`{1000}` repetitions and the like).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
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
        for cmd in raw {
            let span = self.span(&cmd);
            if let RawCommand::Map(m) = &cmd.value
                && let Some(name) = &m.as_name
            {
                let at = self.span(name);
                if let Some(message) = name::problem("value name", &name.value) {
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
                }
            }
            let compiled = match cmd.value {
                RawCommand::Plain(text) => self.template(&text, span, vars, wire).map(|t| {
                    if expects_reply(&text, wire.reply) {
                        Command::Query {
                            text: t,
                            name: None,
                            expect: None,
                            on: None,
                        }
                    } else {
                        Command::Write { text: t, on: None }
                    }
                }),
                RawCommand::Map(map) => self.command_map(*map, span, vars, wire, target),
            };
            if let Some(c) = compiled {
                out.push(c);
            }
        }
        out
    }

    fn command_map(
        &mut self,
        m: RawCommandMap,
        whole: Range<usize>,
        vars: Vars<'_>,
        wire: Wire<'_>,
        target: Target<'_>,
    ) -> Option<Command> {
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
        let name = m.as_name.map(|n| n.value);
        let command = match kind {
            "wait" => self
                .duration(m.wait, false)
                .map(|pause| Command::Wait { pause, on }),
            "write" => {
                let t = m.write?;
                let span = self.span(&t);
                self.template(&t.value, span, vars, wire)
                    .map(|text| Command::Write { text, on })
            }
            "query" => {
                let t = m.query?;
                let span = self.span(&t);
                self.template(&t.value, span, vars, wire)
                    .map(|text| Command::Query {
                        text,
                        name,
                        expect: m.expect.and_then(|e| self.reply_text(&e)),
                        on,
                    })
            }
            _ => {
                let t = m.poll?;
                let span = self.span(&t);
                let text = self.template(&t.value, span, vars, wire);
                let until = if let Some(u) = m.until {
                    self.until(u, vars)
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
                })
            }
        };
        command.filter(|_| ok)
    }

    /// True when the keys of `m` besides its kind go with `kind` (`as` with a query or a
    /// poll, ...); each that does not is a problem at its value.
    fn extras_go_with(&mut self, m: &RawCommandMap, kind: &str) -> bool {
        let allowed: &[&str] = match kind {
            "query" => &["as", "expect"],
            "poll" => &["as", "until", "every", "timeout"],
            _ => &[],
        };
        let extras = [
            ("as", m.as_name.as_ref().map(|s| self.span(s))),
            ("expect", m.expect.as_ref().map(|s| self.span(s))),
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

    /// A poll bound: a number (quoted or not), or `"{var}"` naming a numeric sweep
    /// variable.
    fn bound(&mut self, raw: &Spanned<Scalar>, vars: Vars<'_>) -> Option<Bound> {
        let text = match &raw.value {
            Scalar::Num(n) => return Some(Bound::Fixed(n.as_f64())),
            Scalar::Text(text) => text.trim(),
        };
        // `of: "1.5"`: a number all the same (but not `inf` or `nan`, which Rust parses).
        if let Ok(x) = text.parse::<f64>()
            && x.is_finite()
        {
            return Some(Bound::Fixed(x));
        }
        let span = self.span(raw);
        let name = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .map(str::trim);
        let Some(name) = name else {
            self.problem(
                span,
                format!("`{text}` is not a number"),
                "a number, or a sweep variable in braces such as \"{setpoint}\"",
            );
            return None;
        };
        if !vars.names.contains(&name)
            && let Some(x) = params::get(self.params, name)
                .and_then(Param::as_value)
                .and_then(|v| v.as_f64())
        {
            // A number parameter: a bound fixed for the whole run.
            return Some(Bound::Fixed(x));
        }
        let Some(slot) = vars.names.iter().position(|v| *v == name) else {
            let known = if vars.names.is_empty() {
                "this step has no sweep variables".to_owned()
            } else {
                format!("variables: {}", quoted_list(vars.names.iter().copied()))
            };
            self.problem(
                span,
                format!("unknown variable `{name}` ({known})"),
                "no such variable",
            );
            return None;
        };
        if vars.text[slot] {
            self.problem(
                span,
                format!("variable `{name}` takes text values; a poll bound must be a number"),
                "not numeric",
            );
            return None;
        }
        Some(Bound::Var(slot, name.to_owned()))
    }

    fn until(&mut self, raw: Spanned<RawUntil>, vars: Vars<'_>) -> Option<Until> {
        let whole = self.span(&raw);
        let u = raw.value;
        let mut found = Vec::new();
        if let Some(e) = u.equals {
            found.push(Until::Equals(self.reply_text(&e)?));
        }
        if let Some(m) = u.matches {
            if m.value.len() > MAX_REGEX_LEN {
                let span = self.span(&m);
                self.problem(
                    span,
                    format!(
                        "regular expression of {} bytes: the limit is {MAX_REGEX_LEN}",
                        m.value.len()
                    ),
                    "too long",
                );
                return None;
            }
            match regex::RegexBuilder::new(&m.value)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
            {
                Ok(re) => found.push(Until::Matches(re)),
                Err(e) => {
                    let span = self.span(&m);
                    let msg = e.to_string();
                    let msg = msg.lines().last().unwrap_or_default();
                    let msg = msg.trim_start_matches("error: ").to_owned();
                    self.problem(
                        span,
                        format!("bad regular expression `{}`: {msg}", m.value),
                        "here",
                    );
                    return None;
                }
            }
        }
        match (u.within, u.of) {
            (Some(tol), Some(of)) => found.push(Until::Within {
                tol: tol.value,
                of: self.bound(&of, vars)?,
            }),
            (None, None) => {}
            _ => {
                self.problem(
                    whole,
                    "`within` and `of` go together: `{within: 0.01, of: 300}`",
                    "here",
                );
                return None;
            }
        }
        if let Some(b) = u.above {
            found.push(Until::Above(self.bound(&b, vars)?));
        }
        if let Some(b) = u.below {
            found.push(Until::Below(self.bound(&b, vars)?));
        }
        if found.len() == 1 {
            found.pop()
        } else {
            self.problem(
                whole,
                "`until` needs exactly one condition: `equals`, `matches`, `within`+`of`, `above` or `below`",
                "here",
            );
            None
        }
    }

    /// A reply to compare with (`expect`, `equals`), exactly as written in the file: `1.0`
    /// stays `1.0`. Placeholders are not rendered there, so they are refused.
    fn reply_text(&mut self, value: &Spanned<Scalar>) -> Option<String> {
        let span = self.span(value);
        let text = match &value.value {
            Scalar::Text(t) => t.clone(),
            Scalar::Num(_) => self
                .text
                .get(span.clone())
                .map_or_else(|| value.value.to_text(), |s| s.trim().to_owned()),
        };
        if text.contains('{') || text.contains('}') {
            self.problem(
                span,
                format!(
                    "`{text}`: replies are compared as written, placeholders are not rendered here"
                ),
                "no placeholders",
            );
            return None;
        }
        Some(text)
    }

    /// Parses a command template; `span` is the YAML scalar (quotes included, if any).
    fn template(
        &mut self,
        text: &str,
        span: Range<usize>,
        vars: Vars<'_>,
        wire: Wire<'_>,
    ) -> Option<Template> {
        self.check_framing(text, span.clone(), wire);
        let quote = usize::from(matches!(
            self.text.as_bytes().get(span.start),
            Some(b'"' | b'\'')
        ));
        // Offsets inside the value map onto the file only when the value is written as is
        // (no escapes, no folding); otherwise point at the whole value.
        let verbatim = self
            .text
            .get(span.start + quote..span.start + quote + text.len())
            == Some(text);
        let at = |inner: Range<usize>| {
            if verbatim {
                span.start + quote + inner.start..span.start + quote + inner.end
            } else {
                span.clone()
            }
        };
        let constant = |name: &str| params::get(self.params, name).and_then(Param::as_value);
        match Template::parse_with(text, vars.names, &constant) {
            Ok(t) => {
                for (slot, decimals, inner) in t.placeholders() {
                    if decimals.is_some() && vars.text.get(slot).copied().unwrap_or(false) {
                        self.problem(
                            at(inner),
                            format!(
                                "`{}` has text values, so it cannot be formatted with decimals",
                                vars.names[slot]
                            ),
                            "use `{name}` here",
                        );
                    }
                }
                Some(t)
            }
            Err(e) => {
                self.problem(at(e.span()), e.to_string(), "here");
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
