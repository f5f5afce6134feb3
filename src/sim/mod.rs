//! The simulated instrument: a plain-tokio TCP server speaking SCPI text messages.
//!
//! `sequencer sim` and the tests call [`run`] or [`run_with`] with a bound listener and a
//! shutdown future; tests that must not share their caller's event loop use
//! [`SimThread`]. What the instrument answers is a [`Model`], built once per server from
//! the [`Blueprint`] in the [`SimConfig`]: the generic [`Device`](device::Device) by
//! default, a pyvisa-sim device file ([`pyvisa`]) or a recorded run ([`replay`]). It also
//! gives the [`Framing`] (how messages and replies end; [`SimConfig::eom`], the user's
//! terminations, replaces it) and a greeting sent on connect. The accept loop owns one task per
//! connection in a [`JoinSet`], so connections proceed in parallel and shutdown can close
//! them all. Every task shares the one model behind a `std::sync::Mutex`, locked only
//! around [`Model::handle`] and never across an await; the model returns the delay it
//! wants and the session sleeps it, so a slow reply on one connection never blocks another.
//!
//! # Layout
//! - `mod.rs`: [`SimConfig`] and the accept loop ([`run_with`]).
//! - [`model`]: the [`Model`] and [`Blueprint`] seam, [`Framing`], the reply-size cap, the
//!   connection [`Counters`] every model is built with.
//! - `session.rs`: one connection: greeting, message framing, latency, replies, injected
//!   faults; `quickack.rs`: acknowledging what it reads at once (`TCP_QUICKACK`), for
//!   clients with Nagle's algorithm on.
//! - [`device`]: the generic instrument model.
//! - [`pyvisa`]: pyvisa-sim device files; [`replay`]: replaying a recorded run.
//! - [`faults`]: [`Faults`], the `--fault` settings: parsing, checks, display.
//! - `conn_faults.rs`: the pure per-connection fault decisions (what to drop, ignore,
//!   garble or delay), seeded for reproducible random drops.
//! - `thread.rs`: [`SimThread`], a server on its own OS thread and runtime.
//!
//! # Faults
//! [`SimConfig::faults`] makes the instrument misbehave on purpose. The accept loop applies
//! `refuse-after` (it counts every connection it serves, over its whole life) and numbers
//! served connections from 1; each session applies the per-connection faults through a
//! `ConnFaults` seeded from that number. Each injected fault is logged at debug level.

mod conn_faults;
pub mod device;
#[cfg(test)]
mod fault_tests;
pub mod faults;
#[cfg(test)]
mod framing_tests;
pub mod model;
pub mod pyvisa;
mod quickack;
pub mod replay;
mod session;
#[cfg(test)]
mod test_support;
mod thread;

pub use faults::Faults;
pub use model::{Blueprint, Framing, Model, Response};
pub use thread::SimThread;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinSet;

use self::conn_faults::ConnFaults;
use self::device::Generic;
use self::model::Counters;
use self::session::{OpenGuard, Session};
use crate::sequence::Eom;

/// Longest accepted line, terminator excluded; a longer line closes its connection.
pub const MAX_LINE: usize = 1 << 20;

/// Pause after an accept error that is not about one connection (e.g. too many open files),
/// so a persistent failure does not spin the loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Settings of the simulated instrument.
#[derive(Debug, Clone, Default)]
pub struct SimConfig {
    /// Delay slept before writing each reply line (never for writes, which have no reply).
    pub latency: Duration,
    /// Most connections served at once; further connections are accepted and closed at once.
    /// `None` means unlimited.
    pub max_connections: Option<usize>,
    /// Faults to inject (drops, stalls, garbage, late replies, refusals); none by default.
    pub faults: Faults,
    /// What the instrument says: a device file, a replay; `None` is the generic device.
    pub blueprint: Option<Arc<dyn Blueprint>>,
    /// Terminations given by the user (`--eom`, `sim: {eom}`), overriding the blueprint's
    /// framing; `None`: the blueprint's own.
    pub eom: Option<Eom>,
    /// Sent on every new connection (`--greeting`), overriding the blueprint's greeting.
    pub greeting: Option<String>,
    /// Leave the kernel's delayed ACKs alone (no `TCP_QUICKACK`, see `quickack.rs`): how the
    /// simulator answered clients with Nagle on before; for the benchmark's comparison.
    pub delayed_acks: bool,
}

impl SimConfig {
    /// The instrument description in effect (the generic device unless one was given).
    fn blueprint(&self) -> Arc<dyn Blueprint> {
        self.blueprint.clone().unwrap_or_else(|| Arc::new(Generic))
    }

    /// The connection limit in effect: `max_connections` if set, else the blueprint's own.
    fn connection_limit(&self) -> Option<usize> {
        self.max_connections
            .or_else(|| self.blueprint.as_ref().and_then(|b| b.max_connections()))
    }
}

/// Serves the default generic instrument on `listener` until `shutdown` resolves.
pub async fn run(listener: TcpListener, shutdown: impl Future<Output = ()>) -> io::Result<()> {
    run_with(listener, SimConfig::default(), shutdown)
        .await
        .map(drop)
}

/// Same with explicit settings. When shutdown resolves: stop accepting, close every open
/// connection, return the model's [`Model::report`] (e.g. commands a replay had no
/// recording for).
pub async fn run_with(
    listener: TcpListener,
    config: SimConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<Option<String>> {
    if !config.faults.is_empty() {
        tracing::debug!(faults = %config.faults, "injecting faults");
    }
    let mut gate = Gate::new(config);
    let mut sessions = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            // Reap finished sessions so the set does not grow with every connection served.
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // A refused connection is closed at once by dropping its stream.
                    if let Some(session) = gate.admit(peer) {
                        // Replies are small single writes; do not let Nagle hold one back.
                        // (The client's Nagle is met with quick ACKs: `quickack.rs`.)
                        let _ = stream.set_nodelay(true);
                        sessions.spawn(session.run(stream));
                    }
                }
                Err(error) if is_per_connection(&error) => {
                    tracing::debug!(%error, "accept failed for one connection");
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed; backing off");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    }
                }
            },
        }
    }
    // Stop accepting first, then abort every session: dropping a session's stream closes
    // the connection, and its guard decrements the counters.
    drop(listener);
    sessions.shutdown().await;
    tracing::debug!("simulated instrument stopped");
    let model = gate.model.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(model.report())
}

/// The accept loop's admission state: decides which accepted connections are served and
/// builds their sessions.
struct Gate {
    /// The sim's settings: `max_connections`, `faults.refuse_after`, and what sessions get.
    config: SimConfig,
    /// Open and peak connections, shared with the device and every session's guard.
    counters: Arc<Counters>,
    /// The instrument every session talks to.
    model: Arc<Mutex<Box<dyn Model>>>,
    /// How its messages are framed.
    framing: Arc<Framing>,
    /// Sent to every new connection first, its termination included; empty for none.
    greeting: Arc<[u8]>,
    /// Most connections served at once, if limited.
    limit: Option<usize>,
    /// Connections served so far over the server's whole life (refused ones not counted):
    /// the last accept number given out, and what `refuse-after` compares with.
    served: u64,
}

impl Gate {
    /// A gate with a fresh device and no connection served yet.
    fn new(config: SimConfig) -> Gate {
        let counters = Arc::new(Counters::default());
        let blueprint = config.blueprint();
        let model = Arc::new(Mutex::new(blueprint.build(Arc::clone(&counters))));
        let framing = if let Some(eom) = &config.eom {
            blueprint.framing_with(eom)
        } else {
            if let Some(note) = blueprint.framing_note() {
                tracing::warn!("{note}");
            }
            blueprint.framing()
        };
        let greeting = config.greeting.clone().or_else(|| blueprint.greeting());
        let greeting = greeting.map_or_else(Vec::new, |text| {
            [text.as_bytes(), &framing.write_termination].concat()
        });
        Gate {
            framing: Arc::new(framing),
            greeting: greeting.into(),
            limit: config.connection_limit(),
            config,
            counters,
            model,
            served: 0,
        }
    }

    /// A session for the connection just accepted from `peer`, already counted as open; or
    /// `None` (logged) when `max_connections` or `refuse-after` refuses it.
    fn admit(&mut self, peer: SocketAddr) -> Option<Session> {
        let full = self.limit.is_some_and(|max| self.counters.current() >= max);
        if full {
            tracing::debug!(%peer, "connection refused: maximum reached");
            return None;
        }
        let served = self.served;
        if self.config.faults.refuse_after.is_some_and(|n| served >= n) {
            tracing::debug!(%peer, served, "fault: connection refused (refuse-after)");
            return None;
        }
        self.served += 1;
        let conn = self.served;
        // Count here in the accept loop, not in the task, so the next accept already sees
        // this connection when it checks the maximum.
        let open = self.counters.open();
        tracing::debug!(%peer, conn, open, "connection opened");
        Some(Session {
            peer,
            conn,
            model: Arc::clone(&self.model),
            framing: Arc::clone(&self.framing),
            greeting: Arc::clone(&self.greeting),
            quick_acks: !self.config.delayed_acks,
            latency: self.config.latency,
            faults: ConnFaults::new(&self.config.faults, conn),
            _guard: OpenGuard(Arc::clone(&self.counters)),
        })
    }
}

/// Whether an accept error concerns only the connection being accepted, so the loop goes on.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::test_support::{Client, GUARD, Server};
    use super::*;
    use std::time::Instant;
    use tokio::io::AsyncWriteExt;

    /// A value stored on one connection is read back on another: one shared instrument.
    #[tokio::test]
    async fn state_is_shared_between_connections() {
        let server = Server::start(SimConfig::default()).await;
        let mut a = Client::connect(server.addr).await;
        let mut b = Client::connect(server.addr).await;
        a.send("SOUR1:VOLT 0.5\n").await;
        assert_eq!(a.query("*OPC?").await, "1");
        assert_eq!(b.query("sour1:volt?").await, "0.5");
        assert_eq!(b.query("SOUR1:VOLT?;*IDN?").await, {
            format!("0.5;SEQUENCER,SIM,0,{}", env!("CARGO_PKG_VERSION"))
        });
        server.stop().await;
    }

    /// `SIM:CONN?` counts open connections, `SIM:CONN:PEAK?` keeps the maximum after closes.
    #[tokio::test]
    async fn connection_counts_and_peak() {
        let server = Server::start(SimConfig::default()).await;
        let mut clients = Vec::new();
        for _ in 0..3 {
            let mut client = Client::connect(server.addr).await;
            // A round trip proves the server has accepted and counted this connection.
            assert_eq!(client.query("*OPC?").await, "1");
            clients.push(client);
        }
        assert_eq!(clients[0].query("SIM:CONN?").await, "3");
        assert_eq!(clients[2].query("SIM:CONN:PEAK?").await, "3");
        let mut first = clients.remove(0);
        drop(clients);
        // The server notices the two closes asynchronously: poll until it has.
        let mut current = first.query("SIM:CONN?").await;
        let deadline = Instant::now() + GUARD;
        while current != "1" && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
            current = first.query("SIM:CONN?").await;
        }
        assert_eq!(current, "1");
        assert_eq!(first.query("SIM:CONN:PEAK?").await, "3");
        server.stop().await;
    }

    /// With `max_connections = 1` a second connection is closed at once and not counted.
    #[tokio::test]
    async fn max_connections_closes_extra_connections() {
        let config = SimConfig {
            max_connections: Some(1),
            ..SimConfig::default()
        };
        let server = Server::start(config).await;
        let mut first = Client::connect(server.addr).await;
        assert_eq!(first.query("*OPC?").await, "1");
        let mut second = Client::connect(server.addr).await;
        assert!(second.closed().await, "second connection was served");
        assert_eq!(first.query("SIM:CONN?;SIM:CONN:PEAK?").await, "1;1");
        server.stop().await;
    }

    /// A reply never arrives before the configured latency; writes get no reply at all.
    #[tokio::test]
    async fn latency_delays_replies() {
        let latency = Duration::from_millis(50);
        let config = SimConfig {
            latency,
            ..SimConfig::default()
        };
        let server = Server::start(config).await;
        let mut client = Client::connect(server.addr).await;
        let started = Instant::now();
        // The write produces no line, so the first line read is the query's reply.
        client.send("A 7\nA?\n").await;
        assert_eq!(client.line().await, "7");
        assert!(started.elapsed() >= latency, "{:?}", started.elapsed());
        server.stop().await;
    }

    /// Clients ending lines with `\r\n` work, and empty lines are ignored.
    #[tokio::test]
    async fn crlf_and_empty_lines() {
        let server = Server::start(SimConfig::default()).await;
        let mut client = Client::connect(server.addr).await;
        client
            .send("\r\n\nSOUR1:VOLT 0.5\r\n\r\nsour1:volt?\r\n*OPC?\n")
            .await;
        assert_eq!(client.line().await, "0.5");
        assert_eq!(client.line().await, "1");
        server.stop().await;
    }

    /// A line over [`MAX_LINE`] closes that connection only; others keep working.
    #[tokio::test]
    async fn overlong_line_closes_connection() {
        let server = Server::start(SimConfig::default()).await;
        let mut other = Client::connect(server.addr).await;
        let mut client = Client::connect(server.addr).await;
        let long = vec![b'A'; MAX_LINE + 16];
        // The server may close (and reset) before taking everything: a failed write is fine.
        let _ = client.writer.write_all(&long).await;
        assert!(client.closed().await, "overlong line was accepted");
        assert_eq!(other.query("*OPC?").await, "1");
        server.stop().await;
    }

    /// Shutdown closes open connections (clients read EOF) and `run_with` returns `Ok`.
    #[tokio::test]
    async fn shutdown_closes_open_connections() {
        let server = Server::start(SimConfig::default()).await;
        let mut a = Client::connect(server.addr).await;
        let mut b = Client::connect(server.addr).await;
        // Round trips prove both sessions are being served when shutdown comes.
        assert_eq!(a.query("*OPC?").await, "1");
        assert_eq!(b.query("*OPC?").await, "1");
        server.stop().await;
        assert!(a.closed().await, "first connection left open");
        assert!(b.closed().await, "second connection left open");
    }

    /// Shutdown also ends a session that is asleep in its reply latency.
    #[tokio::test]
    async fn shutdown_interrupts_latency() {
        let server = Server::start(SimConfig {
            latency: Duration::from_secs(3600),
            ..SimConfig::default()
        })
        .await;
        let mut client = Client::connect(server.addr).await;
        client.send("*OPC?\n").await;
        server.stop().await;
        assert!(client.closed().await, "connection left open");
    }
}
