//! The sequencer's writes to the run log: point records and the final stop record.

use std::time::SystemTime;

use actix::prelude::*;

use super::{Dispatch, Sequencer, Summary};
use crate::exec::{FailKind, Outcome};
use crate::runlog;

impl Sequencer {
    /// Writes the point record of one attempt; returns its id and status.
    pub(super) fn write_point(&mut self, d: &Dispatch, out: &Outcome) -> (String, &'static str) {
        let id = format!("{}/{}", d.step.name, d.index);
        let names = d.step.sweep.names();
        let status = match out.kind {
            None => "ok",
            Some(FailKind::Aborted) => "aborted",
            Some(_) => "failed",
        };
        let record = runlog::Point {
            id: &id,
            step: &d.step.name,
            index: d.index,
            vars: runlog::VarMap(&names, &d.vars),
            conn: out.conn,
            attempt: d.attempt,
            status,
            error: out.error.as_deref(),
            started_at: out.started_at,
            elapsed_ms: out.elapsed,
            commands: &out.exchanges,
            values: runlog::PairMap(&out.values),
        };
        match self.log.write("point", &record) {
            Ok(()) => self.dirty = true,
            Err(e) => self.log_failed(&e),
        }
        (id, status)
    }

    pub(super) fn log_failed(&mut self, e: &std::io::Error) {
        if self.log_error.is_none() {
            tracing::error!(path = %self.log.path().display(), "cannot write run log: {e}; stopping");
            self.log_error = Some(e.to_string());
            self.stop_dispatch();
        }
    }

    /// Writes the stop record, forces the log to disk, reports the summary and stops.
    pub(super) fn finish(&mut self, ctx: &mut Context<Self>) {
        let Some(done) = self.done.take() else { return };
        let total = self.seq.total_points();
        let not_run = total.saturating_sub(self.ok + self.failed + self.aborted_points);
        let (exit_status, reason) = if let Some(why) = &self.aborted {
            ("abort", why.clone())
        } else if self.failed > 0 || self.hook_failed || self.log_error.is_some() {
            let reason = self
                .reason
                .clone()
                .or_else(|| self.log_error.clone())
                .unwrap_or_default();
            ("fail", reason)
        } else {
            ("success", format!("all {total} points ok"))
        };
        let stop = runlog::Stop {
            exit_status,
            reason: &reason,
            points_ok: self.ok,
            points_failed: self.failed,
            points_aborted: self.aborted_points,
            points_not_run: not_run,
            retries: self.retried,
            ended_at: SystemTime::now(),
        };
        if let Err(e) = self.log.write("stop", &stop).and_then(|()| self.log.sync()) {
            self.log_failed(&e);
        }
        let _ = done.send(Summary {
            exit_status,
            reason,
            points_ok: self.ok,
            points_failed: self.failed,
            points_aborted: self.aborted_points,
            points_not_run: not_run,
            retries: self.retried,
            log_error: self.log_error.clone(),
        });
        ctx.stop();
    }
}
