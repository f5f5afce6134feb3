//! Pool actor: the connections to one instrument, up to `max_connections`.
//!
//! The run opens the pool with [`Open`]: all connections are dialled at once, and the answer
//! comes as soon as the first is open, so points start while the others connect. The
//! sequencer names itself with [`Subscribe`], then sends its points as [`Work`]; the pool
//! queues each [`Job`], hands its [`Execute`] to an idle
//! [`Connection`](crate::connection::Connection), turns the connection's [`Done`] into a
//! [`Verdict`] (with the pool's current cap) and sends those on to the sequencer in
//! [`Outcomes`]. Every message about a point is one-way, with no reply channel or task
//! per point, and the points dispatched (or
//! finished) while an actor handles one batch of its mailbox travel as one message.
//! Between the pool and its connections, the two messages of every point ([`Execute`] out,
//! [`Done`] back) go over channels each actor reads as a stream ([`Inbox`]) instead of
//! through mailboxes: a mailbox message costs two allocations (envelope and queue node),
//! and a connection would need a strong address of its pool per report. With its
//! connections holding the sending end of its `Done` channel, the pool no longer stops
//! by itself when the sequencer lets go of it; it checks after every wake-up (see
//! `started`).
//!
//! If the instrument takes fewer sessions than asked (a first dial fails, or a first
//! connection is closed at once: `refused`, see [`crate::connection`]), the pool keeps fewer and
//! warns once (`accepted 2 of 4 connections`). A connection whose point left it broken
//! stops itself; the pool forgets it and dials a replacement when work is waiting, backing
//! off (100 ms doubling to 5 s, with jitter) after failed dials. After `reconnect_attempts`
//! failures with no connection left, waiting points fail as `unreachable` and the sequencer
//! stops the run. [`DropQueued`] hands back points that have not started when the run stops.
//! The sequencer, not the pool, bounds points in flight. Each new connection's connect
//! record goes to the subscriber as [`Connected`], before the connection takes work.
//!
//! Logging, every line with `instrument` and `address`, and `conn` when it is about one
//! connection: each dial (debug at opening, info for a reconnect attempt), its failure
//! (debug at opening; warn later), the connections accepted when fewer than asked (warn),
//! `reconnected`, the backoff before a redial (info), and giving up (warn, or error when no
//! connection is left).

use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{mpsc, oneshot};

mod dial;
mod lend;
use crate::abort::Abort;
use crate::connection::{
    Dialer, Done, Execute, Fate, Inbox, Lenders, NotRun, Outlet, SessionError,
};
use crate::exec::Ran;
use crate::runlog;
use crate::sequence::{Address, Instrument};
use crate::wakeup::EveryWakeup;
pub use dial::backoff;
pub use lend::{Borrow, Lending};

/// Dials every connection; replies as soon as one is open with how many the pool will
/// keep (at most `max_connections`), or with the last connect error when none could be.
#[derive(Message)]
#[rtype(result = "Result<usize, SessionError>")]
pub struct Open;

/// Names the actor that receives the points' outcomes ([`Outcomes`]) and the new
/// connections' records ([`Connected`]); sent once, before any [`Work`] (a pool without one
/// has nowhere to send outcomes). The records of the connections opened before it arrive
/// first.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe {
    /// Where outcomes go.
    pub outcomes: Recipient<Outcomes>,
    /// Where connect records go.
    pub connected: Recipient<Connected>,
}

/// A new connection's connect record (its greeting and `on_connect` exchanges), sent
/// before the connection takes work, so it is logged before its points.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connected(pub runlog::Connect);

/// Hands over the connect records of the connections opened before anyone subscribed
/// (for a run that ends while connecting, to log them).
#[derive(Message)]
#[rtype(result = "Vec<runlog::Connect>")]
pub struct TakeConnects;

/// Points to run, in dispatch order: those the sender dispatched to this pool while it
/// handled one batch of its mailbox (one message for them all, not one each).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Work(pub Vec<Job>);

/// One point to run, and how many points of its stage may run at once.
pub struct Job {
    /// The point, passed on to a connection.
    pub point: Execute,
    /// Most points of its stage to run at once (the step's `concurrency`, at most the
    /// connections): the sender may dispatch more, which wait in the pool's queue.
    pub limit: usize,
}

/// What became of several points: those whose outcome reached the pool while it handled
/// one batch of its mailbox. Declared beside the pool, which sends it (the sequencer above
/// handles it: see the layering rule in `lib.rs`).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Outcomes(pub Vec<Outcome>);

/// What became of the point dispatched as `serial`.
pub struct Outcome {
    /// The dispatcher's number of the point ([`Execute::serial`]).
    pub serial: u64,
    /// The connection that had it (0 if none did).
    pub conn: usize,
    /// How many connections the pool keeps now: points in flight on the instrument should
    /// not outnumber them.
    pub cap: usize,
    /// What became of it.
    pub verdict: Verdict,
}

/// What became of a point, in the pool's words.
pub enum Verdict {
    /// It ran on a connection: this attempt, ok or failed.
    Ran(Ran),
    /// To run again when a connection is free, without using up a retry: its session was
    /// refused or lost. The commands that did go out (a session refused a little late),
    /// if any, are a failed attempt to record first.
    Again(Option<Ran>),
    /// Never started: handed back because the run is stopping ([`DropQueued`]).
    NotStarted,
    /// It could not run at all.
    Failed(Unrun),
}

impl Verdict {
    /// After a failed point, or one whose `stop_when:` fired, the pool starts none of its
    /// waiting points until the subscriber has judged it (taking them back if it halts the
    /// stage) and answers with a [`Proceed`]: the one rule both sides read here.
    pub fn holds_the_pool(&self) -> bool {
        match self {
            Verdict::Ran(ran) => ran.error.is_some() || ran.fired.is_some(),
            Verdict::Failed(_) => true,
            Verdict::Again(_) | Verdict::NotStarted => false,
        }
    }
}

/// Why a point could not run at all.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unrun {
    /// Every reconnect attempt failed and no connection is left: the run must stop.
    #[error("instrument at `{address}` unreachable: {attempts} reconnect attempts failed, the last with: {}", cause.as_ref().map_or_else(|| "refused".to_owned(), ToString::to_string))]
    Unreachable {
        address: String,
        attempts: u32,
        cause: Option<SessionError>,
    },
    /// The connection went away under it.
    #[error(transparent)]
    Connection(NotRun),
}

/// The subscriber has judged a failed point and the run goes on (or only teardown is left):
/// waiting points may start again (see [`Verdict::holds_the_pool`]).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Proceed;

/// Hands back every point still waiting for a connection, unstarted
/// ([`Verdict::NotStarted`]): the run is stopping and must not start them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DropQueued;

/// A connection as the pool knows it: its id, and where its points go.
type Member = (usize, Outlet<Execute>);

/// Where the pool is in redialling after failed dials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Redial {
    /// No dial failed since the last one that succeeded: dial as soon as work waits.
    Clear,
    /// This many dials failed in a row; the next one waits for its backoff.
    Failed(u32),
    /// Waiting out the backoff after this many failed dials.
    BackingOff(u32),
    /// The backoff after this many failed dials is over: the next dial may start.
    Ready(u32),
    /// The dial after this many failed ones is under way; its end makes the state `Clear`
    /// or `Failed` again.
    Dialing(u32),
}

impl Redial {
    /// Failed dials in a row.
    fn failures(self) -> u32 {
        match self {
            Redial::Clear => 0,
            Redial::Failed(n) | Redial::BackingOff(n) | Redial::Ready(n) | Redial::Dialing(n) => n,
        }
    }

    /// After a dial of attempt `attempt` failed.
    fn failed(self, attempt: u32) -> Redial {
        Redial::Failed(self.failures().max(attempt))
    }
}

/// The connections to one instrument.
pub struct Pool {
    /// Settings and `on_connect` commands of the instrument.
    instrument: Arc<Instrument>,
    /// Where to dial.
    address: Address,
    /// How: TCP in a run, an in-memory pipe in tests.
    dialer: Rc<dyn Dialer>,
    /// Connection id source shared by all pools of the run, so ids are unique in the log.
    next_id: Arc<AtomicUsize>,
    /// Most connections to keep: `max_connections`, one fewer for each first dial that
    /// failed or first session refused, or what is left when the instrument keeps
    /// refusing redials.
    cap: usize,
    /// Connections open (idle or busy).
    live: usize,
    /// Dials in progress.
    dialing: usize,
    /// First dials ([`Open`]) in progress.
    first_dials: usize,
    /// Where the pool is in redialling after failures (drives the backoff).
    redial: Redial,
    /// The cap went below `max_connections` at opening and the warning saying so is due
    /// (given once, a little later, so that it counts every refusal of the first dials).
    shortfall_due: bool,
    /// Connections free to take a point.
    idle: VecDeque<Member>,
    /// Connections running a point.
    busy: Vec<Member>,
    /// Where connections send their outcomes, cloned into each.
    done_tx: Outlet<Done>,
    /// The other end, read as a stream from `started` on.
    done_rx: Option<Inbox<Done>>,
    /// Points waiting for a connection, in dispatch order.
    queue: VecDeque<Job>,
    /// Failed points not yet judged by the subscriber: while any, no waiting point starts
    /// (each failure's [`Proceed`] lifts its own; a stopping run sends [`DropQueued`]
    /// first). Otherwise a waiting point could start on the connection freed by a failure
    /// that stops the run.
    holds: usize,
    /// Where outcomes go ([`Subscribe`]).
    client: Option<Recipient<Outcomes>>,
    /// Outcomes not yet sent to the client: sent together by `send_outcomes`, spawned
    /// when the first one is put here.
    outbox: Vec<Outcome>,
    /// Answer to a pending [`Open`], sent when the first connection is open (or none can be).
    opening: Option<oneshot::Sender<Result<usize, SessionError>>>,
    /// Most recent dial error, reported if no connection can be had.
    last_error: Option<SessionError>,
    /// Connection id of the dial that failed last (named when giving up).
    last_failed: usize,
    /// The run's abort epoch, handed to every connection.
    abort: Abort,
    /// Handed to every connection, which drops it only after logging its close: once the
    /// run's receiver sees every sender gone, every close has been logged. The pool holds
    /// it too, so a due shortfall warning is logged before the run ends.
    alive: mpsc::Sender<()>,
    /// Where connect records go ([`Subscribe`]).
    connected: Option<Recipient<Connected>>,
    /// Connect records of connections opened before [`Subscribe`], sent with it.
    early_connects: Vec<runlog::Connect>,
    /// The instrument's index in the run, and the pools its connections lend a point's
    /// `on:` commands to (see [`Self::lending`]).
    lending: Option<(usize, Rc<dyn Lenders>)>,
    /// Runs of other instruments' `on:` commands waiting for a connection (`lend.rs`).
    loans_waiting: VecDeque<(Execute, lend::Loan)>,
    /// Those running on a connection.
    loans_running: Vec<lend::Loan>,
    /// Serial of the next loan, counted down (the sequencer's count up from 0).
    next_loan: u64,
}

impl Pool {
    /// A pool for `instrument` at `address`; nothing is dialled until [`Open`] or work.
    /// `alive` is cloned into every connection (see [`crate::connection::Connection::new`]).
    pub fn new(
        instrument: Arc<Instrument>,
        dialer: Rc<dyn Dialer>,
        address: Address,
        next_id: Arc<AtomicUsize>,
        abort: Abort,
        alive: mpsc::Sender<()>,
    ) -> Self {
        let (done_tx, done_rx) = local_channel::mpsc::channel();
        Pool {
            done_tx,
            done_rx: Some(done_rx),
            abort,
            alive,
            cap: instrument.max_connections,
            instrument,
            dialer,
            address,
            next_id,
            live: 0,
            dialing: 0,
            first_dials: 0,
            redial: Redial::Clear,
            shortfall_due: false,
            idle: VecDeque::new(),
            busy: Vec::new(),
            queue: VecDeque::new(),
            holds: 0,
            client: None,
            outbox: Vec::new(),
            opening: None,
            last_error: None,
            last_failed: 0,
            connected: None,
            early_connects: Vec::new(),
            lending: None,
            loans_waiting: VecDeque::new(),
            loans_running: Vec::new(),
            next_loan: u64::MAX,
        }
    }

    /// The same pool, for instrument `index` of the run: its connections lend the `on:`
    /// commands of their points to the other instruments' pools, through `lenders`, and it
    /// takes [`Borrow`]s.
    #[must_use]
    pub fn lending(mut self, index: usize, lenders: Rc<dyn Lenders>) -> Self {
        self.lending = Some((index, lenders));
        self
    }

    /// Sends a new connection's connect record on (or keeps it until [`Subscribe`]).
    fn record_connect(&mut self, record: runlog::Connect) {
        match &self.connected {
            Some(to) => to.do_send(Connected(record)),
            None => self.early_connects.push(record),
        }
    }

    /// Hands waiting points to idle connections, and dials more (with backoff after
    /// failures) while points wait and the cap allows.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        self.lend_out();
        while self.holds == 0
            && self
                .queue
                .front()
                .is_some_and(|job| self.busy.len() < job.limit)
        {
            let Some((id, conn)) = self.idle.pop_front() else {
                break;
            };
            if let Some(job) = self.queue.pop_front() {
                let limit = job.limit;
                match conn.send(job.point) {
                    Ok(()) => self.busy.push((id, conn)),
                    Err(lost) => {
                        // The connection stopped while idle: the point waits for another.
                        self.live -= 1;
                        let point = lost.into_inner();
                        self.queue.push_front(Job { point, limit });
                    }
                }
            }
        }
        if self.opening.is_some() {
            return;
        }
        while self.queue.len() + self.loans_waiting.len() > self.dialing
            && self.live + self.dialing < self.cap
        {
            // After a failure: one attempt at a time, each after its backoff.
            match self.redial {
                Redial::Clear => self.dial(false, ctx),
                // One redial at a time; and none while first dials are still out.
                Redial::Dialing(_) | Redial::BackingOff(_) => return,
                _ if self.dialing > 0 => return,
                r if r.failures() >= self.instrument.reconnect_attempts => {
                    self.give_up(ctx);
                    return;
                }
                Redial::Ready(n) => {
                    self.redial = Redial::Dialing(n);
                    self.dial(false, ctx);
                    return;
                }
                Redial::Failed(n) => {
                    self.redial = Redial::BackingOff(n);
                    let delay = backoff(n);
                    tracing::info!(
                        instrument = %self.instrument.name,
                        address = %self.address,
                        "redialling in {}",
                        crate::sequence::duration::format_duration(Duration::from_millis(
                            delay.as_millis() as u64
                        ))
                    );
                    ctx.run_later(delay, move |act, ctx| {
                        if act.redial == Redial::BackingOff(n) {
                            act.redial = Redial::Ready(n);
                        }
                        act.pump(ctx);
                    });
                    return;
                }
            }
        }
    }

    /// Queues what became of point `serial` for the subscriber, with the current cap.
    fn deliver(&mut self, serial: u64, conn: usize, verdict: Verdict, ctx: &mut Context<Self>) {
        if verdict.holds_the_pool() {
            // One hold per verdict the subscriber answers with a `Proceed` (the same rule
            // it reads), each lifted by its own.
            self.holds += 1;
        }
        if self.outbox.is_empty() {
            // Polled once the mailbox is handled, in this same wake-up of the actor.
            ctx.spawn(actix::fut::ready(()).map(|(), act: &mut Self, _| act.send_outcomes()));
        }
        self.outbox.push(Outcome {
            serial,
            conn,
            cap: self.cap,
            verdict,
        });
    }

    /// Sends the queued outcomes to the subscriber, as one message.
    fn send_outcomes(&mut self) {
        // The next batch is likely as large: room for it at once, not after four regrowths.
        let next = Vec::with_capacity(self.outbox.len());
        let batch = std::mem::replace(&mut self.outbox, next);
        if let Some(client) = &self.client {
            client.do_send(Outcomes(batch));
        } else {
            tracing::error!(
                instrument = %self.instrument.name,
                "outcomes arrived before the pool knew where to send them"
            );
        }
    }
}

impl Actor for Pool {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(rx) = self.done_rx.take() {
            ctx.add_stream(rx);
        }
        // Stops the pool once nobody holds its address: its connections hold its `Done`
        // channel, whose stream would otherwise keep it (and so them) alive. The last
        // address's drop wakes the pool too.
        ctx.spawn(EveryWakeup::new(|_: &mut Self, ctx: &mut Context<Self>| {
            if !ctx.connected() {
                ctx.stop();
            }
        }));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        // The run ended before the warning's timer: it is still true.
        self.warn_shortfall();
    }
}

impl Handler<Open> for Pool {
    type Result = ResponseFuture<Result<usize, SessionError>>;

    fn handle(&mut self, _: Open, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.opening = Some(tx);
        for _ in 0..self.cap.max(1) {
            self.dial(true, ctx);
        }
        Box::pin(async move { rx.await.unwrap_or(Err(SessionError::Ended)) })
    }
}

impl Handler<Subscribe> for Pool {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        for record in self.early_connects.drain(..) {
            msg.connected.do_send(Connected(record));
        }
        self.client = Some(msg.outcomes);
        self.connected = Some(msg.connected);
    }
}

impl Handler<TakeConnects> for Pool {
    type Result = MessageResult<TakeConnects>;

    fn handle(&mut self, _: TakeConnects, _: &mut Context<Self>) -> Self::Result {
        MessageResult(std::mem::take(&mut self.early_connects))
    }
}

impl Handler<Work> for Pool {
    type Result = ();

    fn handle(&mut self, msg: Work, ctx: &mut Context<Self>) {
        self.queue.extend(msg.0);
        self.pump(ctx);
    }
}

impl StreamHandler<Done> for Pool {
    /// A connection's report: the connection is idle again or forgotten, and what became
    /// of the point goes on to the subscriber.
    fn handle(&mut self, msg: Done, ctx: &mut Context<Self>) {
        let id = msg.conn;
        if let Some(i) = self.busy.iter().position(|(c, _)| *c == id) {
            let member = self.busy.swap_remove(i);
            if msg.session == Fate::Kept {
                self.idle.push_back(member);
            } else {
                self.live -= 1;
            }
        }
        if msg.session == Fate::Refused && self.loans_running.iter().any(|l| l.serial == msg.serial)
        {
            // A lent run on a refused session: the pool keeps fewer, and the borrower's
            // point fails (its retries run it again).
            let why = match &msg.result {
                Err(NotRun::Session(e)) => Some(e.clone()),
                _ => None,
            };
            self.refused(id, why.as_ref(), ctx);
        }
        let Some(msg) = self.returned(msg) else {
            self.pump(ctx);
            return;
        };
        let verdict = match (msg.result, msg.session) {
            // Refused before anything was sent: the point runs on another connection.
            (Err(NotRun::Session(e)), Fate::Refused) => {
                self.refused(id, Some(&e), ctx);
                Verdict::Again(None)
            }
            // Refused a little late, the point's commands gone out and failed on the close
            // (a connection says so only of a failed point): they are recorded as a failed
            // attempt, and the point runs again.
            (Ok(ran), Fate::Refused) if ran.error.is_some() => {
                self.refused(id, None, ctx);
                Verdict::Again(Some(ran).filter(|ran| !ran.exchanges.is_empty()))
            }
            (Ok(ran), _) => Verdict::Ran(ran),
            // Nothing was sent: the point runs on another connection.
            (Err(NotRun::Session(_)), _) => Verdict::Again(None),
            (Err(e @ NotRun::Stopped { .. }), _) => Verdict::Failed(Unrun::Connection(e)),
        };
        self.deliver(msg.serial, id, verdict, ctx);
        self.pump(ctx);
    }

    /// Never: the pool holds a sender itself.
    fn finished(&mut self, _: &mut Context<Self>) {}
}

impl Handler<Proceed> for Pool {
    type Result = ();

    fn handle(&mut self, _: Proceed, ctx: &mut Context<Self>) {
        debug_assert!(self.holds > 0, "a Proceed with no failure held");
        self.holds = self.holds.saturating_sub(1);
        self.pump(ctx);
    }
}

impl Handler<DropQueued> for Pool {
    type Result = ();

    fn handle(&mut self, _: DropQueued, ctx: &mut Context<Self>) {
        for job in std::mem::take(&mut self.queue) {
            self.deliver(job.point.serial, 0, Verdict::NotStarted, ctx);
        }
    }
}
