//! What the operator sees besides the run log: a progress bar only when stderr is a terminal
//! and `--quiet` is not given, log lines as JSON objects with `--log-format json` (connection
//! events naming their connection and instrument), and the end-of-run summary with the
//! effective parallelism, printed also when no connection could be opened, its first line
//! one line whatever the name.
//!
//! The terminal tests run the binary under a pseudo-terminal with util-linux's
//! `script -qfec CMD /dev/null`, whose stdout is everything the terminal was sent; they are
//! skipped (with a note) where `script` is missing.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{Output, Running, Scratch, dead_port, stop};

/// 16 independent one-query points over 4 connections.
const SWEEP: &str = r#"
name: output
instrument:
  max_connections: 4
steps:
  - name: s
    sweep: {i: {start: 1, stop: 16, step: 1}}
    parallel: all
    commands: [{query: "*OPC?", expect: "1"}]
"#;

/// What a progress bar leaves in a stream: redraws (`\r`), escapes (colours, line clears)
/// and the bar's own words and glyphs.
const BAR_MARKS: [&str; 6] = ["\r", "\x1b", "ETA", " conns", "[=", "=>"];

/// Runs `sequencer ARGS` in `dir` with `NO_COLOR` unset (the helpers set it), so that only the
/// binary's own terminal check keeps colours and bars off a pipe.
fn run_with_colours(dir: &Path, args: &[&str]) -> Output {
    let mut env = Command::new("env");
    env.args(["-u", "NO_COLOR", env!("CARGO_BIN_EXE_sequencer")]);
    Running::start(env, dir, args).wait()
}

/// Piped stderr (CI, `2> file`) gets log lines and nothing of a bar: no carriage return, no
/// ANSI escape, no bar text, even with colours allowed and `-v` making stderr busy.
#[test]
fn piped_stderr_has_no_bar_or_escapes() {
    let scratch = Scratch::new();
    let seq = scratch.write("piped.yaml", SWEEP);
    let dir = seq.parent().expect("a scratch file has a folder");
    let out = run_with_colours(
        dir,
        &["run", "piped.yaml", "--sim", "--sim-latency", "5ms", "-v"],
    );
    assert_eq!(out.code(), 0, "{out}");
    assert!(
        out.stderr.contains("connection open"),
        "-v logs connection events: {out}"
    );
    for mark in BAR_MARKS {
        assert!(
            !out.stderr.contains(mark),
            "{mark:?} on piped stderr\n{out}"
        );
    }
}

/// `--quiet` on a run that succeeds leaves stderr empty; the summary is still on stdout.
#[test]
fn quiet_success_prints_nothing_on_stderr() {
    let scratch = Scratch::new();
    let (out, records) = scratch.run("quiet.yaml", SWEEP, &["--sim", "--quiet"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(stop(&records)["exit_status"], "success");
    assert_eq!(out.stderr, "", "{out}");
    assert!(
        out.stdout
            .starts_with("output: 16 of 16 points ok, 0 failed"),
        "{out}"
    );
}

/// With `--log-format json -vv` every stderr line is a JSON object with a `level`; every
/// line of the pool and the connections names its `instrument`, and each connection event
/// (connecting, open, closed with its reason, reconnecting) its connection id `conn`; every
/// connection opened is logged closed, also those the end of the run closes. Connections
/// are dropped by the simulator so that breaks and redials happen.
#[test]
fn json_logs_name_connection_and_instrument() {
    let scratch = Scratch::new();
    let yaml = r#"
name: flaky
instrument:
  max_connections: 2
steps:
  - name: s
    retries: 20
    sweep: {i: {start: 1, stop: 12, step: 1}}
    parallel: all
    commands: [{query: "*OPC?", expect: "1"}, {query: "*OPC?", expect: "1"}]
"#;
    let (out, _) = scratch.run(
        "flaky.yaml",
        yaml,
        &[
            "--sim",
            "--fault",
            "drop-after=5",
            "--log-format",
            "json",
            "-vv",
        ],
    );
    assert_eq!(out.code(), 0, "{out}");
    let lines: Vec<Value> = out
        .stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{out}"))
        })
        .collect();
    let mut seen = Vec::new();
    let (mut opened, mut closed) = (BTreeSet::new(), BTreeSet::new());
    for line in &lines {
        let level = line["level"].as_str().unwrap_or_default();
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&level),
            "no level: {line}"
        );
        let target = line["target"].as_str().unwrap_or_default();
        if ![
            "sequencer::pool",
            "sequencer::pool::dial",
            "sequencer::connection",
            "sequencer::exec",
        ]
        .contains(&target)
        {
            continue;
        }
        assert_eq!(line["instrument"], "instrument", "{line}");
        let message = line["message"].as_str().unwrap_or_default();
        let event = [
            "connection open",
            "connection closed",
            "reconnecting",
            "connecting",
        ]
        .into_iter()
        .find(|e| message.starts_with(e));
        if let Some(event) = event {
            let conn = line["conn"].as_u64().unwrap_or_default();
            assert!(conn > 0, "{line}");
            seen.push(event);
            match event {
                "connection open" => opened.insert(conn),
                "connection closed" => closed.insert(conn),
                _ => true,
            };
        }
    }
    assert_eq!(opened, closed, "every connection opened is logged closed");
    for event in [
        "connecting",
        "connection open",
        "connection closed",
        "reconnecting",
    ] {
        assert!(
            seen.contains(&event),
            "no `{event}` line in\n{}",
            out.stderr
        );
    }
    let broke = lines.iter().any(|l| {
        l["message"].as_str().is_some_and(|m| {
            m.starts_with("connection closed: connection ")
                && m.contains("closed by the instrument")
        })
    });
    assert!(broke, "no close with its reason in\n{}", out.stderr);
}

/// The summary keeps its first line and adds the effective parallelism: the points' time
/// added up over the wall time. 16 points of 50 ms over 4 connections ran well above 1 at a
/// time (ideally 4; the wall time includes opening the connections) and never above 4.
#[test]
fn summary_shows_effective_parallelism() {
    let scratch = Scratch::new();
    let (out, _) = scratch.run("par.yaml", SWEEP, &["--sim", "--sim-latency", "50ms"]);
    assert_eq!(out.code(), 0, "{out}");
    let mut lines = out.stdout.lines();
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with("output: 16 of 16 points ok, 0 failed, 0 not run in ")
            && first.ends_with(" (success)"),
        "{out}"
    );
    let line = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("effective parallelism: "))
        .unwrap_or_else(|| panic!("no parallelism line\n{out}"));
    let (value, rest) = line.split_once(' ').unwrap_or_default();
    let value: f64 = value
        .parse()
        .unwrap_or_else(|e| panic!("{value:?}: {e}\n{out}"));
    assert!(rest.starts_with("of 4 connections ("), "{out}");
    assert!(value > 1.2 && value <= 4.0, "parallelism {value}\n{out}");
    assert!(
        out.stdout
            .lines()
            .last()
            .unwrap_or_default()
            .starts_with("run log: "),
        "{out}"
    );
}

/// `script` from util-linux, which runs a command under a pseudo-terminal.
pub(crate) fn script_available() -> bool {
    Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `sequencer run FILE -o FILE.jsonl EXTRA...` in a pseudo-terminal; returns what the
/// terminal was sent (stdout and stderr together) as `stdout`, or `None` (saying the test
/// is skipped) where there is no `script`.
fn in_terminal(scratch: &Scratch, name: &str, yaml: &str, extra: &[&str]) -> Option<Output> {
    if !script_available() {
        eprintln!("skipped: no `script` (util-linux) to make a pseudo-terminal");
        return None;
    }
    let seq = scratch.write(name, yaml);
    let dir = seq.parent().expect("a scratch file has a folder");
    let line = format!(
        "'{}' run {name} -o {name}.jsonl {}",
        env!("CARGO_BIN_EXE_sequencer"),
        extra.join(" ")
    );
    Some(Running::start(Command::new("script"), dir, ["-qfec", &line, "/dev/null"]).wait())
}

/// 10 points of 50 ms, one at a time: long enough for several redraws.
const SLOW: &str = r#"
name: slow
instrument:
  max_connections: 1
steps:
  - name: s
    sweep: {i: {start: 1, stop: 10, step: 1}}
    commands: [{query: "*OPC?", expect: "1"}]
"#;

/// On a terminal the step's bar is drawn while it runs (points done of the total, ETA,
/// connections) and leaves the step's line when it ends; the summary follows.
#[test]
fn terminal_shows_the_bar() {
    let scratch = Scratch::new();
    let Some(out) = in_terminal(
        &scratch,
        "slow.yaml",
        SLOW,
        &["--sim", "--sim-latency", "50ms"],
    ) else {
        return;
    };
    assert_eq!(out.code(), 0, "{out}");
    let screen = &out.stdout;
    let midway = (1..10).any(|k| screen.contains(&format!(" {k}/10 points ")));
    assert!(midway, "no bar with some of the 10 points done\n{screen:?}");
    for part in [
        "ETA ",
        "0 failed",
        "1/1 conns",
        "s: 10/10 points, 0 failed in ",
    ] {
        assert!(screen.contains(part), "no {part:?} in\n{screen:?}");
    }
    assert!(screen.contains("slow: 10 of 10 points ok"), "{screen:?}");
}

/// `--quiet` on a terminal draws no bar and no step line; the summary is still there.
#[test]
fn terminal_quiet_has_no_bar() {
    let scratch = Scratch::new();
    let Some(out) = in_terminal(
        &scratch,
        "slow.yaml",
        SLOW,
        &["--sim", "--sim-latency", "20ms", "--quiet"],
    ) else {
        return;
    };
    assert_eq!(out.code(), 0, "{out}");
    let screen = &out.stdout;
    assert!(screen.contains("slow: 10 of 10 points ok"), "{screen:?}");
    for mark in ["ETA", " conns", "/10 points", "[="] {
        assert!(!screen.contains(mark), "{mark:?} with --quiet\n{screen:?}");
    }
}

/// No connection can be opened (nothing listens): the summary is printed all the same, its
/// first line in the documented format (every point not run, `fail`), with the reason and
/// the run log, whose stop record says the same; exit 1.
#[test]
fn unreachable_instrument_still_prints_the_summary() {
    let scratch = Scratch::new();
    let yaml = format!(
        r#"
name: unreachable
instrument: {{address: "127.0.0.1:{}", reconnect_attempts: 1}}
steps:
  - name: s
    sweep: {{i: [1, 2, 3]}}
    commands: ["V{{i}} 1"]
"#,
        dead_port()
    );
    let (out, records) = scratch.run("unreachable.yaml", &yaml, &[]);
    assert_eq!(out.code(), 1, "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    let first = lines.first().copied().unwrap_or_default();
    assert!(
        first.starts_with("unreachable: 0 of 3 points ok, 0 failed, 3 not run in ")
            && first.ends_with(" (fail)"),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("reason: cannot connect to instrument `instrument`")),
        "{out}"
    );
    assert!(
        lines.last().is_some_and(|l| l.starts_with("run log: ")),
        "{out}"
    );
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_not_run"].as_u64(), Some(3), "{stop}");
}

/// A name with a line break (`name: "x\ny"`) keeps the summary's first line one line: the
/// control character is shown escaped, `x\ny`.
#[test]
fn multi_line_name_stays_on_one_summary_line() {
    let scratch = Scratch::new();
    let yaml = r#"
name: "x\ny\tz"
instrument:
  max_connections: 1
steps:
  - name: s
    sweep: {i: [1, 2, 3]}
    commands: [{query: "*OPC?", expect: "1"}]
"#;
    let (out, records) = scratch.run("named.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let first = out.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(r"x\ny\tz: 3 of 3 points ok, 0 failed, 0 not run in ")
            && first.ends_with(" (success)"),
        "{out}"
    );
    // The log keeps the name as written.
    assert_eq!(records[0]["name"], "x\ny\tz", "{}", records[0]);
}
