//! Scripted instruments, for tests only: not part of the command line's interface, and free
//! to change with the tests. Public (rather than `#[cfg(test)]`) so that one helper serves
//! the library's own tests, which run the actors in-process over in-memory pipes on a
//! paused clock, and the integration tests in `tests/`, which run the real binary against
//! a TCP port (an integration test sees only the library's public items; a cargo feature
//! would have to be named on every `cargo test`).
//!
//! An [`Instrument`] is a script: what it does when a connection opens, and with every
//! line it receives ([`Act`]s: reply, send raw bytes, sleep, send a copy later, meet the
//! other connections at a gate, close), plus a [`Journal`] of what happened, with times.
//! It is served:
//! - in-process: an `Instrument` is a [`Dialer`](crate::connection::Dialer); each dial is
//!   answered by its [`Dial`] plan (a session over a [`tokio::io::duplex`] pipe whose other
//!   end the script serves in a task of the same runtime, a refused dial, or one that never
//!   connects), so a paused tokio clock makes every timeout, backoff and wait instant and
//!   exact;
//! - over TCP: [`Instrument::listen`] serves 127.0.0.1:0 from a thread of its own.

mod journal;
mod script;
mod tcp;

pub use journal::{Event, Journal, What};
pub use script::{Act, Dial, Instrument, Line, after, reply};
pub use tcp::Listening;
