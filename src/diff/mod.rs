//! `sequencer diff A B`: compares two runs point by point, by point id.
//!
//! [`diff`] reads both run logs with [`for_each_point`] and keeps the last record
//! of each point id, as `sequencer resume` does, so retries and resumes collapse into the
//! point's final outcome. Two records are the same point outcome when their `vars`, the
//! commands sent and their replies, their `as` values and their `status` are equal.
//! Everything that changes from run to run anyway is ignored: timestamps, connection ids,
//! attempt numbers, timings, run ids, and error texts (they embed timings and connection
//! ids; they are shown, not compared, when the status differs).
//!
//! The [`Diff`] keeps every difference; its `Display` is the listing `sequencer diff`
//! prints: the differing points in run order (A's log order, then the points only B has),
//! capped at [`MAX_POINTS`], and a one-line summary. Its [`notes`](Diff::notes) are what
//! the user should know about the comparison itself, for stderr: a log that ends with a torn
//! line (ignored, as `resume` does), and runs of different sequences (different `name` or
//! `sequence_sha256` in the start records; still compared). `connect` records (the
//! `on_connect` exchanges) are not compared: how many connections a run opened changes from
//! run to run.
//!
//! # Layout
//! - `mod.rs`: [`Diff`], [`diff`], the comparison.
//! - `listing.rs`: the listing, `Display` of a [`Diff`] and its parts.
//!
//! The run log is read by [`crate::runlog::read`], shared with replays, `export` and
//! `resume`.

mod listing;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::runlog::read::{CommandRecord, GIVE_A_LOG, PointRecord, Records, for_each_point};

/// Most differing points the listing shows; the rest are counted in one line.
pub const MAX_POINTS: usize = 50;

/// Most differences listed for one point; the rest are counted in one line.
pub const MAX_CHANGES: usize = 10;

/// The comparison of two runs, A and B. `Display` gives the listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// Distinct point ids over both runs.
    total: usize,
    /// Points that differ or that one run only has, in run order: A's log order, then the
    /// points only B has in B's log order.
    entries: Vec<Entry>,
    /// What the user should know about the comparison itself (torn lines, different
    /// sequences); not part of the listing.
    notes: Vec<String>,
}

/// One point of the listing.
#[derive(Debug, Clone, PartialEq)]
enum Entry {
    /// In both runs, with these differences (never empty).
    Changed { id: String, changes: Vec<Change> },
    /// In one run only.
    Only { id: String, side: Side },
}

/// Which run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// One difference between the two records of a point. Commands are numbered from 1.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    /// The status differs; the error texts are shown, not compared.
    Status {
        a: String,
        b: String,
        error_a: Option<String>,
        error_b: Option<String>,
    },
    /// A sweep variable differs or is missing on one side.
    Var {
        name: String,
        a: Option<Value>,
        b: Option<Value>,
    },
    /// The runs sent a different number of commands.
    CommandCount { a: usize, b: usize },
    /// Command `n` is a different text.
    Sent { n: usize, a: String, b: String },
    /// Command `n` is the same text with a different reply (`None`: no reply).
    Reply {
        n: usize,
        sent: String,
        a: Option<String>,
        b: Option<String>,
    },
    /// Command `n` was sent in one run only.
    Extra {
        n: usize,
        side: Side,
        command: CommandRecord,
    },
    /// An `as` value differs or is missing on one side.
    Value {
        name: String,
        a: Option<Value>,
        b: Option<Value>,
    },
}

impl Diff {
    /// True when both runs have the same points with the same outcomes.
    pub fn is_equal(&self) -> bool {
        self.entries.is_empty()
    }

    /// Distinct point ids over both runs.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Points in both runs whose outcomes differ.
    pub fn changed(&self) -> usize {
        self.count(|e| matches!(e, Entry::Changed { .. }))
    }

    /// Points only run A has.
    pub fn only_in_a(&self) -> usize {
        self.count(|e| matches!(e, Entry::Only { side: Side::A, .. }))
    }

    /// Notes about the comparison for stderr: a log ending with a torn line, runs of
    /// different sequences. They never make the runs differ.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Points only run B has.
    pub fn only_in_b(&self) -> usize {
        self.count(|e| matches!(e, Entry::Only { side: Side::B, .. }))
    }

    /// Entries for which `pred` holds.
    fn count(&self, pred: impl Fn(&Entry) -> bool) -> usize {
        self.entries.iter().filter(|e| pred(e)).count()
    }
}

/// The last record of each point id of one run, in the order ids first appear.
#[derive(Debug, Default)]
struct Run {
    /// Last record of each point, in first-appearance order.
    points: Vec<PointRecord>,
    /// Point id to its place in `points`.
    index: HashMap<String, usize>,
    /// The start record's `name` and `sequence_sha256` (`null` when absent).
    sequence: (Value, Value),
    /// Length of a torn last line that was ignored.
    torn: Option<u64>,
}

impl Run {
    /// Reads the run log at `path`.
    fn load(path: &Path) -> Result<Run> {
        let mut records = Records::open(path)
            .map_err(|e| e.advise("it holds no point to compare", GIVE_A_LOG))?;
        let start = records.start();
        let mut run = Run {
            sequence: (start["name"].clone(), start["sequence_sha256"].clone()),
            ..Run::default()
        };
        for_each_point(&mut records, |record| {
            // A later attempt or a resume replaces the earlier record, keeping its place.
            if let Some(&i) = run.index.get(&record.id) {
                run.points[i] = record;
            } else {
                run.index.insert(record.id.clone(), run.points.len());
                run.points.push(record);
            }
            Ok(())
        })?;
        run.torn = records.torn();
        Ok(run)
    }

    /// The last record of point `id`.
    fn get(&self, id: &str) -> Option<&PointRecord> {
        self.index.get(id).map(|&i| &self.points[i])
    }
}

/// Compares the runs logged at `a` and `b`; an unreadable log is an error.
pub fn diff(a: &Path, b: &Path) -> Result<Diff> {
    let (path_a, path_b) = (a, b);
    let a = Run::load(a)?;
    let b = Run::load(b)?;
    let mut diff = compare_runs(&a, &b);
    for (run, path) in [(&a, path_a), (&b, path_b)] {
        if let Some(bytes) = run.torn {
            diff.notes.push(format!(
                "run log `{}` ends with a torn line ({bytes} bytes, an interrupted write): \
                 compared without it",
                path.display()
            ));
        }
    }
    if let Some(note) = different_sequences(&a.sequence, &b.sequence) {
        diff.notes.push(note);
    }
    Ok(diff)
}

/// A warning when two runs' start records name different sequences (`name`) or sequence
/// files (`sequence_sha256`); `None` when both agree.
fn different_sequences(a: &(Value, Value), b: &(Value, Value)) -> Option<String> {
    let show = |v: &Value| match v {
        Value::String(s) if s.len() > 12 && s.is_char_boundary(12) => format!("`{}...`", &s[..12]),
        Value::String(s) => format!("`{s}`"),
        Value::Null => "none".to_owned(),
        other => format!("`{other}`"),
    };
    let mut what = Vec::new();
    if a.0 != b.0 {
        what.push(format!("name {} in A, {} in B", show(&a.0), show(&b.0)));
    }
    if a.1 != b.1 {
        what.push(format!(
            "sequence_sha256 {} in A, {} in B",
            show(&a.1),
            show(&b.1)
        ));
    }
    (!what.is_empty()).then(|| {
        format!(
            "the runs are of different sequences ({}): compared anyway",
            what.join("; ")
        )
    })
}

/// The differences between two runs already read.
fn compare_runs(a: &Run, b: &Run) -> Diff {
    let mut entries = Vec::new();
    for pa in &a.points {
        match b.get(&pa.id) {
            Some(pb) => {
                let changes = compare(pa, pb);
                if !changes.is_empty() {
                    entries.push(Entry::Changed {
                        id: pa.id.clone(),
                        changes,
                    });
                }
            }
            None => entries.push(Entry::Only {
                id: pa.id.clone(),
                side: Side::A,
            }),
        }
    }
    let mut only_b = 0;
    for pb in b.points.iter().filter(|p| a.get(&p.id).is_none()) {
        only_b += 1;
        entries.push(Entry::Only {
            id: pb.id.clone(),
            side: Side::B,
        });
    }
    Diff {
        total: a.points.len() + only_b,
        entries,
        notes: Vec::new(),
    }
}

/// The differences between two records of one point, in listing order: status, vars,
/// commands, values.
fn compare(a: &PointRecord, b: &PointRecord) -> Vec<Change> {
    let mut changes = Vec::new();
    if a.status != b.status {
        changes.push(Change::Status {
            a: a.status.clone(),
            b: b.status.clone(),
            error_a: a.error.clone(),
            error_b: b.error.clone(),
        });
    }
    for (name, va, vb) in map_changes(&a.vars, &b.vars) {
        changes.push(Change::Var { name, a: va, b: vb });
    }
    compare_commands(&a.commands, &b.commands, &mut changes);
    for (name, va, vb) in map_changes(&a.values, &b.values) {
        changes.push(Change::Value { name, a: va, b: vb });
    }
    changes
}

/// Commands compared by position (a poll that ran longer shows as extra commands at the end).
fn compare_commands(a: &[CommandRecord], b: &[CommandRecord], changes: &mut Vec<Change>) {
    if a.len() != b.len() {
        changes.push(Change::CommandCount {
            a: a.len(),
            b: b.len(),
        });
    }
    for (i, (ca, cb)) in a.iter().zip(b).enumerate() {
        if ca.sent != cb.sent {
            changes.push(Change::Sent {
                n: i + 1,
                a: ca.sent.clone(),
                b: cb.sent.clone(),
            });
        } else if ca.reply != cb.reply {
            changes.push(Change::Reply {
                n: i + 1,
                sent: ca.sent.clone(),
                a: ca.reply.clone(),
                b: cb.reply.clone(),
            });
        }
    }
    let (longer, side) = if a.len() > b.len() {
        (a, Side::A)
    } else {
        (b, Side::B)
    };
    let common = a.len().min(b.len());
    for (i, command) in longer.iter().enumerate().skip(common) {
        changes.push(Change::Extra {
            n: i + 1,
            side,
            command: command.clone(),
        });
    }
}

/// Keys whose values differ between two JSON objects (A's keys in order, then B's only),
/// each with A's and B's value (`None` when absent). Key order does not matter.
fn map_changes(
    a: &Map<String, Value>,
    b: &Map<String, Value>,
) -> Vec<(String, Option<Value>, Option<Value>)> {
    let mut out = Vec::new();
    for (key, va) in a {
        let vb = b.get(key);
        if vb != Some(va) {
            out.push((key.clone(), Some(va.clone()), vb.cloned()));
        }
    }
    for (key, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
        out.push((key.clone(), None, Some(vb.clone())));
    }
    out
}
