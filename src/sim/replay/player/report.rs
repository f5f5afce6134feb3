//! The parts of the replay's [`Model::report`](crate::sim::Model::report): commands
//! without recording, and recorded points never replayed.

use std::fmt::Write as _;

use super::{Claim, LISTED, Player};
use crate::sim::replay::DEVICE_ERROR;

/// Most characters of an unrecorded command the report shows.
const SHOWN: usize = 80;

impl Player {
    /// The report's part on commands without recording, if there were some.
    pub(super) fn unrecorded_report(&self) -> Option<String> {
        let u = &self.unrecorded;
        if u.total == 0 {
            return None;
        }
        let mut text = format!(
            "{} {} had no recording",
            u.total,
            if u.total == 1 { "command" } else { "commands" },
        );
        if u.queries > 0 {
            let _ = write!(
                text,
                " ({} {} answered `{DEVICE_ERROR}`)",
                u.queries,
                if u.queries == 1 { "query" } else { "queries" }
            );
        }
        text.push(':');
        for (message, count) in &u.texts {
            let _ = write!(text, "\n  {count}x {}", shorten(message));
        }
        let listed: u64 = u.texts.iter().map(|(_, n)| n).sum();
        if u.total > listed {
            let _ = write!(
                text,
                "\n  ... and {} more with other texts",
                u.total - listed
            );
        }
        Some(text)
    }

    /// The report's part on recorded points (connect records aside) no connection
    /// replayed, if there are some: how many of all, and the first [`LISTED`] distinct ids.
    pub(super) fn never_replayed(&self) -> Option<String> {
        let points = self.tape.points.iter().zip(&self.claims);
        let (mut total, mut never, mut ids) = (0usize, 0usize, Vec::new());
        for (recorded, claim) in points.filter(|(r, _)| !r.connect) {
            total += 1;
            if *claim == Claim::Free {
                never += 1;
                if ids.len() <= LISTED && !ids.contains(&recorded.id.as_str()) {
                    ids.push(recorded.id.as_str());
                }
            }
        }
        if never == 0 {
            return None;
        }
        let more = if ids.len() > LISTED { ", ..." } else { "" };
        ids.truncate(LISTED);
        Some(format!(
            "{never} of {total} recorded points were never replayed: {}{more}",
            ids.join(", ")
        ))
    }
}

/// `text` cut to [`SHOWN`] characters, with `...` when cut: a report line stays a line.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}
