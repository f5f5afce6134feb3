//! Diffs of run logs with `break` records: a `stop_when` that fired after a point is part
//! of that point's outcome.

use serde_json::json;

use super::diff;
use crate::runlog::read::tests::{START, TempLog};

/// A break of the log: after the point at this index, with this condition and action.
type Brk = (u64, &'static str, serde_json::Value);

/// A log of ok points `s/0..n` (one command each, reply `R`) and break records after the
/// points at `breaks` (index, condition, action).
fn log(n: u64, breaks: &[Brk]) -> TempLog {
    let mut text = START.to_owned();
    for i in 0..n {
        let point = json!({
            "type": "point", "id": format!("s/{i}"), "step": "s", "index": i, "vars": {"v": i},
            "conn": 1, "attempt": 1, "status": "ok", "error": null,
            "started_at": "2026-11-25T02:26:57.942Z", "elapsed_ms": 1.0,
            "commands": [{"sent": format!("I {i}"), "reply": "R", "elapsed_ms": 1.0}],
            "values": {"i": "R"},
        });
        text.push_str(&point.to_string());
        text.push('\n');
        for (at, condition, action) in breaks.iter().filter(|b| b.0 == i) {
            let record = json!({
                "type": "break", "id": format!("s/{at}"), "step": "s", "index": at,
                "condition": condition, "action": action, "values": {"i": 0.005},
                "at": "2026-11-25T02:26:58.000Z",
            });
            text.push_str(&record.to_string());
            text.push('\n');
        }
    }
    TempLog::new(&text)
}

/// The same breaks match (their times and values aside); a break in one run only, with
/// another action or another condition, or at another point, is a difference of the
/// point(s) it follows, listed with both sides.
#[test]
fn breaks_are_compared_per_point() {
    let brk = |at, cond: &'static str, action: serde_json::Value| vec![(at, cond, action)];
    let same = brk(3, "i > 1", json!("break"));
    let cases: Vec<(Vec<Brk>, Option<&str>)> = vec![
        (same.clone(), None),
        (
            Vec::new(),
            Some("s/3:\n  - stop_when fired: `i > 1`: break -> none\n"),
        ),
        (
            brk(3, "i > 1", json!({"next": "T"})),
            Some("s/3:\n  - stop_when fired: `i > 1`: break -> `i > 1`: {\"next\":\"T\"}\n"),
        ),
        (
            brk(3, "i > 2", json!("break")),
            Some("s/3:\n  - stop_when fired: `i > 1`: break -> `i > 2`: break\n"),
        ),
    ];
    for (b, want) in cases {
        let (la, lb) = (log(4, &same), log(4, &b));
        let d = diff(&la.path, &lb.path).unwrap();
        match want {
            None => assert!(d.is_equal(), "{d}"),
            Some(want) => {
                assert_eq!(d.changed(), 1, "{d}");
                assert!(d.to_string().starts_with(want), "{d}\nwant: {want}");
            }
        }
    }
    // A break at another point: s/2 (B) ran no further than A's s/3; both points differ,
    // and s/3 is in A only.
    let (la, lb) = (log(4, &same), log(3, &brk(2, "i > 1", json!("break"))));
    let d = diff(&la.path, &lb.path).unwrap();
    assert_eq!(
        (d.changed(), d.only_in_a(), d.only_in_b()),
        (1, 1, 0),
        "{d}"
    );
}
