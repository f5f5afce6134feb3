//! Validation: turns the [`raw`](super::raw) YAML tree into a runnable [`Sequence`].
//!
//! Every check that needs more than one node (duplicate step names, placeholders naming no
//! variable, zip lengths, instrument names, which keys go together in a command) lives here.
//! Checks do not stop at the first problem: all of them are collected, each with the span
//! of the offending key or value, and reported together; a value that is wrong stands in
//! as a valid one (a count as its least value, a sweep with its names), so that it causes
//! no second problem. Every count and duration has an upper bound ([`super::bounds`]).
//! Steps are checked in [`steps`], commands in [`commands`] (a poll's `until:` in
//! [`until`]), expressions and `let:` in [`exprs`], `stop_when:` and a step's `when:` in
//! [`conditions`], parameters in [`params`], instruments in [`instruments`], sweeps in
//! [`sweeps`], `parallel:` in [`parallel`], `on:` in [`on`], loops in [`loops`]. Warnings
//! (valid, but likely not meant) are collected the same way and returned in
//! [`Sequence::warnings`].

mod commands;
mod conditions;
mod exprs;
mod framing;
mod instruments;
mod loops;
mod on;
mod parallel;
mod params;
mod steps;
mod sweeps;
mod until;

use self::instruments::Instruments;
use self::on::Target;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::bounds::{self, CountBound};
use super::expr::Kind;
use super::params::{Param, Params};
use super::raw::{
    Count, Dur, OrderedMap, ParamScope, RawCommand, RawHook, RawParam, RawSequence, Spanned,
};
use super::sweep::Sweep;
use super::value::Value;
use super::{OnResume, Parallel, RetryPolicy, Sequence, Step};
use crate::yaml::{InvalidFile, Problem, from_yaml_error, location};

/// Default pool size.
const DEFAULT_MAX_CONNECTIONS: usize = 4;
/// Default dial attempts before an instrument counts as unreachable.
const DEFAULT_RECONNECT_ATTEMPTS: i64 = 5;
/// Name of the instrument of the single-instrument form.
pub const DEFAULT_INSTRUMENT: &str = "instrument";

/// The file's `params:` alone, read before the rest (which may use them): name and
/// default, in file order; `Err` when the file cannot be read that far (its problems are
/// then reported by [`compile`]).
pub(super) fn read_params(text: &str) -> Result<Params, ()> {
    /// The file with only `params:` read (the rest skipped).
    #[derive(serde::Deserialize)]
    struct OnlyParams {
        params: Option<Spanned<OrderedMap<Spanned<RawParam>>>>,
    }
    let only: OnlyParams =
        serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|_| ())?;
    Ok(only
        .params
        .map(|p| {
            p.value
                .0
                .into_iter()
                .map(|(name, value)| (name.value, Param::from_raw(&value.value)))
                .collect()
        })
        .unwrap_or_default())
}

/// Parses and validates `text`, naming it `path` in errors, with the file's parameters.
pub(super) fn compile(text: &str, path: &Path) -> Result<Sequence, InvalidFile> {
    compile_with(text, path, read_params(text).unwrap_or_default())
}

/// [`compile`] with `params` the effective parameters (the file's, with any `--set`
/// values): a `"{name}"` value stands for one.
pub(super) fn compile_with(
    text: &str,
    path: &Path,
    params: Params,
) -> Result<Sequence, InvalidFile> {
    let file = path.display().to_string();
    let scope = ParamScope::enter(params.clone());
    let raw: Result<RawSequence, _> = serde_saphyr::from_str_with_options(text, yaml_options());
    drop(scope);
    let raw = raw.map_err(|e| {
        let mut problem = from_yaml_error(&e, text);
        // A type error or unknown key inside `instruments:` says which instrument.
        if !problem.span.is_empty()
            && let Some(name) = instruments::enclosing(text, problem.span.start)
        {
            problem.message = format!("instrument `{name}`: {}", problem.message);
        }
        // `on:` under a command string reads as YAML that does not parse.
        if let Some(help) = on::under_a_string(text, problem.span.start) {
            problem = problem.help(help);
        }
        InvalidFile::new(&file, text, vec![problem])
    })?;
    let mut cx = Cx {
        text,
        params: &params,
        param_at: Vec::new(),
        problems: Vec::new(),
        warnings: Vec::new(),
        retries: 0,
        retry_on: RetryPolicy::default(),
        consts: params
            .iter()
            .filter_map(|(name, p)| Some((name.clone(), p.as_value()?)))
            .collect(),
    };
    let mut seq = cx.sequence(raw, path);
    if !cx.problems.is_empty() {
        return Err(InvalidFile::new(&file, text, cx.problems));
    }
    cx.warnings.sort_by_key(|(at, _)| *at);
    seq.warnings = cx
        .warnings
        .into_iter()
        .map(|(at, message)| format!("{}: {message}", location(&file, text, at)))
        .collect();
    seq.params = params;
    Ok(seq)
}

/// How sequence files are read: YAML 1.2 booleans, and budgets against hostile files.
pub(super) fn yaml_options() -> serde_saphyr::Options {
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
            max_depth: crate::yaml::MAX_DEPTH,
            flow_nesting_limit: crate::yaml::MAX_DEPTH,
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
    /// The effective parameters, for names that may not clash with them and templates
    /// that render them.
    params: &'t Params,
    /// Where `params:` names each parameter (byte offset), for messages about a clash.
    param_at: Vec<(String, usize)>,
    problems: Vec<Problem>,
    /// Warnings: byte offset in the file, and text.
    warnings: Vec<(usize, String)>,
    /// Run-wide `retries` and `retry_on`, the default of every step.
    retries: u32,
    retry_on: RetryPolicy,
    /// The parameters' values as expressions see them (constants; a list parameter, which
    /// only stands as a whole value, is not one).
    consts: std::rc::Rc<[(String, Value)]>,
}

/// A step's values as its expressions see them: the enclosing loops' variables, the
/// step's own, its `let:` values (see [`exprs`] for the slots), and the parameters.
#[derive(Clone, Copy, Default)]
pub(super) struct Vars<'a> {
    /// Names in slot order.
    names: &'a [&'a str],
    /// Per slot: what the value is (a text takes no `{v:.N}`, no arithmetic).
    kinds: &'a [Kind],
    /// The first slot of measured values: the number of variables and `let:` values of
    /// the step (all of them, also where fewer are in scope).
    base: usize,
    /// The parameters, constants in expressions.
    params: &'a [(String, Value)],
}

impl Vars<'_> {
    /// True when the value at `slot` can be text.
    fn is_text(&self, slot: usize) -> bool {
        self.kinds.get(slot) == Some(&Kind::Text)
    }
}

impl Cx<'_> {
    #[allow(clippy::unused_self)] // a method so call sites read `self.span(x)` like the others
    fn span<T>(&self, s: &Spanned<T>) -> Range<usize> {
        crate::yaml::byte_range(s.referenced)
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
        self.check_params(raw.params);
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
            params: Vec::new(),
            instruments: instruments.list,
            setup,
            steps,
            teardown,
            on_error: raw.on_error,
            warnings: Vec::new(),
        }
    }

    /// `retries:` within [`bounds::RETRIES`].
    fn retries(&mut self, value: Option<Spanned<Count>>, default: u32) -> u32 {
        let n = self.count(value, i64::from(default), bounds::RETRIES);
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// A count within `bound`, or `default` when the file gives none. A value outside the
    /// range is reported at its position and stands in as the least value accepted, so
    /// that nothing computed from it (points, lanes) adds a problem of its own.
    fn count(&mut self, value: Option<Spanned<Count>>, default: i64, bound: CountBound) -> i64 {
        let Some(v) = value else { return default };
        let n = v.value.0;
        if (bound.min..=bound.max).contains(&n) {
            return n;
        }
        let span = self.span(&v);
        let key = key_before(self.text, span.start);
        if n < bound.min {
            self.problem(
                span,
                format!("`{key}` must be at least {}, got `{n}`", bound.min),
                "too small",
            );
        } else {
            let max = if bound.max.cast_unsigned() == bounds::MAX_POINTS {
                bounds::MAX_POINTS_TEXT.to_owned()
            } else {
                bound.max.to_string()
            };
            self.problems.push(
                Problem::new(
                    span,
                    format!("`{key}` must be at most {max}, got `{n}`"),
                    "too large",
                )
                .help(bound.help),
            );
        }
        bound.min
    }

    /// A duration of at most [`bounds::MAX_DURATION`] and, when `nonzero` (a zero timeout
    /// fails every command), more than zero. `None` when the file gives none or zero (the
    /// caller's default then applies); a duration too long is reported and stands in as
    /// the longest accepted.
    fn duration(&mut self, value: Option<Spanned<Dur>>, nonzero: bool) -> Option<Duration> {
        let value = value?;
        let d = value.value.0;
        let span = self.span(&value);
        let key = key_before(self.text, span.start);
        if nonzero && d.is_zero() {
            self.problem(span, format!("`{key}` must be more than 0"), "too small");
            return None;
        }
        if let Some(message) = bounds::duration_problem(&format!("`{key}`"), d) {
            self.problems
                .push(Problem::new(span, message, "too long").help(bounds::DURATION_HELP));
            return Some(bounds::MAX_DURATION);
        }
        Some(d)
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
                let params = self.consts.clone();
                let vars = Vars {
                    params: &params,
                    ..Vars::default()
                };
                let commands =
                    self.commands(commands, vars, ins.wire(instrument), Target::Fixed(name));
                let keeps_measured = exprs::reads_measured(&commands, 0);
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
                    outer: Vec::new(),
                    on_resume: OnResume::Continue,
                    lets: Vec::new(),
                    keeps_measured,
                    stop_when: Vec::new(),
                    when: None,
                })
            })
            .collect()
    }
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
mod bounds_tests;
#[cfg(test)]
mod conditions_tests;
#[cfg(test)]
mod nested_tests;
#[cfg(test)]
mod params_tests;
#[cfg(test)]
mod tests;
