//! Losing connections during a run: a broken connection is replaced after refused redials,
//! an instrument that goes away for good ends the run as `unreachable` instead of retrying
//! forever, and a stopping run starts no point that was waiting for a connection.

use std::collections::BTreeMap;
use std::time::Duration;

use regex::Regex;

use crate::support::{
    Scratch, Scripted, Session, count_lines, of_type, point, refused_late, sim, step_points, stop,
    wait_until,
};

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
    let instrument = Scripted::start(|n| match n {
        0 => Session::Answer { unanswered: 1 },
        1 | 2 => Session::Refuse,
        _ => Session::Answer { unanswered: 0 },
    });
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

/// Two connections, a 150ms reply timeout, 2 reconnect attempts, six independent one-query
/// points.
const GIVE_UP: &str = r#"
name: giveup
on_error: continue
instrument:
  max_connections: 2
  timeout: 150ms
  reconnect_attempts: 2
steps:
  - name: s
    sweep: {i: [1, 2, 3, 4, 5, 6]}
    parallel: all
    commands: [{query: "A{i}?"}]
"#;

/// Both connections time out and every redial is refused: the pool makes exactly
/// `reconnect_attempts` (2) attempts, each logged, before calling the instrument
/// unreachable. The two lost connections are redialled together, which counts as one
/// attempt; the second attempt is one dial after the backoff: 2 + 2 + 1 connections.
#[test]
fn no_dial_beyond_reconnect_attempts() {
    let instrument = Scripted::start(|n| match n {
        0 | 1 => Session::Answer { unanswered: 1 },
        _ => Session::Refuse,
    });
    let scratch = Scratch::new();
    let addr = instrument.addr().to_string();
    let (out, records) = scratch.run("giveup.yaml", GIVE_UP, &["--address", &addr]);
    assert_eq!(out.code(), 1, "{out}");
    let stop = stop(&records);
    let reason = stop["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("unreachable"), "{stop}");
    let stderr = out.stderr_flat();
    for n in [1, 2] {
        let line = format!("reconnect attempt {n} of 2 failed");
        assert!(stderr.contains(&line), "no `{line}`\n{out}");
    }
    assert_eq!(
        instrument.accepted(),
        5,
        "2 initial connections, 2 redials together, then 1 expected\n{out}"
    );
}

/// 200 independent points over 2 connections, 2 reconnect attempts, nothing stops on a
/// failure.
const VANISH: &str = r#"
name: vanish
on_error: continue
instrument:
  max_connections: 2
  reconnect_attempts: 2
steps:
  - name: s
    sweep: {i: {start: 1, stop: 200, step: 1}}
    parallel: all
    commands: [{query: "*OPC?", expect: "1"}]
"#;

/// The instrument goes away mid-run: after `reconnect_attempts` failed redials the run ends
/// (it neither hangs nor retries forever) with exit 1, a `fail` stop record saying
/// `unreachable`, the points never dispatched counted as not run, and no point recorded twice.
#[test]
fn instrument_lost_mid_run_ends_the_run_as_unreachable() {
    let instrument = sim(Duration::from_millis(20), None);
    let scratch = Scratch::new();
    let addr = instrument.addr().to_string();
    let run = scratch.start_run("vanish.yaml", VANISH, &["--address", &addr]);
    // Lose the instrument only once the run is under way (a start record and some points
    // logged), however slow the machine: the rest of the 200 points would take seconds.
    wait_until("the run has logged 10 points", || {
        run.log().exists() && count_lines(run.log()) > 10
    });
    instrument.stop();
    let (out, records) = run.finish();
    assert_eq!(out.code(), 1, "{out}");
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    let reason = stop["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("unreachable"), "{stop}");
    let (ok, failed, not_run) = (
        stop["points_ok"].as_u64().unwrap(),
        stop["points_failed"].as_u64().unwrap(),
        stop["points_not_run"].as_u64().unwrap(),
    );
    assert!(
        ok > 0,
        "no point ran before the instrument went away: {stop}"
    );
    assert!(not_run > 0, "{stop}");
    assert_eq!(ok + failed + not_run, 200, "{stop}");
    let points = step_points(&records);
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &points {
        *seen.entry(p["id"].as_str().unwrap()).or_default() += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|&(_, &n)| n > 1).collect();
    assert!(
        twice.is_empty(),
        "points recorded more than once: {twice:?}"
    );
    assert_eq!(points.len() as u64, ok + failed, "{stop}");
    let stderr = out.stderr_flat();
    assert!(stderr.contains("reconnect attempt 2 of 2 failed"), "{out}");
    assert!(!stderr.contains("reconnect attempt 3 of 2"), "{out}");
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
