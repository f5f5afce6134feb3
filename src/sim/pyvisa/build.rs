//! Checking a device file: the YAML tree of [`super::node`] to a [`DeviceSpec`].
//!
//! Everything pyvisa-sim refuses when it loads a device (or would fail on at the first
//! command, such as a getter format its default value cannot take) is a [`Problem`] at the
//! offending key or value; problems are collected, not stopped at. Keys pyvisa-sim does not
//! know are ignored with a warning, as pyvisa-sim ignores them, except those that look like
//! one of our extensions (`delay`, `jitter`, `seed`, `max_connections`, `greeting`, `ramp`) misspelt or
//! misplaced: those are problems, since the extension would silently do nothing.
//! Device-level keys and the helpers are here; `error:` in `build/errors.rs`, `eom:` in
//! `build/eom.rs`, dialogues and properties in `build/parts.rs`, `channels:` in
//! `build/channels.rs`.

mod channels;
mod eom;
mod errors;
mod keys;
mod parts;

use self::keys::Level;
use self::parts::Owner;

use std::ops::Range;
use std::time::Duration;

use super::node::{Key, Kind, Node};
use super::pyfmt::PyType;
use super::spec::{ComponentSpec, DeviceSpec, ErrorSpec, unescape};
use crate::sequence::duration::parse_duration;
use crate::yaml::Problem;

/// The newest spec version read (pyvisa-sim's `SPEC_VERSION`).
const SPEC_VERSION: (i64, i64) = (1, 1);

/// Interface types pyvisa knows, for `eom:` keys (`TCPIP SOCKET`, `ASRL INSTR`, ...).
pub(super) const INTERFACES: &[&str] = &[
    "unknown",
    "gpib",
    "vxi",
    "gpib_vxi",
    "asrl",
    "pxi",
    "tcpip",
    "usb",
    "rio",
    "firewire",
    "rsnrp",
    "vicp",
    "prlgx_asrl",
    "prlgx_tcpip",
];

/// The checking pass over one file.
pub(super) struct Cx {
    /// What is wrong, in any order (sorted when reported).
    pub problems: Vec<Problem>,
    /// Things pyvisa-sim ignores that the user may want to know, logged after loading.
    pub warnings: Vec<String>,
}

impl Cx {
    /// An empty pass.
    pub fn new() -> Cx {
        Cx {
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Records a problem.
    pub fn problem(&mut self, span: Range<usize>, message: impl Into<String>, label: &str) {
        self.problems.push(Problem::new(span, message, label));
    }

    /// The entries of `node`, or a problem if it is not a mapping. An empty value (`key:`)
    /// reads as an empty mapping, as pyvisa-sim's `.get(key, {})` would not, but it is what
    /// the user meant.
    pub fn map<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Key, Node)]> {
        match &node.kind {
            Kind::Map(entries) => Some(entries),
            Kind::Scalar(s) if s.is_empty() => Some(&[]),
            _ => {
                self.problem(
                    node.head(),
                    format!("{what} must be a mapping, found {}", node.shape()),
                    "expected `key: value` entries",
                );
                None
            }
        }
    }

    /// The items of `node`, or a problem if it is not a list (an empty value is empty).
    pub fn seq<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Node]> {
        match &node.kind {
            Kind::Seq(items) => Some(items),
            Kind::Scalar(s) if s.is_empty() => Some(&[]),
            _ => {
                self.problem(
                    node.head(),
                    format!("{what} must be a list, found {}", node.shape()),
                    "expected `- item` entries",
                );
                None
            }
        }
    }

    /// The text of `node`, or a problem if it is a list or mapping.
    pub fn scalar<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n str> {
        if let Some(text) = node.as_str() {
            return Some(text);
        }
        self.problem(
            node.head(),
            format!("{what} must be a single value, found {}", node.shape()),
            "expected text",
        );
        None
    }

    /// The text under `key` of a mapping, or a problem at `at` if it is missing.
    pub fn required<'n>(
        &mut self,
        entries: &'n [(Key, Node)],
        key: &str,
        what: &str,
        at: Range<usize>,
    ) -> Option<&'n Node> {
        let found = lookup(entries, key);
        if found.is_none() {
            self.problem(
                at,
                format!("{what} has no `{key}`"),
                &format!("add `{key}:`"),
            );
        }
        found
    }

    /// Extension `delay:` of a mapping (zero when absent).
    pub fn delay(&mut self, entries: &[(Key, Node)]) -> Duration {
        self.duration(entries, "delay")
    }

    /// A duration extension under `key`.
    fn duration(&mut self, entries: &[(Key, Node)], key: &str) -> Duration {
        let Some(node) = lookup(entries, key) else {
            return Duration::ZERO;
        };
        let Some(text) = self.scalar(node, &format!("`{key}`")) else {
            return Duration::ZERO;
        };
        match parse_duration(text) {
            Ok(d) => d,
            Err(e) => {
                self.problems.push(
                    Problem::new(
                        node.span.clone(),
                        format!("bad `{key}`: {e}"),
                        "not a duration",
                    )
                    .help("write a number with a unit, as in `20 ms` or `1.5s`"),
                );
                Duration::ZERO
            }
        }
    }

    /// A whole number under `key` at least `min`.
    fn count(&mut self, entries: &[(Key, Node)], key: &str, min: u64) -> Option<u64> {
        let node = lookup(entries, key)?;
        let text = self.scalar(node, &format!("`{key}`"))?;
        match text.trim().parse::<u64>() {
            Ok(n) if n >= min => Some(n),
            _ => {
                self.problem(
                    node.span.clone(),
                    format!("`{key}` must be a whole number of at least {min}, got `{text}`"),
                    "not a valid count",
                );
                None
            }
        }
    }

    /// Checks the top of the file (`spec:` version, `devices:`) and returns the devices.
    pub fn top<'n>(&mut self, root: &'n Node) -> Option<&'n [(Key, Node)]> {
        let Some(entries) = root.as_map() else {
            self.problem(
                root.head(),
                "a pyvisa-sim device file is a mapping with `spec:` and `devices:`",
                "not a mapping",
            );
            return None;
        };
        self.keys(entries, Level::Top, "the file");
        self.version(root, entries);
        let devices = if let Some(node) = lookup(entries, "devices") {
            self.map(node, "`devices`")
        } else {
            self.problem(root.head(), "the file has no `devices:`", "add `devices:`");
            None
        };
        match devices {
            Some([]) => {
                let at = lookup_key(entries, "devices").map_or(0..0, |k| k.span.clone());
                self.problem(at, "`devices` is empty", "no device");
                None
            }
            other => other,
        }
    }

    /// pyvisa-sim's version checks: `spec` is `X.Y...` in integers, at most 1.1, major 1.
    fn version(&mut self, root: &Node, entries: &[(Key, Node)]) {
        let Some(node) = lookup(entries, "spec") else {
            self.problems.push(
                Problem::new(
                    root.head(),
                    "the file does not say its `spec` version",
                    "here",
                )
                .help("add `spec: \"1.1\"` at the top"),
            );
            return;
        };
        let Some(text) = self.scalar(node, "`spec`") else {
            return;
        };
        let parts: Result<Vec<i64>, _> = text.split('.').map(py_int).collect();
        let Ok(parts) = parts else {
            self.problem(
                node.span.clone(),
                format!("invalid `spec` version `{text}`: expected `X.Y` with integers X and Y"),
                "not a version",
            );
            return;
        };
        let newest = [SPEC_VERSION.0, SPEC_VERSION.1];
        if parts.as_slice() > newest.as_slice() {
            self.problem(
                node.span.clone(),
                format!(
                    "spec version `{text}` is newer than {}.{}, the newest this program reads",
                    SPEC_VERSION.0, SPEC_VERSION.1
                ),
                "unsupported version",
            );
        } else if parts.first() != Some(&SPEC_VERSION.0) {
            self.problem(
                node.span.clone(),
                format!("spec version `{text}` has major version other than 1"),
                "unsupported version",
            );
        }
    }

    /// Checks one device and builds its spec (`None` if it has problems).
    pub fn device(&mut self, name: &Key, node: &Node) -> Option<DeviceSpec> {
        let what = format!("device `{}`", name.text);
        let entries = self.map(node, &what)?;
        self.keys(entries, Level::Device, &what);
        let before = self.problems.len();
        if let Some(bases) = lookup(entries, "bases")
            && !is_empty(bases)
        {
            self.problem(
                bases.head(),
                "`bases` is not supported (pyvisa-sim does not implement it either)",
                "unsupported",
            );
        }
        let delimiter = lookup(entries, "delimiter")
            .map_or(Some(";"), |d| self.scalar(d, "`delimiter`"))
            .unwrap_or(";")
            .to_owned();
        let errors = lookup(entries, "error").map_or_else(ErrorSpec::default, |e| self.errors(e));
        let eom = self.eom(entries, &what);
        let component = self.component(entries);
        let selected_channel = component
            .properties
            .iter()
            .position(|p| p.name == "selected_channel");
        let channels = self.channels(entries, selected_channel.is_some());
        let selects_by_property = channels.iter().any(|c| !c.can_select);
        if let Some(i) = selected_channel
            && selects_by_property
            && let Some(specs) = &component.properties[i].specs
            && specs.ty != PyType::Str
        {
            self.warnings.push(format!(
                "{what}: `selected_channel` is of type `{}`, but pyvisa-sim compares it with \
                 the channel ids as text, so no `can_select: False` channel ever matches",
                specs.ty.name()
            ));
        }
        let spec = DeviceSpec {
            name: name.text.clone(),
            delimiter,
            framing: eom.framing,
            framing_note: eom.note,
            greeting: self.greeting(entries),
            errors,
            component,
            channels,
            selected_channel,
            delay: self.delay(entries),
            jitter: self.duration(entries, "jitter"),
            seed: self.count(entries, "seed", 0),
            max_connections: self
                .count(entries, "max_connections", 1)
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        };
        (self.problems.len() == before).then_some(spec)
    }

    /// Extension `greeting:`, with `\r` and `\n` escapes decoded as in replies; empty is a
    /// problem (leave the key out for no greeting).
    fn greeting(&mut self, entries: &[(Key, Node)]) -> Option<String> {
        let node = lookup(entries, "greeting")?;
        let text = unescape(self.scalar(node, "`greeting`")?);
        if text.is_empty() {
            self.problem(
                node.span.clone(),
                "`greeting` is empty: leave it out for a device that greets no one",
                "empty greeting",
            );
            return None;
        }
        Some(text)
    }

    /// Device-level dialogues and properties.
    fn component(&mut self, entries: &[(Key, Node)]) -> ComponentSpec {
        let mut component = ComponentSpec::default();
        self.dialogues(entries, &mut component, Owner::Device);
        self.properties(entries, &mut component, Owner::Device);
        component
    }
}

/// The value under `key`, if present.
pub(super) fn lookup<'n>(entries: &'n [(Key, Node)], key: &str) -> Option<&'n Node> {
    entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v)
}

/// The key `key` itself, if present.
fn lookup_key<'n>(entries: &'n [(Key, Node)], key: &str) -> Option<&'n Key> {
    entries.iter().find(|(k, _)| k.text == key).map(|(k, _)| k)
}

/// Python truthiness of a `BaseLoader` value: empty text, list or mapping is false.
pub(super) fn is_empty(node: &Node) -> bool {
    match &node.kind {
        Kind::Scalar(s) => s.is_empty(),
        Kind::Seq(items) => items.is_empty(),
        Kind::Map(entries) => entries.is_empty(),
    }
}

/// Python's `int(text)` (surrounding whitespace, a sign and `_` between digits allowed).
pub(super) fn py_int(text: &str) -> Result<i64, ()> {
    use super::pyfmt::{PyType, PyValue};
    match PyValue::Str(text.to_owned()).convert(PyType::Int) {
        Ok(PyValue::Int(n)) => Ok(n),
        _ => Err(()),
    }
}
