//! The point records of a run log, read back for `sequencer diff` ([`crate::diff`]),
//! replays ([`crate::sim::replay`]), `sequencer export` and `sequencer plot`
//! ([`crate::export`], [`crate::plot`]).
//!
//! The first line must be a start record: [`resume::read_start`] checks it, with the same
//! messages `sequencer resume` gives. Every later line is one record; only `point` records
//! are handed on, in log order (completion order, retries and resumes included), to the
//! caller's visitor, so a caller keeps only what it needs of a large log. As for a resume, a
//! last line without its newline is a torn write and is ignored.
//!
//! [`resume::read_start`]: crate::resume::read_start

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::resume;

/// One `point` record, with the fields diff, replay and export look at.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct PointRecord {
    /// `step/index`.
    pub id: String,
    /// Step name (`setup` and `teardown` for those).
    #[serde(default)]
    pub step: String,
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

/// One exchange of a point record.
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
}

/// Any record: its type, and the point fields when it is a point. Fields of other records
/// (and connection ids of points) are skipped unread.
#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    id: Option<String>,
    #[serde(default)]
    step: String,
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
}

/// Calls `visit` with every complete point record of the run log at `path`, in log order,
/// and returns how many there were. A missing file, a first line that is not a start
/// record, or a later line that is not a record is a [`Error::Usage`] naming the path and
/// the line.
pub(crate) fn for_each_point(
    path: &Path,
    mut visit: impl FnMut(PointRecord) -> Result<()>,
) -> Result<u64> {
    let bad = |message: String| Error::usage(format!("run log `{}`: {message}", path.display()));
    resume::read_start(path).map_err(|e| {
        Error::usage(format!(
            "{e}; give the path of a `.jsonl` log written by `sequencer run`"
        ))
    })?;
    let file = File::open(path).map_err(|e| bad(format!("cannot open it: {e}")))?;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut number = 0u64;
    let mut points = 0u64;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|e| bad(format!("cannot read it: {e}")))?;
        // A last line without newline is a torn write: the run was killed while writing it.
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        number += 1;
        if number == 1 {
            continue;
        }
        let record: Line = serde_json::from_slice(&line)
            .map_err(|e| bad(format!("line {number} is not a valid record: {e}")))?;
        if record.kind != "point" {
            continue;
        }
        let Some(id) = record.id else {
            return Err(bad(format!(
                "line {number} is a point record without an `id`"
            )));
        };
        points += 1;
        visit(PointRecord {
            id,
            step: record.step,
            index: record.index,
            attempt: record.attempt,
            started_at: record.started_at,
            elapsed_ms: record.elapsed_ms,
            vars: record.vars,
            status: record.status,
            error: record.error,
            commands: record.commands,
            values: record.values,
        })?;
    }
    Ok(points)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A run log written to a fresh temporary file, removed on drop.
    pub(crate) struct TempLog {
        /// The log's path.
        pub path: PathBuf,
    }

    impl TempLog {
        /// Writes `text` as a run log.
        pub(crate) fn new(text: &str) -> TempLog {
            static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("seq-records-{}-{n}.jsonl", std::process::id()));
            std::fs::write(&path, text).unwrap();
            TempLog { path }
        }
    }

    impl Drop for TempLog {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// The start line every test log opens with.
    pub(crate) const START: &str = "{\"type\":\"start\",\"run_id\":\"r\",\"name\":\"n\"}\n";

    fn read(text: &str) -> Result<Vec<PointRecord>> {
        let log = TempLog::new(text);
        let mut points = Vec::new();
        for_each_point(&log.path, |p| {
            points.push(p);
            Ok(())
        })?;
        Ok(points)
    }

    /// Point records come back in log order with their fields; other records are skipped,
    /// and a torn last line is ignored.
    #[test]
    fn reads_points_in_order() {
        let text = format!(
            "{START}{}{}{}{}",
            r#"{"type":"point","id":"s/1","step":"s","vars":{"v":1},"conn":2,"status":"failed","error":"boom","commands":[{"sent":"A 1","elapsed_ms":0.1},{"sent":"B?","reply":"7","elapsed_ms":2.5}],"values":{"b":"7"}}"#,
            "\n{\"type\":\"resume\",\"points_done\":1}\n",
            "{\"type\":\"point\",\"id\":\"s/0\",\"status\":\"ok\",\"attempt\":2,\"started_at\":\"2026-11-25T02:26:57.942Z\",\"elapsed_ms\":26.5}\n",
            "{\"type\":\"point\",\"id\":\"s/2\",\"st",
        );
        let points = read(&text).unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[0].id, "s/1");
        assert_eq!(points[0].step, "s");
        assert_eq!(points[1].attempt, 2);
        assert_eq!(points[1].started_at, "2026-11-25T02:26:57.942Z");
        assert!((points[1].elapsed_ms - 26.5).abs() < 1e-9);
        assert_eq!(points[0].vars["v"], 1);
        assert_eq!(points[0].error.as_deref(), Some("boom"));
        assert_eq!(points[0].commands[1].reply.as_deref(), Some("7"));
        assert!((points[0].commands[1].elapsed_ms - 2.5).abs() < 1e-9);
        assert_eq!(points[0].commands[0].reply, None);
        assert_eq!(points[0].values["b"], "7");
        assert_eq!(points[1].id, "s/0");
        assert!(points[1].commands.is_empty());
    }

    /// Files that are not run logs are refused, naming the path and the line.
    #[test]
    fn malformed_logs_are_errors() {
        let cases = [
            ("", "is empty"),
            ("{\"type\":\"point\"}\n", "not a start record"),
            (
                &format!("{START}not json\n"),
                "line 2 is not a valid record",
            ),
            (
                &format!("{START}{{\"type\":\"point\",\"status\":\"ok\"}}\n"),
                "line 2 is a point record without an `id`",
            ),
        ];
        for (text, want) in cases {
            let err = read(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(err.contains("run log `"), "{err}");
        }
        let missing = Path::new("/nonexistent/run.jsonl");
        let err = for_each_point(missing, |_| Ok(())).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/run.jsonl") && err.contains("cannot open"));
        assert!(err.contains("sequencer run"), "{err}");
    }
}
