//! Outputs that vanish: a stdout or stderr pipe closed by its reader, or a terminal closed
//! under a run. A run goes on writing nothing more there and ends as it would have:
//! teardown, a stop record last with the run's counts, its own exit code, no panic. The
//! commands whose product is stdout (`export`, `diff`, `schema`, `completions`) end
//! quietly with exit 1 on a closed pipe, and `resume` still finishes and records its stop.
//!
//! A closed pipe is a real pipe whose read end the test drops: mid-run, or before the
//! process starts (`std::io::pipe`), so its first write is sure to fail. A closed terminal
//! is a pseudo-terminal made by util-linux's `script`, killed mid-run; those tests are
//! skipped (with a note) where `script` is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::output::script_available;
use crate::support::{GUARD, Running, Scratch, count_lines, read_log, stop, wait_until};

/// 60 independent points over 2 connections, each a write and a read-back, retried on a
/// broken connection; teardown reads `*OPC?`. With `--fault drop-after=7` every connection
/// breaks after its 7th command: a warning on stderr each time, and retries.
const FLAKY: &str = r#"
name: flaky
instrument:
  max_connections: 2
steps:
  - name: s
    retries: 5
    sweep: {i: {start: 0, stop: 59, step: 1}}
    parallel: all
    commands:
      - "V{i} {i}"
      - {query: "V{i}?", as: v}
teardown:
  - {query: "*OPC?", as: done}
"#;

/// `run flaky.yaml` arguments after `-o`: slow enough (20 ms a reply, about 1.5 s in all)
/// that an output closes mid-run, with faults that make warnings.
const FLAKY_ARGS: [&str; 5] = ["--sim", "--sim-latency", "20ms", "--fault", "drop-after=7"];

/// A child process, killed (and reaped) if the test ends before it does.
struct Guarded(Child);

impl Guarded {
    /// Starts the real binary with `args` in `dir`: stdin empty, stdout and stderr as given.
    fn start(dir: &Path, args: &[&str], stdout: Stdio, stderr: Stdio) -> Guarded {
        let child = Command::new(env!("CARGO_BIN_EXE_sequencer"))
            .args(args)
            .current_dir(dir)
            .env_remove("RUST_LOG")
            .env_remove("RUST_BACKTRACE")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("cannot start sequencer");
        Guarded(child)
    }

    /// Waits for the exit, at most [`GUARD`] (then kills it and fails the test).
    fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + GUARD;
        loop {
            if let Some(status) = self.0.try_wait().expect("cannot wait for sequencer") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "sequencer still running after {GUARD:?}"
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Reads `pipe` to its end on a new thread.
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = Vec::new();
        let _ = pipe.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    })
}

/// A pipe whose read end is already closed: the first write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("cannot make a pipe");
    drop(reader);
    Stdio::from(writer)
}

/// The exit code; fails the test, naming what was captured, if a signal ended the process.
fn code(status: ExitStatus, captured: &str) -> i32 {
    status
        .code()
        .unwrap_or_else(|| panic!("sequencer killed by a signal: {status}\n{captured}"))
}

/// Checks a finished run log: teardown ran, the stop record is last, and its counts are
/// those of the point records: each sweep point counted by its last record (ok over the
/// whole log; failed and aborted only when recorded since record `since`, where this run's
/// records begin); retries are this run's attempts beyond each point's first. Returns the
/// stop record.
fn check_log(records: &[Value], since: usize, points: u64) -> &Value {
    let stop = stop(records);
    let mut last = BTreeMap::new();
    for (at, r) in records
        .iter()
        .enumerate()
        .filter(|(_, r)| r["type"] == "point")
    {
        last.insert(
            r["id"].as_str().unwrap_or_default(),
            (at, r["status"].clone()),
        );
    }
    let ours: Vec<&Value> = records[since..]
        .iter()
        .filter(|r| r["type"] == "point")
        .collect();
    let distinct: BTreeSet<&str> = ours.iter().filter_map(|r| r["id"].as_str()).collect();
    assert!(
        distinct.contains("teardown/0"),
        "no teardown record in {records:#?}"
    );
    assert_eq!(last["teardown/0"].1, "ok", "{records:#?}");
    let sweep: Vec<&(usize, Value)> = last
        .iter()
        .filter(|(id, _)| id.starts_with("s/"))
        .map(|(_, last)| last)
        .collect();
    let count = |want: &str| {
        sweep
            .iter()
            .filter(|(at, status)| *status == want && (want == "ok" || *at >= since))
            .count() as u64
    };
    let (ok, failed, aborted) = (count("ok"), count("failed"), count("aborted"));
    assert_eq!(stop["points_ok"].as_u64(), Some(ok), "{stop}");
    assert_eq!(stop["points_failed"].as_u64(), Some(failed), "{stop}");
    assert_eq!(stop["points_aborted"].as_u64(), Some(aborted), "{stop}");
    assert_eq!(
        stop["points_not_run"].as_u64(),
        Some(points - ok - failed - aborted),
        "{stop}"
    );
    assert_eq!(
        stop["retries"].as_u64(),
        Some((ours.len() - distinct.len()) as u64),
        "{stop}"
    );
    stop
}

/// Stdout closed by its reader mid-run (`sequencer run ... | head -0`): the run goes on to
/// the end, tears down, records its stop with the right counts and exits 0 as it would
/// have; stderr (warnings about broken connections) shows no panic.
#[test]
fn closed_stdout_mid_run_changes_nothing_but_the_summary() {
    let scratch = Scratch::new();
    let seq = scratch.write("flaky.yaml", FLAKY);
    let dir = seq.parent().expect("a scratch file has a folder");
    let log = scratch.join("flaky.jsonl");
    let mut args = vec!["run", "flaky.yaml", "-o", "flaky.jsonl"];
    args.extend(FLAKY_ARGS);
    let mut run = Guarded::start(dir, &args, Stdio::piped(), Stdio::piped());
    let stdout = run.0.stdout.take().expect("stdout is piped");
    let stderr = drain(run.0.stderr.take().expect("stderr is piped"));
    wait_until("a few points are recorded", || count_lines(&log) >= 5);
    drop(stdout);
    let status = run.wait();
    let stderr = stderr.join().expect("stderr reader panicked");
    assert_eq!(code(status, &stderr), 0, "{stderr}");
    assert!(stderr.contains("retrying"), "no warnings: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let records = read_log(&log);
    let stop = check_log(&records, 0, 60);
    assert_eq!(stop["exit_status"], "success", "{stop}");
    assert!(stop["retries"].as_u64() > Some(0), "{stop}");
}

/// Stderr closed by its reader mid-run, once warnings are flowing (`sequencer run ...
/// 2>&1 | head`): the warnings that follow are dropped, nothing panics, the run ends as
/// it would have (teardown, stop record with the right counts, exit 0), and the summary is
/// still on stdout.
#[test]
fn closed_stderr_mid_run_drops_the_warnings_only() {
    let scratch = Scratch::new();
    let seq = scratch.write("flaky.yaml", FLAKY);
    let dir = seq.parent().expect("a scratch file has a folder");
    let log = scratch.join("flaky.jsonl");
    let mut args = vec!["run", "flaky.yaml", "-o", "flaky.jsonl"];
    args.extend(FLAKY_ARGS);
    let mut run = Guarded::start(dir, &args, Stdio::piped(), Stdio::piped());
    let stdout = drain(run.0.stdout.take().expect("stdout is piped"));
    let mut stderr = run.0.stderr.take().expect("stderr is piped");
    // Read until the first warning, then close: later warnings hit a closed pipe.
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("retrying") {
        match stderr.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    drop(stderr);
    let lines_at_close = count_lines(&log);
    let status = run.wait();
    let stdout = stdout.join().expect("stdout reader panicked");
    assert_eq!(code(status, &stdout), 0, "{stdout}");
    assert!(
        String::from_utf8_lossy(&seen).contains("retrying"),
        "no warning before the close"
    );
    let records = read_log(&log);
    assert!(
        records.len() > lines_at_close + 5,
        "the run did not go on after the close: {lines_at_close} then {} records",
        records.len()
    );
    let stop = check_log(&records, 0, 60);
    assert_eq!(stop["exit_status"], "success", "{stop}");
    assert!(
        stdout.starts_with("flaky: 60 of 60 points ok, 0 failed, 0 not run in "),
        "{stdout}"
    );
    assert!(!stdout.contains("panicked"), "{stdout}");
}

/// `export`, `diff`, `schema` and `completions` into a pipe nobody reads: exit 1, and not a
/// word on stderr (no panic, no error: the reader chose to stop reading).
#[test]
fn product_commands_end_quietly_on_a_closed_pipe() {
    let scratch = Scratch::new();
    let (out, _) = scratch.run("flaky.yaml", FLAKY, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let dir = scratch.join("");
    let commands: [&[&str]; 4] = [
        &["export", "flaky.yaml.jsonl"],
        &["diff", "flaky.yaml.jsonl", "flaky.yaml.jsonl"],
        &["schema"],
        &["completions", "bash"],
    ];
    for args in commands {
        // Each writes its product to a working stdout: exit 0 there.
        let fine = scratch.sequencer(args);
        assert_eq!(fine.code(), 0, "{args:?}: {fine}");
        let mut child = Guarded::start(&dir, args, closed_pipe(), Stdio::piped());
        let stderr = drain(child.0.stderr.take().expect("stderr is piped"));
        let status = child.wait();
        let stderr = stderr.join().expect("stderr reader panicked");
        assert_eq!(code(status, &stderr), 1, "{args:?}: {stderr}");
        assert_eq!(stderr, "", "{args:?} on a closed pipe");
    }
}

/// `resume LOG | true`: the resumed run is not stopped by its closed stdout (its
/// `resuming ...` line and summary are dropped): it runs the rest, tears down, appends its
/// stop record with the whole log's counts and exits 0.
#[test]
fn resume_into_a_closed_pipe_still_records_its_stop() {
    let scratch = Scratch::new();
    // Stopped early by its deadline: most points are left to resume.
    let mut args = vec!["--deadline", "300ms"];
    args.extend(FLAKY_ARGS);
    let (out, records) = scratch.run("flaky.yaml", FLAKY, &args);
    assert_eq!(out.code(), 130, "{out}");
    let before = records.len();
    assert_eq!(stop(&records)["exit_status"], "abort");
    let dir = scratch.join("");
    let mut resume = Guarded::start(
        &dir,
        &["resume", "flaky.yaml.jsonl", "--sim"],
        closed_pipe(),
        Stdio::piped(),
    );
    let stderr = drain(resume.0.stderr.take().expect("stderr is piped"));
    let status = resume.wait();
    let stderr = stderr.join().expect("stderr reader panicked");
    assert_eq!(code(status, &stderr), 0, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let records = read_log(&scratch.join("flaky.yaml.jsonl"));
    let resumed = &records[before..];
    assert_eq!(resumed[0]["type"], "resume", "{:#?}", resumed[0]);
    assert!(
        resumed
            .iter()
            .any(|r| r["type"] == "point" && r["step"] == "teardown"),
        "no teardown after the resume"
    );
    let stop = check_log(&records, before, 60);
    assert_eq!(stop["exit_status"], "success", "{stop}");
}

/// How a run under a terminal is started by [`terminal_closed_mid_run`]'s shell script.
enum Under {
    /// `trap '' HUP` first, as `nohup` does: the run ignores the hangup and only finds
    /// its terminal gone (EIO on every write). The script records the exit code.
    Nohup,
    /// The run is the session leader (`exec`): the closing terminal sends it SIGHUP.
    Leader,
}

/// Runs [`FLAKY`] with `-v` in a pseudo-terminal (`script`), with progress bar and
/// warnings, and kills `script` (closing the terminal) once a few points are recorded.
/// Returns what the terminal showed until then, the run's records once it has ended (the
/// process, no longer the test's child, is waited for by its pid), and the exit code the
/// script recorded (`Nohup` only); `None` where `script` is missing.
fn terminal_closed_mid_run(under: &Under) -> Option<(String, Vec<Value>, Option<i32>)> {
    if !script_available() {
        eprintln!("skipped: no `script` (util-linux) to make a pseudo-terminal");
        return None;
    }
    let scratch = Scratch::new();
    scratch.write("flaky.yaml", FLAKY);
    let run = format!(
        "'{}' run flaky.yaml -o flaky.jsonl -v {}",
        env!("CARGO_BIN_EXE_sequencer"),
        FLAKY_ARGS.join(" ")
    );
    let script = match under {
        Under::Nohup => {
            format!("trap '' HUP\nsh -c 'echo $$ > pid; exec \"$0\" \"$@\"' {run}\necho $? > rc\n")
        }
        Under::Leader => format!("echo $$ > pid\nexec {run}\n"),
    };
    scratch.write("term.sh", &script);
    let dir = scratch.join("");
    let log = scratch.join("flaky.jsonl");
    let terminal = Running::start(
        Command::new("script"),
        &dir,
        ["-qfec", "exec sh term.sh", "/dev/null"],
    );
    wait_until("a few points are recorded", || count_lines(&log) >= 10);
    terminal.signal("KILL");
    let screen = terminal.wait().stdout;
    let pid: u32 = std::fs::read_to_string(scratch.join("pid"))
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid written\n{screen}"));
    let ended = Instant::now() + GUARD;
    while alive(pid) && Instant::now() < ended {
        thread::sleep(Duration::from_millis(5));
    }
    if alive(pid) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        panic!("the run went on for {GUARD:?} after its terminal closed; killed\n{screen}");
    }
    let rc = match under {
        Under::Nohup => {
            // The shell creates the file before it writes the code into it.
            let code = || {
                std::fs::read_to_string(scratch.join("rc"))
                    .ok()
                    .and_then(|t| t.trim().parse::<i32>().ok())
            };
            wait_until("the script records the exit code", || code().is_some());
            code()
        }
        Under::Leader => None,
    };
    Some((screen, read_log(&log), rc))
}

/// True while process `pid` exists and is not a zombie (Linux `/proc`).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit_once(") ").map(|(_, rest)| rest);
        !state.is_some_and(|s| s.starts_with('Z'))
    })
}

/// The terminal closes mid-run under `nohup`: every write to it fails (EIO), the bar and
/// the warnings stop, and the run finishes as it would have: all points, teardown, stop
/// record with the right counts, exit 0. Nothing panicked while the terminal was there.
#[test]
fn closed_terminal_under_nohup_finishes_the_run() {
    let Some((screen, records, rc)) = terminal_closed_mid_run(&Under::Nohup) else {
        return;
    };
    assert_eq!(rc, Some(0), "{screen}");
    assert!(!screen.contains("panicked"), "{screen}");
    let stop = check_log(&records, 0, 60);
    assert_eq!(stop["exit_status"], "success", "{stop}");
}

/// The terminal closes mid-run, the run its session leader: SIGHUP stops it like a first
/// Ctrl-C (points in flight finish, teardown runs), on a terminal that is gone; the stop
/// record says `abort` because of the hangup, its counts right.
#[test]
fn closed_terminal_stops_the_run_cleanly() {
    let Some((screen, records, _)) = terminal_closed_mid_run(&Under::Leader) else {
        return;
    };
    assert!(!screen.contains("panicked"), "{screen}");
    let stop = check_log(&records, 0, 60);
    assert_eq!(stop["exit_status"], "abort", "{stop}");
    assert_eq!(stop["reason"], "the terminal hung up (SIGHUP)", "{stop}");
    assert!(stop["points_not_run"].as_u64() > Some(0), "{stop}");
}
