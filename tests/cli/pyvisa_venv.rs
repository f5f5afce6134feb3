//! The Python side of the pyvisa tests ([`crate::pyvisa_sim`], [`crate::pyvisa_clients`]):
//! a venv under the cargo target dir with pyvisa, pyvisa-py and pyvisa-sim at pinned
//! versions, made at most once per test process, keyed by the versions and reused when
//! present. Without python3, or when the packages cannot be installed, [`python`] prints
//! `skipped: <reason>` to stderr (uncaptured, so it shows) and the test passes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The Python packages the scripts need, pinned so both sides are the same on every machine.
const PINS: [&str; 3] = ["pyvisa==1.16.2", "pyvisa-py==0.8.1", "pyvisa-sim==0.7.1"];

/// The venv's python, made at most once per test process, or why there is none.
static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The venv's python, or `None` after printing why the test is skipped.
pub fn python() -> Option<&'static Path> {
    match PYTHON.get_or_init(make_venv) {
        Ok(python) => Some(python),
        Err(reason) => {
            // Straight to the process's stderr: libtest captures `eprintln!` of passing tests.
            let _ = writeln!(std::io::stderr(), "skipped: {reason}");
            None
        }
    }
}

/// Creates (or reuses) `<target>/tmp/pyvisa-venv-<versions>` with [`PINS`] installed.
fn make_venv() -> Result<PathBuf, String> {
    let versions: Vec<&str> = PINS
        .iter()
        .map(|pin| pin.split("==").nth(1).unwrap_or(pin))
        .collect();
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("pyvisa-venv-{}", versions.join("-")));
    let python = dir.join("bin/python");
    // Written last: a venv without it is a half-made one from an interrupted run.
    let marker = dir.join("pins.txt");
    let wanted = PINS.join("\n");
    if std::fs::read_to_string(&marker).is_ok_and(|pins| pins == wanted) && imports(&python) {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&dir);
    run(
        Command::new("python3").arg("-m").arg("venv").arg(&dir),
        "python3 -m venv",
    )?;
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--disable-pip-version-check"])
            .args(["--no-input", "--quiet", "--retries", "2", "--timeout", "20"])
            .args(PINS),
        "pip install",
    )?;
    if !imports(&python) {
        return Err("pyvisa, pyvisa-py or pyvisa-sim do not import after installing".into());
    }
    std::fs::write(&marker, wanted)
        .map_err(|e| format!("cannot write {}: {e}", marker.display()))?;
    Ok(python)
}

/// True if `python` runs and imports the three packages.
fn imports(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import pyvisa, pyvisa_py, pyvisa_sim"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Runs `cmd` to its end; an error names `what` and ends with the tail of its stderr.
fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!(
        "{what} failed ({}): {}",
        out.status,
        tail.join(" | ")
    ))
}
