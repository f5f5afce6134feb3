//! The reply timeout of a connection's commands: one timer per connection, and the deadline
//! of a command from a clock reading the caller already has.

use std::pin::Pin;
use std::time::Duration;

use tokio::time::Instant;

/// The reply timeout of one connection: one tokio timer for all its commands. Each command
/// moves the deadline; the timer itself is reset only when it goes off before the current
/// deadline (or the deadline moves earlier), so that a command does not register a timer
/// and cancel it again, which cost as much as the rest of a zero-latency query.
pub struct ReplyTimer {
    /// How long a command may take.
    pub timeout: Duration,
    /// Made at the first command (a tokio timer needs the runtime).
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// When the command running now times out.
    deadline: Instant,
}

impl ReplyTimer {
    /// A timer for commands of `timeout` each.
    pub fn new(timeout: Duration) -> ReplyTimer {
        ReplyTimer {
            timeout,
            sleep: None,
            deadline: Instant::now(),
        }
    }

    /// The command starting now times out at `deadline`.
    pub(super) fn arm(&mut self, deadline: Instant) {
        self.deadline = deadline;
        match &mut self.sleep {
            // Goes off early at worst, and `expired` sets it again.
            Some(sleep) if sleep.deadline() <= deadline => {}
            Some(sleep) => sleep.as_mut().reset(deadline),
            None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
        }
    }

    /// Resolves at the deadline of the last [`ReplyTimer::arm`].
    pub(super) async fn expired(&mut self) {
        let Self {
            sleep, deadline, ..
        } = self;
        let Some(sleep) = sleep else {
            return std::future::pending().await;
        };
        loop {
            sleep.as_mut().await;
            if Instant::now() >= *deadline {
                return;
            }
            sleep.as_mut().reset(*deadline);
        }
    }
}

/// `timeout` after `start` (a clock reading the caller already has: one fewer per command,
/// and a read costs ~50 ns on this VM); a timeout too large for the clock is none.
pub(super) fn deadline(start: Instant, timeout: Duration) -> Instant {
    const NEVER: Duration = Duration::from_secs(100 * 365 * 86_400);
    start.checked_add(timeout).unwrap_or_else(|| start + NEVER)
}
