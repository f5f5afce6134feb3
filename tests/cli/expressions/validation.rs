//! Expressions refused at load: each exits 2 from `check` and from `run`, at the line and
//! column of the offending part inside the string (the name, the function, the operand),
//! and nothing is sent (see [`crate::validation`]).

use crate::validation::{Case, assert_all_refused};

const CASES: &[Case] = &[
    Case {
        file: "unknown_name.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {volt: [1, 2]}\n    commands: [\"SOUR:VOLT {volt / vlot}\"]\n",
        line: 6,
        col: Some(35),
        phrases: &["placeholder `{volt / vlot}`: unknown name `vlot`; known here: `volt`, `pi`"],
    },
    Case {
        file: "unknown_function.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {volt: [1, 2]}\n    commands: [\"SOUR:VOLT {sqr(volt)}\"]\n",
        line: 6,
        col: Some(28),
        phrases: &[
            "unknown function `sqr`; functions: `abs`, `min`, `max`, `round`, `floor`, `ceil`, \
             `sqrt`, `exp`, `ln`, `log10`, `sin`, `cos`, `tan`, `asin`, `acos`, `atan`, \
             `atan2`, `if`",
        ],
    },
    Case {
        file: "text_arithmetic.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {ch: [A, B]}\n    commands: [\"SOUR{ch + 1}:VOLT 1\"]\n",
        line: 6,
        col: Some(22),
        phrases: &["placeholder `{ch + 1}`: `ch` is text: `+` needs a number"],
    },
    Case {
        file: "when_text.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {volt: [1, 2]}\n    commands: [{write: \"SOUR:VOLT {volt}\", when: \"'on'\"}]\n",
        line: 6,
        col: Some(50),
        phrases: &[
            "`when` `'on'` is a text, not a condition",
            "write a comparison, such as `mode == 'AC'`",
        ],
    },
    Case {
        file: "step_when_text.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: T\n    sweep: {mode: [AC, DC]}\n    steps:\n      - name: s\n        when: mode\n        commands: [\"A 1\"]\n",
        line: 8,
        col: Some(15),
        phrases: &["`mode`", "not a condition"],
    },
    Case {
        file: "check_without_as.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {volt: [1, 2]}\n    commands: [{query: \"SOUR:VOLT?\", check: \"volt > 1\"}]\n",
        line: 6,
        col: Some(45),
        phrases: &[
            "`check` reads the reply by its name: give the query `as: NAME` and use NAME in \
             the condition",
        ],
    },
    Case {
        file: "measured_before_taken.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {volt: [1, 2]}\n    commands:\n      - \"SOUR:VOLT {rb}\"\n      - {query: \"SOUR:VOLT?\", as: rb}\n",
        line: 7,
        col: Some(21),
        phrases: &["placeholder `{rb}`: unknown name `rb`; known here: `volt`, `pi`"],
    },
    Case {
        file: "let_clashes_with_sweep.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {volt: [1, 2]}\n    let: {volt: \"2\"}\n    commands: [\"SOUR:VOLT {volt}\"]\n",
        line: 6,
        col: Some(11),
        phrases: &[
            "`let` value `volt` has the name of a variable, `let` value or parameter already \
             in scope: give it a name of its own",
        ],
    },
    Case {
        file: "syntax_in_braces.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {volt: [1, 2]}\n    commands: [\"SOUR:VOLT {volt * }\"]\n",
        line: 6,
        col: Some(35),
        phrases: &[
            "placeholder `{volt * }`: expected a number, a name, `'text'`, `(`, `-` or `not`, \
             found the end",
        ],
    },
    Case {
        file: "arity.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {volt: [1, 2]}\n    commands: [\"SOUR:VOLT {atan2(volt)}\"]\n",
        line: 6,
        col: Some(28),
        phrases: &["placeholder `{atan2(volt)}`: `atan2` takes 2 arguments, given 1"],
    },
    Case {
        file: "let_uses_a_later_let.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {volt: [1, 2]}\n    let: {a: \"b * 2\", b: \"volt\"}\n    commands: [\"SOUR:VOLT {a}\"]\n",
        line: 6,
        col: Some(15),
        phrases: &["`let` value `a` `b * 2`: unknown name `b`; known here: `volt`, `pi`"],
    },
    Case {
        // Reported once, at the loop: not again at each use in its body.
        file: "loop_let_error.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: T\n    sweep: {t: [1, 2]}\n    let: {mk: \"t * / 1000\"}\n    steps:\n      - name: s\n        let: {x: \"mk + 1\"}\n        commands: [\"TEMP {mk} {x}\"]\n",
        line: 6,
        col: Some(20),
        phrases: &["`let` value `mk` `t * / 1000`: expected a number"],
    },
    Case {
        file: "unknown_name_in_expect.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {volt: [1, 2]}\n    commands: [{query: \"SOUR:VOLT?\", expect: \"{vlot}\"}]\n",
        line: 6,
        col: Some(48),
        phrases: &["unknown name `vlot`"],
    },
    Case {
        file: "value_outside_a_poll.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {volt: [1, 2]}\n    commands: [{query: \"SOUR:VOLT?\", as: rb, check: \"value > 1\"}]\n",
        line: 6,
        col: Some(54),
        phrases: &["`check` `value > 1`: unknown name `value`; known here: `volt`, `rb`"],
    },
    Case {
        file: "until_unknown_name.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {setpoint: [1, 2]}\n    commands: [{poll: \"TEMP?\", until: \"abs(value - setpont) < 1\"}]\n",
        line: 6,
        col: Some(52),
        phrases: &["`until` `abs(value - setpont) < 1`: unknown name `setpont`"],
    },
    Case {
        file: "decimals_on_text.yaml",
        yaml: "name: v\ninstrument: {}\nsteps:\n  - name: s\n    sweep: {volt: [1, 2]}\n    commands: [\"A {if(volt > 1, 'hi', 'lo'):.2}\"]\n",
        line: 6,
        col: None,
        phrases: &["is a text, so it cannot be formatted with decimals"],
    },
];

/// Each expression error exits 2 from `check` and `run` at its line and column, with a
/// message naming the problem, and opens no connection.
#[test]
fn expression_errors_exit_2_at_their_place() {
    assert_all_refused(CASES);
}
