//! [`SimThread`]: a simulated instrument on its own OS thread and current-thread runtime.
//!
//! Tests and callers that run their own event loop (actix, a blocking test) start one with
//! [`SimThread::spawn`], connect to [`SimThread::addr`], and stop it with
//! [`SimThread::stop`] or by dropping it. The thread runs [`run_with`] until the shutdown
//! channel fires or its sender is dropped.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::{SimConfig, run_with};

/// A sim running on its own OS thread with its own current-thread tokio runtime (so it does not share the caller's event loop), bound to 127.0.0.1:0.
#[derive(Debug)]
pub struct SimThread {
    /// Where the server listens; bound before [`SimThread::spawn`] returns.
    addr: SocketAddr,
    /// Fires the server's shutdown; taken by the first stop.
    shutdown: Option<oneshot::Sender<()>>,
    /// The server's thread, which returns the model's report; taken and joined by the
    /// first stop.
    thread: Option<JoinHandle<Option<String>>>,
}

impl SimThread {
    /// Binds 127.0.0.1:0, builds a runtime and starts the server thread; every setup error
    /// is returned here, so [`SimThread::addr`] is connectable as soon as this returns.
    pub fn spawn(config: SimConfig) -> io::Result<SimThread> {
        let std_listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // Register the listener with this runtime's I/O driver now; runtime and listener
        // then move together to the server thread.
        let listener = {
            let _context = runtime.enter();
            tokio::net::TcpListener::from_std(std_listener)?
        };
        let (shutdown, rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("sim-{}", addr.port()))
            .spawn(move || {
                // A dropped sender also ends the server, so a lost `SimThread` cannot leak it.
                let stopped = async {
                    let _ = rx.await;
                };
                runtime
                    .block_on(run_with(listener, config, stopped))
                    .unwrap_or_else(|error| {
                        tracing::error!(%error, "simulated instrument failed");
                        None
                    })
            })?;
        Ok(SimThread {
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Address the server listens on (127.0.0.1 and the port picked at bind).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server and joins the thread (also done on Drop); returns the model's
    /// report (see [`super::Model::report`]).
    pub fn stop(mut self) -> Option<String> {
        self.stop_and_join()
    }

    /// Signals shutdown and waits for the thread; a no-op after the first call.
    fn stop_and_join(&mut self) -> Option<String> {
        if let Some(shutdown) = self.shutdown.take() {
            // The server may already be gone; nothing to signal then.
            let _ = shutdown.send(());
        }
        let thread = self.thread.take()?;
        thread.join().unwrap_or_else(|_| {
            tracing::error!(addr = %self.addr, "simulated instrument thread panicked");
            None
        })
    }
}

impl Drop for SimThread {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    /// Safety net so a broken server fails a test instead of hanging it; not a timing claim.
    const GUARD: Duration = Duration::from_secs(10);

    /// Connects a blocking client with a read timeout.
    fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(GUARD)).unwrap();
        BufReader::new(stream)
    }

    /// Sends `line` and returns the reply without its `\n`.
    fn query(client: &mut BufReader<TcpStream>, line: &str) -> String {
        client
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
        let mut reply = String::new();
        client.read_line(&mut reply).unwrap();
        reply.trim_end_matches('\n').to_owned()
    }

    /// Whether the server closed the connection (EOF or reset) without sending more; a read
    /// timeout means it is still open.
    fn closed(client: &mut BufReader<TcpStream>) -> bool {
        let mut rest = Vec::new();
        match client.read_to_end(&mut rest) {
            Ok(_) => rest.is_empty(),
            Err(error) => !matches!(
                error.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
    }

    /// A spawned sim answers from a plain blocking thread, and `stop` closes its connections.
    #[test]
    fn spawn_serves_and_stop_closes() {
        let sim = SimThread::spawn(SimConfig::default()).unwrap();
        assert!(sim.addr().ip().is_loopback());
        assert_ne!(sim.addr().port(), 0);
        let mut client = connect(sim.addr());
        let idn = format!("SEQUENCER,SIM,0,{}", env!("CARGO_PKG_VERSION"));
        assert_eq!(query(&mut client, "*IDN?"), idn);
        assert_eq!(query(&mut client, "A 2;A?"), "2");
        sim.stop();
        let closed = closed(&mut client);
        assert!(closed, "connection left open after stop");
    }

    /// Dropping a `SimThread` stops it too: its open connection is closed.
    #[test]
    fn drop_stops_the_server() {
        let sim = SimThread::spawn(SimConfig {
            max_connections: Some(4),
            ..SimConfig::default()
        })
        .unwrap();
        let mut client = connect(sim.addr());
        assert_eq!(query(&mut client, "SIM:CONN?"), "1");
        drop(sim);
        let closed = closed(&mut client);
        assert!(closed, "connection left open after drop");
    }
}
