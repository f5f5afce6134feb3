//! The simulator's terminations and greeting through the binary: `sim --eom`, `sim
//! --greeting`, an instrument's `sim: {eom}` under `run --sim` (generic device and device
//! file), and the values refused with exit 2.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::{Scratch, Serving, point, stop};

/// Safety net for reads from the simulator; not a timing claim.
const GUARD: Duration = Duration::from_secs(10);

/// A connection to `server` that reads what it is sent byte for byte.
fn connect(server: &Serving) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(server.addr()).expect("cannot connect");
    stream.set_read_timeout(Some(GUARD)).unwrap();
    BufReader::new(stream)
}

/// Reads one message ending in `\n`, the `\n` (and any `\r`) kept.
fn raw_line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("no reply");
    line
}

/// `sim --eom '\r\n,\n' --greeting ...`: the greeting first, with the reply termination;
/// messages end at CR LF only; replies end with LF.
#[test]
fn sim_eom_and_greeting_flags() {
    let scratch = Scratch::new();
    let server = Serving::spawn(
        &scratch.join(""),
        [
            "sim",
            "--listen",
            "127.0.0.1:0",
            "--eom",
            r"\r\n,\n",
            "--greeting",
            r"Model 430\r\nHello.",
        ],
    );
    for _ in 0..2 {
        let mut client = connect(&server);
        assert_eq!(raw_line(&mut client), "Model 430\r\n");
        assert_eq!(raw_line(&mut client), "Hello.\n");
        client
            .get_mut()
            .write_all(b"A 1\r\nA?\nB 2\r\nA?\r\n")
            .unwrap();
        // `A?\nB 2` is one message, a write: only the last `A?` is answered.
        assert_eq!(raw_line(&mut client), "1\n");
    }
    let words = Serving::spawn(
        &scratch.join(""),
        ["sim", "--listen", "127.0.0.1:0", "--eom", "crlf"],
    );
    let mut client = connect(&words);
    client.get_mut().write_all(b"*OPC?\r\n").unwrap();
    assert_eq!(raw_line(&mut client), "1\r\n");
}

/// Bad `--eom` and `--greeting` values exit 2 and say what to write.
#[test]
fn bad_eom_and_greeting_values_exit_2() {
    let scratch = Scratch::new();
    let table: &[(&[&str], &str)] = &[
        (&["--eom", ""], "empty termination"),
        (&["--eom", r"\n,"], "empty termination"),
        (&["--eom", r"\x0d"], r"unknown escape `\x` in `\x0d`"),
        (&["--eom", "a,b,c"], "names more than two terminations"),
        (&["--greeting", ""], "the greeting is empty"),
    ];
    for (args, says) in table {
        let mut all = vec!["sim", "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let out = scratch.sequencer(&all);
        assert_eq!(out.code(), 2, "{args:?}\n{out}");
        assert!(out.stderr.contains(says), "{args:?}: no `{says}`\n{out}");
    }
}

/// A CR LF instrument simulated by the generic device with `sim: {eom: CRLF}`, and by a
/// device file whose own eom is LF, overridden by `sim: {eom: {q, r}}`: both runs succeed
/// with the replies a CR LF instrument gives.
#[test]
fn run_sim_uses_the_instruments_eom() {
    let scratch = Scratch::new();
    scratch.write(
        "lf.yaml",
        "spec: '1.1'\ndevices:\n  d:\n    eom:\n      TCPIP SOCKET: {q: \"\\n\", r: \"\\n\"}\n    \
         error: ERROR\n    dialogues:\n      - {q: '*IDN?', r: 'ACME,LF,0,1'}\n",
    );
    let sequence = |sim: &str, commands: &str| {
        format!(
            "instrument:\n  write_termination: \"\\r\\n\"\n  read_termination: \"\\r\\n\"\n  \
             sim: {sim}\nsteps:\n  - name: s\n    sweep: {{v: [1, 2]}}\n    commands: {commands}\n"
        )
    };
    let generic = sequence("{eom: CRLF}", "[\"V {v}\", {query: \"V?\", as: v}]");
    let (out, records) = scratch.run("generic.yaml", &generic, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(stop(&records)["exit_status"], "success");
    assert_eq!(point(&records, "s/0")["values"]["v"], "1");
    assert_eq!(point(&records, "s/1")["values"]["v"], "2");

    let device = sequence(
        "{device: lf.yaml, eom: {q: \"\\r\\n\", r: \"\\r\\n\"}}",
        "[{query: \"*IDN?\", expect: \"ACME,LF,0,1\"}]",
    );
    let (out, records) = scratch.run("device.yaml", &device, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(stop(&records)["exit_status"], "success");
}
