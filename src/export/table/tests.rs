//! Unit tests of the table: columns, cells, clashes, last record wins.

use super::*;
use crate::runlog::read::tests::{START, TempLog};
use serde_json::json;

/// A point record of `step` at `index`, attempt `attempt`, with these vars and values.
fn point(step: &str, index: u64, attempt: u32, vars: Value, values: Value) -> PointRecord {
    let map = |v: Value| v.as_object().cloned().unwrap_or_default();
    PointRecord {
        id: format!("{step}/{index}"),
        step: step.to_owned(),
        index,
        attempt,
        status: "ok".to_owned(),
        started_at: "2026-11-25T02:26:57.942Z".to_owned(),
        elapsed_ms: 1.5,
        vars: map(vars),
        values: map(values),
        ..PointRecord::default()
    }
}

fn names(table: &Table) -> Vec<&str> {
    table.columns.iter().map(|c| c.name.as_str()).collect()
}

/// Text of a cell of `row` in the column named `name`.
fn cell(table: &Table, row: usize, name: &str) -> String {
    table.rows[row][table.find(name).unwrap()].to_string()
}

/// Which value texts become numbers, and how they are then written.
#[test]
fn numbers_and_text() {
    let cases = [
        ("0", Some("0")),
        ("-3", Some("-3")),
        ("+007", Some("7")),
        (" 42 ", Some("42")),
        ("1.5", Some("1.5")),
        ("+1.500000e-01", Some("0.15")),
        ("1.5E3", Some("1500.0")),
        (".5", Some("0.5")),
        ("-2.", Some("-2.0")),
        ("18446744073709551615", Some("18446744073709551615")),
        ("1e999", None),
        ("inf", None),
        ("NaN", None),
        ("0x1F", None),
        ("1,5", None),
        ("1.0,2.0", None),
        ("--1", None),
        ("+-1", None),
        ("e5", None),
        ("", None),
        ("ON", None),
        ("1.2.3", None),
    ];
    for (text, want) in cases {
        let got = parse_number(text).map(|n| n.to_string());
        assert_eq!(got.as_deref(), want, "{text:?}");
    }
}

/// Columns are the union of variables and of values over all steps, each in first-seen
/// order; a step without one has an empty cell there.
#[test]
fn columns_are_the_union_in_first_seen_order() {
    let table = Table::from_points(vec![
        point(
            "a",
            0,
            1,
            json!({"ch": 1, "volt": 0.5}),
            json!({"current": "1e-3"}),
        ),
        point(
            "b",
            0,
            1,
            json!({"f": 10}),
            json!({"freq": "10", "mode": "AC"}),
        ),
        point(
            "a",
            1,
            1,
            json!({"ch": 2, "volt": 0.0}),
            json!({"current": "2e-3"}),
        ),
    ]);
    assert_eq!(
        names(&table),
        [
            "id",
            "step",
            "ch",
            "volt",
            "f",
            "current",
            "freq",
            "mode",
            "status",
            "attempt",
            "started_at",
            "elapsed_ms"
        ]
    );
    assert_eq!(table.names(Kind::Var), ["ch", "volt", "f"]);
    assert_eq!(table.names(Kind::Value), ["current", "freq", "mode"]);
    // Rows are in sweep order: step a (first seen) before b, by index.
    let ids: Vec<String> = (0..3).map(|r| cell(&table, r, "id")).collect();
    assert_eq!(ids, ["a/0", "a/1", "b/0"]);
    assert_eq!(table.rows[2][table.find("ch").unwrap()], Cell::Empty);
    assert_eq!(table.rows[0][table.find("freq").unwrap()], Cell::Empty);
    assert_eq!(cell(&table, 2, "mode"), "AC");
    assert!(matches!(
        table.rows[2][table.find("mode").unwrap()],
        Cell::Text(_)
    ));
    assert_eq!(
        table.rows[1][table.find("current").unwrap()].as_f64(),
        Some(2e-3)
    );
    assert_eq!(cell(&table, 0, "volt"), "0.5");
    assert_eq!(cell(&table, 0, "attempt"), "1");
    assert_eq!(cell(&table, 0, "elapsed_ms"), "1.5");
}

/// Variables keep their logged type: a text variable that looks like a number stays text.
#[test]
fn variables_keep_their_type() {
    let table = Table::from_points(vec![point(
        "s",
        0,
        1,
        json!({"ch": "01", "on": true, "v": 3}),
        json!({}),
    )]);
    assert_eq!(table.rows[0][2], Cell::Text("01".into()));
    assert_eq!(table.rows[0][3], Cell::Bool(true));
    assert_eq!(table.rows[0][4], Cell::Number(3.into()));
}

/// A variable that shares its name with a value or a fixed column is `var:NAME`, such a
/// value `value:NAME`; names that do not clash are left alone.
#[test]
fn clashing_names_are_prefixed() {
    let table = Table::from_points(vec![
        point(
            "s",
            0,
            1,
            json!({"volt": 1, "status": 2}),
            json!({"volt": "1.01"}),
        ),
        point("t", 0, 1, json!({}), json!({"id": "x", "current": "0"})),
    ]);
    assert_eq!(
        names(&table),
        [
            "id",
            "step",
            "var:volt",
            "var:status",
            "value:volt",
            "value:id",
            "current",
            "status",
            "attempt",
            "started_at",
            "elapsed_ms"
        ]
    );
    assert_eq!(cell(&table, 0, "var:volt"), "1");
    assert_eq!(cell(&table, 0, "value:volt"), "1.01");
    assert_eq!(cell(&table, 0, "status"), "ok");
}

/// The last record of a point id wins (a retry, a resumed run), and its row stays in
/// sweep order.
#[test]
fn last_record_wins() {
    let mut failed = point("s", 1, 1, json!({"v": 1}), json!({}));
    failed.status = "failed".into();
    let log = TempLog::new(&format!(
        "{START}{}\n{}\n{}\n{}\n{}\n",
        serde_json::to_string(&json!({"type": "point", "id": "setup/0", "step": "setup",
            "values": {"idn": "ACME"}}))
        .unwrap(),
        record_line(&failed),
        record_line(&point("s", 0, 1, json!({"v": 0}), json!({"r": "0"}))),
        record_line(&point("s", 1, 2, json!({"v": 1}), json!({"r": "7"}))),
        serde_json::to_string(&json!({"type": "point", "id": "teardown/0",
            "step": "teardown"}))
        .unwrap(),
    ));
    let table = Table::read(&mut log.records()).unwrap();
    assert_eq!(table.rows.len(), 2, "setup and teardown are left out");
    assert_eq!(table.names(Kind::Value), ["r"]);
    assert_eq!(cell(&table, 0, "id"), "s/0");
    assert_eq!(cell(&table, 1, "id"), "s/1");
    assert_eq!(cell(&table, 1, "status"), "ok");
    assert_eq!(cell(&table, 1, "attempt"), "2");
    assert_eq!(cell(&table, 1, "r"), "7");
}

/// `record` as a run log line.
fn record_line(record: &PointRecord) -> String {
    serde_json::to_string(&json!({
        "type": "point", "id": record.id, "step": record.step, "index": record.index,
        "vars": record.vars, "attempt": record.attempt, "status": record.status,
        "started_at": record.started_at, "elapsed_ms": record.elapsed_ms,
        "values": record.values,
    }))
    .unwrap()
}

/// A `break` record (a `stop_when` fired after s/0) adds no row and no column: the points
/// it skipped have no records, and export invents none.
#[test]
fn break_records_add_no_rows() {
    let log = TempLog::new(&format!(
        "{START}{}\n{}\n",
        record_line(&point("s", 0, 1, json!({"v": 0}), json!({"i": "5e-3"}))),
        serde_json::to_string(
            &json!({"type": "break", "id": "s/0", "step": "s", "index": 0,
            "condition": "i > 1e-3", "action": {"next": "T"}, "values": {"i": 0.005},
            "at": "2026-11-25T02:26:58.000Z"})
        )
        .unwrap(),
    ));
    let table = Table::read(&mut log.records()).unwrap();
    assert_eq!(table.rows.len(), 1);
    assert_eq!(table.names(Kind::Value), ["i"]);
    assert_eq!(table.names(Kind::Var), ["v"]);
}
