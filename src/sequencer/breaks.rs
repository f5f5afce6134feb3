//! What the sequencer does when a step's `stop_when:` condition held after one of its
//! points ([`Fired`], reported by the connection that ran the point): it writes a `break`
//! record right after the point's, then acts. `break`, `{next: LOOP}` and `{break: LOOP}`
//! halt the stage (no new point; the points waiting in a pool are handed back; points
//! running finish and are recorded) and move the cursor past what they end; the points
//! passed over are skipped, not failed, and the run can still succeed. `stop` stops the run
//! like a failure: in-flight points finish, teardown runs, the stop record says `fail`
//! with the condition, the point and the values.
//!
//! Every firing is recorded and acted on, also a second one from a point that was already
//! in flight when the first fired: acting again is harmless (nothing is counted twice).

use std::time::SystemTime;

use super::phase::Phase;
use super::{Dispatch, Kind, Sequencer};
use crate::exec::Fired;
use crate::runlog;
use crate::sequence::Action;
use crate::sequence::expr::show_values;

impl Sequencer {
    /// The `stop_when` condition `fired` of `d`'s step held after point `d` (recorded ok).
    pub(super) fn fired(&mut self, d: &Dispatch, fired: &Fired) {
        let Some(cond) = d.step.stop_when.get(fired.condition) else {
            tracing::error!(
                step = %d.path,
                "internal error: condition {} of {} fired; please report this",
                fired.condition,
                d.step.stop_when.len()
            );
            return;
        };
        let id = format!("{}/{}", d.path, d.index);
        let record = runlog::Break {
            id: &id,
            step: &d.path,
            index: d.index,
            condition: &cond.text,
            action: cond.action.to_json(),
            values: runlog::ValueMap(&fired.values),
            at: SystemTime::now(),
        };
        if let Err(e) = self.log.append_record("break", &record) {
            self.log_failed(&e);
        }
        let what = format!(
            "stop_when `{}` held at `{id}`{}",
            cond.text,
            show_values(&fired.values)
        );
        tracing::info!(point = %id, action = %cond.action, "{what}");
        // The stage the point belongs to is the current one (a stage ends only once its
        // points are all back); a point of another kind has no conditions.
        let current = self
            .cursor
            .stage()
            .is_some_and(|c| c.kind == Kind::Step && *c.path == *d.path);
        if d.kind != Kind::Step || !current {
            return;
        }
        if cond.action == Action::Stop {
            self.tally.condition_failed = true;
            if self.tally.reason.is_none() {
                self.tally.reason = Some(what);
            }
            self.stop_dispatch();
            return;
        }
        (self.notify)(
            tracing::Level::INFO,
            &format!("{what}: {}", describe(&cond.action)),
        );
        let first = !self.cursor.halted();
        self.cursor.halt(&cond.action);
        if first && self.phase == Phase::Running {
            // Points waiting in a pool never start: handed back, they are skipped.
            self.take_back();
        }
    }
}

/// What an action does, for the operator.
fn describe(action: &Action) -> String {
    match action {
        Action::Break => "no more points of this step".to_owned(),
        Action::Stop => "stopping the run".to_owned(),
        Action::Next(l) => format!("on to the next iteration of loop `{}`", l.name),
        Action::BreakLoop(l) => format!("leaving loop `{}`", l.name),
    }
}
