//! The run log: an append-only JSON Lines file, one record per line.
//!
//! Written only by the sequencer actor. Each record is serialised into a reused buffer and
//! written with a single `write` on an unbuffered file, so the file is flushed per record and
//! a killed process leaves every complete line valid JSON. Record shapes are the structs
//! below; the README documents them for users. [`read`] reads the records back.

pub(crate) mod read;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Serialize, Serializer};

use crate::exec::Exchange;
use crate::sequence::value::Value;

/// Serialises a duration as milliseconds with microsecond resolution.
pub fn millis<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
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

/// `{"type":"connect", ...}`: the `on_connect` commands of one new connection and their
/// replies, so that the log holds every command sent (and a replay can answer them).
/// Written for each connection whose `on_connect` commands all succeeded.
#[derive(Debug, Serialize)]
pub struct Connect {
    /// Name of the instrument connected to.
    pub instrument: String,
    /// The connection's id (the `conn` of the points it runs).
    pub conn: usize,
    /// The `on_connect` commands sent, in order, with their replies.
    pub commands: Vec<Exchange>,
    /// When the first `on_connect` command was sent.
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
    /// `ok` or `failed`.
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
pub struct VarMap<'a>(pub &'a [&'a str], pub &'a [Value]);

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
    /// Hex SHA-256 of the sequence file now.
    pub sequence_sha256: &'a str,
    /// True when the sequence changed and `--force` was given.
    pub forced: bool,
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

/// The open run log.
#[derive(Debug)]
pub struct RunLog {
    /// Unbuffered: one `write` per record.
    file: File,
    /// Where it is.
    path: PathBuf,
    /// Scratch buffer reused for every record.
    buf: Vec<u8>,
}

impl RunLog {
    /// Creates a new log at `path` (parent folders too); refuses to overwrite a file.
    pub fn create(path: &Path) -> io::Result<RunLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        lock(&file)?;
        // The new directory entry must survive a power cut too.
        if let Some(dir) = path.parent() {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(RunLog {
            file,
            path: path.to_owned(),
            buf: Vec::with_capacity(4096),
        })
    }

    /// Opens an existing log to append to it, first cutting it to `valid_len` bytes (a torn
    /// last line must not be glued to the next record).
    pub fn append(path: &Path, valid_len: u64) -> io::Result<RunLog> {
        let file = OpenOptions::new().write(true).open(path)?;
        // Locked before cutting: another process may still be writing this log.
        lock(&file)?;
        file.set_len(valid_len)?;
        let mut log = RunLog {
            file,
            path: path.to_owned(),
            buf: Vec::with_capacity(4096),
        };
        io::Seek::seek(&mut log.file, io::SeekFrom::End(0))?;
        Ok(log)
    }

    /// `runs/<name>-<YYYYmmdd-HHMMSS>.jsonl` (UTC), with `-2`, `-3`... if it already exists.
    pub fn default_path(name: &str, now: SystemTime) -> PathBuf {
        let stamp = humantime::format_rfc3339_seconds(now).to_string();
        // 2026-11-25T02:16:27Z -> 20261125-021627
        let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
        let stamp = format!("{}-{}", &digits[..8], &digits[8..14]);
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut path = PathBuf::from(format!("runs/{safe}-{stamp}.jsonl"));
        let mut n = 2;
        while path.exists() {
            path = PathBuf::from(format!("runs/{safe}-{stamp}-{n}.jsonl"));
            n += 1;
        }
        path
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record of the given `type` as one line, in one write.
    pub fn write<T: Serialize>(&mut self, kind: &'static str, record: &T) -> io::Result<()> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, &Tagged { kind, record })?;
        self.buf.push(b'\n');
        self.file.write_all(&self.buf)
    }

    /// Forces the log to disk.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

/// Takes an exclusive lock on the log for as long as it is open, so two processes never
/// write one log; `WouldBlock` if another holds it.
fn lock(file: &File) -> io::Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "the run log is in use by another process",
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records are one JSON object per line, tagged with their type, never overwriting a file.
    #[test]
    fn writes_tagged_lines() {
        let dir = std::env::temp_dir().join(format!("seqlog-{}", std::process::id()));
        let path = dir.join("sub/run.jsonl");
        let mut log = RunLog::create(&path).unwrap();
        let stop = Stop {
            exit_status: "success",
            reason: "all points ok",
            points_ok: 3,
            points_failed: 0,
            points_aborted: 0,
            points_not_run: 0,
            retries: 0,
            ended_at: SystemTime::UNIX_EPOCH,
        };
        log.write("stop", &stop).unwrap();
        log.write("stop", &stop).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["type"], "stop");
        assert_eq!(lines[0]["points_ok"], 3);
        assert_eq!(lines[0]["ended_at"], "1970-01-01T00:00:00.000Z");
        assert!(
            RunLog::create(&path).is_err(),
            "an existing log is never overwritten"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// The default path is `runs/<name>-<YYYYmmdd-HHMMSS>.jsonl`.
    #[test]
    fn default_path_shape() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_036_987);
        let p = RunLog::default_path("iv sweep", t);
        assert_eq!(p, PathBuf::from("runs/iv_sweep-20251125-021627.jsonl"));
    }
}
