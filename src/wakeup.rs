//! Work an actor does after every wake-up: actix polls the futures spawned in an actor's
//! context right after its mailbox and streams, every time the actor's task runs.
//!
//! Kept, among the ways the actors talk, for two things a message cannot do: the sequencer
//! writes the point records of one batch of outcomes with one `write` (20,039 `write`
//! calls for 20,000 points before, 2,027 after: BENCHMARKS.md, issue 6), and a pool stops
//! once no one holds its address (its connections hold its channel, which would keep it
//! alive). Neither runs a message per point.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use actix::prelude::*;

/// Spawned once (`ctx.spawn(EveryWakeup::new(..))`), runs `f` after every wake-up of the
/// actor; never done (it ends with the actor).
pub(crate) struct EveryWakeup<A, F> {
    f: F,
    actor: PhantomData<fn(&mut A)>,
}

impl<A, F> EveryWakeup<A, F>
where
    A: Actor<Context = Context<A>>,
    F: FnMut(&mut A, &mut Context<A>) + Unpin,
{
    pub(crate) fn new(f: F) -> Self {
        EveryWakeup {
            f,
            actor: PhantomData,
        }
    }
}

impl<A, F> ActorFuture<A> for EveryWakeup<A, F>
where
    A: Actor<Context = Context<A>>,
    F: FnMut(&mut A, &mut Context<A>) + Unpin,
{
    type Output = ();

    fn poll(
        self: Pin<&mut Self>,
        act: &mut A,
        ctx: &mut Context<A>,
        _: &mut TaskContext<'_>,
    ) -> Poll<()> {
        (self.get_mut().f)(act, ctx);
        Poll::Pending
    }
}
