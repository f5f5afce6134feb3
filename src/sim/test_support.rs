//! Test helpers for the server tests in [`crate::sim`]: a [`Server`] on 127.0.0.1:0 in the
//! test's own runtime, and a line-speaking [`Client`]. Compiled for tests only.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::{SimConfig, run_with};

/// Safety net so a broken server fails a test instead of hanging it; not a timing claim.
pub(super) const GUARD: Duration = Duration::from_secs(10);

/// A server started by a test, stopped by [`Server::stop`].
pub(super) struct Server {
    /// Where the server listens.
    pub(super) addr: SocketAddr,
    /// Fires the server's shutdown.
    shutdown: oneshot::Sender<()>,
    /// The task running [`run_with`].
    handle: JoinHandle<io::Result<Option<String>>>,
}

impl Server {
    /// Binds 127.0.0.1:0 and spawns [`run_with`] on the test's runtime.
    pub(super) async fn start(config: SimConfig) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (shutdown, rx) = oneshot::channel();
        let handle = tokio::spawn(run_with(listener, config, async {
            let _ = rx.await;
        }));
        Server {
            addr,
            shutdown,
            handle,
        }
    }

    /// Signals shutdown, checks that `run_with` returns `Ok` and returns the model's report.
    pub(super) async fn stop(self) -> Option<String> {
        self.shutdown.send(()).unwrap();
        timeout(GUARD, self.handle)
            .await
            .expect("run_with did not return after shutdown")
            .unwrap()
            .unwrap()
    }
}

/// A test client speaking lines.
pub(super) struct Client {
    /// Buffered reading side.
    pub(super) reader: BufReader<OwnedReadHalf>,
    /// Writing side.
    pub(super) writer: OwnedWriteHalf,
}

impl Client {
    /// Connects to `addr`.
    pub(super) async fn connect(addr: SocketAddr) -> Client {
        let (read, writer) = TcpStream::connect(addr).await.unwrap().into_split();
        Client {
            reader: BufReader::new(read),
            writer,
        }
    }

    /// Writes `text` as is.
    pub(super) async fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).await.unwrap();
    }

    /// Reads one reply line without its `\n`.
    pub(super) async fn line(&mut self) -> String {
        self.try_line()
            .await
            .expect("connection closed while waiting for a reply")
    }

    /// Reads one reply line without its `\n`, or `None` if the server closed the connection
    /// (EOF or reset) first.
    pub(super) async fn try_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match timeout(GUARD, self.reader.read_line(&mut line))
            .await
            .expect("no reply")
        {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(
                line.strip_suffix('\n')
                    .expect("reply ends with \\n")
                    .to_owned(),
            ),
        }
    }

    /// Sends `line` with a `\n` and reads the reply.
    pub(super) async fn query(&mut self, line: &str) -> String {
        self.send(&format!("{line}\n")).await;
        self.line().await
    }

    /// Whether the server closed the connection (EOF or reset) without sending more.
    pub(super) async fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        match timeout(GUARD, self.reader.read_to_end(&mut rest)).await {
            Ok(Ok(_)) => rest.is_empty(),
            Ok(Err(_)) => true,
            Err(_) => false,
        }
    }

    /// Whether nothing arrives for `wait`: no data and no close. The server cannot prove a
    /// negative, so this only shows the silence lasted at least `wait`.
    pub(super) async fn silent_for(&mut self, wait: Duration) -> bool {
        let mut byte = [0_u8; 1];
        timeout(wait, self.reader.read(&mut byte)).await.is_err()
    }
}
