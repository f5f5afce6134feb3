//! Tests of a step's conditions: `stop_when:` compiles into actions that name their loop by
//! depth, `when:` keeps its text and position, and every problem is reported at its line
//! and column.

use super::tests::{compile_str, problems};
use crate::sequence::{Action, Condition, LoopRef, StopWhen};

/// A loop `T` around a loop `U` around step `iv`, with `extra` (indented for `iv`'s keys)
/// added to `iv`.
fn nested(extra: &str) -> String {
    format!(
        "steps:\n- name: T\n  sweep: {{t: [1, 2]}}\n  steps:\n  - name: U\n    sweep: {{u: [1]}}\n    \
         steps:\n    - name: iv\n      sweep: {{v: [1, 2, 3]}}\n      commands: [{{query: 'I?', as: i}}]\n{extra}"
    )
}

/// Every action compiles, each loop action with the depth of the loop it names, in file
/// order, with the condition's text and where its `if:` is.
#[test]
fn stop_when_compiles_into_actions() {
    let seq = compile_str(&nested(
        "      stop_when:\n      - {if: 'i > 1e-3', then: break}\n      - {if: ' i > 2 ', then: stop}\n      \
         - {if: i > 3, then: {next: T}}\n      - {if: i > 4, then: {break: U}}\n      when: t <= 1\n",
    ))
    .unwrap();
    let iv = seq.leaves().next().unwrap();
    let loop_ref = |name: &str, depth| LoopRef {
        name: name.into(),
        depth,
    };
    let want = [
        ("i > 1e-3", (12, 14), Action::Break),
        ("i > 2", (13, 14), Action::Stop),
        ("i > 3", (14, 14), Action::Next(loop_ref("T", 0))),
        ("i > 4", (15, 14), Action::BreakLoop(loop_ref("U", 1))),
    ];
    let got: Vec<_> = iv
        .stop_when
        .iter()
        .map(|s: &StopWhen| {
            (
                s.text.as_str(),
                s.at,
                s.action.clone(),
                s.expr.source().trim(),
            )
        })
        .collect();
    let want: Vec<_> = want
        .into_iter()
        .map(|(text, at, action)| (text, at, action, text))
        .collect();
    assert_eq!(got, want);
    let when: &Condition = iv.when.as_ref().unwrap();
    assert_eq!((when.text.as_str(), when.at), ("t <= 1", (16, 13)));
    assert!(
        when.expr
            .truth(&[crate::sequence::value::Value::Int(1)])
            .unwrap()
    );
    assert!(
        !when
            .expr
            .truth(&[crate::sequence::value::Value::Int(2)])
            .unwrap()
    );
    assert_eq!(iv.stop_when[2].action.to_string(), "next: T");
    assert_eq!(
        iv.stop_when[3].action.to_json(),
        serde_json::json!({"break": "U"})
    );
    assert_eq!(iv.stop_when[0].action.to_json(), "break");
}

/// A step without conditions has none; `when:` and `break`/`stop` also go on a top-level
/// step.
#[test]
fn conditions_are_optional_and_allowed_at_the_top_level() {
    let seq = compile_str(
        "steps:\n- name: a\n  commands: [X]\n- name: b\n  commands: [X]\n  when: '1 == 1'\n  \
         stop_when: [{if: '1 == 1', then: stop}]\n",
    )
    .unwrap();
    let steps: Vec<_> = seq.leaves().collect();
    assert!(steps[0].stop_when.is_empty() && steps[0].when.is_none());
    assert_eq!(steps[1].stop_when[0].action, Action::Stop);
    assert!(steps[1].when.is_some());
}

/// Each problem of a condition is reported at the line and column of its node, with the
/// enclosing loops listed when a loop name is wrong.
#[test]
fn condition_problems_are_reported_where_they_are() {
    let cases: Vec<(String, &str)> = vec![
        (
            nested("      stop_when: [{if: i > 1, then: {next: V}}]\n"),
            "11:44: `next: V` names no loop around step `iv` (its enclosing loops, outermost first: `T`, `U`)",
        ),
        (
            nested("      stop_when: [{if: i > 1, then: {break: iv}}]\n"),
            "11:45: `break: iv` names no loop around step `iv` (its enclosing loops, outermost first: `T`, `U`)",
        ),
        (
            "steps:\n- name: iv\n  commands: [X]\n  stop_when: [{if: 1, then: {next: T}}]\n".into(),
            "4:36: `next: T` on step `iv`, which is in no loop: `next` ends an enclosing loop's iteration",
        ),
        (
            "steps:\n- name: iv\n  commands: [X]\n  stop_when: [{if: 1, then: halt}]\n".into(),
            "4:29: unknown action `halt` in `then:`: an action is `break`, `stop`, `{next: LOOP}` or `{break: LOOP}`",
        ),
        (
            "steps:\n- name: iv\n  commands: [X]\n  stop_when: [{if: 1, then: {}}]\n".into(),
            "4:29: `then:` names no action",
        ),
        (
            nested("      stop_when: [{if: 1, then: {next: T, break: T}}]\n"),
            "11:33: `then:` gives both `next` and `break`: give one",
        ),
        (
            "steps:\n- name: iv\n  commands: [X]\n  stop_when: [{if: '  ', then: stop}]\n".into(),
            "4:20: `if:` of a `stop_when` entry is empty",
        ),
        (
            "steps:\n- name: iv\n  commands: [X]\n  when: ''\n".into(),
            "4:9: `when:` is empty",
        ),
        (
            "steps:\n- name: iv\n  commands: [X]\n  stop_when: []\n".into(),
            "4:14: `stop_when` of step `iv` is empty",
        ),
        (
            "steps:\n- name: T\n  stop_when: [{if: 1, then: break}]\n  steps: [{name: s, commands: [X]}]\n".into(),
            "3:14: `stop_when` does not go on loop `T`",
        ),
        (
            "steps:\n- name: T\n  when: x\n  steps: [{name: s, commands: [X]}]\n".into(),
            "3:9: `when` does not go on loop `T`",
        ),
    ];
    let mut wrong = Vec::new();
    for (yaml, want) in &cases {
        let got = problems(yaml);
        if got.len() != 1 || !got[0].starts_with(want) {
            wrong.push(format!("{yaml}\n got: {got:#?}\nwant: {want}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// `then:` of another shape, or an unknown key in a `stop_when` entry, is refused by the
/// reader with its position.
#[test]
fn malformed_entries_are_refused_where_they_are() {
    let cases = [
        (
            "steps:\n- name: iv\n  commands: [X]\n  stop_when: [{if: 1, then: break, else: stop}]\n",
            "4:",
        ),
        (
            "steps:\n- name: iv\n  commands: [X]\n  stop_when: [{if: 1, then: {skip: T}}]\n",
            "4:",
        ),
        (
            "steps:\n- name: iv\n  commands: [X]\n  stop_when: [{then: stop}]\n",
            "4:",
        ),
    ];
    for (yaml, want) in cases {
        let got = problems(yaml);
        assert!(
            got.len() == 1 && got[0].starts_with(want),
            "{yaml}\n{got:#?}"
        );
    }
}

/// A command that measures `i` but is refused (a bad `check:`) still puts `i` in the
/// scope of `stop_when:`: the one problem is the check's, not also an unknown `i`.
#[test]
fn stop_when_reads_a_value_of_a_refused_command() {
    let yaml = "steps:\n- name: s\n  commands: [{query: 'I?', as: i, check: 'i > nope'}]\n  \
                stop_when: [{if: 'i > 1', then: break}]\n";
    let got = problems(yaml);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].contains("unknown name `nope`"), "{got:#?}");
}
