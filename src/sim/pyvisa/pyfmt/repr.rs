//! Python's `repr()` and `ascii()` of a str: quotes and backslash escapes, for `!r`/`!a`
//! conversions and error messages.

use std::fmt::Write as _;

/// Python `repr(s)` (`ascii(s)` when `ascii_only`): quotes chosen as Python chooses them,
/// backslash escapes for the quote, `\`, `\t`, `\n`, `\r`, other controls and
/// (approximately, see [`is_printable`]) non-printable characters.
pub(super) fn repr_str(s: &str, ascii_only: bool) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii() && c >= ' ' && c != '\u{7f}' => out.push(c),
            c if !ascii_only && !c.is_ascii() && is_printable(c) => out.push(c),
            c => {
                // Writing to a String cannot fail.
                let code = u32::from(c);
                let _ = if code <= 0xff {
                    write!(out, "\\x{code:02x}")
                } else if code <= 0xffff {
                    write!(out, "\\u{code:04x}")
                } else {
                    write!(out, "\\U{code:08x}")
                };
            }
        }
    }
    out.push(quote);
    out
}

/// Whether Python's `repr` shows a non-ASCII `c` as is. Python escapes the categories
/// Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs; without Unicode tables this recognises controls,
/// separators, private use, noncharacters and the common format characters, and shows
/// other unassigned or format code points unescaped.
fn is_printable(c: char) -> bool {
    let code = u32::from(c);
    let format_char = matches!(
        code,
        0xad | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x180e
            | 0x200b..=0x200f
            | 0x202a..=0x202e
            | 0x2060..=0x2064
            | 0x2066..=0x206f
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0xe0001
            | 0xe0020..=0xe007f
    );
    let private_use = matches!(code, 0xe000..=0xf8ff | 0xf_0000..=0xf_fffd | 0x10_0000..=0x10_fffd);
    let noncharacter = matches!(code, 0xfdd0..=0xfdef) || code & 0xfffe == 0xfffe;
    !(c.is_control() || c.is_whitespace() || format_char || private_use || noncharacter)
}
