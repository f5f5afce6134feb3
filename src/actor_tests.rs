//! The actors tested together in-process: the [`Sequencer`](crate::sequencer::Sequencer),
//! its [`Pool`](crate::pool::Pool)s and their [`Connection`](crate::connection::Connection)s
//! run a sequence against scripted instruments ([`crate::testing`]) over in-memory pipes,
//! on an actix system whose tokio clock is paused (`harness.rs`). Time only moves when
//! every task waits, straight to the next timer: reply timeouts, backoffs, waits, polls
//! and the 5/50 ms session watches cost no real time, fire in the same order on every run,
//! and their spacing can be checked exactly. Each test is a spec of one behaviour of a run,
//! read from the summary, the run log and what the instrument received.
//!
//! The integration tests in `tests/` keep what only the real binary shows: exit codes,
//! signals sent to a process, stderr.

mod breaks;
mod harness;
mod interrupts;
mod lanes;
mod lending;
mod recovery;
mod refused;
mod retries;
mod stopping;
