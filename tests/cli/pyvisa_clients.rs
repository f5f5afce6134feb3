//! `sequencer sim` as instrument drivers meet it through pyvisa-py: a CR LF device file
//! without a `TCPIP SOCKET` eom, the greeting an instrument sends on connect, and a client
//! that leaves Nagle's algorithm on (pyvisa-py does, for SOCKET resources) writing a
//! command and then a query.
//!
//! `tests/pyvisa/clients.py` is the driver: it opens `TCPIP::127.0.0.1::PORT::SOCKET` with
//! `write_termination` and `read_termination` set, does what a test asks and prints one
//! JSON object, which the test checks. The venv and the skip without python are
//! [`crate::pyvisa_venv`]'s.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::pyvisa_venv::python;
use crate::support::{Running, Serving};

fn devices_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/devices")
}

/// Serves `tests/devices/FILE` (or the generic device for `None`) on 127.0.0.1:0.
fn serve(device: Option<&str>) -> Serving {
    let dir = devices_dir();
    let mut args = vec!["sim", "--listen", "127.0.0.1:0"];
    if let Some(file) = device {
        args.extend(["--device", file]);
    }
    Serving::spawn(&dir, args)
}

/// Runs `clients.py` with `args` against `server`; its JSON output, or a panic with its
/// stdout, its stderr and the simulator's.
fn client(python: &Path, server: &Serving, args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pyvisa/clients.py");
    let addr = server.addr().to_string();
    let mut all = vec![
        "-u",
        script.to_str().expect("a UTF-8 path"),
        args[0],
        "--server",
        &addr,
    ];
    all.extend(&args[1..]);
    let out = Running::start(Command::new(python), &devices_dir(), all).wait();
    assert!(
        out.status.success(),
        "clients.py {args:?} failed\n{out}--- sim stderr ---\n{}",
        server.stderr_so_far()
    );
    serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("clients.py printed no JSON ({e})\n{out}"))
}

/// A CR LF device file without a `TCPIP SOCKET` eom (as `QCoDeS` ships its Lakeshore files)
/// is served with CR LF, and says so in one warning: a driver with `\r\n` terminations
/// writing setpoints and reading them back gets exactly what pyvisa-sim answers when it
/// serves the same file over GPIB, where the `QCoDeS` tests open it.
#[test]
fn crlf_driver_gets_pyvisa_sims_replies() {
    let Some(python) = python() else { return };
    let server = serve(Some("lakeshore.yaml"));
    let out = client(
        python,
        &server,
        &[
            "pairs",
            "--termination",
            r"\r\n",
            "--pairs",
            "8",
            "--write",
            "SETP 1,{}.25",
            "--query",
            "SETP? 1",
            "--device",
            "lakeshore.yaml",
            "--name",
            "model336",
            "--oracle",
            "GPIB0::12::INSTR",
        ],
    );
    assert_eq!(out["replies"][7], "+7.250", "{out}");
    assert_eq!(out["replies"], out["oracle"], "{out}");
    let stderr = server.stderr_so_far();
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("has no `eom` for `TCPIP SOCKET`"))
        .collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    for part in [
        "`lakeshore.yaml`",
        "`model336`",
        "CRLF",
        "`ASRL INSTR`, `GPIB INSTR`",
    ] {
        assert!(notes[0].contains(part), "no {part} in {}", notes[0]);
    }
}

/// A device's `greeting:` is what a pyvisa-py client reads right after opening, before it
/// writes anything, one message per line; queries follow as usual.
#[test]
fn pyvisa_client_reads_the_greeting() {
    let Some(python) = python() else { return };
    let server = serve(Some("ami430.yaml"));
    let args = ["greeting", "--termination", r"\r\n", "--lines", "2"];
    for _ in 0..2 {
        let out = client(python, &server, &args);
        assert_eq!(
            out["greeting"],
            serde_json::json!(["American Magnetics Model 430 IP Interface", "Hello."]),
            "{out}"
        );
        assert_eq!(
            out["idn"], "AMERICAN MAGNETICS INC.,MODEL 430,2.01,2.01",
            "{out}"
        );
    }
}

/// pyvisa-py leaves Nagle's algorithm on, so each query written right after a command
/// waits until the command is acknowledged; with Linux's delayed ACK that was about 40 ms a
/// pair (2.25 s for 50 measured before quick ACKs). Against the simulator 50 pairs now
/// take well under a second, a wide margin over the milliseconds they take. (Quick ACKs
/// are Linux's.)
#[cfg(target_os = "linux")]
#[test]
fn nagle_client_write_then_query_is_not_delayed() {
    let Some(python) = python() else { return };
    let server = serve(None);
    let out = client(python, &server, &["pairs", "--pairs", "50"]);
    assert_eq!(out["nodelay"], 0, "pyvisa-py set TCP_NODELAY: {out}");
    assert_eq!(out["replies"][49], "49", "{out}");
    let seconds = out["seconds"].as_f64().unwrap_or(f64::MAX);
    assert!(
        seconds < 1.0,
        "50 write-then-query pairs took {seconds:.3} s (50 x 40 ms = 2 s with delayed ACKs)"
    );
}
