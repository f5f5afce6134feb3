//! A scripted [`Instrument`] served over TCP on 127.0.0.1:0, from a thread with a tokio
//! runtime of its own, for tests that run the real binary.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use super::journal::What;
use super::script::Instrument;

/// Safety net of [`Listening::accepted`]: not a timing claim.
const GUARD: Duration = Duration::from_secs(30);

/// How the serving thread is to end.
enum End {
    /// At once: every connection is closed.
    Now,
    /// Once every connection has been closed by its client (the listen backlog is taken
    /// first).
    WhenDone,
}

/// An [`Instrument`] listening on 127.0.0.1:0. Dropped, it closes every connection and
/// joins its thread (also when a test panics).
pub struct Listening {
    addr: SocketAddr,
    instrument: Instrument,
    end: Option<oneshot::Sender<End>>,
    thread: Option<JoinHandle<()>>,
}

impl Instrument {
    /// Serves this instrument on 127.0.0.1:0, connections numbered in accept order.
    pub fn listen(&self) -> std::io::Result<Listening> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let (end, ended) = oneshot::channel();
        let me = self.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::spawn(move || runtime.block_on(me.accept(listener, ended)));
        Ok(Listening {
            addr,
            instrument: self.clone(),
            end: Some(end),
            thread: Some(thread),
        })
    }

    /// Accepts and serves connections until told to end.
    async fn accept(self, listener: TcpListener, mut ended: oneshot::Receiver<End>) {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        let mut sessions = tokio::task::JoinSet::new();
        let end = loop {
            tokio::select! {
                accepted = listener.accept() => {
                    if let Ok((stream, peer)) = accepted {
                        let _ = stream.set_nodelay(true);
                        let (me, conn) = (self.clone(), self.next_conn());
                        sessions.spawn(async move { me.serve(stream, conn, Some(peer)).await });
                    }
                }
                end = &mut ended => break end.unwrap_or(End::Now),
            }
        };
        if let End::WhenDone = end {
            // What is still in the backlog was connected before the end: served too.
            if let Ok(listener) = listener.into_std() {
                while let Ok((stream, peer)) = listener.accept() {
                    let stream = stream
                        .set_nonblocking(true)
                        .and_then(|()| tokio::net::TcpStream::from_std(stream));
                    if let Ok(stream) = stream {
                        let (me, conn) = (self.clone(), self.next_conn());
                        sessions.spawn(async move { me.serve(stream, conn, Some(peer)).await });
                    }
                }
            }
            while sessions.join_next().await.is_some() {}
        }
    }
}

impl Listening {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The instrument served.
    pub fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    /// How many connections were opened to it before this call, refused ones included.
    /// Exact even for a connection still in the listen backlog: a marker connection made
    /// here is queued after it (the backlog is first in, first out), so once the marker
    /// has been accepted, so has every connection before it.
    pub fn accepted(&self) -> usize {
        let marker = TcpStream::connect(self.addr).expect("cannot connect a marker");
        let me = marker
            .local_addr()
            .expect("a connected socket has an address");
        let deadline = std::time::Instant::now() + GUARD;
        loop {
            let journal = self.instrument.journal();
            let marked = journal.0.iter().find_map(|e| match e.what {
                What::Opened { peer: Some(peer) } if peer == me => Some(e.conn),
                _ => None,
            });
            if let Some(n) = marked {
                return n;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the marker was never accepted"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Stops accepting once the backlog is empty, and waits for every session to end by
    /// itself (its client closed the connection).
    pub fn finish(&mut self) {
        self.end(End::WhenDone);
    }

    fn end(&mut self, how: End) {
        if let Some(end) = self.end.take() {
            let _ = end.send(how);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.end(End::Now);
    }
}
