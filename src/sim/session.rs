//! One client connection of the simulated instrument.
//!
//! The accept loop in [`crate::sim`] builds a [`Session`] for every connection it serves and
//! spawns [`Session::run`] in its `JoinSet`. The session reads `\n`-terminated lines (a
//! trailing `\r` stripped, at most [`MAX_LINE`] bytes), passes each to the shared
//! [`Device`], sleeps the configured latency and writes the reply. Its [`OpenGuard`] keeps
//! the connection counted until the session ends, even when shutdown aborts it.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::MAX_LINE;
use super::device::{Counters, Device};

/// Bytes read at most for one line: [`MAX_LINE`] plus room for a `\r\n` terminator.
const READ_LIMIT: usize = MAX_LINE + 2;

/// Marks one served connection in [`Counters`] for as long as it lives, including when its
/// task is aborted at shutdown.
pub(super) struct OpenGuard(pub(super) Arc<Counters>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Why a session ended without an I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client closed its side.
    PeerClosed,
    /// The client sent a line longer than [`MAX_LINE`].
    LineTooLong,
}

/// One client connection: reads lines, asks the shared device, writes replies.
pub(super) struct Session {
    /// Client address, for logs.
    pub(super) peer: SocketAddr,
    /// The instrument shared with every other session.
    pub(super) device: Arc<Mutex<Device>>,
    /// Delay before each reply line, from [`super::SimConfig::latency`].
    pub(super) latency: Duration,
    /// Keeps this connection counted until the session is dropped.
    pub(super) _guard: OpenGuard,
}

impl Session {
    /// Serves `stream` until the client leaves, misbehaves or an I/O error occurs.
    pub(super) async fn run(self, stream: TcpStream) {
        let peer = self.peer;
        match self.serve(stream).await {
            Ok(End::PeerClosed) => tracing::debug!(%peer, "connection closed by client"),
            Ok(End::LineTooLong) => {
                tracing::debug!(%peer, limit = MAX_LINE, "connection closed: line too long");
            }
            Err(error) => tracing::debug!(%peer, %error, "connection closed on error"),
        }
    }

    /// The read-handle-reply loop; the stream is closed when this returns.
    async fn serve(&self, mut stream: TcpStream) -> io::Result<End> {
        let (read, mut write) = stream.split();
        let mut reader = BufReader::new(read);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            // `take` bounds memory: a client that never sends `\n` cannot grow `buf` past
            // the limit.
            let n = (&mut reader)
                .take(READ_LIMIT as u64)
                .read_until(b'\n', &mut buf)
                .await?;
            if n == 0 {
                return Ok(End::PeerClosed);
            }
            let terminated = buf.ends_with(b"\n");
            if !terminated && buf.len() >= READ_LIMIT {
                return Ok(End::LineTooLong);
            }
            let line = strip_terminator(&buf);
            if line.len() > MAX_LINE {
                return Ok(End::LineTooLong);
            }
            if let Some(reply) = self.handle(&String::from_utf8_lossy(line)) {
                // tokio's timer has millisecond resolution: even a zero sleep would cost up
                // to a millisecond per reply, so skip it when there is no latency.
                if !self.latency.is_zero() {
                    tokio::time::sleep(self.latency).await;
                }
                let mut out = reply.into_bytes();
                out.push(b'\n');
                write.write_all(&out).await?;
            }
            // An unterminated last line is served like any other, then the client is gone.
            if !terminated {
                return Ok(End::PeerClosed);
            }
        }
    }

    /// Runs one line through the shared device, holding the lock only for the call.
    fn handle(&self, line: &str) -> Option<String> {
        if line.trim().is_empty() {
            return None;
        }
        let mut device = self.device.lock().unwrap_or_else(PoisonError::into_inner);
        device.handle(line)
    }
}

/// `line` without its trailing `\n` and then `\r`, if present.
fn strip_terminator(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Line terminators are removed: `\n`, then one `\r`.
    #[test]
    fn strip_terminator_cases() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"A?\n", b"A?"),
            (b"A?\r\n", b"A?"),
            (b"A?", b"A?"),
            (b"A?\r", b"A?"),
            (b"\n", b""),
            (b"A?\r\r\n", b"A?\r"),
        ];
        for (input, expected) in cases {
            assert_eq!(strip_terminator(input), *expected, "{input:?}");
        }
    }
}
