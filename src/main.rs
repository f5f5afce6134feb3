//! `sequencer` binary: parse arguments, set up tracing, run the command, map the result to
//! an exit code (0 success, 1 run failed, 2 invalid input, 130 interrupted).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use sequencer::cli::Cli;
use tracing_subscriber::EnvFilter;

#[actix::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let code = match sequencer::app::execute(cli.command).await {
        Ok(code) => code,
        Err(err) => {
            let code = err.exit_code();
            match &err {
                sequencer::Error::Sequence(e) => eprint!("{}", e.render()),
                _ => eprintln!("{:?}", miette::Report::new(err)),
            }
            code
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
