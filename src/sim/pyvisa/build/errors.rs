//! Checking `error:` (the command error reply, status registers, error queues).

use std::collections::HashMap;

use super::{Cx, Level, lookup, py_int};
use crate::sim::pyvisa::node::Node;
use crate::sim::pyvisa::spec::{ErrorSpec, QueueSpec, RegisterSpec, unescape};

impl Cx {
    /// `error:`: a text for both errors, or the mapping form.
    pub(super) fn errors(&mut self, node: &Node) -> ErrorSpec {
        if let Some(text) = node.as_str() {
            return ErrorSpec {
                command_error: Some(unescape(text)),
                ..ErrorSpec::default()
            };
        }
        let mut spec = ErrorSpec::default();
        let Some(entries) = self.map(node, "`error`") else {
            return spec;
        };
        self.keys(entries, Level::Error, "`error`");
        if let Some(response) = lookup(entries, "response")
            && let Some(r) = self.map(response, "`error.response`")
        {
            self.keys(r, Level::ErrorResponse, "`error.response`");
            if let Some(q) = lookup(r, "query_error") {
                self.scalar(q, "`query_error`");
            }
            spec.command_error = lookup(r, "command_error")
                .and_then(|c| self.scalar(c, "`command_error`"))
                .map(unescape);
        }
        for item in lookup(entries, "status_register").map_or(&[][..], |n| {
            self.seq(n, "`status_register`").unwrap_or_default()
        }) {
            self.register(item, &mut spec);
        }
        for item in lookup(entries, "error_queue").map_or(&[][..], |n| {
            self.seq(n, "`error_queue`").unwrap_or_default()
        }) {
            if let Some(queue) = self.queue(item) {
                if let Some(&i) = spec.queue_queries.get(&queue.query) {
                    spec.queues[i] = queue;
                } else {
                    spec.queue_queries
                        .insert(queue.query.clone(), spec.queues.len());
                    spec.queues.push(queue);
                }
            }
        }
        spec
    }

    /// One `status_register` item: `q` and error names with integer bits.
    fn register(&mut self, item: &Node, spec: &mut ErrorSpec) {
        let Some(entries) = self.map(item, "a status register") else {
            return;
        };
        let Some(query) = self
            .required(entries, "q", "a status register", item.head())
            .and_then(|q| self.scalar(q, "`q`"))
        else {
            return;
        };
        let mut bits = HashMap::new();
        for (key, value) in entries.iter().filter(|(k, _)| k.text != "q") {
            let Some(text) = self.scalar(value, &format!("`{}`", key.text)) else {
                continue;
            };
            match py_int(text) {
                Ok(n) => {
                    bits.insert(key.text.clone(), n);
                }
                Err(()) => self.problem(
                    value.span.clone(),
                    format!(
                        "status register bit `{}` must be an integer, got `{text}`",
                        key.text
                    ),
                    "not an integer",
                ),
            }
        }
        let index = spec.registers.len();
        for name in bits.keys() {
            spec.register_errors.insert(name.clone(), index);
        }
        spec.registers.push(RegisterSpec { bits });
        spec.register_queries.insert(unescape(query), index);
    }

    /// One `error_queue` item: `q`, `default`, and error names with their messages.
    fn queue(&mut self, item: &Node) -> Option<QueueSpec> {
        let entries = self.map(item, "an error queue")?;
        let query = self.required(entries, "q", "an error queue", item.head());
        let default = self.required(entries, "default", "an error queue", item.head());
        let query = self.scalar(query?, "`q`")?;
        let default = self.scalar(default?, "`default`")?;
        let mut messages = HashMap::new();
        for (key, value) in entries {
            if matches!(key.text.as_str(), "q" | "default" | "strict") {
                continue;
            }
            if let Some(text) = self.scalar(value, &format!("`{}`", key.text)) {
                messages.insert(key.text.clone(), unescape(text));
            }
        }
        Some(QueueSpec {
            query: unescape(query),
            messages,
            default: unescape(default),
        })
    }
}
