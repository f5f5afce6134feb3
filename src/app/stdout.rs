//! Stdout, which may vanish at any moment: lines a command prints along the way ([`say`]:
//! the run's summary, `check`'s plan, `plot`'s path) and the product of the commands that
//! exist to print it ([`product`]: `diff`, `schema`, `completions`; `export` writes its
//! own, see [`crate::export`]).
//!
//! Rust ignores SIGPIPE, so a closed pipe is an `EPIPE` error on the next write, and
//! `println!` would turn it into a panic. Here nothing panics: a line that cannot be
//! written is dropped, and so is every later one, and the command ends as it would have (a
//! run still tears down, records its stop and exits with its own code). A command whose
//! product is stdout ends quietly with exit 1 on a closed pipe ([`quiet_if_closed`]): the
//! reader stopped reading (`sequencer diff a b | head`), so the output is incomplete, but
//! that is no error worth a message.

use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{EXIT_FAILED, Error, Result};

/// The name stdout goes by in [`Error::Output`].
pub const STDOUT: &str = "<stdout>";

/// Set by the first failed write to stdout: nothing more is written there.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

/// Prints `text` on stdout as it is (lines with their newlines), unless stdout is gone; a
/// failed write marks it gone. Never fails: the command goes on either way.
pub fn say(text: &str) {
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut out = io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != io::ErrorKind::WouldBlock
    {
        STDOUT_GONE.store(true, Ordering::Relaxed);
    }
}

/// Writes a command's product to stdout through `write`, buffered. A failed write is an
/// [`Error::Output`] on [`STDOUT`] (a closed pipe included: see [`quiet_if_closed`]).
pub fn product(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(|source| Error::Output {
            path: STDOUT.into(),
            source,
        })
}

/// The result of a command whose product is stdout, with a closed pipe turned into a quiet
/// exit 1: nothing more to say, and nobody to say it to on stdout.
pub fn quiet_if_closed(result: Result<i32>) -> Result<i32> {
    match result {
        Err(Error::Output { path, source })
            if path == Path::new(STDOUT) && source.kind() == io::ErrorKind::BrokenPipe =>
        {
            Ok(EXIT_FAILED)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::EXIT_OK;

    /// A closed pipe ends a product command with exit 1 and no error; other write errors
    /// and other results pass through.
    #[test]
    fn closed_pipe_is_a_quiet_exit_1() {
        let output = |path: &str, kind| Error::Output {
            path: path.into(),
            source: io::Error::from(kind),
        };
        let closed = quiet_if_closed(Err(output(STDOUT, io::ErrorKind::BrokenPipe)));
        assert_eq!(closed.ok(), Some(EXIT_FAILED));
        let full = quiet_if_closed(Err(output(STDOUT, io::ErrorKind::StorageFull)));
        assert!(matches!(full, Err(Error::Output { .. })), "{full:?}");
        let file = quiet_if_closed(Err(output("a.csv", io::ErrorKind::BrokenPipe)));
        assert!(matches!(file, Err(Error::Output { .. })), "{file:?}");
        assert_eq!(quiet_if_closed(Ok(EXIT_OK)).ok(), Some(EXIT_OK));
    }
}
