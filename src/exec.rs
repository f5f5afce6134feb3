//! Running one point's commands on one framed connection: writes, queries, waits, polls,
//! `expect` checks, per-command reply timeouts.
//!
//! Plain async Rust over any [`LineIo`], so it is tested without actors or sockets. The
//! connection actor calls [`run_commands`] with the texts the sequencer rendered; the result
//! says whether the connection may be reused ([`Outcome::broken`]).
//!
//! Every reply must be the answer to its own command. Before each command that reads a
//! reply, and when the point ends, everything the instrument sent unasked is taken off the
//! connection ([`LineIo::take_unread`], with [`Look::Ready`]: what the event loop has seen
//! arrive, at no system call in the usual case); any such data means the connection is
//! out of step (a reply answered twice, a late answer, an echo), so the point fails and
//! the connection is closed. Only before a connection's very first command is data a
//! greeting, dropped. A reply other than `expect`'s closes the connection too.

use std::time::{Duration, Instant, SystemTime};

use crate::abort::Past;
use crate::protocol::{LineIo, Look, ReadError, Transport, Unread};
use crate::runlog::Exchange;
use crate::sequence::Command;
use crate::sequence::duration::format_duration;
use crate::sequence::value::Value;

/// Which connection runs the commands: named in log lines and error messages.
#[derive(Debug, Clone, Copy)]
pub struct Conn<'a> {
    /// Connection id, unique over the run (the run log's `conn`).
    pub id: usize,
    /// Name of the instrument it is connected to.
    pub instrument: &'a str,
}

/// What running a point's commands produced.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // independent facts about one point, each documented
pub struct Outcome {
    /// Connection that ran it.
    pub conn: usize,
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// Duration of the whole point, waits included.
    pub elapsed: Duration,
    /// Every command sent, in order, with replies.
    pub exchanges: Vec<Exchange>,
    /// Replies named with `as`, in command order.
    pub values: Vec<(String, String)>,
    /// Why the point failed; `None` when it succeeded.
    pub error: Option<String>,
    /// What kind of failure, when the point failed (decides retries).
    pub kind: Option<FailKind>,
    /// The connection is unusable (timeout, EOF, I/O error, abort) and must be closed.
    pub broken: bool,
    /// The instrument is unreachable (every reconnect attempt failed): the run must stop.
    pub unreachable: bool,
    /// Never started: the run stopped while the point waited for a connection. Not a
    /// point outcome at all; it is not recorded.
    pub skipped: bool,
    /// The instrument closed a fresh connection, having sent nothing, before or under its
    /// first point: it refused the session (it allows fewer than asked). Set by the
    /// connection; the pool then keeps fewer connections and sets `again`.
    pub refused: bool,
    /// Not a final outcome: the point goes back to the sequencer to be dispatched again
    /// when a connection is free, without using up a retry (its session was refused, or the
    /// pool has fewer connections than points given to it). Recorded first, as a failed
    /// attempt, only if commands went out (`exchanges` is not empty).
    pub again: bool,
    /// Set by the pool: after this failed point it starts none of its waiting points until
    /// the sequencer has judged the failure and answers with a
    /// [`Proceed`](crate::pool::Proceed).
    pub held: bool,
    /// Set by the pool: how many connections it now keeps, which bounds how many points
    /// the sequencer lets run at once.
    pub pool_cap: Option<usize>,
}

impl Outcome {
    /// A point that never reached an instrument (no connection could run it).
    pub fn not_run(conn: usize, error: String) -> Self {
        Outcome {
            conn,
            started_at: SystemTime::now(),
            elapsed: Duration::ZERO,
            exchanges: Vec::new(),
            values: Vec::new(),
            error: Some(error),
            kind: Some(FailKind::NoConnection),
            broken: true,
            unreachable: false,
            skipped: false,
            refused: false,
            again: false,
            held: false,
            pool_cap: None,
        }
    }

    /// A point handed back unstarted because the run is stopping.
    pub fn skipped() -> Self {
        Outcome {
            skipped: true,
            ..Outcome::not_run(0, "not started: the run is stopping".into())
        }
    }
}

impl Outcome {
    /// Marks the point failed with `error` of `kind` (closing the connection if the kind
    /// breaks it).
    fn fail(&mut self, error: String, kind: FailKind) {
        self.error = Some(error);
        self.kind = Some(kind);
        self.broken |= kind.breaks_connection();
    }

    /// Fails a point that ended cleanly because `unread` came after its last command on
    /// connection `conn` (see [`unsolicited`]).
    pub fn fail_unsolicited_after(&mut self, unread: &Unread, conn: usize) {
        let after = self.exchanges.last().map(|e| e.sent.as_str());
        let Failure(msg, kind) = unsolicited(after, false, conn, unread);
        self.fail(msg, kind);
    }
}

/// Why a point failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailKind {
    /// The connection broke: I/O error, end of file, or no reply in time. Retried.
    Connection,
    /// A poll did not reach its condition in time. Retried only with `retry_on: [timeout]`.
    PollTimeout,
    /// A reply differed from `expect`. Retried only with `retry_on: [mismatch]`.
    Mismatch,
    /// Cancelled by the operator (second Ctrl-C).
    Aborted,
    /// Stopped at a `wait` or between polls because the run's deadline passed.
    Deadline,
    /// No connection could run it.
    NoConnection,
}

impl FailKind {
    /// Whether the connection must be closed after this failure.
    /// A reply other than the expected one may be a connection out of step (a reply that
    /// answered the command before), so the connection is not trusted with another point.
    fn breaks_connection(self) -> bool {
        matches!(
            self,
            FailKind::Connection | FailKind::Aborted | FailKind::Mismatch
        )
    }
}

/// A failure while running commands: the message and its kind.
struct Failure(String, FailKind);

/// What may end a point early.
pub struct Stops<C> {
    /// Resolves when the point must stop at once (a second Ctrl-C): it is `Aborted` and the
    /// connection must be closed, since a reply may still be on its way.
    pub cancel: C,
    /// Resolves once the run's deadline has passed: the point stops at its next `wait` or
    /// pause between polls (`Deadline`), never in the middle of an exchange, so the
    /// connection stays in step.
    pub cut: Past,
}

impl Stops<std::future::Pending<()>> {
    /// Nothing stops the point early (`on_connect`, tests).
    pub fn none() -> Self {
        Stops {
            cancel: std::future::pending(),
            cut: Past::never(),
        }
    }
}

/// Runs `commands` in order; `texts[i]` is the rendered text of `commands[i]` (ignored for
/// waits), moved into the exchanges that send it. Stops at the first failure, or early as
/// `stops` say.
pub async fn run_commands<S: Transport>(
    io: &mut LineIo<S>,
    commands: &[Command],
    texts: Vec<String>,
    vars: &[Value],
    timer: &mut ReplyTimer,
    conn: Conn<'_>,
    stops: Stops<impl std::future::Future<Output = ()>>,
) -> Outcome {
    let Stops { cancel, mut cut } = stops;
    tokio::pin!(cancel);
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut out = Outcome {
        conn: conn.id,
        started_at,
        elapsed: Duration::ZERO,
        exchanges: Vec::with_capacity(commands.len()),
        values: Vec::new(),
        error: None,
        kind: None,
        broken: false,
        unreachable: false,
        skipped: false,
        refused: false,
        again: false,
        held: false,
        pool_cap: None,
    };
    let mut ex = Exec {
        io,
        cut: &mut cut,
        vars,
        timer,
        conn,
        out: &mut out,
        awaiting: None,
        // The first command starts with the point: no second clock read.
        last: start,
    };
    for (command, text) in commands.iter().zip(texts) {
        let before = ex.out.exchanges.len();
        if let Err(Failure(msg, kind)) = ex.before(command, &text) {
            ex.out.fail(msg, kind);
            break;
        }
        let result = tokio::select! {
            // The command first: no random branch order to draw on every wake-up.
            biased;
            r = ex.command(command, &text) => r,
            () = &mut cancel => {
                // A query already on the wire is recorded as sent, without a reply.
                if let Some(t) = ex.awaiting.take() {
                    ex.record(None, t);
                }
                Err(Failure("aborted by the operator".into(), FailKind::Aborted))
            }
        };
        fill_sent(&mut ex.out.exchanges[before..], text);
        if let Err(Failure(msg, kind)) = result {
            ex.out.fail(msg, kind);
            break;
        }
    }
    if !ex.out.broken {
        // A late copy of a reply is charged to the point it belongs to, never handed to
        // the next point on this connection.
        ex.after();
    }
    // The end of the last exchange is the end of the point, unless a wait came after it
    // or a failure (which may come long after the last exchange: a send that timed out).
    let end = match commands.last() {
        Some(Command::Write(_) | Command::Query { .. } | Command::Poll { .. })
            if ex.out.error.is_none() =>
        {
            ex.last
        }
        _ => Instant::now(),
    };
    out.elapsed = end.saturating_duration_since(start);
    out
}

/// Sets the text sent by `exchanges`, all of one command: the last takes `text` itself, the
/// others (a poll's earlier queries) a copy.
fn fill_sent(exchanges: &mut [Exchange], text: String) {
    if let Some((last, earlier)) = exchanges.split_last_mut() {
        for e in earlier {
            e.sent.clone_from(&text);
        }
        last.sent = text;
    }
}

/// State of one run of commands.
struct Exec<'a, S> {
    io: &'a mut LineIo<S>,
    /// Resolves once the run's deadline has passed (see [`Stops::cut`]).
    cut: &'a mut Past,
    /// The point's sweep variables (for poll bounds such as `of: "{setpoint}"`).
    vars: &'a [Value],
    /// The connection's reply timer, with the timeout for each command.
    timer: &'a mut ReplyTimer,
    conn: Conn<'a>,
    out: &'a mut Outcome,
    /// When the command being run was sent, while its reply is awaited, so a cancel can
    /// record it as sent.
    awaiting: Option<Instant>,
    /// When the last exchange ended (or the point started): the next command's start,
    /// unless a wait came between.
    last: Instant,
}

impl<S: Transport> Exec<'_, S> {
    /// Checks the connection before `command` (whose rendered text is `text`): before the
    /// connection's first command ever, data the instrument sent is a greeting and is
    /// dropped; before any later command that reads a reply, it means the connection is
    /// out of step.
    fn before(&mut self, command: &Command, text: &str) -> Result<(), Failure> {
        let (greeting, reads) = (!self.io.sent_any(), command.reads());
        if !greeting && !reads {
            return Ok(());
        }
        let conn = self.conn.id;
        match self.io.take_unread(Look::Ready) {
            Ok(None) => Ok(()),
            Ok(Some(unread)) if greeting => {
                self::greeting(self.conn, &unread);
                Ok(())
            }
            Ok(Some(unread)) => Err(unsolicited(Some(text), true, conn, &unread)),
            Err(e) => Err(Failure(
                format!("cannot read from connection {conn} before `{text}`: {e}"),
                FailKind::Connection,
            )),
        }
    }

    /// Checks the connection once the point's commands are done (or failed without
    /// breaking it): data the instrument sent after the last reply fails the point (a point
    /// that failed already keeps its first error) and closes the connection; the
    /// instrument's close marks the connection broken (the point's own replies stand).
    fn after(&mut self) {
        let conn = self.conn.id;
        match self.io.take_unread(Look::Ready) {
            Ok(None) => {}
            // Nothing sent on the connection yet (`on_connect` of waits only).
            Ok(Some(unread)) if !self.io.sent_any() => greeting(self.conn, &unread),
            Ok(Some(unread)) if self.out.error.is_none() => {
                self.out.fail_unsolicited_after(&unread, conn);
            }
            Ok(Some(unread)) => {
                tracing::warn!(
                    conn,
                    instrument = self.conn.instrument,
                    "closing the connection: unsolicited data after a failed point: {unread}"
                );
                self.out.broken = true;
            }
            Err(_) => self.out.broken = true,
        }
        if self.io.peer_closed() {
            self.out.broken = true;
        }
    }

    /// Sleeps `d`, unless the run's deadline has passed or passes meanwhile: then the
    /// point stops, `during` naming what it was doing.
    async fn pause(&mut self, d: Duration, during: impl FnOnce() -> String) -> Result<(), Failure> {
        let cut = if self.cut.passed() {
            true
        } else {
            tokio::select! {
                biased;
                () = &mut *self.cut => true,
                () = tokio::time::sleep(d) => false,
            }
        };
        if cut {
            return Err(Failure(
                format!("deadline: the run's deadline passed during {}", during()),
                FailKind::Deadline,
            ));
        }
        Ok(())
    }

    async fn command(&mut self, command: &Command, text: &str) -> Result<(), Failure> {
        match command {
            Command::Wait(d) => {
                self.pause(*d, || format!("a `wait: {}`", format_duration(*d)))
                    .await?;
                self.last = Instant::now();
                Ok(())
            }
            Command::Write(_) => {
                let t = self.last;
                self.send(text).await?;
                self.record(None, t);
                Ok(())
            }
            Command::Query { name, expect, .. } => {
                let reply = self.query(text).await?;
                let reply = reply_text(&self.out.exchanges, reply);
                if let Some(name) = name {
                    self.out.values.push((name.clone(), reply.to_owned()));
                }
                match expect {
                    Some(want) if reply.trim() != want => Err(Failure(
                        format!("reply `{reply}` to `{text}` is not the expected `{want}`"),
                        FailKind::Mismatch,
                    )),
                    _ => Ok(()),
                }
            }
            Command::Poll {
                until,
                every,
                timeout,
                name,
                ..
            } => {
                // A timeout too large for the clock means no deadline at all.
                let deadline = Instant::now().checked_add(*timeout);
                let mut polls = 0u64;
                loop {
                    let reply_at = self.query(text).await?;
                    let reply = reply_text(&self.out.exchanges, reply_at);
                    polls += 1;
                    let done = until.holds(reply, self.vars);
                    let expired = deadline.is_some_and(|d| Instant::now() >= d);
                    if done || expired {
                        if let Some(name) = name {
                            self.out.values.push((name.clone(), reply.to_owned()));
                        }
                        if done {
                            return Ok(());
                        }
                        return Err(Failure(
                            format!(
                                "poll `{text}` did not reach {} within {} (last reply `{reply}`, {polls} queries)",
                                until.describe(self.vars),
                                format_duration(*timeout)
                            ),
                            FailKind::PollTimeout,
                        ));
                    }
                    let left =
                        deadline.map_or(*every, |d| d.saturating_duration_since(Instant::now()));
                    let during =
                        format!("the poll `{text}` (last reply `{reply}`, {polls} queries)");
                    if let Err(failure) = self.pause((*every).min(left), move || during).await {
                        if let Some(name) = name {
                            let reply = reply_text(&self.out.exchanges, reply_at).to_owned();
                            self.out.values.push((name.clone(), reply));
                        }
                        return Err(failure);
                    }
                    self.last = Instant::now();
                }
            }
        }
    }

    async fn send(&mut self, text: &str) -> Result<(), Failure> {
        let conn = self.conn.id;
        let timeout = self.timer.timeout;
        self.timer.arm(deadline(self.last, timeout));
        let timer = &mut *self.timer;
        let sent = tokio::select! {
            biased;
            r = self.io.write_line(text) => r,
            () = timer.expired() => return Err(send_timed_out(text, conn, timeout)),
        };
        sent.map_err(|e| send_failed(text, conn, &e))
    }

    /// Sends `text` and reads its reply, under one timeout for both; records the exchange
    /// and returns its index in the outcome's exchanges.
    async fn query(&mut self, text: &str) -> Result<usize, Failure> {
        let t = self.last;
        let conn = self.conn.id;
        self.awaiting = Some(t);
        let timeout = self.timer.timeout;
        self.timer.arm(deadline(t, timeout));
        let (io, timer) = (&mut *self.io, &mut *self.timer);
        let mut sent = false;
        let exchange = tokio::select! {
            // The reply first: one that came in time is taken even if the timer is due too.
            biased;
            r = async {
                io.write_line(text).await.map_err(Err)?;
                sent = true;
                io.read_line().await.map_err(Ok)
            } => Ok(r),
            () = timer.expired() => Err(()),
        };
        let failure = match exchange {
            Ok(Ok(reply)) if !is_malformed(&reply) => {
                self.record(Some(reply), t);
                return Ok(self.out.exchanges.len() - 1);
            }
            Ok(Ok(reply)) => {
                // A text instrument never sends control characters or invalid UTF-8: the
                // stream is out of step or corrupted, so this connection is not trusted.
                let msg = format!(
                    "malformed reply `{}` to `{text}` on connection {conn} (control characters or invalid UTF-8)",
                    reply.escape_debug()
                );
                self.record(Some(reply), t);
                return Err(Failure(msg, FailKind::Connection));
            }
            Ok(Err(Err(e))) => {
                self.awaiting = None;
                return Err(send_failed(text, conn, &e));
            }
            Ok(Err(Ok(ReadError::Closed))) => format!(
                "connection {conn} closed by the instrument while waiting for reply to `{text}`"
            ),
            Ok(Err(Ok(e))) => format!("cannot read reply to `{text}` on connection {conn}: {e}"),
            Err(()) if !sent => {
                self.awaiting = None;
                return Err(send_timed_out(text, conn, timeout));
            }
            Err(()) => format!(
                "timeout after {} waiting for reply to `{text}` on connection {conn}",
                format_duration(timeout)
            ),
        };
        // The query went out: the log shows it, without a reply.
        self.record(None, t);
        Err(Failure(failure, FailKind::Connection))
    }

    /// Records an exchange that started at `t` and ends now; its `sent` text is filled in
    /// by `run_commands` once the command is over (`fill_sent`).
    fn record(&mut self, reply: Option<String>, t: Instant) {
        self.awaiting = None;
        let now = Instant::now();
        self.last = now;
        self.out.exchanges.push(Exchange {
            sent: String::new(),
            reply,
            elapsed_ms: now.saturating_duration_since(t),
        });
    }
}

/// The reply of exchange `index` (recorded by a successful query).
fn reply_text(exchanges: &[Exchange], index: usize) -> &str {
    exchanges
        .get(index)
        .and_then(|e| e.reply.as_deref())
        .unwrap_or_default()
}

/// Logs the greeting `unread`, dropped: data an instrument sent on connection `conn`
/// before any command.
pub fn greeting(conn: Conn<'_>, unread: &Unread) {
    tracing::warn!(
        conn = conn.id,
        instrument = conn.instrument,
        bytes = unread.bytes,
        "discarding data the instrument sent before any command: {unread}"
    );
}

/// Data nobody asked for, found before (`before`) or after the command `text` (the last
/// one sent, if any) on connection `conn`: the connection is out of step, so it is closed
/// and the point fails (retried as `retries` allows).
fn unsolicited(text: Option<&str>, before: bool, conn: usize, unread: &Unread) -> Failure {
    let at = match (text, before) {
        (Some(text), true) => format!("before `{text}`"),
        (Some(text), false) => format!("after `{text}`"),
        (None, _) => "at the end of the point".to_owned(),
    };
    Failure(
        format!(
            "unsolicited data {at} on connection {conn}: {unread} (a reply nobody asked for: \
             the connection is out of step and was closed)"
        ),
        FailKind::Connection,
    )
}

/// A command whose write did not finish within `timeout`.
fn send_timed_out(text: &str, conn: usize, timeout: Duration) -> Failure {
    Failure(
        format!(
            "timeout after {} sending `{text}` on connection {conn}",
            format_duration(timeout)
        ),
        FailKind::Connection,
    )
}

/// A command that could not be written.
fn send_failed(text: &str, conn: usize, e: &std::io::Error) -> Failure {
    Failure(
        format!("cannot send `{text}` on connection {conn}: {e}"),
        FailKind::Connection,
    )
}

/// True for a reply no text instrument sends: control characters (tab excepted), DEL, or
/// bytes that were not UTF-8.
pub fn is_malformed(reply: &str) -> bool {
    reply
        .chars()
        .any(|c| (c.is_control() && c != '\t') || c == char::REPLACEMENT_CHARACTER)
}

mod timer;
pub use timer::ReplyTimer;
use timer::deadline;

#[cfg(test)]
mod tests;
