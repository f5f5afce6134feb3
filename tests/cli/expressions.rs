//! Expressions end to end (issue 16, items 1 to 5), against `--sim`: values rendered into
//! command text, `let:` values in the run log's `vars` and in `export`, measured values
//! reused later in their point, `check:` failing as a mismatch (retried only with
//! `retry_on: [mismatch]`), `expect:` with placeholders, a poll's `until:` expression, and
//! `when:` on commands and on steps. [`failures`] has the points an expression fails at run
//! time; [`validation`] the errors at load, each at its line and column.
//!
//! The generic simulator stores `HEADER VALUE` and answers `HEADER?` with it (`0` if never
//! set), so a test reads back what it wrote and asks the instrument afterwards what it was
//! sent.

mod failures;
mod validation;

use std::path::Path;

use serde_json::Value;

use crate::support::{Scratch, of_type, point, step_points, stop};

/// The texts a point record says were sent, in order.
fn sent(p: &Value) -> Vec<&str> {
    p["commands"]
        .as_array()
        .unwrap_or_else(|| panic!("no commands in {p}"))
        .iter()
        .map(|c| c["sent"].as_str().unwrap_or_default())
        .collect()
}

/// The names of a point record's `vars`, in the order the record has them.
fn var_names(p: &Value) -> Vec<&str> {
    p["vars"]
        .as_object()
        .unwrap_or_else(|| panic!("no vars in {p}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// Arithmetic, `:.N`, the integer and float rules, a parameter and literal braces, each
/// rendered into the text sent: `{volt / 1000 + 1e-6}` with volt 0.5 is `0.000501`.
#[test]
fn placeholders_render_expressions() {
    let yaml = r#"
name: render
params: {gain: 3, label: abc}
instrument: {}
steps:
  - name: s
    sweep: {volt: [0.5], n: [3]}
    commands:
      - "CURR:LIM {volt / 1000 + 1e-6}"
      - "A {volt:.3} {volt * 1000:.3} {round(volt * 7, 2)}"
      - "B {n * 2} {n / 2} {n / 3} {n % 2} {-n ** 2} {max(n, 7)} {abs(-n)}"
      - "C {gain * n} {label} {{raw}} {if(volt > 1, 'hi', 'lo')}"
"#;
    let scratch = Scratch::new();
    let (out, records) = scratch.run("r.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(
        sent(point(&records, "s/0")),
        [
            "CURR:LIM 0.000501",
            "A 0.500 500.000 3.5",
            // `n / 3` is the float 1.0, rendered with 12 significant digits as `1`.
            "B 6 1.5 1 1 -9 7 3",
            "C 9 abc {raw} lo",
        ]
    );
}

/// `let:` values: in the point's `vars` after the sweep variables, in the order written,
/// each computed from the ones before, integers staying integers and `/` giving floats;
/// `export` has a column for each.
#[test]
fn let_values_are_in_vars_and_export() {
    let yaml = r#"
name: lets
instrument: {}
steps:
  - name: s
    sweep: {volt: [0.5, 2.5], n: [3]}
    let: {ilim: "volt / 1000 + 1e-6", twice: "ilim * 2", k: "n * 2", third: "n / 3"}
    commands: ["CURR:LIM {ilim}; K {k}"]
"#;
    let scratch = Scratch::new();
    let (out, records) = scratch.run("l.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let p = point(&records, "s/0");
    assert_eq!(var_names(p), ["volt", "n", "ilim", "twice", "k", "third"]);
    assert_eq!(p["vars"]["ilim"], 0.000_501);
    assert_eq!(p["vars"]["twice"], 0.001_002);
    assert!(p["vars"]["k"].is_i64(), "`n * 2` stays an integer: {p}");
    assert_eq!(p["vars"]["k"], 6);
    assert!(p["vars"]["third"].is_f64(), "`n / 3` is a float: {p}");
    assert_eq!(p["vars"]["third"], 1.0);
    assert_eq!(sent(p), ["CURR:LIM 0.000501; K 6"]);
    assert_eq!(point(&records, "s/1")["vars"]["ilim"], 0.002_501);

    let log = scratch.join("l.yaml.jsonl");
    let export = scratch.sequencer(["export".as_ref(), log.as_os_str()]);
    assert_eq!(export.code(), 0, "{export}");
    let lines: Vec<&str> = export.stdout.lines().collect();
    assert!(
        lines[0].starts_with("id,step,volt,n,ilim,twice,k,third,"),
        "{export}"
    );
    assert!(
        lines[1].starts_with("s/0,s,0.5,3,0.000501,0.001002,6,1"),
        "{export}"
    );
}

/// A `let:` on a loop is computed per iteration and seen by the body's steps, in their
/// texts and their own `let:`; each body point records it in its `vars`.
#[test]
fn loop_let_is_seen_by_the_body() {
    let yaml = r#"
name: loop-let
instrument: {}
steps:
  - name: T
    sweep: {setpoint: [300, 100]}
    let: {mk: "setpoint * 1000"}
    steps:
      - name: iv
        sweep: {v: [1, 2]}
        let: {p: "mk + v"}
        commands: ["TEMP {mk} {p}"]
"#;
    let scratch = Scratch::new();
    let (out, records) = scratch.run("t.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let p = point(&records, "T/1/iv/1");
    assert_eq!(var_names(p), ["setpoint", "v", "mk", "p"]);
    assert_eq!(sent(p), ["TEMP 100000 100002"]);
    assert_eq!(sent(point(&records, "T/0/iv/0")), ["TEMP 300000 300001"]);
}

/// A measured value reused later in its point: as text (`{rb}`, the reply as sent) and as
/// a number (`{rb * 2:.2}`; `+1.234E-03` read the way SCPI sends numbers), and a query's
/// `check:` that holds leaves the point ok.
#[test]
fn measured_value_is_reused_in_later_commands() {
    let yaml = r#"
name: reuse
instrument: {}
steps:
  - name: s
    sweep: {volt: [0.5, 1.25]}
    commands:
      - "SOUR1:VOLT {volt}"
      - {query: "SOUR1:VOLT?", as: rb, check: "abs(rb - volt) < 1e-6"}
      - "X {rb}"
      - "Y {rb * 2:.2}"
      - "SCPI +1.234E-03"
      - {query: "SCPI?", as: i}
      - "Z {i * 1000:.3} {i}"
"#;
    let scratch = Scratch::new();
    let (out, records) = scratch.run("m.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(
        sent(point(&records, "s/1")),
        [
            "SOUR1:VOLT 1.25",
            "SOUR1:VOLT?",
            "X 1.25",
            "Y 2.50",
            "SCPI +1.234E-03",
            "SCPI?",
            "Z 1.234 +1.234E-03"
        ]
    );
    assert_eq!(point(&records, "s/0")["values"]["rb"], "0.5");
}

/// A value measured in `on_connect` (or `setup`) is reused by a later command of the same
/// list, as in a step's point (`on_connect` ran with no room for measured values, so
/// `check` passed the file and every connection then failed to open).
#[test]
fn measured_value_is_reused_in_hooks() {
    let yaml = r#"
name: hooks
instrument:
  on_connect:
    - "A 41"
    - {query: "A?", as: a}
    - "B {a + 1}"
setup:
  - {query: "B?", as: b}
  - "C {b * 2}"
steps:
  - name: s
    commands: [{query: "C?", as: c}]
"#;
    let scratch = Scratch::new();
    let (out, records) = scratch.run("h.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let connect = of_type(&records, "connect");
    let sent_on_connect: Vec<&str> = connect[0]["commands"]
        .as_array()
        .unwrap_or_else(|| panic!("no commands in {}", connect[0]))
        .iter()
        .map(|c| c["sent"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(sent_on_connect, ["A 41", "A?", "B 42"]);
    assert_eq!(point(&records, "s/0")["values"]["c"], "84");
}

/// The step of [`check_false_is_a_mismatch`]: the read-back is never twice the setting.
fn checked(retry: &str) -> String {
    format!(
        r#"
name: check
instrument: {{}}
steps:
  - name: s
    sweep: {{volt: [0.5]}}
    {retry}
    commands:
      - "SOUR1:VOLT {{volt}}"
      - {{query: "SOUR1:VOLT?", as: rb, check: "abs(rb - volt * 2) < 1e-6"}}
      - "AFTER 1"
"#
    )
}

/// A `check:` that is false fails the point as a mismatch, naming the condition, the reply,
/// the command and the values; `retries: 1` runs it again only with
/// `retry_on: [mismatch]`. The command after the query is never sent.
#[test]
fn check_false_is_a_mismatch() {
    // (retry settings, attempts recorded)
    let cases = [
        ("retries: 1\n    retry_on: [mismatch]", 2),
        ("retries: 1", 1),
        ("", 1),
    ];
    let want = "check `abs(rb - volt * 2) < 1e-6` failed for reply `0.5` to `SOUR1:VOLT?` \
                (rb = 0.5, volt = 0.5)";
    for (retry, attempts) in cases {
        let scratch = Scratch::new();
        let (out, records) = scratch.run("c.yaml", &checked(retry), &["--sim"]);
        assert_eq!(out.code(), 1, "{retry}: {out}");
        let points = of_type(&records, "point");
        assert_eq!(points.len(), attempts, "{retry}: {points:#?}");
        for (i, p) in points.iter().enumerate() {
            assert_eq!(p["attempt"], i + 1, "{retry}");
            assert_eq!(p["error"], want, "{retry}");
            assert_eq!(sent(p), ["SOUR1:VOLT 0.5", "SOUR1:VOLT?"], "{retry}");
        }
        let s = stop(&records);
        assert_eq!(s["retries"], attempts - 1, "{retry}: {s}");
        assert_eq!(s["points_failed"], 1, "{retry}: {s}");
    }
}

/// `expect:` with placeholders is rendered for the point, then compared as text: `{volt}`
/// matches the read-back, `{volt * 2}` does not and fails the point naming both.
#[test]
fn expect_with_placeholders() {
    let yaml = r#"
name: expect
instrument: {}
on_error: continue
steps:
  - name: good
    sweep: {volt: [0.5, 2]}
    commands:
      - "SOUR1:VOLT {volt}"
      - {query: "SOUR1:VOLT?", expect: "{volt}"}
  - name: bad
    sweep: {volt: [1.5]}
    commands:
      - "SOUR1:VOLT {volt}"
      - {query: "SOUR1:VOLT?", expect: "{volt * 2}"}
"#;
    let scratch = Scratch::new();
    let (out, records) = scratch.run("x.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 1, "{out}");
    assert_eq!(point(&records, "good/0")["status"], "ok");
    assert_eq!(point(&records, "good/1")["status"], "ok");
    let bad = point(&records, "bad/0");
    assert_eq!(bad["status"], "failed");
    assert_eq!(
        bad["error"],
        "reply `1.5` to `SOUR1:VOLT?` is not the expected `3`"
    );
}

/// The temperature controller's device file: the reading ramps to a new setpoint at 2 K/s
/// from 295 K.
fn tempcontroller() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sequences/devices/tempcontroller.yaml")
        .display()
        .to_string()
}

/// A poll's `until:` expression over `value` and the point's values ends the poll once the
/// ramping reading is within 50 mK of the setpoint (after several queries); one that never
/// holds times out naming the condition and the last reply, and fails the point.
#[test]
fn until_expression_ends_a_poll() {
    let yaml = format!(
        r#"
name: until
instrument:
  max_connections: 1
  sim: {{device: "{device}"}}
on_error: continue
steps:
  - name: settle
    sweep: {{setpoint: [295.3]}}
    commands:
      - "TEMP:SETP {{setpoint}}"
      - {{poll: "TEMP?", until: "abs(value - setpoint) < 0.05", every: 10ms, timeout: 5s, as: t}}
  - name: never
    sweep: {{setpoint: [295.3]}}
    commands:
      - {{poll: "TEMP?", until: "value > setpoint + 100", every: 10ms, timeout: 50ms}}
"#,
        device = tempcontroller()
    );
    let scratch = Scratch::new();
    let (out, records) = scratch.run("u.yaml", &yaml, &["--sim"]);
    assert_eq!(out.code(), 1, "{out}");
    let p = point(&records, "settle/0");
    assert_eq!(p["status"], "ok", "{p}");
    let polls = sent(p).iter().filter(|s| **s == "TEMP?").count();
    assert!(polls > 1, "the reading ramps: more than one query: {p}");
    let t: f64 = p["values"]["t"].as_str().unwrap().parse().unwrap();
    assert!((t - 295.3).abs() < 0.05, "{p}");
    let never = point(&records, "never/0");
    let error = never["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with(
            "poll `TEMP?` did not reach `value > setpoint + 100` within 50ms (last reply `"
        ),
        "{never}"
    );
}

/// `when:` on a command: sent only where it holds, and absent from the record's commands
/// elsewhere. `when:` on a step in a loop: its points appear only in the iterations where
/// it holds; the others are counted as `points_skipped`, and the run succeeds.
#[test]
fn when_on_commands_and_steps() {
    let yaml = r#"
name: when
instrument: {}
steps:
  - name: T
    sweep: {setpoint: [300, 200, 100]}
    steps:
      - name: iv
        sweep: {v: [1, 2]}
        commands:
          - "SOUR:VOLT {v}"
          - {write: "LOW {setpoint} {v}", when: "setpoint < 150 and v == 2"}
          - {query: "SOUR:VOLT?", as: rb, when: "v > 1"}
      - name: low
        when: "setpoint <= 200"
        sweep: {w: [1, 2, 3]}
        commands: ["LOW {setpoint} {w}"]
"#;
    let scratch = Scratch::new();
    let (out, records) = scratch.run("w.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(sent(point(&records, "T/0/iv/0")), ["SOUR:VOLT 1"]);
    assert_eq!(
        sent(point(&records, "T/0/iv/1")),
        ["SOUR:VOLT 2", "SOUR:VOLT?"]
    );
    assert_eq!(
        sent(point(&records, "T/2/iv/1")),
        ["SOUR:VOLT 2", "LOW 100 2", "SOUR:VOLT?"]
    );
    let low: Vec<&str> = step_points(&records)
        .iter()
        .filter(|p| p["step"].as_str().is_some_and(|s| s.ends_with("/low")))
        .map(|p| p["id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        low,
        [
            "T/1/low/0",
            "T/1/low/1",
            "T/1/low/2",
            "T/2/low/0",
            "T/2/low/1",
            "T/2/low/2"
        ]
    );
    let s = stop(&records);
    assert_eq!(s["points_ok"], 3 * 2 + 2 * 3, "{s}");
    assert_eq!(s["points_skipped"], 3, "{s}");
    assert_eq!(s["exit_status"], "success", "{s}");
}
