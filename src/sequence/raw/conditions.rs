//! A step's conditions as written: `stop_when:` entries (`{if: EXPR, then: ACTION}`) and
//! the action they take. Which actions exist and which loops they may name is checked by
//! [`super::super::compile`]; the expressions are parsed there too.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::super::name;
use super::Spanned;

/// One entry of `stop_when:`: after each of the step's points completes ok, `if` is
/// evaluated with that point's values; when it holds, `then` happens.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "StopWhen")]
#[serde(deny_unknown_fields)]
pub struct RawStopWhen {
    /// The condition, an expression over the point's values (sweep variables, `let:`
    /// values, parameters, `as` values): `"current > 1e-3"`.
    #[serde(rename = "if")]
    #[schemars(length(min = 1))]
    pub if_: Spanned<String>,
    /// What happens when it holds: `break` (this step dispatches no more points), `stop`
    /// (the run stops as failed), `{next: LOOP}` (the current iteration of that enclosing
    /// loop ends) or `{break: LOOP}` (that enclosing loop ends).
    pub then: Spanned<RawAction>,
}

/// `then:` of a `stop_when:` entry: a word, or a map naming an enclosing loop. Any string
/// is read here; [`super::super::compile`] refuses unknown words where they are.
#[derive(Debug)]
pub enum RawAction {
    /// `break` or `stop` (anything else is refused when compiled).
    Word(String),
    /// `{next: LOOP}` or `{break: LOOP}`.
    Loop(RawLoopAction),
}

/// `{next: LOOP}` or `{break: LOOP}` (exactly one of the two: checked when compiled).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(rename = "LoopAction")]
#[serde(deny_unknown_fields)]
pub struct RawLoopAction {
    /// The current iteration of this enclosing loop ends; the loop goes on with its next.
    #[schemars(pattern(name::PATTERN))]
    pub next: Option<Spanned<String>>,
    /// This enclosing loop ends; the sequence goes on after it.
    #[serde(rename = "break")]
    #[schemars(pattern(name::PATTERN))]
    pub break_: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for RawAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ActionVisitor;
        impl<'de> Visitor<'de> for ActionVisitor {
            type Value = RawAction;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`break`, `stop`, `{next: LOOP}` or `{break: LOOP}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawAction, E> {
                Ok(RawAction::Word(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawAction, E> {
                Ok(RawAction::Word(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawAction, A::Error> {
                RawLoopAction::deserialize(MapAccessDeserializer::new(map)).map(RawAction::Loop)
            }
        }
        d.deserialize_any(ActionVisitor)
    }
}
