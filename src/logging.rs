//! Stderr as the operator sees it: log lines (tracing, as text or JSON) and, on a terminal,
//! the progress bars drawn below them; and what happens when stderr goes away.
//!
//! `main` calls [`init`] once. When stderr is a terminal and `--quiet` is not given it
//! creates the one [`MultiProgress`] of the process; each log line then lifts the bars, is
//! printed above them, and the bars are drawn again, so a line never goes through a bar.
//! [`bars`] hands that `MultiProgress` to whoever draws a bar (the run's progress,
//! [`crate::app`]); without a terminal there is none, and nothing is ever drawn. [`notice`]
//! writes the few messages that are not log events (Ctrl-C acknowledgements, the final
//! error) the same way, and [`show`] writes text as it is (`main`'s error report).
//!
//! # Stderr may vanish
//! A closed pipe (`sequencer run ... 2>&1 | head`) or a terminal that hung up (EIO) must
//! not end a run that is still sending commands. Every write to stderr goes through one
//! place that never fails: the first write that fails marks stderr gone, and from then on
//! log lines, bars and notices are dropped unwritten. tracing-subscriber's own report of a
//! failed write (`eprintln!`, a panic on a closed stderr) is turned off, and the bars draw
//! through [`Screen`], which swallows errors: indicatif unwraps some of its draws, and a
//! panic there (or in the actor that logged) would end the run without teardown.

use std::io::{self, Write};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use indicatif::{MultiProgress, ProgressDrawTarget, TermLike};
use tracing::Level;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::cli::LogFormat;

/// The progress bars' home on stderr; set by [`init`] only on a terminal without `--quiet`.
static BARS: OnceLock<MultiProgress> = OnceLock::new();
/// The `--log-format` given to [`init`], so [`notice`] writes in the same format.
static FORMAT: OnceLock<LogFormat> = OnceLock::new();
/// Set by the first write to stderr that failed: nothing is written there any more.
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// How often the bars may be redrawn, at most (indicatif's default for stderr).
const DRAW_HZ: u8 = 20;

/// Installs the global tracing subscriber on stderr: the level from `-v`/`-vv`/`--quiet`
/// unless `RUST_LOG` says otherwise, lines in `format`, and progress bars if stderr is a
/// terminal and not `quiet`. Call it once, before anything logs.
pub fn init(verbose: u8, quiet: bool, format: LogFormat) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let screen = console::Term::buffered_stderr();
    let terminal = screen.is_term();
    if terminal && !quiet && !console::is_dumb() {
        let target = ProgressDrawTarget::term_like_with_hz(Box::new(Screen(screen)), DRAW_HZ);
        let _ = BARS.set(MultiProgress::with_draw_target(target));
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(LogWriter)
        .log_internal_errors(false)
        .with_target(false);
    match format {
        LogFormat::Text => {
            // `with_ansi(true)` would override NO_COLOR, so it is honoured here.
            let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
            builder.with_ansi(terminal && !no_color).init();
        }
        // The target (`sequencer::pool`, `sequencer::sim::...`) tells machines the client's
        // lines from those of an in-process simulator.
        LogFormat::Json => builder
            .json()
            .with_target(true)
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
    let _ = FORMAT.set(format);
}

/// Where progress bars are drawn, when they are wanted at all (stderr is a terminal and
/// `--quiet` was not given).
pub fn bars() -> Option<MultiProgress> {
    BARS.get().cloned()
}

/// Writes a message for the operator on stderr whatever the verbosity: the text as is, or
/// with `--log-format json` a JSON object shaped like the log events (`timestamp`, `level`,
/// `message`). Above the progress bars when they are shown; dropped if stderr is gone.
pub fn notice(level: Level, text: &str) {
    let mut line = if FORMAT.get() == Some(&LogFormat::Json) {
        serde_json::json!({
            "timestamp": humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
            "level": level.as_str(),
            "message": text,
        })
        .to_string()
    } else {
        text.trim_end().to_owned()
    };
    line.push('\n');
    show(&line);
}

/// Writes `text` to stderr as it is, above the progress bars when they are shown. Never
/// fails and never panics: if stderr is gone the text is dropped.
pub fn show(text: &str) {
    write_above_bars(text.as_bytes());
}

/// True once a write to stderr failed: nothing more is written there.
pub fn stderr_gone() -> bool {
    STDERR_GONE.load(Ordering::Relaxed)
}

/// Lifts the bars (if any), writes `bytes` whole, draws the bars again.
fn write_above_bars(bytes: &[u8]) {
    if stderr_gone() {
        return;
    }
    match BARS.get() {
        Some(mp) => mp.suspend(|| write_stderr(bytes)),
        None => write_stderr(bytes),
    }
}

/// Writes `bytes` to stderr unless it is gone; a failure marks it gone.
fn write_stderr(bytes: &[u8]) {
    if stderr_gone() {
        return;
    }
    if let Err(e) = io::stderr().lock().write_all(bytes) {
        lost(&e);
    }
}

/// Takes note of a failed write to stderr. A full non-blocking pipe (shared with a parent
/// that set `O_NONBLOCK`) loses this line only; anything else (a closed pipe, a terminal
/// that hung up, a full disk) ends stderr for the rest of the process.
fn lost(e: &io::Error) {
    if e.kind() != io::ErrorKind::WouldBlock {
        STDERR_GONE.store(true, Ordering::Relaxed);
    }
}

/// The log's writer: every event's text (tracing-subscriber formats an event whole, then
/// writes it with one `write_all`) goes above the bars, or nowhere once stderr is gone. It
/// never reports an error, so tracing never has one to report.
#[derive(Debug, Clone, Copy)]
struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write_above_bars(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl MakeWriter<'_> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&self) -> LogWriter {
        *self
    }
}

/// The terminal the bars are drawn on: stderr through console's buffered [`console::Term`]
/// (one write per frame), with errors swallowed. indicatif unwraps the result of clearing
/// and redrawing the bars around a log line (`MultiProgress::suspend`), so a closed
/// terminal (EIO) would panic there, holding its lock, and every later draw would panic
/// too; here the first failure marks stderr gone and every later call does nothing.
#[derive(Debug)]
struct Screen(console::Term);

/// Runs `op` on the terminal unless stderr is gone; a failure marks it gone.
fn guarded(op: impl FnOnce() -> io::Result<()>) {
    if !stderr_gone()
        && let Err(e) = op()
    {
        lost(&e);
    }
}

impl TermLike for Screen {
    fn width(&self) -> u16 {
        self.0.size().1
    }

    fn height(&self) -> u16 {
        self.0.size().0
    }

    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        guarded(|| self.0.move_cursor_up(n));
        Ok(())
    }

    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        guarded(|| self.0.move_cursor_down(n));
        Ok(())
    }

    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        guarded(|| self.0.move_cursor_right(n));
        Ok(())
    }

    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        guarded(|| self.0.move_cursor_left(n));
        Ok(())
    }

    fn write_line(&self, s: &str) -> io::Result<()> {
        guarded(|| self.0.write_line(s));
        Ok(())
    }

    fn write_str(&self, s: &str) -> io::Result<()> {
        guarded(|| self.0.write_str(s));
        Ok(())
    }

    fn clear_line(&self) -> io::Result<()> {
        guarded(|| self.0.clear_line());
        Ok(())
    }

    fn flush(&self) -> io::Result<()> {
        guarded(|| self.0.flush());
        Ok(())
    }
}
