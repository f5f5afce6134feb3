//! Nested loops end to end (issue 15): point ids are paths through the loops, `vars` hold
//! every enclosing loop's variables, `repeat` on a loop numbers its iterations on across
//! passes, a run killed in the middle of an iteration resumes inside it (re-running its
//! `on_resume: rerun` step first, sending no ok point again), and `diff` names a changed
//! point by its path; commands `on:` another instrument borrow that instrument's
//! connections within its `max_connections`. The cryostat example, with `on:`, is run in
//! [`crate::examples`].

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    Probe, Scratch, of_type, read_complete_lines, read_log, sim, step_points, stop, wait_until,
};

/// Three loops deep: `A` (2 iterations) holds loop `B` (2 iterations, each the 3 points of
/// `c`) and step `d` (1 point): 2 x (2 x 3 + 1) = 14 points. Each `c` point stores `c`
/// under a header naming all three levels and reads it back.
const DEEP: &str = r#"
name: deep
instrument: {max_connections: 2}
steps:
  - name: A
    sweep: {a: [10, 20]}
    steps:
      - name: B
        sweep: {b: [0, 1]}
        steps:
          - name: c
            sweep: {c: [0, 1, 2]}
            commands: ["A{a}B{b}C{c} {c}", {query: "A{a}B{b}C{c}?", as: v}]
      - name: d
        commands: [{query: "*OPC?", as: done}]
"#;

/// Three levels: the plan counts each level and the total; ids are paths in run order
/// (each iteration finished before the next begins), `step` is the id without its index,
/// and `vars` hold the variables of every enclosing loop and the step's own.
#[test]
fn three_deep_ids_are_paths_and_vars_hold_every_level() {
    let scratch = Scratch::new();
    scratch.write("deep.yaml", DEEP);
    let out = scratch.sequencer(["check", "deep.yaml"]);
    assert_eq!(out.code(), 0, "{out}");
    for line in [
        "loop `A`: 2 iterations x (B 6 + d 1) = 14 points; a (2)\n",
        "  loop `B`: 2 iterations x (c 3) = 6 points; b (2)\n",
        "    step `c`: 3 points, one at a time; c (3), 2 commands each\n",
        "  step `d`: 1 point; 1 command each\n",
        "total: 14 points, 26 commands",
    ] {
        assert!(out.stdout.contains(line), "no `{line}` in\n{out}");
    }
    let (out, records) = scratch.run("deep.yaml", DEEP, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(
        records[0]["total_points"].as_u64(),
        Some(14),
        "{}",
        records[0]
    );
    let mut want = Vec::new();
    for (i, a) in [10, 20].into_iter().enumerate() {
        for b in 0..2 {
            for c in 0..3 {
                let vars = json!({"a": a, "b": b, "c": c});
                want.push((format!("A/{i}/B/{b}/c/{c}"), vars));
            }
        }
        want.push((format!("A/{i}/d/0"), json!({"a": a})));
    }
    let points = step_points(&records);
    let ids: Vec<&str> = points.iter().filter_map(|p| p["id"].as_str()).collect();
    let want_ids: Vec<&str> = want.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, want_ids, "point records in run order");
    for (p, (id, vars)) in points.iter().zip(&want) {
        assert_eq!(p["status"], "ok", "{p}");
        let (step, index) = id.rsplit_once('/').unwrap();
        assert_eq!(p["step"], step, "{p}");
        assert_eq!(p["index"].as_u64(), index.parse().ok(), "{p}");
        assert_eq!(&p["vars"], vars, "{p}");
        if let Some(c) = vars.get("c") {
            assert_eq!(p["values"]["v"], c.to_string(), "{p}");
        }
    }
    let stop = stop(&records);
    assert_eq!(stop["points_ok"].as_u64(), Some(14), "{stop}");
}

/// A loop of 5 setpoints repeated twice: 10 iterations whose indices count on across the
/// passes (`T/5/...` is the second pass's first), each pass with the same variables.
#[test]
fn repeat_on_a_loop_numbers_iterations_on_across_passes() {
    const REPEATED: &str = r#"
name: repeated
instrument: {max_connections: 1}
steps:
  - name: T
    sweep: {s: [1, 2, 3, 4, 5]}
    repeat: 2
    steps:
      - name: p
        sweep: {i: [0, 1]}
        commands: ["S{s}I{i} {i}"]
"#;
    let scratch = Scratch::new();
    scratch.write("repeated.yaml", REPEATED);
    let out = scratch.sequencer(["check", "repeated.yaml"]);
    assert_eq!(out.code(), 0, "{out}");
    let plan = "loop `T`: 10 iterations x (p 2) = 20 points; s (5) x 2 repeats\n";
    assert!(out.stdout.contains(plan), "no `{plan}` in\n{out}");
    let (out, records) = scratch.run("repeated.yaml", REPEATED, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let points = step_points(&records);
    let got: Vec<String> = points
        .iter()
        .map(|p| format!("{} {}", p["id"].as_str().unwrap(), p["vars"]))
        .collect();
    let want: Vec<String> = (0..10)
        .flat_map(|t| {
            let s = t % 5 + 1;
            (0..2).map(move |i| format!("T/{t}/p/{i} {{\"s\":{s},\"i\":{i}}}"))
        })
        .collect();
    assert_eq!(got, want);
    assert!(points.iter().all(|p| p["status"] == "ok"), "{points:#?}");
}

/// Three temperatures; at each, `settle` (re-run on resume) sets `T` on the controller
/// `tc` and reads it back, then 20 `iv` points on `smu` each store a value under a header
/// naming their temperature and point, and read `T` from `tc` (`on: tc`) as `temp`. With
/// 10 ms per reply an iteration takes about half a second.
const CRYO: &str = r#"
name: cryo
instruments:
  tc: {max_connections: 2}
  smu: {max_connections: 1}
steps:
  - name: T
    sweep: {t: [1, 2, 3]}
    steps:
      - name: settle
        instrument: tc
        on_resume: rerun
        commands: ["T {t}", {query: "T?", as: temp}]
      - name: iv
        instrument: smu
        sweep: {i: {start: 0, stop: 19, step: 1}}
        commands: ["T{t}V{i} {i}", {query: "T?", on: tc, as: temp}]
"#;

/// SIGKILL in the middle of an iteration's IV sweep, then `resume` (to the recorded
/// addresses): seen from the SMU, no point the log has as ok is sent again (a marker set
/// behind the run's back survives) and every other point is; the interrupted iteration's
/// `settle` runs again first (attempt 2, after the resume record, so the rest of its IV
/// reads, over `on: tc`, the temperature it sets, not the one the test left on the
/// controller), the settles of the other iterations run once; every point ends with
/// exactly one ok (the re-run settle: its last record ok).
#[test]
fn kill_mid_iteration_then_resume_reruns_its_settle_and_no_ok_point() {
    let tc = sim(Duration::from_millis(10), None);
    let smu = sim(Duration::from_millis(10), None);
    let scratch = Scratch::new();
    let tc_addr = format!("tc={}", tc.addr());
    let smu_addr = format!("smu={}", smu.addr());
    let mut run = scratch.start_run(
        "cryo.yaml",
        CRYO,
        &["--address", &tc_addr, "--address", &smu_addr],
    );
    let log = run.log().to_owned();
    wait_until("T/1/iv/5 is recorded", || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.contains("\"id\":\"T/1/iv/5\""))
            || run.process().exited()
    });
    run.process().signal("KILL");
    let out = run.wait();
    assert_eq!(out.status.signal(), Some(9), "the run ended first\n{out}");
    let (before, _) = read_complete_lines(&log);
    let ok_before: Vec<(u64, u64)> = ok_iv_points(&before);
    // The kill landed inside iteration 1: its settle ok, some of its IV points not yet.
    assert!(ok_before.contains(&(1, 5)), "{ok_before:?}");
    assert!(!ok_before.contains(&(1, 19)), "{ok_before:?}");
    let mut probe = Probe::connect(smu.addr());
    for (t, i) in &ok_before {
        probe.query(&format!("T{}V{i} -1;*OPC?", t + 1));
    }
    // The temperature drifted while nothing ran: only a re-run settle puts it back.
    Probe::connect(tc.addr()).query("T 0;*OPC?");

    let out = scratch.sequencer(["resume", log.to_str().unwrap()]);
    assert_eq!(out.code(), 0, "{out}");
    let records = read_log(&log);
    assert_eq!(stop(&records)["exit_status"], "success");
    assert_eq!(stop(&records)["points_ok"].as_u64(), Some(63));
    for t in 0..3u64 {
        for i in 0..20 {
            let want = if ok_before.contains(&(t, i)) {
                "-1".to_owned()
            } else {
                i.to_string()
            };
            let got = probe.query(&format!("T{}V{i}?", t + 1));
            assert_eq!(got, want, "T/{t}/iv/{i} on the instrument");
        }
    }
    let resumed_at = records
        .iter()
        .position(|r| r["type"] == "resume")
        .expect("no resume record");
    let mut by_id: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for p in of_type(&records, "point") {
        by_id.entry(p["id"].as_str().unwrap()).or_default().push(p);
    }
    assert_eq!(by_id.len(), 63, "{:?}", by_id.keys());
    for (id, attempts) in &by_id {
        let last = attempts.last().unwrap();
        assert_eq!(last["status"], "ok", "{id} did not end ok: {attempts:#?}");
        let ok = attempts.iter().filter(|p| p["status"] == "ok").count();
        let want_ok = if *id == "T/1/settle/0" { 2 } else { 1 };
        assert_eq!(ok, want_ok, "{id}: {attempts:#?}");
    }
    let settle = &by_id["T/1/settle/0"];
    assert_eq!(settle[1]["attempt"].as_u64(), Some(2), "{settle:#?}");
    let rerun_at = records
        .iter()
        .position(|r| r["id"] == "T/1/settle/0" && r["attempt"] == 2)
        .unwrap();
    assert!(
        rerun_at > resumed_at,
        "the re-run settle is not after the resume"
    );
    // After the re-run settle, the rest of iteration 1 reads its temperature again.
    for p in &records[rerun_at..] {
        if p["step"] == "T/1/iv" {
            assert_eq!(p["values"]["temp"], "2", "{p}");
            assert_eq!(p["commands"][1]["on"], "tc", "{p}");
        }
    }
    // The points not ok before the kill all ran after the re-run settle.
    let first_iv_after = records[resumed_at..]
        .iter()
        .position(|r| r["type"] == "point" && r["step"] != "T/1/settle")
        .map(|at| at + resumed_at);
    assert!(
        first_iv_after.is_some_and(|at| at > rerun_at),
        "order after resume"
    );
}

/// The (iteration, index) of every ok `iv` point in `records`.
fn ok_iv_points(records: &[Value]) -> Vec<(u64, u64)> {
    of_type(records, "point")
        .iter()
        .filter(|p| p["status"] == "ok")
        .filter_map(|p| {
            let id = p["id"].as_str()?;
            let rest = id.strip_prefix("T/")?;
            let (t, rest) = rest.split_once('/')?;
            let i = rest.strip_prefix("iv/")?;
            Some((t.parse().ok()?, i.parse().ok()?))
        })
        .collect()
}

/// Two runs of the three-deep sequence match; with one reply changed in a copy of the
/// second, `diff` names that point by its path id and counts it once among the 14.
#[test]
fn diff_names_a_changed_nested_point_by_its_path() {
    let scratch = Scratch::new();
    let (out, _) = scratch.run("deep.yaml", DEEP, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let a = scratch.join("a.jsonl");
    std::fs::rename(scratch.join("deep.yaml.jsonl"), &a).unwrap();
    let (out, _) = scratch.run("deep.yaml", DEEP, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let b = scratch.join("deep.yaml.jsonl");
    let out = scratch.sequencer([Path::new("diff"), &a, &b]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.stdout.trim_end(), "runs match: 14 points", "{out}");

    let text = std::fs::read_to_string(&b).unwrap();
    let mut changed = 0;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            if line.contains("\"id\":\"A/1/B/0/c/2\"") {
                changed += 1;
                assert!(line.contains("\"reply\":\"2\""), "{line}");
                line.replace("\"reply\":\"2\"", "\"reply\":\"7\"")
            } else {
                line.to_owned()
            }
        })
        .collect();
    assert_eq!(changed, 1);
    let c = scratch.write("changed.jsonl", &(lines.join("\n") + "\n"));
    let out = scratch.sequencer([Path::new("diff"), &a, &c]);
    assert_eq!(out.code(), 1, "{out}");
    let heads: Vec<&str> = out.stdout.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        heads,
        [
            "A/1/B/0/c/2:",
            "1 of 14 points differ; 0 only in A, 0 only in B"
        ],
        "{out}"
    );
}

/// 40 independent points on `smu` (4 connections), each borrowing a connection of `tc` (2
/// connections) for a query and a 20 ms wait: four points want `tc` at once.
const BORROW: &str = r#"
name: borrow
instruments:
  tc: {max_connections: 2}
  smu: {max_connections: 4}
steps:
  - name: iv
    instrument: smu
    sweep: {i: {start: 0, stop: 39, step: 1}}
    parallel: all
    commands: ["V{i} {i}", {query: "T?", on: tc, as: t}, {wait: 20ms, on: tc}, {query: "V{i}?", as: v}]
"#;

/// Connections borrowed with `on:` count against the lender's `max_connections`: with four
/// SMU points in flight wanting `tc`, the controller's simulator never sees more than 2
/// connections from the run (its peak, with the test's own probe connected throughout, is
/// 3), the `on: tc` exchanges name at most 2 connections, none of them the SMU's, and a
/// point's own exchanges stay on its own connection.
#[test]
fn on_borrows_count_against_the_lender_s_max_connections() {
    let tc = sim(Duration::from_millis(5), None);
    let smu = sim(Duration::from_millis(5), None);
    let mut probe = Probe::connect(tc.addr());
    assert_eq!(probe.query("SIM:CONN?"), "1");
    let scratch = Scratch::new();
    let tc_addr = format!("tc={}", tc.addr());
    let smu_addr = format!("smu={}", smu.addr());
    let (out, records) = scratch.run(
        "borrow.yaml",
        BORROW,
        &["--address", &tc_addr, "--address", &smu_addr],
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(
        probe.query("SIM:CONN:PEAK?"),
        "3",
        "the probe and 2 of the run's"
    );
    let points = step_points(&records);
    assert_eq!(points.len(), 40);
    let own: BTreeSet<u64> = points.iter().filter_map(|p| p["conn"].as_u64()).collect();
    let mut borrowed = BTreeSet::new();
    for p in &points {
        assert_eq!(p["status"], "ok", "{p}");
        let commands = p["commands"].as_array().unwrap();
        let sent: Vec<(&str, &Value)> = commands
            .iter()
            .map(|c| (c["sent"].as_str().unwrap_or_default(), &c["on"]))
            .collect();
        assert_eq!(sent.len(), 3, "waits are not exchanges: {p}");
        assert_eq!(sent[1], ("T?", &json!("tc")), "{p}");
        for own_command in [&commands[0], &commands[2]] {
            assert!(own_command.get("on").is_none(), "{p}");
            assert!(own_command.get("conn").is_none(), "{p}");
        }
        borrowed.insert(commands[1]["conn"].as_u64().unwrap());
        let i = p["vars"]["i"].as_u64().unwrap();
        assert_eq!(p["values"]["v"], i.to_string(), "{p}");
    }
    assert!(borrowed.len() <= 2, "tc's connections: {borrowed:?}");
    assert!(
        borrowed.is_disjoint(&own),
        "{borrowed:?} and the SMU's {own:?}"
    );
}

/// A nested run with `on:` exchanges, replayed by `run --replay` (one replay per
/// instrument, each serving the exchanges recorded on it, the `on: tc` reads included),
/// reproduces the recording under `diff`, with nothing unrecorded or left over; the
/// replayed IV points read their temperature over a borrowed `tc` connection again.
#[test]
fn a_nested_run_with_on_exchanges_replays_to_the_same_log() {
    let tc = sim(Duration::from_millis(1), None);
    let smu = sim(Duration::from_millis(1), None);
    let scratch = Scratch::new();
    let tc_addr = format!("tc={}", tc.addr());
    let smu_addr = format!("smu={}", smu.addr());
    let (out, records) = scratch.run(
        "cryo.yaml",
        CRYO,
        &["--address", &tc_addr, "--address", &smu_addr],
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(stop(&records)["points_ok"].as_u64(), Some(63));
    let golden = scratch.join("cryo.yaml.jsonl");
    let (out, replayed) = scratch.run(
        "again.yaml",
        CRYO,
        &["--replay", golden.to_str().unwrap(), "--replay-speed", "0"],
    );
    assert_eq!(out.code(), 0, "{out}");
    // The simulators report nothing: no command without its recording, none left over.
    assert!(!out.stderr.contains("simulator: replay of"), "{out}");
    let iv = replayed
        .iter()
        .find(|r| r["id"] == "T/2/iv/7")
        .unwrap_or_else(|| panic!("no T/2/iv/7 in the replay"));
    let read = &iv["commands"][1];
    assert_eq!(read["sent"], "T?", "{iv}");
    assert_eq!(read["on"], "tc", "{iv}");
    assert_eq!(iv["values"]["temp"], read["reply"], "{iv}");
    let out = scratch.sequencer([
        Path::new("diff"),
        &golden,
        &scratch.join("again.yaml.jsonl"),
    ]);
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("runs match: 63 points"), "{out}");
}
