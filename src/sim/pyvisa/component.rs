//! What device and channel commands share: answers to dialogues and getters, property
//! validation, and stored values that may ramp.
//!
//! [`super::device::PyDevice`] and [`super::channels`] call these while matching one
//! command; the outcome is a [`Hit`]. pyvisa-sim sometimes raises instead of answering
//! (a getter without `r`, a value its format cannot take); that is [`Found::Crash`], which
//! the device answers with the command error and logs as a warning.

use std::cmp::Ordering;
use std::time::{Duration, Instant};

use super::pyfmt::{self, PyError, PyValue};
use super::random::{self, Rng};
use super::spec::{DialogueSpec, GetterSpec, PropertySpec, Reply, Specs};

/// What matching one command produced.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Found {
    /// A reply message (possibly empty: an empty line is still sent).
    Reply(String),
    /// pyvisa-sim's `NoResponse`: nothing is sent.
    Silent,
    /// pyvisa-sim would raise here; the text says why (for the warning).
    Crash(String),
}

impl From<Reply> for Found {
    fn from(reply: Reply) -> Found {
        reply.map_or(Found::Silent, Found::Reply)
    }
}

/// A matched command: what it answers and the delay of the item that matched.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Hit {
    /// The answer.
    pub found: Found,
    /// The matched item's extension `delay:`.
    pub delay: Duration,
}

impl Hit {
    /// A hit answering `found` after `delay`.
    pub fn new(found: impl Into<Found>, delay: Duration) -> Hit {
        Hit {
            found: found.into(),
            delay,
        }
    }

    /// Python truthiness of pyvisa-sim's return value, which decides whether a channel
    /// group's answer ends the search: `None` and empty bytes do not; `NoResponse` does.
    pub fn is_truthy(&self) -> bool {
        !matches!(&self.found, Found::Reply(text) if text.is_empty())
    }
}

/// The answer of a dialogue.
pub(super) fn dialogue(spec: &DialogueSpec, rng: &mut Rng) -> Hit {
    let found = match &spec.reply {
        None => Found::Silent,
        Some(reply) if reply.contains("RANDOM") => match random::respond(reply, rng) {
            Ok(text) => Found::Reply(text),
            Err(why) => Found::Crash(format!("dialogue reply `{reply}`: {why}")),
        },
        Some(reply) => Found::Reply(reply.clone()),
    };
    Hit::new(found, spec.delay)
}

/// The answer of a getter reading `value` of `property`.
pub(super) fn getter(spec: &GetterSpec, property: &str, value: &PyValue, rng: &mut Rng) -> Hit {
    let found = match &spec.template {
        None => Found::Crash(format!("the getter of `{property}` has no `r`")),
        Some(template) if template.contains("RANDOM") => match random::respond(template, rng) {
            Ok(text) => Found::Reply(text),
            Err(why) => Found::Crash(format!("the getter of `{property}`: {why}")),
        },
        Some(template) => match pyfmt::format(template, value) {
            Ok(text) => Found::Reply(text),
            Err(why) => Found::Crash(format!(
                "the getter of `{property}` cannot format `{}` with `{template}`: {why}",
                value.to_py_string()
            )),
        },
    };
    Hit::new(found, spec.delay)
}

/// Why a value was refused for a property (pyvisa-sim's `ValueError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The value does not convert to the property's type.
    #[error("`{shown}` is not a valid {ty}: {cause}")]
    Convert {
        /// The value, as Python's `str` writes it.
        shown: String,
        /// The type's name.
        ty: &'static str,
        /// Python's error.
        cause: PyError,
    },
    /// Below `min`.
    #[error("`{shown}` is less than the minimum `{min}`")]
    BelowMin {
        /// The value, as Python's `str` writes it.
        shown: String,
        /// The minimum, likewise.
        min: String,
    },
    /// Above `max`.
    #[error("`{shown}` is more than the maximum `{max}`")]
    AboveMax {
        /// The value, as Python's `str` writes it.
        shown: String,
        /// The maximum, likewise.
        max: String,
    },
    /// Not one of `valid`.
    #[error("`{shown}` is not one of {}", quoted(valid))]
    NotValid {
        /// The value, as Python's `str` writes it.
        shown: String,
        /// The valid values, likewise.
        valid: Vec<String>,
    },
}

/// `` `a`, `b` ``.
fn quoted(values: &[String]) -> String {
    let list: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
    list.join(", ")
}

impl PropertySpec {
    /// pyvisa-sim's `validate_value`: without specs the value as it comes, else converted
    /// to the type and checked against `min`, `max` and `valid`. The error says why it was
    /// refused (pyvisa-sim's `ValueError`).
    pub fn validate(&self, value: PyValue) -> Result<PyValue, Refused> {
        let Some(specs) = &self.specs else {
            return Ok(value);
        };
        let shown = value.to_py_string();
        let value = value.convert(specs.ty).map_err(|cause| Refused::Convert {
            shown,
            ty: specs.ty.name(),
            cause,
        })?;
        check_range(specs, &value)?;
        Ok(value)
    }
}

/// The limits of `specs` applied to a value already of their type.
fn check_range(specs: &Specs, value: &PyValue) -> Result<(), Refused> {
    let shown = || value.to_py_string();
    if let Some(min) = &specs.min
        && value.py_cmp(min) == Some(Ordering::Less)
    {
        return Err(Refused::BelowMin {
            shown: shown(),
            min: min.to_py_string(),
        });
    }
    if let Some(max) = &specs.max
        && value.py_cmp(max) == Some(Ordering::Greater)
    {
        return Err(Refused::AboveMax {
            shown: shown(),
            max: max.to_py_string(),
        });
    }
    let valid = specs.valid.is_empty() || specs.valid.iter().any(|v| py_eq(value, v));
    if !valid {
        return Err(Refused::NotValid {
            shown: shown(),
            valid: specs.valid.iter().map(PyValue::to_py_string).collect(),
        });
    }
    Ok(())
}

/// Python's `a == b` for values of one type (a NaN equals nothing, as in a set lookup of
/// a parsed NaN).
fn py_eq(a: &PyValue, b: &PyValue) -> bool {
    let nan = |v: &PyValue| matches!(v, PyValue::Float(f) if f.is_nan());
    !nan(a) && !nan(b) && a.py_cmp(b) == Some(Ordering::Equal)
}

/// Python's `str()` of what stringparser returns for several fields (or none): a list
/// `[1, 'a']` when the names are the positions `0..n`, else a dict `{'ch_id': '1'}`.
pub(super) fn fields_str(fields: &[(String, PyValue)]) -> String {
    let is_list = !fields.is_empty()
        && fields
            .iter()
            .enumerate()
            .all(|(i, (n, _))| *n == i.to_string());
    if is_list {
        let items: Vec<String> = fields.iter().map(|(_, v)| v.py_repr()).collect();
        return format!("[{}]", items.join(", "));
    }
    let items: Vec<String> = fields
        .iter()
        .map(|(n, v)| format!("{}: {}", PyValue::Str(n.clone()).py_repr(), v.py_repr()))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// A property's stored value, possibly on its way to a new one (extension `ramp:`).
#[derive(Debug, Clone)]
pub(super) struct Slot {
    /// The value last set (a ramp's target).
    value: PyValue,
    /// The ramp towards `value`, while one is running or has run.
    ramp: Option<Ramp>,
}

/// A linear move from `from` to the slot's value.
#[derive(Debug, Clone, Copy)]
struct Ramp {
    /// Where the ramp started.
    from: f64,
    /// When it started.
    start: Instant,
    /// How long it takes (|Δ| / rate).
    duration: Duration,
}

impl Slot {
    /// A value at rest.
    pub fn new(value: PyValue) -> Slot {
        Slot { value, ramp: None }
    }

    /// The value at `now`: a ramping value between its start and its target, else the value.
    pub fn read(&self, now: Instant) -> PyValue {
        let (Some(ramp), PyValue::Float(target)) = (self.ramp, &self.value) else {
            return self.value.clone();
        };
        let elapsed = now.saturating_duration_since(ramp.start);
        if elapsed >= ramp.duration {
            return self.value.clone();
        }
        let fraction = elapsed.as_secs_f64() / ramp.duration.as_secs_f64();
        PyValue::Float(ramp.from + (target - ramp.from) * fraction)
    }

    /// Stores a validated value at `now`; with a `rate` (units per second) a float value is
    /// reached by ramping from the value read at `now`.
    pub fn write(&mut self, value: PyValue, rate: Option<f64>, now: Instant) {
        let from = match self.read(now) {
            PyValue::Float(f) => Some(f),
            _ => None,
        };
        self.ramp = match (rate, from, &value) {
            (Some(rate), Some(from), PyValue::Float(to))
                if from.is_finite() && to.is_finite() && (to - from).abs() / rate > 0.0 =>
            {
                let secs = (to - from).abs() / rate;
                Some(Ramp {
                    from,
                    start: now,
                    duration: Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX),
                })
            }
            _ => None,
        };
        self.value = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A float property from 0 ramping at 2 units/s.
    fn ramping() -> Slot {
        Slot::new(PyValue::Float(0.0))
    }

    fn float(v: &PyValue) -> f64 {
        match v {
            PyValue::Float(f) => *f,
            other => panic!("not a float: {other:?}"),
        }
    }

    /// A ramp moves linearly and stops at its target; re-targeting starts from where it is.
    #[test]
    fn ramp_at_several_instants() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut slot = ramping();
        slot.write(PyValue::Float(10.0), Some(2.0), t0);
        let cases = [(0, 0.0), (1, 2.0), (2, 4.0), (5, 10.0), (60, 10.0)];
        for (at, want) in cases {
            let got = float(&slot.read(t0 + s(at)));
            assert!((got - want).abs() < 1e-9, "at {at}s: {got} != {want}");
        }
        // Mid-ramp at 4.0 (t0+2s), back down to 0: from 4.0, 2 s to go.
        slot.write(PyValue::Float(0.0), Some(2.0), t0 + s(2));
        for (at, want) in [(2, 4.0), (3, 2.0), (4, 0.0), (9, 0.0)] {
            let got = float(&slot.read(t0 + s(at)));
            assert!((got - want).abs() < 1e-9, "at {at}s: {got} != {want}");
        }
        // Before its start (an earlier instant), a ramp reads its start value.
        slot.write(PyValue::Float(8.0), Some(4.0), t0 + s(10));
        assert!((float(&slot.read(t0)) - 0.0).abs() < 1e-9);
        assert!((float(&slot.read(t0 + s(11))) - 4.0).abs() < 1e-9);
    }

    /// Without a rate a value jumps.
    #[test]
    fn no_rate_jumps() {
        let t0 = Instant::now();
        let mut slot = ramping();
        slot.write(PyValue::Float(3.0), None, t0);
        assert!((float(&slot.read(t0)) - 3.0).abs() < 1e-12);
    }
}
