//! `--deadline` holds within about a second: points in a long `wait` or a long `poll` are
//! cut short there and recorded `aborted` with the reason `deadline`; teardown still runs
//! in full; the run exits 130 with a stop record that says `abort`.

use serde_json::Value;

use crate::support::{Output, Scratch, of_type, step_points, stop};

/// Runs `commands` (a YAML flow list) for two independent points with `--deadline 1s`
/// against the simulator; returns the output and the records.
fn run_cut(commands: &str) -> (Output, Vec<Value>) {
    let yaml = format!(
        "name: cut\ninstrument: {{max_connections: 2}}\nsteps:\n  - name: s\n    \
         sweep: {{i: [1, 2]}}\n    parallel: all\n    commands: {commands}\n\
         teardown: [\"OUTP OFF\", {{wait: 200ms}}, \"OUTP?\"]\n"
    );
    let scratch = Scratch::new();
    scratch.run("cut.yaml", &yaml, &["--sim", "--deadline", "1s"])
}

/// What every cut run must show: exit 130, both points aborted for the deadline with
/// what they were doing, teardown run in full (its own wait included), a stop record that
/// says `abort` and counts the two points aborted. (That the run ends at the deadline plus
/// teardown, not when the 30 s pause would have, is checked exactly on a paused clock:
/// `actor_tests::interrupts::the_deadline_cuts_waits_and_polls`.)
fn check_cut(out: &Output, records: &[Value], during: &str) {
    assert_eq!(out.code(), 130, "{out}");
    let points = step_points(records);
    assert_eq!(points.len(), 2, "{out}");
    for p in points {
        assert_eq!(p["status"], "aborted", "{p}");
        let error = p["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("deadline: the run's deadline passed during ")
                && error.contains(during),
            "{p}"
        );
    }
    let teardown: Vec<&Value> = of_type(records, "point")
        .into_iter()
        .filter(|r| r["step"] == "teardown")
        .collect();
    assert_eq!(teardown.len(), 1, "{out}");
    assert_eq!(teardown[0]["status"], "ok", "{}", teardown[0]);
    assert_eq!(teardown[0]["commands"].as_array().map(Vec::len), Some(2));
    let stop = stop(records);
    assert_eq!(stop["exit_status"], "abort", "{stop}");
    assert_eq!(stop["points_aborted"].as_u64(), Some(2), "{stop}");
}

/// A point inside a 30 s `wait` when a 1 s deadline passes stops there.
#[test]
fn the_deadline_cuts_a_long_wait() {
    let (out, records) = run_cut("[\"SOUR{i}:VOLT 1\", {wait: 30s}, \"*OPC?\"]");
    check_cut(&out, &records, "a `wait: 30s`");
}

/// A point polling every 30 s for a condition that never holds stops between polls when a
/// 1 s deadline passes, its last reply kept as its value.
#[test]
fn the_deadline_cuts_a_long_poll() {
    let (out, records) = run_cut(
        "[{poll: \"SOUR{i}:VOLT?\", until: {equals: \"9\"}, every: 30s, timeout: 1h, as: v}]",
    );
    check_cut(&out, &records, "the poll `SOUR");
    for p in step_points(&records) {
        assert_eq!(p["values"]["v"], "0", "{p}");
    }
}
