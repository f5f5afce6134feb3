//! Sequencer actor: walks setup, the steps and teardown, keeps at most `concurrency` points
//! of the current step in flight, and writes every outcome to the run log.
//!
//! Points are numbered and rendered here, in dispatch order, from the step's lazy sweep, so
//! memory does not grow with the number of points. Each point goes to its instrument's
//! [`Pool`] as an [`Execute`]; the outcome comes back to this actor, which writes the point
//! record at once. Steps run one after another: the next starts when the last point of the
//! current one has come back. After a failure under `on_error: stop`, or an [`Interrupt`],
//! no new point is dispatched, in-flight ones finish, and teardown still runs. The final
//! [`Summary`] goes to whoever started the run.

use std::sync::Arc;
use std::time::SystemTime;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::exec::Outcome;
use crate::pool::{DropQueued, Execute, Pool};
use crate::runlog::{self, RunLog};
use crate::sequence::value::Value;
use crate::sequence::{OnError, Sequence, Step};

/// How the run ended, for the caller's exit code and summary.
#[derive(Debug, Clone)]
pub struct Summary {
    /// `success`, `fail` or `abort`, as in the stop record.
    pub exit_status: &'static str,
    /// Why.
    pub reason: String,
    /// Sweep points that succeeded.
    pub points_ok: u64,
    /// Sweep points that failed.
    pub points_failed: u64,
    /// Sweep points never dispatched.
    pub points_not_run: u64,
    /// Writing the run log failed: the run was stopped.
    pub log_error: Option<String>,
}

/// Stop dispatching new points (the operator pressed Ctrl-C); in-flight points finish and
/// teardown runs.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Interrupt;

/// Which part of the sequence a stage is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Setup,
    Step,
    Teardown,
}

/// The sequencer's state.
pub struct Sequencer {
    /// The validated sequence.
    seq: Arc<Sequence>,
    /// One pool per instrument, by instrument index.
    pools: Vec<Addr<Pool>>,
    /// Connections each pool keeps (from opening, updated with every outcome): points in
    /// flight on an instrument never exceed it.
    caps: Vec<usize>,
    /// Where records go; written only here.
    log: RunLog,
    /// Setup steps, steps, teardown steps, flattened in run order.
    stages: Vec<(Kind, Arc<Step>)>,
    /// Current stage.
    stage: usize,
    /// Next point index to dispatch in the current stage.
    next: u64,
    /// Point index offset of the current stage (setup/teardown number on across instruments).
    offset: u64,
    /// Points dispatched and not yet back.
    in_flight: usize,
    /// No new setup or step points; set by a failure under `on_error: stop` or an interrupt.
    stopping: bool,
    /// Set by an interrupt: the stop record says `abort`.
    aborted: bool,
    /// First reason the run is failing or stopping.
    reason: Option<String>,
    /// A setup or teardown point failed.
    hook_failed: bool,
    /// Counts of sweep points.
    ok: u64,
    failed: u64,
    /// Scratch for a point's variable values, reused.
    vars: Vec<Value>,
    /// Receives the summary when the run ends.
    done: Option<oneshot::Sender<Summary>>,
    /// First run-log write error; the run stops when set.
    log_error: Option<String>,
}

impl Sequencer {
    /// A sequencer for `seq` over `pools` (one per instrument) writing to `log`.
    pub fn new(
        seq: Arc<Sequence>,
        pools: Vec<(Addr<Pool>, usize)>,
        log: RunLog,
        done: oneshot::Sender<Summary>,
    ) -> Self {
        let stages = seq
            .setup
            .iter()
            .map(|s| (Kind::Setup, s.clone()))
            .chain(seq.steps.iter().map(|s| (Kind::Step, s.clone())))
            .chain(seq.teardown.iter().map(|s| (Kind::Teardown, s.clone())))
            .collect();
        let (pools, caps) = pools.into_iter().unzip();
        Sequencer {
            seq,
            pools,
            caps,
            log,
            stages,
            stage: 0,
            next: 0,
            offset: 0,
            in_flight: 0,
            stopping: false,
            aborted: false,
            reason: None,
            hook_failed: false,
            ok: 0,
            failed: 0,
            vars: Vec::new(),
            done: Some(done),
            log_error: None,
        }
    }

    /// Dispatches what may run now, moves to the next stage when one is finished, and ends
    /// the run after the last.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        loop {
            let Some((kind, step)) = self.stages.get(self.stage).cloned() else {
                if self.in_flight == 0 {
                    self.finish(ctx);
                }
                return;
            };
            let skip = self.stopping && kind != Kind::Teardown;
            if !skip {
                let cap = self.caps.get(step.instrument).copied().unwrap_or(1).max(1);
                let limit = step.concurrency.min(cap);
                while self.in_flight < limit && self.next < step.points() {
                    self.dispatch(&step, ctx);
                }
            }
            if self.in_flight > 0 || (!skip && self.next < step.points()) {
                return;
            }
            // Stage done (or skipped): on to the next one.
            let same_hook = self
                .stages
                .get(self.stage + 1)
                .is_some_and(|(k, _)| *k == kind && kind != Kind::Step);
            self.offset = if same_hook {
                self.offset + self.next
            } else {
                0
            };
            self.stage += 1;
            self.next = 0;
        }
    }

    /// Renders point `self.next` of `step` and sends it to the instrument's pool.
    fn dispatch(&mut self, step: &Arc<Step>, ctx: &mut Context<Self>) {
        let index = self.offset + self.next;
        let sweep_index = self.next % step.sweep.len().max(1);
        self.next += 1;
        self.in_flight += 1;
        step.sweep.point_into(sweep_index, &mut self.vars);
        let texts = step
            .commands
            .iter()
            .map(|c| {
                c.template()
                    .map(|t| t.render_to_string(&self.vars))
                    .unwrap_or_default()
            })
            .collect();
        let vars = self.vars.clone();
        let step = step.clone();
        let kind = self.stages[self.stage].0;
        let msg = Execute {
            step: step.clone(),
            texts,
        };
        let fut = self.pools[step.instrument].send(msg);
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            let out = res.unwrap_or_else(|e| Outcome::not_run(0, format!("pool stopped: {e}")));
            act.in_flight -= 1;
            if let Some(cap) = out.pool_cap {
                act.caps[step.instrument] = cap;
            }
            // A skipped point never started: it counts as not run and has no record.
            if !out.skipped {
                act.complete(kind, &step, index, &vars, &out);
            }
            act.pump(ctx);
        }));
    }

    /// Records a finished point and applies the failure policy.
    fn complete(&mut self, kind: Kind, step: &Step, index: u64, vars: &[Value], out: &Outcome) {
        let id = format!("{}/{index}", step.name);
        let names = step.sweep.names();
        let record = runlog::Point {
            id: &id,
            step: &step.name,
            index,
            vars: runlog::VarMap(&names, vars),
            conn: out.conn,
            attempt: 1,
            status: if out.error.is_none() { "ok" } else { "failed" },
            error: out.error.as_deref(),
            started_at: out.started_at,
            elapsed_ms: out.elapsed,
            commands: &out.exchanges,
            values: runlog::PairMap(&out.values),
        };
        if let Err(e) = self.log.write("point", &record) {
            self.log_failed(&e);
        }
        let Some(err) = &out.error else {
            if kind == Kind::Step {
                self.ok += 1;
            }
            return;
        };
        tracing::warn!(point = %id, "point failed: {err}");
        match kind {
            Kind::Step => self.failed += 1,
            Kind::Setup | Kind::Teardown => self.hook_failed = true,
        }
        if self.reason.is_none() {
            self.reason = Some(format!("point `{id}` failed: {err}"));
        }
        if out.unreachable && !self.stopping {
            // Whatever `on_error` says: without the instrument there is nothing to run.
            self.reason = Some(err.clone());
        }
        if kind == Kind::Setup || out.unreachable || self.seq.on_error == OnError::Stop {
            self.stop_dispatch();
        }
    }

    /// No new setup or step points from now on; points waiting in a pool for a connection
    /// are handed back unstarted. In-flight points finish; teardown still runs.
    fn stop_dispatch(&mut self) {
        if !self.stopping {
            self.stopping = true;
            for pool in &self.pools {
                pool.do_send(DropQueued);
            }
        }
    }

    fn log_failed(&mut self, e: &std::io::Error) {
        if self.log_error.is_none() {
            tracing::error!(path = %self.log.path().display(), "cannot write run log: {e}; stopping");
            self.log_error = Some(e.to_string());
            self.stop_dispatch();
        }
    }

    /// Writes the stop record, reports the summary and stops.
    fn finish(&mut self, ctx: &mut Context<Self>) {
        let Some(done) = self.done.take() else { return };
        let total = self.seq.total_points();
        let not_run = total.saturating_sub(self.ok + self.failed);
        let (exit_status, reason) = if self.aborted {
            ("abort", "interrupted by the operator".to_owned())
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
            points_not_run: not_run,
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
            points_not_run: not_run,
            log_error: self.log_error.clone(),
        });
        ctx.stop();
    }
}

impl Actor for Sequencer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.pump(ctx);
    }
}

impl Handler<Interrupt> for Sequencer {
    type Result = ();

    fn handle(&mut self, _: Interrupt, _: &mut Self::Context) {
        if !self.aborted {
            self.aborted = true;
            self.stop_dispatch();
            eprintln!(
                "interrupted: finishing {} point(s) in flight, then teardown (Ctrl-C again to quit at once)",
                self.in_flight
            );
        }
    }
}
