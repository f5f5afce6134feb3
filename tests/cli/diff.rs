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
        "run log `{}`: it is empty: the run stopped before it began;",
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
            "start it again with `sequencer run`",
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
