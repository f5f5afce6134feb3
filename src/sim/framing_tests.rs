//! Framing as clients meet it: terminations given by the user (`--eom`, `sim: {eom}`) and
//! inferred from a device file, the greeting sent on connect, and quick ACKs for clients
//! with Nagle's algorithm on. First what blueprints say, then a real sim on 127.0.0.1:0
//! with real sockets.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::device::Generic;
use super::pyvisa::DeviceFile;
use super::test_support::{Client, GUARD, Server};
use super::{Blueprint, SimConfig, SimThread};
use crate::sequence::Eom;

/// Device files of the pyvisa tests: one with `TCPIP SOCKET` eoms, one with channels.
const BASIC: &str = include_str!("pyvisa/testdata/basic.yaml");
const CHANNELS: &str = include_str!("pyvisa/testdata/channels.yaml");

/// A device file of one device with only serial and GPIB eoms of CR LF, as `QCoDeS`
/// ships them for instruments it talks to over GPIB, and a greeting.
const CRLF_DEVICE: &str = "spec: '1.0'\ndevices:\n  ls:\n    eom:\n      \
    ASRL INSTR: {q: \"\\r\\n\", r: \"\\r\\n\"}\n      GPIB INSTR: {q: \"\\r\\n\", r: \"\\r\\n\"}\n    \
    greeting: 'LSCI 336\\r\\nready'\n    error: ERROR\n    dialogues:\n      \
    - {q: '*IDN?', r: 'LSCI,MODEL336,0,1'}\n";

/// Device `name` (or the only one) of `text`, named `test.yaml`.
fn device_file(text: &str, name: Option<&str>) -> DeviceFile {
    DeviceFile::parse(text, "test.yaml", name).unwrap_or_else(|e| panic!("{e}"))
}

/// The `TCPIP SOCKET` eom gives the framing, exact, with no note; without one, what the
/// other eoms agree on, with a note naming the file and the device.
#[test]
fn framing_from_eom() {
    let cases = [
        (BASIC, "gen", "\r\n", "\n"),
        (BASIC, "pipe", "\n", "\r\n"),
        (CHANNELS, "multi", "\n", "\n"),
    ];
    for (text, name, read, write) in cases {
        let framing = device_file(text, Some(name)).framing();
        assert_eq!(framing.read_termination, read.as_bytes(), "{name}");
        assert_eq!(framing.write_termination, write.as_bytes(), "{name}");
        assert!(!framing.lenient);
        assert_eq!(device_file(text, Some(name)).framing_note(), None, "{name}");
    }
    let bare =
        "spec: '1.1'\ndevices:\n  d:\n    eom:\n      ASRL INSTR: {q: \"\\r\", r: ' \\r '}\n";
    let device = device_file(bare, None);
    let framing = device.framing();
    assert_eq!(
        (framing.read_termination, framing.write_termination),
        (b"\r".to_vec(), b"\r".to_vec())
    );
    let note = device.framing_note().unwrap_or_default();
    assert!(
        note.starts_with("`test.yaml`: device `d` has no `eom` for `TCPIP SOCKET`: CR"),
        "{note}"
    );
}

/// Terminations the user gives replace the file's, still framed exactly (a `\r` before
/// LF is part of the message, as in pyvisa-sim); the generic device frames LF leniently.
#[test]
fn user_terminations_override_the_file() {
    let eom = Eom {
        q: "\n".into(),
        r: "\r\n".into(),
    };
    let framing = device_file(BASIC, Some("gen")).framing_with(&eom);
    assert_eq!(framing.read_termination, b"\n");
    assert_eq!(framing.write_termination, b"\r\n");
    assert!(!framing.lenient);
    assert!(Generic.framing_with(&eom).lenient);
}

/// `greeting:` is read with escapes decoded (an empty one is refused: `load_tests.rs`).
#[test]
fn greeting_extension() {
    let text = "spec: '1.1'\ndevices:\n  d:\n    greeting: 'Model 430\\r\\nHello.'\n";
    assert_eq!(
        device_file(text, None).greeting().as_deref(),
        Some("Model 430\r\nHello.")
    );
    assert_eq!(device_file(BASIC, Some("gen")).greeting(), None);
}

/// Both ways `text`.
fn both(text: &str) -> Eom {
    Eom {
        q: text.to_owned(),
        r: text.to_owned(),
    }
}

/// The generic device with `--eom '\r\n'`: a message ends at CR LF only (a lone LF is part
/// of it), replies end with CR LF; `\r\n,\n` replies with LF.
#[tokio::test]
async fn user_eom_frames_the_generic_device() {
    let server = Server::start(SimConfig {
        eom: Some(both("\r\n")),
        ..SimConfig::default()
    })
    .await;
    let mut client = Client::connect(server.addr).await;
    client.send("A 1\r\nA?\r\nB 2\nB?\r\n*OPC?\r\n").await;
    assert_eq!(client.line().await, "1\r");
    // `B 2\nB?` is one message: the header `B` with the value `2\nB?` stored, no reply.
    assert_eq!(client.line().await, "1\r");
    server.stop().await;

    let server = Server::start(SimConfig {
        eom: Some(Eom {
            q: "\r\n".into(),
            r: "\n".into(),
        }),
        ..SimConfig::default()
    })
    .await;
    let mut client = Client::connect(server.addr).await;
    client.send("A 1\r\nA?\r\n").await;
    assert_eq!(client.line().await, "1");
    server.stop().await;
}

/// A device file without a `TCPIP SOCKET` eom whose other eoms say CR LF is served with CR
/// LF, and `--eom` overrides it.
#[tokio::test]
async fn inferred_and_overridden_device_terminations() {
    let device = Arc::new(DeviceFile::parse(CRLF_DEVICE, "ls.yaml", None).unwrap());
    let server = Server::start(SimConfig {
        blueprint: Some(device.clone()),
        ..SimConfig::default()
    })
    .await;
    let mut client = Client::connect(server.addr).await;
    assert_eq!(client.line().await, "LSCI 336\r");
    assert_eq!(client.line().await, "ready\r");
    assert_eq!(client.query("*IDN?\r").await, "LSCI,MODEL336,0,1\r");
    server.stop().await;

    let server = Server::start(SimConfig {
        blueprint: Some(device),
        eom: Some(both("\n")),
        ..SimConfig::default()
    })
    .await;
    let mut client = Client::connect(server.addr).await;
    assert_eq!(client.line().await, "LSCI 336\r");
    assert_eq!(client.line().await, "ready");
    assert_eq!(client.query("*IDN?").await, "LSCI,MODEL336,0,1");
    // A device file's framing stays exact: the `\r` is part of the message.
    assert_eq!(client.query("*IDN?\r").await, "ERROR");
    server.stop().await;
}

/// The greeting (with the reply termination) is the first thing every connection gets,
/// before it sends anything; `--greeting` also greets for the generic device.
#[tokio::test]
async fn greeting_comes_first_on_every_connection() {
    let server = Server::start(SimConfig {
        greeting: Some("Hello.".into()),
        ..SimConfig::default()
    })
    .await;
    for _ in 0..3 {
        let mut client = Client::connect(server.addr).await;
        assert_eq!(client.line().await, "Hello.");
        assert_eq!(client.query("*OPC?").await, "1");
        assert!(client.silent_for(Duration::from_millis(20)).await);
    }
    server.stop().await;
}

/// A client that keeps Nagle's algorithm on (as pyvisa-py does) and writes a command, then
/// a query, is not held up by a delayed ACK: 25 such pairs take well under the 25 x 40 ms
/// Linux's minimum delayed ACK would cost them (a quarter of it, a wide margin: each pair
/// takes well under a millisecond on loopback).
#[cfg(target_os = "linux")]
#[test]
fn nagle_clients_do_not_wait_for_delayed_acks() {
    const PAIRS: u32 = 25;
    let sim = SimThread::spawn(SimConfig::default()).unwrap();
    let stream = TcpStream::connect(sim.addr()).unwrap();
    stream.set_read_timeout(Some(GUARD)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut pair = |i: u32| {
        writer
            .write_all(format!("SOUR1:VOLT {i}\n").as_bytes())
            .unwrap();
        writer.write_all(b"SOUR1:VOLT?\n").unwrap();
        let mut reply = String::new();
        reader.read_line(&mut reply).unwrap();
        assert_eq!(reply, format!("{i}\n"));
    };
    // Linux acknowledges a connection's first segments at once anyway: warm it up first.
    pair(0);
    let started = Instant::now();
    for i in 1..=PAIRS {
        pair(i);
    }
    let took = started.elapsed();
    let bound = Duration::from_millis(40) * PAIRS / 4;
    assert!(
        took < bound,
        "{PAIRS} pairs took {took:?} (bound {bound:?})"
    );
    sim.stop();
}
