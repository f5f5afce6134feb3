//! What one device of a pyvisa-sim file says, checked and ready to serve.
//!
//! [`super::build`] turns the YAML tree into a [`DeviceSpec`]; [`super::DeviceFile`] keeps
//! it behind an `Arc` and every model built from the file reads it. Nothing here changes
//! after loading: the values that do (properties, registers, error queues) live in
//! [`super::device::PyDevice`]. Texts are stored as pyvisa-sim stores them: queries and
//! replies after `to_bytes` (`\r`/`\n` escapes turned into the characters), getter replies
//! as written (pyvisa-sim formats them without that step).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::pyfmt::{PyType, PyValue};
use super::strparse::Parser;
use crate::sim::model::Framing;

/// A reply message, or `None` for pyvisa-sim's `NoResponse` (nothing is sent).
pub(super) type Reply = Option<String>;

/// One device: its framing, error handling, commands, channels and our extensions.
#[derive(Debug)]
pub(super) struct DeviceSpec {
    /// The device's key under `devices:`.
    pub name: String,
    /// Splits one message into commands (`delimiter:`, `;` by default); empty: no split.
    pub delimiter: String,
    /// From the `TCPIP SOCKET` entry of `eom:`; without one, what the other entries agree
    /// on, else LF (`build/eom.rs`).
    pub framing: Framing,
    /// How `framing` was chosen when it was not written for `TCPIP SOCKET`, for the log.
    pub framing_note: Option<String>,
    /// Extension `greeting:`: sent on every new connection before anything is read.
    pub greeting: Option<String>,
    /// `error:`: the command error reply, status registers, error queues.
    pub errors: ErrorSpec,
    /// Device-level dialogues, properties, getters and setters.
    pub component: ComponentSpec,
    /// `channels:` groups, in file order (pyvisa-sim tries them in that order).
    pub channels: Vec<ChannelSpec>,
    /// Index in `component.properties` of `selected_channel`, read by channel groups
    /// with `can_select: False`.
    pub selected_channel: Option<usize>,
    /// Extension `delay:`: added to every message's delay.
    pub delay: Duration,
    /// Extension `jitter:`: a uniform random 0..jitter added to every message's delay.
    pub jitter: Duration,
    /// Extension `seed:`: seeds jitter and `RANDOM` replies (random when absent).
    pub seed: Option<u64>,
    /// Extension `max_connections:`.
    pub max_connections: Option<usize>,
}

/// `error:` of a device.
#[derive(Debug, Default)]
pub(super) struct ErrorSpec {
    /// Reply to an unmatched command (`error: TEXT` or `response: {command_error}`).
    /// pyvisa-sim never uses `query_error`, so neither do we.
    pub command_error: Reply,
    /// Every status register, in file order (one replaced by a later one with the same
    /// query stays here, still set by its errors but no longer readable, as in pyvisa-sim).
    pub registers: Vec<RegisterSpec>,
    /// Query to the index in `registers` it reads (the last register with that query).
    pub register_queries: HashMap<String, usize>,
    /// Error name to the index in `registers` it sets (the last register naming it).
    pub register_errors: HashMap<String, usize>,
    /// Error queues, one per distinct query (a later one replaces an earlier one).
    pub queues: Vec<QueueSpec>,
    /// Query to the index in `queues` it pops.
    pub queue_queries: HashMap<String, usize>,
}

/// One status register.
#[derive(Debug)]
pub(super) struct RegisterSpec {
    /// Error name (`command_error`, ...) to the bits it sets.
    pub bits: HashMap<String, i64>,
}

/// One error queue.
#[derive(Debug)]
pub(super) struct QueueSpec {
    /// The query that pops it.
    pub query: String,
    /// Error name to the message queued for it.
    pub messages: HashMap<String, String>,
    /// Reply when the queue is empty.
    pub default: String,
}

/// Dialogues, properties, getters and setters of a device or of a channel group.
#[derive(Debug, Default)]
pub(super) struct ComponentSpec {
    /// Query to dialogue (a later dialogue with the same query replaces an earlier one).
    pub dialogues: HashMap<String, DialogueSpec>,
    /// Dialogue queries in the order pyvisa-sim's dict keeps them (first insertion), for
    /// specialising channel queries exactly as its dict comprehension does.
    pub dialogue_order: Vec<String>,
    /// Query to getter (likewise).
    pub getters: HashMap<String, GetterSpec>,
    /// Getter queries in dict order.
    pub getter_order: Vec<String>,
    /// Setters in file order: pyvisa-sim tries each pattern in turn.
    pub setters: Vec<SetterSpec>,
    /// Properties in file order.
    pub properties: Vec<PropertySpec>,
}

/// A fixed reply.
#[derive(Debug, Clone)]
pub(super) struct DialogueSpec {
    /// The reply (`r`), `None` when absent.
    pub reply: Reply,
    /// Extension `delay:`.
    pub delay: Duration,
}

/// A query that reads a property.
#[derive(Debug, Clone)]
pub(super) struct GetterSpec {
    /// Index of the property in its component.
    pub property: usize,
    /// The `r` format template, as written; `None` when absent (pyvisa-sim then fails on
    /// the query).
    pub template: Option<String>,
    /// Extension `delay:`.
    pub delay: Duration,
}

/// A command that writes a property.
#[derive(Debug, Clone)]
pub(super) struct SetterSpec {
    /// Index of the property in its component.
    pub property: usize,
    /// The `q` pattern.
    pub parser: Arc<Parser>,
    /// Reply after a successful set (`r`).
    pub ok: Reply,
    /// Reply when the value is refused (`e`); without one pyvisa-sim moves on (device)
    /// or answers the command error (channel).
    pub err: Reply,
    /// Extension `delay:`.
    pub delay: Duration,
}

/// A property: its name, checks and starting value.
#[derive(Debug, Clone)]
pub(super) struct PropertySpec {
    /// The key under `properties:`.
    pub name: String,
    /// `default:` after validation.
    pub default: PyValue,
    /// `specs:`, if any (without, values are stored as they come).
    pub specs: Option<Specs>,
    /// Extension `ramp:`: units per second a float property moves towards a new value.
    pub ramp: Option<f64>,
}

/// `specs:` of a property.
#[derive(Debug, Clone)]
pub(super) struct Specs {
    /// `type:`.
    pub ty: PyType,
    /// `min:` converted to the type.
    pub min: Option<PyValue>,
    /// `max:` converted to the type.
    pub max: Option<PyValue>,
    /// `valid:` converted to the type; empty means any value.
    pub valid: Vec<PyValue>,
}

/// A `channels:` group.
#[derive(Debug)]
pub(super) struct ChannelSpec {
    /// Its key under `channels:`, for messages.
    pub name: String,
    /// `ids:`, as text.
    pub ids: Vec<String>,
    /// False only for the exact text `False`, as in pyvisa-sim: then the device's
    /// `selected_channel` property says which channel commands address.
    pub can_select: bool,
    /// The group's commands; dialogue and getter queries unformatted (as used when
    /// `can_select` is false).
    pub component: ComponentSpec,
    /// With `can_select`: per id, in `ids` order, the dialogues and getters with
    /// `{ch_id}` replaced by that id.
    pub by_id: Vec<ChannelQueries>,
}

/// Dialogues and getters of a channel group specialised for one id.
#[derive(Debug, Default)]
pub(super) struct ChannelQueries {
    /// Formatted query to dialogue.
    pub dialogues: HashMap<String, DialogueSpec>,
    /// Formatted query to getter.
    pub getters: HashMap<String, GetterSpec>,
}

/// pyvisa-sim's `to_bytes` on text: the two-character escapes `\r` and `\n` become the
/// characters.
pub(super) fn unescape(text: &str) -> String {
    text.replace("\\r", "\r").replace("\\n", "\n")
}
