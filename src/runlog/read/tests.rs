//! The record iterator on small hand-written logs; [`TempLog`] and [`START`] serve the
//! tests of every reader.

use super::*;

/// A run log written to a fresh temporary file, removed on drop.
pub(crate) struct TempLog {
    /// The log's path.
    pub path: PathBuf,
}

impl TempLog {
    /// Writes `text` as a run log.
    pub(crate) fn new(text: &str) -> TempLog {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("seq-records-{}-{n}.jsonl", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempLog { path }
    }

    /// The log opened for reading.
    pub(crate) fn records(&self) -> Records {
        Records::open(&self.path).unwrap()
    }
}

impl Drop for TempLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The start line every test log opens with.
pub(crate) const START: &str = "{\"type\":\"start\",\"run_id\":\"r\",\"name\":\"n\"}\n";

/// Every record of `text` handed on, or the first error (with a test advice added to a
/// start record problem).
fn read(text: &str) -> Result<Vec<Record>, ReadError> {
    let log = TempLog::new(text);
    let mut records = Records::open(&log.path).map_err(|e| e.advise("NEVER BEGAN", "NOT A LOG"))?;
    let mut out = Vec::new();
    for_each_record(&mut records, |r| out.push(r))?;
    Ok(out)
}

/// The point records of `text`.
fn points(text: &str) -> Vec<PointRecord> {
    read(text)
        .unwrap()
        .into_iter()
        .filter_map(|r| match r {
            Record::Point(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// Point records come back in log order with their fields; other records are skipped,
/// and a torn last line is ignored.
#[test]
fn reads_points_in_order() {
    let text = format!(
        "{START}{}{}{}{}",
        r#"{"type":"point","id":"s/1","step":"s","instrument":"smu","vars":{"v":1},"conn":2,"status":"failed","error":"boom","commands":[{"sent":"A 1","elapsed_ms":0.1},{"sent":"B?","reply":"7","elapsed_ms":2.5}],"values":{"b":"7"}}"#,
        "\n{\"type\":\"stop\",\"exit_status\":\"fail\"}\n",
        "{\"type\":\"point\",\"id\":\"s/0\",\"status\":\"ok\",\"attempt\":2,\"started_at\":\"2026-11-25T02:26:57.942Z\",\"elapsed_ms\":26.5}\n",
        "{\"type\":\"point\",\"id\":\"s/2\",\"st",
    );
    let points = points(&text);
    assert_eq!(points.len(), 2);
    assert_eq!(points[0].id, "s/1");
    assert_eq!(points[0].step, "s");
    assert_eq!(points[0].instrument.as_deref(), Some("smu"));
    assert_eq!(points[1].instrument, None, "older logs do not name it");
    assert_eq!(points[1].attempt, 2);
    assert_eq!(points[1].started_at, "2026-11-25T02:26:57.942Z");
    assert!((points[1].elapsed_ms - 26.5).abs() < 1e-9);
    assert_eq!(points[0].vars["v"], 1);
    assert_eq!(points[0].error.as_deref(), Some("boom"));
    assert_eq!(points[0].commands[1].reply.as_deref(), Some("7"));
    assert!((points[0].commands[1].elapsed_ms - 2.5).abs() < 1e-9);
    assert_eq!(points[0].commands[0].reply, None);
    assert_eq!(points[0].values["b"], "7");
    assert_eq!(points[1].id, "s/0");
    assert!(points[1].commands.is_empty());
}

/// Connect and resume records are handed on too, in log order; `for_each_point` skips
/// them.
#[test]
fn connect_and_resume_records() {
    let text = format!(
        "{START}{}\n{}\n{}\n",
        r#"{"type":"connect","instrument":"tc","conn":3,"commands":[{"sent":"*IDN?","reply":"TC","elapsed_ms":1}],"at":"2026-11-25T02:26:57.942Z"}"#,
        r#"{"type":"resume","instruments":[{"name":"tc","address":"a:1","write_termination":"\r","read_termination":"\r\n"},{"name":"old"},{"address":"x"}]}"#,
        r#"{"type":"point","id":"s/0","commands":[]}"#,
    );
    let records = read(&text).unwrap();
    assert_eq!(
        records[0],
        Record::Connect(ConnectRecord {
            instrument: Some("tc".into()),
            conn: 3,
            greeting: None,
            commands: vec![CommandRecord {
                sent: "*IDN?".into(),
                reply: Some("TC".into()),
                elapsed_ms: 1.0,
                on: None,
            }],
        })
    );
    let tc = LoggedInstrument {
        name: "tc".into(),
        write_termination: Some("\r".into()),
        read_termination: Some("\r\n".into()),
    };
    let old = LoggedInstrument {
        name: "old".into(),
        ..LoggedInstrument::default()
    };
    assert_eq!(records[1], Record::Resume(vec![tc, old]));
    assert!(matches!(&records[2], Record::Point(p) if p.id == "s/0"));
    let log = TempLog::new(&text);
    let mut seen = 0;
    let n = for_each_point(&mut log.records(), |_| seen += 1).unwrap();
    assert_eq!((n, seen), (1, 1));
}

/// The iterator counts lines and bytes of complete lines, and stops at a torn last line
/// without parsing it, remembering its length.
#[test]
fn torn_last_line_ends_the_reading() {
    let good = format!("{START}{{\"type\":\"stop\"}}\n");
    let torn = "{\"type\":\"poi";
    let log = TempLog::new(&format!("{good}{torn}"));
    let mut records = log.records();
    assert_eq!(records.start()["name"], "n");
    assert_eq!(records.torn(), None);
    let stop: Value = records.next().unwrap().unwrap();
    assert_eq!(stop["type"], "stop");
    assert_eq!(records.number(), 2);
    assert_eq!(records.line(), b"{\"type\":\"stop\"}\n");
    assert!(records.next::<Value>().unwrap().is_none());
    assert!(records.next::<Value>().unwrap().is_none());
    assert_eq!(records.valid_len(), good.len() as u64);
    assert_eq!(records.torn(), Some(torn.len() as u64));
}

/// Files that are not run logs are refused, naming the path and the line, with neutral
/// wording and the caller's advice: the one for a run that never began when the file is
/// empty or its first line torn.
#[test]
fn malformed_logs_are_errors() {
    let cases = [
        (
            "",
            "it is empty: the run never started (it stopped before writing its start record); NEVER BEGAN",
        ),
        (
            "{\"type\":\"start\"",
            "its first line is incomplete: the run stopped while writing its start \
             record, so no point ran; NEVER BEGAN",
        ),
        (
            "{\"type\":\"point\"}\n",
            "line 1 is not a start record; NOT A LOG",
        ),
        ("garbage\n", "line 1 is not a start record: expected value"),
        (
            &format!("{START}not json\n"),
            "line 2 is not a valid record",
        ),
        (
            &format!("{START}{{\"type\":\"point\",\"status\":\"ok\"}}\n"),
            "line 2 is a point record without an `id`",
        ),
    ];
    for (text, want) in cases {
        let err = read(text).unwrap_err().to_string();
        assert!(err.contains(want), "{text:?}: {err}");
        assert!(err.contains("run log `"), "{err}");
        // Nothing about resuming or running again: that is the caller's advice.
        assert!(!err.contains("sequencer"), "{err}");
    }
    let missing = Path::new("/nonexistent/run.jsonl");
    let err = Records::open(missing).unwrap_err();
    assert!(!err.never_began());
    let err = err.advise("NEVER BEGAN", GIVE_A_LOG).to_string();
    assert!(err.contains("/nonexistent/run.jsonl") && err.contains("cannot open"));
    assert!(err.ends_with(GIVE_A_LOG), "{err}");
}
