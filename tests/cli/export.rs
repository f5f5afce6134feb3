//! `sequencer export` and `sequencer plot`: a known run log gives exactly the expected CSV
//! and JSON Lines; a simulated run exports its sweep; plots are SVG files with the axis
//! labels and one line per series, or non-trivial PNGs; unknown names exit 2.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Output, Scratch};

/// A run log as `sequencer run` writes it, with everything export has rules for: setup and
/// teardown points, a point retried (`iv/1`), points completed out of order, a reply that
/// is not a number (`OVLD`), one with a comma and quotes, a value named like a variable
/// (`volt`, the readback) and one named like a fixed column (`status`), and a step
/// (`check`) without the sweep variables.
const LOG: &str = concat!(
    r#"{"type":"start","run_id":"bench-1795573617-c0dd92fa","name":"bench","sequence":"/lab/bench.yaml","sequence_sha256":"7f2b","metadata":{},"instruments":[{"name":"instrument","address":"127.0.0.1:5025","max_connections":2,"simulated":true}],"total_points":5,"started_at":"2026-11-25T02:26:57.889Z","version":"0.1.0"}"#,
    "\n",
    r#"{"type":"point","id":"setup/0","step":"setup","index":0,"vars":{},"conn":1,"attempt":1,"status":"ok","error":null,"started_at":"2026-11-25T02:26:57.900Z","elapsed_ms":0.5,"commands":[{"sent":"*IDN?","reply":"ACME,X,1","elapsed_ms":0.4}],"values":{"idn":"ACME,X,1"}}"#,
    "\n",
    r#"{"type":"point","id":"iv/1","step":"iv","index":1,"vars":{"ch":1,"volt":0.5},"conn":2,"attempt":1,"status":"failed","error":"connection 2 closed","started_at":"2026-11-25T02:26:57.942Z","elapsed_ms":3.2,"commands":[{"sent":"SOUR1:VOLT 0.5","elapsed_ms":0.1}],"values":{}}"#,
    "\n",
    r#"{"type":"point","id":"iv/0","step":"iv","index":0,"vars":{"ch":1,"volt":0.0},"conn":1,"attempt":1,"status":"ok","error":null,"started_at":"2026-11-25T02:26:57.942Z","elapsed_ms":26.094,"commands":[{"sent":"SOUR1:VOLT 0","elapsed_ms":0.1},{"sent":"MEAS1:CURR?","reply":"+1.500000E-04","elapsed_ms":1.2},{"sent":"SOUR1:VOLT?","reply":"0.001","elapsed_ms":1.1}],"values":{"current":"+1.500000E-04","volt":"0.001"}}"#,
    "\n",
    r#"{"type":"point","id":"iv/2","step":"iv","index":2,"vars":{"ch":2,"volt":0.0},"conn":1,"attempt":1,"status":"ok","error":null,"started_at":"2026-11-25T02:26:57.943Z","elapsed_ms":24.25,"commands":[{"sent":"SOUR2:VOLT 0","elapsed_ms":0.1},{"sent":"MEAS2:CURR?","reply":"OVLD","elapsed_ms":1.2},{"sent":"SOUR2:VOLT?","reply":"0","elapsed_ms":1.1}],"values":{"current":"OVLD","volt":"0"}}"#,
    "\n",
    r#"{"type":"point","id":"iv/1","step":"iv","index":1,"vars":{"ch":1,"volt":0.5},"conn":1,"attempt":2,"status":"ok","error":null,"started_at":"2026-11-25T02:26:57.990Z","elapsed_ms":25.5,"commands":[{"sent":"SOUR1:VOLT 0.5","elapsed_ms":0.1},{"sent":"MEAS1:CURR?","reply":"3.0e-4","elapsed_ms":1.2},{"sent":"SOUR1:VOLT?","reply":"0.502","elapsed_ms":1.1}],"values":{"current":"3.0e-4","volt":"0.502"}}"#,
    "\n",
    r#"{"type":"point","id":"iv/3","step":"iv","index":3,"vars":{"ch":2,"volt":0.5},"conn":2,"attempt":1,"status":"ok","error":null,"started_at":"2026-11-25T02:26:57.944Z","elapsed_ms":27.0,"commands":[{"sent":"SOUR2:VOLT 0.5","elapsed_ms":0.1},{"sent":"MEAS2:CURR?","reply":"2.5e-4","elapsed_ms":1.2},{"sent":"SOUR2:VOLT?","reply":"0.499","elapsed_ms":1.1}],"values":{"current":"2.5e-4","volt":"0.499"}}"#,
    "\n",
    r#"{"type":"point","id":"check/0","step":"check","index":0,"vars":{},"conn":1,"attempt":1,"status":"ok","error":null,"started_at":"2026-11-25T02:26:58.001Z","elapsed_ms":2.5,"commands":[{"sent":"SYST:ERR?","reply":"0,\"No error\"","elapsed_ms":1.2},{"sent":"STAT?","reply":"IDLE","elapsed_ms":1.2}],"values":{"err":"0,\"No error\"","status":"IDLE"}}"#,
    "\n",
    r#"{"type":"point","id":"teardown/0","step":"teardown","index":0,"vars":{},"conn":1,"attempt":1,"status":"ok","error":null,"started_at":"2026-11-25T02:26:58.010Z","elapsed_ms":0.2,"commands":[{"sent":"OUTP OFF","elapsed_ms":0.1}],"values":{}}"#,
    "\n",
    r#"{"type":"stop","exit_status":"success","reason":"all 5 points ok","points_ok":5,"points_failed":0,"points_aborted":0,"points_not_run":0,"retries":1,"ended_at":"2026-11-25T02:26:58.020Z"}"#,
    "\n",
);

/// What `sequencer export` makes of [`LOG`]: rows in sweep order, the retry's last record,
/// readings as plain numbers, `OVLD` as text, the clashing names prefixed, the reply with a
/// comma and quotes quoted, setup and teardown left out.
const CSV: &str = "\
id,step,ch,var:volt,current,value:volt,err,value:status,status,attempt,started_at,elapsed_ms
iv/0,iv,1,0.0,0.00015,0.001,,,ok,1,2026-11-25T02:26:57.942Z,26.094
iv/1,iv,1,0.5,0.0003,0.502,,,ok,2,2026-11-25T02:26:57.990Z,25.5
iv/2,iv,2,0.0,OVLD,0,,,ok,1,2026-11-25T02:26:57.943Z,24.25
iv/3,iv,2,0.5,0.00025,0.499,,,ok,1,2026-11-25T02:26:57.944Z,27.0
check/0,check,,,,,\"0,\"\"No error\"\"\",IDLE,ok,1,2026-11-25T02:26:58.001Z,2.5
";

/// A small sweep on the simulator whose readings depend on the point: each point stores a
/// current and reads it back, so a plot has two distinct curves. The two channels run in
/// parallel, each channel's points one after another (`parallel: [ch]`).
const SWEEP: &str = r#"
name: curves
instrument: {max_connections: 2}
steps:
  - name: iv
    mode: zip
    parallel: [ch]
    sweep:
      ch: [1, 1, 1, 1, 2, 2, 2, 2]
      volt: [0, 0.5, 1, 1.5, 0, 0.5, 1, 1.5]
      i: [0, 0.001, 0.004, 0.009, 0, 0.002, 0.004, 0.006]
    commands:
      - "SOUR{ch}:VOLT {volt}"
      - "MEAS{ch}:CURR {i}"
      - {query: "MEAS{ch}:CURR?", as: current}
      - {query: "*IDN?", as: idn}
"#;

/// Writes [`LOG`] into `scratch` and returns its path.
fn known_log(scratch: &Scratch) -> std::path::PathBuf {
    scratch.write("bench.jsonl", LOG)
}

/// Runs [`SWEEP`] on the simulator in `scratch`; returns the run log's path.
fn simulated_log(scratch: &Scratch) -> std::path::PathBuf {
    let (out, _) = scratch.run("curves.yaml", SWEEP, &["--sim"]);
    assert_eq!(out.code(), 0, "{out}");
    scratch.join("curves.yaml.jsonl")
}

/// Runs `sequencer` with `args` in `scratch`.
fn sequencer(scratch: &Scratch, args: &[&str]) -> Output {
    scratch.sequencer(args)
}

/// `export` of a known run prints exactly the expected CSV on stdout.
#[test]
fn csv_of_a_known_run() {
    let scratch = Scratch::new();
    known_log(&scratch);
    let out = sequencer(&scratch, &["export", "bench.jsonl"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.stdout, CSV);
}

/// `--format jsonl` gives one object per row with the CSV's keys in order, numbers as JSON
/// numbers, text as strings and `null` where a step lacks the column.
#[test]
fn jsonl_rows_of_a_known_run() {
    let scratch = Scratch::new();
    known_log(&scratch);
    let out = sequencer(&scratch, &["export", "bench.jsonl", "--format", "jsonl"]);
    assert_eq!(out.code(), 0, "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(
        lines[0],
        r#"{"id":"iv/0","step":"iv","ch":1,"var:volt":0.0,"current":0.00015,"value:volt":0.001,"err":null,"value:status":null,"status":"ok","attempt":1,"started_at":"2026-11-25T02:26:57.942Z","elapsed_ms":26.094}"#
    );
    let rows: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(rows[1]["attempt"], 2, "the retry's record wins");
    assert_eq!(rows[2]["current"], "OVLD");
    assert_eq!(rows[2]["value:volt"], 0);
    assert_eq!(
        rows[4],
        json!({"id": "check/0", "step": "check", "ch": null, "var:volt": null,
            "current": null, "value:volt": null, "err": "0,\"No error\"",
            "value:status": "IDLE", "status": "ok", "attempt": 1,
            "started_at": "2026-11-25T02:26:58.001Z", "elapsed_ms": 2.5})
    );
}

/// `-o` writes the file (creating its folder) and nothing on stdout; its extension picks
/// the format unless `--format` is given; the run log itself is never overwritten.
#[test]
fn output_file() {
    let scratch = Scratch::new();
    known_log(&scratch);
    let out = sequencer(&scratch, &["export", "bench.jsonl", "-o", "out/bench.csv"]);
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(out.stdout, "");
    assert_eq!(read(&scratch.join("out/bench.csv")), CSV);

    let out = sequencer(
        &scratch,
        &["export", "bench.jsonl", "-o", "bench.rows.jsonl"],
    );
    assert_eq!(out.code(), 0, "{out}");
    let text = read(&scratch.join("bench.rows.jsonl"));
    assert!(text.starts_with(r#"{"id":"iv/0","#), "{text}");
    let out = sequencer(
        &scratch,
        &["export", "bench.jsonl", "-o", "b.jsonl", "--format", "csv"],
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(read(&scratch.join("b.jsonl")), CSV);

    let out = sequencer(&scratch, &["export", "bench.jsonl", "-o", "./bench.jsonl"]);
    assert_eq!(out.code(), 2, "{out}");
    assert!(out.stderr_flat().contains("is the run log itself"), "{out}");
    assert_eq!(
        read(&scratch.join("bench.jsonl")),
        LOG,
        "the log is untouched"
    );
}

/// A file that is not a run log, or no file, is invalid input (exit 2) naming it.
#[test]
fn export_refuses_what_is_not_a_run_log() {
    let scratch = Scratch::new();
    scratch.write("notes.txt", "hello\n");
    for name in ["notes.txt", "missing.jsonl"] {
        let out = sequencer(&scratch, &["export", name]);
        assert_eq!(out.code(), 2, "{out}");
        assert!(out.stderr_flat().contains(name), "{out}");
        assert_eq!(out.stdout, "", "{out}");
    }
}

/// A run on the simulator exports one row per sweep point, in sweep order, with its
/// variables and its readings as numbers (and `*IDN?`'s reply as text).
#[test]
fn export_of_a_simulated_run() {
    let scratch = Scratch::new();
    let log = simulated_log(&scratch);
    let out = scratch.sequencer([Path::new("export"), &log]);
    assert_eq!(out.code(), 0, "{out}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "id,step,ch,volt,i,current,idn,status,attempt,started_at,elapsed_ms"
    );
    assert_eq!(lines.len(), 9, "{out}");
    let idn = format!("\"SEQUENCER,SIM,0,{}\"", env!("CARGO_PKG_VERSION"));
    let want = [
        ("iv/0", "1,0,0,0"),
        ("iv/1", "1,0.5,0.001,0.001"),
        ("iv/2", "1,1,0.004,0.004"),
        ("iv/3", "1,1.5,0.009,0.009"),
        ("iv/4", "2,0,0,0"),
        ("iv/5", "2,0.5,0.002,0.002"),
        ("iv/6", "2,1,0.004,0.004"),
        ("iv/7", "2,1.5,0.006,0.006"),
    ];
    for (line, (id, cells)) in lines[1..].iter().zip(want) {
        let start = format!("{id},iv,{cells},{idn},ok,1,");
        assert!(line.starts_with(&start), "{line}\nwanted {start}...");
    }
}

/// The SVG has the title, both axis names and a legend entry per group, and exactly one
/// data line per series: a polyline through more than two points (axes and ticks are
/// two-point segments), each in its own colour. Without `-o` it goes next to the log.
#[test]
fn svg_plot_has_labels_and_one_line_per_series() {
    let scratch = Scratch::new();
    let log = simulated_log(&scratch);
    let args = ["plot", "curves.yaml.jsonl", "--x", "volt", "--y", "current"];
    let out = sequencer(&scratch, &[&args[..], &["--group", "ch"]].concat());
    assert_eq!(out.code(), 0, "{out}");
    let svg_path = log.with_extension("svg");
    assert_eq!(
        out.stdout, "wrote curves.yaml.svg: 8 points in 2 series\n",
        "{out}"
    );
    let svg = read(&svg_path);
    let texts = svg_texts(&svg);
    for label in ["curves", "volt", "current", "ch = 1", "ch = 2"] {
        assert!(
            texts.iter().any(|t| t == label),
            "no `{label}` in {texts:?}"
        );
    }
    let lines = data_lines(&svg);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_ne!(lines[0], lines[1], "each series has its own colour");

    // Without --group: one line, no legend.
    let out = sequencer(&scratch, &[&args[..], &["-o", "one.svg"]].concat());
    assert_eq!(out.code(), 0, "{out}");
    let svg = read(&scratch.join("one.svg"));
    assert_eq!(data_lines(&svg).len(), 1);
    assert!(!svg_texts(&svg).iter().any(|t| t.starts_with("ch = ")));
}

/// A PNG is a real image of the plot's size with both series' colours in it, made with the
/// embedded font (CI machines have no system fonts).
#[test]
fn png_plot_is_written() {
    let scratch = Scratch::new();
    simulated_log(&scratch);
    let out = sequencer(
        &scratch,
        &[
            "plot",
            "curves.yaml.jsonl",
            "--x",
            "volt",
            "--y",
            "current",
            "--group",
            "ch",
            "-o",
            "plots/iv.png",
        ],
    );
    assert_eq!(out.code(), 0, "{out}");
    let bytes = std::fs::read(scratch.join("plots/iv.png")).expect("the PNG was written");
    assert!(bytes.len() > 8_000, "{} bytes", bytes.len());
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().expect("a valid PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a sane size")];
    let info = reader.next_frame(&mut pixels).expect("a valid PNG");
    assert_eq!((info.width, info.height), (960, 600));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let has = |rgb: [u8; 3]| pixels.chunks_exact(3).any(|p| p == rgb);
    assert!(has([0x1f, 0x77, 0xb4]), "first series colour");
    assert!(has([0xff, 0x7f, 0x0e]), "second series colour");
    let dark = pixels
        .chunks_exact(3)
        .filter(|p| p.iter().all(|&c| c < 60))
        .count();
    assert!(dark > 500, "text and axes are drawn ({dark} dark pixels)");
}

/// Rows whose x or y is not a number are skipped and counted; prefixed names work.
#[test]
fn plot_skips_points_without_numbers() {
    let scratch = Scratch::new();
    known_log(&scratch);
    let out = sequencer(
        &scratch,
        &[
            "plot",
            "bench.jsonl",
            "--x",
            "var:volt",
            "--y",
            "current",
            "--group",
            "ch",
        ],
    );
    assert_eq!(out.code(), 0, "{out}");
    assert_eq!(
        out.stdout,
        "wrote bench.svg: 3 points in 2 series; skipped 2 points without a number for x or y\n"
    );
}

/// An unknown `--x`, `--y` or `--group`, or an output that is neither SVG nor PNG, is
/// invalid input (exit 2); the error lists the names there are, and nothing is written.
#[test]
fn plot_refuses_unknown_names() {
    let scratch = Scratch::new();
    known_log(&scratch);
    let cases: [&[&str]; 4] = [
        &["--x", "volt", "--y", "current"],
        &["--x", "var:volt", "--y", "curent"],
        &["--x", "var:volt", "--y", "current", "--group", "channel"],
        &["--x", "var:volt", "--y", "current", "-o", "plot.jpg"],
    ];
    for extra in cases {
        let out = sequencer(&scratch, &[&["plot", "bench.jsonl"][..], extra].concat());
        assert_eq!(out.code(), 2, "{extra:?}\n{out}");
        let err = out.stderr_flat();
        if extra.contains(&"-o") {
            assert!(err.contains("`.svg` or `.png`"), "{err}");
        } else {
            assert!(
                err.contains(
                    "(variables: `ch`, `var:volt`; values: `current`, `value:volt`, `err`, \
                     `value:status`; or `id`, `step`, `status`, `attempt`, `started_at`, \
                     `elapsed_ms`)"
                ),
                "{err}"
            );
        }
    }
    assert!(!scratch.join("bench.svg").exists());
    assert!(!scratch.join("plot.jpg").exists());
}

/// The text of a file.
fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The contents of the SVG's `<text>` elements, trimmed.
pub(crate) fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|rest| {
            let body = rest.split_once('>')?.1;
            Some(body.split_once("</text>")?.0.trim().to_owned())
        })
        .collect()
}

/// The stroke colour of every polyline through more than two points: the data lines.
pub(crate) fn data_lines(svg: &str) -> Vec<String> {
    svg.split("<polyline")
        .skip(1)
        .filter_map(|rest| {
            let tag = rest.split_once("/>")?.0;
            let attr = |name: &str| {
                let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
                let len = tag[start..].find('"')?;
                Some(tag[start..start + len].to_owned())
            };
            let points = attr("points")?.split_whitespace().count();
            (points > 2).then(|| attr("stroke")).flatten()
        })
        .collect()
}
