//! The device file as `PyYAML`'s `BaseLoader` sees it: a tree of maps, lists and strings.
//!
//! pyvisa-sim loads its files with `BaseLoader`, which resolves no types: `min: 0` is the
//! string `"0"` and `default: 100.0` the string `"100.0"`, converted later by the property's
//! `type`. serde-saphyr infers types when asked for "anything", so [`parse`] takes the text
//! of every inferred scalar (numbers, booleans, nulls) back from the source by its span.
//! Duplicate keys keep their first position and their last value, like a Python `dict`;
//! `<<` is an ordinary key (`BaseLoader` does not merge). Every node keeps its byte span so
//! `build.rs` can point problems at `file:line:col`.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::yaml::{MAX_DEPTH, Problem, byte_range, from_yaml_error};

/// One YAML node and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Node {
    /// What the node holds.
    pub kind: Kind,
    /// Byte range of the node in the file (empty when unknown).
    pub span: Range<usize>,
}

/// The three shapes `BaseLoader` produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// Any scalar, as text (`BaseLoader` resolves no types; an empty value is `""`).
    Scalar(String),
    /// A list.
    Seq(Vec<Node>),
    /// A mapping in file order, keys unique (a repeated key's value replaces the first).
    Map(Vec<(Key, Node)>),
}

/// A mapping key and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Key {
    /// The key's text.
    pub text: String,
    /// Byte range of the key in the file.
    pub span: Range<usize>,
}

impl Node {
    /// The scalar's text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is a mapping.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The items, if this is a list.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value under `key`, if this is a mapping that has it.
    #[cfg(test)]
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }

    /// What the node is, for messages (`a mapping`, `a list`, `text`).
    pub fn shape(&self) -> &'static str {
        match self.kind {
            Kind::Scalar(_) => "a single value",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    /// A short span to underline for the node: a scalar whole, a collection by its first
    /// key or item (a whole mapping would underline half the file).
    pub fn head(&self) -> Range<usize> {
        match &self.kind {
            Kind::Map(entries) => entries
                .first()
                .map_or(self.span.clone(), |(k, _)| k.span.clone()),
            Kind::Seq(items) => items.first().map_or(self.span.clone(), Node::head),
            Kind::Scalar(_) => self.span.clone(),
        }
    }
}

/// Parses `text` into a node tree, or the YAML error as a problem.
pub(super) fn parse(text: &str) -> Result<Node, Problem> {
    // Budgets like those of sequence files, a little larger: device files list every
    // command of an instrument, but still run to a few thousand nodes at most.
    let options = serde_saphyr::options! {
        with_snippet: false,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::PassThrough,
        merge_keys: serde_saphyr::MergeKeyPolicy::AsOrdinary,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::PassThrough,
        null_as_string: true,
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            flow_nesting_limit: MAX_DEPTH,
            max_nodes: 200_000,
            max_events: 500_000,
            max_anchors: 1_000,
            max_aliases: 5_000,
            max_recorded_anchor_events: 50_000,
            max_documents: 1,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 50_000,
            max_replay_stack_depth: 16,
        },
    };
    let raw: Option<Spanned<Raw>> = serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| from_yaml_error(&e, text))?;
    Ok(match raw {
        Some(raw) => resolve(raw, text),
        // An empty document: `yaml.load` returns `None`.
        None => Node {
            kind: Kind::Scalar(String::new()),
            span: 0..0,
        },
    })
}

/// The node as serde-saphyr delivered it, before inferred scalars get their source text.
#[derive(Debug)]
enum Raw {
    /// A string scalar (quoted, block, or plain text): `BaseLoader` gives the same text.
    Text(String),
    /// A scalar serde-saphyr read as a number, boolean or null; holds its rendering, used
    /// only if the source text cannot be recovered.
    Inferred(String),
    /// A list.
    Seq(Vec<Spanned<Raw>>),
    /// A mapping, duplicates included, in file order.
    Map(Vec<(Spanned<String>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Raw, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

/// Builds a [`Raw`] from whatever the YAML holds.
struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Text(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Text(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Inferred(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Inferred(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::Inferred(v.to_string()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Raw, E> {
        Ok(Raw::Inferred(v.to_string()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
        Ok(Raw::Inferred(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Inferred(v.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Inferred(String::new()))
    }

    fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Inferred(String::new()))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Raw, D::Error> {
        Raw::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some((key, value)) = map.next_entry::<Spanned<String>, Spanned<Raw>>()? {
            entries.push((key, value));
        }
        Ok(Raw::Map(entries))
    }
}

/// Turns the raw tree into nodes: inferred scalars get their source text, duplicate keys
/// collapse.
fn resolve(raw: Spanned<Raw>, text: &str) -> Node {
    let span = byte_range(raw.referenced);
    let kind = match raw.value {
        Raw::Text(s) => Kind::Scalar(s),
        Raw::Inferred(fallback) => {
            // An alias is read where its anchor defined the value.
            let defined = byte_range(raw.defined);
            Kind::Scalar(source_text(text, defined).unwrap_or(fallback))
        }
        Raw::Seq(items) => Kind::Seq(items.into_iter().map(|i| resolve(i, text)).collect()),
        Raw::Map(raw_entries) => {
            let mut entries: Vec<(Key, Node)> = Vec::with_capacity(raw_entries.len());
            // Position of each key in `entries`, so a file with tens of thousands of keys
            // in one mapping does not compare every key with every other.
            let mut index: HashMap<String, usize> = HashMap::with_capacity(raw_entries.len());
            for (key, value) in raw_entries {
                let value = resolve(value, text);
                if let Some(&i) = index.get(&key.value) {
                    entries[i].1 = value;
                    continue;
                }
                index.insert(key.value.clone(), entries.len());
                entries.push((
                    Key {
                        span: byte_range(key.referenced),
                        text: key.value,
                    },
                    value,
                ));
            }
            Kind::Map(entries)
        }
    };
    Node { kind, span }
}

/// The text of a plain scalar at `span`, if the span is sound: one line, no comment, no
/// anchor or tag in front.
fn source_text(text: &str, span: Range<usize>) -> Option<String> {
    let s = text.get(span)?.trim_end();
    let plain = !s.contains(['\n', '\r', '#', '&', '!', ':', ',', '[', ']', '{', '}']);
    plain.then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scalar at `path` (keys and list indexes) of `yaml`.
    fn at(yaml: &str, path: &[&str]) -> String {
        let mut node = parse(yaml).unwrap();
        for step in path {
            node = match step.parse::<usize>() {
                Ok(i) => node.as_seq().unwrap()[i].clone(),
                Err(_) => node.get(step).unwrap().clone(),
            };
        }
        node.as_str().unwrap().to_owned()
    }

    /// Every scalar reads as `BaseLoader` reads it: its text, whatever it looks like.
    #[test]
    fn scalars_are_their_text() {
        let yaml = "a: 100.0\nb: 0x10\nc: true\nd:\ne: ~\nf: '1.0'\ng: 1_000 # comment\n\
                    h: [1.50, yes, null]\ni: {j: 2.0e3}\nk: \"a\\nb\"\nl: .Inf\nm: -0\n";
        let cases: &[(&[&str], &str)] = &[
            (&["a"], "100.0"),
            (&["b"], "0x10"),
            (&["c"], "true"),
            (&["d"], ""),
            (&["e"], "~"),
            (&["f"], "1.0"),
            (&["g"], "1_000"),
            (&["h", "0"], "1.50"),
            (&["h", "1"], "yes"),
            (&["h", "2"], "null"),
            (&["i", "j"], "2.0e3"),
            (&["k"], "a\nb"),
            (&["l"], ".Inf"),
            (&["m"], "-0"),
        ];
        for (path, want) in cases {
            assert_eq!(at(yaml, path), *want, "{path:?}");
        }
    }

    /// Keys keep their text too, and an alias reads its anchor's text.
    #[test]
    fn keys_and_aliases() {
        let yaml = "1.0: &x 2.50\nb: *x\n";
        assert_eq!(at(yaml, &["1.0"]), "2.50");
        assert_eq!(at(yaml, &["b"]), "2.50");
    }

    /// A repeated key keeps its first position and its last value, like a Python dict.
    #[test]
    fn duplicate_keys_last_value_first_place() {
        let node = parse("a: 1\nb: 2\na: 3\n").unwrap();
        let map = node.as_map().unwrap();
        let got: Vec<_> = map
            .iter()
            .map(|(k, v)| (k.text.as_str(), v.as_str().unwrap()))
            .collect();
        assert_eq!(got, [("a", "3"), ("b", "2")]);
    }

    /// `<<` is an ordinary key, as with `BaseLoader`.
    #[test]
    fn merge_key_is_ordinary() {
        let node = parse("base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n").unwrap();
        let d = node.get("d").unwrap();
        assert!(d.get("<<").is_some());
        assert!(d.get("x").is_none());
    }

    /// Spans point at the scalar, for `file:line:col` messages.
    #[test]
    fn spans_point_at_values() {
        let yaml = "a:\n  b: 12.5\n  c: text\n";
        let node = parse(yaml).unwrap();
        let b = node.get("a").unwrap().get("b").unwrap();
        assert_eq!(&yaml[b.span.clone()], "12.5");
        let (key, _) = &node.get("a").unwrap().as_map().unwrap()[1];
        assert_eq!(&yaml[key.span.clone()], "c");
    }

    /// Broken YAML is a problem with a location, not a panic; an empty file is `""`.
    #[test]
    fn syntax_errors_and_empty_files() {
        let problem = parse("a: [1, 2\n").unwrap_err();
        assert!(!problem.message.is_empty());
        assert_eq!(parse("").unwrap().as_str(), Some(""));
    }
}
