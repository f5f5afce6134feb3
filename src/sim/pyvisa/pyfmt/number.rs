//! [`Number`]: a formatted number's sign, prefix, digits and remainder, padded, signed and
//! grouped as Python lays them out; shared by the int and float formatters.

use super::spec::{Grouping, Spec};

/// A formatted number split the way Python pads and groups it:
/// `<sign><prefix><digits>[.]<remainder>`.
pub(super) struct Number<'a> {
    /// Whether the number carries a minus sign.
    pub(super) negative: bool,
    /// `0x`, `0b`... (alternate form only).
    pub(super) prefix: &'a str,
    /// The digits before the point: the part that is grouped and zero-padded.
    pub(super) digits: &'a str,
    /// Whether a decimal point follows the digits.
    pub(super) decimal: bool,
    /// Everything after the point (or after the digits when there is no point: an
    /// exponent, `inf`, `%`, a `c` character).
    pub(super) remainder: &'a str,
}

impl Number<'_> {
    /// Pads, signs and groups the number (Python's `calc_number_widths` and
    /// `fill_number`).
    pub(super) fn layout(&self, spec: &Spec, grouping: Grouping) -> String {
        let sign = match (spec.sign, self.negative) {
            (_, true) => Some('-'),
            (Some('+'), false) => Some('+'),
            (Some(' '), false) => Some(' '),
            _ => None,
        };
        let fixed = i64::from(sign.is_some())
            + count(self.prefix)
            + i64::from(self.decimal)
            + count(self.remainder);
        let width = spec.width.unwrap_or(-1);
        // Zero padding with `=` goes inside the digits, where it is grouped too.
        let min_width = if spec.fill == '0' && spec.align == '=' {
            width - fixed
        } else {
            0
        };
        let grouped = if self.digits.is_empty() {
            String::new()
        } else {
            group_digits(self.digits, min_width, grouping)
        };
        let padding = (width - fixed - count(&grouped)).max(0);
        let (left, inner, right) = match spec.align {
            '<' => (0, 0, padding),
            '^' => (padding / 2, 0, padding - padding / 2),
            '=' => (0, padding, 0),
            _ => (padding, 0, 0),
        };
        let mut out = repeat(spec.fill, left);
        out.extend(sign);
        out.push_str(self.prefix);
        out.push_str(&repeat(spec.fill, inner));
        out.push_str(&grouped);
        if self.decimal {
            out.push('.');
        }
        out.push_str(self.remainder);
        out.push_str(&repeat(spec.fill, right));
        out
    }
}

/// `digits` left-padded with zeros to `min_width` and grouped (Python's
/// `_PyUnicode_InsertThousandsGrouping`): groups are cut from the right, and the padding
/// zeros are grouped like digits.
fn group_digits(digits: &str, min_width: i64, grouping: Grouping) -> String {
    let (size, sep) = grouping.rule();
    let mut min_width = min_width.max(0);
    let mut remaining = count(digits);
    let mut end = digits.len();
    let mut groups: Vec<String> = Vec::new();
    let mut take = |len: i64, remaining: &mut i64| {
        let zeros = (len - *remaining).max(0);
        let n = (*remaining).min(len).max(0);
        let start = end - usize::try_from(n).unwrap_or(0);
        groups.push(repeat('0', zeros) + &digits[start..end]);
        end = start;
        *remaining -= n;
    };
    loop {
        if size == 0 {
            // Without grouping, one final group takes everything.
            take(remaining.max(min_width).max(1), &mut remaining);
            break;
        }
        let len = size.min(remaining.max(min_width).max(1));
        take(len, &mut remaining);
        min_width -= len;
        if remaining <= 0 && min_width <= 0 {
            break;
        }
        min_width -= count(sep);
    }
    groups.reverse();
    groups.join(sep)
}

/// `n` copies of `c` (none when `n` is not positive).
pub(super) fn repeat(c: char, n: i64) -> String {
    std::iter::repeat_n(c, usize::try_from(n).unwrap_or(0)).collect()
}

/// Number of characters (code points) of `s`, as Python's `len`.
pub(super) fn count(s: &str) -> i64 {
    i64::try_from(s.chars().count()).unwrap_or(i64::MAX)
}
