//! Connection actor: one session to an instrument (a stream its pool's [`Dialer`] made:
//! TCP in a run), running one point at a time.
//!
//! The [`Pool`](crate::pool::Pool) dials with [`open()`] (`connection/open.rs`, which also
//! returns the connect record, for the pool to forward) and starts a `Connection` around
//! the framed stream. It reads its points ([`Execute`]) from its [`Inbox`] and runs each as
//! a future the actor waits for (`ctx.wait`), so no second point can interleave its
//! commands on the same socket; what became of the point, and of the session, goes back to
//! the pool as a [`Done`]. `Done` is declared here, beside its sender, although the pool
//! handles it: a connection knows nothing of the pool above it (the layering rule of
//! `lib.rs`), and a report is part of the interface of what reports it. The connection
//! stops when the pool drops the sending end of its inbox, or when a point leaves the
//! session out of step (timeout, end of file, I/O error, malformed or unsolicited data, a
//! mismatch): a late reply must never answer the next command.
//!
//! The session's state is a [`Session`]: `Fresh` until its first point is over (the
//! refusal checks below apply only then), `InUse` after, `Closed` with the reason once
//! out of step. Refused sessions: instruments that allow fewer sessions than asked accept
//! the TCP connection and close it at once. A connection of the first dials is watched for
//! a few milliseconds (`FIRST_WATCH`) instead of [`SETTLE`] before it takes work. Before
//! its first point sends anything, it also takes what arrived since: the instrument's
//! close means the session was refused (the point did not run and goes out again
//! unrecorded; the pool keeps one connection fewer), and anything else is an unsolicited
//! greeting, dropped. A first point of writes only (which could not notice a dead socket)
//! first watches the rest of [`SETTLE`] for that close. If the instrument closes the
//! connection under its first point, within [`SETTLE`] of connecting and without having
//! sent a byte, the session was refused a little late: the commands went out, so the
//! attempt is recorded, as failed; the point runs again without using up a retry, and the
//! pool keeps one connection fewer. Redials later in the run are watched for the whole
//! [`SETTLE`] before they take work.
//!
//! Logging: `connection open` when dialled, and `connection closed: WHY` when the actor stops
//! (the timeout, end of file or malformed reply that broke it, or the end of the run), both
//! at info with `conn` and `instrument`; the pool logs dials, failed attempts and giving up.

mod open;

use std::future::Future;
use std::ops::Range;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::abort::Abort;
use crate::exec::{
    Conn, FailKind, Lend, Lent, Others, Ran, ReplyTimer, Stops, Unlent, Values, fire, run_commands,
};
use crate::protocol::{LineIo, Stream};
use crate::sequence::{Command, Greeting, Instrument, Step};
pub use open::{Dialer, Opened, SessionError, Tcp, open};

/// How long after connecting an immediate close by the instrument means a refused session
/// (instruments that allow fewer sessions than asked accept the connection and close it at
/// once); see the module doc for how each connection is checked.
pub const SETTLE: Duration = Duration::from_millis(50);

/// How long a connection of the first dials is watched before it takes work: long enough
/// for the close of a refused session on loopback or a LAN (a simulator's takes well under
/// a millisecond), short next to [`SETTLE`], which every connection used to wait.
const FIRST_WATCH: Duration = Duration::from_millis(5);

/// A first point that the instrument ends by closing the connection, before sending any
/// byte and within this time of the connect, met a session refused a little late: its
/// attempt is recorded as failed and the point runs again without using up a retry.
const REFUSAL_WINDOW: Duration = SETTLE;

/// The receiving end of a channel between two actors of the run's thread, read as a stream
/// (`ctx.add_stream`): a connection's [`Execute`], the pool's [`Done`]. Single-thread
/// channels (the actix team's `local-channel`) instead of mailboxes: a mailbox message
/// costs two allocations (envelope and queue node) and a strong address of the receiver;
/// measured with callgrind over 20,000 points, the change took the run from 259.1 M to
/// 239.3 M instructions (BENCHMARKS.md, commit 4ce95cc).
pub type Inbox<T> = local_channel::mpsc::Receiver<T>;

/// The sending end of an [`Inbox`].
pub type Outlet<T> = local_channel::mpsc::Sender<T>;

/// One point to run, from the pool.
pub struct Execute {
    /// The dispatcher's number for this point, echoed in its [`Done`].
    pub serial: u64,
    /// The step whose commands to run.
    pub step: Arc<Step>,
    /// Which of them: all of a point's, or a run of `on:` commands lent by another
    /// instrument's point.
    pub commands: Range<usize>,
    /// The point's values (its commands' texts are rendered from them here).
    pub values: Values,
    /// The abort epoch when the point was dispatched: the point is cancelled as soon as the
    /// run's epoch moves past it (second Ctrl-C), and cut at its next wait once the
    /// deadline passes; `u64::MAX` for neither (teardown).
    pub epoch: u64,
    /// Per-command reply timeout to use instead of the instrument's, when shorter (the
    /// teardown of an aborted run).
    pub timeout_cap: Option<Duration>,
}

/// What a connection reports about the point dispatched as `serial`: its result, and the
/// fate of the session.
pub struct Done {
    /// The [`Execute::serial`] it answers.
    pub serial: u64,
    /// The connection (the run log's `conn`).
    pub conn: usize,
    /// What ran, or why nothing could.
    pub result: Result<Ran, NotRun>,
    /// Whether the connection takes another point.
    pub session: Fate,
}

/// What became of a session after a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// In step and open: it takes the next point.
    Kept,
    /// Out of step, closed or failed: the connection stops.
    Closed,
    /// The instrument refused the session (closed it at once, before or under its first
    /// point, having sent nothing): it allows fewer than asked. The connection stops.
    Refused,
}

/// Why a point handed to a connection did not run.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotRun {
    /// The session went before the point sent anything: refused, or lost before its first
    /// use. Nothing was sent; the point can run elsewhere.
    #[error("{0}")]
    Session(SessionError),
    /// The actor went away in the middle of the point (its pool is gone, or a bug): what it
    /// sent is unknown.
    #[error("connection {conn} stopped while running it")]
    Stopped { conn: usize },
}

/// Where a session is in its life.
enum Session {
    /// No point has run yet: the next one first takes what already arrived, and its
    /// failures may mean the instrument refused the session.
    Fresh {
        /// When the TCP connection was made: a write-only first point waits out
        /// [`SETTLE`], and a close within [`REFUSAL_WINDOW`] is a late refusal.
        opened_at: Instant,
        /// The instrument is known to have taken this session (it answered, or it was
        /// watched for [`SETTLE`]).
        accepted: bool,
    },
    /// A point has run on it and left it in step.
    InUse,
    /// Out of step or closed, with the reason (logged when the actor stops).
    Closed(String),
}

/// One live session (over the stream its pool's [`Dialer`] made).
pub struct Connection {
    /// Id in the run log's `conn` field, unique over the run.
    id: usize,
    /// The instrument at the other end (named in log lines).
    instrument: Arc<Instrument>,
    /// The framed socket; taken out while a point runs.
    io: Option<LineIo<Stream>>,
    /// The reply timer of this session's commands; taken out while a point runs.
    timer: Option<ReplyTimer>,
    /// The run's abort epoch (see [`Execute::epoch`]).
    abort: Abort,
    /// Where the session is in its life; changed once a point is over.
    session: Session,
    /// The pool's channel for reports.
    pool: Outlet<Done>,
    /// The points to run, read as a stream from `started` on.
    inbox: Option<Inbox<Execute>>,
    /// Serial of the point running, so that its outcome still reaches the pool if the
    /// actor is dropped in the middle of it.
    running: Option<u64>,
    /// Dropped with the actor, after `stopped` logged the close: the run waits for every
    /// such sender to be gone before it exits, so no close goes unlogged.
    _alive: mpsc::Sender<()>,
    /// The index of its instrument, and the pools that lend connections of the others to a
    /// point's `on:` commands (none: a point has no such commands).
    lending: Option<(usize, Rc<dyn Lenders>)>,
}

/// The run's pools, as a point's `on:` commands borrow connections from them.
pub trait Lenders {
    /// Runs `point` (a run of `on:` commands) on a connection of instrument `instrument`,
    /// ahead of that pool's own waiting points: its report, or `None` if that pool had no
    /// connection for it (the instrument unreachable, the run over).
    fn lend(
        &self,
        instrument: usize,
        point: Execute,
    ) -> Pin<Box<dyn Future<Output = Option<Done>>>>;

    /// The name of instrument `instrument`.
    fn name(&self, instrument: usize) -> String;
}

/// What a point running here needs to lend its `on:` commands out: the pools, and the
/// point's step, values, epoch and timeout cap, which the lent runs share.
struct Borrowing {
    lenders: Rc<dyn Lenders>,
    step: Arc<Step>,
    epoch: u64,
    timeout_cap: Option<Duration>,
}

impl Lend for Borrowing {
    fn run_on(
        &self,
        instrument: usize,
        range: Range<usize>,
        values: Values,
    ) -> Pin<Box<dyn Future<Output = Result<Lent, Unlent>>>> {
        let point = Execute {
            serial: 0,
            step: self.step.clone(),
            commands: range,
            values,
            epoch: self.epoch,
            timeout_cap: self.timeout_cap,
        };
        let name = self.lenders.name(instrument);
        let done = self.lenders.lend(instrument, point);
        Box::pin(async move {
            match done.await {
                Some(Done {
                    conn,
                    result: Ok(ran),
                    ..
                }) => Ok(Lent {
                    conn,
                    instrument: name,
                    ran,
                }),
                Some(Done { result: Err(e), .. }) => Err(Unlent {
                    instrument: name,
                    why: e.to_string(),
                }),
                None => Err(Unlent {
                    instrument: name,
                    why: "its pool could run them on no connection".to_owned(),
                }),
            }
        })
    }
}

impl Connection {
    /// Wraps a session opened to `instrument` (whose reply timeout it applies), running the
    /// points that arrive in `inbox` and reporting to `pool`. `alive` is held until the
    /// actor is gone (see the field).
    pub fn new(
        id: usize,
        instrument: Arc<Instrument>,
        opened: Opened,
        pool: Outlet<Done>,
        inbox: Inbox<Execute>,
        abort: Abort,
        alive: mpsc::Sender<()>,
    ) -> Self {
        Connection {
            id,
            timer: None,
            instrument,
            io: Some(opened.io),
            abort,
            session: Session::Fresh {
                opened_at: opened.at,
                accepted: opened.accepted,
            },
            pool,
            inbox: Some(inbox),
            running: None,
            _alive: alive,
            lending: None,
        }
    }

    /// The same connection, to instrument `own` of the run, lending a point's `on:`
    /// commands to connections of the other instruments through `lenders` (`None`: its
    /// points have none).
    #[must_use]
    pub fn lending_from(mut self, lending: Option<&(usize, Rc<dyn Lenders>)>) -> Self {
        self.lending = lending.cloned();
        self
    }

    /// Sends what became of point `serial` to the pool (gone, if the run is over).
    fn report(&self, serial: u64, result: Result<Ran, NotRun>, session: Fate) {
        let _ = self.pool.send(Done {
            serial,
            conn: self.id,
            result,
            session,
        });
    }

    /// The session's state once a point is over: `result` is what ran, `io` what is left
    /// of the socket. Returns the session's fate for the pool.
    fn after_point(&mut self, result: &Result<Ran, NotRun>, io: Option<&LineIo<Stream>>) -> Fate {
        let fresh = match self.session {
            Session::Fresh {
                opened_at,
                accepted,
            } => Some((opened_at, accepted)),
            _ => None,
        };
        let (fate, why) = match result {
            Err(NotRun::Session(e)) => {
                let refused = fresh.is_some_and(|(_, accepted)| !accepted);
                let fate = if refused { Fate::Refused } else { Fate::Closed };
                (fate, e.to_string())
            }
            Err(e @ NotRun::Stopped { .. }) => (Fate::Closed, e.to_string()),
            Ok(ran) => {
                // Closed at once under the first point, the instrument having sent nothing:
                // a session refused a little late (the commands went out, and are recorded).
                let late_refusal = fresh.is_some_and(|(opened_at, accepted)| {
                    !accepted
                        && ran.kind() == Some(FailKind::Connection)
                        && opened_at.elapsed() < REFUSAL_WINDOW
                        && io.is_some_and(|io| io.peer_closed() && !io.received_any())
                });
                let why = ran.error.as_ref().map_or_else(
                    || "the instrument closed it after a point".to_owned(),
                    ToString::to_string,
                );
                match (late_refusal, ran.in_step) {
                    (true, _) => (Fate::Refused, why),
                    (false, true) => (Fate::Kept, String::new()),
                    (false, false) => (Fate::Closed, why),
                }
            }
        };
        self.session = match fate {
            Fate::Kept => Session::InUse,
            Fate::Closed | Fate::Refused => Session::Closed(why),
        };
        fate
    }
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if let Some(inbox) = self.inbox.take() {
            ctx.add_stream(inbox);
        }
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        let why = match &self.session {
            Session::Closed(why) => why.as_str(),
            Session::Fresh { .. } | Session::InUse => "no longer needed",
        };
        tracing::info!(
            conn = self.id,
            instrument = %self.instrument.name,
            "connection closed: {why}"
        );
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Only when the actor went away in the middle of a point (its pool is gone, or a
        // bug): the pool must still hear of the point, or the run would wait for it forever.
        if let Some(serial) = self.running.take() {
            let stopped = NotRun::Stopped { conn: self.id };
            self.report(serial, Err(stopped), Fate::Closed);
        }
    }
}

/// Points from the pool; the inbox's end (the pool let go of this connection) stops the
/// actor, once the point running, if any, is over.
impl StreamHandler<Execute> for Connection {
    fn handle(&mut self, msg: Execute, ctx: &mut Self::Context) {
        let (id, serial) = (self.id, msg.serial);
        self.running = Some(serial);
        let own = self.instrument.io.timeout;
        let timeout = msg.timeout_cap.map_or(own, |cap| cap.min(own));
        let stops = Stops {
            cancel: self.abort.past(msg.epoch),
            cut: self.abort.cut_past(msg.epoch),
        };
        let io = self.io.take();
        let mut timer = self
            .timer
            .take()
            .unwrap_or_else(|| ReplyTimer::new(timeout));
        timer.timeout = timeout;
        let instrument = self.instrument.clone();
        // The instrument this connection talks to, and what lends the point's `on:` commands
        // to the others' connections, if it has any.
        let lending = self.lending.as_ref().map(|(own, lenders)| {
            let lends = msg.step.commands[msg.commands.clone()]
                .iter()
                .any(|c| c.on().is_some_and(|i| i != *own));
            let borrowing = lends.then(|| Borrowing {
                lenders: lenders.clone(),
                step: msg.step.clone(),
                epoch: msg.epoch,
                timeout_cap: msg.timeout_cap,
            });
            (*own, borrowing)
        });
        // Before the first point sends anything: take what already arrived (a greeting, or
        // the instrument's close of a refused session). Writes alone would not notice a
        // session closed at once, so a first point of writes only watches the rest of
        // SETTLE for that close. A first point with no greeting declared is also watched a
        // little after its end (`watch_after_first_point`).
        let (watch, linger) = match self.session {
            Session::Fresh {
                opened_at,
                accepted,
            } => {
                let writes_only = !msg.step.commands.iter().any(Command::reads);
                let watch = if !accepted && writes_only {
                    SETTLE.saturating_sub(opened_at.elapsed())
                } else {
                    Duration::ZERO
                };
                (Some(watch), instrument.greeting == Greeting::None)
            }
            Session::InUse | Session::Closed(_) => (None, false),
        };
        // Boxed on its own, so that the wrappers below move a pointer, not the whole I/O
        // state machine (it was the largest memcpy per point).
        let run = Box::pin(async move {
            let Some(mut io) = io else {
                // Never: a connection whose session closed stops before its next point. A
                // bug, then: the point fails (not a refusal, which would run it again).
                return (None, timer, Err(NotRun::Stopped { conn: id }));
            };
            if let Some(wait) = watch
                && let Err(e) = open::watch_for_close(&mut io, wait, id, &instrument.name).await
            {
                // Nothing was sent: the session was refused, or (one the instrument had
                // taken) lost before any use; either way the point runs elsewhere.
                return (Some(io), timer, Err(NotRun::Session(e)));
            }
            let others = lending.as_ref().map(|(own, borrowing)| Others {
                own: *own,
                lend: borrowing.as_ref().map(|b| b as &dyn Lend),
            });
            let mut values = msg.values;
            // The point's own run (a lent run is part of another's point).
            let whole = msg.commands.start == 0 && msg.commands.end == msg.step.commands.len();
            let mut ran = run_commands(
                &mut io,
                &msg.step.commands,
                msg.commands,
                &mut values,
                &mut timer,
                Conn {
                    id,
                    instrument: &instrument.name,
                    others,
                },
                stops,
            )
            .await;
            if whole {
                fire(&mut ran, &msg.step.stop_when, &values);
            }
            if linger && ran.error.is_none() && ran.exchanges.iter().any(|e| e.reply.is_some()) {
                open::watch_after_first_point(&mut io, &mut ran, id).await;
            }
            (Some(io), timer, Ok(ran))
        });
        // Waited for: the actor reads no other point until this one is over.
        ctx.wait(
            run.into_actor(self)
                .map(move |(io, timer, result), act, ctx| {
                    act.running = None;
                    act.timer = Some(timer);
                    let fate = act.after_point(&result, io.as_ref());
                    if fate == Fate::Kept {
                        act.io = io;
                    } else {
                        ctx.stop();
                    }
                    act.report(serial, result, fate);
                }),
        );
    }
}
