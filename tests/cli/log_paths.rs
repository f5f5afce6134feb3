//! Where run logs and sequences are: every `-o` path the run log cannot be made at is
//! refused before anything is sent (exit 2, no connection reaches the instrument, a message
//! saying what is wrong and what to do); default file names are safe whatever the
//! sequence's `name:`; an empty log (a run killed before its start record) is reused by
//! `run -o` and `resume` says what to do with it; `resume --sequence` follows a sequence
//! file that moved.
//!
//! "Nothing sent" is observed as in `validation.rs`: the test holds its own connection to a
//! live simulator, so any session opened by `sequencer` would raise `SIM:CONN:PEAK?` above 1.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{Probe, Scratch, of_type, read_log, sim, stop};

/// A two-point sequence that sends something.
const SEQ: &str = "name: paths\ninstrument:\n  max_connections: 1\nsteps:\n  - name: s\n    \
                   sweep: {i: [1, 2]}\n    commands: [\"V {i}\", {query: \"V?\", as: v}]\n";

/// Each `-o` path the log cannot be made at: exit 2, the phrases on stderr (and never
/// `already exists` for a directory), no connection to the instrument, nothing left at the
/// path. Robust as root (which ignores permission bits): sysfs and procfs refuse new files
/// to anyone, and a path under a file cannot be made at all.
#[test]
fn bad_log_paths_exit_2_and_send_nothing() {
    let instrument = sim(Duration::ZERO, None);
    let addr = instrument.addr().to_string();
    let mut probe = Probe::connect(instrument.addr());
    let scratch = Scratch::new();
    scratch.write("seq.yaml", SEQ);
    let file = scratch.write("some_file", "not a folder\n");
    let folder = scratch.join("folder");
    std::fs::create_dir(&folder).unwrap();
    let long = scratch.join(&format!("{}.jsonl", "x".repeat(300)));
    let mut cases: Vec<(PathBuf, Vec<String>)> = vec![
        (
            folder.clone(),
            vec![
                "is a directory".into(),
                format!(
                    "give a file path, such as `-o {}/run.jsonl`",
                    folder.display()
                ),
            ],
        ),
        (scratch.join("new_folder/"), vec!["is a directory".into()]),
        (
            file.join("x.jsonl"),
            vec![format!("`{}` is a file, not a directory", file.display())],
        ),
        (
            file.join("deeper/x.jsonl"),
            vec![format!("`{}` is a file, not a directory", file.display())],
        ),
        (
            PathBuf::from("/sys/x.jsonl"),
            vec![
                "permission denied".into(),
                "choose a directory you may write to".into(),
            ],
        ),
        (
            PathBuf::from("/proc/x.jsonl"),
            vec![
                "no such file or directory".into(),
                "choose another `-o` path".into(),
            ],
        ),
        (
            long.clone(),
            vec![
                "a name in it is 306 bytes long".into(),
                "choose a shorter `-o` path".into(),
            ],
        ),
    ];
    // Permission bits stop a user other than root only: tested when they do.
    let locked = scratch.join("locked");
    std::fs::create_dir(&locked).unwrap();
    set_mode(&locked, 0o555);
    if std::fs::write(locked.join("probe"), "").is_err() {
        cases.push((locked.join("x.jsonl"), vec!["permission denied".into()]));
    }
    for (path, phrases) in &cases {
        let out = scratch.sequencer([
            Path::new("run"),
            Path::new("seq.yaml"),
            Path::new("--address"),
            Path::new(&addr),
            Path::new("-o"),
            path,
        ]);
        assert_eq!(out.code(), 2, "{}\n{out}", path.display());
        // Without whitespace: the terminal's wrapping may break a long path anywhere.
        let stderr = squash(&out.stderr_flat());
        let said = format!("cannot create run log `{}`", path.display());
        assert!(stderr.contains(&squash(&said)), "no `{said}`\n{out}");
        for phrase in phrases {
            assert!(
                stderr.contains(&squash(phrase)),
                "{}: no `{phrase}`\n{out}",
                path.display()
            );
        }
        assert!(stderr.contains("(nothingwassent)"), "{out}");
        assert!(!stderr.contains("alreadyexists"), "{out}");
        assert!(!stderr.contains("panicked"), "{out}");
        assert_eq!(
            probe.query("SIM:CONN:PEAK?"),
            "1",
            "{}: sequencer connected to the instrument",
            path.display()
        );
    }
    assert_eq!(
        std::fs::read_dir(&folder).unwrap().count(),
        0,
        "a log in the folder"
    );
    assert!(!scratch.join("new_folder").exists());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a folder\n");
    assert!(!Path::new("/sys/x.jsonl").exists() && !long.exists());
    set_mode(&locked, 0o755);
}

/// `text` without any whitespace.
fn squash(text: &str) -> String {
    text.split_whitespace().collect()
}

/// Sets a file's permission bits.
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Without `-o`, the log goes to `runs/NAME-STAMP.jsonl` with a name any file system takes:
/// a 300-character name is cut (and ends with a hash, so names that begin alike differ), a
/// name with a newline, slashes or a leading `.` has them replaced; the start record keeps
/// the name as written.
#[test]
fn default_log_names_are_safe() {
    let scratch = Scratch::new();
    let long = "n".repeat(300);
    let names: [(&str, &str); 4] = [
        (&long, "nnnnnnnn"),
        ("\"line one\\nline two\"", "line_one_line_two-"),
        ("\"../up/and\\\\away\"", "_._up_and_away-"),
        (&format!("{long}x"), "nnnnnnnn"),
    ];
    let mut files = Vec::new();
    for (i, (name, begins)) in names.iter().enumerate() {
        let seq = format!("seq{i}.yaml");
        scratch.write(&seq, &SEQ.replace("name: paths", &format!("name: {name}")));
        let before = listing(&scratch.join("runs"));
        let out = scratch.sequencer(["run", seq.as_str(), "--sim"]);
        assert_eq!(out.code(), 0, "{name}: {out}");
        let new: Vec<String> = listing(&scratch.join("runs"))
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        assert_eq!(new.len(), 1, "{name}: {new:?}");
        let file = &new[0];
        assert!(file.starts_with(begins), "{name}: `{file}`");
        assert!(
            Path::new(file).extension() == Some("jsonl".as_ref()) && file.len() < 100,
            "{name}: `{file}`"
        );
        assert!(
            !file.contains(['\n', '/', '\\']) && !file.starts_with('.'),
            "{name}: `{file}`"
        );
        let records = read_log(&scratch.join("runs").join(file));
        let want: String = serde_yaml_name(name);
        assert_eq!(records[0]["name"], want.as_str(), "{name}");
        files.push(file.clone());
    }
    assert_ne!(
        files[0][..64],
        files[3][..64],
        "long names that begin alike get different files"
    );
}

/// The name a `name:` value in YAML stands for (the few forms the test uses).
fn serde_yaml_name(yaml: &str) -> String {
    match yaml.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\\n", "\n").replace("\\\\", "\\"),
        None => yaml.to_owned(),
    }
}

/// The file names in a folder (none if it does not exist).
fn listing(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).map_or_else(
        |_| Vec::new(),
        |entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        },
    )
}

/// An empty log (a run killed before its start record): `resume` says the run never
/// started and that `run -o` may reuse the file (exit 2), and `run -o` does; a log that is
/// not empty is still refused, untouched.
#[test]
fn empty_log_is_reused_by_run() {
    let scratch = Scratch::new();
    scratch.write("seq.yaml", SEQ);
    let log = scratch.write("killed.jsonl", "");
    let out = scratch.sequencer([Path::new("resume"), &log, Path::new("--sim")]);
    assert_eq!(out.code(), 2, "{out}");
    let said = format!(
        "run log `{0}`: it is empty: the run never started (it stopped before writing its \
         start record); start it again with `sequencer run SEQUENCE -o {0}` (`-o` may reuse \
         this empty file)",
        log.display()
    );
    assert!(
        squash(&out.stderr_flat()).contains(&squash(&said)),
        "no `{said}`\n{out}"
    );

    let run = |log: &Path| {
        scratch.sequencer([
            Path::new("run"),
            Path::new("seq.yaml"),
            Path::new("--sim"),
            Path::new("-o"),
            log,
        ])
    };
    let out = run(&log);
    assert_eq!(out.code(), 0, "{out}");
    let records = read_log(&log);
    assert_eq!(records[0]["type"], "start");
    assert_eq!(stop(&records)["exit_status"], "success");
    let before = std::fs::read(&log).unwrap();
    let out = run(&log);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("it already exists and is not empty, and a run log is never overwritten"),
        "{out}"
    );
    assert_eq!(std::fs::read(&log).unwrap(), before, "the log was changed");
}

/// `resume --sequence PATH` resumes a run whose sequence file moved (the resume record
/// names the file used); without it, the error for the missing file suggests it; a
/// different file is refused as changed unless `--force`.
#[test]
fn resume_follows_a_moved_sequence() {
    let scratch = Scratch::new();
    scratch.write("seq.yaml", SEQ);
    let log = scratch.join("run.jsonl");
    let out = scratch.sequencer([
        Path::new("run"),
        Path::new("seq.yaml"),
        Path::new("--sim"),
        Path::new("--fault"),
        Path::new("drop-after=1"),
        Path::new("-o"),
        &log,
    ]);
    assert_eq!(out.code(), 1, "{out}");
    let moved = scratch.join("moved.yaml");
    std::fs::rename(scratch.join("seq.yaml"), &moved).unwrap();
    let resume = |extra: &[&Path]| {
        let mut args = vec![Path::new("resume"), log.as_path(), Path::new("--sim")];
        args.extend(extra);
        scratch.sequencer(args)
    };

    let before = std::fs::read(&log).unwrap();
    let out = resume(&[]);
    assert_eq!(out.code(), 2, "{out}");
    let stderr = out.stderr_flat();
    let said = format!(
        "cannot read sequence file `{}`, which run log `{}` was started with",
        scratch.join("seq.yaml").display(),
        log.display()
    );
    assert!(squash(&stderr).contains(&squash(&said)), "{out}");
    assert!(
        stderr.contains("if it moved, give its new path with `--sequence PATH`"),
        "{out}"
    );
    assert_eq!(std::fs::read(&log).unwrap(), before, "the log was changed");

    let other = scratch.write("other.yaml", &SEQ.replace("V?", "W?"));
    let out = resume(&[Path::new("--sequence"), &other]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(
        out.stderr_flat()
            .contains("is not the sequence this run started with"),
        "{out}"
    );
    assert_eq!(std::fs::read(&log).unwrap(), before, "the log was changed");

    let out = resume(&[Path::new("--sequence"), &moved]);
    assert_eq!(out.code(), 0, "{out}");
    let records = read_log(&log);
    assert_eq!(stop(&records)["exit_status"], "success", "{out}");
    let resumed = of_type(&records, "resume");
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0]["sequence"], moved.display().to_string().as_str());
    assert_eq!(resumed[0]["forced"], false);
}
