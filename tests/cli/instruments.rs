//! Several instruments in one run (`instruments:`): each gets its own pool and, with
//! `--sim`, its own simulator (with its own `sim:` device file); `--address NAME=ADDR`
//! points one of them elsewhere; a wrong NAME is a usage error that lists the names; and
//! validation errors inside an instrument's entry name it.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::support::{Probe, Scratch, point, read_log, sim, stop};

/// Two instruments on the generic simulator: `a` keeps at most 1 connection, `b` 3. Setup
/// stores a different `WHO` on each; the steps read it back and ask each simulator for its
/// peak number of connections. `{a}` and `{b}` stand for more keys of each instrument.
const TWO: &str = r#"
instruments:
  a:
    max_connections: 1
    {a}
  b:
    max_connections: 3
    {b}
setup:
  a: ["WHO alpha"]
  b: ["WHO beta"]
steps:
  - name: on_a
    instrument: a
    commands: [{query: "WHO?", as: who}, {query: "SIM:CONN:PEAK?", as: peak}]
  - name: on_b
    instrument: b
    commands: [{query: "WHO?", as: who}, {query: "SIM:CONN:PEAK?", as: peak}]
"#;

/// [`TWO`] with one more key (`key: value`, or nothing) in each instrument.
fn two(a_extra: &str, b_extra: &str) -> String {
    TWO.replace("{a}", a_extra).replace("{b}", b_extra)
}

/// A `start` record's instrument entry by name.
fn started<'a>(records: &'a [Value], name: &str) -> &'a Value {
    records[0]["instruments"]
        .as_array()
        .and_then(|list| list.iter().find(|i| i["name"] == name))
        .unwrap_or_else(|| panic!("no instrument `{name}` in {}", records[0]))
}

/// With `--sim`, each instrument gets its own simulator and its own pool: what setup stored
/// on `a` is read back on `a` and not on `b`, each simulator saw exactly its instrument's
/// pool size in connections (one shared simulator would have seen 4), the `start` record
/// lists two simulated instruments on two addresses, and point records name their
/// instrument.
#[test]
fn each_instrument_gets_its_own_pool_and_simulator() {
    let scratch = Scratch::new();
    let (out, records) = scratch.run("two.yaml", &two("", ""), &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(stop(&records)["exit_status"], "success");
    let (a, b) = (point(&records, "on_a/0"), point(&records, "on_b/0"));
    assert_eq!(a["values"]["who"], "alpha", "{a}");
    assert_eq!(b["values"]["who"], "beta", "{b}");
    assert_eq!(
        a["values"]["peak"], "1",
        "a's simulator: a's pool of 1\n{a}"
    );
    assert_eq!(
        b["values"]["peak"], "3",
        "b's simulator: b's pool of 3\n{b}"
    );
    assert_ne!(
        a["conn"], b["conn"],
        "connection ids are unique across pools"
    );
    // Every point record names its instrument; setup ran once on each, in file order.
    assert_eq!(a["instrument"], "a");
    assert_eq!(b["instrument"], "b");
    assert_eq!(point(&records, "setup/0")["instrument"], "a");
    assert_eq!(point(&records, "setup/1")["instrument"], "b");
    let (sa, sb) = (started(&records, "a"), started(&records, "b"));
    assert_eq!(sa["simulated"], true);
    assert_eq!(sb["simulated"], true);
    assert_eq!(sa["max_connections"], 1);
    assert_eq!(sb["max_connections"], 3);
    assert_ne!(sa["address"], sb["address"], "one simulator each");
}

/// With `--sim`, each instrument's `sim: {device: FILE}` picks its own pyvisa-sim device:
/// `*IDN?` on each instrument is answered by its own device file.
#[test]
fn each_simulator_serves_its_instruments_device_file() {
    let devices = Path::new(env!("CARGO_MANIFEST_DIR")).join("sequences/devices");
    let yaml = format!(
        r#"
instruments:
  tc: {{sim: {{device: "{tc}"}}}}
  smu: {{sim: {{device: "{smu}"}}}}
steps:
  - {{name: tc_id, instrument: tc, commands: [{{query: "*IDN?", as: idn}}]}}
  - {{name: smu_id, instrument: smu, commands: [{{query: "*IDN?", as: idn}}]}}
"#,
        tc = devices.join("tempcontroller.yaml").display(),
        smu = devices.join("smu.yaml").display(),
    );
    let scratch = Scratch::new();
    let (out, records) = scratch.run("devices.yaml", &yaml, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(
        point(&records, "tc_id/0")["values"]["idn"],
        "SEQUENCER,TC-400,0,1.0"
    );
    assert_eq!(
        point(&records, "smu_id/0")["values"]["idn"],
        "SEQUENCER,SMU-2,0,1.0"
    );
}

/// `--address a=ADDR` points `a` at another instrument and leaves `b` at the address in the
/// file: each simulator holds the value its own instrument's setup stored.
#[test]
fn address_overrides_one_of_two_instruments() {
    let (sim_a, sim_b) = (sim(Duration::ZERO, None), sim(Duration::ZERO, None));
    // `a`'s address in the file is wrong on purpose: only the override can make it work.
    let yaml = two(
        "address: \"127.0.0.1:1\"",
        &format!("address: \"{}\"", sim_b.addr()),
    );
    let scratch = Scratch::new();
    let override_a = format!("a={}", sim_a.addr());
    let (out, records) = scratch.run("two.yaml", &yaml, &["--address", &override_a]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(started(&records, "a")["address"], sim_a.addr().to_string());
    assert_eq!(started(&records, "b")["address"], sim_b.addr().to_string());
    assert_eq!(started(&records, "a")["simulated"], false);
    assert_eq!(Probe::connect(sim_a.addr()).query("WHO?"), "alpha");
    assert_eq!(Probe::connect(sim_b.addr()).query("WHO?"), "beta");
}

/// `--address` with a name no instrument has, or without a name when there are several,
/// exits 2 listing the instrument names, and sends nothing (no connection reaches the
/// instruments, no run log is written).
#[test]
fn address_for_an_unknown_instrument_exits_2_listing_the_names() {
    let instrument = sim(Duration::ZERO, None);
    let addr = instrument.addr().to_string();
    let yaml = two(
        &format!("address: \"{addr}\""),
        &format!("address: \"{addr}\""),
    );
    let scratch = Scratch::new();
    for (flag, says) in [
        (format!("c={addr}"), "no instrument named `c`"),
        (addr.clone(), "this sequence has several instruments"),
    ] {
        let (out, records) = scratch.run("two.yaml", &yaml, &["--address", &flag]);
        assert_eq!(out.code(), 2, "--address {flag}\n{out}");
        let stderr = out.stderr_flat();
        assert!(stderr.contains(says), "--address {flag}\n{out}");
        assert!(stderr.contains("(instruments: `a`, `b`)"), "{out}");
        assert!(records.is_empty(), "a run log was written: {records:?}");
    }
    // The probe's own connection is the only one the instrument ever had.
    assert_eq!(
        Probe::connect(instrument.addr()).query("SIM:CONN:PEAK?"),
        "1"
    );
}

/// Problems inside an instrument's entry of `instruments:` name the instrument, whether
/// found while reading the YAML (a duration without a unit, an unknown key, in block or
/// flow style) or while validating (a bad address, a zero timeout, a pool of 0), and so do
/// a bad `--address NAME=ADDR` and an unreadable `sim:` device file.
#[test]
fn validation_errors_name_the_instrument() {
    let scratch = Scratch::new();
    let step = "steps:\n  - {name: s, instrument: smu, commands: [\"*OPC?\"]}\n";
    let table = [
        (
            "instruments:\n  tc: {}\n  smu:\n    address: nowhere\n",
            "instrument `smu`: address `nowhere` has no port",
        ),
        (
            "instruments:\n  tc: {}\n  smu:\n    timeout: 0s\n",
            "instrument `smu`: `timeout` must be more than 0",
        ),
        (
            "instruments:\n  smu: {max_connections: 0}\n  tc: {}\n",
            "instrument `smu`: `max_connections` must be at least 1",
        ),
        (
            "instruments:\n  tc: {}\n  smu:\n    timeout: 2\n",
            "instrument `smu`: bad duration `2`",
        ),
        (
            "instruments: {tc: {}, smu: {timeout: 2}}\n",
            "instrument `smu`: bad duration `2`",
        ),
        (
            "instruments:\n  tc: {}\n  smu:\n    adress: \"127.0.0.1:5025\"\n",
            "instrument `smu`: unknown field `adress`",
        ),
    ];
    for (instruments, says) in table {
        let text = format!("{instruments}{step}");
        scratch.write("bad.yaml", &text);
        let out = scratch.sequencer(["check", "bad.yaml"]);
        assert_eq!(out.code(), 2, "{text}\n{out}");
        assert!(
            out.stderr_flat().contains(says),
            "wanted `{says}`\n{text}\n{out}"
        );
    }
    // Outside `instruments:` nothing is attributed to an instrument.
    scratch.write(
        "bad.yaml",
        &format!("instruments: {{smu: {{}}}}\n{step}timeout: 2s\n"),
    );
    let out = scratch.sequencer(["check", "bad.yaml"]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(!out.stderr_flat().contains("instrument `smu`"), "{out}");

    let yaml =
        format!("instruments:\n  tc: {{}}\n  smu: {{sim: {{device: missing.yaml}}}}\n{step}");
    let (out, _) = scratch.run("sim.yaml", &yaml, &["--sim"]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("instrument `smu`: the `sim:` device file `missing.yaml` (named at sim.yaml:3:23) cannot be read"),
        "{out}"
    );
    let (out, _) = scratch.run("two.yaml", &yaml, &["--address", "smu=nowhere"]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("--address: instrument `smu`: address `nowhere` has no port"),
        "{out}"
    );
}

/// The example `sequences/two-instruments.yaml` (a loop over two setpoints) runs with
/// `--sim`: each iteration's `settle` reaches its setpoint on the controller's simulator and
/// its `iv` points, which carry the setpoint in their vars, read currents from the SMU's.
#[test]
fn the_two_instruments_example_runs() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("sequences/two-instruments.yaml");
    let scratch = Scratch::new();
    let log = scratch.join("run.jsonl");
    let out = scratch.sequencer([
        Path::new("run"),
        &file,
        Path::new("--sim"),
        Path::new("-o"),
        &log,
    ]);
    assert_eq!(out.code(), 0, "{out}");
    let records = read_log(&log);
    for (id, setpoint) in [("T/0/settle/0", 296.0), ("T/1/settle/0", 298.0)] {
        let reading: f64 = point(&records, id)["values"]["temperature"]
            .as_str()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("{id}: no temperature"));
        assert!((reading - setpoint).abs() <= 0.05, "{id}: {reading}");
    }
    let iv = point(&records, "T/1/iv/5");
    assert_eq!(iv["vars"]["setpoint"].as_f64(), Some(298.0), "{iv}");
    let current: f64 = iv["values"]["current"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("T/1/iv/5: a numeric current");
    assert!(current > 0.0 && current < 1e-3, "{current}");
}
