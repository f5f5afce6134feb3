//! An invalid YAML file: its problems, each pointing into the file.
//!
//! An [`InvalidFile`] holds the file's text and one or more [`Problem`]s, each with a byte
//! span, so miette can print `file:line:col` and a snippet with the offending key or value
//! underlined. Sequence files and the simulator's device files report their problems alike
//! through it.

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::sync::Arc;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, NamedSource, SourceCode, SourceSpan,
    SpanContents,
};

use super::{MAX_SHOWN, char_floor};

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

/// An invalid YAML file (a sequence, a device file): every problem found, in file order.
#[derive(Debug)]
pub struct InvalidFile {
    /// The file, named as the user gave it, with its text (for snippets).
    source: Arc<Snippets>,
    /// The file name as given.
    file: String,
    /// Line starts, for `file:line:col` in the plain message.
    line_starts: Vec<usize>,
    /// What is wrong, the first [`MAX_SHOWN`] in file order; never empty.
    problems: Vec<ProblemDiagnostic>,
    /// How many problems were found, those not kept in `problems` included.
    total: usize,
    /// Said after the problem count: what the problems stopped.
    consequence: &'static str,
    /// Where the file was named, when that is not the command line (a sequence's `sim:`
    /// naming a device file); said before the problems.
    origin: Option<Box<str>>,
}

/// A problem bound to the file text, so miette can render it as a related diagnostic.
#[derive(Debug)]
struct ProblemDiagnostic {
    problem: Problem,
    location: String,
    source: Arc<Snippets>,
}

impl InvalidFile {
    /// Builds the error for `file` (as named by the user) with text `text`; keeps the
    /// first [`MAX_SHOWN`] problems in file order and counts the rest.
    pub fn new(file: &str, text: &str, mut problems: Vec<Problem>) -> Self {
        assert!(!problems.is_empty(), "an invalid file needs a problem");
        problems.sort_by_key(|p| p.span.start);
        let total = problems.len();
        problems.truncate(MAX_SHOWN);
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect::<Vec<_>>();
        let source = Arc::new(Snippets::new(file, text));
        let mut err = InvalidFile {
            source: source.clone(),
            file: file.to_owned(),
            line_starts,
            problems: Vec::new(),
            total,
            consequence: "nothing was sent",
            origin: None,
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

    /// The same problems in a file that is not a sequence (a device file): the count line
    /// says what was not done instead of "nothing was sent".
    #[must_use]
    pub fn with_consequence(mut self, consequence: &'static str) -> Self {
        self.consequence = consequence;
        self
    }

    /// Says which file named this one and where (e.g. ``instrument `smu`: the `sim:`
    /// device file named at `seq.yaml:7:18` ``): the first line of the report, and the
    /// start of the one-line message.
    #[must_use]
    pub fn with_origin(mut self, origin: String) -> Self {
        self.origin = Some(origin.into_boxed_str());
        self
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
        if let Some(origin) = &self.origin {
            let _ = writeln!(out, "error: {origin}:");
        }
        for p in &self.problems {
            if handler.render_report(&mut out, p).is_err() {
                out.push_str(&p.to_string());
                out.push('\n');
            }
        }
        let hidden = self.total - self.problems.len();
        if hidden > 0 {
            let _ = writeln!(out, "... and {hidden} more problems, not shown");
        }
        if self.total > 1 {
            let _ = writeln!(
                out,
                "error: {} problems in `{}`; {}",
                self.total, self.file, self.consequence
            );
        }
        out
    }

    /// How many problems the file has, including those not kept.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The problems kept (the first [`MAX_SHOWN`]), in file order.
    pub fn problems(&self) -> impl Iterator<Item = &Problem> {
        self.problems.iter().map(|p| &p.problem)
    }
}

impl fmt::Display for InvalidFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let first = &self.problems[0];
        if let Some(origin) = &self.origin {
            write!(f, "{origin}: ")?;
        }
        write!(f, "{}: {}", first.location, first.problem.message)?;
        if self.total > 1 {
            write!(f, " (and {} more problems)", self.total - 1)?;
        }
        Ok(())
    }
}

impl std::error::Error for InvalidFile {}

impl Diagnostic for InvalidFile {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with `n` bad lines, and a problem at each.
    fn many(n: usize) -> InvalidFile {
        let text: String = (0..n)
            .map(|i| format!("k{i}: bad\n"))
            .collect::<Vec<_>>()
            .concat();
        let problems = (0..n)
            .rev()
            .map(|i| {
                let start = text.find(&format!("k{i}:")).unwrap();
                Problem::new(start..start + 2, format!("problem {i}"), "here")
            })
            .collect();
        InvalidFile::new("f.yaml", &text, problems)
    }

    /// Past [`MAX_SHOWN`] problems, only the first ones (in file order) are kept and shown;
    /// the count and the message still give the total.
    #[test]
    fn problems_are_capped_and_counted() {
        let cases = [
            (1, 1, ""),
            (3, 3, ""),
            (MAX_SHOWN, MAX_SHOWN, ""),
            (120, MAX_SHOWN, "... and 70 more problems, not shown"),
        ];
        for (n, shown, hidden_line) in cases {
            let err = many(n);
            assert_eq!(err.total(), n);
            let kept: Vec<_> = err.problems().map(|p| p.message.clone()).collect();
            assert_eq!(kept.len(), shown, "{n} problems");
            assert_eq!(kept[0], "problem 0", "file order");
            let rendered = err.render();
            assert_eq!(
                rendered.matches(": problem ").count(),
                shown,
                "{n} problems: {rendered}"
            );
            assert_eq!(
                rendered.contains("more problems, not shown"),
                !hidden_line.is_empty()
            );
            if !hidden_line.is_empty() {
                assert!(rendered.contains(hidden_line), "{rendered}");
            }
            let summary = format!("error: {n} problems in `f.yaml`");
            assert_eq!(rendered.contains(&summary), n > 1, "{rendered}");
            let display = err.to_string();
            assert!(display.starts_with("f.yaml:1:1: problem 0"), "{display}");
            assert_eq!(
                display.contains(&format!("(and {} more problems)", n - 1)),
                n > 1
            );
        }
    }
}
