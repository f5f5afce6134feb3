//! Which points run at the same time: only those the sequence declares independent. A
//! read-back sweep over two channels reads back every value it set when it runs one point
//! at a time (no `parallel:`) and with `parallel: [ch]`, which is also well faster;
//! `parallel: all` overlaps points of one channel, as every sweep did before. Points of one
//! lane never overlap and run in sweep order, pass after pass, retries included; `check`
//! says what runs at once and warns about `concurrency:` alone.
//!
//! Timing is only ever compared as a ratio with a wide margin, never as an absolute.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{Scratch, interval, step_points, stop};

/// Two channels x 11 voltages over 4 connections: each point sets its channel, waits, and
/// reads the setting back; `{parallel}` is replaced by the step's `parallel:` line (or
/// nothing).
const READBACK: &str = r#"
name: readback
instrument:
  max_connections: 4
steps:
  - name: iv
    sweep:
      ch: [1, 2]
      volt: {start: 0, stop: 1, num: 11}
{parallel}    commands:
      - "SOUR{ch}:VOLT {volt}"
      - wait: 10ms
      - {query: "SOUR{ch}:VOLT?", as: readback}
"#;

/// Runs [`READBACK`] with this `parallel:` line against the simulator replying after 10 ms;
/// returns the point records (22, all ok) and the run's time, from its start record to its
/// stop record.
fn readback_run(scratch: &Scratch, name: &str, parallel: &str) -> Vec<Value> {
    let yaml = READBACK.replace("{parallel}", parallel);
    let (out, records) = scratch.run(name, &yaml, &["--sim", "--sim-latency", "10ms"]);
    assert_eq!(out.code(), 0, "{name}\n{out}");
    let points: Vec<Value> = step_points(&records).into_iter().cloned().collect();
    assert_eq!(points.len(), 22, "{name}\n{out}");
    assert!(points.iter().all(|p| p["status"] == "ok"), "{name}\n{out}");
    points
}

/// Points whose read-back is not the voltage they set, as `id: set -> read`.
fn wrong_readbacks(points: &[Value]) -> Vec<String> {
    points
        .iter()
        .filter(|p| {
            let read: f64 = p["values"]["readback"]
                .as_str()
                .and_then(|r| r.parse().ok())
                .unwrap_or(f64::NAN);
            p["vars"]["volt"].as_f64() != Some(read)
        })
        .map(|p| {
            format!(
                "{}: {} -> {}",
                p["id"], p["vars"]["volt"], p["values"]["readback"]
            )
        })
        .collect()
}

/// True when two points with the same `ch` ran (partly) at the same time.
fn same_channel_overlap(points: &[Value]) -> bool {
    overlap(points, true)
}

/// True when two points, of the same `ch` (`same`) or of different ones, ran (partly) at
/// the same time.
fn overlap(points: &[Value], same: bool) -> bool {
    points.iter().enumerate().any(|(i, a)| {
        points[i + 1..].iter().any(|b| {
            let ((a0, a1), (b0, b1)) = (interval(a), interval(b));
            (a["vars"]["ch"] == b["vars"]["ch"]) == same && a0 < b1 && b0 < a1
        })
    })
}

/// Without `parallel:` no points overlap and every read-back equals its set value; with
/// `parallel: [ch]` too, a channel's points never overlap but the two channels' do (the
/// log's start times and durations show it); with `parallel: all` points of one channel
/// overlap too, as every sweep did before.
#[test]
fn readbacks_match_unless_all_is_declared() {
    let scratch = Scratch::new();
    let serial = readback_run(&scratch, "serial.yaml", "");
    assert_eq!(wrong_readbacks(&serial), Vec::<String>::new());
    assert!(
        !overlap(&serial, true) && !overlap(&serial, false),
        "one at a time overlapped"
    );

    let lanes = readback_run(&scratch, "lanes.yaml", "    parallel: [ch]\n");
    assert_eq!(wrong_readbacks(&lanes), Vec::<String>::new());
    assert!(
        !same_channel_overlap(&lanes),
        "a channel's points overlapped"
    );
    assert!(
        overlap(&lanes, false),
        "parallel: [ch] never ran the two channels at the same time"
    );

    let all = readback_run(&scratch, "all.yaml", "    parallel: all\n");
    assert!(
        same_channel_overlap(&all),
        "parallel: all never overlapped two points of one channel"
    );
}

/// `parallel: [ch]` with `ch: [1, 2, 1]` (a repeated value is one lane), `repeat: 2`, and
/// connections the simulator drops after every 7 commands (points retried): for each value
/// of `ch`, its records (failed attempts included) never overlap in time and follow sweep
/// order across both passes, a point's retries before the lane's next point; the two lanes
/// do run at the same time; every point ends ok.
#[test]
fn lanes_never_overlap_and_keep_sweep_order() {
    let yaml = r#"
name: lanes
instrument:
  max_connections: 4
steps:
  - name: s
    sweep:
      ch: [1, 2, 1]
      volt: [1, 2, 3]
    repeat: 2
    parallel: [ch]
    retries: 10
    commands:
      - "SOUR{ch}:VOLT {volt}"
      - wait: 5ms
      - {query: "SOUR{ch}:VOLT?", as: readback}
"#;
    let scratch = Scratch::new();
    let (out, records) = scratch.run(
        "lanes.yaml",
        yaml,
        &["--sim", "--sim-latency", "5ms", "--fault", "drop-after=7"],
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(stop(&records)["points_ok"].as_u64(), Some(18), "{out}");
    let points = step_points(&records);
    assert!(
        points.iter().any(|p| p["status"] == "failed"),
        "no attempt failed: the faults did not bite\n{out}"
    );
    let mut lanes: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for p in &points {
        lanes
            .entry(p["vars"]["ch"].to_string())
            .or_default()
            .push(p);
    }
    assert_eq!(lanes.len(), 2, "{lanes:?}");
    for (ch, lane) in &mut lanes {
        lane.sort_by(|a, b| interval(a).0.total_cmp(&interval(b).0));
        for pair in lane.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            assert!(
                interval(a).1 <= interval(b).0,
                "ch {ch}: {} (attempt {}) overlaps {} (attempt {})",
                a["id"],
                a["attempt"],
                b["id"],
                b["attempt"]
            );
            let order = |p: &Value| (p["index"].as_u64(), p["attempt"].as_u64());
            assert!(
                order(a) < order(b),
                "ch {ch}: {} attempt {} ran before {} attempt {}",
                b["id"],
                b["attempt"],
                a["id"],
                a["attempt"]
            );
        }
    }
    let overlap = lanes["1"].iter().any(|a| {
        lanes["2"].iter().any(|b| {
            let ((a0, a1), (b0, b1)) = (interval(a), interval(b));
            a0 < b1 && b0 < a1
        })
    });
    assert!(overlap, "the two lanes never ran at the same time");
}

/// `check` says what runs at once: lanes and their variable, all, or one at a time; and
/// `concurrency: 4` without `parallel:` gets one warning naming its `file:line:col` (from
/// `check` and from `run`, which both exit 0), while `concurrency: 1` alone gets none.
#[test]
fn check_plans_parallelism_and_warns_about_concurrency_alone() {
    let scratch = Scratch::new();
    let cases = [
        (
            "lanes.yaml",
            "    parallel: [ch]\n",
            "step `iv`: 22 points in 2 lanes by ch, at most 4 at once; ch (2) x volt (11)",
            None,
        ),
        (
            "all.yaml",
            "    parallel: all\n",
            "step `iv`: 22 points, all independent, at most 4 at once;",
            None,
        ),
        (
            "serial.yaml",
            "    concurrency: 1\n",
            "step `iv`: 22 points, one at a time;",
            None,
        ),
        (
            "alone.yaml",
            "    concurrency: 4\n",
            "step `iv`: 22 points, all independent, at most 4 at once;",
            Some(
                "alone.yaml:10:5: `concurrency: 4` without `parallel:` declares every point of step `iv` independent: write `parallel: all` if they are, `parallel: [ch]` if only points with different values of `ch` are, or remove `concurrency` to run them one at a time",
            ),
        ),
    ];
    for (file, keys, plan, warning) in cases {
        scratch.write(file, &READBACK.replace("{parallel}", keys));
        let out = scratch.sequencer(["check", file]);
        assert_eq!(out.code(), 0, "{file}\n{out}");
        assert!(out.stdout.contains(plan), "{file}: no `{plan}`\n{out}");
        let log = format!("{file}.jsonl");
        let run = scratch.sequencer(["run", file, "--sim", "-o", &log]);
        assert_eq!(run.code(), 0, "{file}\n{run}");
        for (what, out) in [("check", &out), ("run", &run)] {
            let stderr = out.stderr_flat();
            match warning {
                Some(text) => assert_eq!(stderr.matches(text).count(), 1, "{what} {file}\n{out}"),
                None => assert!(
                    !stderr.contains("without `parallel:`"),
                    "{what} {file}: a warning\n{out}"
                ),
            }
        }
    }
}
