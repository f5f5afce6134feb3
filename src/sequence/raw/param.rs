//! Parameters in the raw file: a `params:` value as written ([`RawParam`]), and the scope
//! in which a whole value written `"{name}"` stands for a parameter ([`ParamScope`]).
//!
//! Why in the deserializers: a number, count, duration or sweep list may be a parameter
//! anywhere the file takes one (range bounds, `num`, `wait`, `timeout`, `repeat`, ...), so
//! the scalar types themselves ([`super::Num`], [`super::Count`], [`super::Dur`],
//! [`super::RawAxis`]) take the string `{name}` and give the parameter's value. The rest of
//! the loader then sees plain values (no "parameter or value" case at every use), and a
//! parameter of the wrong type is a deserialization error, which serde-saphyr reports at
//! the exact line and column of the `"{name}"`. The parameters must then be known while
//! the file is read: the loader reads `params:` first, merges the `--set` values, and
//! deserializes the whole file inside a [`ParamScope`], a guard that sets them for the
//! current thread (deserialization is synchronous, on the thread that entered the scope)
//! and restores what was there when dropped. Outside a scope (device files, tests of the
//! raw types) `"{name}"` is the text it is.

use std::cell::RefCell;
use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::value::SeqAccessDeserializer;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::super::name;
use super::super::params::{Param, Params, describe};
use super::{Num, Scalar, Spanned};

/// A parameter's default as written: a number, text, a duration (`10m`), `true` or
/// `false`, or a list of them.
#[derive(Debug, JsonSchema)]
#[schemars(rename = "Param")]
#[schemars(untagged)]
pub enum RawParam {
    /// A number, text or duration.
    One(Scalar),
    /// A condition (`do_iv: true`), read by expressions (`when: "do_iv"`).
    Bool(bool),
    /// A list of numbers, texts or durations.
    List(Vec<Spanned<Scalar>>),
}

impl<'de> Deserialize<'de> for RawParam {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ParamVisitor;
        impl<'de> Visitor<'de> for ParamVisitor {
            type Value = RawParam;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a number, text, a duration such as `10m`, `true` or `false`, or a list of them",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawParam, E> {
                Ok(RawParam::One(Scalar::Num(Num::Int(v))))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawParam, E> {
                i64::try_from(v)
                    .map(|v| RawParam::One(Scalar::Num(Num::Int(v))))
                    .map_err(|_| E::custom(format!("`{v}` is too large")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawParam, E> {
                Ok(RawParam::One(Scalar::Num(Num::Float(v))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawParam, E> {
                Ok(RawParam::Bool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawParam, E> {
                Ok(RawParam::One(Scalar::Text(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<RawParam, A::Error> {
                Vec::deserialize(SeqAccessDeserializer::new(seq)).map(RawParam::List)
            }
        }
        d.deserialize_any(ParamVisitor)
    }
}

thread_local! {
    /// The parameters of the file being read on this thread; set by [`ParamScope`].
    static SCOPE: RefCell<Option<Params>> = const { RefCell::new(None) };
}

/// While alive, `"{name}"` values read on this thread stand for these parameters.
#[must_use = "the parameters are in scope only while the guard lives"]
pub struct ParamScope {
    /// What the scope replaced, put back on drop (scopes nest).
    previous: Option<Params>,
}

impl ParamScope {
    /// Puts `params` in scope for the current thread until the guard is dropped.
    pub fn enter(params: Params) -> ParamScope {
        ParamScope {
            previous: SCOPE.replace(Some(params)),
        }
    }
}

impl Drop for ParamScope {
    fn drop(&mut self) {
        SCOPE.set(self.previous.take());
    }
}

/// The name in a whole value written `{name}` (nothing else, no spaces).
pub fn whole_reference(text: &str) -> Option<&str> {
    text.strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .filter(|n| name::is_name(n))
}

/// What a whole value `text` stands for, where `wanted` (`a number`, `a duration`) is
/// wanted: `Ok(None)` when it is no `{name}` or no scope is set (the caller reads it as
/// the text it is), the parameter's name and value, or why it names no parameter.
pub(super) fn lookup(text: &str, wanted: &str) -> Result<Option<(String, Param)>, String> {
    let Some(name) = whole_reference(text) else {
        return Ok(None);
    };
    SCOPE.with_borrow(|scope| {
        let Some(params) = scope else { return Ok(None) };
        match params.iter().find(|(n, _)| n == name) {
            Some((n, p)) => Ok(Some((n.clone(), p.clone()))),
            None if params.is_empty() => Err(format!(
                "`{text}` names no parameter, where {wanted} is wanted: the file has no `params:`"
            )),
            None => Err(format!(
                "`{text}` names no parameter, where {wanted} is wanted; parameters: {}",
                describe(params)
            )),
        }
    })
}

/// The error for parameter `name` whose value `param` is not what the use wants.
pub(super) fn wrong_type(name: &str, param: &Param, wanted: &str) -> String {
    format!(
        "parameter `{name}` is {} (`{param}`), where {wanted} is wanted",
        param.kind()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::value::Value;

    /// Only a whole `{name}` with a valid name is a reference.
    #[test]
    fn whole_references() {
        let cases = [
            ("{vmax}", Some("vmax")),
            ("{ΔT}", Some("ΔT")),
            ("{ vmax}", None),
            ("{vmax}s", None),
            ("{1x}", None),
            ("vmax", None),
            ("{}", None),
        ];
        for (text, name) in cases {
            assert_eq!(whole_reference(text), name, "{text}");
        }
    }

    /// A scope sets the parameters for its lifetime and puts back the outer ones (none
    /// outside any scope: `{name}` is then plain text).
    #[test]
    fn scopes_nest_and_restore() {
        let one = |v: i64| vec![("a".to_owned(), Param::Value(Value::Int(v)))];
        assert_eq!(lookup("{a}", "a number"), Ok(None));
        {
            let _outer = ParamScope::enter(one(1));
            {
                let _inner = ParamScope::enter(one(2));
                assert_eq!(
                    lookup("{a}", "x"),
                    Ok(Some(("a".into(), Param::Value(2.into()))))
                );
            }
            assert_eq!(
                lookup("{a}", "x"),
                Ok(Some(("a".into(), Param::Value(1.into()))))
            );
            let err = lookup("{b}", "a number").expect_err("unknown");
            assert!(
                err.contains("parameters: `a` (a number, default `1`)"),
                "{err}"
            );
        }
        assert_eq!(lookup("{a}", "a number"), Ok(None));
    }
}
