//! Replaying a recorded run: `sequencer sim --replay runs/X.jsonl [--replay-speed F]`.
//!
//! A run log holds every command a run sent and the reply it got. [`Recording::load`] reads
//! every point record of a log (failed attempts, setup and teardown included, in log order)
//! into an immutable tape; it is the [`Blueprint`] the server builds each replay [`Model`]
//! from. The model answers each command with a recorded reply, after the recorded latency
//! (`elapsed_ms`) divided by the replay speed (0: no delay), so that running the same
//! sequence against the replay reproduces the recorded run log under `sequencer diff`.
//!
//! The sequencer runs points concurrently over several connections, so the order in which a
//! query text arrives differs from the recording. Replies are therefore matched by point:
//! each connection replays one recorded point at a time; see `player.rs` for the rules. A
//! command the recording has no reply for is answered with [`DEVICE_ERROR`] if it is a
//! query (nothing if a write), and counted for the [`Model::report`] printed when the
//! simulator stops.
//!
//! What the log does not hold cannot be replayed: `on_connect` commands are not recorded
//! (they show up as unrecorded writes or queries), and a connection the instrument dropped
//! mid-point replays as a query without reply (the sequencer's timeout), not as a drop.
//!
//! # Layout
//! - `mod.rs`: [`Recording`], the blueprint.
//! - `tape.rs`: the recorded exchanges, indexed for replay.
//! - `player.rs`: the model: per-connection point matching, fallback, the report.

mod player;
mod tape;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use self::player::Player;
use self::tape::{Tape, TapeBuilder};
use super::device::Counters;
use super::model::{Blueprint, Framing, Model};
use crate::error::{Error, Result};
use crate::runlog::read::for_each_point;

/// The replay's device error: the reply to a query the recording has no reply for.
pub const DEVICE_ERROR: &str = "ERROR";

/// A loaded run log, ready to be replayed by any number of servers.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The recorded exchanges, shared read-only by every model built from this recording.
    tape: Arc<Tape>,
}

impl Recording {
    /// Reads the run log at `path`; replies will come after the recorded latency divided by
    /// `speed` (0: at once). A negative or NaN `speed`, a file that is not a run log, or a
    /// log without recorded commands is an [`Error::Usage`]. A torn last line is ignored.
    pub fn load(path: &Path, speed: f64) -> Result<Recording> {
        if speed.is_nan() || speed < 0.0 {
            return Err(Error::usage(format!(
                "`--replay-speed` must be 0 or more (1 replays at the recorded pace, 0 without \
                 delays), not `{speed}`"
            )));
        }
        let mut builder = TapeBuilder::new(path, speed);
        let records = for_each_point(path, |record| {
            builder.push(record);
            Ok(())
        })?;
        let tape = builder.finish();
        if tape.points.is_empty() {
            let why = if records == 0 {
                "it has no point records: the run stopped before any point ran".to_owned()
            } else {
                format!("its {records} point records sent no command")
            };
            return Err(Error::usage(format!(
                "run log `{}`: nothing to replay: {why}; replay the log of a run that sent \
                 commands",
                path.display()
            )));
        }
        Ok(Recording {
            tape: Arc::new(tape),
        })
    }

    /// Recorded points that sent at least one command.
    pub fn points(&self) -> usize {
        self.tape.points.len()
    }

    /// Recorded commands over all points.
    pub fn commands(&self) -> usize {
        self.tape.points.iter().map(|p| p.commands.len()).sum()
    }
}

impl Blueprint for Recording {
    /// Replays speak `\n`-terminated lines, as the generic device does.
    fn framing(&self) -> Framing {
        Framing::lines()
    }

    fn build(&self, _counters: Arc<Counters>) -> Box<dyn Model> {
        Box::new(Player::new(Arc::clone(&self.tape)))
    }
}
