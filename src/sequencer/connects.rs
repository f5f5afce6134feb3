//! Connect records: the greeting and `on_connect` exchanges of every connection the pools
//! open, written to the run log by the sequencer (its only writer), so that the log holds
//! every command sent and a replay can answer them. A [`Pool`](crate::pool::Pool) sends
//! each as a [`Connected`] message before the connection takes work (those of connections
//! opened before the sequencer subscribed come first), so it is logged before the
//! connection's points. Nothing here runs per point.

use actix::prelude::*;

use super::Sequencer;
use super::phase::Phase;
use crate::pool::Connected;

impl Handler<Connected> for Sequencer {
    type Result = ();

    fn handle(&mut self, msg: Connected, _: &mut Self::Context) {
        // The stop record stays last.
        if self.phase == Phase::Finished {
            return;
        }
        if let Err(e) = self.log.write("connect", &msg.0) {
            self.log_failed(&e);
        }
    }
}
