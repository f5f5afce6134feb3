//! Tests of the parent module.
use super::*;
use crate::sequence::template::TestNames;

const VARS: &[&str] = &["ch", "volt", "mode_2"];

fn values() -> Vec<Value> {
    vec![
        Value::Int(2),
        Value::Float(0.1 + 0.2),
        Value::Str("FAST".into()),
    ]
}

/// Placeholders, formats and escapes render as documented.
#[test]
fn renders() {
    let cases = [
        ("", ""),
        ("*RST", "*RST"),
        ("VOLT {volt}", "VOLT 0.3"),
        ("VOLT {volt:.3}", "VOLT 0.300"),
        ("VOLT {volt:.0}", "VOLT 0"),
        ("SOUR{ch}:VOLT {volt}", "SOUR2:VOLT 0.3"),
        ("{ch}{ch}", "22"),
        ("{ch:.2}", "2.00"),
        ("MODE {mode_2:.4}", "MODE FAST"),
        ("{{literal}}", "{literal}"),
        ("{{{volt}}}", "{0.3}"),
        ("a}}b{{c", "a}b{c"),
        ("µ{volt}µ", "µ0.3µ"),
    ];
    for (text, want) in cases {
        let template = Template::parse(text, &TestNames(VARS)).unwrap();
        assert_eq!(
            template.render_to_string(&values()).unwrap(),
            want,
            "{text:?}"
        );
        assert_eq!(template.source(), text);
    }
}

/// `render` appends to what is already in the buffer.
#[test]
fn render_appends() {
    let template = Template::parse("V {volt}", &TestNames(VARS)).unwrap();
    let mut out = String::from("x;");
    template.render(&values(), &mut out).unwrap();
    assert_eq!(out, "x;V 0.3");
}

/// Rendering into a buffer with room reuses it instead of allocating.
#[test]
fn render_reuses_buffer() {
    let template =
        Template::parse("SOUR{ch}:VOLT {volt:.3};MODE {mode_2}", &TestNames(VARS)).unwrap();
    let mut out = String::with_capacity(256);
    let ptr = out.as_ptr();
    for _ in 0..100 {
        out.clear();
        template.render(&values(), &mut out).unwrap();
    }
    assert_eq!(out, "SOUR2:VOLT 0.300;MODE FAST");
    assert_eq!(out.as_ptr(), ptr);
}

/// `placeholders` and `is_constant` describe the slots with their source ranges.
#[test]
fn placeholders_and_constant() {
    type Case = (&'static str, Vec<(Vec<usize>, Option<usize>, Range<usize>)>);
    let cases: [Case; 4] = [
        ("*IDN?", vec![]),
        ("{{x}}", vec![]),
        (
            "V {volt:.2} C{ch}",
            vec![(vec![1], Some(2), 2..11), (vec![0], None, 13..17)],
        ),
        ("{mode_2}", vec![(vec![2], None, 0..8)]),
    ];
    for (text, want) in cases {
        let template = Template::parse(text, &TestNames(VARS)).unwrap();
        let got: Vec<_> = template.placeholders().collect();
        assert_eq!(got, want, "{text:?}");
        assert_eq!(template.is_constant(), want.is_empty(), "{text:?}");
    }
    assert!(Template::default().is_constant());
    assert_eq!(
        Template::default().render_to_string(&Vec::new()).unwrap(),
        ""
    );
}

/// Every kind of mistake is rejected with the placeholder's byte range.
#[test]
fn errors_and_spans() {
    let cases: [(&str, &[&str], Range<usize>, &str); 14] = [
        (
            "V {volt",
            VARS,
            2..7,
            "unclosed `{` in `{volt`: close the placeholder with `}`, or write `{{` for a literal brace",
        ),
        (
            "{a{volt}",
            VARS,
            0..2,
            "unclosed `{` in `{a`: close the placeholder with `}`, or write `{{` for a literal brace",
        ),
        (
            "x {",
            VARS,
            2..3,
            "unclosed `{` in `{`: close the placeholder with `}`, or write `{{` for a literal brace",
        ),
        (
            "a } b",
            VARS,
            2..3,
            "unmatched `}`: write `}}` for a literal brace",
        ),
        (
            "{volt}}",
            VARS,
            6..7,
            "unmatched `}`: write `}}` for a literal brace",
        ),
        (
            "V {}",
            VARS,
            2..4,
            "empty placeholder `{}`: write a variable or an expression, or `{{` and `}}` for literal braces",
        ),
        (
            "{:.3}",
            VARS,
            0..5,
            "empty placeholder `{:.3}`: write a variable or an expression, or `{{` and `}}` for literal braces",
        ),
        (
            "{1x}",
            VARS,
            1..3,
            "placeholder `{1x}`: expected an operator after the number, found `1x`",
        ),
        (
            "V {vlt}",
            &["ch", "volt"],
            3..6,
            "placeholder `{vlt}`: unknown name `vlt`; known here: `ch`, `volt`, `pi`",
        ),
        (
            "V {vlt}",
            &[],
            3..6,
            "placeholder `{vlt}`: unknown name `vlt`; known here: `pi`",
        ),
        (
            "{volt:x}",
            VARS,
            0..8,
            "unsupported format `:x`: use `{var}` or `{var:.N}`",
        ),
        (
            "{volt:.}",
            VARS,
            0..8,
            "unsupported format `:.`: use `{var}` or `{var:.N}`",
        ),
        (
            "{volt:.3f}",
            VARS,
            0..10,
            "unsupported format `:.3f`: use `{var}` or `{var:.N}`",
        ),
        (
            "{volt:.31}",
            VARS,
            0..10,
            "`:.31` asks for too many decimals: at most 30 are allowed",
        ),
    ];
    for (text, vars, span, message) in cases {
        let err = Template::parse(text, &TestNames(vars)).unwrap_err();
        assert_eq!(err.span(), span, "{text:?}");
        assert_eq!(err.to_string(), message, "{text:?}");
    }
}

/// A decimals count too big for `usize` is an error, not a panic.
#[test]
fn huge_decimals_saturate() {
    let err = Template::parse("{volt:.99999999999999999999999}", &TestNames(VARS)).unwrap_err();
    assert!(
        matches!(
            err,
            TemplateError::TooManyDecimals {
                decimals: usize::MAX,
                ..
            }
        ),
        "{err:?}"
    );
}

/// Placeholders name variables by the sequence's name rule: letters and digits of any
/// script, so `{ΔT}` and `{Temp_K}` render, and their spans are byte ranges of the text.
#[test]
fn unicode_placeholders() {
    let vars: &[&str] = &["ΔT", "Temp_K", "温度"];
    let t = Template::parse("SET {ΔT:.1} {Temp_K} {温度}µ", &TestNames(vars)).unwrap();
    let values = vec![Value::Float(0.25), Value::Int(300), Value::Str("低".into())];
    assert_eq!(t.render_to_string(&values).unwrap(), "SET 0.2 300 低µ");
    let spans: Vec<_> = t
        .placeholders()
        .map(|(slot, _, span)| (slot, span))
        .collect();
    assert_eq!(
        spans,
        [(vec![0], 4..12), (vec![1], 13..21), (vec![2], 22..30)]
    );
    let err = Template::parse("V {∆T}", &TestNames(vars)).unwrap_err();
    assert!(matches!(err, TemplateError::Expr { .. }), "{err:?}");
    let err = Template::parse("V {ΔU}", &TestNames(vars)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "placeholder `{ΔU}`: unknown name `ΔU`; known here: `ΔT`, `Temp_K`, `温度`, `pi`"
    );
}

/// A brace inside a quoted text of a placeholder is part of the text (`{'}'}` renders `}`),
/// and a quote left open falls back to the first `}` (the expression reports the quote).
#[test]
fn braces_in_quoted_text() {
    let names = TestNames(VARS);
    let t = Template::parse("A {'}'} B {if(ch > 1, '{x}', 'y')}", &names).unwrap();
    assert_eq!(t.render_to_string(&values()).unwrap(), "A } B {x}");
    let err = Template::parse("A {'abc} B", &names).unwrap_err();
    assert!(matches!(err, TemplateError::Expr { .. }), "{err:?}");
    assert!(err.to_string().contains("placeholder `{'abc}`"), "{err}");
}
