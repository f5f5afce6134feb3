//! The seam between the TCP server and what the simulated instrument says.
//!
//! The server in [`crate::sim`] frames messages, applies latency and faults, and counts
//! connections; a [`Model`] decides the replies. Three models exist: the generic SCPI
//! [`Device`](super::device::Device), a pyvisa-sim device file, and the replay of a
//! recorded run log. A [`Blueprint`] is the immutable description a server starts from
//! (a parsed device file, a loaded recording); every server builds its own [`Model`] from
//! it, so two simulators started from one blueprint share no state.
//!
//! One model serves every connection of its server (one instrument, many sessions): the
//! server keeps it behind a mutex and calls [`Model::handle`] without holding the lock
//! across an await. A model therefore never sleeps; it returns the delay it wants in
//! [`Response::delay`] and the session sleeps it.
//!
//! A message can ask for the same reply many times (`A?;A?;...`), so a model counts the
//! bytes of its replies to one message with a [`ReplyBudget`] and stops at
//! [`MAX_REPLY_BYTES`]: a small message must not make the simulator build gigabytes.
//!
//! The server counts the connections it serves in [`Counters`], which every model is built
//! with; the seam owns them, so it knows no model.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::sequence::Eom;

/// Connection counters the server keeps and hands to every model it builds
/// ([`Blueprint::build`]); the generic device answers `SIM:CONN?` and `SIM:CONN:PEAK?` from them.
///
/// The server calls [`Counters::open`] for every connection it actually serves (not for
/// connections closed at once for exceeding the maximum) and [`Counters::close`] when that
/// connection ends.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections being served right now.
    current: AtomicUsize,
    /// Highest value `current` has reached since the server started; never reset.
    peak: AtomicUsize,
}

impl Counters {
    /// Records a newly served connection and returns the number now open.
    pub fn open(&self) -> usize {
        let now = self.current.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        now
    }

    /// Records the end of a served connection; must pair with one earlier [`Counters::open`].
    pub fn close(&self) {
        // Saturate rather than wrap if a caller ever closes more than it opened.
        let _ = self
            .current
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
    }

    /// Number of connections being served right now.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::SeqCst)
    }

    /// Highest number of connections served at the same time.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// Most reply bytes one message gets (terminations not counted). Like a real instrument
/// whose output buffer overflows, the simulator then stops: the reply that would pass the
/// limit is not sent, the rest of the message is not carried out, one warning is logged,
/// and the next message is served as usual. Real sequences get replies of a few bytes to a
/// few megabytes (a waveform).
pub const MAX_REPLY_BYTES: usize = 16 << 20;

/// The reply bytes of one message so far, against [`MAX_REPLY_BYTES`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplyBudget {
    /// Bytes of the replies admitted so far.
    used: usize,
    /// Set by the first reply refused; from then on the message is answered no further.
    exhausted: bool,
}

impl ReplyBudget {
    /// Nothing used yet.
    pub fn new() -> ReplyBudget {
        ReplyBudget::default()
    }

    /// Counts a reply of `len` bytes: false, and from then on always false, when it would
    /// pass [`MAX_REPLY_BYTES`].
    pub fn admit(&mut self, len: usize) -> bool {
        let used = self.used.saturating_add(len);
        if self.exhausted || used > MAX_REPLY_BYTES {
            self.exhausted = true;
            return false;
        }
        self.used = used;
        true
    }

    /// Logs the one warning for a message cut short on connection `conn`: the reply
    /// refused is not sent, and the `rest` commands after it are not carried out.
    pub fn warn_cut(conn: u64, rest: usize) {
        tracing::warn!(
            conn,
            limit = MAX_REPLY_BYTES,
            "the replies to one message passed {} MiB: the reply past the limit is not \
             sent and the {rest} commands after it are not carried out",
            MAX_REPLY_BYTES >> 20
        );
    }
}

/// What the instrument does with one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// Reply messages, in order, each without its write termination (the session appends
    /// [`Framing::write_termination`] to each). Empty for a message with no reply.
    pub replies: Vec<String>,
    /// How long the instrument takes before answering (or, with no reply, before it reads
    /// the next message on this connection). Added to the server's `--latency`.
    pub delay: Duration,
}

impl Response {
    /// No reply and no delay.
    pub fn none() -> Response {
        Response::default()
    }

    /// One reply line, no delay.
    pub fn reply(text: impl Into<String>) -> Response {
        Response {
            replies: vec![text.into()],
            delay: Duration::ZERO,
        }
    }
}

/// How messages are cut out of the byte stream and how replies end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framing {
    /// Bytes that end a message from the client (pyvisa's `write_termination`); never empty.
    pub read_termination: Vec<u8>,
    /// Bytes appended to every reply (pyvisa's `read_termination`).
    pub write_termination: Vec<u8>,
    /// Forgiving framing of the generic device: a `\r` before the read termination is
    /// dropped and empty messages are ignored. A device file's framing is exact, as
    /// pyvisa-sim's is: the message is everything before the termination.
    pub lenient: bool,
}

impl Framing {
    /// `\n`-terminated lines both ways, lenient: the generic device and replays.
    pub fn lines() -> Framing {
        Framing {
            read_termination: b"\n".to_vec(),
            write_termination: b"\n".to_vec(),
            lenient: true,
        }
    }
}

impl Framing {
    /// The framing of `eom`: exact, or lenient when messages end in `\n` alone, as the
    /// generic device and replays frame them.
    pub fn of(eom: &Eom) -> Framing {
        Framing {
            read_termination: eom.q.as_bytes().to_vec(),
            write_termination: eom.r.as_bytes().to_vec(),
            lenient: eom.q == "\n",
        }
    }
}

impl Default for Framing {
    fn default() -> Framing {
        Framing::lines()
    }
}

/// A simulated instrument's behaviour: the state shared by all of a server's connections.
pub trait Model: Send + Debug {
    /// Answers one message from connection `conn` (numbered from 1 in accept order),
    /// received at `now`, its read termination removed.
    fn handle(&mut self, conn: u64, message: &str, now: Instant) -> Response;

    /// Connection `conn` has closed; a model that tracks per-connection state forgets it.
    fn closed(&mut self, _conn: u64) {}

    /// What the user should know when the server stops (e.g. commands a replay had no
    /// recording for); `None` when there is nothing to say.
    fn report(&self) -> Option<String> {
        None
    }
}

/// The immutable description a server builds its [`Model`] from.
pub trait Blueprint: Send + Sync + Debug {
    /// Message framing of this instrument.
    fn framing(&self) -> Framing {
        Framing::lines()
    }

    /// The framing with terminations given by the user (`--eom`, `sim: {eom}`) instead of
    /// the instrument's own: by default [`Framing::of`]; a device file keeps its exact
    /// framing.
    fn framing_with(&self, eom: &Eom) -> Framing {
        Framing::of(eom)
    }

    /// The one line the user should read about how [`Blueprint::framing`] was chosen, when
    /// it was guessed (a device file without a `TCPIP SOCKET` eom); logged by the server
    /// unless the user gave the terminations.
    fn framing_note(&self) -> Option<String> {
        None
    }

    /// Text the instrument sends on every new connection before it reads anything (the
    /// greeting some instruments print), without its reply termination.
    fn greeting(&self) -> Option<String> {
        None
    }

    /// Most simultaneous connections the instrument itself accepts, if it says; a
    /// `--max-connections` flag overrides it.
    fn max_connections(&self) -> Option<usize> {
        None
    }

    /// A fresh model; `counters` are the server's open/peak connection counts.
    fn build(&self, counters: Arc<Counters>) -> Box<dyn Model>;
}
