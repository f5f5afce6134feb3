//! Tests of parameter values: types, `--set` overrides, JSON.

use super::*;

/// Reads a `--set` value as the loader does.
fn read(text: &str) -> Result<RawParam, serde_saphyr::Error> {
    serde_saphyr::from_str::<RawParam>(text)
}

/// The parameters of `yaml` (a `params:` map's body).
fn defaults(pairs: &[(&str, &str)]) -> Params {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), Param::from_raw(&read(v).expect("valid"))))
        .collect()
}

/// A default's type is its value's: numbers, text, durations, `true`/`false`, lists (of one
/// kind or mixed).
#[test]
fn kinds_of_defaults() {
    let cases = [
        ("1", Kind::Number),
        ("0.5", Kind::Number),
        ("abc", Kind::Text),
        ("true", Kind::Bool),
        ("'true'", Kind::Text),
        ("10m", Kind::Duration),
        ("[300, 200]", Kind::List(Some(ItemKind::Number))),
        ("[a, b]", Kind::List(Some(ItemKind::Text))),
        ("[1s, 2s]", Kind::List(Some(ItemKind::Duration))),
        ("[1, a]", Kind::List(None)),
        ("[]", Kind::List(None)),
    ];
    for (text, kind) in cases {
        let p = Param::from_raw(&read(text).expect("valid"));
        assert_eq!(p.kind(), kind, "{text}");
    }
}

/// Overrides of the default's type are taken (a number for a number, any scalar as text),
/// others are refused with the parameter, the value and the list of parameters.
#[test]
fn overrides_checked_against_the_default() {
    let d = defaults(&[
        ("vmax", "1.5"),
        ("n", "11"),
        ("label", "abc"),
        ("settle", "2s"),
        ("temps", "[300, 200]"),
        ("do_iv", "true"),
    ]);
    let ok = [
        ("do_iv", "false", "false"),
        ("label", "true", "true"),
        ("vmax", "0.5", "0.5"),
        ("vmax", "2", "2"),
        ("n", "2.5", "2.5"),
        ("label", "42", "42"),
        ("settle", "500ms", "500ms"),
        ("temps", "[10, 20, 30]", "[10, 20, 30]"),
        ("temps", "[]", "[]"),
    ];
    for (name, value, shown) in ok {
        let got = resolve(&d, &[(name.into(), value.into())], "f.yaml", read).expect(value);
        assert_eq!(
            get(&got, name).expect("set").to_string(),
            shown,
            "{name}={value}"
        );
    }
    let bad = [
        ("vmax", "abc", "`vmax` is a number, and `abc` is text"),
        (
            "vmax",
            "[1, 2]",
            "`vmax` is a number, and `[1, 2]` is a list of numbers",
        ),
        ("settle", "2", "give it a unit, e.g. `settle=2s`"),
        ("settle", "abc", "`settle` is a duration, and `abc` is text"),
        ("temps", "300", "write a list, e.g. `temps=[300]`"),
        ("temps", "[a, b]", "`temps` is a list of numbers"),
        (
            "do_iv",
            "1",
            "`do_iv` is `true` or `false`, and `1` is a number",
        ),
        (
            "vmax",
            "true",
            "`vmax` is a number, and `true` is `true` or `false`",
        ),
    ];
    for (name, value, says) in bad {
        let err = resolve(&d, &[(name.into(), value.into())], "f.yaml", read)
            .expect_err(value)
            .to_string();
        assert!(err.contains(says), "{name}={value}: {err}");
        assert!(err.contains(&format!("--set `{name}={value}`")), "{err}");
        assert!(err.contains("`vmax` (a number, default `1.5`)"), "{err}");
    }
}

/// An unknown name lists the parameters; on a file without any, says so.
#[test]
fn unknown_names() {
    let d = defaults(&[("vmax", "1.5")]);
    let err = resolve(&d, &[("vmx".into(), "1".into())], "f.yaml", read).expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "--set `vmx`: no such parameter; parameters: `vmax` (a number, default `1.5`)"
    );
    let err = resolve(&Vec::new(), &[("a".into(), "1".into())], "f.yaml", read).expect_err("none");
    assert!(err.to_string().contains("has no parameters"), "{err}");
}

/// The run log's values: numbers and text as JSON, durations as their text, lists as arrays;
/// in command text a duration is its seconds.
#[test]
fn json_and_values() {
    let d = defaults(&[
        ("v", "0.5"),
        ("s", "1m30s"),
        ("t", "[1, 2.5]"),
        ("l", "abc"),
    ]);
    assert_eq!(
        to_json(&d).to_string(),
        r#"{"v":0.5,"s":"1m30s","t":[1,2.5],"l":"abc"}"#
    );
    assert_eq!(
        get(&d, "s").and_then(Param::as_value),
        Some(Value::Float(90.0))
    );
    assert_eq!(get(&d, "t").and_then(Param::as_value), None);
}

/// `NAME=VALUE` splits at the first `=`; no `=` or no name is refused with an example.
#[test]
fn split_overrides() {
    assert_eq!(
        split_override("a=b=c").expect("ok"),
        ("a".to_owned(), "b=c".to_owned())
    );
    assert!(split_override("abc").is_err());
    assert!(split_override("=1").is_err());
}
