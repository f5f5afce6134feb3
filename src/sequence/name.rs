//! The one rule for the names a sequence gives: sweep variables (and so placeholders), `as`
//! names, step names and instrument names.
//!
//! A name is letters and digits of any script and `_`, not starting with a digit: `volt`,
//! `Temp_K`, `ΔT`, `Strom_µA`, `温度`. Combining marks may follow a letter (a decomposed
//! `é`, Devanagari vowel signs). The rule is one regular expression, [`PATTERN`], used by the
//! loader (the `regex` crate, already a dependency for `until: {matches}`) and printed as is
//! in the JSON Schema, so that `check` and an editor agree on every name: `char`'s own
//! `is_alphabetic` follows another Unicode property (Alphabetic, which takes in some marks
//! and symbols) than `\p{L}`, which a JSON Schema validator knows.

use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;

/// What a name is, as a regular expression that Rust's `regex` and ECMA-262 (JSON Schema)
/// read alike: a letter or `_`, then letters, combining marks, digits (any `\p{N}`, so
/// `T²` too) or `_`.
pub const PATTERN: &str = r"^[\p{L}_][\p{L}\p{M}\p{N}_]*$";

/// The rule in words, for messages and the README.
pub const RULE: &str =
    "names are letters and digits of any script and `_`, not starting with a digit";

/// A character that may start a name, beyond ASCII (compiled on first use: the Unicode
/// classes cost about 9 MiB of memory, which a sequence of ASCII names never pays).
static FIRST: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[\p{L}_]$").expect("a valid regex"));

/// A character that may follow the first, beyond ASCII.
static REST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{M}\p{N}_]$").expect("a valid regex"));

/// True when `c` may start a name ([`PATTERN`]'s first class). Within ASCII, `\p{L}` is
/// the letters.
pub(crate) fn may_start(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic() || c == '_'
    } else {
        FIRST.is_match(c.encode_utf8(&mut [0u8; 4]))
    }
}

/// True when `c` may follow the first character ([`PATTERN`]'s second class). Within
/// ASCII, `\p{N}` is the digits and `\p{M}` nothing.
pub(crate) fn may_follow(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        REST.is_match(c.encode_utf8(&mut [0u8; 4]))
    }
}

/// True when `name` follows the rule ([`PATTERN`], character by character).
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(may_start) && chars.all(may_follow)
}

/// Words of the expression language: no value may be named so (it could not be read).
pub const KEYWORDS: [&str; 5] = ["and", "or", "not", "true", "false"];

/// What is wrong with `name` as the name of a value that expressions read (a sweep
/// variable, a `let:` value, a parameter, a measured value): the name rule, and not a word
/// of the expression language.
pub fn value_problem(what: &str, name: &str) -> Option<String> {
    if KEYWORDS.contains(&name) {
        return Some(format!(
            "bad {what} `{name}`: `{name}` is a word of the expression language (`and`, `or`, \
             `not`, `true`, `false`), so no expression could read it; rename it"
        ));
    }
    problem(what, name)
}

/// Why `name` breaks the rule, said about `what` (`variable name`, `step name`), with the
/// rule and a name that follows it; `None` for a good name.
///
/// `bad variable name `∆T`: `∆` (U+2206) is not a letter, digit or `_`; names are letters
/// and digits of any script and `_`, not starting with a digit (the Greek letter is `Δ`,
/// U+0394: `ΔT`)`.
pub fn problem(what: &str, name: &str) -> Option<String> {
    if is_name(name) {
        return None;
    }
    let mut why = String::from("it is empty");
    for (i, c) in name.chars().enumerate() {
        if (i == 0 && may_start(c)) || (i > 0 && may_follow(c)) {
            continue;
        }
        why = if i == 0 && may_follow(c) {
            format!("it starts with {}", shown(c))
        } else {
            format!("{} is not a letter, digit or `_`", shown(c))
        };
        break;
    }
    let mut message = format!("bad {what} `{name}`: {why}; {RULE}");
    if let Some(fixed) = suggestion(name) {
        let _ = write!(message, " (e.g. `{fixed}`)");
    }
    Some(message)
}

/// `` `-` ``, or `` `∆` (U+2206) `` for a character that is not plain ASCII.
fn shown(c: char) -> String {
    if c.is_ascii_graphic() {
        format!("`{c}`")
    } else {
        format!("`{c}` (U+{:04X})", u32::from(c))
    }
}

/// A name that follows the rule, close to `name`: look-alike signs replaced by the letters
/// they imitate, each run of other bad characters by one `_` between the good ones
/// (`I (A)`: `I_A`), and `_` before a leading digit; `None` when nothing is left.
fn suggestion(name: &str) -> Option<String> {
    let mut fixed = String::new();
    let mut buf = [0u8; 4];
    let mut gap = false;
    for c in name.chars() {
        let c = look_alike(c).unwrap_or(c);
        let text = c.encode_utf8(&mut buf);
        if !REST.is_match(text) {
            gap = true;
            continue;
        }
        let leading_digit = fixed.is_empty() && !FIRST.is_match(text);
        let between = gap && !fixed.is_empty() && !fixed.ends_with('_') && c != '_';
        if leading_digit || between {
            fixed.push('_');
        }
        gap = false;
        fixed.push(c);
    }
    is_name(&fixed).then_some(fixed)
}

/// The letter that a sign typed in its place stands for: `∆` (U+2206 INCREMENT, which
/// macOS types for Option-J) for the Greek `Δ` (U+0394). (`Ω` U+2126 and `µ` U+00B5 are
/// letters already.)
fn look_alike(c: char) -> Option<char> {
    match c {
        '\u{2206}' => Some('\u{0394}'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Letters and digits of any script and `_`, not starting with a digit, are names;
    /// signs, spaces, punctuation and a leading digit are not.
    /// The character-by-character check is the pattern the schema prints: every string of
    /// one or two ASCII characters, and names mixing ASCII with letters, marks, digits and
    /// symbols of other scripts.
    #[test]
    fn the_check_is_the_pattern() {
        let pattern = Regex::new(PATTERN).expect("a valid regex");
        let mut samples: Vec<String> = vec![String::new()];
        let ascii: Vec<char> = (0u8..128).map(char::from).collect();
        for &a in &ascii {
            samples.push(a.to_string());
            for &b in &ascii {
                samples.push([a, b].iter().collect());
            }
        }
        for other in [
            "Δ", "∆", "é", "\u{301}", "²", "温", "µ", "٣", "ß", "–", " ", "\u{a0}",
        ] {
            for around in ["", "a", "_", "1"] {
                samples.push(format!("{other}{around}"));
                samples.push(format!("{around}{other}"));
                samples.push(format!("a{other}{around}"));
            }
        }
        for s in &samples {
            assert_eq!(is_name(s), pattern.is_match(s), "{s:?}");
        }
    }

    #[test]
    fn the_rule() {
        let good = [
            "v",
            "_",
            "volt",
            "Temp_K",
            "ΔT",
            "Strom_µA",
            "温度",
            "T²",
            "x1",
            "_1",
            "Ω",
            "e\u{301}té",
            "कि",
            "ch_2",
        ];
        for name in good {
            assert!(is_name(name), "{name} should be a name");
            assert_eq!(problem("name", name), None);
        }
        let bad = [
            "",
            "1x",
            "²",
            "a-b",
            "a b",
            "a.b",
            "a/b",
            "∆T",
            "T°",
            "{x}",
            "a\u{301}-",
            "\u{301}a",
            "x\n",
        ];
        for name in bad {
            assert!(!is_name(name), "{name:?} should not be a name");
        }
    }

    /// The message names the first character at fault (with its code point when it is
    /// not plain ASCII), states the rule and suggests a name that follows it.
    #[test]
    fn messages() {
        let cases = [
            (
                "∆T",
                "bad variable name `∆T`: `∆` (U+2206) is not a letter, digit or `_`; names are \
                 letters and digits of any script and `_`, not starting with a digit (e.g. `ΔT`)",
            ),
            (
                "iv-296",
                "bad variable name `iv-296`: `-` is not a letter, digit or `_`; names are \
                 letters and digits of any script and `_`, not starting with a digit (e.g. \
                 `iv_296`)",
            ),
            (
                "2nd",
                "bad variable name `2nd`: it starts with `2`; names are letters and digits of \
                 any script and `_`, not starting with a digit (e.g. `_2nd`)",
            ),
            (
                "",
                "bad variable name ``: it is empty; names are letters and digits of any script \
                 and `_`, not starting with a digit",
            ),
            (
                "T in K",
                "bad variable name `T in K`: ` ` (U+0020) is not a letter, digit or `_`; names \
                 are letters and digits of any script and `_`, not starting with a digit (e.g. \
                 `T_in_K`)",
            ),
            (
                "I (A)",
                "bad variable name `I (A)`: ` ` (U+0020) is not a letter, digit or `_`; names \
                 are letters and digits of any script and `_`, not starting with a digit (e.g. \
                 `I_A`)",
            ),
            (
                "{x}",
                "bad variable name `{x}`: `{` is not a letter, digit or `_`; names are letters \
                 and digits of any script and `_`, not starting with a digit (e.g. `x`)",
            ),
        ];
        for (name, want) in cases {
            assert_eq!(
                problem("variable name", name).as_deref(),
                Some(want),
                "{name}"
            );
        }
    }
}
