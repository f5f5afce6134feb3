use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;

use super::*;

/// Counts its wake-ups.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn poll(past: &mut Past, waker: &Waker) -> Poll<()> {
    Pin::new(past).poll(&mut Context::from_waker(waker))
}

/// A point waiting on the epoch it was dispatched in is woken, and done, when it is raised;
/// one dispatched after waits for the next raise.
#[test]
fn raise_wakes_and_ends_the_points_before_it() {
    let abort = Abort::default();
    let count = Arc::new(Count::default());
    let waker = Waker::from(count.clone());
    let mut first = abort.past(abort.epoch());
    assert_eq!(poll(&mut first, &waker), Poll::Pending);
    assert_eq!(
        poll(&mut first, &waker),
        Poll::Pending,
        "polled again, still waiting"
    );
    abort.raise();
    assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken once");
    assert_eq!(poll(&mut first, &waker), Poll::Ready(()));
    let mut later = abort.past(abort.epoch());
    assert_eq!(poll(&mut later, &waker), Poll::Pending);
    drop(first);
    assert_eq!(
        poll(&mut later, &waker),
        Poll::Pending,
        "an old point leaving changes nothing"
    );
    abort.raise();
    assert_eq!(count.0.load(Ordering::SeqCst), 2);
    assert_eq!(poll(&mut later, &waker), Poll::Ready(()));
}

/// A point dispatched before a raise it has not seen yet is done at its first poll.
#[test]
fn a_point_of_an_earlier_epoch_is_done_at_once() {
    let abort = Abort::default();
    let mut past = abort.past(abort.epoch());
    abort.raise();
    assert_eq!(poll(&mut past, Waker::noop()), Poll::Ready(()));
}

/// `u64::MAX` (teardown) never ends and keeps no waker.
#[test]
fn teardown_is_never_aborted() {
    let abort = Abort::default();
    let mut never = abort.past(u64::MAX);
    for _ in 0..3 {
        assert_eq!(poll(&mut never, Waker::noop()), Poll::Pending);
        abort.raise();
    }
    assert!(abort.0.waiting.borrow().is_empty());
}

/// Points that finish without an abort give their slots back: a long run does not grow the
/// list of waiters, and the points still waiting keep theirs.
#[test]
fn slots_are_reused() {
    let abort = Abort::default();
    let count = Arc::new(Count::default());
    let waker = Waker::from(count.clone());
    let mut kept = abort.past(0);
    assert_eq!(poll(&mut kept, &waker), Poll::Pending);
    for _ in 0..1000 {
        let mut point = abort.past(0);
        assert_eq!(poll(&mut point, Waker::noop()), Poll::Pending);
    }
    assert_eq!(
        abort.0.waiting.borrow().len(),
        2,
        "one slot for the kept point, one reused"
    );
    abort.raise();
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        1,
        "the kept point is still woken"
    );
    assert_eq!(poll(&mut kept, &waker), Poll::Ready(()));
}
