//! Which keys each mapping of a device file may have: pyvisa-sim's, and our extensions.
//!
//! Unknown keys are warnings (pyvisa-sim ignores them); an extension key misspelt (`jiter`)
//! or misplaced (`ramp` on a dialogue) is a problem, since it would silently do nothing.

use super::Cx;
use crate::sim::pyvisa::node::{Key, Node};

/// Where in the file a mapping is, for its known keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Level {
    Top,
    Device,
    Channel,
    Dialogue,
    Property,
    Getter,
    Setter,
    Specs,
    Error,
    ErrorResponse,
    Eom,
}

impl Level {
    /// Keys pyvisa-sim reads here.
    fn known(self) -> &'static [&'static str] {
        match self {
            Level::Top => &["spec", "devices", "resources"],
            Level::Device => &[
                "eom",
                "error",
                "dialogues",
                "properties",
                "channels",
                "delimiter",
                "bases",
            ],
            Level::Channel => &["ids", "can_select", "dialogues", "properties", "bases"],
            Level::Dialogue | Level::Getter | Level::Eom => &["q", "r"],
            Level::Property => &["default", "getter", "setter", "specs"],
            Level::Setter => &["q", "r", "e"],
            Level::Specs => &["type", "min", "max", "valid"],
            Level::Error => &["response", "status_register", "error_queue"],
            Level::ErrorResponse => &["command_error", "query_error"],
        }
    }

    /// Our extension keys allowed here.
    fn extensions(self) -> &'static [&'static str] {
        match self {
            Level::Device => &["delay", "jitter", "seed", "max_connections", "greeting"],
            Level::Dialogue | Level::Getter | Level::Setter => &["delay"],
            Level::Property => &["ramp"],
            _ => &[],
        }
    }
}

/// Where each extension goes, for "misplaced" messages.
const EXTENSION_HOMES: &[(&str, &str)] = &[
    ("delay", "a device, dialogue, getter or setter"),
    ("jitter", "a device"),
    ("seed", "a device"),
    ("max_connections", "a device"),
    ("greeting", "a device"),
    ("ramp", "a property"),
];

impl Cx {
    /// Warns about keys pyvisa-sim does not read at `level`; misspelt or misplaced
    /// extensions are problems.
    pub(super) fn keys(&mut self, entries: &[(Key, Node)], level: Level, what: &str) {
        for (key, _) in entries {
            let name = key.text.as_str();
            if level.known().contains(&name) || level.extensions().contains(&name) {
                continue;
            }
            if let Some((_, home)) = EXTENSION_HOMES.iter().find(|(ext, _)| *ext == name) {
                self.problem(
                    key.span.clone(),
                    format!("`{name}` has no effect in {what}: it goes on {home}"),
                    "misplaced",
                );
            } else if let Some(ext) = level.extensions().iter().find(|e| near(name, e)) {
                self.problem(
                    key.span.clone(),
                    format!("unknown key `{name}` in {what}; did you mean `{ext}`?"),
                    "unknown key",
                );
            } else {
                self.warnings
                    .push(format!("unknown key `{name}` in {what} is ignored"));
            }
        }
    }
}

/// Whether `a` looks like a misspelling of `b`: equal ignoring case, or within an edit
/// distance of 1 (2 for names longer than 5 characters).
fn near(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (
        a.to_lowercase().chars().collect(),
        b.to_lowercase().chars().collect(),
    );
    let limit = if b.len() > 5 { 2 } else { 1 };
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let next = (row[j + 1] + 1).min(row[j] + 1).min(prev + cost);
            prev = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()] <= limit
}
