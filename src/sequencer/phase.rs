//! The run's phase ([`Phase`]) and every change of it, in one place: a failure that stops
//! dispatching, the first request to stop (Ctrl-C, SIGTERM, SIGHUP, the deadline), the
//! second (cancel the points in flight), and the end of the run ([`Phase::end`], which
//! `records.rs` `finish` calls: the only move to `Finished`).

use actix::prelude::*;
use tracing::Level;

use super::{ABORT_TEARDOWN_TIMEOUT, CANCEL_GRACE, Kind, Sequencer};
use crate::pool::DropQueued;

/// Where the run is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Phase {
    /// Dispatching setup, the steps and teardown, in order.
    Running,
    /// No new setup or step points (a failure under `on_error: stop`, an unreachable
    /// instrument, a lost run log): points in flight finish, teardown runs, the run fails.
    Stopping,
    /// Stopped on request (Ctrl-C, SIGTERM, SIGHUP, the deadline), with why: as
    /// `Stopping`, and the stop record says `abort`.
    Interrupted(String),
    /// A second Ctrl-C cancelled the points in flight; teardown runs with a short timeout.
    Cancelled(String),
    /// The stop record is written and the summary sent: nothing more happens.
    Finished,
}

impl Phase {
    /// New setup and step points may be dispatched.
    pub(super) fn dispatching(&self) -> bool {
        *self == Phase::Running
    }

    /// Why the run was stopped on request, if it was (the stop record then says `abort`).
    pub(super) fn abort_reason(&self) -> Option<&str> {
        match self {
            Phase::Interrupted(why) | Phase::Cancelled(why) => Some(why),
            Phase::Running | Phase::Stopping | Phase::Finished => None,
        }
    }

    /// The run ends now: `Finished`; returns the phase it ended in, or `None` if it had
    /// already ended (the end happens once).
    pub(super) fn end(&mut self) -> Option<Phase> {
        match std::mem::replace(self, Phase::Finished) {
            Phase::Finished => None,
            before => Some(before),
        }
    }
}

impl Sequencer {
    /// No new setup or step points from now on; points waiting in a pool for a connection
    /// are handed back unstarted. In-flight points finish; teardown still runs.
    pub(super) fn stop_dispatch(&mut self) {
        if self.phase != Phase::Running {
            return;
        }
        self.phase = Phase::Stopping;
        self.take_back();
    }

    /// Hands back the points that have not started: those dispatched in this turn and not
    /// sent, and those waiting in a pool (also when a `stop_when` halts a stage, `breaks.rs`).
    /// Teardown's never (it always runs).
    pub(super) fn take_back(&mut self) {
        // Teardown always runs: its points are neither taken back nor held back.
        if self
            .cursor
            .stage()
            .is_some_and(|c| c.kind == Kind::Teardown)
        {
            return;
        }
        // Dispatched in this turn but not sent yet: they never start either.
        let unsent: Vec<u64> = self
            .outbox
            .iter_mut()
            .flat_map(std::mem::take)
            .map(|job| job.point.serial)
            .collect();
        for serial in unsent {
            if let Some(d) = self.flying.remove(serial) {
                self.in_flight -= 1;
                self.not_started(&d);
            }
        }
        for pool in &self.pools {
            pool.do_send(DropQueued);
        }
    }

    /// First stage: no new points; in-flight ones finish; teardown runs.
    pub(super) fn stop_for(&mut self, why: String, ctx: &mut Context<Self>) {
        let dispatching = match self.phase {
            Phase::Running => true,
            Phase::Stopping => false,
            Phase::Interrupted(_) | Phase::Cancelled(_) | Phase::Finished => return,
        };
        let how = if self.abort.cut_passed() {
            "stopping {} point(s) in flight at their next wait (a reply awaited is still taken)"
        } else {
            "finishing {} point(s) in flight"
        }
        .replace("{}", &self.running().to_string());
        (self.notify)(
            Level::WARN,
            &format!("{why}: {how}, then teardown (Ctrl-C again to cancel them)"),
        );
        self.phase = Phase::Interrupted(why);
        if dispatching {
            self.take_back();
        }
        // Stopping may have taken back every point in flight (dispatched in this wake-up,
        // not sent yet): no outcome would then come to move the run on to teardown.
        self.pump(ctx);
    }

    /// Second stage: cancel the points in flight (not teardown), then teardown with a short
    /// timeout; the run ends within [`CANCEL_GRACE`] whatever teardown does.
    pub(super) fn cancel(&mut self, ctx: &mut Context<Self>) {
        let Phase::Interrupted(why) = &mut self.phase else {
            return;
        };
        let why = std::mem::take(why);
        (self.notify)(
            Level::WARN,
            &format!(
                "cancelling {} point(s) in flight, then teardown with a {}s timeout (Ctrl-C again to quit at once)",
                self.running(),
                ABORT_TEARDOWN_TIMEOUT.as_secs()
            ),
        );
        self.phase = Phase::Cancelled(why);
        self.abort.raise();
        ctx.run_later(CANCEL_GRACE, |act, ctx| {
            if act.phase != Phase::Finished {
                tracing::error!(
                    "teardown still running {}s after the second Ctrl-C: ending the run",
                    CANCEL_GRACE.as_secs()
                );
                act.abandon_in_flight();
                act.finish(ctx);
            }
        });
    }
}
