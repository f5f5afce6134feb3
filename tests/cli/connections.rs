//! The connection pool: never more than `max_connections` sessions, never more than a step's
//! `concurrency` points in flight, real parallelism across connections, and a smaller pool
//! when the instrument accepts fewer sessions than asked.
//!
//! Timing is only ever compared as a ratio with a wide margin, never as an absolute.

use std::collections::BTreeSet;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use crate::support::{Scratch, millis, point, sim, step_points, stop, time};

/// Start and end of a point on the connection, in ms since the epoch, from its record.
/// Log timestamps have millisecond resolution, so the start is moved later by a margin:
/// the interval then lies inside the real one and back-to-back points never look overlapped.
fn interval(record: &Value) -> (f64, f64) {
    let start = time(record, "started_at")
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1e3;
    let end = start + millis(record, "elapsed_ms").as_secs_f64() * 1e3;
    (start + 1.5, end)
}

/// Most points whose intervals overlap at one instant.
fn max_overlap(points: &[&Value]) -> usize {
    let intervals: Vec<(f64, f64)> = points.iter().map(|p| interval(p)).collect();
    intervals
        .iter()
        .map(|&(at, _)| {
            intervals
                .iter()
                .filter(|&&(s, e)| s <= at && at < e)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// The distinct connection ids of some point records.
fn connections(points: &[&Value]) -> BTreeSet<u64> {
    points.iter().map(|p| p["conn"].as_u64().unwrap()).collect()
}

/// With an unlimited instrument, `max_connections: 3` opens exactly 3 sessions at most:
/// the simulator's own peak counter, read in teardown, says 3.
#[test]
fn pool_never_exceeds_max_connections() {
    let scratch = Scratch::new();
    let yaml = r#"
name: bounded
instrument:
  max_connections: 3
steps:
  - name: load
    sweep: {i: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]}
    commands: [{query: "*OPC?", expect: "1"}]
teardown:
  - {query: "SIM:CONN:PEAK?", as: peak}
"#;
    let (out, records) = scratch.run("bounded.yaml", yaml, &["--sim", "--sim-latency", "5ms"]);
    assert_eq!(out.code(), 0, "{out}");
    let teardown = point(&records, "teardown/0");
    assert_eq!(teardown["values"]["peak"], "3", "{teardown}");
    assert!(connections(&step_points(&records)).len() <= 3);
}

/// `concurrency: 2` bounds the points in flight below the pool size (4), and two points do
/// run at the same time.
#[test]
fn step_concurrency_bounds_points_in_flight() {
    let scratch = Scratch::new();
    let yaml = r#"
name: limited
instrument:
  max_connections: 4
steps:
  - name: pairs
    concurrency: 2
    sweep: {i: [1, 2, 3, 4, 5, 6, 7, 8]}
    commands: [{query: "*OPC?", expect: "1"}]
"#;
    let (out, records) = scratch.run("limited.yaml", yaml, &["--sim", "--sim-latency", "20ms"]);
    assert_eq!(out.code(), 0, "{out}");
    let points = step_points(&records);
    assert_eq!(points.len(), 8);
    let overlap = max_overlap(&points);
    assert!(
        overlap <= 2,
        "{overlap} points in flight with concurrency 2"
    );
    assert!(
        overlap >= 2,
        "points never ran in parallel (max {overlap} in flight)"
    );
}

/// 16 one-query points over 4 connections finish in well under the serial time
/// (points x latency): the pool really works in parallel.
#[test]
fn parallel_points_beat_serial_time() {
    const POINTS: u32 = 16;
    const LATENCY: Duration = Duration::from_millis(50);
    let scratch = Scratch::new();
    let yaml = r#"
name: parallel
instrument:
  max_connections: 4
steps:
  - name: fast
    sweep: {i: {start: 1, stop: 16, step: 1}}
    commands: [{query: "*OPC?", expect: "1"}]
"#;
    let (out, records) = scratch.run("parallel.yaml", yaml, &["--sim", "--sim-latency", "50ms"]);
    assert_eq!(out.code(), 0, "{out}");
    let points = step_points(&records);
    assert_eq!(points.len(), POINTS as usize);
    let serial = LATENCY * POINTS;
    // The latency really applied: together the points cost (about) the serial time.
    let busy: Duration = points.iter().map(|p| millis(p, "elapsed_ms")).sum();
    assert!(
        busy >= serial.mul_f64(0.9),
        "points busy {busy:?}, serial {serial:?}"
    );
    let first = points.iter().map(|p| time(p, "started_at")).min().unwrap();
    let span = time(stop(&records), "ended_at")
        .duration_since(first)
        .unwrap();
    assert!(
        span < serial.mul_f64(0.6),
        "the run took {span:?}; serial would be {serial:?}"
    );
}

/// An instrument that takes 2 sessions when 4 are asked for: the run goes on with 2, every
/// point succeeds, and stderr says `accepted 2 of 4 connections`.
#[test]
fn fewer_connections_accepted_is_a_warning() {
    let instrument = sim(Duration::ZERO, Some(2));
    let scratch = Scratch::new();
    let yaml = r#"
name: fewer
instrument:
  max_connections: 4
steps:
  - name: s
    sweep: {i: [1, 2, 3, 4, 5, 6, 7, 8]}
    commands: [{query: "*OPC?", expect: "1"}]
"#;
    let addr = instrument.addr().to_string();
    let (out, records) = scratch.run("fewer.yaml", yaml, &["--address", &addr]);
    assert_eq!(out.code(), 0, "{out}");
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "success", "{stop}");
    assert_eq!(stop["points_ok"].as_u64(), Some(8), "{stop}");
    let points = step_points(&records);
    assert!(points.iter().all(|p| p["status"] == "ok"));
    assert!(
        connections(&points).len() <= 2,
        "{:?}",
        connections(&points)
    );
    assert!(
        out.stderr_flat().contains("accepted 2 of 4 connections"),
        "{out}"
    );
}

/// An instrument that takes 2 sessions when 4 are asked for never has more than 2 points
/// in flight: points wait for one of the accepted connections instead of piling onto them.
#[test]
fn points_in_flight_never_exceed_accepted_connections() {
    let instrument = sim(Duration::from_millis(20), Some(2));
    let scratch = Scratch::new();
    let yaml = r#"
name: squeezed
instrument:
  max_connections: 4
steps:
  - name: s
    sweep: {i: {start: 1, stop: 12, step: 1}}
    commands: [{query: "*OPC?", expect: "1"}]
"#;
    let addr = instrument.addr().to_string();
    let (out, records) = scratch.run("squeezed.yaml", yaml, &["--address", &addr]);
    assert_eq!(out.code(), 0, "{out}");
    let points = step_points(&records);
    assert_eq!(points.len(), 12);
    let overlap = max_overlap(&points);
    assert!(
        overlap <= 2,
        "{overlap} points in flight on 2 accepted connections"
    );
    assert!(
        overlap >= 2,
        "the 2 accepted connections never ran points at the same time"
    );
    assert!(
        connections(&points).len() <= 2,
        "{:?}",
        connections(&points)
    );
}
