//! `sequencer resume`: a run killed with SIGKILL at any moment, then resumed, ends with
//! every point `ok` exactly once, and the instrument sees nothing that was ok sent again;
//! failed and aborted points run again with the next attempt number, at the address the
//! log recorded; a torn last line is reported and cut off; and resume refuses (exit 2, log
//! untouched) a changed sequence without `--force`, a `--sim` run without `--sim`, and files
//! that are not run logs. A log that ended in `success` has nothing to resume.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde_json::Value;

use crate::support::{
    Output, Probe, Scratch, count_lines, of_type, read_complete_lines, read_log, sim, stop,
    wait_until,
};

/// Points in the sweep: `s/0` to `s/59`.
const POINTS: u64 = 60;

/// 60 points over 2 connections, each writing a unique value and reading it back, with a
/// setup and a teardown; each point its own lane (`parallel: [i]`), so two run at once and
/// a kill finds points in flight. With `--sim-latency 10ms` it takes a few hundred
/// milliseconds.
const CRASH: &str = r#"
name: crash
instrument:
  max_connections: 2
setup:
  - "*RST"
  - {query: "*IDN?", as: idn}
steps:
  - name: s
    sweep: {i: {start: 0, stop: 59, step: 1}}
    parallel: [i]
    commands:
      - "V{i} {i}"
      - {query: "V{i}?", as: v}
teardown:
  - {query: "*OPC?", as: done}
"#;

/// The sequence file's name in the scratch folder; its log is `crash.yaml.jsonl`.
const FILE: &str = "crash.yaml";

/// Runs `sequencer resume LOG extra...` in the scratch folder.
fn resume(scratch: &Scratch, log: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["resume", log.to_str().expect("scratch paths are UTF-8")];
    args.extend(extra);
    scratch.sequencer(args)
}

/// Resumes with `--sim` until the run succeeds (at most 3 times); every resume must exit
/// 0 or 1, never 2.
fn resume_to_success(scratch: &Scratch, log: &Path) {
    for _ in 0..3 {
        let out = resume(scratch, log, &["--sim"]);
        match out.code() {
            0 => return,
            1 => {}
            _ => panic!("resume refused the log\n{out}"),
        }
    }
    panic!("three resumes did not complete the run");
}

/// The log of a run that is done, after any number of crashes and resumes: every line
/// valid JSON, the last stop `success` with all 60 points ok; every sweep point has exactly
/// one `ok` record, which is its last (an ok point is never sent again; teardown, which runs
/// again on every resume, and setup, which runs again after a teardown, excepted); every
/// point's attempts are
/// numbered 1, 2, ... in log order; every `ok` record holds its own value. Returns the
/// records.
fn assert_done_once(log: &Path) -> Vec<Value> {
    let records = read_log(log);
    assert_eq!(records[0]["type"], "start", "{}", records[0]);
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "success", "{stop}");
    assert_eq!(stop["points_ok"].as_u64(), Some(POINTS), "{stop}");
    assert_eq!(stop["points_failed"].as_u64(), Some(0), "{stop}");
    assert_eq!(stop["points_not_run"].as_u64(), Some(0), "{stop}");
    let mut by_id: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for p in of_type(&records, "point") {
        let id = p["id"].as_str().unwrap_or_else(|| panic!("no id: {p}"));
        by_id.entry(id.to_owned()).or_default().push(p);
    }
    let expected = (0..POINTS)
        .map(|i| format!("s/{i}"))
        .chain(["setup/0".to_owned(), "teardown/0".to_owned()]);
    for id in expected {
        let records = by_id
            .get(&id)
            .unwrap_or_else(|| panic!("no record of `{id}`"));
        let attempts: Vec<u64> = records
            .iter()
            .filter_map(|p| p["attempt"].as_u64())
            .collect();
        let numbered: Vec<u64> = (1..=records.len() as u64).collect();
        assert_eq!(attempts, numbered, "`{id}` attempts: {records:#?}");
        let last = records.last().unwrap();
        assert_eq!(last["status"], "ok", "`{id}` did not end ok: {last}");
        if id != "teardown/0" && id != "setup/0" {
            let ok = records.iter().filter(|p| p["status"] == "ok").count();
            assert_eq!(ok, 1, "`{id}` was ok more than once: {records:#?}");
        }
        if let Some(i) = id.strip_prefix("s/") {
            assert_eq!(last["values"]["v"], i, "`{id}` holds another value: {last}");
        }
    }
    assert_eq!(
        by_id.len() as u64,
        POINTS + 2,
        "unexpected ids: {:?}",
        by_id.keys()
    );
    records
}

/// Each `resume` record says how many sweep points were already ok before it.
fn assert_points_done(records: &[Value]) {
    let mut ok = 0u64;
    for r in records {
        if r["type"] == "resume" {
            assert_eq!(r["points_done"].as_u64(), Some(ok), "{r}");
        }
        if r["type"] == "point" && r["step"] == "s" && r["status"] == "ok" {
            ok += 1;
        }
    }
}

/// When the run gets its SIGKILL.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// Right after it was started, probably before it wrote anything.
    AtOnce,
    /// Once the start record is written: the pool may be connecting, setup may run.
    AfterStart,
    /// Once about half the sweep is recorded.
    MidRun,
    /// Once all but two points are recorded (start, setup, 58 points).
    NearEnd,
}

impl Moment {
    /// Complete log lines to wait for before the kill.
    fn lines(self) -> usize {
        match self {
            Moment::AtOnce => 0,
            Moment::AfterStart => 1,
            Moment::MidRun => 32,
            Moment::NearEnd => 60,
        }
    }
}

/// Starts the sweep with `--sim --sim-latency 10ms`, kills it with SIGKILL at `moment`, and
/// resumes it with `--sim` until it succeeds; then every point is ok exactly once.
fn kill_then_resume(moment: Moment) {
    let scratch = Scratch::new();
    let mut run = scratch.start_run(FILE, CRASH, &["--sim", "--sim-latency", "10ms"]);
    let log: PathBuf = run.log().to_owned();
    wait_until("the moment to kill", || {
        count_lines(&log) >= moment.lines() || run.process().exited()
    });
    run.process().signal("KILL");
    let out = run.wait();
    let killed = out.status.signal() == Some(9);
    assert!(killed || out.status.success(), "{moment:?}: {out}");
    if matches!(moment, Moment::AfterStart | Moment::MidRun) {
        // Hundreds of milliseconds of run were left: the kill must have landed.
        assert!(killed, "{moment:?}: the run ended before the kill\n{out}");
    }
    let (records, _) = read_complete_lines(&log);
    if records.first().is_none_or(|r| r["type"] != "start") {
        // Killed before its start record was complete: nothing was sent; run it again.
        let _ = std::fs::remove_file(&log);
        let (out, _) = scratch.run(FILE, CRASH, &["--sim"]);
        assert_eq!(out.code(), 0, "{moment:?}: rerun failed\n{out}");
    } else if killed {
        resume_to_success(&scratch, &log);
        let records = read_log(&log);
        assert!(
            !of_type(&records, "resume").is_empty(),
            "{moment:?}: no resume record"
        );
    }
    let records = assert_done_once(&log);
    assert_points_done(&records);
}

/// SIGKILL right after the process starts (the log may not exist yet), then resume (or
/// run again): every point ok exactly once.
#[test]
fn kill_at_once_then_resume_completes_once() {
    kill_then_resume(Moment::AtOnce);
}

/// SIGKILL just after the start record, then resume: setup and every point ok exactly once.
#[test]
fn kill_after_start_then_resume_completes_once() {
    kill_then_resume(Moment::AfterStart);
}

/// SIGKILL mid-sweep, then resume: no point that was ok is sent again, the rest run once.
#[test]
fn kill_mid_run_then_resume_completes_once() {
    kill_then_resume(Moment::MidRun);
}

/// SIGKILL with two points to go, then resume: every point ok exactly once.
#[test]
fn kill_near_the_end_then_resume_completes_once() {
    kill_then_resume(Moment::NearEnd);
}

/// SIGKILL mid-run, then SIGKILL the resume mid-way too (a torn line may be left at either
/// kill), then resume again: every point ok exactly once, one resume record per resume.
#[test]
fn kill_during_resume_then_resume_again_completes_once() {
    let scratch = Scratch::new();
    let mut run = scratch.start_run(FILE, CRASH, &["--sim", "--sim-latency", "10ms"]);
    let log: PathBuf = run.log().to_owned();
    wait_until("a third of the sweep is recorded", || {
        count_lines(&log) >= 22
    });
    run.process().signal("KILL");
    let out = run.wait();
    assert_eq!(
        out.status.signal(),
        Some(9),
        "the run ended before the kill\n{out}"
    );
    let lines = count_lines(&log);
    let log_arg = log.to_str().expect("scratch paths are UTF-8");
    let mut resuming = scratch.spawn(["resume", log_arg, "--sim", "--sim-latency", "10ms"]);
    // The resume record and ten more points.
    wait_until("the resume has recorded ten points", || {
        count_lines(&log) >= lines + 11 || resuming.exited()
    });
    resuming.signal("KILL");
    let out = resuming.wait();
    assert_eq!(
        out.status.signal(),
        Some(9),
        "the resume ended before the kill\n{out}"
    );
    resume_to_success(&scratch, &log);
    let records = assert_done_once(&log);
    assert_points_done(&records);
    assert!(of_type(&records, "resume").len() >= 2, "{records:#?}");
}

/// Runs the sweep with `--fault drop-after=7`: a point fails when its connection is
/// dropped and the run stops (`on_error: stop`, no retries) with exit 1. Returns the log.
fn failed_run(scratch: &Scratch) -> PathBuf {
    let run = scratch.start_run(FILE, CRASH, &["--sim", "--fault", "drop-after=7"]);
    let log = run.log().to_owned();
    let (out, records) = run.finish();
    assert_eq!(out.code(), 1, "{out}");
    assert_eq!(stop(&records)["exit_status"], "fail", "{out}");
    log
}

/// A point that failed is run again by resume with the next attempt number (2), and ends
/// ok; the points already ok are not sent again.
#[test]
fn resume_continues_attempt_numbers_of_failed_points() {
    let scratch = Scratch::new();
    let log = failed_run(&scratch);
    let before = read_log(&log);
    let failed: Vec<String> = of_type(&before, "point")
        .iter()
        .filter(|p| p["status"] == "failed")
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect();
    assert!(!failed.is_empty(), "the fault failed no point");
    let out = resume(&scratch, &log, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let records = assert_done_once(&log);
    assert_points_done(&records);
    let resumed_at = records
        .iter()
        .position(|r| r["type"] == "resume")
        .expect("no resume record");
    for id in &failed {
        let ok = records[resumed_at..]
            .iter()
            .find(|r| r["id"] == id.as_str() && r["status"] == "ok")
            .unwrap_or_else(|| panic!("`{id}` not ok after the resume"));
        assert_eq!(ok["attempt"].as_u64(), Some(2), "{ok}");
    }
}

/// A torn last line (a write cut short) is reported on stderr, cut off before appending
/// (the log is valid JSON Lines again), and its length is in the resume record.
#[test]
fn torn_last_line_is_reported_and_cut_off() {
    let scratch = Scratch::new();
    let log = failed_run(&scratch);
    let torn = r#"{"type":"point","id":"s/9","step":"s","ind"#;
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str(torn);
    std::fs::write(&log, text).unwrap();
    let out = resume(&scratch, &log, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let said = format!(
        "ends with a torn line ({} bytes, an interrupted write): ignoring it",
        torn.len()
    );
    assert!(out.stderr_flat().contains(&said), "no `{said}`\n{out}");
    let records = assert_done_once(&log);
    let resumed = of_type(&records, "resume");
    assert_eq!(resumed.len(), 1, "{resumed:#?}");
    assert_eq!(
        resumed[0]["torn_bytes"].as_u64(),
        Some(torn.len() as u64),
        "{}",
        resumed[0]
    );
}

/// After the sequence file changed, resume refuses (exit 2, saying `changed` and
/// `--force`) and leaves the log as it was; with `--force` it resumes, and the resume record
/// says `forced: true` with the new file's sha256.
#[test]
fn changed_sequence_needs_force() {
    let scratch = Scratch::new();
    let log = failed_run(&scratch);
    scratch.write(FILE, &format!("{CRASH}# edited after the run\n"));
    let before = std::fs::read(&log).unwrap();
    let out = resume(&scratch, &log, &["--sim"]);
    assert_eq!(out.code(), 2, "{out}");
    let stderr = out.stderr_flat();
    let refusal =
        Regex::new(r"sequence `[^`]*crash\.yaml` changed since this run started \(sha256 [0-9a-f]{12} then, [0-9a-f]{12} now\)")
            .unwrap();
    assert!(refusal.is_match(&stderr), "{out}");
    assert!(stderr.contains("pass --force to resume anyway"), "{out}");
    assert_eq!(std::fs::read(&log).unwrap(), before, "the log was changed");

    let out = resume(&scratch, &log, &["--sim", "--force"]);
    assert_eq!(out.code(), 0, "{out}");
    let records = assert_done_once(&log);
    let resumed = of_type(&records, "resume");
    assert_eq!(resumed.len(), 1, "{resumed:#?}");
    assert_eq!(resumed[0]["forced"], true, "{}", resumed[0]);
    assert_ne!(
        resumed[0]["sequence_sha256"], records[0]["sequence_sha256"],
        "{}",
        resumed[0]
    );
}

/// A log that ended in `success` has nothing to resume: exit 0, says so, log unchanged.
#[test]
fn successful_log_has_nothing_to_resume() {
    let scratch = Scratch::new();
    let run = scratch.start_run(FILE, CRASH, &["--sim"]);
    let log = run.log().to_owned();
    let (out, _) = run.finish();
    assert_eq!(out.code(), 0, "{out}");
    let before = std::fs::read(&log).unwrap();
    let out = resume(&scratch, &log, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let said = format!(
        "nothing to resume: run log `{}` ended with success",
        log.display()
    );
    assert!(out.stdout.contains(&said), "no `{said}`\n{out}");
    assert_eq!(std::fs::read(&log).unwrap(), before, "the log was changed");
}

/// A run that used `--sim` resumed without it has no instrument to go back to: exit 2,
/// the message names `--sim`, and the log is unchanged.
#[test]
fn sim_run_resumed_without_sim_is_refused() {
    let scratch = Scratch::new();
    let log = failed_run(&scratch);
    let before = std::fs::read(&log).unwrap();
    let out = resume(&scratch, &log, &[]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("this run used the built-in simulator (--sim), which is gone"),
        "{out}"
    );
    assert_eq!(std::fs::read(&log).unwrap(), before, "the log was changed");
}

/// Files that are not run logs are refused with exit 2 and a message naming the file, and
/// are left as they were: text, binary, empty, a record that is not `start`, and a real log
/// with a garbage line in the middle. A missing file too.
#[test]
fn not_a_run_log_is_refused() {
    let scratch = Scratch::new();
    // A real log (so its sequence and sha256 are right) with line 3 replaced by garbage.
    let log = failed_run(&scratch);
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() > 3, "{text}");
    lines[2] = "not json";
    let garbled = lines.join("\n") + "\n";
    let cases: &[(&str, &[u8], &str)] = &[
        ("text.jsonl", b"garbage\n", "line 1 is not a start record"),
        (
            "binary.jsonl",
            b"\x00\x01\xff\xfe\n",
            "line 1 is not a start record",
        ),
        ("empty.jsonl", b"", "it is empty"),
        (
            "point.jsonl",
            b"{\"type\":\"point\"}\n",
            "line 1 is not a start record",
        ),
        (
            "garbled.jsonl",
            garbled.as_bytes(),
            "line 3 is not a valid record",
        ),
    ];
    for (name, bytes, why) in cases {
        let path = scratch.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = resume(&scratch, &path, &["--sim"]);
        assert_eq!(out.code(), 2, "{name}: {out}");
        let said = format!("run log `{}`: {why}", path.display());
        assert!(
            out.stderr_flat().contains(&said),
            "{name}: no `{said}`\n{out}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), *bytes, "{name} was changed");
    }
    let missing = scratch.join("missing.jsonl");
    let out = resume(&scratch, &missing, &["--sim"]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains(&format!("run log `{}`: cannot open it", missing.display())),
        "{out}"
    );
    assert!(!missing.exists(), "resume created the missing log");
}

/// Four independent points over 2 connections, each setting `V{i} 1`, then waiting 300ms
/// before reading it back.
const PAUSED: &str = r#"
name: paused
instrument:
  max_connections: 2
steps:
  - name: s
    sweep: {i: [0, 1, 2, 3]}
    parallel: all
    commands:
      - "V{i} 1"
      - wait: 300ms
      - {query: "V{i}?", as: v}
"#;

/// Points cancelled by a second Ctrl-C (`aborted`, attempt 1) are run again by a plain
/// `resume LOG`, which reconnects to the address recorded in the start record: they end ok
/// with attempt 2, the points never started run once with attempt 1.
#[test]
fn aborted_points_resume_at_the_recorded_address_with_the_next_attempt() {
    let instrument = sim(Duration::ZERO, None);
    let scratch = Scratch::new();
    let addr = instrument.addr().to_string();
    let mut run = scratch.start_run("paused.yaml", PAUSED, &["--address", &addr]);
    let mut probe = Probe::connect(instrument.addr());
    wait_until("s/0 and s/1 are in their wait", || {
        probe.query("V0?") == "1" && probe.query("V1?") == "1"
    });
    run.process().signal("INT");
    run.process()
        .wait_for_stderr("finishing 2 point(s) in flight");
    run.process().signal("INT");
    let log = run.log().to_owned();
    let (out, records) = run.finish();
    assert_eq!(out.code(), 130, "{out}");
    assert_eq!(stop(&records)["exit_status"], "abort", "{out}");

    let out = resume(&scratch, &log, &[]);
    assert_eq!(out.code(), 0, "{out}");
    let records = read_log(&log);
    let resumed = of_type(&records, "resume");
    assert_eq!(resumed.len(), 1, "{resumed:#?}");
    assert_eq!(
        resumed[0]["instruments"][0]["address"],
        addr.as_str(),
        "{}",
        resumed[0]
    );
    let attempts: Vec<String> = of_type(&records, "point")
        .iter()
        .map(|p| format!("{} {} {}", p["id"], p["attempt"], p["status"]))
        .collect();
    let mut sorted = attempts.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            r#""s/0" 1 "aborted""#,
            r#""s/0" 2 "ok""#,
            r#""s/1" 1 "aborted""#,
            r#""s/1" 2 "ok""#,
            r#""s/2" 1 "ok""#,
            r#""s/3" 1 "ok""#,
        ],
        "log order: {attempts:#?}"
    );
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "success", "{stop}");
    assert_eq!(stop["points_ok"].as_u64(), Some(4), "{stop}");
}

/// Seen from the instrument: after a SIGKILL mid-run, every point the log has as ok (and
/// setup, whose `*RST` would clear everything) gets a marker value behind the run's back;
/// `resume LOG` (back to the recorded address) leaves every marker in place, so it sent
/// none of those points again, and sets the value of every other point.
#[test]
fn resume_sends_no_ok_point_again() {
    let instrument = sim(Duration::from_millis(10), None);
    let scratch = Scratch::new();
    let addr = instrument.addr().to_string();
    let mut run = scratch.start_run(FILE, CRASH, &["--address", &addr]);
    let log = run.log().to_owned();
    wait_until("half the sweep is recorded", || count_lines(&log) >= 32);
    run.process().signal("KILL");
    let out = run.wait();
    assert_eq!(
        out.status.signal(),
        Some(9),
        "the run ended before the kill\n{out}"
    );
    let (before, _) = read_complete_lines(&log);
    let ok: Vec<u64> = of_type(&before, "point")
        .iter()
        .filter(|p| p["step"] == "s" && p["status"] == "ok")
        .filter_map(|p| p["index"].as_u64())
        .collect();
    assert!(
        !ok.is_empty() && ok.len() < POINTS as usize,
        "ok before: {ok:?}"
    );
    let mut probe = Probe::connect(instrument.addr());
    for i in &ok {
        probe.query(&format!("V{i} -1;*OPC?"));
    }
    let out = resume(&scratch, &log, &[]);
    assert_eq!(out.code(), 0, "{out}");
    assert_done_once(&log);
    for i in 0..POINTS {
        let want = if ok.contains(&i) {
            "-1".to_owned()
        } else {
            i.to_string()
        };
        assert_eq!(
            probe.query(&format!("V{i}?")),
            want,
            "V{i} after the resume"
        );
    }
}

/// A file with bytes but no newline (random text, or a start record cut short) is refused
/// with exit 2 and a message that does not call it empty.
#[test]
fn file_without_a_newline_is_not_called_empty() {
    let scratch = Scratch::new();
    let cases: &[(&str, &[u8])] = &[
        ("text.jsonl", b"garbage"),
        (
            "cut.jsonl",
            br#"{"type":"start","run_id":"crash-1","name":"cr"#,
        ),
    ];
    for (name, bytes) in cases {
        let path = scratch.join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = resume(&scratch, &path, &["--sim"]);
        assert_eq!(out.code(), 2, "{name}: {out}");
        let stderr = out.stderr_flat();
        assert!(
            stderr.contains(&format!("run log `{}`", path.display())),
            "{out}"
        );
        assert!(
            !stderr.contains("it is empty"),
            "{name} holds {} bytes\n{out}",
            bytes.len()
        );
    }
}

/// Setup runs again on a resume when the log's teardown ran after it (the instrument was
/// left torn down), so resumed points see the instrument as setup leaves it; after a
/// SIGKILL (no teardown), setup is not sent again.
#[test]
fn setup_runs_again_after_teardown() {
    const ONOFF: &str = r#"
name: onoff
instrument: {max_connections: 1}
setup: ["OUTP ON"]
steps:
  - name: s
    sweep: {i: {start: 0, stop: 9, step: 1}}
    commands:
      - {query: "*OPC?", expect: "0"}
teardown: ["OUTP OFF"]
"#;
    // Every point fails at once (the reply `1` is not `0`), so the run stops after the
    // first point, with teardown; the resume must switch the output back on first.
    let scratch = Scratch::new();
    let sim = sim(Duration::ZERO, None);
    let addr = sim.addr().to_string();
    let (out, records) = scratch.run("onoff.yaml", ONOFF, &["--address", &addr]);
    assert_eq!(out.code(), 1, "{out}");
    assert_eq!(
        crate::support::point(&records, "teardown/0")["status"],
        "ok"
    );
    let log = scratch.join("onoff.yaml.jsonl");
    let fixed = ONOFF.replace(
        "{query: \"*OPC?\", expect: \"0\"}",
        "{query: \"OUTP?\", as: output}",
    );
    scratch.write("onoff.yaml", &fixed);
    let out = resume(&scratch, &log, &["--force", "--address", &addr]);
    assert_eq!(out.code(), 0, "{out}");
    let records = read_log(&log);
    let resumed_at = records
        .iter()
        .position(|r| r["type"] == "resume")
        .expect("no resume record");
    let after = &records[resumed_at..];
    let setup = after
        .iter()
        .find(|r| r["id"] == "setup/0")
        .unwrap_or_else(|| panic!("setup did not run again: {after:#?}"));
    assert_eq!(setup["attempt"].as_u64(), Some(2), "{setup}");
    for p in after.iter().filter(|r| r["step"] == "s") {
        assert_eq!(p["values"]["output"], "ON", "{p}");
    }
}
