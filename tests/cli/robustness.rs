//! Bad input never panics: property tests throw random and mutated text at the YAML loader
//! (in process), and pathological files (alias bombs, deep nesting, a 50 MB file, binary
//! garbage, an endless device) go through the real binary, which must refuse each with a
//! short, clear message and exit 2, under a memory limit when `prlimit` is installed.
//!
//! Nothing here measures time: every run is killed after [`GUARD`](crate::support::GUARD), which only keeps a
//! hang from stalling the suite.

use std::ffi::OsStr;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use sequencer::sequence;

use crate::support::{Output, Running, Scratch};

/// The example sequences: valid files to mutate.
const EXAMPLES: &[&str] = &[
    include_str!("../../sequences/sweep.yaml"),
    include_str!("../../sequences/multistep.yaml"),
    include_str!("../../sequences/poll.yaml"),
    include_str!("../../sequences/zip.yaml"),
];

/// Address-space limit for the pathological runs. A normal `run --sim` fits in half of
/// it; before the parsing budgets and the file-size limit, a 50 MB file needed more.
const MEMORY: u64 = 128 << 20;

/// Proptest settings: modest case counts (the module runs in seconds in a debug build) and
/// no regression files written into the source tree.
fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Parses `text` as `p.yaml`: it must not panic, and a failure must be a sequence error
/// that names the file with a line and renders to a non-empty report.
fn parses_or_explains(text: &str) -> Result<(), TestCaseError> {
    match sequence::parse(text, Path::new("p.yaml")) {
        Ok(_) => Ok(()),
        // The type says it is a sequence error (`yaml::InvalidFile`), never another kind.
        Err(e) => {
            let message = e.to_string();
            prop_assert!(message.starts_with("p.yaml:"), "message: {message}");
            let report = e.render();
            prop_assert!(report.contains("p.yaml:"), "report: {report}");
            prop_assert!(e.problems().all(|p| !p.message.trim().is_empty()));
            Ok(())
        }
    }
}

/// One edit of a file's lines.
#[derive(Debug, Clone)]
enum Edit {
    /// Remove line `i`.
    Delete(usize),
    /// Repeat line `i` after itself.
    Duplicate(usize),
    /// Exchange lines `i` and `j`.
    Swap(usize, usize),
    /// Insert `c` into line `i` at char position `at`.
    Insert(usize, usize, char),
}

/// Characters that mean something to YAML, the templates or the terminal, and any other.
fn yaml_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => prop::sample::select(
            &[
                ':', '-', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '#', '%', '@',
                '`', ',', '?', ' ', '\t', '\n', '\r', '\0', '\u{1b}', '\u{feff}', '\\',
            ][..]
        ),
        1 => any::<char>(),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    let i = 0..64usize;
    prop_oneof![
        i.clone().prop_map(Edit::Delete),
        i.clone().prop_map(Edit::Duplicate),
        (i.clone(), i.clone()).prop_map(|(a, b)| Edit::Swap(a, b)),
        (i, 0..80usize, yaml_char()).prop_map(|(l, at, c)| Edit::Insert(l, at, c)),
    ]
}

/// `text` with the edits applied in order (line indexes wrap around).
fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for e in edits {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match *e {
            Edit::Delete(i) => {
                lines.remove(i % n);
            }
            Edit::Duplicate(i) => lines.insert(i % n, lines[i % n].clone()),
            Edit::Swap(i, j) => lines.swap(i % n, j % n),
            Edit::Insert(i, at, c) => {
                let line = &mut lines[i % n];
                let at = line.char_indices().nth(at).map_or(line.len(), |(b, _)| b);
                line.insert(at, c);
            }
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(config(200))]

    /// Arbitrary Unicode text is either a sequence or a located error; never a panic.
    #[test]
    fn any_text_is_parsed_or_explained(text in any::<String>()) {
        parses_or_explains(&text)?;
    }

    /// Arbitrary bytes, made text the way a lossy reader would, likewise.
    #[test]
    fn any_bytes_are_parsed_or_explained(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        parses_or_explains(&String::from_utf8_lossy(&bytes))?;
    }

    /// Text made of YAML's own punctuation (anchors, aliases, flow brackets, tags, block
    /// scalars) reaches deeper into the parser than random text does.
    #[test]
    fn yaml_punctuation_is_parsed_or_explained(
        chars in prop::collection::vec(
            prop_oneof![3 => yaml_char(), 2 => prop::char::range('a', 'e')],
            0..300,
        )
    ) {
        parses_or_explains(&chars.into_iter().collect::<String>())?;
    }
}

proptest! {
    #![proptest_config(config(300))]

    /// The examples with lines deleted, duplicated, swapped or given a stray character are
    /// still either valid or refused with a located error.
    #[test]
    fn mutated_examples_are_parsed_or_explained(
        which in 0..EXAMPLES.len(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        parses_or_explains(&mutate(EXAMPLES[which], &edits))?;
    }
}

/// The mutation seeds are valid, so mutations start from the real grammar.
#[test]
fn examples_parse() {
    for text in EXAMPLES {
        if let Err(e) = sequence::parse(text, Path::new("p.yaml")) {
            panic!("an example does not parse: {e}");
        }
    }
}

/// `prlimit` from util-linux, if it can run here.
fn prlimit() -> Option<&'static str> {
    static FOUND: OnceLock<bool> = OnceLock::new();
    let found = *FOUND.get_or_init(|| {
        Command::new("prlimit")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    found.then_some("prlimit")
}

/// Runs the real binary with `args` in `dir`, limited to [`MEMORY`] of address space when
/// `prlimit` is installed (an allocation past it aborts the process, which then fails the
/// exit-code check), and killed after [`GUARD`](crate::support::GUARD).
fn bounded(dir: &Path, args: &[&OsStr]) -> Output {
    let bin = env!("CARGO_BIN_EXE_sequencer");
    let cmd = match prlimit() {
        Some(prlimit) => {
            let mut c = Command::new(prlimit);
            c.arg(format!("--as={MEMORY}")).arg("--").arg(bin);
            c
        }
        None => Command::new(bin),
    };
    Running::start(cmd, dir, args).wait()
}

/// Checks that `check` and `run --sim` both refuse `file` (a path in `dir`): exit 2, a
/// short stderr naming the file with every phrase, no panic, and no run log.
fn refused(dir: &Scratch, file: &str, phrases: &[&str]) {
    let log = dir.join("never.jsonl");
    let path = dir.join(file);
    let check = [OsStr::new("check"), path.as_os_str()];
    let run = [
        OsStr::new("run"),
        path.as_os_str(),
        OsStr::new("--sim"),
        OsStr::new("-o"),
        log.as_os_str(),
    ];
    for args in [&check[..], &run[..]] {
        let out = bounded(dir.join("").as_path(), args);
        let what = format!("{file} (`{}`)\n{out}", args[0].display());
        assert_eq!(out.code(), 2, "{what}");
        assert!(!out.stderr.contains("panicked"), "{what}");
        assert!(!out.stderr.contains("backtrace"), "{what}");
        assert!(out.stderr.len() < 8 << 10, "stderr is not short: {what}");
        let flat = out.stderr_flat();
        assert!(flat.contains(file), "stderr does not name the file: {what}");
        for phrase in phrases {
            assert!(flat.contains(phrase), "no `{phrase}`: {what}");
        }
        assert!(!log.exists(), "a run log was written: {what}");
    }
}

/// Nested anchors, `levels` deep, each holding `refs` aliases of the one before: the
/// classic billion laughs (9 x 9 expands to 9^9 strings), under `metadata:`, which takes
/// any YAML.
fn laughs(levels: usize, refs: usize) -> String {
    let anchors = (1..=levels)
        .map(|i| {
            let aliases = vec![format!("*a{}", i - 1); refs].join(", ");
            format!("  a{i}: &a{i} [{aliases}]\n")
        })
        .collect::<Vec<_>>()
        .concat();
    format!("name: lol\nmetadata:\n  a0: &a0 [\"lol\"]\n{anchors}")
        + "instrument: {max_connections: 1}\nsteps:\n  - name: s\n    commands: [\"A\"]\n"
}

/// Deterministic bytes that are not UTF-8 (a simple LCG; the values do not matter).
fn garbage(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x2545_f491;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8 | 0x80
        })
        .collect()
}

/// A pathological file and the phrases its refusal must contain.
struct Case {
    file: &'static str,
    bytes: fn() -> Vec<u8>,
    phrases: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        file: "laughs.yaml",
        bytes: || laughs(9, 9).into_bytes(),
        phrases: &["alias bomb"],
    },
    Case {
        file: "deep_flow.yaml",
        bytes: || format!("{}{}\n", "[".repeat(10_000), "]".repeat(10_000)).into_bytes(),
        phrases: &["nested more than", "levels deep"],
    },
    Case {
        file: "deep_block.yaml",
        bytes: || {
            let levels = (2..202).map(|i| format!("{}- \n", " ".repeat(i)));
            let levels = levels.collect::<Vec<_>>().concat();
            format!("name: deep\nmetadata:\n{levels}").into_bytes()
        },
        phrases: &["nested more than", "levels deep"],
    },
    Case {
        file: "many_values.yaml",
        bytes: || format!("name: many\nmetadata: [{}]\n", "1,".repeat(400_000)).into_bytes(),
        phrases: &["too large for a sequence"],
    },
    Case {
        file: "binary.yaml",
        bytes: || garbage(4096),
        phrases: &["not UTF-8"],
    },
    Case {
        file: "empty.yaml",
        bytes: Vec::new,
        phrases: &["no `steps`"],
    },
    Case {
        file: "dashes.yaml",
        bytes: || b"---\n".to_vec(),
        phrases: &["expected a mapping"],
    },
    Case {
        file: "two_docs.yaml",
        bytes: || b"name: a\n---\nname: b\n".to_vec(),
        phrases: &["second YAML document"],
    },
    Case {
        file: "nul.yaml",
        bytes: || b"name: a\0b\ninstrument: {max_connections: 1}\nsteps: []\n".to_vec(),
        phrases: &["unexpected character"],
    },
    Case {
        // miette cannot pad past column 65,535: a snippet there used to panic.
        file: "far_column.yaml",
        bytes: || format!("name: \"{}\0\"\n", "a".repeat(70_000)).into_bytes(),
        phrases: &["far_column.yaml:1:70008:", "unexpected character"],
    },
    Case {
        file: "long_line.yaml",
        bytes: || {
            let long = "x".repeat(600_000);
            format!("name: x\nmetadata: \"{long}\"\nsteps: 5\n").into_bytes()
        },
        phrases: &["long_line.yaml:3:"],
    },
];

/// Every pathological file is refused by `check` and by `run --sim` with exit 2 and a
/// short message that says what is wrong.
#[test]
fn pathological_files_are_refused() {
    let dir = Scratch::new();
    for case in CASES {
        std::fs::write(dir.join(case.file), (case.bytes)()).expect("cannot write a case");
        refused(&dir, case.file, case.phrases);
    }
}

/// A 50 MB file is refused by its size, before it is parsed.
#[test]
fn huge_file_is_refused() {
    let dir = Scratch::new();
    let line = "      - \"SOUR1:VOLT 1.0000000000\"\n";
    let mut text = String::from("name: huge\nsteps:\n  - name: s\n    commands:\n");
    text.push_str(&line.repeat((50 << 20) / line.len()));
    std::fs::write(dir.join("huge.yaml"), text).expect("cannot write the huge file");
    refused(&dir, "huge.yaml", &["larger than 1 MiB"]);
}

/// An endless input (a character device) is read only up to the size limit.
#[test]
fn endless_input_is_refused() {
    let zero = Path::new("/dev/zero");
    if !zero.exists() {
        return;
    }
    let dir = Scratch::new();
    let out = bounded(
        dir.join("").as_path(),
        &[OsStr::new("check"), zero.as_os_str()],
    );
    assert_eq!(out.code(), 2, "{out}");
    assert!(out.stderr_flat().contains("larger than 1 MiB"), "{out}");
}
