//! Losing connections during a run: a broken connection is replaced after refused redials,
//! spaced by the backoff (100 ms doubling, times a random factor in [0.5, 1]: each gap is
//! checked against its range, on the paused clock exactly); dials that fail together count
//! as one attempt; an instrument that goes away for good ends the run as `unreachable`
//! after `reconnect_attempts`, with no dial beyond them.

use std::time::Duration;

use super::harness::{ms, run};
use crate::testing::{Act, Dial, Instrument, Journal, reply};

/// Asserts that the gap between dial `n` and the next is the backoff after `failures`
/// failed dials (`full` = 100 ms doubling per failure, times [0.5, 1]) after `before`
/// (what the pool waited for first: a reply timeout, a connect timeout).
fn backoff_gap(journal: &Journal, n: usize, before: Duration, failures: u32) {
    let full = ms(100) * (1 << (failures - 1));
    let gap = journal.dial_gaps()[n];
    assert!(
        gap >= before + full / 2 && gap <= before + full,
        "dial {} came {gap:?} after dial {n}, not {before:?} + [{:?}, {full:?}]\n{}",
        n + 1,
        full / 2,
        journal.timeline()
    );
}

/// One connection, a 150 ms reply timeout, three one-query points, failures do not stop.
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

/// The first point times out and its connection is dropped; the next two dials are
/// refused and the third serves: the redial comes at once, the next two after a backoff of
/// 100 ms then 200 ms (times the jitter); both failures are logged `reconnect attempt n of
/// 5 failed`, the later points succeed on the new connection, only the timed-out point
/// fails the run, and exactly four dials reach the instrument.
#[test]
fn timed_out_connection_is_replaced_after_refused_redials() {
    let instrument = Instrument::scpi()
        .on_dial(|conn| match conn {
            1 | 2 => Dial::Refused,
            _ => Dial::Open,
        })
        .on_line(|line| {
            if line.conn == 0 {
                Vec::new()
            } else {
                reply("1")
            }
        });
    let run = run(RECOVER, &instrument);
    let journal = instrument.journal();
    let first = run.point("s/0");
    assert_eq!(first["status"], "failed", "{first}");
    assert_eq!(
        first["error"], "timeout after 150ms waiting for reply to `A1?` on connection 1",
        "{first}"
    );
    for id in ["s/1", "s/2"] {
        let p = run.point(id);
        assert_eq!(p["status"], "ok", "{p}");
        assert_ne!(
            p["conn"], first["conn"],
            "{id} ran on the timed-out connection"
        );
    }
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert_eq!(stop["points_ok"], 2, "{stop}");
    assert_eq!(stop["points_failed"], 1, "{stop}");
    assert_eq!(stop["points_not_run"], 0, "{stop}");
    for n in [1, 2] {
        let line = format!("reconnect attempt {n} of 5 failed");
        assert_eq!(run.said(&line), 1, "no `{line}`\n{}", run.log);
    }
    assert_eq!(run.said("reconnect attempt 3 of 5"), 0, "{}", run.log);
    assert_eq!(
        run.said("reconnected after 2 failed attempt(s)"),
        1,
        "{}",
        run.log
    );
    // The first connection, the two refused dials and the one that served: nothing more.
    assert_eq!(journal.dials().len(), 4, "{}", journal.timeline());
    // The redial follows the timeout (5 ms watch, 150 ms timeout) at once.
    assert_eq!(
        journal.dial_gaps()[0],
        ms(5 + 150),
        "{}",
        journal.timeline()
    );
    backoff_gap(&journal, 1, Duration::ZERO, 1);
    backoff_gap(&journal, 2, Duration::ZERO, 2);
}

/// Two connections, a 150 ms reply timeout, 2 reconnect attempts, six independent
/// one-query points.
const GIVE_UP: &str = r#"
name: giveup
on_error: continue
instrument:
  max_connections: 2
  timeout: 150ms
  reconnect_attempts: 2
steps:
  - name: s
    sweep: {i: [1, 2, 3, 4, 5, 6]}
    parallel: all
    commands: [{query: "A{i}?"}]
"#;

/// Both connections time out together and every redial is refused: the two lost
/// connections are redialled together, at the same instant, which counts as one attempt;
/// the second attempt is one dial, after the backoff; then the pool calls the instrument
/// unreachable: exactly `reconnect_attempts` (2) attempts, each logged, 2 + 2 + 1 dials,
/// and the points left fail with the reason.
#[test]
fn no_dial_beyond_reconnect_attempts() {
    let instrument = Instrument::silent().on_dial(|conn| match conn {
        0 | 1 => Dial::Open,
        _ => Dial::Refused,
    });
    let run = run(GIVE_UP, &instrument);
    let journal = instrument.journal();
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    let reason = stop["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("unreachable"), "{stop}");
    assert_eq!(
        run.said("reconnect attempt 1 of 2 failed"),
        2,
        "{}",
        run.log
    );
    assert_eq!(
        run.said("reconnect attempt 2 of 2 failed"),
        1,
        "{}",
        run.log
    );
    assert_eq!(run.said("reconnect attempt 3"), 0, "{}", run.log);
    assert_eq!(
        journal.dials().len(),
        5,
        "2 initial connections, 2 redials together, then 1\n{}",
        journal.timeline()
    );
    let gaps = journal.dial_gaps();
    assert_eq!(gaps[1], ms(5 + 150), "{}", journal.timeline());
    assert_eq!(
        gaps[2],
        Duration::ZERO,
        "redials together\n{}",
        journal.timeline()
    );
    backoff_gap(&journal, 3, Duration::ZERO, 1);
    for p in run.points() {
        assert_eq!(p["status"], "failed", "{p}");
    }
    assert_eq!(stop["points_ok"], 0, "{stop}");
    assert_eq!(stop["points_failed"], 6, "{stop}");
}

/// The instrument goes away mid-run (each connection closed after five queries, every
/// later dial refused): after `reconnect_attempts` (2) failed attempts the run ends (it
/// neither hangs nor retries forever) with a `fail` stop record saying `unreachable`; the
/// ten points answered are ok, the two whose connections closed under them and the points
/// left waiting fail, the rest count as not run, and no point is recorded twice.
#[test]
fn instrument_lost_mid_run_ends_the_run_as_unreachable() {
    const VANISH: &str = r#"
name: vanish
on_error: continue
instrument:
  max_connections: 2
  reconnect_attempts: 2
steps:
  - name: s
    sweep: {i: {start: 1, stop: 200, step: 1}}
    parallel: all
    commands: [{query: "*OPC?", expect: "1"}]
"#;
    let instrument = Instrument::scpi()
        .on_dial(|conn| if conn < 2 { Dial::Open } else { Dial::Refused })
        .on_line(|line| {
            if line.queries == 5 {
                vec![Act::Close]
            } else {
                crate::testing::after(ms(20), line.scpi())
            }
        });
    let run = run(VANISH, &instrument);
    let journal = instrument.journal();
    let stop = run.stop();
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    let reason = stop["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("unreachable"), "{stop}");
    let (ok, failed, not_run) = (
        stop["points_ok"].as_u64().unwrap_or_default(),
        stop["points_failed"].as_u64().unwrap_or_default(),
        stop["points_not_run"].as_u64().unwrap_or_default(),
    );
    assert_eq!(ok, 10, "{stop}");
    assert_eq!(ok + failed + not_run, 200, "{stop}");
    assert!(not_run > 0, "{stop}");
    let mut ids = run.ids();
    let recorded = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        ids.len(),
        recorded,
        "a point recorded twice: {:?}",
        run.ids()
    );
    assert_eq!(recorded as u64, ok + failed, "{stop}");
    assert_eq!(
        run.said("reconnect attempt 2 of 2 failed"),
        1,
        "{}",
        run.log
    );
    assert_eq!(run.said("reconnect attempt 3"), 0, "{}", run.log);
    assert_eq!(journal.dials().len(), 5, "{}", journal.timeline());
}

/// A redial that never connects fails after `connect_timeout` (here 500 ms), and counts as
/// a failed attempt: the next dial comes after it plus the backoff, and serves.
#[test]
fn a_hanging_redial_fails_after_connect_timeout() {
    const YAML: &str = r#"
name: hang
on_error: continue
instrument:
  max_connections: 1
  timeout: 150ms
  connect_timeout: 500ms
steps:
  - name: s
    sweep: {i: [1, 2]}
    commands: [{query: "A{i}?", expect: "1"}]
"#;
    let instrument = Instrument::scpi()
        .on_dial(|conn| if conn == 1 { Dial::Hang } else { Dial::Open })
        .on_line(|line| {
            if line.conn == 0 {
                Vec::new()
            } else {
                reply("1")
            }
        });
    let run = run(YAML, &instrument);
    let journal = instrument.journal();
    assert_eq!(run.point("s/0")["status"], "failed");
    assert_eq!(run.point("s/1")["status"], "ok");
    assert_eq!(
        run.said("reconnect attempt 1 of 5 failed"),
        1,
        "{}",
        run.log
    );
    assert_eq!(journal.dials().len(), 3, "{}", journal.timeline());
    backoff_gap(&journal, 1, ms(500), 1);
}
