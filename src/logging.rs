//! Stderr as the operator sees it: log lines (tracing, as text or JSON) and, on a terminal,
//! the progress bars drawn below them.
//!
//! `main` calls [`init`] once. When stderr is a terminal and `--quiet` is not given it
//! creates the one [`MultiProgress`] of the process; log lines are then written through
//! tracing-indicatif's [`IndicatifWriter`], which lifts the bars, prints the line above them
//! and draws them again, so a line never goes through a bar. [`bars`] hands that
//! `MultiProgress` to whoever draws a bar (the run's progress, [`crate::app`]); without a
//! terminal there is none, and nothing is ever drawn. [`notice`] writes the few messages that
//! are not log events (Ctrl-C acknowledgements, the final error) the same way.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;
use std::time::SystemTime;

use indicatif::MultiProgress;
use tracing::Level;
use tracing_indicatif::writer::{IndicatifWriter, Stderr};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::BoxMakeWriter;

use crate::cli::LogFormat;

/// The progress bars' home on stderr; set by [`init`] only on a terminal without `--quiet`.
static BARS: OnceLock<MultiProgress> = OnceLock::new();
/// The `--log-format` given to [`init`], so [`notice`] writes in the same format.
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

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
    let terminal = std::io::stderr().is_terminal();
    let bars = (terminal && !quiet).then(MultiProgress::new);
    let writer = match &bars {
        Some(mp) => BoxMakeWriter::new(IndicatifWriter::<Stderr>::new(mp.clone())),
        None => BoxMakeWriter::new(std::io::stderr),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
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
    if let Some(mp) = bars {
        let _ = BARS.set(mp);
    }
}

/// Where progress bars are drawn, when they are wanted at all (stderr is a terminal and
/// `--quiet` was not given).
pub fn bars() -> Option<MultiProgress> {
    BARS.get().cloned()
}

/// Writes a message for the operator on stderr whatever the verbosity: the text as is, or
/// with `--log-format json` a JSON object shaped like the log events (`timestamp`, `level`,
/// `message`). Above the progress bars when they are shown.
pub fn notice(level: Level, text: &str) {
    let line = if FORMAT.get() == Some(&LogFormat::Json) {
        serde_json::json!({
            "timestamp": humantime::format_rfc3339_micros(SystemTime::now()).to_string(),
            "level": level.as_str(),
            "message": text,
        })
        .to_string()
    } else {
        text.trim_end().to_owned()
    };
    let write = || {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    };
    match BARS.get() {
        Some(mp) => mp.suspend(write),
        None => write(),
    }
}
