//! One device of a pyvisa-sim file at run time: pyvisa-sim's `Device.write`, as a [`Model`].
//!
//! The server hands [`PyDevice::handle`] each message (its termination already removed).
//! The message is split on the device's delimiter and each part matched exactly, with no
//! trimming, in pyvisa-sim's order: dialogues, getters, status registers, error queues,
//! setters, then each channel group. Each part's answer is its own reply message; an
//! unmatched part gets the command error (and sets its status register bits and queues its
//! error messages); a `NoResponse` sends nothing.
//!
//! Where pyvisa-sim would raise instead (a getter without `r`, a reply its format cannot
//! take, a setter pattern whose fields it cannot use), the part is answered like an
//! unmatched one and a warning names the property (once per connection, see
//! [`CrashLog`]); pyvisa-sim would also drop the rest of the message, this model goes on
//! with the next part. Once the replies to one message pass
//! [`MAX_REPLY_BYTES`](crate::sim::model::MAX_REPLY_BYTES), the rest of it is dropped.
//!
//! The reply delay is the device's `delay:` plus the `delay:` of every item that answered,
//! plus a uniform draw in `0..jitter`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::channels::{ChannelState, DeviceCx};
use super::component::{self, Found, Hit, Slot};
use super::crash_log::CrashLog;
use super::pyfmt::{PyType, PyValue};
use super::random::{self, Rng};
use super::spec::{DeviceSpec, ErrorSpec};
use super::strparse::Parsed;
use crate::sim::model::{Model, ReplyBudget, Response};

/// Most messages the error queues of a device hold in all; further errors are not queued
/// (pyvisa-sim has no limit, but a client looping on a bad command must not grow the
/// instrument without bound, nor a file with thousands of queues make each error cost
/// thousands of steps).
const MAX_QUEUED: usize = 10_000;

/// The status registers and error queues of a device.
#[derive(Debug, Clone)]
pub(super) struct ErrorState {
    /// Current value of each register, in [`ErrorSpec::registers`] order; cleared on read.
    registers: Vec<i64>,
    /// Pending messages of each queue, oldest first.
    queues: Vec<VecDeque<String>>,
    /// Messages pending in all queues, at most [`MAX_QUEUED`].
    queued: usize,
}

impl ErrorState {
    /// Registers at 0, queues empty.
    pub fn new(spec: &ErrorSpec) -> ErrorState {
        ErrorState {
            registers: vec![0; spec.registers.len()],
            queues: vec![VecDeque::new(); spec.queues.len()],
            queued: 0,
        }
    }

    /// pyvisa-sim's `error_response("command_error")`: sets the register bits, queues the
    /// messages, and returns the command error reply.
    pub fn command_error(&mut self, spec: &ErrorSpec) -> Found {
        const KEY: &str = "command_error";
        if let Some(&i) = spec.register_errors.get(KEY)
            && let Some(bits) = spec.registers[i].bits.get(KEY)
        {
            self.registers[i] |= bits;
        }
        for (queue, pending) in spec.queues.iter().zip(&mut self.queues) {
            if self.queued >= MAX_QUEUED {
                break;
            }
            if let Some(message) = queue.messages.get(KEY) {
                pending.push_back(message.clone());
                self.queued += 1;
            }
        }
        Found::from(spec.command_error.clone())
    }

    /// A status register or error queue read by `query`, if one is.
    fn read(&mut self, spec: &ErrorSpec, query: &str) -> Option<String> {
        if let Some(&i) = spec.register_queries.get(query) {
            return Some(std::mem::take(&mut self.registers[i]).to_string());
        }
        let &i = spec.queue_queries.get(query)?;
        Some(match self.queues[i].pop_front() {
            Some(message) => {
                self.queued -= 1;
                message
            }
            None => spec.queues[i].default.clone(),
        })
    }
}

/// The simulated device: its spec and everything commands change.
#[derive(Debug)]
pub(super) struct PyDevice {
    /// The checked device file, shared with the blueprint.
    spec: Arc<DeviceSpec>,
    /// Device-level property values, in spec order; changed by setters.
    values: Vec<Slot>,
    /// Per channel group, in spec order: its selection and values.
    channels: Vec<ChannelState>,
    /// Status registers and error queues; changed by errors and their queries.
    errors: ErrorState,
    /// Draws for `RANDOM` replies.
    random: Rng,
    /// Draws for `jitter:` (a separate stream, so jitter does not shift `RANDOM` values).
    jitter: Rng,
    /// Which crash warnings each connection has had; written by `handle` and `closed`.
    crashes: CrashLog,
}

impl PyDevice {
    /// A device in its initial state, seeded with the file's `seed:` or at random.
    pub fn new(spec: Arc<DeviceSpec>) -> PyDevice {
        let seed = spec.seed.unwrap_or_else(random::entropy);
        PyDevice {
            values: spec
                .component
                .properties
                .iter()
                .map(|p| Slot::new(p.default.clone()))
                .collect(),
            channels: spec.channels.iter().map(ChannelState::new).collect(),
            errors: ErrorState::new(&spec.errors),
            random: Rng::new(seed, 0),
            jitter: Rng::new(seed, 1),
            crashes: CrashLog::default(),
            spec,
        }
    }

    /// pyvisa-sim's `Device._match` for one part of a message.
    fn answer(&mut self, query: &str, now: Instant) -> Option<Hit> {
        let spec = Arc::clone(&self.spec);
        let device = &spec.component;
        if let Some(d) = device.dialogues.get(query) {
            return Some(component::dialogue(d, &mut self.random));
        }
        if let Some(g) = device.getters.get(query) {
            let property = &device.properties[g.property];
            let value = self.values[g.property].read(now);
            return Some(component::getter(
                g,
                &property.name,
                &value,
                &mut self.random,
            ));
        }
        if let Some(text) = self.errors.read(&spec.errors, query) {
            return Some(Hit::new(Found::Reply(text), Duration::ZERO));
        }
        if let Some(hit) = self.set(query, now) {
            return Some(hit);
        }
        let mut cx = DeviceCx {
            errors_spec: &spec.errors,
            errors: &mut self.errors,
            selected_channel: spec.selected_channel.map(|i| self.values[i].read(now)),
            rng: &mut self.random,
            now,
        };
        for (group, state) in spec.channels.iter().zip(&mut self.channels) {
            // pyvisa-sim goes on to the next group when the answer is falsy (empty).
            if let Some(hit) = state.answer(group, query, &mut cx)
                && hit.is_truthy()
            {
                return Some(hit);
            }
        }
        None
    }

    /// pyvisa-sim's `Component._match_setters`: a refused value answers `e`, or without
    /// one lets the next setter try.
    fn set(&mut self, query: &str, now: Instant) -> Option<Hit> {
        let spec = Arc::clone(&self.spec);
        for setter in &spec.component.setters {
            let Some(parsed) = setter.parser.parse(query) else {
                continue;
            };
            let property = &spec.component.properties[setter.property];
            let value = match parsed {
                Parsed::One(value) => value,
                // pyvisa-sim stores the list or dict itself; its `str()` stands in for it
                // (a `str` property converts it to just that, `int` and `float` raise).
                Parsed::Fields(fields) => {
                    if property.specs.as_ref().is_some_and(|s| s.ty != PyType::Str) {
                        let why = format!(
                            "the setter of `{}` has several fields (or none); pyvisa-sim \
                             cannot convert them to one number",
                            property.name
                        );
                        return Some(Hit::new(Found::Crash(why), setter.delay));
                    }
                    PyValue::Str(component::fields_str(&fields))
                }
            };
            match property.validate(value) {
                Ok(value) => {
                    self.values[setter.property].write(value, property.ramp, now);
                    return Some(Hit::new(setter.ok.clone(), setter.delay));
                }
                Err(why) => {
                    tracing::debug!(property = %property.name, "value refused: {why}");
                    if let Some(err) = &setter.err {
                        return Some(Hit::new(Found::Reply(err.clone()), setter.delay));
                    }
                }
            }
        }
        None
    }
}

impl Model for PyDevice {
    fn handle(&mut self, conn: u64, message: &str, now: Instant) -> Response {
        let spec = Arc::clone(&self.spec);
        // An empty delimiter does not split: the message is its one part.
        let pieces = if spec.delimiter.is_empty() {
            1
        } else {
            usize::MAX
        };
        let mut parts = message.splitn(pieces, spec.delimiter.as_str());
        let mut replies = Vec::new();
        let mut budget = ReplyBudget::new();
        let mut delay = spec.delay;
        while let Some(part) = parts.next() {
            let found = match self.answer(part, now) {
                Some(hit) => {
                    delay = delay.saturating_add(hit.delay);
                    hit.found
                }
                None => self.errors.command_error(&spec.errors),
            };
            let found = match found {
                Found::Crash(why) => {
                    self.crashes.crashed(&spec.name, conn, part, &why);
                    self.errors.command_error(&spec.errors)
                }
                other => other,
            };
            if let Found::Reply(text) = found {
                if !budget.admit(text.len()) {
                    ReplyBudget::warn_cut(conn, parts.count());
                    break;
                }
                replies.push(text);
            }
        }
        if !spec.jitter.is_zero() {
            delay = delay.saturating_add(self.jitter.below(spec.jitter));
        }
        Response { replies, delay }
    }

    fn closed(&mut self, conn: u64) {
        self.crashes.closed(&self.spec.name, conn);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Instant;

    use crate::sim::model::Counters;
    use crate::sim::model::{Blueprint, MAX_REPLY_BYTES};

    /// A device with a text property `l` and a number `n`.
    const TWO: &str = "spec: '1.1'
devices:
  d:
    error: ERROR
    properties:
      l:
        getter: {q: 'L?', r: '{}'}
        setter: {q: 'L {}', r: OK}
      n:
        default: '0'
        getter: {q: 'N?', r: '{}'}
        setter: {q: 'N {}'}
";

    /// A message repeating a getter of a big value gets replies up to `MAX_REPLY_BYTES`
    /// only: the part that would pass it is not answered, the parts after it are not
    /// carried out, and the next message is served as usual.
    #[test]
    fn replies_to_one_message_are_capped() {
        let file = super::super::tests::load(TWO, None);
        let mut model = file.build(Arc::new(Counters::default()));
        let now = Instant::now();
        let value = "x".repeat(1_000_000);
        let set = model.handle(1, &format!("L {value}"), now);
        assert_eq!(set.replies, ["OK"]);
        let message = format!("{}N 5", "L?;".repeat(40));
        let replies = model.handle(1, &message, now).replies;
        let bytes: usize = replies.iter().map(String::len).sum();
        assert!(bytes <= MAX_REPLY_BYTES, "{bytes} bytes");
        assert_eq!(replies.len(), 16);
        assert!(replies.iter().all(|r| *r == value));
        let after = model.handle(1, "N?;L?", now).replies;
        assert_eq!(after.len(), 2);
        assert_eq!(after[0], "0", "carried out after the cut");
    }

    /// The error queues of a device hold `MAX_QUEUED` messages in all, whichever queues
    /// they are in; reading one makes room for one more.
    #[test]
    fn error_queues_are_bounded_together() {
        let text = "spec: '1.1'\ndevices:\n  d:\n    error:\n      error_queue:\n\
                    \x20       - {q: 'A?', default: none, command_error: a}\n\
                    \x20       - {q: 'B?', default: none, command_error: b}\n";
        let file = super::super::tests::load(text, None);
        let mut model = file.build(Arc::new(Counters::default()));
        let now = Instant::now();
        let errors = vec!["X"; super::MAX_QUEUED].join(";");
        model.handle(1, &errors, now);
        let drain = |model: &mut Box<dyn crate::sim::Model>, query: &str| {
            let all = vec![query; super::MAX_QUEUED].join(";");
            let replies = model.handle(1, &all, now).replies;
            replies.iter().filter(|r| *r != "none").count()
        };
        // Full: a further error is not queued; reading one makes room for one (in `A`,
        // the first queue of the error).
        let half = super::MAX_QUEUED / 2;
        model.handle(1, "X;A?;X", now);
        assert_eq!(drain(&mut model, "A?"), half);
        assert_eq!(drain(&mut model, "B?"), half);
    }
}
