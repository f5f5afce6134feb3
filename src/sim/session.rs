//! One client connection of the simulated instrument.
//!
//! The accept loop in [`crate::sim`] builds a [`Session`] for every connection it serves and
//! spawns [`Session::run`] in its `JoinSet`. The session cuts messages out of the stream by
//! the model's [`Framing`]: each ends with its read termination (`\n` for the generic
//! device and replays, a device file's `eom:` otherwise) and holds at most [`MAX_LINE`]
//! bytes; lenient framing also drops one `\r` before the termination and skips empty
//! messages. It passes each message to the [`Model`] shared by every session of the
//! server, sleeps the configured latency plus the delay the model asks for, and writes the
//! replies one by one, each followed by the write termination, never more than
//! [`MAX_REPLY_BYTES`] per message whatever the model returns. Its [`ConnFaults`] decides,
//! message by message, whether to close instead, ignore the message, send garbage or sleep
//! longer; the session only carries that out and logs it. Its [`OpenGuard`] keeps the
//! connection counted until the session ends, even when shutdown aborts it.
//!
//! Before reading anything the session writes the instrument's greeting, if it has one.
//! What it reads is acknowledged at once before it waits ([`Acking`]), so that a client
//! with Nagle's algorithm on never waits for a delayed ACK.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::MAX_LINE;
use super::conn_faults::{ConnFaults, Delivery, GARBAGE, Verdict};
use super::model::Counters;
use super::model::{Framing, MAX_REPLY_BYTES, Model, ReplyBudget, Response};
use super::quickack::Acking;
use crate::sequence::duration::format_duration;

/// Marks one served connection in [`Counters`] for as long as it lives, including when its
/// task is aborted at shutdown.
pub(super) struct OpenGuard(pub(super) Arc<Counters>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// Bytes of replies gathered before they are written: replies are written in chunks of
/// about this size, not gathered whole.
const WRITE_CHUNK: usize = 64 << 10;

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
    pub(super) model: Arc<Mutex<Box<dyn Model>>>,
    /// How messages and replies end.
    pub(super) framing: Arc<Framing>,
    /// Written as soon as the connection is served, before anything is read (with its
    /// termination); empty for no greeting.
    pub(super) greeting: Arc<[u8]>,
    /// Whether what is read is acknowledged at once ([`Acking`]); false only with
    /// [`super::SimConfig::delayed_acks`].
    pub(super) quick_acks: bool,
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
        self.model
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed(conn);
    }

    /// The read-handle-reply loop; the stream is closed when this returns.
    async fn serve(&mut self, mut stream: TcpStream) -> io::Result<End> {
        let (read, mut write) = stream.split();
        if !self.greeting.is_empty() {
            write.write_all(&self.greeting).await?;
        }
        let mut reader = BufReader::new(Acking::new(read, self.quick_acks));
        let framing = Arc::clone(&self.framing);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            let terminated =
                match read_message(&mut reader, &framing.read_termination, &mut buf).await? {
                    Read::Eof => return Ok(End::PeerClosed),
                    Read::TooLong => return Ok(End::LineTooLong),
                    Read::Message { terminated } => terminated,
                };
            let message = message_text(&buf, &framing, terminated);
            if self.command(&message, &mut write, reader.get_mut()).await? {
                return Ok(End::Dropped);
            }
            // An unterminated last message is served like any other, then the client is gone.
            if !terminated {
                return Ok(End::PeerClosed);
            }
        }
    }

    /// Serves one message: asks the faults first, then the model, then writes the replies
    /// (late or garbled if the faults say so). Returns true when a fault closes the
    /// connection.
    async fn command<R: AsRef<TcpStream>>(
        &mut self,
        line: &str,
        write: &mut (impl AsyncWrite + Unpin),
        acks: &mut Acking<R>,
    ) -> io::Result<bool> {
        // With lenient framing, empty lines are not commands: no reply, and no fault
        // counts them.
        if self.framing.lenient && line.trim().is_empty() {
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
        let Response { replies, delay } = self.handle(line);
        if replies.is_empty() {
            if !delay.is_zero() {
                acks.pay();
            }
            sleep(delay).await;
            return Ok(self.faults.closes_after());
        }
        let delivery = self.faults.on_reply();
        self.log_delivery(delivery);
        let delay = self
            .latency
            .saturating_add(delay)
            .saturating_add(delivery.late_by);
        if !delay.is_zero() {
            acks.pay();
        }
        sleep(delay).await;
        let garbage = [GARBAGE.to_owned()];
        let replies = if delivery.garbage {
            &garbage
        } else {
            &replies[..]
        };
        write_replies(write, replies, &self.framing.write_termination, conn).await?;
        acks.replied();
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

    /// Runs one message through the shared model, holding the lock only for the call.
    fn handle(&self, message: &str) -> Response {
        let mut model = self.model.lock().unwrap_or_else(PoisonError::into_inner);
        model.handle(self.conn, message, Instant::now())
    }
}

/// Writes `replies`, each followed by `termination`, in chunks of about [`WRITE_CHUNK`]
/// bytes. Models keep to [`MAX_REPLY_BYTES`] per message themselves; this stops there too
/// (with one warning) so that no model can make a message's replies unbounded.
async fn write_replies(
    write: &mut (impl AsyncWrite + Unpin),
    replies: &[String],
    termination: &[u8],
    conn: u64,
) -> io::Result<()> {
    let mut budget = ReplyBudget::new();
    let mut chunk = Vec::new();
    for (i, reply) in replies.iter().enumerate() {
        if !budget.admit(reply.len()) {
            tracing::warn!(
                conn,
                "the replies to one message passed {} MiB: its last {} replies are not sent",
                MAX_REPLY_BYTES >> 20,
                replies.len() - i
            );
            break;
        }
        chunk.extend_from_slice(reply.as_bytes());
        chunk.extend_from_slice(termination);
        if chunk.len() >= WRITE_CHUNK {
            write.write_all(&chunk).await?;
            chunk.clear();
        }
    }
    if !chunk.is_empty() {
        write.write_all(&chunk).await?;
    }
    Ok(())
}

/// Sleeps `delay`, skipping zero: tokio's timer has millisecond resolution, so even a zero
/// sleep would cost up to a millisecond per reply.
async fn sleep(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

/// What one [`read_message`] found.
#[derive(Debug, PartialEq, Eq)]
enum Read {
    /// The client closed with nothing pending.
    Eof,
    /// A message longer than [`MAX_LINE`] (termination excluded).
    TooLong,
    /// A message is in the buffer; `terminated` is false when the stream ended first.
    Message { terminated: bool },
}

/// Reads one message ending in `termination` (kept in `buf`), at most [`MAX_LINE`] bytes
/// before it, so a client that never terminates cannot grow `buf` without bound.
async fn read_message(
    reader: &mut (impl AsyncBufReadExt + Unpin),
    termination: &[u8],
    buf: &mut Vec<u8>,
) -> io::Result<Read> {
    let Some(&last) = termination.last() else {
        return Err(io::Error::other("empty read termination"));
    };
    let limit = MAX_LINE + termination.len();
    loop {
        let room = (limit + 1).saturating_sub(buf.len()) as u64;
        let n = (&mut *reader).take(room).read_until(last, buf).await?;
        let terminated = buf.ends_with(termination);
        let body = buf.len() - if terminated { termination.len() } else { 0 };
        if body > MAX_LINE {
            return Ok(Read::TooLong);
        }
        if terminated {
            return Ok(Read::Message { terminated: true });
        }
        if n == 0 {
            return Ok(if buf.is_empty() {
                Read::Eof
            } else {
                Read::Message { terminated: false }
            });
        }
        // The last byte of a multi-byte termination arrived alone: keep reading.
    }
}

/// The message in `buf` as text: its termination removed (and, for lenient framing, one
/// `\r` before it); invalid UTF-8 replaced.
fn message_text(buf: &[u8], framing: &Framing, terminated: bool) -> String {
    let mut message = if terminated {
        &buf[..buf.len() - framing.read_termination.len()]
    } else {
        buf
    };
    if framing.lenient {
        message = message.strip_suffix(b"\r").unwrap_or(message);
    }
    String::from_utf8_lossy(message).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message of `input` as the session would see it, and how the stream ended.
    async fn messages(input: &[u8], framing: &Framing) -> (Vec<String>, Read) {
        let mut reader = BufReader::new(input);
        let mut out = Vec::new();
        loop {
            let mut buf = Vec::new();
            match read_message(&mut reader, &framing.read_termination, &mut buf)
                .await
                .unwrap()
            {
                Read::Message { terminated } => {
                    out.push(message_text(&buf, framing, terminated));
                    if !terminated {
                        return (out, Read::Eof);
                    }
                }
                end => return (out, end),
            }
        }
    }

    /// Lenient lines: `\n` ends a message and one `\r` before it is dropped.
    #[tokio::test]
    async fn lenient_lines() {
        let (got, end) = messages(b"A?\nB?\r\n\nC?\r\r\nD?\r", &Framing::lines()).await;
        assert_eq!(got, ["A?", "B?", "", "C?\r", "D?"]);
        assert_eq!(end, Read::Eof);
    }

    /// Exact framing with a two-byte termination: a lone `\n` is part of the message and
    /// nothing is trimmed.
    #[tokio::test]
    async fn exact_two_byte_termination() {
        let framing = Framing {
            read_termination: b"\r\n".to_vec(),
            write_termination: b"\r\n".to_vec(),
            lenient: false,
        };
        let (got, end) = messages(b"A?\r\nB\nC \r\n\r\n", &framing).await;
        assert_eq!(got, ["A?", "B\nC ", ""]);
        assert_eq!(end, Read::Eof);
    }

    /// Replies are written whole and in order, each with the termination, however many
    /// chunks that takes; past [`MAX_REPLY_BYTES`] the rest are not written.
    #[tokio::test]
    async fn replies_written_in_chunks_up_to_the_cap() {
        let replies: Vec<String> = ["a", "bb", ""]
            .iter()
            .map(|r| r.repeat(WRITE_CHUNK / 2 + 1))
            .chain(["c".to_owned()])
            .collect();
        let mut out = Vec::new();
        write_replies(&mut out, &replies, b"\r\n", 1).await.unwrap();
        let want = replies.join("\r\n") + "\r\n";
        assert_eq!(out, want.as_bytes());
        let big = vec!["y".repeat(1 << 20); 20];
        out.clear();
        write_replies(&mut out, &big, b"\n", 1).await.unwrap();
        assert_eq!(out.len(), 16 * ((1 << 20) + 1));
    }

    /// A message longer than [`MAX_LINE`] is refused, terminated or not.
    #[tokio::test]
    async fn overlong_message() {
        let mut long = vec![b'A'; MAX_LINE + 1];
        let (got, end) = messages(&long, &Framing::lines()).await;
        assert!(got.is_empty());
        assert_eq!(end, Read::TooLong);
        long.truncate(MAX_LINE);
        long.push(b'\n');
        let (got, end) = messages(&long, &Framing::lines()).await;
        assert_eq!(got.len(), 1);
        assert_eq!(end, Read::Eof);
    }
}
