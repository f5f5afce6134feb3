//! Record and replay: a run recorded against one simulator is replayed by `sim --replay`
//! (or `run --replay`) and `sequencer diff` finds the two run logs equal; a changed reply
//! makes `diff` exit 1 and name the point. Replays keep instruments apart, frame messages
//! with the recorded terminations, answer `on_connect` commands from the log's connect
//! records, and report what they could not answer or was never asked.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

use crate::support::{GUARD, Probe, Scratch, Serving, of_type, read_log, stop};

/// Four connections, the two channels in parallel (`parallel: [ch]`); replies that depend
/// on what each point set before.
const SWEEP: &str = r#"
name: rec
instrument: {max_connections: 4}
setup: ["*RST"]
steps:
  - name: iv
    sweep:
      ch: [1, 2]
      volt: {start: 0, stop: 1, num: 6}
    parallel: [ch]
    commands:
      - "SOUR{ch}:VOLT {volt}"
      - {query: "SOUR{ch}:VOLT?", as: readback}
      - {query: "*OPC?", expect: "1"}
"#;

/// Runs `diff a b` and returns its output.
fn diff(scratch: &Scratch, a: &Path, b: &Path) -> crate::support::Output {
    scratch.sequencer([Path::new("diff"), a, b])
}

/// A run replayed by a separate `sequencer sim --replay` process reproduces the same run
/// log under `diff`, although points arrive on other connections in another order.
#[test]
fn replayed_run_matches_the_recording() {
    let scratch = Scratch::new();
    let (out, records) = scratch.run("rec.yaml", SWEEP, &["--sim", "--sim-latency", "2ms"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(stop(&records)["exit_status"], "success");
    let golden = scratch.join("rec.yaml.jsonl");

    let server = Serving::spawn(
        Path::new("."),
        [
            Path::new("sim"),
            Path::new("--listen"),
            Path::new("127.0.0.1:0"),
        ]
        .into_iter()
        .chain([Path::new("--replay"), golden.as_path()])
        .chain([Path::new("--replay-speed"), Path::new("0")]),
    );
    let replayed = scratch.join("replayed.jsonl");
    let addr = server.addr().to_string();
    let out = scratch.sequencer([
        Path::new("run"),
        Path::new("rec.yaml"),
        Path::new("--address"),
        Path::new(&addr),
        Path::new("-o"),
        &replayed,
    ]);
    assert_eq!(out.code(), 0, "{out}");
    let out = diff(&scratch, &golden, &replayed);
    assert_eq!(out.code(), 0, "{out}");
    assert!(
        out.stdout
            .contains("runs match: 12 points (and 1 setup/teardown point)"),
        "{out}"
    );
}

/// `run --replay` does the same in one command, and the simulator reports commands it had
/// no recording for (here: a step added to the sequence after the recording), and recorded
/// points never replayed (here: a sequence that lost its setup).
#[test]
fn run_replay_reports_unrecorded_commands() {
    let scratch = Scratch::new();
    let (out, _) = scratch.run("rec.yaml", SWEEP, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let golden = scratch.join("rec.yaml.jsonl");
    let golden_arg = golden.to_str().unwrap();
    let (out, _) = scratch.run("same.yaml", SWEEP, &["--replay", golden_arg]);
    assert_eq!(out.code(), 0, "{out}");
    // The simulator reports nothing: no command without recording, no point left over.
    assert!(!out.stderr.contains("simulator: replay of"), "{out}");
    assert!(!out.stderr.contains("had no recording"), "{out}");
    let out = diff(&scratch, &golden, &scratch.join("same.yaml.jsonl"));
    assert_eq!(out.code(), 0, "{out}");

    let changed = format!("{SWEEP}  - name: extra\n    commands: [\"NEW:CMD?\"]\n");
    let (out, records) = scratch.run("changed.yaml", &changed, &["--replay", golden_arg]);
    // The unrecorded query is answered with the replay's device error, which the point
    // accepts (it has no expect); the report names it.
    assert_eq!(out.code(), 0, "{out}");
    assert!(
        out.stderr_flat()
            .contains("1 command had no recording (1 query answered `ERROR`): 1x NEW:CMD?"),
        "{out}"
    );
    let extra = crate::support::point(&records, "extra/0");
    assert_eq!(extra["commands"][0]["reply"], "ERROR");
    // And diff sees the new point.
    let out = diff(&scratch, &golden, &scratch.join("changed.yaml.jsonl"));
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stdout.contains("extra/0"), "{out}");

    let lost = SWEEP.replace("setup: [\"*RST\"]\n", "");
    assert_ne!(lost, SWEEP);
    let (out, _) = scratch.run("lost.yaml", &lost, &["--replay", golden_arg]);
    assert_eq!(out.code(), 0, "{out}");
    assert!(
        out.stderr_flat()
            .contains("rec.yaml.jsonl`: 1 of 13 recorded points were never replayed: setup/0"),
        "{out}"
    );
    assert!(!out.stderr.contains("had no recording"), "{out}");
}

/// A changed reply makes `diff` exit 1 and list the point, the command and both replies.
#[test]
fn diff_reports_a_changed_reply() {
    let scratch = Scratch::new();
    let (out, _) = scratch.run("rec.yaml", SWEEP, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let golden = scratch.join("rec.yaml.jsonl");
    let text = std::fs::read_to_string(&golden).unwrap();
    let edited: String = text
        .lines()
        .map(|line| {
            if line.contains("\"id\":\"iv/3\"") {
                line.replace("\"reply\":\"0.6\"", "\"reply\":\"0.61\"")
                    .replace("\"readback\":\"0.6\"", "\"readback\":\"0.61\"")
            } else {
                line.to_owned()
            }
        })
        .map(|line| line + "\n")
        .collect();
    assert_ne!(text, edited, "the fixture no longer has iv/3 = 0.6");
    let changed = scratch.write("changed.jsonl", &edited);
    assert_eq!(read_log(&changed).len(), read_log(&golden).len());
    let out = diff(&scratch, &golden, &changed);
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stdout.contains("iv/3"), "{out}");
    assert!(out.stdout.contains("0.61"), "{out}");
    assert!(out.stdout.contains("1 of 12 points differ"), "{out}");
    // Unreadable input is exit 2, not "different".
    let out = diff(&scratch, &golden, &scratch.join("missing.jsonl"));
    assert_eq!(out.code(), 2, "{out}");
}

/// A pyvisa-sim device whose `*IDN?` names `model`, with `q`/`r` as its terminations.
fn device(model: &str, q: &str, r: &str) -> String {
    format!(
        "spec: \"1.1\"\ndevices:\n  dev:\n    eom:\n      TCPIP SOCKET: {{q: \"{q}\", r: \"{r}\"}}\n    \
         error: ERROR\n    dialogues:\n      - {{q: \"*IDN?\", r: \"ACME,{model},0,1\"}}\n"
    )
}

/// Two instruments that answer the same query differently.
const TWO: &str = r#"
name: two
instruments:
  tc: {max_connections: 1, sim: {device: tc.yaml}}
  smu: {max_connections: 2, sim: {device: smu.yaml}}
setup:
  tc: ["*IDN?"]
  smu: ["*IDN?"]
steps:
  - name: tc_id
    instrument: tc
    commands: [{query: "*IDN?", expect: "ACME,TC,0,1"}]
  - name: smu_id
    instrument: smu
    sweep: {n: [1, 2]}
    commands: [{query: "*IDN?", expect: "ACME,SMU,0,1"}]
"#;

/// `run --replay` of a two-instrument log gives each instrument's simulator only that
/// instrument's records; `sim --replay` of it needs `--instrument` (exit 2 listing the
/// names when missing or unknown) and then serves that instrument alone.
#[test]
fn instruments_are_replayed_apart() {
    let scratch = Scratch::new();
    scratch.write("tc.yaml", &device("TC", "\\n", "\\n"));
    scratch.write("smu.yaml", &device("SMU", "\\n", "\\n"));
    let (out, _) = scratch.run("two.yaml", TWO, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let golden = scratch.join("two.yaml.jsonl");
    let golden_arg = golden.to_str().unwrap();

    let (out, _) = scratch.run(
        "again.yaml",
        TWO,
        &["--replay", golden_arg, "--replay-speed", "0"],
    );
    assert_eq!(out.code(), 0, "{out}");
    assert!(!out.stderr.contains("simulator: replay of"), "{out}");
    let out = diff(&scratch, &golden, &scratch.join("again.yaml.jsonl"));
    assert_eq!(out.code(), 0, "{out}");

    let sim = |extra: &[&str]| {
        let mut args = vec!["sim", "--listen", "127.0.0.1:0", "--replay", golden_arg];
        args.extend(extra);
        scratch.sequencer(args)
    };
    let out = sim(&[]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("records several instruments (`tc`, `smu`): choose the one to replay with `--instrument NAME`"),
        "{out}"
    );
    let out = sim(&["--instrument", "dmm"]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("has no instrument `dmm` (instruments: `tc`, `smu`)"),
        "{out}"
    );
    let server = Serving::spawn(
        Path::new("."),
        ["sim", "--listen", "127.0.0.1:0", "--replay", golden_arg]
            .into_iter()
            .chain(["--instrument", "smu", "--replay-speed", "0"]),
    );
    let mut probe = Probe::connect(server.addr());
    for _ in 0..3 {
        assert_eq!(probe.query("*IDN?"), "ACME,SMU,0,1");
    }
}

/// An instrument with `\r` terminations: the start record holds them, `run --replay` frames
/// with the sequence's, `sim --replay` with the recorded ones.
#[test]
fn replays_use_the_instrument_terminations() {
    let scratch = Scratch::new();
    scratch.write("cr.yaml", &device("CR", "\\r", "\\r"));
    let sequence = r#"
name: cr
instrument:
  max_connections: 2
  write_termination: "\r"
  read_termination: "\r"
  timeout: 5s
  sim: {device: cr.yaml}
steps:
  - name: id
    sweep: {n: [1, 2, 3]}
    commands: [{query: "*IDN?", expect: "ACME,CR,0,1"}]
"#;
    let (out, records) = scratch.run("seq.yaml", sequence, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let entry = &records[0]["instruments"][0];
    assert_eq!(entry["write_termination"], "\r", "{entry}");
    assert_eq!(entry["read_termination"], "\r", "{entry}");
    let golden = scratch.join("seq.yaml.jsonl");
    let golden_arg = golden.to_str().unwrap();

    let (out, _) = scratch.run(
        "again.yaml",
        sequence,
        &["--replay", golden_arg, "--replay-speed", "0"],
    );
    assert_eq!(out.code(), 0, "{out}");
    let out = diff(&scratch, &golden, &scratch.join("again.yaml.jsonl"));
    assert_eq!(out.code(), 0, "{out}");

    let server = Serving::spawn(
        Path::new("."),
        ["sim", "--listen", "127.0.0.1:0", "--replay", golden_arg],
    );
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    stream.write_all(b"*IDN?\r").unwrap();
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while reply.last() != Some(&b'\r') {
        let n = stream
            .read(&mut byte)
            .expect("no reply: the replay did not frame `\\r`");
        assert_eq!(n, 1, "closed after {reply:?}");
        reply.push(byte[0]);
    }
    assert_eq!(reply, b"ACME,CR,0,1\r");
}

/// Checks its connections with a query before they take work.
const GREETED: &str = r#"
name: greeted
instrument:
  max_connections: 2
  on_connect: [{query: "SYST:ERR?", expect: '0,"No error"'}, "SYST:REM"]
steps:
  - name: s
    sweep: {v: [1, 2, 3, 4]}
    commands: ["SOUR1:VOLT {v}", {query: "SOUR1:VOLT?", as: readback}]
"#;

/// `on_connect` exchanges are in the run log, one connect record per connection before any
/// point, so a replay answers them; export ignores them. A replay whose `on_connect` asks
/// what was never recorded fails to connect, and the simulator's report still says why.
#[test]
fn on_connect_is_recorded_and_replayed() {
    let scratch = Scratch::new();
    let (out, records) = scratch.run("greeted.yaml", GREETED, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let connects = of_type(&records, "connect");
    assert_eq!(connects.len(), 2, "{records:#?}");
    let first_point = records.iter().position(|r| r["type"] == "point").unwrap();
    let mut conns = Vec::new();
    for (i, record) in records
        .iter()
        .enumerate()
        .filter(|(_, r)| r["type"] == "connect")
    {
        assert!(
            i < first_point,
            "connect record after a point: {records:#?}"
        );
        assert_eq!(record["instrument"], "instrument");
        assert!(
            record["at"].as_str().is_some_and(|t| t.ends_with('Z')),
            "{record}"
        );
        let commands = &record["commands"];
        assert_eq!(commands[0]["sent"], "SYST:ERR?");
        assert_eq!(commands[0]["reply"], "0,\"No error\"");
        assert_eq!(commands[1]["sent"], "SYST:REM");
        assert!(commands[1].get("reply").is_none(), "{record}");
        conns.push(record["conn"].as_u64().unwrap());
    }
    conns.sort_unstable();
    assert_eq!(conns, [1, 2]);
    let golden = scratch.join("greeted.yaml.jsonl");
    let golden_arg = golden.to_str().unwrap();

    let (out, replayed) = scratch.run(
        "again.yaml",
        GREETED,
        &["--replay", golden_arg, "--replay-speed", "0"],
    );
    assert_eq!(out.code(), 0, "{out}");
    assert!(!out.stderr.contains("simulator: replay of"), "{out}");
    assert_eq!(of_type(&replayed, "connect").len(), 2);
    let out = diff(&scratch, &golden, &scratch.join("again.yaml.jsonl"));
    assert_eq!(out.code(), 0, "{out}");
    let out = scratch.sequencer(["export", golden_arg]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(
        out.stdout.lines().count(),
        5,
        "a header and 4 points\n{out}"
    );

    let changed = GREETED.replace(
        r#"{query: "SYST:ERR?", expect: '0,"No error"'}"#,
        r#"{query: "NEW?", expect: "1"}"#,
    );
    let (out, _) = scratch.run("changed.yaml", &changed, &["--replay", golden_arg]);
    assert_eq!(out.code(), 1, "{out}");
    assert!(out.stderr_flat().contains("on_connect failed"), "{out}");
    assert!(
        out.stderr_flat().contains(
            "greeted.yaml.jsonl`: 2 commands had no recording (2 queries answered `ERROR`): 2x NEW?"
        ),
        "{out}"
    );
}
