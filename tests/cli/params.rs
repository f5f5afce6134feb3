//! `params:` and `--set`: point counts, sweep lists and durations changed by `--set`; the
//! start record's effective `params`; `check --set`; unknown names and wrong types exit 2
//! with the parameters listed; `resume` refuses a new `--set` without `--force` and runs
//! with the recorded values; `diff` notes different parameters.

use serde_json::Value;

use crate::support::{Scratch, of_type, step_points, stop};

/// A sweep over a list parameter (`temps`) and a range whose `num` is one (`n`), with a
/// duration parameter as a `wait` and a number one rendered in command text.
const FILE: &str = r#"
name: p
params:
  temps: [300, 200]
  n: 3
  settle: 1ms
  vmax: 1.5
  label: abc
instrument: {}
steps:
  - name: T
    sweep: {t: "{temps}"}
    steps:
      - name: iv
        sweep: {v: {start: 0, stop: "{vmax}", num: "{n}"}}
        commands:
          - "SOUR:VOLT {v}; LAB {label}"
          - {wait: "{settle}"}
          - {query: "SOUR:VOLT?", as: rb}
"#;

/// The `params` of the start record.
fn start_params(records: &[Value]) -> &Value {
    &of_type(records, "start")[0]["params"]
}

/// Defaults: 2 temperatures x 3 points, the defaults in the start record (the duration as
/// its text), `{vmax}` and `{label}` rendered into the commands.
#[test]
fn defaults_run_and_are_recorded() {
    let scratch = Scratch::new();
    let (out, records) = scratch.run("p.yaml", FILE, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(step_points(&records).len(), 6);
    assert_eq!(
        start_params(&records).to_string(),
        r#"{"temps":[300,200],"n":3,"settle":"1ms","vmax":1.5,"label":"abc"}"#
    );
    let last = step_points(&records)[5];
    assert_eq!(last["commands"][0]["sent"], "SOUR:VOLT 1.5; LAB abc");
}

/// `--set` changes the list, the count and the duration; the start record holds the
/// values the run used.
#[test]
fn set_changes_counts_lists_and_durations() {
    let scratch = Scratch::new();
    let (out, records) = scratch.run(
        "p.yaml",
        FILE,
        &[
            "--sim",
            "--set",
            "temps=[10, 20, 30]",
            "--set",
            "n=2",
            "--set",
            "settle=2ms",
        ],
    );
    assert_eq!(out.code(), 0, "{out}");
    let points = step_points(&records);
    assert_eq!(points.len(), 6, "3 temperatures x 2 points");
    assert_eq!(points[5]["vars"]["t"], 30);
    let params = start_params(&records);
    assert_eq!(params["temps"].to_string(), "[10,20,30]");
    assert_eq!(
        (params["n"].clone(), params["settle"].clone()),
        (2.into(), "2ms".into())
    );
    assert_eq!(stop(&records)["exit_status"], "success");
}

/// `check --set` plans with the values given; unknown names and wrong types exit 2 naming
/// the parameter, the value and the parameters with their types and defaults; `--set` on
/// a file without `params:` says it has none.
#[test]
fn check_and_refusals() {
    let scratch = Scratch::new();
    scratch.write("p.yaml", FILE);
    let out = scratch.sequencer(["check", "p.yaml", "--set", "n=5"]);
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("10 points"), "{out}");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--set", "vmx=1"],
            "--set `vmx`: no such parameter; parameters: `temps` (a list of numbers, default \
             `[300, 200]`), `n` (a number, default `3`), `settle` (a duration, default `1ms`)",
        ),
        (
            &["--set", "vmax=[1, 2]"],
            "--set `vmax=[1, 2]`: `vmax` is a number, and `[1, 2]` is a list of numbers",
        ),
        (
            &["--set", "settle=abc"],
            "--set `settle=abc`: `settle` is a duration, and `abc` is text",
        ),
        (&["--set", "n"], "write `NAME=VALUE`"),
    ];
    for (args, says) in cases {
        for command in ["check", "run"] {
            let mut all = vec![command, "p.yaml"];
            all.extend(args);
            let out = scratch.sequencer(&all);
            assert_eq!(out.code(), 2, "{args:?}: {out}");
            assert!(out.stderr_flat().contains(says), "{args:?}: {out}");
        }
    }
    scratch.write(
        "none.yaml",
        "instrument: {}\nsteps: [{name: s, commands: [A]}]\n",
    );
    let out = scratch.sequencer(["check", "none.yaml", "--set", "a=1"]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("--set `a`: sequence `none.yaml` has no parameters (no `params:`)"),
        "{out}"
    );
}

/// A parameter of the wrong type at its use is an error there, at its line and column.
#[test]
fn wrong_type_at_the_use() {
    let scratch = Scratch::new();
    scratch.write("p.yaml", FILE);
    let out = scratch.sequencer(["check", "p.yaml", "--set", "n=2.5"]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("parameter `n` is `2.5`, where a whole number is wanted"),
        "{out}"
    );
    assert!(out.stderr.contains("p.yaml:15:"), "{out}");
}

/// A text parameter with decimals (`{label:.2}`) is refused at its placeholder like a text
/// variable's (it was sent as is); a number parameter takes them.
#[test]
fn text_parameter_takes_no_decimals() {
    let yaml = "name: td\nparams: {label: S17, vmax: 0.5}\ninstrument: {}\nsteps:\n  - name: s\n    \
                commands: [\"A {vmax:.2} {label:.2}\"]\n";
    let scratch = Scratch::new();
    scratch.write("td.yaml", yaml);
    let out = scratch.sequencer(["check", "td.yaml"]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("`{label:.2}` is a text, so it cannot be formatted with decimals"),
        "{out}"
    );
    assert!(out.stderr.contains("td.yaml:6:29:"), "{out}");
}

/// `resume --set` is refused without `--force`; a resume uses the recorded values (here
/// `n=2`, not the file's 3), and `--force` lets `--set` change them.
#[test]
fn resume_uses_the_recorded_values() {
    let scratch = Scratch::new();
    let (out, records) = scratch.run("p.yaml", FILE, &["--sim", "--set", "n=2"]);
    assert_eq!(out.code(), 0, "{out}");
    // The log as a crash would leave it: the start record and the first point.
    let log = scratch.join("p.yaml.jsonl");
    let text = std::fs::read_to_string(&log).expect("log");
    let first: Vec<&str> = text
        .lines()
        .take_while(|l| !l.contains("\"T/0/iv/1\""))
        .collect();
    assert!(records.len() > first.len());
    std::fs::write(&log, first.join("\n") + "\n").expect("write");
    let log = log.to_str().expect("UTF-8");

    let out = scratch.sequencer(["resume", log, "--sim", "--set", "n=5"]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("--set `n=5` on resume: the points already run used the recorded parameters"),
        "{out}"
    );
    assert!(out.stderr_flat().contains("pass --force"), "{out}");

    let out = scratch.sequencer(["resume", log, "--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let records = crate::support::read_log(std::path::Path::new(log));
    let ids: std::collections::BTreeSet<String> = step_points(&records)
        .iter()
        .map(|p| p["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids.len(), 4, "2 temperatures x n=2: {ids:?}");
    assert_eq!(of_type(&records, "resume")[0]["params"]["n"], 2);
}

/// `diff` of two runs with different parameters notes each differing one on stderr.
#[test]
fn diff_notes_different_parameters() {
    let scratch = Scratch::new();
    let (a, _) = scratch.run("a.yaml", FILE, &["--sim"]);
    assert_eq!(a.code(), 0, "{a}");
    let (b, _) = scratch.run(
        "b.yaml",
        FILE,
        &["--sim", "--set", "vmax=2", "--set", "label=x"],
    );
    assert_eq!(b.code(), 0, "{b}");
    let out = scratch.sequencer(["diff", "a.yaml.jsonl", "b.yaml.jsonl"]);
    assert_eq!(out.code(), 1, "{out}");
    let err = out.stderr_flat();
    assert!(
        err.contains("the runs had different parameters: `vmax` is `1.5` in A, `2` in B"),
        "{out}"
    );
    assert!(
        err.contains("`label` is `\"abc\"` in A, `\"x\"` in B"),
        "{out}"
    );
    assert!(!err.contains("`temps` is"), "{out}");
}

/// A `true`/`false` parameter switches a step on and off through its `when:` (and reads as
/// a condition anywhere): the default runs it, `--set iv=false` skips its points, and the
/// start record holds the JSON boolean.
#[test]
fn boolean_parameter_switches_a_step() {
    const SWITCHED: &str = r#"
name: b
params:
  iv: true
instrument: {}
steps:
  - name: ivs
    when: "iv"
    sweep: {v: [1, 2]}
    commands: ["SOUR:VOLT {v}", {write: "NOTE", when: "iv and true"}]
  - name: other
    commands: ["X"]
"#;
    let scratch = Scratch::new();
    let (out, records) = scratch.run("b.yaml", SWITCHED, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(step_points(&records).len(), 3);
    assert_eq!(start_params(&records).to_string(), r#"{"iv":true}"#);
    assert_eq!(step_points(&records)[0]["commands"][1]["sent"], "NOTE");
    let (out, records) = scratch.run("b2.yaml", SWITCHED, &["--sim", "--set", "iv=false"]);
    assert_eq!(out.code(), 0, "{out}");
    let points = step_points(&records);
    assert_eq!(points.len(), 1, "{out}");
    assert_eq!(points[0]["step"], "other");
    assert_eq!(stop(&records)["points_skipped"], 2);
    assert_eq!(start_params(&records).to_string(), r#"{"iv":false}"#);
}
