use std::collections::BTreeSet;
use std::path::Path;

use super::{EXCEPTIONS, LAYERS, NARROW, scan, sources, violations};

/// The violations of one in-memory file, without the edges it used.
fn check(file: &str, text: &str) -> Vec<String> {
    violations(file, text, &mut BTreeSet::new())
}

/// Every file under `src/` uses only what its module's layer allows, and every exception
/// in the table is still needed.
#[test]
fn src_keeps_to_its_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = sources(&src, &src).expect("src/ is readable");
    files.sort();
    assert!(
        files.len() > 100,
        "found only {} files under src/",
        files.len()
    );
    let mut used = BTreeSet::new();
    let mut found = Vec::new();
    for (file, text) in &files {
        found.extend(violations(file, text, &mut used));
    }
    let modules: BTreeSet<&str> = files
        .iter()
        .filter_map(|(file, _)| super::module_path(file).first().copied())
        .collect();
    for (name, layer) in LAYERS {
        for module in *layer {
            if !modules.contains(module) {
                found.push(format!(
                    "LAYERS: the {name} layer's `{module}` is no module"
                ));
            }
        }
    }
    for (from, to, _) in EXCEPTIONS {
        if !used.contains(&((*from).to_owned(), (*to).to_owned())) {
            found.push(format!(
                "EXCEPTIONS: nothing uses `{from}` -> `{to}` any more: remove it"
            ));
        }
    }
    for (from, to, _, _) in NARROW {
        if !used.contains(&((*from).to_owned(), (*to).to_owned())) {
            found.push(format!(
                "NARROW: `{from}` uses nothing of `{to}` any more: remove it"
            ));
        }
    }
    assert!(
        found.is_empty(),
        "{} imports against the layers (src/layers.rs):\n{}",
        found.len(),
        found.join("\n")
    );
}

/// Every module is in one layer only, and every exception names placed modules.
#[test]
fn the_table_is_consistent() {
    let all: Vec<&str> = LAYERS.iter().flat_map(|(_, m)| m.iter().copied()).collect();
    let unique: BTreeSet<&str> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "a module in two layers: {all:?}");
    for (from, to, _) in EXCEPTIONS {
        assert!(
            unique.contains(from) && unique.contains(to),
            "{from} -> {to}"
        );
    }
    for (from, to, _, _) in NARROW {
        assert!(
            unique.contains(from) && unique.contains(to),
            "{from} -> {to}"
        );
    }
}

/// An import from a layer above is caught, named by file, line and path; one from below is
/// not.
#[test]
fn an_upward_import_is_caught() {
    let text = "use std::fmt;\nuse crate::sequence::Step;\nuse crate::app::run::Prepared;\n";
    assert_eq!(
        check("runlog/read.rs", text),
        [
            "src/runlog/read.rs:3: `crate::app::run::Prepared`: `runlog` (run log layer) uses \
          `app`, in the subcommands layer above it"
        ]
    );
}

/// A sibling in the same layer is caught, unless an exception names the edge.
#[test]
fn a_sibling_is_caught_unless_excepted() {
    let diff = check("diff/mod.rs", "fn f() { crate::export::export(); }");
    assert_eq!(diff.len(), 1, "{diff:?}");
    assert!(
        diff[0].contains("a sibling in the log tools layer"),
        "{diff:?}"
    );
    assert!(check("plot/chart.rs", "use crate::export::Table;").is_empty());
}

/// Paths in comments and doc links do not count; paths in strings and expressions do.
#[test]
fn comments_do_not_count_strings_do() {
    let text = "/// See [`crate::app`].\n//! crate::app\n// crate::app\n/* crate::app */\n\
                let s = \"// not a comment\"; let c = '\"'; let t = crate::app::X;\n\
                #[serde(serialize_with = \"crate::cli::f\")]\n";
    let found = check("exec.rs", text);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("src/exec.rs:5: `crate::app::X`"),
        "{found:?}"
    );
    assert!(
        found[1].starts_with("src/exec.rs:6: `crate::cli::f`"),
        "{found:?}"
    );
}

/// Each item of a `use` group counts, on its own line.
#[test]
fn groups_are_flattened() {
    let text = "use crate::{\n    runlog::{self, RunLog},\n    sequencer::Summary,\n};\n";
    let found = check("exec.rs", text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("src/exec.rs:3: `crate::sequencer::Summary`"));
    let paths = scan::paths(&scan::code(text), &["exec"], false);
    let texts: Vec<String> = paths.iter().map(scan::Path::text).collect();
    assert_eq!(
        texts,
        [
            "crate::runlog::self",
            "crate::runlog::RunLog",
            "crate::sequencer::Summary"
        ]
    );
}

/// A narrow edge lets through only its named parts, and not the whole module.
#[test]
fn a_narrow_edge_names_its_parts() {
    assert!(
        check(
            "sim/mod.rs",
            "use crate::sequence::{Eom, duration::parse_duration};"
        )
        .is_empty()
    );
    let found = check(
        "sim/pyvisa/mod.rs",
        "use crate::sequence::compile::x;\nuse crate::sequence::{self, Eom};",
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("`sim` may use only `Eom`"), "{found:?}");
    assert!(found[1].starts_with("src/sim/pyvisa/mod.rs:2: `crate::sequence::self`"));
}

/// A `super::` chain that climbs out of its top-level module counts like `crate::`; one
/// that stays inside, or ends in an inline module's parent, does not.
#[test]
fn super_chains_that_climb_out_count() {
    let text = "use super::super::super::cli::Cli;\nuse super::super::diagnostic::Problem;\n\
                mod tests { use super::*; }";
    let found = check("sequence/compile/steps.rs", text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("src/sequence/compile/steps.rs:1: `super::super::super::cli::Cli`")
    );
    assert!(
        check(
            "resume.rs",
            "mod tests { use super::*; use super::Resume; }"
        )
        .is_empty()
    );
}

/// The crate root's re-exports count as their module; the binary names the crate
/// `sequencer`; `$crate` and other crates' paths do not count.
#[test]
fn roots_and_aliases() {
    let found = check("sequence/mod.rs", "fn f() -> crate::Result<()> { Ok(()) }");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("uses `error`"), "{found:?}");
    assert!(check("main.rs", "use sequencer::app; sequencer::Error::x();").is_empty());
    assert!(check("exec.rs", "$crate::app::x; my_crate::app::y;").is_empty());
}

/// A module in no layer fails, so a new module gets a place in the table.
#[test]
fn a_module_in_no_layer_fails() {
    let found = check("newthing.rs", "use crate::sequence::Step;");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("`newthing` is in no layer"), "{found:?}");
}

/// Char literals and lifetimes do not confuse the comment stripper.
#[test]
fn chars_and_lifetimes() {
    let text =
        "fn f<'a>(x: &'a str) -> char { '\\'' }\n// crate::app\nlet r = r#\"// \"#; crate::app::y";
    let found = check("exec.rs", text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("src/exec.rs:3: `crate::app::y`"),
        "{found:?}"
    );
}

/// A re-export of another module's item is refused, whatever its visibility; one of the
/// module's own items is not.
#[test]
fn re_exports_of_other_modules_are_refused() {
    let found = check("pool.rs", "pub use crate::connection::Execute;\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("src/pool.rs:1: `pub use crate::connection::Execute`"));
    assert!(
        found[0].contains("`pool` re-exports `connection`"),
        "{found:?}"
    );
    let found = check(
        "pool.rs",
        "\n  pub(crate) use crate::connection::{Execute, Done};\n",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("src/pool.rs:2:"), "{found:?}");
    assert!(check("pool/dial.rs", "pub use crate::pool::Open;\n").is_empty());
    assert!(check("pool.rs", "use crate::connection::Execute;\n").is_empty());
}
