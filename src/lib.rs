//! `sequencer` runs YAML experiment sequences against lab instruments that speak SCPI-style
//! text lines over TCP, through a bounded pool of connections, and records every command and
//! reply in a JSON Lines run log. `sequencer sim` is a simulated instrument for tests and CI.
//!
//! # Layout
//! - [`cli`]: clap subcommands and flags; [`app`]: carries them out (`run`, `resume`,
//!   `check`, `sim`).
//! - [`sequence`]: the YAML model, validation with `file:line:col` errors, lazy sweeps,
//!   placeholder templates, the JSON Schema derived from the model (no I/O).
//! - [`sequencer`]: the Sequencer actor: walks steps, bounds points in flight, writes the log.
//! - [`pool`]: the Pool actor: owns Connection actors for one instrument, replaces broken ones.
//! - [`connection`]: the Connection actor: one TCP session, one point at a time.
//! - [`exec`]: runs one point's commands over a framed stream (writes, queries, waits, polls).
//! - [`protocol`]: line framing with read/write terminations.
//! - [`runlog`]: the JSON Lines run log writer and reader; [`resume`]: reading a log back
//!   to resume.
//! - [`export`]: a run log as a CSV or JSON Lines table, one row per sweep point; [`plot`]:
//!   one value against one variable as an SVG or PNG line plot.
//! - [`sim`]: the simulated instrument, `sim::run(listener, shutdown)`, with fault injection.
//! - [`error`]: the error enum and exit codes.
//! - [`logging`]: stderr: log lines as text or JSON, and the progress bars they print above.
//! - [`testing`]: scripted instruments for the tests (in-process pipes, or TCP); the actors'
//!   in-process tests, on a paused clock, are in `actor_tests/`.
//!
//! # Actors
//! ```text
//!                     Work(points)                 Execute(point)
//!  Sequencer ───────────────────────▶ Pool ─────────────────────────▶ Connection ── TCP ──▶ instrument
//!  (steps, in-flight  ◀───────────────  (idle list, ◀────────────────  (one point at a
//!   bound, run log)      Outcomes       queue, redial)    Finished      time, timeouts)
//! ```
//! Every message is one-way (`do_send`); what an actor sends while it handles one batch of
//! its mailbox travels as one message ([`pool::Work`], [`pool::Outcomes`]).
//! One Pool per instrument, up to `max_connections` Connections per Pool.

pub mod abort;
pub mod app;
pub mod cli;
pub mod connection;
pub mod diff;
pub mod error;
pub mod exec;
pub mod export;
#[cfg(test)]
mod layers;
pub mod logging;
pub mod plot;
pub mod pool;
pub mod protocol;
pub mod resume;
pub mod runlog;
pub mod sequence;
pub mod sequencer;
pub mod sim;
pub mod testing;
mod wakeup;
pub mod yaml;

#[cfg(test)]
mod actor_tests;

pub use error::{Error, Result};
