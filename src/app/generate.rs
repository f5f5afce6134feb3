//! `sequencer schema` and `sequencer completions`: text generated from the code itself (the
//! sequence file's serde types, the clap definition) for editors and shells, on stdout.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::{EXIT_OK, Error, Result};
use crate::sequence::schema;

/// `sequencer schema`: the sequence file's JSON Schema, pretty-printed.
pub fn schema() -> Result<i32> {
    let text = format!("{:#}\n", schema::schema().as_value());
    write_stdout(text.as_bytes())
}

/// `sequencer completions SHELL`: the completion script for `shell`.
pub fn completions(shell: Shell) -> Result<i32> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "sequencer", &mut script);
    write_stdout(&script)
}

/// Writes `bytes` to stdout. A closed pipe (`sequencer schema | head`) is the reader's
/// choice, not a failure; any other write error is.
fn write_stdout(bytes: &[u8]) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(EXIT_OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(EXIT_OK),
        Err(e) => Err(Error::Internal(format!("cannot write to stdout: {e}"))),
    }
}
