//! Table-driven tests of the language: values, precedence, the integer/float rules,
//! functions, conditions, replies, and every load and run error with its span.

use super::*;

/// The names the tests use: `volt` 0.5 (slot 0), `r` 0 (1), `n` 7 (2), `mode` `CH1` (3, text),
/// `rb` a reply (4), `big` `i64::MAX` (5), `missing` a measured value not taken (6), `ΔT` 2.5
/// (7), `vmax` a parameter 10, `label` a text parameter.
struct Names;

impl Scope for Names {
    fn lookup(&self, name: &str) -> Option<Binding> {
        Some(match name {
            "volt" => Binding::Slot(0, Kind::Float),
            "r" => Binding::Slot(1, Kind::Int),
            "n" => Binding::Slot(2, Kind::Int),
            "mode" => Binding::Slot(3, Kind::Text),
            "rb" => Binding::Slot(4, Kind::Reply),
            "big" => Binding::Slot(5, Kind::Int),
            "missing" => Binding::Slot(6, Kind::Reply),
            "ΔT" => Binding::Slot(7, Kind::Float),
            "vmax" => Binding::Const(Value::Int(10)),
            "label" => Binding::Const(Value::Str("run".into())),
            _ => return None,
        })
    }
    fn known(&self) -> Vec<String> {
        [
            "volt", "r", "n", "mode", "rb", "big", "missing", "ΔT", "vmax", "label",
        ]
        .map(String::from)
        .to_vec()
    }
}

/// A point's values with reply `rb`; slot 6 (`missing`) is absent.
struct Point(Vec<Value>);

impl Env for Point {
    fn get(&self, slot: usize) -> Option<&Value> {
        if slot == 6 { None } else { self.0.get(slot) }
    }
}

fn point(rb: &str) -> Point {
    Point(vec![
        Value::Float(0.5),
        Value::Int(0),
        Value::Int(7),
        Value::Str("CH1".into()),
        Value::Str(rb.into()),
        Value::Int(i64::MAX),
        Value::Int(0),
        Value::Float(2.5),
    ])
}

fn parse(text: &str) -> Result<Expr, ExprError> {
    Expr::parse(text, &Names)
}

fn eval_with(text: &str, rb: &str) -> Result<Value, String> {
    let expr = parse(text).map_err(|e| format!("load: {e}"))?;
    expr.eval(&point(rb)).map_err(|e| e.to_string())
}

fn eval(text: &str) -> Value {
    eval_with(text, " +1.5E+00").unwrap_or_else(|e| panic!("`{text}`: {e}"))
}

fn rendered(text: &str) -> String {
    eval(text).to_string()
}

/// Values, precedence and associativity: each expression renders as Python prints it.
#[test]
fn precedence_and_values() {
    let cases = [
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("-2 ** 2", "-4"),
        ("(-2) ** 2", "4"),
        ("2 ** 3 ** 2", "512"),
        ("2 ** -1", "0.5"),
        ("-2 * -3", "6"),
        ("+3 - -3", "6"),
        ("10 - 4 - 3", "3"),
        ("2 * 3 % 4", "2"),
        ("7 % 3", "1"),
        ("-7 % 3", "2"),
        ("7 % -3", "-2"),
        ("-7.5 % 2", "0.5"),
        ("1 / 4", "0.25"),
        ("6 / 3", "2"),
        ("1e3", "1000"),
        ("1.5e-3", "0.0015"),
        (".5 + 1.", "1.5"),
        ("volt / 1000 + 1e-6", "0.000501"),
        ("0.1 + 0.2", "0.3"),
        ("ΔT * 2", "5"),
        ("vmax / 4", "2.5"),
        ("pi", "3.14159265359"),
        ("1 < 2", "1"),
        ("1 > 2", "0"),
        ("not 1 > 2", "1"),
        ("1 < 2 and 2 < 1 or 3 == 3", "1"),
        ("not (1 < 2 and 2 < 1)", "1"),
        ("1 + 1 == 2", "1"),
        ("1 == 1.0", "1"),
        ("n >= 7 and n <= 7 and n != 8", "1"),
        ("mode == 'CH1'", "1"),
        ("mode != \"CH2\"", "1"),
        ("'it''s'", "it's"),
        ("\"say \"\"hi\"\"\"", "say \"hi\""),
        ("'a\\b'", "a\\b"),
        ("label", "run"),
        ("9223372036854775807", "9223372036854775807"),
        ("-9223372036854775807 - 1", "-9223372036854775808"),
        ("2 ** 62", "4611686018427387904"),
        ("(-1) ** 10000000000", "1"),
        ("n and 0", "0"),
        ("0 or n", "1"),
    ];
    for (text, want) in cases {
        assert_eq!(rendered(text), want, "`{text}`");
    }
}

/// Integer rules: `+ - * % abs min max round floor ceil` of integers give integers, `/`
/// a float, `**` an integer for a non-negative integer exponent.
#[test]
fn integer_and_float_results() {
    let cases = [
        ("1 + 2", Value::Int(3)),
        ("1 + 2.0", Value::Float(3.0)),
        ("7 * n", Value::Int(49)),
        ("n % 4", Value::Int(3)),
        ("4 / 2", Value::Float(2.0)),
        ("2 ** 10", Value::Int(1024)),
        ("2 ** -2", Value::Float(0.25)),
        ("2.0 ** 2", Value::Float(4.0)),
        ("abs(-3)", Value::Int(3)),
        ("abs(-3.5)", Value::Float(3.5)),
        ("min(3, 1, 2)", Value::Int(1)),
        ("max(3, 1.5)", Value::Int(3)),
        ("max(1, 2.5, 2)", Value::Float(2.5)),
        ("round(2.5)", Value::Int(3)),
        ("round(-2.5)", Value::Int(-3)),
        ("round(7)", Value::Int(7)),
        ("round(2.345, 2)", Value::Float(2.35)),
        ("round(1234.5, -2)", Value::Float(1200.0)),
        ("round(7, 1)", Value::Float(7.0)),
        ("round(1234.5, -400)", Value::Float(0.0)),
        ("round(1e300, 2)", Value::Float(1e300)),
        ("round(0.5, 400)", Value::Float(0.5)),
        ("floor(-1.5)", Value::Int(-2)),
        ("ceil(-1.5)", Value::Int(-1)),
        ("ceil(1.2)", Value::Int(2)),
        ("floor(3)", Value::Int(3)),
        ("1 < 2", Value::Bool(true)),
        ("rb", Value::Str(" +1.5E+00".into())),
        ("rb * 2", Value::Float(3.0)),
    ];
    for (text, want) in cases {
        assert_eq!(eval(text), want, "`{text}`");
    }
}

/// Every float function, at a point where its value is known exactly enough.
#[test]
fn float_functions() {
    let cases = [
        ("sqrt(16)", 4.0),
        ("exp(0)", 1.0),
        ("ln(exp(2))", 2.0),
        ("log10(1000)", 3.0),
        ("sin(pi / 2)", 1.0),
        ("cos(0)", 1.0),
        ("tan(pi / 4)", 1.0),
        ("asin(1)", std::f64::consts::FRAC_PI_2),
        ("acos(1)", 0.0),
        ("atan(1)", std::f64::consts::FRAC_PI_4),
        ("atan2(1, -1)", 3.0 * std::f64::consts::FRAC_PI_4),
    ];
    for (text, want) in cases {
        let Value::Float(got) = eval(text) else {
            panic!("`{text}` gives no float");
        };
        assert!((got - want).abs() < 1e-12, "`{text}`: {got} != {want}");
    }
}

/// Run-time errors: each says what went wrong and the values of the names used.
#[test]
fn evaluation_errors() {
    let cases = [
        (
            "volt / r",
            "cannot evaluate `volt / r`: division by zero (volt = 0.5, r = 0)",
        ),
        (
            "n % r",
            "cannot evaluate `n % r`: modulo by zero (n = 7, r = 0)",
        ),
        (
            "n % (r * 1.5)",
            "cannot evaluate `n % (r * 1.5)`: modulo by zero (n = 7, r = 0)",
        ),
        (
            "sqrt(r - 1)",
            "cannot evaluate `sqrt(r - 1)`: `sqrt(-1)` is not a finite number (r = 0)",
        ),
        (
            "ln(r)",
            "cannot evaluate `ln(r)`: `ln(0)` is not a finite number (r = 0)",
        ),
        (
            "log10(r - 1)",
            "cannot evaluate `log10(r - 1)`: `log10(-1)` is not a finite number (r = 0)",
        ),
        (
            "asin(n)",
            "cannot evaluate `asin(n)`: `asin(7)` is not a finite number (n = 7)",
        ),
        (
            "acos(n)",
            "cannot evaluate `acos(n)`: `acos(7)` is not a finite number (n = 7)",
        ),
        (
            "exp(n * 1000)",
            "cannot evaluate `exp(n * 1000)`: `exp(7000)` is not a finite number (n = 7)",
        ),
        (
            "volt * 1e308 * 10",
            "cannot evaluate `volt * 1e308 * 10`: `5e+307 * 10` is not a finite number (volt = 0.5)",
        ),
        (
            "big + 1",
            "cannot evaluate `big + 1`: `9223372036854775807 + 1` overflows a 64-bit integer (big = 9223372036854775807)",
        ),
        (
            "big * n",
            "cannot evaluate `big * n`: `9223372036854775807 * 7` overflows a 64-bit integer (big = 9223372036854775807, n = 7)",
        ),
        (
            "n ** big",
            "cannot evaluate `n ** big`: `7 ** 9223372036854775807` overflows a 64-bit integer (n = 7, big = 9223372036854775807)",
        ),
        (
            "-big - 2",
            "cannot evaluate `-big - 2`: `-9223372036854775807 - 2` overflows a 64-bit integer (big = 9223372036854775807)",
        ),
        (
            "round(big * 2.0)",
            "cannot evaluate `round(big * 2.0)`: `round(1.84467440737e+19)` overflows a 64-bit integer (big = 9223372036854775807)",
        ),
        (
            "r ** -1",
            "cannot evaluate `r ** -1`: division by zero (r = 0)",
        ),
        (
            "missing + 1",
            "cannot evaluate `missing + 1`: `missing` has not been measured in this point",
        ),
        (
            "round(volt, rb)",
            "cannot evaluate `round(volt, rb)`: `round`'s digits must be an integer, not `1.5` (volt = 0.5, rb =  +1.5E+00)",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(eval_with(text, " +1.5E+00").unwrap_err(), want, "`{text}`");
    }
}

/// `in_command` puts the command after the expression, as the issue's example reads.
#[test]
fn error_in_command() {
    let err = parse("volt / r").unwrap().eval(&point("1")).unwrap_err();
    assert_eq!(
        err.in_command("SOUR:VOLT {volt / r}"),
        "cannot evaluate `volt / r` in `SOUR:VOLT {volt / r}`: division by zero (volt = 0.5, r = 0)"
    );
    assert_eq!(err.what, Problem::DivisionByZero);
    assert_eq!(err.values[1], ("r".to_owned(), Value::Int(0)));
}

/// `if`, `and` and `or` evaluate only what they need: the branch not taken may divide by
/// zero or read a value not measured.
#[test]
fn lazy_branches() {
    let cases = [
        ("if(r == 0, 0, volt / r)", Value::Int(0)),
        ("if(r != 0, volt / r, -1)", Value::Int(-1)),
        ("if(1, 'a', 'b')", Value::Str("a".into())),
        ("if(0, 'a', 'b')", Value::Str("b".into())),
        ("r != 0 and volt / r > 1", Value::Bool(false)),
        ("r == 0 or volt / r > 1", Value::Bool(true)),
        ("if(n > 5, if(n > 6, 3, 2), missing)", Value::Int(3)),
        ("min(if(r == 0, 1, volt / r), 5) + 1", Value::Int(2)),
    ];
    for (text, want) in cases {
        assert_eq!(eval(text), want, "`{text}`");
    }
}

/// Replies: read as numbers the SCPI way when used as numbers, compared trimmed with texts;
/// a reply that is no number fails the point.
#[test]
fn replies() {
    let ok = [
        ("+1.234E-03", "rb * 1000", Value::Float(1.234)),
        (" 42", "rb + 1", Value::Int(43)),
        ("42\n", "rb > 41", Value::Bool(true)),
        ("-5", "abs(rb)", Value::Int(5)),
        ("9.91E37", "rb > 1e37", Value::Bool(true)),
        (" ON ", "rb == 'ON'", Value::Bool(true)),
        ("ON", "rb != 'OFF'", Value::Bool(true)),
        ("1", "not rb", Value::Bool(false)),
        ("1.0", "rb == 1", Value::Bool(true)),
        ("0", "if(rb, 'on', 'off')", Value::Str("off".into())),
    ];
    for (reply, text, want) in ok {
        assert_eq!(eval_with(text, reply), Ok(want), "`{text}` with `{reply}`");
    }
    let bad = [
        (
            "OVLD",
            "rb * 2",
            "cannot evaluate `rb * 2`: reply `OVLD` is not a number (rb = OVLD)",
        ),
        (
            "NAN",
            "rb + 0",
            "cannot evaluate `rb + 0`: reply `NAN` is not a number (rb = NAN)",
        ),
        (
            "INF",
            "-rb",
            "cannot evaluate `-rb`: reply `INF` is not a number (rb = INF)",
        ),
        (
            "",
            "rb < 1",
            "cannot evaluate `rb < 1`: reply `` is not a number (rb = )",
        ),
        (
            "ON",
            "rb and 1",
            "cannot evaluate `rb and 1`: reply `ON` is not a number (rb = ON)",
        ),
        (
            "ON",
            "rb < 'OFF'",
            "load: texts compare only with `==` and `!=`, not `<`",
        ),
    ];
    for (reply, text, want) in bad {
        assert_eq!(
            eval_with(text, reply).unwrap_err(),
            want,
            "`{text}` with `{reply}`"
        );
    }
}

/// Conditions: `truth` takes conditions and numbers (not zero is true).
#[test]
fn truth() {
    let env = point("0");
    let cases = [
        ("volt > 0.1", true),
        ("n", true),
        ("r", false),
        ("volt", true),
        ("rb", false),
        ("not r", true),
        ("true", true),
        ("false", false),
        ("true and not false", true),
        ("volt > 1 or false", false),
        ("if(true, n, r)", true),
    ];
    for (text, want) in cases {
        assert_eq!(parse(text).unwrap().truth(&env), Ok(want), "`{text}`");
    }
    assert_eq!(parse("true").unwrap().kind(), Kind::Bool);
    assert_eq!(
        parse("false").unwrap().constant(),
        Some(&Value::Bool(false))
    );
    let err = parse("mode").unwrap().truth(&env).unwrap_err();
    assert_eq!(
        err.what,
        Problem::Type("text `CH1` used as a condition".into())
    );
}

/// Rendering goes through `Value::render`: 12 significant digits, conditions as `1`/`0`,
/// and `render_fixed` on results.
#[test]
fn rendering() {
    let cases = [
        ("volt / 1000 + 1e-6", "0.000501"),
        ("1 / 3", "0.333333333333"),
        ("1e-5", "1e-05"),
        ("2 ** 0.5 * 1e20", "1.41421356237e+20"),
        ("volt > 0", "1"),
        ("volt < 0", "0"),
        ("-0.0", "0"),
    ];
    for (text, want) in cases {
        let mut out = String::new();
        eval(text).render(&mut out);
        assert_eq!(out, want, "`{text}`");
    }
    let mut out = String::new();
    eval("volt > 0").render_fixed(3, &mut out);
    eval("1 / 3").render_fixed(3, &mut out);
    assert_eq!(out, "10.333");
}

/// The function list in messages is the list the parser knows.
#[test]
fn function_names_agree() {
    for name in func::NAMES {
        let func = func::Func::from_name(name).expect(name);
        assert_eq!(func.name(), *name);
    }
    assert_eq!(func::Func::from_name("sqr"), None);
}
