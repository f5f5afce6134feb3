//! Stopping on request: a first Ctrl-C (or SIGTERM) finishes the points in flight and
//! starts none, a second cancels them, SIGHUP and the deadline are a first Ctrl-C that never
//! escalates, and an interrupt is never lost however early in the run it comes. The
//! interrupts reach the sequencer as the binary's signal handler and deadline timer send
//! them, at exact virtual times; what only a real process shows (exit codes, signals
//! mapped to interrupts, the third Ctrl-C's exit) stays in `tests/cli/signals.rs`.

use std::time::Duration;

use super::harness::{Ended, Run, ms};
use crate::connection::SETTLE;
use crate::sequencer::Interrupt;
use crate::testing::{Instrument, after, reply};

/// 100 independent points over two connections, each `Q i` answered after 50 ms, then
/// teardown `*OPC?`.
const SLOW: &str = r#"
name: slow
instrument:
  max_connections: 2
steps:
  - name: s
    sweep: {i: {start: 0, stop: 99, step: 1}}
    parallel: all
    commands:
      - {query: "Q {i}", as: v}
teardown:
  - {query: "*OPC?", as: done}
"#;

/// Answers `Q i` with `i` after 50 ms; other lines as SCPI.
fn slow() -> Instrument {
    Instrument::scpi().on_line(|line| match line.number("Q ") {
        Some(i) => after(ms(50), reply(i.to_string())),
        None => line.scpi(),
    })
}

/// What a first stage of stopping shows, `interrupts` arriving at 275 ms, in the sixth
/// 50 ms round of two points: the two points in flight then finish `ok`, no query reaches
/// the instrument after the first interrupt, teardown runs, and the stop record says
/// `abort` for `reason` and counts the points recorded as ok and the rest as not run.
fn first_stage(interrupts: &[(Duration, Interrupt)], reason: &str) -> Ended {
    let instrument = slow();
    let mut run = Run::new(SLOW).instrument(&instrument);
    for (at, interrupt) in interrupts {
        run = run.at(*at, interrupt.clone());
    }
    let run = run.go();
    let journal = instrument.journal();
    let first = interrupts[0].0;
    let points = run.points();
    // Points answered before the interrupt (two per 50 ms round) and the two in flight.
    assert_eq!(points.len(), 12, "{:#?}", run.ids());
    for p in &points {
        assert_eq!(p["status"], "ok", "in-flight point not finished: {p}");
    }
    // Every query the instrument received is a recorded point's, sent before the interrupt.
    let queries: Vec<String> = journal
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("Q "))
        .collect();
    assert_eq!(queries.len(), 12, "{queries:?}");
    let start = journal.0[0].at;
    for q in &queries {
        let at = journal.when(q).map(|t| t - start);
        assert!(
            at < Some(first),
            "`{q}` reached the instrument at {at:?}, after the interrupt"
        );
    }
    assert_eq!(journal.count("*OPC?"), 1, "teardown");
    assert_eq!(run.point("teardown/0")["status"], "ok");
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "abort", "{stop}");
    assert_eq!(stop["reason"], reason, "{stop}");
    assert_eq!(stop["points_ok"], 12, "{stop}");
    assert_eq!(stop["points_failed"], 0, "{stop}");
    assert_eq!(stop["points_aborted"], 0, "{stop}");
    assert_eq!(stop["points_not_run"], 88, "{stop}");
    assert_eq!(
        run.said(&format!(
            "{reason}: finishing 2 point(s) in flight, then teardown (Ctrl-C again to cancel them)"
        )),
        1,
        "{}",
        run.log
    );
    run
}

/// A first Ctrl-C (or SIGTERM) mid-run: the points in flight finish `ok`, nothing new
/// starts, teardown runs, the stop record says `abort`.
#[test]
fn first_signal_finishes_in_flight_points_then_teardown() {
    first_stage(
        &[(ms(275), Interrupt::Signal)],
        "interrupted by the operator",
    );
}

/// SIGHUP stops like a first Ctrl-C, and stays one: a second SIGHUP while the points
/// finish cancels nothing (none is `aborted`), says nothing more.
#[test]
fn hangup_stops_like_a_first_signal_and_never_more() {
    let run = first_stage(
        &[(ms(275), Interrupt::Hangup), (ms(285), Interrupt::Hangup)],
        "the terminal hung up (SIGHUP)",
    );
    assert_eq!(run.said("cancelling"), 0, "{}", run.log);
}

/// The deadline stops like a first Ctrl-C (the points in flight, awaiting their replies,
/// finish `ok`), and a second deadline message would not escalate.
#[test]
fn deadline_stops_like_a_first_signal() {
    let why = "deadline of 275ms exceeded";
    let run = Run::new(SLOW).instrument(&slow());
    let ended = run
        .at(ms(275), Interrupt::Deadline(why.into()))
        .at(ms(285), Interrupt::Deadline(why.into()))
        .go();
    assert_eq!(ended.points().len(), 12, "{:?}", ended.ids());
    for p in ended.points() {
        assert_eq!(p["status"], "ok", "{p}");
    }
    assert_eq!(ended.point("teardown/0")["status"], "ok");
    let stop = ended.stop();
    assert_eq!(stop["exit_status"], "abort", "{stop}");
    assert_eq!(stop["reason"], why, "{stop}");
    assert_eq!(stop["points_not_run"], 88, "{stop}");
    assert_eq!(ended.said("cancelling"), 0, "{}", ended.log);
}

/// Ten independent points over two connections (a 30 s reply timeout), each writing
/// `V{i} 1`, waiting 5 s and reading it back; teardown `*OPC?`, with `teardown_wait`
/// before it.
fn waiting(teardown_wait: &str) -> String {
    format!(
        r#"
name: waiting
instrument:
  max_connections: 2
  timeout: 30s
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

/// Two Ctrl-Cs while both points in flight sit in their 5 s wait (at 1 s and 2 s): both
/// are recorded `aborted` by the operator, neither reads back, teardown still runs, the
/// stop record says `abort` with 8 points not run, and the run ends at the second signal,
/// not when the waits would have.
#[test]
fn second_signal_cancels_points_in_flight() {
    let instrument = Instrument::scpi();
    let run = Run::new(&waiting(""))
        .instrument(&instrument)
        .at(ms(1000), Interrupt::Signal)
        .at(ms(2000), Interrupt::Signal)
        .go();
    let journal = instrument.journal();
    let mut ids = run.ids();
    ids.sort_unstable();
    assert_eq!(ids, ["s/0", "s/1"], "{}", run.log);
    for p in run.points() {
        assert_eq!(p["status"], "aborted", "{p}");
        assert_eq!(p["error"], "aborted by the operator", "{p}");
    }
    assert_eq!(
        journal.count("V0?") + journal.count("V1?"),
        0,
        "{journal:?}"
    );
    assert_eq!(run.point("teardown/0")["status"], "ok");
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "abort", "{stop}");
    assert_eq!(stop["points_ok"], 0, "{stop}");
    assert_eq!(stop["points_aborted"], 2, "{stop}");
    assert_eq!(stop["points_not_run"], 8, "{stop}");
    assert_eq!(run.said("finishing 2 point(s) in flight"), 1, "{}", run.log);
    assert_eq!(
        run.said("cancelling 2 point(s) in flight, then teardown with a 2s timeout"),
        1,
        "{}",
        run.log
    );
    // The cancelled points' connections were closed: teardown dials a new one, which is
    // watched for `SETTLE` (50 ms) before it takes work, and its query is answered at once.
    // The run ends there, not when the 5 s waits would have.
    assert!(
        run.took > ms(2000) && run.took <= ms(2000) + SETTLE + ms(10),
        "{:?}\n{}",
        run.took,
        run.log
    );
}

/// After the second Ctrl-C, teardown runs with a 2 s reply timeout instead of the
/// instrument's 30 s: its query, which the instrument never answers, fails after 2 s (after
/// teardown's own 1 s wait), and the run ends then, well inside the 10 s grace.
#[test]
fn cancelled_teardown_gets_a_short_reply_timeout() {
    let instrument = Instrument::scpi().on_line(|line| {
        if line.text == "*OPC?" {
            Vec::new()
        } else {
            line.scpi()
        }
    });
    let run = Run::new(&waiting("\n  - wait: 1s"))
        .instrument(&instrument)
        .at(ms(1000), Interrupt::Signal)
        .at(ms(2000), Interrupt::Signal)
        .go();
    let teardown = run.point("teardown/0");
    assert_eq!(teardown["status"], "failed", "{teardown}");
    let error = teardown["error"].as_str().unwrap_or_default();
    assert!(error.contains("timeout after 2s"), "{teardown}");
    // A new connection (`SETTLE`), teardown's 1 s wait, then its query's 2 s timeout.
    let cut = ms(2000 + 1000 + 2000);
    assert!(
        run.took > cut && run.took <= cut + SETTLE + ms(10),
        "{:?}\n{}",
        run.took,
        run.log
    );
    assert_eq!(run.stop()["exit_status"], "abort");
}

/// After the second Ctrl-C, a teardown that outlasts the 10 s grace (a 60 s wait) is
/// abandoned: the run ends exactly 10 s after the second signal, teardown recorded
/// `aborted` as still running when the run was ended by force, the stop record `abort`.
#[test]
fn cancelled_run_ends_within_the_grace() {
    let run = Run::new(&waiting("\n  - wait: 60s"))
        .instrument(&Instrument::scpi())
        .at(ms(1000), Interrupt::Signal)
        .at(ms(2000), Interrupt::Signal)
        .go();
    assert_eq!(
        run.took,
        ms(2000) + crate::sequencer::CANCEL_GRACE,
        "{}",
        run.log
    );
    let teardown = run.point("teardown/0");
    assert_eq!(teardown["status"], "aborted", "{teardown}");
    assert_eq!(
        teardown["error"], "still running when the run was ended by force",
        "{teardown}"
    );
    assert_eq!(
        run.said("teardown still running 10s after the second Ctrl-C"),
        1
    );
    assert_eq!(run.stop()["exit_status"], "abort");
}

/// One point, its reply 10 ms after its query: an interrupt at any moment from the very
/// start of the run (the sequencer just started, nothing dispatched yet) through the
/// handoff to the first reply is never lost: the run always stops `abort`, with at most
/// the one point in flight recorded (what a race of 50 processes against a 0.1 ms window
/// used to look for).
#[test]
fn an_interrupt_at_any_moment_is_never_lost() {
    const YAML: &str = r#"
name: handoff
instrument:
  max_connections: 2
steps:
  - name: s
    sweep: {i: {start: 0, stop: 99, step: 1}}
    parallel: all
    commands: [{query: "Q {i}"}]
"#;
    for at in (0..=12).map(ms).chain([Duration::from_micros(1)]) {
        let instrument = Instrument::scpi().on_line(|_| after(ms(10), reply("1")));
        let run = Run::new(YAML)
            .instrument(&instrument)
            .at(at, Interrupt::Signal)
            .go();
        let stop = run.stop();
        assert_eq!(stop["exit_status"], "abort", "interrupt at {at:?}: {stop}");
        assert!(
            run.points().len() <= 4,
            "interrupt at {at:?}: {:?}",
            run.ids()
        );
        assert_eq!(
            stop["points_not_run"].as_u64(),
            Some(100 - run.points().len() as u64),
            "{stop}"
        );
    }
}

/// A 1 s deadline while the points sit in a 30 s `wait` (or pause between the queries of a
/// poll every 30 s that never holds): they stop there, recorded `aborted` with a reason
/// that starts `deadline:` and names what they were doing; teardown runs in full (its own
/// wait included); the stop record says `abort` and counts them aborted; and the run ends
/// at the deadline plus teardown.
#[test]
fn the_deadline_cuts_waits_and_polls() {
    for (commands, during) in [
        (r#"["V{i} 1", {wait: 30s}]"#, "`wait: 30s`"),
        (
            r#"[{poll: "V{i}?", until: {equals: "9"}, every: 30s, timeout: 1h}]"#,
            "poll",
        ),
    ] {
        let yaml = format!(
            r#"
name: cut
instrument:
  max_connections: 2
steps:
  - name: s
    sweep: {{i: [0, 1]}}
    parallel: all
    commands: {commands}
teardown: [{{wait: 200ms}}, "OFF"]
"#
        );
        let instrument = Instrument::scpi();
        let why = "deadline of 1s exceeded";
        let run = Run::new(&yaml)
            .instrument(&instrument)
            .at(ms(1000), Interrupt::Deadline(why.into()))
            .go();
        for p in run.points() {
            assert_eq!(p["status"], "aborted", "{p}");
            let error = p["error"].as_str().unwrap_or_default();
            assert!(error.starts_with("deadline:"), "{p}");
            assert!(error.contains(during), "{during}: {p}");
        }
        assert_eq!(run.points().len(), 2, "{:?}", run.ids());
        assert_eq!(run.point("teardown/0")["status"], "ok");
        assert_eq!(instrument.journal().count("OFF"), 1);
        let stop = run.stop();
        assert_eq!(stop["exit_status"], "abort", "{stop}");
        assert_eq!(stop["reason"], why, "{stop}");
        assert_eq!(stop["points_aborted"], 2, "{stop}");
        assert_eq!(run.took, ms(1200), "{during}: {}", run.log);
    }
}
