//! `sequencer sim --device` and `run --sim` with device files: the ramping setpoint polled
//! until it settles, a device's own connection limit, and bad device files refused with
//! `file:line:col` and exit 2.

use std::io::Read;
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::support::{Probe, Scratch, Serving, millis, point, stop};

/// A temperature controller whose setpoint ramps at 2 K/s from 10 K (a pyvisa-sim device
/// file with the `ramp:` extension).
const RAMPING: &str = r#"
spec: "1.1"
devices:
  tc:
    eom:
      TCPIP SOCKET: {q: "\n", r: "\n"}
    error: ERROR
    dialogues:
      - {q: "*IDN?", r: "TEST,TC,0,1"}
    properties:
      temperature:
        default: 10.0
        getter: {q: "TEMP?", r: "{:.3f}"}
        setter: {q: "TEMP:SETP {}", r: OK, e: OUT OF RANGE}
        specs: {type: float, min: 1, max: 400}
        ramp: 2
"#;

/// Sets 11 K then 10 K: each point polls `TEMP?` until within 20 mK of `{setpoint}`.
const SETTLE: &str = r#"
name: settle
instrument:
  max_connections: 1
  sim: {device: tc.yaml}
steps:
  - name: steps
    sweep: {setpoint: [11, 10]}
    concurrency: 1
    commands:
      - {query: "TEMP:SETP {setpoint}", expect: OK}
      - {poll: "TEMP?", until: {within: 0.02, of: "{setpoint}"}, every: 20ms, timeout: 5s, as: reading}
"#;

/// The reading ramps: a 1 K step at 2 K/s takes about half a second of polling, the
/// intermediate readings move monotonically towards the setpoint, and the last one is
/// within tolerance of it.
#[test]
fn poll_waits_for_a_ramping_setpoint() {
    let scratch = Scratch::new();
    scratch.write("tc.yaml", RAMPING);
    let (out, records) = scratch.run("settle.yaml", SETTLE, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(stop(&records)["exit_status"], "success");
    for (id, from, to) in [("steps/0", 10.0, 11.0), ("steps/1", 11.0, 10.0)] {
        let p = point(&records, id);
        let readings: Vec<f64> = p["commands"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["sent"] == "TEMP?")
            .map(|c| c["reply"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(readings.len() >= 5, "{id}: polled only {readings:?}");
        let toward = |a: f64, b: f64| if to > from { a <= b } else { a >= b };
        assert!(
            readings.windows(2).all(|w| toward(w[0], w[1])),
            "{id}: readings do not move towards {to}: {readings:?}"
        );
        assert!((readings[0] - from).abs() < 0.5, "{id}: {readings:?}");
        let last = *readings.last().unwrap();
        assert!((last - to).abs() <= 0.02, "{id}: settled at {last}");
        // 1 K at 2 K/s is 500 ms; generous bounds, this is not a timing benchmark.
        let elapsed = millis(p, "elapsed_ms");
        assert!(
            elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(4),
            "{id}: {elapsed:?}"
        );
    }
}

/// A poll bound naming a variable that does not exist is refused before anything is sent.
#[test]
fn poll_bound_must_name_a_sweep_variable() {
    let scratch = Scratch::new();
    scratch.write("tc.yaml", RAMPING);
    let bad = SETTLE.replace("of: \"{setpoint}\"", "of: \"{setpiont}\"");
    let (out, records) = scratch.run("settle.yaml", &bad, &["--sim"]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(records.is_empty());
    let err = out.stderr_flat();
    assert!(err.contains("settle.yaml:12:51"), "{err}");
    assert!(err.contains("unknown variable `setpiont`"), "{err}");
}

/// `max_connections:` in a device file limits the sim like `--max-connections`.
#[test]
fn device_max_connections_is_enforced() {
    let scratch = Scratch::new();
    let file = scratch.write(
        "two.yaml",
        &RAMPING.replace("  tc:\n", "  tc:\n    max_connections: 2\n"),
    );
    let server = Serving::spawn(
        Path::new("."),
        ["sim", "--listen", "127.0.0.1:0", "--device"]
            .iter()
            .map(Path::new)
            .chain([file.as_path()]),
    );
    let mut a = Probe::connect(server.addr());
    let mut b = Probe::connect(server.addr());
    assert_eq!(a.query("*IDN?"), "TEST,TC,0,1");
    assert_eq!(b.query("TEMP?"), "10.000");
    // The third connection is accepted and closed at once: it reads EOF.
    let mut c = TcpStream::connect(server.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut rest = Vec::new();
    let closed = c.read_to_end(&mut rest).map_or_else(
        |e| e.kind() == std::io::ErrorKind::ConnectionReset,
        |n| n == 0,
    );
    assert!(closed, "a third connection was served");
    assert_eq!(a.query("TEMP:SETP 500"), "OUT OF RANGE");
    assert_eq!(b.query("NOPE?"), "ERROR");
}

/// A bad device file is refused with exit 2 and every problem at `file:line:col`.
#[test]
fn bad_device_file_is_refused_with_its_location() {
    let scratch = Scratch::new();
    let bad = RAMPING
        .replace("type: float", "type: double")
        .replace("r: \"TEST,TC,0,1\"}", "r: \"TEST,TC,0,1\", delay: soon}");
    let file = scratch.write("bad.yaml", &bad);
    let out = scratch.sequencer([Path::new("sim"), Path::new("--device"), &file]);
    assert_eq!(out.code(), 2, "{out}");
    let err = out.stderr_flat();
    assert!(
        err.contains("bad.yaml:15:23"),
        "type problem not located: {err}"
    );
    assert!(
        err.contains("bad.yaml:9:"),
        "delay problem not located: {err}"
    );
    assert!(err.contains("soon"), "{err}");
    assert!(err.contains("double"), "{err}");
}

/// A file with several devices needs `--name`; the error lists them.
#[test]
fn several_devices_need_a_name() {
    let scratch = Scratch::new();
    let two = RAMPING.replace("devices:\n", "devices:\n  other:\n    error: ERROR\n");
    let file = scratch.write("two.yaml", &two);
    let out = scratch.sequencer([Path::new("sim"), Path::new("--device"), &file]);
    assert_eq!(out.code(), 2, "{out}");
    let err = out.stderr_flat();
    assert!(err.contains("other") && err.contains("tc"), "{err}");
    assert!(err.contains("--name"), "{err}");
    let out = scratch.sequencer([
        Path::new("sim"),
        Path::new("--device"),
        &file,
        Path::new("--name"),
        Path::new("nope"),
    ]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(out.stderr_flat().contains("nope"), "{out}");
}

/// `check` loads each instrument's `sim:` device file, as `run --sim` would: a missing or
/// bad one is exit 2 from `check` already, naming the instrument and the `sim:` line of
/// the sequence; `run --sim` refuses it with the same message.
#[test]
fn check_loads_sim_device_files() {
    let scratch = Scratch::new();
    scratch.write("seq.yaml", SETTLE);
    let named =
        "instrument `instrument`: the `sim:` device file `tc.yaml` (named at seq.yaml:5:17)";
    let missing = scratch.sequencer(["check", "seq.yaml"]);
    assert_eq!(missing.code(), 2, "{missing}");
    let err = missing.stderr_flat();
    assert!(err.contains(&format!("{named} cannot be read")), "{err}");
    assert!(!err.contains("--device"), "{err}");
    scratch.write("tc.yaml", &RAMPING.replace("type: float", "type: double"));
    for args in [&["check", "seq.yaml"][..], &["run", "seq.yaml", "--sim"]] {
        let bad = scratch.sequencer(args);
        assert_eq!(bad.code(), 2, "{args:?}: {bad}");
        let err = bad.stderr_flat();
        assert!(
            err.contains(&format!("{named} is not valid")),
            "{args:?}: {err}"
        );
        assert!(err.contains("tc.yaml:15:23"), "{args:?}: {err}");
    }
    scratch.write("tc.yaml", RAMPING);
    let good = scratch.sequencer(["check", "seq.yaml"]);
    assert_eq!(good.code(), 0, "{good}");
}

/// One query of the temperature controller's identity.
const IDN: &str = r#"
name: idn
instrument:
  max_connections: 1
steps:
  - name: s
    commands:
      - {query: "*IDN?", expect: "TEST,TC,0,1"}
"#;

/// `--sim-latency` and `--fault` shape any simulator of `run`: with `--device` or
/// `--replay` (which imply `--sim`) as with `--sim`; without any of them they are refused.
#[test]
fn sim_options_go_with_device_and_replay() {
    let scratch = Scratch::new();
    scratch.write("tc.yaml", RAMPING);
    scratch.write("idn.yaml", IDN);
    let shaped = ["--sim-latency", "1ms", "--fault", "drop-after=1000"];
    let device = [
        &["run", "idn.yaml", "--device", "tc.yaml", "-o", "a.jsonl"][..],
        &shaped,
    ]
    .concat();
    let out = scratch.sequencer(device);
    assert_eq!(out.code(), 0, "{out}");
    let replay = [
        &["run", "idn.yaml", "--replay", "a.jsonl", "-o", "b.jsonl"][..],
        &shaped,
    ]
    .concat();
    let out = scratch.sequencer(replay);
    assert_eq!(out.code(), 0, "{out}");
    let out = scratch.sequencer(["run", "idn.yaml", "--sim-latency", "1ms"]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("add --sim, --device FILE or --replay LOG"),
        "{out}"
    );
}

/// Warnings about a device file are capped like problems: the first 50, then a count.
#[test]
fn device_file_warnings_are_capped() {
    let scratch = Scratch::new();
    let keys: String = (0..200)
        .map(|i| format!("    vendor{i}: x\n"))
        .collect::<Vec<_>>()
        .concat();
    scratch.write(
        "tc.yaml",
        &RAMPING.replace("    error: ERROR\n", &format!("    error: ERROR\n{keys}")),
    );
    scratch.write("seq.yaml", SETTLE);
    let out = scratch.sequencer(["check", "seq.yaml"]);
    assert_eq!(out.code(), 0, "{out}");
    let err = out.stderr_flat();
    assert_eq!(err.matches("unknown key `vendor").count(), 50, "{err}");
    assert!(
        err.contains("... and 150 more warnings, not shown"),
        "{err}"
    );
}
