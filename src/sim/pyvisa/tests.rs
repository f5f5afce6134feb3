//! Behaviour of device files: conversations checked against what pyvisa-sim answers for
//! the same file (the expected replies were taken from pyvisa-sim 0.6's `Device.write`),
//! and our extensions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{DeviceError, DeviceFile};
use crate::sim::model::Counters;
use crate::sim::model::{Blueprint, Model};

/// Dialogues, properties, string `error:`, a second device with a delimiter.
const BASIC: &str = include_str!("testdata/basic.yaml");
/// Mapping `error:` with registers and queues; a device without a command error reply.
const ERRORS: &str = include_str!("testdata/errors.yaml");
/// Channel groups in both selection modes.
const CHANNELS: &str = include_str!("testdata/channels.yaml");
/// Our extensions.
const EXTENSIONS: &str = include_str!("testdata/extensions.yaml");

/// Loads device `name` of `text`, panicking with the rendered problems.
pub(super) fn load(text: &str, name: Option<&str>) -> DeviceFile {
    match DeviceFile::parse(text, "test.yaml", name) {
        Ok(file) => file,
        Err(DeviceError::Invalid(e)) => panic!("{}", e.render()),
        Err(e) => panic!("{e}"),
    }
}

/// A fresh model of device `name` of `text`.
fn build(text: &str, name: &str) -> Box<dyn Model> {
    load(text, Some(name)).build(Arc::new(Counters::default()))
}

/// Sends each message of `script` at one instant and checks its replies.
fn converse(text: &str, name: &str, script: &[(&str, &[&str])]) {
    let mut model = build(text, name);
    let now = Instant::now();
    for (message, want) in script {
        let got = model.handle(1, message, now).replies;
        assert_eq!(got, *want, "{name}: replies to `{message}`");
    }
}

/// Dialogues answer exactly their query (spaces of `q`/`r` stripped, nothing trimmed from
/// the message), `\n` escapes become newlines, replies are not formatted, and a dialogue
/// without `r` answers nothing.
#[test]
fn dialogues() {
    converse(
        BASIC,
        "gen",
        &[
            ("*IDN?", &["ACME,GEN,1,0.1"]),
            ("*RST", &[]),
            ("ECHO?", &["a\nb"]),
            ("PAD?", &["padded"]),
            (" PAD?", &["ERROR"]),
            ("*idn?", &["ERROR"]),
            ("BRACES?", &["{not a format}"]),
            ("EMPTY?", &[""]),
        ],
    );
}

/// Properties with specs: a set within range answers `r` (or nothing) and changes the
/// getter; out of range answers `e`, or without `e` the command error; the value stays.
#[test]
fn properties_with_specs() {
    converse(
        BASIC,
        "gen",
        &[
            ("FREQ?", &["100.00"]),
            ("FREQ 250.5", &["OK"]),
            ("FREQ?", &["250.50"]),
            ("FREQ 0.5", &["FREQ_ERROR"]),
            ("FREQ?", &["250.50"]),
            ("FREQ abc", &["ERROR"]),
            ("AMP 20", &["ERROR"]),
            ("AMP?", &["1.00"]),
            ("AMP 2.5", &["OK"]),
            ("AMP?", &["2.50"]),
            ("OUTP 1", &[]),
            ("OUTP?", &["1"]),
            ("OUTP 2", &["ERROR"]),
            ("OUTP?", &["1"]),
            ("MODE AC", &["OK"]),
            ("MODE?", &["AC"]),
            ("MODE XX", &["ERROR"]),
            ("MODE?", &["AC"]),
            ("COUNT?", &["005"]),
            ("COUNT 7", &["OK"]),
            ("COUNT?", &["007"]),
            ("COUNT -1", &["ERROR"]),
        ],
    );
}

/// Without specs a value is stored as it comes; getter replies keep `\n` escapes as
/// written (pyvisa-sim does not unescape them).
#[test]
fn properties_without_specs() {
    converse(
        BASIC,
        "gen",
        &[
            ("LABEL?", &["<hello>\\n"]),
            ("LABEL world", &[]),
            ("LABEL?", &["<world>\\n"]),
        ],
    );
}

/// Each part of a message gets its own reply; an unmatched part the command error.
#[test]
fn several_commands_per_message() {
    converse(
        BASIC,
        "gen",
        &[
            ("*IDN?;OUTP?", &["ACME,GEN,1,0.1", "0"]),
            ("BOGUS", &["ERROR"]),
            ("", &["ERROR"]),
            ("OUTP 1;BOGUS;*RST;OUTP?", &["ERROR", "1"]),
        ],
    );
}

/// `delimiter:` replaces `;`; an empty part is unmatched (and this device has no error
/// reply, so it answers nothing).
#[test]
fn delimiter() {
    converse(
        BASIC,
        "pipe",
        &[
            ("A?&&B?", &["1", "2"]),
            ("A?;B?", &["both"]),
            ("A?&&&&B?", &["1", "2"]),
        ],
    );
}

/// Mapping `error:`: the command error reply, status registers set by errors and cleared
/// when read, the error queue popped down to its default. Like pyvisa-sim, an error name
/// in two registers sets only the last one.
#[test]
fn error_registers_and_queues() {
    converse(
        ERRORS,
        "psu",
        &[
            ("*ESR?", &["0"]),
            ("SYST:ERR?", &["0,\"No error\""]),
            ("BAD", &["INVALID"]),
            ("*ESR?", &["0"]),
            ("STAT:OPER?", &["1"]),
            ("STAT:OPER?", &["0"]),
            ("BAD;BAD", &["INVALID", "INVALID"]),
            ("SYST:ERR?", &["-100,\"Command error\""]),
            ("SYST:ERR?", &["-100,\"Command error\""]),
            ("SYST:ERR?", &["-100,\"Command error\""]),
            ("SYST:ERR?", &["0,\"No error\""]),
            ("VOLT?", &["+1.00000000E+00"]),
            ("VOLT 9.000", &["INVALID"]),
            ("VOLT?", &["+1.00000000E+00"]),
            ("VOLT 2.500", &[]),
            ("VOLT?", &["+2.50000000E+00"]),
        ],
    );
    // Without a `command_error` reply an unmatched command answers nothing, but still
    // sets its register bit.
    converse(
        ERRORS,
        "quiet",
        &[("BAD", &[]), ("*ESR?", &["32"]), ("*ESR?", &["0"])],
    );
}

/// `RANDOM(min, max, n)`: n values in range, formatted, joined by `", "`.
#[test]
fn random_replies() {
    let mut model = build(BASIC, "gen");
    for _ in 0..20 {
        let replies = model.handle(1, "NOISE?", Instant::now()).replies;
        let values: Vec<&str> = replies[0].split(", ").collect();
        assert_eq!(values.len(), 3, "{replies:?}");
        for v in values {
            assert_eq!(v.split('.').nth(1).map(str::len), Some(3), "{v}");
            let v: f64 = v.parse().unwrap();
            assert!((1.0..=2.0).contains(&v), "{v}");
        }
    }
    // With `seed:`, two simulators answer the same numbers.
    let a = build(EXTENSIONS, "noisy").handle(1, "RAND?", Instant::now());
    let b = build(EXTENSIONS, "noisy").handle(1, "RAND?", Instant::now());
    assert_eq!(a.replies, b.replies);
}

/// `can_select: False`: the device's `selected_channel` says which channel commands
/// address; an id not in `ids` matches nothing.
#[test]
fn channels_selected_by_property() {
    converse(
        CHANNELS,
        "select",
        &[
            ("F?", &["1.000"]),
            ("NAME?", &["output"]),
            ("F 5.00", &[]),
            ("F?", &["5.000"]),
            ("I 2", &[]),
            ("I?", &["2"]),
            ("F?", &["1.000"]),
            ("F 50.0", &["ERROR"]),
            ("F?", &["1.000"]),
            ("I 3", &[]),
            ("F?", &["ERROR"]),
            ("NAME?", &["ERROR"]),
            ("I 1", &[]),
            ("F?", &["5.000"]),
            ("F 12", &["ERROR"]),
        ],
    );
}

/// `can_select` with `{ch_id}`: each channel has its own values; a setter takes any id;
/// a refused value without `e` is the command error; without `{ch_id}` a setter writes
/// the last id and a getter reads the first, as in pyvisa-sim.
#[test]
fn channels_selected_by_id() {
    converse(
        CHANNELS,
        "multi",
        &[
            ("CH 2:VOLT?", &["+1.00000000E+00"]),
            ("CH 2:VOLT 3.500", &["OK"]),
            ("CH 2:VOLT?", &["+3.50000000E+00"]),
            ("CH 1:VOLT?", &["+1.00000000E+00"]),
            ("CH 4:VOLT?", &["ERR"]),
            ("CH 4:VOLT 2.000", &["OK"]),
            ("CH 2:VOLT 9.000", &["ERR"]),
            ("CH 2:VOLT?", &["+3.50000000E+00"]),
            ("CH 3:NAME?", &["channel"]),
            ("CH 1:OUTP 1", &[]),
            ("CH 1:OUTP?", &["1"]),
            ("CH 2:OUTP?", &["0"]),
            ("LEVEL?", &["2.0"]),
            ("LEVEL 4.5", &[]),
            ("LEVEL?", &["2.0"]),
            ("LEVEL 7.5", &["LEVEL_ERR"]),
            ("CH 1:VOLT 2", &["ERR"]),
        ],
    );
}

/// Where pyvisa-sim would raise (here a getter format its value cannot take), the command
/// gets the command error and the device goes on.
#[test]
fn pyvisa_exceptions_answer_the_command_error() {
    let text = "spec: '1.1'\ndevices:\n  d:\n    error: ERR\n    properties:\n      \
                n:\n        default: 1\n        getter: {q: 'N?', r: '{:d}'}\n        \
                setter: {q: 'N {}'}\n      m:\n        getter: {q: 'M?'}\n";
    converse(
        text,
        "d",
        &[("N?", &["ERR"]), ("N 5;N?;M?", &["ERR", "ERR"])],
    );
}

/// A malformed `RANDOM` reply loads (pyvisa-sim's own `default.yaml` has two) and answers
/// the command error, where pyvisa-sim raises.
#[test]
fn bad_random_replies_answer_the_command_error() {
    let text = "spec: '1.1'\ndevices:\n  d:\n    error: ERR\n    dialogues:\n      \
                - {q: 'A?', r: 'RANDOM(0, 1, 2){:.2f}'}\n      - {q: 'B?', r: '{RANDOM(0, 1):.2f}'}\n      \
                - {q: 'C?', r: 'ok'}\n";
    converse(text, "d", &[("A?", &["ERR"]), ("B?;C?", &["ERR", "ok"])]);
}

/// Extension delays: device delay on every message, plus each answering item's delay.
#[test]
fn delays_add_up() {
    let mut model = build(EXTENSIONS, "slow");
    let ms = Duration::from_millis;
    let cases = [
        ("*IDN?", ms(5)),
        ("*OPC?", ms(105)),
        ("TEMP?", ms(15)),
        ("TEMP 310.5", ms(25)),
        ("*IDN?;*OPC?", ms(105)),
        ("BOGUS", ms(5)),
    ];
    for (message, want) in cases {
        assert_eq!(
            model.handle(1, message, Instant::now()).delay,
            want,
            "{message}"
        );
    }
}

/// Jitter adds a draw in `0..jitter`, varying, reproducible with `seed:`.
#[test]
fn jitter_is_bounded_and_seeded() {
    let draw = |model: &mut Box<dyn Model>| model.handle(1, "RAND?", Instant::now()).delay;
    let (mut a, mut b) = (build(EXTENSIONS, "noisy"), build(EXTENSIONS, "noisy"));
    let delays: Vec<Duration> = (0..200).map(|_| draw(&mut a)).collect();
    assert!(
        delays.iter().all(|d| *d < Duration::from_millis(10)),
        "{delays:?}"
    );
    assert!(
        delays.iter().any(|d| *d != delays[0]),
        "jitter never varies"
    );
    let again: Vec<Duration> = (0..200).map(|_| draw(&mut b)).collect();
    assert_eq!(delays, again);
}

/// `max_connections:` is the blueprint's limit.
#[test]
fn max_connections() {
    assert_eq!(load(EXTENSIONS, Some("slow")).max_connections(), Some(2));
    assert_eq!(load(BASIC, Some("gen")).max_connections(), None);
}

/// `ramp:` moves the read value linearly to a new target at the given rate, re-targets
/// from wherever it is, and a refused value leaves the ramp alone.
#[test]
fn ramp_over_time() {
    let mut model = build(EXTENSIONS, "slow");
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut ask = |message: &str, when: Instant| model.handle(1, message, when).replies;
    // 300 -> 310.5 at 2 K/s: 5.25 s.
    assert_eq!(ask("TEMP 310.5", t0), ["OK"]);
    assert_eq!(ask("TEMP?", t0), ["300.000"]);
    assert_eq!(ask("TEMP?", at(1000)), ["302.000"]);
    assert_eq!(ask("TEMP 600", at(1500)), ["ERROR"]);
    assert_eq!(ask("TEMP?", at(2000)), ["304.000"]);
    // Back to 300 from 304: 2 s.
    assert_eq!(ask("TEMP 300.0", at(2000)), ["OK"]);
    assert_eq!(ask("TEMP?", at(2500)), ["303.000"]);
    assert_eq!(ask("TEMP?", at(4000)), ["300.000"]);
    assert_eq!(ask("TEMP?", at(60_000)), ["300.000"]);
    // Channel properties ramp per channel: 0 -> 1.25 at 0.5/s takes 2.5 s.
    assert!(ask("LEVA 1.25", t0).is_empty());
    assert_eq!(ask("LEVA?", at(1000)), ["0.50"]);
    assert_eq!(ask("LEVB?", at(1000)), ["0.00"]);
    assert_eq!(ask("LEVA?", at(3000)), ["1.25"]);
}

/// A file with several devices needs `--name`; an unknown name lists them; a single
/// device is used as is.
#[test]
fn device_selection() {
    let usage = |name: Option<&str>| match DeviceFile::parse(BASIC, "basic.yaml", name) {
        Err(e @ (DeviceError::NoDevice { .. } | DeviceError::Several { .. })) => e.to_string(),
        other => panic!("{other:?}"),
    };
    let several = usage(None);
    assert!(
        several.contains("`gen`, `pipe`") && several.contains("--name DEVICE"),
        "{several}"
    );
    let unknown = usage(Some("scope"));
    assert!(
        unknown.contains("no device `scope`") && unknown.contains("`gen`, `pipe`"),
        "{unknown}"
    );
    assert_eq!(load(BASIC, Some("pipe")).name(), "pipe");
    let single = "spec: '1.1'\ndevices:\n  only:\n    dialogues: [{q: 'A?', r: 'a'}]\n";
    assert_eq!(load(single, None).name(), "only");
}

/// The device files shown in the README load, and answer their identification.
#[test]
fn showcase_devices_load() {
    let files = [
        (
            include_str!("../../../sequences/devices/tempcontroller.yaml"),
            "*IDN?",
        ),
        (include_str!("../../../sequences/devices/smu.yaml"), "*IDN?"),
    ];
    for (text, query) in files {
        let file = load(text, None);
        let mut model = file.build(Arc::new(Counters::default()));
        let replies = model.handle(1, query, Instant::now()).replies;
        assert_eq!(replies.len(), 1, "{}: {replies:?}", file.name());
    }
}
