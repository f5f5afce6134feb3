//! The write-then-query row: a client as pyvisa-py is, with Nagle's algorithm on, writing a
//! command and then a query as two separate writes and reading the reply, against the
//! simulator with its quick ACKs and with the kernel's delayed ACKs left alone (as before
//! `TCP_QUICKACK`, `SimConfig::delayed_acks`).
//!
//! With delayed ACKs the query waits in the client's kernel until the command is
//! acknowledged, about 40 ms on Linux; with quick ACKs a pair is two loopback round trips'
//! worth of system calls. The client is a plain blocking `std::net::TcpStream` in this
//! thread (placed where clients go), never `set_nodelay`.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use sequencer::sim::{SimConfig, SimThread};

use super::{Placement, Role, Row, verdict};

/// Rounds of the quick-ACK measurement; the best counts, as for the other rows.
const ROUNDS: u32 = 5;

/// Adds the row: `scale` divides the number of pairs (`BENCH_QUICK`).
pub fn row(place: Placement, scale: u32, rows: &mut Vec<Row>) {
    let (slow_pairs, fast_pairs) = (50 / scale, 2_000 / scale);
    let before = per_pair(place, true, slow_pairs, 1);
    let after = per_pair(place, false, fast_pairs, ROUNDS);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    rows.push(Row {
        what: "write then query, Nagle on (pyvisa-py style), 1 connection".into(),
        value: format!("{:.3} ms/pair (quick ACKs)", ms(after)),
        reference: format!("{:.1} ms/pair with delayed ACKs (before)", ms(before)),
        ratio: format!("{:.0}x faster", before.as_secs_f64() / after.as_secs_f64()),
        target: verdict(after < Duration::from_millis(1), "< 1 ms/pair"),
    });
}

/// The best time per pair over `rounds` rounds of `pairs` pairs, against a fresh simulator.
fn per_pair(place: Placement, delayed_acks: bool, pairs: u32, rounds: u32) -> Duration {
    place.enter(Role::Simulator);
    let sim = SimThread::spawn(SimConfig {
        delayed_acks,
        ..SimConfig::default()
    })
    .expect("cannot start the simulator");
    place.enter(Role::Client);
    let stream = TcpStream::connect(sim.addr()).expect("cannot connect");
    let mut reader = BufReader::new(stream.try_clone().expect("cannot clone the stream"));
    let mut writer = stream;
    let mut reply = String::new();
    let mut pair = || {
        writer.write_all(b"SOUR1:VOLT 0.5\n").expect("send");
        writer.write_all(b"MEAS1:VOLT?\n").expect("send");
        reply.clear();
        reader.read_line(&mut reply).expect("reply");
    };
    // A connection's first segments are acknowledged at once anyway: start after them.
    for _ in 0..3 {
        pair();
    }
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        let started = Instant::now();
        for _ in 0..pairs {
            pair();
        }
        best = best.min(started.elapsed() / pairs);
    }
    sim.stop();
    best
}
