//! How the sequencer stops on request: Ctrl-C/SIGTERM escalation, SIGHUP and the deadline.

use actix::prelude::*;
use tracing::Level;

use super::records::Attempt;
use super::{ABORT_TEARDOWN_TIMEOUT, CANCEL_GRACE, Interrupt, Sequencer};
use crate::exec::FailKind;
use crate::logging::notice;

impl Handler<Interrupt> for Sequencer {
    type Result = ();

    fn handle(&mut self, msg: Interrupt, ctx: &mut Self::Context) {
        match msg {
            Interrupt::Deadline(why) => {
                // Points in a `wait` or between polls stop there (teardown never).
                self.abort.cut();
                self.stop_for(why, ctx);
            }
            // The terminal is gone, not an operator insisting: only ever a first stage.
            Interrupt::Hangup => self.stop_for("the terminal hung up (SIGHUP)".into(), ctx),
            Interrupt::Signal if self.aborted.is_none() => {
                self.stop_for("interrupted by the operator".into(), ctx);
            }
            Interrupt::Signal if !self.cancelled => self.cancel(ctx),
            Interrupt::Signal => {
                notice(Level::WARN, "interrupted three times: exiting now");
                // Every record written so far is a whole line; make it durable first.
                let _ = self.log.sync();
                std::process::exit(crate::error::EXIT_INTERRUPTED);
            }
        }
    }
}

impl Sequencer {
    /// Points running now, at most: those in flight, less the ones that can only be
    /// waiting in a pool (more than the current stage may run at once).
    fn running(&self) -> usize {
        let limit = self
            .stages
            .get(self.stage)
            .map_or(usize::MAX, |(_, step)| self.limit(step));
        self.in_flight.min(limit)
    }

    /// Records every point still in flight as `aborted` (the run is ending by force).
    fn abandon_in_flight(&mut self) {
        for d in self.flying.take_all() {
            let why = "still running when the run was ended by force".to_owned();
            let out = Attempt::unrun(0, why, FailKind::Aborted);
            self.write_point(&d, &out);
            self.failed_finally(&d, "ended by force", false, true);
        }
        self.in_flight = 0;
    }

    /// First stage: no new points; in-flight ones finish; teardown runs.
    fn stop_for(&mut self, why: String, ctx: &mut Context<Self>) {
        if self.aborted.is_some() {
            return;
        }
        let how = if self.abort.cut_passed() {
            "stopping {} point(s) in flight at their next wait (a reply awaited is still taken)"
        } else {
            "finishing {} point(s) in flight"
        }
        .replace("{}", &self.running().to_string());
        notice(
            Level::WARN,
            &format!("{why}: {how}, then teardown (Ctrl-C again to cancel them)"),
        );
        self.aborted = Some(why);
        self.stop_dispatch();
        // Stopping may have taken back every point in flight (dispatched in this wake-up,
        // not sent yet): no outcome would then come to move the run on to teardown.
        self.pump(ctx);
    }

    /// Second stage: cancel the points in flight (not teardown), then teardown with a short
    /// timeout; the run ends within [`CANCEL_GRACE`] whatever teardown does.
    fn cancel(&mut self, ctx: &mut Context<Self>) {
        notice(
            Level::WARN,
            &format!(
                "cancelling {} point(s) in flight, then teardown with a {}s timeout (Ctrl-C again to quit at once)",
                self.running(),
                ABORT_TEARDOWN_TIMEOUT.as_secs()
            ),
        );
        self.cancelled = true;
        self.abort.raise();
        ctx.run_later(CANCEL_GRACE, |act, ctx| {
            if act.done.is_some() {
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
