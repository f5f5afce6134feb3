//! The scripted [`Instrument`]: its script, how it serves one connection, and how it answers
//! the dials of an in-process run.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, duplex};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::journal::{Event, Journal, What};
use crate::connection::Dialer;
use crate::protocol::Stream;
use crate::sequence::Address;

/// One thing the instrument does, in order with the others of its list; the session reads
/// nothing until the list is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Sends this line, with `\n`.
    Reply(String),
    /// Sends these bytes as they are.
    Bytes(Vec<u8>),
    /// Waits this long before the next act.
    Sleep(Duration),
    /// Sends this line this long from now, while the session goes on (a late copy).
    Later(Duration, String),
    /// Waits until this many sessions (this one included) have reached the gate of this
    /// name: replies that must come back to back, from different connections.
    Meet(&'static str, usize),
    /// Closes the connection; the rest of the list is not done.
    Close,
}

/// [`Act::Reply`] alone: the instrument answers `text`.
pub fn reply(text: impl Into<String>) -> Vec<Act> {
    vec![Act::Reply(text.into())]
}

/// `acts` after a pause of `wait`.
pub fn after(wait: Duration, acts: Vec<Act>) -> Vec<Act> {
    std::iter::once(Act::Sleep(wait)).chain(acts).collect()
}

/// What becomes of a dial of an in-process run (over TCP every connection is accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dial {
    /// A session, served by the script.
    Open,
    /// Refused at once (`connection refused`).
    Refused,
    /// Never connects (the dial runs into `connect_timeout`).
    Hang,
}

/// A line the instrument received, as the script sees it.
pub struct Line<'a> {
    /// The connection, from 0 (see [`Event::conn`]).
    pub conn: usize,
    /// The line, without its terminator.
    pub text: &'a str,
    /// Queries (lines ending in `?`) received on this connection before this line.
    pub queries: usize,
    /// The values set on the instrument, shared by every connection.
    values: &'a Mutex<HashMap<String, String>>,
}

impl Line<'_> {
    /// True for a query: a line ending in `?`.
    pub fn is_query(&self) -> bool {
        self.text.trim_end().ends_with('?')
    }

    /// The number after `prefix` (`Q 3` with prefix `Q `), if the line is that.
    pub fn number(&self, prefix: &str) -> Option<usize> {
        self.text.strip_prefix(prefix)?.trim().parse().ok()
    }

    /// What a tiny SCPI instrument does: `HEADER VALUE` stores the value (headers
    /// case-insensitive) and answers nothing; `HEADER?` answers the stored value (`0` if
    /// never set); `*IDN?` answers `SCRIPTED,INSTRUMENT,0,1` and `*OPC?` answers `1`.
    pub fn scpi(&self) -> Vec<Act> {
        self.scpi_acts()
    }

    /// What [`Line::scpi`] answers, if it answers: for scripts that send it otherwise
    /// (twice, late, with something else).
    pub fn scpi_reply(&self) -> Option<String> {
        self.scpi_acts().into_iter().find_map(|act| match act {
            Act::Reply(text) => Some(text),
            _ => None,
        })
    }

    /// See [`Line::scpi`].
    fn scpi_acts(&self) -> Vec<Act> {
        let line = self.text.trim();
        let (header, value) = line
            .split_once(char::is_whitespace)
            .map_or((line, ""), |(h, v)| (h, v.trim()));
        let header = header.to_ascii_uppercase();
        let mut values = self
            .values
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(name) = header.strip_suffix('?') else {
            values.insert(header, value.to_owned());
            return Vec::new();
        };
        reply(match name {
            "*IDN" => "SCRIPTED,INSTRUMENT,0,1".to_owned(),
            "*OPC" => "1".to_owned(),
            _ => values.get(name).cloned().unwrap_or_else(|| "0".to_owned()),
        })
    }
}

/// What the instrument does when a connection opens, by connection number.
type OnConnect = dyn Fn(usize) -> Vec<Act> + Send + Sync;
/// What it does with a line.
type OnLine = dyn Fn(&Line<'_>) -> Vec<Act> + Send + Sync;
/// What becomes of a dial, by connection number.
type OnDial = dyn Fn(usize) -> Dial + Send + Sync;

/// The script and everything the sessions share.
struct Shared {
    on_connect: Box<OnConnect>,
    on_line: Box<OnLine>,
    on_dial: Box<OnDial>,
    /// Number of the next connection.
    next: AtomicUsize,
    journal: Mutex<Journal>,
    values: Mutex<HashMap<String, String>>,
    /// Sessions that reached each gate ([`Act::Meet`]).
    gates: Mutex<HashMap<&'static str, usize>>,
    /// Woken when a session reaches a gate.
    met: Notify,
    /// Most sessions open at once ([`Instrument::sessions`]).
    most: usize,
    /// How long after accepting it a session beyond `most` is closed.
    refuse_after: Duration,
    /// Sessions open now.
    open: AtomicUsize,
}

/// A scripted instrument (see the module doc). Cloning it gives another handle to the same
/// instrument.
#[derive(Clone)]
pub struct Instrument(Arc<Shared>);

impl Default for Instrument {
    fn default() -> Self {
        Instrument::scpi()
    }
}

impl Instrument {
    /// An instrument that answers like [`Line::scpi`], accepts every connection and sends
    /// nothing unasked.
    pub fn scpi() -> Instrument {
        Instrument(Arc::new(Shared {
            on_connect: Box::new(|_| Vec::new()),
            on_line: Box::new(|line: &Line<'_>| line.scpi()),
            on_dial: Box::new(|_| Dial::Open),
            next: AtomicUsize::new(0),
            journal: Mutex::default(),
            values: Mutex::default(),
            gates: Mutex::default(),
            met: Notify::new(),
            most: usize::MAX,
            refuse_after: Duration::ZERO,
            open: AtomicUsize::new(0),
        }))
    }

    /// An instrument that reads everything and never answers.
    pub fn silent() -> Instrument {
        Instrument::scpi().on_line(|_| Vec::new())
    }

    /// The same script, doing `acts(conn)` when connection `conn` opens (before reading
    /// anything): `vec![Act::Close]` refuses the session, a reply greets.
    #[must_use]
    pub fn on_connect(self, acts: impl Fn(usize) -> Vec<Act> + Send + Sync + 'static) -> Self {
        self.rebuild(|s| s.on_connect = Box::new(acts))
    }

    /// The same script, doing `acts(line)` with every line received.
    #[must_use]
    pub fn on_line(self, acts: impl Fn(&Line<'_>) -> Vec<Act> + Send + Sync + 'static) -> Self {
        self.rebuild(|s| s.on_line = Box::new(acts))
    }

    /// The same script, with dial `conn` of an in-process run becoming `plan(conn)`.
    #[must_use]
    pub fn on_dial(self, plan: impl Fn(usize) -> Dial + Send + Sync + 'static) -> Self {
        self.rebuild(|s| s.on_dial = Box::new(plan))
    }

    /// The same script, serving at most `most` sessions at once: a connection beyond them
    /// is closed at once, before anything is read (a refused session, as instruments that
    /// allow fewer sessions than asked do).
    #[must_use]
    pub fn sessions(self, most: usize) -> Self {
        self.rebuild(|s| s.most = most)
    }

    /// The same script, closing a session beyond [`Instrument::sessions`] only `wait` after
    /// accepting it (reading nothing meanwhile): a session refused a little late.
    #[must_use]
    pub fn refuse_after(self, wait: Duration) -> Self {
        self.rebuild(|s| s.refuse_after = wait)
    }

    /// Changes the script of an instrument nothing has used yet.
    fn rebuild(self, change: impl FnOnce(&mut Shared)) -> Self {
        let mut shared = Arc::into_inner(self.0).expect("script an instrument before using it");
        change(&mut shared);
        Instrument(Arc::new(shared))
    }

    /// A copy of the journal so far.
    pub fn journal(&self) -> Journal {
        self.lock_journal().clone()
    }

    fn lock_journal(&self) -> MutexGuard<'_, Journal> {
        self.0
            .journal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes `what` about connection `conn`, now.
    pub(super) fn note(&self, conn: usize, what: What) {
        let at = Instant::now();
        self.lock_journal().0.push(Event { at, conn, what });
    }

    /// Numbers a new connection.
    pub(super) fn next_conn(&self) -> usize {
        self.0.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Serves connection `conn` (from `peer`, over TCP) on `stream` until either side
    /// closes it.
    pub async fn serve<S: AsyncRead + AsyncWrite>(
        &self,
        stream: S,
        conn: usize,
        peer: Option<SocketAddr>,
    ) {
        self.note(conn, What::Opened { peer });
        self.run_session(stream, conn).await;
    }

    /// Serves a connection whose opening is noted, or refuses it when [`Instrument::sessions`]
    /// are open already.
    async fn run_session<S: AsyncRead + AsyncWrite>(&self, stream: S, conn: usize) {
        if self.0.open.fetch_add(1, Ordering::SeqCst) >= self.0.most {
            self.0.open.fetch_sub(1, Ordering::SeqCst);
            tokio::time::sleep(self.0.refuse_after).await;
            let (_, mut writer) = tokio::io::split(stream);
            let _ = writer.shutdown().await;
            return self.note(conn, What::Closed);
        }
        self.script_session(stream, conn).await;
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }

    /// Serves an accepted session by the script until either side closes it.
    async fn script_session<S: AsyncRead + AsyncWrite>(&self, stream: S, conn: usize) {
        let (reader, mut writer) = tokio::io::split(stream);
        let mut reader = BufReader::new(reader);
        let mut session = Session {
            conn,
            queries: 0,
            later: Vec::new(),
        };
        if !self
            .perform(&mut writer, &mut session, (self.0.on_connect)(conn))
            .await
        {
            let _ = writer.shutdown().await;
            return self.note(conn, What::Closed);
        }
        let mut buf = Vec::new();
        loop {
            let due = session.later.iter().map(|(at, _)| *at).min();
            let read = tokio::select! {
                read = reader.read_until(b'\n', &mut buf) => read,
                () = sleep_until(due) => {
                    if !self.send_due(&mut writer, &mut session).await {
                        return self.note(conn, What::Ended);
                    }
                    continue;
                }
            };
            if !matches!(read, Ok(n) if n > 0) {
                return self.note(conn, What::Ended);
            }
            let text = String::from_utf8_lossy(&buf)
                .trim_end_matches(['\r', '\n'])
                .to_owned();
            buf.clear();
            self.note(conn, What::Received(text.clone()));
            let line = Line {
                conn,
                text: &text,
                queries: session.queries,
                values: &self.0.values,
            };
            let acts = (self.0.on_line)(&line);
            if line.is_query() {
                session.queries += 1;
            }
            if !self.perform(&mut writer, &mut session, acts).await {
                let _ = writer.shutdown().await;
                return self.note(conn, What::Closed);
            }
        }
    }

    /// Does `acts` on one connection; false once it is closed.
    async fn perform<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        session: &mut Session,
        acts: Vec<Act>,
    ) -> bool {
        for act in acts {
            match act {
                Act::Reply(line) => {
                    if !self
                        .send(writer, session.conn, format!("{line}\n").into_bytes())
                        .await
                    {
                        return false;
                    }
                }
                Act::Bytes(bytes) => {
                    if !self.send(writer, session.conn, bytes).await {
                        return false;
                    }
                }
                Act::Sleep(wait) => tokio::time::sleep(wait).await,
                Act::Later(wait, line) => session.later.push((Instant::now() + wait, line)),
                Act::Meet(gate, sessions) => self.meet(gate, sessions).await,
                Act::Close => return false,
            }
        }
        true
    }

    /// Sends `bytes`; false if the client is gone.
    async fn send<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        conn: usize,
        bytes: Vec<u8>,
    ) -> bool {
        let sent = writer.write_all(&bytes).await.and(writer.flush().await);
        self.note(conn, What::Sent(bytes));
        sent.is_ok()
    }

    /// Sends the [`Act::Later`] lines that are due; false if the client is gone.
    async fn send_due<W: AsyncWrite + Unpin>(&self, writer: &mut W, session: &mut Session) -> bool {
        let now = Instant::now();
        let (due, later) = std::mem::take(&mut session.later)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        session.later = later;
        let due: Vec<(Instant, String)> = due;
        for (_, line) in due {
            if !self
                .send(writer, session.conn, format!("{line}\n").into_bytes())
                .await
            {
                return false;
            }
        }
        true
    }

    /// Waits at `gate` until `sessions` sessions have reached it.
    async fn meet(&self, gate: &'static str, sessions: usize) {
        let reached = |add: usize| {
            let mut gates = self
                .0
                .gates
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = gates.entry(gate).or_default();
            *n += add;
            *n >= sessions
        };
        if reached(1) {
            self.0.met.notify_waiters();
            return;
        }
        loop {
            let notified = self.0.met.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if reached(0) {
                return;
            }
            notified.await;
        }
    }
}

/// Where one connection's script is.
struct Session {
    conn: usize,
    /// Queries received so far.
    queries: usize,
    /// Lines to send later ([`Act::Later`]), with when.
    later: Vec<(Instant, String)>,
}

/// Resolves at `at`; never without one.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Each dial of an in-process run is answered by the instrument's [`Dial`] plan; a session
/// is an in-memory pipe whose other end the script serves in a task of the same runtime.
impl Dialer for Instrument {
    fn dial<'a>(
        &'a self,
        _: &'a Address,
    ) -> Pin<Box<dyn Future<Output = io::Result<Stream>> + 'a>> {
        Box::pin(async move {
            let conn = self.next_conn();
            match (self.0.on_dial)(conn) {
                Dial::Open => {
                    let (client, server) = duplex(1 << 16);
                    let me = self.clone();
                    // Noted before the dial returns, so the journal orders it first.
                    me.note(conn, What::Opened { peer: None });
                    tokio::spawn(async move { me.run_session(server, conn).await });
                    Ok(Box::new(client) as Stream)
                }
                Dial::Refused => {
                    self.note(conn, What::Refused);
                    Err(io::ErrorKind::ConnectionRefused.into())
                }
                Dial::Hang => {
                    self.note(conn, What::Hung);
                    std::future::pending().await
                }
            }
        })
    }
}
