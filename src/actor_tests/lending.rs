//! `on:` commands: a point of one instrument sends a run of its commands over a connection
//! borrowed from another instrument's pool, and gets it back after the last; the point
//! keeps its own connection meanwhile. The exchanges are recorded in the point's record,
//! marked with the instrument and the borrowed connection; a failure over there fails the
//! point (and is retried as configured) without closing the point's own connection.

use super::harness::{Run, ms};
use crate::testing::{Act, Instrument, after, reply};

/// Loop `T` over two setpoints; its body sets `tc`, then sweeps `smu` over three volts,
/// each point reading the current and then `TEMP?` and `HTR?` on `tc` (one borrowed run of
/// two commands). `tc` keeps `tc_conns` connections; `more` is added to the `iv` step.
fn cryostat(tc_conns: usize, more: &str) -> String {
    format!(
        r#"
name: lending
on_error: continue
instruments:
  tc: {{max_connections: {tc_conns}}}
  smu: {{max_connections: 1}}
steps:
  - name: T
    sweep: {{setpoint: [300, 200]}}
    steps:
      - name: settle
        instrument: tc
        commands: ["SETP {{setpoint}}"]
      - name: iv
        instrument: smu{more}
        sweep: {{volt: [1, 2, 3]}}
        commands:
          - "VOLT {{volt}}"
          - {{query: "CURR?", as: current}}
          - {{query: "TEMP?", on: tc, as: temperature}}
          - {{query: "HTR?", on: tc, as: heater}}
"#
    )
}

/// The controller: `TEMP?` answers the last setpoint (10 ms later), `HTR?` `MED`; the
/// source: `CURR?` answers `1e-3`.
fn instruments() -> (Instrument, Instrument) {
    let tc = Instrument::scpi().on_line(|line| match line.text {
        "TEMP?" => after(ms(10), reply("300")),
        "HTR?" => reply("MED"),
        _ => line.scpi(),
    });
    let smu = Instrument::scpi().on_line(|line| match line.text {
        "CURR?" => reply("1e-3"),
        _ => line.scpi(),
    });
    (tc, smu)
}

/// Every `iv` point records its `on: tc` exchanges after its own, marked `on` and with a
/// connection of `tc` (not the point's own `conn`), and their values with its own; the
/// queries reach the controller, in order, one borrowed run per point; ids are paths and
/// vars hold the loop's setpoint.
#[test]
fn on_commands_run_on_a_borrowed_connection_and_are_recorded_in_the_point() {
    let (tc, smu) = instruments();
    let run = Run::new(&cryostat(1, ""))
        .instrument(&tc)
        .instrument(&smu)
        .go();
    assert_eq!(run.summary.exit_status, "success", "{}", run.log);
    assert_eq!(
        run.ids(),
        [
            "T/0/settle/0",
            "T/0/iv/0",
            "T/0/iv/1",
            "T/0/iv/2",
            "T/1/settle/0",
            "T/1/iv/0",
            "T/1/iv/1",
            "T/1/iv/2",
        ]
    );
    let settle = run.point("T/1/settle/0");
    let tc_conn = settle["conn"].clone();
    for (iteration, setpoint) in [(0, 300), (1, 200)] {
        for (index, volt) in [(0, 1), (1, 2), (2, 3)] {
            let p = run.point(&format!("T/{iteration}/iv/{index}"));
            assert_eq!(p["step"], format!("T/{iteration}/iv"), "{p}");
            assert_eq!(p["vars"]["setpoint"], setpoint, "{p}");
            assert_eq!(p["vars"]["volt"], volt, "{p}");
            let commands = p["commands"].as_array().expect("commands");
            let sent: Vec<&str> = commands.iter().filter_map(|c| c["sent"].as_str()).collect();
            assert_eq!(
                sent,
                [format!("VOLT {volt}").as_str(), "CURR?", "TEMP?", "HTR?"]
            );
            assert!(commands[0].get("on").is_none() && commands[1].get("on").is_none());
            for c in &commands[2..] {
                assert_eq!(c["on"], "tc", "{p}");
                assert_eq!(c["conn"], tc_conn, "{p}");
                assert_ne!(c["conn"], p["conn"], "{p}");
            }
            assert_eq!(p["values"]["current"], "1e-3", "{p}");
            assert_eq!(p["values"]["heater"], "MED", "{p}");
        }
    }
    let journal = tc.journal();
    assert_eq!(journal.count("TEMP?"), 6);
    assert_eq!(journal.count("HTR?"), 6);
    // One connection to the controller did it all: its settle points and every loan.
    assert_eq!(journal.sessions(), 1);
}

/// The borrowed connection fails under the point (the controller closes it at `TEMP?` the
/// first time): the point fails with the reason from over there, its own connection stays
/// open (no redial of `smu`), and `retries: 1` runs it again, ok, on a new `tc` connection.
#[test]
fn a_failure_on_the_borrowed_connection_fails_the_point_and_is_retried() {
    let (_, smu) = instruments();
    let tc = Instrument::scpi().on_line(|line| match line.text {
        "TEMP?" if line.conn == 0 && line.queries == 0 => vec![Act::Close],
        "TEMP?" => reply("300"),
        "HTR?" => reply("MED"),
        _ => line.scpi(),
    });
    let run = Run::new(&cryostat(1, "\n        retries: 1"))
        .instrument(&tc)
        .instrument(&smu)
        .go();
    assert_eq!(run.summary.exit_status, "success", "{}", run.log);
    let tries = run.attempts("T/0/iv/0");
    assert_eq!(tries.len(), 2, "{tries:#?}");
    assert_eq!(tries[0]["status"], "failed", "{}", tries[0]);
    let error = tries[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("TEMP?"), "{error}");
    assert_eq!(tries[1]["status"], "ok", "{}", tries[1]);
    // The source's connection was never lost.
    assert_eq!(tries[0]["conn"], tries[1]["conn"]);
    assert_eq!(smu.journal().sessions(), 1);
    assert_eq!(run.stop()["retries"], 1);
}
