//! The warnings for commands where pyvisa-sim would raise, aggregated per connection.
//!
//! [`super::device::PyDevice`] answers such a command with the command error and reports it
//! to a [`CrashLog`]. A client looping on a broken getter would otherwise write one warning
//! per command: each distinct warning is logged once per connection (at most
//! [`MAX_DISTINCT`] of them), the repeats and the rest are counted, and the count is logged
//! once when the connection closes.

use std::collections::{HashMap, HashSet};

/// Most distinct warnings logged for one connection; later new ones are only counted.
const MAX_DISTINCT: usize = 16;

/// Longest command text quoted in a warning, in characters (a message can be 1 MiB).
const COMMAND_CHARS: usize = 200;

/// What one connection has been warned about.
#[derive(Debug, Default)]
struct Seen {
    /// The warning texts logged (`why`, which names the property).
    logged: HashSet<String>,
    /// Warnings not logged: repeats, and new ones past [`MAX_DISTINCT`].
    suppressed: u64,
}

/// Crash warnings per open connection; an entry exists once a connection has had one.
#[derive(Debug, Default)]
pub(super) struct CrashLog {
    /// Keyed by connection number; removed by [`CrashLog::closed`].
    conns: HashMap<u64, Seen>,
}

impl CrashLog {
    /// Records that `command` on connection `conn` was answered with the command error
    /// because of `why`; logs it unless this connection already had that warning or
    /// [`MAX_DISTINCT`] others. Returns whether it was logged.
    pub fn crashed(&mut self, device: &str, conn: u64, command: &str, why: &str) -> bool {
        let seen = self.conns.entry(conn).or_default();
        if seen.logged.contains(why) || seen.logged.len() >= MAX_DISTINCT {
            seen.suppressed += 1;
            return false;
        }
        seen.logged.insert(why.to_owned());
        let command = clip(command);
        tracing::warn!(
            device,
            conn,
            command,
            "{why}; answering the command error (pyvisa-sim would raise); \
             repeats on this connection are counted, not logged"
        );
        true
    }

    /// Connection `conn` closed: logs how many warnings it had that were not logged, and
    /// forgets it. Returns that count.
    pub fn closed(&mut self, device: &str, conn: u64) -> u64 {
        let Some(seen) = self.conns.remove(&conn) else {
            return 0;
        };
        if seen.suppressed > 0 {
            tracing::warn!(
                device,
                conn,
                "{} more commands on this connection were answered with the command error \
                 where pyvisa-sim would raise (warnings not repeated)",
                seen.suppressed
            );
        }
        seen.suppressed
    }
}

/// `command` cut to [`COMMAND_CHARS`] characters, marked when cut.
fn clip(command: &str) -> String {
    match command.char_indices().nth(COMMAND_CHARS) {
        Some((end, _)) => format!("{}…", &command[..end]),
        None => command.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repeated warning is logged once per connection and counted after; each connection
    /// has its own; past [`MAX_DISTINCT`] new warnings are counted too; closing reports
    /// and forgets the count.
    #[test]
    fn warnings_once_per_connection() {
        let mut log = CrashLog::default();
        let cases: &[(u64, &str, bool)] = &[
            (1, "getter of `a`", true),
            (1, "getter of `a`", false),
            (1, "getter of `b`", true),
            (2, "getter of `a`", true),
            (1, "getter of `a`", false),
        ];
        for (i, &(conn, why, logged)) in cases.iter().enumerate() {
            assert_eq!(log.crashed("d", conn, "A?", why), logged, "case {i}");
        }
        assert_eq!(log.closed("d", 1), 2);
        assert_eq!(log.closed("d", 1), 0, "forgotten");
        assert!(
            log.crashed("d", 1, "A?", "getter of `a`"),
            "a new connection 1"
        );
        assert_eq!(log.closed("d", 2), 0);
        for i in 0..MAX_DISTINCT + 5 {
            let logged = log.crashed("d", 3, "A?", &format!("why {i}"));
            assert_eq!(logged, i < MAX_DISTINCT, "warning {i}");
        }
        assert_eq!(log.closed("d", 3), 5);
    }

    /// A long command is quoted cut, on a character boundary.
    #[test]
    fn long_commands_are_clipped() {
        let long = "é".repeat(COMMAND_CHARS + 1);
        let clipped = clip(&long);
        assert_eq!(clipped.chars().count(), COMMAND_CHARS + 1);
        assert!(clipped.ends_with("é…"));
        assert_eq!(clip("A?"), "A?");
    }
}
