//! Durations as users write them in sequences (`50ms`, `1m30s`) and as we print them back.
//!
//! The YAML layer calls [`parse_duration`] for `timeout`, `wait`, `every` and friends; logs
//! and messages call [`format_duration`], whose output always parses back to the same value.
//! A bare number is refused: `2` could mean seconds or milliseconds, and guessing wrong turns
//! a 2 ms settle into a 33-minute hang.

use std::fmt::Write as _;
use std::time::Duration;

/// Nanoseconds per unit; a unit is matched as a whole word, so `m` and `min` do not clash.
const UNITS: &[(&str, u128)] = &[
    ("min", 60 * NANOS_PER_SEC),
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("h", 3_600 * NANOS_PER_SEC),
];

/// Nanoseconds in a second.
const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Fraction digits kept: finer than a nanosecond even in hours.
const MAX_FRACTION_DIGITS: u32 = 24;

/// Why a text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing but whitespace.
    #[error("empty duration: write a number with a unit, like `2s` or `50ms`")]
    Empty,
    /// A number with no unit after it.
    #[error("`{number}` has no unit: write `{number}s` or `{number}ms`")]
    NoUnit {
        /// The number as written.
        number: String,
    },
    /// A leading minus sign.
    #[error("`{text}` is negative: a duration must be zero or more")]
    Negative {
        /// The whole text.
        text: String,
    },
    /// A unit other than those listed.
    #[error("unknown unit `{unit}` in `{text}`: use `ns`, `us`, `ms`, `s`, `m`, `min` or `h`")]
    UnknownUnit {
        /// The unit as written.
        unit: String,
        /// The whole text.
        text: String,
    },
    /// Anything else that does not fit `<number><unit>...`.
    #[error("`{text}` is not a duration: write numbers with units, like `2s`, `0.5ms` or `1m30s`")]
    Invalid {
        /// The whole text.
        text: String,
    },
    /// More than `Duration` can hold (about 584 billion years).
    #[error("`{text}` is too long a duration")]
    Overflow {
        /// The whole text.
        text: String,
    },
}

/// Parses a duration with a unit: `50ms`, `2s`, `0.5s`, `1.5h`, `1m30s`, `100us`/`100µs`,
/// `10ns`, `2min`; units ns, us, µs, ms, s, m, min, h; whitespace between parts allowed.
///
/// A bare number is an error whose message suggests a unit. Negative, empty, unknown unit,
/// overflow -> errors. Fractions below a nanosecond are rounded to the nearest one.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty);
    }
    if trimmed.starts_with('-') {
        return Err(DurationError::Negative {
            text: text.to_owned(),
        });
    }
    let invalid = || DurationError::Invalid {
        text: text.to_owned(),
    };
    let overflow = || DurationError::Overflow {
        text: text.to_owned(),
    };
    let mut rest = trimmed;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(number_len);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && fraction.is_empty()) || fraction.contains('.') {
            return Err(invalid());
        }
        let after = after.trim_start();
        let unit_len = after
            .find(|c: char| !c.is_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        if unit.is_empty() {
            return Err(if after.is_empty() {
                DurationError::NoUnit {
                    number: number.to_owned(),
                }
            } else {
                invalid()
            });
        }
        let Some(&(_, scale)) = UNITS.iter().find(|(name, _)| *name == unit) else {
            return Err(DurationError::UnknownUnit {
                unit: unit.to_owned(),
                text: text.to_owned(),
            });
        };
        let nanos = scaled(whole, fraction, scale).ok_or_else(overflow)?;
        total = total.checked_add(nanos).ok_or_else(overflow)?;
        rest = after.trim_start();
    }
    let secs = u64::try_from(total / NANOS_PER_SEC).map_err(|_| overflow())?;
    Ok(Duration::new(secs, (total % NANOS_PER_SEC) as u32))
}

/// `whole.fraction` units of `scale` nanoseconds, rounded to the nearest nanosecond; `None`
/// on overflow. Both parts are ASCII digits (either may be empty).
fn scaled(whole: &str, fraction: &str, scale: u128) -> Option<u128> {
    let mut nanos: u128 = 0;
    for digit in whole.bytes() {
        nanos = nanos
            .checked_mul(10)?
            .checked_add(u128::from(digit - b'0'))?;
    }
    nanos = nanos.checked_mul(scale)?;
    let kept = &fraction[..fraction.len().min(MAX_FRACTION_DIGITS as usize)];
    if kept.is_empty() {
        return Some(nanos);
    }
    // `numerator` < 1e24 and `scale` <= 3.6e12 (an hour), so this stays below u128::MAX.
    let denominator = 10u128.pow(kept.len() as u32);
    let numerator = kept
        .bytes()
        .fold(0u128, |acc, d| acc * 10 + u128::from(d - b'0'));
    nanos.checked_add((numerator * scale + denominator / 2) / denominator)
}

/// Human text for a duration as the user would write it: `2s`, `50ms`, `1m30s`, `1.5s`,
/// `1h30m`, `0s`. It always round-trips through [`parse_duration`].
///
/// Under a second, the largest of `ms`, `us`, `ns` that keeps a whole part; otherwise hours,
/// minutes and seconds, skipping zero parts, with the sub-second part as a decimal fraction
/// of the seconds.
pub fn format_duration(d: Duration) -> String {
    let mut out = String::new();
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    if secs == 0 {
        match nanos {
            0 => out.push_str("0s"),
            1..1_000 => push_decimal(&mut out, u64::from(nanos), 0, "ns"),
            1_000..1_000_000 => push_decimal(
                &mut out,
                u64::from(nanos / 1_000),
                nanos % 1_000 * 1_000_000,
                "us",
            ),
            _ => push_decimal(
                &mut out,
                u64::from(nanos / 1_000_000),
                nanos % 1_000_000 * 1_000,
                "ms",
            ),
        }
        return out;
    }
    let (hours, minutes, seconds) = (secs / 3_600, secs / 60 % 60, secs % 60);
    if hours > 0 {
        let _ = write!(out, "{hours}h");
    }
    if minutes > 0 {
        let _ = write!(out, "{minutes}m");
    }
    if seconds > 0 || nanos > 0 {
        push_decimal(&mut out, seconds, nanos, "s");
    }
    out
}

/// Appends `whole` plus `billionths` (0..1e9, as a fraction of one) and `unit`, with the
/// fraction's trailing zeros dropped.
fn push_decimal(out: &mut String, whole: u64, billionths: u32, unit: &str) {
    let _ = write!(out, "{whole}");
    if billionths > 0 {
        let start = out.len();
        let _ = write!(out, ".{billionths:09}");
        let kept = out[start..].trim_end_matches('0').len();
        out.truncate(start + kept);
    }
    out.push_str(unit);
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;

    fn ns(n: u64) -> Duration {
        Duration::from_nanos(n)
    }

    /// Every unit and form in the docs parses to the exact duration.
    #[test]
    fn parses() {
        let cases = [
            ("50ms", ns(50 * MS)),
            ("2s", ns(2 * S)),
            ("0.5s", ns(S / 2)),
            ("1.5h", ns(5_400 * S)),
            ("1m30s", ns(90 * S)),
            ("1m 30s", ns(90 * S)),
            (" 2 s ", ns(2 * S)),
            ("100us", ns(100_000)),
            ("100µs", ns(100_000)),
            ("100μs", ns(100_000)),
            ("10ns", ns(10)),
            ("2min", ns(120 * S)),
            ("2m", ns(120 * S)),
            ("1h2m3s4ms5us6ns", ns(3_723 * S + 4 * MS + 5_000 + 6)),
            ("0s", ns(0)),
            ("0.25ms", ns(250_000)),
            (".5s", ns(S / 2)),
            ("5.s", ns(5 * S)),
            ("0.4ns", ns(0)),
            ("0.5ns", ns(1)),
            ("1.0000000000000000000000009s", ns(S)),
            ("0.333333333333333333333333333333h", ns(1_200 * S)),
            ("18446744073709551615s", Duration::new(u64::MAX, 0)),
            ("18446744073709551615.999999999s", Duration::MAX),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text), Ok(want), "{text:?}");
        }
    }

    /// Malformed text is rejected with a message that says how to fix it.
    #[test]
    fn rejects() {
        let cases = [
            ("2", "`2` has no unit: write `2s` or `2ms`"),
            ("1m30", "`30` has no unit: write `30s` or `30ms`"),
            ("0.5", "`0.5` has no unit: write `0.5s` or `0.5ms`"),
            (
                "",
                "empty duration: write a number with a unit, like `2s` or `50ms`",
            ),
            (
                "   ",
                "empty duration: write a number with a unit, like `2s` or `50ms`",
            ),
            ("-2s", "`-2s` is negative: a duration must be zero or more"),
            (
                " -1ms",
                "` -1ms` is negative: a duration must be zero or more",
            ),
            (
                "2sec",
                "unknown unit `sec` in `2sec`: use `ns`, `us`, `ms`, `s`, `m`, `min` or `h`",
            ),
            (
                "3d",
                "unknown unit `d` in `3d`: use `ns`, `us`, `ms`, `s`, `m`, `min` or `h`",
            ),
            (
                "1e3s",
                "unknown unit `e` in `1e3s`: use `ns`, `us`, `ms`, `s`, `m`, `min` or `h`",
            ),
            (
                "s",
                "`s` is not a duration: write numbers with units, like `2s`, `0.5ms` or `1m30s`",
            ),
            (
                "1.2.3s",
                "`1.2.3s` is not a duration: write numbers with units, like `2s`, `0.5ms` or `1m30s`",
            ),
            (
                ".s",
                "`.s` is not a duration: write numbers with units, like `2s`, `0.5ms` or `1m30s`",
            ),
            (
                "+2s",
                "`+2s` is not a duration: write numbers with units, like `2s`, `0.5ms` or `1m30s`",
            ),
            (
                "1s-2ms",
                "`1s-2ms` is not a duration: write numbers with units, like `2s`, `0.5ms` or `1m30s`",
            ),
            (
                "2 ,s",
                "`2 ,s` is not a duration: write numbers with units, like `2s`, `0.5ms` or `1m30s`",
            ),
            (
                "18446744073709551616s",
                "`18446744073709551616s` is too long a duration",
            ),
            (
                "5124095576030432h",
                "`5124095576030432h` is too long a duration",
            ),
            (
                "99999999999999999999999999999999999999999h",
                "`99999999999999999999999999999999999999999h` is too long a duration",
            ),
        ];
        for (text, message) in cases {
            let err = parse_duration(text).unwrap_err();
            assert_eq!(err.to_string(), message, "{text:?}");
        }
    }

    /// Formatting reads the way a user would write it.
    #[test]
    fn formats() {
        let cases = [
            (ns(0), "0s"),
            (ns(10), "10ns"),
            (ns(999), "999ns"),
            (ns(1_000), "1us"),
            (ns(1_500), "1.5us"),
            (ns(100_000), "100us"),
            (ns(50 * MS), "50ms"),
            (ns(1_234_567), "1.234567ms"),
            (ns(999_999_999), "999.999999ms"),
            (ns(S), "1s"),
            (ns(2 * S), "2s"),
            (ns(3 * S / 2), "1.5s"),
            (ns(90 * S), "1m30s"),
            (ns(60 * S), "1m"),
            (ns(5_400 * S), "1h30m"),
            (ns(3_600 * S + 5), "1h0.000000005s"),
            (ns(3_723 * S + 4 * MS), "1h2m3.004s"),
            (Duration::MAX, "5124095576030431h15.999999999s"),
        ];
        for (d, want) in cases {
            assert_eq!(format_duration(d), want, "{d:?}");
        }
    }

    /// `format_duration` output parses back to the same duration, across all magnitudes.
    #[test]
    fn round_trips() {
        let mut fixed = vec![
            ns(0),
            ns(1),
            ns(999),
            Duration::MAX,
            Duration::new(u64::MAX, 0),
        ];
        // A small LCG covers durations from nanoseconds to centuries without a dependency.
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let secs = state >> (state % 64);
            let nanos = (state >> 7) % 1_000_000_000;
            fixed.push(Duration::new(secs % 4, nanos as u32));
            fixed.push(Duration::new(
                secs,
                if state & 1 == 0 { 0 } else { nanos as u32 },
            ));
        }
        for d in fixed {
            let text = format_duration(d);
            assert_eq!(parse_duration(&text), Ok(d), "{text}");
        }
    }
}
