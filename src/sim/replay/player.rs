//! The replay model: which recorded reply answers each command.
//!
//! One [`Player`] serves every connection of a replay server (built by
//! [`Replay`](super::Replay) as a [`Blueprint`](crate::sim::Blueprint)). Each connection
//! replays one recorded point at a time, its *place*; recorded points are claimed at most
//! once. For each command, in this order:
//!
//! 0. **Connect**: the first command of a new connection is, when the recording has one,
//!    the first of a free connect record (the `on_connect` commands of a recorded
//!    connection, in log order) starting with it: the connection replays that record, then
//!    goes on to points. Connect records are never given to a point's command (rule 4).
//! 1. **Continue**: the command is the next one of the connection's point: that point's
//!    recorded reply.
//! 2. **Switch**: the point has more commands but the next one is different (the prefix
//!    sent so far fitted several points and this one diverges): the first recorded point,
//!    in dispatch order, that starts with the commands this point has sent plus this one.
//!    If it is unclaimed, the connection's point is released for later points. If another
//!    connection holds it with a prefix that also fits this connection's point (two
//!    connections sent the same first command, `*CLS`, and each claimed the other's
//!    point), the two connections swap points.
//! 3. **Retry**: the recorded attempt ends here (or diverges) but a later record of the
//!    same point id (its recorded retry) starts with the commands sent so far plus this
//!    one: the connection goes on in that record. The recording's connection broke
//!    mid-point; the replay's does not, so its attempt carries on into the retry.
//! 4. **Start**: otherwise the point is over (replayed in full, or cut short) and this
//!    command starts a new one: the first unclaimed recorded point, in dispatch order (see
//!    `tape.rs`: step, then index, then attempt), whose first command it is. Identical
//!    points (`repeat:` passes, retries) are thereby replayed in the order the sequencer
//!    sends them, except that a later record of a point id whose earlier attempt is being
//!    replayed is kept for that point's retry while another point fits. Searches look at
//!    most [`WINDOW`] recorded points past the first free one.
//! 5. **Fallback**: no recorded point starts with it: the next recorded reply of the same
//!    text, in log order over all points, counted per text (the plain replay rule).
//! 6. **Unrecorded**: the recording has no (more) reply for this text: a query (its first
//!    word ends in `?`) is answered [`DEVICE_ERROR`], a write gets nothing; it is counted
//!    for the report either way.
//!
//! A connection that closes gives up its place; the point it held counts as replayed.
//!
//! The [`Model::report`] lists the commands without recording and the recorded points
//! never replayed (a replay stopped early, a sequence that lost a step), each on its own.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use super::DEVICE_ERROR;
use super::tape::{Take, Tape};
use crate::sim::model::{Model, Response};

mod report;

/// Most distinct unrecorded command texts (and ids of points never replayed) the report
/// lists.
const LISTED: usize = 10;

/// Most entries of a start list examined past its cursor when looking for a free point
/// that fits. Points arrive roughly in dispatch order, so the one sought is near the cursor;
/// this bounds the cost of a search that finds nothing in a large recording.
const WINDOW: usize = 4096;

/// The state of one replay: which recorded points are taken, where each connection is,
/// what had no recording.
#[derive(Debug)]
pub(super) struct Player {
    /// The recording, shared with the blueprint and other players.
    tape: Arc<Tape>,
    /// Per recorded point: free, held by a connection, or replayed. Changed by every claim,
    /// switch, swap and close.
    claims: Vec<Claim>,
    /// Per text: every point in `tape.starts[text]` before this index is claimed, so the
    /// search for a free point starts here. Moved back when a point is released.
    start_cursor: Vec<usize>,
    /// Per text: the next recorded exchange of `tape.occurrences[text]` the fallback gives.
    fallback_cursor: Vec<usize>,
    /// The point each connection is replaying; removed when it closes or its point is over.
    places: HashMap<u64, Place>,
    /// Connections that have sent a command: any other is new, and may replay a connect
    /// record. Removed when it closes.
    started: HashSet<u64>,
    /// Every connect record of `tape.connects` before this index is claimed.
    connect_cursor: usize,
    /// Commands the recording had no reply for.
    unrecorded: Unrecorded,
}

/// Who has a recorded point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// Not replayed yet: a new point may start with it.
    Free,
    /// Being replayed by this connection.
    Held(u64),
    /// Replayed (in full or in part); never given out again.
    Done,
}

/// Where a connection is in its recorded point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    /// The recorded point.
    point: usize,
    /// How many of its commands this connection has sent.
    sent: usize,
}

/// The commands without recording, for the report.
#[derive(Debug, Default)]
struct Unrecorded {
    /// How many in all.
    total: u64,
    /// How many of them were queries (answered with the device error).
    queries: u64,
    /// The first [`LISTED`] distinct texts, with how many times each came.
    texts: Vec<(String, u64)>,
}

impl Player {
    /// A replay of `tape` with every point free and no connection.
    pub(super) fn new(tape: Arc<Tape>) -> Player {
        Player {
            claims: vec![Claim::Free; tape.points.len()],
            start_cursor: vec![0; tape.starts.len()],
            fallback_cursor: vec![0; tape.occurrences.len()],
            places: HashMap::new(),
            started: HashSet::new(),
            connect_cursor: 0,
            unrecorded: Unrecorded::default(),
            tape,
        }
    }

    /// Rules 1 to 3 for connection `conn` at `place`; `None` when its point is over. A
    /// connect record only continues (rule 1).
    fn carry_on(&mut self, conn: u64, place: Place, text: u32) -> Option<Response> {
        let connect = self.tape.points[place.point].connect;
        if let Some(next) = self.tape.points[place.point].commands.get(place.sent) {
            if next.text == text {
                self.set_place(conn, place.point, place.sent + 1);
                return Some(self.answer(place.point, place.sent));
            }
            if connect {
                return None;
            }
            if let Some(other) = self.switch_target(conn, place, text) {
                match self.claims[other] {
                    Claim::Held(them) => {
                        // Both connections sent the same commands so far: trade points.
                        let theirs = self.places.get(&them).map_or(0, |p| p.sent);
                        self.claims[place.point] = Claim::Held(them);
                        self.set_place(them, place.point, theirs);
                    }
                    _ => self.release(place.point),
                }
                return Some(self.switch(conn, place, other));
            }
        }
        let retry = self.recorded_retry(place, text)?;
        self.claims[place.point] = Claim::Done;
        Some(self.switch(conn, place, retry))
    }

    /// Moves `conn` from `place` to point `to` (the old point's claim already settled) and
    /// answers the command that made it move.
    fn switch(&mut self, conn: u64, place: Place, to: usize) -> Response {
        tracing::debug!(
            conn,
            from = %self.tape.points[place.point].id,
            to = %self.tape.points[to].id,
            "replay switched points"
        );
        self.claims[to] = Claim::Held(conn);
        self.set_place(conn, to, place.sent + 1);
        self.answer(to, place.sent)
    }

    /// True when point `q` starts with the commands `sent` and then `text`.
    fn fits(&self, q: usize, sent: &[Take], text: u32) -> bool {
        let commands = &self.tape.points[q].commands;
        commands.len() > sent.len()
            && commands[sent.len()].text == text
            && commands.iter().zip(sent).all(|(a, b)| a.text == b.text)
    }

    /// Rule 2: the first point in dispatch order, other than `place.point`, that starts with the
    /// commands sent so far plus `text`: free, or held by another connection whose own
    /// prefix is also a prefix of `place.point`.
    fn switch_target(&self, conn: u64, place: Place, text: u32) -> Option<usize> {
        let commands = &self.tape.points[place.point].commands;
        let sent = &commands[..place.sent];
        let free = self.find_free(commands[0].text as usize, |q| self.fits(q, sent, text));
        // Another connection's prefix of a fitting point is a prefix of ours when it is no
        // longer than ours (beyond that, it would include `text`, which ours lacks).
        let held = self
            .places
            .iter()
            .filter(|&(&c, p)| {
                c != conn
                    && p.sent <= place.sent
                    && !self.tape.points[p.point].connect
                    && self.fits(p.point, sent, text)
            })
            .map(|(_, p)| p.point);
        // All candidates start with the same text: their slots are their dispatch order.
        free.into_iter()
            .chain(held)
            .min_by_key(|&q| self.tape.points[q].slot)
    }

    /// Rule 3: a later free record of the same point id that starts with the commands sent
    /// so far plus `text`: the recording's attempt broke off here and its retry went on.
    fn recorded_retry(&self, place: Place, text: u32) -> Option<usize> {
        let sent = &self.tape.points[place.point].commands[..place.sent];
        let mut later = self.tape.points[place.point].later;
        while let Some(q) = later.map(|q| q as usize) {
            if self.claims[q] == Claim::Free && self.fits(q, sent, text) {
                return Some(q);
            }
            later = self.tape.points[q].later;
        }
        None
    }

    /// Rule 4: the first free point starting with `text`, moving the cursor past taken ones.
    fn first_free(&mut self, text: u32) -> Option<usize> {
        let starts = &self.tape.starts[text as usize];
        let cursor = &mut self.start_cursor[text as usize];
        while starts
            .get(*cursor)
            .is_some_and(|&q| self.claims[q as usize] != Claim::Free)
        {
            *cursor += 1;
        }
        self.find_free(text as usize, |_| true)
    }

    /// The first free point in dispatch order among those starting with text `first` (from the
    /// cursor, within [`WINDOW`]) for which `fits` holds, preferring one not
    /// [`reserved`](Self::reserved) for a retry.
    fn find_free(&self, first: usize, fits: impl Fn(usize) -> bool) -> Option<usize> {
        let mut reserved = None;
        let starts = &self.tape.starts[first][self.start_cursor[first]..];
        for q in starts.iter().take(WINDOW).map(|&q| q as usize) {
            if self.claims[q] != Claim::Free || !fits(q) {
                continue;
            }
            if !self.reserved(q) {
                return Some(q);
            }
            reserved.get_or_insert(q);
        }
        reserved
    }

    /// True when an earlier record of `point`'s id is being replayed right now: `point` is
    /// the recorded retry of a point in progress, kept for that retry as long as other
    /// points fit elsewhere. (A replay cannot drop a connection as the instrument did, so
    /// the attempt ends later, by the sequencer's timeout, than in the recording.)
    fn reserved(&self, point: usize) -> bool {
        let mut earlier = self.tape.points[point].earlier;
        while let Some(e) = earlier {
            if matches!(self.claims[e as usize], Claim::Held(_)) {
                return true;
            }
            earlier = self.tape.points[e as usize].earlier;
        }
        false
    }

    /// Rule 0: the first free connect record, in log order (from the cursor, within
    /// [`WINDOW`]), whose first command is `text`.
    fn free_connect(&mut self, text: u32) -> Option<usize> {
        let connects = &self.tape.connects;
        while connects
            .get(self.connect_cursor)
            .is_some_and(|&q| self.claims[q as usize] != Claim::Free)
        {
            self.connect_cursor += 1;
        }
        connects[self.connect_cursor..]
            .iter()
            .take(WINDOW)
            .map(|&q| q as usize)
            .find(|&q| {
                self.claims[q] == Claim::Free && self.tape.points[q].commands[0].text == text
            })
    }

    /// Rule 5: the next recorded exchange of `text`, as (point, command index).
    fn next_occurrence(&mut self, text: u32) -> Option<(usize, usize)> {
        let cursor = &mut self.fallback_cursor[text as usize];
        let &(point, i) = self.tape.occurrences[text as usize].get(*cursor)?;
        *cursor += 1;
        Some((point as usize, i as usize))
    }

    /// Makes `point` free again, so a later point may start with it.
    fn release(&mut self, point: usize) {
        self.claims[point] = Claim::Free;
        let recorded = &self.tape.points[point];
        let cursor = &mut self.start_cursor[recorded.commands[0].text as usize];
        *cursor = (*cursor).min(recorded.slot as usize);
    }

    /// Records that `conn` has sent `sent` commands of `point`.
    fn set_place(&mut self, conn: u64, point: usize, sent: usize) {
        self.places.insert(conn, Place { point, sent });
    }

    /// The recorded reply (and latency) of command `i` of `point`.
    fn answer(&self, point: usize, i: usize) -> Response {
        let take = &self.tape.points[point].commands[i];
        match &take.reply {
            Some(reply) => Response {
                replies: vec![reply.clone()],
                delay: take.delay,
            },
            None => Response::none(),
        }
    }

    /// Rule 6: counts `message` and answers it as the recording cannot.
    fn unrecorded(&mut self, message: &str) -> Response {
        tracing::debug!(message, "replay has no recording for this command");
        let u = &mut self.unrecorded;
        u.total += 1;
        if let Some(entry) = u.texts.iter_mut().find(|(t, _)| t == message) {
            entry.1 += 1;
        } else if u.texts.len() < LISTED {
            u.texts.push((message.to_owned(), 1));
        }
        let query = message
            .split_whitespace()
            .next()
            .is_some_and(|word| word.ends_with('?'));
        if query {
            u.queries += 1;
            Response::reply(DEVICE_ERROR)
        } else {
            Response::none()
        }
    }
}

impl Model for Player {
    fn handle(&mut self, conn: u64, message: &str, _now: Instant) -> Response {
        let new = self.started.insert(conn);
        let Some(&text) = self.tape.texts.get(message) else {
            return self.unrecorded(message);
        };
        if new && let Some(point) = self.free_connect(text) {
            tracing::debug!(conn, record = %self.tape.points[point].id, "replaying on_connect");
            self.claims[point] = Claim::Held(conn);
            self.set_place(conn, point, 1);
            return self.answer(point, 0);
        }
        if let Some(place) = self.places.get(&conn).copied() {
            if let Some(response) = self.carry_on(conn, place, text) {
                return response;
            }
            self.places.remove(&conn);
            self.claims[place.point] = Claim::Done;
        }
        if let Some(point) = self.first_free(text) {
            tracing::debug!(conn, point = %self.tape.points[point].id, "replaying point");
            self.claims[point] = Claim::Held(conn);
            self.set_place(conn, point, 1);
            return self.answer(point, 0);
        }
        if let Some((point, i)) = self.next_occurrence(text) {
            return self.answer(point, i);
        }
        self.unrecorded(message)
    }

    fn closed(&mut self, conn: u64) {
        self.started.remove(&conn);
        if let Some(place) = self.places.remove(&conn) {
            self.claims[place.point] = Claim::Done;
        }
    }

    /// `None` when every command had a recording and every recorded point was replayed.
    /// Else, each on its own: how many commands had no recording, with the first distinct
    /// texts and their counts; how many recorded points (connect records aside) were never
    /// replayed, with the first of their ids.
    fn report(&self) -> Option<String> {
        let unrecorded = self.unrecorded_report();
        let never = self.never_replayed();
        if unrecorded.is_none() && never.is_none() {
            return None;
        }
        let mut text = format!("replay of `{}`", self.tape.path.display());
        if let Some(name) = &self.tape.instrument {
            let _ = write!(text, " (instrument `{name}`)");
        }
        let parts: Vec<String> = unrecorded.into_iter().chain(never).collect();
        let _ = write!(text, ": {}", parts.join("\n"));
        Some(text)
    }
}
