//! One command of a point: a wait, a write, a query with its `expect:` and `check:`, a
//! poll until its condition holds or its timeout passes.

use tokio::time::Instant;

use super::{Command, Exec, Pause, PointError, Transport, Values, reply_text};
use crate::sequence::expr::{Expr, show_values};
use crate::sequence::template::Template;

impl<S: Transport> Exec<'_, S> {
    /// Runs `command`, the point's `index`th, whose text is `text`.
    pub(super) async fn command(
        &mut self,
        command: &Command,
        index: usize,
        text: &str,
    ) -> Result<(), PointError> {
        match command {
            Command::Wait { pause: d, .. } => {
                self.pause(*d, || Pause::Wait(*d)).await?;
                self.last = Instant::now();
                Ok(())
            }
            Command::Write { .. } => {
                let t = self.last;
                self.send(text).await?;
                self.record(None, t);
                Ok(())
            }
            Command::Query {
                name,
                expect,
                check,
                ..
            } => {
                self.query_checked(
                    text,
                    index,
                    name.as_deref(),
                    expect.as_ref(),
                    check.as_deref(),
                )
                .await
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
                    let done =
                        until
                            .holds(reply, &*self.values)
                            .map_err(|error| PointError::Eval {
                                place: format!("the `until` of `{text}`"),
                                error,
                            })?;
                    let expired = deadline.is_some_and(|d| Instant::now() >= d);
                    if done || expired {
                        if let Some(name) = name {
                            self.out.values.push((name.clone(), reply.to_owned()));
                            self.values.take(index, reply);
                        }
                        if done {
                            return Ok(());
                        }
                        return Err(PointError::PollTimeout {
                            command: text.to_owned(),
                            condition: until.describe(&*self.values),
                            timeout: *timeout,
                            reply: reply.to_owned(),
                            polls,
                        });
                    }
                    let left =
                        deadline.map_or(*every, |d| d.saturating_duration_since(Instant::now()));
                    let during = Pause::Poll {
                        command: text.to_owned(),
                        reply: reply.to_owned(),
                        polls,
                    };
                    if let Err(e) = self.pause((*every).min(left), move || during).await {
                        if let Some(name) = name {
                            let reply = reply_text(&self.out.exchanges, reply_at).to_owned();
                            self.values.take(index, &reply);
                            self.out.values.push((name.clone(), reply));
                        }
                        return Err(e);
                    }
                    self.last = Instant::now();
                }
            }
        }
    }

    /// Sends query `text` (the point's `index`th command) and reads its reply, kept as
    /// `name`; fails the point unless the reply is `expect`'s, rendered, and `check` holds.
    async fn query_checked(
        &mut self,
        text: &str,
        index: usize,
        name: Option<&str>,
        expect: Option<&Template>,
        check: Option<&Expr>,
    ) -> Result<(), PointError> {
        let reply = self.query(text).await?;
        let reply = reply_text(&self.out.exchanges, reply);
        if let Some(name) = name {
            self.out.values.push((name.to_owned(), reply.to_owned()));
            self.values.take(index, reply);
        }
        if let Some(want) = expect {
            let want = want
                .render_to_string(&*self.values)
                .map_err(|error| PointError::Eval {
                    place: format!("the `expect` of `{text}`"),
                    error,
                })?;
            if reply.trim() != want {
                return Err(PointError::Mismatch {
                    reply: reply.to_owned(),
                    command: text.to_owned(),
                    expected: want,
                });
            }
        }
        if let Some(check) = check {
            let values: &Values = self.values;
            let holds = check.truth(values).map_err(|error| PointError::Eval {
                place: format!("the `check` of `{text}`"),
                error,
            })?;
            if !holds {
                return Err(PointError::Check {
                    condition: check.source().to_owned(),
                    reply: reply.to_owned(),
                    command: text.to_owned(),
                    values: show_values(&check.values(values)),
                });
            }
        }
        Ok(())
    }
}
