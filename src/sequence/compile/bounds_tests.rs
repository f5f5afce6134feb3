//! Tests of the bounds ([`crate::sequence::bounds`]) and the name rule
//! ([`crate::sequence::name`]) as `check` applies them: each refused at its line and
//! column, values at the bound accepted, one mistake reported once.

use super::tests::{compile_str, problems};
use crate::sequence::{Bound, Command, Parallel, Until};

/// The one `step:` list line most cases share.
const STEP: &str = "steps: [{name: a, commands: [X]}]\n";

/// Every count and duration above its bound is refused at the value, with the bound and
/// the value in the message.
#[test]
fn each_bound_is_refused_where_it_is() {
    let cases: &[(String, &str)] = &[
        (
            format!("instrument: {{max_connections: 4294967296}}\n{STEP}"),
            "1:31: `max_connections` must be at most 1024, got `4294967296`",
        ),
        (
            format!("instrument: {{reconnect_attempts: 1001}}\n{STEP}"),
            "1:34: `reconnect_attempts` must be at most 1000, got `1001`",
        ),
        (
            "steps:\n- {name: a, parallel: all, concurrency: 1025, commands: [X]}\n".into(),
            "2:41: `concurrency` must be at most 1024, got `1025`",
        ),
        (
            "steps:\n- {name: a, repeat: 1000000000001, commands: [X]}\n".into(),
            "2:21: `repeat` must be at most 10^12, got `1000000000001`",
        ),
        (
            "steps:\n- {name: a, retries: 1001, commands: [X]}\n".into(),
            "2:22: `retries` must be at most 1000, got `1001`",
        ),
        (
            format!("retries: 1001\n{STEP}"),
            "1:10: `retries` must be at most 1000, got `1001`",
        ),
        (
            "steps:\n- {name: a, sweep: {x: {start: 0, stop: 1, num: 1000000000001}}, \
             commands: ['X {x}']}\n"
                .into(),
            "2:49: `num` must be at most 10^12, got `1000000000001`",
        ),
        (
            "steps:\n- {name: a, sweep: {x: {start: 0, stop: 1, step: 1e-13}}, \
             commands: ['X {x}']}\n"
                .into(),
            "2:50: `step` gives more than 10^12 points",
        ),
        (
            "steps:\n- name: a\n  sweep: {a: {start: 0, stop: 1, num: 1000001}, b: {start: 0, \
             stop: 1, num: 1000000}}\n  commands: ['X {a} {b}']\n"
                .into(),
            "3:11: the sweep has more than 10^12 points (from variable `a` on)",
        ),
        (
            "steps:\n- name: a\n  sweep: {a: {start: 0, stop: 1, num: 1000000}, b: {start: 0, \
             stop: 1, num: 1000000}}\n  repeat: 2\n  commands: ['X {a} {b}']\n"
                .into(),
            "4:11: `repeat` of 2 gives step `a` 2000000000000 points (1000000000000 per pass): \
             a step has at most 10^12",
        ),
        (
            "steps:\n\
             - {name: a, sweep: {x: {start: 0, stop: 1, num: 600000000000}}, commands: ['X {x}']}\n\
             - {name: b, sweep: {x: {start: 0, stop: 1, num: 600000000000}}, commands: ['X {x}']}\n"
                .into(),
            "3:10: with step `b`, the sequence has 1200000000000 points: a sequence has at most \
             10^12",
        ),
        (
            format!("instrument: {{timeout: 721h}}\n{STEP}"),
            "1:23: `timeout` must be at most 30 days (`720h`), got `721h`",
        ),
        (
            format!("instrument: {{connect_timeout: 744h}}\n{STEP}"),
            "1:31: `connect_timeout` must be at most 30 days (`720h`), got `744h`",
        ),
        (
            "steps:\n- name: a\n  commands: [{wait: 1000000000000000h}]\n".into(),
            "3:21: `wait` must be at most 30 days (`720h`), got `1000000000000000h`",
        ),
        (
            "steps:\n- name: a\n  commands: [{poll: X?, until: {equals: '1'}, every: 720h1s}]\n"
                .into(),
            "3:54: `every` must be at most 30 days (`720h`), got `720h1s`",
        ),
        (
            "steps:\n- name: a\n  commands: [{poll: X?, until: {equals: '1'}, timeout: 1000h}]\n"
                .into(),
            "3:56: `timeout` must be at most 30 days (`720h`), got `1000h`",
        ),
    ];
    for (yaml, want) in cases {
        let got = problems(yaml);
        assert_eq!(got.len(), 1, "{yaml}: {got:?}");
        assert!(
            got[0].starts_with(want),
            "{yaml}\n got {}\nwant {want}",
            got[0]
        );
    }
}

/// Every count and duration at its bound is accepted, and so is a step of 10^12 points.
#[test]
fn values_at_the_bound_are_accepted() {
    let seq = compile_str(
        "retries: 1000\n\
         instrument: {max_connections: 1024, reconnect_attempts: 1000, timeout: 720h, \
         connect_timeout: 720h}\n\
         steps:\n\
         - {name: a, repeat: 1000000000000, parallel: all, concurrency: 1024, retries: 1000, \
           commands: [{wait: 720h}, {poll: X?, until: {equals: '1'}, every: 720h, timeout: 720h}]}\n",
    )
    .unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(seq.instruments[0].max_connections, 1024);
    assert_eq!(seq.instruments[0].max_connections_at, Some((2, 31)));
    assert_eq!(seq.total_points(), 1_000_000_000_000);
    assert_eq!(seq.leaves().next().unwrap().concurrency, 1024);
    // The plan's arithmetic (10^12 points of 30 days each) saturates, never overflows.
    let plan = crate::sequence::plan::describe(&seq);
    assert!(plan.contains("1000000000000 points"), "{plan}");
}

/// A sweep over 2^64 points is one problem: its variables stay known, so placeholders,
/// `parallel:` and poll bounds naming them add none.
#[test]
fn a_sweep_too_large_is_one_problem() {
    let got = problems(
        "steps:\n- name: a\n  sweep:\n    a: {start: 0, stop: 1, num: 4294967296}\n    \
         b: {start: 0, stop: 1, num: 4294967296}\n    m: [LO, HI]\n  parallel: [a, m]\n  \
         commands: ['X {a} {b:.3} {m}', {poll: Y?, until: {within: 0.1, of: '{b}'}}]\n",
    );
    assert_eq!(
        got,
        ["4:5: the sweep has more than 10^12 points (from variable `a` on)"],
        "{got:?}"
    );
    // A text variable keeps its text values in the stand-in: `{m:.2}` is still refused.
    let got = problems(
        "steps:\n- name: a\n  sweep:\n    a: {start: 0, stop: 1, num: 4294967296}\n    \
         b: {start: 0, stop: 1, num: 4294967296}\n    m: [1, HI]\n  commands: ['X {a} {m:.2}']\n",
    );
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[1].contains("`m` has text values"), "{got:?}");
}

/// One rule for every name: letters and digits of any script and `_`, not starting with a
/// digit, so `ΔT`, `Temp_K`, `Strom_µA` and `温度` work as sweep variables (placeholders,
/// `parallel:`, poll bounds), value names, step names and instrument names.
#[test]
fn unicode_names_work_everywhere() {
    let seq = compile_str(
        "instruments:\n  温度regler: {}\n  smu: {}\n\
         setup: {温度regler: ['*RST']}\n\
         steps:\n\
         - name: Messung_ΔT\n  instrument: 温度regler\n  sweep: {ΔT: [1, 2], Temp_K: [300]}\n  \
           parallel: [ΔT]\n  commands:\n  - 'SET {ΔT:.1} {Temp_K}'\n  \
           - {poll: T?, until: {within: 0.1, of: '{ΔT}'}, as: Strom_µA}\n",
    )
    .unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(seq.instruments[0].name, "温度regler");
    let step = seq.leaves().next().unwrap();
    assert_eq!(step.name, "Messung_ΔT");
    assert_eq!(step.sweep.names(), ["ΔT", "Temp_K"]);
    assert_eq!(step.parallel, Parallel::Lanes(vec![0]));
    let Command::Poll { until, name, .. } = &step.commands[1] else {
        panic!("{:?}", step.commands[1]);
    };
    assert_eq!(name.as_deref(), Some("Strom_µA"));
    assert!(matches!(until, Until::Within { of: Bound::Var(0, v), .. } if v == "ΔT"));
}

/// A name that breaks the rule is refused where it is written, whatever it names, with
/// the character at fault and a name that would do; step names are not `setup` or
/// `teardown` either.
#[test]
fn bad_names_are_refused_where_they_are() {
    let cases: &[(&str, &str)] = &[
        (
            "steps:\n- name: a\n  sweep: {∆T: [1]}\n  commands: ['X {∆T}']\n",
            "3:11: bad variable name `∆T`: `∆` (U+2206) is not a letter, digit or `_`",
        ),
        (
            "steps:\n- {name: iv-296, commands: [X]}\n",
            "2:10: bad step name `iv-296`: `-` is not a letter, digit or `_`; names are letters \
             and digits of any script and `_`, not starting with a digit (e.g. `iv_296`)",
        ),
        (
            "steps:\n- {name: setup, commands: [X]}\n",
            "2:10: step name `setup` is taken by the `setup:` commands",
        ),
        (
            "instruments: {my smu: {}}\nsteps: [{name: a, instrument: my smu, commands: [X]}]\n",
            "1:15: bad instrument name `my smu`: ` ` (U+0020) is not a letter",
        ),
        (
            "steps:\n- {name: a, commands: [{query: A?, as: 'I (A)'}]}\n",
            "2:40: bad value name `I (A)`",
        ),
        (
            "steps:\n- {name: a, commands: [{query: A?, as: 2nd}]}\n",
            "2:40: bad value name `2nd`: it starts with `2`",
        ),
    ];
    for (yaml, want) in cases {
        let got = problems(yaml);
        assert_eq!(got.len(), 1, "{yaml}: {got:?}");
        assert!(
            got[0].starts_with(want),
            "{yaml}\n got {}\nwant {want}",
            got[0]
        );
    }
}

/// A count written as a float too large for any count is refused as too large, not as
/// "not a whole number".
#[test]
fn huge_float_counts_are_too_large() {
    let got = problems(&format!("instrument: {{max_connections: 1e30}}\n{STEP}"));
    assert_eq!(got, ["1:31: `1e30` is too large for a count"], "{got:?}");
}
