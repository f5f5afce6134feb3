//! The counts of a run read back from its log, for the one stop record the sequencer could
//! not write itself: it died (a bug) before its summary. The log holds every point record
//! written until then, so the stop record's counts are still the run's, not zeros.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use crate::runlog::read::Records;
use crate::sequence::{Node, Sequence};

/// Sweep points by the last record of each, as the stop record counts them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Points whose last record in the whole log (earlier runs of a resumed log included)
    /// is `ok`.
    pub ok: u64,
    /// Points whose last record is `failed`, recorded by this run (since the last start or
    /// resume record: a point a resumed run never reached was not run by it).
    pub failed: u64,
    /// Points whose last record is `aborted`, recorded by this run.
    pub aborted: u64,
    /// Attempts run again by this run (setup and teardown included): its point records
    /// less the points they are records of.
    pub retries: u64,
}

/// The fields of a record that the tally needs.
#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    index: u64,
    #[serde(default)]
    status: String,
}

/// The last record of one point: its status, and whether this run wrote it.
#[derive(Clone, Copy)]
struct Last {
    ok: bool,
    aborted: bool,
    this_run: bool,
}

/// Counts the points of `seq` in the run log at `path`. A log that cannot be read (or a
/// line that is not a record) ends the count where it is: this is a last resort.
pub fn tally(path: &Path, seq: &Sequence) -> Tally {
    let steps: HashMap<&str, (usize, u64)> = seq
        .steps
        .iter()
        // Flat sequences only, for now: a loop is refused before a run starts.
        .filter_map(Node::as_step)
        .enumerate()
        .map(|(i, step)| (step.name.as_str(), (i, step.points())))
        .collect();
    let mut last: HashMap<(usize, u64), Last> = HashMap::new();
    let mut this_run: HashMap<(String, u64), u32> = HashMap::new();
    let Ok(mut records) = Records::open(path) else {
        return Tally::default();
    };
    while let Ok(Some(line)) = records.next::<Line>() {
        match line.kind.as_str() {
            "resume" => {
                this_run.clear();
                for point in last.values_mut() {
                    point.this_run = false;
                }
            }
            "point" => {
                *this_run.entry((line.step.clone(), line.index)).or_default() += 1;
                if let Some(&(step, points)) = steps.get(line.step.as_str())
                    && line.index < points
                {
                    let point = Last {
                        ok: line.status == "ok",
                        aborted: line.status == "aborted",
                        this_run: true,
                    };
                    last.insert((step, line.index), point);
                }
            }
            _ => {}
        }
    }
    let mut tally = Tally {
        retries: this_run
            .values()
            .map(|&n| u64::from(n.saturating_sub(1)))
            .sum(),
        ..Tally::default()
    };
    for point in last.values() {
        match *point {
            Last { ok: true, .. } => tally.ok += 1,
            Last {
                this_run: false, ..
            } => {}
            Last { aborted: true, .. } => tally.aborted += 1,
            Last { .. } => tally.failed += 1,
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resumed log: ok counts over the whole log, failures and retries only since the
    /// resume record; setup, teardown and points of no step are not sweep points.
    #[test]
    fn counts_last_records_of_sweep_points() {
        let dir = std::env::temp_dir().join(format!("seq-tally-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("run.jsonl");
        let point = |step: &str, index: u64, status: &str| {
            format!(r#"{{"type":"point","step":"{step}","index":{index},"status":"{status}"}}"#)
        };
        let lines = [
            r#"{"type":"start","sequence":"s.yaml"}"#.to_owned(),
            point("setup", 0, "ok"),
            point("s", 0, "ok"),
            point("s", 1, "failed"),
            point("s", 2, "failed"),
            point("teardown", 0, "ok"),
            r#"{"type":"resume"}"#.to_owned(),
            point("setup", 0, "failed"),
            point("setup", 0, "ok"),
            point("s", 1, "failed"),
            point("s", 1, "ok"),
            point("s", 3, "failed"),
            point("s", 4, "aborted"),
            point("gone", 0, "failed"),
            point("s", 99, "failed"),
        ];
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let seq = crate::sequence::parse(
            "steps: [{name: s, sweep: {i: {start: 0, stop: 9, step: 1}}, commands: [X]}]",
            Path::new("s.yaml"),
        )
        .unwrap();
        let got = tally(&path, &seq);
        std::fs::remove_dir_all(&dir).unwrap();
        // s/0 and s/1 ok; s/2 failed before the resume (not run by it); s/3 failed; s/4
        // aborted; setup and s/1 each ran twice since the resume.
        let want = Tally {
            ok: 2,
            failed: 1,
            aborted: 1,
            retries: 2,
        };
        assert_eq!(got, want);
    }
}
