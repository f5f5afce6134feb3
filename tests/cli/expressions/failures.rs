//! Points an expression fails at run time: a reply that is not a number used in
//! arithmetic, a `let:` dividing by zero, and an expression that cannot be evaluated in
//! each place it can be (command text, `let:`, `when:`, `expect:`, `check:`, `until:`,
//! `stop_when`). Each fails its point, and only it, naming the expression, where it is used
//! and the values; nothing after it is sent, and it is never retried.

use std::time::Duration;

use serde_json::Value;

use super::sent;
use crate::support::{Output, Probe, Scratch, of_type, point, sim, stop};

/// Runs `yaml` against the simulator at `addr` (not `--sim`), so the test can ask the
/// instrument afterwards what it was sent.
fn run_at(scratch: &Scratch, yaml: &str, addr: &str) -> (Output, Vec<Value>) {
    scratch.run("e.yaml", yaml, &["--address", addr])
}

/// A reply that is not a number, used in arithmetic, fails its point with the expression,
/// the command and the values; the instrument never gets the commands after it, and the
/// run exits 1 with the point's error as its reason.
#[test]
fn non_numeric_reply_in_arithmetic_fails_the_point() {
    let yaml = r#"
name: ovld
instrument: {}
steps:
  - name: s
    sweep: {volt: [0.5]}
    commands:
      - "LBL OVLD"
      - {query: "LBL?", as: r}
      - "SOUR:VOLT {volt / r}"
      - "AFTER 1"
"#;
    let instrument = sim(Duration::ZERO, None);
    let scratch = Scratch::new();
    let (out, records) = run_at(&scratch, yaml, &instrument.addr().to_string());
    assert_eq!(out.code(), 1, "{out}");
    let want = "cannot evaluate `volt / r` in `SOUR:VOLT {volt / r}`: reply `OVLD` is not a \
                number (volt = 0.5, r = OVLD)";
    let p = point(&records, "s/0");
    assert_eq!(p["status"], "failed");
    assert_eq!(p["error"], want);
    assert_eq!(sent(p), ["LBL OVLD", "LBL?"]);
    assert_eq!(
        stop(&records)["reason"],
        format!("point `s/0` failed: {want}")
    );
    assert_eq!(of_type(&records, "point").len(), 1, "not retried");
    let mut probe = Probe::connect(instrument.addr());
    assert_eq!(
        probe.query("SOUR:VOLT?"),
        "0",
        "the failing command was sent"
    );
    assert_eq!(probe.query("AFTER?"), "0", "a command after it was sent");
}

/// A `let:` dividing by zero fails exactly its point, before anything is sent for it, with
/// the expression, the `let:` name and the values; with `on_error: continue` the other
/// points run.
#[test]
fn let_division_by_zero_fails_only_its_point() {
    let yaml = r#"
name: div
instrument: {}
on_error: continue
steps:
  - name: s
    sweep: {volt: [0.5, 0, 2]}
    let: {r: "1 / volt", k: "r * 2"}
    commands: ["V{round(volt * 10)} {k}"]
"#;
    let instrument = sim(Duration::ZERO, None);
    let scratch = Scratch::new();
    let (out, records) = run_at(&scratch, yaml, &instrument.addr().to_string());
    assert_eq!(out.code(), 1, "{out}");
    let want = "cannot evaluate `1 / volt` in `let: r`: division by zero (volt = 0)";
    let failed = point(&records, "s/1");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"], want);
    assert_eq!(sent(failed), Vec::<&str>::new());
    assert_eq!(sent(point(&records, "s/0")), ["V5 4"]);
    assert_eq!(sent(point(&records, "s/2")), ["V20 1"]);
    let s = stop(&records);
    assert_eq!(
        (s["points_ok"].as_u64(), s["points_failed"].as_u64()),
        (Some(2), Some(1))
    );
    let mut probe = Probe::connect(instrument.addr());
    assert_eq!(probe.query("V5?"), "4");
    assert_eq!(
        probe.query("V0?"),
        "0",
        "the failing point sent its command"
    );
}

/// An expression that cannot be evaluated fails its point wherever it is (command text,
/// `let:`, `when:`, `expect:`, `check:`, `until:`, `stop_when`), naming the expression,
/// where it is used and the values; it is never retried, whatever `retry_on` says.
#[test]
fn evaluation_errors_name_their_place_and_are_not_retried() {
    let yaml = r#"
name: places
instrument: {}
on_error: continue
retries: 1
retry_on: [mismatch, timeout]
steps:
  - name: text
    sweep: {volt: [0.5]}
    commands: ["SOUR:VOLT {1 / (volt - 0.5)}"]
  - name: let
    sweep: {volt: [0.5]}
    let: {r: "1 / (volt - 0.5)"}
    commands: ["SOUR:VOLT {r}"]
  - name: when
    sweep: {volt: [0.5]}
    commands: [{write: "W 1", when: "1 / (volt - 0.5) > 1"}]
  - name: expect
    sweep: {volt: [0.5]}
    commands: [{query: "SOUR:VOLT?", expect: "{1 / (volt - 0.5)}"}]
  - name: check
    sweep: {volt: [0.5]}
    commands:
      - "L OVLD"
      - {query: "L?", as: rb, check: "rb > 1"}
  - name: until
    sweep: {volt: [0.5]}
    commands: [{poll: "SOUR:VOLT?", until: "value > 1 / (volt - 0.5)", timeout: 1s}]
  - name: stop_when
    sweep: {volt: [0.5]}
    commands: [{query: "SOUR:VOLT?", as: rb}]
    stop_when: [{if: "rb > 1 / (volt - 0.5)", then: stop}]
"#;
    let cases = [
        (
            "text/0",
            "cannot evaluate `1 / (volt - 0.5)` in `SOUR:VOLT {1 / (volt - 0.5)}`: division by \
             zero (volt = 0.5)",
        ),
        (
            "let/0",
            "cannot evaluate `1 / (volt - 0.5)` in `let: r`: division by zero (volt = 0.5)",
        ),
        (
            "when/0",
            "cannot evaluate `1 / (volt - 0.5) > 1` in the `when` of `W 1`: division by zero \
             (volt = 0.5)",
        ),
        (
            "expect/0",
            "cannot evaluate `1 / (volt - 0.5)` in the `expect` of `SOUR:VOLT?`: division by \
             zero (volt = 0.5)",
        ),
        (
            "check/0",
            "cannot evaluate `rb > 1` in the `check` of `L?`: reply `OVLD` is not a number \
             (rb = OVLD)",
        ),
        (
            "until/0",
            "cannot evaluate `value > 1 / (volt - 0.5)` in the `until` of `SOUR:VOLT?`: \
             division by zero (value = 0, volt = 0.5)",
        ),
        (
            "stop_when/0",
            "cannot evaluate `rb > 1 / (volt - 0.5)` in `stop_when`: division by zero (rb = 0, \
             volt = 0.5)",
        ),
    ];
    let scratch = Scratch::new();
    let (out, records) = scratch.run("p.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 1, "{out}");
    for (id, want) in cases {
        let p = point(&records, id);
        assert_eq!(p["status"], "failed", "{id}");
        assert_eq!(p["error"], want, "{id}");
    }
    let s = stop(&records);
    assert_eq!(s["retries"], 0, "{s}");
    assert_eq!(s["points_failed"], cases.len(), "{s}");
}
