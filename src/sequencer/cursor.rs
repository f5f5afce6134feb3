//! The sequencer's position in the sequence ([`Cursor`]): which stage runs now (setup per
//! instrument, then every step of the tree once per iteration of its loops, in run order,
//! then teardown per instrument), how its points are numbered, and where its next point
//! comes from (a [`Feed`]: in order, or lane by lane).
//!
//! The steps of the tree come from a [`Walk`], which holds only the current path through
//! the loops: nothing here grows with the number of iterations or points.
//!
//! A fired `stop_when` moves the cursor on before its stage would end ([`Cursor::halt`]:
//! the stage hands out no more points, and the rest of an iteration or of a loop is passed
//! over), and a step whose `when:` does not hold in an iteration is passed over whole (the
//! [`stage_runs`] decides): the points passed over are counted in [`Cursor::skipped`].

use std::rc::Rc;
use std::sync::Arc;

use super::Kind;
use super::lanes::Feed;
use crate::sequence::conditions::{Action, stage_runs};
use crate::sequence::walk::{Stage, Walk};
use crate::sequence::{Sequence, Step};

/// Where the run is in its sequence.
pub(super) struct Cursor {
    /// Setup steps, in run order.
    setup: Vec<Arc<Step>>,
    /// The steps of the tree, stage by stage.
    walk: Walk,
    /// Teardown steps, in run order.
    teardown: Vec<Arc<Step>>,
    /// Setup or teardown steps taken so far (of the part running now).
    taken: usize,
    /// The current stage, `None` once every stage is over.
    current: Option<Current>,
    /// Point index of the current stage's first point: setup and teardown number on across
    /// instruments (`setup/0`, `setup/1`, ...), each step from 0.
    offset: u64,
    /// Where the current stage's next point comes from; made when it is first asked for.
    feed: Option<Feed>,
    /// Points of the current stage handed out so far.
    handed: u64,
    /// The current stage hands out no more points: a `stop_when` fired in it.
    halted: bool,
    /// Sweep points passed over so far: by a fired `stop_when`, or a step's `when:`.
    skipped: u64,
    /// Why a step's `when:` could not be decided, for the sequencer to stop the run.
    gate_error: Option<String>,
}

/// The stage running now.
pub(super) struct Current {
    /// Setup, a step of the tree, or teardown.
    pub kind: Kind,
    /// The step, its path and its loops' values.
    pub stage: Stage,
    /// Its path (the run log's `step`), shared by its points' dispatches.
    pub path: Rc<str>,
    /// Its variables' names, the loops' then its own: the keys of its points' `vars`.
    pub names: Rc<[String]>,
}

impl Current {
    fn new(kind: Kind, stage: Stage) -> Current {
        Current {
            kind,
            path: Rc::from(stage.path.as_str()),
            names: Rc::from(stage.names()),
            stage,
        }
    }

    /// The step.
    pub fn step(&self) -> &Arc<Step> {
        &self.stage.step
    }
}

/// The next point of the current stage.
pub(super) struct Next {
    /// Its index in the run log (`path/index`).
    pub index: u64,
    /// Its index in the step's sweep (the same point of every `repeat` pass shares it).
    pub sweep_index: u64,
    /// Its lane, busy until its final outcome ([`Cursor::release`]); none when every point
    /// is independent.
    pub lane: Option<u64>,
}

/// A setup or teardown stage of `step`: its name is its path.
fn hook(kind: Kind, step: &Arc<Step>) -> Current {
    let stage = Stage {
        path: step.name.clone(),
        iteration: 0,
        step: step.clone(),
        outer: Vec::new(),
    };
    Current::new(kind, stage)
}

impl Cursor {
    /// At the start of `seq`.
    pub(super) fn new(seq: &Sequence) -> Cursor {
        let mut cursor = Cursor {
            setup: seq.setup.clone(),
            walk: Walk::new(&seq.steps),
            teardown: seq.teardown.clone(),
            taken: 0,
            current: None,
            offset: 0,
            feed: None,
            handed: 0,
            halted: false,
            skipped: 0,
            gate_error: None,
        };
        cursor.current = cursor.following(None);
        cursor
    }

    /// The stage after one of kind `after` (`None`: the first).
    fn following(&mut self, after: Option<Kind>) -> Option<Current> {
        if after.is_none() || after == Some(Kind::Setup) {
            if let Some(step) = self.setup.get(self.taken) {
                self.taken += 1;
                return Some(hook(Kind::Setup, step));
            }
            self.taken = 0;
        }
        if after != Some(Kind::Teardown) {
            for stage in self.walk.by_ref() {
                match stage_runs(&stage.step, &stage.outer) {
                    Ok(true) => return Some(Current::new(Kind::Step, stage)),
                    Ok(false) => self.skipped = self.skipped.saturating_add(stage.step.points()),
                    Err(e) => {
                        // Not run (the run stops): not counted as skipped.
                        let why = format!(
                            "cannot decide `when:` of step `{}` (line {}): {}",
                            stage.path,
                            stage.step.when.as_ref().map_or(0, |c| c.at.0),
                            e.0
                        );
                        self.gate_error.get_or_insert(why);
                    }
                }
            }
        }
        let step = self.teardown.get(self.taken)?;
        self.taken += 1;
        Some(hook(Kind::Teardown, step))
    }

    /// The current stage, or `None` once every stage is over.
    pub(super) fn stage(&self) -> Option<&Current> {
        self.current.as_ref()
    }

    /// The current stage's next point, if one may go now: at most `window` lanes open.
    pub(super) fn next(&mut self, window: usize) -> Option<Next> {
        if self.halted {
            return None;
        }
        let current = self.current.as_ref()?;
        let step = current.step();
        let feed = self
            .feed
            .get_or_insert_with(|| Feed::new(current.kind, step));
        let (at, lane) = feed.next(window)?;
        self.handed += 1;
        Some(Next {
            index: self.offset + at,
            sweep_index: at % step.sweep.len().max(1),
            lane,
        })
    }

    /// Frees `lane` of the current stage for its next point.
    pub(super) fn release(&mut self, lane: Option<u64>) {
        if let (Some(lane), Some(feed)) = (lane, &mut self.feed) {
            feed.release(lane);
        }
    }

    /// True while some point of the current stage has not been handed out.
    pub(super) fn has_more(&self) -> bool {
        !self.halted && self.feed.as_ref().is_none_or(Feed::has_more)
    }

    /// A `stop_when` of the current (sweep) stage fired with `action`: the stage hands out
    /// no more points (its points not handed out yet are skipped), and for `next`/`break`
    /// of a loop the walk passes over the rest of that iteration or loop. Acting again (a
    /// second firing) counts nothing twice. `stop` is the sequencer's: nothing here.
    pub(super) fn halt(&mut self, action: &Action) {
        let Some(current) = &self.current else {
            return;
        };
        if current.kind != Kind::Step {
            return;
        }
        if !self.halted {
            self.halted = true;
            let left = current.step().points().saturating_sub(self.handed);
            self.skipped = self.skipped.saturating_add(left);
        }
        self.pass_over(action);
    }

    /// What `action` does to the stages after the current one: for `next`/`break` of a
    /// loop the walk passes over the rest of that iteration or loop (a resume doing again
    /// what a recorded break did, while the stage's points already ok are still counted).
    pub(super) fn pass_over(&mut self, action: &Action) {
        let passed = match action {
            Action::Break | Action::Stop => 0,
            Action::Next(l) => self.walk.end_iteration(l.depth),
            Action::BreakLoop(l) => self.walk.end_loop(l.depth),
        };
        self.skipped = self.skipped.saturating_add(passed);
    }

    /// True when a `stop_when` halted the current stage.
    pub(super) fn halted(&self) -> bool {
        self.halted
    }

    /// A point of the current stage handed out and given back unstarted after the stage
    /// was halted: skipped, not "not run".
    pub(super) fn skip_unstarted(&mut self) {
        self.skipped = self.skipped.saturating_add(1);
    }

    /// Sweep points passed over so far (see [`Cursor::halt`] and [`stage_runs`]).
    pub(super) fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Why a step's `when:` could not be decided, once.
    pub(super) fn take_gate_error(&mut self) -> Option<String> {
        self.gate_error.take()
    }

    /// On to the next stage.
    pub(super) fn advance(&mut self) {
        let Some(done) = self.current.take() else {
            return;
        };
        self.feed = None;
        self.handed = 0;
        self.halted = false;
        self.current = self.following(Some(done.kind));
        // Setup and teardown number their points on across instruments.
        let same_hook = self
            .current
            .as_ref()
            .is_some_and(|c| c.kind == done.kind && done.kind != Kind::Step);
        self.offset = if same_hook {
            self.offset + done.step().points()
        } else {
            0
        };
    }
}
