//! Python's template parser (`MarkupIterator`): splits a `str.format` template into
//! literal text and replacement fields, with Python's errors in Python's order.
//!
//! Shared by [`super::format`] (which renders the fields), the setter patterns of
//! `strparse` (which turn them into regexes) and channel queries (`{ch_id}`).

use super::error::{PyError, ValueError};

/// One step of Python's template parser: literal text, then at most one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece<'a> {
    /// Text copied as is (`{{` contributes one `{`, which ends a piece).
    pub literal: &'a str,
    /// The replacement field after the literal, if any.
    pub field: Option<Field<'a>>,
}

/// A replacement field as Python's parser splits it (`string.Formatter().parse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The field name (`""`, `"0"`, `"ch_id"`, `"0.x"`...).
    pub name: &'a str,
    /// The conversion after `!`, if any (not validated here).
    pub conversion: Option<char>,
    /// The format spec after `:` (empty when there is none).
    pub spec: &'a str,
    /// Whether the spec holds nested fields to expand first.
    pub spec_has_fields: bool,
}

/// Python's template parser (Python's `MarkupIterator`): yields pieces lazily, so a caller
/// meets errors in the same order Python does; stops after the first error.
pub(crate) struct Markup<'a> {
    /// The whole template.
    text: &'a str,
    /// Byte offset of the next unparsed character.
    pos: usize,
    /// Set after an error: the iterator then ends.
    failed: bool,
}

impl<'a> Markup<'a> {
    /// Starts parsing `text`.
    pub fn new(text: &'a str) -> Markup<'a> {
        Markup {
            text,
            pos: 0,
            failed: false,
        }
    }

    /// Parses the next piece; `self.pos` is before the end.
    fn next_piece(&mut self) -> Result<Piece<'a>, PyError> {
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let Some(brace) = bytes[start..]
            .iter()
            .position(|b| *b == b'{' || *b == b'}')
            .map(|i| start + i)
        else {
            self.pos = bytes.len();
            return Ok(Piece {
                literal: &self.text[start..],
                field: None,
            });
        };
        let open = bytes[brace];
        let next = bytes.get(brace + 1).copied();
        if open == b'}' && next != Some(b'}') {
            return Err(ValueError::SingleClose.into());
        }
        let Some(next) = next else {
            return Err(ValueError::SingleOpen.into());
        };
        if next == open {
            // A doubled brace: the literal keeps one of them and the piece ends.
            self.pos = brace + 2;
            return Ok(Piece {
                literal: &self.text[start..=brace],
                field: None,
            });
        }
        self.pos = brace + 1;
        let field = self.parse_field()?;
        Ok(Piece {
            literal: &self.text[start..brace],
            field: Some(field),
        })
    }

    /// Parses a field from just after its `{` up to its matching `}` (Python's
    /// `parse_field`), with the same error messages.
    fn parse_field(&mut self) -> Result<Field<'a>, PyError> {
        let text = self.text;
        let bytes = text.as_bytes();
        let name_start = self.pos;
        let mut i = name_start;
        let mut end_char = None;
        while i < bytes.len() {
            let c = bytes[i];
            i += 1;
            match c {
                b'{' => return Err(ValueError::BraceInName.into()),
                // Inside brackets, `:`, `!` and `}` belong to the name.
                b'[' => {
                    while i < bytes.len() && bytes[i] != b']' {
                        i += 1;
                    }
                }
                b'}' | b':' | b'!' => {
                    end_char = Some(c);
                    break;
                }
                _ => {}
            }
        }
        let Some(end_char) = end_char else {
            return Err(ValueError::ExpectedClose.into());
        };
        let name = &text[name_start..i - 1];
        let mut field = Field {
            name,
            conversion: None,
            spec: "",
            spec_has_fields: false,
        };
        if end_char == b'}' {
            self.pos = i;
            return Ok(field);
        }
        if end_char == b'!' {
            let Some(conversion) = text[i..].chars().next() else {
                return Err(ValueError::EndInConversion.into());
            };
            field.conversion = Some(conversion);
            i += conversion.len_utf8();
            if let Some(&c) = bytes.get(i) {
                i += 1;
                if c == b'}' {
                    self.pos = i;
                    return Ok(field);
                }
                if c != b':' {
                    return Err(ValueError::ExpectedColon.into());
                }
            }
        }
        self.parse_spec_of(field, i)
    }

    /// Finishes `field` with the spec starting at byte `start`, up to the `}` that balances
    /// the field's `{`.
    fn parse_spec_of(&mut self, mut field: Field<'a>, start: usize) -> Result<Field<'a>, PyError> {
        let bytes = self.text.as_bytes();
        let mut depth = 1;
        for (i, &c) in bytes.iter().enumerate().skip(start) {
            match c {
                b'{' => {
                    field.spec_has_fields = true;
                    depth += 1;
                }
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        field.spec = &self.text[start..i];
                        self.pos = i + 1;
                        return Ok(field);
                    }
                }
                _ => {}
            }
        }
        Err(ValueError::UnmatchedInSpec.into())
    }
}

impl<'a> Iterator for Markup<'a> {
    type Item = Result<Piece<'a>, PyError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.text.len() {
            return None;
        }
        let piece = self.next_piece();
        self.failed = piece.is_err();
        Some(piece)
    }
}
