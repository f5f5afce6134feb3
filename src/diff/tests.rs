//! Diffs of small hand-written run logs.

use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::runlog::read::tests::{START, TempLog};

/// One point record to write; everything `diff` ignores has a field too, to vary it.
#[derive(Clone)]
struct P {
    id: String,
    vars: Value,
    conn: u64,
    attempt: u64,
    status: &'static str,
    error: Option<&'static str>,
    started_at: &'static str,
    /// `(sent, reply, elapsed_ms)`.
    commands: Vec<(&'static str, Option<&'static str>, f64)>,
    values: Value,
}

impl P {
    /// An ok point `id` with a write, a query of `reply` named `current`, and `*OPC?`.
    fn ok(id: &str, volt: f64, reply: &'static str) -> P {
        P {
            id: id.to_owned(),
            vars: json!({"ch": 1, "volt": volt}),
            conn: 1,
            attempt: 1,
            status: "ok",
            error: None,
            started_at: "2026-11-25T02:26:57.942Z",
            commands: vec![
                ("SOUR1:VOLT 0.3", None, 0.028),
                ("MEAS1:CURR?", Some(reply), 1.433),
                ("*OPC?", Some("1"), 1.46),
            ],
            values: json!({"current": reply}),
        }
    }

    /// The record as one log line.
    fn line(&self) -> String {
        let (step, index) = self.id.split_once('/').unwrap();
        let commands: Vec<Value> = self
            .commands
            .iter()
            .map(|(sent, reply, ms)| match reply {
                Some(r) => json!({"sent": sent, "reply": r, "elapsed_ms": ms}),
                None => json!({"sent": sent, "elapsed_ms": ms}),
            })
            .collect();
        let record = json!({
            "type": "point", "id": self.id, "step": step,
            "index": index.parse::<u64>().unwrap(), "vars": self.vars, "conn": self.conn,
            "attempt": self.attempt, "status": self.status, "error": self.error,
            "started_at": self.started_at, "elapsed_ms": 26.094, "commands": commands,
            "values": self.values,
        });
        format!("{record}\n")
    }
}

/// A whole log of `points`, with a run-specific start and stop record.
fn log(run_id: &str, points: &[P]) -> TempLog {
    let mut text = START.replace("\"r\"", &format!("{run_id:?}"));
    for p in points {
        text.push_str(&p.line());
    }
    text.push_str("{\"type\":\"stop\",\"exit_status\":\"success\",\"ended_at\":\"x\"}\n");
    TempLog::new(&text)
}

/// Diffs two logs of points.
fn run(a: &[P], b: &[P]) -> Diff {
    let (a, b) = (log("run-a", a), log("run-b", b));
    diff(&a.path, &b.path).unwrap()
}

/// Runs that differ only in what changes anyway (run id, timestamps, connections, attempts,
/// timings, error texts) match.
#[test]
fn equal_modulo_noise() {
    let a = vec![
        P::ok("iv/0", 0.0, "0"),
        P::ok("iv/1", 0.1, "1e-3"),
        P {
            status: "failed",
            error: Some("timeout after 2s on connection 1"),
            ..P::ok("iv/2", 0.2, "2e-3")
        },
    ];
    let mut b = a.clone();
    b.reverse(); // completion order differs too
    for p in &mut b {
        p.conn = 3;
        p.attempt = 2;
        p.started_at = "2027-01-01T00:00:00.000Z";
        for c in &mut p.commands {
            c.2 *= 7.0;
        }
    }
    b[0].error = Some("timeout after 2s on connection 3");
    let d = run(&a, &b);
    assert!(d.is_equal(), "{d}");
    assert_eq!(d.to_string(), "runs match: 3 points");
    assert_eq!((d.total(), d.changed()), (3, 0));
}

/// A different reply is listed with the command, its number and both replies.
#[test]
fn changed_reply() {
    let a = [P::ok("iv/0", 0.0, "0"), P::ok("iv/1", 0.1, "1.0e-3")];
    let b = [P::ok("iv/0", 0.0, "0"), P::ok("iv/1", 0.1, "1.1e-3")];
    let d = run(&a, &b);
    assert!(!d.is_equal());
    assert_eq!(
        d.to_string(),
        "iv/1:\n  \
         - reply of MEAS1:CURR? (command 2): \"1.0e-3\" -> \"1.1e-3\"\n  \
         - value current: \"1.0e-3\" -> \"1.1e-3\"\n\
         1 of 2 points differ; 0 only in A, 0 only in B"
    );
}

/// A different status is listed with the error texts, which alone never differ a point.
#[test]
fn changed_status() {
    let a = [P::ok("iv/0", 0.0, "0")];
    let b = [P {
        status: "failed",
        error: Some("`expect` mismatch"),
        ..P::ok("iv/0", 0.0, "0")
    }];
    let d = run(&a, &b);
    assert_eq!(d.changed(), 1);
    assert!(
        d.to_string()
            .contains("  - status: ok -> failed; error in B: `expect` mismatch\n"),
        "{d}"
    );
}

/// Points of one run only are listed in run order: A's order, then B's extra points.
#[test]
fn missing_points() {
    let a = [
        P::ok("iv/0", 0.0, "0"),
        P::ok("iv/2", 0.2, "0"),
        P::ok("iv/1", 0.1, "0"),
    ];
    let b = [
        P::ok("iv/3", 0.3, "0"),
        P::ok("iv/1", 0.1, "0"),
        P::ok("iv/0", 0.0, "0"),
    ];
    let d = run(&a, &b);
    assert_eq!((d.only_in_a(), d.only_in_b(), d.total()), (1, 1, 4));
    assert_eq!(
        d.to_string(),
        "iv/2: only in A\niv/3: only in B\n2 of 4 points differ; 1 only in A, 1 only in B"
    );
}

/// Differing points are listed in sweep order, as `export` orders rows: steps in the order
/// they ran (first seen in A, then in B), points by index; never in completion order.
#[test]
fn listing_is_in_sweep_order() {
    let step = |id: &str, reply| P::ok(id, 0.0, reply);
    let a = [
        step("iv/10", "1"),
        step("iv/2", "1"),
        step("iv/0", "1"),
        step("cv/1", "1"),
        step("cv/0", "1"),
    ];
    let b = [
        step("cv/0", "2"),
        step("iv/0", "2"),
        step("late/0", "2"),
        step("cv/1", "2"),
        step("iv/10", "2"),
        step("iv/2", "2"),
    ];
    let text = run(&a, &b).to_string();
    let ids: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split(':').next())
        .collect();
    let want = [
        "iv/0",
        "iv/2",
        "iv/10",
        "cv/0",
        "cv/1",
        "late/0",
        "6 of 6 points differ; 0 only in A, 1 only in B",
    ];
    assert_eq!(ids, want, "{text}");
}

/// Setup and teardown are compared, but not counted as points: a match says how many
/// there were apart, and differences are listed under their own heading and counted apart.
#[test]
fn setup_and_teardown_apart() {
    let hooks = |reply| [P::ok("teardown/0", 0.0, reply), P::ok("setup/0", 0.0, "1")];
    let sweep = [P::ok("iv/0", 0.0, "1"), P::ok("iv/1", 0.1, "1")];
    let a: Vec<P> = sweep.iter().cloned().chain(hooks("1")).collect();
    let d = run(&a, &a);
    assert_eq!(
        d.to_string(),
        "runs match: 2 points (and 2 setup/teardown points)"
    );
    assert_eq!((d.total(), d.hooks()), (2, (2, 0)));

    let mut b: Vec<P> = sweep.iter().cloned().chain(hooks("0")).collect();
    b.push(P::ok("setup/1", 0.0, "1"));
    let d = run(&a, &b);
    assert!(!d.is_equal());
    assert_eq!((d.total(), d.changed(), d.hooks()), (2, 0, (3, 2)));
    assert_eq!(
        d.to_string(),
        "setup and teardown (not counted as points):
\
         setup/1: only in B
\
         teardown/0:
  \
         - reply of MEAS1:CURR? (command 2): \"1\" -> \"0\"
  \
         - value current: \"1\" -> \"0\"
\
         0 of 2 points differ; 0 only in A, 0 only in B; setup/teardown: 2 of 3 differ (0 only \
         in A, 1 only in B)"
    );
}

/// The last record of a point decides: a failed attempt then an ok retry equals an ok.
#[test]
fn retried_point_collapses() {
    let failed = P {
        status: "failed",
        error: Some("connection 1 closed"),
        commands: vec![("SOUR1:VOLT 0.3", None, 0.1), ("MEAS1:CURR?", None, 3.0)],
        ..P::ok("iv/0", 0.0, "5")
    };
    let retried = P {
        conn: 2,
        attempt: 2,
        ..P::ok("iv/0", 0.0, "5")
    };
    let a = [failed.clone(), P::ok("iv/1", 0.1, "6"), retried];
    let b = [P::ok("iv/1", 0.1, "6"), P::ok("iv/0", 0.0, "5")];
    assert!(run(&a, &b).is_equal());
    // The other way round, the retry failed: the failure is what B's run ended with.
    let b = [P::ok("iv/0", 0.0, "5"), failed];
    let d = run(&[P::ok("iv/0", 0.0, "5")], &b);
    assert_eq!(d.changed(), 1);
    let text = d.to_string();
    assert!(text.contains("status: ok -> failed"), "{text}");
    assert!(text.contains("reply of MEAS1:CURR? (command 2): \"5\" -> no reply"));
    assert!(text.contains("commands sent: 3 -> 2"));
    assert!(text.contains("command 3 only in A: *OPC? (reply \"1\")"));
}

/// Different sweep variables (or one missing) are listed as JSON values; key order is not
/// a difference.
#[test]
fn different_vars() {
    let a = [P::ok("iv/0", 0.3, "0")];
    let b = [P {
        vars: json!({"volt": 0.4, "ch": 1, "extra": "x"}),
        ..P::ok("iv/0", 0.0, "0")
    }];
    let text = run(&a, &b).to_string();
    assert!(text.contains("  - var volt: 0.3 -> 0.4\n"), "{text}");
    assert!(text.contains("  - var extra: absent -> \"x\"\n"), "{text}");
    assert!(!text.contains("var ch"), "{text}");
    let reordered = [P {
        vars: json!({"volt": 0.3, "ch": 1}),
        ..P::ok("iv/0", 0.3, "0")
    }];
    assert!(run(&a, &reordered).is_equal());
}

/// A different command text is listed as such, not as a reply change.
#[test]
fn different_command_text() {
    let a = [P::ok("iv/0", 0.3, "0")];
    let mut b = a.clone();
    b[0].commands[0].0 = "SOUR2:VOLT 0.3";
    let text = run(&a, &b).to_string();
    assert!(
        text.contains("  - command 1: \"SOUR1:VOLT 0.3\" -> \"SOUR2:VOLT 0.3\"\n"),
        "{text}"
    );
}

/// The listing stops after [`MAX_POINTS`] points and [`MAX_CHANGES`] changes per point,
/// saying how many more, and always ends with the summary.
#[test]
fn listing_is_capped() {
    let ids: Vec<String> = (0..60).map(|i| format!("s/{i}")).collect();
    let a: Vec<P> = ids.iter().map(|id| P::ok(id, 0.0, "1")).collect();
    let mut b: Vec<P> = ids.iter().map(|id| P::ok(id, 0.0, "2")).collect();
    b[0].commands = (0..20).map(|_| ("STAT?", Some("BUSY"), 1.0)).collect();
    let d = run(&a, &b);
    let text = d.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.last(),
        Some(&"60 of 60 points differ; 0 only in A, 0 only in B")
    );
    assert_eq!(lines[lines.len() - 2], "... and 10 more points");
    assert!(
        text.contains("s/49:\n") && !text.contains("s/50:"),
        "{text}"
    );
    // s/0: count, 3 changed commands, 17 extra, 1 value: 22 changes, 10 shown.
    assert!(
        text.contains("  - ... and 12 more differences\ns/1:\n"),
        "{text}"
    );
}

/// A log that cannot be read is an error naming it, whichever side it is on.
#[test]
fn unreadable_input_is_an_error() {
    let good = log("run-a", &[P::ok("iv/0", 0.0, "0")]);
    let missing = Path::new("/nonexistent/b.jsonl");
    let err = diff(&good.path, missing).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/b.jsonl"), "{err}");
    assert_eq!(err.exit_code(), crate::error::EXIT_INVALID);
    let not_a_log = TempLog::new("hello\n");
    assert!(diff(&not_a_log.path, &good.path).is_err());
}

/// An empty log is refused with diff's own advice, never with resume's.
#[test]
fn empty_log_gets_diff_advice() {
    let good = log("run-a", &[P::ok("iv/0", 0.0, "0")]);
    let empty = TempLog::new("");
    let err = diff(&good.path, &empty.path).unwrap_err().to_string();
    assert!(
        err.ends_with(
            "it is empty: the run never started (it stopped before writing its start record); \
             it holds no point to compare"
        ),
        "{err}"
    );
    assert!(!err.contains("start it again"), "{err}");
}

/// A torn last line is noted (not a difference), and so are start records of different
/// sequences; equal logs of one sequence have no notes.
#[test]
fn notes_about_the_comparison() {
    let points = [P::ok("iv/0", 0.0, "0")];
    let d = run(&points, &points);
    assert!(d.notes().is_empty(), "{:?}", d.notes());

    let a = log("run-a", &points);
    let mut text = std::fs::read_to_string(&a.path).unwrap();
    text.push_str("{\"type\":\"point\",\"id\":\"iv/1\",\"st");
    let torn = TempLog::new(&text);
    let d = diff(&a.path, &torn.path).unwrap();
    assert!(d.is_equal(), "{d}");
    assert_eq!(d.notes().len(), 1, "{:?}", d.notes());
    assert!(
        d.notes()[0].contains("ends with a torn line (31 bytes, an interrupted write)"),
        "{:?}",
        d.notes()
    );
    assert!(d.notes()[0].contains(&torn.path.display().to_string()));

    let other = TempLog::new(&text.replace(
        "\"name\":\"n\"",
        "\"name\":\"other\",\"sequence_sha256\":\"0123456789abcdef\"",
    ));
    let d = diff(&a.path, &other.path).unwrap();
    assert!(d.is_equal(), "still compared: {d}");
    let warning = d.notes().last().unwrap();
    assert_eq!(
        warning,
        "the runs are of different sequences (name `n` in A, `other` in B; sequence_sha256 \
         none in A, `0123456789ab...` in B): compared anyway"
    );
}
