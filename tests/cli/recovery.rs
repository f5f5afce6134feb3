//! Losing connections during a run, over real TCP: a broken connection is replaced after
//! refused redials, with the stderr lines saying so. The spacing of redials, attempts that
//! fail together, giving up as `unreachable`, and a stopping run against an instrument
//! taking fewer sessions (refusing at once or late, which changes the counts) are specified
//! in-process, on a paused clock (`actor_tests::recovery`, `actor_tests::stopping`).

use regex::Regex;
use sequencer::testing::{Act, Instrument, reply};

use crate::support::{Scratch, point, stop};

/// One connection, a 150ms reply timeout, three one-query points, failures do not stop.
const RECOVER: &str = r#"
name: recover
on_error: continue
instrument:
  max_connections: 1
  timeout: 150ms
steps:
  - name: s
    sweep: {i: [1, 2, 3]}
    commands: [{query: "A{i}?", expect: "1"}]
"#;

/// The first point times out and its connection is dropped; the instrument then refuses the
/// next two dials (accepts and closes at once) and serves the third: both failures are
/// reported as `reconnect attempt n of 5 failed`, the later points succeed on the new
/// connection, and only the timed-out point fails the run.
#[test]
fn timed_out_connection_is_replaced_after_refused_redials() {
    // Connection 0 leaves its first query unanswered; 1 and 2 are refused; then all serve.
    let instrument = Instrument::scpi()
        .on_connect(|n| {
            if matches!(n, 1 | 2) {
                vec![Act::Close]
            } else {
                Vec::new()
            }
        })
        .on_line(|line| {
            if line.conn == 0 && line.queries == 0 {
                Vec::new()
            } else {
                reply("1")
            }
        })
        .listen()
        .expect("cannot listen on 127.0.0.1:0");
    let scratch = Scratch::new();
    let addr = instrument.addr().to_string();
    let (out, records) = scratch.run("recover.yaml", RECOVER, &["--address", &addr]);
    assert_eq!(out.code(), 1, "{out}");
    let first = point(&records, "s/0");
    assert_eq!(first["status"], "failed", "{first}");
    let timeout =
        Regex::new(r"^timeout after 150ms waiting for reply to `A1\?` on connection \d+$").unwrap();
    let error = first["error"].as_str().unwrap_or_default();
    assert!(timeout.is_match(error), "s/0: unexpected error `{error}`");
    for id in ["s/1", "s/2"] {
        let p = point(&records, id);
        assert_eq!(p["status"], "ok", "{p}");
        assert_ne!(
            p["conn"], first["conn"],
            "{id} ran on the timed-out connection"
        );
    }
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_ok"].as_u64(), Some(2), "{stop}");
    assert_eq!(stop["points_failed"].as_u64(), Some(1), "{stop}");
    assert_eq!(stop["points_not_run"].as_u64(), Some(0), "{stop}");
    let stderr = out.stderr_flat();
    for n in [1, 2] {
        let line = format!("reconnect attempt {n} of 5 failed");
        assert!(stderr.contains(&line), "no `{line}`\n{out}");
    }
    assert!(
        !stderr.contains("reconnect attempt 3 of 5"),
        "a third redial failed\n{out}"
    );
    // The first connection, the two refused dials and the one that served: nothing more.
    assert_eq!(instrument.accepted(), 4, "connections opened\n{out}");
}
