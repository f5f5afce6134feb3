//! The pool's dials: the first ones ([`super::Open`]), redials with backoff after failures,
//! refused sessions (the instrument took fewer connections than asked) and giving up.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix::prelude::*;

use super::Pool;
use super::{Redial, Unrun, Verdict};
use crate::connection::SessionError;
use crate::connection::{self, Connection, SETTLE};

/// First pause before redialling after a failed dial; doubles per failure.
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
/// Longest pause between dials.
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// The pause before dial attempt `failures + 1`: 100 ms doubling to 5 s, times a random
/// factor in [0.5, 1] so that many connections lost at once do not redial in lockstep.
pub fn backoff(failures: u32) -> Duration {
    let exp = BACKOFF_FIRST.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let base = exp.min(BACKOFF_MAX);
    let jitter = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(failures);
        (h.finish() % 1000) as f64 / 1000.0
    };
    base.mul_f64(0.5 + jitter / 2.0)
}

impl Pool {
    /// Starts one dial (`first`: one of [`Open`](super::Open)'s); its end updates the counts and pumps
    /// the queue.
    pub(super) fn dial(&mut self, first: bool, ctx: &mut Context<Self>) {
        self.dialing += 1;
        self.first_dials += usize::from(first);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        // Dials started together (several connections lost at once) fail together: they
        // count as one attempt, so a short outage does not use up every attempt at once.
        let attempt = self.redial.failures() + 1;
        let name = &self.instrument.name;
        if first {
            tracing::debug!(conn = id, instrument = %name, address = %self.address, "connecting");
        } else {
            tracing::info!(
                conn = id,
                instrument = %name,
                address = %self.address,
                "reconnecting (attempt {attempt} of {})",
                self.instrument.reconnect_attempts
            );
        }
        let (instrument, address) = (self.instrument.clone(), self.address.clone());
        let dialer = self.dialer.clone();
        // A redial is watched before it takes work; first dials are checked by their
        // first point (see `connection`).
        let fut =
            async move { connection::open(id, &*dialer, &address, &instrument, !first).await };
        ctx.spawn(fut.into_actor(self).map(move |res, act, ctx| {
            act.dialing -= 1;
            act.first_dials -= usize::from(first);
            match res {
                Ok(mut opened) => {
                    // Sent before the connection takes work, so it is logged before its points.
                    if let Some(record) = opened.record.take() {
                        act.record_connect(record);
                    }
                    act.live += 1;
                    let failures = act.redial.failures();
                    if failures > 0 {
                        tracing::info!(
                            conn = id,
                            instrument = %act.instrument.name,
                            address = %act.address,
                            "reconnected after {failures} failed attempt(s)",
                        );
                    }
                    act.redial = Redial::Clear;
                    let (work, inbox) = local_channel::mpsc::channel();
                    Connection::new(
                        id,
                        act.instrument.clone(),
                        opened,
                        act.done_tx.clone(),
                        inbox,
                        act.abort.clone(),
                        act.alive.clone(),
                    )
                    .lending_from(act.lending.as_ref())
                    .start();
                    act.idle.push_back((id, work));
                }
                Err(e) if first => {
                    // Reported once: by the shortfall warning, or by whoever awaits the
                    // opening when no connection opens at all.
                    tracing::debug!(
                        conn = id,
                        instrument = %act.instrument.name,
                        address = %act.address,
                        "cannot connect: {e}"
                    );
                    act.last_error = Some(e);
                    act.last_failed = id;
                    act.one_fewer(ctx);
                }
                Err(e) => {
                    act.redial = act.redial.failed(attempt);
                    act.last_failed = id;
                    tracing::warn!(
                        conn = id,
                        instrument = %act.instrument.name,
                        address = %act.address,
                        "reconnect attempt {} of {} failed: {e}",
                        act.redial.failures(),
                        act.instrument.reconnect_attempts
                    );
                    act.last_error = Some(e);
                }
            }
            act.answer_open();
            act.pump(ctx);
        }));
    }

    /// Answers [`Open`](super::Open) once a connection is open, or once every first dial failed.
    pub(super) fn answer_open(&mut self) {
        if self.live == 0 && self.first_dials > 0 {
            return;
        }
        if let Some(tx) = self.opening.take() {
            let result = if self.live > 0 {
                Ok(self.cap)
            } else {
                Err(self
                    .last_error
                    .clone()
                    .unwrap_or(SessionError::ClosedAtOnce))
            };
            let _ = tx.send(result);
        }
    }

    /// A first dial failed or a first session was refused: the instrument takes one
    /// connection fewer than the pool thought. Warned about once the first dials are over.
    pub(super) fn one_fewer(&mut self, ctx: &mut Context<Self>) {
        self.cap = self.cap.saturating_sub(1).max(1);
        if !self.shortfall_due {
            self.shortfall_due = true;
            ctx.run_later(SETTLE, |act, _| act.warn_shortfall());
        }
    }

    /// Warns, once, that the instrument accepted fewer connections than asked.
    pub(super) fn warn_shortfall(&mut self) {
        if !std::mem::take(&mut self.shortfall_due) || self.live + self.dialing == 0 {
            return;
        }
        let ins = &self.instrument;
        tracing::warn!(
            instrument = %ins.name,
            address = %self.address,
            "instrument `{}` accepted {} of {} connections; continuing with {}",
            ins.name,
            self.cap,
            ins.max_connections,
            self.cap
        );
    }

    /// A first connection was closed at once by the instrument (a refused session): with
    /// others open or opening, keep one fewer; with none left, count it as a failed dial, so
    /// the redial is watched and backs off.
    pub(super) fn refused(
        &mut self,
        id: usize,
        error: Option<&SessionError>,
        ctx: &mut Context<Self>,
    ) {
        let why = SessionError::ClosedAtOnce;
        self.last_failed = id;
        if self.live + self.dialing > 0 {
            tracing::debug!(
                conn = id,
                instrument = %self.instrument.name,
                address = %self.address,
                "session refused: {}",
                error.unwrap_or(&why)
            );
            self.one_fewer(ctx);
        } else {
            self.redial = self.redial.failed(1);
            tracing::warn!(
                conn = id,
                instrument = %self.instrument.name,
                address = %self.address,
                "session refused, no connection left: {why}"
            );
        }
        self.last_error = Some(why);
    }

    /// Every reconnect attempt failed: with connections left, keep those; with none, the
    /// instrument is unreachable and every waiting point fails with the reason.
    pub(super) fn give_up(&mut self, ctx: &mut Context<Self>) {
        let attempts = self.redial.failures();
        self.redial = Redial::Clear;
        let cause = self.last_error.clone();
        if self.live > 0 {
            tracing::warn!(
                conn = self.last_failed,
                instrument = %self.instrument.name,
                address = %self.address,
                "instrument takes no more connections ({}); continuing with {}",
                cause.as_ref().map_or_else(|| "refused".to_owned(), ToString::to_string),
                self.live
            );
            self.cap = self.live;
            return;
        }
        let unreachable = Unrun::Unreachable {
            address: self.address.to_string(),
            attempts,
            cause,
        };
        tracing::error!(
            conn = self.last_failed,
            instrument = %self.instrument.name,
            address = %self.address,
            "{unreachable}"
        );
        self.refuse_loans();
        for job in std::mem::take(&mut self.queue) {
            let verdict = Verdict::Failed(unreachable.clone());
            self.deliver(job.point.serial, 0, verdict, ctx);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Backoff doubles from 100 ms, is capped at 5 s, and jitter keeps it in [half, full].
    #[test]
    fn backoff_doubles_with_jitter_and_cap() {
        let cases = [
            (1, 100),
            (2, 200),
            (3, 400),
            (6, 3200),
            (7, 5000),
            (30, 5000),
        ];
        for (failures, full_ms) in cases {
            for _ in 0..20 {
                let d = backoff(failures).as_secs_f64() * 1000.0;
                let full = f64::from(full_ms);
                assert!(
                    d >= full / 2.0 - 1e-9 && d <= full + 1e-9,
                    "{failures}: {d}"
                );
            }
        }
    }
}
