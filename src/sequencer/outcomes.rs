//! What the sequencer does with the outcomes its pools send back ([`Outcomes`]): record
//! each attempt, retry what may be retried, apply the failure policy (stopping the run and
//! taking back the points waiting in the pools), and dispatch again the points a pool gave
//! back unrun. A point's lane (`lanes.rs`) is freed here, once its outcome is final.

use actix::prelude::*;

use super::records::Attempt;
use super::{Dispatch, Kind, Sequencer};
use crate::exec::FailKind;
use crate::pool::{Outcome, Outcomes, Proceed, Unrun, Verdict};
use crate::sequence::OnError;

impl Sequencer {
    /// What became of a dispatch came back from its pool (the caller pumps after).
    pub(super) fn judge(&mut self, out: Outcome, ctx: &mut Context<Self>) {
        let Some(d) = self.flying.remove(out.serial) else {
            return;
        };
        self.in_flight -= 1;
        self.caps[d.step.instrument] = out.cap;
        if out.verdict.holds_the_pool() {
            // The pool holds its waiting points until this failure is judged: it hears so
            // once the whole batch is (`Handler<Outcomes>`), after any `DropQueued`.
            self.proceed.push(d.step.instrument);
        }
        match out.verdict {
            Verdict::Again(ran) => {
                // The point goes out again when a connection is free (`pump` drops it if
                // the run is stopping). Commands that went out are recorded first, as an
                // attempt.
                let d = match ran {
                    None => d,
                    Some(ran) => {
                        self.write_point(&d, &Attempt::ran(out.conn, &ran));
                        Dispatch {
                            attempt: d.attempt.saturating_add(1),
                            recorded: true,
                            ..d
                        }
                    }
                };
                self.again.push_back(d);
            }
            Verdict::NotStarted => self.not_started(&d),
            Verdict::Ran(ran) => self.complete(d, &Attempt::ran(out.conn, &ran), false, ctx),
            Verdict::Failed(e) => {
                let unreachable = matches!(e, Unrun::Unreachable { .. });
                let attempt = Attempt::unrun(out.conn, e.to_string(), FailKind::NoConnection);
                self.complete(d, &attempt, unreachable, ctx);
            }
        }
    }

    /// A point handed back unstarted: not run, and no record; but a failed attempt recorded
    /// before (a retry's, or a session refused a little late) is now final.
    pub(super) fn not_started(&mut self, d: &Dispatch) {
        self.lane_free(d);
        if d.kind == Kind::Step && !d.recorded && self.cursor.halted() {
            // Given back after a `stop_when` halted its stage.
            self.cursor.skip_unstarted();
        }
        if d.try_no > 1 {
            // Counted when it was dispatched; it never ran.
            self.tally.retried = self.tally.retried.saturating_sub(1);
        }
        if d.recorded {
            self.failed_finally(d, "the run stopped before the retry started", false, false);
        }
    }

    /// The run is stopping: the points given back to be dispatched again never start.
    pub(super) fn drop_again(&mut self) {
        while let Some(d) = self.again.pop_front() {
            self.not_started(&d);
        }
    }

    /// Records a finished attempt; retries it, or applies the failure policy.
    pub(super) fn complete(
        &mut self,
        d: Dispatch,
        out: &Attempt<'_>,
        unreachable: bool,
        ctx: &mut Context<Self>,
    ) {
        let status = self.write_point(&d, out).1;
        let (Some(kind), Some(err)) = (out.kind, &out.error) else {
            self.lane_free(&d);
            if d.kind == Kind::Step {
                self.tally.ok += 1;
                self.progress.point_done(true);
                if let Some(fired) = out.fired {
                    self.fired(&d, fired);
                }
            }
            return;
        };
        let id = format!("{}/{}", d.path, d.index);
        let retry = match kind {
            FailKind::Connection => true,
            FailKind::PollTimeout => d.step.retry_on.poll_timeout,
            FailKind::Mismatch => d.step.retry_on.mismatch,
            FailKind::Aborted
            | FailKind::Deadline
            | FailKind::NoConnection
            | FailKind::Evaluation => false,
        };
        // Teardown keeps its retries while the run stops: that is when connections break.
        let may_start = self.phase.dispatching() || d.kind == Kind::Teardown;
        if retry && d.try_no <= d.step.retries && may_start {
            tracing::warn!(point = %id, attempt = d.attempt, conn = out.conn, "retrying: {err}");
            self.tally.retried += 1;
            let again = Dispatch {
                attempt: d.attempt.saturating_add(1),
                try_no: d.try_no + 1,
                recorded: true,
                ..d
            };
            self.dispatch(again, ctx);
            return;
        }
        tracing::warn!(point = %id, conn = out.conn, "point {status}: {err}");
        self.lane_free(&d);
        self.failed_finally(
            &d,
            err,
            unreachable,
            matches!(kind, FailKind::Aborted | FailKind::Deadline),
        );
    }

    /// Counts a point whose last record is a failure, and applies the failure policy.
    pub(super) fn failed_finally(
        &mut self,
        d: &Dispatch,
        err: &str,
        unreachable: bool,
        aborted: bool,
    ) {
        match d.kind {
            Kind::Step if aborted => self.tally.aborted_points += 1,
            Kind::Step => self.tally.failed += 1,
            Kind::Setup | Kind::Teardown => self.tally.hook_failed = true,
        }
        if d.kind == Kind::Step {
            self.progress.point_done(false);
        }
        // The first failure explains the run; a lost instrument explains it better, unless
        // it only showed at teardown after a sweep point already said so.
        let better = unreachable && (d.kind != Kind::Teardown || !self.tally.unreachable_said);
        if unreachable {
            self.tally.unreachable_said = true;
        }
        if better || self.tally.reason.is_none() {
            self.tally.reason = Some(format!("point `{}/{}` failed: {err}", d.path, d.index));
        }
        if d.kind == Kind::Setup || unreachable || self.seq.on_error == OnError::Stop {
            self.stop_dispatch();
        }
    }
}

impl Handler<Outcomes> for Sequencer {
    type Result = ();

    fn handle(&mut self, msg: Outcomes, ctx: &mut Self::Context) {
        for out in msg.0 {
            self.judge(out, ctx);
        }
        // Once for the batch: every outcome in it is judged (a failure that stops the run
        // included) before anything new is dispatched.
        self.pump(ctx);
        // Judged, all of them (and any `DropQueued` sent): the pools may go on.
        for pool in std::mem::take(&mut self.proceed) {
            self.pools[pool].do_send(Proceed);
        }
    }
}
