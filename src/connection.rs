//! Connection actor: one TCP session to an instrument, running one point at a time.
//!
//! The [`Pool`](crate::pool::Pool) dials with [`open`] (which also returns the `on_connect`
//! exchanges as a run log record, for the pool to forward) and starts a `Connection` around
//! the framed stream.
//! It reads its points ([`Execute`]) from its [`Inbox`] and runs each as a future the actor
//! waits for (`ctx.wait`), so no second point can interleave its commands on the same
//! socket; the outcome goes back to the pool's channel as [`Finished`]. The connection
//! stops when the pool drops the sending end of its inbox.
//! When a point leaves the connection broken (timeout, EOF, I/O error, malformed reply) the
//! actor stops itself and the socket is closed: a late reply must never answer the next
//! command.
//!
//! Refused sessions: instruments that allow fewer sessions than asked accept the TCP
//! connection and close it at once. A connection of the first dials is watched for a few
//! milliseconds (`FIRST_WATCH`) instead of [`SETTLE`] before it takes work. Before its
//! first point sends anything, it also takes what arrived since: the instrument's close
//! means the session was refused (`refused`: the point did not run and goes out again
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

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::abort::Abort;
use crate::exec::{self, Conn, FailKind, Outcome, ReplyTimer, Stops, run_commands};
use crate::pool::{Execute, Finished, Inbox, Outlet};
use crate::protocol::{LineIo, Look, ReadError, Unread};
use crate::runlog;
use crate::sequence::{Address, Command, Greeting, Instrument, render_all};

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

/// A session [`open`] returned, for [`Connection::new`].
pub struct Opened {
    /// The framed socket.
    pub io: LineIo<TcpStream>,
    /// The `on_connect` record, when there were `on_connect` commands.
    pub record: Option<runlog::Connect>,
    /// The instrument is known to have taken the session (it answered, or it was watched
    /// for [`SETTLE`] without closing it).
    pub accepted: bool,
    /// When the TCP connection was made.
    pub at: Instant,
}

/// One live TCP session.
pub struct Connection {
    /// Id in the run log's `conn` field, unique over the run.
    id: usize,
    /// The instrument at the other end (named in log lines).
    instrument: Arc<Instrument>,
    /// The framed socket; taken out while a point runs, `None` once broken.
    io: Option<LineIo<TcpStream>>,
    /// Per-command reply timeout.
    timeout: Duration,
    /// The reply timer of this session's commands; taken out while a point runs.
    timer: Option<ReplyTimer>,
    /// The run's abort epoch (see [`Execute::epoch`]).
    abort: Abort,
    /// Why the connection broke, set by the point that broke it; logged when it closes.
    broken: Option<String>,
    /// The pool's channel for outcomes.
    pool: Outlet<Finished>,
    /// The points to run, read as a stream from `started` on.
    inbox: Option<Inbox<Execute>>,
    /// The instrument is known to have taken this session; until then, a close before any
    /// byte on the first point is a refused session (see the module doc).
    accepted: bool,
    /// When the TCP connection was made: a write-only first point waits out [`SETTLE`].
    opened_at: Instant,
    /// No point has run yet: the next one first takes what already arrived.
    first: bool,
    /// Serial of the point running, so that its outcome still reaches the pool if the
    /// actor is dropped in the middle of it.
    running: Option<u64>,
    /// Dropped with the actor, after `stopped` logged the close: the run waits for every
    /// such sender to be gone before it exits, so no close goes unlogged.
    _alive: mpsc::Sender<()>,
}

impl Connection {
    /// Wraps a session opened to `instrument` (whose reply timeout it applies), running the
    /// points that arrive in `inbox` and reporting to `pool`. `alive` is held until the
    /// actor is gone (see the field).
    pub fn new(
        id: usize,
        instrument: Arc<Instrument>,
        opened: Opened,
        pool: Outlet<Finished>,
        inbox: Inbox<Execute>,
        abort: Abort,
        alive: mpsc::Sender<()>,
    ) -> Self {
        Connection {
            id,
            timeout: instrument.io.timeout,
            timer: None,
            instrument,
            io: Some(opened.io),
            abort,
            broken: None,
            pool,
            inbox: Some(inbox),
            accepted: opened.accepted,
            opened_at: opened.at,
            first: true,
            running: None,
            _alive: alive,
        }
    }

    /// Sends the outcome of point `serial` to the pool (gone, if the run is over).
    fn report(&self, serial: u64, outcome: Outcome) {
        let _ = self.pool.send(Finished { serial, outcome });
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
        let why = self.broken.as_deref().unwrap_or("no longer needed");
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
            let id = self.id;
            self.report(
                serial,
                Outcome::not_run(id, format!("connection {id} stopped while running it")),
            );
        }
    }
}

/// Points from the pool; the inbox's end (the pool let go of this connection) stops the
/// actor, once the point running, if any, is over.
impl StreamHandler<Execute> for Connection {
    fn handle(&mut self, msg: Execute, ctx: &mut Self::Context) {
        let (id, serial) = (self.id, msg.serial);
        self.running = Some(serial);
        let timeout = msg
            .timeout_cap
            .map_or(self.timeout, |cap| cap.min(self.timeout));
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
        let accepted = self.accepted;
        // Before the first point sends anything: take what already arrived (a greeting, or
        // the instrument's close of a refused session). Writes alone would not notice a
        // session closed at once, so a first point of writes only watches the rest of
        // SETTLE for that close.
        let watch = self.first.then(|| {
            let writes_only = !msg.step.commands.iter().any(Command::reads);
            if !self.accepted && writes_only {
                SETTLE.saturating_sub(self.opened_at.elapsed())
            } else {
                Duration::ZERO
            }
        });
        // A connection's first point, with no greeting declared, is watched a little after
        // its end (see `linger`).
        let linger = self.first && self.instrument.greeting == Greeting::None;
        self.first = false;
        // Boxed on its own, so that the wrappers below move a pointer, not the whole I/O
        // state machine (it was the largest memcpy per point).
        let run = Box::pin(async move {
            let Some(mut io) = io else {
                let out = Outcome::not_run(id, format!("connection {id} is closed"));
                return (None, timer, out);
            };
            if let Some(wait) = watch
                && let Err(e) = watch_for_close(&mut io, wait, id, &instrument.name).await
            {
                // Nothing was sent: the session was refused, or (one the instrument had
                // taken) lost before any use; either way the point runs elsewhere.
                let out = Outcome {
                    refused: !accepted,
                    again: accepted,
                    ..Outcome::not_run(id, e)
                };
                return (Some(io), timer, out);
            }
            let mut out = run_commands(
                &mut io,
                &msg.step.commands,
                msg.texts,
                &msg.vars,
                &mut timer,
                Conn {
                    id,
                    instrument: &instrument.name,
                },
                stops,
            )
            .await;
            if linger && out.error.is_none() && out.exchanges.iter().any(|e| e.reply.is_some()) {
                watch_after_first_point(&mut io, &mut out, id).await;
            }
            (Some(io), timer, out)
        });
        // Waited for: the actor reads no other point until this one is over.
        ctx.wait(
            run.into_actor(self)
                .map(move |(io, timer, mut out), act, ctx| {
                    act.running = None;
                    act.timer = Some(timer);
                    // Closed at once under the first point, the instrument having sent nothing:
                    // a session refused a little late (the commands went out, and are recorded).
                    if !act.accepted
                        && out.kind == Some(FailKind::Connection)
                        && act.opened_at.elapsed() < REFUSAL_WINDOW
                        && io
                            .as_ref()
                            .is_some_and(|io| io.peer_closed() && !io.received_any())
                    {
                        out.refused = true;
                    }
                    act.accepted = !out.refused;
                    if out.broken || out.refused {
                        // Logged once, as the reason in `stopped`.
                        act.broken = Some(out.error.clone().unwrap_or_default());
                        out.broken = true;
                        ctx.stop();
                    } else {
                        act.io = io;
                    }
                    act.report(serial, out);
                }),
        );
    }
}

/// Watches a fresh session for `wait` for the instrument closing it; what it sends in the
/// meantime is an unsolicited greeting and is dropped (logged). What already arrived is
/// read at once, without waiting ([`LineIo::take_unread`]), so a close or a greeting that
/// is there is seen even with no `wait`. `Err` with why when the session is closed or
/// failed.
async fn watch_for_close(
    io: &mut LineIo<TcpStream>,
    wait: Duration,
    id: usize,
    instrument: &str,
) -> Result<(), String> {
    const CLOSED: &str =
        "the instrument closed the connection at once (it may allow fewer sessions)";
    let greeting = |unread: &Unread| exec::greeting(Conn { id, instrument }, unread);
    match io.take_unread(Look::Kernel) {
        Ok(unread) => unread.iter().for_each(greeting),
        Err(e) => return Err(e.to_string()),
    }
    if io.peer_closed() {
        return Err(CLOSED.into());
    }
    if wait.is_zero() {
        return Ok(());
    }
    match tokio::time::timeout(wait, io.fill()).await {
        Err(_) => Ok(()),
        Ok(Ok(0)) => Err(CLOSED.into()),
        Ok(Ok(_)) => {
            match io.take_unread(Look::Kernel) {
                Ok(unread) => unread.iter().for_each(greeting),
                Err(e) => return Err(e.to_string()),
            }
            if io.peer_closed() {
                return Err(CLOSED.into());
            }
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string()),
    }
}

/// Watches a connection for [`FIRST_WATCH`] after its first point, which read a reply:
/// an instrument that greets without `greeting:` declared, a little too late for the watch
/// before the first command, had its greeting taken as that reply, and the true reply
/// follows it. Data seen now fails the point (the connection is out of step); a close
/// marks the connection broken.
async fn watch_after_first_point(io: &mut LineIo<TcpStream>, out: &mut Outcome, id: usize) {
    match tokio::time::timeout(FIRST_WATCH, io.fill()).await {
        Err(_) => {}
        Ok(Ok(0) | Err(_)) => out.broken = true,
        Ok(Ok(_)) => match io.take_unread(Look::Kernel) {
            Ok(Some(unread)) => out.fail_unsolicited_after(&unread, id),
            Ok(None) | Err(_) => out.broken = true,
        },
    }
}

/// Reads the greeting of an instrument declared with `greeting: line`: one line, within
/// `connect_timeout`. A close before it is a refused session.
async fn read_greeting(
    io: &mut LineIo<TcpStream>,
    connect_timeout: Duration,
) -> Result<String, String> {
    match tokio::time::timeout(connect_timeout, io.read_line()).await {
        Ok(Ok(line)) => Ok(line),
        Ok(Err(ReadError::Closed)) => Err(
            "the instrument closed the connection before its greeting (it may allow fewer sessions)"
                .into(),
        ),
        Ok(Err(e)) => Err(format!("cannot read the greeting: {e}")),
        Err(_) => Err(format!(
            "no greeting within {} (connect_timeout); the instrument is declared with \
             `greeting: line`: does it greet on connect?",
            crate::sequence::duration::format_duration(connect_timeout)
        )),
    }
}

/// Dials `address`, drops any greeting already received, and sends the instrument's
/// `on_connect` commands. With `watch` (a redial), or when `on_connect` is writes only, the
/// session is first watched for [`SETTLE`] for the instrument closing it at once; otherwise
/// the first reply proves the session (see the module doc).
pub async fn open(
    id: usize,
    address: &Address,
    instrument: &Instrument,
    watch: bool,
) -> Result<Opened, String> {
    let io_cfg = &instrument.io;
    let target = address.to_string();
    let stream =
        match tokio::time::timeout(io_cfg.connect_timeout, TcpStream::connect(&target)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => {
                return Err(format!(
                    "no answer within {} (connect_timeout)",
                    crate::sequence::duration::format_duration(io_cfg.connect_timeout)
                ));
            }
        };
    let at = Instant::now();
    // Commands are small and latency matters more than packet count.
    let _ = stream.set_nodelay(true);
    let mut io = LineIo::new(stream, &io_cfg.write_termination, &io_cfg.read_termination);
    let on_connect = &instrument.on_connect;
    let mut accepted;
    let greeting = if instrument.greeting == Greeting::Line {
        // The greeting proves the session; a close before it is a refusal.
        let line = read_greeting(&mut io, io_cfg.connect_timeout).await?;
        accepted = true;
        Some((line, std::time::SystemTime::now()))
    } else {
        let writes_only = !on_connect.is_empty() && !on_connect.iter().any(Command::reads);
        let wait = if watch || writes_only {
            SETTLE
        } else {
            FIRST_WATCH
        };
        watch_for_close(&mut io, wait, id, &instrument.name).await?;
        accepted = wait == SETTLE || io.received_any();
        None
    };
    let mut record = greeting.map(|(line, at)| runlog::Connect {
        instrument: instrument.name.clone(),
        conn: id,
        greeting: Some(line),
        commands: Vec::new(),
        at,
    });
    if !on_connect.is_empty() {
        let texts = render_all(on_connect, &[]);
        let out = run_commands(
            &mut io,
            on_connect,
            texts,
            &[],
            &mut ReplyTimer::new(io_cfg.timeout),
            Conn {
                id,
                instrument: &instrument.name,
            },
            Stops::none(),
        )
        .await;
        if let Some(err) = out.error {
            return Err(format!("on_connect failed: {err}"));
        }
        accepted |= io.received_any();
        match &mut record {
            Some(record) => record.commands = out.exchanges,
            None => {
                record = Some(runlog::Connect {
                    instrument: instrument.name.clone(),
                    conn: id,
                    greeting: None,
                    commands: out.exchanges,
                    at: out.started_at,
                });
            }
        }
    }
    tracing::info!(
        conn = id,
        instrument = %instrument.name,
        address = %address,
        "connection open"
    );
    Ok(Opened {
        io,
        record,
        accepted,
        at,
    })
}
