//! The run log's fsyncs and checks: at least once a second (and after each mebibyte of
//! records), on a blocking thread through the log's own open file (no new descriptor, so
//! running out of descriptors never breaks the log), each followed by a check that the log
//! is still whole at its path (`runlog/intact.rs`): not deleted, moved or truncated.

use actix::prelude::*;

use super::Sequencer;

impl Sequencer {
    /// Forces what the log has written so far to disk on a blocking thread, then checks
    /// there that the log is still whole at its path, unless an earlier fsync is still
    /// under way: the points in flight go on meanwhile. Runs every second even when
    /// nothing was written, so a log lost during a long wait is noticed within a second
    /// too.
    pub(super) fn sync_in_background(&mut self, ctx: &mut Context<Self>) {
        if self.syncing || (self.log_error.is_some() && self.log.unsynced() == 0) {
            return;
        }
        let checkpoint = match self.log.checkpoint() {
            Ok(checkpoint) => checkpoint,
            Err(e) => return self.log_failed(&e),
        };
        self.syncing = true;
        let done = tokio::task::spawn_blocking(move || checkpoint.run());
        ctx.spawn(done.into_actor(self).map(|res, act, ctx| {
            act.syncing = false;
            match res {
                Ok(Ok(None)) => return,
                Ok(Ok(Some(lost))) => act.log_lost(&lost),
                Ok(Err(e)) => act.log_failed(&e),
                Err(e) => act.log_failed(&std::io::Error::other(e)),
            }
            // Stopping may have taken back points dispatched in this wake-up and not sent
            // yet, the last ones in flight: no outcome will come to move the run on to
            // teardown, so this does.
            act.pump(ctx);
        }));
    }
}
