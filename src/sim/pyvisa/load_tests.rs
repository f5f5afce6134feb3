//! Invalid device files: each problem points at `file:line:col` with a useful message, and
//! several problems are reported together.

use std::fmt::Write as _;

use super::{DeviceError, DeviceFile};

/// The rendered report of `text` (named `test.yaml`), which must be refused.
fn refused(text: &str) -> String {
    match DeviceFile::parse(text, "test.yaml", None) {
        Err(DeviceError::Invalid(e)) => format!("{e}\n{}", e.render()),
        Err(other) => panic!("not a file error: {other}"),
        Ok(file) => panic!("loaded device `{}`", file.name()),
    }
}

/// One device `d` with `body` (indented under it).
fn device(body: &str) -> String {
    let mut text = String::from("spec: \"1.1\"\ndevices:\n  d:\n");
    for line in body.lines() {
        text.push_str("    ");
        text.push_str(line);
        text.push('\n');
    }
    text
}

/// Checks that each bad file's first problem is at `line:col` of `test.yaml` and says
/// `message`, in the one-line and in the graphical report.
fn check(cases: &[(String, &str, &str)]) {
    for (text, at, message) in cases {
        let report = refused(text);
        let first = report.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(&format!("test.yaml:{at}: ")) && first.contains(message),
            "expected `test.yaml:{at}: ...{message}...` first in:\n{report}"
        );
        assert!(report.contains(&format!("[test.yaml:{at}]")), "{report}");
    }
}

/// The spec version, `devices:`, YAML syntax.
#[test]
fn top_level_problems() {
    check(&[
        (
            "spec: \"2.0\"\ndevices:\n  d: {}\n".into(),
            "1:7",
            "spec version `2.0` is newer than 1.1",
        ),
        (
            "spec: \"0.9\"\ndevices:\n  d: {}\n".into(),
            "1:7",
            "major version other than 1",
        ),
        (
            "spec: one\ndevices:\n  d: {}\n".into(),
            "1:7",
            "invalid `spec` version `one`",
        ),
        (
            "devices:\n  d: {}\n".into(),
            "1:1",
            "does not say its `spec` version",
        ),
        ("spec: '1.1'\n".into(), "1:1", "no `devices:`"),
        (
            "spec: '1.1'\ndevices: [a\n".into(),
            "2:10",
            "unclosed bracket",
        ),
    ]);
}

/// Dialogues, properties, specs, getters and setters.
#[test]
fn command_problems() {
    check(&[
        (
            device("dialogues:\n  - r: hello"),
            "5:9",
            "a dialogue has no `q`",
        ),
        (
            device("properties:\n  v:\n    specs: {type: double}"),
            "6:23",
            "invalid property type `double`",
        ),
        (
            device("properties:\n  v:\n    default: 1\n    specs: {type: float, min: low}"),
            "7:35",
            "`min` `low` of `v` is not a valid float",
        ),
        (
            device("properties:\n  v:\n    default: 20\n    specs: {type: float, max: 10}"),
            "6:18",
            "bad default of property `v`: `20.0` is more than the maximum `10.0`",
        ),
        (
            device("properties:\n  v:\n    setter: {q: 'V {'}"),
            "6:21",
            "bad setter pattern `V {` of property `v`",
        ),
        (
            device(
                "properties:\n  v:\n    default: 1.5\n    getter: {q: 'V?', r: '{:d}'}\n    specs: {type: float}",
            ),
            "7:30",
            "getter reply `{:d}` of `v` cannot format its default `1.5`",
        ),
        (
            device("dialogues: {q: 'A?'}"),
            "4:17",
            "`dialogues` must be a list, found a mapping",
        ),
    ]);
}

/// Our extensions: bad values, misspelt or misplaced keys.
#[test]
fn extension_problems() {
    check(&[
        (device("delay: 20 parsecs"), "4:12", "bad `delay`"),
        (
            device("jiter: 5 ms"),
            "4:5",
            "unknown key `jiter` in device `d`; did you mean `jitter`?",
        ),
        (
            device("dialogues:\n  - q: 'A?'\n    ramp: 2"),
            "6:9",
            "`ramp` has no effect in a dialogue: it goes on a property",
        ),
        (
            device("properties:\n  n:\n    default: 1\n    specs: {type: int}\n    ramp: 2"),
            "8:15",
            "`ramp` needs a float property",
        ),
        (
            device("properties:\n  n:\n    default: 1\n    specs: {type: float}\n    ramp: -1"),
            "8:15",
            "`ramp` must be a positive number",
        ),
        (
            device("max_connections: 0"),
            "4:22",
            "`max_connections` must be a whole number of at least 1",
        ),
    ]);
}

/// `error:`, `eom:` and `channels:`.
#[test]
fn error_eom_channel_problems() {
    check(&[
        (
            device("error:\n  status_register:\n    - q: '*ESR?'\n      command_error: x"),
            "7:26",
            "status register bit `command_error` must be an integer",
        ),
        (
            device("error:\n  error_queue:\n    - q: 'SYST:ERR?'"),
            "6:11",
            "an error queue has no `default`",
        ),
        (
            device("eom:\n  TCPIP:\n    q: '\\n'"),
            "5:7",
            "`eom` key `TCPIP` must be an interface and a resource class",
        ),
        (
            device("eom:\n  TCPIP SOCKET:\n    q: ' '\n    r: '\\n'"),
            "6:12",
            "termination is empty",
        ),
        (
            device("greeting: ''"),
            "4:15",
            "`greeting` is empty: leave it out",
        ),
        (
            device("channels:\n  c:\n    ids: [1]\n    can_select: False"),
            "7:21",
            "`can_select: False` but the device has no `selected_channel` property",
        ),
        (
            device("channels:\n  c:\n    ids: [1]\n    dialogues:\n      - {q: 'C{x}?', r: a}"),
            "8:17",
            "channel query `C{x}?` cannot take a channel id",
        ),
    ]);
}

/// Several problems are reported at once, in file order.
#[test]
fn several_problems_at_once() {
    let text = device(
        "jiter: 5 ms\ndelay: soon\ndialogues:\n  - r: hello\nproperties:\n  v:\n    specs: {type: double}",
    );
    let report = refused(&text);
    assert!(report.contains("(and 3 more problems)"), "{report}");
    assert!(report.contains("4 problems in `test.yaml`"), "{report}");
    let order = [
        "4:5: unknown key",
        "5:12: bad `delay`",
        "7:9: a dialogue",
        "10:23: invalid",
    ]
    .map(|m| report.find(&format!("x test.yaml:{m}")));
    assert!(order.iter().all(Option::is_some), "{report}");
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{report}");
}

/// Keys pyvisa-sim does not know are ignored (with a warning), so files written for
/// other tools still load.
#[test]
fn unknown_keys_load() {
    let text = device("vendor: acme\ndialogues:\n  - {q: 'A?', r: a, comment: first}");
    assert!(DeviceFile::parse(&text, "test.yaml", None).is_ok());
}

/// A channel group whose ids times queries passes the expansion limit is refused at its
/// `ids:`, before anything is expanded (pyvisa-sim would build every entry).
#[test]
fn channel_expansion_is_bounded() {
    let ids: Vec<String> = (0..400).map(|i| i.to_string()).collect();
    let mut body = format!(
        "channels:\n  c:\n    ids: [{}]\n    properties:\n",
        ids.join(", ")
    );
    for i in 0..300 {
        let _ = writeln!(
            body,
            "      p{i}: {{getter: {{q: 'P{i}:{{ch_id}}?', r: '{{}}'}}}}"
        );
    }
    let report = refused(&device(&body));
    assert!(
        report.starts_with(
            "test.yaml:6:15: channel group `c` has 400 ids and 300 dialogues and properties"
        ) && report
            .contains("makes 120000 channel queries in the device, over the limit of 100000"),
        "{report}"
    );
}

/// Thousands of bad properties are refused quickly: the first 50 are shown, the rest
/// counted.
#[test]
fn many_problems_are_capped() {
    let body: String = std::iter::once("properties:\n".to_owned())
        .chain((0..5000).map(|i| format!("  p{i}: {{default: x, specs: {{type: int}}}}\n")))
        .collect();
    let report = refused(&device(&body));
    assert!(report.contains("(and 4999 more problems)"), "{report}");
    assert!(
        report.contains("... and 4950 more problems, not shown"),
        "{report}"
    );
    assert!(report.contains("5000 problems in `test.yaml`"), "{report}");
    assert_eq!(report.matches("x test.yaml:").count(), 50, "{report}");
}
