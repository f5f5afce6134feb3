//! Which points run at the same time: only those the sequence declares independent. Each
//! point here is one query `P ch volt?` that the instrument answers 10 ms later, so on the
//! paused clock the instrument's journal shows exactly when each point ran: one at a time
//! without `parallel:`, one point per lane with `parallel: [ch]`, anything at once with
//! `parallel: all`; and retries, which keep a lane's order.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use super::harness::{ms, run};
use crate::testing::{Act, Instrument, Journal, after, reply};

/// Two channels x 4 voltages over 4 connections; `parallel` is the step's `parallel:` line
/// (or nothing), `more` more lines of the step.
fn sweep(parallel: &str, more: &str) -> String {
    format!(
        r#"
name: lanes
instrument:
  max_connections: 4
steps:
  - name: s
    sweep:
      ch: [1, 2]
      volt: [1, 2, 3, 4]
{parallel}{more}    commands:
      - {{query: "P {{ch}} {{volt}}?", as: v}}
"#
    )
}

/// Answers `P ch volt?` with `volt` after 10 ms.
fn tenth() -> Instrument {
    Instrument::scpi().on_line(|line| {
        let volt = line
            .text
            .trim_end_matches('?')
            .rsplit(' ')
            .next()
            .unwrap_or("");
        after(ms(10), reply(volt))
    })
}

/// When each query arrived, from the first event, with its channel and voltage, in arrival
/// order.
fn arrivals(journal: &Journal) -> Vec<(Duration, String, String)> {
    let start: Option<Instant> = journal.0.first().map(|e| e.at);
    let mut seen = BTreeMap::<String, usize>::new();
    journal
        .received()
        .into_iter()
        .filter_map(|(_, line)| {
            let n = seen.entry(line.clone()).or_default();
            *n += 1;
            let at = journal
                .0
                .iter()
                .filter(|e| matches!(&e.what, crate::testing::What::Received(l) if *l == line))
                .nth(*n - 1)?
                .at;
            let mut words = line.trim_end_matches('?').split(' ').skip(1);
            let (ch, volt) = (words.next()?.to_owned(), words.next()?.to_owned());
            Some((at - start?, ch, volt))
        })
        .collect()
}

/// No `parallel:`: one point at a time, whatever the pool size: the eight queries arrive
/// one after the other (each as the one before is answered), in sweep order.
#[test]
fn without_parallel_one_point_at_a_time() {
    let instrument = tenth();
    let run = run(&sweep("", ""), &instrument);
    assert_eq!(run.stop()["points_ok"], 8);
    let arrivals = arrivals(&instrument.journal());
    let order: Vec<(&str, &str)> = arrivals
        .iter()
        .map(|(_, c, v)| (c.as_str(), v.as_str()))
        .collect();
    let sweep_order: Vec<(&str, &str)> = ["1", "2"]
        .into_iter()
        .flat_map(|c| ["1", "2", "3", "4"].map(|v| (c, v)))
        .collect();
    assert_eq!(order, sweep_order);
    // Each query arrives as the one before is answered; after a connection's first point,
    // it is watched 5 ms more before it reports (`watch_after_first_point`): the first four
    // points, one per connection, are 15 ms apart, the rest 10 ms.
    let gaps: Vec<Duration> = arrivals
        .windows(2)
        .map(|w| w[1].0.saturating_sub(w[0].0))
        .collect();
    assert_eq!(gaps, [15, 15, 15, 15, 10, 10, 10].map(ms), "{arrivals:?}");
}

/// `parallel: [ch]`: one point of each channel at a time: the two lanes run side by side,
/// each channel's queries one after the other in sweep order, point k of each channel at
/// the same instant.
#[test]
fn lanes_run_side_by_side_one_point_each() {
    let instrument = tenth();
    let run = run(&sweep("    parallel: [ch]\n", ""), &instrument);
    assert_eq!(run.stop()["points_ok"], 8);
    let arrivals = arrivals(&instrument.journal());
    for ch in ["1", "2"] {
        let lane: Vec<&(Duration, String, String)> =
            arrivals.iter().filter(|(_, c, _)| c == ch).collect();
        let volts: Vec<&str> = lane.iter().map(|(_, _, v)| v.as_str()).collect();
        assert_eq!(volts, ["1", "2", "3", "4"], "ch {ch}: {arrivals:?}");
        // 10 ms apart, 5 more after a connection's first point (four connections, two
        // lanes: each lane's first two points run on fresh connections).
        let gaps: Vec<Duration> = lane
            .windows(2)
            .map(|w| w[1].0.saturating_sub(w[0].0))
            .collect();
        assert_eq!(gaps, [15, 15, 10].map(ms), "ch {ch}: {arrivals:?}");
    }
    // Point k of channel 1 and point k of channel 2 arrive together.
    for k in 0..4 {
        let at = |ch: &str| {
            arrivals
                .iter()
                .filter(|(_, c, _)| c == ch)
                .nth(k)
                .map(|a| a.0)
        };
        assert_eq!(at("1"), at("2"), "{arrivals:?}");
    }
}

/// `parallel: all`: points of one channel overlap: the first four queries (all of
/// channel 1) arrive at the same instant, on the four connections.
#[test]
fn all_overlaps_points_of_one_channel() {
    let instrument = tenth();
    let run = run(&sweep("    parallel: all\n", ""), &instrument);
    assert_eq!(run.stop()["points_ok"], 8);
    let arrivals = arrivals(&instrument.journal());
    let first: Vec<&(Duration, String, String)> = arrivals.iter().take(4).collect();
    assert!(
        first
            .iter()
            .all(|(at, ch, _)| *at == first[0].0 && ch == "1"),
        "{arrivals:?}"
    );
}

/// `parallel: [ch]` with `ch: [1, 2, 1]` (a repeated value is one lane), `repeat: 2`, and
/// connections the instrument closes at their fourth query (points retried on a new
/// connection): for each channel, its records (failed attempts included) follow sweep
/// order across both passes, a point's retries before the lane's next point, and the
/// instrument never has two queries of one channel unanswered at once; the two lanes do
/// run at the same time; every point ends ok.
#[test]
fn lanes_never_overlap_and_keep_sweep_order_through_retries() {
    let yaml = r#"
name: lanes
instrument:
  max_connections: 4
  on_connect: ["REM"]
steps:
  - name: s
    sweep:
      ch: [1, 2, 1]
      volt: [1, 2, 3]
    repeat: 2
    parallel: [ch]
    retries: 10
    commands:
      - {query: "P {ch} {volt}?", as: v}
"#;
    let instrument = Instrument::scpi().on_line(|line| {
        if !line.text.starts_with("P ") {
            line.scpi()
        } else if line.queries == 3 {
            vec![Act::Close]
        } else {
            let volt = line
                .text
                .trim_end_matches('?')
                .rsplit(' ')
                .next()
                .unwrap_or("");
            after(ms(10), reply(volt))
        }
    });
    let run = run(yaml, &instrument);
    let stop = run.stop();
    assert_eq!(stop["points_ok"], 18, "{stop}");
    assert_eq!(stop["exit_status"], "success", "{stop}");
    let points = run.points();
    assert!(
        points.iter().any(|p| p["status"] == "failed"),
        "no attempt failed: the closes did not bite"
    );
    let mut lanes: BTreeMap<String, Vec<&serde_json::Value>> = BTreeMap::new();
    for p in &points {
        lanes
            .entry(p["vars"]["ch"].to_string())
            .or_default()
            .push(p);
    }
    assert_eq!(lanes.len(), 2, "{lanes:?}");
    for (ch, lane) in &lanes {
        let order: Vec<(Option<u64>, Option<u64>)> = lane
            .iter()
            .map(|p| (p["index"].as_u64(), p["attempt"].as_u64()))
            .collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(order, sorted, "ch {ch}: records out of sweep order");
    }
    // At the instrument: a channel's query is answered (or its connection closed) before
    // the next query of that channel arrives.
    let journal = instrument.journal();
    let mut open: BTreeSet<(usize, String)> = BTreeSet::new();
    let mut busy: BTreeMap<String, usize> = BTreeMap::new();
    let mut together = false;
    for e in &journal.0 {
        match &e.what {
            crate::testing::What::Received(line) if line.starts_with("P ") => {
                let ch = line.split(' ').nth(1).unwrap_or_default().to_owned();
                let n = busy.entry(ch.clone()).or_default();
                assert_eq!(
                    *n,
                    0,
                    "two points of ch {ch} at once\n{}",
                    journal.timeline()
                );
                *n += 1;
                together |= busy.values().filter(|&&n| n > 0).count() == 2;
                open.insert((e.conn, ch));
            }
            crate::testing::What::Sent(_)
            | crate::testing::What::Closed
            | crate::testing::What::Ended => {
                let done: Vec<(usize, String)> =
                    open.iter().filter(|(c, _)| *c == e.conn).cloned().collect();
                for key in done {
                    open.remove(&key);
                    *busy.entry(key.1).or_default() -= 1;
                }
            }
            _ => {}
        }
    }
    assert!(together, "the two lanes never ran at the same time");
}
