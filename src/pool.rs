//! Pool actor: the connections to one instrument, up to `max_connections`.
//!
//! The run opens the pool with [`Open`] (all connections at once, continuing with fewer if
//! the instrument refuses some). The sequencer sends [`Execute`] per point; the pool queues
//! it, hands it to an idle [`Connection`] and replies with the [`Outcome`]. A connection
//! whose point left it broken stops itself; the pool forgets it and dials a replacement when
//! work is waiting, backing off (100 ms doubling to 5 s, with jitter) after failed dials.
//! After `reconnect_attempts` failures with no connection left, waiting points fail as
//! `unreachable` and the sequencer stops the run. [`DropQueued`] hands back points that have
//! not started when the run stops. The sequencer, not the pool, bounds points in flight.
//! Each new connection's `on_connect` record goes to the sequencer over the channel given
//! to [`Pool::recording_connects`].
//!
//! Logging, every line with `instrument` and `address`, and `conn` when it is about one
//! connection: each dial (debug at opening, info for a reconnect attempt), its failure
//! (debug at opening, where the run reports the outcome; warn later), `reconnected`, the
//! backoff before a redial (info), and giving up (warn, or error when no connection is left).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix::prelude::*;
use tokio::sync::{mpsc, oneshot, watch};

use crate::connection::{self, Connection, RunPoint};
use crate::exec::Outcome;
use crate::runlog;
use crate::sequence::value::Value;
use crate::sequence::{Address, Instrument, Step};

/// Opens the initial connections; replies with how many the instrument accepted, or the
/// first connect error when it accepted none.
#[derive(Message)]
#[rtype(result = "Result<usize, String>")]
pub struct Open;

/// Runs one point on some connection of this pool.
#[derive(Message)]
#[rtype(result = "Outcome")]
pub struct Execute {
    /// The step whose commands to run.
    pub step: Arc<Step>,
    /// Rendered text of each command.
    pub texts: Vec<String>,
    /// The point's sweep variables.
    pub vars: Vec<Value>,
    /// Abort epoch at dispatch (see [`RunPoint::epoch`]).
    pub epoch: u64,
    /// Shorter per-command timeout, if any (see [`RunPoint::timeout_cap`]).
    pub timeout_cap: Option<Duration>,
}

/// Hands back every point still waiting for a connection, unstarted ([`Outcome::skipped`]):
/// the run is stopping and must not start them.
#[derive(Message)]
#[rtype(result = "()")]
pub struct DropQueued;

/// A point waiting for a connection, with where to send its outcome.
type Waiting = (Execute, oneshot::Sender<Outcome>);

/// First pause before redialling after a failed dial; doubles per failure.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
/// Longest pause between dials.
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The pause before dial attempt `failures + 1`: 100 ms doubling to 5 s, times a random
/// factor in [0.5, 1] so that many connections lost at once do not redial in lockstep.
pub fn backoff(failures: u32) -> Duration {
    let exp = BACKOFF_FIRST.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let base = exp.min(BACKOFF_MAX);
    let jitter = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(failures);
        (h.finish() % 1000) as f64 / 1000.0
    };
    base.mul_f64(0.5 + jitter / 2.0)
}

/// The connections to one instrument.
pub struct Pool {
    /// Settings and `on_connect` commands of the instrument.
    instrument: Arc<Instrument>,
    /// Where to dial.
    address: Address,
    /// Connection id source shared by all pools of the run, so ids are unique in the log.
    next_id: Arc<AtomicUsize>,
    /// Most connections to keep: `max_connections`, lowered to what the instrument accepted
    /// at opening, or when it keeps refusing more while some are open.
    cap: usize,
    /// Connections open (idle or busy).
    live: usize,
    /// Dials in progress.
    dialing: usize,
    /// Failed dials since the last successful one (drives the backoff).
    failures: u32,
    /// A backoff timer is pending; no dial starts until it fires.
    backing_off: bool,
    /// The backoff after the last failure has elapsed: the next dial may start.
    retry_ready: bool,
    /// Connections free to take a point.
    idle: VecDeque<Addr<Connection>>,
    /// Points waiting for a connection, in dispatch order.
    queue: VecDeque<Waiting>,
    /// Answer to a pending [`Open`], sent when its dials are all done.
    opening: Option<oneshot::Sender<Result<usize, String>>>,
    /// Most recent dial error, reported if no connection can be had.
    last_error: Option<String>,
    /// Connection id of the dial that failed last (named when giving up).
    last_failed: usize,
    /// The run's abort epoch, handed to every connection.
    abort: watch::Receiver<u64>,
    /// Handed to every connection, which drops it only after logging its close: once the
    /// run's receiver sees every sender gone, every close has been logged.
    alive: mpsc::Sender<()>,
    /// Where the connect record of each new connection's `on_connect` goes (to the
    /// sequencer, the run log's writer); set by [`Pool::recording_connects`].
    connects: Option<mpsc::UnboundedSender<runlog::Connect>>,
}

impl Pool {
    /// A pool for `instrument` at `address`; nothing is dialled until [`Open`] or work.
    /// `alive` is cloned into every connection (see [`Connection::new`]).
    pub fn new(
        instrument: Arc<Instrument>,
        address: Address,
        next_id: Arc<AtomicUsize>,
        abort: watch::Receiver<u64>,
        alive: mpsc::Sender<()>,
    ) -> Self {
        Pool {
            abort,
            alive,
            cap: instrument.max_connections,
            instrument,
            address,
            next_id,
            live: 0,
            dialing: 0,
            failures: 0,
            backing_off: false,
            retry_ready: false,
            idle: VecDeque::new(),
            queue: VecDeque::new(),
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

    /// Starts one dial; its end updates the counts and pumps the queue.
    fn dial(&mut self, ctx: &mut Context<Self>) {
        self.dialing += 1;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        // Dials started together (several connections lost at once) fail together: they
        // count as one attempt, so a short outage does not use up every attempt at once.
        let attempt = self.failures + 1;
        let name = &self.instrument.name;
        if self.opening.is_some() {
            tracing::debug!(conn = id, instrument = %name, address = %self.address, "connecting");
        } else {
            tracing::info!(
                conn = id,
                instrument = %name,
                address = %self.address,
                "reconnecting (attempt {attempt} of {})",
                self.instrument.reconnect_attempts
            );
        }
        let (instrument, address) = (self.instrument.clone(), self.address.clone());
        let fut = async move { connection::open(id, &address, &instrument).await };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            act.dialing -= 1;
            match res {
                Ok((io, record)) => {
                    // Sent before the connection takes work, so it is logged before its points.
                    if let (Some(tx), Some(record)) = (&act.connects, record) {
                        let _ = tx.send(record);
                    }
                    act.live += 1;
                    if act.failures > 0 {
                        tracing::info!(
                            conn = id,
                            instrument = %act.instrument.name,
                            address = %act.address,
                            "reconnected after {} failed attempt(s)",
                            act.failures
                        );
                    }
                    act.failures = 0;
                    let conn = Connection::new(
                        id,
                        act.instrument.clone(),
                        io,
                        act.abort.clone(),
                        act.alive.clone(),
                    )
                    .start();
                    act.idle.push_back(conn);
                }
                Err(e) if act.opening.is_some() => {
                    // Reported once, by whoever awaits the opening.
                    tracing::debug!(
                        conn = id,
                        instrument = %act.instrument.name,
                        address = %act.address,
                        "cannot connect: {e}"
                    );
                    act.last_error = Some(e);
                    act.last_failed = id;
                }
                Err(e) => {
                    act.failures = act.failures.max(attempt);
                    act.last_failed = id;
                    tracing::warn!(
                        conn = id,
                        instrument = %act.instrument.name,
                        address = %act.address,
                        "reconnect attempt {} of {} failed: {e}",
                        act.failures,
                        act.instrument.reconnect_attempts
                    );
                    act.last_error = Some(e);
                }
            }
            if act.dialing == 0
                && let Some(tx) = act.opening.take()
            {
                let result = if act.live > 0 {
                    act.cap = act.live;
                    Ok(act.live)
                } else {
                    Err(act.last_error.clone().unwrap_or_default())
                };
                let _ = tx.send(result);
            }
            act.pump(ctx);
        }));
    }

    /// Hands waiting points to idle connections, and dials more (with backoff after
    /// failures) while points wait and the cap allows.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        while !self.queue.is_empty() {
            let Some(conn) = self.idle.pop_front() else {
                break;
            };
            if let Some((job, tx)) = self.queue.pop_front() {
                self.run(conn, job, tx, ctx);
            }
        }
        if self.opening.is_some() {
            return;
        }
        while self.queue.len() > self.dialing && self.live + self.dialing < self.cap {
            if self.failures == 0 {
                self.dial(ctx);
                continue;
            }
            // After a failure: one attempt at a time, each after its backoff.
            if self.dialing > 0 || self.backing_off {
                return;
            }
            if self.failures >= self.instrument.reconnect_attempts {
                self.give_up();
                return;
            }
            if self.retry_ready {
                self.retry_ready = false;
                self.dial(ctx);
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

    /// Every reconnect attempt failed: with connections left, keep those; with none, the
    /// instrument is unreachable and every waiting point fails with the reason.
    fn give_up(&mut self) {
        let attempts = self.failures;
        self.failures = 0;
        let cause = self.last_error.as_deref().unwrap_or("refused");
        if self.live > 0 {
            tracing::warn!(
                conn = self.last_failed,
                instrument = %self.instrument.name,
                address = %self.address,
                "instrument takes no more connections ({cause}); continuing with {}",
                self.live
            );
            self.cap = self.live;
            return;
        }
        let reason = format!(
            "instrument at `{}` unreachable: {attempts} reconnect attempts failed, the last with: {cause}",
            self.address
        );
        tracing::error!(
            conn = self.last_failed,
            instrument = %self.instrument.name,
            address = %self.address,
            "{reason}"
        );
        for (_, tx) in self.queue.drain(..) {
            let _ = tx.send(Outcome {
                unreachable: true,
                ..Outcome::not_run(0, reason.clone())
            });
        }
    }

    /// Sends one point to `conn`; afterwards the connection is idle again or forgotten.
    fn run(
        &mut self,
        conn: Addr<Connection>,
        job: Execute,
        tx: oneshot::Sender<Outcome>,
        ctx: &mut Context<Self>,
    ) {
        let msg = RunPoint {
            step: job.step,
            texts: job.texts,
            vars: job.vars,
            epoch: job.epoch,
            timeout_cap: job.timeout_cap,
        };
        let fut = conn.send(msg);
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            let out = match res {
                Ok(out) => out,
                Err(e) => Outcome::not_run(0, format!("connection actor stopped: {e}")),
            };
            if out.broken {
                act.live -= 1;
            } else {
                act.idle.push_back(conn);
            }
            let _ = tx.send(Outcome {
                pool_cap: Some(act.cap),
                ..out
            });
            act.pump(ctx);
        }));
    }
}

impl Actor for Pool {
    type Context = Context<Self>;
}

impl Handler<Open> for Pool {
    type Result = ResponseFuture<Result<usize, String>>;

    fn handle(&mut self, _: Open, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.opening = Some(tx);
        for _ in 0..self.cap.max(1) {
            self.dial(ctx);
        }
        Box::pin(async move { rx.await.unwrap_or_else(|_| Err("pool stopped".into())) })
    }
}

impl Handler<Execute> for Pool {
    type Result = ResponseFuture<Outcome>;

    fn handle(&mut self, msg: Execute, ctx: &mut Context<Self>) -> Self::Result {
        let (tx, rx) = oneshot::channel();
        self.queue.push_back((msg, tx));
        self.pump(ctx);
        Box::pin(async move {
            rx.await
                .unwrap_or_else(|_| Outcome::not_run(0, "connection pool stopped".into()))
        })
    }
}

impl Handler<DropQueued> for Pool {
    type Result = ();

    fn handle(&mut self, _: DropQueued, _: &mut Context<Self>) {
        for (_, tx) in self.queue.drain(..) {
            let _ = tx.send(Outcome::skipped());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Backoff doubles from 100 ms, is capped at 5 s, and jitter keeps it in [half, full].
    #[test]
    fn backoff_doubles_with_jitter_and_cap() {
        let cases = [
            (1, 100),
            (2, 200),
            (3, 400),
            (6, 3200),
            (7, 5000),
            (30, 5000),
        ];
        for (failures, full_ms) in cases {
            for _ in 0..20 {
                let d = backoff(failures).as_secs_f64() * 1000.0;
                let full = f64::from(full_ms);
                assert!(
                    d >= full / 2.0 - 1e-9 && d <= full + 1e-9,
                    "{failures}: {d}"
                );
            }
        }
    }
}
