//! One sweep variable's axis: an explicit list or a formula (linspace, range, log).
//!
//! Part of [`super`]: the YAML layer builds axes with the validating constructors and maps
//! [`AxisError::field`] back to the offending key; [`super::Sweep`] reads values by index, so
//! an axis never stores its points.

use crate::sequence::value::Value;

/// Most points one formula axis may have: the bound of every point count
/// ([`crate::sequence::bounds::MAX_POINTS`], 10^12), well below 2^53, past which an index no
/// longer converts to `f64` exactly and neighbouring points would collide.
pub const MAX_AXIS_POINTS: u64 = crate::sequence::bounds::MAX_POINTS;

/// Relative tolerance (in steps) for a `range` stop to count as landing on the grid.
const GRID_TOLERANCE: f64 = 1e-9;

/// One sweep variable's axis.
///
/// Build it with the constructors, which validate; the variants are public for inspection.
#[derive(Debug, Clone, PartialEq)]
pub enum Axis {
    /// Explicit values, in order.
    List(Vec<Value>),
    /// `num` evenly spaced floats from `start` to `stop`, both included.
    Linspace {
        /// First value.
        start: f64,
        /// Last value (when `num > 1`).
        stop: f64,
        /// Number of points, at least 1.
        num: u64,
    },
    /// `start + i * step` for `i` in `0..num`.
    Range {
        /// First value.
        start: f64,
        /// Increment, never zero, pointing towards the stop.
        step: f64,
        /// Number of points, at least 1.
        num: u64,
        /// Values are [`Value::Int`] (all of start, stop and step were whole numbers).
        integers: bool,
    },
    /// `num` geometrically spaced floats from `start` to `stop`, both included.
    Log {
        /// First value, positive.
        start: f64,
        /// Last value, positive (when `num > 1`).
        stop: f64,
        /// Number of points, at least 1.
        num: u64,
    },
}

/// Why an axis definition is invalid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AxisError {
    /// `[]`.
    #[error("empty list: a sweep variable needs at least one value")]
    EmptyList,
    /// `num` below 1.
    #[error("`num` is `{num}`: it must be at least 1")]
    NumTooSmall {
        /// The value given.
        num: i64,
    },
    /// A range step of zero.
    #[error("`step` is 0: the range would never reach its stop")]
    ZeroStep,
    /// A range step whose sign points away from the stop.
    #[error("`step` `{}` points away from `stop`: going from `{}` to `{}` needs a {} step", num(*.step), num(*.start), num(*.stop), if stop > start { "positive" } else { "negative" })]
    StepAway {
        /// The range start.
        start: f64,
        /// The range stop.
        stop: f64,
        /// The offending step.
        step: f64,
    },
    /// A log sweep through zero or negative values.
    #[error("a log sweep needs positive `start` and `stop`, got `{}` and `{}`", num(*.start), num(*.stop))]
    LogNonPositive {
        /// The start given.
        start: f64,
        /// The stop given.
        stop: f64,
    },
    /// NaN or an infinity.
    #[error("`{field}` is `{}`: it must be a finite number", num(*.value))]
    NonFinite {
        /// Which key: `start`, `stop` or `step`.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// `stop - start` does not fit an `f64`.
    #[error("the span from `{}` to `{}` is too wide for a 64-bit float", num(*.start), num(*.stop))]
    SpanOverflow {
        /// The start given.
        start: f64,
        /// The stop given.
        stop: f64,
    },
    /// `num` above [`MAX_AXIS_POINTS`].
    #[error("`num` must be at most 10^12, got `{num}`")]
    NumTooLarge {
        /// The value given.
        num: i64,
    },
    /// A `step` so small that the range has more than [`MAX_AXIS_POINTS`] points.
    #[error("`step` gives more than 10^12 points")]
    TooManyPoints {
        /// Which key makes it too many: `step`.
        field: &'static str,
    },
}

/// A number as the user would read it in a message (the canonical `%.12g` text).
fn num(x: f64) -> Value {
    Value::Float(x)
}

impl AxisError {
    /// Which key of the YAML map the error is about: "num", "step", "start", "stop", or "" for
    /// the whole value.
    pub fn field(&self) -> &'static str {
        match self {
            AxisError::EmptyList | AxisError::SpanOverflow { .. } => "",
            AxisError::NumTooSmall { .. } | AxisError::NumTooLarge { .. } => "num",
            AxisError::ZeroStep | AxisError::StepAway { .. } => "step",
            AxisError::LogNonPositive { start, .. } => {
                if *start > 0.0 {
                    "stop"
                } else {
                    "start"
                }
            }
            AxisError::NonFinite { field, .. } | AxisError::TooManyPoints { field } => field,
        }
    }
}

/// Rejects NaN and infinities, naming the key.
fn finite(field: &'static str, value: f64) -> Result<(), AxisError> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(AxisError::NonFinite { field, value })
    }
}

/// Validates a `num` key.
fn point_count(num: i64) -> Result<u64, AxisError> {
    match u64::try_from(num) {
        Ok(0) | Err(_) => Err(AxisError::NumTooSmall { num }),
        Ok(n) if n > MAX_AXIS_POINTS => Err(AxisError::NumTooLarge { num }),
        Ok(n) => Ok(n),
    }
}

impl Axis {
    /// Explicit values; empty -> [`AxisError::EmptyList`].
    pub fn list(values: Vec<Value>) -> Result<Axis, AxisError> {
        if values.is_empty() {
            return Err(AxisError::EmptyList);
        }
        Ok(Axis::List(values))
    }

    /// {start, stop, num}: num points, both ends included (num == 1 -> just start).
    /// `value_i = start + (stop-start)*i/(num-1)`, computed by multiplication, not
    /// accumulation. Values are Float.
    pub fn linspace(start: f64, stop: f64, num: i64) -> Result<Axis, AxisError> {
        finite("start", start)?;
        finite("stop", stop)?;
        let num = point_count(num)?;
        if !(stop - start).is_finite() {
            return Err(AxisError::SpanOverflow { start, stop });
        }
        Ok(Axis::Linspace { start, stop, num })
    }

    /// {start, stop, step}: start, start+step, ... up to stop, inclusive when stop lands on
    /// the grid (within 1e-9 of a step, so 0..1 step 0.1 gives 11 points).
    ///
    /// step == 0 -> `ZeroStep`; step pointing away from stop -> `StepAway`; start == stop ->
    /// 1 point. `value_i = start + i*step`. When `integers` is true (start, stop, step were all
    /// YAML integers) values are [`Value::Int`], else Float; `integers` is ignored unless all
    /// three are whole numbers within ±2^53.
    #[expect(clippy::similar_names, reason = "`stop` and `step` are the YAML keys")]
    pub fn range(start: f64, stop: f64, step: f64, integers: bool) -> Result<Axis, AxisError> {
        finite("start", start)?;
        finite("stop", stop)?;
        finite("step", step)?;
        if step == 0.0 {
            return Err(AxisError::ZeroStep);
        }
        let span = stop - start;
        if !span.is_finite() {
            return Err(AxisError::SpanOverflow { start, stop });
        }
        if span != 0.0 && span.is_sign_positive() != step.is_sign_positive() {
            return Err(AxisError::StepAway { start, stop, step });
        }
        // `steps` is >= 0 here; a tiny step over a wide span can make it huge or infinite.
        let steps = (span / step + GRID_TOLERANCE).floor();
        if steps >= MAX_AXIS_POINTS as f64 {
            return Err(AxisError::TooManyPoints { field: "step" });
        }
        let whole = |x: f64| x.fract() == 0.0 && x.abs() <= MAX_AXIS_POINTS as f64;
        Ok(Axis::Range {
            start,
            step,
            num: steps as u64 + 1,
            integers: integers && whole(start) && whole(stop) && whole(step),
        })
    }

    /// {start, stop, num, log: true}: geometric spacing, both ends included; start <= 0 or
    /// stop <= 0 -> `LogNonPositive`; num < 1 -> `NumTooSmall`.
    pub fn log(start: f64, stop: f64, num: i64) -> Result<Axis, AxisError> {
        finite("start", start)?;
        finite("stop", stop)?;
        if start <= 0.0 || stop <= 0.0 {
            return Err(AxisError::LogNonPositive { start, stop });
        }
        let num = point_count(num)?;
        Ok(Axis::Log { start, stop, num })
    }

    /// Number of values.
    pub fn len(&self) -> u64 {
        match self {
            Axis::List(values) => values.len() as u64,
            Axis::Linspace { num, .. } | Axis::Range { num, .. } | Axis::Log { num, .. } => *num,
        }
    }

    /// True for an axis without values (only possible when built without the constructors).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `i`.
    ///
    /// # Panics
    /// When `i >= self.len()`.
    pub fn get(&self, i: u64) -> Value {
        let mut value = Value::Int(0);
        self.write(i, &mut value);
        value
    }

    /// The axis cut to one value, whether it takes text kept: a list keeps its first text
    /// value if it has one, else its first value; a formula its first point. For a sweep
    /// that stands in for one reported as invalid ([`super::Sweep::stand_in`]).
    pub(super) fn one_value(self) -> Axis {
        match self {
            Axis::List(mut values) => {
                let keep = values.iter().position(Value::is_text).unwrap_or(0);
                values.truncate(keep + 1);
                values.drain(..keep);
                Axis::List(values)
            }
            Axis::Linspace { start, stop, .. } => Axis::Linspace {
                start,
                stop,
                num: 1,
            },
            Axis::Range {
                start,
                step,
                integers,
                ..
            } => Axis::Range {
                start,
                step,
                num: 1,
                integers,
            },
            Axis::Log { start, stop, .. } => Axis::Log {
                start,
                stop,
                num: 1,
            },
        }
    }

    /// True when any value can be text (List with a Str).
    pub fn has_text(&self) -> bool {
        match self {
            Axis::List(values) => values.iter().any(Value::is_text),
            _ => false,
        }
    }

    /// Stores the value at `i` in `dst`, reusing its string buffer when both are text.
    pub(super) fn write(&self, i: u64, dst: &mut Value) {
        assert!(i < self.len(), "index {i} out of an axis of {}", self.len());
        let x = match self {
            Axis::List(values) => {
                let src = &values[i as usize];
                match (dst, src) {
                    (Value::Str(d), Value::Str(s)) => s.clone_into(d),
                    (dst, src) => *dst = src.clone(),
                }
                return;
            }
            Axis::Range {
                start,
                step,
                integers: true,
                ..
            } => {
                // Both are whole and within ±2^53, and so is every point up to the stop.
                *dst = Value::Int(*start as i64 + i.cast_signed() * *step as i64);
                return;
            }
            Axis::Range { start, step, .. } => start + i as f64 * step,
            Axis::Linspace { start, stop, num } => lerp(*start, *stop, i, *num),
            Axis::Log { start, stop, num } => {
                let exponent = lerp(start.log10(), stop.log10(), i, *num);
                // Return the ends exactly rather than 10^log10(x) with its rounding.
                match i {
                    0 => *start,
                    _ if i + 1 == *num => *stop,
                    _ => 10f64.powf(exponent),
                }
            }
        };
        *dst = Value::Float(x);
    }
}

/// Point `i` of `num` evenly spaced from `start` to `stop`; the ends are exact.
fn lerp(start: f64, stop: f64, i: u64, num: u64) -> f64 {
    if i == 0 {
        start
    } else if i + 1 == num {
        stop
    } else {
        start + (stop - start) * i as f64 / (num - 1) as f64
    }
}

#[cfg(test)]
mod tests;
