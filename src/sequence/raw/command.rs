//! One command of the sequence file as written: a plain string, or a `write`/`query`/
//! `poll`/`wait` map with the keys that go with it, and a poll's `until:`. Which keys go
//! together is checked by [`super::super::compile`].

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};

use super::super::name;
use super::{Dur, Scalar, Spanned};

/// One command: a plain string, or a map with exactly one of `write`, `query`, `poll`, `wait`.
#[derive(Debug, JsonSchema)]
#[schemars(rename = "Command")]
#[schemars(untagged)]
pub enum RawCommand {
    /// Plain text; the instrument's `reply` rule decides whether a reply is read.
    Plain(String),
    /// The map form.
    Map(Box<RawCommandMap>),
}

/// A command as a map: one of `write`, `query`, `poll`, `wait`, and the keys that go with it
/// (`as`, `expect` on a query; `until`, `every`, `timeout`, `as` on a poll; `on` on any).
/// Which keys go together is checked by `sequencer check` (in `compile`).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "CommandMap")]
#[serde(deny_unknown_fields)]
pub struct RawCommandMap {
    /// Send this text and read no reply.
    pub write: Option<Spanned<String>>,
    /// Send this text and read one reply line (with optional `as` and `expect`).
    pub query: Option<Spanned<String>>,
    /// Send this query every `every` until `until` holds or `timeout` passes.
    pub poll: Option<Spanned<String>>,
    /// Pause; the connection stays with this point (at most `720h`).
    pub wait: Option<Spanned<Dur>>,
    /// Name under which the reply (of a `query`, or a `poll`'s last) is stored in the run
    /// log's `values`: letters and digits of any script and `_`, not starting with a digit.
    #[serde(rename = "as")]
    #[schemars(pattern(name::PATTERN))]
    pub as_name: Option<Spanned<String>>,
    /// The point fails unless the reply, surrounding spaces trimmed, is exactly this text
    /// (placeholders rendered first: `"{volt:.3}"`).
    pub expect: Option<Spanned<Scalar>>,
    /// A condition on a `query`'s reply, named with `as`: the point fails as a mismatch
    /// unless it holds (`"abs(rb - volt) < 1e-6"`).
    pub check: Option<Spanned<String>>,
    /// The command is sent only when this condition holds for the point (`"volt > 0"`); a
    /// command not sent is not in the point's record.
    pub when: Option<Spanned<String>>,
    /// The condition that ends a `poll`: an expression in which `value` is the reply
    /// (`"abs(value - setpoint) < 0.05"`), or a map with one of `equals`, `matches`,
    /// `within`+`of`, `above`, `below`.
    pub until: Option<Spanned<RawUntilAny>>,
    /// Pause between a `poll`'s queries (default `100ms`, at most `720h`).
    pub every: Option<Spanned<Dur>>,
    /// Longest a `poll` may take (default `30s`, at most `720h`).
    pub timeout: Option<Spanned<Dur>>,
    /// Another instrument of `instruments:` to send this command to, within the point: a
    /// connection of its pool is borrowed for it (and for the commands right after it with
    /// the same `on`), e.g. `{query: "TEMP?", on: tc, as: temperature}`. Not in `setup`,
    /// `teardown` or `on_connect`.
    #[schemars(pattern(name::PATTERN))]
    pub on: Option<Spanned<String>>,
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
                RawCommandMap::deserialize(MapAccessDeserializer::new(Keys(map)))
                    .map(|m| RawCommand::Map(Box::new(m)))
            }
        }
        d.deserialize_any(CommandVisitor)
    }
}

/// The keys of a command map, handed on to its derived `Deserialize`, which refuses unknown
/// ones. A key that is not a name at all is a command's text written as a key
/// (`{"TEMP?", on: tc}`, `- TEMP?:` over `on: tc`): the refusal then says how to write it.
struct Keys<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Keys<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.0.next_key::<String>()? else {
            return Ok(None);
        };
        if !name::is_name(&key) {
            // `TEMP? {on: tc}` reads as the key `TEMP? {on`: the example shows `TEMP?`.
            let command = key.split('{').next().map_or("", str::trim);
            let command = if command.is_empty() { "TEMP?" } else { command };
            return Err(de::Error::custom(format_args!(
                "`{key}` is not a key of a command map: a command with keys such as `on`, `as` \
                 or `expect` is written with `write`, `query`, `poll` or `wait`, e.g. \
                 `{{query: \"{}\", on: tc}}`",
                command.escape_debug()
            )));
        }
        seed.deserialize(IntoDeserializer::<A::Error>::into_deserializer(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// `until:` of a poll: an expression, or the map of conditions.
#[derive(Debug, JsonSchema)]
#[schemars(rename = "UntilAny")]
#[schemars(untagged)]
pub enum RawUntilAny {
    /// An expression in which `value` is the reply: `"abs(value - setpoint) < 0.05"`.
    Expr(String),
    /// The map form.
    Map(Box<RawUntil>),
}

impl<'de> Deserialize<'de> for RawUntilAny {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct UntilVisitor;
        impl<'de> Visitor<'de> for UntilVisitor {
            type Value = RawUntilAny;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "an expression such as \"value > 1\", or a map with one of `equals`, \
                     `matches`, `within`+`of`, `above`, `below`",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawUntilAny, E> {
                Ok(RawUntilAny::Expr(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawUntilAny, A::Error> {
                RawUntil::deserialize(MapAccessDeserializer::new(map))
                    .map(|u| RawUntilAny::Map(Box::new(u)))
            }
        }
        d.deserialize_any(UntilVisitor)
    }
}

/// `until:` of a poll: exactly one condition (`within` goes with `of`).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "Until")]
#[serde(deny_unknown_fields)]
pub struct RawUntil {
    /// Reply, surrounding spaces trimmed, equals this text.
    pub equals: Option<Spanned<Scalar>>,
    /// Reply matches this regular expression (at most 4 KiB).
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
