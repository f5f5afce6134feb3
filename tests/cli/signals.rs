//! Ctrl-C, driven for real: the binary runs as a child process and gets SIGINT or SIGTERM
//! from `kill`. Once: in-flight points finish, teardown runs, the log ends `abort`, exit
//! 130. Twice: in-flight points are cancelled and recorded `aborted`. Three times: exit at
//! once, the log still valid JSON Lines. SIGHUP (a closed terminal) and `--deadline` stop a
//! run like a first Ctrl-C, and never more; under `nohup` SIGHUP is ignored.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    Probe, Run, Running, Scratch, count_lines, of_type, read_complete_lines, read_log, sim,
    step_points, stop, wait_until,
};

/// 100 independent points over 2 connections, each writing its own value and reading it
/// back, then teardown.
/// With `--sim-latency 50ms` the sweep takes seconds, so a signal lands mid-run.
const SLOW: &str = r#"
name: slow
instrument:
  max_connections: 2
steps:
  - name: s
    sweep: {i: {start: 0, stop: 99, step: 1}}
    parallel: all
    commands:
      - "V{i} {i}"
      - {query: "V{i}?", as: v}
teardown:
  - {query: "*OPC?", as: done}
"#;

/// Sends `signal` to a slow run after a few points (`times` times, each once the run said
/// it is finishing), and checks the first stage of Ctrl-C: exit 130, stderr says it
/// finishes the points in flight, nothing new is dispatched, no point is aborted, teardown
/// runs, and the log ends with stop `abort` for `reason`.
fn first_signal_finishes_in_flight_points(signal: &str, times: usize, reason: &str) {
    let scratch = Scratch::new();
    let mut run = scratch.start_run("slow.yaml", SLOW, &["--sim", "--sim-latency", "50ms"]);
    let log = run.log().to_owned();
    // The start record and a few points: the run is under way, its signal handlers set.
    wait_until("a few points are recorded", || count_lines(&log) >= 5);
    for _ in 0..times {
        run.process().signal(signal);
        run.process()
            .wait_for_stderr(&format!("{reason}: finishing"));
    }
    // Whatever is recorded from now on was in flight when the signal was handled.
    let recorded_at_signal = read_complete_lines(&log).0.len();
    let (out, records) = run.finish();
    assert_eq!(out.code(), 130, "{out}");
    assert!(
        out.stderr_flat()
            .contains("point(s) in flight, then teardown (Ctrl-C again to cancel them)"),
        "{out}"
    );
    let points = step_points(&records);
    assert!(
        points.len() <= recorded_at_signal + 2,
        "points dispatched after the signal: {} recorded, {recorded_at_signal} lines at the signal, 2 connections",
        points.len()
    );
    for p in &points {
        assert_eq!(p["status"], "ok", "in-flight point not finished: {p}");
    }
    let teardown: Vec<&Value> = of_type(&records, "point")
        .into_iter()
        .filter(|r| r["step"] == "teardown")
        .collect();
    assert_eq!(teardown.len(), 1, "{teardown:#?}");
    assert_eq!(teardown[0]["status"], "ok", "{}", teardown[0]);
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "abort", "{stop}");
    assert_eq!(stop["reason"], reason, "{stop}");
    assert_eq!(
        stop["points_ok"].as_u64(),
        Some(points.len() as u64),
        "{stop}"
    );
    assert_eq!(stop["points_failed"].as_u64(), Some(0), "{stop}");
    assert_eq!(
        stop["points_not_run"].as_u64(),
        Some(100 - points.len() as u64),
        "{stop}"
    );
    assert!(stop["points_not_run"].as_u64() > Some(0), "{stop}");
}

/// One SIGINT mid-run: in-flight points finish (none `aborted`), nothing new starts,
/// teardown runs, the valid log ends with stop `abort`, exit 130.
#[test]
fn sigint_finishes_in_flight_points_then_teardown() {
    first_signal_finishes_in_flight_points("INT", 1, "interrupted by the operator");
}

/// SIGTERM is handled exactly like a first Ctrl-C.
#[test]
fn sigterm_behaves_like_sigint() {
    first_signal_finishes_in_flight_points("TERM", 1, "interrupted by the operator");
}

/// SIGHUP (the SSH session closed) is a first Ctrl-C, exit 130, and stays one: a second
/// SIGHUP cancels nothing (no point is recorded `aborted`).
#[test]
fn sighup_stops_like_a_first_ctrl_c_and_never_more() {
    first_signal_finishes_in_flight_points("HUP", 2, "the terminal hung up (SIGHUP)");
}

/// A run started with SIGHUP ignored (`nohup`, here a shell's `trap '' HUP`) keeps ignoring
/// it: a SIGHUP mid-run changes nothing, every point runs and the run succeeds.
#[test]
fn sighup_ignored_at_start_stays_ignored() {
    let scratch = Scratch::new();
    scratch.write("slow.yaml", SLOW);
    let log = scratch.join("slow.jsonl");
    let mut sh = Command::new("sh");
    sh.args([
        "-c",
        "trap '' HUP; exec \"$0\" \"$@\"",
        env!("CARGO_BIN_EXE_sequencer"),
    ]);
    let run = Running::start(
        sh,
        &scratch.join(""),
        [
            "run",
            "slow.yaml",
            "-o",
            "slow.jsonl",
            "--sim",
            "--sim-latency",
            "20ms",
        ],
    );
    wait_until("a few points are recorded", || count_lines(&log) >= 5);
    // The shell exec'd the binary: its pid is the run's.
    run.signal("HUP");
    let out = run.wait();
    assert_eq!(out.code(), 0, "{out}");
    assert!(!out.stderr.contains("hung up"), "{out}");
    let records = read_log(&log);
    assert_eq!(step_points(&records).len(), 100, "{out}");
    assert_eq!(stop(&records)["exit_status"], "success", "{out}");
}

/// Two connections; every point (independent of the others) writes `V{i} 1`, then waits 5s
/// before reading it back.
/// `teardown_wait` is put before teardown's query.
fn waiting(teardown_wait: &str) -> String {
    format!(
        r#"
name: waiting
instrument:
  max_connections: 2
steps:
  - name: s
    sweep: {{i: {{start: 0, stop: 9, step: 1}}}}
    parallel: all
    commands:
      - "V{{i}} 1"
      - wait: 5s
      - {{query: "V{{i}}?", as: v}}
teardown:{teardown_wait}
  - {{query: "*OPC?", as: done}}
"#
    )
}

/// Waits until the instrument has seen `V0 1` and `V1 1`: points s/0 and s/1 are in their
/// 5s wait.
fn wait_for_points_in_flight(probe: &mut Probe) {
    wait_until("s/0 and s/1 are in their wait", || {
        probe.query("V0?") == "1" && probe.query("V1?") == "1"
    });
}

/// Two SIGINTs while both points in flight sit in a 5s wait: exit 130 long before the waits
/// would end, both points recorded `aborted`, teardown still runs, stop says `abort`.
#[test]
fn second_sigint_cancels_points_in_flight() {
    let instrument = sim(Duration::ZERO, None);
    let scratch = Scratch::new();
    let addr = instrument.addr().to_string();
    let started = Instant::now();
    let mut run = scratch.start_run("waiting.yaml", &waiting(""), &["--address", &addr]);
    wait_for_points_in_flight(&mut Probe::connect(instrument.addr()));
    run.process().signal("INT");
    run.process()
        .wait_for_stderr("finishing 2 point(s) in flight");
    run.process().signal("INT");
    let (out, records) = run.finish();
    let elapsed = started.elapsed();
    assert_eq!(out.code(), 130, "{out}");
    assert!(
        elapsed < Duration::from_secs(5),
        "exited after {elapsed:?}: the 5s waits were not cancelled\n{out}"
    );
    assert!(
        out.stderr_flat()
            .contains("cancelling 2 point(s) in flight, then teardown"),
        "{out}"
    );
    let points = step_points(&records);
    let mut ids: Vec<&str> = points.iter().filter_map(|p| p["id"].as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["s/0", "s/1"], "{points:#?}");
    for p in &points {
        assert_eq!(p["status"], "aborted", "{p}");
        assert_eq!(p["error"], "aborted by the operator", "{p}");
    }
    let teardown = of_type(&records, "point")
        .into_iter()
        .find(|r| r["step"] == "teardown")
        .unwrap_or_else(|| panic!("no teardown record\n{out}"));
    assert_eq!(teardown["status"], "ok", "{teardown}");
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "abort", "{stop}");
    assert_eq!(stop["points_ok"].as_u64(), Some(0), "{stop}");
    assert_eq!(stop["points_not_run"].as_u64(), Some(8), "{stop}");
}

/// Three SIGINTs, the third while teardown sits in a 5s wait: the process exits 130 at
/// once (before that wait ends, with no teardown or stop record), says so, and every line
/// of its log is complete, valid JSON.
#[test]
fn third_sigint_exits_at_once_leaving_valid_json_lines() {
    let instrument = sim(Duration::ZERO, None);
    let scratch = Scratch::new();
    let addr = instrument.addr().to_string();
    let started = Instant::now();
    let yaml = waiting("\n  - wait: 5s");
    let mut run = scratch.start_run("waiting.yaml", &yaml, &["--address", &addr]);
    let log = run.log().to_owned();
    wait_for_points_in_flight(&mut Probe::connect(instrument.addr()));
    run.process().signal("INT");
    run.process().wait_for_stderr("finishing 2 point(s)");
    run.process().signal("INT");
    // Start, then both aborted points: teardown is in its wait now.
    wait_until("both aborted points are recorded", || {
        count_lines(&log) >= 3
    });
    run.process().signal("INT");
    // `finish` parses every line of the log: all must be complete, valid JSON.
    let (out, records) = run.finish();
    let elapsed = started.elapsed();
    assert_eq!(out.code(), 130, "{out}");
    assert!(
        elapsed < Duration::from_secs(5),
        "exited after {elapsed:?}\n{out}"
    );
    assert!(
        out.stderr_flat()
            .contains("interrupted three times: exiting now"),
        "{out}"
    );
    assert_eq!(
        read_complete_lines(&log).1,
        None,
        "the log ends with a torn line"
    );
    assert_eq!(records[0]["type"], "start", "{records:#?}");
    let rest: Vec<String> = records[1..]
        .iter()
        .map(|r| format!("{} {}", r["type"], r["status"]))
        .collect();
    assert_eq!(
        rest,
        [r#""point" "aborted""#, r#""point" "aborted""#],
        "teardown or stop recorded: the third signal did not exit at once"
    );
}

/// `--deadline 300ms` on a run that needs seconds: it stops like a first Ctrl-C, exit 130,
/// teardown runs, and the stop record says `abort` because of the deadline.
#[test]
fn deadline_stops_like_a_first_ctrl_c() {
    let scratch = Scratch::new();
    let (out, records) = scratch.run(
        "slow.yaml",
        SLOW,
        &["--sim", "--sim-latency", "50ms", "--deadline", "300ms"],
    );
    assert_eq!(out.code(), 130, "{out}");
    assert!(
        out.stderr_flat()
            .contains("deadline of 300ms exceeded: stopping"),
        "{out}"
    );
    for p in step_points(&records) {
        assert_eq!(p["status"], "ok", "{p}");
    }
    assert!(
        of_type(&records, "point")
            .iter()
            .any(|r| r["step"] == "teardown" && r["status"] == "ok"),
        "no teardown\n{out}"
    );
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "abort", "{stop}");
    let reason = stop["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("deadline"), "{stop}");
    assert!(stop["points_not_run"].as_u64() > Some(0), "{stop}");
}

/// 100 independent points over 2 connections with `--sim-latency 10ms`: half a second of run, so a
/// Ctrl-C sent as the pool finishes opening always lands long before the end.
const HANDOFF: &str = r#"
name: handoff
instrument:
  max_connections: 2
steps:
  - name: s
    sweep: {i: {start: 0, stop: 99, step: 1}}
    parallel: all
    commands: [{query: "*OPC?", as: done}]
"#;

/// Starts [`HANDOFF`] and spins (not sleeps, to know the moment to microseconds) until its
/// start record is written; returns the run and that moment.
fn start_handoff(scratch: &Scratch) -> (Run, Instant) {
    let mut run = scratch.start_run("handoff.yaml", HANDOFF, &["--sim", "--sim-latency", "10ms"]);
    let log = run.log().to_owned();
    while std::fs::metadata(&log).map_or(0, |m| m.len()) == 0 {
        assert!(
            !run.process().exited(),
            "the run ended before its start record"
        );
        std::hint::spin_loop();
    }
    (run, Instant::now())
}

/// A SIGINT is never lost, also when it arrives just as the connections finish opening and
/// the sequencer takes over. A first run measures when its first point is recorded (the
/// handoff, plus one 10ms reply); then the signal is sent twice at each of 25 moments 0.1ms
/// apart around the handoff, and every run must stop with exit 130, none run on to
/// `success`.
#[test]
fn sigint_as_connections_open_is_never_lost() {
    let first_point = {
        let scratch = Scratch::new();
        let (mut run, seen) = start_handoff(&scratch);
        let log = run.log().to_owned();
        while count_lines(&log) < 2 {
            assert!(
                !run.process().exited(),
                "the run ended before its first point"
            );
            std::hint::spin_loop();
        }
        let first_point = seen.elapsed();
        let (out, _) = run.finish();
        assert_eq!(out.code(), 0, "{out}");
        first_point
    };
    // Where a lost signal used to land: 13 to 15.5ms before the first point was recorded
    // (the 10ms reply, dispatch, and starting `kill`).
    let earliest = first_point.saturating_sub(Duration::from_micros(15_500));
    let mut lost = Vec::new();
    for attempt in 0..50u32 {
        let scratch = Scratch::new();
        let (mut run, seen) = start_handoff(&scratch);
        let offset = earliest + Duration::from_micros(100 * u64::from(attempt % 25));
        while seen.elapsed() < offset {
            std::hint::spin_loop();
        }
        run.process().signal("INT");
        let (out, records) = run.finish();
        if out.code() != 130 {
            lost.push(format!(
                "{offset:?} after the start record (first point at {first_point:?}): exit {}, stop {}",
                out.code(),
                records.last().map(ToString::to_string).unwrap_or_default()
            ));
        }
    }
    assert!(lost.is_empty(), "SIGINT lost:\n{}", lost.join("\n"));
}
