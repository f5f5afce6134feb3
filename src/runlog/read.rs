//! Reading a run log back. [`Records`] is the one reader of the file, shared by
//! `sequencer resume` ([`crate::resume`]), `sequencer diff` ([`crate::diff`]), replays
//! ([`crate::sim::replay`]), `sequencer export` and `sequencer plot` ([`crate::export`],
//! [`crate::plot`]).
//!
//! [`Records::open`] opens the file once and checks that its first line is a start record.
//! A file that is not a run log is a [`NotALog`], worded for any command: each caller adds
//! its own advice with [`NotALog::advise`]. [`Records::next`] then reads one record per
//! line, in log order (completion order, retries and resumes included), into whatever shape
//! the caller asks for, so each caller parses only the fields it needs and keeps only what
//! it needs of a large log. A last line without its newline is a torn write (the run was
//! killed while writing it): it ends the reading unparsed, and [`Records::torn`] says how
//! long it was. [`for_each_record`] and [`for_each_point`] hand the point (and connect and
//! resume) records on, parsed, to a visitor.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

mod error;
use error::Why;
pub use error::{NotALog, ReadError};

/// The advice for a file that is not a run log, for commands that read one.
pub(crate) const GIVE_A_LOG: &str = "give the path of a `.jsonl` log written by `sequencer run`";

/// A run log open for reading, its start record checked: the record iterator.
#[derive(Debug)]
pub(crate) struct Records {
    /// The log's path, for messages.
    path: PathBuf,
    /// The open file, past the last line read.
    reader: BufReader<File>,
    /// The start record (line 1).
    start: Value,
    /// The last line read, newline included (a buffer reused for every line).
    line: Vec<u8>,
    /// Line number of the last complete line read.
    number: u64,
    /// Bytes up to the end of the last complete line read.
    valid_len: u64,
    /// Length of a torn last line, once the reading reached it.
    torn: Option<u64>,
}

impl Records {
    /// Opens the run log at `path` and reads its start record.
    pub(crate) fn open(path: &Path) -> Result<Records, NotALog> {
        let not = |why| NotALog {
            path: path.to_owned(),
            empty: matches!(why, Why::Empty),
            why,
        };
        let file = File::open(path).map_err(|e| not(Why::Open(e)))?;
        let mut reader = BufReader::new(file);
        let mut line = Vec::new();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| not(Why::Read(e)))?;
        if n == 0 {
            return Err(not(Why::Empty));
        }
        if line.last() != Some(&b'\n') {
            return Err(not(Why::TornStart));
        }
        let start: Value = serde_json::from_slice(&line).map_err(|e| not(Why::NotJson(e)))?;
        if start["type"] != "start" {
            return Err(not(Why::NotStart));
        }
        Ok(Records {
            path: path.to_owned(),
            reader,
            start,
            line,
            number: 1,
            valid_len: n as u64,
            torn: None,
        })
    }

    /// The start record.
    pub(crate) fn start(&self) -> &Value {
        &self.start
    }

    /// The next complete record, parsed as `T` (which names the fields it wants; a line
    /// that is not such a JSON object is an error naming its line); `None` at the end of the
    /// log or at a torn last line.
    pub(crate) fn next<T: DeserializeOwned>(&mut self) -> Result<Option<T>, ReadError> {
        self.line.clear();
        let n = self
            .reader
            .read_until(b'\n', &mut self.line)
            .map_err(|cause| ReadError::Read {
                path: self.path.clone(),
                cause,
            })?;
        if n == 0 {
            return Ok(None);
        }
        if self.line.last() != Some(&b'\n') {
            self.torn = Some(n as u64);
            return Ok(None);
        }
        self.number += 1;
        self.valid_len += n as u64;
        serde_json::from_slice(&self.line)
            .map(Some)
            .map_err(|cause| ReadError::BadRecord {
                path: self.path.clone(),
                line: self.number,
                cause,
            })
    }

    /// The text of the record [`next`](Self::next) returned last, newline included.
    pub(crate) fn line(&self) -> &[u8] {
        &self.line
    }

    /// The line number of the record [`next`](Self::next) returned last.
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// Bytes up to the end of the last complete line read: where a resumed run appends.
    pub(crate) fn valid_len(&self) -> u64 {
        self.valid_len
    }

    /// The length of the torn last line, once the reading has reached it.
    pub(crate) fn torn(&self) -> Option<u64> {
        self.torn
    }
}

/// One `point` record, with the fields diff, replay and export look at.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct PointRecord {
    /// `step/index`.
    pub id: String,
    /// Step name (`setup` and `teardown` for those).
    #[serde(default)]
    pub step: String,
    /// The instrument it ran on; `None` in logs written before records named it.
    #[serde(default)]
    pub instrument: Option<String>,
    /// Index within the step, in dispatch order.
    #[serde(default)]
    pub index: u64,
    /// Attempt number, from 1 (over retries and resumes).
    #[serde(default)]
    pub attempt: u32,
    /// When the attempt started, RFC 3339 text as written.
    #[serde(default)]
    pub started_at: String,
    /// How long the attempt took, in milliseconds.
    #[serde(default)]
    pub elapsed_ms: f64,
    /// Sweep variables.
    #[serde(default)]
    pub vars: Map<String, Value>,
    /// `ok`, `failed` or `aborted`.
    #[serde(default)]
    pub status: String,
    /// Why the point failed; `None` when it succeeded.
    #[serde(default)]
    pub error: Option<String>,
    /// Every command sent, in order, with its reply.
    #[serde(default)]
    pub commands: Vec<CommandRecord>,
    /// Replies named with `as`.
    #[serde(default)]
    pub values: Map<String, Value>,
}

/// One exchange of a point or connect record.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct CommandRecord {
    /// The text sent, without termination.
    pub sent: String,
    /// The reply line; `None` for a write (or a query that got no reply).
    #[serde(default)]
    pub reply: Option<String>,
    /// From sending to the reply, in milliseconds.
    #[serde(default)]
    pub elapsed_ms: f64,
    /// The instrument it went to when not the point's own (`on:`); `None` for the point's.
    #[serde(default)]
    pub on: Option<String>,
}

/// One `connect` record: the greeting and the `on_connect` exchanges of one new connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ConnectRecord {
    /// The instrument connected to.
    pub instrument: Option<String>,
    /// The connection's id.
    pub conn: u64,
    /// The greeting the instrument sent on connecting (`greeting: line`), if read.
    pub greeting: Option<String>,
    /// The `on_connect` commands sent, in order, with their replies.
    pub commands: Vec<CommandRecord>,
}

/// An instrument as a start or resume record lists it, with the fields replays need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct LoggedInstrument {
    /// Its name in the sequence.
    pub name: String,
    /// What the run appended to every command; `None` in logs written before records
    /// held it.
    pub write_termination: Option<String>,
    /// What ended every reply; `None` in older logs.
    pub read_termination: Option<String>,
}

impl LoggedInstrument {
    /// The entries of a start or resume record's `instruments` list (entries without a name
    /// are skipped; anything but a list is none).
    pub(crate) fn list(instruments: &Value) -> Vec<LoggedInstrument> {
        let text = |entry: &Value, key: &str| entry[key].as_str().map(str::to_owned);
        instruments
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter_map(|entry| {
                Some(LoggedInstrument {
                    name: text(entry, "name")?,
                    write_termination: text(entry, "write_termination"),
                    read_termination: text(entry, "read_termination"),
                })
            })
            .collect()
    }
}

/// A record [`for_each_record`] hands on.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // handed on one at a time, never stored as a `Record`
pub(crate) enum Record {
    /// A `point` record.
    Point(PointRecord),
    /// A `connect` record.
    Connect(ConnectRecord),
    /// A `resume` record: the instruments of the resumed run.
    Resume(Vec<LoggedInstrument>),
    /// A `break` record: a `stop_when` condition held after a point.
    Break(BreakRecord),
}

/// The fields of a `break` record that `diff` compares.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BreakRecord {
    /// The point after which the condition held.
    pub id: String,
    /// The condition as written.
    pub condition: String,
    /// What it did, as recorded (`"break"`, `{"next":"T"}`, ...).
    pub action: Value,
}

/// Any record: its type, and the fields of the records [`for_each_record`] hands on.
/// Other fields (and other records' fields) are skipped unread.
#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    #[serde(default)]
    step: String,
    #[serde(default)]
    instrument: Option<String>,
    #[serde(default)]
    conn: u64,
    #[serde(default)]
    index: u64,
    #[serde(default)]
    attempt: u32,
    #[serde(default)]
    started_at: String,
    #[serde(default)]
    elapsed_ms: f64,
    #[serde(default)]
    vars: Map<String, Value>,
    #[serde(default)]
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    commands: Vec<CommandRecord>,
    #[serde(default)]
    values: Map<String, Value>,
    #[serde(default)]
    instruments: Value,
    #[serde(default)]
    greeting: Option<String>,
    #[serde(default)]
    condition: String,
    #[serde(default)]
    action: Value,
}

/// Calls `visit` with every complete point, connect, resume and break record of `records`, in log
/// order, and returns how many point records there were. A line that is not a record, or a
/// point record without an `id`, is a [`ReadError`] naming the path and the line.
pub(crate) fn for_each_record(
    records: &mut Records,
    mut visit: impl FnMut(Record),
) -> Result<u64, ReadError> {
    let mut points = 0u64;
    while let Some(line) = records.next::<Line>()? {
        let record = match line.kind.as_str() {
            "point" => {
                let Some(id) = line.id else {
                    return Err(ReadError::NoId {
                        path: records.path.clone(),
                        line: records.number(),
                    });
                };
                points += 1;
                Record::Point(PointRecord {
                    id,
                    step: line.step,
                    instrument: line.instrument,
                    index: line.index,
                    attempt: line.attempt,
                    started_at: line.started_at,
                    elapsed_ms: line.elapsed_ms,
                    vars: line.vars,
                    status: line.status,
                    error: line.error,
                    commands: line.commands,
                    values: line.values,
                })
            }
            "connect" => Record::Connect(ConnectRecord {
                instrument: line.instrument,
                conn: line.conn,
                greeting: line.greeting,
                commands: line.commands,
            }),
            "resume" => Record::Resume(LoggedInstrument::list(&line.instruments)),
            "break" => Record::Break(BreakRecord {
                id: line.id.unwrap_or_default(),
                condition: line.condition,
                action: line.action,
            }),
            _ => continue,
        };
        visit(record);
    }
    Ok(points)
}

/// Calls `visit` with every complete point record of `records`, in log order, and returns
/// how many there were (see [`for_each_record`]).
pub(crate) fn for_each_point(
    records: &mut Records,
    mut visit: impl FnMut(PointRecord),
) -> Result<u64, ReadError> {
    for_each_record(records, |record| {
        if let Record::Point(point) = record {
            visit(point);
        }
    })
}

#[cfg(test)]
pub(crate) mod tests;
