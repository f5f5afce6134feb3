//! `sequencer schema`: the JSON Schema it prints is a valid draft 7 schema, every example in
//! `sequences/` validates against it (with the `jsonschema` validator, as an editor would),
//! and files the loader refuses for an unknown key, a bad duration or a wrong type are
//! refused by the schema too. (That its keys are the loader's keys is a unit test beside
//! the schema, where serde's own field lists can be read.)

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::Scratch;

/// The schema as `sequencer schema` prints it.
fn printed_schema() -> Value {
    let out = Scratch::new().sequencer(["schema"]);
    assert_eq!(out.code(), 0, "{out}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{out}"))
}

/// YAML text as JSON, read the way the loader reads it (YAML 1.2 booleans only), which is
/// what the YAML language server checks against the schema.
fn yaml_to_json(text: &str) -> Value {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options(text, options)
        .unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

/// The example sequences, sorted by name.
fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sequences");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("cannot read a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// The printed schema is itself valid draft 7 and every example sequence validates.
#[test]
fn every_example_validates_against_the_schema() {
    let schema = printed_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    if let Err(e) = jsonschema::meta::validate(&schema) {
        panic!("the schema is not valid draft 7: {e}");
    }
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let files = examples();
    assert!(!files.is_empty(), "no example sequences");
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&yaml_to_json(&text))
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} does not validate:\n{}",
            file.display(),
            errors.join("\n")
        );
    }
}

/// Names of any script pass the schema's name pattern (`\p{L}`, `\p{N}`, which the
/// `jsonschema` validator reads as ECMA-262 does) and the loader alike.
#[test]
fn unicode_names_validate() {
    let schema = printed_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let text = "instruments:\n  温度regler: {max_connections: 1024}\nsetup: {温度regler: [\"*RST\"]}\n\
        steps:\n  - name: Messung_ΔT\n    instrument: 温度regler\n    \
        sweep: {ΔT: [1, 2], Temp_K: [300], T²: [1]}\n    parallel: [ΔT]\n    \
        commands: [\"S {ΔT} {Temp_K} {T²}\", {query: \"I?\", as: Strom_µA}]\n";
    let errors: Vec<String> = validator
        .iter_errors(&yaml_to_json(text))
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    let scratch = Scratch::new();
    scratch.write("uni.yaml", text);
    let out = scratch.sequencer(["check", "uni.yaml"]);
    assert_eq!(out.code(), 0, "{out}");
}

/// Files the loader refuses, each a whole file; `{steps}` is a valid `steps:` list.
const INVALID: &[(&str, &str)] = &[
    (
        "unknown top-level key",
        "step:\n  - name: s\n    commands: [\"*OPC?\"]\n",
    ),
    (
        "unknown step key",
        "steps:\n  - name: s\n    command: [\"*OPC?\"]\n",
    ),
    (
        "unknown instrument key",
        "instrument: {adress: \"127.0.0.1:5025\"}\n{steps}",
    ),
    (
        "unknown command key",
        "steps:\n  - name: s\n    commands: [{query: \"A?\", expected: 1}]\n",
    ),
    (
        "unknown until key",
        "steps:\n  - name: s\n    commands: [{poll: \"A?\", until: {equal: 1}}]\n",
    ),
    (
        "duration without a unit",
        "instrument: {timeout: 2}\n{steps}",
    ),
    (
        "duration as a bare string number",
        "instrument: {timeout: \"2\"}\n{steps}",
    ),
    (
        "duration with an unknown unit",
        "steps:\n  - name: s\n    commands: [{wait: 5sec}]\n",
    ),
    ("steps not a list", "steps: all of them\n"),
    (
        "step name not a string",
        "steps:\n  - name: [a]\n    commands: [\"*OPC?\"]\n",
    ),
    (
        "count not a whole number",
        "instrument: {max_connections: 2.5}\n{steps}",
    ),
    (
        "count as text",
        "instrument: {max_connections: four}\n{steps}",
    ),
    (
        "count below its minimum",
        "instrument: {max_connections: 0}\n{steps}",
    ),
    ("unknown on_error", "on_error: ignore\n{steps}"),
    (
        "sweep range without stop",
        "steps:\n  - name: s\n    sweep: {v: {start: 0, num: 3}}\n    commands: [\"V {v}\"]\n",
    ),
    ("no steps", "name: nothing\n"),
    (
        "parallel neither `all` nor a list",
        "steps:\n  - name: s\n    sweep: {ch: [1]}\n    parallel: ch\n    commands: [\"V {ch}\"]\n",
    ),
    (
        "parallel an empty list",
        "steps:\n  - name: s\n    sweep: {ch: [1]}\n    parallel: []\n    commands: [\"V {ch}\"]\n",
    ),
    (
        "parallel naming a variable twice",
        "steps:\n  - name: s\n    sweep: {ch: [1]}\n    parallel: [ch, ch]\n    commands: [\"V {ch}\"]\n",
    ),
    (
        "command a list",
        "steps:\n  - name: s\n    commands: [[\"*OPC?\"]]\n",
    ),
    ("empty sim eom", "instrument: {sim: {eom: \"\"}}\n{steps}"),
    (
        "sim eom pair without r",
        "instrument: {sim: {eom: {q: \"\\r\\n\"}}}\n{steps}",
    ),
    (
        "unknown sim eom key",
        "instrument: {sim: {eom: {q: LF, r: LF, e: LF}}}\n{steps}",
    ),
    (
        "count above its maximum",
        "instrument: {max_connections: 4294967296}\n{steps}",
    ),
    ("retries above their maximum", "retries: 1001\n{steps}"),
    (
        "sweep variable that is no name",
        "steps:\n  - name: s\n    sweep: {∆T: [1]}\n    commands: [\"V {∆T}\"]\n",
    ),
    (
        "step name that is no name",
        "steps:\n  - name: iv-296\n    commands: [\"*OPC?\"]\n",
    ),
    (
        "step named setup",
        "steps:\n  - name: setup\n    commands: [\"*OPC?\"]\n",
    ),
    (
        "instrument name that is no name",
        "instruments: {my smu: {}}\nsteps:\n  - {name: s, instrument: my smu, commands: [X]}\n",
    ),
    (
        "value name that is no name",
        "steps:\n  - name: s\n    commands: [{query: \"A?\", as: \"I (A)\"}]\n",
    ),
    (
        "a loop with commands",
        "steps:\n  - name: T\n    commands: [X]\n    steps: [{name: s, commands: [X]}]\n",
    ),
    (
        "a step with neither commands nor steps",
        "steps:\n  - name: s\n    sweep: {v: [1]}\n",
    ),
    (
        "a loop with parallel",
        "steps:\n  - name: T\n    sweep: {v: [1]}\n    parallel: all\n    steps: [{name: s, commands: [X]}]\n",
    ),
    (
        "a loop with no steps",
        "steps:\n  - name: T\n    steps: []\n",
    ),
    (
        "a loop's step with an unknown key",
        "steps:\n  - name: T\n    steps: [{name: s, commands: [X], colour: red}]\n",
    ),
    (
        "unknown on_resume",
        "steps:\n  - name: T\n    steps: [{name: s, on_resume: again, commands: [X]}]\n",
    ),
    (
        "on naming no name",
        "instruments: {tc: {}, smu: {}}\nsteps:\n  - {name: s, instrument: smu, commands: [{query: A?, on: \"t c\"}]}\n",
    ),
];

/// Mistakes the loader refuses are refused by the schema too: unknown keys at each level,
/// durations without a unit or with an unknown one, values of the wrong type, counts below
/// their minimum or above their maximum, a `parallel` that is neither `all` nor a list of
/// distinct names, names that break the name rule. Each file is also run through
/// `sequencer check`, which must exit 2, so the table cannot hold a file that is in fact
/// valid.
#[test]
fn invalid_sequences_are_rejected_by_the_schema_and_the_loader() {
    let schema = printed_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let steps = "steps:\n  - name: s\n    commands: [\"*OPC?\"]\n";
    assert!(validator.is_valid(&yaml_to_json(steps)), "the base file");
    let scratch = Scratch::new();
    for (what, text) in INVALID {
        let text = text.replace("{steps}", steps);
        assert!(
            !validator.is_valid(&yaml_to_json(&text)),
            "{what}: the schema accepts\n{text}"
        );
        scratch.write("bad.yaml", &text);
        let out = scratch.sequencer(["check", "bad.yaml"]);
        assert_eq!(out.code(), 2, "{what}: `check` accepts\n{text}\n{out}");
    }
}
