//! The differences between two records of one point: status, vars, commands (by
//! position), values. What changes from run to run anyway is not looked at (see the
//! module docs of [`super`]).

use serde_json::{Map, Value};

use super::{Change, Side};
use crate::runlog::read::{CommandRecord, PointRecord};

/// The differences between two records of one point, in listing order: status, vars,
/// commands, values.
pub(super) fn compare(a: &PointRecord, b: &PointRecord) -> Vec<Change> {
    let mut changes = Vec::new();
    if a.status != b.status {
        changes.push(Change::Status {
            a: a.status.clone(),
            b: b.status.clone(),
            error_a: a.error.clone(),
            error_b: b.error.clone(),
        });
    }
    for (name, va, vb) in map_changes(&a.vars, &b.vars) {
        changes.push(Change::Var { name, a: va, b: vb });
    }
    compare_commands(&a.commands, &b.commands, &mut changes);
    for (name, va, vb) in map_changes(&a.values, &b.values) {
        changes.push(Change::Value { name, a: va, b: vb });
    }
    changes
}

/// Commands compared by position (a poll that ran longer shows as extra commands at the end).
fn compare_commands(a: &[CommandRecord], b: &[CommandRecord], changes: &mut Vec<Change>) {
    if a.len() != b.len() {
        changes.push(Change::CommandCount {
            a: a.len(),
            b: b.len(),
        });
    }
    for (i, (ca, cb)) in a.iter().zip(b).enumerate() {
        if ca.sent != cb.sent {
            changes.push(Change::Sent {
                n: i + 1,
                a: ca.sent.clone(),
                b: cb.sent.clone(),
            });
        } else if ca.reply != cb.reply {
            changes.push(Change::Reply {
                n: i + 1,
                sent: ca.sent.clone(),
                a: ca.reply.clone(),
                b: cb.reply.clone(),
            });
        }
    }
    let (longer, side) = if a.len() > b.len() {
        (a, Side::A)
    } else {
        (b, Side::B)
    };
    let common = a.len().min(b.len());
    for (i, command) in longer.iter().enumerate().skip(common) {
        changes.push(Change::Extra {
            n: i + 1,
            side,
            command: command.clone(),
        });
    }
}

/// Keys whose values differ between two JSON objects (A's keys in order, then B's only),
/// each with A's and B's value (`None` when absent). Key order does not matter.
fn map_changes(
    a: &Map<String, Value>,
    b: &Map<String, Value>,
) -> Vec<(String, Option<Value>, Option<Value>)> {
    let mut out = Vec::new();
    for (key, va) in a {
        let vb = b.get(key);
        if vb != Some(va) {
            out.push((key.clone(), Some(va.clone()), vb.cloned()));
        }
    }
    for (key, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
        out.push((key.clone(), None, Some(vb.clone())));
    }
    out
}
