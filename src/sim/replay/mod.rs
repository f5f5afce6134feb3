//! Replaying a recorded run: `sequencer sim --replay runs/X.jsonl [--instrument NAME]
//! [--replay-speed F]`, and `sequencer run --replay` (one replay per instrument).
//!
//! A run log holds every command a run sent and the reply it got: the point records, and
//! the connect records of the `on_connect` commands of each connection. [`Recording::load`]
//! reads them all (failed attempts, setup and teardown included, in log order) into one
//! immutable tape per instrument (the records name it; a log written before they did is one
//! instrument). [`Recording::instrument`] (for `sim --replay`) or [`Recording::replay_of`]
//! (for `run --replay`) picks one instrument's [`Replay`], the [`Blueprint`] the server
//! builds each replay [`Model`] from. The model answers each command with a recorded reply,
//! after the recorded latency (`elapsed_ms`) divided by the replay speed (0: no delay), so
//! that running the same sequence against the replay reproduces the recorded run log under
//! `sequencer diff`. Messages are framed with the instrument's terminations: as the start
//! (or latest resume) record lists them for `sim --replay`, as the sequence says for
//! `run --replay`; lenient (a `\r` before the `\n` dropped, empty lines ignored) when
//! commands end in `\n`.
//!
//! The sequencer runs points concurrently over several connections, so the order in which a
//! query text arrives differs from the recording. Replies are therefore matched by point:
//! each connection replays one recorded point at a time; see `player.rs` for the rules. A
//! command the recording has no reply for is answered with [`DEVICE_ERROR`] if it is a
//! query (nothing if a write), and counted for the [`Model::report`] printed when the
//! simulator stops, which also lists recorded points that were never replayed.
//!
//! What the log does not hold cannot be replayed: a connection the instrument dropped
//! mid-point replays as a query without reply (the sequencer's timeout), not as a drop, and
//! an `on_connect` that failed left no connect record.
//!
//! # Layout
//! - `mod.rs`: [`Recording`] and [`Replay`], the blueprint.
//! - `tape.rs`: the recorded exchanges of one instrument, indexed for replay.
//! - `player.rs`: the model: per-connection point matching, fallback; `player/report.rs`:
//!   its report.

mod error;
#[cfg(test)]
mod load_tests;
mod player;
mod tape;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use self::player::Player;
use self::tape::{Tape, TapeBuilder};
use super::model::Counters;
use super::model::{Blueprint, Framing, Model};
use crate::runlog::read::{
    GIVE_A_LOG, LoggedInstrument, PointRecord, Record, Records, for_each_record,
};
use crate::sequence::IoSettings;

pub use error::{Names, Nothing, ReplayError, Unframeable};

/// The replay's device error: the reply to a query the recording has no reply for.
pub const DEVICE_ERROR: &str = "ERROR";

/// A loaded run log, ready to be replayed, one instrument per server.
#[derive(Debug)]
pub struct Recording {
    /// The log, for messages.
    path: PathBuf,
    /// One entry per recorded instrument, in the order the log first names them. A log
    /// whose records do not name their instrument has exactly one, perhaps unnamed.
    instruments: Vec<Recorded>,
}

/// One instrument of a recording.
#[derive(Debug)]
struct Recorded {
    /// Its name; `None` for a log of several instruments whose records do not name theirs.
    name: Option<String>,
    /// Its recorded exchanges, shared read-only by every model built from it.
    tape: Arc<Tape>,
    /// Its terminations as the log last lists them: `(write, read)`, `None` when absent.
    terminations: (Option<String>, Option<String>),
}

/// One instrument of a recording, framed and ready to serve: the [`Blueprint`] of a replay.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The recorded exchanges.
    tape: Arc<Tape>,
    /// How the instrument frames messages.
    framing: Framing,
}

impl Recording {
    /// Reads the run log at `path`; replies will come after the recorded latency divided by
    /// `speed` (0: at once). A negative or NaN `speed`, a file that is not a run log, or a
    /// log without recorded commands is a [`ReplayError`]. A torn last line is ignored.
    pub fn load(path: &Path, speed: f64) -> Result<Recording, ReplayError> {
        if speed.is_nan() || speed < 0.0 {
            return Err(ReplayError::Speed { speed });
        }
        let mut records = Records::open(path).map_err(|e| {
            e.advise(
                "there is nothing to replay; replay the log of a run that sent commands",
                GIVE_A_LOG,
            )
        })?;
        let mut loader = Loader::new(path, speed, records.start());
        let points = for_each_record(&mut records, |record| loader.take(record))?;
        let recording = loader.finish();
        if recording.points() == 0 && recording.connects() == 0 {
            return Err(ReplayError::Nothing {
                path: path.to_owned(),
                why: if points == 0 {
                    Nothing::NoPoints
                } else {
                    Nothing::NoCommands { points }
                },
            });
        }
        Ok(recording)
    }

    /// Recorded points that sent at least one command, over all instruments.
    pub fn points(&self) -> usize {
        self.tapes()
            .map(|t| t.points.iter().filter(|p| !p.connect).count())
            .sum()
    }

    /// Recorded commands of those points, over all instruments.
    pub fn commands(&self) -> usize {
        self.tapes()
            .flat_map(|t| &t.points)
            .filter(|p| !p.connect)
            .map(|p| p.commands.len())
            .sum()
    }

    /// Recorded connect records that sent at least one command, over all instruments.
    pub fn connects(&self) -> usize {
        self.tapes().map(|t| t.connects.len()).sum()
    }

    /// For `sim --replay`: the replay of the instrument `name`, framed as the log recorded
    /// it. Without a name the log must hold one instrument; a name the log does not have
    /// is a [`ReplayError`] listing the names it has.
    pub fn instrument(&self, name: Option<&str>) -> Result<Replay, ReplayError> {
        let found = match name {
            Some(name) => self.named(name).or_else(|| self.unnamed()),
            None => match self.instruments.as_slice() {
                [only] => Some(only),
                _ => {
                    return Err(ReplayError::Several {
                        path: self.path.clone(),
                        names: self.names(),
                    });
                }
            },
        };
        let Some(recorded) = found else {
            return Err(ReplayError::NoInstrument {
                path: self.path.clone(),
                name: name.unwrap_or_default().to_owned(),
                names: self.names(),
            });
        };
        let (write, read) = &recorded.terminations;
        let framing = framing(
            write.as_deref().unwrap_or("\n"),
            read.as_deref().unwrap_or("\n"),
        )
        .map_err(|reason| ReplayError::LogUnframeable {
            path: self.path.clone(),
            reason,
        })?;
        Ok(Replay {
            tape: Arc::clone(&recorded.tape),
            framing,
        })
    }

    /// For `run --replay`: the replay of the sequence's instrument `name` (`alone` when it
    /// is the sequence's only one), framed with its `io` settings. It gets the log's
    /// instrument of that name, or the log's only instrument when the log does not name it
    /// or both have just one; else the name is a [`ReplayError`] listing the log's names.
    pub fn replay_of(
        &self,
        name: &str,
        alone: bool,
        io: &IoSettings,
    ) -> Result<Replay, ReplayError> {
        let only = match self.instruments.as_slice() {
            [only] if alone || only.name.is_none() => Some(only),
            _ => None,
        };
        let Some(recorded) = self.named(name).or(only) else {
            return Err(ReplayError::NoRecords {
                path: self.path.clone(),
                name: name.to_owned(),
                names: self.names(),
            });
        };
        let framing = framing(&io.write_termination, &io.read_termination).map_err(|reason| {
            ReplayError::SequenceUnframeable {
                name: name.to_owned(),
                reason,
            }
        })?;
        Ok(Replay {
            tape: Arc::clone(&recorded.tape),
            framing,
        })
    }

    /// The instrument recorded as `name`.
    fn named(&self, name: &str) -> Option<&Recorded> {
        self.instruments
            .iter()
            .find(|i| i.name.as_deref() == Some(name))
    }

    /// The only instrument, when the log does not name it (an older log).
    fn unnamed(&self) -> Option<&Recorded> {
        match self.instruments.as_slice() {
            [only] if only.name.is_none() => Some(only),
            _ => None,
        }
    }

    /// The recorded names, for messages.
    fn names(&self) -> Names {
        Names(self.instruments.iter().map(|i| i.name.clone()).collect())
    }

    /// Every instrument's tape.
    fn tapes(&self) -> impl Iterator<Item = &Tape> {
        self.instruments.iter().map(|i| i.tape.as_ref())
    }
}

/// The framing of a replay for a client that ends its commands with `write_termination`
/// and expects replies to end with `read_termination`; lenient for `\n` commands, as the
/// generic device is. An empty write termination cannot be framed.
fn framing(write_termination: &str, read_termination: &str) -> Result<Framing, Unframeable> {
    if write_termination.is_empty() {
        return Err(Unframeable);
    }
    Ok(Framing {
        read_termination: write_termination.as_bytes().to_vec(),
        write_termination: read_termination.as_bytes().to_vec(),
        lenient: write_termination == "\n",
    })
}

/// A point record cut where its commands change instrument: its own commands, and each run
/// of consecutive `on:` commands (sent on a connection borrowed from that instrument), as a
/// record of its own for that instrument's tape (`None`: the point's own). A run's id is the
/// point's with `>on NAME #K` added (the point's `K`th run), the same in every attempt, so
/// that attempts of a run chain as a point's do.
fn by_instrument(point: PointRecord) -> Vec<(Option<String>, PointRecord)> {
    if point.commands.iter().all(|c| c.on.is_none()) {
        return vec![(None, point)];
    }
    let mut parts: Vec<(Option<String>, PointRecord)> = Vec::new();
    let mut own = PointRecord {
        commands: Vec::new(),
        ..point.clone()
    };
    let mut runs = 0;
    // The instrument of the command before (`None`: the point's own).
    let mut before: Option<String> = None;
    for command in point.commands {
        let on = command.on.clone();
        match &on {
            None => own.commands.push(command),
            Some(on) => {
                if before.as_ref() != Some(on) {
                    runs += 1;
                    let run = PointRecord {
                        id: format!("{} >on {on} #{runs}", point.id),
                        commands: Vec::new(),
                        ..own.clone()
                    };
                    parts.push((Some(on.clone()), run));
                }
                if let Some((_, run)) = parts.last_mut() {
                    run.commands.push(command);
                }
            }
        }
        before = on;
    }
    parts.insert(0, (None, own));
    parts
}

/// Sorts a log's records into per-instrument tapes as they are read.
struct Loader {
    /// The log.
    path: PathBuf,
    /// Replay speed for every tape.
    speed: f64,
    /// One tape builder per instrument name, in the order the log first names them: the
    /// start record's instruments first. `None`: records that name no instrument, in a log
    /// whose start record does not list exactly one.
    builders: Vec<(Option<String>, TapeBuilder)>,
    /// The start record's only instrument, which records that name none belong to.
    sole: Option<String>,
    /// Some record named its instrument: the log is not an older one.
    named: bool,
    /// Each instrument's terminations as last listed (start, then resume records).
    terminations: HashMap<String, (Option<String>, Option<String>)>,
}

impl Loader {
    /// A loader for the log at `path` with this `start` record.
    fn new(path: &Path, speed: f64, start: &serde_json::Value) -> Loader {
        let listed = LoggedInstrument::list(&start["instruments"]);
        let mut loader = Loader {
            path: path.to_owned(),
            speed,
            builders: Vec::new(),
            sole: match listed.as_slice() {
                [only] => Some(only.name.clone()),
                _ => None,
            },
            named: false,
            terminations: HashMap::new(),
        };
        loader.listed(listed);
        loader
    }

    /// Takes the instruments listed by a start or resume record: their terminations, and a
    /// tape each.
    fn listed(&mut self, instruments: Vec<LoggedInstrument>) {
        for ins in instruments {
            self.builder(Some(&ins.name));
            self.terminations
                .insert(ins.name, (ins.write_termination, ins.read_termination));
        }
    }

    /// The tape builder of instrument `name`, made if new.
    fn builder(&mut self, name: Option<&str>) -> &mut TapeBuilder {
        let found = self.builders.iter().position(|(n, _)| n.as_deref() == name);
        let at = if let Some(at) = found {
            at
        } else {
            let builder = TapeBuilder::new(&self.path, self.speed);
            self.builders.push((name.map(str::to_owned), builder));
            self.builders.len() - 1
        };
        &mut self.builders[at].1
    }

    /// Takes the next record of the log.
    fn take(&mut self, record: Record) {
        let instrument = match &record {
            Record::Point(p) => p.instrument.clone(),
            Record::Connect(c) => c.instrument.clone(),
            Record::Resume(_) | Record::Break(_) => None,
        };
        self.named |= instrument.is_some();
        let name = instrument.or_else(|| self.sole.clone());
        match record {
            Record::Point(point) => {
                for (on, part) in by_instrument(point) {
                    let name = on.or_else(|| name.clone());
                    self.builder(name.as_deref()).push(part);
                }
            }
            Record::Connect(connect) => self.builder(name.as_deref()).push_connect(connect),
            Record::Resume(instruments) => self.listed(instruments),
            Record::Break(_) => {}
        }
    }

    /// The recording. A log whose records name no instrument is one instrument: its
    /// records' tape (the start record's instruments have empty ones).
    fn finish(mut self) -> Recording {
        if !self.named && self.builders.len() > 1 {
            self.builders.retain(|(name, _)| name.is_none());
        }
        let several = self.builders.len() > 1;
        let instruments = self
            .builders
            .into_iter()
            .map(|(name, builder)| {
                let mut tape = builder.finish();
                if several {
                    tape.instrument.clone_from(&name);
                }
                let terminations = name
                    .as_deref()
                    .and_then(|n| self.terminations.remove(n))
                    .unwrap_or_default();
                Recorded {
                    name,
                    tape: Arc::new(tape),
                    terminations,
                }
            })
            .collect();
        Recording {
            path: self.path,
            instruments,
        }
    }
}

impl Blueprint for Replay {
    /// The instrument's terminations (see [`Recording`]).
    fn framing(&self) -> Framing {
        self.framing.clone()
    }

    fn build(&self, _counters: Arc<Counters>) -> Box<dyn Model> {
        Box::new(Player::new(Arc::clone(&self.tape)))
    }

    /// The greeting the recorded instrument sent (kept in its connect records).
    fn greeting(&self) -> Option<String> {
        self.tape.greeting.clone()
    }
}
