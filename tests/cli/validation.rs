//! Invalid input is refused before anything is sent: exit code 2 from both `check` and
//! `run`, a `file:line:col: message` on stderr, and no connection ever reaches the
//! instrument.
//!
//! "Nothing sent" is observed on a live simulator: the test holds its own connection open
//! for the whole case, so any session opened by `sequencer` would raise the simulator's
//! `SIM:CONN:PEAK?` above 1.

use std::path::Path;
use std::time::Duration;

use crate::support::{Output, Probe, Scratch, sim};

/// One invalid sequence and what the error must say.
pub(crate) struct Case {
    /// File name; stderr must name it as `file:line:`.
    pub(crate) file: &'static str,
    /// The sequence text.
    pub(crate) yaml: &'static str,
    /// 1-based line of the problem.
    pub(crate) line: u32,
    /// 1-based column, where the parser's choice is part of the contract.
    pub(crate) col: Option<u32>,
    /// Phrases the message must contain.
    pub(crate) phrases: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        file: "embedded_termination.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    commands:\n      - {query: \"A?\\nB?\", as: a}\n      - {query: \"C?\", as: c}\n",
        line: 7,
        col: Some(17),
        phrases: &["command `A?\\nB?` contains the write termination `\\n`"],
    },
    Case {
        file: "breaking_sweep_value.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    sweep: {ch: [\"1\", \"2\\r\"]}\n    commands: [\"SOUR{ch}:VOLT 1\"]\n",
        line: 6,
        col: Some(23),
        phrases: &[
            "`ch` value `2\\r`, rendered into `SOUR{ch}:VOLT 1`, contains a carriage return",
        ],
    },
    Case {
        file: "unknown_key.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    foo: 1\n    commands: [\"A 1\"]\n",
        line: 6,
        col: Some(5),
        phrases: &["unknown field `foo`"],
    },
    Case {
        file: "wrong_type.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: many\nsteps:\n  - name: s\n    commands: [\"A 1\"]\n",
        line: 3,
        col: Some(20),
        phrases: &["`many`"],
    },
    Case {
        file: "duration_no_unit.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\n  timeout: 2\nsteps:\n  - name: s\n    commands: [\"A 1\"]\n",
        line: 4,
        col: Some(12),
        phrases: &["bad duration `2`", "no unit"],
    },
    Case {
        file: "duration_bad_unit.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    commands:\n      - \"A 1\"\n      - wait: 5 parsecs\n",
        line: 8,
        col: Some(15),
        phrases: &["unknown unit `parsecs`"],
    },
    Case {
        file: "duplicate_step.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    commands: [\"A 1\"]\n  - name: s\n    commands: [\"A 2\"]\n",
        line: 7,
        col: Some(11),
        phrases: &["duplicate step name `s`", "line 5"],
    },
    Case {
        file: "unknown_placeholder.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    sweep:\n      ch: [1, 2]\n    commands:\n      - \"SOUR{chan}:VOLT 1\"\n",
        line: 9,
        col: Some(15),
        phrases: &["placeholder `{chan}`", "unknown name `chan`", "`ch`"],
    },
    Case {
        file: "zip_lengths.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    mode: zip\n    sweep:\n      a: [1, 2, 3]\n      b: [1, 2]\n    commands: [\"A {a} {b}\"]\n",
        line: 9,
        col: Some(7),
        phrases: &["zip", "`b` has 2", "`a` has 3", "same"],
    },
    Case {
        file: "num_zero.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    sweep:\n      v: {start: 0, stop: 1, num: 0}\n    commands: [\"A {v}\"]\n",
        line: 7,
        col: Some(35),
        phrases: &["`num`", "at least 1"],
    },
    Case {
        file: "step_zero.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    sweep:\n      v: {start: 0, stop: 1, step: 0}\n    commands: [\"A {v}\"]\n",
        line: 7,
        col: Some(36),
        phrases: &["`step` is 0"],
    },
    Case {
        file: "step_away.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    sweep:\n      v: {start: 0, stop: 1, step: -0.1}\n    commands: [\"A {v}\"]\n",
        line: 7,
        col: Some(36),
        phrases: &["`-0.1`", "points away from `stop`"],
    },
    Case {
        file: "log_from_zero.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    sweep:\n      v: {start: 0, stop: 100, num: 3, log: true}\n    commands: [\"A {v}\"]\n",
        line: 7,
        col: Some(18),
        phrases: &["log sweep", "positive"],
    },
    Case {
        file: "unknown_instrument.yaml",
        yaml: "name: v\ninstruments:\n  smu: {max_connections: 2}\n  dmm: {max_connections: 1}\nsteps:\n  - name: s\n    instrument: scope\n    commands: [\"A 1\"]\n",
        line: 7,
        col: Some(17),
        phrases: &["unknown instrument `scope`", "`smu`", "`dmm`"],
    },
    Case {
        file: "max_connections_zero.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 0\nsteps:\n  - name: s\n    commands: [\"A 1\"]\n",
        line: 3,
        col: Some(20),
        phrases: &["`max_connections` must be at least 1"],
    },
    Case {
        file: "parallel_unknown.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    sweep: {ch: [1, 2]}\n    parallel: [chan]\n    commands: [\"SOUR{ch}:VOLT 1\"]\n",
        line: 7,
        col: Some(16),
        phrases: &[
            "`parallel` names `chan`, which is not a sweep variable of step `s`",
            "(variables: `ch`)",
        ],
    },
    Case {
        file: "parallel_word.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    sweep: {ch: [1, 2]}\n    parallel: ch\n    commands: [\"SOUR{ch}:VOLT 1\"]\n",
        line: 7,
        col: Some(15),
        phrases: &[
            "`parallel` is `all` or a list of sweep variables such as `[ch]`, not `ch`",
            "write `parallel: [ch]`",
        ],
    },
    Case {
        file: "parallel_no_sweep.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    repeat: 2\n    parallel: [i]\n    commands: [\"A 1\"]\n",
        line: 7,
        col: Some(15),
        phrases: &["step `s` has no sweep, so `parallel` names no variable"],
    },
    Case {
        file: "reused_loop_variable.yaml",
        yaml: "name: v\nsteps:\n  - name: T\n    sweep: {setpoint: [300, 250]}\n    steps:\n      - name: iv\n        sweep: {setpoint: [1, 2]}\n        commands: [\"V {setpoint}\"]\n",
        line: 7,
        col: Some(17),
        phrases: &["variable `setpoint` is already a variable of loop `T` (line 4)"],
    },
    Case {
        file: "unknown_on_instrument.yaml",
        yaml: "name: v\ninstruments: {tc: {}, smu: {}}\nsteps:\n  - name: iv\n    instrument: smu\n    commands: [{query: \"TEMP?\", on: dmm}]\n",
        line: 6,
        col: Some(37),
        phrases: &["`on` names unknown instrument `dmm` (instruments: `tc`, `smu`)"],
    },
    Case {
        // A string cannot take keys, so this is a YAML syntax error (wording and column
        // the parser's); the help says how to write the command.
        file: "on_plain_string.yaml",
        yaml: "name: v\ninstruments: {tc: {}, smu: {}}\nsteps:\n  - name: iv\n    instrument: smu\n    commands:\n      - \"TEMP?\"\n        on: tc\n",
        line: 8,
        col: None,
        phrases: &[
            "a command string cannot take `on:`",
            "`- {query: \"TEMP?\", on: tc}`",
        ],
    },
    Case {
        file: "duplicate_sibling.yaml",
        yaml: "name: v\nsteps:\n  - name: T\n    steps:\n      - {name: a, commands: [X]}\n      - {name: a, commands: [Y]}\n",
        line: 6,
        col: Some(16),
        phrases: &["duplicate step name `a` in loop `T` (first used on line 5)"],
    },
    Case {
        // The parser's wording and column for a syntax error are its own; only the line
        // is part of the contract.
        file: "yaml_syntax.yaml",
        yaml: "name: v\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    commands: [\"A 1\"\n  - name: t\n",
        line: 7,
        col: None,
        phrases: &[],
    },
];

/// Asserts that `out` is the refusal `case` describes.
fn assert_refused(what: &str, case: &Case, out: &Output) {
    assert_eq!(out.code(), 2, "{what} {}\n{out}", case.file);
    let location = match case.col {
        Some(col) => format!("{}:{}:{col}:", case.file, case.line),
        None => format!("{}:{}:", case.file, case.line),
    };
    let stderr = out.stderr_flat();
    assert!(
        stderr.contains(&location),
        "{what} {}: no `{location}` in stderr\n{out}",
        case.file
    );
    for phrase in case.phrases {
        assert!(
            stderr.contains(phrase),
            "{what} {}: no `{phrase}` in stderr\n{out}",
            case.file
        );
    }
    // One mistake, one report: no follow-on problems caused by the first.
    assert!(
        !stderr.contains("problems in"),
        "{what} {}: follow-on problems reported\n{out}",
        case.file
    );
    assert!(
        !out.stdout.contains("total:"),
        "{what} {}: a plan was printed\n{out}",
        case.file
    );
}

/// Each invalid sequence exits 2 from `check` and from `run`, points at the right
/// `file:line:col` with a message naming the problem, and opens no connection.
#[test]
fn invalid_sequences_exit_2_and_send_nothing() {
    assert_all_refused(CASES);
}

/// Asserts that each of `cases` exits 2 from `check` and from `run` with its message at its
/// place, that `run` writes no log, and that no connection reaches the instrument.
pub(crate) fn assert_all_refused(cases: &[Case]) {
    let instrument = sim(Duration::ZERO, None);
    let addr = instrument.addr().to_string();
    // Held open for every case: the peak stays 1 unless `sequencer` connects.
    let mut probe = Probe::connect(instrument.addr());
    let scratch = Scratch::new();
    for case in cases {
        scratch.write(case.file, case.yaml);
        let out = scratch.sequencer(["check", case.file]);
        assert_refused("check", case, &out);
        let log = format!("{}.jsonl", case.file);
        let out = scratch.sequencer(["run", case.file, "--address", &addr, "-o", &log]);
        assert_refused("run", case, &out);
        assert_eq!(
            probe.query("SIM:CONN:PEAK?"),
            "1",
            "{}: sequencer connected to the instrument",
            case.file
        );
        assert!(
            !scratch.join(&log).exists(),
            "{}: a run log was written for an invalid sequence",
            case.file
        );
    }
}

/// A sequence file that does not exist: exit 2 from `check` and `run`, with the path on
/// stderr, and nothing sent.
#[test]
fn missing_sequence_file_exits_2() {
    let instrument = sim(Duration::ZERO, None);
    let addr = instrument.addr().to_string();
    let scratch = Scratch::new();
    let missing = scratch.join("missing.yaml");
    let mut probe = Probe::connect(instrument.addr());
    for args in [
        vec![Path::new("check"), &missing],
        vec![
            Path::new("run"),
            &missing,
            Path::new("--address"),
            Path::new(&addr),
        ],
    ] {
        let out = scratch.sequencer(&args);
        assert_eq!(out.code(), 2, "{args:?}\n{out}");
        let path = missing.display().to_string();
        assert!(
            out.stderr_flat().contains(&path),
            "{args:?}: no `{path}`\n{out}"
        );
    }
    assert_eq!(probe.query("SIM:CONN:PEAK?"), "1", "sequencer connected");
}

/// `-o` naming a file that exists: exit 2 saying it already exists, the file keeps its
/// content, and nothing is sent.
#[test]
fn existing_run_log_is_never_overwritten() {
    let instrument = sim(Duration::ZERO, None);
    let addr = instrument.addr().to_string();
    let mut probe = Probe::connect(instrument.addr());
    let scratch = Scratch::new();
    scratch.write(
        "fine.yaml",
        "name: fine\ninstrument:\n  max_connections: 2\nsteps:\n  - name: s\n    commands: [\"A 1\"]\n",
    );
    let before = "an earlier run log\n";
    let log = scratch.write("taken.jsonl", before);
    let out = scratch.sequencer([
        Path::new("run"),
        Path::new("fine.yaml"),
        Path::new("--address"),
        Path::new(&addr),
        Path::new("-o"),
        &log,
    ]);
    assert_eq!(out.code(), 2, "{out}");
    let stderr = out.stderr_flat();
    assert!(stderr.contains("already exists"), "{out}");
    assert!(stderr.contains("taken.jsonl"), "path not named\n{out}");
    let after = std::fs::read_to_string(&log).expect("the run log was removed");
    assert_eq!(after, before, "the existing run log was changed");
    assert_eq!(probe.query("SIM:CONN:PEAK?"), "1", "sequencer connected");
}
