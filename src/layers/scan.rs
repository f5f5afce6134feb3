//! Reading the module paths out of a Rust source file, for the layering test: no parser, a
//! few rules that the crate's own code keeps to.
//!
//! [`code`] blanks out comments (`//`, `///`, `//!`, `/* */`, so doc links do not count)
//! and keeps string literals (so `serialize_with = "crate::runlog::millis"` does), with
//! every newline kept so that offsets still give line numbers. [`paths`] then finds every
//! path that starts at the crate root (`crate::`, or `sequencer::` in `main.rs`, or a chain
//! of `super::` that climbs out of the file's top-level module) and flattens `use` groups
//! (`use crate::{runlog, exec::Outcome}`), so each imported item is one [`Path`].

/// One path from the crate root, as written in the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Path {
    /// 1-based line of the path's first segment after the root.
    pub line: usize,
    /// The root as written: `crate::`, `sequencer::` or `super::super::`.
    pub root: String,
    /// Its segments after the root: `["runlog", "read", "Records"]`; a group adds its
    /// items, `self` and `*` included, as segments of their own.
    pub segments: Vec<String>,
}

impl Path {
    /// The path as written (a group's item joined to the group's prefix).
    pub fn text(&self) -> String {
        format!("{}{}", self.root, self.segments.join("::"))
    }

    /// True for a `super::` chain, which may end inside the file's own module.
    pub fn climbs(&self) -> bool {
        self.root.starts_with("super::")
    }
}

/// `text` with its comments replaced by spaces (newlines kept).
pub(super) fn code(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut out[from..to] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |n| i + 2 + n + 2);
                blank(&mut out, i, end);
                i = end;
            }
            b'r' if raw_string_start(bytes, i).is_some() => {
                let (hashes, open) = raw_string_start(bytes, i).unwrap_or((0, i));
                let close = format!("\"{}", "#".repeat(hashes));
                i = text[open + 1..]
                    .find(&close)
                    .map_or(bytes.len(), |n| open + 1 + n + close.len());
            }
            b'"' => i = string_end(bytes, i),
            b'\'' => i = char_end(text, i),
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

/// For a raw string literal starting at `i` (`r"`, `r#"`, `br#"`): its number of `#` and
/// the offset of its opening quote.
fn raw_string_start(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    if i > 0
        && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_')
        && bytes[i - 1] != b'b'
    {
        return None;
    }
    let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
    (bytes.get(i + 1 + hashes) == Some(&b'"')).then_some((hashes, i + 1 + hashes))
}

/// The offset just past the string literal whose opening quote is at `i`.
fn string_end(bytes: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < bytes.len() {
        match bytes[j] {
            b'\\' => j += 2,
            b'"' => return j + 1,
            _ => j += 1,
        }
    }
    bytes.len()
}

/// The offset just past the char literal at `i`, or just past the `'` of a lifetime.
fn char_end(text: &str, i: usize) -> usize {
    let bytes = text.as_bytes();
    if bytes.get(i + 1) == Some(&b'\\') {
        // An escape: `'\''`, `'\n'`, `'\u{7f}'`: the quote after the escaped character.
        return text
            .get(i + 3..)
            .and_then(|rest| rest.find('\''))
            .map_or(bytes.len(), |n| i + 3 + n + 1);
    }
    // One character and a closing quote; otherwise a lifetime.
    let width = text[i + 1..].chars().next().map_or(1, char::len_utf8);
    if bytes.get(i + 1 + width) == Some(&b'\'') {
        i + 2 + width
    } else {
        i + 1
    }
}

/// Every path from the crate root in `code` (comments already blanked) of the file whose
/// module path is `module` (`["sequence", "compile", "steps"]`); `main` says the file is
/// the binary's, which names the crate `sequencer`.
pub(super) fn paths(code: &str, module: &[&str], main: bool) -> Vec<Path> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let word_start =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || b"_$".contains(&bytes[i - 1]));
        let root = if !word_start {
            None
        } else if bytes[i..].starts_with(b"crate::") {
            Some("crate::".len())
        } else if main && bytes[i..].starts_with(b"sequencer::") {
            Some("sequencer::".len())
        } else {
            climb(&bytes[i..], module.len())
        };
        match root {
            Some(len) => {
                let mut at = i + len;
                let before = found.len();
                tree(code, &mut at, &mut Vec::new(), &mut found);
                for path in &mut found[before..] {
                    path.root = code[i..i + len].to_owned();
                }
                i = at.max(i + 1);
            }
            None => i += 1,
        }
    }
    found
}

/// The length of a `super::super::...` chain at the start of `code` that climbs out of a
/// module `depth` levels below the crate root, if it does. An inline module (`mod tests`)
/// adds a level this cannot see, so a chain counted as climbing out may end inside: the
/// caller only looks at the segment after it when it names a top-level module.
fn climb(code: &[u8], depth: usize) -> Option<usize> {
    let mut len = 0;
    let mut hops = 0;
    while code[len..].starts_with(b"super::") {
        len += "super::".len();
        hops += 1;
    }
    (hops > 0 && hops >= depth).then_some(len)
}

/// Reads the use tree at `*at` (after `crate::` or `prefix::`), appending each leaf path
/// to `out`.
fn tree(code: &str, at: &mut usize, prefix: &mut Vec<String>, out: &mut Vec<Path>) {
    let bytes = code.as_bytes();
    let depth = prefix.len();
    let mut start = None;
    loop {
        while *at < bytes.len() && bytes[*at].is_ascii_whitespace() {
            *at += 1;
        }
        let Some(&b) = bytes.get(*at) else { break };
        if b == b'{' {
            *at += 1;
            loop {
                tree(code, at, prefix, out);
                while *at < bytes.len() && (bytes[*at].is_ascii_whitespace() || bytes[*at] == b',')
                {
                    *at += 1;
                }
                if bytes.get(*at).is_none_or(|&b| b == b'}') {
                    *at += 1;
                    break;
                }
            }
            prefix.truncate(depth);
            return;
        }
        let len = bytes[*at..]
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'*')
            .count();
        if len == 0 {
            break;
        }
        start.get_or_insert(*at);
        prefix.push(code[*at..*at + len].to_owned());
        *at += len;
        if code[*at..].starts_with("::") {
            *at += 2;
        } else {
            break;
        }
    }
    if let Some(start) = start {
        out.push(Path {
            line: code[..start].matches('\n').count() + 1,
            root: String::new(),
            segments: prefix.clone(),
        });
    }
    prefix.truncate(depth);
}
