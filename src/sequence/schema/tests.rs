//! The schema against the loader: the keys of every map the loader reads, unknown keys,
//! counts, durations. (That every example validates, and some bad files do not, is tested
//! on the binary's output in `tests/cli/schema.rs`.)

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::Value;

use super::super::duration::parse_duration;
use super::super::raw::{
    RawCommandMap, RawEomPair, RawInstrument, RawRange, RawSequence, RawSim, RawStep, RawStopWhen,
    RawUntil,
};
use super::super::{bounds, name};
use super::{DURATION_PATTERN, schema};

/// What [`FieldNames`] found: the keys a derived `Deserialize` accepts, or that it did not
/// ask for a struct.
#[derive(Debug)]
enum Probe {
    Fields(&'static [&'static str]),
    NotAStruct,
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Probe {}

impl de::Error for Probe {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Probe::NotAStruct
    }
}

/// A deserializer that only answers "which fields?": serde's derive passes the list of keys
/// it accepts (after renames) to `deserialize_struct`, the same list `deny_unknown_fields`
/// checks against. So this is the loader's own word on its keys, not a copy of them.
struct FieldNames;

impl<'de> Deserializer<'de> for FieldNames {
    type Error = Probe;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probe> {
        Err(Probe::NotAStruct)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probe> {
        Err(Probe::Fields(fields))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The keys `T`'s `Deserialize` accepts, sorted.
fn loader_keys<T: for<'de> Deserialize<'de>>() -> Vec<&'static str> {
    match T::deserialize(FieldNames) {
        Err(Probe::Fields(fields)) => {
            let mut keys = fields.to_vec();
            keys.sort_unstable();
            keys
        }
        other => panic!("not a derived struct: {:?}", other.err()),
    }
}

/// The schema object at `pointer`, with its `properties` keys sorted.
fn schema_keys(schema: &Value, pointer: &str) -> Vec<String> {
    let object = schema
        .pointer(pointer)
        .unwrap_or_else(|| panic!("no `{pointer}` in the schema"));
    let mut keys: Vec<String> = object["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("`{pointer}` has no properties"))
        .keys()
        .cloned()
        .collect();
    keys.sort_unstable();
    keys
}

/// Every map the loader reads with derived keys has exactly those keys in the schema, and
/// no others (`additionalProperties: false`, from `deny_unknown_fields`).
#[test]
fn schema_keys_are_the_loader_keys() {
    let schema = schema().to_value();
    let table: &[(&str, Vec<&str>)] = &[
        ("", loader_keys::<RawSequence>()),
        ("/definitions/Instrument", loader_keys::<RawInstrument>()),
        ("/definitions/Sim", loader_keys::<RawSim>()),
        ("/definitions/EomPair", loader_keys::<RawEomPair>()),
        ("/definitions/Step", loader_keys::<RawStep>()),
        ("/definitions/Range", loader_keys::<RawRange>()),
        ("/definitions/CommandMap", loader_keys::<RawCommandMap>()),
        ("/definitions/Until", loader_keys::<RawUntil>()),
        ("/definitions/StopWhen", loader_keys::<RawStopWhen>()),
    ];
    for (pointer, loader) in table {
        assert_eq!(
            &schema_keys(&schema, pointer),
            loader,
            "keys of `{pointer}`"
        );
        let object = schema.pointer(pointer).unwrap();
        assert_eq!(
            object["additionalProperties"],
            Value::Bool(false),
            "`{pointer}` must refuse unknown keys, as the loader does"
        );
    }
}

/// The schema is draft 7, with a title and a description for editors, and every key of the
/// file has a description (the `///` line of its field) for hover help.
#[test]
fn schema_is_draft_7_and_described() {
    let schema = schema().to_value();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(schema["title"].is_string());
    let mut objects = vec![(String::new(), &schema)];
    objects.extend(
        schema["definitions"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, def)| (name.clone(), def)),
    );
    for (name, object) in objects {
        let Some(properties) = object.get("properties").and_then(Value::as_object) else {
            continue;
        };
        for (key, property) in properties {
            assert!(
                property["description"]
                    .as_str()
                    .is_some_and(|d| !d.is_empty()),
                "`{name}.{key}` has no description"
            );
        }
    }
}

/// Counts are whole numbers with the loader's range: the keys that must be at least 1 say
/// so, `retries` may be 0, and each has the maximum of [`bounds`].
#[test]
fn counts_have_their_range() {
    let schema = schema().to_value();
    let table = [
        (
            "/definitions/Instrument/properties/max_connections",
            bounds::MAX_CONNECTIONS,
        ),
        (
            "/definitions/Instrument/properties/reconnect_attempts",
            bounds::RECONNECT_ATTEMPTS,
        ),
        ("/definitions/Step/properties/repeat", bounds::REPEAT),
        (
            "/definitions/Step/properties/concurrency",
            bounds::CONCURRENCY,
        ),
        ("/definitions/Range/properties/num", bounds::NUM),
        ("/definitions/Step/properties/retries", bounds::RETRIES),
        ("/properties/retries", bounds::RETRIES),
    ];
    for (pointer, bound) in table {
        let count = schema.pointer(pointer).unwrap();
        assert_eq!(count["minimum"], bound.min, "{pointer}: {count}");
        assert_eq!(count["maximum"], bound.max, "{pointer}: {count}");
        assert!(
            count["type"]
                .as_array()
                .is_some_and(|t| t.contains(&"integer".into())),
            "{pointer}: {count}"
        );
    }
}

/// Every name the file gives (sweep variables, instruments, setup and teardown keys, step
/// names, `as`, `parallel:` items) has the loader's own name pattern.
#[test]
fn names_have_the_loader_pattern() {
    let schema = schema().to_value();
    let table = [
        "/definitions/Step/properties/sweep/propertyNames/pattern",
        "/properties/instruments/propertyNames/pattern",
        "/definitions/Hook/anyOf/1/propertyNames/pattern",
        "/definitions/Step/properties/name/pattern",
        "/definitions/CommandMap/properties/as/pattern",
        "/definitions/CommandMap/properties/on/pattern",
        "/definitions/Step/properties/parallel/anyOf/0/oneOf/1/items/pattern",
    ];
    for pointer in table {
        assert_eq!(
            schema.pointer(pointer).and_then(Value::as_str),
            Some(name::PATTERN),
            "{pointer}"
        );
    }
    assert_eq!(
        schema["definitions"]["Step"]["properties"]["name"]["not"]["enum"],
        serde_json::json!(["setup", "teardown"])
    );
}

/// The duration pattern accepts exactly what the loader's duration parser accepts, on a
/// table of the forms users write and the mistakes they make.
#[test]
fn duration_pattern_matches_the_parser() {
    let pattern = regex::Regex::new(DURATION_PATTERN).unwrap();
    let table = [
        "50ms",
        "2s",
        "1.5s",
        "1m30s",
        "2h",
        "500us",
        "500µs",
        "500μs",
        "10ns",
        "2min",
        "1 m 30 s",
        " 2s ",
        "5.s",
        ".5s",
        "0s",
        "1h2m3s4ms", // valid
        "2",
        "1.5",
        "",
        " ",
        "-1s",
        "2 sec",
        "2S",
        "1.2.3s",
        ".s",
        "s",
        "2msx",
        "1sm",
        "2s,",
        "ms5", // invalid
    ];
    for text in table {
        assert_eq!(
            pattern.is_match(text),
            parse_duration(text).is_ok(),
            "`{text}`: pattern and parser disagree"
        );
    }
}

/// A step is a loop with `steps:` (a list of steps, recursively) or a step with
/// `commands:`, never both nor neither, as the loader says; a loop takes no `parallel`,
/// `concurrency` or `on_resume`; `on_resume` is `continue` or `rerun`.
#[test]
fn loops_are_steps_with_steps() {
    let schema = schema().to_value();
    let step = &schema["definitions"]["Step"];
    assert_eq!(
        step["properties"]["steps"]["items"]["$ref"],
        "#/definitions/Step"
    );
    for key in ["steps", "commands"] {
        assert_eq!(step["properties"][key]["type"], "array", "{key}");
        assert_eq!(step["properties"][key]["minItems"], 1, "{key}");
    }
    let one_of = step["oneOf"]
        .as_array()
        .expect("a step is one of two forms");
    assert_eq!(one_of[0]["required"], serde_json::json!(["commands"]));
    assert_eq!(one_of[1]["required"], serde_json::json!(["steps"]));
    let refused: Vec<&str> = one_of[1]["not"]["anyOf"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["required"][0].as_str())
        .collect();
    assert_eq!(
        refused,
        ["parallel", "concurrency", "on_resume", "stop_when", "when"]
    );
    let words: Vec<&str> = schema["definitions"]["OnResume"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["const"].as_str())
        .collect();
    assert_eq!(words, ["continue", "rerun"]);
}

/// The parameter pattern is the name rule in braces, so `check` and an editor agree.
#[test]
fn param_pattern_is_the_name_rule_in_braces() {
    let inner = super::super::name::PATTERN
        .trim_start_matches('^')
        .trim_end_matches('$');
    assert_eq!(super::PARAM_PATTERN, format!(r"^\{{{inner}\}}$"));
}
