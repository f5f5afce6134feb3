//! Checking what devices and channel groups share: dialogues, properties (with their
//! getters, setters and specs).

use std::sync::Arc;

use super::channels::with_ch_id;
use super::{Cx, Level, is_empty, lookup};
use crate::sim::pyvisa::node::{Key, Node};
use crate::sim::pyvisa::pyfmt::{self, PyType, PyValue};
use crate::sim::pyvisa::random::Directive;
use crate::sim::pyvisa::spec::{
    ComponentSpec, DialogueSpec, GetterSpec, PropertySpec, SetterSpec, Specs, unescape,
};
use crate::sim::pyvisa::strparse::Parser;

/// Whose commands are being checked.
#[derive(Debug, Clone, Copy)]
pub(super) enum Owner<'a> {
    /// The device itself.
    Device,
    /// A channel group; with `can_select`, the ids its `{ch_id}` queries are made for.
    Channel(Option<&'a [String]>),
}

/// Python's `str.strip(" ")`: spaces only, not other whitespace.
fn strip(text: &str) -> &str {
    text.trim_matches(' ')
}

impl Cx {
    /// `dialogues:` of a device or channel group.
    pub(super) fn dialogues(
        &mut self,
        entries: &[(Key, Node)],
        component: &mut ComponentSpec,
        owner: Owner<'_>,
    ) {
        let items = lookup(entries, "dialogues")
            .map_or(&[][..], |n| self.seq(n, "`dialogues`").unwrap_or_default());
        for item in items {
            let Some(d) = self.map(item, "a dialogue") else {
                continue;
            };
            self.keys(d, Level::Dialogue, "a dialogue");
            let delay = self.delay(d);
            let Some((q_node, query)) = self.query(d, "a dialogue", item) else {
                continue;
            };
            let query = unescape(query);
            self.ch_ids(owner, &query, q_node);
            let reply = match lookup(d, "r") {
                Some(r) => self.scalar(r, "`r`").map(|t| (r, unescape(strip(t)))),
                None => None,
            };
            if let Some((_, text)) = &reply
                && text.contains("RANDOM")
            {
                self.random(text);
            }
            if !component.dialogues.contains_key(&query) {
                component.dialogue_order.push(query.clone());
            }
            let reply = reply.map(|(_, text)| text);
            component
                .dialogues
                .insert(query, DialogueSpec { reply, delay });
        }
    }

    /// The `q` of a mapping, stripped of spaces as pyvisa-sim strips it (not unescaped).
    fn query<'n>(
        &mut self,
        entries: &'n [(Key, Node)],
        what: &str,
        at: &Node,
    ) -> Option<(&'n Node, &'n str)> {
        let node = self.required(entries, "q", what, at.head())?;
        self.scalar(node, "`q`").map(|t| (node, strip(t)))
    }

    /// Checks a reply with `RANDOM` in it as pyvisa-sim reads it on every query. A bad
    /// one is only a warning: pyvisa-sim loads the file (its own bundled `default.yaml` has
    /// two on purpose) and fails when it is queried, where this simulator answers the
    /// command error.
    fn random(&mut self, text: &str) {
        if let Err(why) = Directive::parse(text).and_then(|d| d.check()) {
            self.warnings.push(format!(
                "bad `RANDOM` reply `{text}`: {why}; querying it answers the command error \
                 (pyvisa-sim raises); write `{{RANDOM(min, max, count):format}}`"
            ));
        }
    }

    /// Checks that a channel query specialises for every id (`{ch_id}` and `{{`/`}}` only).
    fn ch_ids(&mut self, owner: Owner<'_>, query: &str, node: &Node) {
        let Owner::Channel(Some(ids)) = owner else {
            return;
        };
        if let Some(why) = ids.iter().find_map(|id| with_ch_id(query, id).err()) {
            self.problem(
                node.span.clone(),
                format!("channel query `{query}` cannot take a channel id: {why}"),
                "only `{ch_id}` can be filled in here",
            );
        }
    }

    /// `properties:` of a device or channel group, with their getters and setters.
    pub(super) fn properties(
        &mut self,
        entries: &[(Key, Node)],
        component: &mut ComponentSpec,
        owner: Owner<'_>,
    ) {
        let props = lookup(entries, "properties")
            .map_or(&[][..], |n| self.map(n, "`properties`").unwrap_or_default());
        for (key, node) in props {
            let what = format!("property `{}`", key.text);
            let Some(p) = self.map(node, &what) else {
                continue;
            };
            self.keys(p, Level::Property, &what);
            let property = self.property(key, p);
            let index = component.properties.len();
            let has_setter = lookup(p, "setter").is_some();
            let getter = lookup(p, "getter")
                .and_then(|g| self.getter(g, index, property.as_ref(), owner, has_setter));
            let setter = lookup(p, "setter").and_then(|s| self.setter(s, index, &what));
            let Some(property) = property else {
                continue;
            };
            if let Some((query, getter)) = getter {
                if !component.getters.contains_key(&query) {
                    component.getter_order.push(query.clone());
                }
                component.getters.insert(query, getter);
            }
            component.setters.extend(setter);
            component.properties.push(property);
        }
    }

    /// A property's default, specs and ramp.
    fn property(&mut self, key: &Key, entries: &[(Key, Node)]) -> Option<PropertySpec> {
        let default_node = lookup(entries, "default");
        let default = match default_node {
            Some(d) => self.scalar(d, "`default`")?,
            None => "",
        };
        let specs = match lookup(entries, "specs") {
            Some(s) if !is_empty(s) => Some(self.specs(s, &key.text)?),
            _ => None,
        };
        let mut property = PropertySpec {
            name: key.text.clone(),
            default: PyValue::Str(default.to_owned()),
            specs,
            ramp: None,
        };
        match property.validate(PyValue::Str(default.to_owned())) {
            Ok(value) => property.default = value,
            Err(why) => {
                let at = default_node.map_or(key.span.clone(), |d| d.span.clone());
                self.problem(
                    at,
                    format!("bad default of property `{}`: {why}", key.text),
                    "invalid default",
                );
                return None;
            }
        }
        property.ramp = self.ramp(entries, &property).ok()?;
        Some(property)
    }

    /// Extension `ramp:`: a positive rate on a float property. `Err` on a problem (recorded).
    fn ramp(
        &mut self,
        entries: &[(Key, Node)],
        property: &PropertySpec,
    ) -> Result<Option<f64>, ()> {
        let Some(node) = lookup(entries, "ramp") else {
            return Ok(None);
        };
        let text = self.scalar(node, "`ramp`").ok_or(())?;
        let is_float = property
            .specs
            .as_ref()
            .is_some_and(|s| s.ty == PyType::Float);
        if !is_float {
            self.problem(
                node.span.clone(),
                format!(
                    "`ramp` needs a float property; give `{}` `specs: {{type: float}}`",
                    property.name
                ),
                "not a float property",
            );
            return Err(());
        }
        match PyValue::Str(text.to_owned()).convert(PyType::Float) {
            Ok(PyValue::Float(rate)) if rate.is_finite() && rate > 0.0 => Ok(Some(rate)),
            _ => {
                self.problem(
                    node.span.clone(),
                    format!("`ramp` must be a positive number of units per second, got `{text}`"),
                    "not a rate",
                );
                Err(())
            }
        }
    }

    /// `specs:`: the type, and `min`, `max`, `valid` converted to it.
    fn specs(&mut self, node: &Node, property: &str) -> Option<Specs> {
        let entries = self.map(node, "`specs`")?;
        self.keys(entries, Level::Specs, &format!("the specs of `{property}`"));
        let type_node = self.required(entries, "type", "`specs`", node.head())?;
        let ty = match self.scalar(type_node, "`type`")? {
            "int" => PyType::Int,
            "float" => PyType::Float,
            "str" => PyType::Str,
            other => {
                self.problem(
                    type_node.span.clone(),
                    format!(
                        "invalid property type `{other}`; valid types are `int`, `float`, `str`"
                    ),
                    "unknown type",
                );
                return None;
            }
        };
        let mut ok = true;
        let mut convert = |cx: &mut Cx, n: &Node, text: &str, key: &str| {
            let value = PyValue::Str(text.to_owned()).convert(ty);
            if let Err(why) = &value {
                ok = false;
                cx.problem(
                    n.span.clone(),
                    format!(
                        "`{key}` `{text}` of `{property}` is not a valid {}: {why}",
                        ty.name()
                    ),
                    "wrong type",
                );
            }
            value.ok()
        };
        let mut bound = |cx: &mut Cx, key: &str| {
            let n = lookup(entries, key)?;
            let text = cx.scalar(n, &format!("`{key}`"))?;
            convert(cx, n, text, key)
        };
        let min = bound(self, "min");
        let max = bound(self, "max");
        let mut valid = Vec::new();
        if let Some(n) = lookup(entries, "valid") {
            match n.as_str() {
                // pyvisa-sim iterates whatever it gets: a text gives its characters.
                Some(text) => {
                    for c in text.chars() {
                        valid.extend(convert(self, n, &c.to_string(), "valid"));
                    }
                }
                None => {
                    for item in self.seq(n, "`valid`").unwrap_or_default() {
                        if let Some(text) = self.scalar(item, "a valid value") {
                            valid.extend(convert(self, item, text, "valid"));
                        }
                    }
                }
            }
        }
        ok.then_some(Specs {
            ty,
            min,
            max,
            valid,
        })
    }

    /// A getter: its query (unescaped, as a key) and spec. Its reply is checked against
    /// the default value when the stored value always has the default's type.
    fn getter(
        &mut self,
        node: &Node,
        property: usize,
        spec: Option<&PropertySpec>,
        owner: Owner<'_>,
        has_setter: bool,
    ) -> Option<(String, GetterSpec)> {
        let entries = self.map(node, "a getter")?;
        self.keys(entries, Level::Getter, "a getter");
        let delay = self.delay(entries);
        let (q_node, query) = self.query(entries, "a getter", node)?;
        let query = unescape(query);
        self.ch_ids(owner, &query, q_node);
        let template = match lookup(entries, "r") {
            Some(r) => Some((r, strip(self.scalar(r, "`r`")?).to_owned())),
            None => None,
        };
        if let (Some((r, text)), Some(spec)) = (&template, spec) {
            self.check_getter(r, text, spec, owner, has_setter);
        } else if template.is_none() {
            self.warnings.push(format!(
                "the getter `{query}` has no `r`: pyvisa-sim fails when it is queried, \
                 this simulator answers the command error"
            ));
        }
        Some((
            query,
            GetterSpec {
                property,
                template: template.map(|(_, t)| t),
                delay,
            },
        ))
    }

    /// A getter reply pyvisa-sim would fail to produce: a problem when the stored value
    /// always has the default's type (specs, a channel, or no setter), else a warning.
    fn check_getter(
        &mut self,
        node: &Node,
        template: &str,
        spec: &PropertySpec,
        owner: Owner<'_>,
        has_setter: bool,
    ) {
        if template.contains("RANDOM") {
            self.random(template);
            return;
        }
        let Err(why) = pyfmt::format(template, &spec.default) else {
            return;
        };
        let message = format!(
            "getter reply `{template}` of `{}` cannot format its default `{}`: {why}",
            spec.name,
            spec.default.to_py_string()
        );
        let fixed_type = spec.specs.is_some() || matches!(owner, Owner::Channel(_)) || !has_setter;
        if fixed_type {
            self.problem(
                node.span.clone(),
                message,
                "pyvisa-sim would fail on this query",
            );
        } else {
            self.warnings.push(message);
        }
    }

    /// A setter: its pattern and replies.
    fn setter(&mut self, node: &Node, property: usize, what: &str) -> Option<SetterSpec> {
        let entries = self.map(node, "a setter")?;
        self.keys(entries, Level::Setter, "a setter");
        let delay = self.delay(entries);
        let (q_node, pattern) = self.query(entries, "a setter", node)?;
        let reply = |cx: &mut Cx, key: &str| -> Option<Option<String>> {
            match lookup(entries, key) {
                Some(n) => cx
                    .scalar(n, &format!("`{key}`"))
                    .map(|t| Some(unescape(strip(t)))),
                None => Some(None),
            }
        };
        let ok = reply(self, "r")?;
        let err = reply(self, "e")?;
        match Parser::new(pattern) {
            Ok(parser) => Some(SetterSpec {
                property,
                parser: Arc::new(parser),
                ok,
                err,
                delay,
            }),
            Err(why) => {
                self.problem(
                    q_node.span.clone(),
                    format!("bad setter pattern `{pattern}` of {what}: {why}"),
                    "not a valid pattern",
                );
                None
            }
        }
    }
}
