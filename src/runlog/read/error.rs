//! Why a run log could not be read, worded for any command that reads one: the
//! [`ReadError`] of [`super::Records`], and the [`NotALog`] of a file that is no run log at
//! all, to which each caller adds its own advice ([`NotALog::advise`]).

use std::path::PathBuf;

/// Why a file is not a run log that can be read, worded for any command.
#[derive(Debug)]
pub struct NotALog {
    /// The file.
    pub(super) path: PathBuf,
    /// What is wrong with it.
    pub(super) why: Why,
    /// It is empty (a run that never began): `run -o` may reuse it.
    pub(crate) empty: bool,
}

/// What is wrong with a file that is not a run log.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Why {
    /// It could not be opened.
    #[error("cannot open it: {0}")]
    Open(std::io::Error),
    /// Its first line could not be read.
    #[error("cannot read it: {0}")]
    Read(std::io::Error),
    /// It is empty.
    #[error("it is empty: the run never started (it stopped before writing its start record)")]
    Empty,
    /// Its first line has no newline: the start record was torn.
    #[error(
        "its first line is incomplete: the run stopped while writing its start record, so no \
         point ran"
    )]
    TornStart,
    /// Its first line is not JSON.
    #[error("line 1 is not a start record: {0}")]
    NotJson(serde_json::Error),
    /// Its first line is JSON but not a start record.
    #[error("line 1 is not a start record")]
    NotStart,
}

impl NotALog {
    /// It is a run log of a run that stopped before its start record was written whole
    /// (empty, or a torn first line): no point ran.
    pub(crate) fn never_began(&self) -> bool {
        matches!(self.why, Why::Empty | Why::TornStart)
    }

    /// The error to show: `run log `PATH`: WHY; ADVICE`, with the caller's advice for a run
    /// that never began or for any other problem (such as [`super::GIVE_A_LOG`]).
    pub(crate) fn advise(self, never_began: &str, otherwise: &str) -> ReadError {
        let advice = if self.never_began() {
            never_began
        } else {
            otherwise
        };
        ReadError::NotALog {
            advice: advice.to_owned(),
            not: self,
        }
    }
}

impl std::fmt::Display for NotALog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "run log `{}`: {}", self.path.display(), self.why)
    }
}

/// Why a run log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file is not a run log, with the caller's advice.
    #[error("{not}; {advice}")]
    NotALog {
        /// What is wrong with it.
        not: NotALog,
        /// What to do instead (the caller's words).
        advice: String,
    },
    /// Reading failed past the start record.
    #[error("run log `{}`: cannot read it: {cause}", path.display())]
    Read {
        /// The log.
        path: PathBuf,
        /// The I/O error.
        cause: std::io::Error,
    },
    /// A line is not a record of the shape asked for.
    #[error("run log `{}`: line {line} is not a valid record: {cause}", path.display())]
    BadRecord {
        /// The log.
        path: PathBuf,
        /// The line's number, from 1.
        line: u64,
        /// What serde found wrong.
        cause: serde_json::Error,
    },
    /// A point record has no `id`.
    #[error("run log `{}`: line {line} is a point record without an `id`", path.display())]
    NoId {
        /// The log.
        path: PathBuf,
        /// The line's number, from 1.
        line: u64,
    },
}
