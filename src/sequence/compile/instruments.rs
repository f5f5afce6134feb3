//! Validation of instruments: the `instrument:` or `instruments:` section, names,
//! addresses, pool sizes, terminations, timeouts, the `sim:` entry (device file and `eom:`), and the
//! instrument names steps refer to.
//!
//! With `instruments:`, every problem inside an instrument's entry starts with
//! ``instrument `NAME`: ``, also those found while reading the YAML ([`enclosing`]), so a
//! message names the instrument even where the snippet does not show its key.

use std::ops::Range;
use std::path::PathBuf;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::super::address::Address;
use super::super::bounds;
use super::super::name;
use super::super::raw::{OrderedMap, RawEom, RawInstrument, RawSim, ReplyRule, Spanned};
use super::super::termination::parse_termination;
use super::super::{Eom, Instrument, IoSettings, SimDevice, SimSettings};
use super::framing::Wire;
use super::on::Target;
use super::{
    Cx, DEFAULT_INSTRUMENT, DEFAULT_MAX_CONNECTIONS, DEFAULT_RECONNECT_ATTEMPTS, Vars, quoted_list,
};

/// The instruments seen so far, by name, with their reply rules.
pub(super) struct Instruments {
    pub(super) list: Vec<Instrument>,
    pub(super) rules: Vec<ReplyRule>,
    /// True for the `instrument:` form (steps need not name it).
    pub(super) single: bool,
}

impl Instruments {
    /// Reply rule of instrument `i` (the default when the list is empty after an error).
    pub(super) fn rule(&self, i: usize) -> ReplyRule {
        self.rules.get(i).copied().unwrap_or_default()
    }

    /// How instrument `i`'s commands go on the wire (defaults when the list is empty after
    /// an error).
    pub(super) fn wire(&self, i: usize) -> Wire<'_> {
        Wire {
            reply: self.rule(i),
            write_termination: self
                .list
                .get(i)
                .map_or("\n", |ins| ins.io.write_termination.as_str()),
        }
    }

    pub(super) fn names(&self) -> String {
        quoted_list(self.list.iter().map(|i| i.name.as_str()))
    }
}

impl Cx<'_> {
    pub(super) fn instruments(
        &mut self,
        single: Option<Spanned<RawInstrument>>,
        many: Option<Spanned<OrderedMap<RawInstrument>>>,
    ) -> Instruments {
        let mut out = Instruments {
            list: Vec::new(),
            rules: Vec::new(),
            single: true,
        };
        match (single, many) {
            (Some(one), Some(many)) => {
                let span = self.span(&many);
                self.problem(
                    span,
                    "both `instrument` and `instruments` are given",
                    "keep only one",
                );
                self.instrument(DEFAULT_INSTRUMENT, one.value, &mut out);
            }
            (Some(one), None) => self.instrument(DEFAULT_INSTRUMENT, one.value, &mut out),
            (None, Some(many)) => {
                out.single = false;
                if many.value.0.is_empty() {
                    let span = self.span(&many);
                    self.problem(
                        span,
                        "`instruments` is empty",
                        "name at least one instrument",
                    );
                }
                for (key, raw) in many.value.0 {
                    if let Some(message) = name::problem("instrument name", &key.value) {
                        let span = self.span(&key);
                        self.problem(span, message, "rename this instrument");
                    }
                    let first = self.problems.len();
                    self.instrument(&key.value, raw, &mut out);
                    for problem in &mut self.problems[first..] {
                        problem.message =
                            format!("instrument `{}`: {}", key.value, problem.message);
                    }
                }
            }
            (None, None) => self.instrument(DEFAULT_INSTRUMENT, default_instrument(), &mut out),
        }
        out
    }

    fn instrument(&mut self, name: &str, raw: RawInstrument, out: &mut Instruments) {
        let address = raw.address.and_then(|a| {
            Address::parse(&a.value)
                .map_err(|err| {
                    let span = self.span(&a);
                    self.problem(span, err.to_string(), "bad address");
                })
                .ok()
        });
        let max_connections_at = raw
            .max_connections
            .as_ref()
            .map(|m| (m.referenced.line(), m.referenced.column()));
        let max_connections = self.count(
            raw.max_connections,
            i64::try_from(DEFAULT_MAX_CONNECTIONS).unwrap_or(i64::MAX),
            bounds::MAX_CONNECTIONS,
        );
        let mut io = IoSettings::default();
        if let Some(t) = raw.write_termination {
            io.write_termination = t;
        }
        if let Some(t) = raw.read_termination {
            if t.value.is_empty() {
                let span = self.span(&t);
                self.problem(
                    span,
                    "`read_termination` is empty: replies could never end",
                    "use \"\\n\" or \"\\r\\n\"",
                );
            } else {
                io.read_termination = t.value;
            }
        }
        if let Some(t) = self.duration(raw.timeout, true) {
            io.timeout = t;
        }
        if let Some(t) = self.duration(raw.connect_timeout, true) {
            io.connect_timeout = t;
        }
        let reconnect_attempts = self.count(
            raw.reconnect_attempts,
            DEFAULT_RECONNECT_ATTEMPTS,
            bounds::RECONNECT_ATTEMPTS,
        );
        let rule = raw.reply.unwrap_or_default();
        let wire = Wire {
            reply: rule,
            write_termination: &io.write_termination,
        };
        let on_connect = self.commands(
            raw.on_connect.unwrap_or_default(),
            Vars::default(),
            wire,
            Target::Fixed("on_connect"),
        );
        let sim = raw.sim.map(|sim| self.sim(sim)).unwrap_or_default();
        out.list.push(Instrument {
            name: name.to_owned(),
            address,
            max_connections: usize::try_from(max_connections).unwrap_or(usize::MAX),
            max_connections_at,
            io,
            greeting: raw.greeting.unwrap_or_default(),
            on_connect,
            reconnect_attempts: u32::try_from(reconnect_attempts).unwrap_or(u32::MAX),
            sim,
        });
        out.rules.push(rule);
    }

    /// An instrument's `sim:` entry: the device file (not read here), its name, `eom:`.
    fn sim(&mut self, raw: RawSim) -> SimSettings {
        if let (Some(name), None) = (&raw.name, &raw.device) {
            let span = self.span(name);
            self.problem(
                span,
                "`sim: name:` picks a device of a device file, but `sim:` has no `device:`",
                "add `device: FILE` beside it",
            );
        }
        let device = raw.device.and_then(|device| {
            if device.value.trim().is_empty() {
                let span = self.span(&device);
                self.problem(
                    span,
                    "`sim: device:` is empty",
                    "a pyvisa-sim device file, relative to this sequence",
                );
                return None;
            }
            Some(SimDevice {
                line: device.referenced.line(),
                column: device.referenced.column(),
                device: PathBuf::from(device.value),
                name: raw.name.map(|n| n.value),
            })
        });
        let eom = raw.eom.and_then(|eom| match eom.value {
            RawEom::Both(ref text) => {
                let span = self.span(&eom);
                let both = self.termination(text, span, "`sim: eom`")?;
                Some(Eom {
                    q: both.clone(),
                    r: both,
                })
            }
            RawEom::Pair(pair) => {
                let (q_span, r_span) = (self.span(&pair.q), self.span(&pair.r));
                let q = self.termination(&pair.q.value, q_span, "`sim: eom: q`");
                let r = self.termination(&pair.r.value, r_span, "`sim: eom: r`");
                Some(Eom { q: q?, r: r? })
            }
        });
        SimSettings { device, eom }
    }

    /// One termination of `sim: eom:` (`what`), or a problem at `span`.
    fn termination(&mut self, text: &str, span: Range<usize>, what: &str) -> Option<String> {
        parse_termination(text)
            .map_err(|e| self.problem(span, format!("bad {what}: {e}"), "not a termination"))
            .ok()
    }

    /// Resolves a step's `instrument:` to an index.
    pub(super) fn instrument_ref(
        &mut self,
        name: Option<&Spanned<String>>,
        ins: &Instruments,
    ) -> usize {
        let Some(name) = name else { return 0 };
        if let Some(i) = ins.list.iter().position(|i| i.name == name.value) {
            return i;
        }
        let span = self.span(name);
        let what = if ins.single {
            "this sequence has one instrument, under `instrument:`; drop this key".to_owned()
        } else {
            format!("instruments: {}", ins.names())
        };
        self.problem(
            span,
            format!("unknown instrument `{}` ({what})", name.value),
            "no such instrument",
        );
        0
    }
}

/// The name of the `instruments:` entry that holds byte `offset` of `text`, if one does: for
/// an error found while reading the YAML, before there is a [`Cx`]. Reads the file again
/// for its keys and their positions only (under the same budgets, so a hostile file costs
/// no more than it already did), and takes the last key before `offset`, at the top level
/// and then in `instruments:`.
pub(super) fn enclosing(text: &str, offset: usize) -> Option<String> {
    /// The file's `instruments:` keys, everything else skipped.
    #[derive(Deserialize)]
    struct Outline {
        instruments: OrderedMap<IgnoredAny>,
    }
    let top: OrderedMap<IgnoredAny> =
        serde_saphyr::from_str_with_options(text, super::yaml_options()).ok()?;
    if last_key_before(&top, offset)? != "instruments" {
        return None;
    }
    let outline: Outline = serde_saphyr::from_str_with_options(text, super::yaml_options()).ok()?;
    last_key_before(&outline.instruments, offset).map(str::to_owned)
}

/// The last key of `map` that starts at or before byte `offset`.
fn last_key_before<V>(map: &OrderedMap<V>, offset: usize) -> Option<&str> {
    map.0
        .iter()
        .filter(|(key, _)| {
            key.referenced.line() > 0
                && key
                    .referenced
                    .span()
                    .byte_offset()
                    .is_some_and(|start| start as usize <= offset)
        })
        .last()
        .map(|(key, _)| key.value.as_str())
}

/// The `instrument:` used when a sequence gives none (address from `--address` or `--sim`).
fn default_instrument() -> RawInstrument {
    RawInstrument {
        address: None,
        max_connections: None,
        write_termination: None,
        read_termination: None,
        reply: None,
        timeout: None,
        connect_timeout: None,
        greeting: None,
        on_connect: None,
        reconnect_attempts: None,
        sim: None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::compile;
    use super::*;
    use crate::yaml::InvalidFile;

    /// The `sim:` entry of a one-step sequence whose instrument is `instrument`.
    fn sim_of(instrument: &str) -> Result<SimSettings, InvalidFile> {
        let yaml = format!("instrument: {instrument}\nsteps: [{{name: a, commands: [X]}}]\n");
        compile(&yaml, Path::new("t.yaml")).map(|seq| seq.instruments[0].sim.clone())
    }

    fn eom(q: &str, r: &str) -> Eom {
        Eom {
            q: q.to_owned(),
            r: r.to_owned(),
        }
    }

    /// `sim: {eom}` takes one termination for both ways or a `q`/`r` pair, written as
    /// YAML escapes, backslash escapes or words, with or without a device file.
    #[test]
    fn sim_eom_forms() {
        let table = [
            (r#"{sim: {eom: "\r\n"}}"#, Some(eom("\r\n", "\r\n"))),
            (r"{sim: {eom: '\r\n'}}", Some(eom("\r\n", "\r\n"))),
            ("{sim: {eom: crlf}}", Some(eom("\r\n", "\r\n"))),
            (
                r#"{sim: {eom: {q: "\r\n", r: LF}}}"#,
                Some(eom("\r\n", "\n")),
            ),
            ("{sim: {device: d.yaml, eom: CR}}", Some(eom("\r", "\r"))),
            ("{sim: {device: d.yaml}}", None),
        ];
        for (instrument, want) in table {
            let sim = sim_of(instrument).unwrap_or_else(|e| panic!("{instrument}: {}", e.render()));
            assert_eq!(sim.eom, want, "{instrument}");
        }
        let sim = sim_of("{sim: {device: d.yaml, name: tc, eom: LF}}").unwrap();
        let device = sim.device.expect("a device file");
        assert_eq!(
            (
                device.device,
                device.name.as_deref(),
                device.line,
                device.column
            ),
            (PathBuf::from("d.yaml"), Some("tc"), 1, 28)
        );
    }

    /// Bad `sim:` entries are refused at the line and column of the value at fault.
    #[test]
    fn sim_mistakes_point_at_the_value() {
        let table = [
            (
                "{sim: {eom: ''}}",
                "t.yaml:1:25",
                "bad `sim: eom`: empty termination",
            ),
            (
                r#"{sim: {eom: {q: "\n", r: ""}}}"#,
                "t.yaml:1:38",
                "bad `sim: eom: r`: empty termination",
            ),
            (
                r"{sim: {eom: {q: '\x', r: LF}}}",
                "t.yaml:1:29",
                r"bad `sim: eom: q`: unknown escape `\x`",
            ),
            ("{sim: {eom: {q: LF}}}", "t.yaml:1:26", "missing field `r`"),
            ("{sim: {eom: [LF]}}", "t.yaml:1:20", "a termination such as"),
            (
                "{sim: {name: tc}}",
                "t.yaml:1:26",
                "`sim: name:` picks a device",
            ),
        ];
        for (instrument, at, says) in table {
            let report = sim_of(instrument).expect_err(instrument).render();
            assert!(report.contains(at), "{instrument}: no `{at}` in\n{report}");
            assert!(
                report.contains(says),
                "{instrument}: no `{says}` in\n{report}"
            );
        }
    }
}
