//! `{"type":"break", ...}`: a step's `stop_when:` condition held after one of its points;
//! written by the sequencer when it acts on it, read back by `resume` (which skips what the
//! break skipped) and `diff` (which compares the breaks of two runs).

use std::time::SystemTime;

use serde::{Serialize, Serializer};

use super::rfc3339;
use crate::sequence::value::Value;

/// `{"type":"break","id":"T/2/iv/7","step":"T/2/iv","condition":"current > 1e-3",
/// "action":{"next":"T"},"values":{"current":0.0012},"at":...}`.
#[derive(Debug, Serialize)]
pub struct Break<'a> {
    /// The point after which the condition held.
    pub id: &'a str,
    /// Its stage (the id without its index).
    pub step: &'a str,
    /// Its index.
    pub index: u64,
    /// The condition as written in the sequence.
    pub condition: &'a str,
    /// What it did: `"break"`, `"stop"`, `{"next":"T"}` or `{"break":"T"}`.
    pub action: serde_json::Value,
    /// The names the condition uses, with the point's values.
    pub values: ValueMap<'a>,
    /// When the sequencer acted on it.
    #[serde(serialize_with = "rfc3339")]
    pub at: SystemTime,
}

/// Name/value pairs as a JSON object, values typed (numbers as numbers).
#[derive(Debug)]
pub struct ValueMap<'a>(pub &'a [(String, Value)]);

impl Serialize for ValueMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}
