//! Checking `eom:`, the terminations: the `TCPIP SOCKET` entry gives the framing; without
//! one, the termination the other entries agree on.
//!
//! pyvisa-sim itself frames a `TCPIP SOCKET` resource of a device without that entry with
//! LF both ways, so a file written for instruments on a serial port or GPIB with CR LF
//! (the Lakeshore files of `QCoDeS`, for one) answers `ERROR` to every `*IDN?\r\n` a real driver
//! sends over TCP. Served here, such a device reads and replies with the termination its
//! other entries agree on, `q` and `r` each on their own; where they disagree, or there
//! are none, LF as pyvisa-sim. The choice is told in one line ([`EomChoice::note`]).

use super::{Cx, INTERFACES, Level, lookup};
use crate::sequence::termination::describe;
use crate::sim::model::Framing;
use crate::sim::pyvisa::node::{Key, Node};
use crate::sim::pyvisa::spec::unescape;

/// The framing of a device and, when it was not written as a `TCPIP SOCKET` eom, the line
/// that says how it was chosen.
#[derive(Debug)]
pub(in crate::sim::pyvisa) struct EomChoice {
    /// What the session frames with.
    pub framing: Framing,
    /// For the log, when the framing was inferred; `None` with a `TCPIP SOCKET` entry.
    pub note: Option<String>,
}

/// One `eom` entry other than `TCPIP SOCKET`, its terminations as pyvisa-sim reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Other {
    /// The key, as in `ASRL INSTR`.
    pub key: String,
    /// Its `q`.
    pub q: String,
    /// Its `r`.
    pub r: String,
}

impl Cx {
    /// `eom:`: every entry checked as pyvisa-sim checks it; the `TCPIP SOCKET` one (the
    /// last, if repeated) gives the framing, else [`infer`] from the others.
    pub(super) fn eom(&mut self, entries: &[(Key, Node)], what: &str) -> EomChoice {
        let mut framing = None;
        let mut others = Vec::new();
        let eoms =
            lookup(entries, "eom").map_or(&[][..], |n| self.map(n, "`eom`").unwrap_or_default());
        for (key, node) in eoms {
            let Some((interface, class)) =
                key.text.split_once(' ').filter(|(_, c)| !c.contains(' '))
            else {
                self.problem(
                    key.span.clone(),
                    format!("`eom` key `{}` must be an interface and a resource class, as in `TCPIP SOCKET`", key.text),
                    "bad eom key",
                );
                continue;
            };
            if !INTERFACES.contains(&interface.to_lowercase().as_str()) {
                self.problem(
                    key.span.clone(),
                    format!("unknown interface type `{interface}` in `eom`"),
                    "unknown interface",
                );
                continue;
            }
            let Some(pair) = self.map(node, &format!("`eom` `{}`", key.text)) else {
                continue;
            };
            self.keys(pair, Level::Eom, &format!("`eom` `{}`", key.text));
            let q = self
                .required(
                    pair,
                    "q",
                    &format!("`eom` `{}`", key.text),
                    key.span.clone(),
                )
                .and_then(|q| self.scalar(q, "`q`").map(|t| (q, t)));
            if interface.eq_ignore_ascii_case("tcpip") && class == "SOCKET" {
                framing = self.socket_framing(key, pair, q);
            } else if let Some((_, q)) = q
                && let Some(r) = lookup(pair, "r").and_then(Node::as_str)
            {
                others.push(Other {
                    key: key.text.clone(),
                    q: unescape(q.trim_matches(' ')),
                    r: unescape(r.trim_matches(' ')),
                });
            }
        }
        match framing {
            Some(framing) => EomChoice {
                framing,
                note: None,
            },
            None => infer(what, &others),
        }
    }

    /// The framing of the `TCPIP SOCKET` entry: `q` ends client messages, `r` our replies.
    fn socket_framing(
        &mut self,
        key: &Key,
        pair: &[(Key, Node)],
        q: Option<(&Node, &str)>,
    ) -> Option<Framing> {
        let (q_node, q) = q?;
        let read = unescape(q.trim_matches(' '));
        if read.is_empty() {
            self.problem(
                q_node.span.clone(),
                "the `TCPIP SOCKET` `q` termination is empty; messages could not be told apart",
                "empty termination",
            );
            return None;
        }
        let r = self
            .required(pair, "r", "the `TCPIP SOCKET` eom", key.span.clone())
            .and_then(|r| self.scalar(r, "`r`"))?;
        Some(Framing {
            read_termination: read.into_bytes(),
            write_termination: unescape(r.trim_matches(' ')).into_bytes(),
            lenient: false,
        })
    }
}

/// The framing of device `what` without a `TCPIP SOCKET` eom, from its `others`: each way
/// the termination every entry gives (if not empty), else LF; and the line telling it.
pub(super) fn infer(what: &str, others: &[Other]) -> EomChoice {
    let agreed = |side: fn(&Other) -> &str| {
        let first = side(others.first()?);
        (!first.is_empty() && others.iter().all(|o| side(o) == first)).then_some(first)
    };
    let (q, r) = (agreed(|o| &o.q), agreed(|o| &o.r));
    let framing = Framing {
        read_termination: q.unwrap_or("\n").as_bytes().to_vec(),
        write_termination: r.unwrap_or("\n").as_bytes().to_vec(),
        lenient: false,
    };
    let keys: Vec<String> = others.iter().map(|o| format!("`{}`", o.key)).collect();
    let keys = keys.join(", ");
    let head = format!("{what} has no `eom` for `TCPIP SOCKET`");
    let lf = describe("\n");
    let note = match (others.is_empty(), q, r) {
        (true, _, _) => format!("{head}: LF both ways, as pyvisa-sim does"),
        (false, None, None) => {
            format!("{head} and its other eoms ({keys}) disagree: LF both ways, as pyvisa-sim does")
        }
        (false, Some(q), Some(r)) if q == r => format!(
            "{head}: {} both ways, on which its other eoms ({keys}) agree (pyvisa-sim would use \
             LF)",
            describe(q)
        ),
        (false, Some(q), Some(r)) => format!(
            "{head}: messages end in {}, replies in {}, on which its other eoms ({keys}) agree \
             (pyvisa-sim would use LF)",
            describe(q),
            describe(r)
        ),
        (false, Some(q), None) => format!(
            "{head}: messages end in {}, on which its other eoms ({keys}) agree; replies in \
             {lf}, as they disagree on `r`",
            describe(q)
        ),
        (false, None, Some(r)) => format!(
            "{head}: replies end in {}, on which its other eoms ({keys}) agree; messages in \
             {lf}, as they disagree on `q`",
            describe(r)
        ),
    };
    EomChoice {
        framing,
        note: Some(format!("{note}; `--eom` or `sim: {{eom}}` overrides")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry `key` with these terminations.
    fn other(key: &str, q: &str, r: &str) -> Other {
        Other {
            key: key.to_owned(),
            q: q.to_owned(),
            r: r.to_owned(),
        }
    }

    /// Each way takes the termination every other entry gives, else LF; the note says which
    /// and why, naming the device and the entries.
    #[test]
    fn inference_from_the_other_entries() {
        let (asrl, gpib, usb) = ("ASRL INSTR", "GPIB INSTR", "USB INSTR");
        let table: &[(&[Other], &str, &str, &str)] = &[
            (
                &[other(asrl, "\r\n", "\r\n"), other(gpib, "\r\n", "\r\n")],
                "\r\n",
                "\r\n",
                "CRLF (`\\r\\n`) both ways, on which its other eoms (`ASRL INSTR`, `GPIB INSTR`) agree",
            ),
            (
                &[other(asrl, "\r", "\r")],
                "\r",
                "\r",
                "CR (`\\r`) both ways, on which its other eoms (`ASRL INSTR`) agree",
            ),
            (
                &[other(asrl, "\r\n", "\n"), other(gpib, "\r\n", "\n")],
                "\r\n",
                "\n",
                "messages end in CRLF (`\\r\\n`), replies in LF (`\\n`), on which",
            ),
            (
                &[other(asrl, "\r\n", "\r"), other(gpib, "\r\n", "\n")],
                "\r\n",
                "\n",
                "messages end in CRLF (`\\r\\n`), on which its other eoms (`ASRL INSTR`, \
                 `GPIB INSTR`) agree; replies in LF (`\\n`), as they disagree on `r`",
            ),
            (
                &[other(asrl, "\r", "\r\n"), other(gpib, "\n", "\r\n")],
                "\n",
                "\r\n",
                "replies end in CRLF (`\\r\\n`), on which its other eoms (`ASRL INSTR`, \
                 `GPIB INSTR`) agree; messages in LF (`\\n`), as they disagree on `q`",
            ),
            (
                &[
                    other(asrl, "\r\n", "\r\n"),
                    other(gpib, "\r\n", "\r\n"),
                    other(usb, "\n", "\r"),
                ],
                "\n",
                "\n",
                "and its other eoms (`ASRL INSTR`, `GPIB INSTR`, `USB INSTR`) disagree: LF both \
                 ways, as pyvisa-sim does",
            ),
            (
                &[other(asrl, "", ""), other(gpib, "", "")],
                "\n",
                "\n",
                "disagree: LF both ways",
            ),
            (
                &[],
                "\n",
                "\n",
                "`TCPIP SOCKET`: LF both ways, as pyvisa-sim does",
            ),
        ];
        for (others, q, r, says) in table {
            let choice = infer("device `ls`", others);
            let note = choice.note.expect("an inferred framing has a note");
            assert_eq!(choice.framing.read_termination, q.as_bytes(), "{note}");
            assert_eq!(choice.framing.write_termination, r.as_bytes(), "{note}");
            assert!(!choice.framing.lenient, "{note}");
            assert!(
                note.starts_with("device `ls` has no `eom` for `TCPIP SOCKET`"),
                "{note}"
            );
            assert!(note.contains(says), "no `{says}` in\n{note}");
            assert!(
                note.ends_with("`--eom` or `sim: {eom}` overrides"),
                "{note}"
            );
        }
    }
}
