//! How the sequencer stops on request: Ctrl-C/SIGTERM escalation, SIGHUP and the deadline.

use actix::prelude::*;
use tracing::Level;

use super::phase::Phase;
use super::records::Attempt;
use super::{Interrupt, Sequencer};
use crate::exec::FailKind;

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
            Interrupt::Signal => match self.phase {
                Phase::Running | Phase::Stopping => {
                    self.stop_for("interrupted by the operator".into(), ctx);
                }
                Phase::Interrupted(_) => self.cancel(ctx),
                Phase::Cancelled(_) | Phase::Finished => {
                    (self.notify)(Level::WARN, "interrupted three times: exiting now");
                    // Every record written so far is a whole line; make it durable first.
                    let _ = self.log.sync();
                    std::process::exit(crate::error::EXIT_INTERRUPTED);
                }
            },
        }
    }
}

impl Sequencer {
    /// Points running now, at most: those in flight, less the ones that can only be
    /// waiting in a pool (more than the current stage may run at once).
    pub(super) fn running(&self) -> usize {
        let limit = self
            .cursor
            .stage()
            .map_or(usize::MAX, |c| self.limit(c.step()));
        self.in_flight.min(limit)
    }

    /// Records every point still in flight as `aborted` (the run is ending by force).
    pub(super) fn abandon_in_flight(&mut self) {
        for d in self.flying.take_all() {
            let why = "still running when the run was ended by force".to_owned();
            let out = Attempt::unrun(0, why, FailKind::Aborted);
            self.write_point(&d, &out);
            self.failed_finally(&d, "ended by force", false, true);
        }
        self.in_flight = 0;
    }
}
