//! `sequencer diff` on hand-written run logs: what it says on stderr about the comparison
//! itself (a torn last line, runs of different sequences), and the advice it gives for a
//! file that is not a log (its own, never `resume`'s).

use std::path::Path;

use crate::support::Scratch;

/// A start record of sequence `name` (file hash `sha`), one ok point, a stop record.
fn log(name: &str, sha: &str) -> String {
    format!(
        "{{\"type\":\"start\",\"run_id\":\"r\",\"name\":\"{name}\",\"sequence_sha256\":\"{sha}\"}}\n\
         {{\"type\":\"point\",\"id\":\"s/0\",\"step\":\"s\",\"index\":0,\"status\":\"ok\",\
         \"commands\":[{{\"sent\":\"A?\",\"reply\":\"1\",\"elapsed_ms\":1}}]}}\n\
         {{\"type\":\"stop\",\"exit_status\":\"success\"}}\n"
    )
}

/// A log ending with a torn line is compared without it, and a note on stderr says so;
/// logs of different sequences are still compared, with a warning naming what differs.
#[test]
fn diff_notes_torn_lines_and_different_sequences() {
    let scratch = Scratch::new();
    let sha = "ab".repeat(32);
    let a = scratch.write("a.jsonl", &log("iv", &sha));
    let torn_line = "{\"type\":\"point\",\"id\":\"s/1\",\"st";
    let torn = scratch.write("torn.jsonl", &(log("iv", &sha) + torn_line));
    let diff = |b: &Path| scratch.sequencer([Path::new("diff"), &a, b]);

    let out = diff(&a);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.stderr, "", "nothing to note: {out}");

    let out = diff(&torn);
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("runs match: 1 point"), "{out}");
    assert!(
        out.stderr_flat().contains(&format!(
            "run log `{}` ends with a torn line ({} bytes, an interrupted write): compared \
             without it",
            torn.display(),
            torn_line.len()
        )),
        "{out}"
    );

    let other = scratch.write("other.jsonl", &log("cv", &"cd".repeat(32)));
    let out = diff(&other);
    assert_eq!(out.code(), 0, "still compared: {out}");
    assert!(
        out.stderr_flat().contains(
            "the runs are of different sequences (name `iv` in A, `cv` in B; sequence_sha256 \
             `abababababab...` in A, `cdcdcdcdcdcd...` in B): compared anyway"
        ),
        "{out}"
    );
    let edited = scratch.write("edited.jsonl", &log("iv", &"ef".repeat(32)));
    let out = diff(&edited);
    assert!(
        out.stderr_flat().contains("(sequence_sha256 `abab"),
        "{out}"
    );
    assert!(!out.stderr.contains("name `"), "the names agree: {out}");
}

/// A log whose run never began is refused by `diff` and `export` with their own advice;
/// only `resume` tells to start the run again.
#[test]
fn start_record_problems_get_each_command_s_advice() {
    let scratch = Scratch::new();
    let empty = scratch.write("empty.jsonl", "");
    let good = scratch.write("good.jsonl", &log("iv", "ab"));
    let said = format!(
        "run log `{}`: it is empty: the run never started (it stopped before writing its \
         start record);",
        empty.display()
    );
    let cases: [(&[&Path], &str); 3] = [
        (
            &[Path::new("diff"), &empty, &good],
            "it holds no point to compare",
        ),
        (
            &[Path::new("export"), &empty],
            "it holds no point to export",
        ),
        (
            &[Path::new("resume"), &empty, Path::new("--sim")],
            "start it again with `sequencer run SEQUENCE -o",
        ),
    ];
    for (args, advice) in cases {
        let out = scratch.sequencer(args);
        assert_eq!(out.code(), 2, "{out}");
        let stderr = out.stderr_flat();
        assert!(stderr.contains(&format!("{said} {advice}")), "{out}");
        if args[0] != Path::new("resume") {
            assert!(!stderr.contains("start it again"), "{out}");
        }
    }
    let text = scratch.write("text.jsonl", "hello\n");
    let out = scratch.sequencer([Path::new("diff"), &text, &good]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat().contains(
            "line 1 is not a start record: expected value at line 1 column 1; give the path \
             of a `.jsonl` log written by `sequencer run`"
        ),
        "{out}"
    );
}

/// Two steps of 6 points and a setup and a teardown, over 3 connections.
const SWEEP: &str = r#"
name: order
instrument: {max_connections: 3}
setup: ["*RST"]
steps:
  - name: iv
    sweep: {volt: {start: 0, stop: 5, step: 1}}
    commands: ["V {volt}", {query: "V?", as: v}]
  - name: cv
    sweep: {cap: [1, 2, 3, 4, 5, 6]}
    commands: ["C {cap}", {query: "C?", as: c}]
teardown: [{query: "*OPC?", as: done}]
"#;

/// A real run against a copy of its log with point lines in another completion order and
/// some replies changed: `diff` counts only the 12 sweep points as points, lists the
/// differing ones in sweep order (steps as they ran, points by index), and setup and
/// teardown in a section of their own, counted apart.
#[test]
fn diff_lists_in_sweep_order_with_setup_and_teardown_apart() {
    let scratch = Scratch::new();
    let (out, _) = scratch.run("order.yaml", SWEEP, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let a = scratch.join("order.yaml.jsonl");
    let text = std::fs::read_to_string(&a).unwrap();
    // Each step's point lines in reverse: another completion order, the same run.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for step in ["\"step\":\"iv\"", "\"step\":\"cv\""] {
        let at: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].contains(step))
            .collect();
        let mut reversed: Vec<String> = at.iter().rev().map(|&i| lines[i].clone()).collect();
        for &i in &at {
            lines[i] = reversed.remove(0);
        }
    }
    let reordered = scratch.write("reordered.jsonl", &(lines.join("\n") + "\n"));
    let out = scratch.sequencer([Path::new("diff"), &a, &reordered]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(
        out.stdout.trim_end(),
        "runs match: 12 points (and 2 setup/teardown points)"
    );

    let change = |line: &str, from: &str, to: &str| {
        assert!(line.contains(from), "{line}");
        line.replace(from, to)
    };
    for line in &mut lines {
        if line.contains("\"id\":\"cv/1\"") {
            *line = change(line, "\"reply\":\"2\"", "\"reply\":\"20\"");
        } else if line.contains("\"id\":\"iv/4\"") || line.contains("\"id\":\"iv/1\"") {
            *line = change(line, "\"sent\":\"V ", "\"sent\":\"VOLT ");
        } else if line.contains("\"id\":\"teardown/0\"") {
            *line = change(line, "\"reply\":\"1\"", "\"reply\":\"0\"");
        }
    }
    let changed = scratch.write("changed.jsonl", &(lines.join("\n") + "\n"));
    let out = scratch.sequencer([Path::new("diff"), &a, &changed]);
    assert_eq!(out.code(), 1, "{out}");
    let heads: Vec<&str> = out.stdout.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        heads,
        [
            "iv/1:",
            "iv/4:",
            "cv/1:",
            "setup and teardown (not counted as points):",
            "teardown/0:",
            "3 of 12 points differ; 0 only in A, 0 only in B; setup/teardown: 1 of 2 differ",
        ],
        "{out}"
    );
}
