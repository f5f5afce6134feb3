//! Reading a run log back to resume it: which points are already `ok`, the attempt numbers
//! so far, the start record, and where the last complete line ends.
//!
//! `sequencer resume` opens the log with [`open`] (the [`Records`] reader that `diff`,
//! `export` and replays use too, with resume's advice for a log that is not one), reads the
//! rest with [`read_log`], then the [`Sequencer`] skips every point [`Resume::is_ok`]
//! reports, and does again what the log's `break` records did ([`Resume::breaks`]). Only
//! per-step bitsets of ok indices are kept (a million points cost 125 kB), and
//! attempt numbers only for points that are not ok. A last line without its newline is a
//! torn write: it is reported, ignored, and cut off before the resumed run appends.
//!
//! [`Sequencer`]: crate::sequencer::Sequencer

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Result;
use crate::runlog;
use crate::runlog::read::{GIVE_A_LOG, Records};
use crate::sequence::conditions::stage_runs;
use crate::sequence::walk::{self, Stage, Walk};
use crate::sequence::{Action, LoopRef, Sequence};

/// What a log already holds, as the sequencer needs it.
#[derive(Debug, Default)]
pub struct Resume {
    /// Per step name: bit `i` set when point `i`'s last record is `ok`.
    ok: HashMap<String, Vec<u64>>,
    /// Per step name and index: the last attempt number, for points that are not ok, for
    /// ok points past their first attempt (an `on_resume: rerun` step runs them again) and
    /// for setup and teardown (which run again). An ok point without one took attempt 1,
    /// so the map grows only with the points that failed or were run again.
    attempts: HashMap<String, HashMap<u64, u32>>,
    /// With `--force` (the sequence changed): a hash of the `vars` of each ok point, so a
    /// point is skipped only if it is still the same point.
    vars: Option<HashMap<String, HashMap<u64, u64>>>,
    /// Teardown ran after the last setup: the instrument was left torn down, so setup must
    /// run again before more points.
    torn_down: bool,
    /// Every loop iteration (`T/2/`, `T/2/U/0/`) some point record of the log is in.
    iterations: HashSet<String>,
    /// Per stage path: the actions of the `break` records of its points (`stop` left out:
    /// a resume runs what a stop left, see [`Resume::breaks`]).
    breaks: HashMap<String, Vec<Action>>,
    /// The loop iterations (`T/2/`) a recorded `{next: T}` or `{break: T}` ended: a resume
    /// does not continue them.
    ended: Vec<String>,
}

impl Resume {
    /// True when the log's last record for `step/index` is `ok`.
    pub fn is_ok(&self, step: &str, index: u64) -> bool {
        let (word, bit) = ((index / 64) as usize, index % 64);
        self.ok
            .get(step)
            .and_then(|bits| bits.get(word))
            .is_some_and(|w| w & (1 << bit) != 0)
    }

    /// The last attempt number recorded for `step/index`, 0 if none.
    pub fn last_attempt(&self, step: &str, index: u64) -> u32 {
        self.attempts
            .get(step)
            .and_then(|m| m.get(&index))
            .copied()
            .unwrap_or_else(|| u32::from(self.is_ok(step, index)))
    }

    /// With `--force`: true when the ok record of `step/index` had these `vars` (always
    /// true without `--force`, where the sequence is the same file).
    pub fn same_vars(&self, step: &str, index: u64, vars: &runlog::VarMap<'_>) -> bool {
        let Some(hashes) = &self.vars else {
            return true;
        };
        let now = serde_json::to_string(vars).map_or(0, |t| hash(&t));
        hashes.get(step).and_then(|m| m.get(&index)) == Some(&now)
    }

    /// Sweep points of `seq` whose last record is ok (with `--force`: with the same vars).
    pub fn ok_points(&self, seq: &Sequence) -> u64 {
        let mut vars = Vec::new();
        let mut count = 0;
        let mut own = Vec::new();
        for stage in Walk::new(&seq.steps) {
            let step = &stage.step;
            let names = stage.names();
            for i in (0..step.points()).filter(|&i| self.is_ok(&stage.path, i)) {
                // A point whose `let:` fails now has other values than when it was ok.
                let computed = stage
                    .point_into(i % step.sweep.len().max(1), &mut own, &mut vars)
                    .is_ok();
                if computed && self.same_vars(&stage.path, i, &runlog::VarMap(&names, &vars)) {
                    count += 1;
                }
            }
        }
        count
    }

    /// True when the run continues the iteration that the stage `stage` of `seq` runs in:
    /// the log has points in it, and not all of its points are ok (the points of a step its
    /// `when:` passes over, or that a recorded `break` ended, are not waited for). A step with
    /// `on_resume: rerun` then runs again first. Reads the iteration's points once.
    pub fn continues(&self, seq: &Sequence, stage: &Stage) -> bool {
        let at = stage.iteration_path();
        if at.is_empty()
            || !self.iterations.contains(at)
            || self
                .ended
                .iter()
                .any(|ended| at.starts_with(ended.as_str()))
        {
            return false;
        }
        let Some(lp) = walk::find_loop(&seq.steps, at) else {
            return false;
        };
        // A step its `when:` passes over in this iteration, or one a recorded `break`
        // ended, has no more points to run: it leaves the iteration whole.
        !Walk::within(&lp.body, at.to_owned(), stage.outer.clone()).all(|s| {
            stage_runs(&s.step, &s.outer) == Ok(false)
                || !self.breaks(&s.path).is_empty()
                || (0..s.step.points()).all(|i| self.is_ok(&s.path, i))
        })
    }

    /// The actions of the `break` records of the stage at `path` (empty for most): a
    /// resumed run does what they did when it reaches that stage (its points not yet ok
    /// are skipped, the iteration or loop they ended stays ended). A recorded `stop` is not
    /// among them: the operator resumed the run, so it goes on with the points the stop
    /// left, and the condition is evaluated again as they run.
    pub fn breaks(&self, path: &str) -> &[Action] {
        self.breaks.get(path).map_or(&[], Vec::as_slice)
    }

    /// Takes a `break` record of the stage `step` into account; `action` as recorded.
    fn record_break(&mut self, step: &str, action: &serde_json::Value) {
        let parts: Vec<&str> = step.split('/').collect();
        // The loop named by `{next: T}` / `{break: T}`: its depth and iteration path,
        // from the stage's own path (`T/2/U/0/iv`), innermost first.
        let in_loop = |name: &str| {
            (0..parts.len().saturating_sub(1))
                .step_by(2)
                .rev()
                .find(|&i| parts[i] == name)
                .map(|i| {
                    let lp = LoopRef {
                        name: name.to_owned(),
                        depth: i / 2,
                    };
                    (lp, format!("{}/", parts[..i + 2].join("/")))
                })
        };
        let named = |key: &str| action.get(key).and_then(serde_json::Value::as_str);
        let action = match (action.as_str(), named("next"), named("break")) {
            (Some("break"), _, _) => Action::Break,
            (_, Some(name), _) | (_, _, Some(name)) => {
                let Some((lp, iteration)) = in_loop(name) else {
                    // Not a loop of this stage (the sequence changed): the step at least.
                    self.breaks
                        .entry(step.to_owned())
                        .or_default()
                        .push(Action::Break);
                    return;
                };
                self.ended.push(iteration);
                if named("next").is_some() {
                    Action::Next(lp)
                } else {
                    Action::BreakLoop(lp)
                }
            }
            _ => return,
        };
        self.breaks.entry(step.to_owned()).or_default().push(action);
    }

    /// True when the log's teardown ran after its last setup (setup must run again).
    pub fn torn_down(&self) -> bool {
        self.torn_down
    }

    /// Takes one point record into account (later records override earlier ones).
    fn record(&mut self, step: &str, index: u64, ok: bool, attempt: u32) {
        match step {
            "teardown" => self.torn_down = true,
            "setup" => self.torn_down = false,
            _ => {}
        }
        if !self.ok.contains_key(step) {
            // A stage new to this log: the iterations it runs in.
            for (i, _) in step.match_indices('/').skip(1).step_by(2) {
                self.iterations.insert(step[..=i].to_owned());
            }
        }
        let (word, bit) = ((index / 64) as usize, index % 64);
        let bits = self.ok.entry(step.to_owned()).or_default();
        if bits.len() <= word {
            bits.resize(word + 1, 0);
        }
        if ok {
            bits[word] |= 1 << bit;
        } else {
            bits[word] &= !(1 << bit);
        }
        // Setup and teardown may run again: keep their attempt numbers going.
        if ok && attempt <= 1 && step != "teardown" && step != "setup" {
            if let Some(m) = self.attempts.get_mut(step) {
                m.remove(&index);
            }
        } else {
            self.attempts
                .entry(step.to_owned())
                .or_default()
                .insert(index, attempt);
        }
    }
}

/// A run log read back.
#[derive(Debug)]
pub struct LogState {
    /// The `start` record.
    pub start: serde_json::Value,
    /// The last `resume` record, or the start record: where the instruments were last and
    /// which sequence file was last accepted.
    pub latest: serde_json::Value,
    /// Point records ignored because their step or index is not in the sequence.
    pub ignored: u64,
    /// Points already ok, attempts so far.
    pub resume: Resume,
    /// Bytes up to the end of the last complete line (where appending starts).
    pub valid_len: u64,
    /// Length of a torn last line that was ignored.
    pub torn: Option<u64>,
    /// Exit status of the last `stop` record, if the log has one after its last point.
    pub last_stop: Option<String>,
}

impl LogState {
    /// The sequence path from the start record.
    pub fn sequence(&self) -> Option<PathBuf> {
        self.start["sequence"].as_str().map(PathBuf::from)
    }

    /// The sequence SHA-256 last accepted (start record, or a later `--force` resume).
    pub fn sha256(&self) -> Option<&str> {
        self.latest["sequence_sha256"].as_str()
    }
}

/// The fields of any record that resuming needs (`connect` records are skipped: they
/// change nothing about which points are done).
#[derive(Deserialize)]
struct Record {
    #[serde(rename = "type")]
    kind: String,
    step: Option<String>,
    index: Option<u64>,
    status: Option<String>,
    attempt: Option<u32>,
    exit_status: Option<String>,
    vars: Option<serde_json::Value>,
    action: Option<serde_json::Value>,
}

/// A stable hash of a text (vars as JSON).
fn hash(text: &str) -> u64 {
    // FNV-1a: stable across runs and builds, unlike the std hasher.
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Number of points of the stage at `path` in `seq` (`setup` and `teardown`: one per
/// instrument that has them), `None` if `seq` has no such stage.
fn stage_points(seq: &Sequence, path: &str) -> Option<u64> {
    let hooks = match path {
        "setup" => &seq.setup,
        "teardown" => &seq.teardown,
        _ => return walk::find(&seq.steps, path).map(|step| step.points()),
    };
    Some(hooks.iter().map(|s| s.points()).sum())
}

/// Opens the run log at `path` to resume it. A file that is not a run log is invalid
/// input; a log whose run never began has nothing to resume: that run is started again
/// (an empty log may be given to `run -o` again, a torn start record may not).
pub(crate) fn open(path: &Path) -> Result<Records> {
    Records::open(path).map_err(|e| {
        let again = if e.empty {
            format!(
                "start it again with `sequencer run SEQUENCE -o {}` (`-o` may reuse this empty \
                 file)",
                path.display()
            )
        } else {
            "start it again with `sequencer run` (with another `-o` path: a log that is not \
             empty is never overwritten)"
                .to_owned()
        };
        e.advise(&again, GIVE_A_LOG).into()
    })
}

/// Reads the rest of the log `records` for a resume of `seq`; malformed logs are invalid
/// input. Point records whose step or index `seq` does not have are ignored (counted). With
/// `match_vars`, ok points also keep a hash of their `vars`.
pub(crate) fn read_log(mut records: Records, seq: &Sequence, match_vars: bool) -> Result<LogState> {
    let mut state = LogState {
        start: records.start().clone(),
        latest: records.start().clone(),
        ignored: 0,
        resume: Resume {
            vars: match_vars.then(HashMap::new),
            ..Resume::default()
        },
        valid_len: 0,
        torn: None,
        last_stop: None,
    };
    while let Some(rec) = records.next::<Record>()? {
        match (rec.kind.as_str(), rec.step, rec.index) {
            ("point", Some(step), Some(index)) => {
                state.last_stop = None;
                if stage_points(seq, &step).is_none_or(|n| index >= n) {
                    // Not a point of this sequence (changed under --force, or edited).
                    state.ignored += 1;
                } else {
                    let ok = rec.status.as_deref() == Some("ok");
                    let attempt = rec.attempt.unwrap_or(1);
                    state.resume.record(&step, index, ok, attempt);
                    if ok && let (Some(hashes), Some(vars)) = (&mut state.resume.vars, rec.vars) {
                        let h = hash(&vars.to_string());
                        hashes.entry(step).or_default().insert(index, h);
                    }
                }
            }
            ("resume", _, _) => {
                state.latest = serde_json::from_slice(records.line()).unwrap_or_default();
            }
            ("stop", _, _) => state.last_stop = rec.exit_status,
            ("break", Some(step), _) if stage_points(seq, &step).is_some() => {
                state
                    .resume
                    .record_break(&step, &rec.action.unwrap_or_default());
            }
            _ => {}
        }
    }
    state.valid_len = records.valid_len();
    state.torn = records.torn();
    Ok(state)
}

#[cfg(test)]
mod tests;
