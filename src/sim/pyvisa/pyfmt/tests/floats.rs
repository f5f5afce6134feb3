//! Float formatting: repr, fixed point, exponent, general, percent and untyped specs.
//!
//! Tables whose expected values were produced by Python 3.11.7: each table carries the
//! `python3 -c` line that prints them, one `repr` per case in table order (an error
//! prints as `ExceptionType: message`, which is what the `Err` cases hold).

use super::{check_grid, f};

/// Floats print as Python's repr: shortest round-trip digits, exponent from 1e16 and below 1e-4.
#[test]
fn float_repr_edge_cases() {
    // repr and empty spec
    // python3 -c 'exec("def f(v, s):\n try: return format(v, s)\n except Exception as e: return type(e).__name__ + \": \" + str(e)"); [print(repr(f(v, s))) for v in [0.1, 1e16, 1e-5, 123456789012345678.0, -0.0, float("inf"), float("-inf"), float("nan"), 5e-324, 1.7976931348623157e308, 1e-4, 9999999999999998.0, 1.0, 1e22, 0.3, 2.5e-8, 100.0] for s in [""]]'
    #[rustfmt::skip]
    let values = [
        f(0.1), f(1e16), f(1e-05), f(1.2345678901234568e17), f(-0.0), f(f64::INFINITY),
        f(f64::NEG_INFINITY), f(f64::NAN), f(5e-324), f(1.7976931348623157e308), f(0.0001),
        f(9999999999999998.0), f(1.0), f(1e22), f(0.3), f(2.5e-08), f(100.0),
    ];
    #[rustfmt::skip]
    let specs = [
        "",
    ];
    #[rustfmt::skip]
    let expected = [
        Ok("0.1"),
        Ok("1e+16"),
        Ok("1e-05"),
        Ok("1.2345678901234568e+17"),
        Ok("-0.0"),
        Ok("inf"),
        Ok("-inf"),
        Ok("nan"),
        Ok("5e-324"),
        Ok("1.7976931348623157e+308"),
        Ok("0.0001"),
        Ok("9999999999999998.0"),
        Ok("1.0"),
        Ok("1e+22"),
        Ok("0.3"),
        Ok("2.5e-08"),
        Ok("100.0"),
    ];
    check_grid(&values, &specs, &expected);
}

/// `f` rounds half-even on the exact binary value (`2.675` is below the half), `z` drops the minus of a zero result, `#` keeps the point.
#[test]
fn fixed_point_rounds_half_even_on_the_binary_value() {
    // fixed point on exact halves and near-halves: round-half-even on the binary value
    // python3 -c 'exec("def f(v, s):\n try: return format(v, s)\n except Exception as e: return type(e).__name__ + \": \" + str(e)"); [print(repr(f(v, s))) for v in [0.125, 0.375, 2.675, 1.005, 0.5, 1.5, 2.5, -0.125, 0.001, -0.001, 1e22, 123456.0] for s in [".2f", ".1f", ".0f", "z.2f", "#.0f", "f", ".3F", "z.0f"]]'
    #[rustfmt::skip]
    let values = [
        f(0.125), f(0.375), f(2.675), f(1.005), f(0.5), f(1.5), f(2.5), f(-0.125), f(0.001),
        f(-0.001), f(1e22), f(123456.0),
    ];
    #[rustfmt::skip]
    let specs = [
        ".2f", ".1f", ".0f", "z.2f", "#.0f", "f", ".3F", "z.0f",
    ];
    #[rustfmt::skip]
    let expected = [
        Ok("0.12"), Ok("0.1"), Ok("0"), Ok("0.12"), Ok("0."), Ok("0.125000"), Ok("0.125"),
        Ok("0"),
        Ok("0.38"), Ok("0.4"), Ok("0"), Ok("0.38"), Ok("0."), Ok("0.375000"), Ok("0.375"),
        Ok("0"),
        Ok("2.67"), Ok("2.7"), Ok("3"), Ok("2.67"), Ok("3."), Ok("2.675000"), Ok("2.675"),
        Ok("3"),
        Ok("1.00"), Ok("1.0"), Ok("1"), Ok("1.00"), Ok("1."), Ok("1.005000"), Ok("1.005"),
        Ok("1"),
        Ok("0.50"), Ok("0.5"), Ok("0"), Ok("0.50"), Ok("0."), Ok("0.500000"), Ok("0.500"),
        Ok("0"),
        Ok("1.50"), Ok("1.5"), Ok("2"), Ok("1.50"), Ok("2."), Ok("1.500000"), Ok("1.500"),
        Ok("2"),
        Ok("2.50"), Ok("2.5"), Ok("2"), Ok("2.50"), Ok("2."), Ok("2.500000"), Ok("2.500"),
        Ok("2"),
        Ok("-0.12"), Ok("-0.1"), Ok("-0"), Ok("-0.12"), Ok("-0."), Ok("-0.125000"),
        Ok("-0.125"), Ok("0"),
        Ok("0.00"), Ok("0.0"), Ok("0"), Ok("0.00"), Ok("0."), Ok("0.001000"), Ok("0.001"),
        Ok("0"),
        Ok("-0.00"), Ok("-0.0"), Ok("-0"), Ok("0.00"), Ok("-0."), Ok("-0.001000"), Ok("-0.001"),
        Ok("0"),
        Ok("10000000000000000000000.00"), Ok("10000000000000000000000.0"),
        Ok("10000000000000000000000"), Ok("10000000000000000000000.00"),
        Ok("10000000000000000000000."), Ok("10000000000000000000000.000000"),
        Ok("10000000000000000000000.000"), Ok("10000000000000000000000"),
        Ok("123456.00"), Ok("123456.0"), Ok("123456"), Ok("123456.00"), Ok("123456."),
        Ok("123456.000000"), Ok("123456.000"), Ok("123456"),
    ];
    check_grid(&values, &specs, &expected);
}

/// `e`, `g` (trailing zeros removed unless `#`), `%` and the untyped spec (like `g`, keeping a decimal digit) at many precisions.
#[test]
fn exponent_general_percent_and_untyped_floats() {
    // e, g, % and no type, many precisions
    // python3 -c 'exec("def f(v, s):\n try: return format(v, s)\n except Exception as e: return type(e).__name__ + \": \" + str(e)"); [print(repr(f(v, s))) for v in [1234.5678, 0.00012345, 1e-10, 123456789.0, 0.5, 100.0, 1e16, -0.0, 9.9999, float("nan")] for s in ["e", ".0e", ".3E", "#.0e", "g", ".0g", ".1g", ".3g", ".10g", "#.3g", "#g", "G", ".2%", "%", ".0%", ".3", ".1", "#", ".0", "n", ".17g", ".20e"]]'
    #[rustfmt::skip]
    let values = [
        f(1234.5678), f(0.00012345), f(1e-10), f(123456789.0), f(0.5), f(100.0), f(1e16),
        f(-0.0), f(9.9999), f(f64::NAN),
    ];
    #[rustfmt::skip]
    let specs = [
        "e", ".0e", ".3E", "#.0e", "g", ".0g", ".1g", ".3g", ".10g", "#.3g", "#g", "G", ".2%",
        "%", ".0%", ".3", ".1", "#", ".0", "n", ".17g", ".20e",
    ];
    #[rustfmt::skip]
    let expected = [
        Ok("1.234568e+03"), Ok("1e+03"), Ok("1.235E+03"), Ok("1.e+03"), Ok("1234.57"),
        Ok("1e+03"), Ok("1e+03"), Ok("1.23e+03"), Ok("1234.5678"), Ok("1.23e+03"),
        Ok("1234.57"), Ok("1234.57"), Ok("123456.78%"), Ok("123456.780000%"), Ok("123457%"),
        Ok("1.23e+03"), Ok("1e+03"), Ok("1234.5678"), Ok("1e+03"), Ok("1234.57"),
        Ok("1234.5678"), Ok("1.23456780000000003383e+03"),
        Ok("1.234500e-04"), Ok("1e-04"), Ok("1.234E-04"), Ok("1.e-04"), Ok("0.00012345"),
        Ok("0.0001"), Ok("0.0001"), Ok("0.000123"), Ok("0.00012345"), Ok("0.000123"),
        Ok("0.000123450"), Ok("0.00012345"), Ok("0.01%"), Ok("0.012345%"), Ok("0%"),
        Ok("0.000123"), Ok("0.0001"), Ok("0.00012345"), Ok("0.0001"), Ok("0.00012345"),
        Ok("0.00012344999999999999"), Ok("1.23449999999999992031e-04"),
        Ok("1.000000e-10"), Ok("1e-10"), Ok("1.000E-10"), Ok("1.e-10"), Ok("1e-10"),
        Ok("1e-10"), Ok("1e-10"), Ok("1e-10"), Ok("1e-10"), Ok("1.00e-10"), Ok("1.00000e-10"),
        Ok("1E-10"), Ok("0.00%"), Ok("0.000000%"), Ok("0%"), Ok("1e-10"), Ok("1e-10"),
        Ok("1.e-10"), Ok("1e-10"), Ok("1e-10"), Ok("1e-10"), Ok("1.00000000000000003643e-10"),
        Ok("1.234568e+08"), Ok("1e+08"), Ok("1.235E+08"), Ok("1.e+08"), Ok("1.23457e+08"),
        Ok("1e+08"), Ok("1e+08"), Ok("1.23e+08"), Ok("123456789"), Ok("1.23e+08"),
        Ok("1.23457e+08"), Ok("1.23457E+08"), Ok("12345678900.00%"), Ok("12345678900.000000%"),
        Ok("12345678900%"), Ok("1.23e+08"), Ok("1e+08"), Ok("123456789.0"), Ok("1e+08"),
        Ok("1.23457e+08"), Ok("123456789"), Ok("1.23456789000000000000e+08"),
        Ok("5.000000e-01"), Ok("5e-01"), Ok("5.000E-01"), Ok("5.e-01"), Ok("0.5"), Ok("0.5"),
        Ok("0.5"), Ok("0.5"), Ok("0.5"), Ok("0.500"), Ok("0.500000"), Ok("0.5"), Ok("50.00%"),
        Ok("50.000000%"), Ok("50%"), Ok("0.5"), Ok("0.5"), Ok("0.5"), Ok("0.5"), Ok("0.5"),
        Ok("0.5"), Ok("5.00000000000000000000e-01"),
        Ok("1.000000e+02"), Ok("1e+02"), Ok("1.000E+02"), Ok("1.e+02"), Ok("100"), Ok("1e+02"),
        Ok("1e+02"), Ok("100"), Ok("100"), Ok("100."), Ok("100.000"), Ok("100"),
        Ok("10000.00%"), Ok("10000.000000%"), Ok("10000%"), Ok("1e+02"), Ok("1e+02"),
        Ok("100.0"), Ok("1e+02"), Ok("100"), Ok("100"), Ok("1.00000000000000000000e+02"),
        Ok("1.000000e+16"), Ok("1e+16"), Ok("1.000E+16"), Ok("1.e+16"), Ok("1e+16"),
        Ok("1e+16"), Ok("1e+16"), Ok("1e+16"), Ok("1e+16"), Ok("1.00e+16"), Ok("1.00000e+16"),
        Ok("1E+16"), Ok("1000000000000000000.00%"), Ok("1000000000000000000.000000%"),
        Ok("1000000000000000000%"), Ok("1e+16"), Ok("1e+16"), Ok("1.e+16"), Ok("1e+16"),
        Ok("1e+16"), Ok("10000000000000000"), Ok("1.00000000000000000000e+16"),
        Ok("-0.000000e+00"), Ok("-0e+00"), Ok("-0.000E+00"), Ok("-0.e+00"), Ok("-0"), Ok("-0"),
        Ok("-0"), Ok("-0"), Ok("-0"), Ok("-0.00"), Ok("-0.00000"), Ok("-0"), Ok("-0.00%"),
        Ok("-0.000000%"), Ok("-0%"), Ok("-0.0"), Ok("-0e+00"), Ok("-0.0"), Ok("-0e+00"),
        Ok("-0"), Ok("-0"), Ok("-0.00000000000000000000e+00"),
        Ok("9.999900e+00"), Ok("1e+01"), Ok("1.000E+01"), Ok("1.e+01"), Ok("9.9999"),
        Ok("1e+01"), Ok("1e+01"), Ok("10"), Ok("9.9999"), Ok("10.0"), Ok("9.99990"),
        Ok("9.9999"), Ok("999.99%"), Ok("999.990000%"), Ok("1000%"), Ok("10.0"), Ok("1e+01"),
        Ok("9.9999"), Ok("1e+01"), Ok("9.9999"), Ok("9.9999000000000002"),
        Ok("9.99990000000000023306e+00"),
        Ok("nan"), Ok("nan"), Ok("NAN"), Ok("nan"), Ok("nan"), Ok("nan"), Ok("nan"), Ok("nan"),
        Ok("nan"), Ok("nan"), Ok("nan"), Ok("NAN"), Ok("nan%"), Ok("nan%"), Ok("nan%"),
        Ok("nan"), Ok("nan"), Ok("nan"), Ok("nan"), Ok("nan"), Ok("nan"), Ok("nan"),
    ];
    check_grid(&values, &specs, &expected);
}
