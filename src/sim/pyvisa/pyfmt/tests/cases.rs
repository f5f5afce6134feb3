//! The random cases of `testdata/pyfmt_cases.txt`, answered by Python 3.11.7, checked
//! byte for byte.

use std::cmp::Ordering::{Equal, Greater, Less};

use crate::sim::pyvisa::pyfmt::{PyError, PyType, PyValue, format, format_value, parse_py_float};

/// One case of `testdata/pyfmt_cases.txt`, compared with what `pyfmt` answers;
/// None when they agree, else a description of the mismatch.
fn check_case(row: &[String]) -> Option<String> {
    let [kind, tag, text, arg, want] = row else {
        return Some(format!("malformed row {row:?}"));
    };
    let value = decode(tag, text);
    let answer = |r: Result<String, PyError>| match r {
        Ok(s) => format!("={s}"),
        Err(e) => format!("!{e}"),
    };
    let got = match kind.as_str() {
        "v" => answer(format_value(&value, arg)),
        "t" => answer(format(arg, &value)),
        "c" => {
            let to = match arg.as_str() {
                "int" => PyType::Int,
                "float" => PyType::Float,
                _ => PyType::Str,
            };
            answer(value.convert(to).map(|v| {
                let tag = &v.py_type().name()[..1];
                format!("{tag}:{}", v.to_py_string())
            }))
        }
        _ => {
            let (tag, text) = arg.split_once(':').unwrap_or_default();
            match value.py_cmp(&decode(tag, text)) {
                Some(Less) => "<",
                Some(Greater) => ">",
                Some(Equal) => "=",
                None => "!",
            }
            .to_owned()
        }
    };
    (&got != want).then(|| format!("{row:?}: got {got:?}"))
}

/// A value from the test data's `tag`, `text` pair.
fn decode(tag: &str, text: &str) -> PyValue {
    match tag {
        "i" => PyValue::Int(text.parse().expect("int in test data")),
        "f" => PyValue::Float(parse_py_float(text).expect("float in test data")),
        _ => PyValue::Str(text.to_owned()),
    }
}

/// Thousands of random cases answered by Python 3.11.7 (`testdata/pyfmt_cases.txt`)
/// get the same answers here, byte for byte, errors included.
///
/// The file was written by a throwaway Python script (seeded, not kept in the repo)
/// that drew random values (floats from random bit patterns, short decimals, binary
/// fractions, powers of ten times awkward mantissas, specials; ints of every size; short
/// strs with quotes, tabs and non-ASCII) and random specs built from each part of the
/// mini-language (fill, align, sign, `z`, `#`, `0`, width, `,`/`_`, precision, a type
/// usually valid for the value, sometimes junk), plus random templates, `int()`/
/// `float()`/`str()` inputs and comparisons, and wrote one JSON array per line:
/// `[kind, tag, value, spec-or-template-or-target, result]`, where kind is `v`
/// (`format(value, spec)`), `t` (`template.format(value)`), `c` (`target(value)`,
/// result `=tag:str(result)`) or `k` (comparison, result `<`, `>`, `=` or `!` for
/// `TypeError`), tag is `i`, `f` (value as repr) or `s`, and result is `=text` or
/// `!ExceptionType: message`.
#[test]
fn random_cases_answered_by_python() {
    let rows: Vec<Vec<String>> = include_str!("../../testdata/pyfmt_cases.txt")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON array of strings per line"))
        .collect();
    assert!(
        rows.len() >= 2800,
        "the case file holds {} rows",
        rows.len()
    );
    let failures: Vec<String> = rows.iter().filter_map(|row| check_case(row)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Python:\n{}",
        failures.len(),
        rows.len(),
        failures[..failures.len().min(30)].join("\n")
    );
}
