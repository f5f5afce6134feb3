//! `sequencer schema` and `sequencer completions`: text generated from the code itself (the
//! sequence file's serde types, the clap definition) for editors and shells, on stdout.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::{EXIT_OK, Result};
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

/// Writes `bytes` to stdout (a closed pipe is for the caller: see
/// [`super::stdout::quiet_if_closed`]).
fn write_stdout(bytes: &[u8]) -> Result<i32> {
    super::stdout::product(|out| out.write_all(bytes))?;
    Ok(EXIT_OK)
}
