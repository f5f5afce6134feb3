use std::path::Path;
use std::sync::Arc;

use super::{Stage, Walk, find, find_loop};
use crate::sequence::sweep::Axis;
use crate::sequence::sweep::{Mode, Sweep};
use crate::sequence::value::Value;
use crate::sequence::{Loop, Node, Step};

/// The steps `a` (3 points over `v`) and `b` (one point) of a flat sequence.
fn steps() -> (Arc<Step>, Arc<Step>) {
    let yaml = r#"
instrument: {}
steps:
  - name: a
    sweep: {v: [1, 2, 3]}
    commands: ["A {v}"]
  - name: b
    commands: ["B"]
"#;
    let seq = crate::sequence::parse(yaml, Path::new("t.yaml")).expect("valid");
    let step = |i: usize| match &seq.steps[i] {
        Node::Step(s) => s.clone(),
        Node::Loop(_) => unreachable!("a flat sequence"),
    };
    (step(0), step(1))
}

/// A loop `name` over `var` in `values`, `repeat` passes, around `body`.
fn looped(name: &str, var: &str, values: &[i64], repeat: u64, body: Vec<Node>) -> Node {
    let axis = Axis::list(values.iter().map(|&v| Value::Int(v)).collect()).expect("an axis");
    Node::Loop(Arc::new(Loop {
        name: name.to_owned(),
        sweep: Sweep::new(vec![(var.to_owned(), axis)], Mode::Product).expect("a sweep"),
        repeat,
        body,
    }))
}

/// Each stage as `path v1,v2` (its loops' values).
fn paths(stages: impl Iterator<Item = Stage>) -> Vec<String> {
    stages
        .map(|s| {
            let outer: Vec<String> = s.outer.iter().map(ToString::to_string).collect();
            format!("{} {}", s.path, outer.join(","))
        })
        .collect()
}

/// Top-level steps are their own paths; a loop's body runs once per iteration with the
/// loop's value, iterations numbered on across `repeat` passes; loops nest.
#[test]
fn stages_in_run_order_with_paths_and_values() {
    let (a, b) = steps();
    let inner = looped("U", "u", &[7, 8], 1, vec![Node::Step(a.clone())]);
    let tree = vec![
        Node::Step(b.clone()),
        looped("T", "t", &[300, 200], 2, vec![Node::Step(b), inner]),
        Node::Step(a),
    ];
    assert_eq!(
        paths(Walk::new(&tree)),
        [
            "b ",
            "T/0/b 300",
            "T/0/U/0/a 300,7",
            "T/0/U/1/a 300,8",
            "T/1/b 200",
            "T/1/U/0/a 200,7",
            "T/1/U/1/a 200,8",
            "T/2/b 300",
            "T/2/U/0/a 300,7",
            "T/2/U/1/a 300,8",
            "T/3/b 200",
            "T/3/U/0/a 200,7",
            "T/3/U/1/a 200,8",
            "a ",
        ]
    );
    let stage = Walk::new(&tree).nth(2).expect("a stage");
    assert_eq!(stage.iteration_path(), "T/0/U/0/");
}

/// A loop with no iterations runs nothing; the walk goes on after it.
#[test]
fn empty_loops_are_passed_over() {
    let (_, b) = steps();
    let tree = vec![
        looped("T", "t", &[1], 0, vec![Node::Step(b.clone())]),
        Node::Step(b),
    ];
    assert_eq!(paths(Walk::new(&tree)), ["b "]);
}

/// A path finds its step or loop only where the tree runs it.
#[test]
fn paths_are_found_where_the_tree_has_them() {
    let (a, b) = steps();
    let inner = looped("U", "u", &[7, 8], 1, vec![Node::Step(a)]);
    let tree = vec![looped("T", "t", &[300, 200], 1, vec![Node::Step(b), inner])];
    let name = |s: Option<Arc<Step>>| s.map(|s| s.name.clone());
    assert_eq!(name(find(&tree, "T/1/U/1/a")).as_deref(), Some("a"));
    assert_eq!(name(find(&tree, "T/0/b")).as_deref(), Some("b"));
    for missing in [
        "T/2/b",
        "T/0/U/2/a",
        "T/0",
        "T/x/b",
        "b",
        "T/0/b/0",
        "U/0/a",
        "",
    ] {
        assert!(find(&tree, missing).is_none(), "{missing}");
    }
    let name = |l: Option<Arc<Loop>>| l.map(|l| l.name.clone());
    assert_eq!(name(find_loop(&tree, "T/1/U/0/")).as_deref(), Some("U"));
    assert_eq!(name(find_loop(&tree, "T/1/")).as_deref(), Some("T"));
    for missing in ["T/2/", "T/1/U/2/", "T/1", "T/1/b/", ""] {
        assert!(find_loop(&tree, missing).is_none(), "{missing}");
    }
}

/// The tree `T(t: 1, 2) { a(3 points); U(u: 7, 8) { b(1 point) }; b }`: 2 x (3 + 2 + 1)
/// points, 12 in all.
fn ends_tree() -> Vec<Node> {
    let (a, b) = steps();
    let inner = looped("U", "u", &[7, 8], 1, vec![Node::Step(b.clone())]);
    vec![looped(
        "T",
        "t",
        &[1, 2],
        1,
        vec![Node::Step(a), inner, Node::Step(b)],
    )]
}

/// Ending an iteration or a loop from a given stage passes over exactly the stages left,
/// counts their points, and goes on where the action says: the loop's next iteration, or
/// after the loop; an end from a loop already left does nothing.
#[test]
fn ends_pass_over_the_stages_left() {
    // (stages taken before the end, depth, whole loop, points passed over, stages after)
    let cases: &[(usize, usize, bool, u64, &[&str])] = &[
        // `next: T` from `T/0/a`: U's two iterations and b are passed over.
        (
            1,
            0,
            false,
            3,
            &["T/1/a 2", "T/1/U/0/b 2,7", "T/1/U/1/b 2,8", "T/1/b 2"],
        ),
        // `break: T` from `T/0/a`: the rest of iteration 0 and all of iteration 1.
        (1, 0, true, 3 + 6, &[]),
        // `next: U` from `T/0/U/0/b`: U's iteration 1 runs, then b.
        (
            2,
            1,
            false,
            0,
            &[
                "T/0/U/1/b 1,8",
                "T/0/b 1",
                "T/1/a 2",
                "T/1/U/0/b 2,7",
                "T/1/U/1/b 2,8",
                "T/1/b 2",
            ],
        ),
        // `break: U` from `T/0/U/0/b`: U's iteration 1 passed over, then T/0/b.
        (
            2,
            1,
            true,
            1,
            &[
                "T/0/b 1",
                "T/1/a 2",
                "T/1/U/0/b 2,7",
                "T/1/U/1/b 2,8",
                "T/1/b 2",
            ],
        ),
        // `next: T` from inside U (`T/0/U/0/b`): U's iteration 1 and T/0/b passed over.
        (
            2,
            0,
            false,
            2,
            &["T/1/a 2", "T/1/U/0/b 2,7", "T/1/U/1/b 2,8", "T/1/b 2"],
        ),
        // `break: T` from the last stage of the last iteration: nothing left.
        (8, 0, true, 0, &[]),
        // `next: T` from the last stage of an iteration: the next iteration as usual.
        (
            4,
            0,
            false,
            0,
            &["T/1/a 2", "T/1/U/0/b 2,7", "T/1/U/1/b 2,8", "T/1/b 2"],
        ),
        // Depth past the loops entered (the walk is outside U): nothing.
        (
            4,
            1,
            true,
            0,
            &["T/1/a 2", "T/1/U/0/b 2,7", "T/1/U/1/b 2,8", "T/1/b 2"],
        ),
    ];
    let tree = ends_tree();
    assert_eq!(Walk::new(&tree).count(), 8);
    for &(taken, depth, whole, points, after) in cases {
        let mut walk = Walk::new(&tree);
        let before: Vec<Stage> = walk.by_ref().take(taken).collect();
        assert_eq!(before.len(), taken);
        let passed = if whole {
            walk.end_loop(depth)
        } else {
            walk.end_iteration(depth)
        };
        let case = format!("after {taken} stages, depth {depth}, whole {whole}");
        assert_eq!(passed, points, "{case}");
        assert_eq!(paths(walk.by_ref()), after, "{case}");
        // Ending again once the walk is over is harmless.
        assert_eq!(walk.end_loop(0), 0, "{case}");
    }
}

/// Ending twice from the same stage counts the points passed over once.
#[test]
fn ending_twice_counts_once() {
    let tree = ends_tree();
    let mut walk = Walk::new(&tree);
    walk.next();
    assert_eq!(walk.end_iteration(0), 3);
    assert_eq!(walk.end_iteration(0), 0);
    assert_eq!(walk.end_loop(0), 6);
    assert_eq!(walk.end_loop(0), 0);
    assert_eq!(walk.count(), 0);
}
