//! The crate's error type and its exit codes.
//!
//! Every failure that ends a command is one [`Error`] variant with the context a user needs
//! (which file, which address, which connection) and the underlying cause as its `source`.
//! `main` prints the whole chain once and exits with [`Error::exit_code`]. Failures of single
//! points are not errors: they are recorded in the run log and decide the run's exit status.

use std::path::PathBuf;

use crate::sequence::LoadError;
use crate::sequence::address::AddressError;
use crate::yaml::InvalidFile;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit code: the run succeeded.
pub const EXIT_OK: i32 = 0;
/// Exit code: the run failed (a point failed, the instrument was unreachable).
pub const EXIT_FAILED: i32 = 1;
/// Exit code: invalid input; nothing was sent to any instrument.
pub const EXIT_INVALID: i32 = 2;
/// Exit code: interrupted by the operator.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Everything that can end a `sequencer` command early.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Error {
    /// The sequence file (or a device file it names) is not valid; the diagnostic points
    /// into the file.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Sequence(#[from] Box<InvalidFile>),

    /// The sequence file could not be read at all.
    #[error("cannot read sequence file `{path}`")]
    #[diagnostic(help(
        "check the path; `sequencer check FILE` validates a sequence without running it"
    ))]
    ReadSequence {
        /// The path given on the command line.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },

    /// A pyvisa-sim device file (`--device FILE`, or an instrument's `sim: {device: FILE}`)
    /// could not be read at all.
    #[error("cannot read device file `{path}`")]
    #[diagnostic(help(
        "a device file is a pyvisa-sim YAML file of at most 1 MiB, named by `--device FILE` \
         or, relative to the sequence file, by an instrument's `sim: {{device: FILE}}`"
    ))]
    ReadDevice {
        /// The path as given (joined to the sequence's folder for `sim:`).
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },

    /// A command-line value is invalid (bad `--address`, an instrument name that does not exist).
    #[error("{message}")]
    Usage {
        /// What is wrong and how to fix it.
        message: String,
    },

    /// An `--address` value is not an address.
    #[error("--address: {}{reason}", for_instrument(.instrument.as_deref()))]
    Address {
        /// The instrument it was given for (`NAME=ADDR`), if named.
        instrument: Option<String>,
        /// Why it is not an address.
        reason: AddressError,
    },

    /// A command-line value that a module above this one refused (`--fault`), in that
    /// module's typed words.
    #[error("{flag}: {reason}")]
    Flag {
        /// The flag, as written on the command line.
        flag: &'static str,
        /// Why its value was refused (a `sim::faults::FaultError`, ...).
        reason: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Input that a module above this one refused (a recording to replay, a device file's
    /// device), in that module's typed words.
    #[error(transparent)]
    Input(Box<dyn std::error::Error + Send + Sync>),

    /// The run log could not be created or written.
    #[error("cannot write run log `{path}`")]
    RunLog {
        /// The run log's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A run log could not be read back (`resume`, `diff`, `export`, `plot`, `--replay`).
    #[error(transparent)]
    ReadLog(#[from] crate::runlog::read::ReadError),

    /// A new run's log could not be made at its path; nothing was sent.
    #[error(transparent)]
    LogPath(#[from] crate::runlog::OpenError),

    /// A file made from a run log (`export -o`, `plot -o`) could not be written.
    #[error("cannot write `{path}`")]
    Output {
        /// The output path (`<stdout>` for standard output).
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// No connection at all could be opened to an instrument.
    #[error("cannot connect to instrument `{instrument}` at `{address}`: {reason}")]
    #[diagnostic(help(
        "is the instrument on and listening on that port? `sequencer run --sim` runs against the built-in simulator"
    ))]
    Connect {
        /// The instrument's name in the sequence.
        instrument: String,
        /// The address dialled.
        address: String,
        /// The cause, e.g. the OS error.
        reason: String,
    },

    /// The simulated instrument could not be started or failed while serving.
    #[error("simulated instrument failed on `{address}`")]
    Sim {
        /// The address it was meant to listen on.
        address: String,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The run was interrupted (Ctrl-C, deadline) before any point ran.
    #[error("{0} before the run started")]
    Interrupted(String),

    /// The actor system stopped before the run finished (a bug, reported as such).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Sequence(_)
            | Error::ReadSequence { .. }
            | Error::ReadDevice { .. }
            | Error::Usage { .. }
            | Error::Address { .. }
            | Error::Flag { .. }
            | Error::Input(_)
            | Error::ReadLog(_)
            | Error::LogPath(_) => EXIT_INVALID,
            Error::RunLog { .. }
            | Error::Output { .. }
            | Error::Connect { .. }
            | Error::Sim { .. }
            | Error::Internal(_) => EXIT_FAILED,
            Error::Interrupted(_) => EXIT_INTERRUPTED,
        }
    }

    /// Shorthand for a [`Error::Usage`].
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
        }
    }
}

/// `instrument `NAME`: ` for an `--address NAME=ADDR`, nothing for a bare address.
fn for_instrument(instrument: Option<&str>) -> String {
    instrument.map_or_else(String::new, |name| format!("instrument `{name}`: "))
}

impl From<InvalidFile> for Error {
    fn from(err: InvalidFile) -> Self {
        Error::Sequence(Box::new(err))
    }
}

impl From<LoadError> for Error {
    fn from(err: LoadError) -> Self {
        match err {
            LoadError::Read { path, source } => Error::ReadSequence { path, source },
            LoadError::Invalid(err) => Error::Sequence(err),
            LoadError::Params(err) => Error::usage(err.to_string()),
        }
    }
}
