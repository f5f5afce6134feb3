//! Every example in `sequences/` is documentation that runs: each one checks clean and runs
//! to success against the built-in simulator. Files are discovered, so new examples are
//! covered without touching this test.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::export::{data_lines, svg_texts};
use crate::support::{Scratch, of_type, point, read_log, step_points, stop};

/// The cryostat example's setpoints (K). Its simulated controller ramps at 2 K/s from
/// 295 K, so the file as written takes about two minutes; the tests run [`fast_copy`].
const CRYOSTAT_SETPOINTS: &str = "[300, 250, 200, 150, 100]";

/// The setpoints of the tests' copy of the cryostat example: half a kelvin apart, from
/// where the controller starts, so each `settle` waits a quarter of a second; as numbers
/// in [`FAST_SETPOINTS`].
const FAST_SETPOINTS_YAML: &str = "[295, 295.5, 296, 296.5, 297]";

/// [`FAST_SETPOINTS_YAML`] as numbers.
const FAST_SETPOINTS: [f64; 5] = [295.0, 295.5, 296.0, 296.5, 297.0];

/// The example `file` as the tests run it, written into `scratch` if it must be changed to
/// run quickly: the cryostat example with [`FAST_SETPOINTS`] and a 100 ms poll, same
/// structure, its device files named by absolute path. Any other example as it is.
fn fast_copy(scratch: &Scratch, file: &Path) -> PathBuf {
    if !file.ends_with("cryostat-iv.yaml") {
        return file.to_owned();
    }
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let devices = file.with_file_name("devices");
    for needle in [CRYOSTAT_SETPOINTS, "every: 1s"] {
        assert_eq!(
            text.matches(needle).count(),
            1,
            "the cryostat example no longer has `{needle}` once; update fast_copy"
        );
    }
    let text = text
        .replace(CRYOSTAT_SETPOINTS, FAST_SETPOINTS_YAML)
        .replace("every: 1s", "every: 100ms")
        .replace(
            "device: devices/",
            &format!("device: {}/", devices.display()),
        );
    scratch.write("cryostat-iv.yaml", &text)
}

/// The example sequences, sorted by name.
fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sequences");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("cannot read a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no example sequences in {}",
        dir.display()
    );
    files
}

/// `check` accepts every example and prints its plan with a `total:` line.
#[test]
fn every_example_checks() {
    let scratch = Scratch::new();
    for file in examples() {
        let out = scratch.sequencer([Path::new("check"), &file]);
        assert_eq!(out.code(), 0, "check {}\n{out}", file.display());
        assert!(
            out.stdout.contains("total:"),
            "check {}\n{out}",
            file.display()
        );
    }
}

/// Every example runs with `--sim` to success, and its log is complete: `start` first,
/// `stop` (success) last, one record per sweep point as counted in `total_points`. A point
/// that reads back the voltage it set (`as: readback`, as `sweep.yaml` does) reads exactly
/// that: points of one channel never overlap unless the example says they may.
#[test]
fn every_example_runs_on_the_simulator() {
    let scratch = Scratch::new();
    for file in examples() {
        let file = fast_copy(&scratch, &file);
        let name = file.file_stem().unwrap().to_string_lossy().into_owned();
        let log = scratch.join(&format!("{name}.jsonl"));
        let out = scratch.sequencer([
            Path::new("run"),
            &file,
            Path::new("--sim"),
            Path::new("-o"),
            &log,
        ]);
        assert_eq!(out.code(), 0, "run {}\n{out}", file.display());
        let records = read_log(&log);
        assert_eq!(records[0]["type"], "start", "{name}: first record");
        assert_eq!(
            of_type(&records, "start").len(),
            1,
            "{name}: one start record"
        );
        let stop = stop(&records);
        assert_eq!(stop["exit_status"], "success", "{name}: {stop}");
        let total = records[0]["total_points"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name}: no total_points in {}", records[0]));
        assert!(total > 0, "{name}: an example with no points");
        assert_eq!(
            step_points(&records).len() as u64,
            total,
            "{name}: point records"
        );
        assert_eq!(stop["points_ok"].as_u64(), Some(total), "{name}: {stop}");
        assert_eq!(stop["points_not_run"].as_u64(), Some(0), "{name}: {stop}");
        for p in step_points(&records) {
            let Some(read) = p["values"]["readback"].as_str() else {
                continue;
            };
            let read: f64 = read
                .parse()
                .unwrap_or_else(|e| panic!("{name}: read-back `{read}`: {e}"));
            assert_eq!(p["vars"]["volt"].as_f64(), Some(read), "{name}: {p}");
        }
    }
}

/// The plan of a repeated step without a sweep gives its point count once: `3 points`, not
/// `3 points x 3 repeats` (which reads as 9).
#[test]
fn plan_counts_repeats_once() {
    let scratch = Scratch::new();
    scratch.write(
        "repeat.yaml",
        "name: repeat\ninstrument: {max_connections: 1}\nsteps:\n  - name: warm\n    repeat: 3\n    commands: [\"*OPC?\"]\n",
    );
    let out = scratch.sequencer(["check", "repeat.yaml"]);
    assert_eq!(out.code(), 0, "{out}");
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("step `warm`"))
        .unwrap_or_else(|| panic!("no plan line for `warm`\n{out}"));
    assert!(line.contains("3 points"), "{line}");
    assert!(!line.contains("points x"), "{line}");
    assert!(out.stdout.contains("total: 3 points"), "{out}");
}

/// The cryostat example (issue 15) checks as a tree: the loop's iterations times its body's
/// points, the `on: tc` read counted under `iv`. Its fast copy runs: ids are paths, vars
/// hold the loop's setpoint (and `volt` in `iv`), every IV point reads the settled
/// temperature over a borrowed `tc` connection and a current as the SMU's device file
/// makes it; `export` has a column per loop variable and a row per point, and `plot
/// --group setpoint` draws one IV curve per temperature.
#[test]
fn cryostat_example_checks_as_a_tree_and_runs() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("sequences/cryostat-iv.yaml");
    let scratch = Scratch::new();
    let out = scratch.sequencer([Path::new("check"), &file]);
    assert_eq!(out.code(), 0, "{out}");
    for line in [
        "loop `T`: 5 iterations x (settle 1 + iv 21) = 110 points; setpoint (5)\n",
        "  step `settle` on `tc`: 1 point; 2 commands each\n",
        "  step `iv` on `smu`: 21 points, one at a time; volt (21), 4 commands each (1 on `tc`); \
         let `ilim`; stop when `abs(current) >= 0.99 * ilim` (next: T)\n",
        "total: 110 points, 438 commands",
    ] {
        assert!(out.stdout.contains(line), "no `{line}` in\n{out}");
    }
    let fast = fast_copy(&scratch, &file);
    let log = scratch.join("cryostat.jsonl");
    let out = scratch.sequencer([
        Path::new("run"),
        &fast,
        Path::new("--sim"),
        Path::new("-o"),
        &log,
    ]);
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("110 of 110 points ok"), "{out}");
    let records = read_log(&log);
    assert_eq!(step_points(&records).len(), 110, "{out}");
    // The simulated current (about 150 uA) stays below the 1 mA compliance: no break.
    assert!(of_type(&records, "break").is_empty(), "{out}");
    // The controller's connections: those its own points (setup, settle) ran on.
    let tc_conns: BTreeSet<u64> = of_type(&records, "point")
        .iter()
        .filter(|p| p["instrument"] == "tc")
        .filter_map(|p| p["conn"].as_u64())
        .collect();
    assert!(!tc_conns.is_empty(), "no point ran on `tc`");
    for (t, setpoint) in FAST_SETPOINTS.iter().enumerate() {
        let settle = point(&records, &format!("T/{t}/settle/0"));
        assert_eq!(settle["step"], format!("T/{t}/settle"), "{settle}");
        assert_eq!(settle["instrument"], "tc", "{settle}");
        assert_eq!(
            settle["vars"].as_object().map(serde_json::Map::len),
            Some(1)
        );
        assert_eq!(
            settle["vars"]["setpoint"].as_f64(),
            Some(*setpoint),
            "{settle}"
        );
        let mut currents = BTreeSet::new();
        for v in 0..21 {
            let id = format!("T/{t}/iv/{v}");
            let p = point(&records, &id);
            assert_eq!(p["status"], "ok", "{p}");
            assert_eq!(p["step"], format!("T/{t}/iv"), "{p}");
            assert_eq!(p["index"].as_u64(), Some(v), "{p}");
            assert_eq!(p["vars"]["setpoint"].as_f64(), Some(*setpoint), "{p}");
            assert_eq!(p["vars"]["ilim"].as_f64(), Some(1e-3), "{p}");
            let volt = p["vars"]["volt"].as_f64().unwrap_or_else(|| panic!("{p}"));
            assert!((volt - 0.05 * v as f64).abs() < 1e-9, "{p}");
            assert_iv_exchanges(p, *setpoint, &tc_conns);
            currents.insert(p["values"]["current"].as_str().unwrap().to_owned());
        }
        // The SMU's current is noise around 150 uA: one reading per voltage, all different.
        assert_eq!(currents.len(), 21, "T/{t}: currents {currents:?}");
    }
    assert_export_and_plot(&scratch, &log);
}

/// The cryostat example's compliance stop fires when the limit is below the simulated
/// current (`--set imax=1e-4`; the default 1 mA is never reached, the simulated current
/// being noise around 150 uA): each curve ends at its first point with a `break` record
/// (`next: T`), the loop goes on with the next temperature, and the run succeeds with the
/// rest of every curve skipped.
#[test]
fn cryostat_compliance_stop_skips_the_rest_of_each_curve() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("sequences/cryostat-iv.yaml");
    let scratch = Scratch::new();
    let fast = fast_copy(&scratch, &file);
    let log = scratch.join("compliance.jsonl");
    let out = scratch.sequencer([
        Path::new("run"),
        &fast,
        Path::new("--sim"),
        Path::new("--set"),
        Path::new("imax=1e-4"),
        Path::new("-o"),
        &log,
    ]);
    assert_eq!(out.code(), 0, "{out}");
    let records = read_log(&log);
    let breaks = of_type(&records, "break");
    assert_eq!(breaks.len(), 5, "{out}");
    for (t, b) in breaks.iter().enumerate() {
        assert_eq!(b["id"], format!("T/{t}/iv/0"), "{b}");
        assert_eq!(b["action"]["next"], "T", "{b}");
        assert_eq!(b["values"]["ilim"].as_f64(), Some(1e-4), "{b}");
        let current = b["values"]["current"]
            .as_f64()
            .unwrap_or_else(|| panic!("{b}"));
        assert!(current >= 0.99e-4, "{b}");
    }
    let s = stop(&records);
    assert_eq!(s["exit_status"], "success", "{s}");
    assert_eq!(s["points_ok"].as_u64(), Some(5 + 5), "{s}");
    assert_eq!(s["points_skipped"].as_u64(), Some(5 * 20), "{s}");
    assert_eq!(s["points_not_run"].as_u64(), Some(0), "{s}");
}

/// One IV point's exchanges: the compliance (`ilim`, 1 mA at these temperatures) and the
/// voltage set, the current read on the SMU's own connection (numeric, within the device file's 140 uA to 160 uA), and `TEMP?` on `tc`
/// over one of `tc`'s connections, within 50 mK of `setpoint`, kept as `temperature`.
fn assert_iv_exchanges(p: &Value, setpoint: f64, tc_conns: &BTreeSet<u64>) {
    let commands = p["commands"].as_array().unwrap_or_else(|| panic!("{p}"));
    assert_eq!(commands.len(), 4, "{p}");
    let volt = p["vars"]["volt"].as_f64().unwrap();
    let sent: Vec<&str> = commands.iter().filter_map(|c| c["sent"].as_str()).collect();
    assert_eq!(
        sent,
        [
            "SOUR1:CURR:LIM 0.001",
            &format!("SOUR1:VOLT {volt}")[..],
            "MEAS1:CURR?",
            "TEMP?"
        ],
        "{p}"
    );
    for own in &commands[..3] {
        assert!(own.get("on").is_none() && own.get("conn").is_none(), "{p}");
    }
    let current: f64 = commands[2]["reply"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("current not a number: {p}"));
    assert!((1.4e-4..=1.6e-4).contains(&current), "{p}");
    assert_eq!(p["values"]["current"], commands[2]["reply"], "{p}");
    let temp = &commands[3];
    assert_eq!(temp["on"], "tc", "{p}");
    let conn = temp["conn"]
        .as_u64()
        .unwrap_or_else(|| panic!("no conn: {p}"));
    assert!(
        tc_conns.contains(&conn),
        "conn {conn} is not one of tc's {tc_conns:?}: {p}"
    );
    assert_ne!(temp["conn"], p["conn"], "{p}");
    let kelvin: f64 = temp["reply"]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("temperature not a number: {p}"));
    assert!(
        (kelvin - setpoint).abs() <= 0.05,
        "not settled at {setpoint} K: {p}"
    );
    assert_eq!(p["values"]["temperature"], temp["reply"], "{p}");
}

/// `export` of the cryostat run: a column for each loop variable, one row per point;
/// `plot --x volt --y current --group setpoint`: one series (data line and legend entry)
/// per temperature.
fn assert_export_and_plot(scratch: &Scratch, log: &Path) {
    let out = scratch.sequencer([Path::new("export"), log]);
    assert_eq!(out.code(), 0, "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "id,step,setpoint,volt,ilim,current,temperature,status,attempt,started_at,elapsed_ms"
    );
    assert_eq!(lines.len(), 1 + 110, "{out}");
    assert!(
        lines[1].starts_with("T/0/settle/0,T/0/settle,295,,,,,ok,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("T/0/iv/0,T/0/iv,295,0"),
        "{}",
        lines[2]
    );
    let svg = scratch.join("iv.svg");
    let out = scratch.sequencer([
        Path::new("plot"),
        log,
        Path::new("--x"),
        Path::new("volt"),
        Path::new("--y"),
        Path::new("current"),
        Path::new("--group"),
        Path::new("setpoint"),
        Path::new("-o"),
        &svg,
    ]);
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("105 points in 5 series"), "{out}");
    let svg = std::fs::read_to_string(&svg).expect("no plot written");
    assert_eq!(data_lines(&svg).len(), 5, "one line per temperature");
    let texts = svg_texts(&svg);
    for setpoint in ["295", "295.5", "296", "296.5", "297"] {
        let label = format!("setpoint = {setpoint}");
        assert!(texts.contains(&label), "no `{label}` in {texts:?}");
    }
}
