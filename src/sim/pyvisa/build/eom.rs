//! Checking `eom:`, the terminations: the `TCPIP SOCKET` entry gives the framing.

use super::{Cx, INTERFACES, Level, lookup};
use crate::sim::model::Framing;
use crate::sim::pyvisa::node::{Key, Node};
use crate::sim::pyvisa::spec::unescape;

impl Cx {
    /// `eom:`: every entry checked as pyvisa-sim checks it; the `TCPIP SOCKET` one (the
    /// last, if repeated) gives the framing, LF both ways without one.
    pub(super) fn eom(&mut self, entries: &[(Key, Node)], what: &str) -> Framing {
        let mut framing = None;
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
            }
        }
        framing.unwrap_or_else(|| {
            self.warnings.push(format!(
                "{what} has no `eom` for `TCPIP SOCKET`; using LF both ways (as pyvisa-sim does)"
            ));
            Framing {
                read_termination: b"\n".to_vec(),
                write_termination: b"\n".to_vec(),
                lenient: false,
            }
        })
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
