//! Which point of the current stage the sequencer dispatches next ([`Feed`]), and the lanes
//! that keep dependent points apart.
//!
//! A step whose points are all independent (`parallel: all`) takes them in index order, as
//! many as its window allows: the fast path, with nothing kept per point. Any other step
//! takes them from a [`Lanes`] (one lane for a step that runs one point at a time): at most
//! one point of a lane is dispatched (waiting in a pool or running) at once, and the lane
//! stays busy until that point's final outcome, so its retries and its re-dispatches after a
//! refused session come before the lane's next point. The lane is freed
//! ([`Sequencer::lane_free`]) where a point's outcome becomes final: recorded ok, failed for
//! good, or never started (`outcomes.rs`).

use actix::prelude::*;

use super::{Dispatch, Kind, Sequencer};
use crate::sequence::sweep::lanes::Lanes;
use std::rc::Rc;

use crate::sequence::{OnResume, Parallel, Step};

/// Where the current stage's next point comes from.
pub(super) enum Feed {
    /// Every point independent: indices in order.
    InOrder {
        /// Next index (within the stage) to dispatch.
        next: u64,
        /// Points of the stage.
        total: u64,
    },
    /// Points handed out lane by lane.
    Lanes(Lanes),
}

impl Feed {
    /// The feed of a stage: lanes for a sweep step that declares them or runs one point at
    /// a time; in order otherwise (and for setup and teardown, one point each).
    pub(super) fn new(kind: Kind, step: &Step) -> Feed {
        let lanes = |slots: &[usize]| Feed::Lanes(Lanes::new(&step.sweep, step.repeat, slots));
        match &step.parallel {
            Parallel::Serial if kind == Kind::Step => lanes(&[]),
            Parallel::Lanes(slots) => lanes(slots),
            Parallel::All | Parallel::Serial => Feed::InOrder {
                next: 0,
                total: step.points(),
            },
        }
    }

    /// The next point to dispatch (its index within the stage) and its lane, if any; for
    /// lanes, at most `window` of them open at once.
    pub(super) fn next(&mut self, window: usize) -> Option<(u64, Option<u64>)> {
        match self {
            Feed::InOrder { next, total } => (*next < *total).then(|| {
                *next += 1;
                (*next - 1, None)
            }),
            Feed::Lanes(lanes) => lanes.next(window).map(|t| (t.index, Some(t.lane))),
        }
    }

    /// Frees `lane` for its next point (nothing for points in order).
    pub(super) fn release(&mut self, lane: u64) {
        if let Feed::Lanes(lanes) = self {
            lanes.release(lane);
        }
    }

    /// True while some point of the stage has not been dispatched.
    pub(super) fn has_more(&self) -> bool {
        match self {
            Feed::InOrder { next, total } => next < total,
            Feed::Lanes(lanes) => lanes.has_more(),
        }
    }
}

impl Sequencer {
    /// Dispatches new points of the current stage (`kind`, `step`) while fewer than
    /// `window` are in flight and the feed has one whose lane is free. A resumed run's
    /// points already ok are counted and passed over.
    pub(super) fn dispatch_new(
        &mut self,
        kind: Kind,
        step: &std::sync::Arc<Step>,
        window: usize,
        ctx: &mut Context<Self>,
    ) {
        let Some(current) = self.cursor.stage() else {
            return;
        };
        let (path, names) = (current.path.clone(), current.names.clone());
        // `on_resume: rerun` in an iteration the run continues: its points run again, the
        // ones already ok too. Decided once per stage (it reads the iteration's points).
        let (rerun, replay) = match &self.rerun {
            Some((at, rerun, replay)) if Rc::ptr_eq(at, &path) => (*rerun, *replay),
            _ => {
                let rerun = step.on_resume == OnResume::Rerun
                    && kind == Kind::Step
                    && self.resume.continues(&self.seq, &current.stage);
                // A stage the resumed log broke (and that does not run again): its points
                // not ok are skipped, and what the break ended stays ended.
                let breaks = self.resume.breaks(&path);
                let replay = kind == Kind::Step && !rerun && !breaks.is_empty();
                if replay {
                    for action in breaks {
                        self.cursor.pass_over(action);
                    }
                }
                self.rerun = Some((path.clone(), rerun, replay));
                (rerun, replay)
            }
        };
        while self.in_flight < window {
            let Some(next) = self.cursor.next(window) else {
                break;
            };
            let (index, lane) = (next.index, next.lane);
            let fault = self.cursor.stage().and_then(|current| {
                current
                    .stage
                    .point_into(next.sweep_index, &mut self.own, &mut self.vars)
                    .err()
            });
            // Teardown always runs again: the instrument must be left safe.
            if kind != Kind::Teardown && !rerun && self.already_ok(kind, &path, &names, index) {
                if kind == Kind::Step {
                    self.tally.ok += 1;
                    self.progress.point_done(true);
                }
                self.cursor.release(lane);
                continue;
            }
            if replay {
                self.cursor.skip_unstarted();
                self.cursor.release(lane);
                continue;
            }
            let attempt = self.resume.last_attempt(&path, index).saturating_add(1);
            let d = Dispatch {
                kind,
                step: step.clone(),
                path: path.clone(),
                names: names.clone(),
                index,
                vars: std::sync::Arc::from(self.vars.as_slice()),
                fault,
                lane,
                attempt,
                try_no: 1,
                recorded: false,
            };
            self.dispatch(d, ctx);
        }
    }

    /// The point of `d` reached its final outcome, or will never start: its lane is free
    /// for the lane's next point.
    pub(super) fn lane_free(&mut self, d: &Dispatch) {
        self.cursor.release(d.lane);
    }
}
