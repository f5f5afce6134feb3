//! The run log: an append-only JSON Lines file, one record per line.
//!
//! Written only by the sequencer actor (and by `run` itself before and after it). Records are
//! appended, each as one whole line, to a pending buffer ([`RunLog::append_record`],
//! [`RunLog::append_point`]) and written by [`RunLog::flush`] with a single `write` on an
//! unbuffered file: the sequencer flushes after each batch of outcomes that arrive together,
//! one `write` per batch, and [`RunLog::write`] appends and flushes one record at once.
//! Lines are only ever written whole and in order, so a killed process leaves every
//! complete line valid JSON (at worst a torn last line, which the reader cuts off) and loses
//! at most the batch it had not flushed. Point records, the bulk of a log, skip serde's map
//! machinery (`point_json.rs`). Record shapes are the structs below; the README documents them
//! for users. `open.rs` makes or opens the file (checking a new log's path before anything
//! is sent), `intact.rs` notices a log deleted or cut short under its run, and `read.rs`
//! reads the records back.

mod break_record;
mod intact;
mod open;
mod point_json;
pub(crate) mod read;

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};

use crate::sequence::value::Value;

pub use break_record::{Break, ValueMap};
pub use intact::{Checkpoint, Lost, LostLog};
pub use open::{OpenError, Problem, default_file_name};

/// One command sent and its reply: an entry of a point's (or a connect record's)
/// `commands`, made by the connection that ran it ([`crate::exec`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exchange {
    /// The text sent (without termination).
    pub sent: String,
    /// The reply line; absent for writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// From just before sending to the reply (or the write) completing, in ms.
    #[serde(serialize_with = "millis")]
    pub elapsed_ms: Duration,
    /// The instrument it went to when not the point's own (`on:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    /// The connection of that instrument it went over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conn: Option<usize>,
}

/// Serialises a duration as milliseconds with microsecond resolution.
pub fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(micros(*d) as f64 / 1e3)
}

/// A duration in whole microseconds, rounded half up (saturating past `u64::MAX`).
pub(crate) fn micros(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from((d.subsec_nanos() + 500) / 1000))
}

/// Serialises a time as RFC 3339 UTC with milliseconds.
pub fn rfc3339<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*t))
}

/// `{"type":"start", ...}`: what is about to run, written before anything is sent.
#[derive(Debug, Serialize)]
pub struct Start<'a> {
    /// Unique id of this run.
    pub run_id: &'a str,
    /// Sequence name.
    pub name: &'a str,
    /// Path of the sequence file as given.
    pub sequence: String,
    /// Hex SHA-256 of the sequence file.
    pub sequence_sha256: &'a str,
    /// The sequence's free-form metadata.
    pub metadata: &'a serde_json::Value,
    /// The effective parameters (`params:` with the `--set` values): name to value, a
    /// duration as its text (`"2s"`); `{}` for a file without `params:`. `resume` applies
    /// them again, `diff` compares them.
    pub params: serde_json::Value,
    /// Effective instruments (after `--address`/`--sim`).
    pub instruments: Vec<InstrumentEntry<'a>>,
    /// Sweep points over all steps.
    pub total_points: u64,
    /// When the run started.
    #[serde(serialize_with = "rfc3339")]
    pub started_at: SystemTime,
    /// `sequencer` version.
    pub version: &'static str,
}

/// One instrument in the start record.
#[derive(Debug, Serialize)]
pub struct InstrumentEntry<'a> {
    /// Name in the sequence.
    pub name: &'a str,
    /// `host:port` dialled.
    pub address: String,
    /// Pool size asked for.
    pub max_connections: usize,
    /// True when served by the built-in simulator.
    pub simulated: bool,
    /// Appended to every command: how a replay of this instrument tells commands apart.
    pub write_termination: &'a str,
    /// Ends every reply: what a replay of this instrument appends to its replies.
    pub read_termination: &'a str,
}

/// `{"type":"connect", ...}`: the greeting and the `on_connect` commands of one new
/// connection and their replies, so that the log holds everything received and every
/// command sent (and a replay can answer them). Written for each connection whose greeting
/// (`greeting: line`) was read and whose `on_connect` commands all succeeded, when it had
/// either.
#[derive(Debug, Serialize)]
pub struct Connect {
    /// Name of the instrument connected to.
    pub instrument: String,
    /// The connection's id (the `conn` of the points it runs).
    pub conn: usize,
    /// The greeting line read and discarded (`greeting: line`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub greeting: Option<String>,
    /// The `on_connect` commands sent, in order, with their replies.
    pub commands: Vec<Exchange>,
    /// When the greeting was read, or else when the first `on_connect` command was sent.
    #[serde(serialize_with = "rfc3339")]
    pub at: SystemTime,
}

/// `{"type":"point", ...}`: one point's commands and replies.
#[derive(Debug, Serialize)]
pub struct Point<'a> {
    /// `step/index`.
    pub id: &'a str,
    /// Step name (`setup`/`teardown` for those).
    pub step: &'a str,
    /// Name of the instrument it ran on (`instrument` for the single-instrument form): with
    /// several instruments, the only way to tell `setup/0` from `setup/1` in the log.
    pub instrument: &'a str,
    /// Index within the step, in dispatch order.
    pub index: u64,
    /// Sweep variables of this point.
    pub vars: VarMap<'a>,
    /// Connection id that ran it (0 when it never reached one).
    pub conn: usize,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// `ok`, `failed` or `aborted` (written without escaping).
    pub status: &'static str,
    /// Why it failed; `null` when it succeeded.
    pub error: Option<&'a str>,
    /// When the point started.
    #[serde(serialize_with = "rfc3339")]
    pub started_at: SystemTime,
    /// How long it took, waits included.
    #[serde(serialize_with = "millis")]
    pub elapsed_ms: Duration,
    /// Every command sent and its reply.
    pub commands: &'a [Exchange],
    /// Replies named with `as`.
    pub values: PairMap<'a>,
}

/// Sweep variables as a JSON object in sweep order.
#[derive(Debug)]
pub struct VarMap<'a>(pub &'a [String], pub &'a [Value]);

impl Serialize for VarMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().zip(self.1))
    }
}

/// Name/value pairs as a JSON object.
#[derive(Debug)]
pub struct PairMap<'a>(pub &'a [(String, String)]);

impl Serialize for PairMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// `{"type":"stop", ...}`: how the run ended; always the last record.
#[derive(Debug, Serialize)]
pub struct Stop<'a> {
    /// `success`, `fail` or `abort`.
    pub exit_status: &'static str,
    /// Why it ended this way.
    pub reason: &'a str,
    /// Sweep points that succeeded.
    pub points_ok: u64,
    /// Sweep points that failed.
    pub points_failed: u64,
    /// Sweep points cancelled by a second Ctrl-C (last record `aborted`).
    pub points_aborted: u64,
    /// Sweep points a `stop_when` passed over (`break`, `next`, `break` of a loop) or
    /// whose step's `when:` did not hold: not run, by design.
    pub points_skipped: u64,
    /// Sweep points never dispatched (the run stopped first).
    pub points_not_run: u64,
    /// Attempts run again after a broken connection or `retry_on` failure.
    pub retries: u64,
    /// When the run ended.
    #[serde(serialize_with = "rfc3339")]
    pub ended_at: SystemTime,
}

/// `{"type":"resume", ...}`: a resumed run starts appending here.
#[derive(Debug, Serialize)]
pub struct ResumeRecord<'a> {
    /// When the resume started.
    #[serde(serialize_with = "rfc3339")]
    pub resumed_at: SystemTime,
    /// Absolute path of the sequence file resumed (the start record's, or `--sequence`).
    pub sequence: String,
    /// Hex SHA-256 of the sequence file now.
    pub sequence_sha256: &'a str,
    /// True when the sequence changed, or `--set` changed a parameter, and `--force` was
    /// given.
    pub forced: bool,
    /// The effective parameters of the resumed run: the recorded ones, changed by `--set`
    /// with `--force`.
    pub params: serde_json::Value,
    /// Effective instruments of the resumed run.
    pub instruments: Vec<InstrumentEntry<'a>>,
    /// Sweep points already ok, which will not be sent again.
    pub points_done: u64,
    /// Bytes of a torn last line that were cut off, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub torn_bytes: Option<u64>,
    /// `sequencer` version.
    pub version: &'static str,
}

/// A record tagged with its `type`.
#[derive(Serialize)]
struct Tagged<'a, T> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    record: &'a T,
}

/// Capacity the pending buffer keeps between flushes: a huge batch may grow it, but memory
/// goes back to this after the flush.
const KEEP_CAPACITY: usize = 1 << 20;

/// The open run log.
#[derive(Debug)]
pub struct RunLog {
    /// Unbuffered and opened for appending: one `write` per [`RunLog::flush`]. Shared with
    /// the blocking thread that forces it to disk ([`RunLog::checkpoint`]).
    file: Arc<File>,
    /// Where it is.
    path: PathBuf,
    /// Whole lines appended and not yet written; emptied by `flush`, its allocation reused.
    buf: Vec<u8>,
    /// Bytes written since the last [`RunLog::sync`] or [`RunLog::checkpoint`].
    unsynced: u64,
    /// Bytes the file holds: its length when opened plus every byte written since (what
    /// `intact.rs` compares the file's length with).
    written: u64,
    /// The encoded head of the last step's point records.
    head: point_json::StepHead,
}

impl RunLog {
    /// The log open in `file` at `path`, holding `len` bytes.
    fn new(file: File, path: &Path, len: u64) -> RunLog {
        RunLog {
            file: Arc::new(file),
            path: path.to_owned(),
            buf: Vec::with_capacity(4096),
            unsynced: 0,
            written: len,
            head: point_json::StepHead::default(),
        }
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record of the given `type` as one line to the pending bytes, without
    /// writing it: [`RunLog::flush`] does. A record that fails to serialise leaves nothing.
    pub fn append_record<T: Serialize>(
        &mut self,
        kind: &'static str,
        record: &T,
    ) -> io::Result<()> {
        let start = self.buf.len();
        if let Err(e) = serde_json::to_writer(&mut self.buf, &Tagged { kind, record }) {
            self.buf.truncate(start);
            return Err(e.into());
        }
        self.buf.push(b'\n');
        Ok(())
    }

    /// Appends a point record like `append_record("point", point)`, the same bytes, written
    /// by the direct encoder in [`point_json`].
    pub fn append_point(&mut self, point: &Point<'_>) -> io::Result<()> {
        point_json::encode(&mut self.buf, &mut self.head, point)?;
        self.buf.push(b'\n');
        Ok(())
    }

    /// Writes every pending line in one `write`. On error the pending lines are dropped
    /// (the caller stops the run), so nothing is written twice.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let written = (&*self.file).write_all(&self.buf);
        self.unsynced += self.buf.len() as u64;
        if written.is_ok() {
            self.written += self.buf.len() as u64;
        }
        self.buf.clear();
        if self.buf.capacity() > KEEP_CAPACITY {
            self.buf.shrink_to(KEEP_CAPACITY);
        }
        written
    }

    /// Bytes appended and not yet written.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Bytes appended or written since the log was last forced to disk (or last handed out
    /// to be, by [`RunLog::checkpoint`]).
    pub fn unsynced(&self) -> u64 {
        self.unsynced + self.buf.len() as u64
    }

    /// Appends one record of the given `type` as one line and writes it now, with whatever
    /// was pending before it, in one write.
    pub fn write<T: Serialize>(&mut self, kind: &'static str, record: &T) -> io::Result<()> {
        self.append_record(kind, record)?;
        self.flush()
    }

    /// Writes the stop record, always the log's last, and forces the whole log to disk:
    /// the one way a stop record is written.
    pub fn write_stop(&mut self, stop: &Stop<'_>) -> io::Result<()> {
        self.write("stop", stop)?;
        self.sync()
    }

    /// Empties the log, best effort, dropping what is pending: for a log whose start record
    /// could not be written, which holds nothing of the run.
    pub fn discard(&mut self) {
        self.buf.clear();
        if self.file.set_len(0).is_ok() {
            self.written = 0;
        }
    }

    /// Writes what is pending, then forces the log to disk.
    pub fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        self.file.sync_data()?;
        self.unsynced = 0;
        Ok(())
    }
}

impl Drop for RunLog {
    /// Writes what is still pending, best effort: an owner that cares about errors flushes
    /// (or syncs) before letting go.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests;
