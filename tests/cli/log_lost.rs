//! A run log deleted or truncated (a copy-truncate) under a running sequencer is noticed
//! within about a second: a warning on stderr, no new points, teardown still runs, the
//! summary says `run log incomplete: ...`, and the run exits 1. What the log itself cannot
//! show any more is checked on the instrument: the last point that ran and the teardown's
//! mark.

use std::path::Path;
use std::time::Duration;

use crate::support::{Output, Probe, Scratch, count_lines, read_log, sim, stop, wait_until};

/// Points in the sweep: at the simulator's 5 ms per reply, over ten seconds of run.
const POINTS: u64 = 2000;

/// One connection, points one after another, each storing its index (`V?` then tells the
/// last point that ran); teardown stores a mark.
fn sequence() -> String {
    format!(
        "name: lost\ninstrument:\n  max_connections: 1\nsetup: [\"MARK 0\"]\nsteps:\n  \
         - name: s\n    sweep: {{i: {{start: 0, stop: {}, step: 1}}}}\n    \
         commands: [\"V {{i}}\", {{query: \"V?\", as: v}}]\nteardown: [\"MARK 1\"]\n",
        POINTS - 1
    )
}

/// Starts the run against a simulator answering after 5 ms, waits for 20 point records,
/// does `damage` to the log, and waits for the run to end. Returns its output and what the
/// instrument says: the last point index that ran, and the teardown mark.
fn damage_mid_run(damage: impl FnOnce(&Path)) -> (Output, u64, String, Scratch) {
    let instrument = sim(Duration::from_millis(5), None);
    let addr = instrument.addr().to_string();
    let scratch = Scratch::new();
    let mut run = scratch.start_run("lost.yaml", &sequence(), &["--address", &addr]);
    let log = run.log().to_owned();
    wait_until("20 points are recorded", || {
        count_lines(&log) >= 22 || run.process().exited()
    });
    damage(&log);
    let out = run.wait();
    let mut probe = Probe::connect(instrument.addr());
    let last: u64 = probe.query("V?").parse().expect("V? is a number");
    let mark = probe.query("MARK?");
    (out, last, mark, scratch)
}

/// What every lost log must have led to: exit 1, the warning, the summary's line, teardown
/// run, and the run stopped long before its end (noticed within about a second: half the
/// sweep is five seconds of points).
fn assert_noticed(out: &Output, last: u64, mark: &str, what: &str) {
    assert_eq!(out.code(), 1, "{out}");
    let stderr = out.stderr_flat();
    assert!(stderr.contains(what), "no `{what}` on stderr\n{out}");
    assert!(
        stderr.contains("stopping: no new points, teardown still runs"),
        "{out}"
    );
    let incomplete = out
        .stdout
        .lines()
        .find(|l| l.starts_with("run log incomplete: "))
        .unwrap_or_else(|| panic!("no `run log incomplete:` line\n{out}"));
    assert!(incomplete.contains(what), "{out}");
    assert_eq!(mark, "1", "teardown did not run\n{out}");
    assert!(
        last < POINTS / 2,
        "the run went on to point {last} of {POINTS}\n{out}"
    );
}

/// A log deleted mid-run is noticed: exit 1 after teardown, with the warning and the
/// summary line naming the deletion.
#[test]
fn deleted_log_is_noticed() {
    let (out, last, mark, _scratch) = damage_mid_run(|log| std::fs::remove_file(log).unwrap());
    assert_noticed(
        &out,
        last,
        &mark,
        "was deleted while the run was writing it",
    );
}

/// A log truncated mid-run (a copy-truncate) is noticed: exit 1 after teardown; the
/// records written after the truncation start at the new end (no hole of zero bytes) and
/// end with the stop record, which says why.
#[test]
fn truncated_log_is_noticed() {
    let (out, last, mark, scratch) = damage_mid_run(|log| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(log)
            .unwrap()
            .set_len(0)
            .unwrap();
    });
    assert_noticed(
        &out,
        last,
        &mark,
        "was truncated while the run was writing it",
    );
    let log = scratch.join("lost.yaml.jsonl");
    let bytes = std::fs::read(&log).unwrap();
    assert!(
        !bytes.contains(&0),
        "zero bytes in the log: writes behind a hole"
    );
    let records = read_log(&log);
    let stop = stop(&records);
    assert_eq!(stop["exit_status"], "fail", "{stop}");
    assert!(
        stop["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("was truncated"),
        "{stop}"
    );
}
