//! The sequence file exactly as written: serde types that mirror the YAML.
//!
//! Deserialisation (serde-saphyr) rejects unknown keys, wrong types and malformed durations
//! with the file position of the offending node. Fields that later checks must point at are
//! wrapped in [`Spanned`]; [`super::compile`] turns this raw tree into the validated
//! [`super::Sequence`].
//!
//! The same types derive [`JsonSchema`]: `sequencer schema` prints the file format from them,
//! so the schema cannot drift from what is read here. The `///` lines become the schema's
//! descriptions (an editor's hover help), so they are written for the person editing a
//! sequence. Commands are in [`command`], the scalar and wrapper types in [`values`]; they,
//! and the enums with a hand-written `Deserialize` here, describe exactly what they accept
//! (hand-written schemas in [`super::schema`], `#[schemars(untagged)]` here).

mod command;
mod conditions;
mod param;
mod values;

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

pub use command::{RawCommand, RawCommandMap, RawUntil, RawUntilAny};
pub use conditions::{RawAction, RawLoopAction, RawStopWhen};
pub use param::{ParamScope, RawParam, whole_reference};
pub use values::{Count, Dur, Num, OrderedMap, Scalar, Spanned};

use super::params::Param;
use super::value::Value;
use super::{bounds, name};

/// The whole file.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSequence {
    /// Run name, used in the run log and its default path; defaults to the file stem.
    pub name: Option<Spanned<String>>,
    /// Free-form metadata (sample, operator, ...), copied as is into the run log.
    pub metadata: Option<serde_json::Value>,
    /// Parameters: name to default value (a number, text, a duration such as `10m`, or a
    /// list of them), changed for one run with `--set NAME=VALUE`. Written `"{name}"`, a
    /// parameter stands as a whole value where a number, count, duration or sweep list is
    /// wanted; `{name}` in command text renders its value (a duration as seconds).
    #[schemars(extend("propertyNames" = {"pattern": name::PATTERN}))]
    pub params: Option<Spanned<OrderedMap<Spanned<RawParam>>>>,
    /// The instrument, for a sequence with one (or `instruments:` for several).
    pub instrument: Option<Spanned<RawInstrument>>,
    /// Several instruments: a map of name to the same fields as `instrument:`. Every step
    /// then names its `instrument:`, and `setup:`/`teardown:` are maps of name to commands.
    /// Names are letters and digits of any script and `_`, not starting with a digit.
    #[schemars(extend("propertyNames" = {"pattern": name::PATTERN}))]
    pub instruments: Option<Spanned<OrderedMap<RawInstrument>>>,
    /// Commands run once, in order, on one connection, before the steps.
    pub setup: Option<Spanned<RawHook>>,
    /// The steps, run one after another.
    #[schemars(required, length(min = 1))]
    pub steps: Option<Spanned<Vec<RawStep>>>,
    /// Commands that always run at the end, also after a failure.
    pub teardown: Option<Spanned<RawHook>>,
    /// What a failed point does to the run.
    #[serde(default)]
    pub on_error: OnError,
    /// Run-wide default of a step's `retries` (setup and teardown too); default 0, at
    /// most 1000.
    #[schemars(range(max = bounds::RETRIES.max))]
    pub retries: Option<Spanned<Count>>,
    /// Run-wide default of a step's `retry_on`; default none.
    pub retry_on: Option<Vec<RetryOn>>,
}

/// Failures retried besides broken connections (`retry_on:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RetryOn {
    /// A poll that did not reach its condition in time.
    Timeout,
    /// A reply that differed from `expect`.
    Mismatch,
}

/// What a failed point does to the rest of the run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Dispatch no new points, let in-flight ones finish, run teardown.
    #[default]
    Stop,
    /// Record the failure and go on.
    Continue,
}

/// Which plain (string) commands wait for one reply line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
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

/// `greeting:` of an instrument: what it sends by itself on a new connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Greeting {
    /// Nothing is expected; data that arrives before the first command is dropped.
    #[default]
    None,
    /// One line, read and discarded (kept in the run log's `connect` record) before
    /// `on_connect`.
    Line,
}

/// One instrument's connection settings.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Instrument")]
#[serde(deny_unknown_fields)]
pub struct RawInstrument {
    /// Where it listens: `TCPIP::host::port::SOCKET`, `host:port` or `[::1]:port`. May be
    /// left out when `--address` or `--sim` gives it.
    pub address: Option<Spanned<String>>,
    /// Pool size: connections opened to the instrument at once (default 4, at most 1024,
    /// and at most what the process may open: see `ulimit -n`).
    #[schemars(range(min = 1, max = bounds::MAX_CONNECTIONS.max))]
    pub max_connections: Option<Spanned<Count>>,
    /// Appended to every command (default `"\n"`).
    pub write_termination: Option<String>,
    /// Ends every reply line (default `"\n"`; a `"\r"` before it is dropped too).
    #[schemars(length(min = 1))]
    pub read_termination: Option<Spanned<String>>,
    /// Which plain (string) commands read one reply line.
    pub reply: Option<ReplyRule>,
    /// Per-command reply timeout (default `2s`, at most `720h`).
    pub timeout: Option<Spanned<Dur>>,
    /// Timeout for opening one connection (default `5s`, at most `720h`).
    pub connect_timeout: Option<Spanned<Dur>>,
    /// What the instrument sends by itself when a connection opens: `line` (read and
    /// discard exactly one reply line after connecting, waiting up to `connect_timeout`,
    /// before `on_connect`) or `none` (default).
    pub greeting: Option<Greeting>,
    /// Commands sent on every new connection before it takes work (e.g. `["SYST:REM"]`).
    pub on_connect: Option<Vec<Spanned<RawCommand>>>,
    /// Dials (with backoff) before a lost instrument counts as unreachable (default 5, at
    /// most 1000).
    #[schemars(range(min = 1, max = bounds::RECONNECT_ATTEMPTS.max))]
    pub reconnect_attempts: Option<Spanned<Count>>,
    /// What `sequencer run --sim` serves for this instrument (default: the generic device).
    pub sim: Option<RawSim>,
}

/// An instrument's `sim:` settings: what `run --sim` serves for it and how it frames
/// messages.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Sim")]
#[serde(deny_unknown_fields)]
pub struct RawSim {
    /// The pyvisa-sim device file, relative to the sequence file (default: the generic
    /// device).
    #[schemars(length(min = 1))]
    pub device: Option<Spanned<String>>,
    /// Which device of a file that describes several.
    pub name: Option<Spanned<String>>,
    /// The simulator's terminations, overriding the device file's `eom`: one for both ways
    /// (`"\r\n"`, `'\n'`, `CRLF`, `LF`, `CR`), or `{q: ..., r: ...}` as in pyvisa-sim:
    /// `q` ends each message the simulator reads, `r` each reply it sends.
    pub eom: Option<Spanned<RawEom>>,
}

/// `eom:` of a `sim:` entry: one termination for both ways, or a `q`/`r` pair.
#[derive(Debug, JsonSchema)]
#[schemars(rename = "Eom")]
#[schemars(untagged)]
pub enum RawEom {
    /// Both ways: `"\r\n"`, `'\n'`, `CRLF`, `LF` or `CR`.
    Both(#[schemars(length(min = 1))] String),
    /// Each way on its own.
    Pair(RawEomPair),
}

/// `{q, r}` of an `eom:`, as in a pyvisa-sim device file.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "EomPair")]
#[serde(deny_unknown_fields)]
pub struct RawEomPair {
    /// Ends each message the simulator reads (the instrument's `write_termination`).
    #[schemars(length(min = 1))]
    pub q: Spanned<String>,
    /// Ends each reply the simulator sends (the instrument's `read_termination`).
    #[schemars(length(min = 1))]
    pub r: Spanned<String>,
}

impl<'de> Deserialize<'de> for RawEom {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EomVisitor;
        impl<'de> Visitor<'de> for EomVisitor {
            type Value = RawEom;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a termination such as `\"\\r\\n\"` or `CRLF`, or `{q: ..., r: ...}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawEom, E> {
                Ok(RawEom::Both(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEom, A::Error> {
                RawEomPair::deserialize(MapAccessDeserializer::new(map)).map(RawEom::Pair)
            }
        }
        d.deserialize_any(EomVisitor)
    }
}

/// One step of the sequence: a sweep of points, each running `commands` on one connection;
/// or, with `steps:`, a loop whose body runs once per point of its own sweep.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Step")]
#[schemars(extend("oneOf" = [
    {"required": ["commands"], "description": "A step: its points run `commands`."},
    {
        "required": ["steps"],
        "not": {"anyOf": [{"required": ["parallel"]}, {"required": ["concurrency"]},
                          {"required": ["on_resume"]}, {"required": ["stop_when"]},
                          {"required": ["when"]}]},
        "description": "A loop: its `steps` run once per point of its `sweep` (a group, \
            without `sweep`, once), one iteration after another.",
    },
]))]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// Name, unique among its siblings: letters and digits of any script and `_`, not
    /// starting with a digit, and not `setup` or `teardown`; point ids are `name/index`
    /// (in a loop, `loop/iteration/name/index`).
    #[schemars(pattern(name::PATTERN))]
    #[schemars(extend("not" = {"enum": ["setup", "teardown"]}))]
    pub name: Spanned<String>,
    /// Which instrument runs the step (required with `instruments:`, unless an enclosing
    /// loop names it); on a loop, the default of the steps in its body.
    pub instrument: Option<Spanned<String>>,
    /// Sweep variables in file order, each a list or a range; `{name}` in a command renders
    /// the point's value (in a loop's body, the loop's variables too). Names are letters and
    /// digits of any script and `_`, not starting with a digit (`volt`, `ΔT`, `Temp_K`), and
    /// not a variable of an enclosing loop. At most 10^12 points.
    #[schemars(extend("propertyNames" = {"pattern": name::PATTERN}))]
    pub sweep: Option<OrderedMap<Spanned<RawAxis>>>,
    /// How the sweep variables combine (default `product`).
    pub mode: Option<RawMode>,
    /// Values computed for every point, in order, each an expression that may use the
    /// sweep variables, the parameters and the values before it (`{ilim: "volt / 1000 +
    /// 1e-6"}`); they are in the point's `vars` in the run log. On a loop: computed for each
    /// iteration, and seen by every step of its body.
    #[serde(rename = "let")]
    #[schemars(extend("propertyNames" = {"pattern": name::PATTERN}))]
    pub lets: Option<OrderedMap<Spanned<String>>>,
    /// How many times the whole point list runs (default 1); a step has at most 10^12
    /// points. On a loop: how many times its whole iteration list runs.
    #[schemars(range(min = 1, max = bounds::REPEAT.max))]
    pub repeat: Option<Spanned<Count>>,
    /// Which points are independent and may run at the same time: `all`, or a list of
    /// sweep variables (`[ch]`): points whose values of these differ may run at once,
    /// points with the same values run one after another in sweep order. Default: one point
    /// at a time, in order.
    pub parallel: Option<Spanned<RawParallel>>,
    /// Max points of this step in flight (default with `parallel:`: the instrument's
    /// `max_connections`; at most 1024). Above 1 without `parallel:`, it declares every
    /// point independent, as `parallel: all` does.
    #[schemars(range(min = 1, max = bounds::CONCURRENCY.max))]
    pub concurrency: Option<Spanned<Count>>,
    /// Commands run in order on one connection for each point (a step gives `commands` or
    /// `steps`).
    #[schemars(length(min = 1), extend("type" = "array"))]
    pub commands: Option<Spanned<Vec<Spanned<RawCommand>>>>,
    /// Makes this step a loop: these steps run in order, once per point of its `sweep` (once
    /// without one), each iteration after the last. Loops nest at most 8 deep.
    #[schemars(length(min = 1), extend("type" = "array"))]
    pub steps: Option<Spanned<Vec<RawStep>>>,
    /// How many times a failed point is run again, on another connection, if its connection
    /// broke (default: the enclosing loop's, else the run-wide `retries`; at most 1000).
    #[schemars(range(max = bounds::RETRIES.max))]
    pub retries: Option<Spanned<Count>>,
    /// Failures retried besides broken connections (default: the enclosing loop's, else the
    /// run-wide `retry_on`).
    pub retry_on: Option<Vec<RetryOn>>,
    /// For a step in a loop's body: what a `resume` does when it continues an iteration of
    /// the loop: `continue` (default) runs only the points not yet ok, `rerun` runs this
    /// step again first (to settle a temperature again after a crash, say).
    pub on_resume: Option<Spanned<OnResume>>,
    /// Conditions checked after each point of the step completes ok, with that point's
    /// values, in order; the first that holds acts: `[{if: "current > 1e-3", then: {next:
    /// T}}]`. With `parallel:`, points already in flight still complete after one holds.
    #[schemars(length(min = 1))]
    pub stop_when: Option<Spanned<Vec<RawStopWhen>>>,
    /// For a step in a loop's body: it runs only in the iterations where this expression
    /// over the loops' variables (and parameters) holds: `"setpoint <= 150"`.
    #[schemars(length(min = 1))]
    pub when: Option<Spanned<String>>,
}

/// `on_resume:` of a step in a loop's body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnResume {
    /// Run only the points that are not ok yet.
    #[default]
    Continue,
    /// Run the step again, all of its points, before the rest of the iteration.
    Rerun,
}

/// `mode:` of a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[schemars(rename = "Mode")]
#[serde(rename_all = "lowercase")]
pub enum RawMode {
    /// Cartesian product, first key outermost.
    Product,
    /// Element-wise, equal lengths.
    Zip,
}

/// `parallel:` of a step: the word `all`, or a list of sweep variable names. Any scalar and
/// any list of scalars is read here; [`super::compile`] refuses the rest with their
/// positions, so that every problem of the file is reported at once.
#[derive(Debug)]
pub enum RawParallel {
    /// A scalar: only `all` is valid.
    Word(Scalar),
    /// Sweep variable names.
    Vars(Vec<Spanned<Scalar>>),
}

impl<'de> Deserialize<'de> for RawParallel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ParallelVisitor;
        impl<'de> Visitor<'de> for ParallelVisitor {
            type Value = RawParallel;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`all` or a list of sweep variables such as `[ch]`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawParallel, E> {
                Ok(RawParallel::Word(Scalar::Text(v.to_owned())))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawParallel, E> {
                Ok(RawParallel::Word(Scalar::Text(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawParallel, E> {
                Ok(RawParallel::Word(Scalar::Num(Num::Int(v))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawParallel, E> {
                Ok(RawParallel::Word(Scalar::Text(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawParallel, E> {
                Ok(RawParallel::Word(Scalar::Num(Num::Float(v))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawParallel, A::Error> {
                Vec::deserialize(SeqAccessDeserializer::new(seq)).map(RawParallel::Vars)
            }
        }
        d.deserialize_any(ParallelVisitor)
    }
}

/// `setup:`/`teardown:`: a command list, or a map instrument name -> command list.
#[derive(Debug, JsonSchema)]
#[schemars(rename = "Hook")]
#[schemars(untagged)]
pub enum RawHook {
    /// Commands for the only instrument.
    List(Vec<Spanned<RawCommand>>),
    /// Commands per named instrument.
    PerInstrument(
        #[schemars(extend("propertyNames" = {"pattern": name::PATTERN}))]
        OrderedMap<Vec<Spanned<RawCommand>>>,
    ),
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

/// One sweep variable: a list, or a range map (or `"{name}"`, a list parameter).
#[derive(Debug, JsonSchema)]
#[schemars(rename = "Axis")]
#[schemars(untagged, transform = super::schema::axis_or_param)]
pub enum RawAxis {
    /// Explicit values.
    List(Vec<Spanned<Scalar>>),
    /// `{start, stop, num}`, `{start, stop, step}` or `{start, stop, num, log: true}`.
    Range(Box<RawRange>),
}

/// A range of numbers: `{start, stop, num}` (linspace), `{start, stop, step}` or
/// `{start, stop, num, log: true}` (geometric). Which keys go together is checked by
/// `sequencer check` (in `compile`).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Range")]
#[serde(deny_unknown_fields)]
pub struct RawRange {
    /// First value.
    pub start: Spanned<Num>,
    /// Last value, included (with `step`: included when it is on the grid).
    pub stop: Spanned<Num>,
    /// Number of points, both ends included (give `num` or `step`); at most 10^12.
    #[schemars(range(min = 1, max = bounds::NUM.max))]
    pub num: Option<Spanned<Count>>,
    /// Increment from `start` towards `stop` (give `num` or `step`).
    pub step: Option<Spanned<Num>>,
    /// Geometric spacing with `num` (`start` and `stop` above 0).
    pub log: Option<Spanned<bool>>,
}

/// One item of a list parameter as a sweep list item; a duration becomes its text (`2s`).
fn param_item(p: &Param) -> Spanned<Scalar> {
    let value = match p.as_value() {
        Some(Value::Int(i)) => Scalar::Num(Num::Int(i)),
        Some(Value::Float(f)) if !matches!(p, Param::Duration(_)) => Scalar::Num(Num::Float(f)),
        _ => Scalar::Text(p.to_string()),
    };
    Spanned {
        value,
        referenced: serde_saphyr::Location::UNKNOWN,
        defined: serde_saphyr::Location::UNKNOWN,
    }
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
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawAxis, E> {
                // `"{temps}"`: a list parameter's values. They have no place of their own
                // in the file (unknown location): the checks that point at one item point at
                // the whole `"{temps}"` instead.
                let wanted = "a list of values";
                match param::lookup(v, wanted).map_err(E::custom)? {
                    Some((_, Param::List(items))) => {
                        Ok(RawAxis::List(items.iter().map(param_item).collect()))
                    }
                    Some((name, p)) => Err(E::custom(param::wrong_type(&name, &p, wanted))),
                    None => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawAxis, A::Error> {
                RawRange::deserialize(MapAccessDeserializer::new(map))
                    .map(|r| RawAxis::Range(Box::new(r)))
            }
        }
        d.deserialize_any(AxisVisitor)
    }
}
