//! The replay model against small recordings (`load_tests.rs` reads real files).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::player::Player;
use super::*;
use crate::runlog::read::{CommandRecord, ConnectRecord, PointRecord};

/// A recorded point: its id and its commands, `"SENT"` for a write or `"SENT -> REPLY"`
/// for a query; every exchange took 10 ms.
type Spec<'a> = (&'a str, &'a [&'a str]);

/// The exchanges of a spec's commands.
fn exchanges(commands: &[&str]) -> Vec<CommandRecord> {
    commands
        .iter()
        .map(|c| {
            let (sent, reply) = c
                .split_once(" -> ")
                .map_or((*c, None), |(s, r)| (s, Some(r.to_owned())));
            CommandRecord {
                sent: sent.to_owned(),
                reply,
                elapsed_ms: 10.0,
                on: None,
            }
        })
        .collect()
}

/// The point record of `spec`.
fn record((id, commands): Spec<'_>) -> PointRecord {
    PointRecord {
        id: id.to_owned(),
        commands: exchanges(commands),
        ..PointRecord::default()
    }
}

/// A fresh replay of `points`, in log order, at `speed`. A spec whose id is
/// `connect/N` is the connect record of connection N.
fn player_at(points: &[Spec<'_>], speed: f64) -> Player {
    let mut builder = TapeBuilder::new(Path::new("run.jsonl"), speed);
    for &spec in points {
        match spec.0.strip_prefix("connect/") {
            Some(conn) => builder.push_connect(ConnectRecord {
                instrument: None,
                conn: conn.parse().unwrap(),
                greeting: None,
                commands: exchanges(spec.1),
            }),
            None => builder.push(record(spec)),
        }
    }
    Player::new(Arc::new(builder.finish()))
}

/// A fresh replay of `points` at speed 1.
fn player(points: &[Spec<'_>]) -> Player {
    player_at(points, 1.0)
}

/// Sends `(conn, message, expected reply)` in order and checks each reply (`None`: none).
fn script(player: &mut Player, steps: &[(u64, &str, Option<&str>)]) {
    for (i, &(conn, message, want)) in steps.iter().enumerate() {
        let response = player.handle(conn, message, Instant::now());
        assert_eq!(
            response.replies.first().map(String::as_str),
            want,
            "step {i}: `{message}` on connection {conn}"
        );
    }
}

/// A two-channel sweep: each point a write, a query, `*OPC?`.
const SWEEP: &[Spec<'_>] = &[
    (
        "iv/0",
        &["SOUR1:VOLT 0", "MEAS1:CURR? -> 0.0", "*OPC? -> 1"],
    ),
    (
        "iv/1",
        &["SOUR1:VOLT 0.1", "MEAS1:CURR? -> 0.1", "*OPC? -> 1"],
    ),
    (
        "iv/2",
        &["SOUR1:VOLT 0.2", "MEAS1:CURR? -> 0.2", "*OPC? -> 1"],
    ),
];

/// Points arriving out of log order, interleaved over connections, each get their own
/// recorded replies, though every query text is the same.
#[test]
fn out_of_order_across_connections() {
    let mut p = player(SWEEP);
    script(
        &mut p,
        &[
            (1, "SOUR1:VOLT 0.2", None),
            (2, "SOUR1:VOLT 0", None),
            (3, "SOUR1:VOLT 0.1", None),
            (2, "MEAS1:CURR?", Some("0.0")),
            (3, "MEAS1:CURR?", Some("0.1")),
            (1, "MEAS1:CURR?", Some("0.2")),
            (1, "*OPC?", Some("1")),
            (3, "*OPC?", Some("1")),
            (2, "*OPC?", Some("1")),
        ],
    );
    assert_eq!(p.report(), None, "every command was recorded");
}

/// Identical points (a `repeat:` sweep) replay in dispatch order, whichever connection asks.
#[test]
fn repeated_identical_points() {
    let rec: &[Spec<'_>] = &[
        ("m/0", &["VOLT 1", "MEAS? -> first"]),
        ("m/1", &["VOLT 1", "MEAS? -> second"]),
        ("m/2", &["VOLT 1", "MEAS? -> third"]),
    ];
    // Concurrent: claims go in arrival order of the first command.
    let mut p = player(rec);
    script(
        &mut p,
        &[
            (1, "VOLT 1", None),
            (2, "VOLT 1", None),
            (2, "MEAS?", Some("second")),
            (1, "MEAS?", Some("first")),
        ],
    );
    // One connection after another: a finished point makes room for the next.
    let mut p = player(rec);
    script(
        &mut p,
        &[
            (1, "VOLT 1", None),
            (1, "MEAS?", Some("first")),
            (1, "VOLT 1", None),
            (1, "MEAS?", Some("second")),
            (1, "VOLT 1", None),
            (1, "MEAS?", Some("third")),
            // The recording is used up: the plain rule gives the first recorded reply again.
            (1, "VOLT 1", None),
            (1, "MEAS?", Some("first")),
        ],
    );
}

/// Identical points are replayed in dispatch order (step, then index), not in the
/// completion order of the log: the first sent gets the first dispatched point's replies.
#[test]
fn identical_points_in_dispatch_order() {
    let rec: &[Spec<'_>] = &[
        ("setup/0", &["*RST"]),
        ("b/3", &["*CLS", "N? -> b3"]),
        ("a/1", &["*CLS", "N? -> a1"]),
        ("b/2", &["*CLS", "N? -> b2"]),
        ("a/0", &["*CLS", "N? -> a0"]),
        ("b/10", &["*CLS", "N? -> b10"]),
    ];
    let mut p = player(rec);
    // Steps rank by first appearance (setup, b, a), points by index within a step.
    let mut steps = vec![(1, "*RST", None)];
    for want in ["b2", "b3", "b10", "a0", "a1"] {
        steps.push((1, "*CLS", None));
        steps.push((1, "N?", Some(want)));
    }
    script(&mut p, &steps);
}

/// A poll sends the same query several times within a point; each gets its recorded reply,
/// and the next point's identical first query starts the next recorded point.
#[test]
fn poll_repeats_a_query() {
    let rec: &[Spec<'_>] = &[
        ("p/0", &["STAT? -> BUSY", "STAT? -> BUSY", "STAT? -> IDLE"]),
        ("p/1", &["STAT? -> IDLE"]),
        ("p/2", &["STAT? -> BUSY", "STAT? -> IDLE"]),
    ];
    let mut p = player(rec);
    script(
        &mut p,
        &[
            (1, "STAT?", Some("BUSY")),
            (2, "STAT?", Some("IDLE")),
            (1, "STAT?", Some("BUSY")),
            (2, "STAT?", Some("BUSY")),
            (1, "STAT?", Some("IDLE")),
            (2, "STAT?", Some("IDLE")),
        ],
    );
    assert_eq!(p.report(), None);
}

/// Points sharing a first command: a divergence switches to the point that fits, free or
/// (by swapping) held by another connection that sent the same prefix.
#[test]
fn divergence_switches_points() {
    let rec: &[Spec<'_>] = &[
        ("c/0", &["*CLS", "VOLT 0", "MEAS? -> a"]),
        ("c/1", &["*CLS", "VOLT 1", "MEAS? -> b"]),
        ("c/2", &["*CLS", "VOLT 2", "MEAS? -> c"]),
    ];
    // Free: connection 1 claimed c/0 for `*CLS`, then turns out to be c/2; c/0 is released.
    let mut p = player(rec);
    script(
        &mut p,
        &[
            (1, "*CLS", None),
            (1, "VOLT 2", None),
            (1, "MEAS?", Some("c")),
            (1, "*CLS", None),
            (1, "VOLT 0", None),
            (1, "MEAS?", Some("a")),
        ],
    );
    // Held: each connection claimed the other's point for `*CLS`; they swap.
    let mut p = player(rec);
    script(
        &mut p,
        &[
            (1, "*CLS", None),
            (2, "*CLS", None),
            (1, "VOLT 1", None),
            (2, "VOLT 0", None),
            (2, "MEAS?", Some("a")),
            (1, "MEAS?", Some("b")),
        ],
    );
    assert_eq!(
        p.report().unwrap(),
        "replay of `run.jsonl`: 1 of 3 recorded points were never replayed: c/2",
        "every command was recorded"
    );
    // A connection further along is never robbed: its prefix is not ours.
    let mut p = player(&rec[..2]);
    script(
        &mut p,
        &[
            (1, "*CLS", None),
            (1, "VOLT 0", None),
            (2, "*CLS", None),
            // c/0 is held past `VOLT 0`: connection 2 falls back to the plain rule.
            (2, "VOLT 0", None),
            (2, "MEAS?", Some("a")),
            (1, "MEAS?", Some("a")),
        ],
    );
}

/// A command no recorded point starts with gets the next recorded reply of its text; when
/// those run out it is unrecorded.
#[test]
fn fallback_per_text() {
    let rec: &[Spec<'_>] = &[
        ("s/0", &["VOLT 0", "MEAS? -> a"]),
        ("s/1", &["VOLT 1", "MEAS? -> b"]),
    ];
    let mut p = player(rec);
    script(
        &mut p,
        &[
            (1, "MEAS?", Some("a")),
            (1, "MEAS?", Some("b")),
            (1, "MEAS?", Some("ERROR")),
            // Points still start normally afterwards.
            (1, "VOLT 1", None),
            (1, "MEAS?", Some("b")),
        ],
    );
    let report = p.report().unwrap();
    assert!(report.contains("1 command had no recording"), "{report}");
    assert!(report.contains("\n  1x MEAS?"), "{report}");
    assert!(
        report.ends_with("\n1 of 2 recorded points were never replayed: s/0"),
        "{report}"
    );
}

/// An unrecorded query gets the device error, an unrecorded write nothing; both counted.
#[test]
fn unrecorded_query_and_write() {
    let mut p = player(SWEEP);
    script(
        &mut p,
        &[
            (1, "SYST:REM", None),
            (1, "*IDN?", Some(DEVICE_ERROR)),
            (1, "MEAS2:CURR? (@1)", Some(DEVICE_ERROR)),
            (1, "SOUR1:VOLT 0", None),
            (1, "SYST:REM", None),
            (1, "MEAS1:CURR?", Some("0.0")),
        ],
    );
    assert_eq!(
        p.report().unwrap(),
        "replay of `run.jsonl`: 4 commands had no recording (2 queries answered `ERROR`):\n  \
         2x SYST:REM\n  \
         1x *IDN?\n  \
         1x MEAS2:CURR? (@1)\n\
         2 of 3 recorded points were never replayed: iv/1, iv/2"
    );
}

/// The report lists the first ten distinct texts and counts the rest; long texts are cut.
#[test]
fn report_is_capped() {
    let mut p = player(SWEEP);
    for i in 0..12 {
        p.handle(1, &format!("X{i}?"), Instant::now());
        p.handle(1, &format!("X{i}?"), Instant::now());
    }
    let report = p.report().unwrap();
    assert!(report.contains("24 commands had no recording"), "{report}");
    assert!(report.contains("\n  2x X9?\n  ... and 4 more with other texts\n"));
    assert!(!report.contains("X10?"), "{report}");
    let long = format!("SOUR:LIST {}", "1,".repeat(100));
    let mut p = player(SWEEP);
    p.handle(2, &long, Instant::now());
    let report = p.report().unwrap();
    assert!(
        report.contains(&format!("\n  1x {}...\n", &long[..80])),
        "{report}"
    );
}

/// A closed connection gives up its place; its point counts as replayed.
#[test]
fn closed_connection_forgets_its_point() {
    let rec: &[Spec<'_>] = &[
        ("r/0", &["VOLT 0", "MEAS? -> dropped"]),
        ("r/0", &["VOLT 0", "MEAS? -> retried"]),
    ];
    let mut p = player(rec);
    script(&mut p, &[(1, "VOLT 0", None)]);
    p.closed(1);
    script(
        &mut p,
        &[(2, "VOLT 0", None), (2, "MEAS?", Some("retried"))],
    );
}

/// A later record of a point id is kept for that point's retry while its earlier attempt
/// is being replayed: an identical point arriving meanwhile takes the next record instead.
#[test]
fn retry_record_is_kept_for_the_retry() {
    let rec: &[Spec<'_>] = &[
        ("m/0", &["VOLT 1", "MEAS?"]), // the connection broke: no reply
        ("m/0", &["VOLT 1", "MEAS? -> retried"]),
        ("m/5", &["VOLT 1", "MEAS? -> other pass"]),
    ];
    let mut p = player(rec);
    script(
        &mut p,
        &[
            (1, "VOLT 1", None),
            (1, "MEAS?", None), // the sequencer times out and closes connection 1
            (2, "VOLT 1", None),
            (2, "MEAS?", Some("other pass")),
        ],
    );
    p.closed(1);
    script(
        &mut p,
        &[(3, "VOLT 1", None), (3, "MEAS?", Some("retried"))],
    );
    // With nothing else left, a reserved record still beats the plain rule.
    let mut p = player(&rec[..2]);
    script(
        &mut p,
        &[
            (1, "VOLT 1", None),
            (2, "VOLT 1", None),
            (2, "MEAS?", Some("retried")),
        ],
    );
}

/// An attempt recorded as broken off goes on into its recorded retry when the replay's
/// connection (which does not break) sends the next command.
#[test]
fn cut_attempt_goes_on_into_its_retry() {
    let rec: &[Spec<'_>] = &[
        ("r/0", &["*CLS", "VOLT 0.4"]), // could not send `MEAS?`: broken pipe
        ("r/1", &["*CLS", "VOLT 0.4", "MEAS? -> other point"]),
        ("r/0", &["*CLS", "VOLT 0.4", "MEAS? -> 0.4"]),
    ];
    let mut p = player(rec);
    script(
        &mut p,
        &[
            (1, "*CLS", None),
            (1, "VOLT 0.4", None),
            (1, "MEAS?", Some("0.4")),
            (2, "*CLS", None),
            (2, "VOLT 0.4", None),
            (2, "MEAS?", Some("other point")),
        ],
    );
    assert_eq!(p.report(), None);
    // A point that ended normally does not run on into the next identical record.
    let rec: &[Spec<'_>] = &[
        ("p/1", &["STAT? -> IDLE"]),
        ("p/2", &["STAT? -> BUSY", "STAT? -> IDLE"]),
    ];
    let mut p = player(rec);
    script(
        &mut p,
        &[
            (1, "STAT?", Some("IDLE")),
            (1, "STAT?", Some("BUSY")),
            (1, "STAT?", Some("IDLE")),
        ],
    );
}

/// Replies come after the recorded latency divided by the speed; writes and speed 0 have
/// no delay.
#[test]
fn latency_scales_with_speed() {
    let rec: &[Spec<'_>] = &[("s/0", &["VOLT 0", "MEAS? -> a"])];
    for (speed, want) in [(1.0, 10), (2.0, 5), (0.0, 0), (f64::INFINITY, 0)] {
        let mut p = player_at(rec, speed);
        let write = p.handle(1, "VOLT 0", Instant::now());
        assert_eq!(write.delay, Duration::ZERO);
        let query = p.handle(1, "MEAS?", Instant::now());
        assert_eq!(query.delay, Duration::from_millis(want), "speed {speed}");
    }
}

/// Recorded points no connection asked for are reported on their own, though every command
/// had a recording (a replay stopped early, a sequence that lost a step); the ids listed
/// are capped.
#[test]
fn never_replayed_points_are_reported() {
    let mut p = player(SWEEP);
    script(
        &mut p,
        &[
            (1, "SOUR1:VOLT 0", None),
            (1, "MEAS1:CURR?", Some("0.0")),
            (1, "*OPC?", Some("1")),
        ],
    );
    assert_eq!(
        p.report().as_deref(),
        Some("replay of `run.jsonl`: 2 of 3 recorded points were never replayed: iv/1, iv/2")
    );
    let many: Vec<(String, [&str; 1])> = (0..12).map(|i| (format!("s/{i}"), ["*CLS"])).collect();
    let specs: Vec<Spec<'_>> = many.iter().map(|(id, c)| (id.as_str(), &c[..])).collect();
    let p = player(&specs);
    assert_eq!(
        p.report().unwrap(),
        "replay of `run.jsonl`: 12 of 12 recorded points were never replayed: s/0, s/1, s/2, \
         s/3, s/4, s/5, s/6, s/7, s/8, s/9, ..."
    );
}

/// A new connection's first commands replay a connect record (its `on_connect`), even when
/// a point starts with the same command; further connections take further records, and
/// one more than recorded falls back to the replies of its text. Unreplayed connect records
/// are not reported.
#[test]
fn new_connections_replay_connect_records() {
    let rec: &[Spec<'_>] = &[
        ("connect/1", &["*CLS", "SYST:ERR? -> 0,first"]),
        ("connect/2", &["*CLS", "SYST:ERR? -> 0,second"]),
        ("connect/3", &["*CLS", "SYST:ERR? -> 0,unused"]),
        ("p/0", &["*CLS", "MEAS? -> a"]),
        ("p/1", &["*CLS", "MEAS? -> b"]),
    ];
    let mut p = player(rec);
    script(
        &mut p,
        &[
            (1, "*CLS", None),
            (2, "*CLS", None),
            (2, "SYST:ERR?", Some("0,second")),
            (1, "SYST:ERR?", Some("0,first")),
            (1, "*CLS", None),
            (1, "MEAS?", Some("a")),
            (2, "*CLS", None),
            (2, "MEAS?", Some("b")),
        ],
    );
    assert_eq!(p.report(), None, "connect/3 is not a point");
    // A connection that is not new never takes a connect record.
    let mut p = player(rec);
    script(
        &mut p,
        &[
            (1, "*CLS", None),
            (1, "SYST:ERR?", Some("0,first")),
            (1, "*CLS", None),
            (1, "SYST:ERR?", Some("0,first")), // the plain rule: the first reply of the text
        ],
    );
}

/// A point record whose commands went to several instruments is cut where the instrument
/// changes: its own commands stay together, each run of `on:` commands becomes a record of
/// that instrument, with an id that names the run (the same in every attempt).
#[test]
fn on_exchanges_go_to_their_instruments_tape() {
    let mut point = record((
        "T/2/iv/7",
        &[
            "V 1",
            "TEMP? -> 200",
            "HTR? -> MED",
            "I? -> 1e-3",
            "TEMP? -> 201",
        ],
    ));
    for (i, on) in [None, Some("tc"), Some("tc"), None, Some("tc")]
        .into_iter()
        .enumerate()
    {
        point.commands[i].on = on.map(str::to_owned);
    }
    let parts = by_instrument(point);
    let shown: Vec<(Option<&str>, &str, Vec<&str>)> = parts
        .iter()
        .map(|(on, p)| {
            let sent = p.commands.iter().map(|c| c.sent.as_str()).collect();
            (on.as_deref(), p.id.as_str(), sent)
        })
        .collect();
    assert_eq!(
        shown,
        [
            (None, "T/2/iv/7", vec!["V 1", "I?"]),
            (Some("tc"), "T/2/iv/7 >on tc #1", vec!["TEMP?", "HTR?"]),
            (Some("tc"), "T/2/iv/7 >on tc #2", vec!["TEMP?"]),
        ]
    );
}
