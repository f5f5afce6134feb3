//! A run that stops on a failure, or on `--deadline`, while other points are in flight or
//! waiting: no waiting point reaches the instrument or the log, no retry starts, the stop
//! record counts each point once, and teardown still runs. Each instrument is scripted so
//! that two replies (or closes) arrive back to back, the failure racing the other point.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::support::{Listening, Scratch, of_type, point, step_points, stop};

/// What the instrument does with the query `Q i`.
#[derive(Debug, Clone, Copy)]
enum Act {
    /// Answers `OK`.
    Ok,
    /// Answers `BAD`.
    Bad,
    /// Closes the connection without answering.
    Close,
    /// Closes the connection, without answering, this long after the query arrived.
    CloseAfter(Duration),
}

/// Shared state of a [`Held`] instrument.
struct State {
    /// Every line received, with the number of its connection (from 0), in arrival order.
    received: Mutex<Vec<(usize, String)>>,
    /// Queries of the held pair that have arrived, with their connections.
    held: Mutex<Vec<(usize, TcpStream)>>,
}

/// An instrument on 127.0.0.1:0: `Q i` gets `act(i)`, after 50 ms, except the queries in
/// `pair`, held until all of them have arrived and then done back to back in `pair`'s
/// order; any other query (a line ending in `?`) gets `0`, other lines nothing.
struct Held {
    server: Listening,
    state: Arc<State>,
}

impl Held {
    /// Binds 127.0.0.1:0 and starts accepting.
    fn start(act: fn(usize) -> Act, pair: &'static [usize]) -> Held {
        let state = Arc::new(State {
            received: Mutex::new(Vec::new()),
            held: Mutex::new(Vec::new()),
        });
        let server = {
            let state = state.clone();
            Listening::start(move |n, stream, _, conns| {
                stream.set_nodelay(true).unwrap();
                conns.keep(&stream);
                let state = state.clone();
                Some(thread::spawn(move || serve(&stream, n, &state, act, pair)))
            })
        };
        Held { server, state }
    }

    /// Where it listens, for `--address`.
    fn address(&self) -> String {
        self.server.addr().to_string()
    }

    /// Once the client is gone: stops accepting, lets every connection read to its end, and
    /// returns every line received.
    fn received(mut self) -> Vec<(usize, String)> {
        self.server.finish();
        self.state.received.lock().unwrap().clone()
    }
}

/// Does `act` to connection `stream`.
fn perform(mut stream: &TcpStream, act: Act) {
    // A client already gone is no failure of the instrument's: results are ignored.
    let _ = match act {
        Act::Ok => stream.write_all(b"OK\n"),
        Act::Bad => stream.write_all(b"BAD\n"),
        Act::Close => stream.shutdown(Shutdown::Both),
        Act::CloseAfter(after) => {
            thread::sleep(after);
            stream.shutdown(Shutdown::Both)
        }
    };
}

/// Serves connection `n` until it ends.
fn serve(stream: &TcpStream, n: usize, state: &State, act: fn(usize) -> Act, pair: &[usize]) {
    let mut writer = stream.try_clone().unwrap();
    for line in BufReader::new(stream.try_clone().unwrap()).lines() {
        let Ok(line) = line else { break };
        let line = line.trim_end().to_owned();
        state.received.lock().unwrap().push((n, line.clone()));
        if let Some(i) = line
            .strip_prefix("Q ")
            .and_then(|i| i.parse::<usize>().ok())
        {
            if pair.contains(&i) {
                let mut held = state.held.lock().unwrap();
                held.push((i, stream.try_clone().unwrap()));
                if held.len() == pair.len() {
                    for j in pair {
                        let (_, s) = held.iter().find(|(k, _)| k == j).unwrap();
                        perform(s, act(*j));
                    }
                    held.clear();
                }
                continue;
            }
            thread::sleep(Duration::from_millis(50));
            perform(stream, act(i));
        } else if line.ends_with('?') && writer.write_all(b"0\n").is_err() {
            break;
        }
    }
}

/// The `i` of every `Q i` the instrument received, with how often.
fn queries(received: &[(usize, String)]) -> BTreeMap<usize, usize> {
    let mut counts = BTreeMap::new();
    for (_, line) in received {
        if let Some(i) = line.strip_prefix("Q ").and_then(|i| i.parse().ok()) {
            *counts.entry(i).or_insert(0) += 1;
        }
    }
    counts
}

/// The ids of the step points recorded, in order, one per record.
fn ids(records: &[Value]) -> Vec<String> {
    step_points(records)
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The one teardown record, which must be `ok`.
fn teardown_ok(records: &[Value]) {
    let teardown: Vec<&Value> = of_type(records, "point")
        .into_iter()
        .filter(|r| r["step"] == "teardown")
        .collect();
    assert_eq!(teardown.len(), 1, "{teardown:#?}");
    assert_eq!(teardown[0]["id"], "teardown/0", "{}", teardown[0]);
    assert_eq!(teardown[0]["status"], "ok", "{}", teardown[0]);
}

/// `points` independent points of `Q i` expecting `OK` over two connections, two at a
/// time, then teardown `OFF`; `instrument` is added to the instrument, `step` to the step.
fn pair_sequence(points: usize, instrument: &str, step: &str) -> String {
    format!(
        r#"
name: stopping
on_error: stop
instrument:
  max_connections: 2{instrument}
steps:
  - name: s
    sweep: {{i: {{start: 0, stop: {last}, step: 1}}}}
    parallel: all
    concurrency: 2{step}
    commands:
      - {{query: "Q {{i}}", expect: "OK"}}
teardown: ["OFF"]
"#,
        last = points - 1
    )
}

/// `on_error: stop`, 20 points on two connections: the replies to Q 0 (OK) and Q 1 (BAD)
/// arrive back to back. The run stops on s/1: only s/0, s/1 and at most s/2 (dispatched on
/// s/0's connection before the failure was judged) reach the instrument and the log, the
/// stop record says `fail` with one failed point, and teardown runs.
#[test]
fn stop_on_failure_starts_no_waiting_point() {
    let instrument = Held::start(|i| if i == 1 { Act::Bad } else { Act::Ok }, &[0, 1]);
    let scratch = Scratch::new();
    let address = instrument.address();
    let (out, records) = scratch.run(
        "a.yaml",
        &pair_sequence(20, "", ""),
        &["--address", &address],
    );
    let received = instrument.received();
    assert_eq!(out.code(), 1, "{out}");
    let ids = ids(&records);
    assert!(
        ids.iter()
            .all(|id| ["s/0", "s/1", "s/2"].contains(&id.as_str())),
        "points recorded: {ids:?}\n{out}"
    );
    assert_eq!(point(&records, "s/0")["status"], "ok");
    assert_eq!(point(&records, "s/1")["status"], "failed");
    let queries = queries(&received);
    assert!(
        queries.keys().all(|&i| i < 3),
        "the instrument received {received:?}"
    );
    assert!(queries.values().all(|&n| n == 1), "{received:?}");
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_failed"].as_u64(), Some(1), "{stop}");
    teardown_ok(&records);
    assert!(received.iter().any(|(_, l)| l == "OFF"), "{received:?}");
}

/// Same with `retries: 1`, but the instrument closes Q 0's connection as it answers Q 1
/// with BAD: the run stops on the two failures together, so s/0 gets no second attempt
/// (Q 0 reaches the instrument once), the stop record counts no retry and two failed
/// points, and no other point is recorded.
#[test]
fn stop_on_failure_starts_no_retry() {
    let instrument = Held::start(
        |i| match i {
            0 => Act::Close,
            1 => Act::Bad,
            _ => Act::Ok,
        },
        &[0, 1],
    );
    let scratch = Scratch::new();
    let address = instrument.address();
    // The instrument answers `ID?` on connecting, so closing Q 0's connection is a lost
    // connection, not a session refused a little late (which would run again).
    let on_connect = "\n  on_connect: [{query: \"ID?\"}]";
    let yaml = pair_sequence(20, on_connect, "\n    retries: 1");
    let (out, records) = scratch.run("b.yaml", &yaml, &["--address", &address]);
    let received = instrument.received();
    assert_eq!(out.code(), 1, "{out}");
    assert_eq!(ids(&records), ["s/0", "s/1"], "{out}");
    for id in ["s/0", "s/1"] {
        let p = point(&records, id);
        assert_eq!(p["status"], "failed", "{p}");
        assert_eq!(p["attempt"].as_u64(), Some(1), "{p}");
    }
    let queries = queries(&received);
    assert_eq!(
        queries,
        BTreeMap::from([(0, 1), (1, 1)]),
        "the instrument received {received:?}"
    );
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["retries"].as_u64(), Some(0), "{stop}");
    assert_eq!(stop["points_failed"].as_u64(), Some(2), "{stop}");
    teardown_ok(&records);
}

/// One connection; the instrument closes it 300 ms into the only point, just before a
/// 330 ms `--deadline`: the run stops with `abort`, and teardown still runs on a new
/// connection (the instrument receives `OFF`, the log has an ok `teardown/0`).
#[test]
fn deadline_while_connection_is_lost_still_runs_teardown() {
    let instrument = Held::start(|_| Act::CloseAfter(Duration::from_millis(300)), &[]);
    let yaml = r#"
name: deadline
on_error: continue
instrument:
  max_connections: 1
steps:
  - name: s
    sweep: {i: [0]}
    commands:
      - {query: "Q {i}"}
teardown: ["OFF"]
"#;
    let scratch = Scratch::new();
    let address = instrument.address();
    let (out, records) = scratch.run(
        "c.yaml",
        yaml,
        &["--address", &address, "--deadline", "330ms"],
    );
    let received = instrument.received();
    assert_eq!(out.code(), 130, "{out}");
    assert_eq!(point(&records, "s/0")["status"], "failed", "{out}");
    teardown_ok(&records);
    assert!(
        received.iter().any(|(_, l)| l == "OFF"),
        "the instrument received {received:?}\n{out}"
    );
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "abort", "{stop}");
}

/// `on_error: stop`, 10 points on two connections: Q 0 gets BAD as the instrument closes
/// Q 1's fresh connection (a session refused a little late). The run stops, so s/1 never
/// runs again and its recorded failed attempt is its outcome: two points failed, eight
/// not run.
#[test]
fn late_refusal_during_stop_counts_as_failed() {
    let instrument = Held::start(
        |i| match i {
            0 => Act::Bad,
            1 => Act::Close,
            _ => Act::Ok,
        },
        &[0, 1],
    );
    let yaml = r#"
name: late
on_error: stop
instrument:
  max_connections: 2
steps:
  - name: s
    sweep: {i: {start: 0, stop: 9, step: 1}}
    parallel: all
    concurrency: 2
    commands:
      - {query: "Q {i}", expect: "OK"}
teardown: ["OFF"]
"#;
    let scratch = Scratch::new();
    let address = instrument.address();
    let (out, records) = scratch.run("d.yaml", yaml, &["--address", &address]);
    let received = instrument.received();
    assert_eq!(out.code(), 1, "{out}");
    assert_eq!(ids(&records), ["s/0", "s/1"], "{out}");
    assert_eq!(
        queries(&received),
        BTreeMap::from([(0, 1), (1, 1)]),
        "the instrument received {received:?}"
    );
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_failed"].as_u64(), Some(2), "{stop}");
    assert_eq!(stop["points_not_run"].as_u64(), Some(8), "{stop}");
    teardown_ok(&records);
}
