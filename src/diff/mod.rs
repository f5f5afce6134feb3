//! `sequencer diff A B`: compares two runs point by point, by point id.
//!
//! A `stop_when` that fired after a point (its `break` record) is part of the point's
//! outcome: a break in one run and not the other, or with another condition or action, is
//! a difference of that point (a break at another point makes both points differ).
//!
//! [`diff`] reads both run logs with [`crate::runlog::read::for_each_point`] and keeps the last record
//! of each point id, as `sequencer resume` does, so retries and resumes collapse into the
//! point's final outcome. Two records are the same point outcome when their `vars`, the
//! commands sent and their replies, their `as` values and their `status` are equal.
//! Everything that changes from run to run anyway is ignored: timestamps, connection ids,
//! attempt numbers, timings, run ids, and error texts (they embed timings and connection
//! ids; they are shown, not compared, when the status differs).
//!
//! The [`Diff`] keeps every difference; its `Display` is the listing `sequencer diff`
//! prints: the differing sweep points in sweep order (steps in the order they ran, points
//! by index, as `export` orders its rows; never the order points completed in), then the
//! differing setup and teardown points in a section of their own (they are not sweep
//! points, and are not counted as such), each capped at [`MAX_POINTS`], and a one-line
//! summary. Its [`notes`](Diff::notes) are what
//! the user should know about the comparison itself, for stderr: a log that ends with a torn
//! line (ignored, as `resume` does), runs of different sequences (different `name` or
//! `sequence_sha256` in the start records; still compared), and runs with different
//! parameters (the start records' `params`, one note per parameter). `connect` records (the
//! `on_connect` exchanges) are not compared: how many connections a run opened changes from
//! run to run.
//!
//! # Layout
//! - `mod.rs`: [`Diff`], [`diff`], the comparison.
//! - `compare.rs`: the differences between two records of one point.
//! - `listing.rs`: the listing, `Display` of a [`Diff`] and its parts.
//!
//! The run log is read by [`crate::runlog::read`], shared with replays, `export` and
//! `resume`.

#[cfg(test)]
mod break_tests;
mod compare;
mod listing;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::error::Result;
use crate::runlog::read::{
    CommandRecord, GIVE_A_LOG, PointRecord, Record, Records, for_each_record,
};

use compare::compare;

/// Most differing points the listing shows; the rest are counted in one line.
pub const MAX_POINTS: usize = 50;

/// Most differences listed for one point; the rest are counted in one line.
pub const MAX_CHANGES: usize = 10;

/// The comparison of two runs, A and B. `Display` gives the listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    /// The sweep points: what `total_points` counts.
    points: Section,
    /// Setup and teardown: compared too, but listed and counted apart.
    hooks: Section,
    /// What the user should know about the comparison itself (torn lines, different
    /// sequences); not part of the listing.
    notes: Vec<String>,
}

/// The points of one kind (sweep points, or setup and teardown) of both runs.
#[derive(Debug, Clone, Default, PartialEq)]
struct Section {
    /// Distinct point ids over both runs.
    total: usize,
    /// Points that differ or that one run only has, in sweep order (see [`order`]).
    entries: Vec<Entry>,
}

impl Section {
    /// Entries for which `pred` holds.
    fn count(&self, pred: impl Fn(&Entry) -> bool) -> usize {
        self.entries.iter().filter(|e| pred(e)).count()
    }

    /// Points only `side` has.
    fn only_in(&self, side: Side) -> usize {
        self.count(|e| matches!(e, Entry::Only { side: s, .. } if *s == side))
    }
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
    /// A `stop_when` fired after the point in one run only, or with another condition or
    /// action: each side's `` `condition`: action `` (`None`: none fired).
    Break {
        a: Option<String>,
        b: Option<String>,
    },
}

impl Diff {
    /// True when both runs have the same points, setup and teardown included, with the
    /// same outcomes.
    pub fn is_equal(&self) -> bool {
        self.points.entries.is_empty() && self.hooks.entries.is_empty()
    }

    /// Distinct sweep point ids over both runs (setup and teardown not counted).
    pub fn total(&self) -> usize {
        self.points.total
    }

    /// Sweep points in both runs whose outcomes differ.
    pub fn changed(&self) -> usize {
        self.points.count(|e| matches!(e, Entry::Changed { .. }))
    }

    /// Sweep points only run A has.
    pub fn only_in_a(&self) -> usize {
        self.points.only_in(Side::A)
    }

    /// Sweep points only run B has.
    pub fn only_in_b(&self) -> usize {
        self.points.only_in(Side::B)
    }

    /// Setup and teardown points over both runs, and how many of them differ.
    pub fn hooks(&self) -> (usize, usize) {
        (self.hooks.total, self.hooks.entries.len())
    }

    /// Notes about the comparison for stderr: a log ending with a torn line, runs of
    /// different sequences. They never make the runs differ.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }
}

/// The last record of each point id of one run, in the order ids first appear.
#[derive(Debug, Default)]
struct Run {
    /// Last record of each point, in first-appearance order.
    points: Vec<PointRecord>,
    /// Point id to its place in `points`.
    index: HashMap<String, usize>,
    /// Point id to the `stop_when` that fired after it (its last `break` record), as
    /// `` `condition`: action ``.
    breaks: HashMap<String, String>,
    /// The start record's `name` and `sequence_sha256` (`null` when absent).
    sequence: (Value, Value),
    /// The start record's `params` (`null` when absent: a log from before parameters).
    params: Value,
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
            params: start["params"].clone(),
            ..Run::default()
        };
        for_each_record(&mut records, |record| match record {
            // A later attempt or a resume replaces the earlier record, keeping its place.
            Record::Point(record) => {
                if let Some(&i) = run.index.get(&record.id) {
                    run.points[i] = record;
                } else {
                    run.index.insert(record.id.clone(), run.points.len());
                    run.points.push(record);
                }
            }
            Record::Break(b) => {
                let action = match &b.action {
                    Value::String(word) => word.clone(),
                    other => other.to_string(),
                };
                run.breaks
                    .insert(b.id, format!("`{}`: {action}", b.condition));
            }
            Record::Connect(_) | Record::Resume(_) => {}
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
    diff.notes.extend(different_params(&a.params, &b.params));
    Ok(diff)
}

/// A note for each parameter whose value differs between the two start records' `params`
/// (A's order, then those only B has); none when both agree.
fn different_params(a: &Value, b: &Value) -> Vec<String> {
    let empty = serde_json::Map::new();
    let (a, b) = (
        a.as_object().unwrap_or(&empty),
        b.as_object().unwrap_or(&empty),
    );
    let show = |v: Option<&Value>| v.map_or_else(|| "none".to_owned(), |v| format!("`{v}`"));
    a.keys()
        .chain(b.keys().filter(|k| !a.contains_key(*k)))
        .filter(|name| a.get(*name) != b.get(*name))
        .map(|name| {
            format!(
                "the runs had different parameters: `{name}` is {} in A, {} in B",
                show(a.get(name)),
                show(b.get(name))
            )
        })
        .collect()
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

/// True for the points of setup and teardown, which are not sweep points.
fn is_hook(step: &str) -> bool {
    step == "setup" || step == "teardown"
}

/// Where a point goes in the listing, as `export` orders its rows: sweep points by step
/// (in the order the steps first appear in A's log, then B's: the order they ran), then
/// by index; setup before teardown, each by index.
fn order(runs: [&Run; 2]) -> impl Fn(&PointRecord) -> (usize, u64) + '_ {
    let mut steps: HashMap<&str, usize> = HashMap::new();
    for p in runs.iter().flat_map(|r| &r.points) {
        let next = steps.len();
        steps.entry(p.step.as_str()).or_insert(next);
    }
    move |p| {
        let step = match p.step.as_str() {
            "setup" => 0,
            "teardown" => 1,
            other => steps.get(other).copied().unwrap_or(usize::MAX),
        };
        (step, p.index)
    }
}

/// The differences between two runs already read.
fn compare_runs(a: &Run, b: &Run) -> Diff {
    let order = order([a, b]);
    // Each section's entries with their place in the listing, sorted at the end.
    let mut sections: [(Section, Vec<(usize, u64)>); 2] = Default::default();
    let mut add = |p: &PointRecord, entry: Option<Entry>| {
        let (section, keys) = &mut sections[usize::from(is_hook(&p.step))];
        section.total += 1;
        if let Some(entry) = entry {
            section.entries.push(entry);
            keys.push(order(p));
        }
    };
    for pa in &a.points {
        let entry = match b.get(&pa.id) {
            Some(pb) => {
                let mut changes = compare(pa, pb);
                let (ba, bb) = (a.breaks.get(&pa.id), b.breaks.get(&pa.id));
                if ba != bb {
                    changes.push(Change::Break {
                        a: ba.cloned(),
                        b: bb.cloned(),
                    });
                }
                (!changes.is_empty()).then(|| Entry::Changed {
                    id: pa.id.clone(),
                    changes,
                })
            }
            None => Some(Entry::Only {
                id: pa.id.clone(),
                side: Side::A,
            }),
        };
        add(pa, entry);
    }
    for pb in b.points.iter().filter(|p| a.get(&p.id).is_none()) {
        let entry = Entry::Only {
            id: pb.id.clone(),
            side: Side::B,
        };
        add(pb, Some(entry));
    }
    let [points, hooks] = sections.map(|(mut section, keys)| {
        let mut keyed: Vec<_> = keys.into_iter().zip(section.entries).collect();
        // Stable: two records of one step and index (hand-edited logs) keep A's order.
        keyed.sort_by_key(|(key, _)| *key);
        section.entries = keyed.into_iter().map(|(_, e)| e).collect();
        section
    });
    Diff {
        points,
        hooks,
        notes: Vec::new(),
    }
}
