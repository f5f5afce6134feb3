//! The table of a run: one row per sweep point, what `sequencer export` writes and
//! `sequencer plot` draws from.
//!
//! [`Table::read`] reads the point records with [`for_each_point`] and keeps the last record
//! of each point id, as `sequencer diff` and `resume` do, so retries and resumes collapse
//! into the point's final outcome. Setup and teardown points are left out: they are not
//! sweep points (`total_points` does not count them either) and have no sweep variables.
//! Rows come in sweep order: steps in the order the log first shows them, points by index.
//!
//! Columns: `id`, `step`, one per sweep variable, one per `as`-named value, then `status`,
//! `attempt`, `started_at`, `elapsed_ms`. Variables and values are the union over all rows,
//! each in first-seen order (in row order, so the same run always gives the same columns);
//! a row whose step lacks one has an empty cell. Names are unique: a variable whose name is
//! also a fixed column or a value is written `var:NAME`, and such a value `value:NAME`.
//!
//! Values are text in the log; a value that reads as a decimal number becomes a number
//! ([`parse_number`]), anything else stays text. Variables keep their logged JSON type: a
//! text variable (`ch: ["01", "02"]`) stays text.

use std::collections::HashMap;

use serde_json::{Number, Value};

use crate::error::Result;
use crate::runlog::read::{PointRecord, Records, for_each_point};

/// Columns every row has before the variables.
const LEADING: [&str; 2] = ["id", "step"];
/// Columns every row has after the values.
const TRAILING: [&str; 4] = ["status", "attempt", "started_at", "elapsed_ms"];

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// The row's step has no such variable or value.
    Empty,
    /// A number, written as a JSON number (and plainly in CSV).
    Number(Number),
    /// Anything that is not a number.
    Text(String),
    /// A boolean variable.
    Bool(bool),
}

impl Cell {
    /// The cell as a finite number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Cell::Number(n) => n.as_f64().filter(|v| v.is_finite()),
            _ => None,
        }
    }

    /// The cell as a JSON value (`null` when empty).
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Empty => Value::Null,
            Cell::Number(n) => Value::Number(n.clone()),
            Cell::Text(s) => Value::String(s.clone()),
            Cell::Bool(b) => Value::Bool(*b),
        }
    }
}

impl std::fmt::Display for Cell {
    /// The cell as CSV text: empty, the number as JSON writes it, the text, `true`/`false`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Empty => Ok(()),
            Cell::Number(n) => write!(f, "{n}"),
            Cell::Text(s) => f.write_str(s),
            Cell::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// What a column holds; decides how `plot` lists the names it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `id`, `step`, `status`, `attempt`, `started_at`, `elapsed_ms`.
    Fixed,
    /// A sweep variable.
    Var,
    /// An `as`-named value.
    Value,
}

/// One column: its unique header name and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The header, unique in the table (`var:`/`value:` prefixed on a clash).
    pub name: String,
    /// What it holds.
    pub kind: Kind,
}

/// The rows of a run, ready to write or plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Header, in order.
    pub columns: Vec<Column>,
    /// One per sweep point, in sweep order; each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// Reads the rest of the run log `records` (see the module docs for the rules).
    pub(crate) fn read(records: &mut Records) -> Result<Table> {
        let mut points: Vec<PointRecord> = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::new();
        for_each_point(records, |mut record| {
            if record.step == "setup" || record.step == "teardown" {
                return;
            }
            // The commands are what diff and replay need; a table never does.
            record.commands = Vec::new();
            if let Some(&at) = by_id.get(&record.id) {
                points[at] = record;
            } else {
                by_id.insert(record.id.clone(), points.len());
                points.push(record);
            }
        })?;
        Ok(Table::from_points(points))
    }

    /// The table of these point records: one per point id, in log order, the last of each.
    pub(crate) fn from_points(mut points: Vec<PointRecord>) -> Table {
        let mut step_order: HashMap<String, usize> = HashMap::new();
        for p in &points {
            let next = step_order.len();
            step_order.entry(p.step.clone()).or_insert(next);
        }
        points.sort_by_key(|p| (step_order[&p.step], p.index));

        let vars = first_seen(points.iter().map(|p| &p.vars));
        let values = first_seen(points.iter().map(|p| &p.values));
        let columns = header(&vars, &values);
        let rows = points
            .iter()
            .map(|p| {
                let mut row = vec![Cell::Text(p.id.clone()), Cell::Text(p.step.clone())];
                row.extend(
                    vars.iter()
                        .map(|v| p.vars.get(v).map_or(Cell::Empty, var_cell)),
                );
                row.extend(
                    values
                        .iter()
                        .map(|v| p.values.get(v).map_or(Cell::Empty, value_cell)),
                );
                row.push(Cell::Text(p.status.clone()));
                row.push(Cell::Number(p.attempt.into()));
                row.push(Cell::Text(p.started_at.clone()));
                row.push(Number::from_f64(p.elapsed_ms).map_or(Cell::Empty, Cell::Number));
                row
            })
            .collect();
        Table { columns, rows }
    }

    /// The index of the column named `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The names of the columns of one kind, in order.
    pub fn names(&self, kind: Kind) -> Vec<&str> {
        self.columns
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.name.as_str())
            .collect()
    }
}

/// The keys of `maps`, each once, in first-seen order.
fn first_seen<'a>(maps: impl Iterator<Item = &'a serde_json::Map<String, Value>>) -> Vec<String> {
    let mut seen = Vec::new();
    for map in maps {
        for key in map.keys() {
            if !seen.contains(key) {
                seen.push(key.clone());
            }
        }
    }
    seen
}

/// The header: fixed columns around the variables and values, clashing names prefixed.
fn header(vars: &[String], values: &[String]) -> Vec<Column> {
    let fixed = |name: &str| LEADING.contains(&name) || TRAILING.contains(&name);
    let column = |name: &str, kind| Column {
        name: name.to_owned(),
        kind,
    };
    let mut columns: Vec<Column> = LEADING.iter().map(|n| column(n, Kind::Fixed)).collect();
    for var in vars {
        let clash = fixed(var) || values.contains(var);
        let name = if clash {
            format!("var:{var}")
        } else {
            var.clone()
        };
        columns.push(column(&name, Kind::Var));
    }
    for value in values {
        let clash = fixed(value) || vars.contains(value);
        let name = if clash {
            format!("value:{value}")
        } else {
            value.clone()
        };
        columns.push(column(&name, Kind::Value));
    }
    columns.extend(TRAILING.iter().map(|n| column(n, Kind::Fixed)));
    columns
}

/// A sweep variable's cell: its logged JSON type kept.
fn var_cell(value: &Value) -> Cell {
    match value {
        Value::Null => Cell::Empty,
        Value::Number(n) => Cell::Number(n.clone()),
        Value::String(s) => Cell::Text(s.clone()),
        Value::Bool(b) => Cell::Bool(*b),
        other => Cell::Text(other.to_string()),
    }
}

/// An `as` value's cell: a number when its text reads as one.
fn value_cell(value: &Value) -> Cell {
    match value {
        Value::String(s) => parse_number(s).map_or_else(|| Cell::Text(s.clone()), Cell::Number),
        other => var_cell(other),
    }
}

/// `text` as a number, if it is a decimal number (surrounding spaces ignored): an integer
/// (`-3`, `+007`) stays an integer, anything else with digits, an optional point and
/// exponent (`1.5`, `+1.500000e-01`, `.5`) becomes the nearest finite float. `inf`, `nan`,
/// hex, `1,5` and lists such as `1.0,2.0` stay text.
pub fn parse_number(text: &str) -> Option<Number> {
    let t = text.trim();
    let digits = t.trim_start_matches(['+', '-']);
    if t.len() - digits.len() > 1 || !digits.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        return None;
    }
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        let unsigned = t.strip_prefix('+').unwrap_or(t);
        if let Ok(n) = unsigned.parse::<i64>() {
            return Some(n.into());
        }
        if let Ok(n) = unsigned.parse::<u64>() {
            return Some(n.into());
        }
    }
    if !digits
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    t.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .and_then(Number::from_f64)
}

#[cfg(test)]
mod tests;
