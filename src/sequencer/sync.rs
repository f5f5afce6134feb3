//! The run log's fsyncs: at least once a second, and after each mebibyte of records, on a
//! blocking thread through a duplicate of the log's descriptor (so the points in flight go
//! on meanwhile). Without a descriptor to spare (too many open files) the log, complete,
//! is forced to disk in place instead: running out of descriptors is not a broken log.

use actix::prelude::*;

use super::Sequencer;

impl Sequencer {
    /// Forces what the log has written so far to disk on a blocking thread, unless that is
    /// nothing or an earlier fsync is still under way: the points in flight go on meanwhile.
    pub(super) fn sync_in_background(&mut self, ctx: &mut Context<Self>) {
        if self.syncing || self.log.unsynced() == 0 {
            return;
        }
        let file = match self.log.flushed_handle() {
            Ok(file) => file,
            Err(e) if out_of_files(&e) => return self.sync_in_place(&e),
            Err(e) => return self.log_failed(&e),
        };
        self.syncing = true;
        let synced = tokio::task::spawn_blocking(move || file.sync_data());
        ctx.spawn(synced.into_actor(self).map(|res, act, _| {
            act.syncing = false;
            match res {
                Ok(Ok(())) => {}
                Ok(Err(e)) => act.log_failed(&e),
                Err(e) => act.log_failed(&std::io::Error::other(e)),
            }
        }));
    }

    /// No descriptor was left for the duplicate a background fsync needs (`e`: too many
    /// open files). What the log holds is written, so nothing is lost: it is forced to disk
    /// here instead, the points in flight waiting for it, and the exhaustion is told for
    /// what it is (once), not as a broken run log.
    fn sync_in_place(&mut self, e: &std::io::Error) {
        if !self.out_of_files {
            self.out_of_files = true;
            tracing::warn!(
                "too many open files ({e}): the run log is complete, and forced to disk in place \
                 while no descriptor is free for a background fsync; lower `max_connections` or \
                 raise `ulimit -n`"
            );
        }
        if let Err(e) = self.log.sync() {
            self.log_failed(&e);
        }
    }
}

/// True for "too many open files", of this process (EMFILE) or of the system (ENFILE).
fn out_of_files(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    {
        use rustix::io::Errno;
        Errno::from_io_error(e).is_some_and(|n| n == Errno::MFILE || n == Errno::NFILE)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}
