//! The sequencer's writes to the run log: point records and the final stop record, and the
//! [`Summary`] of the run that goes with the stop record to whoever started it. (Connect
//! records are written in `connects.rs`.)
//!
//! Point records are appended to the log's buffer as outcomes arrive and written by
//! `Sequencer::flush_log_after_wakeup` once the actor has handled every message waiting in
//! its mailbox: the outcomes that arrived together (one per connection that answered) cost
//! one `write`. A record is thus on its way to the file before the actor waits for
//! anything.

use std::time::{Duration, SystemTime};

use actix::prelude::*;

use super::{Dispatch, Sequencer};
use crate::exec::{FailKind, Fired, Ran};
use crate::runlog;
use crate::sequence::value::push_decimal;

/// How the run ended, for the caller's exit code and summary.
#[derive(Debug, Clone)]
pub struct Summary {
    /// `success`, `fail` or `abort`, as in the stop record.
    pub exit_status: &'static str,
    /// Why.
    pub reason: String,
    /// Sweep points whose final outcome is ok (with a resume: over the whole log).
    pub points_ok: u64,
    /// Sweep points whose final outcome is failed.
    pub points_failed: u64,
    /// Sweep points cancelled by a second Ctrl-C.
    pub points_aborted: u64,
    /// Attempts run again.
    pub retries: u64,
    /// Sweep points a `stop_when` or a step's `when:` passed over, by design.
    pub points_skipped: u64,
    /// Sweep points never run.
    pub points_not_run: u64,
    /// Time points spent running on connections, added up over every point record
    /// (setup, teardown and retried attempts included): over the run's wall time, the
    /// effective parallelism.
    pub busy: Duration,
    /// Writing the run log failed: the run was stopped.
    pub log_error: Option<String>,
}

/// One attempt of a point as the run log records it: what ran on a connection, or why
/// nothing could. The error's text is made here, once, for the record.
pub(super) struct Attempt<'a> {
    /// The connection (0 if none had it).
    pub conn: usize,
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// How long it took.
    pub elapsed: Duration,
    /// Every command sent, with replies.
    pub exchanges: &'a [crate::runlog::Exchange],
    /// The `as`-named replies.
    pub values: &'a [(String, String)],
    /// Why it failed, as recorded.
    pub error: Option<String>,
    /// What kind of failure (decides retries and the status).
    pub kind: Option<FailKind>,
    /// The `stop_when` condition that held after it (an ok point only).
    pub fired: Option<&'a Fired>,
}

impl<'a> Attempt<'a> {
    /// What ran on connection `conn`.
    pub(super) fn ran(conn: usize, ran: &'a Ran) -> Self {
        Attempt {
            conn,
            started_at: ran.started_at,
            elapsed: ran.elapsed,
            exchanges: &ran.exchanges,
            values: &ran.values,
            error: ran.error.as_ref().map(ToString::to_string),
            kind: ran.kind(),
            fired: ran.fired.as_deref(),
        }
    }

    /// A point that could not run (`kind` why, `error` the text).
    pub(super) fn unrun(conn: usize, error: String, kind: FailKind) -> Self {
        Attempt {
            conn,
            started_at: SystemTime::now(),
            elapsed: Duration::ZERO,
            exchanges: &[],
            values: &[],
            error: Some(error),
            kind: Some(kind),
            fired: None,
        }
    }
}

/// The points' final outcomes counted so far, and what explains the run's end.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Sweep points finally ok (including those a resumed log already had).
    pub ok: u64,
    /// Sweep points finally failed.
    pub failed: u64,
    /// Sweep points finally aborted (second Ctrl-C, the deadline).
    pub aborted_points: u64,
    /// Attempts run again.
    pub retried: u64,
    /// Elapsed time of every point record written, added up (see [`Summary::busy`]).
    pub busy: Duration,
    /// A setup or teardown point failed.
    pub hook_failed: bool,
    /// A `stop_when` with `then: stop` fired, or a step's `when:` could not be decided:
    /// the run fails though no point did.
    pub condition_failed: bool,
    /// The reason already says the instrument is unreachable.
    pub unreachable_said: bool,
    /// First reason the run is failing.
    pub reason: Option<String>,
}

impl Sequencer {
    /// Writes the point record of one attempt; returns its id and status.
    pub(super) fn write_point(&mut self, d: &Dispatch, out: &Attempt<'_>) -> (&str, &'static str) {
        // Reused: no allocation per point.
        let mut id = std::mem::take(&mut self.id);
        id.clear();
        id.push_str(&d.path);
        id.push('/');
        push_decimal(&mut id, d.index);
        let status = match out.kind {
            None => "ok",
            Some(FailKind::Aborted | FailKind::Deadline) => "aborted",
            Some(_) => "failed",
        };
        let record = runlog::Point {
            id: &id,
            step: &d.path,
            instrument: self
                .seq
                .instruments
                .get(d.step.instrument)
                .map_or("", |i| i.name.as_str()),
            index: d.index,
            vars: runlog::VarMap(&d.names, &d.vars),
            conn: out.conn,
            attempt: d.attempt,
            status,
            error: out.error.as_deref(),
            started_at: out.started_at,
            elapsed_ms: out.elapsed,
            commands: out.exchanges,
            values: runlog::PairMap(out.values),
        };
        self.tally.busy = self.tally.busy.saturating_add(out.elapsed);
        if let Err(e) = self.log.append_point(&record) {
            self.log_failed(&e);
        }
        self.id = id;
        (&self.id, status)
    }

    /// Writes the point records appended while the sequencer handled its mailbox (run after
    /// every wake-up, see `started`), and starts an fsync once a mebibyte is unsynced.
    pub(super) fn flush_log_after_wakeup(&mut self, ctx: &mut Context<Self>) {
        self.flush_log();
        if self.log.unsynced() >= super::SYNC_BYTES {
            self.sync_in_background(ctx);
        }
    }

    /// Writes the records appended since the last flush.
    fn flush_log(&mut self) {
        if self.log.pending() > 0
            && let Err(e) = self.log.flush()
        {
            self.log_failed(&e);
        }
    }

    pub(super) fn log_failed(&mut self, e: &std::io::Error) {
        if self.log_error.is_none() {
            tracing::error!(path = %self.log.path().display(), "cannot write run log: {e}; stopping");
            self.log_error = Some(e.to_string());
            self.stop_dispatch();
        }
    }

    /// The log is no longer whole at its path (deleted, moved, truncated): says so, and
    /// stops the run like a failure (teardown still runs); the summary and the stop record
    /// (written wherever the file now is) say why.
    pub(super) fn log_lost(&mut self, lost: &runlog::LostLog) {
        if self.log_error.is_none() {
            tracing::warn!("run log {lost}; stopping: no new points, teardown still runs");
            self.log_error = Some(lost.to_string());
            self.stop_dispatch();
        }
    }

    /// Writes the stop record, forces the log to disk, reports the summary and stops.
    pub(super) fn finish(&mut self, ctx: &mut Context<Self>) {
        let Some(ended_in) = self.phase.end() else {
            return;
        };
        let abort_reason = ended_in.abort_reason().map(ToOwned::to_owned);
        self.drop_again();
        // A run shorter than a second may end before any background check.
        self.flush_log();
        if self.log_error.is_none() {
            match self.log.check_intact() {
                Ok(Some(lost)) => self.log_lost(&lost),
                Ok(None) => {}
                Err(e) => self.log_failed(&e),
            }
        }
        if self.shown {
            // Ended by force in the middle of a step: its progress ends here.
            self.shown = false;
            self.progress.step_ended();
        }
        let total = self.seq.total_points();
        let skipped = self.cursor.skipped();
        let not_run = total.saturating_sub(
            self.tally.ok + self.tally.failed + self.tally.aborted_points + skipped,
        );
        let (exit_status, reason) = if let Some(why) = abort_reason {
            ("abort", why)
        } else if self.tally.failed > 0
            || self.tally.hook_failed
            || self.tally.condition_failed
            || self.log_error.is_some()
        {
            let reason = self
                .tally
                .reason
                .clone()
                .or_else(|| self.log_error.clone())
                .unwrap_or_default();
            ("fail", reason)
        } else if self.tally.ok + skipped != total {
            // Nothing failed, yet not every point is recorded ok or skipped by design: a
            // bookkeeping bug. A run never says `success` unless it measured every point
            // of its sequence that it was meant to.
            tracing::error!(
                "internal error: {} of {total} points recorded ok, {skipped} skipped and none failed; please report this",
                self.tally.ok
            );
            let why = format!(
                "internal error: only {} of {total} points ok ({skipped} skipped)",
                self.tally.ok
            );
            ("fail", why)
        } else if skipped > 0 {
            let ok = self.tally.ok;
            let why = format!(
                "{ok} of {total} points ok, {skipped} skipped by design (`stop_when`, `when:`)"
            );
            ("success", why)
        } else {
            ("success", format!("all {total} points ok"))
        };
        let stop = runlog::Stop {
            exit_status,
            reason: &reason,
            points_ok: self.tally.ok,
            points_failed: self.tally.failed,
            points_aborted: self.tally.aborted_points,
            points_skipped: skipped,
            points_not_run: not_run,
            retries: self.tally.retried,
            ended_at: SystemTime::now(),
        };
        if let Err(e) = self.log.write_stop(&stop) {
            self.log_failed(&e);
        }
        let summary = Summary {
            exit_status,
            reason,
            points_ok: self.tally.ok,
            points_failed: self.tally.failed,
            points_aborted: self.tally.aborted_points,
            points_skipped: skipped,
            points_not_run: not_run,
            retries: self.tally.retried,
            busy: self.tally.busy,
            log_error: self.log_error.clone(),
        };
        if let Some(done) = self.done.take() {
            let _ = done.send(summary);
        }
        ctx.stop();
    }
}
