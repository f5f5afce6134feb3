//! Running one point's commands on one framed connection: writes, queries, waits, polls,
//! `expect` checks, per-command reply timeouts.
//!
//! Plain async Rust over any [`LineIo`], so it is tested without actors or sockets. The
//! connection actor calls [`run_commands`] with the texts the sequencer rendered; the result
//! says whether the connection may be reused ([`Outcome::broken`]).

use std::time::{Duration, Instant, SystemTime};

use tokio::io::{AsyncRead, AsyncWrite};

use crate::protocol::{LineIo, ReadError};
use crate::sequence::Command;
use crate::sequence::duration::format_duration;

/// One command sent and its reply.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Exchange {
    /// The text sent (without termination).
    pub sent: String,
    /// The reply line; absent for writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// From just before sending to the reply (or the write) completing, in ms.
    #[serde(serialize_with = "crate::runlog::millis")]
    pub elapsed_ms: Duration,
}

/// What running a point's commands produced.
#[derive(Debug, Clone)]
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
    /// Set by the pool: how many connections it now keeps, so the sequencer never has more
    /// points in flight than can run (points waiting in a pool could not be held back).
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
    /// No connection could run it.
    NoConnection,
}

impl FailKind {
    /// Whether the connection must be closed after this failure.
    fn breaks_connection(self) -> bool {
        matches!(self, FailKind::Connection | FailKind::Aborted)
    }
}

/// A failure while running commands: the message and its kind.
struct Failure(String, FailKind);

/// Runs `commands` in order; `texts[i]` is the rendered text of `commands[i]` (ignored for
/// waits). Stops at the first failure, or when `cancel` resolves (the point is then
/// `Aborted` and the connection must be closed: a reply may still be on its way).
pub async fn run_commands<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut LineIo<S>,
    commands: &[Command],
    texts: &[String],
    timeout: Duration,
    conn: usize,
    cancel: impl std::future::Future<Output = ()>,
) -> Outcome {
    tokio::pin!(cancel);
    let started_at = SystemTime::now();
    let start = Instant::now();
    let mut out = Outcome {
        conn,
        started_at,
        elapsed: Duration::ZERO,
        exchanges: Vec::with_capacity(commands.len()),
        values: Vec::new(),
        error: None,
        kind: None,
        broken: false,
        unreachable: false,
        skipped: false,
        pool_cap: None,
    };
    let mut ex = Exec {
        io,
        timeout,
        conn,
        out: &mut out,
    };
    for (command, text) in commands.iter().zip(texts) {
        let result = tokio::select! {
            r = ex.command(command, text) => r,
            () = &mut cancel => Err(Failure("aborted by the operator".into(), FailKind::Aborted)),
        };
        if let Err(Failure(msg, kind)) = result {
            ex.out.error = Some(msg);
            ex.out.kind = Some(kind);
            ex.out.broken = kind.breaks_connection();
            break;
        }
    }
    out.elapsed = start.elapsed();
    out
}

/// State of one run of commands.
struct Exec<'a, S> {
    io: &'a mut LineIo<S>,
    timeout: Duration,
    conn: usize,
    out: &'a mut Outcome,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Exec<'_, S> {
    async fn command(&mut self, command: &Command, text: &str) -> Result<(), Failure> {
        match command {
            Command::Wait(d) => {
                tokio::time::sleep(*d).await;
                Ok(())
            }
            Command::Write(_) => {
                let t = Instant::now();
                self.send(text).await?;
                self.record(text, None, t);
                Ok(())
            }
            Command::Query { name, expect, .. } => {
                let reply = self.query(text).await?;
                if let Some(name) = name {
                    self.out.values.push((name.clone(), reply.clone()));
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
                    let reply = self.query(text).await?;
                    polls += 1;
                    let done = until.holds(&reply);
                    let expired = deadline.is_some_and(|d| Instant::now() >= d);
                    if done || expired {
                        if let Some(name) = name {
                            self.out.values.push((name.clone(), reply.clone()));
                        }
                        if done {
                            return Ok(());
                        }
                        return Err(Failure(
                            format!(
                                "poll `{text}` did not reach {until} within {} (last reply `{reply}`, {polls} queries)",
                                format_duration(*timeout)
                            ),
                            FailKind::PollTimeout,
                        ));
                    }
                    let left =
                        deadline.map_or(*every, |d| d.saturating_duration_since(Instant::now()));
                    tokio::time::sleep((*every).min(left)).await;
                }
            }
        }
    }

    async fn send(&mut self, text: &str) -> Result<(), Failure> {
        let conn = self.conn;
        match tokio::time::timeout(self.timeout, self.io.write_line(text)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Failure(
                format!("cannot send `{text}` on connection {conn}: {e}"),
                FailKind::Connection,
            )),
            Err(_) => Err(Failure(
                format!(
                    "timeout after {} sending `{text}` on connection {conn}",
                    format_duration(self.timeout)
                ),
                FailKind::Connection,
            )),
        }
    }

    async fn query(&mut self, text: &str) -> Result<String, Failure> {
        if self.io.pending() > 0 {
            // A reply nobody asked for (say, to a command sent as a write): it must not be
            // taken as the answer to this query.
            tracing::warn!(
                conn = self.conn,
                bytes = self.io.pending(),
                "discarding unsolicited data before `{text}`; is `reply:` right for this instrument?"
            );
            self.io.discard_pending();
        }
        let t = Instant::now();
        self.send(text).await?;
        let conn = self.conn;
        let read = tokio::time::timeout(self.timeout, self.io.read_line()).await;
        let failure = match read {
            Ok(Ok(reply)) if !is_malformed(&reply) => {
                self.record(text, Some(reply.clone()), t);
                return Ok(reply);
            }
            Ok(Ok(reply)) => {
                // A text instrument never sends control characters or invalid UTF-8: the
                // stream is out of step or corrupted, so this connection is not trusted.
                self.record(text, Some(reply.clone()), t);
                return Err(Failure(
                    format!(
                        "malformed reply `{}` to `{text}` on connection {conn} (control characters or invalid UTF-8)",
                        reply.escape_debug()
                    ),
                    FailKind::Connection,
                ));
            }
            Ok(Err(ReadError::Closed)) => format!(
                "connection {conn} closed by the instrument while waiting for reply to `{text}`"
            ),
            Ok(Err(e)) => format!("cannot read reply to `{text}` on connection {conn}: {e}"),
            Err(_) => format!(
                "timeout after {} waiting for reply to `{text}` on connection {conn}",
                format_duration(self.timeout)
            ),
        };
        // The query went out: the log shows it, without a reply.
        self.record(text, None, t);
        Err(Failure(failure, FailKind::Connection))
    }

    fn record(&mut self, sent: &str, reply: Option<String>, t: Instant) {
        self.out.exchanges.push(Exchange {
            sent: sent.to_owned(),
            reply,
            elapsed_ms: t.elapsed(),
        });
    }
}

/// True for a reply no text instrument sends: control characters (tab excepted), DEL, or
/// bytes that were not UTF-8.
pub fn is_malformed(reply: &str) -> bool {
    reply
        .chars()
        .any(|c| (c.is_control() && c != '\t') || c == char::REPLACEMENT_CHARACTER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::Until;
    use crate::sequence::template::Template;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, duplex};

    fn t(s: &str) -> Template {
        Template::parse(s, &[]).unwrap()
    }

    /// A scripted instrument: answers each query line with the next scripted reply.
    fn instrument(
        stream: DuplexStream,
        replies: Vec<&'static str>,
    ) -> tokio::task::JoinHandle<Vec<String>> {
        tokio::spawn(async move {
            let (r, mut w) = tokio::io::split(stream);
            let mut lines = BufReader::new(r).lines();
            let mut seen = Vec::new();
            let mut replies = replies.into_iter();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.ends_with('?') {
                    // Out of replies: stay silent (the client times out).
                    if let Some(r) = replies.next() {
                        w.write_all(format!("{r}\n").as_bytes()).await.unwrap();
                    }
                }
                seen.push(line);
            }
            seen
        })
    }

    async fn run(
        commands: Vec<Command>,
        replies: Vec<&'static str>,
        timeout_ms: u64,
    ) -> (Outcome, Vec<String>) {
        let (a, b) = duplex(1024);
        let server = instrument(b, replies);
        let mut io = LineIo::new(a, "\n", "\n");
        let texts: Vec<String> = commands
            .iter()
            .map(|c| {
                c.template()
                    .map(|t| t.render_to_string(&[]))
                    .unwrap_or_default()
            })
            .collect();
        let out = run_commands(
            &mut io,
            &commands,
            &texts,
            Duration::from_millis(timeout_ms),
            7,
            std::future::pending(),
        )
        .await;
        drop(io);
        (out, server.await.unwrap())
    }

    /// Writes record no reply, queries record theirs, `as` names a value.
    #[tokio::test]
    async fn writes_and_queries_are_recorded() {
        let cmds = vec![
            Command::Write(t("SOUR1:VOLT 0.5")),
            Command::Query {
                text: t("MEAS1:CURR?"),
                name: Some("current".into()),
                expect: None,
            },
        ];
        let (out, seen) = run(cmds, vec!["1.5e-3"], 1000).await;
        assert_eq!(out.error, None);
        assert_eq!(seen, ["SOUR1:VOLT 0.5", "MEAS1:CURR?"]);
        assert_eq!(out.exchanges[0].reply, None);
        assert_eq!(out.exchanges[1].reply.as_deref(), Some("1.5e-3"));
        assert_eq!(out.values, [("current".to_owned(), "1.5e-3".to_owned())]);
        assert!(!out.broken);
    }

    /// A wrong reply to an `expect` query fails the point but keeps the connection.
    #[tokio::test]
    async fn expect_mismatch_fails_point_only() {
        let cmds = vec![
            Command::Query {
                text: t("*OPC?"),
                name: None,
                expect: Some("1".into()),
            },
            Command::Write(t("NEVER")),
        ];
        let (out, seen) = run(cmds, vec!["0"], 1000).await;
        assert_eq!(
            out.error.as_deref(),
            Some("reply `0` to `*OPC?` is not the expected `1`")
        );
        assert!(!out.broken);
        assert_eq!(seen, ["*OPC?"], "nothing is sent after a failure");
    }

    /// No reply within the timeout breaks the connection, with the command and connection named.
    #[tokio::test]
    async fn timeout_breaks_connection() {
        let cmds = vec![Command::Query {
            text: t("MEAS1:CURR?"),
            name: None,
            expect: None,
        }];
        let (out, _) = run(cmds, vec![], 50).await;
        assert_eq!(
            out.error.as_deref(),
            Some("timeout after 50ms waiting for reply to `MEAS1:CURR?` on connection 7")
        );
        assert!(out.broken);
    }

    /// A poll repeats until the condition holds and records every query.
    #[tokio::test]
    async fn poll_until_equals() {
        let cmds = vec![Command::Poll {
            text: t("STAT?"),
            until: Until::Equals("IDLE".into()),
            every: Duration::from_millis(1),
            timeout: Duration::from_secs(5),
            name: Some("state".into()),
        }];
        let (out, _) = run(cmds, vec!["BUSY", "BUSY", "IDLE"], 1000).await;
        assert_eq!(out.error, None);
        assert_eq!(out.exchanges.len(), 3);
        assert_eq!(out.values, [("state".to_owned(), "IDLE".to_owned())]);
    }

    /// A poll that never satisfies its condition fails with the last reply, connection intact.
    #[tokio::test]
    async fn poll_times_out() {
        let cmds = vec![Command::Poll {
            text: t("TEMP?"),
            until: Until::Below(10.0),
            every: Duration::from_millis(5),
            timeout: Duration::from_millis(30),
            name: None,
        }];
        let (out, _) = run(cmds, vec!["300"; 100], 1000).await;
        let err = out.error.unwrap();
        assert!(
            err.starts_with("poll `TEMP?` did not reach below `10` within 30ms (last reply `300`"),
            "{err}"
        );
        assert!(!out.broken);
    }

    /// Cancelling stops the point at once as aborted and marks the connection broken.
    #[tokio::test]
    async fn cancel_aborts_the_point() {
        let (a, b) = duplex(1024);
        let server = instrument(b, vec![]);
        let mut io = LineIo::new(a, "\n", "\n");
        let cmds = vec![
            Command::Write(t("A 1")),
            Command::Wait(Duration::from_secs(30)),
        ];
        let texts = vec!["A 1".to_owned(), String::new()];
        let cancel = tokio::time::sleep(Duration::from_millis(20));
        let out = run_commands(&mut io, &cmds, &texts, Duration::from_secs(1), 1, cancel).await;
        assert_eq!(out.kind, Some(FailKind::Aborted));
        assert!(out.broken);
        assert_eq!(
            out.exchanges.len(),
            1,
            "what was sent before the abort is kept"
        );
        drop(io);
        server.await.unwrap();
    }

    /// Replies with control characters or invalid UTF-8 are malformed; ordinary ones are not.
    #[test]
    fn malformed_replies() {
        let cases = [
            ("1.25E-3", false),
            ("+1.000000E+00,+2.0", false),
            ("a\tb", false),
            ("\u{1}#GARBAGE?!\u{7f}", true),
            ("12\u{0}3", true),
            ("bad \u{fffd} utf8", true),
        ];
        for (reply, want) in cases {
            assert_eq!(is_malformed(reply), want, "{reply:?}");
        }
    }

    /// Until conditions, table-driven.
    #[test]
    fn until_conditions() {
        let cases = [
            (Until::Equals("IDLE".into()), "IDLE", true),
            (Until::Equals("IDLE".into()), "BUSY", false),
            (
                Until::Matches(regex::Regex::new("^OK").unwrap()),
                "OK 3",
                true,
            ),
            (
                Until::Within {
                    tol: 0.5,
                    of: 300.0,
                },
                "300.4",
                true,
            ),
            (
                Until::Within {
                    tol: 0.5,
                    of: 300.0,
                },
                "299.4",
                false,
            ),
            (Until::Above(1.0), "1.5", true),
            (Until::Above(1.0), "garbage", false),
            (Until::Below(1.0), " 0.5 ", true),
        ];
        for (until, reply, want) in cases {
            assert_eq!(until.holds(reply), want, "{until} on {reply}");
        }
    }
}
