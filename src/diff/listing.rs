//! The listing `sequencer diff` prints: `Display` of a [`Diff`] and of its parts.
//!
//! Texts from the log (replies, `as` values, variables) are shown as JSON, as in the log;
//! command texts are shown as sent. Sweep points come first, then setup and teardown under
//! a heading of their own; points beyond [`MAX_POINTS`] in each and changes of one point
//! beyond [`MAX_CHANGES`] are counted, not listed; the summary line always ends the listing.

use std::fmt;

use serde_json::Value;

use super::{Change, Diff, Entry, MAX_CHANGES, MAX_POINTS, Section, Side};

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
            Change::Break { a, b } => {
                let side = |s: &Option<String>| s.clone().unwrap_or_else(|| "none".to_owned());
                write!(f, "stop_when fired: {} -> {}", side(a), side(b))
            }
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

impl Section {
    /// Each differing point of the section, at most [`MAX_POINTS`], one per line.
    fn list(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for entry in self.entries.iter().take(MAX_POINTS) {
            writeln!(f, "{entry}")?;
        }
        if self.entries.len() > MAX_POINTS {
            let more = self.entries.len() - MAX_POINTS;
            writeln!(f, "... and {more} more {}", plural(more, "point"))?;
        }
        Ok(())
    }
}

impl fmt::Display for Diff {
    /// The listing: each differing sweep point, then (under a heading) each differing setup
    /// or teardown point, then the summary line; equal runs are the summary line alone. No
    /// trailing newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (points, hooks) = (&self.points, &self.hooks);
        if self.is_equal() {
            write!(
                f,
                "runs match: {} {}",
                points.total,
                plural(points.total, "point")
            )?;
            if hooks.total > 0 {
                write!(
                    f,
                    " (and {} setup/teardown {})",
                    hooks.total,
                    plural(hooks.total, "point")
                )?;
            }
            return Ok(());
        }
        points.list(f)?;
        if !hooks.entries.is_empty() {
            writeln!(f, "setup and teardown (not counted as points):")?;
            hooks.list(f)?;
        }
        write!(
            f,
            "{} of {} {} differ; {} only in A, {} only in B",
            points.entries.len(),
            points.total,
            plural(points.total, "point"),
            points.only_in(Side::A),
            points.only_in(Side::B)
        )?;
        if hooks.total > 0 {
            write!(
                f,
                "; setup/teardown: {} of {} differ",
                hooks.entries.len(),
                hooks.total
            )?;
            let (only_a, only_b) = (hooks.only_in(Side::A), hooks.only_in(Side::B));
            if only_a + only_b > 0 {
                write!(f, " ({only_a} only in A, {only_b} only in B)")?;
            }
        }
        Ok(())
    }
}
