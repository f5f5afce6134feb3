//! Running one point's commands on one framed connection: writes, queries, waits, polls,
//! `expect` checks, per-command reply timeouts.
//!
//! Plain async Rust over any [`LineIo`], so it is tested without actors or sockets. The
//! connection actor calls [`run_commands`] with the point's [`Values`]; each command's text
//! is rendered from them just before it is sent, since it may use a value the point measured
//! before it. The result ([`Ran`]) is what ran and whether the session is still in step
//! ([`Ran::in_step`]); failures are typed ([`PointError`], in `error.rs`).
//!
//! Every reply must be the answer to its own command. Before each command that reads a
//! reply, and when the point ends, everything the instrument sent unasked is taken off the
//! connection ([`LineIo::take_unread`], with [`Look::Ready`]: what the event loop has seen
//! arrive, at no system call in the usual case); any such data means the connection is
//! out of step (a reply answered twice, a late answer, an echo), so the point fails and
//! the connection is closed. Only before a connection's very first command is data a
//! greeting, dropped. A reply other than `expect`'s closes the connection too.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use crate::abort::Past;
use crate::protocol::{LineIo, Look, Transport, Unread};
use crate::runlog::Exchange;
use crate::sequence::Command;

/// Which connection runs the commands: named in log lines and error messages.
#[derive(Debug, Clone, Copy)]
pub struct Conn<'a> {
    /// Connection id, unique over the run (the run log's `conn`).
    pub id: usize,
    /// Name of the instrument it is connected to.
    pub instrument: &'a str,
    /// Where the point's `on:` commands go (none: it has none).
    pub others: Option<Others<'a>>,
}

/// What running a point's commands produced: what went out and came back, how it ended,
/// and whether the session may run another point. Nothing about pools or retries.
#[derive(Debug, Clone)]
pub struct Ran {
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// Duration of the whole point, waits included.
    pub elapsed: Duration,
    /// Every command sent, in order, with replies.
    pub exchanges: Vec<Exchange>,
    /// Replies named with `as`, in command order.
    pub values: Vec<(String, String)>,
    /// Why the commands stopped before their end; `None` when they all ran. Boxed: the
    /// result travels by value through two actors for every point.
    pub error: Option<Box<PointError>>,
    /// The session is still in step and open: no failure that breaks it, nothing
    /// unsolicited, not closed by the instrument. Otherwise it must be closed.
    pub in_step: bool,
    /// The first of the step's `stop_when:` conditions that held after the point's last
    /// command (only for a point that is ok); the sequencer acts on it.
    pub fired: Option<Box<Fired>>,
}

/// A `stop_when:` condition that held after a point completed ok.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    /// Which: its index in [`crate::sequence::Step::stop_when`].
    pub condition: usize,
    /// The names the condition uses, with this point's values (for the `break` record and
    /// the stop reason).
    pub values: Vec<(String, crate::sequence::value::Value)>,
}

impl Ran {
    /// Nothing ran yet, from now.
    fn start(capacity: usize) -> Ran {
        Ran {
            started_at: SystemTime::now(),
            elapsed: Duration::ZERO,
            exchanges: Vec::with_capacity(capacity),
            values: Vec::new(),
            error: None,
            in_step: true,
            fired: None,
        }
    }

    /// What kind of failure, when the point failed.
    pub fn kind(&self) -> Option<FailKind> {
        self.error.as_ref().map(|e| e.kind())
    }

    /// Marks the point failed with `error` (the session out of step if the error breaks
    /// it).
    fn fail(&mut self, error: PointError) {
        self.in_step &= !error.kind().breaks_connection();
        self.error = Some(Box::new(error));
    }

    /// Fails a point that ended cleanly because `data` came after its last command on
    /// connection `conn`: the session is out of step.
    pub fn fail_unsolicited_after(&mut self, data: Unread, conn: usize) {
        let at = self
            .exchanges
            .last()
            .map_or(StrayAt::End, |e| StrayAt::After(e.sent.clone()));
        self.fail(PointError::Unsolicited { at, conn, data });
    }
}

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

/// Runs `commands[range]` in order, rendering each command's text with `values` just before
/// it is sent (a text may use a value measured earlier in the point); the values the
/// commands measure are kept in `values` too. Stops at the first failure, or early as
/// `stops` say.
pub async fn run_commands<S: Transport>(
    io: &mut LineIo<S>,
    commands: &[Command],
    range: Range<usize>,
    values: &mut Values,
    timer: &mut ReplyTimer,
    conn: Conn<'_>,
    stops: Stops<impl std::future::Future<Output = ()>>,
) -> Ran {
    let others = conn.others;
    let Stops { cancel, mut cut } = stops;
    tokio::pin!(cancel);
    let start = Instant::now();
    let mut out = Ran::start(range.len());
    let mut ex = Exec {
        io,
        cut: &mut cut,
        values,
        timer,
        conn,
        out: &mut out,
        awaiting: None,
        // The first command starts with the point: no second clock read.
        last: start,
    };
    let mut at = range.start;
    if let Some(fault) = ex.values.fault.take() {
        // A `let:` value that could not be computed: nothing is sent.
        ex.out.fail(PointError::Eval {
            place: format!("`let: {}`", fault.name),
            error: fault.error,
        });
        at = range.end;
    }
    while let Some(command) = commands[..range.end].get(at) {
        // A run of commands `on:` another instrument: lent to one of its connections.
        if let Some(instrument) = command.on().filter(|&i| others.is_none_or(|o| o.own != i)) {
            let end = at
                + commands[at..range.end]
                    .iter()
                    .take_while(|c| c.on() == Some(instrument))
                    .count();
            let result = tokio::select! {
                biased;
                r = ex.lent(others, instrument, commands, at..end) => r,
                () = &mut cancel => Err(PointError::Aborted),
            };
            at = end;
            if let Err(e) = result {
                // A failure over there leaves this connection in step.
                ex.out.error = Some(Box::new(e));
                break;
            }
            continue;
        }
        let index = at;
        at += 1;
        let text = match ex.prepare(command) {
            Ok(Some(text)) => text,
            // `when:` does not hold: not sent, not recorded.
            Ok(None) => continue,
            Err(e) => {
                ex.out.fail(e);
                break;
            }
        };
        let before = ex.out.exchanges.len();
        if let Err(e) = ex.before(command, &text) {
            ex.out.fail(e);
            break;
        }
        let result = tokio::select! {
            // The command first: no random branch order to draw on every wake-up.
            biased;
            r = ex.command(command, index, &text) => r,
            () = &mut cancel => {
                // A query already on the wire is recorded as sent, without a reply.
                if let Some(t) = ex.awaiting.take() {
                    ex.record(None, t);
                }
                Err(PointError::Aborted)
            }
        };
        fill_sent(&mut ex.out.exchanges[before..], text);
        if let Err(e) = result {
            ex.out.fail(e);
            break;
        }
    }
    if ex.out.in_step {
        // A late copy of a reply is charged to the point it belongs to, never handed to
        // the next point on this connection.
        ex.after();
    }
    // The end of the last exchange is the end of the point, unless a wait came after it
    // or a failure (which may come long after the last exchange: a send that timed out).
    let end = match commands[range].last() {
        Some(Command::Write { .. } | Command::Query { .. } | Command::Poll { .. })
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
    /// The point's values: what its texts and conditions read, and where its replies named
    /// with `as` are kept.
    values: &'a mut Values,
    /// The connection's reply timer, with the timeout for each command.
    timer: &'a mut ReplyTimer,
    conn: Conn<'a>,
    out: &'a mut Ran,
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
    fn before(&mut self, command: &Command, text: &str) -> Result<(), PointError> {
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
            Ok(Some(data)) => Err(PointError::Unsolicited {
                at: StrayAt::Before(text.to_owned()),
                conn,
                data,
            }),
            Err(e) => Err(PointError::Look {
                command: text.to_owned(),
                conn,
                source: Arc::new(e),
            }),
        }
    }

    /// Checks the connection once the point's commands are done (or failed without
    /// breaking it): data the instrument sent after the last reply fails the point (a point
    /// that failed already keeps its first error) and closes the connection; the
    /// instrument's close marks the connection out of step (the point's own replies
    /// stand).
    fn after(&mut self) {
        let conn = self.conn.id;
        match self.io.take_unread(Look::Ready) {
            Ok(None) => {}
            // Nothing sent on the connection yet (`on_connect` of waits only).
            Ok(Some(unread)) if !self.io.sent_any() => greeting(self.conn, &unread),
            Ok(Some(unread)) if self.out.error.is_none() => {
                self.out.fail_unsolicited_after(unread, conn);
            }
            Ok(Some(unread)) => {
                tracing::warn!(
                    conn,
                    instrument = self.conn.instrument,
                    "closing the connection: unsolicited data after a failed point: {unread}"
                );
                self.out.in_step = false;
            }
            Err(_) => self.out.in_step = false,
        }
        if self.io.peer_closed() {
            self.out.in_step = false;
        }
    }

    /// The text `command` sends at this point, rendered (empty for a wait), or `None` when
    /// its `when:` does not hold.
    fn prepare(&self, command: &Command) -> Result<Option<String>, PointError> {
        let values: &Values = self.values;
        let place = || {
            command
                .template()
                .map_or_else(|| "wait".to_owned(), |t| t.source().to_owned())
        };
        if let Some(when) = command.when() {
            match when.truth(values) {
                Ok(true) => {}
                Ok(false) => return Ok(None),
                Err(error) => {
                    return Err(PointError::Eval {
                        place: format!("the `when` of `{}`", place()),
                        error,
                    });
                }
            }
        }
        let Some(t) = command.template() else {
            return Ok(Some(String::new()));
        };
        let text = t
            .render_to_string(values)
            .map_err(|error| PointError::Eval {
                place: format!("`{}`", place()),
                error,
            })?;
        // A text value with a line break (a parameter, a `let:`) would send two commands
        // and put every later reply out of step: the point fails before sending it.
        if !t.is_constant() && text.bytes().any(|b| b == b'\n' || b == b'\r') {
            return Err(PointError::LineBreak {
                template: t.source().to_owned(),
                text,
            });
        }
        Ok(Some(text))
    }

    /// Sleeps `d`, unless the run's deadline has passed or passes meanwhile: then the
    /// point stops, `during` saying what it was doing.
    async fn pause(
        &mut self,
        d: Duration,
        during: impl FnOnce() -> Pause,
    ) -> Result<(), PointError> {
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
            return Err(PointError::Deadline { during: during() });
        }
        Ok(())
    }
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

mod command;
mod error;
mod lend;
mod timer;
mod values;
mod wire;
pub use error::{FailKind, Pause, PointError, StrayAt};
pub use lend::{Lend, Lent, Others, Unlent};
pub use timer::ReplyTimer;
pub use values::{Values, fire};
pub use wire::is_malformed;
use wire::reply_text;

#[cfg(test)]
mod tests;
