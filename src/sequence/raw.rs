//! The sequence file exactly as written: serde types that mirror the YAML.
//!
//! Deserialisation (serde-saphyr) rejects unknown keys, wrong types and malformed durations
//! with the file position of the offending node. Fields that later checks must point at are
//! wrapped in [`Spanned`]; [`super::compile`] turns this raw tree into the validated
//! [`super::Sequence`].

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
pub use serde_saphyr::Spanned;

use super::duration::parse_duration;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSequence {
    /// Run name; defaults to the file stem.
    pub name: Option<Spanned<String>>,
    /// Free-form metadata copied into the run log.
    pub metadata: Option<serde_json::Value>,
    /// The single instrument.
    pub instrument: Option<Spanned<RawInstrument>>,
    /// Several named instruments.
    pub instruments: Option<Spanned<OrderedMap<RawInstrument>>>,
    /// Commands run once before the steps.
    pub setup: Option<Spanned<RawHook>>,
    /// The steps, run one after another.
    pub steps: Option<Spanned<Vec<RawStep>>>,
    /// Commands that always run at the end.
    pub teardown: Option<Spanned<RawHook>>,
    /// What a failed point does to the run.
    #[serde(default)]
    pub on_error: OnError,
    /// Run-wide default of a step's `retries`.
    pub retries: Option<Spanned<Count>>,
    /// Run-wide default of a step's `retry_on`.
    pub retry_on: Option<Vec<RetryOn>>,
}

/// Failures retried besides broken connections (`retry_on:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetryOn {
    /// A poll that did not reach its condition in time.
    Timeout,
    /// A reply that differed from `expect`.
    Mismatch,
}

/// What a failed point does to the rest of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Dispatch no new points, let in-flight ones finish, run teardown.
    #[default]
    Stop,
    /// Record the failure and go on.
    Continue,
}

/// Which plain (string) commands wait for one reply line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyRule {
    /// Commands whose header or text ends in `?`.
    #[default]
    Queries,
    /// Every command.
    Always,
    /// No command (replies only through explicit `query:`).
    Never,
}

/// One instrument's connection settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstrument {
    /// `TCPIP::host::port::SOCKET` or `host:port`.
    pub address: Option<Spanned<String>>,
    /// Pool size.
    pub max_connections: Option<Spanned<Count>>,
    /// Appended to every command.
    pub write_termination: Option<String>,
    /// Ends every reply line.
    pub read_termination: Option<Spanned<String>>,
    /// Which plain commands expect a reply.
    pub reply: Option<ReplyRule>,
    /// Per-command reply timeout.
    pub timeout: Option<Spanned<Dur>>,
    /// Timeout for opening one connection.
    pub connect_timeout: Option<Spanned<Dur>>,
    /// Commands sent on every new connection.
    pub on_connect: Option<Vec<Spanned<RawCommand>>>,
    /// Dial attempts before giving up on a lost connection.
    pub reconnect_attempts: Option<Spanned<Count>>,
    /// What `--sim` simulates for this instrument.
    pub sim: Option<RawSim>,
}

/// An instrument's `sim:` settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSim {
    /// pyvisa-sim device file, relative to the sequence file.
    pub device: Spanned<String>,
    /// Device to use from a file that describes several.
    pub name: Option<String>,
}

/// One step of the sequence.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// Unique name; point ids are `name/index`.
    pub name: Spanned<String>,
    /// Which instrument (required with `instruments:`).
    pub instrument: Option<Spanned<String>>,
    /// Sweep variables, in file order.
    pub sweep: Option<OrderedMap<Spanned<RawAxis>>>,
    /// How the variables combine.
    pub mode: Option<RawMode>,
    /// How many times the whole point list runs.
    pub repeat: Option<Spanned<Count>>,
    /// Max points of this step in flight.
    pub concurrency: Option<Spanned<Count>>,
    /// Commands run in order on one connection for each point.
    pub commands: Spanned<Vec<Spanned<RawCommand>>>,
    /// How many times a failed point is run again.
    pub retries: Option<Spanned<Count>>,
    /// Failures retried besides broken connections.
    pub retry_on: Option<Vec<RetryOn>>,
}

/// `mode:` of a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawMode {
    /// Cartesian product, first key outermost.
    Product,
    /// Element-wise, equal lengths.
    Zip,
}

/// `setup:`/`teardown:`: a command list, or a map instrument name -> command list.
#[derive(Debug)]
pub enum RawHook {
    /// Commands for the only instrument.
    List(Vec<Spanned<RawCommand>>),
    /// Commands per named instrument.
    PerInstrument(OrderedMap<Vec<Spanned<RawCommand>>>),
}

impl<'de> Deserialize<'de> for RawHook {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HookVisitor;
        impl<'de> Visitor<'de> for HookVisitor {
            type Value = RawHook;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of commands, or a map of instrument name to a list of commands")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawHook, A::Error> {
                Vec::deserialize(SeqAccessDeserializer::new(seq)).map(RawHook::List)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawHook, A::Error> {
                OrderedMap::deserialize(MapAccessDeserializer::new(map)).map(RawHook::PerInstrument)
            }
        }
        d.deserialize_any(HookVisitor)
    }
}

/// A mapping that keeps the file's key order and each key's position.
#[derive(Debug)]
pub struct OrderedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(OrderedMap(entries))
            }
        }
        d.deserialize_map(MapVisitor(PhantomData))
    }
}

/// A duration written with a unit (`50ms`, `2s`); a bare number is rejected with a hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DurVisitor;
        impl Visitor<'_> for DurVisitor {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration with a unit, such as `50ms` or `2s`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "bad duration `{v}`: it has no unit; write `{v}s` or `{v}ms`"
                )))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "bad duration `{v}`: it has no unit; write `{v}s` or `{v}ms`"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "bad duration `{v}`: it has no unit; write `{v}s` or `{v}ms`"
                )))
            }
        }
        d.deserialize_any(DurVisitor)
    }
}

/// A whole number (`max_connections`, `num`, `repeat`, `concurrency`); range checks are
/// done by [`super::compile`], which can say which key is out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub i64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(ScalarVisitor)? {
            Scalar::Num(Num::Int(i)) => Ok(Count(i)),
            Scalar::Num(Num::Float(f)) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(Count(f as i64)),
            Scalar::Num(Num::Float(f)) => Err(de::Error::custom(format!(
                "expected a whole number, found `{f}`"
            ))),
            Scalar::Text(t) => Err(de::Error::custom(format!(
                "expected a whole number, found `{t}`"
            ))),
        }
    }
}

/// A number as written: integer or float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// Written as an integer.
    Int(i64),
    /// Written with a point or exponent.
    Float(f64),
}

impl Num {
    /// The value as a float.
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// A scalar in a sweep list or a reply to compare with: number or text.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A number.
    Num(Num),
    /// Text (also booleans, kept as written).
    Text(String),
}

impl Scalar {
    /// The scalar as text, as an instrument would send it.
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Num(Num::Int(i)) => i.to_string(),
            Scalar::Num(Num::Float(f)) => super::value::Value::Float(*f).to_string(),
            Scalar::Text(s) => s.clone(),
        }
    }
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a string")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Num(Num::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        i64::try_from(v)
            .map(|v| Scalar::Num(Num::Int(v)))
            .map_err(|_| E::custom(format!("`{v}` is too large")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Num(Num::Float(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_owned()))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(ScalarVisitor)? {
            Scalar::Num(n) => Ok(n),
            Scalar::Text(t) => Err(de::Error::custom(format!("expected a number, found `{t}`"))),
        }
    }
}

/// One sweep variable: a list, or a range map.
#[derive(Debug)]
pub enum RawAxis {
    /// Explicit values.
    List(Vec<Spanned<Scalar>>),
    /// `{start, stop, num}`, `{start, stop, step}` or `{start, stop, num, log: true}`.
    Range(Box<RawRange>),
}

/// The keys of a range map; which combination is valid is checked by [`super::compile`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRange {
    /// First value.
    pub start: Spanned<Num>,
    /// Last value (or bound for `step`).
    pub stop: Spanned<Num>,
    /// Number of points.
    pub num: Option<Spanned<Count>>,
    /// Increment.
    pub step: Option<Spanned<Num>>,
    /// Geometric spacing.
    pub log: Option<Spanned<bool>>,
}

impl<'de> Deserialize<'de> for RawAxis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct AxisVisitor;
        impl<'de> Visitor<'de> for AxisVisitor {
            type Value = RawAxis;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of values or a range such as `{start: 0, stop: 1, num: 11}`")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawAxis, A::Error> {
                Vec::deserialize(SeqAccessDeserializer::new(seq)).map(RawAxis::List)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawAxis, A::Error> {
                RawRange::deserialize(MapAccessDeserializer::new(map))
                    .map(|r| RawAxis::Range(Box::new(r)))
            }
        }
        d.deserialize_any(AxisVisitor)
    }
}

/// One command: a plain string, or a map with exactly one of `write`, `query`, `poll`, `wait`.
#[derive(Debug)]
pub enum RawCommand {
    /// Plain text; the instrument's `reply` rule decides whether a reply is read.
    Plain(String),
    /// The map form.
    Map(Box<RawCommandMap>),
}

/// The keys of a command map; which combination is valid is checked by [`super::compile`].
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCommandMap {
    /// Send, read no reply.
    pub write: Option<Spanned<String>>,
    /// Send, read one reply line.
    pub query: Option<Spanned<String>>,
    /// Query repeatedly until a condition holds.
    pub poll: Option<Spanned<String>>,
    /// Pause on this connection.
    pub wait: Option<Spanned<Dur>>,
    /// Name under which the reply is stored in `values`.
    #[serde(rename = "as")]
    pub as_name: Option<Spanned<String>>,
    /// Required reply of a query.
    pub expect: Option<Spanned<Scalar>>,
    /// Condition that ends a poll.
    pub until: Option<Spanned<RawUntil>>,
    /// Pause between poll queries.
    pub every: Option<Spanned<Dur>>,
    /// Longest time a poll may take.
    pub timeout: Option<Spanned<Dur>>,
}

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CommandVisitor;
        impl<'de> Visitor<'de> for CommandVisitor {
            type Value = RawCommand;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a command string, or a map with one of `write`, `query`, `poll`, `wait`",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCommand, E> {
                Ok(RawCommand::Plain(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawCommand, A::Error> {
                RawCommandMap::deserialize(MapAccessDeserializer::new(map))
                    .map(|m| RawCommand::Map(Box::new(m)))
            }
        }
        d.deserialize_any(CommandVisitor)
    }
}

/// `until:` of a poll: exactly one condition (`within` goes with `of`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUntil {
    /// Reply equals this text.
    pub equals: Option<Spanned<Scalar>>,
    /// Reply matches this regular expression.
    pub matches: Option<Spanned<String>>,
    /// Numeric reply within this tolerance of `of`.
    pub within: Option<Spanned<f64>>,
    /// Target of `within`: a number or `"{var}"`.
    pub of: Option<Spanned<Scalar>>,
    /// Numeric reply above this (a number or `"{var}"`).
    pub above: Option<Spanned<Scalar>>,
    /// Numeric reply below this (a number or `"{var}"`).
    pub below: Option<Spanned<Scalar>>,
}
