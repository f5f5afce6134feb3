//! Tests of the parent module.
use super::*;

/// Renders every value of an axis with [`Value::render`].
fn rendered(axis: &Axis) -> Vec<String> {
    (0..axis.len()).map(|i| axis.get(i).to_string()).collect()
}

/// Formula axes give the documented values, rendered canonically.
#[test]
fn axis_values() {
    let cases: [(Axis, &[&str]); 14] = [
        (
            Axis::linspace(0.0, 1.0, 11).unwrap(),
            &[
                "0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1",
            ],
        ),
        (Axis::linspace(2.0, 3.0, 1).unwrap(), &["2"]),
        (Axis::linspace(1.0, -1.0, 3).unwrap(), &["1", "0", "-1"]),
        (Axis::linspace(5.0, 5.0, 2).unwrap(), &["5", "5"]),
        (
            Axis::range(0.0, 1.0, 0.1, false).unwrap(),
            &[
                "0", "0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1",
            ],
        ),
        (
            Axis::range(0.0, 1.0, 0.3, false).unwrap(),
            &["0", "0.3", "0.6", "0.9"],
        ),
        (
            Axis::range(0.1, 0.7, 0.2, false).unwrap(),
            &["0.1", "0.3", "0.5", "0.7"],
        ),
        (
            Axis::range(1.0, 0.0, -0.25, false).unwrap(),
            &["1", "0.75", "0.5", "0.25", "0"],
        ),
        (
            Axis::range(10.0, 0.0, -3.0, true).unwrap(),
            &["10", "7", "4", "1"],
        ),
        (
            Axis::range(0.0, 10.0, 5.0, false).unwrap(),
            &["0", "5", "10"],
        ),
        (Axis::range(3.0, 3.0, -1.0, true).unwrap(), &["3"]),
        (
            Axis::log(1.0, 1000.0, 4).unwrap(),
            &["1", "10", "100", "1000"],
        ),
        (
            Axis::log(1000.0, 1.0, 4).unwrap(),
            &["1000", "100", "10", "1"],
        ),
        (
            Axis::log(1e-6, 1e-3, 7).unwrap(),
            &[
                "1e-06",
                "3.16227766017e-06",
                "1e-05",
                "3.16227766017e-05",
                "0.0001",
                "0.000316227766017",
                "0.001",
            ],
        ),
    ];
    for (axis, want) in &cases {
        assert_eq!(rendered(axis), *want, "{axis:?}");
        assert_eq!(axis.len(), want.len() as u64);
        assert!(!axis.is_empty());
    }
}

/// Integer ranges give `Int`s; any float input keeps them `Float`.
#[test]
fn range_value_kinds() {
    let cases = [
        (Axis::range(1.0, 5.0, 2.0, true).unwrap(), Value::Int(5)),
        (Axis::range(-4.0, -8.0, -2.0, true).unwrap(), Value::Int(-8)),
        (
            Axis::range(1.0, 5.0, 2.0, false).unwrap(),
            Value::Float(5.0),
        ),
        (Axis::range(0.0, 1.0, 0.5, true).unwrap(), Value::Float(1.0)),
    ];
    for (axis, last) in &cases {
        assert_eq!(axis.get(axis.len() - 1), *last, "{axis:?}");
        assert!(!axis.get(0).is_text());
    }
}

/// Lists keep their values and report text.
#[test]
fn list_axis() {
    let cases = [
        (vec![Value::Int(1), Value::Int(2)], false),
        (vec![Value::Float(0.5)], false),
        (vec![Value::Int(1), Value::Str("MAX".into())], true),
    ];
    for (values, text) in cases {
        let axis = Axis::list(values.clone()).unwrap();
        assert_eq!(axis.len(), values.len() as u64);
        assert_eq!(axis.has_text(), text);
        for (i, v) in values.iter().enumerate() {
            assert_eq!(axis.get(i as u64), *v);
        }
    }
    assert!(!Axis::linspace(0.0, 1.0, 2).unwrap().has_text());
}

/// Every invalid axis is rejected with the right error, field and message.
#[test]
fn axis_errors() {
    let cases = [
        (
            Axis::list(vec![]),
            "",
            "empty list: a sweep variable needs at least one value",
        ),
        (
            Axis::linspace(0.0, 1.0, 0),
            "num",
            "`num` is `0`: it must be at least 1",
        ),
        (
            Axis::linspace(0.0, 1.0, -3),
            "num",
            "`num` is `-3`: it must be at least 1",
        ),
        (
            Axis::log(1.0, 10.0, 0),
            "num",
            "`num` is `0`: it must be at least 1",
        ),
        (
            Axis::linspace(0.0, 1.0, i64::MAX),
            "num",
            "`num` must be at most 10^12, got `9223372036854775807`",
        ),
        (
            Axis::linspace(f64::NAN, 1.0, 2),
            "start",
            "`start` is `nan`: it must be a finite number",
        ),
        (
            Axis::linspace(0.0, f64::INFINITY, 2),
            "stop",
            "`stop` is `inf`: it must be a finite number",
        ),
        (
            Axis::linspace(-1e308, 1e308, 2),
            "",
            "the span from `-1e+308` to `1e+308` is too wide for a 64-bit float",
        ),
        (
            Axis::range(0.0, 1.0, f64::NEG_INFINITY, false),
            "step",
            "`step` is `-inf`: it must be a finite number",
        ),
        (
            Axis::range(0.0, 1.0, 0.0, false),
            "step",
            "`step` is 0: the range would never reach its stop",
        ),
        (
            Axis::range(0.0, 1.0, -0.1, false),
            "step",
            "`step` `-0.1` points away from `stop`: going from `0` to `1` needs a positive step",
        ),
        (
            Axis::range(5.0, 1.0, 1.0, true),
            "step",
            "`step` `1` points away from `stop`: going from `5` to `1` needs a negative step",
        ),
        (
            Axis::range(0.0, 1e300, 1e-300, false),
            "step",
            "`step` gives more than 10^12 points",
        ),
        (
            Axis::log(0.0, 10.0, 3),
            "start",
            "a log sweep needs positive `start` and `stop`, got `0` and `10`",
        ),
        (
            Axis::log(1.0, -10.0, 3),
            "stop",
            "a log sweep needs positive `start` and `stop`, got `1` and `-10`",
        ),
    ];
    for (result, field, message) in cases {
        let err = result.unwrap_err();
        assert_eq!(err.field(), field, "{err:?}");
        assert_eq!(err.to_string(), message, "{err:?}");
    }
}
