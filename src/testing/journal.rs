//! What a scripted [`Instrument`](super::Instrument) saw and did, in order, with the time of
//! each event on tokio's clock (virtual under a paused clock, so spacings are exact).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::time::Instant;

/// One thing that happened at the instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// When, on tokio's clock.
    pub at: Instant,
    /// The connection, numbered from 0 in the order dials reached the instrument (refused
    /// ones included).
    pub conn: usize,
    /// What.
    pub what: What,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// A session opened (`peer`: the client's address, over TCP).
    Opened { peer: Option<SocketAddr> },
    /// A dial was refused (in-process: [`Dial::Refused`](super::Dial::Refused)).
    Refused,
    /// A dial reached the instrument and never connects ([`Dial::Hang`](super::Dial::Hang)).
    Hung,
    /// A line arrived, without its terminator.
    Received(String),
    /// Bytes went out.
    Sent(Vec<u8>),
    /// The instrument closed the connection ([`Act::Close`](super::Act::Close)).
    Closed,
    /// The client closed the connection (end of file, or an error).
    Ended,
}

/// The events of one instrument, in order.
#[derive(Debug, Clone, Default)]
pub struct Journal(pub Vec<Event>);

impl Journal {
    /// Every line received, with its connection, in arrival order.
    pub fn received(&self) -> Vec<(usize, String)> {
        self.0
            .iter()
            .filter_map(|e| match &e.what {
                What::Received(line) => Some((e.conn, line.clone())),
                _ => None,
            })
            .collect()
    }

    /// The lines received, whatever the connection.
    pub fn lines(&self) -> Vec<String> {
        self.received().into_iter().map(|(_, line)| line).collect()
    }

    /// How many times `line` was received.
    pub fn count(&self, line: &str) -> usize {
        self.received().iter().filter(|(_, l)| l == line).count()
    }

    /// When each dial reached the instrument (opened, refused or hung), in order.
    pub fn dials(&self) -> Vec<Instant> {
        self.0
            .iter()
            .filter(|e| matches!(e.what, What::Opened { .. } | What::Refused | What::Hung))
            .map(|e| e.at)
            .collect()
    }

    /// The time between each dial and the next.
    pub fn dial_gaps(&self) -> Vec<Duration> {
        self.dials().windows(2).map(|w| w[1] - w[0]).collect()
    }

    /// Sessions opened.
    pub fn sessions(&self) -> usize {
        self.0
            .iter()
            .filter(|e| matches!(e.what, What::Opened { .. }))
            .count()
    }

    /// Most sessions open at once.
    pub fn peak(&self) -> usize {
        let (mut open, mut peak) = (0usize, 0);
        for e in &self.0 {
            match e.what {
                What::Opened { .. } => open += 1,
                What::Closed | What::Ended => open = open.saturating_sub(1),
                _ => continue,
            }
            peak = peak.max(open);
        }
        peak
    }

    /// When `line` first arrived, if it did.
    pub fn when(&self, line: &str) -> Option<Instant> {
        self.0
            .iter()
            .find(|e| matches!(&e.what, What::Received(l) if l == line))
            .map(|e| e.at)
    }

    /// The events one a line each, with their time from the first event: what a failed
    /// assertion shows.
    pub fn timeline(&self) -> String {
        let Some(first) = self.0.first().map(|e| e.at) else {
            return String::new();
        };
        let mut text = String::new();
        for e in &self.0 {
            let what = match &e.what {
                What::Sent(bytes) => format!("Sent({:?})", String::from_utf8_lossy(bytes)),
                other => format!("{other:?}"),
            };
            let _ = writeln!(text, "{:>10?} conn {} {what}", e.at - first, e.conn);
        }
        text
    }
}
