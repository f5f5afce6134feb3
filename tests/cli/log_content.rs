//! The run log says exactly what was sent and received: one record per point id, sweep
//! variables in sweep order, rendered command texts, replies only for queries, named values.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{Scratch, point, step_points, stop};

/// A zip sweep over 3 connections, each key its own lane (`parallel: [key]`): one record
/// per id, variables paired in order, rendered texts sent, replies recorded for queries
/// only, `as` values equal to the replies.
#[test]
fn zip_sweep_records_rendered_commands_and_values() {
    let scratch = Scratch::new();
    let yaml = r#"
name: zipped
instrument:
  max_connections: 3
steps:
  - name: step
    mode: zip
    sweep: {key: [A, B, C, D, E, F], val: [1, 2.5, 3, 4, 5, 6]}
    parallel: [key]
    commands:
      - "{key}:VAL {val}"
      - {query: "{key}:VAL?", as: v}
"#;
    let (out, records) = scratch.run("zipped.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(stop(&records)["exit_status"], "success");

    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for p in step_points(&records) {
        *ids.entry(p["id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let want: BTreeMap<String, usize> = (0..6).map(|i| (format!("step/{i}"), 1)).collect();
    assert_eq!(ids, want, "exactly one record per point id");

    let pairs = [
        ("A", 1.0, "1"),
        ("B", 2.5, "2.5"),
        ("C", 3.0, "3"),
        ("D", 4.0, "4"),
        ("E", 5.0, "5"),
        ("F", 6.0, "6"),
    ];
    for (i, (key, val, text)) in pairs.into_iter().enumerate() {
        let p = point(&records, &format!("step/{i}"));
        assert_eq!(p["status"], "ok", "{p}");
        assert_eq!(p["vars"]["key"], key, "zip order: {p}");
        assert_eq!(p["vars"]["val"].as_f64(), Some(val), "zip order: {p}");
        let commands = p["commands"].as_array().expect("commands is a list");
        assert_eq!(commands.len(), 2, "{p}");
        assert_eq!(commands[0]["sent"], format!("{key}:VAL {text}"), "{p}");
        assert!(
            commands[0].get("reply").is_none(),
            "a write has no reply: {p}"
        );
        assert_eq!(commands[1]["sent"], format!("{key}:VAL?"), "{p}");
        assert_eq!(commands[1]["reply"], text, "{p}");
        assert_eq!(p["values"]["v"], text, "{p}");
    }
}

/// A product sweep is ordered first key outermost, and float steps render as written
/// (`0.3`, never `0.30000000000000004`).
#[test]
fn product_sweep_order_and_float_rendering() {
    let scratch = Scratch::new();
    let yaml = r#"
name: product
instrument:
  max_connections: 4
steps:
  - name: iv
    sweep:
      ch: [1, 2]
      volt: {start: 0, stop: 1, num: 11}
    parallel: [ch]
    commands: ["SOUR{ch}:VOLT {volt}"]
"#;
    let (out, records) = scratch.run("product.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(step_points(&records).len(), 22);

    let first = point(&records, "iv/0");
    assert_eq!(first["vars"]["ch"].as_i64(), Some(1), "{first}");
    assert_eq!(first["vars"]["volt"].as_f64(), Some(0.0), "{first}");
    let second_channel = point(&records, "iv/11");
    assert_eq!(
        second_channel["vars"]["ch"].as_i64(),
        Some(2),
        "{second_channel}"
    );
    assert_eq!(
        second_channel["vars"]["volt"].as_f64(),
        Some(0.0),
        "{second_channel}"
    );
    assert_eq!(
        point(&records, "iv/3")["commands"][0]["sent"],
        "SOUR1:VOLT 0.3"
    );

    let volts = [
        "0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1",
    ];
    // Product order: every volt for channel 1, then every volt for channel 2.
    let expected = [1i64, 2]
        .into_iter()
        .flat_map(|ch| volts.iter().map(move |volt| (ch, *volt)));
    for (i, (ch, volt)) in expected.enumerate() {
        let p = point(&records, &format!("iv/{i}"));
        assert_eq!(p["vars"]["ch"].as_i64(), Some(ch), "{p}");
        let want: f64 = volt.parse().unwrap();
        let got = p["vars"]["volt"].as_f64().unwrap();
        assert!((got - want).abs() < 1e-12, "volt {got} != {want}: {p}");
        let sent = &p["commands"][0]["sent"];
        assert_eq!(sent, &Value::from(format!("SOUR{ch}:VOLT {volt}")), "{p}");
    }
}
