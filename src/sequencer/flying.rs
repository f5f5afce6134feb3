//! The points the sequencer dispatched and has not finally recorded ([`Flying`]), so that an
//! outcome finds its dispatch, and a run ended by force can still record every one.

use std::collections::VecDeque;

use super::Dispatch;

/// Points dispatched and not yet finally recorded, in dispatch order: serials only grow,
/// and outcomes come back roughly in that order, so a sorted deque finds and removes one
/// near its front, with no allocation per point (a `BTreeMap` cost 300 instructions per
/// point here, a tenth of writing its record).
#[derive(Default)]
pub(super) struct Flying(VecDeque<(u64, Dispatch)>);

impl Flying {
    /// Adds the dispatch with the next serial (larger than any before).
    pub(super) fn push(&mut self, serial: u64, d: Dispatch) {
        debug_assert!(self.0.back().is_none_or(|(last, _)| *last < serial));
        self.0.push_back((serial, d));
    }

    /// Takes out the dispatch with this serial, if it is still there.
    pub(super) fn remove(&mut self, serial: u64) -> Option<Dispatch> {
        if self.0.front().is_some_and(|(s, _)| *s == serial) {
            // The oldest point: the usual case.
            return self.0.pop_front().map(|(_, d)| d);
        }
        let at = self.0.binary_search_by_key(&serial, |(s, _)| *s).ok()?;
        self.0.remove(at).map(|(_, d)| d)
    }

    /// Takes out every dispatch, in dispatch order.
    pub(super) fn take_all(&mut self) -> impl Iterator<Item = Dispatch> + use<> {
        std::mem::take(&mut self.0).into_iter().map(|(_, d)| d)
    }
}
