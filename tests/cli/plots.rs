//! `sequencer plot`'s text: characters the PNG's built-in font lacks are reported once, and
//! legend values read as the commands rendered them. (Where the PNG's glyphs go is checked
//! against the font's metrics by the unit tests of `src/plot/lettering.rs`.)

use crate::export::svg_texts;
use crate::support::Scratch;

/// A run whose name and step name hold characters outside the built-in font (`温`, `度`)
/// and one inside it (`Ω`).
const FOREIGN: &str = r#"
name: Probe-Ω-温度
steps:
  - name: 温度_scan
    sweep: {x: [0, 1, 2]}
    commands:
      - "MEAS:CURR {x}"
      - {query: "MEAS:CURR?", as: current}
"#;

/// A sweep whose group variables are a linspace (floats `0.5` and `1.0`) and a list of
/// integers; the commands show how each value is rendered.
const GROUPS: &str = r#"
name: groups
steps:
  - name: s
    sweep:
      g: {start: 0.5, stop: 1, num: 2}
      n: [1, 2]
      x: [0, 1]
    commands:
      - "LEVEL {g}"
      - "MEAS:CURR {x}"
      - {query: "MEAS:CURR?", as: current}
"#;

/// A PNG whose title and legend hold characters the built-in font lacks is written (they
/// are drawn as boxes), and stderr names them in one warning however often they are drawn;
/// an SVG, whose text the viewer draws, gets no warning.
#[test]
fn missing_glyphs_are_reported_once() {
    let scratch = Scratch::new();
    let (out, _) = scratch.run("foreign.yaml", FOREIGN, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let plot = |output: &str| {
        scratch.sequencer([
            "plot",
            "foreign.yaml.jsonl",
            "--x",
            "x",
            "--y",
            "current",
            "--group",
            "step",
            "-o",
            output,
        ])
    };
    let out = plot("foreign.png");
    assert_eq!(out.code(), 0, "{out}");
    assert!(scratch.join("foreign.png").exists());
    let err = out.stderr_flat();
    assert_eq!(err.matches("no glyph").count(), 1, "{out}");
    assert!(
        err.contains(
            "plot: the built-in font has no glyph for '温', '度'; the PNG shows a box in their place"
        ),
        "{out}"
    );

    let out = plot("foreign.svg");
    assert_eq!(out.code(), 0, "{out}");
    assert!(!out.stderr.contains("glyph"), "{out}");
    let texts = svg_texts(&std::fs::read_to_string(scratch.join("foreign.svg")).unwrap());
    assert!(texts.iter().any(|t| t == "Probe-Ω-温度"), "{texts:?}");
}

/// Legend values are written as the commands wrote them: the linspace's floats as `0.5`
/// and `1` (the run sent `LEVEL 1`), integers as `1` and `2`, never `1.0`.
#[test]
fn legend_values_read_as_commands() {
    let scratch = Scratch::new();
    let (out, records) = scratch.run("groups.yaml", GROUPS, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    let sent: Vec<&str> = records
        .iter()
        .filter_map(|r| r["commands"].as_array())
        .flatten()
        .filter_map(|c| c["sent"].as_str())
        .collect();
    assert!(
        sent.contains(&"LEVEL 1") && sent.contains(&"LEVEL 0.5"),
        "{sent:?}"
    );

    for (group, labels) in [("g", ["g = 0.5", "g = 1"]), ("n", ["n = 1", "n = 2"])] {
        let svg = format!("{group}.svg");
        let out = scratch.sequencer([
            "plot",
            "groups.yaml.jsonl",
            "--x",
            "x",
            "--y",
            "current",
            "--group",
            group,
            "-o",
            &svg,
        ]);
        assert_eq!(out.code(), 0, "{out}");
        let texts = svg_texts(&std::fs::read_to_string(scratch.join(&svg)).unwrap());
        let legend: Vec<&String> = texts.iter().filter(|t| t.contains(" = ")).collect();
        assert_eq!(legend, labels, "{texts:?}");
    }
}
