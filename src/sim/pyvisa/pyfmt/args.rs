//! The arguments of one [`super::format`] call: field lookup with Python's automatic or
//! manual numbering, conversions (`!s`, `!r`, `!a`) and nested specs.
//!
//! [`Args`] walks a template with [`Markup`] and hands each field's value and expanded
//! spec to [`super::format_value`].

use std::borrow::Cow;

use super::error::{PyError, Unsupported, ValueError};
use super::format_value;
use super::repr::repr_str;
use super::spec::{quote_code, too_many_digits};
use super::template::{Field, Markup};
use super::value::PyValue;

/// Python's automatic field numbering state: fixed by the first numeric field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Numbering {
    /// No numeric field seen yet.
    Unset,
    /// `{}` fields: numbered automatically.
    Auto,
    /// `{0}` fields: numbered by hand.
    Manual,
}

/// The arguments of one `format` call: the single positional value and the numbering state
/// shared by the template and its nested specs.
pub(super) struct Args<'v> {
    /// `args[0]`.
    value: &'v PyValue,
    /// Whether fields are numbered automatically or by hand.
    numbering: Numbering,
    /// The index the next `{}` gets.
    next_auto: i64,
}

impl<'v> Args<'v> {
    /// The arguments of `template.format(value)`, before any field is seen.
    pub(super) fn new(value: &'v PyValue) -> Args<'v> {
        Args {
            value,
            numbering: Numbering::Unset,
            next_auto: 0,
        }
    }

    /// Renders `template` (Python's `build_string`); `depth` is how many more levels of
    /// nesting Python allows.
    pub(super) fn build(&mut self, template: &str, depth: u32) -> Result<String, PyError> {
        if depth == 0 {
            return Err(ValueError::MaxRecursion.into());
        }
        let mut out = String::new();
        for piece in Markup::new(template) {
            let piece = piece?;
            out.push_str(piece.literal);
            if let Some(field) = piece.field {
                out.push_str(&self.render(&field, depth)?);
            }
        }
        Ok(out)
    }

    /// Renders one field: look up, convert, expand the spec, format.
    fn render(&mut self, field: &Field<'_>, depth: u32) -> Result<String, PyError> {
        let value = self.lookup(field.name)?;
        let value = match field.conversion {
            None => Cow::Borrowed(value),
            Some(c) => Cow::Owned(PyValue::Str(apply_conversion(value, c)?)),
        };
        let spec = if field.spec_has_fields {
            Cow::Owned(self.build(field.spec, depth - 1)?)
        } else {
            Cow::Borrowed(field.spec)
        };
        format_value(&value, &spec)
    }

    /// The object a field name designates (Python's `get_field_object`).
    fn lookup(&mut self, name: &str) -> Result<&'v PyValue, PyError> {
        let split = name.find(['.', '[']).unwrap_or(name.len());
        let (first, rest) = name.split_at(split);
        let index = field_index(first)?;
        if first.is_empty() || index.is_some() {
            let auto = first.is_empty();
            if self.numbering == Numbering::Unset {
                self.numbering = if auto {
                    Numbering::Auto
                } else {
                    Numbering::Manual
                };
            }
            match (self.numbering, auto) {
                (Numbering::Manual, true) => {
                    return Err(ValueError::ManualToAuto.into());
                }
                (Numbering::Auto, false) => {
                    return Err(ValueError::AutoToManual.into());
                }
                _ => {}
            }
        }
        let index = match index {
            Some(i) => i,
            None if first.is_empty() => {
                self.next_auto += 1;
                self.next_auto - 1
            }
            None => {
                return Err(PyError::Key {
                    key: repr_str(first, false),
                });
            }
        };
        if index != 0 {
            return Err(PyError::Index { index });
        }
        if !rest.is_empty() {
            return Err(Unsupported::Access {
                name: name.to_owned(),
            }
            .into());
        }
        Ok(self.value)
    }
}

/// A field name's leading number (Python's `get_integer`): None when empty or not all
/// digits (then it is a keyword name); Err when it overflows.
fn field_index(first: &str) -> Result<Option<i64>, PyError> {
    if first.is_empty() {
        return Ok(None);
    }
    let mut acc: i64 = 0;
    for c in first.chars() {
        let Some(d) = c.to_digit(10) else {
            return Ok(None);
        };
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_add(i64::from(d)))
            .ok_or_else(too_many_digits)?;
    }
    Ok(Some(acc))
}

/// `!s`, `!r`, `!a` applied to `value`.
fn apply_conversion(value: &PyValue, conversion: char) -> Result<String, PyError> {
    match conversion {
        's' => Ok(value.to_py_string()),
        'r' => Ok(value.py_repr()),
        'a' => Ok(match value {
            PyValue::Str(s) => repr_str(s, true),
            other => other.to_py_string(),
        }),
        c => Err(ValueError::UnknownConversion {
            code: quote_code(c),
        }
        .into()),
    }
}
