//! Runs that fail: an instrument nobody listens for, points whose reply is wrong, and an
//! instrument that never answers. Each exits 1, records why, and still ends its log with a
//! `stop` record.

use std::collections::BTreeSet;

use regex::Regex;
use sequencer::testing::Instrument;

use crate::support::{Scratch, dead_port, of_type, point, step_points, stop};

/// Nothing listens at the address: exit 1, stderr names the address and says it cannot
/// connect, and the log still ends with a `stop` record saying `fail`.
#[test]
fn dead_address_fails_with_a_complete_log() {
    let scratch = Scratch::new();
    let addr = format!("127.0.0.1:{}", dead_port());
    let yaml = r#"
name: dead
instrument:
  max_connections: 2
steps:
  - name: s
    sweep: {i: [1, 2, 3]}
    commands: [{query: "*OPC?"}]
"#;
    let (out, records) = scratch.run("dead.yaml", yaml, &["--address", &addr]);
    assert_eq!(out.code(), 1, "{out}");
    let stderr = out.stderr_flat();
    assert!(stderr.contains(&addr), "address not named\n{out}");
    assert!(stderr.contains("cannot connect"), "{out}");
    assert!(!records.is_empty(), "no run log written\n{out}");
    assert_eq!(records[0]["type"], "start");
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_not_run"].as_u64(), Some(3), "{stop}");
    assert!(
        of_type(&records, "point").is_empty(),
        "points recorded without a connection"
    );
}

/// A sequence whose step fails every point (`*OPC?` answers 1, `0` is expected), one point
/// at a time (no `parallel:`) although the pool has two connections.
fn failing(on_error: &str) -> String {
    format!(
        r#"
name: failing
on_error: {on_error}
instrument:
  max_connections: 2
steps:
  - name: s
    sweep: {{i: [1, 2, 3, 4]}}
    commands: [{{query: "*OPC?", expect: "0"}}]
teardown:
  - {{query: "*OPC?", as: done}}
"#
    )
}

/// `on_error: stop`: the first failed point ends the step (exit 1), its record says why
/// (naming the reply), teardown still runs, and the stop record counts the points not run.
#[test]
fn failed_point_stops_the_run_and_teardown_runs() {
    let scratch = Scratch::new();
    let (out, records) = scratch.run("stop.yaml", &failing("stop"), &["--sim"]);
    assert_eq!(out.code(), 1, "{out}");
    let failed = point(&records, "s/0");
    assert_eq!(failed["status"], "failed", "{failed}");
    let error = failed["error"]
        .as_str()
        .expect("a failed point has an error");
    assert!(error.contains("`1`") && error.contains("`0`"), "{error}");
    assert!(error.contains("*OPC?"), "{error}");
    let teardown = point(&records, "teardown/0");
    assert_eq!(teardown["status"], "ok", "{teardown}");
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_failed"].as_u64(), Some(1), "{stop}");
    assert_eq!(stop["points_not_run"].as_u64(), Some(3), "{stop}");
    assert_eq!(
        step_points(&records).len(),
        1,
        "points dispatched after the failure"
    );
}

/// `on_error: continue`: every point runs and is recorded as failed, none is left unrun.
#[test]
fn failed_points_continue_when_asked() {
    let scratch = Scratch::new();
    let (out, records) = scratch.run("continue.yaml", &failing("continue"), &["--sim"]);
    assert_eq!(out.code(), 1, "{out}");
    let points = step_points(&records);
    assert_eq!(points.len(), 4);
    assert!(
        points.iter().all(|p| p["status"] == "failed"),
        "{points:#?}"
    );
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_failed"].as_u64(), Some(4), "{stop}");
    assert_eq!(stop["points_not_run"].as_u64(), Some(0), "{stop}");
    assert!(
        of_type(&records, "point")
            .iter()
            .any(|p| p["id"] == "teardown/0")
    );
}

/// A sequence with one connection, a 200ms reply timeout and two one-query points.
const SILENT: &str = r#"
name: silent
on_error: continue
instrument:
  max_connections: 1
  timeout: 200ms
steps:
  - name: s
    sweep: {i: [1, 2]}
    commands: [{query: "X?"}]
"#;

/// An instrument that never answers: each point fails with the exact timeout message, and
/// a timed-out connection is never reused (the second point gets a new one).
#[test]
fn reply_timeout_fails_the_point_and_drops_the_connection() {
    let silent = Instrument::silent()
        .listen()
        .expect("cannot listen on 127.0.0.1:0");
    let scratch = Scratch::new();
    let addr = silent.addr().to_string();
    let (out, records) = scratch.run("silent.yaml", SILENT, &["--address", &addr]);
    assert_eq!(out.code(), 1, "{out}");
    let message =
        Regex::new(r"^timeout after 200ms waiting for reply to `X\?` on connection (\d+)$")
            .unwrap();
    let mut conns = BTreeSet::new();
    for id in ["s/0", "s/1"] {
        let p = point(&records, id);
        assert_eq!(p["status"], "failed", "{p}");
        let error = p["error"].as_str().unwrap_or_default();
        let caps = message
            .captures(error)
            .unwrap_or_else(|| panic!("{id}: unexpected error `{error}`"));
        let conn: u64 = caps[1].parse().unwrap();
        assert_eq!(p["conn"].as_u64(), Some(conn), "{p}");
        conns.insert(conn);
    }
    assert_eq!(conns.len(), 2, "the timed-out connection was reused");
    assert_eq!(stop(&records)["points_failed"].as_u64(), Some(2));
}

/// A query that timed out was still sent: its record lists it in `commands` (no reply).
#[test]
fn timed_out_query_is_recorded_as_sent() {
    let silent = Instrument::silent()
        .listen()
        .expect("cannot listen on 127.0.0.1:0");
    let scratch = Scratch::new();
    let addr = silent.addr().to_string();
    let (out, records) = scratch.run("silent.yaml", SILENT, &["--address", &addr]);
    assert_eq!(out.code(), 1, "{out}");
    let p = point(&records, "s/0");
    let commands = p["commands"].as_array().expect("commands is a list");
    assert_eq!(commands.len(), 1, "{p}");
    assert_eq!(commands[0]["sent"], "X?", "{p}");
    assert!(commands[0].get("reply").is_none(), "{p}");
}
