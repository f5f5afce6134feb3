//! Tests of loops (steps with `steps:`) and `on:`: the tree they compile into, what a body
//! step sees of its loops, every problem of nesting at its line and column, and the bound
//! on points across the tree.

use std::fmt::Write;

use super::tests::{compile_str, problems};
use crate::sequence::bounds::MAX_NESTING;
use crate::sequence::value::Value;
use crate::sequence::{Bound, Command, Node, OnResume, Parallel, Sequence, Step, Until};

/// The loop at `path` of names (each a loop, from the top level down).
fn loop_at<'a>(seq: &'a Sequence, path: &[&str]) -> &'a crate::sequence::Loop {
    let mut nodes = &seq.steps;
    let mut found = None;
    for name in path {
        let Some(Node::Loop(l)) = nodes.iter().find(|n| n.name() == *name) else {
            panic!("no loop `{name}`");
        };
        nodes = &l.body;
        found = Some(&**l);
    }
    found.expect("a path of at least one loop")
}

/// The step named `name`, anywhere in the tree.
fn step<'a>(seq: &'a Sequence, name: &str) -> &'a Step {
    seq.leaves()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no step `{name}`"))
}

/// Three loops deep: each body step's `outer` lists the loops' variables outermost first,
/// its templates and poll bounds index them before its own, and a point's values render.
#[test]
fn three_deep_nesting_compiles_with_outer_slots() {
    let seq = compile_str(
        "steps:\n\
         - name: A\n  sweep: {a: [1, 2]}\n  steps:\n\
         \x20 - name: B\n    sweep: {b: [x, y], b2: [7]}\n    repeat: 2\n    steps:\n\
         \x20     - name: C\n        sweep: {c: {start: 1, stop: 3, num: 3}}\n        steps:\n\
         \x20         - name: leaf\n            sweep: {v: [10, 20]}\n            commands:\n\
         \x20             - \"S {a} {b} {b2} {c} {v}\"\n\
         \x20             - {poll: \"R?\", until: {within: 0.1, of: \"{c}\"}}\n\
         \x20     - name: after\n        commands: [\"B {b}\"]\n\
         \x20 - name: first\n    commands: [\"A {a}\"]\n",
    )
    .unwrap();
    let leaf = step(&seq, "leaf");
    assert_eq!(leaf.outer, ["a", "b", "b2", "c"]);
    assert!(leaf.var_names().eq(["a", "b", "b2", "c", "v"]));
    assert_eq!(leaf.sweep.names(), ["v"]);
    let Command::Write {
        text,
        on: None,
        when: None,
    } = &leaf.commands[0]
    else {
        panic!("{:?}", leaf.commands[0]);
    };
    let slots: Vec<usize> = text
        .placeholders()
        .flat_map(|(slots, _, _)| slots)
        .collect();
    assert_eq!(slots, [0, 1, 2, 3, 4]);
    let vars = vec![
        Value::Int(2),
        Value::Str("y".into()),
        Value::Int(7),
        Value::Float(3.0),
        Value::Int(20),
    ];
    assert_eq!(text.render_to_string(&vars).unwrap(), "S 2 y 7 3 20");
    let Command::Poll { until, .. } = &leaf.commands[1] else {
        panic!("{:?}", leaf.commands[1]);
    };
    assert!(matches!(until, Until::Within { of: Bound::Var(3, name), .. } if name == "c"));
    assert_eq!(step(&seq, "after").outer, ["a", "b", "b2"]);
    assert_eq!(step(&seq, "first").outer, ["a"]);
    // Points: A 2 x (first 1 + B 2x2 passes x (C 3 x leaf 2 + after 1)).
    let b = loop_at(&seq, &["A", "B"]);
    assert_eq!((b.iterations(), b.points_per_iteration()), (4, 7));
    assert_eq!(loop_at(&seq, &["A"]).points(), 2 * (1 + 28));
    assert_eq!(seq.total_points(), 58);
    let names: Vec<&str> = seq.leaves().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["leaf", "after", "first"]);
    assert!(seq.first_loop().is_some());
}

/// A loop's `instrument:`, `retries` and `retry_on` are its body's defaults (a body step
/// may say its own); `on_resume: rerun` is kept; `on:` names another instrument.
#[test]
fn loops_give_defaults_and_on_names_an_instrument() {
    let seq = compile_str(
        "instruments: {tc: {}, smu: {}}\n\
         retries: 1\n\
         steps:\n\
         - name: T\n  instrument: tc\n  retries: 3\n  retry_on: [timeout]\n  sweep: {setpoint: [300, 250]}\n  steps:\n\
         \x20 - name: settle\n    on_resume: rerun\n    commands: [\"TEMP:SETP {setpoint}\"]\n\
         \x20 - name: iv\n    instrument: smu\n    retries: 0\n    commands:\n\
         \x20     - {query: \"TEMP?\", on: tc, as: temperature}\n\
         \x20     - {wait: 1s, on: tc}\n\
         \x20     - {query: \"MEAS1:CURR?\", on: smu}\n\
         - name: flat\n  instrument: smu\n  commands: [X]\n",
    )
    .unwrap();
    let settle = step(&seq, "settle");
    assert_eq!((settle.instrument, settle.retries), (0, 3));
    assert!(settle.retry_on.poll_timeout);
    assert_eq!(settle.on_resume, OnResume::Rerun);
    let iv = step(&seq, "iv");
    assert_eq!(
        (iv.instrument, iv.retries, iv.on_resume),
        (1, 0, OnResume::Continue)
    );
    let on: Vec<Option<usize>> = iv.commands.iter().map(Command::on).collect();
    // `on: smu` on a step of `smu` is its own connection: no `on` at all, and a warning.
    assert_eq!(on, [Some(0), Some(0), None]);
    assert_eq!(seq.warnings.len(), 1, "{:?}", seq.warnings);
    assert!(
        seq.warnings[0].starts_with("t.yaml:19:32: `on: smu` names the step's own instrument"),
        "{}",
        seq.warnings[0]
    );
    let flat = step(&seq, "flat");
    assert_eq!((flat.retries, flat.outer.len()), (1, 0));
}

/// Each of `cases` (a file, the start of its only problem) is refused with that problem.
fn assert_problems(cases: &[(impl AsRef<str>, &str)]) {
    let mut wrong = Vec::new();
    for (yaml, want) in cases {
        let yaml = yaml.as_ref();
        let got = problems(yaml);
        if got.len() != 1 || !got[0].starts_with(want) {
            wrong.push(format!("{yaml}\n got: {got:#?}\nwant: {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// Each problem of a reused variable or of `on:` is reported at the line and column of the
/// offending node.
#[test]
fn variable_and_on_problems_are_reported_where_they_are() {
    let two = "instruments: {tc: {}, smu: {}}\n";
    let cases: Vec<(String, &str)> = vec![
        (
            "steps:\n- name: T\n  sweep: {t: [1]}\n  steps:\n  - name: s\n    sweep: {t: [2]}\n    commands: ['X {t}']\n".into(),
            "6:13: variable `t` is already a variable of loop `T` (line 3): a sweep in a loop needs names of its own",
        ),
        (
            "steps:\n- name: T\n  sweep: {t: [1]}\n  steps:\n  - name: U\n    sweep: {t: [2]}\n    steps: [{name: s, commands: [X]}]\n".into(),
            "6:13: variable `t` is already a variable of loop `T` (line 3)",
        ),
        (
            format!("{two}steps:\n- name: iv\n  instrument: smu\n  commands: [{{query: 'T?', on: dmm}}]\n"),
            "5:32: `on` names unknown instrument `dmm` (instruments: `tc`, `smu`)",
        ),
        (
            "steps:\n- name: iv\n  commands: [{query: 'T?', on: tc}]\n".into(),
            "3:32: `on` names unknown instrument `tc` (this sequence has one instrument: drop `on`)",
        ),
        (
            format!("{two}steps:\n- name: iv\n  instrument: smu\n  commands: [{{on: tc, as: t}}]\n"),
            "5:19: `on: tc` goes with one of `write`, `query`, `poll`, `wait` in the same map",
        ),
        (
            format!("{two}steps:\n- name: iv\n  instrument: smu\n  commands:\n  - 'TEMP?':\n    on: tc\n"),
            "6:5: `TEMP?` is not a key of a command map",
        ),
        (
            format!("{two}setup: {{smu: [{{write: '*RST', on: tc}}]}}\nsteps: [{{name: a, instrument: tc, commands: [X]}}]\n"),
            "2:35: `on` does not go in `setup`",
        ),
        (
            "instruments:\n  tc: {on_connect: [{write: 'R', on: smu}]}\n  smu: {}\nsteps: [{name: a, instrument: tc, commands: [X]}]\n".into(),
            "2:38: instrument `tc`: `on` does not go in `on_connect`",
        ),
    ];
    assert_problems(&cases);
}

/// Each problem of a loop or of a step in one is reported at the line and column of the
/// offending node.
#[test]
fn loop_problems_are_reported_where_they_are() {
    let two = "instruments: {tc: {}, smu: {}}\n";
    let cases: Vec<(String, &str)> = vec![
        (
            "steps:\n- name: T\n  steps:\n  - {name: a, commands: [X]}\n  - {name: a, commands: [Y]}\n".into(),
            "5:12: duplicate step name `a` in loop `T` (first used on line 4)",
        ),
        (
            "steps:\n- name: T\n  commands: [X]\n  steps: [{name: a, commands: [X]}]\n".into(),
            "3:13: loop `T` has `steps:`, so it has no `commands` of its own",
        ),
        (
            "steps:\n- name: T\n  sweep: {t: [1, 2]}\n  parallel: all\n  steps: [{name: a, commands: [X]}]\n".into(),
            "4:13: `parallel` does not go on a loop: loop `T` runs its iterations one after another",
        ),
        (
            "steps:\n- name: T\n  concurrency: 2\n  steps: [{name: a, commands: [X]}]\n".into(),
            "3:16: `concurrency` does not go on a loop",
        ),
        (
            "steps:\n- name: T\n  on_resume: rerun\n  steps: [{name: a, commands: [X]}]\n".into(),
            "3:14: `on_resume` does not go on loop `T`",
        ),
        (
            "steps:\n- name: a\n  on_resume: rerun\n  commands: [X]\n".into(),
            "3:14: `on_resume: rerun` on step `a`, which is in no loop",
        ),
        (
            "steps:\n- name: T\n  sweep: {t: [1, 2]}\n  steps:\n  - name: a\n    sweep: {v: [1]}\n    parallel: [t]\n    commands: ['X {t} {v}']\n".into(),
            "7:16: `parallel` names `t`, a variable of loop `T`",
        ),
        (
            "steps:\n- name: T\n  steps: []\n".into(),
            "3:10: loop `T` has no steps",
        ),
        (
            "steps:\n- name: a\n  sweep: {v: [1]}\n".into(),
            "2:9: step `a` needs `commands:` (or `steps:`, to make it a loop)",
        ),
        (
            "steps:\n- name: T\n  steps:\n  - name: setup\n    commands: [X]\n".into(),
            "4:11: step name `setup` is taken by the `setup:` commands",
        ),
        (
            "steps:\n- name: T\n  steps:\n  - name: a/b\n    commands: [X]\n".into(),
            "4:11: bad step name `a/b`: `/` is not a letter",
        ),
        (
            format!("{two}steps:\n- name: T\n  steps:\n  - name: a\n    commands: [X]\n"),
            "5:11: step `a` must name its instrument with `instrument:`, or an enclosing loop must name it",
        ),
        (
            "instruments: {tc: {write_termination: ';'}, smu: {}}\nsteps:\n- name: a\n  instrument: smu\n  sweep: {w: ['1;2']}\n  commands: ['S {w}', {write: 'T {w}', on: tc}]\n".into(),
            "5:15: `w` value `1;2`, rendered into `T {w}`, contains the write termination `;`",
        ),
        (
            "steps:\n- name: T\n  sweep: {w: [\"a\\nb\"]}\n  steps:\n  - name: a\n    commands: ['S {w}']\n  - name: b\n    commands: ['T {w}']\n".into(),
            "3:15: `w` value `a\\nb`, rendered into `S {w}`, contains the write termination `\\n`",
        ),
        (
            "steps:\n- name: T\n  sweep: {w: [a]}\n  steps:\n  - name: a\n    commands: [{poll: 'R?', until: {above: '{w}'}}]\n".into(),
            "6:44: variable `w` takes text values; a poll bound must be a number",
        ),
    ];
    assert_problems(&cases);
}

/// A sequence of loops `depth` deep around one step.
fn nested(depth: usize) -> String {
    let mut yaml = String::from("steps:\n");
    let mut indent = String::new();
    for level in 0..depth {
        let _ = write!(
            yaml,
            "{indent}- name: L{level}\n{indent}  sweep: {{v{level}: [1, 2]}}\n{indent}  steps:\n"
        );
        indent.push_str("  ");
    }
    let _ = write!(
        yaml,
        "{indent}- name: leaf\n{indent}  commands:\n{indent}  - {{poll: 'R?', until: {{within: 1, of: '{{v0}}'}}}}\n"
    );
    yaml
}

/// Loops nest [`MAX_NESTING`] deep (the YAML reader's depth budget leaves room for them and
/// a poll's `until:` inside); one more is refused once, at the loop too deep.
#[test]
fn loops_nest_up_to_the_bound() {
    let seq = compile_str(&nested(MAX_NESTING)).unwrap();
    assert_eq!(seq.total_points(), 1 << MAX_NESTING);
    assert_eq!(step(&seq, "leaf").outer.len(), MAX_NESTING);
    let got = problems(&nested(MAX_NESTING + 2));
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].starts_with("26:25: loop `L8` is nested 9 deep, in `L0` > `L1` > `L2` > `L3` > `L4` > `L5` > `L6` > `L7`: loops nest at most 8 deep"),
        "{}",
        got[0]
    );
}

/// Points count over the whole tree, and the bound holds for a loop (iterations times an
/// iteration), an iteration (its body's sum) and the sequence, each reported at the node
/// that passes it.
#[test]
fn points_of_the_tree_are_bounded() {
    let seq = compile_str(
        "steps:\n- name: T\n  sweep: {t: {start: 1, stop: 1000, num: 1000}}\n  steps:\n\
         \x20 - name: iv\n    sweep: {v: {start: 0, stop: 1, num: 1000}}\n    commands: ['V {v}']\n\
         - name: G\n  repeat: 3\n  steps: [{name: a, repeat: 2, commands: [X]}]\n",
    )
    .unwrap();
    assert_eq!(seq.total_points(), 1_000_000 + 6);
    let cases = [
        (
            "steps:\n- name: T\n  sweep: {t: {start: 1, stop: 2, num: 1000000}}\n  steps:\n  - name: iv\n    sweep: {v: {start: 0, stop: 1, num: 1000001}}\n    commands: ['V {v}']\n",
            "2:9: loop `T` has 1000001000000 points (1000000 iterations x 1000001 per iteration): a sequence has at most 10^12",
        ),
        (
            "steps:\n- name: T\n  steps:\n  - {name: a, repeat: 600000000000, commands: [X]}\n  - {name: b, repeat: 600000000000, commands: [X]}\n",
            "5:12: with step `b`, an iteration of loop `T` has 1200000000000 points: a sequence has at most 10^12",
        ),
        (
            "steps:\n- name: T\n  steps: [{name: a, repeat: 600000000000, commands: [X]}]\n- name: U\n  steps: [{name: a, repeat: 600000000000, commands: [X]}]\n",
            "4:9: with loop `U`, the sequence has 1200000000000 points: a sequence has at most 10^12",
        ),
        (
            "steps:\n- name: T\n  sweep: {t: [1, 2]}\n  repeat: 600000000000\n  steps: [{name: a, commands: [X]}]\n",
            "4:11: `repeat` of 600000000000 gives loop `T` 1200000000000 iterations (2 per pass): a loop has at most 10^12 iterations",
        ),
    ];
    assert_problems(&cases);
}

/// `parallel:` in a loop's body names the step's own variables, by their slot in its own
/// sweep (the lanes are the step's), whatever the loops' variables before them.
#[test]
fn parallel_in_a_body_names_own_slots() {
    let seq = compile_str(
        "steps:\n- name: T\n  sweep: {t: [1, 2]}\n  steps:\n\
         \x20 - name: a\n    sweep: {ch: [1, 2], v: [0, 1]}\n    parallel: [v]\n    commands: ['S{ch} {v} {t}']\n",
    )
    .unwrap();
    assert_eq!(step(&seq, "a").parallel, Parallel::Lanes(vec![1]));
}
