//! The listing `sequencer diff` prints: `Display` of a [`Diff`] and of its parts.
//!
//! Texts from the log (replies, `as` values, variables) are shown as JSON, as in the log;
//! command texts are shown as sent. Points beyond [`MAX_POINTS`] and changes of one point
//! beyond [`MAX_CHANGES`] are counted, not listed; the summary line always ends the listing.

use std::fmt;

use serde_json::Value;

use super::{Change, Diff, Entry, MAX_CHANGES, MAX_POINTS, Side};

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::A => "A",
            Side::B => "B",
        })
    }
}

/// A reply as JSON text, or `no reply`.
fn reply(text: Option<&str>) -> String {
    text.map_or_else(|| "no reply".to_owned(), quote)
}

/// A text as a JSON string (quoted, escaped as in the log).
fn quote(text: &str) -> String {
    Value::from(text).to_string()
}

/// A JSON value as in the log, or `absent`.
fn json(value: Option<&Value>) -> String {
    value.map_or_else(|| "absent".to_owned(), Value::to_string)
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Status {
                a,
                b,
                error_a,
                error_b,
            } => {
                write!(f, "status: {a} -> {b}")?;
                for (side, error) in [(Side::A, error_a), (Side::B, error_b)] {
                    if let Some(error) = error {
                        write!(f, "; error in {side}: {error}")?;
                    }
                }
                Ok(())
            }
            Change::Var { name, a, b } => {
                write!(
                    f,
                    "var {name}: {} -> {}",
                    json(a.as_ref()),
                    json(b.as_ref())
                )
            }
            Change::CommandCount { a, b } => write!(f, "commands sent: {a} -> {b}"),
            Change::Sent { n, a, b } => write!(f, "command {n}: {} -> {}", quote(a), quote(b)),
            Change::Reply { n, sent, a, b } => write!(
                f,
                "reply of {sent} (command {n}): {} -> {}",
                reply(a.as_deref()),
                reply(b.as_deref())
            ),
            Change::Extra { n, side, command } => write!(
                f,
                "command {n} only in {side}: {} ({})",
                command.sent,
                command
                    .reply
                    .as_deref()
                    .map_or_else(|| "no reply".to_owned(), |r| format!("reply {}", quote(r)))
            ),
            Change::Value { name, a, b } => {
                write!(
                    f,
                    "value {name}: {} -> {}",
                    json(a.as_ref()),
                    json(b.as_ref())
                )
            }
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Only { id, side } => write!(f, "{id}: only in {side}"),
            Entry::Changed { id, changes } => {
                write!(f, "{id}:")?;
                for change in changes.iter().take(MAX_CHANGES) {
                    write!(f, "\n  - {change}")?;
                }
                if changes.len() > MAX_CHANGES {
                    let more = changes.len() - MAX_CHANGES;
                    write!(
                        f,
                        "\n  - ... and {more} more {}",
                        plural(more, "difference")
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// `n word` with an `s` unless `n` is 1.
fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        word.to_owned()
    } else {
        format!("{word}s")
    }
}

impl fmt::Display for Diff {
    /// The listing: each differing point (at most [`MAX_POINTS`]), then the summary line;
    /// equal runs are the summary line alone. No trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_equal() {
            return write!(
                f,
                "runs match: {} {}",
                self.total,
                plural(self.total, "point")
            );
        }
        for entry in self.entries.iter().take(MAX_POINTS) {
            writeln!(f, "{entry}")?;
        }
        if self.entries.len() > MAX_POINTS {
            let more = self.entries.len() - MAX_POINTS;
            writeln!(f, "... and {more} more {}", plural(more, "point"))?;
        }
        write!(
            f,
            "{} of {} {} differ; {} only in A, {} only in B",
            self.entries.len(),
            self.total,
            plural(self.total, "point"),
            self.only_in_a(),
            self.only_in_b()
        )
    }
}
