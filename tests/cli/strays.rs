//! Every reply is its own: instruments that send lines nobody asked for (a query answered
//! twice, a late copy of a reply, a greeting a little after connecting) never make a point
//! record another point's value as `ok`. Each sequence sets `V{i} {i}` and reads `V{i}?`,
//! so a reply that is not its own shows as a value other than the point's `i`.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::Mutex;
use std::time::Duration;

use sequencer::testing::{Act, Instrument, Listening, after, reply};
use serde_json::Value;

use crate::support::{Output, Scratch, of_type, step_points, stop};

/// The greeting a [`Doubler`] sends when told to.
const GREETING: &str = "HELLO FROM DOUBLER";

/// What a [`Doubler`] sends besides the one reply each query asks for.
#[derive(Debug, Clone, Copy)]
enum Extra {
    /// Nothing: a well-behaved instrument.
    Nothing,
    /// Every reply twice, in one write.
    TwiceAtOnce,
    /// Every fourth reply on a connection twice, in two writes this long apart.
    FourthTwiceApart(Duration),
    /// A copy of each reply, sent with the next reply on the connection, in one write.
    CopyWithNext,
    /// A copy of each reply, sent this long after it (the connection idle by then).
    CopyLater(Duration),
}

/// A scripted SCPI instrument on 127.0.0.1:0: `HEADER VALUE` stores, `HEADER?` answers the
/// stored value (shared by all connections), with the [`Extra`] lines of its script, and
/// [`GREETING`] this long after accepting a connection when `greet_after` is set.
struct Doubler {
    server: Listening,
}

impl Doubler {
    fn start(extra: Extra, greet_after: Option<Duration>) -> Doubler {
        // The last reply on each connection, for [`Extra::CopyWithNext`].
        let previous = Mutex::new(HashMap::<usize, String>::new());
        let instrument = Instrument::scpi()
            .on_connect(move |_| match greet_after {
                Some(wait) => after(wait, reply(GREETING)),
                None => Vec::new(),
            })
            .on_line(move |line| {
                // A write is stored by `scpi_reply`, and answers nothing.
                let Some(r) = line.scpi_reply() else {
                    return Vec::new();
                };
                match extra {
                    Extra::TwiceAtOnce => vec![Act::Bytes(format!("{r}\n{r}\n").into_bytes())],
                    Extra::FourthTwiceApart(gap) if (line.queries + 1) % 4 == 0 => {
                        vec![Act::Reply(r.clone()), Act::Sleep(gap), Act::Reply(r)]
                    }
                    Extra::Nothing | Extra::FourthTwiceApart(_) => reply(r),
                    Extra::CopyWithNext => {
                        let mut previous = previous
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        match previous.insert(line.conn, r.clone()) {
                            Some(copy) => vec![Act::Bytes(format!("{copy}\n{r}\n").into_bytes())],
                            None => reply(r),
                        }
                    }
                    Extra::CopyLater(wait) => vec![Act::Reply(r.clone()), Act::Later(wait, r)],
                }
            });
        let server = instrument.listen().expect("cannot listen on 127.0.0.1:0");
        Doubler { server }
    }

    fn address(&self) -> String {
        self.server.addr().to_string()
    }
}

/// A sweep of `points` points (24 unless said) over two connections, each setting `V{i} {i}` and reading it back
/// (after `pause`, if any), retried up to three times; `greeting` goes in the instrument.
fn sequence(pause: Option<&str>, greeting: &str) -> String {
    sweep_of(24, pause, greeting)
}

/// [`sequence`] with `points` points.
fn sweep_of(points: u32, pause: Option<&str>, greeting: &str) -> String {
    let last = points - 1;
    let pause = pause.map_or(String::new(), |p| format!("{{wait: {p}}}, "));
    format!(
        r#"
name: strays
instrument:
  max_connections: 2
  reconnect_attempts: 20
  {greeting}
retries: 3
on_error: continue
steps:
  - name: s
    sweep: {{i: {{start: 0, stop: {last}, step: 1}}}}
    concurrency: 2
    commands: [{pause}"V{{i}} {{i}}", {{query: "V{{i}}?", as: v}}]
"#
    )
}

/// Runs `yaml` against `instrument` and checks what must hold whatever the instrument
/// does: no `ok` point holds a value that is not its own, every failure of a point says
/// why, and the stop record counts each point once. Returns the output, the
/// records and the number of ok points.
fn run_checked(instrument: &Doubler, yaml: &str) -> (Output, Vec<Value>, u64) {
    let scratch = Scratch::new();
    let (out, records) = scratch.run("strays.yaml", yaml, &["--address", &instrument.address()]);
    let mut ok = 0;
    for p in step_points(&records) {
        if p["status"] == "ok" {
            ok += 1;
            let i = p["vars"]["i"].as_u64().expect("i");
            assert_eq!(
                p["values"]["v"],
                i.to_string(),
                "an ok point recorded a reply that is not its own: {p}\n{out}"
            );
        } else {
            assert!(p["error"].is_string(), "a failed point without error: {p}");
        }
    }
    let stop = stop(&records);
    let counted = ["points_ok", "points_failed", "points_not_run"]
        .iter()
        .map(|k| stop[k].as_u64().unwrap_or(0))
        .sum::<u64>();
    assert_eq!(Some(counted), records[0]["total_points"].as_u64(), "{stop}");
    assert_eq!(
        stop["points_ok"].as_u64(),
        Some(ok_final(&records)),
        "{stop}"
    );
    if stop["exit_status"] == "success" {
        assert_eq!(out.code(), 0, "{out}");
    }
    (out, records, ok)
}

/// Points whose last record is `ok`.
fn ok_final(records: &[Value]) -> u64 {
    let mut last: HashMap<&str, &Value> = HashMap::new();
    for p in step_points(records) {
        last.insert(p["id"].as_str().unwrap_or_default(), p);
    }
    last.values().filter(|p| p["status"] == "ok").count() as u64
}

/// Failed point records whose error is about unsolicited data.
fn unsolicited(records: &[Value]) -> usize {
    step_points(records)
        .iter()
        .filter(|p| {
            p["error"]
                .as_str()
                .is_some_and(|e| e.contains("unsolicited data"))
        })
        .count()
}

/// A well-behaved instrument: every point ok, with its own value (the checks above can
/// pass, and fail only for the instruments below).
#[test]
fn a_clean_instrument_gives_every_point_its_own_reply() {
    let instrument = Doubler::start(Extra::Nothing, None);
    let (out, records, ok) = run_checked(&instrument, &sequence(None, ""));
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(ok, 24, "{out}");
    assert_eq!(unsolicited(&records), 0, "{out}");
}

/// An instrument that answers every query twice at once: no point is ever ok (each sees
/// the copy at its end), each failure says ``unsolicited data after `V..?` ``, and the run
/// fails: never a `success` with foreign values.
#[test]
fn a_query_answered_twice_at_once_never_passes() {
    let instrument = Doubler::start(Extra::TwiceAtOnce, None);
    let (out, records, ok) = run_checked(&instrument, &sequence(None, ""));
    assert_eq!(out.code(), 1, "{out}");
    assert_eq!(ok, 0, "{out}");
    assert_eq!(stop(&records)["exit_status"], "fail");
    let points = step_points(&records);
    assert!(!points.is_empty(), "{out}");
    for p in points {
        let error = p["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("unsolicited data after `V") && error.contains("on connection"),
            "{p}"
        );
    }
}

/// Every fourth reply of a connection sent twice in two writes, 0 to 2 ms apart, on a
/// connection already in use: the copy, in its own packet, arrives while the point ends,
/// while the next point starts, or after the next point's query, where no line protocol
/// can tell it from that query's reply (the README's blind spot). Each point ends with
/// `{query: "*OPC?", expect: "1"}`, which the README gives as the way to close it: a
/// connection one line behind answers it with the previous reply. No ok point ever holds
/// another point's value, and the copies are seen.
#[test]
fn a_query_answered_twice_apart_never_gives_a_foreign_value() {
    for gap_us in [0, 50, 300, 2000] {
        let instrument =
            Doubler::start(Extra::FourthTwiceApart(Duration::from_micros(gap_us)), None);
        let yaml = sequence(None, "").replace(
            "as: v}]",
            "as: v}, {query: \"*OPC?\", expect: \"1\"}]\nretry_on: [mismatch]",
        );
        let (out, records, _) = run_checked(&instrument, &yaml);
        let mismatched = step_points(&records)
            .iter()
            .filter(|p| {
                p["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("is not the expected `1`"))
            })
            .count();
        assert!(
            unsolicited(&records) + mismatched > 0,
            "gap {gap_us} us: copies unseen\n{out}"
        );
    }
}

/// A copy of each reply sent with the next one, in one write: the point that reads the
/// copy as its reply sees its true reply left over at its end and fails (then runs again
/// on a new connection); no ok point holds another's value, and the retries recover.
#[test]
fn a_late_copy_with_the_next_reply_fails_the_point_that_read_it() {
    let instrument = Doubler::start(Extra::CopyWithNext, None);
    let (out, records, _) = run_checked(&instrument, &sequence(None, ""));
    assert!(unsolicited(&records) > 0, "the copies went unseen\n{out}");
    assert!(stop(&records)["retries"].as_u64() > Some(0), "{out}");
}

/// A copy of each reply arriving 10 ms later, while the connection's next point waits
/// 200 ms before its query: the copy is found before the query and fails that point
/// (``unsolicited data before `V..?` ``), never answers it. (The wide margin keeps a copy
/// delayed by a loaded machine from arriving just before the next reply, the blind spot
/// the README states.)
#[test]
fn a_late_copy_on_an_idle_connection_is_never_a_reply() {
    let instrument = Doubler::start(Extra::CopyLater(Duration::from_millis(10)), None);
    let (out, records, _) = run_checked(&instrument, &sweep_of(8, Some("200ms"), ""));
    let before = step_points(&records)
        .iter()
        .filter(|p| {
            p["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("unsolicited data before `V"))
        })
        .count();
    assert!(before > 0, "the late copies went unseen\n{out}");
}

/// An instrument that greets 5 ms after accepting, undeclared: whether the greeting comes
/// before the first command (dropped) or is taken as the first reply (the true reply then
/// fails the point), no ok point holds the greeting or another point's value.
#[test]
fn an_undeclared_late_greeting_is_never_a_recorded_value() {
    let instrument = Doubler::start(Extra::Nothing, Some(Duration::from_millis(5)));
    let (out, records, _) = run_checked(&instrument, &sequence(None, ""));
    for p in step_points(&records) {
        if p["status"] == "ok" {
            assert_ne!(p["values"]["v"], GREETING, "{p}\n{out}");
        }
    }
}

/// An instrument that greets 5 ms after accepting, declared with `greeting: line`: every
/// connection reads it first, every point is ok with its own value, and each `connect`
/// record keeps the greeting.
#[test]
fn a_declared_greeting_is_read_and_recorded() {
    let instrument = Doubler::start(Extra::Nothing, Some(Duration::from_millis(5)));
    let (out, records, ok) = run_checked(&instrument, &sequence(None, "greeting: line"));
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(ok, 24, "{out}");
    let connects = of_type(&records, "connect");
    assert!(!connects.is_empty(), "no connect record\n{out}");
    for c in connects {
        assert_eq!(c["greeting"], GREETING, "{c}");
        assert_eq!(c["commands"], serde_json::json!([]), "{c}");
    }
}

/// `greeting: line` on an instrument that never greets: the connection fails with a
/// message naming the setting, after `connect_timeout`, and nothing is recorded as ok.
#[test]
fn a_declared_greeting_that_never_comes_is_an_error() {
    let instrument = Doubler::start(Extra::Nothing, None);
    let yaml = sequence(None, "greeting: line\n  connect_timeout: 200ms");
    let scratch = Scratch::new();
    let (out, records) = scratch.run("strays.yaml", &yaml, &["--address", &instrument.address()]);
    assert_eq!(out.code(), 1, "{out}");
    assert!(
        out.stderr_flat().contains("no greeting within 200ms")
            && out.stderr_flat().contains("greeting: line"),
        "{out}"
    );
    assert!(step_points(&records).is_empty(), "{out}");
}

/// `run --sim` of an instrument declared with `greeting: line` serves a greeting (the
/// generic device's `*IDN?` text), and a replay of that run sends the recorded greeting on
/// every new connection: both runs succeed, and `diff` finds them the same.
#[test]
fn declared_greetings_are_simulated_and_replayed() {
    let yaml = "name: greet\ninstrument:\n  max_connections: 2\n  greeting: line\n\
                steps:\n  - name: s\n    sweep: {i: [1, 2, 3]}\n    parallel: all\n    \
                commands: [\"V{i} {i}\", {query: \"V{i}?\", as: v}]\n";
    let scratch = Scratch::new();
    let (out, records) = scratch.run("greet.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let connects = of_type(&records, "connect");
    assert!(!connects.is_empty(), "{out}");
    for c in &connects {
        assert!(
            c["greeting"]
                .as_str()
                .is_some_and(|g| g.starts_with("SEQUENCER,SIM,0,")),
            "{c}"
        );
    }
    let golden = scratch.join("greet.yaml.jsonl");
    let replayed = scratch.join("replayed.jsonl");
    let out = scratch.sequencer([
        OsStr::new("run"),
        OsStr::new("greet.yaml"),
        OsStr::new("--replay"),
        golden.as_os_str(),
        OsStr::new("-o"),
        replayed.as_os_str(),
    ]);
    assert_eq!(out.code(), 0, "{out}");
    let out = scratch.sequencer([OsStr::new("diff"), golden.as_os_str(), replayed.as_os_str()]);
    assert_eq!(out.code(), 0, "{out}");
}
