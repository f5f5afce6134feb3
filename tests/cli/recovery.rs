//! Losing connections during a run, over real TCP: a broken connection is replaced after
//! refused redials (the stderr lines saying so), and a stopping run starts no point that
//! was waiting for a connection of the simulator. The spacing of redials, attempts that
//! fail together, giving up as `unreachable` and the rest are specified in-process, on a
//! paused clock (`actor_tests::recovery`).

use std::time::Duration;

use regex::Regex;
use sequencer::testing::{Act, Instrument, reply};

use crate::support::{Scratch, of_type, point, refused_late, sim, step_points, stop};

/// One connection, a 150ms reply timeout, three one-query points, failures do not stop.
const RECOVER: &str = r#"
name: recover
on_error: continue
instrument:
  max_connections: 1
  timeout: 150ms
steps:
  - name: s
    sweep: {i: [1, 2, 3]}
    commands: [{query: "A{i}?", expect: "1"}]
"#;

/// The first point times out and its connection is dropped; the instrument then refuses the
/// next two dials (accepts and closes at once) and serves the third: both failures are
/// reported as `reconnect attempt n of 5 failed`, the later points succeed on the new
/// connection, and only the timed-out point fails the run.
#[test]
fn timed_out_connection_is_replaced_after_refused_redials() {
    // Connection 0 leaves its first query unanswered; 1 and 2 are refused; then all serve.
    let instrument = Instrument::scpi()
        .on_connect(|n| {
            if matches!(n, 1 | 2) {
                vec![Act::Close]
            } else {
                Vec::new()
            }
        })
        .on_line(|line| {
            if line.conn == 0 && line.queries == 0 {
                Vec::new()
            } else {
                reply("1")
            }
        })
        .listen()
        .expect("cannot listen on 127.0.0.1:0");
    let scratch = Scratch::new();
    let addr = instrument.addr().to_string();
    let (out, records) = scratch.run("recover.yaml", RECOVER, &["--address", &addr]);
    assert_eq!(out.code(), 1, "{out}");
    let first = point(&records, "s/0");
    assert_eq!(first["status"], "failed", "{first}");
    let timeout =
        Regex::new(r"^timeout after 150ms waiting for reply to `A1\?` on connection \d+$").unwrap();
    let error = first["error"].as_str().unwrap_or_default();
    assert!(timeout.is_match(error), "s/0: unexpected error `{error}`");
    for id in ["s/1", "s/2"] {
        let p = point(&records, id);
        assert_eq!(p["status"], "ok", "{p}");
        assert_ne!(
            p["conn"], first["conn"],
            "{id} ran on the timed-out connection"
        );
    }
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_ok"].as_u64(), Some(2), "{stop}");
    assert_eq!(stop["points_failed"].as_u64(), Some(1), "{stop}");
    assert_eq!(stop["points_not_run"].as_u64(), Some(0), "{stop}");
    let stderr = out.stderr_flat();
    for n in [1, 2] {
        let line = format!("reconnect attempt {n} of 5 failed");
        assert!(stderr.contains(&line), "no `{line}`\n{out}");
    }
    assert!(
        !stderr.contains("reconnect attempt 3 of 5"),
        "a third redial failed\n{out}"
    );
    // The first connection, the two refused dials and the one that served: nothing more.
    assert_eq!(instrument.accepted(), 4, "connections opened\n{out}");
}

/// `on_error: stop` with an instrument that takes 1 session of the 4 asked, independent
/// points (`parallel: all`) waiting for it: the failing first point is the only step point that starts (none waiting for a connection is run
/// after it), teardown still runs, and the other 9 points count as not run.
#[test]
fn stop_starts_no_waiting_point_when_sessions_are_fewer() {
    let instrument = sim(Duration::from_millis(20), Some(1));
    let scratch = Scratch::new();
    let yaml = r#"
name: halt
on_error: stop
instrument:
  max_connections: 4
steps:
  - name: s
    sweep: {i: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}
    parallel: all
    commands: [{query: "*OPC?", expect: "0"}]
teardown: ["OUTP OFF"]
"#;
    let addr = instrument.addr().to_string();
    let (out, records) = scratch.run("halt.yaml", yaml, &["--address", &addr]);
    assert_eq!(out.code(), 1, "{out}");
    // A session refused a little late runs one failed attempt (see `refused_late`).
    let points: Vec<&serde_json::Value> = step_points(&records)
        .into_iter()
        .filter(|p| !refused_late(&records, p))
        .collect();
    assert_eq!(
        points.len(),
        1,
        "step points after the failure: {points:#?}"
    );
    let failed = points[0];
    assert_eq!(failed["status"], "failed", "{failed}");
    let teardown = point(&records, "teardown/0");
    assert_eq!(teardown["status"], "ok", "{teardown}");
    let late = of_type(&records, "point")
        .into_iter()
        .filter(|p| refused_late(&records, p))
        .count();
    assert_eq!(of_type(&records, "point").len() - late, 2);
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_failed"].as_u64(), Some(1), "{stop}");
    assert_eq!(stop["points_not_run"].as_u64(), Some(9), "{stop}");
}
