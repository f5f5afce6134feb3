//! Message terminations of the simulated instrument as users write them: `sequencer sim
//! --eom '\r\n'`, `--eom CRLF,LF`, and `sim: {eom: ...}` on an instrument of a sequence.
//!
//! [`Eom`] is the pair pyvisa-sim calls an eom: `q` ends each message the simulator reads,
//! `r` ends each reply it sends. [`parse_termination`] reads one termination: the words `LF`,
//! `CR`, `CRLF` (any case), or text in which the escapes a shell user types inside single
//! quotes (`\n`, `\r`, `\t`, `\\`) are decoded; characters given as themselves (a CR typed
//! as `$'\r'`, or YAML's `"\r\n"`) are kept. The simulator's session frames with the
//! result (`crate::sim::Framing`); this file only reads text.

use std::fmt;

/// The terminations a simulated instrument frames messages with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eom {
    /// Ends every message the simulator reads (the client's write termination); never empty.
    pub q: String,
    /// Ends every reply the simulator sends (the client's read termination); never empty.
    pub r: String,
}

impl Eom {
    /// Reads `Q` or `Q,R` (`R` is `Q` when left out), each as [`parse_termination`] reads it.
    pub fn parse(text: &str) -> Result<Eom, TerminationError> {
        let mut parts = text.split(',');
        let q = parse_termination(parts.next().unwrap_or_default())?;
        let r = match parts.next() {
            Some(r) => parse_termination(r)?,
            None => q.clone(),
        };
        if parts.next().is_some() {
            return Err(TerminationError::TooMany {
                text: text.to_owned(),
            });
        }
        Ok(Eom { q, r })
    }
}

impl fmt::Display for Eom {
    /// `CRLF (\r\n) both ways`, or `q LF (\n), r CRLF (\r\n)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.q == self.r {
            write!(f, "{} both ways", describe(&self.q))
        } else {
            write!(f, "q {}, r {}", describe(&self.q), describe(&self.r))
        }
    }
}

/// Why a text is not a termination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TerminationError {
    /// Nothing at all: messages could never be told apart.
    #[error(
        "empty termination: messages could never end; write `\\n` (or LF), `\\r\\n` (CRLF) or `\\r` (CR)"
    )]
    Empty,
    /// A backslash followed by something other than `n`, `r`, `t` or `\`.
    #[error(
        "unknown escape `\\{escape}` in `{text}`: write `\\n`, `\\r`, `\\t` or `\\\\`, or a word: LF, CR, CRLF"
    )]
    UnknownEscape {
        /// The character after the backslash (empty at the end of the text).
        escape: String,
        /// The termination as written.
        text: String,
    },
    /// More than `Q,R`.
    #[error("`{text}` names more than two terminations: write `Q` or `Q,R`, as in `\\r\\n,\\n`")]
    TooMany {
        /// The whole value as written.
        text: String,
    },
}

/// One termination: `LF`, `CR`, `CRLF` (any case), or text with `\n`, `\r`, `\t`, `\\`
/// decoded. Empty is an error.
pub fn parse_termination(text: &str) -> Result<String, TerminationError> {
    let word = match text.to_ascii_uppercase().as_str() {
        "LF" => Some("\n"),
        "CR" => Some("\r"),
        "CRLF" => Some("\r\n"),
        _ => None,
    };
    if let Some(word) = word {
        return Ok(word.to_owned());
    }
    let decoded = unescape(text)?;
    if decoded.is_empty() {
        return Err(TerminationError::Empty);
    }
    Ok(decoded)
}

/// `text` with `\n`, `\r`, `\t` and `\\` decoded; any other escape is an error. Also reads
/// `sim --greeting`.
pub fn unescape(text: &str) -> Result<String, TerminationError> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            other => {
                return Err(TerminationError::UnknownEscape {
                    escape: other.map(String::from).unwrap_or_default(),
                    text: text.to_owned(),
                });
            }
        }
    }
    Ok(out)
}

/// A termination for people: `LF (\n)`, `CRLF (\r\n)`, `CR (\r)`, or its escaped text in
/// backticks.
pub fn describe(termination: &str) -> String {
    let escaped = escape(termination);
    match termination {
        "\n" => format!("LF (`{escaped}`)"),
        "\r\n" => format!("CRLF (`{escaped}`)"),
        "\r" => format!("CR (`{escaped}`)"),
        _ => format!("`{escaped}`"),
    }
}

/// `text` with CR, LF, tab and backslash written as escapes, the inverse of [`unescape`].
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eom(q: &str, r: &str) -> Eom {
        Eom {
            q: q.to_owned(),
            r: r.to_owned(),
        }
    }

    /// `--eom` values as users type them: escapes, words in any case, real control
    /// characters, `Q,R` pairs; `R` defaults to `Q`.
    #[test]
    fn eom_values_users_type() {
        let table = [
            (r"\r\n", eom("\r\n", "\r\n")),
            (r"\n", eom("\n", "\n")),
            (r"\r\n,\n", eom("\r\n", "\n")),
            ("\r\n", eom("\r\n", "\r\n")),
            ("CRLF", eom("\r\n", "\r\n")),
            ("crlf,lf", eom("\r\n", "\n")),
            ("Cr", eom("\r", "\r")),
            (r"LF,\r", eom("\n", "\r")),
            (r"\t", eom("\t", "\t")),
            (r"END\\", eom("END\\", "END\\")),
            ("#", eom("#", "#")),
        ];
        for (text, want) in table {
            assert_eq!(Eom::parse(text), Ok(want), "{text}");
        }
    }

    /// Empty terminations, unknown escapes and a third part are refused, each saying what
    /// to write instead.
    #[test]
    fn eom_mistakes() {
        let table = [
            ("", "empty termination"),
            (r"\n,", "empty termination"),
            (r",\n", "empty termination"),
            (r"\x0d", r"unknown escape `\x` in `\x0d`"),
            (r"a\", r"unknown escape `\` in `a\`"),
            (r"\n,\n,\n", r"`\n,\n,\n` names more than two terminations"),
        ];
        for (text, want) in table {
            let got = Eom::parse(text).expect_err(text).to_string();
            assert!(got.contains(want), "{text}: {got}");
        }
    }

    /// A termination printed for people reads back as itself.
    #[test]
    fn describe_and_escape() {
        assert_eq!(describe("\r\n"), r"CRLF (`\r\n`)");
        assert_eq!(describe("\n"), r"LF (`\n`)");
        assert_eq!(describe("\r"), r"CR (`\r`)");
        assert_eq!(describe("\n\r"), r"`\n\r`");
        for text in ["\r\n", "a\\b\t", "\n\r"] {
            assert_eq!(unescape(&escape(text)).as_deref(), Ok(text));
        }
        assert_eq!(
            eom("\r\n", "\n").to_string(),
            r"q CRLF (`\r\n`), r LF (`\n`)"
        );
        assert_eq!(eom("\n", "\n").to_string(), r"LF (`\n`) both ways");
    }
}
