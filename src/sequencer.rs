//! Sequencer actor: walks setup, the steps and teardown, lets at most `concurrency` points
//! of the current step run at once (a sweep step keeps as many again waiting in the pool,
//! so that a connection gets its next point the moment it reports), retries what may be
//! retried, and writes every outcome to the run log.
//!
//! Only points the sequence declares independent overlap: a step without `parallel:` runs
//! one point at a time, and one with `parallel: [ch]` one point of each lane (each value of
//! `ch`) at a time; a lane's point holds it until its final outcome, retries included
//! (`lanes.rs`). `parallel: all` dispatches in index order, the fast path.
//!
//! Points are numbered and rendered here, in dispatch order, from the step's lazy sweep, so
//! memory does not grow with the number of points. Each point goes to its instrument's
//! [`Pool`] as a [`Job`] (its [`Execute`]) in one [`Work`] message per mailbox batch; its
//! [`Verdict`](crate::pool::Verdict) comes back to this actor in an
//! [`Outcomes`](crate::pool::Outcomes), which records it: the point records of one batch
//! are written together after the mailbox is handled (one write), and the log is fsynced the log at least once a second (sooner after a
//! mebibyte of records: the fsync at the end then has little left to write). Steps run one after
//! another: the next starts when the last point of the current one has come back. The
//! pools' connect records (each new connection's `on_connect` exchanges) are written here
//! too, as they arrive (`connects.rs`, [`Connected`](crate::pool::Connected)).
//!
//! Stopping: after a failure under `on_error: stop`, an unreachable instrument, or a first
//! [`Interrupt`], no new point is dispatched (points waiting in a pool are handed back), in-
//! flight ones finish, and teardown still runs. A second interrupt cancels the points in
//! flight (recorded `aborted`, their connections closed) and runs teardown with a short
//! timeout. A resumed run ([`Resume`]) skips the points its log already has as `ok`. The
//! final [`Summary`] goes to whoever started the run.
//!
//! Progress: each sweep step's start, its points' final outcomes, the points in flight and
//! its end go to a [`Progress`] sink ([`Sequencer::with_progress`]; by default [`Silent`]),
//! which is how the terminal shows a progress bar without this actor knowing about it.

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::abort::Abort;
use crate::connection::Execute;
use crate::exec::Values;
use crate::pool::{Job, Pool, Subscribe, Work};
use crate::resume::Resume;
use crate::runlog::{self, RunLog};
use crate::sequence::value::Value;
use crate::sequence::{LetFailed, Sequence, Step};
use crate::wakeup::EveryWakeup;

mod breaks;
mod connects;
mod cursor;
mod flying;
mod interrupt;
mod lanes;
mod outcomes;
mod phase;
mod progress;
mod records;
mod sync;

use cursor::Cursor;
use flying::Flying;
use phase::Phase;
pub use progress::{Progress, Silent};
pub use records::Summary;
use records::Tally;

/// Per-command reply timeout of teardown after a second interrupt.
pub const ABORT_TEARDOWN_TIMEOUT: Duration = Duration::from_secs(2);
/// After a second interrupt the run ends within this time, teardown finished or not.
pub const CANCEL_GRACE: Duration = Duration::from_secs(10);
/// How often unsynced records are forced to disk.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// How many unsynced bytes of records start an fsync without waiting for [`SYNC_EVERY`]: a
/// fast run writes megabytes a second, and the fsync at the end (which the run waits for)
/// would otherwise write them all at once (50 ms for 7 MB on this machine's disk).
const SYNC_BYTES: u64 = 1 << 20;

/// Stop the run. Signals escalate: the first stops dispatching, the second cancels the
/// points in flight, the third exits at once. The deadline and a hangup act like a first
/// signal, and never escalate.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub enum Interrupt {
    /// Ctrl-C or SIGTERM.
    Signal,
    /// SIGHUP: the terminal hung up.
    Hangup,
    /// The run's deadline passed (with why).
    Deadline(String),
}

/// Which part of the sequence a stage is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Setup,
    Step,
    Teardown,
}

/// One dispatch of a point: what the outcome needs to be recorded (and retried).
struct Dispatch {
    kind: Kind,
    step: Arc<Step>,
    /// Its stage's path (`T/2/iv`, `iv`, `setup`): the record's `step`, its id's prefix.
    path: Rc<str>,
    /// The names of `vars` (the loops' variables, then the step's own).
    names: Rc<[String]>,
    index: u64,
    /// The loops' values, then the step's own, then its `let:` values: shared with the
    /// point's [`Values`] (no copy per point).
    vars: Arc<[Value]>,
    /// The `let:` value that could not be computed for this point (`vars` then ends before
    /// it): the point fails with it, sending nothing.
    fault: Option<Box<LetFailed>>,
    /// Its lane in the stage's [`Feed`](lanes::Feed), busy until this point's final outcome (none when
    /// every point is independent).
    lane: Option<u64>,
    /// Attempt number written in the log (continues across resumes).
    attempt: u32,
    /// Tries of this point in this process, from 1 (bounded by `retries`).
    try_no: u32,
    /// An earlier attempt of this point is recorded as failed: if this one never starts,
    /// that failure is the point's outcome.
    recorded: bool,
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
    /// An fsync of the log is under way on a blocking thread.
    syncing: bool,
    /// Where the run is in its sequence: the current stage and its next point.
    cursor: Cursor,
    /// Points dispatched and not yet finally recorded.
    in_flight: usize,
    /// Points dispatched and not yet sent, per instrument: sent to the pools together once
    /// the mailbox is handled (see `send_work`).
    outbox: Vec<Vec<Job>>,
    /// Those points, by dispatch serial, so that a run ended by force can still record them.
    flying: Flying,
    /// Pools (by instrument) to send a `Proceed` once the current batch of outcomes is
    /// judged: one per failure they hold their waiting points for.
    proceed: Vec<usize>,
    /// Points of the current stage a pool gave back unrun (`again`), dispatched before any
    /// new one.
    again: VecDeque<Dispatch>,
    /// Serial of the next dispatch.
    serial: u64,
    /// Where the run is; changed only in `phase.rs` (and to `Finished` by `finish`).
    phase: Phase,
    /// The points' final outcomes counted so far, for the stop record and the summary.
    tally: Tally,
    /// Scratch for a point's variable values.
    vars: Vec<Value>,
    /// Scratch for a point's own values in a loop (before the loops' go in front).
    own: Vec<Value>,
    /// Whether the stage at this path reruns its points already ok (`on_resume: rerun`),
    /// and whether it does again what the resumed log's breaks did (skips its points not
    /// ok): decided once per stage.
    rerun: Option<(Rc<str>, bool, bool)>,
    /// Scratch for a point's id (`step/index`) while its record is written.
    id: String,
    /// Receives the summary when the run ends.
    done: Option<oneshot::Sender<Summary>>,
    /// First run-log write error; the run stops when set.
    log_error: Option<String>,
    /// Abort epoch: raising it cancels every point dispatched before.
    abort: Abort,
    /// What a resumed log already holds.
    resume: Resume,
    /// Told about each sweep step's progress; [`Silent`] unless set by `with_progress`.
    progress: Box<dyn Progress>,
    /// The progress sink was told the current stage started (and must hear it end).
    shown: bool,
    /// Tells the operator how the run is stopping; [`log_notice`] unless set by
    /// `with_notices`.
    notify: Notify,
}

/// Tells the operator something about the run as a whole (how it is stopping), at a level.
/// The app passes its stderr writer; the sequencer does not know where its operator is.
pub type Notify = fn(tracing::Level, &str);

/// The default [`Notify`]: a `tracing` event at that level.
pub fn log_notice(level: tracing::Level, text: &str) {
    match level {
        tracing::Level::ERROR => tracing::error!("{text}"),
        tracing::Level::WARN => tracing::warn!("{text}"),
        _ => tracing::info!("{text}"),
    }
}

impl Sequencer {
    /// A sequencer for `seq` over `pools` (one per instrument, with the connections each
    /// opened) writing to `log`. `abort` is the run's abort epoch, shared with the pools and
    /// the points they run.
    pub fn new(
        seq: Arc<Sequence>,
        pools: Vec<(Addr<Pool>, usize)>,
        log: RunLog,
        abort: Abort,
        resume: Resume,
        done: oneshot::Sender<Summary>,
    ) -> Self {
        let (pools, caps): (Vec<_>, _) = pools.into_iter().unzip();
        let outbox = pools.iter().map(|_| Vec::new()).collect();
        Sequencer {
            cursor: Cursor::new(&seq),
            seq,
            pools,
            caps,
            log,
            syncing: false,
            in_flight: 0,
            outbox,
            flying: Flying::default(),
            proceed: Vec::new(),
            again: VecDeque::new(),
            serial: 0,
            phase: Phase::Running,
            tally: Tally::default(),
            vars: Vec::new(),
            own: Vec::new(),
            rerun: None,
            id: String::new(),
            done: Some(done),
            log_error: None,
            abort,
            resume,
            progress: Box::new(Silent),
            shown: false,
            notify: log_notice,
        }
    }

    /// The same sequencer reporting each sweep step's progress to `progress`.
    #[must_use]
    pub fn with_progress(mut self, progress: Box<dyn Progress>) -> Self {
        self.progress = progress;
        self
    }

    /// The same sequencer telling the operator how the run stops through `notify`.
    #[must_use]
    pub fn with_notices(mut self, notify: Notify) -> Self {
        self.notify = notify;
        self
    }

    /// Dispatches what may run now, moves to the next stage when one is finished, and ends
    /// the run after the last.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        loop {
            if let Some(why) = self.cursor.take_gate_error() {
                // Whether the step is meant to run is unknown: stop as failed.
                self.tally.condition_failed = true;
                self.tally.reason.get_or_insert(why);
                self.stop_dispatch();
            }
            let Some((kind, step)) = self.cursor.stage().map(|c| (c.kind, c.step().clone())) else {
                if self.in_flight == 0 {
                    self.finish(ctx);
                }
                return;
            };
            let skip = !self.phase.dispatching() && kind != Kind::Teardown;
            let limit = self.limit(&step);
            // A sweep step's next points wait in the pool, so that a connection gets its
            // next point as soon as it reports (the pool runs at most `limit` at once). In
            // lanes, each of these is another lane's, and at most `window` lanes are open.
            let window = if kind == Kind::Step { 2 * limit } else { limit };
            if kind == Kind::Step && !skip && !self.shown {
                self.shown = true;
                let path = self.cursor.stage().map_or("", |c| &c.path);
                self.progress.step_started(path, step.points());
            }
            // A halted stage (a `stop_when` fired) starts no point again either.
            if skip || self.cursor.halted() {
                self.drop_again();
            }
            while !skip && self.in_flight < window {
                let Some(d) = self.again.pop_front() else {
                    break;
                };
                self.dispatch(d, ctx);
            }
            if !skip {
                self.dispatch_new(kind, &step, window, ctx);
            }
            if self.shown {
                self.progress.in_flight(self.in_flight.min(limit), limit);
            }
            let more = self.cursor.has_more();
            if self.in_flight > 0 || !self.again.is_empty() || (!skip && more) {
                return;
            }
            if self.shown {
                self.shown = false;
                self.progress.step_ended();
            }
            // Stage done (or skipped): on to the next one.
            self.cursor.advance();
        }
    }

    /// Most points of `step` to run at once: its `concurrency`, at most the connections its
    /// instrument's pool keeps.
    fn limit(&self, step: &Step) -> usize {
        let cap = self.caps.get(step.instrument).copied().unwrap_or(1).max(1);
        step.concurrency.min(cap)
    }

    /// True when a resumed log already has this point of the stage at `path` (with the
    /// vars in `self.vars`, named `names`) as ok. Setup counts only if no teardown ran after
    /// it (else the instrument is torn down).
    fn already_ok(&self, kind: Kind, path: &str, names: &[String], index: u64) -> bool {
        (kind != Kind::Setup || !self.resume.torn_down())
            && self.resume.is_ok(path, index)
            && self
                .resume
                .same_vars(path, index, &runlog::VarMap(names, &self.vars))
    }

    /// Renders a point and sends it to its instrument's pool.
    fn dispatch(&mut self, d: Dispatch, ctx: &mut Context<Self>) {
        self.in_flight += 1;
        let teardown = d.kind == Kind::Teardown;
        let serial = self.serial;
        self.serial += 1;
        let point = Execute {
            serial,
            step: d.step.clone(),
            commands: 0..d.step.commands.len(),
            values: Values {
                fault: d.fault.clone(),
                ..Values::new(d.vars.clone(), d.step.keeps_measured, d.step.commands.len())
            },
            // Teardown is never cancelled: the instrument must be left safe.
            epoch: if teardown {
                u64::MAX
            } else {
                self.abort.epoch()
            },
            timeout_cap: (matches!(self.phase, Phase::Cancelled(_)) && teardown)
                .then_some(ABORT_TEARDOWN_TIMEOUT),
        };
        let msg = Job {
            point,
            limit: self.limit(&d.step),
        };
        if self.outbox.iter().all(Vec::is_empty) {
            // Polled once the mailbox is handled, in this same wake-up of the actor.
            ctx.spawn(actix::fut::ready(()).map(|(), act: &mut Self, _| act.send_work()));
        }
        self.outbox[d.step.instrument].push(msg);
        self.flying.push(serial, d);
    }

    /// Sends the points dispatched since the last call to their pools, one message each.
    fn send_work(&mut self) {
        for (pool, work) in self.pools.iter().zip(&mut self.outbox) {
            if !work.is_empty() {
                // The next batch is likely as large: room for it at once.
                let next = Vec::with_capacity(work.len());
                pool.do_send(Work(std::mem::replace(work, next)));
            }
        }
    }
}

impl Actor for Sequencer {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Before any point: where the pools send outcomes.
        for pool in &self.pools {
            pool.do_send(Subscribe {
                outcomes: ctx.address().recipient(),
                connected: ctx.address().recipient(),
            });
        }
        // The connections opened so far come before any point; later ones as they open.
        ctx.spawn(EveryWakeup::new(Sequencer::flush_log_after_wakeup));
        // Records are written at once; this bounds what a machine crash can lose to a second
        // (or a mebibyte of records, `flush_log_after_wakeup`).
        ctx.run_interval(SYNC_EVERY, Sequencer::sync_in_background);
        self.pump(ctx);
    }
}
