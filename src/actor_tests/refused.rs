//! Instruments that take fewer sessions than the pool asks for, closing the others at once
//! or a little after accepting them: the pool goes on with the sessions it has and warns
//! once, a query sent on a refused session runs again without counting a retry, and a
//! write is never lost. And instruments that greet a session unasked: the greeting is
//! never a reply.

use std::time::Duration;

use super::harness::{ms, run};
use crate::testing::Instrument;

/// How an instrument that takes fewer sessions refuses the others: this long after
/// accepting them (at once; within the 5 ms a first dial's connection is watched before it
/// takes work; after it).
const REFUSALS: [Duration; 4] = [
    Duration::ZERO,
    Duration::from_millis(3),
    Duration::from_millis(10),
    Duration::from_millis(30),
];

/// 24 independent `*OPC?` points expecting `1` over 4 connections, against an instrument
/// that takes 2 sessions, refusing the others at once, 3, 10 or 30 ms after accepting them.
/// At once or within the 5 ms watch, the close is seen before the first point sends
/// anything: every point has one `ok` record, attempt 1. Later, the query went out on the refused session: that
/// attempt is recorded as failed (the connection closed by the instrument) and the point
/// runs again as the next attempt, without counting a retry. Either way every point ends
/// with one `ok` record, the run counts no retry, the `ok` points ran on 2 connections, and
/// the pool warns once `accepted 2 of 4 connections`.
#[test]
fn refused_sessions_rerun_queries_unrecorded() {
    let yaml = r#"
name: refused
instrument:
  max_connections: 4
steps:
  - name: s
    sweep: {i: {start: 1, stop: 24, step: 1}}
    parallel: all
    commands: [{query: "*OPC?", expect: "1"}]
"#;
    for wait in REFUSALS {
        let instrument = Instrument::scpi().sessions(2).refuse_after(wait);
        let run = run(yaml, &instrument);
        let mut conns = std::collections::BTreeSet::new();
        let mut failed = 0;
        for i in 0..24 {
            let tries = run.attempts(&format!("s/{i}"));
            let (last, earlier) = tries.split_last().expect("a record of every point");
            assert_eq!(last["status"], "ok", "{wait:?}: {last}");
            assert_eq!(last["attempt"], tries.len(), "{wait:?}: {last}");
            conns.insert(last["conn"].as_u64());
            for (k, e) in earlier.iter().enumerate() {
                assert_eq!(e["status"], "failed", "{wait:?}: {e}");
                assert_eq!(e["attempt"], k + 1, "{wait:?}: {e}");
                let error = e["error"].as_str().unwrap_or_default();
                assert!(error.contains("closed by the instrument"), "{wait:?}: {e}");
            }
            failed += earlier.len();
        }
        if wait < ms(5) {
            assert_eq!(
                failed, 0,
                "refused at once, yet attempts recorded\n{}",
                run.log
            );
        } else {
            assert_eq!(failed, 2, "{wait:?}: the two late refusals\n{}", run.log);
        }
        assert_eq!(conns.len(), 2, "{wait:?}: ok points ran on {conns:?}");
        let stop = run.stop();
        assert_eq!(stop["exit_status"], "success", "{wait:?}: {stop}");
        assert_eq!(stop["retries"], 0, "{wait:?}: {stop}");
        assert_eq!(stop["points_ok"], 24, "{wait:?}: {stop}");
        assert_eq!(
            run.said("accepted 2 of 4 connections; continuing with 2"),
            1,
            "{wait:?}\n{}",
            run.log
        );
    }
}

/// A step of writes only (each point sets its own channel) against an instrument that
/// takes 1 of 3 sessions, refusing at once or a little after accepting: a write sent on a
/// refused session would be lost without an error, so a later step reads every channel
/// back and must find each point's value; each write point has one `ok` record as attempt
/// 1, no retry is counted, and the pool warns once `accepted 1 of 3 connections`.
#[test]
fn refused_sessions_lose_no_write() {
    const VOLTS: [&str; 6] = ["0.11", "0.22", "0.33", "0.44", "0.55", "0.66"];
    let yaml = r#"
name: writes
instrument:
  max_connections: 3
steps:
  - name: set
    mode: zip
    sweep: {ch: [1, 2, 3, 4, 5, 6], volt: [0.11, 0.22, 0.33, 0.44, 0.55, 0.66]}
    parallel: [ch]                # each point sets its own channel
    commands: [{write: "SOUR{ch}:VOLT {volt}"}]
  - name: read
    sweep: {ch: [1, 2, 3, 4, 5, 6]}
    parallel: [ch]
    commands: [{query: "SOUR{ch}:VOLT?", as: volt}]
"#;
    // The late closes come well inside the 50 ms a first point of writes watches for.
    for wait in [Duration::ZERO, ms(5), ms(20)] {
        let instrument = Instrument::scpi().sessions(1).refuse_after(wait);
        let run = run(yaml, &instrument);
        assert_eq!(run.points().len(), 2 * VOLTS.len(), "{wait:?}\n{}", run.log);
        for (i, volt) in VOLTS.iter().enumerate() {
            let set = run.point(&format!("set/{i}"));
            assert_eq!(set["status"], "ok", "{wait:?}: {set}");
            assert_eq!(set["attempt"], 1, "{wait:?}: {set}");
            let sent = format!("SOUR{}:VOLT {volt}", i + 1);
            assert_eq!(set["commands"][0]["sent"], sent.as_str(), "{wait:?}: {set}");
            let read = run.point(&format!("read/{i}"));
            assert_eq!(
                read["values"]["volt"], *volt,
                "{wait:?}: `{sent}` did not reach the instrument: {read}\n{set}"
            );
        }
        let stop = run.stop();
        assert_eq!(stop["exit_status"], "success", "{wait:?}: {stop}");
        assert_eq!(stop["retries"], 0, "{wait:?}: {stop}");
        assert_eq!(
            run.said("accepted 1 of 3 connections; continuing with 1"),
            1,
            "{wait:?}\n{}",
            run.log
        );
    }
}

/// An instrument that takes no session at all (every one closed at once) fails the run's
/// opening: the pool answers `Open` with the refusal, as the app reports it.
#[test]
fn an_instrument_that_refuses_every_session_opens_nothing() {
    let instrument = Instrument::scpi().sessions(0);
    let refused = super::harness::open_only(
        r#"
name: none
instrument: {max_connections: 2}
steps: [{name: s, commands: ["X"]}]
"#,
        &instrument,
    );
    let error = refused.expect_err("no session, yet the pool opened");
    assert!(error.contains("closed the connection at once"), "{error}");
}

/// An instrument that greets each connection before any command (at once, 10 ms or 70 ms
/// after accepting it: the last after the 50 ms watch of a connection whose `on_connect`
/// sends nothing, but within its `wait`), with `on_connect: [{wait: 100ms}]` and no
/// `greeting:` declared: the greeting is discarded (with a warning) and never taken as a
/// reply, so every query gets its own answer.
#[test]
fn an_undeclared_greeting_is_never_a_reply() {
    const GREETING: &str = "WELCOME TO THE INSTRUMENT";
    let yaml = r#"
name: greeting
instrument:
  max_connections: 2
  on_connect: [{wait: 100ms}]
steps:
  - name: ask
    sweep: {i: [1, 2, 3, 4]}
    parallel: all
    commands: [{query: "*IDN?", as: idn}, {query: "*OPC?", expect: "1"}]
"#;
    for greet_after in [Duration::ZERO, ms(10), ms(70)] {
        let instrument = Instrument::scpi().on_connect(move |_| {
            crate::testing::after(greet_after, crate::testing::reply(GREETING))
        });
        let run = run(yaml, &instrument);
        let replies: Vec<&serde_json::Value> = run
            .records
            .iter()
            .filter_map(|r| r["commands"].as_array())
            .flatten()
            .filter_map(|c| c.get("reply"))
            .collect();
        assert!(
            replies.iter().all(|r| *r != GREETING),
            "greeting after {greet_after:?} taken as a reply: {replies:?}"
        );
        let points = run.points();
        assert_eq!(
            points.len(),
            4,
            "greeting after {greet_after:?}\n{}",
            run.log
        );
        for p in points {
            assert_eq!(p["status"], "ok", "greeting after {greet_after:?}: {p}");
            assert_eq!(
                p["values"]["idn"], "SCRIPTED,INSTRUMENT,0,1",
                "{greet_after:?}: {p}"
            );
        }
        assert!(
            run.said("discarding data the instrument sent before any command") >= 1,
            "greeting after {greet_after:?}: not logged as discarded\n{}",
            run.log
        );
    }
}
