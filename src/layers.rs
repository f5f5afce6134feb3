//! The crate's layers, and the test that holds `src/` to them.
//!
//! [`LAYERS`] puts every top-level module in a layer, bottom to top. A module may use the
//! modules of the layers below its own. It may not use a module of a layer above, nor a
//! sibling in its own layer, except along the few edges of [`EXCEPTIONS`], each with its
//! reason. [`NARROW`] names the parts of a lower module that a module may use when the rest
//! is none of its business.
//!
//! The test reads every `.rs` file under `src/` and checks each path from the crate root in
//! its code ([`scan`]): `use` lines, paths in expressions, paths in attribute strings. Test
//! code counts like the rest. It fails naming the file, the line and the path, and names an
//! exception that nothing needs any more. A new top-level module fails it until it has a
//! layer here. This module itself is not checked: its tests hold example imports.

mod scan;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::BTreeSet;

/// The layers, bottom to top: a name, and the top-level modules in it.
const LAYERS: &[(&str, &[&str])] = &[
    // Reading YAML files and pointing at the problems in them: knows nothing of the crate.
    ("neutral", &["yaml"]),
    // Plain model and protocol: the sequence (YAML model, sweeps, templates, durations),
    // line framing.
    ("model", &["sequence", "protocol"]),
    // What the actors share at run time besides messages: the run's abort epochs, work
    // after an actor's wake-ups.
    ("runtime", &["abort", "wakeup"]),
    // The run log: its records, the writer, the one reader.
    ("run log", &["runlog"]),
    // The crate's error: wraps the errors of the layers below, gives the exit codes.
    ("error", &["error"]),
    // One point's commands over a stream; what a run log holds for a resume.
    ("point", &["exec", "resume"]),
    // The actors, and the simulator beside them: neither knows the other.
    ("actors", &["connection", "pool", "sequencer", "sim"]),
    // The tools that read run logs.
    ("log tools", &["diff", "export", "plot"]),
    // The command line's flags and subcommands.
    ("flags", &["cli"]),
    // stderr: log lines and progress bars.
    ("stderr", &["logging"]),
    // The subcommands carried out.
    ("subcommands", &["app"]),
    // The binary: `src/main.rs`.
    ("binary", &["main"]),
    // Scripted instruments for the tests: above everything, so that nothing in the product
    // may use them (public only because the integration tests in `tests/` use them too).
    ("testing", &["testing"]),
    // The actors' in-process tests (`#[cfg(test)]`), over scripted instruments.
    ("actor tests", &["actor_tests"]),
];

/// Edges allowed against the layers: (from, to, why).
const EXCEPTIONS: &[(&str, &str, &str)] = &[
    (
        "pool",
        "connection",
        "a pool starts its connections, and dials them again",
    ),
    (
        "sequencer",
        "pool",
        "the sequencer hands its points to the pools",
    ),
    (
        "sequencer",
        "connection",
        "the sequencer makes each point's Execute, which its pool hands on to a connection \
         unopened",
    ),
    (
        "plot",
        "export",
        "a plot draws the table `export` reads from a log",
    ),
];

/// Lower modules of which a module may use only some parts: (from, to, the items or
/// modules of `to` it may name, why).
const NARROW: &[(&str, &str, &[&str], &str)] = &[
    (
        "sim",
        "sequence",
        &["Eom", "IoSettings", "duration", "termination"],
        "the simulator frames lines as a sequence's instruments do and reads the same \
         durations; the rest of the model is not its business",
    ),
    (
        "sim",
        "runlog",
        &["read"],
        "a replay reads a run log with the one reader",
    ),
    (
        "diff",
        "runlog",
        &["read"],
        "a tool reads logs with the one reader",
    ),
    (
        "export",
        "runlog",
        &["read"],
        "a tool reads logs with the one reader",
    ),
    (
        "plot",
        "runlog",
        &["read"],
        "a tool reads logs with the one reader",
    ),
];

/// Items the crate root re-exports, and the module each comes from.
const ROOT_ITEMS: &[(&str, &str)] = &[("Error", "error"), ("Result", "error")];

/// The index in [`LAYERS`] of the layer that holds `module`.
fn layer(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// The module path of the file at `file` (relative to `src/`): `sequence/compile/steps.rs`
/// is `["sequence", "compile", "steps"]`, `sim/mod.rs` is `["sim"]`, `lib.rs` is empty.
fn module_path(file: &str) -> Vec<&str> {
    let mut path: Vec<&str> = file
        .strip_suffix(".rs")
        .unwrap_or(file)
        .split('/')
        .collect();
    if matches!(path.last(), Some(&("mod" | "lib"))) {
        path.pop();
    }
    path
}

/// Why the top-level module `from` may not use `path`, or `None` when it may. An edge that
/// an exception or a narrow entry allows goes into `used`.
fn forbidden(
    from: &str,
    path: &scan::Path,
    used: &mut BTreeSet<(String, String)>,
) -> Option<String> {
    let first = path.segments.first()?.as_str();
    let to = ROOT_ITEMS
        .iter()
        .find(|(item, _)| *item == first)
        .map_or(first, |(_, module)| *module);
    if to == from || (path.climbs() && layer(to).is_none()) {
        return None;
    }
    let not_placed = |m: &str| format!("`{m}` is in no layer of the table in src/layers.rs");
    let Some(to_layer) = layer(to) else {
        return Some(not_placed(to));
    };
    let Some(from_layer) = layer(from) else {
        return Some(not_placed(from));
    };
    if let Some((_, _, parts, _)) = NARROW.iter().find(|n| n.0 == from && n.1 == to) {
        used.insert((from.to_owned(), to.to_owned()));
        let part = path.segments.get(1).map_or("", String::as_str);
        return (!parts.contains(&part)).then(|| {
            format!(
                "`{from}` may use only `{}` of `{to}` (see NARROW)",
                parts.join("`, `")
            )
        });
    }
    if EXCEPTIONS.iter().any(|e| e.0 == from && e.1 == to) {
        used.insert((from.to_owned(), to.to_owned()));
        return None;
    }
    let (to_name, from_name) = (LAYERS[to_layer].0, LAYERS[from_layer].0);
    match to_layer.cmp(&from_layer) {
        Ordering::Less => None,
        Ordering::Greater => Some(format!(
            "`{from}` ({from_name} layer) uses `{to}`, in the {to_name} layer above it"
        )),
        Ordering::Equal => Some(format!(
            "`{from}` uses `{to}`, a sibling in the {from_name} layer that it should not know"
        )),
    }
}

/// Every path in `text`, the file at `file` (relative to `src/`), that its module may not
/// use, as `src/FILE:LINE: `PATH`: WHY`. The crate root (`lib.rs`) declares the modules
/// and is not checked, nor is this module.
fn violations(file: &str, text: &str, used: &mut BTreeSet<(String, String)>) -> Vec<String> {
    let module = module_path(file);
    let Some(&from) = module.first() else {
        return Vec::new();
    };
    if from == "layers" {
        return Vec::new();
    }
    let code = scan::code(text);
    let mut found: Vec<String> = scan::paths(&code, &module, from == "main")
        .into_iter()
        .filter_map(|path| {
            let why = forbidden(from, &path, used)?;
            Some(format!(
                "src/{file}:{}: `{}`: {why}",
                path.line,
                path.text()
            ))
        })
        .collect();
    found.extend(re_exports(file, from, &code));
    found
}

/// Re-exports of another top-level module's items (`pub use crate::other::Item`): through
/// them a module above would use `other` without the table seeing the edge.
fn re_exports(file: &str, from: &str, code: &str) -> Vec<String> {
    code.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim_start();
            let rest = line.strip_prefix("pub")?;
            let rest = match rest.strip_prefix('(') {
                Some(vis) => &vis[vis.find(')')? + 1..],
                None => rest,
            };
            let used = rest.trim_start().strip_prefix("use")?.trim_start();
            let to = used.strip_prefix("crate::")?;
            let to = &to[..to.find(|c: char| !(c.is_alphanumeric() || c == '_'))?];
            (to != from).then(|| {
                format!(
                    "src/{file}:{}: `{}`: `{from}` re-exports `{to}`, hiding the edge from \
                     this table: let its users import `{to}` (with an exception if they must)",
                    i + 1,
                    line.trim_end_matches(';')
                )
            })
        })
        .collect()
}

/// Every `.rs` file under `dir`, as (path relative to `root`, text).
fn sources(
    root: &std::path::Path,
    dir: &std::path::Path,
) -> std::io::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(sources(root, &path)?);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel = rel.to_string_lossy().replace('\\', "/");
            files.push((rel, std::fs::read_to_string(&path)?));
        }
    }
    Ok(files)
}
