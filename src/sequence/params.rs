//! Parameters: the `params:` of a sequence file, values a run may change without editing
//! the file (`sequencer run FILE --set vmax=0.5`).
//!
//! A parameter's default in the file gives its type ([`Kind`]): a number, text, a duration
//! (`10m`) or a list of them. [`resolve`] merges the defaults with the `--set` overrides
//! (read as YAML, checked against the default's type) into the effective [`Params`], which
//! the loader uses twice: while the rest of the file is read, a whole value written
//! `"{name}"` stands for the parameter (see [`super::raw::ParamScope`]); and compiled
//! expressions read a parameter as a constant, folded in at load. The effective
//! values go into the run log's start record ([`to_json`]), which `resume` applies
//! again and `diff` compares.

use std::fmt;
use std::time::Duration;

use super::duration::{format_duration, parse_duration};
use super::raw::{Num, RawParam, Scalar};
use super::value::Value;

/// The effective parameters of a sequence, in file order.
pub type Params = Vec<(String, Param)>;

/// One parameter's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// A number or text.
    Value(Value),
    /// A duration (`10m`, `2s`).
    Duration(Duration),
    /// A list of numbers, texts or durations (no lists in lists).
    List(Vec<Param>),
}

/// A parameter's type: its default's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A number (an integer default accepts a float, and the reverse).
    Number,
    /// Text: any scalar given is taken as its text.
    Text,
    /// A duration with a unit.
    Duration,
    /// `true` or `false`.
    Bool,
    /// A list; `Some(kind)` when the default's items all have that kind (a number list then
    /// takes only numbers), `None` for an empty or mixed default.
    List(Option<ItemKind>),
}

/// The kind of a list's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    /// Numbers.
    Number,
    /// Texts.
    Text,
    /// Durations.
    Duration,
}

impl Param {
    /// From a value as written (a default in the file, or a `--set` value): text that reads
    /// as a duration is a duration.
    pub fn from_raw(raw: &RawParam) -> Param {
        match raw {
            RawParam::One(s) => Param::from_scalar(s),
            RawParam::Bool(b) => Param::Value(Value::Bool(*b)),
            RawParam::List(items) => {
                Param::List(items.iter().map(|s| Param::from_scalar(&s.value)).collect())
            }
        }
    }

    fn from_scalar(s: &Scalar) -> Param {
        match s {
            Scalar::Num(Num::Int(i)) => Param::Value(Value::Int(*i)),
            Scalar::Num(Num::Float(f)) => Param::Value(Value::Float(*f)),
            Scalar::Text(t) => match parse_duration(t) {
                Ok(d) if !t.trim().is_empty() => Param::Duration(d),
                _ => Param::Value(Value::Str(t.clone())),
            },
        }
    }

    /// The value used in command text and expressions: numbers and text as they are, a
    /// duration as its number of seconds (what SCPI instruments take); `None` for a list.
    pub fn as_value(&self) -> Option<Value> {
        match self {
            Param::Value(v) => Some(v.clone()),
            Param::Duration(d) => Some(Value::Float(d.as_secs_f64())),
            Param::List(_) => None,
        }
    }

    /// The value in the run log: numbers and text as JSON numbers and strings, a duration
    /// as its text (`"2s"`, `"10m"`, the spelling `--set` takes back), a list as an array.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Param::Value(v) => serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
            Param::Duration(d) => serde_json::Value::String(format_duration(*d)),
            Param::List(items) => items.iter().map(Param::to_json).collect(),
        }
    }

    /// The parameter's type.
    pub fn kind(&self) -> Kind {
        match self {
            Param::Value(Value::Str(_)) => Kind::Text,
            Param::Value(Value::Bool(_)) => Kind::Bool,
            Param::Value(_) => Kind::Number,
            Param::Duration(_) => Kind::Duration,
            Param::List(items) => {
                let mut kinds = items.iter().map(Param::item_kind);
                let first = kinds.next().flatten();
                Kind::List(first.filter(|k| kinds.all(|other| other == Some(*k))))
            }
        }
    }

    fn item_kind(&self) -> Option<ItemKind> {
        match self.kind() {
            Kind::Number => Some(ItemKind::Number),
            Kind::Text => Some(ItemKind::Text),
            Kind::Duration => Some(ItemKind::Duration),
            Kind::Bool | Kind::List(_) => None,
        }
    }

    /// This value as one of `kind`, if it is one: text takes any scalar as its text, a
    /// number any number.
    fn as_kind(&self, kind: Kind) -> Option<Param> {
        match (kind, self) {
            (Kind::Number, Param::Value(v)) if v.as_f64().is_some() => Some(self.clone()),
            (Kind::Bool, Param::Value(Value::Bool(_))) => Some(self.clone()),
            (Kind::Text, Param::Value(Value::Bool(b))) => {
                Some(Param::Value(Value::Str(b.to_string())))
            }
            (Kind::Duration, Param::Duration(_)) | (Kind::List(None), Param::List(_)) => {
                Some(self.clone())
            }
            (Kind::Text, Param::Value(v)) => Some(Param::Value(Value::Str(v.to_string()))),
            (Kind::Text, Param::Duration(_)) => Some(Param::Value(Value::Str(
                self.to_json().as_str().unwrap_or_default().to_owned(),
            ))),
            (Kind::List(Some(item)), Param::List(items)) => items
                .iter()
                .map(|p| p.as_kind(item.into()))
                .collect::<Option<Vec<_>>>()
                .map(Param::List),
            _ => None,
        }
    }
}

impl From<ItemKind> for Kind {
    fn from(k: ItemKind) -> Kind {
        match k {
            ItemKind::Number => Kind::Number,
            ItemKind::Text => Kind::Text,
            ItemKind::Duration => Kind::Duration,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Number => "a number",
            Kind::Text => "text",
            Kind::Duration => "a duration",
            Kind::Bool => "`true` or `false`",
            Kind::List(None) => "a list",
            Kind::List(Some(ItemKind::Number)) => "a list of numbers",
            Kind::List(Some(ItemKind::Text)) => "a list of texts",
            Kind::List(Some(ItemKind::Duration)) => "a list of durations",
        })
    }
}

impl fmt::Display for Param {
    /// Compact YAML flow text, as `--set` takes it: `0.5`, `abc`, `2s`, `[300, 200]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Param::Value(Value::Bool(b)) => write!(f, "{b}"),
            Param::Value(v) => write!(f, "{v}"),
            Param::Duration(d) => f.write_str(&format_duration(*d)),
            Param::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// The effective parameters as a JSON object, name to [`Param::to_json`], in file order
/// (the start record's `params`).
pub fn to_json(params: &Params) -> serde_json::Value {
    serde_json::Value::Object(
        params
            .iter()
            .map(|(name, p)| (name.clone(), p.to_json()))
            .collect(),
    )
}

/// The value of parameter `name`, if the sequence has one.
pub fn get<'p>(params: &'p Params, name: &str) -> Option<&'p Param> {
    params.iter().find(|(n, _)| n == name).map(|(_, p)| p)
}

/// Why the `--set` values do not fit the file's parameters.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    /// `--set` on a file without `params:`.
    #[error("--set `{name}`: sequence `{file}` has no parameters (no `params:`)")]
    NoParams {
        /// The name given.
        name: String,
        /// The sequence file.
        file: String,
    },
    /// A name the file does not declare.
    #[error("--set `{name}`: no such parameter; parameters: {known}")]
    Unknown {
        /// The name given.
        name: String,
        /// The parameters with their types and defaults.
        known: String,
    },
    /// A value that is not valid YAML, or not of the parameter's type.
    #[error("--set `{name}={given}`: {why}; parameters: {known}")]
    Value {
        /// The parameter.
        name: String,
        /// The value as given.
        given: String,
        /// What is wrong with it.
        why: String,
        /// The parameters with their types and defaults.
        known: String,
    },
    /// `NAME=VALUE` without the `=`.
    #[error(
        "--set `{given}`: write `NAME=VALUE`, e.g. `--set vmax=0.5` or `--set temps=[300,200]`"
    )]
    Syntax {
        /// The argument as given.
        given: String,
    },
}

/// `` `vmax` (a number, default `1.5`), ... `` for messages.
pub fn describe(defaults: &Params) -> String {
    defaults
        .iter()
        .map(|(name, p)| format!("`{name}` ({}, default `{p}`)", p.kind()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits a `--set NAME=VALUE` argument at its first `=`.
pub fn split_override(arg: &str) -> Result<(String, String), ParamError> {
    match arg.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(ParamError::Syntax {
            given: arg.to_owned(),
        }),
    }
}

/// The effective parameters: the file's `defaults` with each `(name, value)` override
/// applied in order (the value is YAML text, read by `read`); `file` names the sequence in
/// messages. An override for no parameter, or of another type than the default's, is an
/// error that lists the parameters.
pub fn resolve<E: fmt::Display>(
    defaults: &Params,
    overrides: &[(String, String)],
    file: &str,
    read: impl Fn(&str) -> Result<RawParam, E>,
) -> Result<Params, ParamError> {
    let mut params = defaults.clone();
    for (name, text) in overrides {
        let Some(slot) = params.iter_mut().find(|(n, _)| n == name) else {
            return Err(if defaults.is_empty() {
                ParamError::NoParams {
                    name: name.clone(),
                    file: file.to_owned(),
                }
            } else {
                ParamError::Unknown {
                    name: name.clone(),
                    known: describe(defaults),
                }
            });
        };
        let refuse = |why: String| ParamError::Value {
            name: name.clone(),
            given: text.clone(),
            why,
            known: describe(defaults),
        };
        let kind = slot.1.kind();
        let given = read(text).map_err(|e| {
            let e = e.to_string();
            refuse(format!(
                "not a YAML value ({})",
                e.lines().next().unwrap_or_default()
            ))
        })?;
        let given = Param::from_raw(&given);
        slot.1 = given.as_kind(kind).ok_or_else(|| {
            let hint = match (kind, &given) {
                (Kind::Duration, Param::Value(v)) if !v.is_text() => {
                    format!(": give it a unit, e.g. `{name}={v}s`")
                }
                (Kind::List(_), Param::Value(_) | Param::Duration(_)) => {
                    format!(": write a list, e.g. `{name}=[{given}]`")
                }
                _ => String::new(),
            };
            refuse(format!(
                "`{name}` is {kind}, and `{given}` is {}{hint}",
                given.kind()
            ))
        })?;
    }
    Ok(params)
}

#[cfg(test)]
mod tests;
