//! Reading a log back for a resume: last records win, foreign and torn lines.

use super::*;

fn log(text: &str) -> Result<LogState> {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("seq-resume-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.jsonl");
    std::fs::write(&path, text).unwrap();
    let seq = crate::sequence::parse(
        "steps: [{name: s, sweep: {i: {start: 0, stop: 99, step: 1}}, commands: [X]}]",
        Path::new("s.yaml"),
    )
    .unwrap();
    let state = open(&path).and_then(|records| read_log(records, &seq, false));
    std::fs::remove_dir_all(&dir).unwrap();
    state
}

const START: &str = "{\"type\":\"start\",\"sequence\":\"s.yaml\",\"sequence_sha256\":\"ab\"}\n";

/// The last record of a point decides; attempts are kept for points to run again.
#[test]
fn last_record_wins() {
    let text = format!(
        "{START}{}{}{}{}",
        "{\"type\":\"point\",\"step\":\"s\",\"index\":3,\"status\":\"failed\",\"attempt\":1}\n",
        "{\"type\":\"point\",\"step\":\"s\",\"index\":3,\"status\":\"ok\",\"attempt\":2}\n",
        "{\"type\":\"point\",\"step\":\"s\",\"index\":70,\"status\":\"ok\",\"attempt\":1}\n",
        "{\"type\":\"point\",\"step\":\"s\",\"index\":70,\"status\":\"aborted\",\"attempt\":2}\n",
    );
    let state = log(&text).unwrap();
    let r = &state.resume;
    assert!(r.is_ok("s", 3));
    assert!(!r.is_ok("s", 70));
    assert!(!r.is_ok("s", 4));
    assert!(!r.is_ok("other", 3));
    assert_eq!(r.last_attempt("s", 70), 2);
    // Ok points keep their number too, for an `on_resume: rerun` step to go on from.
    assert_eq!(r.last_attempt("s", 3), 2);
    assert_eq!(r.last_attempt("s", 4), 0);
    assert_eq!(state.ignored, 0);
    assert_eq!(state.sha256(), Some("ab"));
    assert_eq!(state.valid_len, text.len() as u64);
    assert_eq!(state.torn, None);
}

/// Connect records (`on_connect` exchanges) change nothing: not points, not a stop.
#[test]
fn connect_records_are_ignored() {
    let text = format!(
        "{START}{}{}{}",
        "{\"type\":\"connect\",\"instrument\":\"i\",\"conn\":1,\"commands\":[],\"at\":\"x\"}\n",
        "{\"type\":\"point\",\"step\":\"s\",\"index\":0,\"status\":\"ok\"}\n",
        "{\"type\":\"connect\",\"instrument\":\"i\",\"conn\":2,\"commands\":[],\"at\":\"x\"}\n",
    );
    let state = log(&text).unwrap();
    assert!(state.resume.is_ok("s", 0));
    assert_eq!((state.ignored, state.last_stop.as_deref()), (0, None));
    assert_eq!(state.valid_len, text.len() as u64);
}

/// Records of steps or indices the sequence does not have are ignored, not trusted.
#[test]
fn foreign_points_are_ignored() {
    let text = format!(
        "{START}{}{}",
        "{\"type\":\"point\",\"step\":\"s\",\"index\":1099511627776,\"status\":\"ok\"}\n",
        "{\"type\":\"point\",\"step\":\"gone\",\"index\":0,\"status\":\"ok\"}\n",
    );
    let state = log(&text).unwrap();
    assert_eq!(state.ignored, 2);
    assert!(!state.resume.is_ok("gone", 0));
}

/// A last line without newline is torn: ignored, and appending starts before it.
#[test]
fn torn_last_line_is_ignored() {
    let good = format!(
        "{START}{}",
        "{\"type\":\"point\",\"step\":\"s\",\"index\":0,\"status\":\"ok\"}\n"
    );
    let torn = "{\"type\":\"point\",\"st";
    let state = log(&format!("{good}{torn}")).unwrap();
    assert_eq!(state.valid_len, good.len() as u64);
    assert_eq!(state.torn, Some(torn.len() as u64));
    assert!(state.resume.is_ok("s", 0));
}

/// Logs that are not run logs are refused with the reason.
#[test]
fn malformed_logs_are_errors() {
    let cases = [
        (
            "",
            "is empty: the run never started (it stopped before writing its start record); \
             start it again with `sequencer run SEQUENCE -o ",
        ),
        ("{\"type\":\"point\"}\n", "not a start record"),
        ("garbage\n", "not a start record"),
        (
            &format!("{START}not json\n{{}}\n"),
            "line 2 is not a valid record",
        ),
    ];
    for (text, want) in cases {
        let err = log(text).unwrap_err().to_string();
        assert!(err.contains(want), "{text:?}: {err}");
    }
}
