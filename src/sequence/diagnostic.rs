//! Validation errors that point into the sequence file.
//!
//! A [`SequenceError`] holds the file's text and one or more [`Problem`]s, each with a byte
//! span, so miette can print `file:line:col` and a snippet with the offending key or value
//! underlined. YAML syntax and type errors from serde-saphyr become the same kind of problem,
//! so every invalid file reads alike.

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode};

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
    source: Arc<NamedSource<String>>,
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
    source: Arc<NamedSource<String>>,
}

impl SequenceError {
    /// Builds the error for `file` (as named by the user) with text `text`.
    pub fn new(file: &str, text: &str, mut problems: Vec<Problem>) -> Self {
        assert!(!problems.is_empty(), "a sequence error needs a problem");
        problems.sort_by_key(|p| p.span.start);
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect::<Vec<_>>();
        let source = Arc::new(NamedSource::new(file, text.to_owned()).with_language("yaml"));
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
                problem.span.end = char_floor(text, problem.span.end.max(problem.span.start));
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
        let col = self.source.inner()[start..offset.max(start)]
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
    let options = serde_saphyr::render_options! { snippets: serde_saphyr::SnippetMode::Off };
    let message = strip_location_suffix(&err.render_with_options(options));
    let message = match message.strip_prefix("duplicate mapping key: ") {
        // serde-saphyr suggests an option of its own here, which users cannot set.
        Some(rest) => format!(
            "duplicate key `{}`",
            rest.split(", set ").next().unwrap_or(rest)
        ),
        None => message,
    };
    let problem = Problem::new(span, message.clone(), label);
    if message.contains("unknown anchor") {
        // `- *RST` is the usual way to get here.
        return problem
            .help("`*` starts a YAML alias: quote SCPI common commands, as in `\"*RST\"`");
    }
    problem
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

/// serde-saphyr's plain rendering ends with ` at line L column C`; the location is printed
/// separately, so drop it.
fn strip_location_suffix(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_owned(),
        None => first.to_owned(),
    }
}
