//! A `channels:` group at run time: pyvisa-sim's `Channels.match`, state included.
//!
//! [`super::device::PyDevice`] asks each group in turn about a command no device-level
//! item matched. A group with `can_select` tries its dialogues and getters specialised for
//! each id in turn; one without reads the id from the device's `selected_channel`
//! property and uses its queries as written. Setters come last; a setter pattern with a
//! `{ch_id}` field addresses that channel (any id, listed or not, as in pyvisa-sim),
//! without one it writes the channel last looked at, which is pyvisa-sim's `_selected`
//! and kept here as [`ChannelState::selected`].

use std::collections::HashMap;
use std::time::Instant;

use super::component::{self, Found, Hit, Slot};
use super::device::ErrorState;
use super::pyfmt::PyValue;
use super::random::Rng;
use super::spec::{ChannelSpec, ErrorSpec, GetterSpec, SetterSpec};
use super::strparse::Parsed;

/// Most distinct channel ids a property stores values for; setters accept any id, so a
/// client looping over ids must not grow the instrument without bound.
const MAX_CHANNEL_IDS: usize = 4096;

/// A channel id as pyvisa-sim keys its per-channel values: a Python object, so the text
/// `1` and the integer 1 are different channels.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum ChKey {
    /// No channel looked at yet (`None`).
    Unset,
    /// A text id (ids from the file and `{ch_id}` fields are text).
    Text(String),
    /// A number (a `{ch_id:d}` field), by its Python spelling.
    Number(String),
}

impl ChKey {
    /// The key of a parsed or stored value.
    fn of(value: &PyValue) -> ChKey {
        match value {
            PyValue::Str(s) => ChKey::Text(s.clone()),
            other => ChKey::Number(other.to_py_string()),
        }
    }
}

/// What a group's match needs from the rest of the device.
pub(super) struct DeviceCx<'a> {
    /// The device's error settings, for a failed setter without `e`.
    pub errors_spec: &'a ErrorSpec,
    /// Its registers and queues, which such a failure updates.
    pub errors: &'a mut ErrorState,
    /// The current value of the device's `selected_channel` property, if it has one.
    pub selected_channel: Option<PyValue>,
    /// Draws for `RANDOM` replies.
    pub rng: &'a mut Rng,
    /// When the command arrived (for ramps).
    pub now: Instant,
}

/// The changing part of one group.
#[derive(Debug, Clone)]
pub(super) struct ChannelState {
    /// The channel last looked at or addressed (pyvisa-sim's `_selected`).
    selected: ChKey,
    /// Per property (in spec order), the values set per channel; others read the default.
    values: Vec<HashMap<ChKey, Slot>>,
}

impl ChannelState {
    /// A group with every channel at its defaults.
    pub fn new(spec: &ChannelSpec) -> ChannelState {
        ChannelState {
            selected: ChKey::Unset,
            values: vec![HashMap::new(); spec.component.properties.len()],
        }
    }

    /// pyvisa-sim's `Channels.match`: `None` when nothing in the group matched.
    pub fn answer(
        &mut self,
        spec: &ChannelSpec,
        query: &str,
        cx: &mut DeviceCx<'_>,
    ) -> Option<Hit> {
        if spec.can_select {
            for (id, queries) in spec.ids.iter().zip(&spec.by_id) {
                self.selected = ChKey::Text(id.clone());
                if let Some(d) = queries.dialogues.get(query) {
                    return Some(component::dialogue(d, cx.rng));
                }
                if let Some(g) = queries.getters.get(query) {
                    return Some(self.get(spec, g, cx));
                }
            }
        } else {
            // Only a text id can equal one of the ids, which are text.
            let Some(PyValue::Str(id)) = &cx.selected_channel else {
                return None;
            };
            if !spec.ids.contains(id) {
                return None;
            }
            self.selected = ChKey::Text(id.clone());
            if let Some(d) = spec.component.dialogues.get(query) {
                return Some(component::dialogue(d, cx.rng));
            }
            if let Some(g) = spec.component.getters.get(query) {
                return Some(self.get(spec, g, cx));
            }
        }
        self.set(spec, query, cx)
    }

    /// A getter of the selected channel.
    fn get(&self, spec: &ChannelSpec, getter: &GetterSpec, cx: &mut DeviceCx<'_>) -> Hit {
        let property = &spec.component.properties[getter.property];
        let value = self.values[getter.property]
            .get(&self.selected)
            .map_or_else(|| property.default.clone(), |slot| slot.read(cx.now));
        component::getter(getter, &property.name, &value, cx.rng)
    }

    /// pyvisa-sim's `Channels._match_setters`: the first pattern that parses decides.
    fn set(&mut self, spec: &ChannelSpec, query: &str, cx: &mut DeviceCx<'_>) -> Option<Hit> {
        for setter in &spec.component.setters {
            let Some(parsed) = setter.parser.parse(query) else {
                continue;
            };
            let property = &spec.component.properties[setter.property];
            let crash = |why: String| Some(Hit::new(Found::Crash(why), setter.delay));
            // pyvisa-sim validates `str(value)`, so a float pattern feeding an int
            // property fails (`int("2.0")`), as there.
            let text = match parsed {
                Parsed::One(value) => value.to_py_string(),
                Parsed::Fields(fields) => {
                    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
                    // Without `ch_id`, pyvisa-sim validates `str()` of the whole result.
                    let Some(ch_id) = field("ch_id") else {
                        return Some(self.store(
                            setter,
                            spec,
                            PyValue::Str(component::fields_str(&fields)),
                            cx,
                        ));
                    };
                    self.selected = ChKey::of(ch_id);
                    let Some(value) = field("0") else {
                        return crash(format!(
                            "the setter of `{}` has no positional `{{}}` field for the value",
                            property.name
                        ));
                    };
                    value.to_py_string()
                }
            };
            return Some(self.store(setter, spec, PyValue::Str(text), cx));
        }
        None
    }

    /// Validates `value` for the setter's property and stores it for the selected channel.
    fn store(
        &mut self,
        setter: &SetterSpec,
        spec: &ChannelSpec,
        value: PyValue,
        cx: &mut DeviceCx<'_>,
    ) -> Hit {
        let property = &spec.component.properties[setter.property];
        match property.validate(value) {
            Ok(value) => {
                let values = &mut self.values[setter.property];
                if values.len() >= MAX_CHANNEL_IDS && !values.contains_key(&self.selected) {
                    let why = format!(
                        "`{}` already holds values for {MAX_CHANNEL_IDS} channel ids",
                        property.name
                    );
                    return Hit::new(Found::Crash(why), setter.delay);
                }
                values
                    .entry(self.selected.clone())
                    .or_insert_with(|| Slot::new(property.default.clone()))
                    .write(value, property.ramp, cx.now);
                Hit::new(setter.ok.clone(), setter.delay)
            }
            Err(why) => {
                tracing::debug!(channels = %spec.name, property = %property.name, "value refused: {why}");
                match &setter.err {
                    Some(err) => Hit::new(Found::Reply(err.clone()), setter.delay),
                    None => Hit::new(cx.errors.command_error(cx.errors_spec), setter.delay),
                }
            }
        }
    }
}
