//! The JSON Schema of the sequence file, for editors (`sequencer schema`).
//!
//! Derived from the [`raw`](super::raw) serde types the loader reads, with `#[derive(JsonSchema)]`
//! there, so it cannot drift from the code: a key added to a raw struct appears here, a
//! `deny_unknown_fields` struct gives `additionalProperties: false`, and the `///` lines give
//! the descriptions an editor shows on hover. The types with a hand-written `Deserialize`
//! get a hand-written [`JsonSchema`] below that accepts what that `Deserialize` accepts.
//!
//! The schema follows draft 7, the draft every YAML language server supports. It is as strict
//! as `sequencer check` where a single value decides (counts between their bounds,
//! durations with a unit, names); a duration's 30-day bound is in its description only (a
//! pattern cannot add up `1h30m`). Checks across keys (placeholders naming a variable, which
//! keys go together in a command, duplicate step names) are left to `check`.

use std::borrow::Cow;

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::raw::{
    Count, Dur, Num, OrderedMap, RawAction, RawParallel, RawSequence, Scalar, Spanned,
};

/// The schema's `title`.
const TITLE: &str = "sequencer sequence";

/// The schema's `description`, what an editor shows for the whole file.
const DESCRIPTION: &str = "A sequence file of `sequencer`: instruments, setup, steps of swept \
    points, teardown. `sequencer check FILE` also checks what a schema cannot: placeholders \
    naming sweep variables, step and instrument names, which keys of a command go together.";

/// What a duration looks like: numbers with units, as [`super::duration::parse_duration`]
/// reads them (`50ms`, `1.5s`, `1m30s`, `2 h`).
pub const DURATION_PATTERN: &str =
    r"^\s*(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?:ns|us|µs|μs|ms|s|min|m|h)\s*)+$";

/// A whole value that names a parameter: `{name}`, the name by the name rule.
pub const PARAM_PATTERN: &str = r"^\{[\p{L}_][\p{L}\p{M}\p{N}_]*\}$";

/// The JSON Schema (draft 7) of a sequence file, `$schema`, `title` and `description` first.
pub fn schema() -> Schema {
    let derived = SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<RawSequence>();
    let mut root = serde_json::Map::new();
    root.insert("$schema".into(), derived.get("$schema").cloned().into());
    root.insert("title".into(), TITLE.into());
    root.insert("description".into(), DESCRIPTION.into());
    if let Some(fields) = derived.as_object() {
        for (key, value) in fields {
            root.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    Schema::from(root)
}

/// The schema of the value alone: a file has no positions to describe.
impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<T>()
    }
}

/// A map with any keys (names chosen by the user), each value a `V`.
impl<V: JsonSchema> JsonSchema for OrderedMap<V> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Map_of_{}", V::schema_name()).into()
    }

    fn schema_id() -> Cow<'static, str> {
        format!("OrderedMap<{}>", V::schema_id()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "additionalProperties": generator.subschema_for::<V>(),
        })
    }
}

/// A string of numbers with units; a bare number is refused.
impl JsonSchema for Dur {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Duration").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A duration with a unit: `500us`, `50ms`, `2s`, `1.5s`, `1m30s`, `2h` \
                (units ns, us, ms, s, m or min, h), at most 30 days (`720h`). A bare number is \
                an error: write `2s` or `2ms`. Or `\"{name}\"`: a duration parameter.",
            "type": "string",
            "pattern": format!("(?:{DURATION_PATTERN})|(?:{PARAM_PATTERN})"),
            "examples": ["50ms", "2s", "1m30s"],
        })
    }
}

/// A whole number (`4.0` is one too), or `"{name}"` naming a parameter. Negative counts are refused by every key that takes
/// one, so the schema says so.
impl JsonSchema for Count {
    // Inline, so that a key's own minimum (`#[schemars(range(min = 1))]`) applies to it.
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Count".into()
    }

    fn schema_id() -> Cow<'static, str> {
        concat!(module_path!(), "::Count").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // `minimum` applies to numbers only, `pattern` to strings only.
        json_schema!({
            "type": ["integer", "string"],
            "minimum": 0,
            "pattern": PARAM_PATTERN,
        })
    }
}

/// An integer or a float, or `"{name}"` naming a parameter; other text is refused.
impl JsonSchema for Num {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Number".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["number", "string"], "pattern": PARAM_PATTERN })
    }
}

/// A number or text; a boolean is read as the text `true` or `false`.
impl JsonSchema for Scalar {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["number", "string", "boolean"] })
    }
}

/// `all`, or a list of distinct sweep variable names, at least one. (The loader reads any
/// scalar so that `check` can say what is wrong with it where it is.)
impl JsonSchema for RawParallel {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Parallel".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "oneOf": [
                {
                    "description": "Every point is independent: any may run at the same time.",
                    "const": "all",
                },
                {
                    "description": "Sweep variables: points whose values of these differ may \
                        run at the same time; points with the same values run one after \
                        another, in sweep order.",
                    "type": "array",
                    "items": {"type": "string", "pattern": super::name::PATTERN},
                    "minItems": 1,
                    "uniqueItems": true,
                    "examples": [["ch"]],
                },
            ],
        })
    }
}

/// The schema of a sweep variable (list or range) takes `"{name}"` too: a list parameter.
pub fn axis_or_param(schema: &mut Schema) {
    if let Some(any) = schema.get_mut("anyOf").and_then(|a| a.as_array_mut()) {
        any.push(serde_json::json!({
            "type": "string",
            "pattern": PARAM_PATTERN,
            "description": "A list parameter of `params:`, as `\"{temps}\"`.",
        }));
    }
}

/// `then:` of a `stop_when:` entry: `break`, `stop`, `{next: LOOP}` or `{break: LOOP}`.
impl JsonSchema for RawAction {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Action".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let in_loop = |key: &str, description: &str| {
            serde_json::json!({
                "description": description,
                "type": "object",
                "properties": {key: {"type": "string", "pattern": super::name::PATTERN}},
                "required": [key],
                "additionalProperties": false,
            })
        };
        json_schema!({
            "oneOf": [
                {
                    "description": "The step dispatches no more points; points in flight \
                        finish; the sequence goes on with the next step.",
                    "const": "break",
                },
                {
                    "description": "The run stops as failed: points in flight finish, \
                        teardown runs, exit status 1.",
                    "const": "stop",
                },
                in_loop(
                    "next",
                    "The current iteration of this enclosing loop ends; it goes on with its \
                        next iteration.",
                ),
                in_loop(
                    "break",
                    "This enclosing loop ends; the sequence goes on after it.",
                ),
            ],
        })
    }
}

#[cfg(test)]
mod tests;
