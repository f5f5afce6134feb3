//! The sequencer's progress seam: what it says about each step while the run goes on.
//!
//! The [`Sequencer`](super::Sequencer) calls a [`Progress`] at a few moments it knows best
//! (a step starts, a point reaches its final outcome, the points in flight change, the step
//! ends); whoever started the run decides what to do with that. The terminal progress bar
//! (`app/progress.rs`) is one such sink; [`Silent`], the default, ignores everything. The
//! calls come once or twice per point at up to tens of thousands of points a second, so an
//! implementation only updates counters and leaves drawing to its own rate limit: no
//! allocation, no system call, no lock held for long.

/// Receives the progress of the sweep steps (setup and teardown are not reported). Every
/// method does nothing by default.
pub trait Progress {
    /// A step starts: its name and how many points it has (repeats included).
    fn step_started(&mut self, name: &str, total: u64) {
        let _ = (name, total);
    }

    /// A point of the current step reached its final outcome (retries are not final):
    /// `ok`, or failed or aborted. A resumed run reports the points its log already has as
    /// ok when it passes them.
    fn point_done(&mut self, ok: bool) {
        let _ = ok;
    }

    /// Points of the current step now in flight, each holding (or about to get) a
    /// connection, and the most there may be (the step's `concurrency`, bounded by the
    /// connections its instrument keeps).
    fn in_flight(&mut self, points: usize, limit: usize) {
        let _ = (points, limit);
    }

    /// The current step is over (finished, or stopped and drained).
    fn step_ended(&mut self) {}
}

/// Progress nobody watches: the default.
pub struct Silent;

impl Progress for Silent {}
