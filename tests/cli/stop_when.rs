//! `stop_when:` and a step's `when:` end to end, against `--sim`: each action's break
//! record, counts and exit code, `resume` honouring a break after a crash, `diff` comparing
//! breaks, `export` leaving skipped points out, and the validation errors at their line and
//! column. The simulator stores `SOUR1:VOLT v` and answers `SOUR1:VOLT?` with it, so a
//! read-back `rb` crosses a threshold at a known point.

use serde_json::Value;

use crate::support::{Scratch, of_type, read_log, stop};

/// Loop `T` over `t` in [1, 2, 3] around step `iv` (volt 0.0 to 0.9, read back as `rb`,
/// firing `then` when `rb > 0.45`, i.e. at point 5) and `post`, then `end`.
fn looped(then: &str) -> String {
    format!(
        r#"
name: stop-when
instrument: {{max_connections: 2}}
steps:
  - name: T
    sweep: {{t: [1, 2, 3]}}
    steps:
      - name: iv
        sweep: {{volt: {{start: 0.0, stop: 0.9, num: 10}}}}
        commands: ["SOUR1:VOLT {{volt}}", {{query: "SOUR1:VOLT?", as: rb}}]
        stop_when: [{{if: "rb > 0.45", then: {then}}}]
      - name: post
        commands: ["POST {{t}}"]
  - name: end
    commands: ["END"]
"#
    )
}

/// The stage paths of the step point records, each once, in log order.
fn stages(records: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in of_type(records, "point") {
        let step = p["step"].as_str().unwrap_or_default().to_owned();
        if step != "setup" && step != "teardown" && out.last() != Some(&step) {
            out.push(step);
        }
    }
    out
}

/// `(then, exit code, stages, points_ok, points_skipped, points_not_run)`.
type Case = (&'static str, i32, &'static [&'static str], u64, u64, u64);

/// Each action: the stages that ran, the break records, the counts and the exit code.
#[test]
fn each_action_ends_what_it_says() {
    // (then, exit code, stages, points_ok, points_skipped, points_not_run)
    let cases: &[Case] = &[
        (
            "break",
            0,
            &[
                "T/0/iv", "T/0/post", "T/1/iv", "T/1/post", "T/2/iv", "T/2/post", "end",
            ],
            3 * 7 + 1,
            3 * 4,
            0,
        ),
        (
            "{next: T}",
            0,
            &["T/0/iv", "T/1/iv", "T/2/iv", "end"],
            3 * 6 + 1,
            3 * 5,
            0,
        ),
        (
            "{break: T}",
            0,
            &["T/0/iv", "end"],
            6 + 1,
            4 + 1 + 2 * 11,
            0,
        ),
        ("stop", 1, &["T/0/iv"], 6, 0, 4 + 1 + 2 * 11 + 1),
    ];
    for &(then, code, want, ok, skipped, not_run) in cases {
        let scratch = Scratch::new();
        let (out, records) = scratch.run("sw.yaml", &looped(then), &["--sim"]);
        assert_eq!(out.code(), code, "then: {then}: {out}");
        assert_eq!(stages(&records), want, "then: {then}");
        let breaks = of_type(&records, "break");
        assert!(!breaks.is_empty(), "then: {then}");
        assert_eq!(breaks[0]["id"], "T/0/iv/5", "then: {then}");
        assert_eq!(breaks[0]["condition"], "rb > 0.45");
        assert_eq!(breaks[0]["values"]["rb"], 0.5, "then: {then}");
        let s = stop(&records);
        assert_eq!(s["points_ok"], ok, "then: {then}: {s}");
        assert_eq!(s["points_skipped"], skipped, "then: {then}: {s}");
        assert_eq!(s["points_not_run"], not_run, "then: {then}: {s}");
        if then == "stop" {
            assert_eq!(breaks[0]["action"], "stop");
            assert_eq!(
                s["reason"], "stop_when `rb > 0.45` held at `T/0/iv/5` (rb = 0.5)",
                "{s}"
            );
            assert!(
                out.stdout.contains("reason: stop_when `rb > 0.45`"),
                "{out}"
            );
        } else {
            assert!(out.stdout.contains(&format!("{skipped} skipped")), "{out}");
        }
    }
}

/// A step's `when:` over a loop variable: the step runs only where it holds; its other
/// points are skipped; the run succeeds.
#[test]
fn when_runs_a_step_only_where_it_holds() {
    let yaml = r#"
name: when
instrument: {}
steps:
  - name: T
    sweep: {setpoint: [300, 200, 100]}
    steps:
      - name: low
        sweep: {v: [1, 2]}
        when: "setpoint <= 150"
        commands: ["LOW {setpoint} {v}"]
      - name: all
        commands: ["ALL {setpoint}"]
"#;
    let scratch = Scratch::new();
    let (out, records) = scratch.run("when.yaml", yaml, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(
        stages(&records),
        ["T/0/all", "T/1/all", "T/2/low", "T/2/all"]
    );
    let s = stop(&records);
    assert_eq!(
        (s["points_ok"].clone(), s["points_skipped"].clone()),
        (5.into(), 4.into()),
        "{s}"
    );
}

/// A run killed right after its first break (the log cut there), then resumed: the points
/// the break skipped are never sent, the other iterations run, and over the whole log the
/// counts are those of an uninterrupted run.
#[test]
fn resume_honours_a_recorded_break() {
    let scratch = Scratch::new();
    let (out, full) = scratch.run("sw.yaml", &looped("{next: T}"), &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let log = scratch.join("sw.yaml.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let cut: String = text
        .lines()
        .take_while(|l| !l.contains("\"type\":\"break\""))
        .chain(text.lines().find(|l| l.contains("\"type\":\"break\"")))
        .fold(String::new(), |mut cut, l| {
            cut.push_str(l);
            cut.push('\n');
            cut
        });
    std::fs::write(&log, cut).unwrap();
    let out = scratch.sequencer(["resume".as_ref(), log.as_os_str(), "--sim".as_ref()]);
    assert_eq!(out.code(), 0, "{out}");
    let records = read_log(&log);
    let resumed: Vec<&Value> = records
        .iter()
        .skip_while(|r| r["type"] != "resume")
        .filter(|r| r["type"] == "point")
        .collect();
    assert!(
        resumed
            .iter()
            .all(|p| !p["id"].as_str().unwrap_or("").starts_with("T/0/")),
        "nothing of the broken iteration runs again: {resumed:#?}"
    );
    let (s, want) = (stop(&records), stop(&full));
    for count in ["points_ok", "points_skipped", "points_not_run"] {
        assert_eq!(s[count], want[count], "{count}: {s}");
    }
}

/// With `parallel:`, the points past the one that fired are at most the others already
/// running (`concurrency` - 1): the pool starts none of its waiting points once a point
/// fired until the sequencer has taken them back (it used to start them as connections
/// freed up, 4 to 7 points past it here).
#[test]
fn parallel_break_runs_only_the_points_already_running() {
    let yaml = r#"
name: parallel-break
instrument: {max_connections: 4}
steps:
  - name: a
    sweep: {v: {start: 0, stop: 39, step: 1}}
    parallel: [v]
    stop_when: [{if: "r >= 5", then: break}]
    commands: ["V{v} {v}", {query: "V{v}?", as: r}]
"#;
    let scratch = Scratch::new();
    for run in 0..5 {
        let name = format!("p{run}.yaml");
        let (out, records) = scratch.run(&name, yaml, &["--sim"]);
        assert_eq!(out.code(), 0, "{out}");
        // The first point that fired (`a/5`, or a later one that finished before it).
        let fired = of_type(&records, "break")[0]["index"].as_u64().unwrap();
        let past = of_type(&records, "point")
            .iter()
            .filter(|p| p["index"].as_u64().is_some_and(|i| i > fired))
            .count();
        assert!(past <= 3, "run {run}: {past} points past `a/{fired}` ran");
    }
}

/// A resume does not take an iteration that ended whole for one it continues (which runs
/// its `on_resume: rerun` steps again, a setpoint a cryostat would go back to): not when
/// a step's `when:` passed it over, nor when a `stop_when` `break` ended a step early.
#[test]
fn resume_does_not_rerun_iterations_that_ended_whole() {
    let yaml = |skip: &str| {
        format!(
            r#"
name: rerun
params: {{failat: 2}}
instrument: {{}}
steps:
  - name: T
    sweep: {{t: [0, 1, 2]}}
    steps:
      - name: set
        on_resume: rerun
        commands: ["SET {{t}}"]
      - name: iv
        sweep: {{v: [1, 2, 3]}}
        commands: ["V {{v}}", {{query: "V?", as: r}}]
        {skip}
      - name: end
        commands: [{{query: "E?", check: "t != failat", as: e}}]
"#
        )
    };
    for skip in [
        "when: \"t >= 1\"",
        "stop_when: [{if: \"r >= 2\", then: break}]",
    ] {
        let scratch = Scratch::new();
        let (out, _) = scratch.run("r.yaml", &yaml(skip), &["--sim"]);
        assert_eq!(out.code(), 1, "{skip}: {out}");
        let log = scratch.join("r.yaml.jsonl");
        let out = scratch.sequencer([
            "resume".as_ref(),
            log.as_os_str(),
            "--sim".as_ref(),
            "--force".as_ref(),
            "--set".as_ref(),
            "failat=9".as_ref(),
        ]);
        assert_eq!(out.code(), 0, "{skip}: {out}");
        let records = read_log(&log);
        let again: Vec<&str> = records
            .iter()
            .skip_while(|r| r["type"] != "resume")
            .filter(|r| r["type"] == "point")
            .filter_map(|r| r["id"].as_str())
            .collect();
        assert_eq!(again, ["T/2/set/0", "T/2/end/0"], "{skip}");
    }
}

/// `diff` of two runs with the same break matches; with another threshold the points
/// where the breaks differ are listed with `stop_when fired`; `export` writes a row per
/// point that ran, none for the skipped ones.
#[test]
fn diff_compares_breaks_and_export_skips_nothing_it_has_not() {
    let scratch = Scratch::new();
    let (_, a) = scratch.run("a.yaml", &looped("break"), &["--sim"]);
    let (_, b) = scratch.run("b.yaml", &looped("break"), &["--sim"]);
    let other = looped("break").replace("rb > 0.45", "rb > 0.55");
    let (_, c) = scratch.run("c.yaml", &other, &["--sim"]);
    assert!(!a.is_empty() && !b.is_empty() && !c.is_empty());
    let (la, lb, lc) = (
        scratch.join("a.yaml.jsonl"),
        scratch.join("b.yaml.jsonl"),
        scratch.join("c.yaml.jsonl"),
    );
    let same = scratch.sequencer(["diff".as_ref(), la.as_os_str(), lb.as_os_str()]);
    assert_eq!(same.code(), 0, "{same}");
    let differ = scratch.sequencer(["diff".as_ref(), la.as_os_str(), lc.as_os_str()]);
    assert_eq!(differ.code(), 1, "{differ}");
    assert!(differ.stdout.contains("T/0/iv/5:"), "{differ}");
    assert!(
        differ
            .stdout
            .contains("stop_when fired: `rb > 0.45`: break -> none"),
        "{differ}"
    );
    let export = scratch.sequencer(["export".as_ref(), la.as_os_str()]);
    assert_eq!(export.code(), 0, "{export}");
    let rows = export.stdout.lines().count() - 1;
    assert_eq!(rows as u64, stop(&a)["points_ok"].as_u64().unwrap());
}

/// Validation: a loop name that names no enclosing loop, an unknown action, an empty
/// condition, `stop_when` on a loop: exit 2, each at its line and column.
#[test]
fn validation_errors_are_at_their_line_and_column() {
    let cases = [
        (
            looped("{next: U}"),
            "sw.yaml:11:52",
            "`next: U` names no loop around step `iv` (its enclosing loops, outermost first: `T`)",
        ),
        (
            looped("halt"),
            "sw.yaml:11:45",
            "unknown action `halt` in `then:`",
        ),
        (
            looped("break").replace("\"rb > 0.45\"", "\"\""),
            "sw.yaml:11:26",
            "`if:` of a `stop_when` entry is empty",
        ),
        (
            "steps:\n- name: iv\n  commands: [X]\n  stop_when: [{if: x, then: {break: T}}]\n"
                .to_owned(),
            "sw.yaml:4:37",
            "`break: T` on step `iv`, which is in no loop",
        ),
    ];
    for (yaml, at, want) in cases {
        let scratch = Scratch::new();
        scratch.write("sw.yaml", &yaml);
        let out = scratch.sequencer(["check", "sw.yaml"]);
        assert_eq!(out.code(), 2, "{out}");
        let err = out.stderr_flat();
        assert!(
            err.contains(at) && err.contains(want),
            "want {at}: {want}\n{out}"
        );
    }
}
