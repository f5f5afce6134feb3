//! Checking `channels:` groups, and specialising their queries for each channel id.

use super::parts::Owner;
use super::{Cx, Level, is_empty, lookup};
use crate::sim::pyvisa::node::{Key, Node};
use crate::sim::pyvisa::pyfmt::{self, Markup, PyError, PyValue};
use crate::sim::pyvisa::spec::{ChannelQueries, ChannelSpec, ComponentSpec};

/// Most channel queries a device's groups expand to (for each group with `can_select`,
/// its ids times its dialogues and properties). pyvisa-sim builds one dict entry per id
/// and query at load; so does this simulator, and a file listing thousands of ids and
/// thousands of queries would otherwise take minutes and gigabytes to load. Real
/// instruments have a few dozen channels and a few hundred commands.
const MAX_EXPANDED: usize = 100_000;

impl Cx {
    /// `channels:` groups.
    pub(super) fn channels(
        &mut self,
        entries: &[(Key, Node)],
        has_selected_channel: bool,
    ) -> Vec<ChannelSpec> {
        let groups = lookup(entries, "channels")
            .map_or(&[][..], |n| self.map(n, "`channels`").unwrap_or_default());
        let mut out = Vec::new();
        // Channel queries expanded so far, by every group before this one.
        let mut expanded = 0usize;
        for (key, node) in groups {
            let what = format!("channel group `{}`", key.text);
            let Some(c) = self.map(node, &what) else {
                continue;
            };
            self.keys(c, Level::Channel, &what);
            if let Some(bases) = lookup(c, "bases").filter(|b| !is_empty(b)) {
                self.problem(
                    bases.head(),
                    "`bases` is not supported (pyvisa-sim does not implement it either)",
                    "unsupported",
                );
            }
            let ids: Vec<String> = lookup(c, "ids")
                .map_or(&[][..], |n| self.seq(n, "`ids`").unwrap_or_default())
                .iter()
                .filter_map(|id| self.scalar(id, "a channel id").map(str::to_owned))
                .collect();
            if ids.is_empty() {
                self.warnings.push(format!(
                    "{what} has no `ids`; its dialogues and getters match nothing"
                ));
            }
            let can_select = self.can_select(c, &what, has_selected_channel);
            // Whether the queries are specialised per id (not past the limit).
            let mut specialise_ids = can_select;
            if can_select {
                let queries = lookup(c, "dialogues")
                    .and_then(Node::as_seq)
                    .map_or(0, <[_]>::len)
                    + lookup(c, "properties")
                        .and_then(Node::as_map)
                        .map_or(0, <[_]>::len);
                expanded = expanded.saturating_add(ids.len().saturating_mul(queries));
                if expanded > MAX_EXPANDED {
                    let at = lookup(c, "ids").map_or(key.span.clone(), Node::head);
                    self.problem(
                        at,
                        format!(
                            "{what} has {} ids and {queries} dialogues and properties, which \
                             makes {expanded} channel queries in the device, over the limit of \
                             {MAX_EXPANDED}",
                            ids.len()
                        ),
                        "too many channels for this many commands",
                    );
                    // Checked without specialising, so other problems are still found.
                    specialise_ids = false;
                }
            }
            let owner = Owner::Channel(specialise_ids.then_some(ids.as_slice()));
            let mut component = ComponentSpec::default();
            self.dialogues(c, &mut component, owner);
            self.properties(c, &mut component, owner);
            let by_id = if specialise_ids {
                ids.iter().map(|id| specialise(&component, id)).collect()
            } else {
                Vec::new()
            };
            out.push(ChannelSpec {
                name: key.text.clone(),
                ids,
                can_select,
                component,
                by_id,
            });
        }
        out
    }

    /// `can_select:`: false only for the exact text `False`, as pyvisa-sim reads it.
    fn can_select(&mut self, entries: &[(Key, Node)], what: &str, has_selected: bool) -> bool {
        let Some(node) = lookup(entries, "can_select") else {
            return true;
        };
        let text = node.as_str().unwrap_or_default();
        if text == "False" {
            if !has_selected {
                self.problems.push(
                    crate::yaml::Problem::new(
                        node.span.clone(),
                        format!("{what} has `can_select: False` but the device has no `selected_channel` property"),
                        "which channel?",
                    )
                    .help("add a device property `selected_channel` whose value is the id of the channel commands address"),
                );
            }
            return false;
        }
        if matches!(text.to_lowercase().as_str(), "false" | "no" | "off" | "0") {
            self.warnings.push(format!(
                "{what}: `can_select: {text}` counts as true; pyvisa-sim only reads the exact text `False` as false"
            ));
        }
        true
    }
}

/// The dialogues and getters of a channel group with `{ch_id}` filled in with `id`, in
/// dict order so that a later query formatting to the same text wins, as in pyvisa-sim.
fn specialise(component: &ComponentSpec, id: &str) -> ChannelQueries {
    let mut out = ChannelQueries::default();
    for query in &component.dialogue_order {
        if let (Ok(q), Some(d)) = (with_ch_id(query, id), component.dialogues.get(query)) {
            out.dialogues.insert(q, d.clone());
        }
    }
    for query in &component.getter_order {
        if let (Ok(q), Some(g)) = (with_ch_id(query, id), component.getters.get(query)) {
            out.getters.insert(q, g.clone());
        }
    }
    out
}

/// Why a channel query cannot take its channel ids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ChIdError {
    /// Python's error formatting the query.
    #[error(transparent)]
    Python(#[from] PyError),
    /// A field other than `{ch_id}`.
    #[error("field `{{{name}}}` is not `{{ch_id}}` (Python would raise)")]
    OtherField {
        /// The field's name.
        name: String,
    },
    /// `{ch_id:{...}}`.
    #[error("unsupported: a nested field in the format spec of `{{ch_id}}`")]
    NestedSpec,
    /// A conversion this module does not reproduce on the id.
    #[error("unsupported: conversion `!{code}` of `{{ch_id}}`")]
    Conversion {
        /// The conversion character.
        code: char,
    },
}

/// Python's `query.format(ch_id=id)`: `{ch_id}` (with a conversion or a format spec) is
/// the id, `{{` and `}}` are braces; any other field is an error, as it is in Python.
pub(super) fn with_ch_id(query: &str, id: &str) -> Result<String, ChIdError> {
    let mut out = String::with_capacity(query.len());
    for piece in Markup::new(query) {
        let piece = piece?;
        out.push_str(piece.literal);
        let Some(field) = piece.field else {
            continue;
        };
        if field.name != "ch_id" {
            return Err(ChIdError::OtherField {
                name: field.name.to_owned(),
            });
        }
        if field.spec_has_fields {
            return Err(ChIdError::NestedSpec);
        }
        let value = PyValue::Str(id.to_owned());
        let value = match field.conversion {
            None | Some('s') => value,
            Some('r' | 'a') if id.is_ascii() => PyValue::Str(value.py_repr()),
            Some(code) => return Err(ChIdError::Conversion { code }),
        };
        out.push_str(&pyfmt::format_value(&value, field.spec)?);
    }
    Ok(out)
}
