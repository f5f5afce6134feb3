//! Tables whose expected values were produced by Python 3.11.7: each table carries the
//! `python3 -c` line that prints them, one `repr` per case in table order (an error
//! prints as `ExceptionType: message`, which is what the `Err` cases hold and what a
//! [`PyError`] displays).
//!
//! The helpers here are shared by the test files beside this one, one per concern.

// Numbers are written as Python prints them, so a table reads against its output.
#![allow(clippy::unreadable_literal)]

mod cases;
mod floats;
mod specs;
mod templates;
mod values;

use super::{PyError, PyValue, format_value};

/// An int value.
fn i(v: i64) -> PyValue {
    PyValue::Int(v)
}

/// A float value.
fn f(v: f64) -> PyValue {
    PyValue::Float(v)
}

/// A str value.
fn s(v: &str) -> PyValue {
    PyValue::Str(v.to_owned())
}

/// Checks `format_value` on every value × spec against `expected` (value-major, one
/// line per value) and reports all mismatches at once.
fn check_grid(values: &[PyValue], specs: &[&str], expected: &[Result<&str, &str>]) {
    assert_eq!(
        values.len() * specs.len(),
        expected.len(),
        "one expectation per case"
    );
    let mut failures = Vec::new();
    for (value, row) in values.iter().zip(expected.chunks(specs.len())) {
        for (spec, want) in specs.iter().zip(row) {
            let got = format_value(value, spec).map_err(|e| e.to_string());
            let want = want.map(str::to_owned).map_err(str::to_owned);
            if got != want {
                failures.push(format!("{value:?} {spec:?}: got {got:?}, want {want:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Checks `run(value, spec)` on each case and reports all mismatches at once.
fn check_pairs(
    cases: &[(PyValue, &str, Result<&str, &str>)],
    run: impl Fn(&PyValue, &str) -> Result<String, PyError>,
) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(value, spec, want)| {
            let got = run(value, spec).map_err(|e| e.to_string());
            let want = want.map(str::to_owned).map_err(str::to_owned);
            (got != want).then(|| format!("{value:?} {spec:?}: got {got:?}, want {want:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
