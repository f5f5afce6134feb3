//! Record and replay: a run recorded against one simulator is replayed by `sim --replay`
//! (or `run --replay`) and `sequencer diff` finds the two run logs equal; a changed reply
//! makes `diff` exit 1 and name the point.

use std::path::Path;

use crate::support::{Scratch, Serving, read_log, stop};

/// Four parallel connections; replies that depend on what each point set before.
const SWEEP: &str = r#"
name: rec
instrument: {max_connections: 4}
setup: ["*RST"]
steps:
  - name: iv
    sweep:
      ch: [1, 2]
      volt: {start: 0, stop: 1, num: 6}
    commands:
      - "SOUR{ch}:VOLT {volt}"
      - {query: "SOUR{ch}:VOLT?", as: readback}
      - {query: "*OPC?", expect: "1"}
"#;

/// Runs `diff a b` and returns its output.
fn diff(scratch: &Scratch, a: &Path, b: &Path) -> crate::support::Output {
    scratch.sequencer([Path::new("diff"), a, b])
}

/// A run replayed by a separate `sequencer sim --replay` process reproduces the same run
/// log under `diff`, although points arrive on other connections in another order.
#[test]
fn replayed_run_matches_the_recording() {
    let scratch = Scratch::new();
    let (out, records) = scratch.run("rec.yaml", SWEEP, &["--sim", "--sim-latency", "2ms"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(stop(&records)["exit_status"], "success");
    let golden = scratch.join("rec.yaml.jsonl");

    let server = Serving::spawn(
        Path::new("."),
        [
            Path::new("sim"),
            Path::new("--listen"),
            Path::new("127.0.0.1:0"),
        ]
        .into_iter()
        .chain([Path::new("--replay"), golden.as_path()])
        .chain([Path::new("--replay-speed"), Path::new("0")]),
    );
    let replayed = scratch.join("replayed.jsonl");
    let addr = server.addr().to_string();
    let out = scratch.sequencer([
        Path::new("run"),
        Path::new("rec.yaml"),
        Path::new("--address"),
        Path::new(&addr),
        Path::new("-o"),
        &replayed,
    ]);
    assert_eq!(out.code(), 0, "{out}");
    let out = diff(&scratch, &golden, &replayed);
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("runs match: 13 points"), "{out}");
}

/// `run --replay` does the same in one command, and the simulator reports commands it had
/// no recording for (here: a step added to the sequence after the recording).
#[test]
fn run_replay_reports_unrecorded_commands() {
    let scratch = Scratch::new();
    let (out, _) = scratch.run("rec.yaml", SWEEP, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let golden = scratch.join("rec.yaml.jsonl");
    let golden_arg = golden.to_str().unwrap();
    let (out, _) = scratch.run("same.yaml", SWEEP, &["--replay", golden_arg]);
    assert_eq!(out.code(), 0, "{out}");
    assert!(!out.stderr.contains("unrecorded"), "{out}");
    let out = diff(&scratch, &golden, &scratch.join("same.yaml.jsonl"));
    assert_eq!(out.code(), 0, "{out}");

    let changed = format!("{SWEEP}  - name: extra\n    commands: [\"NEW:CMD?\"]\n");
    let (out, records) = scratch.run("changed.yaml", &changed, &["--replay", golden_arg]);
    // The unrecorded query is answered with the replay's device error, which the point
    // accepts (it has no expect); the report names it.
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stderr.contains("NEW:CMD?"), "{out}");
    let extra = crate::support::point(&records, "extra/0");
    assert_eq!(extra["commands"][0]["reply"], "ERROR");
    // And diff sees the new point.
    let out = diff(&scratch, &golden, &scratch.join("changed.yaml.jsonl"));
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stdout.contains("extra/0"), "{out}");
}

/// A changed reply makes `diff` exit 1 and list the point, the command and both replies.
#[test]
fn diff_reports_a_changed_reply() {
    let scratch = Scratch::new();
    let (out, _) = scratch.run("rec.yaml", SWEEP, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let golden = scratch.join("rec.yaml.jsonl");
    let text = std::fs::read_to_string(&golden).unwrap();
    let edited: String = text
        .lines()
        .map(|line| {
            if line.contains("\"id\":\"iv/3\"") {
                line.replace("\"reply\":\"0.6\"", "\"reply\":\"0.61\"")
                    .replace("\"readback\":\"0.6\"", "\"readback\":\"0.61\"")
            } else {
                line.to_owned()
            }
        })
        .map(|line| line + "\n")
        .collect();
    assert_ne!(text, edited, "the fixture no longer has iv/3 = 0.6");
    let changed = scratch.write("changed.jsonl", &edited);
    assert_eq!(read_log(&changed).len(), read_log(&golden).len());
    let out = diff(&scratch, &golden, &changed);
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stdout.contains("iv/3"), "{out}");
    assert!(out.stdout.contains("0.61"), "{out}");
    assert!(out.stdout.contains("1 of 13 points differ"), "{out}");
    // Unreadable input is exit 2, not "different".
    let out = diff(&scratch, &golden, &scratch.join("missing.jsonl"));
    assert_eq!(out.code(), 2, "{out}");
}
