//! Putting a command on the wire and taking its reply off it, under the command's timeout,
//! and recording the exchange.

use std::sync::Arc;

use tokio::time::Instant;

use super::timer::deadline;
use super::{Exec, PointError, Transport};
use crate::protocol::ReadError;
use crate::runlog::Exchange;

impl<S: Transport> Exec<'_, S> {
    pub(super) async fn send(&mut self, text: &str) -> Result<(), PointError> {
        let conn = self.conn.id;
        let timeout = self.timer.timeout;
        self.timer.arm(deadline(self.last, timeout));
        let timer = &mut *self.timer;
        let sent = tokio::select! {
            biased;
            r = self.io.write_line(text) => r,
            () = timer.expired() => return Err(PointError::SendTimeout {
                command: text.to_owned(),
                conn,
                after: timeout,
            }),
        };
        sent.map_err(|e| PointError::Send {
            command: text.to_owned(),
            conn,
            source: Arc::new(e),
        })
    }

    /// Sends `text` and reads its reply, under one timeout for both; records the exchange
    /// and returns its index in the outcome's exchanges.
    pub(super) async fn query(&mut self, text: &str) -> Result<usize, PointError> {
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
        let command = || text.to_owned();
        let failure = match exchange {
            Ok(Ok(reply)) if !is_malformed(&reply) => {
                self.record(Some(reply), t);
                return Ok(self.out.exchanges.len() - 1);
            }
            Ok(Ok(reply)) => {
                // A text instrument never sends control characters or invalid UTF-8: the
                // stream is out of step or corrupted, so this connection is not trusted.
                let e = PointError::Malformed {
                    reply: reply.clone(),
                    command: command(),
                    conn,
                };
                self.record(Some(reply), t);
                return Err(e);
            }
            Ok(Err(Err(e))) => {
                self.awaiting = None;
                return Err(PointError::Send {
                    command: command(),
                    conn,
                    source: Arc::new(e),
                });
            }
            Ok(Err(Ok(ReadError::Closed))) => PointError::Closed {
                command: command(),
                conn,
            },
            Ok(Err(Ok(e))) => PointError::Read {
                command: command(),
                conn,
                source: Arc::new(e),
            },
            Err(()) if !sent => {
                self.awaiting = None;
                return Err(PointError::SendTimeout {
                    command: command(),
                    conn,
                    after: timeout,
                });
            }
            Err(()) => PointError::ReplyTimeout {
                command: command(),
                conn,
                after: timeout,
            },
        };
        // The query went out: the log shows it, without a reply.
        self.record(None, t);
        Err(failure)
    }

    /// Records an exchange that started at `t` and ends now; its `sent` text is filled in
    /// by `run_commands` once the command is over (`fill_sent`).
    pub(super) fn record(&mut self, reply: Option<String>, t: Instant) {
        self.awaiting = None;
        let now = Instant::now();
        self.last = now;
        self.out.exchanges.push(Exchange {
            sent: String::new(),
            reply,
            elapsed_ms: now.saturating_duration_since(t),
            on: None,
            conn: None,
        });
    }
}

/// The reply of exchange `index` (recorded by a successful query).
pub(super) fn reply_text(exchanges: &[Exchange], index: usize) -> &str {
    exchanges
        .get(index)
        .and_then(|e| e.reply.as_deref())
        .unwrap_or_default()
}

/// True for a reply no text instrument sends: control characters (tab excepted), DEL, or
/// bytes that were not UTF-8.
pub fn is_malformed(reply: &str) -> bool {
    reply
        .chars()
        .any(|c| (c.is_control() && c != '\t') || c == char::REPLACEMENT_CHARACTER)
}
