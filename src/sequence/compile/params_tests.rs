//! Tests of `params:`: `"{name}"` values in every place that takes one, command text, and
//! the errors, each at its line and column.

use std::time::Duration;

use super::tests::{compile_str, problems};
use crate::sequence::params::{Param, get};
use crate::sequence::value::Value;
use crate::sequence::{Command, LoadError, Sequence, parse_with};

/// A file using parameters everywhere a whole value may be one.
const FILE: &str = "\
params:
  vmax: 1.5
  n: 4
  settle: 20ms
  temps: [300, 200]
  label: abc
instrument: {timeout: '{settle}', max_connections: '{n}'}
steps:
- name: T
  sweep: {t: '{temps}'}
  steps:
  - name: iv
    sweep: {v: {start: 0, stop: '{vmax}', num: '{n}'}}
    repeat: '{n}'
    concurrency: '{n}'
    parallel: all
    retries: '{n}'
    commands:
    - 'SOUR:VOLT {v}; LAB {label}; MAX {vmax:.2}'
    - {wait: '{settle}'}
    - {poll: 'X?', until: {above: '{vmax}'}, every: '{settle}', timeout: '{settle}'}
";

fn with(overrides: &[(&str, &str)]) -> Result<Sequence, LoadError> {
    let overrides: Vec<(String, String)> = overrides
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    parse_with(FILE, std::path::Path::new("t.yaml"), &overrides)
}

/// Defaults stand in for every `"{name}"`, and `{name}` in command text renders them.
#[test]
fn defaults_everywhere() {
    let seq = compile_str(FILE).expect("valid");
    assert_eq!(seq.total_points(), 2 * 4 * 4);
    let ins = &seq.instruments[0];
    assert_eq!(ins.io.timeout, Duration::from_millis(20));
    assert_eq!(ins.max_connections, 4);
    let step = seq.leaves().next().expect("a step");
    assert_eq!((step.concurrency, step.retries), (4, 4));
    let text = step.commands[0]
        .template()
        .expect("text")
        .render_to_string(&[Value::Int(300), Value::Float(0.5)])
        .unwrap();
    assert_eq!(text, "SOUR:VOLT 0.5; LAB abc; MAX 1.50");
    assert!(
        matches!(step.commands[1], Command::Wait { pause, .. } if pause == Duration::from_millis(20))
    );
    assert_eq!(
        get(&seq.params, "label"),
        Some(&Param::Value(Value::Str("abc".into())))
    );
}

/// `--set` values change point counts, lists, durations and rendered text.
#[test]
fn overrides_apply() {
    let seq = with(&[
        ("temps", "[1, 2, 3]"),
        ("n", "2"),
        ("settle", "1s"),
        ("vmax", "0.5"),
    ])
    .expect("valid");
    assert_eq!(seq.total_points(), 3 * 2 * 2);
    let step = seq.leaves().next().expect("a step");
    assert!(
        matches!(step.commands[1], Command::Wait { pause, .. } if pause == Duration::from_secs(1))
    );
    let text = step.commands[0]
        .template()
        .expect("text")
        .render_to_string(&[Value::Int(1), Value::Int(0)])
        .unwrap();
    assert_eq!(text, "SOUR:VOLT 0; LAB abc; MAX 0.50");
}

/// A parameter of the wrong type is an error at its use, naming it, its type and what is
/// wanted; an unknown `{name}` lists the parameters.
#[test]
fn errors_at_the_use() {
    let cases = [
        (
            "params: {temps: [1, 2]}\ninstrument: {}\nsteps:\n- name: s\n  commands: [{wait: '{temps}'}]\n",
            "5:21: parameter `temps` is a list of numbers (`[1, 2]`), where a duration is wanted",
        ),
        (
            "params: {v: 0.5}\ninstrument: {}\nsteps:\n- name: s\n  sweep: {x: '{v}'}\n  commands: [A]\n",
            "5:14: parameter `v` is a number (`0.5`), where a list of values is wanted",
        ),
        (
            "params: {n: 2.5}\ninstrument: {}\nsteps:\n- name: s\n  repeat: '{n}'\n  commands: [A]\n",
            "5:11: parameter `n` is `2.5`, where a whole number is wanted",
        ),
        (
            "params: {s: 2s}\ninstrument: {}\nsteps:\n- name: s\n  sweep: {x: {start: 0, stop: '{s}', num: 2}}\n  commands: [A]\n",
            "5:31: parameter `s` is a duration (`2s`), where a number is wanted",
        ),
        (
            "params: {a: 1}\ninstrument: {}\nsteps:\n- name: s\n  repeat: '{b}'\n  commands: [A]\n",
            "5:11: `{b}` names no parameter, where a whole number is wanted; parameters: `a` (a number, default `1`)",
        ),
        (
            "instrument: {}\nsteps:\n- name: s\n  repeat: '{b}'\n  commands: [A]\n",
            "4:11: `{b}` names no parameter, where a whole number is wanted: the file has no `params:`",
        ),
    ];
    for (yaml, want) in cases {
        assert_eq!(problems(yaml), vec![want.to_owned()], "{yaml}");
    }
}

/// A sweep variable, a loop variable or an `as:` name may not be a parameter's name: the
/// inner definition is the error, and says which shadows which.
#[test]
fn names_may_not_shadow_parameters() {
    let yaml = "params:\n  v: 1\n  x: 2\n  r: 3\ninstrument: {}\nsteps:\n- name: L\n  \
                sweep: {x: [1]}\n  steps:\n  - name: s\n    sweep: {v: [1]}\n    \
                commands: [{query: 'A?', as: r}]\n";
    assert_eq!(
        problems(yaml),
        vec![
            "8:11: sweep variable `x` would shadow the parameter `x` (`params:`, line 3): one \
             name would mean two values"
                .to_owned(),
            "11:13: sweep variable `v` would shadow the parameter `v` (`params:`, line 2): one \
             name would mean two values"
                .to_owned(),
            "12:34: value name `r` would shadow the parameter `r` (`params:`, line 4): one \
             name would mean two values"
                .to_owned(),
        ]
    );
}

/// A parameter's name follows the name rule, reported at the name.
#[test]
fn parameter_names_follow_the_rule() {
    let got = problems("params: {1a: 1}\ninstrument: {}\nsteps:\n- name: s\n  commands: [A]\n");
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].starts_with("1:10: bad parameter name `1a`"),
        "{got:?}"
    );
}
