//! Properties over random input: parsing never panics on any text or token soup, and
//! evaluating any well-formed expression on any values never panics (it gives a value or an
//! error).

use proptest::prelude::*;
use proptest::test_runner::Config;

use super::{Binding, Expr, Kind, Scope, Value};

/// Proptest settings: no regression files in the source tree.
fn config() -> Config {
    Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    }
}

/// `a` an int, `x` a float, `s` text, `rb` a reply, `ok` a condition (slots 0 to 4), `p` a
/// parameter 3.
struct Names;

impl Scope for Names {
    fn lookup(&self, name: &str) -> Option<Binding> {
        Some(match name {
            "a" => Binding::Slot(0, Kind::Int),
            "x" => Binding::Slot(1, Kind::Float),
            "s" => Binding::Slot(2, Kind::Text),
            "rb" => Binding::Slot(3, Kind::Reply),
            "ok" => Binding::Slot(4, Kind::Bool),
            "p" => Binding::Const(Value::Int(3)),
            _ => return None,
        })
    }
    fn known(&self) -> Vec<String> {
        ["a", "x", "s", "rb", "ok", "p"].map(String::from).to_vec()
    }
}

/// Tokens, valid and not, to glue into soups.
const TOKENS: &[&str] = &[
    "a",
    "x",
    "s",
    "rb",
    "ok",
    "p",
    "pi",
    "zz",
    "ΔT",
    "1",
    "0",
    "-1",
    "2.5",
    "1e3",
    ".5",
    "1e",
    "9223372036854775807",
    "'t'",
    "\"u\"",
    "'",
    "(",
    ")",
    ",",
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "and",
    "or",
    "not",
    "abs(",
    "min(",
    "max(",
    "round(",
    "floor(",
    "ceil(",
    "sqrt(",
    "exp(",
    "ln(",
    "log10(",
    "sin(",
    "atan2(",
    "if(",
    "=",
    "!",
    "&&",
    "#",
    " ",
    "é",
    "\u{301}",
];

/// A random well-formed expression over the names, as text.
fn expression() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(vec!["a", "x", "rb", "p", "pi", "ok", "s", "'t'"])
            .prop_map(String::from),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| format!("{x:e}")),
    ];
    leaf.prop_recursive(6, 48, 3, |inner| {
        let op = prop::sample::select(vec![
            "+", "-", "*", "/", "%", "**", "==", "!=", "<", "<=", ">", ">=", "and", "or",
        ]);
        let unary = prop::sample::select(vec![
            "abs", "round", "floor", "ceil", "sqrt", "exp", "ln", "log10", "sin", "cos", "tan",
            "asin", "acos", "atan",
        ]);
        let binary = prop::sample::select(vec!["min", "max", "atan2", "round"]);
        prop_oneof![
            (inner.clone(), op, inner.clone()).prop_map(|(l, o, r)| format!("({l} {o} {r})")),
            inner.clone().prop_map(|e| format!("-({e})")),
            inner.clone().prop_map(|e| format!("not ({e})")),
            (unary, inner.clone()).prop_map(|(f, e)| format!("{f}({e})")),
            (binary, inner.clone(), inner.clone()).prop_map(|(f, a, b)| format!("{f}({a}, {b})")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(c, a, b)| format!("if({c}, {a}, {b})")),
        ]
    })
}

/// A point's values: any int, any float (finite or not), any text, a reply that is often a
/// number, any condition.
fn values() -> impl Strategy<Value = Vec<Value>> {
    (
        any::<i64>(),
        any::<u64>().prop_map(f64::from_bits),
        "[a-zé ]{0,4}",
        prop_oneof![
            any::<i64>().prop_map(|i| format!(" {i}")),
            any::<f64>().prop_map(|x| format!("{x:E}")),
            "[A-Z0-9+.eE -]{0,6}",
        ],
        any::<bool>(),
    )
        .prop_map(|(a, x, s, rb, ok)| {
            vec![
                Value::Int(a),
                Value::Float(x),
                Value::Str(s),
                Value::Str(rb),
                Value::Bool(ok),
            ]
        })
}

proptest! {
    #![proptest_config(config())]

    /// Any text parses or fails with a span inside the text, on a char boundary.
    #[test]
    fn parsing_any_text_never_panics(text in "\\PC{0,40}") {
        if let Err(err) = Expr::parse(&text, &Names) {
            let span = err.span();
            prop_assert!(span.start <= span.end && span.end <= text.len());
            prop_assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
        }
    }

    /// Soups of tokens parse or fail with a span inside the text; what parses evaluates to
    /// a value or an error.
    #[test]
    fn token_soups_never_panic(
        soup in prop::collection::vec(prop::sample::select(TOKENS), 0..24),
        env in values(),
    ) {
        let text = soup.join(" ");
        match Expr::parse(&text, &Names) {
            Ok(expr) => {
                let _ = expr.eval(&env[..]);
                let _ = expr.truth(&env[..]);
            }
            Err(err) => prop_assert!(err.span().end <= text.len()),
        }
        let glued = soup.concat();
        if let Err(err) = Expr::parse(&glued, &Names) {
            prop_assert!(err.span().end <= glued.len());
        }
    }

    /// A well-formed expression either is refused at load with a type error or evaluates to
    /// a value or an error, never a panic; a float it gives is finite.
    #[test]
    fn evaluation_never_panics(text in expression(), env in values()) {
        if let Ok(expr) = Expr::parse(&text, &Names) {
            if let Ok(Value::Float(x)) = expr.eval(&env[..]) {
                // A non-finite float can only come through unchanged from the point's values.
                prop_assert!(x.is_finite() || text.contains('x'), "{} gave {}", text, x);
            }
            let _ = expr.truth(&env[..]);
        }
    }
}
