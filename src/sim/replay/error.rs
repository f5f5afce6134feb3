//! Why a run log cannot be replayed: [`ReplayError`], typed where the reasons are found
//! ([`super::Recording`]) and worded where they are shown; the crate's error carries it
//! whole ([`crate::Error::Input`]).

use std::fmt;
use std::path::PathBuf;

use crate::runlog::read::ReadError;

/// Why a recording cannot be loaded or one of its instruments replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// `--replay-speed` below zero, or NaN.
    #[error(
        "`--replay-speed` must be 0 or more (1 replays at the recorded pace, 0 without \
         delays), not `{speed}`"
    )]
    Speed {
        /// The speed given.
        speed: f64,
    },
    /// The file is not a run log that can be read.
    #[error(transparent)]
    Log(#[from] ReadError),
    /// The log holds no command to replay.
    #[error(
        "run log `{}`: nothing to replay: {why}; replay the log of a run that sent commands",
        path.display()
    )]
    Nothing {
        /// The log.
        path: PathBuf,
        /// Why there is nothing.
        why: Nothing,
    },
    /// `sim --replay` without `--instrument` on a log of several instruments.
    #[error(
        "run log `{}` records several instruments ({names}): choose the one to replay with \
         `--instrument NAME`",
        path.display()
    )]
    Several {
        /// The log.
        path: PathBuf,
        /// The instruments it records.
        names: Names,
    },
    /// `sim --replay --instrument NAME` with a name the log does not record.
    #[error(
        "--instrument: run log `{}` has no instrument `{name}` (instruments: {names})",
        path.display()
    )]
    NoInstrument {
        /// The log.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The instruments it records.
        names: Names,
    },
    /// `run --replay` for a sequence's instrument the log does not record.
    #[error(
        "--replay: run log `{}` has no records of instrument `{name}` (instruments: {names})",
        path.display()
    )]
    NoRecords {
        /// The log.
        path: PathBuf,
        /// The sequence's instrument.
        name: String,
        /// The instruments it records.
        names: Names,
    },
    /// The log's terminations for the instrument cannot frame a replay.
    #[error("run log `{}`: {reason}", path.display())]
    LogUnframeable {
        /// The log.
        path: PathBuf,
        /// What is wrong with the terminations.
        reason: Unframeable,
    },
    /// The sequence's terminations for the instrument cannot frame a replay.
    #[error("--replay: instrument `{name}`: {reason}")]
    SequenceUnframeable {
        /// The sequence's instrument.
        name: String,
        /// What is wrong with the terminations.
        reason: Unframeable,
    },
}

/// Why a log has nothing to replay.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Nothing {
    /// No point record at all.
    #[error("it has no point records: the run stopped before any point ran")]
    NoPoints,
    /// Point records, none of which sent a command.
    #[error("its {points} point records sent no command")]
    NoCommands {
        /// How many point records the log has.
        points: u64,
    },
}

/// Terminations a replay cannot frame messages with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("its `write_termination` is empty: a replay cannot tell commands apart")]
pub struct Unframeable;

/// The instruments of a recording, for messages: `` `a`, `b` ``; `None` is an instrument
/// the log does not name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names(pub Vec<Option<String>>);

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            match name {
                Some(name) => write!(f, "{sep}`{name}`")?,
                None => write!(f, "{sep}one without a name")?,
            }
        }
        Ok(())
    }
}

impl From<ReplayError> for crate::Error {
    fn from(err: ReplayError) -> Self {
        match err {
            ReplayError::Log(err) => crate::Error::ReadLog(err),
            other => crate::Error::Input(Box::new(other)),
        }
    }
}
