//! pyvisa-sim device files served over TCP.
//!
//! `sequencer sim --device FILE.yaml [--name DEVICE]` calls [`DeviceFile::load`] and serves
//! the result as the server's [`Blueprint`]: the device answers byte for byte as
//! pyvisa-sim's device would over a `TCPIP::host::port::SOCKET` resource. Files are read as
//! pyvisa-sim reads them (`PyYAML`'s `BaseLoader`: every scalar is text, converted later by
//! a property's `type`), and checked when loaded, every problem pointing at `file:line:col`.
//!
//! # Layout
//! - [`pyfmt`], [`strparse`]: Python's `str.format` and the `stringparser` package, the
//!   value semantics of getters and setters.
//! - `node.rs`: the YAML tree as `BaseLoader` sees it, with spans.
//! - `build.rs`, `build/parts.rs`: checks, from the tree to a `DeviceSpec` (`spec.rs`).
//! - `device.rs`: the device at run time (pyvisa-sim's `Device.write`), the [`Model`].
//! - `channels.rs`: channel groups at run time; `component.rs`: what both share
//!   (dialogues, getters, validation, ramping values); `random.rs`: `RANDOM` and jitter;
//!   `crash_log.rs`: the warnings where pyvisa-sim would raise, once per connection.
//!
//! # Extensions
//! Keys pyvisa-sim ignores, so a file using them still loads there:
//! - `delay: DURATION` on the device, a dialogue, a getter or a setter: the reply's delay
//!   is the device's plus that of every item that answered;
//! - `jitter: DURATION` and `seed: N` on the device: a uniform random `0..jitter` added to
//!   every message's delay; `seed` also fixes `RANDOM(...)` replies;
//! - `max_connections: N` on the device ([`Blueprint::max_connections`]);
//! - `greeting: TEXT` on the device ([`Blueprint::greeting`]): sent, with the reply
//!   termination, on every new connection before anything is read (the AMI 430 greets);
//! - `ramp: RATE` on a float property: after a set, the getter reads a value moving
//!   linearly, at RATE units per second, from where it was to the new value.
//!
//! # Differences from pyvisa-sim
//! - Where pyvisa-sim raises while answering (a getter without `r`, a value its reply
//!   format cannot take, a malformed `RANDOM(...)` reply, a device setter with several
//!   fields feeding a number), the command is answered with the command error and a warning
//!   names the property (once per connection and cause); the rest of the message is still
//!   served, where pyvisa-sim would drop it.
//! - A device without a `TCPIP SOCKET` eom is framed with the termination its other eoms
//!   agree on (`q` and `r` each), where pyvisa-sim would use LF; LF when they disagree or
//!   there are none. A warning says which (`build/eom.rs`).
//! - Some failures that would happen on every query are load errors here: a getter format
//!   that cannot take the property's default (when the value always has the default's
//!   type), a channel query with fields other than `{ch_id}`, `can_select: False` without a
//!   `selected_channel` property, an empty `TCPIP SOCKET` termination; so are `ids:`,
//!   `dialogues:` and the like that are not lists (pyvisa-sim iterates whatever it gets).
//! - `resources:` is ignored (and with it `channel_ids` overrides and other files); the
//!   device is chosen by name. Only that device is checked.
//! - A device setter with several fields (or none) stores Python's `str()` of the result,
//!   where pyvisa-sim stores the list or dict itself: the same for `{}` replies, not for
//!   replies with a format spec.
//! - pyvisa-sim takes each `write()` whole: `"A?\nB?\n"` written at once is the one message
//!   `A?\nB?`. Over TCP write boundaries do not exist, so the session ends a message at every
//!   termination.
//! - Error queues hold at most 10 000 messages in all, channel properties values for at
//!   most 4096 ids, a `RANDOM` reply at most 100 000 values, the replies to one message at
//!   most [`MAX_REPLY_BYTES`](crate::sim::model::MAX_REPLY_BYTES); channel groups expand to
//!   at most 100 000 queries (a load error past it).
//! - Channel ids Python finds equal across types (`1` and `1.0`) are different channels.
//! - Ints are 64-bit and digits ASCII, as in [`pyfmt`] and [`strparse`].

pub mod pyfmt;
pub mod strparse;

mod build;
mod channels;
mod component;
mod crash_log;
mod device;
#[cfg(test)]
mod load_tests;
mod node;
mod random;
mod spec;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use self::build::Cx;
use self::device::PyDevice;
use self::spec::DeviceSpec;
use crate::sequence::Eom;
use crate::sim::model::{Blueprint, Counters, Framing, Model};
use crate::yaml::{InvalidFile, MAX_SHOWN};

/// Largest device file read: a device file lists commands, a few kilobytes; a bigger file
/// is the wrong file.
const MAX_BYTES: u64 = 1 << 20;

/// Why a device file's device cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The file could not be read at all.
    #[error("cannot read device file `{}`", path.display())]
    Read {
        /// The path as given.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file is not valid: the problems point into it.
    #[error(transparent)]
    Invalid(Box<InvalidFile>),
    /// No device of the name asked for.
    #[error(
        "`{file}` has no device `{name}`; its devices: {names}; choose one with `--name \
         DEVICE` (in a sequence: `sim: {{device: FILE, name: DEVICE}}`)"
    )]
    NoDevice {
        /// The file, as named.
        file: String,
        /// The name asked for.
        name: String,
        /// The file's devices: `` `a`, `b` ``.
        names: String,
    },
    /// No name asked for, and several devices.
    #[error(
        "`{file}` defines {count} devices ({names}); choose one with `--name DEVICE` (in a \
         sequence: `sim: {{device: FILE, name: DEVICE}}`)"
    )]
    Several {
        /// The file, as named.
        file: String,
        /// How many devices it defines.
        count: usize,
        /// The file's devices: `` `a`, `b` ``.
        names: String,
    },
    /// The checks refused the device without saying why (a bug).
    #[error("device `{device}` of `{file}` was refused without a reason")]
    Unexplained {
        /// The file, as named.
        file: String,
        /// The device.
        device: String,
    },
}

impl From<DeviceError> for crate::Error {
    fn from(err: DeviceError) -> Self {
        match err {
            DeviceError::Read { path, source } => crate::Error::ReadDevice { path, source },
            DeviceError::Invalid(problems) => crate::Error::Sequence(problems),
            DeviceError::Unexplained { .. } => crate::Error::Internal(err.to_string()),
            other => crate::Error::Input(Box::new(other)),
        }
    }
}

/// One device of a pyvisa-sim device file, checked and ready to serve.
#[derive(Debug, Clone)]
pub struct DeviceFile {
    /// The device, shared by every model built from it.
    spec: Arc<DeviceSpec>,
    /// The file it was read from, as given, for the framing note.
    file: String,
}

impl DeviceFile {
    /// Reads the file at `path` and picks device `name`, or its only device.
    ///
    /// A file with several devices needs `name`; an unknown name is an error listing the
    /// file's devices. An invalid file is a [`DeviceError::Invalid`] whose problems point
    /// into the file.
    pub fn load(path: &Path, name: Option<&str>) -> Result<DeviceFile, DeviceError> {
        let text = crate::yaml::read_text(path, MAX_BYTES, "a device file").map_err(|source| {
            DeviceError::Read {
                path: path.to_owned(),
                source,
            }
        })?;
        DeviceFile::parse(&text, &path.display().to_string(), name)
    }

    /// Same from the file's text; `file` names it in errors.
    pub fn parse(text: &str, file: &str, name: Option<&str>) -> Result<DeviceFile, DeviceError> {
        let invalid = |problems| {
            DeviceError::Invalid(Box::new(
                InvalidFile::new(file, text, problems)
                    .with_consequence("the device was not loaded"),
            ))
        };
        let root = node::parse(text).map_err(|p| invalid(vec![p]))?;
        let mut cx = Cx::new();
        let devices = cx.top(&root);
        if !cx.problems.is_empty() {
            return Err(invalid(cx.problems));
        }
        let devices = devices.unwrap_or_default();
        let names = || {
            let list: Vec<String> = devices
                .iter()
                .map(|(k, _)| format!("`{}`", k.text))
                .collect();
            list.join(", ")
        };
        let chosen = match name {
            Some(name) => devices
                .iter()
                .find(|(k, _)| k.text == name)
                .ok_or_else(|| DeviceError::NoDevice {
                    file: file.to_owned(),
                    name: name.to_owned(),
                    names: names(),
                })?,
            None => match devices {
                [only] => only,
                _ => {
                    return Err(DeviceError::Several {
                        file: file.to_owned(),
                        count: devices.len(),
                        names: names(),
                    });
                }
            },
        };
        let spec = cx.device(&chosen.0, &chosen.1);
        // Capped like problems: a generated file can have thousands of unknown keys.
        for warning in cx.warnings.iter().take(MAX_SHOWN) {
            tracing::warn!(file, "{warning}");
        }
        if let Some(more) = cx.warnings.len().checked_sub(MAX_SHOWN).filter(|&n| n > 0) {
            tracing::warn!(file, "... and {more} more warnings, not shown");
        }
        match spec {
            Some(spec) if cx.problems.is_empty() => Ok(DeviceFile {
                spec: Arc::new(spec),
                file: file.to_owned(),
            }),
            _ if cx.problems.is_empty() => Err(DeviceError::Unexplained {
                file: file.to_owned(),
                device: chosen.0.text.clone(),
            }),
            _ => Err(invalid(cx.problems)),
        }
    }

    /// The device's name (its key under `devices:`).
    pub fn name(&self) -> &str {
        &self.spec.name
    }
}

impl Blueprint for DeviceFile {
    fn framing(&self) -> Framing {
        self.spec.framing.clone()
    }

    /// The user's terminations, framed exactly, as the file's own would be.
    fn framing_with(&self, eom: &Eom) -> Framing {
        Framing {
            lenient: false,
            ..Framing::of(eom)
        }
    }

    fn framing_note(&self) -> Option<String> {
        let note = self.spec.framing_note.as_ref()?;
        Some(format!("`{}`: {note}", self.file))
    }

    fn greeting(&self) -> Option<String> {
        self.spec.greeting.clone()
    }

    fn max_connections(&self) -> Option<usize> {
        self.spec.max_connections
    }

    fn build(&self, _counters: Arc<Counters>) -> Box<dyn Model> {
        Box::new(PyDevice::new(Arc::clone(&self.spec)))
    }
}
