//! The setter patterns of a pyvisa-sim device file (the `stringparser` package).
//!
//! pyvisa-sim matches a query against each setter with `stringparser.Parser(pattern)(query)`
//! (patterns like `VOLT {:.2f}` or `CH{ch_id}:VOLT {:f}`) and hands the result to the
//! property. [`Parser`] reproduces stringparser 0.7 exactly, quirks included:
//!
//! - The pattern is split by Python's template parser ([`super::pyfmt`]'s `Markup`), so a
//!   malformed pattern fails with Python's message.
//! - Each field's spec becomes a regex from stringparser's table: only the sign, `#` and
//!   the type count (`fill`, `align`, `width`, `precision` are ignored), and the type is
//!   read by stringparser's own spec regex, which stops at the first character it does not
//!   expect: `{:abc}` is a string field, `{:ds}` and `{:n}` are errors. `f` is
//!   `[0-9]+\.?[0-9]+`, so `1` does not match `{:f}` but `10` and `0.5` do; `d`, `b`, `o`,
//!   `x`, `X` and untyped fields are lazy; `x` takes lowercase digits only, `X` uppercase.
//! - The regex is anchored `^...$` where Python's `$` also matches before a final `\n`;
//!   that is reproduced (a query ending in one newline still matches), though queries
//!   reaching a device have had their terminator removed.
//! - Results: one unnamed field gives the value itself; otherwise fields by name or by
//!   position, the first occurrence of a repeated name winning.
//!
//! Not reproduced: dotted and indexed field names (`{0.x}`, `{a[0]}`, which stringparser
//! turns into nested objects) are refused by [`Parser::new`]; an int beyond 64 bits fails
//! to parse, where Python would return it; only ASCII digits are digits, as in
//! stringparser's regexes.

use std::sync::{LazyLock, OnceLock};

use regex::Regex;

use super::pyfmt::{IntParse, Markup, PyError, PyValue, parse_py_float, parse_py_int};

/// stringparser's `_FMT`: the parts of a format spec it reads. Unanchored and all
/// optional, so it always matches at the start of the spec, possibly empty.
static SPEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?P<align>(?P<fill>[^{}])?[<>=\^])?",
        r"(?P<sign>[+\- ])?(?P<alternate>#)?",
        r"(?P<zero>0)?(?P<width>[0-9]+)?(?P<comma>[,])?",
        r"(?P<precision>\.[0-9]+)?(?P<type>[bcdeEfFgGnosxX%]+)?",
    ))
    .expect("the spec regex is valid")
});

/// How a captured text becomes a value (stringparser's converter callables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Converter {
    /// `str`: the text itself.
    Str,
    /// `int` in the given base (`partial(int, base=...)`).
    Int(u32),
    /// `float`.
    Float,
    /// `float(text[:-1]) / 100` (the `%` type).
    Percent,
}

impl Converter {
    /// Converts a captured text; None where Python raises (or the int exceeds 64 bits).
    fn apply(self, text: &str) -> Option<PyValue> {
        match self {
            Converter::Str => Some(PyValue::Str(text.to_owned())),
            Converter::Int(base) => match parse_py_int(text, base) {
                IntParse::Value(i) => Some(PyValue::Int(i)),
                IntParse::Invalid | IntParse::TooBig => None,
            },
            Converter::Float => parse_py_float(text).map(PyValue::Float),
            Converter::Percent => {
                let number = text.strip_suffix('%')?;
                parse_py_float(number).map(|x| PyValue::Float(x / 100.0))
            }
        }
    }
}

/// The regex and converter of a spec's type (stringparser's `_REG`); None for a type not in
/// the table.
fn type_rule(ty: Option<&str>) -> Option<(&'static str, Converter)> {
    /// The shared regex of `f` and `F`.
    const FIXED: &str = r"[0-9]+\.?[0-9]+";
    /// The shared regex of `g` and `G`.
    const GENERAL: &str = r"[0-9]+\.?[0-9]+(?:[eE][-+]?[0-9]+)?";
    Some(match ty {
        None | Some("s") => (".*?", Converter::Str),
        Some("d") => ("[0-9]+?", Converter::Int(10)),
        Some("b") => ("[0-1]+?", Converter::Int(2)),
        Some("o") => ("[0-7]+?", Converter::Int(8)),
        Some("x") => ("[0-9a-f]+?", Converter::Int(16)),
        Some("X") => ("[0-9A-F]+?", Converter::Int(16)),
        Some("e") => (r"[0-9]+\.?[0-9]+(?:e[-+]?[0-9]+)?", Converter::Float),
        Some("E") => (r"[0-9]+\.?[0-9]+(?:E[-+]?[0-9]+)?", Converter::Float),
        Some("f" | "F") => (FIXED, Converter::Float),
        Some("g" | "G") => (GENERAL, Converter::Float),
        Some("%") => (r"[0-9]+\.?[0-9]+%", Converter::Percent),
        Some(_) => return None,
    })
}

/// Why a setter's pattern cannot be compiled, where stringparser raises (or this module
/// does not follow it).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatternError {
    /// Python's template errors (`ValueError: Single '{' encountered in format string`).
    #[error(transparent)]
    Template(#[from] PyError),
    /// A spec stringparser's pattern does not read.
    #[error("ValueError: Could not parse the formatting string {spec}")]
    Spec {
        /// The field's spec.
        spec: String,
    },
    /// A presentation type stringparser has no rule for (`n`).
    #[error("ValueError: {ty} is not an valid type")]
    Type {
        /// The type (`None` when there is none).
        ty: String,
    },
    /// `#` with a type other than `o`, `x`, `X`, `b`.
    #[error("ValueError: Alternate form (#) not allowed in {ty} type")]
    Alternate {
        /// The type (`None` when there is none).
        ty: String,
    },
    /// A dotted or indexed field name.
    #[error(
        "unsupported: field `{name}` in pattern `{pattern}`: attribute and index access are \
         not supported"
    )]
    Access {
        /// The field's name.
        name: String,
        /// The whole pattern.
        pattern: String,
    },
    /// A pattern whose regex the regex crate refuses (too big).
    #[error("unsupported: pattern `{pattern}` gives an invalid regex: {cause}")]
    Regex {
        /// The whole pattern.
        pattern: String,
        /// The regex crate's error.
        cause: regex::Error,
    },
}

/// The regex and converter of a non-empty field spec (stringparser's `fmt_to_regex`).
fn spec_rule(spec: &str) -> Result<(String, Converter), PatternError> {
    let caps = SPEC.captures(spec).ok_or_else(|| PatternError::Spec {
        spec: spec.to_owned(),
    })?;
    let ty = caps.name("type").map(|m| m.as_str());
    let ty_name = ty.unwrap_or("None");
    let (body, converter) = type_rule(ty).ok_or_else(|| PatternError::Type {
        ty: ty_name.to_owned(),
    })?;
    let body = if caps.name("alternate").is_some() {
        if !matches!(ty, Some("o" | "x" | "X" | "b")) {
            return Err(PatternError::Alternate {
                ty: ty_name.to_owned(),
            });
        }
        format!("0{ty_name}{body}")
    } else {
        body.to_owned()
    };
    let sign = match caps.name("sign").map(|m| m.as_str()) {
        Some("+") => "[-+]",
        Some(" ") => "[- ]",
        _ => "[-]?",
    };
    Ok((format!("{sign}{body}"), converter))
}

/// What the parsed values are gathered into (stringparser's `_template`): a list when the
/// field names are exactly the indices `0..n`, else a dict.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// A list of this length; each field goes to the index its name spells.
    List(usize),
    /// A dict; the keys in pattern order.
    Dict(Vec<String>),
}

impl Shape {
    /// stringparser's `_convert` of the template dict with these keys: a list when every
    /// key reads as an int, they span `0..=len-1` and each one's canonical spelling is a
    /// key; otherwise the dict.
    fn of(keys: Vec<String>) -> Shape {
        let mut ints: Vec<i64> = Vec::new();
        for key in &keys {
            match parse_py_int(key, 10) {
                IntParse::Value(i) => ints.push(i),
                IntParse::Invalid | IntParse::TooBig => return Shape::Dict(keys),
            }
        }
        let (Some(&min), Some(&max)) = (ints.iter().min(), ints.iter().max()) else {
            return Shape::Dict(keys);
        };
        let len = ints.len();
        let spans = min == 0 && usize::try_from(max).is_ok_and(|m| m + 1 == len);
        if spans && ints.iter().all(|i| keys.contains(&i.to_string())) {
            Shape::List(len)
        } else {
            Shape::Dict(keys)
        }
    }
}

/// Longest regex source compiled as soon as its pattern is read; shorter ones wait for
/// their first use. A device file can hold thousands of setters, most of them never used,
/// and compiling a small regex costs about 150 µs (the regex crate builds its DFAs up
/// front): 20,000 setters took 3 s to load. A short regex, built from escaped text and
/// the fixed field regexes, stays far below the regex crate's size limit, so compiling it
/// later cannot fail; a longer one is compiled at once, so that limit is a load error.
const EAGER_REGEX_BYTES: usize = 1024;

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Parser {
    /// The anchored regex source, one capture group per kept field.
    source: String,
    /// The literal text before the first field: the regex is anchored, so every match
    /// starts with it, and a query that does not is refused without the regex.
    prefix: String,
    /// The compiled `source`: by [`Parser::new`] when long, else by the first
    /// [`Parser::parse`] that gets past `prefix`; `None` if it failed (logged).
    regex: OnceLock<Option<Regex>>,
    /// Each captured field's name (numbered when unnamed) and converter, in pattern order.
    fields: Vec<(String, Converter)>,
    /// How the values are gathered.
    shape: Shape,
}

/// What a successful parse returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// one unnamed field: the value itself (stringparser returns `parsed[0]`)
    One(PyValue),
    /// anything else: fields by name (`ch_id`) or position (`0`, `1`...), in pattern order
    /// (by position when all names are positions); none for a pattern without fields
    Fields(Vec<(String, PyValue)>),
}

impl Parser {
    /// Compiles a pattern; Err(message) where stringparser raises (`ValueError: n is not an
    /// valid type` for `{:n}`, `ValueError: Alternate form (#) not allowed in f type`,
    /// Python's template errors such as `ValueError: Single '{' encountered in format
    /// string`), or `unsupported:` for a dotted or indexed field name.
    pub fn new(pattern: &str) -> Result<Parser, PatternError> {
        let mut regex = String::from("^");
        let mut fields = Vec::new();
        let mut keys: Vec<String> = Vec::new();
        let mut unnamed = 0;
        let mut prefix = None;
        for piece in Markup::new(pattern) {
            let piece = piece?;
            prefix.get_or_insert_with(|| piece.literal.to_owned());
            regex.push_str(&regex::escape(piece.literal));
            let Some(field) = piece.field else {
                continue;
            };
            let (body, converter) = if field.spec.is_empty() {
                (".*?".to_owned(), Converter::Str)
            } else {
                spec_rule(field.spec)?
            };
            // `{_}` must match but is not kept.
            if field.name == "_" {
                regex.push_str("(?:");
                regex.push_str(&body);
                regex.push(')');
                continue;
            }
            let name = if field.name.is_empty() || field.name.starts_with(['.', '[']) {
                unnamed += 1;
                format!("{}{}", unnamed - 1, field.name)
            } else {
                field.name.to_owned()
            };
            if name.contains(['.', '[']) {
                return Err(PatternError::Access {
                    name,
                    pattern: pattern.to_owned(),
                });
            }
            regex.push('(');
            regex.push_str(&body);
            regex.push(')');
            if !keys.contains(&name) {
                keys.push(name.clone());
            }
            fields.push((name, converter));
        }
        // Python's `$`: the end, or just before a final newline.
        regex.push_str(r"\n?\z");
        let compiled = OnceLock::new();
        if regex.len() > EAGER_REGEX_BYTES {
            let built = Regex::new(&regex).map_err(|cause| PatternError::Regex {
                pattern: pattern.to_owned(),
                cause,
            })?;
            let _ = compiled.set(Some(built));
        }
        Ok(Parser {
            source: regex,
            prefix: prefix.unwrap_or_default(),
            regex: compiled,
            fields,
            shape: Shape::of(keys),
        })
    }

    /// The regex the pattern compiles to (for diagnostics: stringparser quotes it in its
    /// "Could not parse" error).
    pub fn regex(&self) -> &str {
        &self.source
    }

    /// The compiled regex, compiling it on first use.
    fn compiled(&self) -> Option<&Regex> {
        self.regex
            .get_or_init(|| {
                Regex::new(&self.source)
                    .inspect_err(|error| {
                        tracing::warn!(%error, "setter pattern regex `{}` does not compile; it matches nothing", self.source);
                    })
                    .ok()
            })
            .as_ref()
    }

    /// Parses `text`; None where stringparser raises `ValueError` (no match, or a converter
    /// fails such as int overflow).
    pub fn parse(&self, text: &str) -> Option<Parsed> {
        if !text.starts_with(&self.prefix) {
            return None;
        }
        let caps = self.compiled()?.captures(text)?;
        // Every converter runs, as in Python, even for a repeated name whose value is
        // then dropped.
        let mut values = Vec::with_capacity(self.fields.len());
        for (i, (name, converter)) in self.fields.iter().enumerate() {
            let text = caps.get(i + 1).map_or("", |m| m.as_str());
            values.push((name.as_str(), converter.apply(text)?));
        }
        Some(match &self.shape {
            Shape::List(len) => {
                let mut slots: Vec<Option<PyValue>> = vec![None; *len];
                for (name, value) in values {
                    if let IntParse::Value(i) = parse_py_int(name, 10) {
                        let slot = usize::try_from(i).ok().and_then(|i| slots.get_mut(i));
                        if let Some(slot @ None) = slot {
                            *slot = Some(value);
                        }
                    }
                }
                if let [Some(one)] = slots.as_slice() {
                    return Some(Parsed::One(one.clone()));
                }
                Parsed::Fields(
                    slots
                        .into_iter()
                        .enumerate()
                        .filter_map(|(i, v)| Some((i.to_string(), v?)))
                        .collect(),
                )
            }
            Shape::Dict(keys) => Parsed::Fields(
                keys.iter()
                    .filter_map(|key| {
                        let (_, value) = values.iter().find(|(name, _)| name == key)?;
                        Some((key.clone(), value.clone()))
                    })
                    .collect(),
            ),
        })
    }
}

#[cfg(test)]
mod tests;
