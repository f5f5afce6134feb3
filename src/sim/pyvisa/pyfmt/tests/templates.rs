//! Templates (`str.format`) and `repr` of a str.
//!
//! Tables whose expected values were produced by Python 3.11.7: each table carries the
//! `python3 -c` line that prints them, one `repr` per case in table order (an error
//! prints as `ExceptionType: message`, which is what the `Err` cases hold).

use super::{f, i, s};
use crate::sim::pyvisa::pyfmt::format;

/// Templates: numbering, repeated and nested fields, conversions, escapes, and Python's errors in Python's order.
#[test]
fn templates_format_like_python() {
    // templates
    // python3 -c 'exec("def f(t, v):\n try: return t.format(v)\n except Exception as e: return type(e).__name__ + \": \" + str(e)"); [print(repr(f(*c))) for c in [("VOLT {:.2f}", 1.5), ("{}", 2), ("{0}{0}", "ab"), ("{}{}", 1), ("{}{0}", 1), ("{0}{}", 1), ("{1}", 1), ("{x}", 1), ("{ x}", 1), ("{\"}", 1), ("{{}}{{", 1), ("}", 1), ("{", 1), ("a}b", 1), ("{0", 1), ("{:", 1), ("{!}", 1), ("{!", 1), ("{!r", 1), ("{!rx}", 1), ("{!x}", 1), ("{a{}", 1), ("{0[}", 1), ("{0!r:>6}", "a"), ("{!a}", "é"), ("{!s:>4}", 1.5), ("{0:{0}}", 5), ("{:{}}", 5), ("{0:{0:{0}}}", 5), ("{0:>{0}.{0}}", 3), ("{0:{{}}}", 5), ("CH{0}:{0:d}", 3), ("{00}", 7), ("{99999999999999999999}", 1), ("{:{:{}}}", 5), ("{!r}", "it\x27s"), ("{!r}", "\n\x00\x7f\xa0"), ("{!r}", 1e16), ("{}", -0.0)]]'
    #[rustfmt::skip]
    let cases = [
        ("VOLT {:.2f}", f(1.5), Ok("VOLT 1.50")),
        ("{}", i(2), Ok("2")),
        ("{0}{0}", s("ab"), Ok("abab")),
        ("{}{}", i(1), Err("IndexError: Replacement index 1 out of range for positional args tuple")),
        ("{}{0}", i(1), Err("ValueError: cannot switch from automatic field numbering to manual field specification")),
        ("{0}{}", i(1), Err("ValueError: cannot switch from manual field specification to automatic field numbering")),
        ("{1}", i(1), Err("IndexError: Replacement index 1 out of range for positional args tuple")),
        ("{x}", i(1), Err("KeyError: 'x'")),
        ("{ x}", i(1), Err("KeyError: ' x'")),
        ("{\"}", i(1), Err("KeyError: '\"'")),
        ("{{}}{{", i(1), Ok("{}{")),
        ("}", i(1), Err("ValueError: Single '}' encountered in format string")),
        ("{", i(1), Err("ValueError: Single '{' encountered in format string")),
        ("a}b", i(1), Err("ValueError: Single '}' encountered in format string")),
        ("{0", i(1), Err("ValueError: expected '}' before end of string")),
        ("{:", i(1), Err("ValueError: unmatched '{' in format spec")),
        ("{!}", i(1), Err("ValueError: unmatched '{' in format spec")),
        ("{!", i(1), Err("ValueError: end of string while looking for conversion specifier")),
        ("{!r", i(1), Err("ValueError: unmatched '{' in format spec")),
        ("{!rx}", i(1), Err("ValueError: expected ':' after conversion specifier")),
        ("{!x}", i(1), Err("ValueError: Unknown conversion specifier x")),
        ("{a{}", i(1), Err("ValueError: unexpected '{' in field name")),
        ("{0[}", i(1), Err("ValueError: expected '}' before end of string")),
        ("{0!r:>6}", s("a"), Ok("   'a'")),
        ("{!a}", s("é"), Ok("'\\xe9'")),
        ("{!s:>4}", f(1.5), Ok(" 1.5")),
        ("{0:{0}}", i(5), Ok("    5")),
        ("{:{}}", i(5), Err("IndexError: Replacement index 1 out of range for positional args tuple")),
        ("{0:{0:{0}}}", i(5), Err("ValueError: Max string recursion exceeded")),
        ("{0:>{0}.{0}}", i(3), Err("ValueError: Precision not allowed in integer format specifier")),
        ("{0:{{}}}", i(5), Err("ValueError: Invalid format specifier '{}' for object of type 'int'")),
        ("CH{0}:{0:d}", i(3), Ok("CH3:3")),
        ("{00}", i(7), Ok("7")),
        ("{99999999999999999999}", i(1), Err("ValueError: Too many decimal digits in format string")),
        ("{:{:{}}}", i(5), Err("IndexError: Replacement index 1 out of range for positional args tuple")),
        ("{!r}", s("it's"), Ok("\"it's\"")),
        ("{!r}", s("\n\u{0}\u{7f}\u{a0}"), Ok("'\\n\\x00\\x7f\\xa0'")),
        ("{!r}", f(1e16), Ok("1e+16")),
        ("{}", f(-0.0), Ok("-0.0")),
    ];
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(template, value, want)| {
            let got = format(template, value).map_err(|e| e.to_string());
            let want = want.map(str::to_owned).map_err(str::to_owned);
            (got != want)
                .then(|| format!("{template:?} with {value:?}: got {got:?}, want {want:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `repr` of a str picks quotes and escapes as Python does for the characters it can
/// classify.
#[test]
fn str_repr_quotes_and_escapes() {
    // python3 -c 'print(repr("it\x27s")); print(repr("a\"b\x27c")); print(repr("\xad\u200b\ue000\u3000é")); print("{!a}".format("é😀"))'
    assert_eq!(s("it's").py_repr(), "\"it's\"");
    assert_eq!(s("a\"b'c").py_repr(), "'a\"b\\'c'");
    assert_eq!(
        s("\u{ad}\u{200b}\u{e000}\u{3000}é").py_repr(),
        "'\\xad\\u200b\\ue000\\u3000é'"
    );
    assert_eq!(
        format("{!a}", &s("é😀")),
        Ok("'\\xe9\\U0001f600'".to_owned())
    );
}
