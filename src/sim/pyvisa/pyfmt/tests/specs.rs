//! Format specs on ints and strs: grouping, bases, characters, fill, alignment, sign,
//! precision, Python's errors, and the width and precision limits.
//!
//! Tables whose expected values were produced by Python 3.11.7: each table carries the
//! `python3 -c` line that prints them, one `repr` per case in table order (an error
//! prints as `ExceptionType: message`, which is what the `Err` cases hold).

use super::{check_grid, check_pairs, f, i, s};
use crate::sim::pyvisa::pyfmt::{PyError, format, format_value};

/// Ints group by three with `,` or `_`, zero padding is grouped too, `n` is `d` in the C locale, float types convert the int.
#[test]
fn int_grouping_zero_padding_and_float_types() {
    // ints: grouping, zero padding, n, ints through float types
    // python3 -c 'exec("def f(v, s):\n try: return format(v, s)\n except Exception as e: return type(e).__name__ + \": \" + str(e)"); [print(repr(f(v, s))) for v in [0, 7, -1234, 1234567, -9223372036854775808, 9223372036854775807] for s in [",", "_", "012,", "0=12_", "_x", "_b", "#_o", ",.2f", ",e", "n", "+,", " _", "015,d", "%", ".3g"]]'
    #[rustfmt::skip]
    let values = [
        i(0), i(7), i(-1234), i(1234567), i(-9223372036854775808), i(9223372036854775807),
    ];
    #[rustfmt::skip]
    let specs = [
        ",", "_", "012,", "0=12_", "_x", "_b", "#_o", ",.2f", ",e", "n", "+,", " _", "015,d",
        "%", ".3g",
    ];
    #[rustfmt::skip]
    let expected = [
        Ok("0"), Ok("0"), Ok("0,000,000,000"), Ok("0_000_000_000"), Ok("0"), Ok("0"), Ok("0o0"),
        Ok("0.00"), Ok("0.000000e+00"), Ok("0"), Ok("+0"), Ok(" 0"), Ok("000,000,000,000"),
        Ok("0.000000%"), Ok("0"),
        Ok("7"), Ok("7"), Ok("0,000,000,007"), Ok("0_000_000_007"), Ok("7"), Ok("111"),
        Ok("0o7"), Ok("7.00"), Ok("7.000000e+00"), Ok("7"), Ok("+7"), Ok(" 7"),
        Ok("000,000,000,007"), Ok("700.000000%"), Ok("7"),
        Ok("-1,234"), Ok("-1_234"), Ok("-000,001,234"), Ok("-000_001_234"), Ok("-4d2"),
        Ok("-100_1101_0010"), Ok("-0o2322"), Ok("-1,234.00"), Ok("-1.234000e+03"), Ok("-1234"),
        Ok("-1,234"), Ok("-1_234"), Ok("-00,000,001,234"), Ok("-123400.000000%"),
        Ok("-1.23e+03"),
        Ok("1,234,567"), Ok("1_234_567"), Ok("0,001,234,567"), Ok("0_001_234_567"),
        Ok("12_d687"), Ok("1_0010_1101_0110_1000_0111"), Ok("0o455_3207"), Ok("1,234,567.00"),
        Ok("1.234567e+06"), Ok("1234567"), Ok("+1,234,567"), Ok(" 1_234_567"),
        Ok("000,001,234,567"), Ok("123456700.000000%"), Ok("1.23e+06"),
        Ok("-9,223,372,036,854,775,808"), Ok("-9_223_372_036_854_775_808"),
        Ok("-9,223,372,036,854,775,808"), Ok("-9_223_372_036_854_775_808"),
        Ok("-8000_0000_0000_0000"),
        Ok("-1000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000_0000"),
        Ok("-0o10_0000_0000_0000_0000_0000"), Ok("-9,223,372,036,854,775,808.00"),
        Ok("-9.223372e+18"), Ok("-9223372036854775808"), Ok("-9,223,372,036,854,775,808"),
        Ok("-9_223_372_036_854_775_808"), Ok("-9,223,372,036,854,775,808"),
        Ok("-922337203685477580800.000000%"), Ok("-9.22e+18"),
        Ok("9,223,372,036,854,775,807"), Ok("9_223_372_036_854_775_807"),
        Ok("9,223,372,036,854,775,807"), Ok("9_223_372_036_854_775_807"),
        Ok("7fff_ffff_ffff_ffff"),
        Ok("111_1111_1111_1111_1111_1111_1111_1111_1111_1111_1111_1111_1111_1111_1111_1111"),
        Ok("0o7_7777_7777_7777_7777_7777"), Ok("9,223,372,036,854,775,808.00"),
        Ok("9.223372e+18"), Ok("9223372036854775807"), Ok("+9,223,372,036,854,775,807"),
        Ok(" 9_223_372_036_854_775_807"), Ok("9,223,372,036,854,775,807"),
        Ok("922337203685477580800.000000%"), Ok("9.22e+18"),
    ];
    check_grid(&values, &specs, &expected);
}

/// `x`, `X`, `o`, `b` with and without the `#` prefix (uppercased by `X`), and `c`.
#[test]
fn int_bases_and_characters() {
    // x, o, b, c with and without #
    // python3 -c 'exec("def f(v, s):\n try: return format(v, s)\n except Exception as e: return type(e).__name__ + \": \" + str(e)"); [print(repr(f(v, s))) for v in [0, 255, -255, 10, 65] for s in ["x", "X", "#x", "#X", "o", "#o", "b", "#b", "#010x", "+#x", "^#12b", "c", "<4c", "04c"]]'
    #[rustfmt::skip]
    let values = [
        i(0), i(255), i(-255), i(10), i(65),
    ];
    #[rustfmt::skip]
    let specs = [
        "x", "X", "#x", "#X", "o", "#o", "b", "#b", "#010x", "+#x", "^#12b", "c", "<4c", "04c",
    ];
    #[rustfmt::skip]
    let expected = [
        Ok("0"), Ok("0"), Ok("0x0"), Ok("0X0"), Ok("0"), Ok("0o0"), Ok("0"), Ok("0b0"),
        Ok("0x00000000"), Ok("+0x0"), Ok("    0b0     "), Ok("\u{0}"), Ok("\u{0}   "),
        Ok("000\u{0}"),
        Ok("ff"), Ok("FF"), Ok("0xff"), Ok("0XFF"), Ok("377"), Ok("0o377"), Ok("11111111"),
        Ok("0b11111111"), Ok("0x000000ff"), Ok("+0xff"), Ok(" 0b11111111 "), Ok("ÿ"),
        Ok("ÿ   "), Ok("000ÿ"),
        Ok("-ff"), Ok("-FF"), Ok("-0xff"), Ok("-0XFF"), Ok("-377"), Ok("-0o377"),
        Ok("-11111111"), Ok("-0b11111111"), Ok("-0x00000ff"), Ok("-0xff"), Ok("-0b11111111 "),
        Err("OverflowError: %c arg not in range(0x110000)"),
        Err("OverflowError: %c arg not in range(0x110000)"),
        Err("OverflowError: %c arg not in range(0x110000)"),
        Ok("a"), Ok("A"), Ok("0xa"), Ok("0XA"), Ok("12"), Ok("0o12"), Ok("1010"), Ok("0b1010"),
        Ok("0x0000000a"), Ok("+0xa"), Ok("   0b1010   "), Ok("\n"), Ok("\n   "), Ok("000\n"),
        Ok("41"), Ok("41"), Ok("0x41"), Ok("0X41"), Ok("101"), Ok("0o101"), Ok("1000001"),
        Ok("0b1000001"), Ok("0x00000041"), Ok("+0x41"), Ok(" 0b1000001  "), Ok("A"), Ok("A   "),
        Ok("000A"),
    ];
    check_grid(&values, &specs, &expected);
}

/// Fill, alignment, width and sign combine as in Python for ints, floats (incl. NaN and infinity) and strs.
#[test]
fn fill_align_width_and_sign() {
    // fill, align, width, sign
    // python3 -c 'exec("def f(v, s):\n try: return format(v, s)\n except Exception as e: return type(e).__name__ + \": \" + str(e)"); [print(repr(f(v, s))) for v in [42, -42, 3.5, -0.0, float("nan"), float("-inf"), "ab"] for s in ["8", "<8", ">8", "^8", "=8", "*^9", "08", "+08", " 8", "-08", "0<8", "é>6", "{^7", "+", " ", "z", "x<2"]]'
    #[rustfmt::skip]
    let values = [
        i(42), i(-42), f(3.5), f(-0.0), f(f64::NAN), f(f64::NEG_INFINITY), s("ab"),
    ];
    #[rustfmt::skip]
    let specs = [
        "8", "<8", ">8", "^8", "=8", "*^9", "08", "+08", " 8", "-08", "0<8", "é>6", "{^7", "+",
        " ", "z", "x<2",
    ];
    #[rustfmt::skip]
    let expected = [
        Ok("      42"), Ok("42      "), Ok("      42"), Ok("   42   "), Ok("      42"),
        Ok("***42****"), Ok("00000042"), Ok("+0000042"), Ok("      42"), Ok("00000042"),
        Ok("42000000"), Ok("éééé42"), Ok("{{42{{{"), Ok("+42"), Ok(" 42"),
        Err("ValueError: Negative zero coercion (z) not allowed in integer format specifier"),
        Ok("42"),
        Ok("     -42"), Ok("-42     "), Ok("     -42"), Ok("  -42   "), Ok("-     42"),
        Ok("***-42***"), Ok("-0000042"), Ok("-0000042"), Ok("     -42"), Ok("-0000042"),
        Ok("-4200000"), Ok("ééé-42"), Ok("{{-42{{"), Ok("-42"), Ok("-42"),
        Err("ValueError: Negative zero coercion (z) not allowed in integer format specifier"),
        Ok("-42"),
        Ok("     3.5"), Ok("3.5     "), Ok("     3.5"), Ok("  3.5   "), Ok("     3.5"),
        Ok("***3.5***"), Ok("000003.5"), Ok("+00003.5"), Ok("     3.5"), Ok("000003.5"),
        Ok("3.500000"), Ok("ééé3.5"), Ok("{{3.5{{"), Ok("+3.5"), Ok(" 3.5"), Ok("3.5"),
        Ok("3.5"),
        Ok("    -0.0"), Ok("-0.0    "), Ok("    -0.0"), Ok("  -0.0  "), Ok("-    0.0"),
        Ok("**-0.0***"), Ok("-00000.0"), Ok("-00000.0"), Ok("    -0.0"), Ok("-00000.0"),
        Ok("-0.00000"), Ok("éé-0.0"), Ok("{-0.0{{"), Ok("-0.0"), Ok("-0.0"), Ok("0.0"),
        Ok("-0.0"),
        Ok("     nan"), Ok("nan     "), Ok("     nan"), Ok("  nan   "), Ok("     nan"),
        Ok("***nan***"), Ok("00000nan"), Ok("+0000nan"), Ok("     nan"), Ok("00000nan"),
        Ok("nan00000"), Ok("ééénan"), Ok("{{nan{{"), Ok("+nan"), Ok(" nan"), Ok("nan"),
        Ok("nan"),
        Ok("    -inf"), Ok("-inf    "), Ok("    -inf"), Ok("  -inf  "), Ok("-    inf"),
        Ok("**-inf***"), Ok("-0000inf"), Ok("-0000inf"), Ok("    -inf"), Ok("-0000inf"),
        Ok("-inf0000"), Ok("éé-inf"), Ok("{-inf{{"), Ok("-inf"), Ok("-inf"), Ok("-inf"),
        Ok("-inf"),
        Ok("ab      "), Ok("ab      "), Ok("      ab"), Ok("   ab   "),
        Err("ValueError: '=' alignment not allowed in string format specifier"),
        Ok("***ab****"), Ok("ab000000"),
        Err("ValueError: Sign not allowed in string format specifier"),
        Err("ValueError: Space not allowed in string format specifier"),
        Err("ValueError: Sign not allowed in string format specifier"), Ok("ab000000"),
        Ok("ééééab"), Ok("{{ab{{{"),
        Err("ValueError: Sign not allowed in string format specifier"),
        Err("ValueError: Space not allowed in string format specifier"),
        Err("ValueError: Negative zero coercion (z) not allowed in string format specifier"),
        Ok("ab"),
    ];
    check_grid(&values, &specs, &expected);
}

/// A str's precision truncates it and its width pads it (left-aligned by default).
#[test]
fn str_precision_and_padding() {
    // str: precision truncates, width pads
    // python3 -c 'exec("def f(v, s):\n try: return format(v, s)\n except Exception as e: return type(e).__name__ + \": \" + str(e)"); [print(repr(f(v, s))) for v in ["hello", "", "é😀x", "a\tb"] for s in [".2", ".0", ".10", "8.3", "^7.1s", ">3", "s", ".2s", "*^6", "0", "010"]]'
    #[rustfmt::skip]
    let values = [
        s("hello"), s(""), s("é😀x"), s("a\tb"),
    ];
    #[rustfmt::skip]
    let specs = [
        ".2", ".0", ".10", "8.3", "^7.1s", ">3", "s", ".2s", "*^6", "0", "010",
    ];
    #[rustfmt::skip]
    let expected = [
        Ok("he"), Ok(""), Ok("hello"), Ok("hel     "), Ok("   h   "), Ok("hello"), Ok("hello"),
        Ok("he"), Ok("hello*"), Ok("hello"), Ok("hello00000"),
        Ok(""), Ok(""), Ok(""), Ok("        "), Ok("       "), Ok("   "), Ok(""), Ok(""),
        Ok("******"), Ok(""), Ok("0000000000"),
        Ok("é😀"), Ok(""), Ok("é😀x"), Ok("é😀x     "), Ok("   é   "), Ok("é😀x"), Ok("é😀x"),
        Ok("é😀"), Ok("*é😀x**"), Ok("é😀x"), Ok("é😀x0000000"),
        Ok("a\t"), Ok(""), Ok("a\tb"), Ok("a\tb     "), Ok("   a   "), Ok("a\tb"), Ok("a\tb"),
        Ok("a\t"), Ok("*a\tb**"), Ok("a\tb"), Ok("a\tb0000000"),
    ];
    check_grid(&values, &specs, &expected);
}

/// Specs Python rejects fail with Python's exception and message.
#[test]
fn format_value_errors_are_pythons() {
    // errors: Python's exception type and message
    // python3 -c 'exec("def f(v, s):\n try: return format(v, s)\n except Exception as e: return type(e).__name__ + \": \" + str(e)"); [print(repr(f(*c))) for c in [(1.5, "d"), (1, "s"), ("a", "f"), (1, ".2"), (1, "z"), ("a", "+"), ("a", " "), ("a", "#"), ("a", "="), ("a", ","), (1, ",_"), (1, "_,"), (1, ",x"), (1, "_c"), (1, "_n"), (1, "."), (1, "abc"), (1.5, "abc"), ("a", "ab"), (1, "99999999999999999999"), (1.0, ".99999999999"), (65, "+c"), (65, "#c"), (-1, "c"), (1114112, "c"), (1, "\x00"), (1, "é"), (1.5, "s"), ("a", "d"), (1.5, ",c"), (2.5, "zd")]]'
    #[rustfmt::skip]
    let cases = [
        (f(1.5), "d", Err("ValueError: Unknown format code 'd' for object of type 'float'")),
        (i(1), "s", Err("ValueError: Unknown format code 's' for object of type 'int'")),
        (s("a"), "f", Err("ValueError: Unknown format code 'f' for object of type 'str'")),
        (i(1), ".2", Err("ValueError: Precision not allowed in integer format specifier")),
        (i(1), "z", Err("ValueError: Negative zero coercion (z) not allowed in integer format specifier")),
        (s("a"), "+", Err("ValueError: Sign not allowed in string format specifier")),
        (s("a"), " ", Err("ValueError: Space not allowed in string format specifier")),
        (s("a"), "#", Err("ValueError: Alternate form (#) not allowed in string format specifier")),
        (s("a"), "=", Err("ValueError: '=' alignment not allowed in string format specifier")),
        (s("a"), ",", Err("ValueError: Cannot specify ',' with 's'.")),
        (i(1), ",_", Err("ValueError: Cannot specify both ',' and '_'.")),
        (i(1), "_,", Err("ValueError: Cannot specify both ',' and '_'.")),
        (i(1), ",x", Err("ValueError: Cannot specify ',' with 'x'.")),
        (i(1), "_c", Err("ValueError: Cannot specify '_' with 'c'.")),
        (i(1), "_n", Err("ValueError: Cannot specify '_' with 'n'.")),
        (i(1), ".", Err("ValueError: Format specifier missing precision")),
        (i(1), "abc", Err("ValueError: Invalid format specifier 'abc' for object of type 'int'")),
        (f(1.5), "abc", Err("ValueError: Invalid format specifier 'abc' for object of type 'float'")),
        (s("a"), "ab", Err("ValueError: Invalid format specifier 'ab' for object of type 'str'")),
        (i(1), "99999999999999999999", Err("ValueError: Too many decimal digits in format string")),
        (f(1.0), ".99999999999", Err("ValueError: precision too big")),
        (i(65), "+c", Err("ValueError: Sign not allowed with integer format specifier 'c'")),
        (i(65), "#c", Err("ValueError: Alternate form (#) not allowed with integer format specifier 'c'")),
        (i(-1), "c", Err("OverflowError: %c arg not in range(0x110000)")),
        (i(1114112), "c", Err("OverflowError: %c arg not in range(0x110000)")),
        (i(1), "\u{0}", Err("ValueError: Unknown format code '\\x0' for object of type 'int'")),
        (i(1), "é", Err("ValueError: Unknown format code '\\xe9' for object of type 'int'")),
        (f(1.5), "s", Err("ValueError: Unknown format code 's' for object of type 'float'")),
        (s("a"), "d", Err("ValueError: Unknown format code 'd' for object of type 'str'")),
        (f(1.5), ",c", Err("ValueError: Cannot specify ',' with 'c'.")),
        (f(2.5), "zd", Err("ValueError: Unknown format code 'd' for object of type 'float'")),
    ];
    check_pairs(&cases, format_value);
}

/// A width over 10 000 or a precision over 1 000 fails with `unsupported:` (a getter like
/// `{0:{0}}` lets a client choose the width, and a huge one would abort the simulator on
/// allocation), while the limits themselves format; a spec Python rejects still gets
/// Python's error first.
#[test]
fn huge_widths_and_precisions_are_refused() {
    fn unsupported(r: Result<String, PyError>) -> bool {
        r.is_err_and(|e| matches!(e, PyError::Unsupported(_)))
    }
    assert!(
        unsupported(format("{0:{0}}", &i(1_000_000_000))),
        "width from the value"
    );
    assert!(
        unsupported(format("{0:{0}}", &i(i64::MAX))),
        "largest width"
    );
    assert!(unsupported(format_value(&i(1), "10001")), "int width");
    assert!(unsupported(format_value(&i(65), "<10001c")), "char width");
    assert!(
        unsupported(format_value(&f(1.5), "010001.2f")),
        "float width"
    );
    assert!(unsupported(format_value(&s("a"), "^10001")), "str width");
    assert!(
        unsupported(format_value(&f(1.5), ".1001f")),
        "float precision"
    );
    assert!(
        unsupported(format_value(&i(1), ".1001e")),
        "int as float precision"
    );
    assert!(unsupported(format_value(&s("a"), ".1001")), "str precision");

    assert_eq!(format("{0:{0}}", &i(10_000)).map(|t| t.len()), Ok(10_000));
    assert_eq!(format_value(&f(1.5), ".1000f").map(|t| t.len()), Ok(1002));
    assert_eq!(format_value(&s("ab"), ".1000"), Ok("ab".to_owned()));

    // python3 -c 'exec("def f(v, s):\n try: return format(v, s)\n except Exception as e: return type(e).__name__ + \": \" + str(e)"); [print(repr(f(*c))) for c in [(1.0, ".99999999999"), (1, ".5000"), (1.5, "20000d"), (-1, "20000c"), ("a", "+20000"), (1, "20000z"), (1, "20000zz")]]'
    #[rustfmt::skip]
    let cases = [
        (f(1.0), ".99999999999", Err("ValueError: precision too big")),
        (i(1), ".5000", Err("ValueError: Precision not allowed in integer format specifier")),
        (f(1.5), "20000d", Err("ValueError: Unknown format code 'd' for object of type 'float'")),
        (i(-1), "20000c", Err("OverflowError: %c arg not in range(0x110000)")),
        (s("a"), "+20000", Err("ValueError: Sign not allowed in string format specifier")),
        (i(1), "20000z", Err("ValueError: Unknown format code 'z' for object of type 'int'")),
        (i(1), "20000zz", Err("ValueError: Invalid format specifier '20000zz' for object of type 'int'")),
    ];
    check_pairs(&cases, format_value);
}
