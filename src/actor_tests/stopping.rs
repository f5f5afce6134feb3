//! A run that stops on a failure (`on_error: stop`), or on the deadline, while other
//! points are in flight or waiting: no waiting point reaches the instrument or the log (the
//! pool holds them from the failure until the sequencer has judged it), no retry starts,
//! each point is counted once, teardown still runs. Two replies "back to back" are exact
//! here: which comes first, and whether the actors run between them, is the script's
//! choice, and each order is its own test.

use super::harness::{ms, run};
use crate::testing::{Act, Instrument, after, reply};

/// `points` independent points of `Q i` expecting `OK` over two connections, two at a
/// time, then teardown `OFF`; `instrument` is added to the instrument, `step` to the step.
fn pair_sequence(points: usize, instrument: &str, step: &str) -> String {
    format!(
        r#"
name: stopping
on_error: stop
instrument:
  max_connections: 2{instrument}
steps:
  - name: s
    sweep: {{i: {{start: 0, stop: {last}, step: 1}}}}
    parallel: all
    concurrency: 2{step}
    commands:
      - {{query: "Q {{i}}", expect: "OK"}}
teardown: ["OFF"]
"#,
        last = points - 1
    )
}

/// The replies to `Q 0` and `Q 1` come back to back, once both queries have arrived
/// (`act` for each): `Q 1`, the last to reach the gate, goes on first, so its act comes
/// just before `Q 0`'s, before the actors run again. Every other `Q i` is answered `OK`
/// after 50 ms; other lines as SCPI.
fn pair(act: fn(usize) -> Vec<Act>) -> Instrument {
    Instrument::scpi().on_line(move |line| match line.number("Q ") {
        Some(i @ (0 | 1)) => [vec![Act::Meet("pair", 2)], act(i)].concat(),
        Some(_) => after(ms(50), reply("OK")),
        None => line.scpi(),
    })
}

/// `on_error: stop`, 20 points on two connections, `Q 1` answered `BAD` just before `Q 0`'s
/// `OK`: only s/1 and s/0 are recorded (s/1 failed, in that order), no other `Q i` reaches
/// the instrument, the stop record says `fail` with one failed point and 18 not run, and
/// teardown runs.
#[test]
fn stop_on_failure_starts_no_waiting_point() {
    let instrument = pair(|i| reply(if i == 1 { "BAD" } else { "OK" }));
    let run = run(&pair_sequence(20, "", ""), &instrument);
    let journal = instrument.journal();
    assert_eq!(run.summary.exit_status, "fail", "{}", run.log);
    assert_eq!(run.point("s/0")["status"], "ok");
    assert_eq!(run.point("s/1")["status"], "failed");
    assert_eq!(run.ids(), ["s/1", "s/0"]);
    for i in 0..20 {
        let times = usize::from(i < 2);
        assert_eq!(
            journal.count(&format!("Q {i}")),
            times,
            "{:?}",
            journal.lines()
        );
    }
    let stop = run.stop();
    assert_eq!(stop["points_failed"], 1, "{stop}");
    assert_eq!(stop["points_ok"], 1, "{stop}");
    assert_eq!(stop["points_not_run"], 18, "{stop}");
    assert_eq!(run.point("teardown/0")["status"], "ok");
    assert_eq!(journal.count("OFF"), 1);
}

/// As above, but `Q 0`'s `OK` comes first and `Q 1`'s `BAD` 10 ms later (after the 5 ms
/// watch that follows a connection's first point): on the connection `OK` freed, s/2
/// (waiting in the pool) starts before the failure is known; it is in flight when the run stops, so it finishes and is recorded `ok`. Nothing
/// else starts: s/3, waiting too, is held by the failure and handed back.
#[test]
fn stop_on_failure_finishes_the_point_started_before_it() {
    let instrument = Instrument::scpi().on_line(move |line| match line.number("Q ") {
        Some(0) => vec![Act::Meet("pair", 2), Act::Reply("OK".into())],
        Some(1) => vec![
            Act::Meet("pair", 2),
            Act::Sleep(ms(10)),
            Act::Reply("BAD".into()),
        ],
        Some(_) => after(ms(50), reply("OK")),
        None => line.scpi(),
    });
    let run = run(&pair_sequence(20, "", ""), &instrument);
    let journal = instrument.journal();
    assert_eq!(
        run.ids(),
        ["s/0", "s/1", "s/2"],
        "{}\n{}",
        run.log,
        journal.timeline()
    );
    assert_eq!(run.point("s/0")["status"], "ok");
    assert_eq!(run.point("s/1")["status"], "failed");
    assert_eq!(run.point("s/2")["status"], "ok");
    for i in 0..20 {
        let times = usize::from(i < 3);
        assert_eq!(
            journal.count(&format!("Q {i}")),
            times,
            "{:?}",
            journal.lines()
        );
    }
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_ok"], 2, "{stop}");
    assert_eq!(stop["points_failed"], 1, "{stop}");
    assert_eq!(stop["points_not_run"], 17, "{stop}");
    assert_eq!(run.point("teardown/0")["status"], "ok");
}

/// Same with `retries: 1`, but the instrument closes Q 0's connection as it answers Q 1
/// with BAD: the run stops on the two failures together, so s/0 gets no second attempt
/// (Q 0 reaches the instrument once), the stop record counts no retry and two failed
/// points, and no other point is recorded. The instrument answers `ID?` on connecting, so
/// closing Q 0's connection is a lost connection, not a session refused a little late.
#[test]
fn stop_on_failure_starts_no_retry() {
    let instrument = pair(|i| match i {
        0 => vec![Act::Close],
        _ => reply("BAD"),
    });
    let on_connect = "\n  on_connect: [{query: \"ID?\"}]";
    let run = run(
        &pair_sequence(20, on_connect, "\n    retries: 1"),
        &instrument,
    );
    let journal = instrument.journal();
    assert_eq!(run.ids(), ["s/1", "s/0"], "{}", run.log);
    for id in ["s/0", "s/1"] {
        let p = run.point(id);
        assert_eq!(p["status"], "failed", "{p}");
        assert_eq!(p["attempt"], 1, "{p}");
    }
    assert_eq!(journal.count("Q 0"), 1, "{:?}", journal.lines());
    assert_eq!(journal.count("Q 1"), 1, "{:?}", journal.lines());
    assert!((2..20).all(|i| journal.count(&format!("Q {i}")) == 0));
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["retries"], 0, "{stop}");
    assert_eq!(stop["points_failed"], 2, "{stop}");
    assert_eq!(stop["points_not_run"], 18, "{stop}");
    assert_eq!(run.point("teardown/0")["status"], "ok");
}

/// `on_error: stop`, 10 points on two connections: Q 0 gets BAD as the instrument closes
/// Q 1's fresh connection (a session refused a little late). The run stops, so s/1 never
/// runs again and its recorded failed attempt is its outcome: two points failed, eight
/// not run.
#[test]
fn late_refusal_during_stop_counts_as_failed() {
    let instrument = pair(|i| match i {
        0 => reply("BAD"),
        _ => vec![Act::Close],
    });
    let run = run(&pair_sequence(10, "", ""), &instrument);
    let journal = instrument.journal();
    let mut ids = run.ids();
    ids.sort_unstable();
    assert_eq!(ids, ["s/0", "s/1"], "{}", run.log);
    assert_eq!(journal.count("Q 0"), 1, "{:?}", journal.lines());
    assert_eq!(journal.count("Q 1"), 1, "{:?}", journal.lines());
    assert!((2..10).all(|i| journal.count(&format!("Q {i}")) == 0));
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_failed"], 2, "{stop}");
    assert_eq!(stop["points_not_run"], 8, "{stop}");
    assert_eq!(run.point("teardown/0")["status"], "ok");
}

/// One connection; the instrument closes it 300 ms into the only point, just before a
/// 330 ms deadline: the run stops with `abort`, and teardown still runs on a new connection
/// (the instrument receives `OFF` on a second session, the log has an ok `teardown/0`).
#[test]
fn deadline_while_connection_is_lost_still_runs_teardown() {
    let instrument = Instrument::scpi().on_line(|line| match line.number("Q ") {
        Some(_) => after(ms(300), vec![Act::Close]),
        None => line.scpi(),
    });
    let yaml = r#"
name: deadline
on_error: continue
instrument:
  max_connections: 1
steps:
  - name: s
    sweep: {i: [0]}
    commands:
      - {query: "Q {i}"}
teardown: ["OFF"]
"#;
    let run = super::harness::Run::new(yaml)
        .instrument(&instrument)
        .at(
            ms(330),
            crate::sequencer::Interrupt::Deadline("deadline of 330ms exceeded".into()),
        )
        .go();
    let journal = instrument.journal();
    assert_eq!(run.point("s/0")["status"], "failed", "{}", run.log);
    assert_eq!(run.point("teardown/0")["status"], "ok", "{}", run.log);
    assert_eq!(
        journal.received(),
        [(0, "Q 0".to_owned()), (1, "OFF".to_owned())]
    );
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "abort", "{stop}");
    assert_eq!(stop["points_failed"], 1, "{stop}");
}

/// The sequence of the two tests below: ten independent `*OPC?` points expecting `0` (the
/// instrument answers `1`) over 4 connections, `on_error: stop`, teardown `OUTP OFF`.
const HALT: &str = r#"
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

/// [`HALT`] against an instrument that takes 1 session at a time of the 4 asked (it closes
/// the others at once) and answers after 20 ms: the failing first point is the only step
/// point that starts (none waiting for a connection runs after it), teardown still runs
/// (on a fifth session), and the other 9 points count as not run.
#[test]
fn stop_starts_no_waiting_point_when_sessions_are_fewer() {
    let instrument = Instrument::scpi()
        .sessions(1)
        .on_line(|line| after(ms(20), line.scpi()));
    let run = run(HALT, &instrument);
    let journal = instrument.journal();
    assert_eq!(run.ids(), ["s/0"], "{}", run.log);
    assert_eq!(run.point("s/0")["status"], "failed");
    assert_eq!(
        run.point("teardown/0")["status"],
        "ok",
        "{:#?}",
        run.records
    );
    assert_eq!(journal.count("*OPC?"), 1, "{:?}", journal.lines());
    assert_eq!(
        journal.sessions(),
        5,
        "one kept, three refused, one for teardown"
    );
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_failed"], 1, "{stop}");
    assert_eq!(stop["points_not_run"], 9, "{stop}");
}

/// The same, the three extra sessions refused 10 ms after accepting them (after the 5 ms
/// watch: the first points on them sent their query; what a loaded machine makes of the
/// simulator's refusals). Those three attempts are recorded failed (closed by the
/// instrument) and would run again unrecorded as a retry; but s/0 fails first at 25 ms and
/// the run stops, so they never run again and their recorded failure is their outcome:
/// four points failed, six not run, no point started after the failure.
#[test]
fn stop_with_sessions_refused_late_counts_their_attempts_as_failed() {
    let instrument = Instrument::scpi()
        .sessions(1)
        .refuse_after(ms(10))
        .on_line(|line| after(ms(20), line.scpi()));
    let run = run(HALT, &instrument);
    let journal = instrument.journal();
    let mut ids = run.ids();
    ids.sort_unstable();
    assert_eq!(ids, ["s/0", "s/1", "s/2", "s/3"], "{}", journal.timeline());
    for id in ["s/1", "s/2", "s/3"] {
        let p = run.point(id);
        assert_eq!(p["status"], "failed", "{p}");
        let error = p["error"].as_str().unwrap_or_default();
        assert!(error.contains("closed by the instrument"), "{p}");
    }
    assert_eq!(run.point("s/0")["status"], "failed");
    assert_eq!(run.point("teardown/0")["status"], "ok");
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_failed"], 4, "{stop}");
    assert_eq!(stop["points_not_run"], 6, "{stop}");
    assert_eq!(stop["retries"], 0, "{stop}");
}

/// 20 points of a poll `Q i` until `OK` (every 10 ms, for 30 ms) over two connections, two
/// at a time, under `on_error`, teardown `OFF`. A poll that times out fails its point and
/// leaves its connection in step: free at once for a waiting point.
fn polls(on_error: &str) -> String {
    format!(
        r#"
name: holds
on_error: {on_error}
instrument:
  max_connections: 2
steps:
  - name: s
    sweep: {{i: {{start: 0, stop: 19, step: 1}}}}
    parallel: all
    concurrency: 2
    commands:
      - {{poll: "Q {{i}}", until: {{equals: "OK"}}, every: 10ms, timeout: 30ms}}
teardown: ["OFF"]
"#
    )
}

/// `Q 1` always `BAD`, `Q 0` answered `OK` after 100 ms, others at once.
fn held() -> Instrument {
    Instrument::scpi().on_line(|line| match line.number("Q ") {
        Some(0) => after(ms(100), reply("OK")),
        Some(1) => reply("BAD"),
        Some(_) => reply("OK"),
        None => line.scpi(),
    })
}

/// `on_error: stop`; s/1's poll times out at 35 ms on a connection left in step and free,
/// while s/2 and s/3 wait in the pool: the pool holds them from the failure until the
/// sequencer has judged it, which stops the run, so neither starts (no `Q 2` or `Q 3`
/// reaches the instrument); s/0 finishes `ok`, teardown runs, and the stop record counts
/// one failed point and 18 not run, each once.
#[test]
fn a_failure_holds_the_waiting_points_until_judged() {
    let instrument = held();
    let run = run(&polls("stop"), &instrument);
    let journal = instrument.journal();
    assert_eq!(run.ids(), ["s/1", "s/0"], "{}", journal.timeline());
    let failed = run.point("s/1");
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(run.point("s/0")["status"], "ok");
    assert!(
        (2..20).all(|i| journal.count(&format!("Q {i}")) == 0),
        "{}",
        journal.timeline()
    );
    assert_eq!(run.point("teardown/0")["status"], "ok");
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_ok"], 1, "{stop}");
    assert_eq!(stop["points_failed"], 1, "{stop}");
    assert_eq!(stop["points_not_run"], 18, "{stop}");
}

/// The same under `on_error: continue`: the hold is lifted once the failure is judged, and
/// every held point then runs, once: 19 ok, 1 failed, none left unrun.
#[test]
fn holds_are_lifted_once_the_failure_is_judged() {
    let instrument = held();
    let run = run(&polls("continue"), &instrument);
    let journal = instrument.journal();
    for i in 2..20 {
        assert_eq!(
            journal.count(&format!("Q {i}")),
            1,
            "{}",
            journal.timeline()
        );
        assert_eq!(run.attempts(&format!("s/{i}")).len(), 1);
    }
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_ok"], 19, "{stop}");
    assert_eq!(stop["points_failed"], 1, "{stop}");
    assert_eq!(stop["points_not_run"], 0, "{stop}");
    assert_eq!(stop["retries"], 0, "{stop}");
}
