//! What a simulated instrument does with each command: the seam between the TCP server and
//! the instrument models.
//!
//! The server holds one `Box<dyn Behaviour>` behind a mutex shared by every connection (one
//! instrument, many sessions), calls [`Behaviour::handle`] for each command line, waits the
//! returned delay (on top of `--latency`) and writes the reply. Models: the generic SCPI
//! device ([`super::device::Device`]), a pyvisa-sim device file, and the replay of a
//! recorded run log.

use std::time::Duration;

/// The answer to one command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Response {
    /// The reply line without its terminator; `None` when the command gets no reply.
    pub reply: Option<String>,
    /// Extra time to wait before the reply is written (dialogue delays, recorded latency).
    pub delay: Duration,
}

impl Response {
    /// A reply with no extra delay.
    pub fn reply(text: impl Into<String>) -> Self {
        Response {
            reply: Some(text.into()),
            delay: Duration::ZERO,
        }
    }

    /// No reply.
    pub fn none() -> Self {
        Response::default()
    }
}

/// A simulated instrument model. Called with the lock held: never block or sleep inside.
pub trait Behaviour: Send {
    /// Handles one command line (read terminator already removed).
    fn handle(&mut self, line: &str) -> Response;

    /// Appended to every reply (default `"\n"`).
    fn reply_termination(&self) -> &str {
        "\n"
    }

    /// Most simultaneous connections the model allows (`None`: no limit of its own).
    fn max_connections(&self) -> Option<usize> {
        None
    }

    /// What to tell the operator when the server stops (e.g. commands a replay did not
    /// have); `None` when there is nothing to say.
    fn report(&self) -> Option<String> {
        None
    }
}
