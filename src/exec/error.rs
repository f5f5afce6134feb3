//! Why a point's commands stopped before their end ([`PointError`]), each case with what
//! its message needs, and what that means for retrying and for the connection
//! ([`FailKind`]). The text is made where it is shown or recorded (`Display`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::protocol::{ReadError, Unread};
use crate::sequence::duration::format_duration;

/// Why a point failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// The connection broke or is out of step: I/O error, end of file, no reply in time, a
    /// malformed reply, unsolicited data. Retried.
    Connection,
    /// A poll did not reach its condition in time. Retried only with `retry_on: [timeout]`.
    PollTimeout,
    /// A reply differed from `expect`. Retried only with `retry_on: [mismatch]`.
    Mismatch,
    /// Cancelled by the operator (second Ctrl-C).
    Aborted,
    /// Stopped at a `wait` or between polls because the run's deadline passed.
    Deadline,
    /// No connection could run it.
    NoConnection,
    /// An expression could not be evaluated for the point (a division by zero, a reply
    /// that is not a number): not retried, the connection stays in step.
    Evaluation,
}

impl FailKind {
    /// Whether the connection must be closed after this failure. A reply other than the
    /// expected one may be a connection out of step (a reply that answered the command
    /// before), so the connection is not trusted with another point.
    pub fn breaks_connection(self) -> bool {
        matches!(
            self,
            FailKind::Connection | FailKind::Aborted | FailKind::Mismatch
        )
    }
}

/// Where unsolicited data was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrayAt {
    /// Before this command, which reads a reply.
    Before(String),
    /// After this command, the last one the point sent.
    After(String),
    /// At the end of a point that sent nothing.
    End,
}

impl fmt::Display for StrayAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrayAt::Before(command) => write!(f, "before `{command}`"),
            StrayAt::After(command) => write!(f, "after `{command}`"),
            StrayAt::End => f.write_str("at the end of the point"),
        }
    }
}

/// What a point was doing when the run's deadline stopped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pause {
    /// A `wait` of this long.
    Wait(Duration),
    /// The pause between the queries of a poll.
    Poll {
        /// The poll's query.
        command: String,
        /// Its last reply.
        reply: String,
        /// How many queries it sent.
        polls: u64,
    },
}

impl fmt::Display for Pause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pause::Wait(d) => write!(f, "a `wait: {}`", format_duration(*d)),
            Pause::Poll {
                command,
                reply,
                polls,
            } => write!(
                f,
                "the poll `{command}` (last reply `{reply}`, {polls} queries)"
            ),
        }
    }
}

/// Why a point's commands stopped before their end, with the command and connection
/// concerned.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PointError {
    /// No reply within the timeout.
    #[error("timeout after {} waiting for reply to `{command}` on connection {conn}", format_duration(*after))]
    ReplyTimeout {
        command: String,
        conn: usize,
        after: Duration,
    },
    /// The command could not be written within the timeout.
    #[error("timeout after {} sending `{command}` on connection {conn}", format_duration(*after))]
    SendTimeout {
        command: String,
        conn: usize,
        after: Duration,
    },
    /// The command could not be written.
    #[error("cannot send `{command}` on connection {conn}: {source}")]
    Send {
        command: String,
        conn: usize,
        source: Arc<std::io::Error>,
    },
    /// The instrument closed the connection before replying.
    #[error("connection {conn} closed by the instrument while waiting for reply to `{command}`")]
    Closed { command: String, conn: usize },
    /// The reply could not be read (too long, an I/O error).
    #[error("cannot read reply to `{command}` on connection {conn}: {source}")]
    Read {
        command: String,
        conn: usize,
        source: Arc<ReadError>,
    },
    /// The connection could not be looked at before a command.
    #[error("cannot read from connection {conn} before `{command}`: {source}")]
    Look {
        command: String,
        conn: usize,
        source: Arc<std::io::Error>,
    },
    /// A reply no text instrument sends.
    #[error("malformed reply `{}` to `{command}` on connection {conn} (control characters or invalid UTF-8)", reply.escape_debug())]
    Malformed {
        reply: String,
        command: String,
        conn: usize,
    },
    /// Data nobody asked for: the connection is out of step.
    #[error(
        "unsolicited data {at} on connection {conn}: {data} (a reply nobody asked for: the connection is out of step and was closed)"
    )]
    Unsolicited {
        at: StrayAt,
        conn: usize,
        data: Unread,
    },
    /// A reply other than `expect`'s.
    #[error("reply `{reply}` to `{command}` is not the expected `{expected}`")]
    Mismatch {
        reply: String,
        command: String,
        expected: String,
    },
    /// A query's `check:` did not hold for its reply.
    #[error("check `{condition}` failed for reply `{reply}` to `{command}`{values}")]
    Check {
        condition: String,
        reply: String,
        command: String,
        /// ` (a = 1, b = 2)`: the values the condition read.
        values: String,
    },
    /// An expression could not be evaluated: `place` says where it is used, quoting what
    /// it names (`` `SOUR:VOLT {v / r}` ``, `` `let: NAME` ``, ``the `check` of `MEAS?` ``).
    #[error("{}", error.in_place(place))]
    Eval {
        place: String,
        error: crate::sequence::expr::EvalError,
    },
    /// A rendered command holds a line break: sent, it would be two commands.
    #[error(
        "`{template}` renders as `{}`, which holds a line break: it would be sent as two commands, so it was not sent (check the values it uses)",
        text.escape_debug()
    )]
    LineBreak { template: String, text: String },
    /// A poll whose condition did not hold in time.
    #[error("poll `{command}` did not reach {condition} within {} (last reply `{reply}`, {polls} queries)", format_duration(*timeout))]
    PollTimeout {
        command: String,
        /// The condition, its variable bounds replaced by the point's values.
        condition: String,
        timeout: Duration,
        reply: String,
        polls: u64,
    },
    /// The run's deadline passed during a pause.
    #[error("deadline: the run's deadline passed during {during}")]
    Deadline { during: Pause },
    /// A second Ctrl-C.
    #[error("aborted by the operator")]
    Aborted,
    /// No connection of the instrument named by `on:` could run those commands. Retried
    /// like a broken connection.
    #[error(transparent)]
    Unlent(super::Unlent),
}

impl PointError {
    /// What the failure means for retrying and for the connection.
    pub fn kind(&self) -> FailKind {
        match self {
            PointError::Mismatch { .. } | PointError::Check { .. } => FailKind::Mismatch,
            PointError::Eval { .. } | PointError::LineBreak { .. } => FailKind::Evaluation,
            PointError::PollTimeout { .. } => FailKind::PollTimeout,
            PointError::Deadline { .. } => FailKind::Deadline,
            PointError::Aborted => FailKind::Aborted,
            _ => FailKind::Connection,
        }
    }
}
