//! The scalar and wrapper types of the sequence file, with the hand-written `Deserialize`s
//! that give their messages: durations that need a unit, whole numbers, numbers, scalars
//! (number or text), maps that keep key order and positions, and [`Spanned`] values.
//! Their `JsonSchema`s, which accept the same, are in [`super::super::schema`].

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Location;

use super::super::duration::parse_duration;
use super::super::params::Param;
use super::super::value::Value;
use super::param::{lookup, wrong_type};

/// A value and where the file wrote it, read through [`serde_saphyr::Spanned`]. Our own type
/// (same fields) only so that it can have a [`schemars::JsonSchema`]: the schema of the value.
#[derive(Debug)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where the node is used (an alias's own position, not its anchor's).
    pub referenced: Location,
    /// Where the node is defined (the anchor, for an alias).
    pub defined: Location,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = serde_saphyr::Spanned::<T>::deserialize(d)?;
        Ok(Spanned {
            value: s.value,
            referenced: s.referenced,
            defined: s.defined,
        })
    }
}

/// A mapping that keeps the file's key order and each key's position.
#[derive(Debug)]
pub struct OrderedMap<V>(pub Vec<(Spanned<String>, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(OrderedMap(entries))
            }
        }
        d.deserialize_map(MapVisitor(PhantomData))
    }
}

/// A duration written with a unit (`50ms`, `2s`); a bare number is rejected with a hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DurVisitor;
        impl Visitor<'_> for DurVisitor {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration with a unit, such as `50ms` or `2s`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                match lookup(v, "a duration").map_err(E::custom)? {
                    Some((_, Param::Duration(d))) => Ok(Dur(d)),
                    Some((name, p)) => Err(E::custom(wrong_type(&name, &p, "a duration"))),
                    None => parse_duration(v).map(Dur).map_err(E::custom),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "bad duration `{v}`: it has no unit; write `{v}s` or `{v}ms`"
                )))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "bad duration `{v}`: it has no unit; write `{v}s` or `{v}ms`"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "bad duration `{v}`: it has no unit; write `{v}s` or `{v}ms`"
                )))
            }
        }
        d.deserialize_any(DurVisitor)
    }
}

/// A whole number (`max_connections`, `num`, `repeat`, `concurrency`); range checks are
/// done by [`super::super::compile`], which can say which key is out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub i64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let scalar = d.deserialize_any(ScalarVisitor)?;
        // `"{n}"`: the parameter's value, which must be whole.
        if let Some((name, n)) = number_param(&scalar, "a whole number")? {
            return match n {
                Num::Int(i) => Ok(Count(i)),
                Num::Float(f) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(Count(f as i64)),
                Num::Float(f) => Err(de::Error::custom(format!(
                    "parameter `{name}` is `{f}`, where a whole number is wanted"
                ))),
            };
        }
        match scalar {
            Scalar::Num(Num::Int(i)) => Ok(Count(i)),
            Scalar::Num(Num::Float(f)) if f.fract() == 0.0 && f.abs() < 9e15 => Ok(Count(f as i64)),
            // Whole, but too large for any count (every one has a bound far below this).
            Scalar::Num(Num::Float(f)) if f.fract() == 0.0 => Err(de::Error::custom(format!(
                "`{f:e}` is too large for a count"
            ))),
            Scalar::Num(Num::Float(f)) => Err(de::Error::custom(format!(
                "expected a whole number, found `{f}`"
            ))),
            Scalar::Text(t) => Err(de::Error::custom(format!(
                "expected a whole number, found `{t}`"
            ))),
        }
    }
}

/// A number as written: integer or float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// Written as an integer.
    Int(i64),
    /// Written with a point or exponent.
    Float(f64),
}

impl Num {
    /// The value as a float.
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// A scalar in a sweep list or a reply to compare with: number or text.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// A number.
    Num(Num),
    /// Text (also booleans, kept as written).
    Text(String),
}

impl Scalar {
    /// The scalar as text, as an instrument would send it.
    pub fn to_text(&self) -> String {
        match self {
            Scalar::Num(Num::Int(i)) => i.to_string(),
            Scalar::Num(Num::Float(f)) => super::super::value::Value::Float(*f).to_string(),
            Scalar::Text(s) => s.clone(),
        }
    }
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number or a string")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Num(Num::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        i64::try_from(v)
            .map(|v| Scalar::Num(Num::Int(v)))
            .map_err(|_| E::custom(format!("`{v}` is too large")))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar::Num(Num::Float(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_string()))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Text(v.to_owned()))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

/// The number a scalar `"{name}"` stands for, where `wanted` is wanted; `None` for any
/// other scalar (and outside a [`super::ParamScope`]).
fn number_param<E: de::Error>(scalar: &Scalar, wanted: &str) -> Result<Option<(String, Num)>, E> {
    let Scalar::Text(text) = scalar else {
        return Ok(None);
    };
    match lookup(text, wanted).map_err(E::custom)? {
        None => Ok(None),
        Some((name, Param::Value(Value::Int(i)))) => Ok(Some((name, Num::Int(i)))),
        Some((name, Param::Value(Value::Float(f)))) => Ok(Some((name, Num::Float(f)))),
        Some((name, p)) => Err(E::custom(wrong_type(&name, &p, wanted))),
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let scalar = d.deserialize_any(ScalarVisitor)?;
        if let Some((_, n)) = number_param(&scalar, "a number")? {
            return Ok(n);
        }
        match scalar {
            Scalar::Num(n) => Ok(n),
            Scalar::Text(t) => Err(de::Error::custom(format!("expected a number, found `{t}`"))),
        }
    }
}
