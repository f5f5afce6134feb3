//! Differential tests against pyvisa-sim: given the same device file and the same commands,
//! `sequencer sim --device` must answer byte for byte like pyvisa-sim.
//!
//! `tests/pyvisa/differential.py` does the comparing: pyvisa-sim in its own process, our
//! simulator over TCP through pyvisa-py's `TCPIP::127.0.0.1::PORT::SOCKET` resource. Each
//! `tests/devices/*.commands` file names its device file (`#! device:`, possibly
//! `pyvisa-sim:PATH` inside the installed package) and one or more devices (`#! name:`);
//! each test here starts one simulator per device and runs the script against it.
//!
//! Two more tests keep the comparison honest: it reports every kind of difference
//! (`differences_are_reported`) and finds none between pyvisa-sim and itself served over
//! TCP (`pyvisa_sim_over_tcp_matches_itself`).
//!
//! The Python side lives in a venv under the cargo target dir ([`crate::pyvisa_venv`]).
//! Without python3, or when the packages cannot be installed, the tests pass after printing
//! `skipped: <reason>` to stderr (uncaptured, so it shows).
//!
//! By hand, with a simulator already listening on PORT:
//! `target/tmp/pyvisa-venv-*/bin/python tests/pyvisa/differential.py --commands
//! tests/devices/errors.commands --name full --server 127.0.0.1:PORT --transcript`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::pyvisa_venv::python;
use crate::support::{Running, Scratch, Serving};

/// Every commands file in `tests/devices`, each run by one test below.
const COMMANDS_FILES: [&str; 13] = [
    "basics.commands",
    "bundled.channels.commands",
    "bundled.default.commands",
    "bundled.default5.commands",
    "channels.inline.commands",
    "channels.select.commands",
    "eom.commands",
    "errors.commands",
    "formats.commands",
    "lakeshore.commands",
    "properties.commands",
    "quirks.commands",
    "quirks.pipe.commands",
];

/// The installed `pyvisa_sim` package folder, for `pyvisa-sim:` device paths.
static PACKAGE: OnceLock<PathBuf> = OnceLock::new();

fn devices_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/devices")
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pyvisa/differential.py")
}

/// The installed `pyvisa_sim` folder, asked of the script once.
fn package(python: &Path) -> &'static Path {
    PACKAGE.get_or_init(|| {
        let out = Running::start(
            Command::new(python),
            &devices_dir(),
            [script().as_os_str(), "--where".as_ref()],
        )
        .wait();
        assert!(
            out.status.success(),
            "differential.py --where failed\n{out}"
        );
        PathBuf::from(out.stdout.trim_end())
    })
}

/// The `#! key: value` headers of a commands file, in order.
fn headers(path: &Path, key: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter_map(|line| line.strip_prefix("#!"))
        .filter_map(|header| header.split_once(':'))
        .filter(|(k, _)| k.trim() == key)
        .map(|(_, value)| value.trim().to_owned())
        .collect()
}

/// Runs the commands file against `sequencer sim` and pyvisa-sim, once per device it
/// names, and fails with the script's report if any reply differs.
fn differential(commands: &str) {
    let Some(python) = python() else { return };
    let dir = devices_dir();
    let path = dir.join(commands);
    let device = match headers(&path, "device").as_slice() {
        [device] => match device.strip_prefix("pyvisa-sim:") {
            Some(inside) => package(python).join(inside),
            None => dir.join(device),
        },
        other => panic!("{commands}: needs one `#! device:` header, has {other:?}"),
    };
    let names = headers(&path, "name");
    assert!(!names.is_empty(), "{commands}: no `#! name:` header");
    let mut failures = Vec::new();
    for name in &names {
        let server = Serving::spawn(
            &dir,
            [
                "sim".as_ref(),
                "--device".as_ref(),
                device.as_os_str(),
                "--name".as_ref(),
                name.as_ref(),
                "--listen".as_ref(),
                "127.0.0.1:0".as_ref(),
            ],
        );
        let addr = server.addr().to_string();
        let out = Running::start(
            Command::new(python),
            &dir,
            [
                "-u".as_ref(),
                script().as_os_str(),
                "--commands".as_ref(),
                path.as_os_str(),
                "--name".as_ref(),
                name.as_ref(),
                "--server".as_ref(),
                addr.as_ref(),
            ],
        )
        .wait();
        if !out.status.success() {
            failures.push(format!(
                "=== device `{name}` ===\n{out}--- sim stderr ---\n{}",
                server.stderr_so_far()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{commands}: `sequencer sim` does not answer like pyvisa-sim (exit 1: replies differ, \
         2: the comparison could not run)\n{}",
        failures.join("\n")
    );
}

/// Dialogues: replies with and without `r`, empty, padded, escaped and RANDOM replies,
/// unmatched and `;` compound messages, empty messages, messages split over writes.
#[test]
fn dialogues_answer_like_pyvisa_sim() {
    differential("basics.commands");
}

/// Properties: defaults, getters, setters with and without `r` and `e`, specs (min, max,
/// valid; int, float, str) at and beyond their limits, values setter patterns refuse.
#[test]
fn properties_answer_like_pyvisa_sim() {
    differential("properties.commands");
}

/// Getter format specs on floats (0.125 with `.2f`, 1e-5, 1e22, -0.0, inf, nan, ...), ints
/// and strings.
#[test]
fn formats_answer_like_pyvisa_sim() {
    differential("formats.commands");
}

/// Channels selected by the device's `selected_channel` (`can_select: False`).
#[test]
fn preselected_channels_answer_like_pyvisa_sim() {
    differential("channels.select.commands");
}

/// Channels named inside the command (`can_select: True`), CR LF in, LF out.
#[test]
fn inline_channels_answer_like_pyvisa_sim() {
    differential("channels.inline.commands");
}

/// A CR LF device with eoms for GPIB and serial only (no `TCPIP SOCKET`), driven over TCP
/// with CR LF, answers as pyvisa-sim does serving it over GPIB, where `QCoDeS` uses such
/// files (the commands file's `oracle`).
#[test]
fn crlf_device_without_socket_eom_answers_like_pyvisa_sim_over_gpib() {
    differential("lakeshore.commands");
}

/// Every form of `error`: string, response, status registers, error queues, none.
#[test]
fn errors_answer_like_pyvisa_sim() {
    differential("errors.commands");
}

/// Query and response terminations: LF, CR LF, CR, mixed, escaped, and the LF default.
#[test]
fn terminations_answer_like_pyvisa_sim() {
    differential("eom.commands");
}

/// Corners of pyvisa-sim's matching order, setter fall-through, escapes and channels.
#[test]
fn quirks_answer_like_pyvisa_sim() {
    differential("quirks.commands");
}

/// A device whose `delimiter` is not `;`.
#[test]
fn custom_delimiter_answers_like_pyvisa_sim() {
    differential("quirks.pipe.commands");
}

/// pyvisa-sim's bundled default.yaml, devices 1 to 4.
#[test]
fn bundled_default_devices_answer_like_pyvisa_sim() {
    differential("bundled.default.commands");
}

/// pyvisa-sim's bundled default.yaml, device 5 (RANDOM replies, compared by shape).
#[test]
fn bundled_random_device_answers_like_pyvisa_sim() {
    differential("bundled.default5.commands");
}

/// pyvisa-sim's testsuite fixture channels.yaml, both devices.
#[test]
fn bundled_channel_fixture_answers_like_pyvisa_sim() {
    differential("bundled.channels.commands");
}

/// Every commands file in `tests/devices` is run by a test above, and no test names a
/// file that is not there.
#[test]
fn every_commands_file_is_run() {
    let mut found: Vec<String> = std::fs::read_dir(devices_dir())
        .expect("cannot list tests/devices")
        .map(|entry| entry.expect("cannot list tests/devices").file_name())
        .map(|name| name.to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".commands"))
        .collect();
    found.sort();
    assert_eq!(found, COMMANDS_FILES);
}

/// The comparison can fail: a different reply, a reply where pyvisa-sim stays silent and
/// silence where it replies each make the script exit 1, naming the command and both sides.
#[test]
fn differences_are_reported() {
    let Some(python) = python() else { return };
    let scratch = Scratch::new();
    let device = |name: &str, diff: &str, quiet: &str, loud: &str| {
        format!(
            "  {name}:\n    eom:\n      TCPIP SOCKET:\n        q: \"\\n\"\n        r: \"\\n\"\n    \
             dialogues:\n      - q: \"SAME?\"\n        r: same\n      - q: \"DIFF?\"\n        \
             r: {diff}\n      - q: \"QUIET\"\n{quiet}      - q: \"LOUD?\"\n{loud}"
        )
    };
    let yaml = format!(
        "spec: \"1.0\"\ndevices:\n{}{}",
        device("a", "from-a", "", "        r: loud\n"),
        device("b", "from-b", "        r: noise\n", ""),
    );
    let yaml = scratch.write("two.yaml", &yaml);
    let commands = scratch.write(
        "two.commands",
        "#! device: two.yaml\n#! name: a\nSAME?\nDIFF?\nQUIET\nLOUD?\nSAME?\n",
    );
    let server = Serving::spawn(
        &scratch.join(""),
        [
            "sim".as_ref(),
            "--device".as_ref(),
            yaml.as_os_str(),
            "--name".as_ref(),
            "b".as_ref(),
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
        ],
    );
    let addr = server.addr().to_string();
    let out = Running::start(
        Command::new(python),
        &scratch.join(""),
        [
            "-u".as_ref(),
            script().as_os_str(),
            "--commands".as_ref(),
            commands.as_os_str(),
            "--server".as_ref(),
            addr.as_ref(),
        ],
    )
    .wait();
    assert_eq!(out.code(), 1, "{out}");
    for expected in [
        "3 of 5 commands differ",
        "two.commands:4: 'DIFF?'",
        r"expected: 'from-a\n'",
        r"got:      'from-b\n'",
        "two.commands:5: 'QUIET'",
        r"got:      'noise\n'",
        "two.commands:6: 'LOUD?'",
        r"expected: 'loud\n'",
        "got:      (no reply)",
    ] {
        assert!(out.stdout.contains(expected), "no `{expected}` in\n{out}");
    }
    assert!(!out.stdout.contains("two.commands:3:"), "{out}");
}

/// The comparison finds nothing where there is nothing to find: pyvisa-sim itself, served
/// over TCP by the script's reference server, passes a commands file full of compound,
/// empty, split and unmatched messages.
#[test]
fn pyvisa_sim_over_tcp_matches_itself() {
    let Some(python) = python() else { return };
    let dir = devices_dir();
    let commands = dir.join("basics.commands");
    let reference = Serving::start(
        Command::new(python),
        &dir,
        [
            "-u".as_ref(),
            script().as_os_str(),
            "--serve-reference".as_ref(),
            "--commands".as_ref(),
            commands.as_os_str(),
            "--listen".as_ref(),
            "127.0.0.1:0".as_ref(),
        ],
    );
    let addr = reference.addr().to_string();
    let out = Running::start(
        Command::new(python),
        &dir,
        [
            "-u".as_ref(),
            script().as_os_str(),
            "--commands".as_ref(),
            commands.as_os_str(),
            "--server".as_ref(),
            addr.as_ref(),
        ],
    )
    .wait();
    assert_eq!(out.code(), 0, "{out}");
    assert!(out.stdout.contains("all equal"), "{out}");
}
