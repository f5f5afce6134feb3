//! Connection actor: one TCP session to an instrument, running one point at a time.
//!
//! The [`Pool`](crate::pool::Pool) dials with [`open`] (which also returns the `on_connect`
//! exchanges as a run log record, for the pool to forward) and starts a `Connection` around
//! the framed stream. It handles [`RunPoint`] with an [`AtomicResponse`], so no second point can
//! interleave its commands on the same socket. When a point leaves the connection broken
//! (timeout, EOF, I/O error, malformed reply) the actor stops itself and the socket is
//! closed: a late reply must never answer the next command.
//!
//! Logging: `connection open` when dialled, and `connection closed: WHY` when the actor stops
//! (the timeout, end of file or malformed reply that broke it, or the end of the run), both
//! at info with `conn` and `instrument`; the pool logs dials, failed attempts and giving up.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use crate::exec::{Conn, Outcome, run_commands};
use crate::protocol::LineIo;
use crate::runlog;
use crate::sequence::value::Value;
use crate::sequence::{Address, Instrument, Step, render_all};

/// How long a fresh connection is watched for an immediate close before it takes work.
/// Instruments that allow fewer sessions than asked accept the TCP connection and close it
/// at once; without this check a write-only point could "succeed" on a dead socket.
pub const SETTLE: Duration = Duration::from_millis(50);

/// Runs one point's commands; replies with what happened.
#[derive(Message)]
#[rtype(result = "Outcome")]
pub struct RunPoint {
    /// The step whose commands to run.
    pub step: Arc<Step>,
    /// The rendered text of each command.
    pub texts: Vec<String>,
    /// The point's sweep variables (poll bounds may name one).
    pub vars: Vec<Value>,
    /// The abort epoch when the point was dispatched: the point is cancelled as soon as the
    /// run's epoch moves past it (second Ctrl-C).
    pub epoch: u64,
    /// Per-command reply timeout to use instead of the instrument's, when shorter (the
    /// teardown of an aborted run).
    pub timeout_cap: Option<Duration>,
}

/// Resolves when the run's abort epoch passes `epoch`; never, if the run has no abort
/// channel any more.
pub async fn cancelled(mut abort: watch::Receiver<u64>, epoch: u64) {
    if abort.wait_for(|e| *e > epoch).await.is_err() {
        std::future::pending::<()>().await;
    }
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
    /// The run's abort epoch (see [`RunPoint::epoch`]).
    abort: watch::Receiver<u64>,
    /// Why the connection broke, set by the point that broke it; logged when it closes.
    broken: Option<String>,
    /// Dropped with the actor, after `stopped` logged the close: the run waits for every
    /// such sender to be gone before it exits, so no close goes unlogged.
    _alive: mpsc::Sender<()>,
}

impl Connection {
    /// Wraps a session opened to `instrument` (whose reply timeout it applies). `alive` is
    /// held until the actor is gone (see the field).
    pub fn new(
        id: usize,
        instrument: Arc<Instrument>,
        io: LineIo<TcpStream>,
        abort: watch::Receiver<u64>,
        alive: mpsc::Sender<()>,
    ) -> Self {
        Connection {
            id,
            timeout: instrument.io.timeout,
            instrument,
            io: Some(io),
            abort,
            broken: None,
            _alive: alive,
        }
    }
}

impl Actor for Connection {
    type Context = Context<Self>;

    fn stopped(&mut self, _: &mut Self::Context) {
        let why = self.broken.as_deref().unwrap_or("no longer needed");
        tracing::info!(
            conn = self.id,
            instrument = %self.instrument.name,
            "connection closed: {why}"
        );
    }
}

impl Handler<RunPoint> for Connection {
    type Result = AtomicResponse<Self, Outcome>;

    fn handle(&mut self, msg: RunPoint, _: &mut Self::Context) -> Self::Result {
        let id = self.id;
        let timeout = msg
            .timeout_cap
            .map_or(self.timeout, |cap| cap.min(self.timeout));
        let cancel = cancelled(self.abort.clone(), msg.epoch);
        let io = self.io.take();
        let instrument = self.instrument.clone();
        AtomicResponse::new(Box::pin(
            async move {
                let Some(mut io) = io else {
                    return (
                        None,
                        Outcome::not_run(id, format!("connection {id} is closed")),
                    );
                };
                let out = run_commands(
                    &mut io,
                    &msg.step.commands,
                    &msg.texts,
                    &msg.vars,
                    timeout,
                    Conn {
                        id,
                        instrument: &instrument.name,
                    },
                    cancel,
                )
                .await;
                (Some(io), out)
            }
            .into_actor(self)
            .map(|(io, out), act, ctx| {
                if out.broken {
                    // Logged once, as the reason in `stopped`.
                    act.broken = Some(out.error.clone().unwrap_or_default());
                    ctx.stop();
                } else {
                    act.io = io;
                }
                out
            }),
        ))
    }
}

/// Dials `address`, checks the instrument did not close the session at once, drops any
/// unsolicited greeting, and sends the instrument's `on_connect` commands; returns the
/// session and, when there were `on_connect` commands, their run log record.
pub async fn open(
    id: usize,
    address: &Address,
    instrument: &Instrument,
) -> Result<(LineIo<TcpStream>, Option<runlog::Connect>), String> {
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
    // Commands are small and latency matters more than packet count.
    let _ = stream.set_nodelay(true);
    let mut io = LineIo::new(stream, &io_cfg.write_termination, &io_cfg.read_termination);
    match tokio::time::timeout(SETTLE, io.fill()).await {
        Err(_) => {}
        Ok(Ok(0)) => {
            return Err(
                "the instrument closed the connection at once (it may allow fewer sessions)".into(),
            );
        }
        Ok(Ok(n)) => {
            tracing::warn!(
                conn = id,
                instrument = %instrument.name,
                bytes = n,
                "discarding data the instrument sent before any command"
            );
            io.discard_pending();
        }
        Ok(Err(e)) => return Err(e.to_string()),
    }
    let mut record = None;
    if !instrument.on_connect.is_empty() {
        let texts = render_all(&instrument.on_connect, &[]);
        let never = std::future::pending();
        let out = run_commands(
            &mut io,
            &instrument.on_connect,
            &texts,
            &[],
            io_cfg.timeout,
            Conn {
                id,
                instrument: &instrument.name,
            },
            never,
        )
        .await;
        if let Some(err) = out.error {
            return Err(format!("on_connect failed: {err}"));
        }
        record = Some(runlog::Connect {
            instrument: instrument.name.clone(),
            conn: id,
            commands: out.exchanges,
            at: out.started_at,
        });
    }
    tracing::info!(
        conn = id,
        instrument = %instrument.name,
        address = %address,
        "connection open"
    );
    Ok((io, record))
}
