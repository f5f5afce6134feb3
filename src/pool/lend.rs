//! Connections lent to other instruments' points: a point whose commands say `on: tc` runs
//! those (each consecutive run of them) on a connection of `tc`'s pool, borrowed when the
//! first is due and given back after the last ([`Borrow`]). The point keeps its own
//! connection meanwhile; lent runs go ahead of the pool's own waiting points and are never
//! held back by a failure, since the point they belong to is already running. Only one
//! stage runs at a time and its points borrow from other instruments only, so a borrow
//! never waits on a connection that waits for it in turn.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

use actix::WeakAddr;
use actix::prelude::*;
use tokio::sync::oneshot;

use super::Pool;
use crate::connection::{Done, Execute, Lenders};

/// Runs a lent run of `on:` commands on one of the pool's connections, ahead of its own
/// waiting points: answers with the connection's report, or `None` if the pool can run it
/// on none (it gave up on its instrument).
#[derive(Message)]
#[rtype(result = "Option<Done>")]
pub struct Borrow(pub Execute);

/// A lent run waiting for a connection, or running on one.
pub(super) struct Loan {
    /// Its serial in this pool (counted down from `u64::MAX`, apart from the sequencer's).
    pub serial: u64,
    /// Where its report goes.
    pub reply: oneshot::Sender<Done>,
}

/// The run's pools as lenders to each other: made before the pools, filled once they are
/// started. Holds weak addresses, so a pool still stops once the run lets go of it.
pub struct Lending {
    /// Each instrument's name, by index.
    names: Vec<String>,
    /// Each instrument's pool, by index.
    pools: RefCell<Vec<WeakAddr<Pool>>>,
}

impl Lending {
    /// Lenders for the instruments named `names` (by index), pools to come.
    pub fn new(names: Vec<String>) -> Lending {
        Lending {
            names,
            pools: RefCell::new(Vec::new()),
        }
    }

    /// The pools, by instrument index.
    pub fn set(&self, pools: &[Addr<Pool>]) {
        *self.pools.borrow_mut() = pools.iter().map(Addr::downgrade).collect();
    }
}

impl Lenders for Lending {
    fn lend(
        &self,
        instrument: usize,
        point: Execute,
    ) -> Pin<Box<dyn Future<Output = Option<Done>>>> {
        let pool = self
            .pools
            .borrow()
            .get(instrument)
            .and_then(WeakAddr::upgrade);
        Box::pin(async move { pool?.send(Borrow(point)).await.ok().flatten() })
    }

    fn name(&self, instrument: usize) -> String {
        self.names
            .get(instrument)
            .cloned()
            .unwrap_or_else(|| instrument.to_string())
    }
}

impl Handler<Borrow> for Pool {
    type Result = ResponseFuture<Option<Done>>;

    fn handle(&mut self, msg: Borrow, ctx: &mut Context<Self>) -> Self::Result {
        let (reply, done) = oneshot::channel();
        let mut point = msg.0;
        let serial = self.next_loan;
        self.next_loan -= 1;
        point.serial = serial;
        self.loans_waiting
            .push_back((point, Loan { serial, reply }));
        self.pump(ctx);
        Box::pin(async move { done.await.ok() })
    }
}

impl Pool {
    /// Hands waiting loans to idle connections, before any point of the pool's own.
    pub(super) fn lend_out(&mut self) {
        while let Some((point, loan)) = self.loans_waiting.pop_front() {
            let Some((id, conn)) = self.idle.pop_front() else {
                self.loans_waiting.push_front((point, loan));
                return;
            };
            match conn.send(point) {
                Ok(()) => {
                    self.busy.push((id, conn));
                    self.loans_running.push(loan);
                }
                Err(lost) => {
                    // The connection stopped while idle: the loan waits for another.
                    self.live -= 1;
                    self.loans_waiting.push_front((lost.into_inner(), loan));
                }
            }
        }
    }

    /// The report of a lent run, if `done` is one: it goes back to its borrower.
    pub(super) fn returned(&mut self, done: Done) -> Option<Done> {
        let Some(i) = self
            .loans_running
            .iter()
            .position(|l| l.serial == done.serial)
        else {
            return Some(done);
        };
        let loan = self.loans_running.swap_remove(i);
        let _ = loan.reply.send(done);
        None
    }

    /// Loans that will never run (the pool gave up on its instrument): their borrowers
    /// hear `None`.
    pub(super) fn refuse_loans(&mut self) {
        self.loans_waiting.clear();
    }
}
