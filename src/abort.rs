//! The run's abort epoch: a second Ctrl-C raises it, and every point in flight that was
//! dispatched before watches for it ([`Abort::past`]) to stop at once. The deadline has an
//! epoch of its own ([`Abort::cut`], [`Abort::cut_past`]): a point dispatched before it
//! passed stops at its next `wait` or pause between polls, never in the middle of an
//! exchange.
//!
//! All the run's actors live on one thread, so this is a plain `Rc` with the epoch and the
//! wakers of the points waiting on it: registering a point costs a slot in a vector, not a
//! lock, an atomic or an allocation (`tokio::sync::watch` did all three for every point:
//! with the batch judgement that came with it, 11,820 -> 11,190 instructions per point,
//! BENCHMARKS.md). It is not a message because every point in flight must see it at once,
//! in the middle of its commands, without a mailbox turn.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// The epoch (0 until the first abort), shared by the sequencer and every connection, and
/// the deadline's (0 until it passes, then 1).
#[derive(Clone, Default)]
pub struct Abort(Rc<Shared>, Rc<Shared>);

#[derive(Default)]
struct Shared {
    epoch: Cell<u64>,
    /// Wakers of the points waiting, by slot; `None` for a free slot.
    waiting: RefCell<Vec<Option<Waker>>>,
    /// Free slots of `waiting`.
    free: RefCell<Vec<usize>>,
}

impl Abort {
    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.0.epoch.get()
    }

    /// Moves the epoch on and wakes every point waiting for it.
    pub fn raise(&self) {
        self.0.raise();
    }

    /// The deadline passed: wakes every point waiting or pausing between polls, except
    /// those that watch for it from epoch `u64::MAX` (teardown).
    pub fn cut(&self) {
        if self.1.epoch.get() == 0 {
            self.1.raise();
        }
    }

    /// True once the deadline has passed ([`Abort::cut`]).
    pub fn cut_passed(&self) -> bool {
        self.1.epoch.get() > 0
    }

    /// Resolves once the deadline has passed (never for `epoch` `u64::MAX`, teardown's).
    pub fn cut_past(&self, epoch: u64) -> Past {
        Past {
            shared: self.1.clone(),
            epoch: if epoch == u64::MAX { u64::MAX } else { 0 },
            slot: None,
        }
    }

    /// Resolves once the epoch is past `epoch` (never for `u64::MAX`).
    pub fn past(&self, epoch: u64) -> Past {
        Past {
            shared: self.0.clone(),
            epoch,
            slot: None,
        }
    }
}

impl Shared {
    /// Moves the epoch on and wakes every future waiting for it.
    fn raise(&self) {
        self.epoch.set(self.epoch.get() + 1);
        // Every waiting future watches an earlier epoch: all are done with their slots.
        let wakers = std::mem::take(&mut *self.waiting.borrow_mut());
        self.free.borrow_mut().clear();
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }
}

/// The future of [`Abort::past`] and [`Abort::cut_past`]; polled again after it resolved,
/// it resolves again.
pub struct Past {
    shared: Rc<Shared>,
    epoch: u64,
    /// Where this future's waker is kept, once it has waited.
    slot: Option<usize>,
}

impl Future for Past {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.epoch == u64::MAX {
            // Never: no waker to keep.
            return Poll::Pending;
        }
        if self.shared.epoch.get() > self.epoch {
            self.leave();
            return Poll::Ready(());
        }
        // Still at `self.epoch` (it can only grow, and a point watches the epoch it was
        // dispatched in): no `raise` since this future took its slot, which is still its own.
        let mut waiting = self.shared.waiting.borrow_mut();
        if let Some(Some(waker)) = self.slot.and_then(|slot| waiting.get_mut(slot)) {
            if !waker.will_wake(cx.waker()) {
                waker.clone_from(cx.waker());
            }
        } else {
            let slot = if let Some(slot) = self.shared.free.borrow_mut().pop() {
                waiting[slot] = Some(cx.waker().clone());
                slot
            } else {
                waiting.push(Some(cx.waker().clone()));
                waiting.len() - 1
            };
            drop(waiting);
            self.slot = Some(slot);
        }
        Poll::Pending
    }
}

impl Past {
    /// True once the epoch it watches has passed (without waiting or registering).
    pub fn passed(&self) -> bool {
        self.epoch != u64::MAX && self.shared.epoch.get() > self.epoch
    }

    /// A future that never resolves (for points nothing may stop early, and tests).
    pub fn never() -> Past {
        Past {
            shared: Rc::default(),
            epoch: u64::MAX,
            slot: None,
        }
    }

    /// Gives this future's slot back, unless a `raise` has emptied them all since.
    fn leave(&mut self) {
        if let Some(slot) = self.slot.take()
            && self.shared.epoch.get() == self.epoch
        {
            self.shared.waiting.borrow_mut()[slot] = None;
            self.shared.free.borrow_mut().push(slot);
        }
    }
}

impl Drop for Past {
    fn drop(&mut self) {
        self.leave();
    }
}

#[cfg(test)]
mod tests;
