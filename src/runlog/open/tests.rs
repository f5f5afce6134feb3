//! Making a run log at a path, and noticing one lost under its run (`intact.rs`).

use std::path::{Path, PathBuf};

use super::*;
use crate::runlog::{Lost, LostLog};

/// A fresh folder of its own, removed when dropped (even after a failure).
struct Dir(PathBuf);

impl Dir {
    fn new(test: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("seqopen-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The problem `create` finds at `path`, and its message.
fn refused(path: &Path) -> (Problem, String) {
    let err = RunLog::create(path).expect_err("created");
    let text = err.to_string();
    (err.problem, text)
}

/// Each bad path is refused with what is wrong and what to do, and says nothing was sent.
#[test]
fn bad_paths_say_what_is_wrong() {
    let dir = Dir::new("bad");
    let file = dir.join("file");
    std::fs::write(&file, "x").unwrap();
    let long = dir.join(&"x".repeat(300));

    let (problem, text) = refused(&dir.0);
    assert!(matches!(problem, Problem::IsDirectory), "{text}");
    assert!(
        text.contains("it is a directory; give a file path, such as `-o "),
        "{text}"
    );
    assert!(!text.contains("exists"), "{text}");
    let (problem, text) = refused(&dir.join("new/"));
    assert!(
        matches!(problem, Problem::IsDirectory),
        "a path ending in /: {text}"
    );
    for under in [file.join("x.jsonl"), file.join("deeper/x.jsonl")] {
        let (problem, text) = refused(&under);
        assert!(matches!(problem, Problem::UnderAFile(_)), "{text}");
        let want = format!("`{}` is a file, not a directory", file.display());
        assert!(text.contains(&want), "{text}");
    }
    let (problem, text) = refused(&file);
    assert!(matches!(problem, Problem::NotEmpty), "{text}");
    assert!(text.contains("already exists and is not empty"), "{text}");
    let (problem, text) = refused(Path::new("/dev/null"));
    assert!(matches!(problem, Problem::NotAFile), "{text}");
    let (problem, text) = refused(&long);
    assert!(matches!(problem, Problem::NameTooLong), "{text}");
    assert!(text.contains("a name in it is 300 bytes long"), "{text}");
    assert!(text.contains("choose a shorter `-o` path"), "{text}");
    // sysfs refuses new files to anyone, root included.
    let (problem, text) = refused(Path::new("/sys/x.jsonl"));
    assert!(matches!(problem, Problem::PermissionDenied), "{text}");
    assert!(text.ends_with("(nothing was sent)"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "x",
        "a refused file is left as it was"
    );
}

/// Messages for what a test cannot make happen on every machine.
#[test]
fn messages_of_other_problems() {
    let path = Path::new("/mnt/ro/run.jsonl");
    let text = |problem| OpenError::new(path, problem).to_string();
    assert_eq!(
        text(Problem::ReadOnly),
        "cannot create run log `/mnt/ro/run.jsonl`: the file system is read-only; choose a \
         directory on a writable disk with `-o` (nothing was sent)"
    );
    assert!(text(Problem::Full).contains("the disk is full"));
    let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
    assert!(matches!(
        OpenError::write(path, full).problem,
        Problem::Full
    ));
}

/// An empty file (a run killed before its start record) is taken over, unless another
/// process holds it; the default path never takes an existing file.
#[test]
fn empty_files_are_reused() {
    let dir = Dir::new("reuse");
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let mut log = RunLog::create(&empty).unwrap();
    let (problem, text) = refused(&empty);
    assert!(matches!(problem, Problem::InUse), "{text}");
    log.write("stop", &serde_json::json!({})).unwrap();
    drop(log);
    let (problem, _) = refused(&empty);
    assert!(matches!(problem, Problem::NotEmpty));
}

/// Default paths are `runs/NAME-STAMP.jsonl`, then `-2`, `-3`... when taken, even by an
/// empty file (a default path never takes over a file).
#[test]
fn default_paths_number_on() {
    let dir = Dir::new("default");
    let runs = dir.join("runs");
    let file = default_file_name("x", SystemTime::UNIX_EPOCH);
    assert_eq!(file, "x-19700101-000000.jsonl");
    let first = create_numbered(&runs, &file).unwrap();
    assert_eq!(first.path(), runs.join(&file));
    drop(first);
    let second = create_numbered(&runs, &file).unwrap();
    assert_eq!(second.path(), runs.join("x-19700101-000000-2.jsonl"));
    let third = create_numbered(&runs, &file).unwrap();
    assert_eq!(third.path(), runs.join("x-19700101-000000-3.jsonl"));
}

/// A log deleted, moved, replaced or truncated under its writer is noticed; a whole one
/// is not; writes after a truncation land at the new end (no hole), still noticed.
#[test]
fn lost_logs_are_noticed() {
    let dir = Dir::new("lost");
    let path = dir.join("run.jsonl");
    let lost = |log: &RunLog| log.check_intact().unwrap().map(|l: LostLog| l.lost);
    let fresh = |path: &Path| {
        let _ = std::fs::remove_file(path);
        let mut log = RunLog::create(path).unwrap();
        log.write("start", &serde_json::json!({"n": 1})).unwrap();
        log
    };

    let mut log = fresh(&path);
    assert_eq!(lost(&log), None);
    assert_eq!(log.checkpoint().unwrap().run().unwrap(), None);

    std::fs::remove_file(&path).unwrap();
    assert_eq!(lost(&log), Some(Lost::Deleted));
    let text = log.check_intact().unwrap().unwrap().to_string();
    assert!(
        text.contains("was deleted while the run was writing it"),
        "{text}"
    );

    let log = fresh(&path);
    std::fs::rename(&path, dir.join("moved.jsonl")).unwrap();
    assert_eq!(lost(&log), Some(Lost::Moved));
    std::fs::write(&path, "another").unwrap();
    assert_eq!(lost(&log), Some(Lost::Replaced));

    let mut log = fresh(&path);
    let written = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    log.write("point", &serde_json::json!({"n": 2})).unwrap();
    let now = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        now, "{\"type\":\"point\",\"n\":2}\n",
        "appended at the new end"
    );
    let len = now.len() as u64;
    assert_eq!(
        log.checkpoint().unwrap().run().unwrap().map(|l| l.lost),
        Some(Lost::Truncated {
            len,
            written: written + len
        })
    );
}
