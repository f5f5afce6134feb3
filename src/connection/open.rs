//! Opening a session: the dial, the greeting (read when declared, else watched for and
//! dropped), the instrument's close of a refused session, and the `on_connect` commands.
//! What goes wrong is a [`SessionError`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{FIRST_WATCH, SETTLE};
use crate::exec::{self, Conn, PointError, Ran, ReplyTimer, Stops, Values, run_commands};
use crate::protocol::{LineIo, Look, ReadError, Stream, Unread};
use crate::runlog;
use crate::sequence::duration::format_duration;
use crate::sequence::{Address, Command, Greeting, Instrument};

/// How a connection reaches its instrument: makes the byte stream a session runs on.
/// [`Tcp`] in a run; tests give an in-memory one.
pub trait Dialer {
    /// Connects to `address`.
    fn dial<'a>(
        &'a self,
        address: &'a Address,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Stream>> + 'a>>;
}

/// Dials TCP, with `TCP_NODELAY` (commands are small, and latency matters more than the
/// number of packets).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tcp;

impl Dialer for Tcp {
    fn dial<'a>(
        &'a self,
        address: &'a Address,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Stream>> + 'a>> {
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect(address.to_string()).await?;
            let _ = stream.set_nodelay(true);
            Ok(Box::new(stream) as Stream)
        })
    }
}

/// A session [`open`] returned, for [`super::Connection::new`].
pub struct Opened {
    /// The framed socket.
    pub io: LineIo<Stream>,
    /// The connect record (greeting, `on_connect` exchanges), when there was either.
    pub record: Option<runlog::Connect>,
    /// The instrument is known to have taken the session (it answered, or it was watched
    /// for [`SETTLE`] without closing it).
    pub accepted: bool,
    /// When the TCP connection was made.
    pub at: Instant,
}

/// Why a session could not be opened or used.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SessionError {
    /// The dial failed (refused, unreachable, ...).
    #[error("{0}")]
    Connect(Arc<std::io::Error>),
    /// No TCP connection within `connect_timeout`.
    #[error("no answer within {} (connect_timeout)", format_duration(*.0))]
    ConnectTimeout(Duration),
    /// The instrument closed a fresh connection before any command: a refused session.
    #[error("the instrument closed the connection at once (it may allow fewer sessions)")]
    ClosedAtOnce,
    /// The instrument closed the connection before its declared greeting.
    #[error(
        "the instrument closed the connection before its greeting (it may allow fewer sessions)"
    )]
    ClosedBeforeGreeting,
    /// The declared greeting could not be read.
    #[error("cannot read the greeting: {0}")]
    Greeting(Arc<ReadError>),
    /// No greeting within `connect_timeout`, though one is declared.
    #[error(
        "no greeting within {} (connect_timeout); the instrument is declared with `greeting: line`: does it greet on connect?",
        format_duration(*.0)
    )]
    NoGreeting(Duration),
    /// An `on_connect` command failed.
    #[error("on_connect failed: {0}")]
    OnConnect(Box<PointError>),
    /// Reading the fresh session failed.
    #[error("{0}")]
    Io(Arc<std::io::Error>),
    /// The pool stopped before any connection opened (the run is ending).
    #[error("the run ended before a connection opened")]
    Ended,
}

impl SessionError {
    /// True when the instrument closed the session it had just accepted: a refusal.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            SessionError::ClosedAtOnce | SessionError::ClosedBeforeGreeting
        )
    }
}

/// Watches a fresh session for `wait` for the instrument closing it; what it sends in the
/// meantime is an unsolicited greeting and is dropped (logged). What already arrived is
/// read at once, without waiting ([`LineIo::take_unread`]), so a close or a greeting that
/// is there is seen even with no `wait`. `Err` with why when the session is closed or
/// failed.
pub(super) async fn watch_for_close(
    io: &mut LineIo<Stream>,
    wait: Duration,
    id: usize,
    instrument: &str,
) -> Result<(), SessionError> {
    let greeting = |unread: &Unread| {
        exec::greeting(
            Conn {
                id,
                instrument,
                others: None,
            },
            unread,
        );
    };
    match io.take_unread(Look::Kernel) {
        Ok(unread) => unread.iter().for_each(greeting),
        Err(e) => return Err(SessionError::Io(Arc::new(e))),
    }
    if io.peer_closed() {
        return Err(SessionError::ClosedAtOnce);
    }
    if wait.is_zero() {
        return Ok(());
    }
    match tokio::time::timeout(wait, io.fill()).await {
        Err(_) => Ok(()),
        Ok(Ok(0)) => Err(SessionError::ClosedAtOnce),
        Ok(Ok(_)) => {
            match io.take_unread(Look::Kernel) {
                Ok(unread) => unread.iter().for_each(greeting),
                Err(e) => return Err(SessionError::Io(Arc::new(e))),
            }
            if io.peer_closed() {
                return Err(SessionError::ClosedAtOnce);
            }
            Ok(())
        }
        Ok(Err(e)) => Err(SessionError::Io(Arc::new(e))),
    }
}

/// Watches a connection for [`FIRST_WATCH`] after its first point, which read a reply:
/// an instrument that greets without `greeting:` declared, a little too late for the watch
/// before the first command, had its greeting taken as that reply, and the true reply
/// follows it. Data seen now fails the point (the connection is out of step); a close
/// marks the connection broken.
pub(super) async fn watch_after_first_point(io: &mut LineIo<Stream>, out: &mut Ran, id: usize) {
    match tokio::time::timeout(FIRST_WATCH, io.fill()).await {
        Err(_) => {}
        Ok(Ok(0) | Err(_)) => out.in_step = false,
        Ok(Ok(_)) => match io.take_unread(Look::Kernel) {
            Ok(Some(unread)) => out.fail_unsolicited_after(unread, id),
            Ok(None) | Err(_) => out.in_step = false,
        },
    }
}

/// Reads the greeting of an instrument declared with `greeting: line`: one line, within
/// `connect_timeout`. A close before it is a refused session.
async fn read_greeting(
    io: &mut LineIo<Stream>,
    connect_timeout: Duration,
) -> Result<String, SessionError> {
    match tokio::time::timeout(connect_timeout, io.read_line()).await {
        Ok(Ok(line)) => Ok(line),
        Ok(Err(ReadError::Closed)) => Err(SessionError::ClosedBeforeGreeting),
        Ok(Err(e)) => Err(SessionError::Greeting(Arc::new(e))),
        Err(_) => Err(SessionError::NoGreeting(connect_timeout)),
    }
}

/// Dials `address`, drops any greeting already received, and sends the instrument's
/// `on_connect` commands. With `watch` (a redial), or when `on_connect` is writes only, the
/// session is first watched for [`SETTLE`] for the instrument closing it at once; otherwise
/// the first reply proves the session (see the module doc).
pub async fn open(
    id: usize,
    dialer: &dyn Dialer,
    address: &Address,
    instrument: &Instrument,
    watch: bool,
) -> Result<Opened, SessionError> {
    let io_cfg = &instrument.io;
    let stream = match tokio::time::timeout(io_cfg.connect_timeout, dialer.dial(address)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(SessionError::Connect(Arc::new(e))),
        Err(_) => return Err(SessionError::ConnectTimeout(io_cfg.connect_timeout)),
    };
    let at = Instant::now();
    let mut io = LineIo::new(stream, &io_cfg.write_termination, &io_cfg.read_termination);
    let on_connect = &instrument.on_connect;
    let mut accepted;
    let greeting = if instrument.greeting == Greeting::Line {
        // The greeting proves the session; a close before it is a refusal.
        let line = read_greeting(&mut io, io_cfg.connect_timeout).await?;
        accepted = true;
        Some((line, std::time::SystemTime::now()))
    } else {
        let writes_only = !on_connect.is_empty() && !on_connect.iter().any(Command::reads);
        let wait = if watch || writes_only {
            SETTLE
        } else {
            FIRST_WATCH
        };
        watch_for_close(&mut io, wait, id, &instrument.name).await?;
        accepted = wait == SETTLE || io.received_any();
        None
    };
    let mut record = greeting.map(|(line, at)| runlog::Connect {
        instrument: instrument.name.clone(),
        conn: id,
        greeting: Some(line),
        commands: Vec::new(),
        at,
    });
    if !on_connect.is_empty() {
        let out = run_commands(
            &mut io,
            on_connect,
            0..on_connect.len(),
            // Room for what the commands measure: a later one may read it.
            &mut Values::new(Arc::default(), true, on_connect.len()),
            &mut ReplyTimer::new(io_cfg.timeout),
            Conn {
                id,
                instrument: &instrument.name,
                others: None,
            },
            Stops::none(),
        )
        .await;
        if let Some(err) = out.error {
            return Err(SessionError::OnConnect(err));
        }
        accepted |= io.received_any();
        match &mut record {
            Some(record) => record.commands = out.exchanges,
            None => {
                record = Some(runlog::Connect {
                    instrument: instrument.name.clone(),
                    conn: id,
                    greeting: None,
                    commands: out.exchanges,
                    at: out.started_at,
                });
            }
        }
    }
    tracing::info!(
        // The connection's events keep one target, the one `RUST_LOG` and JSON logs name.
        target: "sequencer::connection",
        conn = id,
        instrument = %instrument.name,
        address = %address,
        "connection open"
    );
    Ok(Opened {
        io,
        record,
        accepted,
        at,
    })
}
