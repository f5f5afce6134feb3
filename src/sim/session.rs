//! One client connection of the simulated instrument.
//!
//! The accept loop in [`crate::sim`] builds a [`Session`] for every connection it serves and
//! spawns [`Session::run`] in its `JoinSet`. The session reads `\n`-terminated lines (a
//! trailing `\r` stripped, at most [`MAX_LINE`] bytes), passes each to the shared
//! [`Device`], sleeps the configured latency and writes the reply. Its [`ConnFaults`]
//! decides, line by line, whether to close instead, ignore the line, send garbage or sleep
//! longer; the session only carries that out and logs it. Its [`OpenGuard`] keeps the
//! connection counted until the session ends, even when shutdown aborts it.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::MAX_LINE;
use super::conn_faults::{ConnFaults, Delivery, GARBAGE, Verdict};
use super::device::{Counters, Device};
use crate::sequence::duration::format_duration;

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
    /// A fault (`drop-after`, `drop-rate`) closed the connection; already logged.
    Dropped,
}

/// One client connection: reads lines, asks the shared device, writes replies.
pub(super) struct Session {
    /// Client address, for logs.
    pub(super) peer: SocketAddr,
    /// Accept number (1 for the first connection served), for logs; also seeds `faults`.
    pub(super) conn: u64,
    /// The instrument shared with every other session.
    pub(super) device: Arc<Mutex<Device>>,
    /// Delay before each reply line, from [`super::SimConfig::latency`].
    pub(super) latency: Duration,
    /// This connection's fault decisions and counts; advanced by every command and reply.
    pub(super) faults: ConnFaults,
    /// Keeps this connection counted until the session is dropped.
    pub(super) _guard: OpenGuard,
}

impl Session {
    /// Serves `stream` until the client leaves, misbehaves or an I/O error occurs.
    pub(super) async fn run(mut self, stream: TcpStream) {
        let (peer, conn) = (self.peer, self.conn);
        match self.serve(stream).await {
            Ok(End::PeerClosed) => tracing::debug!(%peer, conn, "connection closed by client"),
            Ok(End::LineTooLong) => {
                tracing::debug!(%peer, conn, limit = MAX_LINE, "connection closed: line too long");
            }
            Ok(End::Dropped) => {}
            Err(error) => tracing::debug!(%peer, conn, %error, "connection closed on error"),
        }
    }

    /// The read-handle-reply loop; the stream is closed when this returns.
    async fn serve(&mut self, mut stream: TcpStream) -> io::Result<End> {
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
            if self
                .command(&String::from_utf8_lossy(line), &mut write)
                .await?
            {
                return Ok(End::Dropped);
            }
            // An unterminated last line is served like any other, then the client is gone.
            if !terminated {
                return Ok(End::PeerClosed);
            }
        }
    }

    /// Serves one line: asks the faults first, then the device, then writes the reply (late
    /// or garbled if the faults say so). Returns true when a fault closes the connection.
    async fn command(
        &mut self,
        line: &str,
        write: &mut (impl AsyncWrite + Unpin),
    ) -> io::Result<bool> {
        // Empty lines are not commands: no reply, and no fault counts them.
        if line.trim().is_empty() {
            return Ok(false);
        }
        let (peer, conn) = (self.peer, self.conn);
        let command = self.faults.commands() + 1;
        match self.faults.on_command() {
            Verdict::Serve => {}
            Verdict::Ignore => {
                tracing::debug!(%peer, conn, command, "fault: command ignored (stall-after)");
                return Ok(false);
            }
            Verdict::Close(cause) => {
                tracing::debug!(%peer, conn, command, "fault: connection dropped ({cause})");
                return Ok(true);
            }
        }
        let Some(reply) = self.handle(line) else {
            return Ok(self.faults.closes_after());
        };
        let delivery = self.faults.on_reply();
        self.log_delivery(delivery);
        let delay = self.latency.saturating_add(delivery.late_by);
        // tokio's timer has millisecond resolution: even a zero sleep would cost up to a
        // millisecond per reply, so skip it when there is no delay.
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut out = if delivery.garbage {
            GARBAGE.as_bytes().to_vec()
        } else {
            reply.into_bytes()
        };
        out.push(b'\n');
        write.write_all(&out).await?;
        Ok(self.faults.closes_after())
    }

    /// Logs the faults, if any, injected into the reply just counted.
    fn log_delivery(&self, delivery: Delivery) {
        let (peer, conn, reply) = (self.peer, self.conn, self.faults.replies());
        if !delivery.late_by.is_zero() {
            let late_by = format_duration(delivery.late_by);
            tracing::debug!(%peer, conn, reply, %late_by, "fault: late reply (late-every)");
        }
        if delivery.garbage {
            tracing::debug!(%peer, conn, reply, "fault: garbage reply (garbage-every)");
        }
    }

    /// Runs one non-empty line through the shared device, holding the lock only for the call.
    fn handle(&self, line: &str) -> Option<String> {
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
