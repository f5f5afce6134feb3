//! Validation errors that point into the sequence file.
//!
//! A [`SequenceError`] holds the file's text and one or more [`Problem`]s, each with a byte
//! span, so miette can print `file:line:col` and a snippet with the offending key or value
//! underlined. YAML syntax and type errors from serde-saphyr become the same kind of problem,
//! so every invalid file reads alike; its resource limits (the budgets set where the file is
//! parsed, against alias bombs, runaway nesting and huge files) are worded here in terms of
//! the file, with a hint.

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::ops::Range;
use std::sync::Arc;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, NamedSource, SourceCode, SourceSpan,
    SpanContents,
};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::ErrorKind as ScanErrorKind;
use serde_saphyr::localizer::ExternalMessageSource;
use serde_saphyr::{DefaultMessageFormatter, Localizer, Location, MessageFormatter};

/// Deepest nesting of lists and mappings accepted in a sequence file (block and flow
/// style). Real sequences need a handful of levels; the limit keeps a `[[[[...` file from
/// exhausting the parser.
pub(crate) const MAX_DEPTH: usize = 32;

/// Most of the file shown either side of a problem, in bytes; also the longest underline.
/// A file with very long lines (a minified blob, the wrong file) is otherwise printed whole
/// under the message.
const SNIPPET_BYTES: usize = 400;

/// Longest message printed, in characters; a longer one (which quotes a huge value from the
/// file) keeps its start and its end, where the cause is.
const MESSAGE_CHARS: usize = 600;

/// One thing wrong with the file, at one place.
#[derive(Debug, Clone)]
pub struct Problem {
    /// What is wrong (lowercase, user values in backticks).
    pub message: String,
    /// Byte range in the file it is about.
    pub span: Range<usize>,
    /// Short text under the underline.
    pub label: String,
    /// How to fix it, if there is something to say.
    pub help: Option<String>,
}

impl Problem {
    /// A problem at `span` with the given message and label.
    pub fn new(span: Range<usize>, message: impl Into<String>, label: impl Into<String>) -> Self {
        Problem {
            message: message.into(),
            span,
            label: label.into(),
            help: None,
        }
    }

    /// Adds a hint on how to fix it.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// An invalid sequence file: every problem found, in file order.
#[derive(Debug)]
pub struct SequenceError {
    /// The file, named as the user gave it, with its text (for snippets).
    source: Arc<Snippets>,
    /// The file name as given.
    file: String,
    /// Line starts, for `file:line:col` in the plain message.
    line_starts: Vec<usize>,
    /// What is wrong; never empty.
    problems: Vec<ProblemDiagnostic>,
}

/// A problem bound to the file text, so miette can render it as a related diagnostic.
#[derive(Debug)]
struct ProblemDiagnostic {
    problem: Problem,
    location: String,
    source: Arc<Snippets>,
}

impl SequenceError {
    /// Builds the error for `file` (as named by the user) with text `text`.
    pub fn new(file: &str, text: &str, mut problems: Vec<Problem>) -> Self {
        assert!(!problems.is_empty(), "a sequence error needs a problem");
        problems.sort_by_key(|p| p.span.start);
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect::<Vec<_>>();
        let source = Arc::new(Snippets::new(file, text));
        let mut err = SequenceError {
            source: source.clone(),
            file: file.to_owned(),
            line_starts,
            problems: Vec::new(),
        };
        err.problems = problems
            .into_iter()
            .map(|mut problem| {
                problem.span.start = char_floor(text, problem.span.start);
                let end = problem.span.end.clamp(
                    problem.span.start,
                    problem.span.start.saturating_add(SNIPPET_BYTES),
                );
                problem.span.end = char_floor(text, end);
                problem.message = shorten(&problem.message);
                ProblemDiagnostic {
                    location: err.location(problem.span.start),
                    problem,
                    source: source.clone(),
                }
            })
            .collect();
        err
    }

    /// `file:line:col` (1-based) of a byte offset.
    fn location(&self, offset: usize) -> String {
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts[line - 1];
        let col = self.source.0.inner()[start..offset.max(start)]
            .chars()
            .count()
            + 1;
        format!("{}:{line}:{col}", self.file)
    }

    /// Every problem as its own graphical report (snippet, underline, help), in file order,
    /// then a one-line count when there are several.
    pub fn render(&self) -> String {
        let handler = miette::GraphicalReportHandler::new();
        let mut out = String::new();
        for p in &self.problems {
            if handler.render_report(&mut out, p).is_err() {
                out.push_str(&p.to_string());
                out.push('\n');
            }
        }
        if self.problems.len() > 1 {
            let _ = writeln!(
                out,
                "error: {} problems in `{}`; nothing was sent",
                self.problems.len(),
                self.file
            );
        }
        out
    }

    /// The problems, in file order.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().map(|p| &p.problem)
    }
}

impl fmt::Display for SequenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = &self.problems[0];
        write!(f, "{}: {}", first.location, first.problem.message)?;
        if self.problems.len() > 1 {
            write!(f, " (and {} more problems)", self.problems.len() - 1)?;
        }
        Ok(())
    }
}

impl std::error::Error for SequenceError {}

impl Diagnostic for SequenceError {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problems[0]
            .problem
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&*self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(self.problems[0].label())))
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        (self.problems.len() > 1).then(|| {
            Box::new(self.problems[1..].iter().map(|p| p as &dyn Diagnostic))
                as Box<dyn Iterator<Item = &dyn Diagnostic>>
        })
    }
}

impl ProblemDiagnostic {
    fn label(&self) -> LabeledSpan {
        let span = &self.problem.span;
        LabeledSpan::new_primary_with_span(Some(self.problem.label.clone()), span.clone())
    }
}

impl fmt::Display for ProblemDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.problem.message)
    }
}

impl std::error::Error for ProblemDiagnostic {}

impl Diagnostic for ProblemDiagnostic {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.problem
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&*self.source)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(self.label())))
    }
}

/// `message` cut in the middle to at most about [`MESSAGE_CHARS`] characters.
fn shorten(message: &str) -> String {
    let count = message.chars().count();
    if count <= MESSAGE_CHARS {
        return message.to_owned();
    }
    let head = message.chars().take(MESSAGE_CHARS * 2 / 3);
    let tail = message.chars().skip(count - MESSAGE_CHARS / 3);
    head.chain(" … ".chars()).chain(tail).collect()
}

/// The file text as miette reads it for snippets: the lines around a problem, cut to
/// [`SNIPPET_BYTES`] either side of it, with control characters other than tab and line
/// breaks shown as `?` (one byte for one, so every offset still holds) so that a binary
/// file cannot send escape sequences to the terminal.
#[derive(Debug)]
struct Snippets(NamedSource<String>);

impl Snippets {
    fn new(file: &str, text: &str) -> Self {
        let shown = text
            .chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' => c,
                c if c.is_ascii_control() => '?',
                c => c,
            })
            .collect::<String>();
        Snippets(NamedSource::new(file, shown).with_language("yaml"))
    }
}

impl SourceCode for Snippets {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let contents = self.0.read_span(span, before, after)?;
        let text = self.0.inner().as_str();
        let start = contents.span().offset();
        let end = start + contents.span().len();
        let from = char_floor(text, span.offset().saturating_sub(SNIPPET_BYTES))
            .max(start)
            .min(end);
        let to = char_floor(
            text,
            (span.offset() + span.len()).saturating_add(SNIPPET_BYTES),
        )
        .max(from)
        .min(end);
        if (from, to) == (start, end) {
            return Ok(contents);
        }
        // Where the cut starts, for miette's line numbers and columns (bytes, as its own).
        let skipped = &text.as_bytes()[start..from];
        let (line, column) = match skipped.iter().rposition(|&b| b == b'\n') {
            Some(i) => (
                contents.line() + skipped.split(|&b| b == b'\n').count() - 1,
                skipped.len() - i - 1,
            ),
            None => (contents.line(), contents.column() + skipped.len()),
        };
        let cut = MietteSpanContents::new_named(
            self.0.name().to_owned(),
            &text.as_bytes()[from..to],
            (from, to - from).into(),
            line,
            column,
            contents.line_count(),
        )
        .with_language("yaml");
        Ok(Box::new(cut))
    }
}

/// The largest char boundary of `text` at or before `offset` (clamped to the text).
fn char_floor(text: &str, offset: usize) -> usize {
    let mut i = offset.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

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
