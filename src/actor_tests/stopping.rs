//! A run that stops on a failure (`on_error: stop`) while other points are in flight or
//! waiting: no waiting point reaches the instrument or the log, no retry starts, each
//! point is counted once, teardown still runs.

use super::harness::{ms, run};
use crate::testing::{Act, Instrument, after, reply};

/// `points` independent points of `Q i` expecting `OK` over two connections, two at a
/// time, then teardown `OFF`; `instrument` is added to the instrument, `step` to the step.
fn pair_sequence(points: usize, instrument: &str, step: &str) -> String {
    format!(
        r#"
name: stopping
on_error: stop
instrument:
  max_connections: 2{instrument}
steps:
  - name: s
    sweep: {{i: {{start: 0, stop: {last}, step: 1}}}}
    parallel: all
    concurrency: 2{step}
    commands:
      - {{query: "Q {{i}}", expect: "OK"}}
teardown: ["OFF"]
"#,
        last = points - 1
    )
}

/// The replies to `Q 0` and `Q 1` come back to back, once both queries have arrived
/// (`act` for each); every other `Q i` is answered `OK` after 50 ms; other lines as SCPI.
fn pair(act: fn(usize) -> Vec<Act>) -> Instrument {
    Instrument::scpi().on_line(move |line| match line.number("Q ") {
        Some(i @ (0 | 1)) => [vec![Act::Meet("pair", 2)], act(i)].concat(),
        Some(_) => after(ms(50), reply("OK")),
        None => line.scpi(),
    })
}

/// `on_error: stop`, 20 points on two connections, `Q 1` answered `BAD` together with
/// `Q 0`'s `OK`: only s/0 and s/1 are recorded (s/1 failed), no other `Q i` reaches the
/// instrument, the stop record says `fail` with one failed point and 18 not run, and
/// teardown runs.
#[test]
fn stop_on_failure_starts_no_waiting_point() {
    let instrument = pair(|i| reply(if i == 1 { "BAD" } else { "OK" }));
    let run = run(&pair_sequence(20, "", ""), &instrument);
    let journal = instrument.journal();
    assert_eq!(run.summary.exit_status, "fail", "{}", run.log);
    assert_eq!(run.point("s/0")["status"], "ok");
    assert_eq!(run.point("s/1")["status"], "failed");
    assert_eq!(run.ids(), ["s/0", "s/1"]);
    for i in 0..20 {
        let times = usize::from(i < 2);
        assert_eq!(journal.count(&format!("Q {i}")), times, "{:?}", journal.lines());
    }
    let stop = run.stop();
    assert_eq!(stop["points_failed"], 1, "{stop}");
    assert_eq!(stop["points_ok"], 1, "{stop}");
    assert_eq!(stop["points_not_run"], 18, "{stop}");
    assert_eq!(run.point("teardown/0")["status"], "ok");
    assert_eq!(journal.count("OFF"), 1);
}
