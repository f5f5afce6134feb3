use super::*;

/// Records are one JSON object per line, tagged with their type, never overwriting a file.
#[test]
fn writes_tagged_lines() {
    let dir = std::env::temp_dir().join(format!("seqlog-{}", std::process::id()));
    let path = dir.join("sub/run.jsonl");
    let mut log = RunLog::create(&path).unwrap();
    let stop = Stop {
        exit_status: "success",
        reason: "all points ok",
        points_ok: 3,
        points_failed: 0,
        points_aborted: 0,
        points_skipped: 0,
        points_not_run: 0,
        retries: 0,
        ended_at: SystemTime::UNIX_EPOCH,
    };
    log.write("stop", &stop).unwrap();
    log.write("stop", &stop).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["type"], "stop");
    assert_eq!(lines[0]["points_ok"], 3);
    assert_eq!(lines[0]["ended_at"], "1970-01-01T00:00:00.000Z");
    assert!(
        RunLog::create(&path).is_err(),
        "an existing log is never overwritten"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// A fresh log in a folder of its own, removed when dropped (even after a failure).
struct TempLog {
    dir: PathBuf,
    path: PathBuf,
}

impl TempLog {
    fn new(test: &str) -> TempLog {
        let dir = std::env::temp_dir().join(format!("seqlog-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempLog {
            path: dir.join("run.jsonl"),
            dir,
        }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap()
    }
}

impl Drop for TempLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A stop record, numbered so that lines tell apart.
fn stop(points_ok: u64) -> Stop<'static> {
    Stop {
        exit_status: "success",
        reason: "all points ok",
        points_ok,
        points_failed: 0,
        points_aborted: 0,
        points_skipped: 0,
        points_not_run: 0,
        retries: 0,
        ended_at: SystemTime::UNIX_EPOCH,
    }
}

/// The line `append_record` writes for `record`: `serde_json`'s, tagged.
fn line<T: Serialize>(kind: &'static str, record: &T) -> String {
    format!(
        "{}\n",
        serde_json::to_string(&Tagged { kind, record }).unwrap()
    )
}

/// A point with a command, a value and a variable.
fn with_point<R>(f: impl FnOnce(&Point<'_>) -> R) -> R {
    let commands = [Exchange {
        sent: "MEAS?".into(),
        reply: Some("1.5".into()),
        elapsed_ms: Duration::from_micros(1500),
        on: None,
        conn: None,
    }];
    let values = [("v".to_owned(), "1.5".to_owned())];
    let names = ["x".to_owned()];
    f(&Point {
        id: "sweep/0",
        step: "sweep",
        instrument: "dmm",
        index: 0,
        vars: VarMap(&names, &[Value::Float(0.1)]),
        conn: 1,
        attempt: 1,
        status: "ok",
        error: None,
        started_at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_764_036_987_123),
        elapsed_ms: Duration::from_micros(1700),
        commands: &commands,
        values: PairMap(&values),
    })
}

/// Appended records stay pending, not in the file, until `flush` writes them all, in
/// order, as whole lines; a second flush has nothing to write.
#[test]
fn append_waits_for_flush() {
    let tmp = TempLog::new("append");
    let mut log = RunLog::create(&tmp.path).unwrap();
    log.append_record("stop", &stop(1)).unwrap();
    with_point(|p| log.append_point(p)).unwrap();
    log.append_record("stop", &stop(2)).unwrap();
    let expected =
        line("stop", &stop(1)) + &with_point(|p| line("point", p)) + &line("stop", &stop(2));
    assert_eq!(log.pending(), expected.len());
    assert_eq!(tmp.text(), "", "nothing written before the flush");
    log.flush().unwrap();
    assert_eq!(log.pending(), 0);
    assert_eq!(tmp.text(), expected);
    log.flush().unwrap();
    assert_eq!(
        tmp.text(),
        expected,
        "a flush with nothing pending writes nothing"
    );
}

/// `append_point` appends the very bytes `append_record("point", ..)` does.
#[test]
fn append_point_matches_append_record() {
    let tmp = TempLog::new("point");
    let mut log = RunLog::create(&tmp.path).unwrap();
    with_point(|p| log.append_point(p)).unwrap();
    let fast = std::mem::take(&mut log.buf);
    with_point(|p| log.append_record("point", p)).unwrap();
    assert_eq!(
        String::from_utf8(fast).unwrap(),
        String::from_utf8(log.buf.clone()).unwrap()
    );
    assert!(log.buf.ends_with(b"}\n"));
}

/// `write` writes its record at once, after whatever was pending; `sync` and dropping the
/// log write what is pending too.
#[test]
fn write_sync_and_drop_flush() {
    let tmp = TempLog::new("write");
    let mut log = RunLog::create(&tmp.path).unwrap();
    log.append_record("stop", &stop(1)).unwrap();
    log.write("stop", &stop(2)).unwrap();
    assert_eq!(log.pending(), 0);
    let mut expected = line("stop", &stop(1)) + &line("stop", &stop(2));
    assert_eq!(tmp.text(), expected);
    log.append_record("stop", &stop(3)).unwrap();
    log.sync().unwrap();
    expected += &line("stop", &stop(3));
    assert_eq!(tmp.text(), expected, "sync writes what is pending");
    log.append_record("stop", &stop(4)).unwrap();
    drop(log);
    expected += &line("stop", &stop(4));
    assert_eq!(tmp.text(), expected, "drop writes what is pending");
}

/// `unsynced` counts every byte appended since the log was last forced to disk or handed
/// out to be: pending or written, it is not on disk yet.
#[test]
fn unsynced_counts_until_sync_or_handle() {
    let tmp = TempLog::new("unsynced");
    let mut log = RunLog::create(&tmp.path).unwrap();
    assert_eq!(log.unsynced(), 0);
    log.append_record("stop", &stop(1)).unwrap();
    let one = line("stop", &stop(1)).len() as u64;
    assert_eq!(log.unsynced(), one, "pending bytes count");
    log.flush().unwrap();
    assert_eq!(log.unsynced(), one, "written is not synced");
    log.write("stop", &stop(2)).unwrap();
    assert_eq!(log.unsynced(), one + line("stop", &stop(2)).len() as u64);
    let checkpoint = log.checkpoint().unwrap();
    assert_eq!(
        log.unsynced(),
        0,
        "the checkpoint's owner syncs what was written"
    );
    assert_eq!(checkpoint.run().unwrap(), None, "the log is whole");
    log.append_record("stop", &stop(3)).unwrap();
    assert!(log.unsynced() > 0);
    log.sync().unwrap();
    assert_eq!(log.unsynced(), 0);
}
/// A record that fails to serialise leaves no partial line behind.
#[test]
fn failed_record_appends_nothing() {
    struct Broken;
    impl Serialize for Broken {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::{Error, SerializeMap};
            let mut map = s.serialize_map(None)?;
            map.serialize_entry("half", "written")?;
            Err(S::Error::custom("broken"))
        }
    }
    let tmp = TempLog::new("broken");
    let mut log = RunLog::create(&tmp.path).unwrap();
    log.append_record("stop", &stop(1)).unwrap();
    let before = log.pending();
    assert!(log.append_record("broken", &Broken).is_err());
    assert_eq!(log.pending(), before);
    log.flush().unwrap();
    assert_eq!(tmp.text(), line("stop", &stop(1)));
}

/// A failed write drops the pending lines, so a later flush never writes them twice.
#[test]
fn failed_flush_drops_pending() {
    let tmp = TempLog::new("failed");
    let mut log = RunLog::create(&tmp.path).unwrap();
    log.append_record("stop", &stop(1)).unwrap();
    // A read-only handle on the same file: every write to it fails.
    log.file = Arc::new(File::open(&tmp.path).unwrap());
    assert!(log.flush().is_err());
    assert_eq!(log.pending(), 0);
    assert!(log.sync().is_ok(), "nothing left to write");
    assert_eq!(tmp.text(), "");
}

/// The buffer keeps its allocation between flushes, up to `KEEP_CAPACITY`.
#[test]
fn buffer_stays_bounded() {
    let tmp = TempLog::new("bounded");
    let mut log = RunLog::create(&tmp.path).unwrap();
    log.append_record("stop", &stop(1)).unwrap();
    log.flush().unwrap();
    assert!(log.buf.capacity() >= 4096, "a small batch keeps the buffer");
    let one = line("stop", &stop(1)).len();
    for _ in 0..=KEEP_CAPACITY / one {
        log.append_record("stop", &stop(1)).unwrap();
    }
    assert!(log.buf.capacity() > KEEP_CAPACITY);
    log.flush().unwrap();
    assert!(
        log.buf.capacity() <= KEEP_CAPACITY,
        "a huge batch gives memory back"
    );
    assert_eq!(tmp.text().len(), one * (KEEP_CAPACITY / one + 2));
}

/// The default file name is `<name>-<YYYYmmdd-HHMMSS>.jsonl`, the name made safe: every
/// character that is not a letter, a digit, `-`, `_` or a `.` after the first becomes `_`,
/// and a long name is cut, ending with 8 hex digits of its hash.
#[test]
fn default_file_name_is_safe() {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_036_987);
    let long = "x".repeat(300);
    let cut = format!("{}-{}", "x".repeat(55), &sha_hex(&long)[..8]);
    let long_unicode = "温度".repeat(40);
    let cases: [(&str, String); 9] = [
        ("iv sweep", "iv_sweep".into()),
        ("x\ny", "x_y".into()),
        ("a/b\\c:d\u{7}e\r", "a_b_c_d_e_".into()),
        ("../up", "_._up".into()),
        (".hidden", "_hidden".into()),
        ("", "run".into()),
        ("Probe-Ω-温度_2.5", "Probe-Ω-温度_2.5".into()),
        (&long, cut),
        // Cut on a character boundary: 18 whole characters of 3 bytes, then the hash.
        (
            &long_unicode,
            format!("{}-{}", "温度".repeat(9), &sha_hex(&long_unicode)[..8]),
        ),
    ];
    for (name, want) in cases {
        let file = default_file_name(name, t);
        assert_eq!(file, format!("{want}-20251125-021627.jsonl"), "{name:?}");
        assert!(file.len() < 100, "{name:?}: {} bytes", file.len());
    }
    let other = format!("{long}y");
    assert_ne!(
        default_file_name(&long, t),
        default_file_name(&other, t),
        "long names that begin alike get different files"
    );
}

/// Hex SHA-256 of a text.
fn sha_hex(text: &str) -> String {
    use sha2::Digest;
    use std::fmt::Write as _;
    let mut hex = String::new();
    for b in sha2::Sha256::digest(text.as_bytes()) {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// Durations round half up to the microsecond, across the second, and saturate.
#[test]
fn micros_round_half_up() {
    for (d, want) in [
        (Duration::ZERO, 0),
        (Duration::from_nanos(499), 0),
        (Duration::from_nanos(500), 1),
        (Duration::from_nanos(1_499), 1),
        (Duration::from_nanos(1_500), 2),
        (Duration::new(1, 999_999_500), 2_000_000),
        (Duration::new(3, 250_000), 3_000_250),
        (Duration::MAX, u64::MAX),
    ] {
        assert_eq!(micros(d), want, "{d:?}");
    }
}
