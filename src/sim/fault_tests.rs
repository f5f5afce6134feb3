//! Server tests of fault injection: a real sim on 127.0.0.1:0 with each fault, driven by a
//! line client over TCP. The decisions themselves are unit-tested in `conn_faults.rs`; these
//! prove the server carries them out (closes, stays silent, garbles, delays, refuses).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::conn_faults::GARBAGE;
use super::device::Device;
use super::model::Counters;
use super::test_support::{Client, Server};
use super::{Blueprint, Faults, Framing, Model, SimConfig};

/// A config injecting the faults of `spec` (as given to `--fault`).
fn with_faults(spec: &str) -> SimConfig {
    SimConfig {
        faults: Faults::parse(&[spec.to_owned()]).unwrap(),
        ..SimConfig::default()
    }
}

/// `drop-after=3` serves three commands, then closes the connection, on every connection;
/// a write counts as a command.
#[tokio::test]
async fn drop_after_closes_after_the_nth_command() {
    let server = Server::start(with_faults("drop-after=3")).await;
    for _ in 0..2 {
        let mut client = Client::connect(server.addr).await;
        client.send("A 1\n").await;
        assert_eq!(client.query("A?").await, "1");
        assert_eq!(client.query("*OPC?").await, "1");
        assert!(client.closed().await, "open after the third command");
    }
    server.stop().await;
}

/// `stall-after=2` answers two commands, then reads and ignores input without closing: the
/// connection stays open and counted.
#[tokio::test]
async fn stall_after_goes_silent_but_stays_open() {
    let server = Server::start(with_faults("stall-after=2")).await;
    let mut client = Client::connect(server.addr).await;
    assert_eq!(client.query("*OPC?").await, "1");
    assert_eq!(client.query("*OPC?").await, "1");
    client.send("*OPC?\n").await;
    assert!(client.silent_for(Duration::from_millis(200)).await);
    // Still reading: more input is accepted and ignored, not answered with a close.
    client.send("*IDN?\nA?\n").await;
    assert!(client.silent_for(Duration::from_millis(200)).await);
    let mut other = Client::connect(server.addr).await;
    assert_eq!(other.query("SIM:CONN?").await, "2");
    server.stop().await;
    assert!(
        client.closed().await,
        "stalled connection left open after stop"
    );
}

/// `garbage-every=2` replaces exactly the 2nd and 4th replies; writes are not replies.
#[tokio::test]
async fn garbage_every_replaces_every_nth_reply() {
    let server = Server::start(with_faults("garbage-every=2")).await;
    let mut client = Client::connect(server.addr).await;
    client.send("V 7\n").await;
    let mut replies = Vec::new();
    for line in ["V?", "*OPC?", "W 1", "V?", "W?", "V?"] {
        client.send(&format!("{line}\n")).await;
        if line.ends_with('?') {
            replies.push(client.line().await);
        }
    }
    assert_eq!(replies, ["7", GARBAGE, "7", GARBAGE, "7"]);
    assert!(GARBAGE.parse::<f64>().is_err());
    server.stop().await;
}

/// The generic device answering with `\r\n` after each reply, as a model whose framing is
/// not the default.
#[derive(Debug)]
struct CrLf;

impl Blueprint for CrLf {
    fn framing(&self) -> Framing {
        Framing {
            write_termination: b"\r\n".to_vec(),
            ..Framing::lines()
        }
    }

    fn build(&self, counters: Arc<Counters>) -> Box<dyn Model> {
        Box::new(Device::new(counters))
    }
}

/// A garbage reply ends with the model's write termination, like the replies around it.
#[tokio::test]
async fn garbage_ends_with_the_write_termination() {
    let server = Server::start(SimConfig {
        blueprint: Some(Arc::new(CrLf)),
        ..with_faults("garbage-every=2")
    })
    .await;
    let mut client = Client::connect(server.addr).await;
    client.send("*OPC?\n*OPC?\n*OPC?\n").await;
    let mut lines = Vec::new();
    for _ in 0..3 {
        lines.push(client.line().await);
    }
    assert_eq!(lines, ["1\r", &format!("{GARBAGE}\r"), "1\r"]);
    server.stop().await;
}

/// `late-every=2,late-by=300ms` delays the 2nd reply by at least 300 ms; the command sent
/// right behind it is answered after it, in order, so the late reply arrives first.
#[tokio::test]
async fn late_every_delays_every_nth_reply() {
    let late_by = Duration::from_millis(300);
    let server = Server::start(with_faults("late-every=2,late-by=300ms")).await;
    let mut client = Client::connect(server.addr).await;
    client.send("A 1;B 2;C 3\n").await;
    assert_eq!(client.query("A?").await, "1");
    let started = Instant::now();
    client.send("B?\nC?\n").await;
    assert_eq!(client.line().await, "2");
    assert!(started.elapsed() >= late_by, "{:?}", started.elapsed());
    assert_eq!(client.line().await, "3");
    server.stop().await;
}

/// `refuse-after=2` serves two connections over the sim's life; the third is closed at once
/// and not counted, and so is a fourth after one of the first two has left.
#[tokio::test]
async fn refuse_after_closes_later_connections() {
    let server = Server::start(with_faults("refuse-after=2")).await;
    let mut first = Client::connect(server.addr).await;
    let mut second = Client::connect(server.addr).await;
    assert_eq!(first.query("*OPC?").await, "1");
    assert_eq!(second.query("*OPC?").await, "1");
    let mut third = Client::connect(server.addr).await;
    assert!(third.closed().await, "third connection was served");
    assert_eq!(first.query("SIM:CONN?;SIM:CONN:PEAK?").await, "2;2");
    drop(second);
    let mut fourth = Client::connect(server.addr).await;
    assert!(fourth.closed().await, "fourth connection was served");
    assert_eq!(first.query("*OPC?").await, "1");
    server.stop().await;
}

/// Command numbers at which each of `connections` successive connections was dropped,
/// sending `*OPC?` until the sim closes (at most `limit` commands each).
async fn drop_positions(config: SimConfig, connections: usize, limit: usize) -> Vec<usize> {
    let server = Server::start(config).await;
    let mut positions = Vec::new();
    // One connection at a time, so accept numbers (which seed the drops) are 1, 2, 3...
    for _ in 0..connections {
        let mut client = Client::connect(server.addr).await;
        let mut position = 0;
        for n in 1..=limit {
            client.send("*OPC?\n").await;
            let Some(reply) = client.try_line().await else {
                position = n;
                break;
            };
            assert_eq!(reply, "1");
        }
        positions.push(position);
    }
    server.stop().await;
    positions
}

/// `seed=11,drop-rate=0.3` drops the same commands in two runs of the sim.
#[tokio::test]
async fn seeded_drop_rate_is_reproducible() {
    let config = with_faults("seed=11,drop-rate=0.3");
    let first = drop_positions(config.clone(), 8, 60).await;
    let second = drop_positions(config, 8, 60).await;
    assert_eq!(first, second);
    // With P = 0.3, 60 commands without a drop would be a broken generator.
    assert!(first.iter().all(|&p| p > 0), "{first:?}");
    assert!(first.windows(2).any(|w| w[0] != w[1]), "{first:?}");
}

/// Faults combine: `drop-after=4,garbage-every=2` garbles the 2nd and 4th replies and closes
/// after the 4th command.
#[tokio::test]
async fn faults_combine() {
    let server = Server::start(with_faults("drop-after=4,garbage-every=2")).await;
    let mut client = Client::connect(server.addr).await;
    assert_eq!(client.query("*OPC?").await, "1");
    assert_eq!(client.query("*OPC?").await, GARBAGE);
    assert_eq!(client.query("*OPC?").await, "1");
    assert_eq!(client.query("*OPC?").await, GARBAGE);
    assert!(client.closed().await, "open after the fourth command");
    server.stop().await;
}
