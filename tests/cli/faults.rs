//! Faults injected by the simulator (`run --sim --fault ...`). For each fault, and for a
//! combination, a 30-point sweep whose points each write a unique value and read it back
//! ends with every point accounted for exactly once: its last record is its outcome, its
//! attempts are numbered without gaps, and no stale, late or garbled reply ever becomes the
//! answer to another command. An instrument that stops accepting connections ends the run
//! as `unreachable`.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;
use serde_json::Value;

use crate::support::{Output, Scratch, refused_late, step_points, stop};

/// Points in the sweep: `s/0` to `s/29`.
const POINTS: u64 = 30;

/// The sweep: 4 connections, a 300ms reply timeout, failures do not stop the run. Point `i`
/// writes `V{i} {i}` and queries `V{i}?` back as `v`, so every reply says which point it
/// belongs to. Each point is its own lane (`parallel: [i]`): up to 4 run at once, and a
/// point's retries hold its lane.
fn sweep(retries: u32, reconnect_attempts: u32) -> String {
    format!(
        r#"
name: faults
on_error: continue
retries: {retries}
instrument:
  max_connections: 4
  timeout: 300ms
  reconnect_attempts: {reconnect_attempts}
steps:
  - name: s
    sweep: {{i: {{start: 0, stop: {last}, step: 1}}}}
    parallel: [i]
    commands:
      - "V{{i}} {{i}}"
      - {{query: "V{{i}}?", as: v}}
"#,
        last = POINTS - 1
    )
}

/// Retries for the faults that fail about one attempt in three (every third reply or
/// command on a connection): a point then fails all of them with probability 3^-16, so the
/// tests do not flake. With 5, one run in twenty-five lost a point somewhere.
const RETRIES: u32 = 15;

/// Runs [`sweep`] with `--sim` and each of `faults` as a `--fault`.
fn run_with_faults(faults: &[&str], retries: u32, reconnect_attempts: u32) -> (Output, Vec<Value>) {
    let scratch = Scratch::new();
    let mut args = vec!["--sim"];
    for fault in faults {
        args.extend(["--fault", fault]);
    }
    scratch.run("faults.yaml", &sweep(retries, reconnect_attempts), &args)
}

/// Checks what every run of [`sweep`] must keep, whatever the faults, and returns each
/// point's records (in log order) by index:
/// - every point record is `s/<index>` of the sweep, attempts numbered 1, 2, ... in log
///   order, at most `retries + 1` of them besides refused sessions (see `support::refused_late`);
/// - only the last record of a point may be `ok` (an ok point is never run again);
/// - every `ok` record's `values.v` is its own `vars.i`;
/// - every reply recorded to `V{k}?` is `k`, or a malformed line that failed its point:
///   a reply is never taken for another command's;
/// - the stop record counts the points by their last record.
fn account(records: &[Value], retries: u32) -> BTreeMap<u64, Vec<&Value>> {
    let mut by_index: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for p in step_points(records) {
        let index = p["index"]
            .as_u64()
            .unwrap_or_else(|| panic!("no index: {p}"));
        assert!(index < POINTS, "point outside the sweep: {p}");
        assert_eq!(p["id"], format!("s/{index}"), "{p}");
        assert_eq!(p["vars"]["i"].as_u64(), Some(index), "{p}");
        by_index.entry(index).or_default().push(p);
    }
    let query = Regex::new(r"^V(\d+)\?$").unwrap();
    for (index, attempts) in &by_index {
        let numbers: Vec<u64> = attempts
            .iter()
            .filter_map(|p| p["attempt"].as_u64())
            .collect();
        let expected: Vec<u64> = (1..=attempts.len() as u64).collect();
        assert_eq!(numbers, expected, "s/{index}: attempts {attempts:#?}");
        let refusals = attempts.iter().filter(|p| refused_late(records, p)).count();
        assert!(
            attempts.len() - refusals <= retries as usize + 1,
            "s/{index}: more attempts than retries allow: {attempts:#?}"
        );
        let (last, earlier) = attempts.split_last().unwrap();
        for p in earlier {
            assert_eq!(p["status"], "failed", "s/{index} ran again after: {p}");
        }
        if last["status"] == "ok" {
            assert_eq!(
                last["values"]["v"],
                index.to_string(),
                "s/{index} took another command's reply: {last}"
            );
        }
        for p in attempts {
            for exchange in p["commands"].as_array().unwrap_or_else(|| panic!("{p}")) {
                let Some(k) = exchange["sent"].as_str().and_then(|s| query.captures(s)) else {
                    continue;
                };
                let Some(reply) = exchange["reply"].as_str() else {
                    continue;
                };
                let malformed = p["status"] == "failed"
                    && p["error"]
                        .as_str()
                        .is_some_and(|e| e.starts_with("malformed reply"))
                    && reply.parse::<u64>().is_err();
                assert!(
                    reply == &k[1] || malformed,
                    "reply `{reply}` recorded for `V{}?`: {p}",
                    &k[1]
                );
            }
        }
    }
    let last_ok = by_index
        .values()
        .filter(|a| a.last().unwrap()["status"] == "ok")
        .count() as u64;
    let stop = stop(records);
    assert_eq!(stop["points_ok"].as_u64(), Some(last_ok), "{stop}");
    assert_eq!(
        stop["points_failed"].as_u64(),
        Some(by_index.len() as u64 - last_ok),
        "{stop}"
    );
    assert_eq!(
        stop["points_not_run"].as_u64(),
        Some(POINTS - by_index.len() as u64),
        "{stop}"
    );
    by_index
}

/// The run succeeded: exit 0, a `success` stop record, and every point `s/0`..`s/29` ended
/// `ok`, each exactly once.
fn assert_all_ok(out: &Output, records: &[Value], retries: u32) {
    assert_eq!(out.code(), 0, "{out}");
    let points = account(records, retries);
    let missing: Vec<u64> = (0..POINTS).filter(|i| !points.contains_key(i)).collect();
    assert!(
        missing.is_empty(),
        "points with no record: {missing:?}\n{out}"
    );
    for (index, attempts) in &points {
        let last = attempts.last().unwrap();
        assert_eq!(last["status"], "ok", "s/{index} did not end ok: {last}");
    }
    assert_eq!(stop(records)["exit_status"], "success", "{out}");
}

/// The fault fired, and was reported as what it is: some attempts failed, and every failed
/// attempt's error matches `error`.
fn assert_failures_say(records: &[Value], error: &str) {
    let error = Regex::new(error).unwrap();
    let failed: Vec<&Value> = step_points(records)
        .into_iter()
        .filter(|p| p["status"] == "failed")
        .collect();
    assert!(
        !failed.is_empty(),
        "no attempt failed: the fault never fired"
    );
    for p in failed {
        let text = p["error"].as_str().unwrap_or_default();
        assert!(error.is_match(text), "unexpected error `{text}` in {p}");
    }
}

/// How a dropped connection shows: end of file while waiting, or a send or read that failed.
const DROPPED: &str = r"^(connection \d+ closed by the instrument while waiting for reply to `V\d+\?`|cannot (send `V\d+[ ?]\d*`|read reply to `V\d+\?`) on connection \d+: .+)$";

/// A reply timeout of the sweep.
const TIMED_OUT: &str = r"^timeout after 300ms waiting for reply to `V\d+\?` on connection \d+$";

/// `drop-after=5` (each connection closes after its 5th command): the points it breaks are
/// retried on new connections and every point ends `ok` once, with its own value.
#[test]
fn drop_after_every_point_ok_once() {
    let (out, records) = run_with_faults(&["drop-after=5"], RETRIES, 5);
    assert_all_ok(&out, &records, RETRIES);
    assert_failures_say(&records, DROPPED);
}

/// `stall-after=5` (each connection stops answering but stays open): the 300ms timeout
/// closes it, the point is retried elsewhere, and every point ends `ok` once.
#[test]
fn stall_after_every_point_ok_once() {
    let (out, records) = run_with_faults(&["stall-after=5"], RETRIES, 5);
    assert_all_ok(&out, &records, RETRIES);
    assert_failures_say(&records, TIMED_OUT);
}

/// `garbage-every=3`: a malformed reply fails its point (and its connection) with
/// `malformed reply`, is never a value, and every point ends `ok` once.
#[test]
fn garbage_every_point_ok_once() {
    let (out, records) = run_with_faults(&["garbage-every=3"], RETRIES, 5);
    assert_all_ok(&out, &records, RETRIES);
    assert_failures_say(
        &records,
        r"^malformed reply `.*` to `V\d+\?` on connection \d+ \(control characters or invalid UTF-8\)$",
    );
}

/// `late-every=3,late-by=1s` with a 300ms timeout: the late reply times its point out, the
/// point is retried, and the late reply is never recorded for any command (it would show up
/// as the wrong number for a later `V{k}?`): every reply ever recorded is its own query's.
#[test]
fn late_replies_never_answer_a_later_command() {
    let (out, records) = run_with_faults(&["late-every=3", "late-by=1s"], RETRIES, 5);
    assert_all_ok(&out, &records, RETRIES);
    assert_failures_say(&records, TIMED_OUT);
    // The timed-out query has no reply in its record: the late one was not waited for.
    for p in step_points(&records) {
        if p["status"] == "failed" {
            let last = p["commands"].as_array().and_then(|c| c.last()).unwrap();
            assert!(last.get("reply").is_none(), "late reply recorded: {p}");
        }
    }
}

/// `refuse-after=2` with 4 connections asked and no other fault: the run warns that the
/// instrument accepted 2 of 4, goes on with those 2, and every point ends `ok` once.
#[test]
fn refuse_after_runs_on_the_connections_accepted() {
    let (out, records) = run_with_faults(&["refuse-after=2"], 3, 5);
    assert_all_ok(&out, &records, 3);
    assert!(
        out.stderr_flat().contains("accepted 2 of 4 connections"),
        "{out}"
    );
    // Sessions refused a little late ran one failed attempt each (see `support::refused_late`).
    let conns: BTreeSet<u64> = step_points(&records)
        .iter()
        .filter(|p| !refused_late(&records, p))
        .filter_map(|p| p["conn"].as_u64())
        .collect();
    assert!(conns.len() <= 2, "points ran on connections {conns:?}");
}

/// `refuse-after=2` with `drop-after=3`, no retries and 2 reconnect attempts: both
/// connections break and no new one is accepted, so the run stops with exit 1, a `fail`
/// stop record saying `unreachable`, and every point either recorded once or counted as not
/// run.
#[test]
fn refuse_after_with_drops_stops_as_unreachable() {
    let (out, records) = run_with_faults(&["refuse-after=2", "drop-after=3"], 0, 2);
    assert_eq!(out.code(), 1, "{out}");
    let points = account(&records, 0);
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    let reason = stop["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("unreachable"), "{stop}");
    assert!(
        stop["points_not_run"].as_u64() > Some(0),
        "the run did not stop early: {stop}"
    );
    assert!(
        points
            .values()
            .all(|a| a.iter().filter(|p| !refused_late(&records, p)).count() == 1),
        "retried without retries"
    );
}

/// `seed=7,drop-rate=0.1` (each command's connection dropped with probability 0.1): with
/// enough retries every point ends `ok` once, with its own value.
#[test]
fn random_drops_every_point_ok_once() {
    let (out, records) = run_with_faults(&["seed=7", "drop-rate=0.1"], 10, 5);
    assert_all_ok(&out, &records, 10);
    assert_failures_say(&records, DROPPED);
}

/// Faults combine: random drops, and every 3rd reply both garbled and 1s late (past the
/// 300ms timeout). Every point ends `ok` once with its own value; the failures are drops or
/// timeouts, and the late garbage is never recorded.
#[test]
fn combined_faults_every_point_ok_once() {
    let (out, records) = run_with_faults(
        &[
            "seed=3,drop-rate=0.05",
            "garbage-every=3,late-every=3,late-by=1s",
        ],
        RETRIES,
        5,
    );
    assert_all_ok(&out, &records, RETRIES);
    assert_failures_say(&records, &format!("{DROPPED}|{TIMED_OUT}"));
}
