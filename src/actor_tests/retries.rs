//! `retries:`: a point whose connection broke under it runs again on another connection,
//! as many times as `retries` allows, each attempt recorded and counted; `retry_on` adds
//! the instrument's own answers (an `expect` mismatch, a poll timeout).

use super::harness::{ms, run};
use crate::testing::{Act, Instrument, after, reply};

/// One step of three one-query points expecting `1`, `retries: 2`, on two connections
/// that say `REM` first (so a close under a point is a lost connection, not a refused
/// session); `more` is added to the step.
fn retrying(more: &str) -> String {
    format!(
        r#"
name: retries
on_error: continue
instrument:
  max_connections: 2
  on_connect: ["REM"]
steps:
  - name: s
    sweep: {{i: [0, 1, 2]}}
    retries: 2{more}
    commands: [{{query: "Q {{i}}?", expect: "1"}}]
"#
    )
}

/// The instrument closes the connection under `Q 0?` the first time it comes: s/0's first
/// attempt is recorded failed (closed by the instrument), its second runs on another
/// connection and is ok; the other points run once; the stop record counts one retry.
#[test]
fn a_broken_connection_runs_the_point_again_elsewhere() {
    let instrument = Instrument::scpi().on_line(|line| match line.text {
        "Q 0?" if line.conn == 0 => vec![Act::Close],
        t if t.starts_with("Q ") => after(ms(10), reply("1")),
        _ => line.scpi(),
    });
    let run = run(&retrying(""), &instrument);
    let tries = run.attempts("s/0");
    assert_eq!(tries.len(), 2, "{tries:#?}");
    assert_eq!(tries[0]["status"], "failed", "{}", tries[0]);
    assert_eq!(tries[0]["attempt"], 1);
    let error = tries[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("closed by the instrument"), "{}", tries[0]);
    assert_eq!(tries[1]["status"], "ok", "{}", tries[1]);
    assert_eq!(tries[1]["attempt"], 2);
    assert_ne!(tries[0]["conn"], tries[1]["conn"]);
    for id in ["s/1", "s/2"] {
        assert_eq!(run.point(id)["status"], "ok");
    }
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "success", "{stop}");
    assert_eq!(stop["retries"], 1, "{stop}");
    assert_eq!(stop["points_ok"], 3, "{stop}");
}

/// Every connection closes under `Q 0?`: s/0 runs 1 + `retries` (2) times, each attempt
/// recorded failed, then fails for good; the run goes on (`on_error: continue`) and counts
/// two retries and one failed point.
#[test]
fn retries_are_bounded() {
    let instrument = Instrument::scpi().on_line(|line| match line.text {
        "Q 0?" => vec![Act::Close],
        t if t.starts_with("Q ") => reply("1"),
        _ => line.scpi(),
    });
    let run = run(&retrying(""), &instrument);
    let tries = run.attempts("s/0");
    let attempts: Vec<_> = tries
        .iter()
        .map(|t| (t["attempt"].clone(), t["status"].clone()))
        .collect();
    assert_eq!(attempts.len(), 3, "{tries:#?}");
    for (k, (attempt, status)) in attempts.iter().enumerate() {
        assert_eq!(*attempt, k + 1);
        assert_eq!(*status, "failed");
    }
    assert_eq!(instrument.journal().count("Q 0?"), 3);
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["retries"], 2, "{stop}");
    assert_eq!(stop["points_failed"], 1, "{stop}");
    assert_eq!(stop["points_ok"], 2, "{stop}");
}

/// An `expect` mismatch is the instrument's answer: not retried by default (one attempt,
/// failed), retried with `retry_on: [mismatch]` (the second answer matches).
#[test]
fn a_mismatch_is_retried_only_with_retry_on() {
    let script = || {
        Instrument::scpi().on_line(|line| match line.text {
            "Q 0?" if line.queries == 0 && line.conn == 0 => reply("0"),
            t if t.starts_with("Q ") => reply("1"),
            _ => line.scpi(),
        })
    };
    let plain = run(&retrying(""), &script());
    assert_eq!(plain.point("s/0")["status"], "failed");
    assert_eq!(plain.stop()["retries"], 0);
    let retried = run(&retrying("\n    retry_on: [mismatch]"), &script());
    let tries = retried.attempts("s/0");
    assert_eq!(tries.len(), 2, "{tries:#?}");
    assert_eq!(tries[1]["status"], "ok", "{}", tries[1]);
    assert_eq!(retried.stop()["retries"], 1);
    assert_eq!(retried.stop()["exit_status"], "success");
}
