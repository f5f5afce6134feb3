//! Properties that hold for any value: they need no Python to check.

use proptest::prelude::*;
use proptest::test_runner::Config;

use super::{PyType, PyValue, format_value, parse_py_float};

/// Proptest settings: no regression files in the source tree.
fn config() -> Config {
    Config {
        cases: 512,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Any float, finite or not, from its bits.
fn any_float() -> impl Strategy<Value = f64> {
    any::<u64>().prop_map(f64::from_bits)
}

proptest! {
    #![proptest_config(config())]

    /// repr round-trips (`float(repr(x)) == x`), and so does `.17g`, which needs
    /// correctly rounded digits.
    #[test]
    fn repr_and_17_digits_round_trip(x in any_float()) {
        let back = |text: &str| parse_py_float(text).map(f64::to_bits);
        let repr = PyValue::Float(x).to_py_string();
        let g17 = format_value(&PyValue::Float(x), ".17g").expect(".17g formats any float");
        if x.is_nan() {
            prop_assert_eq!((repr.as_str(), g17.as_str()), ("nan", "nan"));
        } else {
            prop_assert_eq!(back(&repr), Some(x.to_bits()), "repr {}", repr);
            prop_assert_eq!(back(&g17), Some(x.to_bits()), ".17g {}", g17);
        }
    }

    /// A width pads to exactly that many characters (never truncates), on the side
    /// the alignment says, with the fill character.
    #[test]
    fn width_pads_with_the_fill(
        value in prop_oneof![
            any::<i64>().prop_map(PyValue::Int),
            any_float().prop_map(PyValue::Float),
            "[a-zé😀 ]{0,6}".prop_map(PyValue::Str),
        ],
        align in prop::sample::select(vec!['<', '>', '^']),
        width in 0usize..30,
    ) {
        let bare = format_value(&value, "").expect("empty spec formats anything");
        let padded = format_value(&value, &format!("*{align}{width}"))
            .expect("fill, align and width format anything");
        let pad = width.saturating_sub(bare.chars().count());
        let left = match align { '<' => 0, '>' => pad, _ => pad / 2 };
        let want = format!("{}{bare}{}", "*".repeat(left), "*".repeat(pad - left));
        prop_assert_eq!(padded, want);
    }

    /// `,` puts a comma every three digits from the right and changes nothing else;
    /// `int(str(i))` gives `i` back.
    #[test]
    fn grouping_only_inserts_separators(v in any::<i64>()) {
        let grouped = format_value(&PyValue::Int(v), ",").expect("`,` formats ints");
        prop_assert_eq!(grouped.replace(',', ""), v.to_string());
        let digits = grouped.trim_start_matches('-');
        prop_assert!(digits.split(',').skip(1).all(|g| g.len() == 3), "{}", grouped);
        prop_assert!(digits.split(',').next().is_some_and(|g| (1..=3).contains(&g.len())));
        let back = PyValue::Str(PyValue::Int(v).to_py_string()).convert(PyType::Int);
        prop_assert_eq!(back, Ok(PyValue::Int(v)));
    }
}
