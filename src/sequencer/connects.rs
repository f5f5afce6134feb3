//! Connect records: the `on_connect` exchanges of every connection the pools open, written
//! to the run log by the sequencer (its only writer), so that the log holds every command
//! sent and a replay can answer them.
//!
//! A [`Pool`](crate::pool::Pool) sends a [`runlog::Connect`] over an unbounded channel
//! when a new connection's `on_connect` commands succeeded (see
//! [`Pool::recording_connects`](crate::pool::Pool::recording_connects)); one channel serves
//! every pool of the run. The sequencer, given the receiver with
//! [`Sequencer::with_connects`], writes the records queued while the pools opened when it
//! starts, then each as it arrives ([`WriteConnects`], polled in the actor's context), and
//! the last ones just before its stop record. Nothing here runs per point.

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use actix::prelude::*;
use tokio::sync::mpsc;

use super::Sequencer;
use crate::runlog;

impl Sequencer {
    /// The same sequencer writing the connect records that arrive on `connects`.
    #[must_use]
    pub fn with_connects(mut self, connects: mpsc::UnboundedReceiver<runlog::Connect>) -> Self {
        self.connects = Some(connects);
        self
    }

    /// Writes every connect record already queued.
    pub(super) fn write_connects(&mut self) {
        while let Some(record) = self.connects.as_mut().and_then(|rx| rx.try_recv().ok()) {
            self.write_connect(&record);
        }
    }

    /// Writes the connect records still queued and stops taking more: the stop record
    /// comes next and must stay last.
    pub(super) fn close_connects(&mut self) {
        self.write_connects();
        self.connects = None;
    }

    /// Writes one connect record.
    fn write_connect(&mut self, record: &runlog::Connect) {
        if let Err(e) = self.log.write("connect", record) {
            self.log_failed(&e);
        }
    }
}

/// Writes connect records as they arrive, for as long as the sequencer takes them
/// (spawned by `started`); done when every pool has dropped its sender, or the run ended.
pub(super) struct WriteConnects;

impl ActorFuture<Sequencer> for WriteConnects {
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut Sequencer,
        _: &mut Context<Sequencer>,
        task: &mut TaskContext<'_>,
    ) -> Poll<()> {
        loop {
            let polled = match act.connects.as_mut() {
                Some(rx) => rx.poll_recv(task),
                None => return Poll::Ready(()),
            };
            match polled {
                Poll::Ready(Some(record)) => act.write_connect(&record),
                Poll::Ready(None) => return Poll::Ready(()),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
