//! [`Recording::load`] on real files: per-instrument tapes, framing from the log, the
//! choice of an instrument, errors, and a replay served over TCP.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use super::*;
use crate::runlog::read::tests::{START, TempLog};

/// A log is read with its failed attempts, setup and teardown, in log order; a torn last
/// line is ignored.
#[test]
fn load_reads_every_point_record() {
    let text = format!(
        "{START}{}\n{}\n{}\n{}\n{}",
        r#"{"type":"point","id":"setup/0","status":"ok","commands":[{"sent":"*RST","elapsed_ms":0.1}]}"#,
        r#"{"type":"point","id":"s/0","status":"failed","attempt":1,"conn":1,"commands":[{"sent":"M?","elapsed_ms":2000}]}"#,
        r#"{"type":"point","id":"s/0","status":"ok","attempt":2,"conn":2,"commands":[{"sent":"M?","reply":"7","elapsed_ms":4}]}"#,
        r#"{"type":"point","id":"s/1","status":"failed","conn":0,"commands":[]}"#,
        r#"{"type":"point","id":"s/2","status":"ok","commands":[{"sent":"M?","reply":"#,
    );
    let log = TempLog::new(&text);
    let recording = Recording::load(&log.path, 0.0).unwrap();
    assert_eq!((recording.points(), recording.commands()), (3, 3));
    let replay = recording.instrument(None).unwrap();
    let mut model = replay.build(Arc::new(Counters::default()));
    let ask = |model: &mut Box<dyn Model>, conn, m| model.handle(conn, m, Instant::now()).replies;
    assert_eq!(ask(&mut model, 1, "*RST"), Vec::<String>::new());
    // The failed attempt got no reply, and neither does its replay.
    assert_eq!(ask(&mut model, 1, "M?"), Vec::<String>::new());
    model.closed(1);
    assert_eq!(ask(&mut model, 2, "M?"), vec!["7".to_owned()]);
    assert_eq!(model.report(), None);
    assert_eq!(replay.framing(), Framing::lines());
}

/// Logs with nothing to replay, files that are not logs, and bad speeds are usage errors.
#[test]
fn load_errors() {
    let only_start = TempLog::new(START);
    let empty_points = TempLog::new(&format!(
        "{START}{{\"type\":\"point\",\"id\":\"s/0\",\"commands\":[]}}\n"
    ));
    let good = TempLog::new(&format!(
        "{START}{{\"type\":\"point\",\"id\":\"s/0\",\"commands\":[{{\"sent\":\"A\"}}]}}\n"
    ));
    let cases: [(&Path, f64, &str); 6] = [
        (&only_start.path, 1.0, "it has no point records"),
        (
            &empty_points.path,
            1.0,
            "its 1 point records sent no command",
        ),
        (Path::new("/nonexistent/x.jsonl"), 1.0, "cannot open it"),
        (&good.path, -1.0, "`--replay-speed` must be 0 or more"),
        (&good.path, f64::NAN, "not `NaN`"),
        (&good.path, -0.5, "not `-0.5`"),
    ];
    for (path, speed, want) in cases {
        let err = crate::Error::from(Recording::load(path, speed).unwrap_err());
        assert!(err.to_string().contains(want), "{path:?} {speed}: {err}");
        assert_eq!(err.exit_code(), crate::error::EXIT_INVALID);
    }
    assert!(Recording::load(&good.path, 1.0).is_ok());
}

/// Served over TCP, a replay answers from the recording, keeps connections apart, and
/// returns its report when the server stops.
#[tokio::test]
async fn serves_over_tcp() {
    use crate::sim::SimConfig;
    use crate::sim::test_support::{Client, Server};
    let text = format!(
        "{START}{}\n{}\n",
        r#"{"type":"point","id":"iv/0","commands":[{"sent":"SOUR1:VOLT 0","elapsed_ms":0.1},{"sent":"MEAS1:CURR?","reply":"0.0","elapsed_ms":5}]}"#,
        r#"{"type":"point","id":"iv/1","commands":[{"sent":"SOUR1:VOLT 0.1","elapsed_ms":0.1},{"sent":"MEAS1:CURR?","reply":"0.1","elapsed_ms":5}]}"#,
    );
    let log = TempLog::new(&text);
    let recording = Recording::load(&log.path, 0.0).unwrap();
    let server = Server::start(SimConfig {
        blueprint: Some(Arc::new(recording.instrument(None).unwrap())),
        ..SimConfig::default()
    })
    .await;
    let mut a = Client::connect(server.addr).await;
    let mut b = Client::connect(server.addr).await;
    b.send("SOUR1:VOLT 0.1\r\n").await;
    a.send("SOUR1:VOLT 0\n").await;
    assert_eq!(a.query("MEAS1:CURR?").await, "0.0");
    assert_eq!(b.query("MEAS1:CURR?").await, "0.1");
    assert_eq!(a.query("*IDN?").await, DEVICE_ERROR);
    let report = server.stop().await.unwrap();
    assert!(report.contains("1 command had no recording"), "{report}");
    assert!(report.contains("\n  1x *IDN?"), "{report}");
}

/// A two-instrument log: one tape per instrument, framed as the start record (or a later
/// resume record) lists it; `sim --replay` must pick one, `run --replay` matches names.
#[test]
fn several_instruments_are_replayed_apart() {
    let text = format!(
        "{}\n{}\n{}\n{}\n{}\n{}\n",
        r#"{"type":"start","name":"two","instruments":[{"name":"tc","write_termination":"\n","read_termination":"\n"},{"name":"smu","write_termination":"\r","read_termination":"\n"}]}"#,
        r#"{"type":"connect","instrument":"tc","conn":1,"commands":[{"sent":"*IDN?","reply":"TC","elapsed_ms":1}]}"#,
        r#"{"type":"point","id":"setup/0","instrument":"tc","commands":[{"sent":"*IDN?","reply":"TC","elapsed_ms":1}]}"#,
        r#"{"type":"point","id":"setup/1","instrument":"smu","commands":[{"sent":"*IDN?","reply":"SMU","elapsed_ms":1}]}"#,
        r#"{"type":"resume","instruments":[{"name":"tc"},{"name":"smu","write_termination":"\r","read_termination":"\r\n"}]}"#,
        r#"{"type":"point","id":"setup/1","instrument":"smu","commands":[{"sent":"*IDN?","reply":"SMU2","elapsed_ms":1}]}"#,
    );
    let log = TempLog::new(&text);
    let recording = Recording::load(&log.path, 0.0).unwrap();
    assert_eq!((recording.points(), recording.connects()), (3, 1));
    let err = recording.instrument(None).unwrap_err().to_string();
    assert!(
        err.contains("records several instruments (`tc`, `smu`)") && err.contains("--instrument"),
        "{err}"
    );
    let err = crate::Error::from(recording.instrument(Some("dmm")).unwrap_err());
    assert_eq!(err.exit_code(), crate::error::EXIT_INVALID);
    assert!(
        err.to_string()
            .contains("has no instrument `dmm` (instruments: `tc`, `smu`)"),
        "{err}"
    );
    let ask = |model: &mut Box<dyn Model>, conn, m| model.handle(conn, m, Instant::now()).replies;
    let smu = recording.instrument(Some("smu")).unwrap();
    let mut model = smu.build(Arc::new(Counters::default()));
    // Only smu's records: its *IDN? replies, never tc's.
    assert_eq!(ask(&mut model, 1, "*IDN?"), ["SMU"]);
    assert_eq!(ask(&mut model, 2, "*IDN?"), ["SMU2"]);
    assert_eq!(ask(&mut model, 3, "*IDN?"), ["SMU"]);
    // The resume record's terminations are the last word; `\r` commands frame exactly.
    let want = Framing {
        read_termination: b"\r".to_vec(),
        write_termination: b"\r\n".to_vec(),
        lenient: false,
    };
    assert_eq!(smu.framing(), want);
    let tc = recording.instrument(Some("tc")).unwrap();
    assert_eq!(tc.framing(), Framing::lines());
    let report = tc.build(Arc::new(Counters::default())).report().unwrap();
    assert!(
        report.starts_with("replay of `") && report.contains("` (instrument `tc`): 1 of 1"),
        "{report}"
    );
    // `run --replay`: by name, framed as the sequence says; a name the log lacks is refused.
    let io = crate::sequence::IoSettings {
        write_termination: "\r\n".into(),
        ..crate::sequence::IoSettings::default()
    };
    let tc = recording.replay_of("tc", false, &io).unwrap();
    assert_eq!(tc.framing().read_termination, b"\r\n");
    assert!(!tc.framing().lenient);
    let mut model = tc.build(Arc::new(Counters::default()));
    // The connect record, the point, then the plain rule over both, then nothing.
    for conn in 1..=4 {
        assert_eq!(ask(&mut model, conn, "*IDN?"), ["TC"], "connection {conn}");
    }
    assert_eq!(ask(&mut model, 5, "*IDN?"), [DEVICE_ERROR]);
    let err = recording
        .replay_of("dmm", false, &io)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("has no records of instrument `dmm` (instruments: `tc`, `smu`)"),
        "{err}"
    );
    let empty = crate::sequence::IoSettings {
        write_termination: String::new(),
        ..crate::sequence::IoSettings::default()
    };
    let err = recording
        .replay_of("tc", false, &empty)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`write_termination` is empty"), "{err}");
}

/// A log whose records do not name their instrument (written before they did) is one
/// instrument, whatever its start record lists: no `--instrument` needed, and every
/// instrument of a `run --replay` gets it. A single-instrument log serves a sequence whose
/// only instrument has another name.
#[test]
fn older_logs_are_one_instrument() {
    let text = format!(
        "{}\n{}\n",
        r#"{"type":"start","name":"old","instruments":[{"name":"a","address":"x:1"},{"name":"b","address":"x:2"}]}"#,
        r#"{"type":"point","id":"s/0","commands":[{"sent":"A?","reply":"1","elapsed_ms":1}]}"#,
    );
    let log = TempLog::new(&text);
    let recording = Recording::load(&log.path, 0.0).unwrap();
    let io = crate::sequence::IoSettings::default();
    assert_eq!(
        recording.instrument(None).unwrap().framing(),
        Framing::lines()
    );
    assert!(recording.instrument(Some("a")).is_ok());
    assert!(recording.replay_of("b", false, &io).is_ok());
    let report = recording
        .instrument(None)
        .unwrap()
        .build(Arc::new(Counters::default()))
        .report()
        .unwrap();
    assert!(!report.contains("(instrument"), "{report}");

    let single = TempLog::new(&format!(
        "{}\n{}\n",
        r#"{"type":"start","name":"one","instruments":[{"name":"instrument"}]}"#,
        r#"{"type":"point","id":"s/0","instrument":"instrument","commands":[{"sent":"A?","reply":"1","elapsed_ms":1}]}"#,
    ));
    let recording = Recording::load(&single.path, 0.0).unwrap();
    assert!(recording.replay_of("smu", true, &io).is_ok());
    assert!(recording.replay_of("smu", false, &io).is_err());
    assert!(recording.instrument(Some("smu")).is_err());
    assert!(recording.instrument(Some("instrument")).is_ok());
}
