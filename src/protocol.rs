//! Line framing over one byte stream: commands out with the write termination, replies in up
//! to the read termination.
//!
//! [`LineIo`] owns the stream and a receive buffer. Used by the connection actor (one per
//! TCP session) and by tests over in-memory pipes. Timeouts are the caller's: a read that is
//! cancelled keeps what already arrived in the buffer, and the caller then discards the
//! whole connection, because a late reply would otherwise answer the next command.
//!
//! Stray data: [`LineIo::take_unread`] takes off everything received and not yet returned
//! as a reply, both what is buffered and what has already arrived on the socket (read
//! without waiting, [`Transport::read_now`], as far as a [`Look`] sees), so the caller can
//! tell whether the instrument sent anything nobody asked for.

use std::future::Future;
use std::io;
use std::task::{Context, Poll, Waker};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Longest reply line accepted; a longer one means a wrong read termination or a runaway
/// instrument, and the connection is dropped rather than growing without bound.
pub const MAX_LINE: usize = 1 << 20;

/// Why a reply line could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The instrument closed the connection.
    #[error("connection closed by the instrument")]
    Closed,
    /// No terminator within [`MAX_LINE`] bytes.
    #[error("reply longer than {MAX_LINE} bytes without the read termination")]
    TooLong,
    /// The socket failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// How far a read that does not wait looks for bytes that have arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Look {
    /// What the event loop already knows has arrived: a read system call only when tokio
    /// has seen the socket become readable since it was last drained, so none at all in
    /// the usual case. Blind only to bytes that arrived since the event loop last asked the
    /// kernel (one turn of the loop: it asks whenever it has nothing else to do).
    Ready,
    /// What the kernel holds now: always a read system call (about a microsecond here, a
    /// fifth of a point's cost at full speed: kept for a connection's opening).
    Kernel,
}

/// A byte stream whose already-received bytes can be read without waiting.
pub trait Transport: AsyncRead + AsyncWrite + Unpin {
    /// Appends to `buf` what has already arrived, as far as `look` sees, without waiting:
    /// `Ok(0)` at end of file, an error of kind [`io::ErrorKind::WouldBlock`] when nothing
    /// has.
    fn read_now(&mut self, buf: &mut Vec<u8>, look: Look) -> io::Result<usize>;
}

/// Polls a read of `stream` into `buf` once, with a waker that does nothing: what tokio
/// already knows, without registering the caller for later (and without zeroing memory).
fn poll_once<S: AsyncRead + Unpin>(stream: &mut S, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut cx = Context::from_waker(Waker::noop());
    buf.reserve(4096);
    match std::pin::pin!(stream.read_buf(buf)).poll(&mut cx) {
        Poll::Ready(read) => read,
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
    }
}

impl Transport for tokio::net::TcpStream {
    fn read_now(&mut self, buf: &mut Vec<u8>, look: Look) -> io::Result<usize> {
        match look {
            Look::Ready => poll_once(self, buf),
            // A `read` on the (non-blocking) socket itself: tokio's readiness may not yet
            // know of bytes that arrived since its event loop last looked.
            Look::Kernel => {
                use std::io::Read;
                let mut chunk = [0u8; 4096];
                let socket = socket2::SockRef::from(&*self);
                let n = (&*socket).read(&mut chunk)?;
                buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
        }
    }
}

/// A transport of any kind behind one type: what a connection holds, whatever dialled it
/// (TCP, or an in-memory pipe in tests); one virtual call per read or write.
pub type Stream = Box<dyn Transport>;

impl Transport for Stream {
    fn read_now(&mut self, buf: &mut Vec<u8>, look: Look) -> io::Result<usize> {
        (**self).read_now(buf, look)
    }
}

impl Transport for tokio::io::DuplexStream {
    /// In-memory pipes (tests) hold no bytes outside tokio: one poll says what is there.
    fn read_now(&mut self, buf: &mut Vec<u8>, _: Look) -> io::Result<usize> {
        poll_once(self, buf)
    }
}

/// What [`LineIo::take_unread`] took off: bytes nobody asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// How many bytes.
    pub bytes: usize,
    /// The first of them as text, escaped and shortened for a message
    /// (``` `0.5\n0.6…` (1,204 bytes)```).
    pub preview: String,
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}`", self.preview)?;
        if self.preview.ends_with('…') {
            write!(f, " ({} bytes)", self.bytes)?;
        }
        Ok(())
    }
}

/// Most characters of unsolicited data shown in a message.
const PREVIEW_CHARS: usize = 60;

impl Unread {
    /// The description of `data`.
    fn of(data: &[u8]) -> Unread {
        let text = String::from_utf8_lossy(&data[..data.len().min(4 * PREVIEW_CHARS)]);
        let escaped: String = text.escape_debug().collect();
        let mut preview: String = escaped.chars().take(PREVIEW_CHARS).collect();
        if preview.len() < escaped.len() || text.len() < data.len() {
            preview.push('…');
        }
        Unread {
            bytes: data.len(),
            preview,
        }
    }
}

/// A byte stream framed into lines.
#[derive(Debug)]
pub struct LineIo<S> {
    /// The transport.
    stream: S,
    /// Bytes received and not yet returned; `buf[start..]` is pending.
    buf: Vec<u8>,
    /// Start of the pending bytes in `buf`.
    start: usize,
    /// Scratch buffer for one outgoing command (text + termination), reused.
    out: Vec<u8>,
    /// Appended to every command.
    write_term: Vec<u8>,
    /// Ends every reply.
    read_term: Vec<u8>,
    /// Some byte has been received since the stream was framed: the peer took the session.
    received: bool,
    /// The peer closed or reset the connection (end of file, reset, broken pipe).
    peer_closed: bool,
    /// A command has been written (or its write begun): data received from now on is not
    /// a greeting.
    sent: bool,
}

impl<S: Transport> LineIo<S> {
    /// Frames `stream` with the given terminations; `read_term` must not be empty.
    pub fn new(stream: S, write_term: &str, read_term: &str) -> Self {
        debug_assert!(!read_term.is_empty());
        LineIo {
            stream,
            buf: Vec::with_capacity(4096),
            start: 0,
            out: Vec::with_capacity(256),
            write_term: write_term.as_bytes().to_vec(),
            read_term: read_term.as_bytes().to_vec(),
            received: false,
            peer_closed: false,
            sent: false,
        }
    }

    /// True once a command has been sent on the stream (its write begun).
    pub fn sent_any(&self) -> bool {
        self.sent
    }

    /// True once any byte has been received on the stream.
    pub fn received_any(&self) -> bool {
        self.received
    }

    /// True once a read or write found the connection closed or reset by the peer.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// Notes what a read of `n` bytes (or an error) says about the peer.
    fn saw<T>(&mut self, result: &io::Result<T>, n: impl Fn(&T) -> usize) {
        match result {
            Ok(v) if n(v) == 0 => self.peer_closed = true,
            Ok(_) => self.received = true,
            Err(e) => self.peer_closed |= is_reset(e),
        }
    }

    /// Sends `text` and the write termination in one write.
    pub async fn write_line(&mut self, text: &str) -> io::Result<()> {
        self.sent = true;
        self.out.clear();
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(&self.write_term);
        let result = match self.stream.write_all(&self.out).await {
            Ok(()) => self.stream.flush().await,
            Err(e) => Err(e),
        };
        if let Err(e) = &result {
            self.peer_closed |= is_reset(e);
        }
        result
    }

    /// Reads one reply line, without its termination; invalid UTF-8 is replaced.
    pub async fn read_line(&mut self) -> Result<String, ReadError> {
        let mut searched = self.start;
        loop {
            let pending = &self.buf[searched..];
            if let Some(pos) = find(pending, &self.read_term) {
                let mut end = searched + pos;
                // Instruments that end lines with `\r\n` work with the default `\n`.
                if self.read_term == b"\n" && end > self.start && self.buf[end - 1] == b'\r' {
                    end -= 1;
                }
                let line = String::from_utf8_lossy(&self.buf[self.start..end]).into_owned();
                self.start = searched + pos + self.read_term.len();
                if self.start == self.buf.len() {
                    self.buf.clear();
                    self.start = 0;
                }
                return Ok(line);
            }
            if self.buf.len() - self.start > MAX_LINE {
                return Err(ReadError::TooLong);
            }
            // The terminator may straddle the old end and the new bytes.
            searched = self
                .buf
                .len()
                .saturating_sub(self.read_term.len() - 1)
                .max(self.start);
            if self.start > 0 && self.start == self.buf.len() {
                self.buf.clear();
                self.start = 0;
                searched = 0;
            }
            self.buf.reserve(4096);
            let read = self.stream.read_buf(&mut self.buf).await;
            self.saw(&read, |n| *n);
            if read? == 0 {
                return Err(ReadError::Closed);
            }
        }
    }

    /// Bytes received but not yet returned as a reply (unsolicited data).
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Drops unsolicited received bytes, so they never answer a later command.
    pub fn discard_pending(&mut self) {
        self.buf.clear();
        self.start = 0;
    }

    /// Takes off everything received and not yet returned as a reply: what is buffered
    /// and what has already arrived on the stream as far as `look` sees, read without
    /// waiting (at most about [`MAX_LINE`] bytes). `None` when there was nothing. End of
    /// file seen here sets [`Self::peer_closed`]; an error reading is returned.
    pub fn take_unread(&mut self, look: Look) -> io::Result<Option<Unread>> {
        while self.pending() <= MAX_LINE {
            match self.stream.read_now(&mut self.buf, look) {
                Ok(0) => {
                    self.peer_closed = true;
                    break;
                }
                Ok(_) => self.received = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.peer_closed |= is_reset(&e);
                    return Err(e);
                }
            }
        }
        if self.pending() == 0 {
            return Ok(None);
        }
        let unread = Unread::of(&self.buf[self.start..]);
        self.discard_pending();
        Ok(Some(unread))
    }

    /// Reads what the stream has into the buffer, as unsolicited data (see [`Self::pending`]);
    /// 0 at end of file.
    pub async fn fill(&mut self) -> io::Result<usize> {
        self.buf.reserve(4096);
        let read = self.stream.read_buf(&mut self.buf).await;
        self.saw(&read, |n| *n);
        read
    }
}

/// True for the errors a closed or reset connection gives.
fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// Position of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() == 1 {
        return hay.iter().position(|&b| b == needle[0]);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    /// Replies are split at the read termination, whatever the chunking on the wire.
    #[tokio::test]
    async fn frames_replies_across_chunks() {
        type Case<'a> = (&'a str, &'a [&'a [u8]], &'a [&'a str]);
        let cases: &[Case] = &[
            ("\n", &[b"a\nb\n"], &["a", "b"]),
            ("\n", &[b"1\r\n2\r", b"\n"], &["1", "2"]),
            ("\n", &[b"a", b"b\nc", b"\n"], &["ab", "c"]),
            ("\r\n", &[b"x\r", b"\ny\r\n"], &["x", "y"]),
            ("\r\n", &[b"1\n2\r\n"], &["1\n2"]),
            ("\n", &[b"\n"], &[""]),
        ];
        for (term, chunks, want) in cases {
            let (client, mut server) = duplex(64);
            let mut io = LineIo::new(client, "\n", term);
            for c in *chunks {
                server.write_all(c).await.unwrap();
            }
            for w in *want {
                assert_eq!(io.read_line().await.unwrap(), *w, "term {term:?}");
            }
            assert_eq!(io.pending(), 0);
        }
    }

    /// A command goes out with the write termination appended.
    #[tokio::test]
    async fn writes_with_termination() {
        let (client, mut server) = duplex(64);
        let mut io = LineIo::new(client, "\r\n", "\n");
        io.write_line("*IDN?").await.unwrap();
        let mut got = [0u8; 7];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"*IDN?\r\n");
    }

    /// EOF before a terminator is reported as closed, not as an empty reply.
    #[tokio::test]
    async fn eof_is_closed() {
        let (client, mut server) = duplex(64);
        let mut io = LineIo::new(client, "\n", "\n");
        server.write_all(b"partial").await.unwrap();
        drop(server);
        assert!(matches!(io.read_line().await, Err(ReadError::Closed)));
    }

    /// A reply without terminator cannot grow the buffer past the limit.
    #[tokio::test]
    async fn overlong_line_is_an_error() {
        let (client, mut server) = duplex(1 << 16);
        let mut io = LineIo::new(client, "\n", "\n");
        let writer = tokio::spawn(async move {
            let chunk = vec![b'x'; 1 << 16];
            for _ in 0..20 {
                if server.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        });
        assert!(matches!(io.read_line().await, Err(ReadError::TooLong)));
        drop(io);
        writer.await.unwrap();
    }
}

#[cfg(test)]
mod proptests {
    //! Property tests of the framer: whatever bytes arrive, in whatever chunks, it returns
    //! exactly the lines the bytes hold, and a line without end is refused at the limit.

    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::Config;
    use tokio::io::duplex;

    /// Capacity of the in-memory pipe: the most one read can add to the buffer.
    const PIPE: usize = 1 << 16;

    /// Proptest settings: modest case counts, no regression files in the source tree.
    fn config(cases: u32) -> Config {
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        }
    }

    /// Reply bytes rich in what framing cares about: terminators and their halves, NUL,
    /// invalid UTF-8, and any byte at all.
    fn wire() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            4 => any::<u8>().prop_map(|b| vec![b]),
            2 => Just(b"\n".to_vec()),
            2 => Just(b"\r\n".to_vec()),
            1 => Just(b"\r".to_vec()),
            1 => Just(vec![0]),
            1 => Just(vec![0xff, 0xfe]),
            1 => Just("µ".as_bytes().to_vec()),
        ];
        prop::collection::vec(piece, 0..400).prop_map(|p| p.concat())
    }

    /// What the framer must return for `input`: the text of each line before the first
    /// `term` after the previous one (less one `\r` before a bare `\n` terminator), and
    /// how many bytes follow the last `term`.
    fn oracle(input: &[u8], term: &[u8]) -> (Vec<String>, usize) {
        let mut lines = Vec::new();
        let mut rest = input;
        while let Some(pos) = find(rest, term) {
            let mut line = &rest[..pos];
            if term == b"\n" {
                line = line.strip_suffix(b"\r").unwrap_or(line);
            }
            lines.push(String::from_utf8_lossy(line).into_owned());
            rest = &rest[pos + term.len()..];
        }
        (lines, rest.len())
    }

    /// Writes `input` in chunks of the given sizes (cycled), then closes the pipe, while
    /// `io` reads lines until it fails; returns the lines, the failure and what is pending.
    fn feed(input: &[u8], sizes: &[usize], term: &str) -> (Vec<String>, ReadError, usize) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("cannot build a runtime");
        rt.block_on(async {
            let (client, mut server) = duplex(PIPE);
            let mut io = LineIo::new(client, "\n", term);
            let write = async move {
                let mut rest = input;
                for size in sizes.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (chunk, tail) = rest.split_at((*size).min(rest.len()));
                    if server.write_all(chunk).await.is_err() {
                        return;
                    }
                    rest = tail;
                }
            };
            // Owns `io`, so the pipe closes when reading stops and a blocked writer ends.
            let read = async move {
                let mut lines = Vec::new();
                loop {
                    match io.read_line().await {
                        Ok(line) => lines.push(line),
                        Err(e) => return (lines, e, io.pending()),
                    }
                }
            };
            tokio::join!(write, read).1
        })
    }

    proptest! {
        #![proptest_config(config(256))]

        /// Any bytes in any chunks frame into exactly the lines they hold, then end of file;
        /// the bytes after the last terminator stay pending; for UTF-8 input, the lines and
        /// terminators put back together are the input up to the last terminator (with
        /// `\r\n` read as `\n` when the termination is `\n`).
        #[test]
        fn frames_exactly_the_lines_sent(
            input in wire(),
            sizes in prop::collection::vec(1..64usize, 1..8),
            crlf in any::<bool>(),
        ) {
            let term = if crlf { "\r\n" } else { "\n" };
            let (lines, err, pending) = feed(&input, &sizes, term);
            let (want, rest) = oracle(&input, term.as_bytes());
            prop_assert!(matches!(err, ReadError::Closed), "ended with {err:?}");
            prop_assert_eq!(&lines, &want);
            prop_assert_eq!(pending, rest);
            if std::str::from_utf8(&input).is_ok() {
                let joined: String = lines.iter().flat_map(|l| [l.as_str(), term]).collect();
                let sent = std::str::from_utf8(&input[..input.len() - rest]).unwrap_or_default();
                let sent = if crlf { sent.to_owned() } else { sent.replace("\r\n", "\n") };
                prop_assert_eq!(joined, sent);
            }
        }
    }

    proptest! {
        #![proptest_config(config(6))]

        /// A line past [`MAX_LINE`] without its terminator is refused with `TooLong` once the
        /// limit is passed, the buffer never holding more than one read past it; the lines
        /// before it are returned first.
        #[test]
        fn overlong_line_is_refused_at_the_limit(
            before in prop::collection::vec("[ -~]{0,20}", 0..4),
            fill in prop::collection::vec(any::<u8>(), 1..64),
            extra in 1..(4 * PIPE),
            sizes in prop::collection::vec(1..PIPE, 1..4),
            crlf in any::<bool>(),
        ) {
            let term = if crlf { "\r\n" } else { "\n" };
            let mut input: Vec<u8> = before.iter().flat_map(|l| [l.as_bytes(), term.as_bytes()].concat()).collect();
            // No `\n` in the long line, so neither terminator can occur in it.
            let fill: Vec<u8> = fill.into_iter().map(|b| if b == b'\n' { b'.' } else { b }).collect();
            input.extend(fill.iter().cycle().take(MAX_LINE + extra));
            let (lines, err, pending) = feed(&input, &sizes, term);
            prop_assert_eq!(&lines, &before);
            prop_assert!(matches!(err, ReadError::TooLong), "ended with {err:?}");
            prop_assert!(pending > MAX_LINE && pending <= MAX_LINE + PIPE, "pending {pending}");
        }
    }
}
