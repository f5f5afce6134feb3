//! `sequencer` runs YAML experiment sequences against lab instruments that speak SCPI-style
//! text lines over TCP, through a bounded pool of connections, and records every command and
//! reply in a JSON Lines run log. `sequencer sim` is a simulated instrument for tests and CI.
//!
//! # Layout
//! The modules stand in layers, bottom to top; a module uses only the layers below its own
//! (the table and the test that holds `src/` to it are in `layers.rs`; the few edges
//! between siblings are named there with their reason):
//! - neutral: [`yaml`]: reading a YAML file and pointing at its problems with
//!   `file:line:col`, shared by sequences and the simulator's device files.
//! - model: [`sequence`]: the YAML model, validation, lazy sweeps and lanes, placeholder
//!   templates, the JSON Schema (no I/O); [`protocol`]: line framing with read/write
//!   terminations over any [`protocol::Transport`].
//! - runtime: [`abort`]: the run's abort and deadline epochs; `wakeup`: work after an
//!   actor's wake-ups.
//! - run log: [`runlog`]: the records, the writer, the one reader (and its typed errors).
//! - error: [`error`]: the crate's error (wrapping the typed errors below) and exit codes.
//! - point: [`exec`]: one point's commands over a stream, returning what ran
//!   ([`exec::Ran`]); [`resume`]: what a log already holds.
//! - actors: [`connection`] (one session, one point at a time, its own `Done`), [`pool`]
//!   (one instrument's connections, redials, a `Verdict` per point), [`sequencer`] (the
//!   run: phase, cursor, records); beside them [`sim`], the simulated instrument, which
//!   knows none of them: it uses the neutral modules, the sequence's line framing and
//!   durations, the run log reader (for replays) and the error.
//! - log tools: [`diff`], [`export`], [`plot`].
//! - flags: [`cli`]; stderr: [`logging`]; subcommands: [`app`]; then `main.rs`.
//! - tests only, on top so that nothing in the product can use them: [`testing`], scripted
//!   instruments (in-process pipes, or TCP); `actor_tests`, the actors' in-process tests on
//!   a paused clock.
//!
//! # Actors
//! ```text
//!                     Work(jobs)                   Execute(point)
//!  Sequencer ───────────────────────▶ Pool ─────────────────────────▶ Connection ── stream ──▶ instrument
//!  (phase, cursor,    ◀───────────────  (idle list, ◀────────────────  (one point at a
//!   run log)        Outcomes(verdicts)  queue, redial)  Done(ran, fate) time, timeouts)
//! ```
//! Every message about a point is one-way (`do_send`): a request is declared beside the
//! actor that handles it (`Work`, `Execute`), a report beside the actor that sends it
//! (`Done`, `Outcomes`, `Connected`), so that no module imports one above it. `Open` (a
//! pool's first connection) and `TakeConnects` are the only requests with a reply. What an
//! actor sends while it handles one batch of its mailbox travels as one message
//! ([`pool::Work`], [`pool::Outcomes`]). One Pool per instrument, up to `max_connections`
//! Connections per Pool, each on a stream its pool's [`connection::Dialer`] made (TCP in
//! a run, in-memory pipes in tests). The README's Architecture section follows one point
//! from `run` to the socket and back.

// The library is the binary's inside, not an API: its docs are read with
// `cargo doc --document-private-items`, where links to private items resolve.
#![allow(rustdoc::private_intra_doc_links)]

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
