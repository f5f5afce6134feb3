//! Tests of the parent module.
use super::*;
use crate::sequence::{Command, Parallel};

pub(super) fn compile_str(yaml: &str) -> Result<Sequence, InvalidFile> {
    compile(yaml, Path::new("t.yaml"))
}

/// `file:line:col: message` of every problem.
pub(super) fn problems(yaml: &str) -> Vec<String> {
    let err = compile_str(yaml).expect_err("should be invalid");
    let text = err.render();
    text.lines()
        .filter_map(|l| {
            l.trim_start()
                .strip_prefix("x t.yaml:")
                .or_else(|| l.trim_start().strip_prefix("× t.yaml:"))
        })
        .map(str::to_owned)
        .collect()
}

/// A full sequence compiles into steps with lazy sweeps and resolved reply rules.
#[test]
fn compiles_a_sequence() {
    let seq = compile_str(
        "instrument: {address: 'TCPIP::h::5025::SOCKET', max_connections: 3}\n\
         setup: ['*RST']\n\
         steps:\n\
         - name: iv\n  sweep: {ch: [1, 2], v: {start: 0, stop: 1, num: 11}}\n  repeat: 2\n  \
           commands: ['SOUR{ch}:VOLT {v}', 'MEAS{ch}:CURR?', {wait: 10ms}]\n",
    )
    .unwrap();
    assert_eq!(seq.name, "t");
    assert_eq!(seq.instruments[0].max_connections, 3);
    assert_eq!(seq.setup.len(), 1);
    let step = seq.leaves().next().unwrap();
    // No `parallel:`: one point at a time, whatever the pool size.
    assert_eq!((step.points(), step.concurrency), (44, 1));
    assert_eq!(step.parallel, Parallel::Serial);
    assert!(matches!(step.commands[0], Command::Write { .. }));
    assert!(matches!(step.commands[1], Command::Query { .. }));
    assert_eq!(seq.total_points(), 44);
}

/// Each invalid input is reported at the line and column of the offending node.
#[test]
fn reports_problems_where_they_are() {
    let cases: &[(&str, &str)] = &[
        (
            "steps:\n- name: a\n  commands: [X]\n  colour: red\n",
            "4:3: unknown field `colour`",
        ),
        (
            "steps:\n- name: a\n  sweep: {and: [1]}\n  commands: [X]\n",
            "3:11: bad variable name `and`: `and` is a word of the expression language",
        ),
        (
            "steps:\n- name: a\n  let: {not: '1'}\n  commands: [X]\n",
            "3:9: bad `let` name `not`: `not` is a word",
        ),
        (
            "steps:\n- name: a\n  commands: [{query: X?, as: or}]\n",
            "3:30: bad value name `or`: `or` is a word",
        ),
        (
            "instrument: {timeout: 2}\nsteps: [{name: a, commands: [X]}]\n",
            "1:23: bad duration `2`",
        ),
        (
            "steps:\n- {name: a, commands: [X]}\n- {name: a, commands: [Y]}\n",
            "3:10: duplicate step name `a`",
        ),
        (
            "steps:\n- name: a\n  sweep: {ch: [1]}\n  commands: ['S{chan}']\n",
            "4:17: placeholder `{chan}`: unknown name `chan`",
        ),
        (
            "steps:\n- name: a\n  mode: zip\n  sweep: {x: [1, 2], y: [1]}\n  commands: [X]\n",
            "4:22: zip sweep",
        ),
        (
            "steps:\n- name: a\n  sweep: {x: {start: 0, stop: 1, num: 0}}\n  commands: [X]\n",
            "3:39: `num`",
        ),
        (
            "steps:\n- name: a\n  sweep: {x: {start: 0, stop: 1, step: 0}}\n  commands: [X]\n",
            "3:40: `step` is 0",
        ),
        (
            "instrument: {max_connections: 0}\nsteps: [{name: a, commands: [X]}]\n",
            "1:31: `max_connections` must be at least 1",
        ),
        (
            "instruments: {a: {}}\nsteps: [{name: s, instrument: b, commands: [X]}]\n",
            "2:31: unknown instrument `b`",
        ),
        (
            "steps:\n- name: a\n  commands: [{write: X, as: y}]\n",
            "3:29: `as` does not go with `write`",
        ),
        (
            "steps:\n- name: a\n  commands: [{wait: 1s, query: X?}]\n",
            "3:14: a command needs exactly one of",
        ),
        (
            "steps:\n- name: a\n  commands: [{poll: X?, until: {matches: '('}}]\n",
            "3:42: bad regular expression `(`: unclosed group",
        ),
        (
            "steps:\n- name: a\n  sweep: {s: [a, b]}\n  commands: ['X {s:.2}']\n",
            "4:17: `s` has text values",
        ),
        ("name: x\n", "1:1: the sequence has no `steps`"),
    ];
    let mut missed = Vec::new();
    for (yaml, want) in cases {
        let got = problems(yaml);
        if !got.iter().any(|p| p.starts_with(want)) {
            missed.push(format!("want `{want}` in {got:?}"));
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
}

/// Inputs that once crashed the validator get an error, not a panic.
#[test]
fn odd_inputs_are_errors_not_panics() {
    let cases: &[(&str, &str)] = &[
        (
            "instruments: {}\nsteps: [{name: a, instrument: x, commands: [X]}]\n",
            "`instruments` is empty",
        ),
        (
            "instrument: {}\ninstruments: {a: {}}\nsteps: [{name: a, commands: [X]}]\n",
            "both `instrument`",
        ),
        (
            "instruments: {}\nsetup: ['*RST']\nsteps: [{name: a, commands: [X]}]\n",
            "`instruments` is empty",
        ),
        (
            "steps:\n- name: a\n  sweep: {ch: [1]}\n  commands: [\"\\tµ{chan}\"]\n",
            "4:14: placeholder `{chan}`",
        ),
        (
            "instrument: {timeout: 0s}\nsteps: [{name: a, commands: [X]}]\n",
            "`timeout` must be more than 0",
        ),
        (
            "steps:\n- name: a\n  commands: [{query: X?, expect: '{i}'}]\n",
            "3:36: placeholder `{i}`: unknown name `i`",
        ),
        (
            "steps:\n- name: a\n  commands: [{poll: X?, until: {matches: '(a{1000}){1000}'}}]\n",
            "exceeds size limit",
        ),
    ];
    let mut missed = Vec::new();
    for (yaml, want) in cases {
        let got = problems(yaml);
        if !got.iter().any(|p| p.contains(want)) {
            missed.push(format!("want `{want}` in {got:?}"));
        }
    }
    assert!(missed.is_empty(), "{missed:#?}");
}

/// `expect` and `equals` keep numbers exactly as written (`1.0` is not `1`).
#[test]
fn replies_compare_as_written() {
    let seq = compile_str(
        "steps:\n- name: a\n  commands:\n  - {query: X?, expect: 1.0}\n  - {poll: Y?, until: {equals: 007}}\n",
    )
    .unwrap();
    let cmds = &seq.leaves().next().unwrap().commands;
    assert!(matches!(&cmds[0], Command::Query { expect: Some(e), .. } if e.source() == "1.0"));
    assert!(
        matches!(&cmds[1], Command::Poll { until: crate::sequence::Until::Equals(e), .. } if e == "007")
    );
}

/// A bad axis does not cascade into "names no sweep variable" errors for its placeholders.
#[test]
fn bad_axis_reports_once() {
    let got = problems(
        "steps:\n- name: a\n  sweep: {x: {start: 0, stop: 1, num: 0}}\n  commands: ['X {x}']\n",
    );
    assert_eq!(got.len(), 1, "{got:?}");
}

/// Poll bounds are numbers, quoted or not, or a numeric sweep variable in braces; other
/// text (including `inf` and `nan`) is refused.
#[test]
fn poll_bounds_accept_quoted_numbers() {
    use crate::sequence::{Bound, Until};
    let poll = |until: &str| {
        format!(
            "steps:\n- name: a\n  sweep: {{v: [1, 2]}}\n  commands:\n  \
             - {{poll: X?, until: {until}}}\n"
        )
    };
    let good: &[(&str, Bound)] = &[
        ("{within: 0.1, of: 1.5}", Bound::Fixed(1.5)),
        ("{within: 0.1, of: \"1.5\"}", Bound::Fixed(1.5)),
        ("{within: 0.1, of: ' -2e3 '}", Bound::Fixed(-2000.0)),
        ("{above: '7'}", Bound::Fixed(7.0)),
        ("{below: \"{v}\"}", Bound::Var(0, "v".into())),
    ];
    for (until, want) in good {
        let seq = compile_str(&poll(until)).unwrap_or_else(|e| panic!("{until}: {e}"));
        let got = match &seq.leaves().next().unwrap().commands[0] {
            Command::Poll {
                until: Until::Within { of, .. } | Until::Above(of) | Until::Below(of),
                ..
            } => of.clone(),
            other => panic!("{until}: {other:?}"),
        };
        assert_eq!(got, *want, "{until}");
    }
    for until in ["{above: 'one'}", "{above: 'inf'}", "{below: 'NaN'}"] {
        let got = problems(&poll(until));
        assert!(
            got.iter().any(|p| p.contains("is not a number")),
            "{until}: {got:?}"
        );
    }
}

/// `parallel:` and `concurrency:` together decide what runs at once and how many: lanes by
/// the named variables (slots in axis order), `all`, or one at a time; `concurrency` alone
/// above 1 means `all` and warns at its key.
#[test]
fn parallel_and_concurrency() {
    let step = |keys: &str| {
        format!(
            "instrument: {{max_connections: 4}}\nsteps:\n- name: iv\n  sweep: {{ch: [1, 2], \
             v: [0, 1]}}\n{keys}  commands: ['S{{ch}} {{v}}']\n"
        )
    };
    let cases: &[(&str, Parallel, usize, &[&str])] = &[
        ("", Parallel::Serial, 1, &[]),
        ("  concurrency: 1\n", Parallel::Serial, 1, &[]),
        ("  parallel: all\n", Parallel::All, 4, &[]),
        ("  parallel: [ch]\n", Parallel::Lanes(vec![0]), 4, &[]),
        ("  parallel: [v, ch]\n", Parallel::Lanes(vec![0, 1]), 4, &[]),
        (
            "  parallel: [ch]\n  concurrency: 2\n",
            Parallel::Lanes(vec![0]),
            2,
            &[],
        ),
        (
            "  concurrency: 3\n",
            Parallel::All,
            3,
            &[
                "t.yaml:5:3: `concurrency: 3` without `parallel:` declares every point of step `iv` independent: write `parallel: all` if they are, `parallel: [ch]` if only points with different values of `ch` are",
            ],
        ),
    ];
    for (keys, parallel, concurrency, warnings) in cases {
        let seq = compile_str(&step(keys)).unwrap_or_else(|e| panic!("{keys}: {e}"));
        let s = seq.leaves().next().unwrap();
        assert_eq!(
            (&s.parallel, s.concurrency),
            (parallel, *concurrency),
            "{keys}"
        );
        assert_eq!(
            seq.warnings.len(),
            warnings.len(),
            "{keys}: {:?}",
            seq.warnings
        );
        for (got, want) in seq.warnings.iter().zip(*warnings) {
            assert!(got.starts_with(want), "{got}");
        }
    }
    // A step without sweep may say its repeats are independent.
    let seq =
        compile_str("steps:\n- {name: w, repeat: 3, parallel: all, commands: [X]}\n").unwrap();
    assert_eq!(seq.leaves().next().unwrap().parallel, Parallel::All);
    // Flow style: the warning points at the key, not its value.
    let seq = compile_str("steps:\n- {name: w, concurrency: 2, commands: [X]}\n").unwrap();
    assert!(
        seq.warnings[0].starts_with("t.yaml:2:13: `concurrency: 2`"),
        "{:?}",
        seq.warnings
    );
}

/// Each mistake in `parallel:` is reported where it is, naming the variables there are.
#[test]
fn parallel_problems() {
    let step = |value: &str| {
        format!(
            "steps:\n- name: iv\n  sweep: {{ch: [1, 2], v: [0, 1]}}\n  parallel: {value}\n  \
             commands: [X]\n"
        )
    };
    let cases: &[(String, &[&str])] = &[
        (
            step("[chan]"),
            &[
                "4:14: `parallel` names `chan`, which is not a sweep variable of step `iv` (variables: `ch`, `v`)",
            ],
        ),
        (
            step("[ch, v, ch]"),
            &["4:21: `ch` is named twice in `parallel`"],
        ),
        (
            step("[]"),
            &[
                "4:13: `parallel: []` names no variable: list the sweep variables whose values tell independent points apart (variables: `ch`, `v`), or write `parallel: all`",
            ],
        ),
        (
            step("ch"),
            &["4:13: `parallel` is `all` or a list of sweep variables such as `[ch]`, not `ch`"],
        ),
        (
            step("4"),
            &["4:13: `parallel` is `all` or a list of sweep variables such as `[ch]`, not `4`"],
        ),
        (
            step("[1, x]"),
            &["4:14: `parallel` names `1`", "4:17: `parallel` names `x`"],
        ),
        (
            "steps:\n- {name: w, repeat: 2, parallel: [i], commands: [X]}\n".into(),
            &[
                "2:34: step `w` has no sweep, so `parallel` names no variable: write `parallel: all` for repeats that may overlap, or leave it out",
            ],
        ),
    ];
    for (yaml, want) in cases {
        let got = problems(yaml);
        assert_eq!(got.len(), want.len(), "{yaml}: {got:?}");
        for (got, want) in got.iter().zip(*want) {
            assert!(got.starts_with(want), "{yaml}:\n got {got}\nwant {want}");
        }
    }
    // A lone variable name gets the list form as help.
    let err = compile_str(&step("ch")).unwrap_err().render();
    assert!(err.contains("write `parallel: [ch]`"), "{err}");
}

/// `value` in an `until:` expression is the poll's reply: a variable of that name is
/// warned about there (it cannot be read in that condition), and not elsewhere.
#[test]
fn value_in_until_warns_when_it_hides_a_variable() {
    let seq = compile_str(
        "steps:\n- name: s\n  sweep: {value: [1, 2]}\n  commands:\n  \
         - {poll: 'V?', until: 'value > 0'}\n  - 'S {value}'\n",
    )
    .unwrap();
    assert_eq!(seq.warnings.len(), 1, "{:?}", seq.warnings);
    assert!(
        seq.warnings[0].contains("5:25: in this `until:`, `value` is the poll's reply"),
        "{:?}",
        seq.warnings
    );
    let seq = compile_str(
        "steps:\n- name: s\n  sweep: {v: [1, 2]}\n  commands: [{poll: 'V?', until: 'value > v'}]\n",
    )
    .unwrap();
    assert!(seq.warnings.is_empty(), "{:?}", seq.warnings);
}
