//! Values: `int()`/`float()`/`str()` conversions, `<` and `>`, `str()` of a float, and
//! the documented divergences from Python.
//!
//! Tables whose expected values were produced by Python 3.11.7: each table carries the
//! `python3 -c` line that prints them, one `repr` per case in table order (an error
//! prints as `ExceptionType: message`, which is what the `Err` cases hold).

use std::cmp::Ordering::{Equal, Greater, Less};

use super::{f, i, s};
use crate::sim::pyvisa::pyfmt::{PyError, PyType, PyValue, format, format_value};

/// `int()`, `float()` and `str()` of each value type accept and reject what Python does, with Python's messages.
#[test]
fn conversions_are_pythons() {
    // conversions
    // python3 -c 'exec("def f(v, t):\n try: r = t(v); return type(r).__name__ + \": \" + repr(r)\n except Exception as e: return type(e).__name__ + \": \" + str(e)"); [print(f(*c)) for c in [(" 7 ", int), ("1_000", int), ("1__0", int), ("_1", int), ("1_", int), ("1.5", int), ("+7", int), ("- 7", int), ("-0", int), ("007", int), ("", int), ("\u3000 7\xa0", int), ("\x1c7", int), ("9223372036854775807", int), ("-9223372036854775808", int), (1.9, int), (-1.9, int), (-0.0, int), (float("inf"), int), (float("nan"), int), (1e18, int), ("1e3", float), (" inf ", float), ("-Infinity", float), ("+nAn", float), ("infinit", float), (".5", float), ("5.", float), (".", float), ("1e", float), ("1_0.5_5", float), ("1e1_0", float), ("1_e5", float), ("1._5", float), ("0x10", float), ("1e500", float), ("-1e-500", float), ("", float), ("\n\t2.5\r ", float), (2, float), (-9007199254740993, float), (1.5, str), (-0.0, str), (1e16, str), (7, str), ("x", str), ("1,5", float)]]'
    #[rustfmt::skip]
    let cases = [
        (s(" 7 "), PyType::Int, Ok(i(7))),
        (s("1_000"), PyType::Int, Ok(i(1000))),
        (s("1__0"), PyType::Int, Err("ValueError: invalid literal for int() with base 10: '1__0'")),
        (s("_1"), PyType::Int, Err("ValueError: invalid literal for int() with base 10: '_1'")),
        (s("1_"), PyType::Int, Err("ValueError: invalid literal for int() with base 10: '1_'")),
        (s("1.5"), PyType::Int, Err("ValueError: invalid literal for int() with base 10: '1.5'")),
        (s("+7"), PyType::Int, Ok(i(7))),
        (s("- 7"), PyType::Int, Err("ValueError: invalid literal for int() with base 10: '- 7'")),
        (s("-0"), PyType::Int, Ok(i(0))),
        (s("007"), PyType::Int, Ok(i(7))),
        (s(""), PyType::Int, Err("ValueError: invalid literal for int() with base 10: ''")),
        (s("\u{3000} 7\u{a0}"), PyType::Int, Ok(i(7))),
        (s("\u{1c}7"), PyType::Int, Err("ValueError: invalid literal for int() with base 10: '\\x1c7'")),
        (s("9223372036854775807"), PyType::Int, Ok(i(9223372036854775807))),
        (s("-9223372036854775808"), PyType::Int, Ok(i(-9223372036854775808))),
        (f(1.9), PyType::Int, Ok(i(1))),
        (f(-1.9), PyType::Int, Ok(i(-1))),
        (f(-0.0), PyType::Int, Ok(i(0))),
        (f(f64::INFINITY), PyType::Int, Err("OverflowError: cannot convert float infinity to integer")),
        (f(f64::NAN), PyType::Int, Err("ValueError: cannot convert float NaN to integer")),
        (f(1e18), PyType::Int, Ok(i(1000000000000000000))),
        (s("1e3"), PyType::Float, Ok(f(1000.0))),
        (s(" inf "), PyType::Float, Ok(f(f64::INFINITY))),
        (s("-Infinity"), PyType::Float, Ok(f(f64::NEG_INFINITY))),
        (s("+nAn"), PyType::Float, Ok(f(f64::NAN))),
        (s("infinit"), PyType::Float, Err("ValueError: could not convert string to float: 'infinit'")),
        (s(".5"), PyType::Float, Ok(f(0.5))),
        (s("5."), PyType::Float, Ok(f(5.0))),
        (s("."), PyType::Float, Err("ValueError: could not convert string to float: '.'")),
        (s("1e"), PyType::Float, Err("ValueError: could not convert string to float: '1e'")),
        (s("1_0.5_5"), PyType::Float, Ok(f(10.55))),
        (s("1e1_0"), PyType::Float, Ok(f(10000000000.0))),
        (s("1_e5"), PyType::Float, Err("ValueError: could not convert string to float: '1_e5'")),
        (s("1._5"), PyType::Float, Err("ValueError: could not convert string to float: '1._5'")),
        (s("0x10"), PyType::Float, Err("ValueError: could not convert string to float: '0x10'")),
        (s("1e500"), PyType::Float, Ok(f(f64::INFINITY))),
        (s("-1e-500"), PyType::Float, Ok(f(-0.0))),
        (s(""), PyType::Float, Err("ValueError: could not convert string to float: ''")),
        (s("\n\t2.5\r "), PyType::Float, Ok(f(2.5))),
        (i(2), PyType::Float, Ok(f(2.0))),
        (i(-9007199254740993), PyType::Float, Ok(f(-9007199254740992.0))),
        (f(1.5), PyType::Str, Ok(s("1.5"))),
        (f(-0.0), PyType::Str, Ok(s("-0.0"))),
        (f(1e16), PyType::Str, Ok(s("1e+16"))),
        (i(7), PyType::Str, Ok(s("7"))),
        (s("x"), PyType::Str, Ok(s("x"))),
        (s("1,5"), PyType::Float, Err("ValueError: could not convert string to float: '1,5'")),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(value, to, want)| {
            let got = value.convert(*to);
            let same = match (&got, want) {
                (Ok(g), Ok(w)) => g.py_type() == w.py_type() && g.py_repr() == w.py_repr(),
                (Err(g), Err(w)) => g.to_string() == *w,
                _ => false,
            };
            (!same).then(|| format!("{value:?} to {to:?}: got {got:?}, want {want:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `<` and `>` between values: exact across int and float, by code point for strs, `TypeError` (None) across str and number, NaN unordered (Equal).
#[test]
fn comparisons_are_pythons() {
    // comparisons
    // python3 -c 'exec("def f(a, b):\n try: return \"<\" if a < b else \">\" if a > b else \"=\"\n except TypeError: return \"TypeError\""); [print(f(*c)) for c in [(1, 2), (2, 1), (1, 1), (1, 1.5), (2, 1.5), (1.5, 1), (1, 1.0), (9007199254740993, 9007199254740992.0), (-9007199254740993, -9007199254740992.0), (9223372036854775807, 9223372036854775808.0), (-9223372036854775808, -9223372036854775808.0), (-9223372036854775808, -1e19), (5, float("inf")), (5, float("-inf")), (5, float("nan")), (float("nan"), float("nan")), (0.0, -0.0), ("a", "b"), ("b", "a"), ("a", "a"), ("Z", "a"), ("é", "z"), ("😀", "\uffff"), ("ab", "a"), ("1", 1), (1.5, "x")]]'
    #[rustfmt::skip]
    let cases = [
        (i(1), i(2), Some(Less)),
        (i(2), i(1), Some(Greater)),
        (i(1), i(1), Some(Equal)),
        (i(1), f(1.5), Some(Less)),
        (i(2), f(1.5), Some(Greater)),
        (f(1.5), i(1), Some(Greater)),
        (i(1), f(1.0), Some(Equal)),
        (i(9007199254740993), f(9007199254740992.0), Some(Greater)),
        (i(-9007199254740993), f(-9007199254740992.0), Some(Less)),
        (i(9223372036854775807), f(9.223372036854776e18), Some(Less)),
        (i(-9223372036854775808), f(-9.223372036854776e18), Some(Equal)),
        (i(-9223372036854775808), f(-1e19), Some(Greater)),
        (i(5), f(f64::INFINITY), Some(Less)),
        (i(5), f(f64::NEG_INFINITY), Some(Greater)),
        (i(5), f(f64::NAN), Some(Equal)),
        (f(f64::NAN), f(f64::NAN), Some(Equal)),
        (f(0.0), f(-0.0), Some(Equal)),
        (s("a"), s("b"), Some(Less)),
        (s("b"), s("a"), Some(Greater)),
        (s("a"), s("a"), Some(Equal)),
        (s("Z"), s("a"), Some(Less)),
        (s("é"), s("z"), Some(Greater)),
        (s("😀"), s("\u{ffff}"), Some(Greater)),
        (s("ab"), s("a"), Some(Greater)),
        (s("1"), i(1), None),
        (f(1.5), s("x"), None),
    ];
    for (a, b, want) in cases {
        assert_eq!(a.py_cmp(&b), want, "{a:?} vs {b:?}");
    }
}

/// `str()` of a float is its untyped format and its `{}` template, as in Python.
#[test]
fn str_of_a_float_is_its_empty_format() {
    for x in [0.1, 1e16, 1e-5, -0.0, f64::INFINITY, f64::NAN, 5e-324, 1e22] {
        let text = PyValue::Float(x).to_py_string();
        assert_eq!(format_value(&f(x), ""), Ok(text.clone()));
        assert_eq!(format("{}", &f(x)), Ok(text.clone()));
        assert_eq!(format("{:}", &f(x)), Ok(text));
    }
}

/// What Python accepts but this module refuses fails with an `unsupported:` message
/// naming the construct, instead of a wrong answer; Unicode digits are not digits.
#[test]
fn documented_divergences_fail_loudly() {
    fn unsupported<T>(r: Result<T, PyError>) -> bool {
        r.is_err_and(|e| matches!(e, PyError::Unsupported(_)))
    }
    assert!(unsupported(format("{0.real}", &i(5))), "attribute access");
    assert!(unsupported(format("{[0]}", &s("ab"))), "index access");
    assert!(unsupported(format_value(&i(0xd800), "c")), "surrogate");
    assert!(
        unsupported(s("99999999999999999999").convert(PyType::Int)),
        "big int"
    );
    assert!(
        unsupported(f(1e19).convert(PyType::Int)),
        "big float to int"
    );
    // Python reads these as 1 and as a width of 5; here they are not digits.
    assert!(s("\u{661}").convert(PyType::Int).is_err());
    assert!(format_value(&i(1), "\u{665}").is_err());
}
