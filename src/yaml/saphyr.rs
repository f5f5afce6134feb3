//! Turning serde-saphyr errors (syntax, types, budgets) into [`Problem`]s in our words.

use std::borrow::Cow;

use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::ErrorKind as ScanErrorKind;
use serde_saphyr::localizer::ExternalMessageSource;
use serde_saphyr::{DefaultMessageFormatter, Localizer, Location, MessageFormatter};

use super::{MAX_DEPTH, Problem};

/// Converts a serde-saphyr error into a problem at its location.
pub fn from_yaml_error(err: &serde_saphyr::Error, text: &str) -> Problem {
    let (span, label) = match err.location() {
        Some(loc) if loc.line() > 0 => {
            let start = loc
                .span()
                .byte_offset()
                .map_or_else(|| byte_of(text, loc.line(), loc.column()), |b| b as usize);
            let len = loc.span().byte_len().unwrap_or(0) as usize;
            (start..start + len, "here")
        }
        _ => (0..0, "in this file"),
    };
    let options = serde_saphyr::render_options! {
        formatter: &Wording,
        snippets: serde_saphyr::SnippetMode::Off,
    };
    let rendered = err.render_with_options(options);
    let message = rendered.lines().next().unwrap_or_default();
    let message = match message.strip_prefix("duplicate mapping key: ") {
        // serde-saphyr suggests an option of its own here, which users cannot set.
        Some(rest) => format!(
            "duplicate key `{}`",
            rest.split(", set ").next().unwrap_or(rest)
        ),
        None => message.to_owned(),
    };
    let problem = Problem::new(span, message.clone(), label);
    if let Some(help) = limit_help(original(err)) {
        return problem.help(help);
    }
    if message.starts_with("unknown field `") && message.contains('"') {
        // `- DISP:TEXT "a: b"` is read as a map whose key is `DISP:TEXT "a`.
        return problem.help(
            "a command containing `: ` must be quoted as a whole, as in `'DISP:TEXT \"a: b\"'`",
        );
    }
    if message.contains("unknown anchor") {
        // `- *RST` is the usual way to get here.
        return problem
            .help("`*` starts a YAML alias: quote SCPI common commands, as in `\"*RST\"`");
    }
    problem
}

/// The error itself, without the wrappers that say it came through an alias or carry a
/// snippet.
fn original(mut err: &serde_saphyr::Error) -> &serde_saphyr::Error {
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = err
    {
        err = error;
    }
    err
}

/// serde-saphyr's messages in this crate's words: no `at line L, column C` suffix (the
/// report prints `file:line:col` itself), aliases named by their anchor, and the parsing
/// budgets explained in terms of the file.
struct Wording;

impl Localizer for Wording {
    fn attach_location<'a>(&self, base: Cow<'a, str>, _loc: Location) -> Cow<'a, str> {
        base
    }

    fn alias_defined_at(&self, defined: Location) -> String {
        format!(
            " (in the value of the anchor at line {}, column {})",
            defined.line(),
            defined.column()
        )
    }

    fn alias_used_at(&self, _used: Location) -> String {
        // The report already points at the alias.
        String::new()
    }
}

impl MessageFormatter for Wording {
    fn localizer(&self) -> &dyn Localizer {
        self
    }

    fn format_message<'a>(&self, err: &'a serde_saphyr::Error) -> Cow<'a, str> {
        use serde_saphyr::Error as E;
        match err {
            E::Budget { breach, .. } => Cow::Owned(breach_message(breach)),
            E::AliasReplayLimitExceeded { .. }
            | E::AliasExpansionLimitExceeded { .. }
            | E::AliasReplayStackDepthExceeded { .. }
            | E::AliasReplayCounterOverflow { .. } => Cow::Borrowed(ALIAS_BOMB),
            _ if nesting_limit(err) => Cow::Owned(too_deep(MAX_DEPTH)),
            E::Unexpected {
                expected: "mapping start",
                ..
            } => Cow::Borrowed("expected a mapping of `key: value` entries"),
            other => DefaultMessageFormatter.format_message(other),
        }
    }
}

/// True for the parser's own nesting limit on flow collections (`[[[[...`), which it
/// reports as a scan error rather than a budget breach.
fn nesting_limit(err: &serde_saphyr::Error) -> bool {
    matches!(
        err,
        serde_saphyr::Error::ExternalMessage { source, .. }
            if matches!(&**source, ExternalMessageSource::Parser(scan)
                if *scan.kind() == ScanErrorKind::RecursionLimitExceeded)
    )
}

/// The message of every alias limit: the expansion, not any one alias, is the problem.
const ALIAS_BOMB: &str = "aliases expand to too much data (an alias bomb?); refused";

/// A nesting limit, as the user sees it.
fn too_deep(max: usize) -> String {
    format!("lists and mappings nested more than {max} levels deep; refused")
}

/// A parsing budget that ran out, in words. Counts in a breach are one past the limit.
fn breach_message(breach: &BudgetBreach) -> String {
    match breach {
        BudgetBreach::Depth { depth } => too_deep(depth.saturating_sub(1)),
        BudgetBreach::Nodes { nodes } => format!(
            "more than {} values, lists and mappings; too large for a sequence, refused",
            nodes.saturating_sub(1)
        ),
        BudgetBreach::Events { events } => format!(
            "more than {} YAML events; too large for a sequence, refused",
            events.saturating_sub(1)
        ),
        BudgetBreach::ScalarBytes { total_scalar_bytes } => format!(
            "text values add up to more than {} bytes; too large for a sequence, refused",
            total_scalar_bytes.saturating_sub(1)
        ),
        BudgetBreach::Documents { .. } => {
            "a second YAML document (`---`); a sequence file holds exactly one".into()
        }
        BudgetBreach::Aliases { .. }
        | BudgetBreach::Anchors { .. }
        | BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. } => ALIAS_BOMB.into(),
        other => format!("the file exceeds a YAML parser limit ({other:?}); refused"),
    }
}

/// A hint for errors that are resource limits rather than mistakes in one value.
fn limit_help(err: &serde_saphyr::Error) -> Option<&'static str> {
    use serde_saphyr::Error as E;
    match err {
        E::Budget {
            breach: BudgetBreach::Documents { .. },
            ..
        } => Some("remove the extra `---`, or split the runs into separate files"),
        E::Budget {
            breach:
                BudgetBreach::Aliases { .. }
                | BudgetBreach::Anchors { .. }
                | BudgetBreach::AliasAnchorRatio { .. }
                | BudgetBreach::RecordedAnchorEvents { .. }
                | BudgetBreach::RecordedAnchorBytes { .. },
            ..
        }
        | E::AliasReplayLimitExceeded { .. }
        | E::AliasExpansionLimitExceeded { .. }
        | E::AliasReplayStackDepthExceeded { .. }
        | E::AliasReplayCounterOverflow { .. } => Some(
            "anchors (`&name`) and aliases (`*name`) are fine for sharing a few values; \
             nested ones that multiply are not",
        ),
        E::Budget { .. } => Some(
            "a sequence is a short file: sweeps are ranges (`{start, stop, num}`), not long \
             lists; is this the right file?",
        ),
        _ if nesting_limit(err) => {
            Some("a sequence needs a few levels of nesting; is this the right file?")
        }
        _ => None,
    }
}

/// Byte offset of a 1-based line and column (columns counted in characters).
fn byte_of(text: &str, line: u64, column: u64) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1) as usize)
        .map(str::len)
        .sum();
    let col = text[line_start..]
        .char_indices()
        .nth(column.saturating_sub(1) as usize)
        .map_or(0, |(i, _)| i);
    line_start + col
}
