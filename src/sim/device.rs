//! The generic SCPI instrument model: pure state, no I/O.
//!
//! [`Device`] owns the instrument's stored values and turns one command line into at most
//! one reply line. It is the [`Model`] the server in [`crate::sim`] serves when no device
//! file or replay is given (its [`Blueprint`] is [`Generic`]): one `Device` shared by every
//! connection (one instrument, many sessions), asked for each line read. It reads the
//! server's [`Counters`] to answer `SIM:CONN?` and `SIM:CONN:PEAK?`.
//!
//! Rules, in the order they are applied to each `;`-separated part of a line:
//! - the header is the text before the first whitespace, uppercased, with a leading `:`
//!   removed (`:sour1:volt` and `SOUR1:VOLT` are the same header);
//! - a header ending in `?` is a query; the replies of all query parts are joined with `;`
//!   (up to [`MAX_REPLY_BYTES`](super::model::MAX_REPLY_BYTES): the part that would pass
//!   it is not answered and the parts after it are not carried out);
//! - built-in queries: `*IDN?`, `*OPC?`, `SYST:ERR?`, `SIM:CONN?`, `SIM:CONN:PEAK?`;
//! - `*RST` clears every stored value, `*CLS` does nothing;
//! - any other query returns the value stored under its header, or `0` if never set;
//! - any other write `HEADER VALUE` stores `VALUE` (trimmed); a write without a value is
//!   ignored.
//!
//! Quoting is not interpreted: a `;` always separates commands.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::model::{Blueprint, Counters, Model, ReplyBudget, Response};

/// The blueprint of the generic SCPI instrument: nothing to configure.
#[derive(Debug, Clone, Copy, Default)]
pub struct Generic;

impl Blueprint for Generic {
    fn build(&self, counters: Arc<Counters>) -> Box<dyn Model> {
        Box::new(Device::new(counters))
    }
}

impl Model for Device {
    fn handle(&mut self, conn: u64, message: &str, _now: Instant) -> Response {
        let (reply, cut) = self.reply(message);
        if let Some(rest) = cut {
            ReplyBudget::warn_cut(conn, rest);
        }
        reply.map_or_else(Response::none, Response::reply)
    }
}

/// The generic SCPI instrument's state, shared by all connections.
#[derive(Debug)]
pub struct Device {
    /// Values stored by `HEADER VALUE` writes, keyed by normalised header; cleared by `*RST`.
    values: HashMap<String, String>,
    /// Connection counters maintained by the server, read for `SIM:CONN?` queries.
    counters: Arc<Counters>,
}

/// Reply to `*IDN?`: manufacturer, model, serial, firmware version.
pub const IDN: &str = concat!("SEQUENCER,SIM,0,", env!("CARGO_PKG_VERSION"));

/// Reply to a query of a header that was never set.
const UNSET: &str = "0";

impl Device {
    /// A device with no stored values, reporting connections from `counters`.
    pub fn new(counters: Arc<Counters>) -> Device {
        Device {
            values: HashMap::new(),
            counters,
        }
    }

    /// Handles one command line (terminator already removed); returns the reply line
    /// without terminator, or None for a write.
    pub fn handle(&mut self, line: &str) -> Option<String> {
        self.reply(line).0
    }

    /// [`Device::handle`], and whether the reply was cut at
    /// [`MAX_REPLY_BYTES`](super::model::MAX_REPLY_BYTES): then how many parts after the
    /// cut were not carried out.
    fn reply(&mut self, line: &str) -> (Option<String>, Option<usize>) {
        let mut reply: Option<String> = None;
        let mut budget = ReplyBudget::new();
        let mut parts = line.split(';');
        while let Some(part) = parts.next() {
            let Some(text) = self.command(part) else {
                continue;
            };
            // The `;` joining query replies counts too.
            if !budget.admit(text.len() + usize::from(reply.is_some())) {
                return (reply, Some(parts.count()));
            }
            match &mut reply {
                Some(joined) => {
                    joined.push(';');
                    joined.push_str(&text);
                }
                None => reply = Some(text),
            }
        }
        (reply, None)
    }

    /// Handles one part of a compound command; `Some` only for a query.
    fn command(&mut self, part: &str) -> Option<String> {
        let part = part.trim();
        if part.is_empty() {
            return None;
        }
        let (header, value) = part
            .split_once(char::is_whitespace)
            .map_or((part, ""), |(header, value)| (header, value.trim()));
        let header = header.trim_start_matches(':').to_ascii_uppercase();
        if let Some(query) = header.strip_suffix('?') {
            Some(self.query(query))
        } else {
            self.write(header, value);
            None
        }
    }

    /// Answers a query; `header` is normalised and has its `?` removed.
    fn query(&self, header: &str) -> String {
        match header {
            "*IDN" => IDN.to_owned(),
            "*OPC" => "1".to_owned(),
            "SYST:ERR" => "0,\"No error\"".to_owned(),
            "SIM:CONN" => self.counters.current().to_string(),
            "SIM:CONN:PEAK" => self.counters.peak().to_string(),
            _ => self
                .values
                .get(header)
                .map_or_else(|| UNSET.to_owned(), Clone::clone),
        }
    }

    /// Applies a write; `header` is normalised, `value` trimmed (possibly empty).
    fn write(&mut self, header: String, value: &str) {
        match header.as_str() {
            "*RST" => self.values.clear(),
            "*CLS" => {}
            _ if value.is_empty() => {}
            _ => {
                self.values.insert(header, value.to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines sent in order, each with the reply expected (`None` for a write).
    type Script<'a> = &'a [(&'a str, Option<&'a str>)];

    /// Runs `script` on a fresh device and checks every reply.
    fn check(name: &str, script: Script<'_>) {
        let mut device = Device::new(Arc::new(Counters::default()));
        for (line, expected) in script {
            assert_eq!(
                device.handle(line).as_deref(),
                *expected,
                "case `{name}`, line `{line}`"
            );
        }
    }

    /// Each rule of the generic device, as a script of lines and expected replies.
    #[test]
    fn rules() {
        let idn = format!("SEQUENCER,SIM,0,{}", env!("CARGO_PKG_VERSION"));
        let cases: &[(&str, Script<'_>)] = &[
            ("identity", &[("*IDN?", Some(idn.as_str()))]),
            ("operation complete", &[("*OPC?", Some("1"))]),
            (
                "error queue empty",
                &[("SYST:ERR?", Some("0,\"No error\""))],
            ),
            ("clear status is a silent no-op", &[("*CLS", None)]),
            ("unset header reads 0", &[("MEAS:VOLT?", Some("0"))]),
            (
                "store then query",
                &[("SOUR1:VOLT 0.5", None), ("SOUR1:VOLT?", Some("0.5"))],
            ),
            (
                "headers are case-insensitive",
                &[("SOUR1:VOLT 0.5", None), ("sour1:volt?", Some("0.5"))],
            ),
            (
                "built-in queries are case-insensitive",
                &[
                    ("*idn?", Some(idn.as_str())),
                    ("syst:err?", Some("0,\"No error\"")),
                ],
            ),
            (
                "leading colon is the same header",
                &[(":SOUR:FREQ 1e3", None), ("sour:freq?", Some("1e3"))],
            ),
            (
                "value keeps its case and inner spaces",
                &[
                    ("LIST:DATA  a, B , c ", None),
                    ("LIST:DATA?", Some("a, B , c")),
                ],
            ),
            (
                "last write wins",
                &[("X 1", None), ("X 2", None), ("X?", Some("2"))],
            ),
            (
                "write without value is ignored",
                &[("OUTP", None), ("OUTP?", Some("0"))],
            ),
            (
                "query arguments are ignored",
                &[("RANGE 10", None), ("RANGE? MAX", Some("10"))],
            ),
            ("empty line", &[("", None), ("   ", None)]),
            (
                "reset clears stored values",
                &[
                    ("A 1", None),
                    ("B 2", None),
                    ("*RST", None),
                    ("A?;B?", Some("0;0")),
                ],
            ),
            (
                "compound of writes is silent",
                &[("A 1;B 2", None), ("A?", Some("1")), ("B?", Some("2"))],
            ),
            (
                "compound joins query replies",
                &[("A 1;A?;*OPC?", Some("1;1"))],
            ),
            (
                "compound skips empty parts and spaces",
                &[(" A 3 ; ;A? ;", Some("3"))],
            ),
            (
                "reset inside a compound applies in order",
                &[("A 1;A?;*RST;A?", Some("1;0"))],
            ),
        ];
        for (name, script) in cases {
            check(name, script);
        }
    }

    /// `SIM:CONN?` and `SIM:CONN:PEAK?` report the shared counters, which `*RST` leaves alone.
    #[test]
    fn connection_counters() {
        let counters = Arc::new(Counters::default());
        let mut device = Device::new(Arc::clone(&counters));
        let cases: &[(&str, &str)] = &[
            ("open", "1;1"),
            ("open", "2;2"),
            ("close", "1;2"),
            ("open", "2;2"),
            ("close", "1;2"),
            ("close", "0;2"),
            ("close", "0;2"),
            ("reset", "0;2"),
        ];
        for (action, expected) in cases {
            match *action {
                "open" => {
                    counters.open();
                }
                "close" => counters.close(),
                _ => assert_eq!(device.handle("*RST"), None),
            }
            assert_eq!(
                device.handle("sim:conn?;SIM:CONN:PEAK?").as_deref(),
                Some(*expected),
                "after `{action}`"
            );
        }
    }

    /// A message repeating a query of a big value gets replies up to `MAX_REPLY_BYTES`
    /// only: the part that would pass it is not answered and the parts after it are not
    /// carried out.
    #[test]
    fn replies_to_one_message_are_capped() {
        use crate::sim::model::MAX_REPLY_BYTES;
        let mut device = Device::new(Arc::new(Counters::default()));
        let value = "x".repeat(1_000_000);
        assert_eq!(device.handle(&format!("A {value}")), None);
        let message = format!("{}B 1", "A?;".repeat(40));
        let reply = device.handle(&message).unwrap();
        assert!(reply.len() <= MAX_REPLY_BYTES, "{} bytes", reply.len());
        assert_eq!(reply.split(';').count(), 16);
        assert!(reply.split(';').all(|r| r == value));
        assert_eq!(
            device.handle("B?").as_deref(),
            Some("0"),
            "carried out after the cut"
        );
        assert_eq!(device.handle("A?;*OPC?").map(|r| r.len()), Some(1_000_002));
    }
}
