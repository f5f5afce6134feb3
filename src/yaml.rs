//! Reading YAML files and pointing at the problems in them, for any file the crate reads:
//! sequence files ([`crate::sequence`]) and the simulator's device files.
//!
//! [`read_text`] reads a file whole, within a size limit. A file's problems become an
//! [`InvalidFile`] (`diagnostic.rs`): each [`Problem`] has a byte span, so miette can print
//! `file:line:col` and a snippet with the offending key or value underlined. YAML syntax and
//! type errors from serde-saphyr become the same kind of problem ([`from_yaml_error`],
//! `saphyr.rs`), so every invalid file reads alike; its resource limits (the budgets set where
//! a file is parsed, against alias bombs, runaway nesting and huge files, [`MAX_DEPTH`]) are
//! worded in terms of the file, with a hint (in a sequence's terms, the file most read; a
//! device file shares them). Nothing here depends on the rest of the crate.

mod diagnostic;
mod saphyr;

use std::ops::Range;
use std::path::Path;

pub use diagnostic::{InvalidFile, Problem};
pub use saphyr::from_yaml_error;

/// Deepest nesting of lists and mappings accepted in a file (block and flow style). Real
/// files need a handful of levels; the limit keeps a `[[[[...` file from exhausting the
/// parser.
pub const MAX_DEPTH: usize = 32;

/// Most problems kept and shown; the rest are only counted ("and N more problems"). A file
/// generated wrong can have thousands, and rendering each (with its snippet) costs time
/// and screens nobody reads; the first ones show what is wrong.
pub const MAX_SHOWN: usize = 50;

/// Reads the YAML text file at `path` for `what` (`a sequence`, `a device file`), refusing
/// files over `max_bytes` unread (the read stops there, so a pipe that never ends is
/// refused too) and bytes that are not UTF-8, with the line they are on.
pub fn read_text(path: &Path, max_bytes: u64, what: &str) -> std::io::Result<String> {
    use std::io::{Error as IoError, ErrorKind, Read};
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(IoError::new(
            ErrorKind::FileTooLarge,
            format!("larger than {} MiB, the limit for {what}", max_bytes >> 20),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].split(|&b| b == b'\n').count();
        IoError::new(
            ErrorKind::InvalidData,
            format!(
                "not UTF-8 text: invalid byte 0x{:02x} at line {line} (byte offset {at}); \
                 {what} is a YAML text file",
                e.as_bytes()[at]
            ),
        )
    })
}

/// Byte range in the file of a serde-saphyr location, empty when the location is unknown.
pub fn byte_range(location: serde_saphyr::Location) -> Range<usize> {
    let span = location.span();
    match span.byte_offset() {
        Some(start) if location.line() > 0 => {
            let start = start as usize;
            start..start + span.byte_len().unwrap_or(0) as usize
        }
        _ => 0..0,
    }
}

/// `file:line:col` (1-based; the column in characters) of byte `offset` in `text`.
pub fn location(file: &str, text: &str, offset: usize) -> String {
    let offset = char_floor(text, offset.min(text.len()));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[start..].chars().count() + 1;
    format!("{file}:{line}:{col}")
}

/// The largest char boundary of `text` at or before `offset` (clamped to the text).
fn char_floor(text: &str, offset: usize) -> usize {
    let mut i = offset.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}
