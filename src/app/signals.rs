//! Listening to SIGINT, SIGTERM and SIGHUP for a whole run.
//!
//! SIGHUP is what a run gets when its terminal goes away (the SSH session closes): it stops
//! the run like a first Ctrl-C, whose teardown and stop record are the point of a clean
//! end, but it never escalates (a hangup is not an operator insisting). A process started
//! with SIGHUP ignored (`nohup sequencer run ...`) was asked to survive hangups, so SIGHUP
//! is then left ignored: installing a handler would replace the ignore. Whether it is
//! ignored is read from `/proc/self/status` before the handler is installed (`SigIgn`,
//! Linux): asking `sigaction` needs `unsafe` (every wrapper of it, in libc, nix, rustix or
//! signal-hook-registry, is an `unsafe fn`), which this crate forbids, and the file costs
//! no dependency. On other systems SIGHUP keeps its default action (it ends the process),
//! as it did before, rather than break `nohup`.

#[cfg(unix)]
use tokio::signal::unix::{Signal, SignalKind, signal};

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caught {
    /// SIGINT (Ctrl-C) or SIGTERM: the operator stops the run, and may insist.
    Interrupt,
    /// SIGHUP: the terminal hung up; stop like a first Ctrl-C, never more.
    Hangup,
}

impl Caught {
    /// Why the run stopped, as the stop record and the messages say.
    pub fn reason(self) -> &'static str {
        match self {
            Caught::Interrupt => "interrupted by the operator",
            Caught::Hangup => "the terminal hung up (SIGHUP)",
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP, listened to from the start of a run to its end by one
/// listener, so that no signal falls between two listeners (say, as the connections
/// finish opening).
pub struct Signals {
    /// SIGINT, if it could be watched.
    #[cfg(unix)]
    int: Option<Signal>,
    /// SIGTERM, if it could be watched.
    #[cfg(unix)]
    term: Option<Signal>,
    /// SIGHUP, unless it is left alone (see [`leave_hangup_alone`]) or cannot be watched.
    #[cfg(unix)]
    hup: Option<Signal>,
}

impl Signals {
    /// Starts listening.
    pub fn new() -> Self {
        #[cfg(unix)]
        {
            let hup = if leave_hangup_alone() {
                tracing::debug!("SIGHUP is left as it is: a hangup will not stop the run cleanly");
                None
            } else {
                signal(SignalKind::hangup()).ok()
            };
            Signals {
                int: signal(SignalKind::interrupt()).ok(),
                term: signal(SignalKind::terminate()).ok(),
                hup,
            }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// Waits for the next signal; never returns if none can be watched.
    pub async fn recv(&mut self) -> Caught {
        #[cfg(unix)]
        {
            async fn next(s: Option<&mut Signal>) {
                let got = match s {
                    Some(s) => s.recv().await.is_some(),
                    None => false,
                };
                if !got {
                    std::future::pending::<()>().await;
                }
            }
            tokio::select! {
                () = next(self.int.as_mut()) => Caught::Interrupt,
                () = next(self.term.as_mut()) => Caught::Interrupt,
                () = next(self.hup.as_mut()) => Caught::Hangup,
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            Caught::Interrupt
        }
    }
}

/// True when SIGHUP must keep its disposition: on Linux, when this process was started with
/// it ignored (`nohup`, or a parent's `trap '' HUP`), as `/proc/self/status` says (a status
/// that cannot be read says nothing: SIGHUP is then watched); elsewhere always.
#[cfg(unix)]
fn leave_hangup_alone() -> bool {
    if cfg!(any(target_os = "linux", target_os = "android")) {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| ignored_mask(&status))
            .is_some_and(|mask| mask & 1 << (SIGHUP - 1) != 0)
    } else {
        true
    }
}

/// SIGHUP's number (bit `SIGHUP - 1` of a signal mask), the same on every Unix.
const SIGHUP: u32 = 1;

/// The `SigIgn:` mask of a `/proc/<pid>/status` text: one bit per ignored signal.
fn ignored_mask(status: &str) -> Option<u64> {
    let hex = status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ignored-signals mask is read from its line; anything else is no answer.
    #[test]
    fn reads_the_ignored_mask() {
        let status = "Name:\tsequencer\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000001001\nSigCgt:\t0000000180004a02\n";
        assert_eq!(ignored_mask(status), Some(0x1001));
        assert_eq!(ignored_mask("Name:\tx\n"), None);
        assert_eq!(ignored_mask("SigIgn:\tnot hex\n"), None);
        assert!(ignored_mask(status).is_some_and(|m| m & 1 << (SIGHUP - 1) != 0));
    }
}
