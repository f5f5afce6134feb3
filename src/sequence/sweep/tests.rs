//! Tests of the parent module.
use super::*;

/// Points of a sweep, each rendered and joined with `,`.
fn points(sweep: &Sweep) -> Vec<String> {
    let mut out = Vec::new();
    (0..sweep.len())
        .map(|i| {
            sweep.point_into(i, &mut out);
            out.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

/// Two axes named `ch` and `volt`.
fn ch_volt(ch: Vec<Value>, volt: Axis) -> Vec<(String, Axis)> {
    vec![
        ("ch".into(), Axis::list(ch).unwrap()),
        ("volt".into(), volt),
    ]
}

/// Product puts the first axis outermost; zip pairs values; no axes is one empty point.
#[test]
fn sweep_points() {
    type Case = (Vec<(String, Axis)>, Mode, &'static [&'static str]);
    let ints = |v: &[i64]| v.iter().map(|&i| Value::Int(i)).collect::<Vec<_>>();
    let volt = || Axis::linspace(0.0, 1.0, 3).unwrap();
    let cases: [Case; 4] = [
        (
            ch_volt(ints(&[1, 2]), volt()),
            Mode::Product,
            &["1,0", "1,0.5", "1,1", "2,0", "2,0.5", "2,1"],
        ),
        (
            ch_volt(ints(&[1, 2, 3]), volt()),
            Mode::Zip,
            &["1,0", "2,0.5", "3,1"],
        ),
        (vec![], Mode::Product, &[""]),
        (vec![], Mode::Zip, &[""]),
    ];
    for (axes, mode, want) in cases {
        let sweep = Sweep::new(axes, mode).unwrap();
        assert_eq!(sweep.mode(), mode);
        assert_eq!(sweep.len(), want.len() as u64);
        assert_eq!(points(&sweep), want, "{mode:?}");
    }
    let sweep = Sweep::new(ch_volt(ints(&[1]), volt()), Mode::Product).unwrap();
    assert_eq!(sweep.names(), ["ch", "volt"]);
    assert_eq!(sweep.axes()[1].1, volt());
    assert_eq!(Sweep::default().len(), 1);
    assert_eq!(points(&Sweep::default()), [""]);
}

/// Invalid combinations name the axis at fault.
#[test]
fn sweep_errors() {
    let ten = || Axis::linspace(0.0, 1.0, 10).unwrap();
    let huge = || Axis::linspace(0.0, 1.0, 1 << 39).unwrap();
    let named = |names: &[&str], axes: Vec<Axis>| -> Vec<(String, Axis)> {
        names.iter().map(|n| (*n).to_owned()).zip(axes).collect()
    };
    let cases = [
        (
            Sweep::new(
                named(
                    &["a", "b", "c"],
                    vec![ten(), ten(), Axis::linspace(0.0, 1.0, 3).unwrap()],
                ),
                Mode::Zip,
            ),
            2,
            "zip sweep: `c` has 3 and `a` has 10 values; zipped variables need the same number",
        ),
        (
            Sweep::new(
                named(&["a", "b", "c"], vec![huge(), ten(), huge()]),
                Mode::Product,
            ),
            1,
            "the sweep has more than 10^12 points (from variable `b` on)",
        ),
        (
            Sweep::new(
                named(&["a", "b", "a"], vec![ten(), ten(), ten()]),
                Mode::Product,
            ),
            2,
            "sweep variable `a` is defined twice",
        ),
    ];
    for (result, axis, message) in cases {
        let err = result.unwrap_err();
        assert_eq!(err.axis(), axis, "{err:?}");
        assert_eq!(err.to_string(), message);
    }
    // 10^12 points exactly is a sweep; one more value is not.
    let million = || Axis::linspace(0.0, 1.0, 1_000_000).unwrap();
    let sweep = Sweep::new(
        named(&["a", "b"], vec![million(), million()]),
        Mode::Product,
    );
    assert_eq!(sweep.map(|s| s.len()), Ok(MAX_POINTS));
    let more = Axis::linspace(0.0, 1.0, 1_000_001).unwrap();
    let err = Sweep::new(named(&["a", "b"], vec![million(), more]), Mode::Product);
    assert_eq!(err.map(|s| s.len()).map_err(|e| e.axis()), Err(0));
}

/// A stand-in keeps every name, duplicates included, and whether each takes text, with
/// a single point.
#[test]
fn stand_in_keeps_names() {
    let axes = vec![
        ("x".to_owned(), Axis::linspace(0.0, 1.0, 1 << 39).unwrap()),
        (
            "m".to_owned(),
            Axis::list(vec![Value::Int(1), "HI".into(), "LO".into()]).unwrap(),
        ),
        ("x".to_owned(), Axis::range(1.0, 9.0, 1.0, true).unwrap()),
    ];
    let sweep = Sweep::stand_in(axes);
    assert_eq!(sweep.names(), ["x", "m", "x"]);
    assert_eq!(sweep.len(), 1);
    let text: Vec<bool> = sweep.axes().iter().map(|(_, a)| a.has_text()).collect();
    assert_eq!(text, [false, true, false]);
    assert_eq!(points(&sweep), ["0,HI,1"]);
}

/// A million-point sweep is a formula: its last point is computed directly, and walking
/// points reuses the caller's buffer (text values included) instead of allocating.
#[test]
fn huge_sweep_is_lazy() {
    let axes = vec![
        ("a".to_owned(), Axis::linspace(0.0, 1.0, 1000).unwrap()),
        ("b".to_owned(), Axis::range(1.0, 1000.0, 1.0, true).unwrap()),
        (
            "m".to_owned(),
            Axis::list(vec!["LO".into(), "HI".into()]).unwrap(),
        ),
    ];
    let sweep = Sweep::new(axes, Mode::Product).unwrap();
    assert_eq!(sweep.len(), 2_000_000);
    let mut out = Vec::new();
    sweep.point_into(sweep.len() - 1, &mut out);
    assert_eq!(
        out,
        [Value::Float(1.0), Value::Int(1000), Value::Str("HI".into())]
    );
    let vec_ptr = out.as_ptr();
    let Value::Str(s) = &out[2] else {
        unreachable!()
    };
    let str_ptr = s.as_ptr();
    for index in (0..sweep.len()).step_by(997) {
        sweep.point_into(index, &mut out);
    }
    sweep.point_into(1_000_001, &mut out);
    assert_eq!(
        out,
        [
            Value::Float(500.0 / 999.0),
            Value::Int(1),
            Value::Str("HI".into())
        ]
    );
    assert_eq!(out.as_ptr(), vec_ptr);
    let Value::Str(s) = &out[2] else {
        unreachable!()
    };
    assert_eq!(s.as_ptr(), str_ptr);
}

/// A buffer left longer by a bigger sweep is cut to this sweep's width.
#[test]
fn point_into_clears_leftovers() {
    let sweep = Sweep::new(
        vec![("x".into(), Axis::linspace(0.0, 1.0, 2).unwrap())],
        Mode::Zip,
    )
    .unwrap();
    let mut out = vec![Value::Str("old".into()); 4];
    sweep.point_into(1, &mut out);
    assert_eq!(out, [Value::Float(1.0)]);
}
