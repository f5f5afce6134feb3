//! Bounds and names end to end: every count and duration above its bound (and
//! `--deadline`) exits 2 from `check` and `run` at its `file:line:col` with nothing sent; a
//! pool larger than the open-file limit is refused before dialling; running out of file
//! descriptors mid-run is told for what it is, with the run log complete; a sweep over 2^64
//! points is one problem; Unicode names go through check, run, export and plot.

use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use crate::support::{
    Output, Probe, Running, Scratch, read_complete_lines, sim, step_points, stop, wait_until,
};

/// One value above its bound, and what `check` must say where.
struct Case {
    /// File name.
    file: &'static str,
    /// The sequence.
    yaml: &'static str,
    /// `file:line:col` of the value.
    at: &'static str,
    /// The message.
    says: &'static str,
}

const CASES: &[Case] = &[
    Case {
        file: "max_connections.yaml",
        yaml: "instrument:\n  max_connections: 4294967296\nsteps:\n  - name: s\n    commands: [\"A 1\"]\n",
        at: "max_connections.yaml:2:20",
        says: "`max_connections` must be at most 1024, got `4294967296`",
    },
    Case {
        file: "concurrency.yaml",
        yaml: "steps:\n  - name: s\n    parallel: all\n    concurrency: 100000\n    commands: [\"A 1\"]\n",
        at: "concurrency.yaml:4:18",
        says: "`concurrency` must be at most 1024, got `100000`",
    },
    Case {
        file: "repeat.yaml",
        yaml: "steps:\n  - name: s\n    repeat: 18446744073709551\n    commands: [\"A 1\"]\n",
        at: "repeat.yaml:3:13",
        says: "`repeat` must be at most 10^12, got `18446744073709551`",
    },
    Case {
        file: "retries.yaml",
        yaml: "retries: 4294967296\nsteps:\n  - name: s\n    commands: [\"A 1\"]\n",
        at: "retries.yaml:1:10",
        says: "`retries` must be at most 1000, got `4294967296`",
    },
    Case {
        file: "reconnect.yaml",
        yaml: "instrument:\n  reconnect_attempts: 1000000\nsteps:\n  - name: s\n    commands: [\"A 1\"]\n",
        at: "reconnect.yaml:2:23",
        says: "`reconnect_attempts` must be at most 1000, got `1000000`",
    },
    Case {
        file: "num.yaml",
        yaml: "steps:\n  - name: s\n    sweep:\n      v: {start: 0, stop: 1, num: 2000000000000}\n    commands: [\"A {v}\"]\n",
        at: "num.yaml:4:35",
        says: "`num` must be at most 10^12, got `2000000000000`",
    },
    Case {
        file: "sweep.yaml",
        yaml: "steps:\n  - name: s\n    sweep:\n      v: {start: 0, stop: 1, num: 2000000}\n      w: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100]\n      x: {start: 0, stop: 1, num: 10000}\n    commands: [\"A {v} {w} {x}\"]\n",
        at: "sweep.yaml:4:7",
        says: "the sweep has more than 10^12 points (from variable `v` on)",
    },
    Case {
        file: "passes.yaml",
        yaml: "steps:\n  - name: s\n    sweep:\n      v: {start: 0, stop: 1, num: 1000000}\n    repeat: 1000001\n    commands: [\"A {v}\"]\n",
        at: "passes.yaml:5:13",
        says: "`repeat` of 1000001 gives step `s` 1000001000000 points (1000000 per pass): a step has at most 10^12",
    },
    Case {
        file: "total.yaml",
        yaml: "steps:\n  - {name: a, repeat: 600000000000, commands: [\"A 1\"]}\n  - {name: b, repeat: 600000000000, commands: [\"A 2\"]}\n",
        at: "total.yaml:3:12",
        says: "with step `b`, the sequence has 1200000000000 points: a sequence has at most 10^12",
    },
    Case {
        file: "timeout.yaml",
        yaml: "instrument:\n  timeout: 1000000000000000h\nsteps:\n  - name: s\n    commands: [\"A 1\"]\n",
        at: "timeout.yaml:2:12",
        says: "`timeout` must be at most 30 days (`720h`), got `1000000000000000h`",
    },
    Case {
        file: "connect_timeout.yaml",
        yaml: "instrument:\n  connect_timeout: 721h\nsteps:\n  - name: s\n    commands: [\"A 1\"]\n",
        at: "connect_timeout.yaml:2:20",
        says: "`connect_timeout` must be at most 30 days (`720h`), got `721h`",
    },
    Case {
        file: "wait.yaml",
        yaml: "steps:\n  - name: s\n    commands:\n      - wait: 1000000000000000h\n",
        at: "wait.yaml:4:15",
        says: "`wait` must be at most 30 days (`720h`), got `1000000000000000h`",
    },
    Case {
        file: "every.yaml",
        yaml: "steps:\n  - name: s\n    commands:\n      - {poll: \"A?\", until: {equals: \"1\"}, every: 800h}\n",
        at: "every.yaml:4:51",
        says: "`every` must be at most 30 days (`720h`), got `800h`",
    },
    Case {
        file: "poll_timeout.yaml",
        yaml: "steps:\n  - name: s\n    commands:\n      - {poll: \"A?\", until: {equals: \"1\"}, timeout: 2000h}\n",
        at: "poll_timeout.yaml:4:53",
        says: "`timeout` must be at most 30 days (`720h`), got `2000h`",
    },
];

/// `out` is a refusal: exit 2, `at` and `says` in stderr, one problem only, no plan.
fn assert_refused(what: &str, out: &Output, at: &str, says: &str) {
    assert_eq!(out.code(), 2, "{what}\n{out}");
    let stderr = out.stderr_flat();
    assert!(
        stderr.contains(&format!("{at}: {says}")),
        "{what}: no `{at}: {says}`\n{out}"
    );
    assert!(
        !stderr.contains("problems in"),
        "{what}: follow-on problems\n{out}"
    );
    assert!(
        !out.stdout.contains("total:"),
        "{what}: a plan was printed\n{out}"
    );
}

/// Each count and duration above its bound exits 2 from `check` and `run` at the value's
/// line and column, with the bound and the value in the message, and nothing is sent.
#[test]
fn each_bound_exits_2_where_it_is_and_sends_nothing() {
    let instrument = sim(Duration::ZERO, None);
    let addr = instrument.addr().to_string();
    // Held open for every case: the peak stays 1 unless `sequencer` connects.
    let mut probe = Probe::connect(instrument.addr());
    let scratch = Scratch::new();
    for case in CASES {
        scratch.write(case.file, case.yaml);
        let out = scratch.sequencer(["check", case.file]);
        assert_refused(&format!("check {}", case.file), &out, case.at, case.says);
        let log = format!("{}.jsonl", case.file);
        let out = scratch.sequencer(["run", case.file, "--address", &addr, "-o", &log]);
        assert_refused(&format!("run {}", case.file), &out, case.at, case.says);
        assert!(!scratch.join(&log).exists(), "{}: a run log", case.file);
    }
    // `--deadline` too.
    scratch.write(
        "fine.yaml",
        "steps:\n  - name: s\n    commands: [\"A 1\"]\n",
    );
    let out = scratch.sequencer([
        "run",
        "fine.yaml",
        "--address",
        &addr,
        "-o",
        "d.jsonl",
        "--deadline",
        "1000000000000000h",
    ]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("the deadline must be at most 30 days (`720h`), got `1000000000000000h`"),
        "{out}"
    );
    assert!(!scratch.join("d.jsonl").exists(), "--deadline: a run log");
    assert_eq!(probe.query("SIM:CONN:PEAK?"), "1", "sequencer connected");
}

/// A sweep over 2^64 points is one problem, at its variable: the placeholders, `parallel:`
/// and poll bound that name its variables add none.
#[test]
fn a_sweep_over_2_pow_64_points_is_one_problem() {
    let scratch = Scratch::new();
    scratch.write(
        "huge.yaml",
        "steps:\n  - name: s\n    sweep:\n      a: {start: 0, stop: 1, num: 4294967296}\n      \
         b: {start: 0, stop: 1, num: 4294967296}\n    parallel: [a]\n    commands:\n      \
         - \"A {a} {b:.3}\"\n      - {poll: \"B?\", until: {within: 0.1, of: \"{b}\"}}\n",
    );
    let out = scratch.sequencer(["check", "huge.yaml"]);
    assert_refused(
        "check",
        &out,
        "huge.yaml:4:7",
        "the sweep has more than 10^12 points (from variable `a` on)",
    );
    assert!(!out.stderr.contains("names no sweep variable"), "{out}");
}

/// The binary run with its open-file limit lowered to `files` (soft and hard), through
/// the shell's `ulimit`.
fn limited(files: u32) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -n {files} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_sequencer"));
    cmd
}

/// A pool that needs more files than the process may open is refused before anything is
/// dialled: exit 2, the `max_connections` at fault with its position, what fits and the
/// limit to raise; no connection and no run log.
#[test]
fn a_pool_beyond_the_open_file_limit_is_refused_before_dialling() {
    let instrument = sim(Duration::ZERO, None);
    let addr = instrument.addr().to_string();
    let mut probe = Probe::connect(instrument.addr());
    let scratch = Scratch::new();
    scratch.write(
        "wide.yaml",
        "instrument:\n  max_connections: 100\nsteps:\n  - name: s\n    parallel: all\n    \
         sweep: {i: [1, 2, 3]}\n    commands: [\"A {i}\"]\n",
    );
    for sim_args in [&["--address", &addr][..], &["--sim"][..]] {
        let mut args = vec!["run", "wide.yaml", "-o", "wide.jsonl"];
        args.extend(sim_args);
        let out = Running::start(limited(64), &scratch.join(""), &args).wait();
        assert_eq!(out.code(), 2, "{sim_args:?}\n{out}");
        let stderr = out.stderr_flat();
        for phrase in [
            "`max_connections: 100` (wide.yaml:2:20) needs",
            "but this process may open only 64 (`ulimit -n`): lower `max_connections` to at most",
            "nothing was sent",
        ] {
            assert!(
                stderr.contains(phrase),
                "{sim_args:?}: no `{phrase}`\n{out}"
            );
        }
        assert!(
            !scratch.join("wide.jsonl").exists(),
            "{sim_args:?}: a run log"
        );
    }
    assert_eq!(probe.query("SIM:CONN:PEAK?"), "1", "sequencer connected");
    // Within the limit, the same run goes ahead.
    scratch.write(
        "narrow.yaml",
        "instrument:\n  max_connections: 4\nsteps:\n  - name: s\n    parallel: all\n    \
         sweep: {i: [1, 2, 3]}\n    commands: [\"A {i}\"]\n",
    );
    let args = [
        "run",
        "narrow.yaml",
        "-o",
        "narrow.jsonl",
        "--address",
        &addr,
    ];
    let out = Running::start(limited(64), &scratch.join(""), args).wait();
    assert_eq!(out.code(), 0, "{out}");
}

/// File descriptors running out in the middle of a run (here: connections to the run's
/// own simulator, which it accepts until none is left) are told for what they are, the
/// run log's fsync (which needs no descriptor of its own) goes on, and the run ends well
/// with its log complete: not "run log incomplete", which once stopped the run.
#[test]
fn running_out_of_descriptors_mid_run_is_not_a_broken_log() {
    let scratch = Scratch::new();
    scratch.write(
        "slow.yaml",
        "instrument:\n  max_connections: 2\nsteps:\n  - name: s\n    parallel: all\n    \
         sweep: {i: {start: 1, stop: 40, step: 1}}\n    commands: [{wait: 200ms}, \"*OPC?\"]\n",
    );
    let log = scratch.join("slow.jsonl");
    let args = ["run", "slow.yaml", "-o", "slow.jsonl", "--sim"];
    let run = Running::start(limited(48), &scratch.join(""), args);
    // Both of the run's connections served (a point done on each) before the flood: a
    // connection still in the simulator's backlog would never be accepted, and the run
    // would rightly fail.
    wait_until("a point on each connection", || {
        let conns: std::collections::HashSet<u64> = step_points(&read_complete_lines(&log).0)
            .iter()
            .filter_map(|p| p["conn"].as_u64())
            .collect();
        conns.len() == 2
    });
    let start = read_complete_lines(&log).0.remove(0);
    let address = start["instruments"][0]["address"]
        .as_str()
        .expect("the simulator's address")
        .to_owned();
    // More connections than the process has descriptors left: it accepts until none is.
    let hogs: Vec<TcpStream> = (0..60)
        .filter_map(|_| TcpStream::connect(&address).ok())
        .collect();
    assert!(!hogs.is_empty(), "no connection to {address}");
    let out = run.wait();
    drop(hogs);
    assert_eq!(out.code(), 0, "{out}");
    assert!(!out.stdout.contains("run log incomplete"), "{out}");
    assert!(
        out.stderr_flat().contains("Too many open files"),
        "the exhaustion was not told\n{out}"
    );
    let records = crate::support::read_log(&log);
    assert_eq!(step_points(&records).len(), 40);
    assert_eq!(stop(&records)["exit_status"], "success");
}

/// Unicode names go through: a sweep variable `ΔT`, a value `Strom_µA`, a step and an
/// instrument with non-ASCII names are checked, run on the simulator, exported and
/// plotted under their names.
#[test]
fn unicode_names_go_through_check_run_export_and_plot() {
    let scratch = Scratch::new();
    scratch.write(
        "uni.yaml",
        "name: unicode\ninstruments:\n  Quelle_1: {max_connections: 2}\n\
         setup: {Quelle_1: [\"*RST\"]}\nsteps:\n  - name: Messung_ΔT\n    instrument: Quelle_1\n    \
         sweep: {ΔT: [0.1, 0.2, 0.3], Temp_K: [300, 310]}\n    parallel: [Temp_K]\n    commands:\n      \
         - \"SOUR1:VOLT {ΔT}\"\n      - {query: \"MEAS1:CURR?\", as: Strom_µA}\n      \
         - {poll: \"SOUR1:VOLT?\", until: {within: 0.001, of: \"{ΔT}\"}, as: U_ΔT}\n",
    );
    let out = scratch.sequencer(["check", "uni.yaml"]);
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("step `Messung_ΔT`: 6 points"), "{out}");
    assert!(out.stdout.contains("ΔT (3) x Temp_K (2)"), "{out}");
    let out = scratch.sequencer(["run", "uni.yaml", "--sim", "-o", "uni.jsonl"]);
    assert_eq!(out.code(), 0, "{out}");
    let records = crate::support::read_log(&scratch.join("uni.jsonl"));
    let points = step_points(&records);
    assert_eq!(points.len(), 6);
    let first: &Value = points.iter().find(|p| p["id"] == "Messung_ΔT/0").unwrap();
    assert_eq!(first["vars"]["ΔT"], 0.1, "{first}");
    assert_eq!(first["values"]["U_ΔT"], "0.1", "{first}");
    assert!(first["values"]["Strom_µA"].is_string(), "{first}");
    let out = scratch.sequencer(["export", "uni.jsonl"]);
    assert_eq!(out.code(), 0, "{out}");
    let header = out.stdout.lines().next().unwrap_or_default();
    assert_eq!(
        header,
        "id,step,ΔT,Temp_K,Strom_µA,U_ΔT,status,attempt,started_at,elapsed_ms"
    );
    assert!(
        out.stdout.contains("Messung_ΔT/5,Messung_ΔT,0.3,310,"),
        "{out}"
    );
    let out = scratch.sequencer([
        "plot",
        "uni.jsonl",
        "--x",
        "ΔT",
        "--y",
        "U_ΔT",
        "--group",
        "Temp_K",
        "-o",
        "uni.svg",
    ]);
    assert_eq!(out.code(), 0, "{out}");
    let svg = std::fs::read_to_string(scratch.join("uni.svg")).expect("the plot");
    for label in ["ΔT", "U_ΔT", "Temp_K = 300"] {
        assert!(svg.contains(label), "no `{label}` in the plot");
    }
}
