//! Ctrl-C, driven for real: the binary runs as a child process and gets SIGINT or SIGTERM
//! from `kill`. Once: in-flight points finish, teardown runs, the log ends `abort`, exit
//! 130. Three times: exit at once, the log still valid JSON Lines. While connecting: the
//! log still ends with its stop record. SIGHUP (a closed terminal) and `--deadline` stop a
//! run like a first Ctrl-C, and never more; under `nohup` SIGHUP is ignored. How the
//! sequencer stops, cancels and never escalates, at exact moments, is specified
//! in-process (`actor_tests::interrupts`); here, what only a process shows.

use std::process::Command;
use std::time::Duration;

use sequencer::testing::Instrument;
use serde_json::Value;

use crate::support::{
    Probe, Running, Scratch, count_lines, of_type, read_complete_lines, read_log, sim, step_points,
    stop, wait_until,
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

/// Three SIGINTs, the third while teardown sits in a 5s wait: the process exits 130 at
/// once (no teardown or stop record: only exiting skips them), says so, and every line of
/// its log is complete, valid JSON. What the second SIGINT does (the points in flight
/// cancelled, recorded `aborted`, the run ending at once) is specified in-process:
/// `actor_tests::interrupts::second_signal_cancels_points_in_flight`.
#[test]
fn third_sigint_exits_at_once_leaving_valid_json_lines() {
    let instrument = sim(Duration::ZERO, None);
    let scratch = Scratch::new();
    let addr = instrument.addr().to_string();
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
    assert_eq!(out.code(), 130, "{out}");
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

/// SIGINT while the pool is still connecting (its `on_connect` query unanswered, with a
/// 30 s timeout): the run stops at once with exit 130, its log still ends with a stop
/// record saying `abort` for the operator, and no point ran. (That an interrupt is never
/// lost at any later moment, as the sequencer takes over from the opening, is
/// `actor_tests::interrupts::an_interrupt_at_any_moment_is_never_lost`; the binary listens
/// to the signals with one listener from before connecting to the end.)
#[test]
fn sigint_while_connecting_still_ends_the_log() {
    let instrument = Instrument::scpi().on_line(|line| {
        if line.text == "HOLD?" {
            Vec::new()
        } else {
            line.scpi()
        }
    });
    let server = instrument.listen().expect("cannot listen on 127.0.0.1:0");
    let yaml = r#"
name: connecting
instrument:
  max_connections: 1
  timeout: 30s
  on_connect: [{query: "HOLD?"}]
steps:
  - name: s
    sweep: {i: [1, 2, 3]}
    commands: ["V{i} 1"]
"#;
    let scratch = Scratch::new();
    let addr = server.addr().to_string();
    let mut run = scratch.start_run("connecting.yaml", yaml, &["--address", &addr]);
    wait_until("the pool is connecting, its `HOLD?` sent", || {
        instrument.journal().count("HOLD?") == 1
    });
    run.process().signal("INT");
    let (out, records) = run.finish();
    assert_eq!(out.code(), 130, "{out}");
    assert!(of_type(&records, "point").is_empty(), "{records:#?}");
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "abort", "{stop}");
    let reason = stop["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("interrupted by the operator"), "{stop}");
    assert_eq!(stop["points_not_run"], 3, "{stop}");
}
