//! `stop_when:` at run time: after a point that completes ok, a condition that holds is
//! written as a `break` record right after the point's, and its action halts the step, ends
//! the loop's iteration, ends the loop, or stops the run; the points passed over are
//! `points_skipped` (the run still succeeds), except after `stop`, which fails the run. A
//! step's `when:` passes the step over in iterations where it does not hold.
//!
//! The conditions are the sequences' own, evaluated as in a real run (`stop_when` by the
//! connection after an ok point, `when:` by the cursor at each iteration).

use super::harness::{Run, ms};
use crate::testing::{Instrument, after, reply};

/// Answers `I v` with `v` milliamps (`0.00v`), after 10 ms; other lines as SCPI.
fn ammeter() -> Instrument {
    Instrument::scpi().on_line(|line| match line.number("I ") {
        Some(v) => after(ms(10), reply(format!("{}", v as f64 / 1000.0))),
        None => line.scpi(),
    })
}

/// A flat sequence: step `s` sweeping `v` over 0..=`last` (`more` added to it), then step
/// `after`.
fn flat(then: &str, last: usize, more: &str) -> String {
    format!(
        r#"
name: breaks
instrument: {{max_connections: 4}}
steps:
  - name: s
    sweep: {{v: {{start: 0, stop: {last}, step: 1}}}}{more}
    commands: [{{query: "I {{v}}", as: i}}]
    stop_when: [{{if: "i > 4.5e-3", then: {then}}}]
  - name: after
    commands: ["DONE"]
teardown: ["OFF"]
"#
    )
}

/// `then: break`, one point at a time: s/5 fires; s/6..9 never reach the instrument; the
/// break record follows s/5's with the condition, the action and the values; `after` runs;
/// the run succeeds with 4 points skipped.
#[test]
fn break_ends_the_step_and_the_run_goes_on() {
    let instrument = ammeter();
    let run = Run::new(&flat("break", 9, "")).instrument(&instrument).go();
    let ids: Vec<String> = (0..=5)
        .map(|v| format!("s/{v}"))
        .chain(["after/0".into()])
        .collect();
    assert_eq!(run.ids(), ids);
    for v in 6..=9 {
        assert_eq!(instrument.journal().count(&format!("I {v}")), 0, "I {v}");
    }
    let at = run
        .records
        .iter()
        .position(|r| r["type"] == "break")
        .expect("a break record");
    assert_eq!(run.records[at - 1]["id"], "s/5");
    let record = &run.records[at];
    assert_eq!(record["id"], "s/5", "{record}");
    assert_eq!(record["step"], "s");
    assert_eq!(record["index"], 5);
    assert_eq!(record["condition"], "i > 4.5e-3");
    assert_eq!(record["action"], "break");
    assert_eq!(record["values"], serde_json::json!({"i": 0.005}));
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "success", "{stop}");
    assert_eq!(stop["points_ok"], 7, "{stop}");
    assert_eq!(stop["points_skipped"], 4, "{stop}");
    assert_eq!(stop["points_not_run"], 0, "{stop}");
    assert_eq!(run.summary.points_skipped, 4);
    assert_eq!(instrument.journal().count("OFF"), 1);
}

/// `then: stop`: s/5 fires; nothing after it runs but teardown; the run fails with a
/// reason naming the condition, the point and the values; the points left are not run
/// (a resume runs them), not skipped.
#[test]
fn stop_fails_the_run_with_the_condition_point_and_values() {
    let instrument = ammeter();
    let run = Run::new(&flat("stop", 9, "")).instrument(&instrument).go();
    assert_eq!(run.ids().len(), 6);
    assert_eq!(instrument.journal().count("DONE"), 0);
    assert_eq!(instrument.journal().count("OFF"), 1);
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(
        stop["reason"], "stop_when `i > 4.5e-3` held at `s/5` (i = 0.005)",
        "{stop}"
    );
    assert_eq!(stop["points_failed"], 0, "{stop}");
    assert_eq!(stop["points_skipped"], 0, "{stop}");
    assert_eq!(stop["points_not_run"], 5, "{stop}");
    let record = run.records.iter().find(|r| r["type"] == "break").unwrap();
    assert_eq!(record["action"], "stop");
}

/// With `parallel: all` on four connections and 40 points, the points already in flight when s/5 fires
/// still complete and are recorded (and fire again: every firing is recorded); none is
/// dispatched after; ok and skipped add up to every point, and the run succeeds.
#[test]
fn in_flight_points_complete_after_a_break() {
    let instrument = ammeter();
    let run = Run::new(&flat("break", 39, "\n    parallel: all"))
        .instrument(&instrument)
        .go();
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "success", "{stop}");
    let ran = run.ids().iter().filter(|id| id.starts_with("s/")).count();
    let sent: usize = (0..=39)
        .map(|v| instrument.journal().count(&format!("I {v}")))
        .sum();
    assert_eq!(ran, sent, "every point sent is recorded");
    // The four running when s/5 fired, and at most four more that had started.
    assert!(ran > 6 && ran <= 14, "{ran} points ran: {:?}", run.ids());
    let breaks = run.records.iter().filter(|r| r["type"] == "break").count();
    assert_eq!(breaks, ran - 5, "each point above 4.5 mA fired");
    assert_eq!(stop["points_ok"].as_u64(), Some(ran as u64 + 1), "{stop}");
    assert_eq!(
        stop["points_skipped"].as_u64(),
        Some(40 - ran as u64),
        "{stop}"
    );
}

/// Loop `T` over `t` in 1..=3 around `iv` (v in 0..=9, `I {v+t}`-like: the instrument
/// answers `I t v?` with `t + v` mA) and `post`; `then` is the action of `iv`'s condition.
fn looped(then: &str) -> String {
    format!(
        r#"
name: loops
instrument: {{max_connections: 2}}
steps:
  - name: T
    sweep: {{t: [1, 2, 3]}}
    steps:
      - name: U
        sweep: {{u: [0, 1]}}
        steps:
          - name: iv
            sweep: {{v: {{start: 0, stop: 9, step: 1}}}}
            commands: [{{query: "I {{v}}", as: i}}]
            stop_when: [{{if: "i > 4.5e-3", then: {then}}}]
      - name: post
        commands: ["POST {{t}}"]
  - name: end
    commands: ["END"]
"#
    )
}

/// The three loop actions from `iv` in loop `U` in loop `T` (each iteration of `iv` has 10
/// points and fires at its point 5): which stages ran, and the points skipped.
#[test]
fn loop_actions_end_the_iteration_or_the_loop() {
    // (action, points recorded per stage path prefix, skipped)
    let cases: &[(&str, &[&str], u64)] = &[
        // break: each `iv` stage stops at 5; every iteration of U and T runs.
        (
            "break",
            &[
                "T/0/U/0/iv",
                "T/0/U/1/iv",
                "T/0/post",
                "T/1/U/0/iv",
                "T/1/U/1/iv",
                "T/1/post",
                "T/2/U/0/iv",
                "T/2/U/1/iv",
                "T/2/post",
                "end",
            ],
            6 * 4,
        ),
        // next: U: the same as break here (iv is U's last step).
        (
            "{next: U}",
            &[
                "T/0/U/0/iv",
                "T/0/U/1/iv",
                "T/0/post",
                "T/1/U/0/iv",
                "T/1/U/1/iv",
                "T/1/post",
                "T/2/U/0/iv",
                "T/2/U/1/iv",
                "T/2/post",
                "end",
            ],
            6 * 4,
        ),
        // break: U: U's second iteration is passed over; post runs.
        (
            "{break: U}",
            &[
                "T/0/U/0/iv",
                "T/0/post",
                "T/1/U/0/iv",
                "T/1/post",
                "T/2/U/0/iv",
                "T/2/post",
                "end",
            ],
            3 * (4 + 10),
        ),
        // next: T: U's second iteration and post are passed over; T goes on.
        (
            "{next: T}",
            &["T/0/U/0/iv", "T/1/U/0/iv", "T/2/U/0/iv", "end"],
            3 * (4 + 10 + 1),
        ),
        // break: T: everything of T after T/0/U/0/iv/5 is passed over; `end` runs.
        ("{break: T}", &["T/0/U/0/iv", "end"], 4 + 10 + 1 + 2 * 21),
    ];
    for &(then, stages, skipped) in cases {
        let instrument = ammeter();
        let run = Run::new(&looped(then)).instrument(&instrument).go();
        let mut ran: Vec<String> = Vec::new();
        for id in run.ids() {
            let stage = id.rsplit_once('/').map_or(id, |(s, _)| s).to_owned();
            if ran.last() != Some(&stage) {
                ran.push(stage);
            }
        }
        assert_eq!(ran, stages, "then: {then}");
        let stop = run.stop();
        assert_eq!(stop["exit_status"], "success", "then: {then}: {stop}");
        assert_eq!(stop["points_skipped"], skipped, "then: {then}: {stop}");
        assert_eq!(stop["points_not_run"], 0, "then: {then}: {stop}");
        let total = 3 * (2 * 10 + 1) + 1;
        assert_eq!(
            stop["points_ok"].as_u64().unwrap() + skipped,
            total,
            "then: {then}: {stop}"
        );
    }
}

/// A step whose `when:` does not hold in an iteration is passed over there (its points
/// skipped, never sent); the others run; the run succeeds.
#[test]
fn when_passes_a_step_over_in_some_iterations() {
    let yaml = r#"
name: gated
instrument: {}
steps:
  - name: T
    sweep: {t: [300, 200, 100]}
    steps:
      - name: low
        sweep: {v: [1, 2]}
        when: "t <= 150"
        commands: ["LOW {t} {v}"]
      - name: all
        commands: ["ALL {t}"]
"#;
    let instrument = Instrument::scpi();
    let run = Run::new(yaml).instrument(&instrument).go();
    assert_eq!(
        run.ids(),
        [
            "T/0/all/0",
            "T/1/all/0",
            "T/2/low/0",
            "T/2/low/1",
            "T/2/all/0"
        ]
    );
    assert_eq!(instrument.journal().count("LOW 300 1"), 0);
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "success", "{stop}");
    assert_eq!(stop["points_skipped"], 4, "{stop}");
    assert_eq!(stop["points_ok"], 5, "{stop}");
}

/// A `when:` that cannot be decided stops the run as failed, saying which step and why.
#[test]
fn an_undecidable_when_fails_the_run() {
    let yaml = r#"
name: gated
instrument: {}
steps:
  - name: T
    sweep: {t: [1, 2]}
    steps:
      - name: s
        when: "1 / (t - 2) < 0"
        commands: ["S {t}"]
"#;
    let run = Run::new(yaml).instrument(&Instrument::scpi()).go();
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(
        stop["reason"],
        "cannot decide `when:` of step `T/1/s` (line 9): cannot evaluate `1 / (t - 2) < 0`: \
         division by zero (t = 2)",
        "{stop}"
    );
    assert_eq!(stop["points_ok"], 1, "{stop}");
    assert_eq!(stop["points_not_run"], 1, "{stop}");
}

/// What a resume of a log made of `records` (a start record put in front) knows, for the
/// sequence of `run`.
fn resume_of(run: &Run, records: &[serde_json::Value]) -> crate::resume::Resume {
    let dir = std::env::temp_dir().join(format!(
        "sequencer-breaks-{}-{}",
        std::process::id(),
        records.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.jsonl");
    let mut text =
        "{\"type\":\"start\",\"sequence\":\"test.yaml\",\"sequence_sha256\":\"x\"}\n".to_owned();
    for record in records {
        text.push_str(&record.to_string());
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    let seq = run.compiled();
    let state = crate::resume::open(&path)
        .and_then(|records| crate::resume::read_log(records, &seq, false))
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    state.resume
}

/// A resume honours the breaks of its log: after a run whose `{next: T}` fired in every
/// iteration, cut right after the first break record (as a crash would), the resumed run
/// sends none of the points that break skipped (`iv`'s points after 5, `post` of that
/// iteration) and runs the other iterations; over the whole log the counts are those of
/// an uninterrupted run.
#[test]
fn a_resume_does_not_run_what_a_break_skipped() {
    let first = Run::new(&looped("{next: T}"));
    let full = first.instrument(&ammeter()).go();
    let cut = full
        .records
        .iter()
        .position(|r| r["type"] == "break")
        .expect("a break record");
    let again = Run::new(&looped("{next: T}"));
    let resume = resume_of(&again, &full.records[..=cut]);
    let instrument = ammeter();
    let run = again.instrument(&instrument).resume(resume).go();
    let stages: Vec<&str> = run
        .ids()
        .into_iter()
        .map(|id| id.rsplit_once('/').map_or(id, |(s, _)| s))
        .collect();
    assert!(!stages.contains(&"T/0/U/0/iv"), "{stages:?}");
    assert!(!stages.contains(&"T/0/U/1/iv"), "{stages:?}");
    assert!(stages.contains(&"T/1/U/0/iv"), "{stages:?}");
    assert_eq!(instrument.journal().count("POST 1"), 0);
    let (stop, want) = (run.stop(), full.stop());
    for count in [
        "points_ok",
        "points_skipped",
        "points_not_run",
        "points_failed",
    ] {
        assert_eq!(stop[count], want[count], "{count}: {stop}");
    }
    assert_eq!(stop["exit_status"], "success", "{stop}");
}

/// A resume of a whole log whose `break: T` fired sends nothing: every point is ok or
/// skipped, and the run succeeds.
#[test]
fn a_resume_of_a_finished_broken_run_sends_nothing() {
    let first = Run::new(&looped("{break: T}"));
    let full = first.instrument(&ammeter()).go();
    let again = Run::new(&looped("{break: T}"));
    let records = &full.records[..full.records.len() - 1];
    let resume = resume_of(&again, records);
    let instrument = ammeter();
    let run = again.instrument(&instrument).resume(resume).go();
    assert!(run.ids().is_empty(), "{:?}", run.ids());
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "success", "{stop}");
    assert_eq!(
        stop["points_skipped"],
        full.stop()["points_skipped"],
        "{stop}"
    );
    assert_eq!(stop["points_ok"], full.stop()["points_ok"], "{stop}");
}
