//! Pool actor: the connections to one instrument, up to `max_connections`.
//!
//! The run opens the pool with [`Open`] (all connections at once, continuing with fewer if
//! the instrument refuses some). The sequencer sends [`Execute`] per point; the pool queues
//! it, hands it to an idle [`Connection`] and replies with the [`Outcome`]. A connection
//! whose point left it broken stops itself; the pool forgets it and dials a replacement when
//! work is waiting. The pool never decides what runs: the sequencer bounds points in flight.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::connection::{self, Connection, RunPoint};
use crate::exec::Outcome;
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
}

/// A point waiting for a connection, with where to send its outcome.
type Waiting = (Execute, oneshot::Sender<Outcome>);

/// The connections to one instrument.
pub struct Pool {
    /// Settings and `on_connect` commands of the instrument.
    instrument: Arc<Instrument>,
    /// Where to dial.
    address: Address,
    /// Connection id source shared by all pools of the run, so ids are unique in the log.
    next_id: Arc<AtomicUsize>,
    /// Most connections to keep; lowered when the instrument refuses more.
    cap: usize,
    /// Connections open (idle or busy).
    live: usize,
    /// Dials in progress.
    dialing: usize,
    /// Connections free to take a point.
    idle: VecDeque<Addr<Connection>>,
    /// Points waiting for a connection, in dispatch order.
    queue: VecDeque<Waiting>,
    /// Answer to a pending [`Open`], sent when its dials are all done.
    opening: Option<oneshot::Sender<Result<usize, String>>>,
    /// Most recent dial error, reported if no connection can be had.
    last_error: Option<String>,
}

impl Pool {
    /// A pool for `instrument` at `address`; nothing is dialled until [`Open`] or work.
    pub fn new(instrument: Arc<Instrument>, address: Address, next_id: Arc<AtomicUsize>) -> Self {
        Pool {
            cap: instrument.max_connections,
            instrument,
            address,
            next_id,
            live: 0,
            dialing: 0,
            idle: VecDeque::new(),
            queue: VecDeque::new(),
            opening: None,
            last_error: None,
        }
    }

    /// Starts one dial; its end updates the counts and pumps the queue.
    fn dial(&mut self, ctx: &mut Context<Self>) {
        self.dialing += 1;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let (instrument, address) = (self.instrument.clone(), self.address.clone());
        let fut = async move { connection::open(id, &address, &instrument).await };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            act.dialing -= 1;
            match res {
                Ok(io) => {
                    act.live += 1;
                    let conn = Connection::new(id, io, act.instrument.io.timeout).start();
                    act.idle.push_back(conn);
                }
                Err(e) => {
                    if act.opening.is_some() {
                        // Reported once, by whoever awaits the opening.
                        tracing::debug!(conn = id, address = %act.address, "cannot connect: {e}");
                    } else {
                        tracing::warn!(conn = id, address = %act.address, "cannot connect: {e}");
                    }
                    act.last_error = Some(e);
                    if act.opening.is_none() {
                        // The instrument takes no more sessions now: do not redial in a loop.
                        act.cap = act.live;
                    }
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

    /// Hands waiting points to idle connections, dialling more if allowed.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        while !self.queue.is_empty() {
            let Some(conn) = self.idle.pop_front() else {
                break;
            };
            if let Some((job, tx)) = self.queue.pop_front() {
                self.run(conn, job, tx, ctx);
            }
        }
        while self.queue.len() > self.dialing && self.live + self.dialing < self.cap {
            self.dial(ctx);
        }
        if self.live == 0 && self.dialing == 0 && self.opening.is_none() {
            // No connection and none coming: every waiting point fails with the reason.
            let reason = format!(
                "no connection to `{}`: {}",
                self.address,
                self.last_error
                    .as_deref()
                    .unwrap_or("the instrument refused all sessions")
            );
            for (_, tx) in self.queue.drain(..) {
                let _ = tx.send(Outcome::not_run(0, reason.clone()));
            }
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
            let _ = tx.send(out);
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
