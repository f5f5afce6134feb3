//! Validation: turns the [`raw`](super::raw) YAML tree into a runnable [`Sequence`].
//!
//! Every check that needs more than one node (duplicate step names, placeholders naming no
//! variable, zip lengths, instrument names, which keys go together in a command) lives here.
//! Checks do not stop at the first problem: all of them are collected, each with the span
//! of the offending key or value, and reported together. Commands are checked in
//! [`commands`], instruments in [`instruments`], sweeps in [`sweeps`], `parallel:` in
//! [`parallel`]. Warnings (valid, but likely not meant) are collected the same way and
//! returned in [`Sequence::warnings`].

mod commands;
mod framing;
mod instruments;
mod parallel;
mod sweeps;

use std::collections::HashMap;

use self::instruments::Instruments;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::diagnostic::{Problem, SequenceError, from_yaml_error, location};
use super::raw::{Count, Dur, RawCommand, RawHook, RawMode, RawSequence, RawStep, Spanned};
use super::sweep::{Mode, Sweep};
use super::{Parallel, RetryPolicy, Sequence, Step};

/// Default pool size.
const DEFAULT_MAX_CONNECTIONS: usize = 4;
/// Default dial attempts before an instrument counts as unreachable.
const DEFAULT_RECONNECT_ATTEMPTS: i64 = 5;
/// Name of the instrument of the single-instrument form.
pub const DEFAULT_INSTRUMENT: &str = "instrument";

/// Parses and validates `text`, naming it `path` in errors.
pub(super) fn compile(text: &str, path: &Path) -> Result<Sequence, SequenceError> {
    let file = path.display().to_string();
    let raw: RawSequence =
        serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| {
            let mut problem = from_yaml_error(&e, text);
            // A type error or unknown key inside `instruments:` says which instrument.
            if !problem.span.is_empty()
                && let Some(name) = instruments::enclosing(text, problem.span.start)
            {
                problem.message = format!("instrument `{name}`: {}", problem.message);
            }
            SequenceError::new(&file, text, vec![problem])
        })?;
    let mut cx = Cx {
        text,
        problems: Vec::new(),
        warnings: Vec::new(),
        retries: 0,
        retry_on: RetryPolicy::default(),
    };
    let mut seq = cx.sequence(raw, path);
    if cx.problems.is_empty() {
        cx.warnings.sort_by_key(|(at, _)| *at);
        seq.warnings = cx
            .warnings
            .into_iter()
            .map(|(at, message)| format!("{}: {message}", location(&file, text, at)))
            .collect();
        Ok(seq)
    } else {
        Err(SequenceError::new(&file, text, cx.problems))
    }
}

/// How sequence files are read: YAML 1.2 booleans, and budgets against hostile files.
fn yaml_options() -> serde_saphyr::Options {
    // YAML 1.2 booleans only: SCPI values such as `ON`, `OFF`, `Y` stay text.
    // Budgets sized for sequence files, which are a few hundred nodes a few levels deep
    // (sweeps are ranges, not lists): an alias bomb, a runaway nesting or a file of a
    // million items is refused in a fraction of a second, where the library's defaults
    // (sized for any config file) let a billion-laughs file run for seconds and ~80 MB.
    // The messages for these limits are in `diagnostic`.
    serde_saphyr::options! {
        with_snippet: false,
        strict_booleans: true,
        budget: serde_saphyr::budget! {
            max_depth: super::diagnostic::MAX_DEPTH,
            flow_nesting_limit: super::diagnostic::MAX_DEPTH,
            max_nodes: 50_000,
            max_events: 120_000,
            max_anchors: 1_000,
            max_aliases: 5_000,
            max_recorded_anchor_events: 50_000,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 50_000,
            max_replay_stack_depth: 16,
        },
    }
}

/// The validation pass: the file text (to turn locations into spans) and what went wrong.
pub(super) struct Cx<'t> {
    text: &'t str,
    problems: Vec<Problem>,
    /// Warnings: byte offset in the file, and text.
    warnings: Vec<(usize, String)>,
    /// Run-wide `retries` and `retry_on`, the default of every step.
    retries: u32,
    retry_on: RetryPolicy,
}

/// A step's sweep variables as templates see them.
#[derive(Clone, Copy, Default)]
pub(super) struct Vars<'a> {
    /// Names in slot order.
    names: &'a [&'a str],
    /// Per slot: true when the variable can take text values (no `{v:.N}` then).
    text: &'a [bool],
}

impl Cx<'_> {
    #[allow(clippy::unused_self)] // a method so call sites read `self.span(x)` like the others
    fn span<T>(&self, s: &Spanned<T>) -> Range<usize> {
        super::diagnostic::byte_range(s.referenced)
    }

    fn problem(&mut self, span: Range<usize>, message: impl Into<String>, label: &str) {
        self.problems.push(Problem::new(span, message, label));
    }

    fn sequence(&mut self, raw: RawSequence, path: &Path) -> Sequence {
        let name = match raw.name {
            Some(n) if n.value.trim().is_empty() => {
                let span = self.span(&n);
                self.problem(span, "`name` is empty", "give the run a name");
                String::new()
            }
            Some(n) => n.value,
            None => path
                .file_stem()
                .map_or_else(|| "sequence".into(), |s| s.to_string_lossy().into_owned()),
        };
        self.retries = self.retries(raw.retries, 0);
        if let Some(list) = &raw.retry_on {
            self.retry_on = RetryPolicy::from_list(list);
        }
        let instruments = self.instruments(raw.instrument, raw.instruments);
        let setup = self.hook("setup", raw.setup, &instruments);
        let steps = self.steps(raw.steps, &instruments);
        let teardown = self.hook("teardown", raw.teardown, &instruments);
        Sequence {
            name,
            path: path.to_owned(),
            sha256: String::new(),
            metadata: raw
                .metadata
                .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new())),
            instruments: instruments.list,
            setup,
            steps,
            teardown,
            on_error: raw.on_error,
            warnings: Vec::new(),
        }
    }

    /// `retries:` (at least 0).
    fn retries(&mut self, value: Option<Spanned<Count>>, default: u32) -> u32 {
        let n = self.at_least(value, i64::from(default), 0);
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// A count that must be at least 1 (`max_connections`, `repeat`, `concurrency`).
    fn positive(&mut self, value: Option<Spanned<Count>>, default: i64) -> i64 {
        self.at_least(value, default, 1)
    }

    /// A count that must be at least `min`.
    fn at_least(&mut self, value: Option<Spanned<Count>>, default: i64, min: i64) -> i64 {
        match value {
            None => default,
            Some(v) if v.value.0 >= min => v.value.0,
            Some(v) => {
                let span = self.span(&v);
                let key = key_before(self.text, span.start);
                self.problem(
                    span,
                    format!("`{key}` must be at least {min}, got `{}`", v.value.0),
                    "too small",
                );
                min
            }
        }
    }

    /// A duration that must be more than zero (a zero timeout fails every command).
    fn nonzero(&mut self, value: Option<Spanned<Dur>>) -> Option<Duration> {
        let value = value?;
        if value.value.0.is_zero() {
            let span = self.span(&value);
            let key = key_before(self.text, span.start);
            self.problem(span, format!("`{key}` must be more than 0"), "too small");
            return None;
        }
        Some(value.value.0)
    }

    fn hook(
        &mut self,
        name: &str,
        raw: Option<Spanned<RawHook>>,
        ins: &Instruments,
    ) -> Vec<Arc<Step>> {
        let Some(raw) = raw else { return Vec::new() };
        let span = self.span(&raw);
        let lists: Vec<(usize, Vec<Spanned<RawCommand>>)> = match raw.value {
            RawHook::List(commands) if ins.list.len() > 1 => {
                self.problems.push(
                    Problem::new(
                        span,
                        format!(
                            "with several instruments, `{name}` must say which instrument runs what"
                        ),
                        "a plain list",
                    )
                    .help(format!(
                        "write `{name}:` as a map, e.g. `{name}: {{dmm: [\"*RST\"]}}`"
                    )),
                );
                drop(commands);
                Vec::new()
            }
            RawHook::List(commands) => vec![(0, commands)],
            RawHook::PerInstrument(map) => map
                .0
                .into_iter()
                .map(|(key, commands)| (self.instrument_ref(Some(&key), ins), commands))
                .collect(),
        };
        lists
            .into_iter()
            .filter(|(_, commands)| !commands.is_empty())
            .map(|(instrument, commands)| {
                let commands = self.commands(commands, Vars::default(), ins.wire(instrument));
                Arc::new(Step {
                    name: name.to_owned(),
                    instrument,
                    sweep: Sweep::default(),
                    repeat: 1,
                    concurrency: 1,
                    parallel: Parallel::Serial,
                    commands,
                    retries: self.retries,
                    retry_on: self.retry_on,
                })
            })
            .collect()
    }

    fn steps(&mut self, raw: Option<Spanned<Vec<RawStep>>>, ins: &Instruments) -> Vec<Arc<Step>> {
        let Some(raw) = raw.filter(|s| !s.value.is_empty()) else {
            self.problem(0..0, "the sequence has no `steps`", "add a `steps:` list");
            return Vec::new();
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut steps = Vec::new();
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
            if name.is_empty() || name.contains('/') || name == "setup" || name == "teardown" {
                self.problem(
                    span,
                    format!("bad step name `{name}`: it must be non-empty, without `/`, and not `setup` or `teardown`"),
                    "rename this step",
                );
            }
            steps.push(Arc::new(self.step(step, ins)));
        }
        steps
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
        let repeat = self.positive(raw.repeat, 1);
        let max_connections = ins.list.get(instrument).map_or(1, |i| i.max_connections);
        let parallel = self.parallel(
            raw.parallel,
            raw.concurrency.as_ref(),
            &sweep,
            &raw.name.value,
        );
        let concurrency = self.positive(
            raw.concurrency,
            i64::try_from(max_connections).unwrap_or(i64::MAX),
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
            retries,
            retry_on,
            name: raw.name.value,
            instrument,
            repeat: repeat as u64,
            concurrency: usize::try_from(concurrency).unwrap_or(usize::MAX),
            parallel,
            commands,
            sweep,
        }
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `` `a`, `b` `` for messages.
fn quoted_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The YAML key on the line before a value at `offset` (for messages about a value).
fn key_before(text: &str, offset: usize) -> &str {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..offset]
        .trim_end()
        .trim_end_matches(':')
        .trim()
        .trim_start_matches("- ")
        .rsplit([' ', '{', ','])
        .next()
        .unwrap_or("value")
}

#[cfg(test)]
mod tests;
