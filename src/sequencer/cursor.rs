//! The sequencer's position in the sequence ([`Cursor`]): which stage runs now (setup per
//! instrument, the steps, teardown per instrument, in that order), how its points are
//! numbered, and where its next point comes from (a [`Feed`]: in order, or lane by lane).
//! The seam the nested sequences of later issues extend into a walk over a tree of steps.

use std::sync::Arc;

use super::Kind;
use super::lanes::Feed;
use crate::sequence::{Node, Sequence, Step};

/// Where the run is in its sequence.
pub(super) struct Cursor {
    /// Setup steps, steps, teardown steps, in run order.
    stages: Vec<(Kind, Arc<Step>)>,
    /// The current stage.
    stage: usize,
    /// Point index of the current stage's first point: setup and teardown number on across
    /// instruments (`setup/0`, `setup/1`, ...), each step from 0.
    offset: u64,
    /// Where the current stage's next point comes from; made when it is first asked for.
    feed: Option<Feed>,
}

/// The next point of the current stage.
pub(super) struct Next {
    /// Its index in the run log (`step/index`).
    pub index: u64,
    /// Its index in the step's sweep (the same point of every `repeat` pass shares it).
    pub sweep_index: u64,
    /// Its lane, busy until its final outcome ([`Cursor::release`]); none when every point
    /// is independent.
    pub lane: Option<u64>,
}

impl Cursor {
    /// At the start of `seq`.
    pub(super) fn new(seq: &Sequence) -> Cursor {
        let stages = seq
            .setup
            .iter()
            .map(|s| (Kind::Setup, s.clone()))
            // Flat sequences only, for now: a loop is refused before a run starts.
            .chain(
                seq.steps
                    .iter()
                    .filter_map(Node::as_step)
                    .map(|s| (Kind::Step, s.clone())),
            )
            .chain(seq.teardown.iter().map(|s| (Kind::Teardown, s.clone())))
            .collect();
        Cursor {
            stages,
            stage: 0,
            offset: 0,
            feed: None,
        }
    }

    /// The current stage, or `None` once every stage is over.
    pub(super) fn stage(&self) -> Option<(Kind, &Arc<Step>)> {
        self.stages
            .get(self.stage)
            .map(|(kind, step)| (*kind, step))
    }

    /// The current stage's next point, if one may go now: at most `window` lanes open.
    pub(super) fn next(&mut self, window: usize) -> Option<Next> {
        let (kind, step) = self.stages.get(self.stage)?;
        let feed = self.feed.get_or_insert_with(|| Feed::new(*kind, step));
        let (at, lane) = feed.next(window)?;
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
        self.feed.as_ref().is_none_or(Feed::has_more)
    }

    /// On to the next stage.
    pub(super) fn advance(&mut self) {
        let Some((kind, step)) = self.stages.get(self.stage) else {
            return;
        };
        let same_hook = self
            .stages
            .get(self.stage + 1)
            .is_some_and(|(k, _)| k == kind && *kind != Kind::Step);
        self.offset = if same_hook {
            self.offset + step.points()
        } else {
            0
        };
        self.stage += 1;
        self.feed = None;
    }
}
