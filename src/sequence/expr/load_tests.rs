//! Load-time behaviour: every error with the span it points at, the static kinds, names,
//! slots and constant folding, the nesting limit, and a timing of the hot path.

use super::*;

/// `volt` (slot 0, float), `r` (1, int), `mode` (2, text), `rb` (3, reply), `ok` (4, a
/// condition from a `let:`), `vmax` a parameter 10, `pi` not defined (the constant).
struct Names;

impl Scope for Names {
    fn lookup(&self, name: &str) -> Option<Binding> {
        Some(match name {
            "volt" => Binding::Slot(0, Kind::Float),
            "r" => Binding::Slot(1, Kind::Int),
            "mode" => Binding::Slot(2, Kind::Text),
            "rb" => Binding::Slot(3, Kind::Reply),
            "ok" => Binding::Slot(4, Kind::Bool),
            "vmax" => Binding::Const(Value::Int(10)),
            _ => return None,
        })
    }
    fn known(&self) -> Vec<String> {
        ["volt", "r", "mode", "rb", "ok", "vmax"]
            .map(String::from)
            .to_vec()
    }
}

/// A scope defining `pi` and `e` as variables.
struct Shadow;

impl Scope for Shadow {
    fn lookup(&self, name: &str) -> Option<Binding> {
        matches!(name, "pi" | "e").then_some(Binding::Const(Value::Int(3)))
    }
    fn known(&self) -> Vec<String> {
        vec!["pi".into(), "e".into()]
    }
}

/// Each bad expression: its message and the text its span covers.
#[test]
fn load_errors_point_at_the_offender() {
    let known = "known here: `volt`, `r`, `mode`, `rb`, `ok`, `vmax`, `pi`";
    let functions = "functions: `abs`, `min`, `max`, `round`, `floor`, `ceil`, `sqrt`, `exp`, `ln`, \
                     `log10`, `sin`, `cos`, `tan`, `asin`, `acos`, `atan`, `atan2`, `if`";
    let cases: Vec<(&str, String, &str)> = vec![
        ("", "expected a number, a name, `'text'`, `(`, `-` or `not`, found the end".into(), ""),
        ("volt +", "expected a number, a name, `'text'`, `(`, `-` or `not`, found the end".into(), ""),
        ("volt volt", "expected an operator or the end, found `volt`".into(), "volt"),
        ("(volt", "expected `)` or an operator, found the end".into(), ""),
        ("volt)", "expected an operator or the end, found `)`".into(), ")"),
        ("min(volt r)", "expected `,`, `)` or an operator, found `r`".into(), "r"),
        ("volt = 1", "expected `==`, found `=`".into(), "="),
        ("!ok", "expected `not`, found `!`".into(), "!"),
        ("ok && ok", "expected `and`, found `&&`".into(), "&&"),
        ("2 ^ 3", "expected `**`, found `^`".into(), "^"),
        ("volt # 2", "expected a number, a name, `'text'`, an operator or a parenthesis, found `#`".into(), "#"),
        ("'open", "expected a closing `'` (write a ' inside as `''`), found a text that is never closed".into(), "'open"),
        ("1e", "expected digits after the exponent's `e`, found `1e`".into(), "1e"),
        ("2volt", "expected an operator after the number, found `2volt`".into(), "2volt"),
        ("1.2.3", "expected an operator after the number, found `1.2.3`".into(), "1.2.3"),
        ("99999999999999999999", "expected a smaller integer or a float (`99999999999999999999.0`), found `99999999999999999999`, too large for a 64-bit integer".into(), "99999999999999999999"),
        ("1e999", "expected a number below 1.8e308, found `1e999`, which is too large".into(), "1e999"),
        ("volt * volts", format!("unknown name `volts`; {known}"), "volts"),
        ("ΔT + 1", format!("unknown name `ΔT`; {known}"), "ΔT"),
        ("sqr(volt)", format!("unknown function `sqr`; {functions}"), "sqr"),
        ("volt(2)", format!("unknown function `volt` (it is a variable: a call needs a function); {functions}"), "volt"),
        ("1 + sqrt(1, 2)", "`sqrt` takes 1 argument, given 2".into(), "sqrt(1, 2)"),
        ("abs()", "`abs` takes 1 argument, given 0".into(), "abs()"),
        ("min(1)", "`min` takes 2 or more arguments, given 1".into(), "min(1)"),
        ("round(1, 2, 3)", "`round` takes 1 or 2 arguments, given 3".into(), "round(1, 2, 3)"),
        ("if(ok, 1)", "`if` takes 3 arguments (condition, value if true, value if false), given 2".into(), "if(ok, 1)"),
        ("atan2(1)", "`atan2` takes 2 arguments, given 1".into(), "atan2(1)"),
        ("1 < volt < 2", "comparisons do not chain: write `a < b and b < c`".into(), "<"),
        ("1 == r != 2", "comparisons do not chain: write `a < b and b < c`".into(), "!="),
        ("volt + mode", "`mode` is text: `+` needs a number".into(), "mode"),
        ("'a' * 2", "`'a'` is text: `*` needs a number".into(), "'a'"),
        ("-mode", "`mode` is text: `-` needs a number".into(), "mode"),
        ("sqrt(mode)", "`mode` is text: `sqrt` needs a number".into(), "mode"),
        ("max(1, mode)", "`mode` is text: `max` needs a number".into(), "mode"),
        ("ok + 1", "`ok` is a condition (true or false): `+` needs a number".into(), "ok"),
        ("not mode", "`mode` is text: `not` needs a condition (compare it: `mode == 'ON'`)".into(), "mode"),
        ("ok and mode", "`mode` is text: `and` needs a condition (compare it: `mode == 'ON'`)".into(), "mode"),
        ("if(mode, 1, 2)", "`mode` is text: `a condition` needs a condition (compare it: `mode == 'ON'`)".into(), "mode"),
        ("mode == 1", "`mode` is text and `1` a number: they cannot be compared".into(), "mode"),
        ("volt != 'x'", "`'x'` is text and `volt` a number: they cannot be compared".into(), "'x'"),
        ("mode < 'b'", "texts compare only with `==` and `!=`, not `<`".into(), "<"),
        ("ok > ok", "conditions compare only with `==` and `!=`, not `>`".into(), ">"),
        ("ok == 1", "`1` is not a condition: it cannot be compared with `ok`".into(), "1"),
        ("if(ok, 1, 'a')", "`if`'s branches differ: `1` is a number and `'a'` text".into(), "'a'"),
        ("round(volt, 1.5)", "`1.5` is a float: `round`'s digits must be an integer".into(), "1.5"),
        ("vmax / 0", "cannot evaluate `vmax / 0`: division by zero (vmax = 10)".into(), "vmax / 0"),
        ("sqrt(-vmax)", "cannot evaluate `sqrt(-vmax)`: `sqrt(-10)` is not a finite number (vmax = 10)".into(), "sqrt(-vmax)"),
    ];
    for (text, message, at) in cases {
        let err = Expr::parse(text, &Names).expect_err(text);
        assert_eq!(err.to_string(), message, "`{text}`");
        assert_eq!(&text[err.span()], at, "`{text}`: span");
    }
}

/// The static kinds the caller checks conditions and templates with.
#[test]
fn kinds() {
    let cases = [
        ("r + 1", Kind::Int),
        ("volt + 1", Kind::Float),
        ("r / 2", Kind::Float),
        ("r ** 2", Kind::Number),
        ("rb", Kind::Reply),
        ("rb * 2", Kind::Number),
        ("mode", Kind::Text),
        ("volt > 1", Kind::Bool),
        ("not ok", Kind::Bool),
        ("round(volt)", Kind::Int),
        ("round(volt, 2)", Kind::Float),
        ("floor(volt)", Kind::Int),
        ("sqrt(r)", Kind::Float),
        ("abs(r)", Kind::Int),
        ("min(r, 2)", Kind::Int),
        ("min(r, volt)", Kind::Number),
        ("if(ok, r, volt)", Kind::Number),
        ("if(ok, mode, 'x')", Kind::Text),
        ("if(ok, rb, 'x')", Kind::Reply),
        ("vmax * 2", Kind::Int),
        ("vmax ** 2", Kind::Int),
        ("2 ** -1", Kind::Float),
    ];
    for (text, kind) in cases {
        assert_eq!(Expr::parse(text, &Names).unwrap().kind(), kind, "`{text}`");
    }
}

/// Names, slots and constants: names with byte offsets (Unicode-safe), slots only for
/// variables, expressions of constants folded at load, a bare name a direct slot.
#[test]
fn names_slots_and_constants() {
    let expr = Expr::parse("volt / (r + vmax) * pi + r", &Names).unwrap();
    let names: Vec<_> = expr.names().collect();
    assert_eq!(names, [("volt", 0), ("r", 8), ("vmax", 12), ("r", 25)]);
    assert_eq!(expr.slots().collect::<Vec<_>>(), [0, 1, 1]);
    assert_eq!(expr.constant(), None);
    assert_eq!(expr.source(), "volt / (r + vmax) * pi + r");
    assert_eq!(expr.as_slot(), None);
    assert_eq!(Expr::parse(" volt ", &Names).unwrap().as_slot(), Some(0));

    let folded = Expr::parse("vmax / 4 + round(pi)", &Names).unwrap();
    assert_eq!(folded.constant(), Some(&Value::Float(5.5)));
    assert_eq!(folded.slots().count(), 0);
    assert_eq!(folded.names().collect::<Vec<_>>(), [("vmax", 0)]);
    assert_eq!(folded.eval(&[][..]), Ok(Value::Float(5.5)));

    // A name `pi` wins over the constant; `e` is never a constant.
    let shadow = Expr::parse("pi + e", &Shadow).unwrap();
    assert_eq!(shadow.constant(), Some(&Value::Int(6)));
}

/// Nesting past the limit is an error, not a stack overflow; a megabyte of flat operators
/// parses and evaluates.
#[test]
fn depth_limit_and_long_text() {
    let deep = format!(
        "{}1{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let err = Expr::parse(&deep, &Names).unwrap_err();
    assert!(matches!(err, ExprError::TooDeep { .. }), "{err}");
    let ok = format!(
        "{}r{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert_eq!(
        Expr::parse(&ok, &Names)
            .unwrap()
            .eval(&[Value::Int(0), Value::Int(4)][..]),
        Ok(Value::Int(4))
    );
    for deep in [
        "-".repeat(100_000) + "1",
        "not ".repeat(100_000) + "ok",
        "2 ** ".repeat(100_000) + "1",
    ] {
        let err = Expr::parse(&deep, &Names).unwrap_err();
        assert!(matches!(err, ExprError::TooDeep { .. }), "{err}");
    }
    let long = "r + ".repeat(250_000) + "1";
    let expr = Expr::parse(&long, &Names).unwrap();
    assert_eq!(
        expr.eval(&[Value::Int(0), Value::Int(2)][..]),
        Ok(Value::Int(500_001))
    );
    let args = format!("max({}1)", "r, ".repeat(100_000));
    assert_eq!(
        Expr::parse(&args, &Names)
            .unwrap()
            .eval(&[Value::Int(0), Value::Int(2)][..]),
        Ok(Value::Int(2))
    );
}

/// Not a test of speed: prints the time of one `volt / 1000 + 1e-6` evaluation
/// (`cargo test --release -- --ignored --nocapture eval_timing`).
#[test]
#[ignore = "a measurement, run by hand"]
fn eval_timing() {
    let expr = Expr::parse("volt / 1000 + 1e-6", &Names).unwrap();
    let env = [Value::Float(0.5), Value::Int(1)];
    let rounds = 10_000_000u32;
    let start = std::time::Instant::now();
    let mut sum = 0.0;
    for i in 0..rounds {
        let env = std::hint::black_box(&env[..]);
        if let Ok(Value::Float(x)) = expr.eval(env) {
            sum += x + f64::from(i & 1);
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(rounds);
    println!("volt / 1000 + 1e-6: {ns:.1} ns per eval (sum {sum})");
}
