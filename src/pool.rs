//! Pool actor: the connections to one instrument, up to `max_connections`.
//!
//! The run opens the pool with [`Open`]: all connections are dialled at once, and the answer
//! comes as soon as the first is open, so points start while the others connect. The
//! sequencer names itself with [`Subscribe`], then sends its points as [`Work`]; the pool
//! queues each [`Execute`], hands it to an idle
//! [`Connection`](crate::connection::Connection), and sends the connection's [`Finished`]
//! (with the pool's current cap) on to the sequencer in [`Outcomes`]. Every message is
//! one-way, with no reply channel or task per point, and the points dispatched (or
//! finished) while an actor handles one batch of its mailbox travel as one message.
//! Between the pool and its connections, the two messages of every point ([`Execute`] out,
//! [`Finished`] back) go over channels each actor reads as a stream ([`Inbox`]) instead of
//! through mailboxes: a mailbox message costs two allocations (envelope and queue node),
//! and a connection would need a strong address of its pool per report. With its
//! connections holding the sending end of its `Finished` channel, the pool no longer stops
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
//! The sequencer, not the pool, bounds points in flight. Each new connection's `on_connect`
//! record goes to the sequencer over the channel given to [`Pool::recording_connects`].
//!
//! Logging, every line with `instrument` and `address`, and `conn` when it is about one
//! connection: each dial (debug at opening, info for a reconnect attempt), its failure
//! (debug at opening; warn later), the connections accepted when fewer than asked (warn),
//! `reconnected`, the backoff before a redial (info), and giving up (warn, or error when no
//! connection is left).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{mpsc, oneshot};

mod dial;
use crate::abort::Abort;
use crate::exec::Outcome;
use crate::runlog;
use crate::sequence::value::Value;
use crate::sequence::{Address, Instrument, Step};
use crate::wakeup::EveryWakeup;
pub use dial::backoff;

/// Dials every connection; replies as soon as one is open with how many the pool will
/// keep (at most `max_connections`), or with the last connect error when none could be.
#[derive(Message)]
#[rtype(result = "Result<usize, String>")]
pub struct Open;

/// Names the actor that receives the points' outcomes ([`Outcomes`]); sent once, before
/// any [`Work`] (a pool without one has nowhere to send outcomes).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Subscribe(pub Recipient<Outcomes>);

/// Points to run, in dispatch order: those the sender dispatched to this pool while it
/// handled one batch of its mailbox (one message for them all, not one each).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Work(pub Vec<Execute>);

/// What became of several points: those whose outcome reached the pool while it handled
/// one batch of its mailbox, each with [`Outcome::pool_cap`] set.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Outcomes(pub Vec<Finished>);

/// One point to run: part of [`Work`] for the pool, which passes it on to a connection
/// (over the connection's [`Inbox`]).
pub struct Execute {
    /// The sender's number for this dispatch, echoed in its [`Finished`].
    pub serial: u64,
    /// The step whose commands to run.
    pub step: Arc<Step>,
    /// Rendered text of each command.
    pub texts: Vec<String>,
    /// The point's sweep variables (poll bounds may name one; empty when none does).
    pub vars: Vec<Value>,
    /// Most points of its stage to run at once (the step's `concurrency`, at most the
    /// connections): the sender may dispatch more, which wait in the pool's queue.
    pub limit: usize,
    /// The abort epoch when the point was dispatched: the point is cancelled as soon as the
    /// run's epoch moves past it (second Ctrl-C).
    pub epoch: u64,
    /// Per-command reply timeout to use instead of the instrument's, when shorter (the
    /// teardown of an aborted run).
    pub timeout_cap: Option<Duration>,
}

/// What became of the point dispatched as `serial`: from a connection to its pool (over the
/// pool's [`Inbox`]), and (in [`Outcomes`]) from the pool to its subscriber. After a failed
/// point (an error other than a refused session) the pool starts no waiting point until it
/// gets [`Proceed`].
pub struct Finished {
    /// The [`Execute::serial`] it answers.
    pub serial: u64,
    /// What happened.
    pub outcome: Outcome,
}

/// The subscriber has judged a failed point and the run goes on (or only teardown is left):
/// waiting points may start again (see [`Finished`]).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Proceed;

/// Hands back every point still waiting for a connection, unstarted ([`Outcome::skipped`]):
/// the run is stopping and must not start them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DropQueued;

/// The receiving end of a channel between two actors of the run's thread, read as a stream
/// (`ctx.add_stream`): the pool's [`Finished`], a connection's [`Execute`]. Single-thread
/// channels (the actix team's `local-channel`): no atomics, no allocation per message.
pub type Inbox<T> = local_channel::mpsc::Receiver<T>;

/// The sending end of an [`Inbox`].
pub type Outlet<T> = local_channel::mpsc::Sender<T>;

/// A connection as the pool knows it: its id, and where its points go.
type Member = (usize, Outlet<Execute>);

/// The connections to one instrument.
#[allow(clippy::struct_excessive_bools)] // independent flags, each with its own doc
pub struct Pool {
    /// Settings and `on_connect` commands of the instrument.
    instrument: Arc<Instrument>,
    /// Where to dial.
    address: Address,
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
    /// Failed dials since the last successful one (drives the backoff).
    failures: u32,
    /// A backoff timer is pending; no dial starts until it fires.
    backing_off: bool,
    /// The backoff after the last failure has elapsed: the next dial may start.
    retry_ready: bool,
    /// The cap went below `max_connections` at opening and the warning saying so is due
    /// (given once, a little later, so that it counts every refusal of the first dials).
    shortfall_due: bool,
    /// Connections free to take a point.
    idle: VecDeque<Member>,
    /// Connections running a point.
    busy: Vec<Member>,
    /// Where connections send their outcomes, cloned into each.
    finished: Outlet<Finished>,
    /// The other end, read as a stream from `started` on.
    finished_rx: Option<Inbox<Finished>>,
    /// Points waiting for a connection, in dispatch order.
    queue: VecDeque<Execute>,
    /// Failed points not yet judged by the subscriber: while any, no waiting point starts
    /// (each failure's [`Proceed`] lifts its own; a stopping run sends [`DropQueued`]
    /// first). Otherwise a waiting point could start on the connection freed by a failure
    /// that stops the run.
    holds: usize,
    /// Where outcomes go ([`Subscribe`]).
    client: Option<Recipient<Outcomes>>,
    /// Outcomes not yet sent to the client: sent together by `send_outcomes`, spawned
    /// when the first one is put here.
    outbox: Vec<Finished>,
    /// Answer to a pending [`Open`], sent when the first connection is open (or none can be).
    opening: Option<oneshot::Sender<Result<usize, String>>>,
    /// Most recent dial error, reported if no connection can be had.
    last_error: Option<String>,
    /// Connection id of the dial that failed last (named when giving up).
    last_failed: usize,
    /// The run's abort epoch, handed to every connection.
    abort: Abort,
    /// Handed to every connection, which drops it only after logging its close: once the
    /// run's receiver sees every sender gone, every close has been logged. The pool holds
    /// it too, so a due shortfall warning is logged before the run ends.
    alive: mpsc::Sender<()>,
    /// Where the connect record of each new connection's `on_connect` goes (to the
    /// sequencer, the run log's writer); set by [`Pool::recording_connects`].
    connects: Option<mpsc::UnboundedSender<runlog::Connect>>,
}

impl Pool {
    /// A pool for `instrument` at `address`; nothing is dialled until [`Open`] or work.
    /// `alive` is cloned into every connection (see [`crate::connection::Connection::new`]).
    pub fn new(
        instrument: Arc<Instrument>,
        address: Address,
        next_id: Arc<AtomicUsize>,
        abort: Abort,
        alive: mpsc::Sender<()>,
    ) -> Self {
        let (finished, finished_rx) = local_channel::mpsc::channel();
        Pool {
            finished,
            finished_rx: Some(finished_rx),
            abort,
            alive,
            cap: instrument.max_connections,
            instrument,
            address,
            next_id,
            live: 0,
            dialing: 0,
            first_dials: 0,
            failures: 0,
            backing_off: false,
            retry_ready: false,
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
            connects: None,
        }
    }

    /// The same pool sending the connect record of every connection it opens to `connects`.
    #[must_use]
    pub fn recording_connects(mut self, connects: mpsc::UnboundedSender<runlog::Connect>) -> Self {
        self.connects = Some(connects);
        self
    }

    /// Hands waiting points to idle connections, and dials more (with backoff after
    /// failures) while points wait and the cap allows.
    fn pump(&mut self, ctx: &mut Context<Self>) {
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
                match conn.send(job) {
                    Ok(()) => self.busy.push((id, conn)),
                    Err(lost) => {
                        // The connection stopped while idle: the point waits for another.
                        self.live -= 1;
                        self.queue.push_front(lost.into_inner());
                    }
                }
            }
        }
        if self.opening.is_some() {
            return;
        }
        while self.queue.len() > self.dialing && self.live + self.dialing < self.cap {
            if self.failures == 0 {
                self.dial(false, ctx);
                continue;
            }
            // After a failure: one attempt at a time, each after its backoff.
            if self.dialing > 0 || self.backing_off {
                return;
            }
            if self.failures >= self.instrument.reconnect_attempts {
                self.give_up(ctx);
                return;
            }
            if self.retry_ready {
                self.retry_ready = false;
                self.dial(false, ctx);
                return;
            }
            self.backing_off = true;
            let delay = backoff(self.failures);
            tracing::info!(
                instrument = %self.instrument.name,
                address = %self.address,
                "redialling in {}",
                crate::sequence::duration::format_duration(Duration::from_millis(
                    delay.as_millis() as u64
                ))
            );
            ctx.run_later(delay, |act, ctx| {
                act.backing_off = false;
                act.retry_ready = true;
                act.pump(ctx);
            });
            return;
        }
    }

    /// Queues the outcome of point `serial` for the subscriber, with the current cap.
    fn deliver(&mut self, serial: u64, mut outcome: Outcome, ctx: &mut Context<Self>) {
        outcome.pool_cap = Some(self.cap);
        if self.outbox.is_empty() {
            // Polled once the mailbox is handled, in this same wake-up of the actor.
            ctx.spawn(actix::fut::ready(()).map(|(), act: &mut Self, _| act.send_outcomes()));
        }
        self.outbox.push(Finished { serial, outcome });
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
        if let Some(rx) = self.finished_rx.take() {
            ctx.add_stream(rx);
        }
        // Stops the pool once nobody holds its address: its connections hold its `Finished`
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
    type Result = ResponseFuture<Result<usize, String>>;

    fn handle(&mut self, _: Open, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.opening = Some(tx);
        for _ in 0..self.cap.max(1) {
            self.dial(true, ctx);
        }
        Box::pin(async move { rx.await.unwrap_or_else(|_| Err("pool stopped".into())) })
    }
}

impl Handler<Subscribe> for Pool {
    type Result = ();

    fn handle(&mut self, msg: Subscribe, _: &mut Context<Self>) {
        self.client = Some(msg.0);
    }
}

impl Handler<Work> for Pool {
    type Result = ();

    fn handle(&mut self, msg: Work, ctx: &mut Context<Self>) {
        self.queue.extend(msg.0);
        self.pump(ctx);
    }
}

impl StreamHandler<Finished> for Pool {
    /// A connection's outcome: the connection is idle again or forgotten, and the outcome
    /// goes on to the subscriber.
    fn handle(&mut self, msg: Finished, ctx: &mut Context<Self>) {
        let id = msg.outcome.conn;
        if let Some(i) = self.busy.iter().position(|(c, _)| *c == id) {
            let member = self.busy.swap_remove(i);
            if msg.outcome.broken {
                self.live -= 1;
            } else {
                self.idle.push_back(member);
            }
        }
        let mut outcome = msg.outcome;
        if outcome.kind.is_some() && !outcome.refused && !outcome.again {
            // One hold per failure, each lifted by its own `Proceed`.
            self.holds += 1;
            outcome.held = true;
        }
        if outcome.refused {
            self.refused(id, outcome.error.as_deref(), ctx);
            outcome.again = true;
        }
        self.deliver(msg.serial, outcome, ctx);
        self.pump(ctx);
    }

    /// Never: the pool holds a sender itself.
    fn finished(&mut self, _: &mut Context<Self>) {}
}

impl Handler<Proceed> for Pool {
    type Result = ();

    fn handle(&mut self, _: Proceed, ctx: &mut Context<Self>) {
        self.holds = self.holds.saturating_sub(1);
        self.pump(ctx);
    }
}

impl Handler<DropQueued> for Pool {
    type Result = ();

    fn handle(&mut self, _: DropQueued, ctx: &mut Context<Self>) {
        for job in std::mem::take(&mut self.queue) {
            self.deliver(job.serial, Outcome::skipped(), ctx);
        }
    }
}
