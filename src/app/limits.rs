//! The files a run keeps open, checked against what the process may open before anything
//! is dialled (`run` and `resume`).
//!
//! Every connection is a socket, and with the built-in simulator (`--sim`, `--device`,
//! `--replay`) its other end is one too, in this process. A process may have at most its
//! soft `RLIMIT_NOFILE` open (`ulimit -n`, often 1024): past it, dials, the simulator's
//! accepts and the run log's background fsync fail with "too many open files" halfway
//! through a run. So a run whose pools would not fit is refused at the start, naming the
//! `max_connections` at fault and what to do, and nothing is sent.

use crate::error::{Error, Result};
use crate::sequence::Sequence;

/// Files a run opens besides its connections, after this check: the run log (and its
/// folder, while it is created), the duplicate of the log that a background fsync takes,
/// with room to spare. (Measured in /proc/PID/fd: 12 files open besides the connections of
/// a running run without a simulator, stdio and the event loop included, which are open
/// already when this check runs.)
const SLACK: u64 = 16;

/// Files open when they cannot be counted: stdio, the event loop, the signal handlers.
const ASSUMED_OPEN: u64 = 12;

/// Files each built-in simulator keeps open besides its connections' ends: its listening
/// socket and its thread's event loop.
const PER_SIMULATOR: u64 = 8;

/// Refuses to start a run whose connections (`simulated`: with the built-in simulator's
/// ends) would not fit the process's open-file limit. Where the limit cannot be read (not
/// Unix), nothing is checked.
pub(super) fn check_open_files(seq: &Sequence, simulated: bool) -> Result<()> {
    let Some((soft, hard)) = open_file_limit() else {
        return Ok(());
    };
    let limits = Limits {
        soft,
        hard,
        open: open_now().unwrap_or(ASSUMED_OPEN),
    };
    match problem(seq, simulated, &limits) {
        Some(message) => Err(Error::usage(message)),
        None => Ok(()),
    }
}

/// What the process may open and has open.
struct Limits {
    /// The soft limit, what may be open at once (`None`: unlimited).
    soft: Option<u64>,
    /// The hard limit, how far the soft one may be raised (`None`: unlimited).
    hard: Option<u64>,
    /// Files open now (stdio, the event loop, the signal handlers, and whatever the parent
    /// process left open for this one).
    open: u64,
}

/// How many files this process has open, counted in `/dev/fd` (Linux, macOS, the BSDs);
/// `None` where that cannot be read.
fn open_now() -> Option<u64> {
    let entries = std::fs::read_dir("/dev/fd").ok()?;
    // The listing's own descriptor is in it, and closed again: one file of slack.
    Some(entries.count() as u64)
}

/// The soft and hard open-file limits (`None`: unlimited), or `None` where they cannot
/// be read.
#[cfg(unix)]
#[allow(clippy::unnecessary_wraps)] // `None` on other systems
fn open_file_limit() -> Option<(Option<u64>, Option<u64>)> {
    use rustix::process::{Resource, getrlimit};
    let limit = getrlimit(Resource::Nofile);
    Some((limit.current, limit.maximum))
}

/// The soft and hard open-file limits: not known here.
#[cfg(not(unix))]
fn open_file_limit() -> Option<(Option<u64>, Option<u64>)> {
    None
}

/// What is wrong with running `seq` under `limits`, or `None` when its connections fit.
fn problem(seq: &Sequence, simulated: bool, limits: &Limits) -> Option<String> {
    let soft = limits.soft?;
    let per_connection: u64 = if simulated { 2 } else { 1 };
    let connections: u64 = seq
        .instruments
        .iter()
        .map(|i| i.max_connections as u64)
        .sum();
    let simulators = if simulated {
        PER_SIMULATOR * seq.instruments.len() as u64
    } else {
        0
    };
    let besides = limits.open + SLACK + simulators;
    let needed = connections
        .saturating_mul(per_connection)
        .saturating_add(besides);
    if needed <= soft {
        return None;
    }
    let what = if simulated {
        format!("two per connection with the built-in simulator, {besides} for the rest")
    } else {
        format!("one per connection, {besides} for the rest")
    };
    let (pools, need) = pools(seq);
    let fit = soft.saturating_sub(besides) / per_connection;
    let lower = match (seq.instruments.len(), fit) {
        (_, 0) => String::new(),
        (1, _) => format!("lower `max_connections` to at most {fit}, or "),
        _ => format!("lower their `max_connections` to at most {fit} in all, or "),
    };
    let raise = match limits.hard {
        Some(hard) if hard < needed => format!(
            "have the hard limit raised (it is {hard}; `nofile` in /etc/security/limits.conf)"
        ),
        _ => format!("raise the limit with `ulimit -n {needed}` before running"),
    };
    Some(format!(
        "{pools} {need} {needed} open files ({what}), but this process may open only {soft} \
         (`ulimit -n`): {lower}{raise}; nothing was sent"
    ))
}

/// `` `max_connections: 600` (seq.yaml:3:20) `` for one instrument, or each instrument's
/// connections for several; and the verb that agrees with it.
fn pools(seq: &Sequence) -> (String, &'static str) {
    let file = seq.path.display();
    let each: Vec<String> = seq
        .instruments
        .iter()
        .map(|ins| match ins.max_connections_at {
            Some((line, column)) => format!(
                "`max_connections: {}` ({file}:{line}:{column})",
                ins.max_connections
            ),
            None => format!("{} connections by default", ins.max_connections),
        })
        .collect();
    if let [one] = each.as_slice() {
        return (one.clone(), "needs");
    }
    let named: Vec<String> = seq
        .instruments
        .iter()
        .zip(&each)
        .map(|(ins, pool)| format!("`{}`: {pool}", ins.name))
        .collect();
    (format!("the pools ({})", named.join(", ")), "need")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn seq(yaml: &str) -> Sequence {
        crate::sequence::parse(yaml, Path::new("t.yaml")).unwrap()
    }

    /// Limits with 16 files open already (so 32 besides the connections, 40 with one
    /// simulator).
    fn limits(soft: Option<u64>, hard: Option<u64>) -> Limits {
        Limits {
            soft,
            hard,
            open: 16,
        }
    }

    /// Connections fit the soft limit with the files open already and some to spare (and,
    /// simulated, twice over with the simulators' own files), or the message names the
    /// `max_connections` at fault, what fits and how to raise the limit.
    #[test]
    fn connections_fit_the_open_file_limit() {
        let one = seq("instrument: {max_connections: 40}\nsteps: [{name: a, commands: [X]}]\n");
        assert_eq!(problem(&one, false, &limits(Some(72), Some(72))), None);
        assert_eq!(problem(&one, false, &limits(None, None)), None);
        assert_eq!(problem(&one, true, &limits(Some(120), None)), None);
        assert_eq!(
            problem(&one, false, &limits(Some(64), Some(4096))).as_deref(),
            Some(
                "`max_connections: 40` (t.yaml:1:31) needs 72 open files (one per connection, 32 \
                 for the rest), but this process may open only 64 (`ulimit -n`): lower \
                 `max_connections` to at most 32, or raise the limit with `ulimit -n 72` before \
                 running; nothing was sent"
            )
        );
        assert_eq!(
            problem(&one, true, &limits(Some(64), Some(64))).as_deref(),
            Some(
                "`max_connections: 40` (t.yaml:1:31) needs 120 open files (two per connection \
                 with the built-in simulator, 40 for the rest), but this process may open only \
                 64 (`ulimit -n`): lower `max_connections` to at most 12, or have the hard \
                 limit raised (it is 64; `nofile` in /etc/security/limits.conf); nothing was \
                 sent"
            )
        );
        let two = seq("instruments:\n  a: {max_connections: 600}\n  b: {}\n\
             steps: [{name: s, instrument: a, commands: [X]}]\n");
        assert_eq!(
            problem(&two, false, &limits(Some(512), None)).as_deref(),
            Some(
                "the pools (`a`: `max_connections: 600` (t.yaml:2:24), `b`: 4 connections by \
                 default) need 636 open files (one per connection, 32 for the rest), but this \
                 process may open only 512 (`ulimit -n`): lower their `max_connections` to at \
                 most 480 in all, or raise the limit with `ulimit -n 636` before running; \
                 nothing was sent"
            )
        );
        // Files inherited from the parent process count.
        let crowded = Limits {
            soft: Some(100),
            hard: None,
            open: 50,
        };
        assert!(problem(&one, false, &crowded).is_some());
        // Too few files for even the rest of the run: only raising the limit helps.
        let tiny = problem(&one, false, &limits(Some(20), None)).unwrap();
        assert!(
            tiny.contains("may open only 20 (`ulimit -n`): raise the limit"),
            "{tiny}"
        );
    }
}
