//! The recorded exchanges of one instrument of a run log, indexed for replay.
//!
//! [`TapeBuilder`] takes the instrument's point and connect records in log order (from
//! [`Recording::load`](super::Recording::load)) and builds a [`Tape`], which never changes
//! after: every [`Player`](super::player::Player) built from the recording reads it.
//! Command texts are interned as numbers, so matching a command is comparing numbers.
//! Connect records (the `on_connect` exchanges of one connection) are recorded points too,
//! marked [`Recorded::connect`]: they are listed apart, in log order, for the first
//! commands of new connections, and are in no start list.
//!
//! Points that start with the same command are listed in *dispatch order*, the order the
//! sequencer sends them in: steps in the order they first appear in the log, then point
//! index, then log order (attempts of one point). The log itself is in completion order, so
//! two identical points (`repeat:` passes) may be logged the other way round from how a
//! replay sends them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::runlog::read::{CommandRecord, ConnectRecord, PointRecord};

/// The recorded exchanges of one instrument of a log.
#[derive(Debug)]
pub(super) struct Tape {
    /// The log replayed, for the report.
    pub(super) path: PathBuf,
    /// The instrument, named in the report when the log has several; set by the recording.
    pub(super) instrument: Option<String>,
    /// Every recorded point (and connect record) that sent a command, in log order.
    pub(super) points: Vec<Recorded>,
    /// The connect records among `points`, in log order.
    pub(super) connects: Vec<u32>,
    /// Each distinct command text and its number (the index of `starts` and `occurrences`).
    pub(super) texts: HashMap<String, u32>,
    /// Per text: the points whose first command it is, in dispatch order.
    pub(super) starts: Vec<Vec<u32>>,
    /// Per text: every recorded exchange of it, as (point, command index), in log order.
    pub(super) occurrences: Vec<Vec<(u32, u32)>>,
    /// The first greeting a connect record holds (`greeting: line`): what the replayed
    /// instrument sends on every new connection.
    pub(super) greeting: Option<String>,
}

/// One recorded point, or one connect record.
#[derive(Debug)]
pub(super) struct Recorded {
    /// Its id (`iv/3`), for debug logs.
    pub(super) id: String,
    /// Its commands, in the order sent; never empty.
    pub(super) commands: Vec<Take>,
    /// Its place in `starts` of its first command's text (its rank in dispatch order).
    pub(super) slot: u32,
    /// The previous record of the same point id (an earlier attempt), if any.
    pub(super) earlier: Option<u32>,
    /// The next record of the same point id (a retry or a resumed attempt), if any.
    pub(super) later: Option<u32>,
    /// A connect record: the `on_connect` commands of a new connection, not a point.
    pub(super) connect: bool,
}

/// One recorded exchange.
#[derive(Debug)]
pub(super) struct Take {
    /// Number of the text sent (see [`Tape::texts`]).
    pub(super) text: u32,
    /// The recorded reply; `None` for a write (or a query that got none).
    pub(super) reply: Option<String>,
    /// The recorded latency divided by the replay speed.
    pub(super) delay: Duration,
}

/// Builds a [`Tape`] from point records given in log order.
#[derive(Debug)]
pub(super) struct TapeBuilder {
    /// The tape so far; `starts` still in log order, `slot`s unset.
    tape: Tape,
    /// Replay speed: recorded latencies are divided by it (0: no delay).
    speed: f64,
    /// Each point id's latest record so far, to link attempts.
    last_of_id: HashMap<String, u32>,
    /// Each step name's rank: the order steps first appear in the log.
    steps: HashMap<String, u32>,
    /// Per point: (step rank, point index), its dispatch order.
    order: Vec<(u32, u64)>,
}

impl TapeBuilder {
    /// An empty tape for the log at `path`, replayed at `speed`.
    pub(super) fn new(path: &Path, speed: f64) -> TapeBuilder {
        TapeBuilder {
            tape: Tape {
                path: path.to_owned(),
                instrument: None,
                points: Vec::new(),
                connects: Vec::new(),
                texts: HashMap::new(),
                starts: Vec::new(),
                occurrences: Vec::new(),
                greeting: None,
            },
            speed,
            last_of_id: HashMap::new(),
            steps: HashMap::new(),
            order: Vec::new(),
        }
    }

    /// Adds the next point record of the log (skipped if it sent nothing).
    pub(super) fn push(&mut self, record: PointRecord) {
        if record.commands.is_empty() {
            return;
        }
        let point = self.tape.points.len() as u32;
        let earlier = self.last_of_id.insert(record.id.clone(), point);
        if let Some(e) = earlier {
            self.tape.points[e as usize].later = Some(point);
        }
        // Ids are `step/index`; an id of another shape sorts as index 0 of its own step.
        let (step, index) = record
            .id
            .rsplit_once('/')
            .and_then(|(step, index)| Some((step, index.parse().ok()?)))
            .unwrap_or((record.id.as_str(), 0));
        let ranks = self.steps.len() as u32;
        let rank = *self.steps.entry(step.to_owned()).or_insert(ranks);
        self.order.push((rank, index));
        let commands = self.takes(point, record.commands);
        self.tape.starts[commands[0].text as usize].push(point);
        self.tape.points.push(Recorded {
            id: record.id,
            commands,
            slot: 0,
            earlier,
            later: None,
            connect: false,
        });
    }

    /// Adds the next connect record of the log (skipped if it sent nothing).
    pub(super) fn push_connect(&mut self, record: ConnectRecord) {
        if self.tape.greeting.is_none() {
            self.tape.greeting.clone_from(&record.greeting);
        }
        if record.commands.is_empty() {
            return;
        }
        let point = self.tape.points.len() as u32;
        // In no start list, so never sorted: any place in the dispatch order will do.
        self.order.push((u32::MAX, 0));
        let commands = self.takes(point, record.commands);
        self.tape.connects.push(point);
        self.tape.points.push(Recorded {
            id: format!("connect/{}", record.conn),
            commands,
            slot: 0,
            earlier: None,
            later: None,
            connect: true,
        });
    }

    /// The exchanges of recorded point number `point`, their texts interned and indexed.
    fn takes(&mut self, point: u32, commands: Vec<CommandRecord>) -> Vec<Take> {
        let mut takes = Vec::with_capacity(commands.len());
        for (i, command) in commands.into_iter().enumerate() {
            let text = self.intern(command.sent);
            self.tape.occurrences[text as usize].push((point, i as u32));
            takes.push(Take {
                text,
                reply: command.reply,
                delay: delay(command.elapsed_ms, self.speed),
            });
        }
        takes
    }

    /// The finished tape: start lists in dispatch order, each point knowing its slot.
    pub(super) fn finish(mut self) -> Tape {
        let order = &self.order;
        for starts in &mut self.tape.starts {
            // Stable: attempts of one point stay in log order.
            starts.sort_by_key(|&p| order[p as usize]);
            for (slot, &p) in starts.iter().enumerate() {
                self.tape.points[p as usize].slot = slot as u32;
            }
        }
        self.tape
    }

    /// The number of `text`, given one if it is new.
    fn intern(&mut self, text: String) -> u32 {
        let tape = &mut self.tape;
        if let Some(&n) = tape.texts.get(&text) {
            return n;
        }
        let n = tape.occurrences.len() as u32;
        tape.texts.insert(text, n);
        tape.starts.push(Vec::new());
        tape.occurrences.push(Vec::new());
        n
    }
}

/// The delay of a reply recorded after `elapsed_ms`, replayed at `speed` (0: none).
fn delay(elapsed_ms: f64, speed: f64) -> Duration {
    if speed == 0.0 {
        return Duration::ZERO;
    }
    // A negative, NaN or absurdly large recorded time is no reason to stall the replay.
    Duration::try_from_secs_f64(elapsed_ms / 1e3 / speed).unwrap_or(Duration::ZERO)
}
