//! `sequencer` binary: parse arguments, set up logging, run the command, map the result to
//! an exit code (0 success, 1 run failed, 2 invalid input, 130 interrupted).

use std::process::ExitCode;

use clap::Parser;
use sequencer::cli::{Cli, LogFormat};
use sequencer::logging;

/// mimalloc instead of the system allocator: a run allocates and frees a few small buffers
/// per point (messages, replies, records), which glibc's malloc made a tenth of the
/// sequencer's own CPU time (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[actix::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.verbose, cli.quiet, cli.log_format);
    let json = cli.log_format == LogFormat::Json;
    let code = match sequencer::app::execute(cli.command).await {
        Ok(code) => code,
        Err(err) => {
            let code = err.exit_code();
            if json {
                // One JSON line like the log events: the error and its causes, no drawing.
                logging::notice(tracing::Level::ERROR, &chain(&err));
            } else {
                // Through the logging's stderr, which drops what a closed stderr cannot
                // take (`eprint!` would panic there).
                match &err {
                    sequencer::Error::Sequence(e) => logging::show(&e.render()),
                    _ => logging::show(&format!("{:?}\n", miette::Report::new(err))),
                }
            }
            code
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// An error and its causes on one line: `what: why: root cause`.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
