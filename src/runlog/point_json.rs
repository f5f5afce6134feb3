//! The JSON of a point record, written by hand: the run log's hot path.
//!
//! A run writes one point record per attempt, and `serde_json` spends most of its time on them
//! escaping keys byte by byte and going through its map machinery for every field. [`encode`]
//! appends the same bytes as `serde_json::to_writer` on the tagged record (the field names
//! as literals, strings copied whole when nothing in them needs escaping, integers, times
//! and durations formatted directly) and hands anything unusual back to `serde_json`: a string
//! that needs escaping, a float variable, a duration too long for the direct path, and a time
//! `humantime` would refuse (the whole record then goes through `serde_json`, exactly as
//! before). Only [`super::RunLog::append_point`] calls it; the tests below hold it to
//! `serde_json`'s output.

use std::io;
use std::time::{Duration, SystemTime};

use super::{Exchange, PairMap, Point, Tagged, VarMap};
use crate::sequence::value::{Value, digits};

/// What the records of one step share, encoded once: consecutive records mostly come from
/// the same step, so its name, instrument and variable names are checked for escapes and
/// copied in once, not once per record.
#[derive(Debug, Default)]
pub(super) struct StepHead {
    /// The step these bytes are for (empty with nothing cached).
    step: String,
    /// Its instrument.
    instrument: String,
    /// Its sweep variables' names.
    names: Vec<String>,
    /// `","step":"STEP","instrument":"INSTRUMENT","index":`, from the id's closing quote on.
    mid: Vec<u8>,
    /// `"NAME":` for each variable, with a comma before all but the first, one after another.
    keys: Vec<u8>,
    /// Where each variable's key ends in `keys`.
    key_ends: Vec<usize>,
    /// The last `started_at` written, to the second, and its text: records of the same
    /// second share all but the milliseconds.
    second: Option<(u64, [u8; 26])>,
}

impl StepHead {
    /// Makes the cache hold these, when none of them needs escaping; false otherwise (and
    /// nothing is cached).
    fn hold(&mut self, step: &str, instrument: &str, names: &[String]) -> bool {
        if self.step == step && self.instrument == instrument && self.names == names {
            return !self.mid.is_empty();
        }
        self.mid.clear();
        self.keys.clear();
        self.key_ends.clear();
        step.clone_into(&mut self.step);
        instrument.clone_into(&mut self.instrument);
        self.names.clear();
        self.names.extend(names.iter().cloned());
        let plain = |s: &str| !needs_escape(s.as_bytes());
        if !(plain(step) && plain(instrument) && names.iter().all(|n| plain(n))) {
            return false;
        }
        self.mid.extend_from_slice(br#"","step":"#);
        push_quoted(&mut self.mid, step);
        self.mid.extend_from_slice(br#","instrument":"#);
        push_quoted(&mut self.mid, instrument);
        self.mid.extend_from_slice(br#","index":"#);
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                self.keys.push(b',');
            }
            push_quoted(&mut self.keys, name);
            self.keys.push(b':');
            self.key_ends.push(self.keys.len());
        }
        true
    }
}

/// Appends the JSON of `{"type":"point", ...point}` (no newline) to `buf`, byte for byte
/// what `serde_json` writes for it.
pub(super) fn encode(buf: &mut Vec<u8>, head: &mut StepHead, point: &Point<'_>) -> io::Result<()> {
    let start = buf.len();
    if fast(buf, head, point).is_none() {
        // Rare: let serde_json write (or refuse) the whole record as it always did.
        buf.truncate(start);
        let tagged = Tagged {
            kind: "point",
            record: point,
        };
        if let Err(e) = serde_json::to_writer(&mut *buf, &tagged) {
            buf.truncate(start);
            return Err(e.into());
        }
    }
    Ok(())
}

/// The direct path; `None` when the record needs `serde_json` as a whole.
fn fast(buf: &mut Vec<u8>, head: &mut StepHead, p: &Point<'_>) -> Option<()> {
    // Named in full, so that a new field fails to compile here instead of going missing.
    let Point {
        id,
        step,
        instrument,
        index,
        vars: VarMap(names, vars),
        conn,
        attempt,
        status,
        error,
        started_at,
        elapsed_ms,
        commands,
        values: PairMap(values),
    } = p;
    let digits_buf = &mut [0; 20];
    let index_digits = digits(*index, digits_buf);
    buf.extend_from_slice(br#"{"type":"point","id":"#);
    if head.hold(step, instrument, names) && is_step_slash_index(id, step, index_digits) {
        // `STEP/INDEX`, with STEP known to need no escaping.
        buf.push(b'"');
        buf.extend_from_slice(id.as_bytes());
        buf.extend_from_slice(&head.mid);
        buf.extend_from_slice(index_digits);
        buf.extend_from_slice(br#","vars":{"#);
        let mut from = 0;
        for (&end, value) in head.key_ends.iter().zip(*vars) {
            buf.extend_from_slice(&head.keys[from..end]);
            from = end;
            push_value(buf, value)?;
        }
    } else {
        push_str(buf, id)?;
        buf.extend_from_slice(br#","step":"#);
        push_str(buf, step)?;
        buf.extend_from_slice(br#","instrument":"#);
        push_str(buf, instrument)?;
        buf.extend_from_slice(br#","index":"#);
        buf.extend_from_slice(index_digits);
        buf.extend_from_slice(br#","vars":{"#);
        for (i, (name, value)) in names.iter().zip(*vars).enumerate() {
            push_key(buf, i, name)?;
            push_value(buf, value)?;
        }
    }
    buf.extend_from_slice(br#"},"conn":"#);
    push_u64(buf, *conn as u64);
    buf.extend_from_slice(br#","attempt":"#);
    push_u64(buf, u64::from(*attempt));
    buf.extend_from_slice(br#","status":"#);
    // `ok`, `failed` or `aborted`: nothing to escape.
    debug_assert!(!needs_escape(status.as_bytes()));
    push_quoted(buf, status);
    buf.extend_from_slice(br#","error":"#);
    match error {
        Some(e) => push_str(buf, e)?,
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(br#","started_at":"#);
    push_time(buf, &mut head.second, *started_at)?;
    buf.extend_from_slice(br#","elapsed_ms":"#);
    push_millis(buf, *elapsed_ms)?;
    buf.extend_from_slice(br#","commands":["#);
    for (i, exchange) in commands.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_exchange(buf, exchange)?;
    }
    buf.extend_from_slice(br#"],"values":{"#);
    for (i, (name, value)) in values.iter().enumerate() {
        push_key(buf, i, name)?;
        push_str(buf, value)?;
    }
    buf.extend_from_slice(b"}}");
    Some(())
}

/// True when `id` is `STEP/INDEX` for these, as the sequencer writes it.
fn is_step_slash_index(id: &str, step: &str, index: &[u8]) -> bool {
    let id = id.as_bytes();
    id.len() == step.len() + 1 + index.len()
        && id.starts_with(step.as_bytes())
        && id[step.len()] == b'/'
        && id.ends_with(index)
}

/// `"name":` of the `i`th entry of an object, after a comma unless it is the first.
fn push_key(buf: &mut Vec<u8>, i: usize, name: &str) -> Option<()> {
    if i > 0 {
        buf.push(b',');
    }
    push_str(buf, name)?;
    buf.push(b':');
    Some(())
}

/// `{"sent":...,"reply":...,"elapsed_ms":...}`, `reply` left out when there is none.
fn push_exchange(buf: &mut Vec<u8>, e: &Exchange) -> Option<()> {
    let Exchange {
        sent,
        reply,
        elapsed_ms,
        on,
        conn,
    } = e;
    buf.extend_from_slice(br#"{"sent":"#);
    push_str(buf, sent)?;
    if let Some(reply) = reply {
        buf.extend_from_slice(br#","reply":"#);
        push_str(buf, reply)?;
    }
    buf.extend_from_slice(br#","elapsed_ms":"#);
    push_millis(buf, *elapsed_ms)?;
    if let Some(on) = on {
        buf.extend_from_slice(br#","on":"#);
        push_str(buf, on)?;
    }
    if let Some(conn) = conn {
        buf.extend_from_slice(br#","conn":"#);
        push_u64(buf, *conn as u64);
    }
    buf.push(b'}');
    Some(())
}

/// A JSON string: copied whole between quotes unless it holds a byte `serde_json` escapes,
/// which `serde_json` then writes.
fn push_str(buf: &mut Vec<u8>, s: &str) -> Option<()> {
    if needs_escape(s.as_bytes()) {
        serde_json::to_writer(&mut *buf, s).ok()
    } else {
        push_quoted(buf, s);
        Some(())
    }
}

/// `s` between quotes, as it is: for strings known to need no escaping.
fn push_quoted(buf: &mut Vec<u8>, s: &str) {
    buf.reserve(s.len() + 2);
    buf.push(b'"');
    buf.extend_from_slice(s.as_bytes());
    buf.push(b'"');
}

/// True when `bytes` holds one that `serde_json` escapes in a string: `"`, `\` or a control
/// below 0x20 (not 0x7F, not non-ASCII). Checks eight bytes at a time.
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Each test sets a byte's high bit, or a higher byte's through a borrow, only if some
    // byte matches: exact for "any", which is all that is asked.
    let any = |w: u64| {
        let below = |n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w;
        let equal = |c: u8| {
            let v = w ^ (ONES * u64::from(c));
            v.wrapping_sub(ONES) & !v
        };
        (below(0x20) | equal(b'"') | equal(b'\\')) & HIGH != 0
    };
    match bytes.last_chunk::<8>() {
        // The last word overlaps the whole ones: checking a byte twice is harmless.
        Some(last) => {
            bytes
                .as_chunks::<8>()
                .0
                .iter()
                .any(|w| any(u64::from_le_bytes(*w)))
                || any(u64::from_le_bytes(*last))
        }
        None => bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\'),
    }
}

/// A sweep variable as [`Value`]'s `Serialize` writes it. Floats go through it: their
/// canonical rounding is the costly part and lives there.
fn push_value(buf: &mut Vec<u8>, v: &Value) -> Option<()> {
    match v {
        Value::Int(i) => {
            if *i < 0 {
                buf.push(b'-');
            }
            push_u64(buf, i.unsigned_abs());
            Some(())
        }
        Value::Str(s) => push_str(buf, s),
        Value::Bool(b) => {
            buf.extend_from_slice(if *b { b"true" } else { b"false" });
            Some(())
        }
        Value::Float(_) => serde_json::to_writer(&mut *buf, v).ok(),
    }
}

/// Decimal digits, as `itoa` (`serde_json`'s) writes them.
fn push_u64(buf: &mut Vec<u8>, n: u64) {
    buf.extend_from_slice(digits(n, &mut [0; 20]));
}

/// Largest microsecond count written directly: below it the count is an exact integer of
/// at most 15 digits, so the shortest decimal that reads back as `count / 1e3` (what
/// `serde_json` writes) is that count with the point moved three places.
const DIRECT_MICROS: u64 = 1_000_000_000_000_000;

/// A duration as [`super::millis`] writes it: milliseconds rounded to the microsecond.
fn push_millis(buf: &mut Vec<u8>, d: Duration) -> Option<()> {
    // The same count as `millis`, so long durations go the same way.
    let micros = super::micros(d);
    if micros >= DIRECT_MICROS {
        return serde_json::to_writer(&mut *buf, &(micros as f64 / 1e3)).ok();
    }
    push_u64(buf, micros / 1000);
    buf.push(b'.');
    // Like serde_json: at least one digit after the point, no trailing zeros.
    let frac = micros % 1000;
    let digits = [
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ];
    let len = match frac {
        _ if frac.is_multiple_of(100) => 1,
        _ if frac.is_multiple_of(10) => 2,
        _ => 3,
    };
    buf.extend_from_slice(&digits[..len]);
    Some(())
}

/// Seconds from the epoch to 10000-01-01: `humantime` formats only times before it.
const YEAR_10000: u64 = 253_402_300_800;

/// A time as [`super::rfc3339`] writes it: `"YYYY-MM-DDTHH:MM:SS.mmmZ"`, milliseconds cut,
/// not rounded. `None` for times before the epoch or from year 10000 on, which `humantime`
/// refuses.
/// `second` caches the text of the last second written (see [`StepHead`]).
fn push_time(buf: &mut Vec<u8>, second: &mut Option<(u64, [u8; 26])>, t: SystemTime) -> Option<()> {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    let secs = since.as_secs();
    if secs >= YEAR_10000 {
        return None;
    }
    let mut text = match *second {
        Some((cached, text)) if cached == secs => text,
        _ => {
            let text = second_text(secs);
            *second = Some((secs, text));
            text
        }
    };
    put_digits(&mut text[21..24], u64::from(since.subsec_millis()));
    buf.extend_from_slice(&text);
    Some(())
}

/// `"YYYY-MM-DDTHH:MM:SS.000Z"` for `secs` after the epoch.
fn second_text(secs: u64) -> [u8; 26] {
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    let mut text = *b"\"0000-00-00T00:00:00.000Z\"";
    for (at, n, width) in [
        (1, year, 4),
        (6, month, 2),
        (9, day, 2),
        (12, of_day / 3600, 2),
        (15, of_day / 60 % 60, 2),
        (18, of_day % 60, 2),
    ] {
        put_digits(&mut text[at..at + width], n);
    }
    text
}

/// The last `digits.len()` decimal digits of `n`, zero-padded, into `digits`.
fn put_digits(digits: &mut [u8], mut n: u64) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// (year, month, day) of the proleptic Gregorian calendar, `days` after 1970-01-01
/// (Howard Hinnant's `civil_from_days`, for days that are not negative).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Count from 0000-03-01, so that a leap day ends its year.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
