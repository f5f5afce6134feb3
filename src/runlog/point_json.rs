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

use super::{PairMap, Point, Tagged, VarMap};
use crate::exec::Exchange;
use crate::sequence::value::{Value, decimal};

/// Appends the JSON of `{"type":"point", ...point}` (no newline) to `buf`, byte for byte
/// what `serde_json` writes for it.
pub(super) fn encode(buf: &mut Vec<u8>, point: &Point<'_>) -> io::Result<()> {
    let start = buf.len();
    if fast(buf, point).is_none() {
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
fn fast(buf: &mut Vec<u8>, p: &Point<'_>) -> Option<()> {
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
    buf.extend_from_slice(br#"{"type":"point","id":"#);
    push_str(buf, id)?;
    buf.extend_from_slice(br#","step":"#);
    push_str(buf, step)?;
    buf.extend_from_slice(br#","instrument":"#);
    push_str(buf, instrument)?;
    buf.extend_from_slice(br#","index":"#);
    push_u64(buf, *index);
    buf.extend_from_slice(br#","vars":{"#);
    for (i, (name, value)) in names.iter().zip(*vars).enumerate() {
        push_key(buf, i, name)?;
        push_value(buf, value)?;
    }
    buf.extend_from_slice(br#"},"conn":"#);
    push_u64(buf, *conn as u64);
    buf.extend_from_slice(br#","attempt":"#);
    push_u64(buf, u64::from(*attempt));
    buf.extend_from_slice(br#","status":"#);
    push_str(buf, status)?;
    buf.extend_from_slice(br#","error":"#);
    match error {
        Some(e) => push_str(buf, e)?,
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(br#","started_at":"#);
    push_time(buf, *started_at)?;
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
    } = e;
    buf.extend_from_slice(br#"{"sent":"#);
    push_str(buf, sent)?;
    if let Some(reply) = reply {
        buf.extend_from_slice(br#","reply":"#);
        push_str(buf, reply)?;
    }
    buf.extend_from_slice(br#","elapsed_ms":"#);
    push_millis(buf, *elapsed_ms)?;
    buf.push(b'}');
    Some(())
}

/// A JSON string: copied whole between quotes unless it holds a byte `serde_json` escapes,
/// which `serde_json` then writes.
fn push_str(buf: &mut Vec<u8>, s: &str) -> Option<()> {
    if needs_escape(s.as_bytes()) {
        serde_json::to_writer(&mut *buf, s).ok()
    } else {
        buf.reserve(s.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
        Some(())
    }
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
        Value::Float(_) => serde_json::to_writer(&mut *buf, v).ok(),
    }
}

/// Decimal digits, as `itoa` (`serde_json`'s) writes them.
fn push_u64(buf: &mut Vec<u8>, n: u64) {
    buf.extend_from_slice(decimal(n, &mut [0; 20]).as_bytes());
}

/// Largest rounded microsecond count written directly: below it the count is an exact
/// integer of at most 15 digits, so the shortest decimal that reads back as `count / 1e3`
/// (what `serde_json` writes) is that count with the point moved three places.
const DIRECT_MICROS: f64 = 1e15;

/// A duration as [`super::millis`] writes it: milliseconds rounded to the microsecond.
fn push_millis(buf: &mut Vec<u8>, d: Duration) -> Option<()> {
    // The same arithmetic as `millis`, so long or odd durations round the same way.
    let micros = (d.as_secs_f64() * 1e6).round();
    if !(0.0..DIRECT_MICROS).contains(&micros) {
        return serde_json::to_writer(&mut *buf, &(micros / 1e3)).ok();
    }
    let micros = micros as u64;
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
fn push_time(buf: &mut Vec<u8>, t: SystemTime) -> Option<()> {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).ok()?;
    let secs = since.as_secs();
    if secs >= YEAR_10000 {
        return None;
    }
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    let millis = u64::from(since.subsec_millis());
    let mut text = *b"\"0000-00-00T00:00:00.000Z\"";
    for (at, n, width) in [
        (1, year, 4),
        (6, month, 2),
        (9, day, 2),
        (12, of_day / 3600, 2),
        (15, of_day / 60 % 60, 2),
        (18, of_day % 60, 2),
        (21, millis, 3),
    ] {
        let mut n = n;
        for digit in text[at..at + width].iter_mut().rev() {
            *digit = b'0' + (n % 10) as u8;
            n /= 10;
        }
    }
    buf.extend_from_slice(&text);
    Some(())
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
mod tests {
    use super::*;

    /// The escape test agrees with `serde_json`'s for every byte, at every place in a word,
    /// among bytes that need no escape.
    #[test]
    fn escape_test_matches_serde_json() {
        for byte in 0..=u8::MAX {
            let serde =
                serde_json::to_string(&char::from(byte).to_string()).expect("a string serialises");
            // Two quotes and the byte (as UTF-8 when above 0x7F): nothing escaped.
            let escaped = serde.len() > 2 + char::from(byte).len_utf8();
            for len in 1..=17 {
                for at in 0..len {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = byte;
                    assert_eq!(
                        needs_escape(&bytes),
                        escaped,
                        "{byte:#04x} at {at} of {len}"
                    );
                }
            }
        }
        assert!(!needs_escape(b""));
        assert!(!needs_escape("µ≥🦀\u{7f}".as_bytes()));
    }

    /// What `serde_json` writes for the tagged point: the reference.
    fn reference(p: &Point<'_>) -> String {
        let tagged = Tagged {
            kind: "point",
            record: p,
        };
        serde_json::to_string(&tagged).expect("a point serialises")
    }

    /// What [`encode`] writes, after some bytes already in the buffer (kept as they were).
    fn fast_text(p: &Point<'_>) -> String {
        let mut buf = b"prefix".to_vec();
        encode(&mut buf, p).expect("a point encodes");
        assert_eq!(&buf[..6], b"prefix", "bytes already there are kept");
        String::from_utf8(buf[6..].to_vec()).expect("UTF-8")
    }

    /// Strings that exercise escaping: nothing, quotes, backslashes, every control, DEL,
    /// non-ASCII, and a long plain run.
    const STRINGS: &[&str] = &[
        "",
        "a",
        "MEAS:VOLT? (@1)",
        "say \"hi\"",
        "C:\\path\\file",
        "tab\there",
        "line\nbreak\r\n",
        "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}",
        "del\u{7f}",
        "µA ≥ 3 Ω",
        "emoji 🦀🧪",
        "/slash/ and 'single'",
        "a long plain reply with no escapes 0123456789 abcdefghijklmnopqrstuvwxyz",
        "quote at the end of a long string: ............\"",
        "\u{2028}\u{2029}",
    ];

    /// Floats of every shape, including non-finite ones (logged as strings).
    const FLOATS: &[f64] = &[
        0.0,
        -0.0,
        0.1,
        0.1 + 0.2,
        -2.5,
        1.0,
        1e300,
        -1e-300,
        1e-7,
        123_456_789.123,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ];

    /// Durations with sub-microsecond parts, rounding both ways, and past the direct path.
    fn durations() -> Vec<Duration> {
        let mut ds = vec![
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_nanos(499),
            Duration::from_nanos(500),
            Duration::from_nanos(1_500),
            Duration::from_nanos(999_999),
            Duration::from_micros(1),
            Duration::from_micros(10),
            Duration::from_micros(100),
            Duration::from_micros(120),
            Duration::from_millis(1),
            Duration::from_secs(1),
            Duration::new(1, 234_567_891),
            Duration::new(86_400 * 365, 1),
            Duration::new(999_999_999, 999_999_999),
            Duration::new(1_000_000_000, 500),
            Duration::new(123_456_789_012, 345_678_901),
            Duration::MAX,
        ];
        // A deterministic spread over nine decades, nanoseconds included.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for shift in 0..64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ds.push(Duration::from_nanos(x >> (shift % 40 + 10)));
        }
        ds
    }

    /// Times from the epoch, through leap days and century years, to the last one
    /// `humantime` writes, and the ones it refuses.
    fn times() -> Vec<SystemTime> {
        let at = |secs: u64, nanos: u32| SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
        let mut ts = vec![
            SystemTime::UNIX_EPOCH,
            at(0, 999_999_999),
            at(1_764_036_987, 123_456_789),
            at(951_782_400, 1_000_000),   // 2000-02-29
            at(951_868_799, 999_000_000), // 2000-02-29T23:59:59.999
            at(4_107_542_400, 0),         // 2100-03-01
            at(YEAR_10000 - 1, 999_999_999),
        ];
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for _ in 0..200 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ts.push(at(x % YEAR_10000, (x >> 20) as u32 % 1_000_000_000));
        }
        ts
    }

    /// A point with everything set to plain values, for the tables to vary.
    fn base<'a>(vars: VarMap<'a>, commands: &'a [Exchange], values: PairMap<'a>) -> Point<'a> {
        Point {
            id: "sweep/3",
            step: "sweep",
            instrument: "dmm",
            index: 3,
            vars,
            conn: 2,
            attempt: 1,
            status: "ok",
            error: None,
            started_at: SystemTime::UNIX_EPOCH + Duration::new(1_764_036_987, 42_000_000),
            elapsed_ms: Duration::from_micros(1234),
            commands,
            values,
        }
    }

    /// Asserts the encoder matches `serde_json` for `p`, naming the case.
    fn check(case: &str, p: &Point<'_>) {
        assert_eq!(fast_text(p), reference(p), "{case}");
    }

    /// Empty vars, commands and values give `{}`, `[]` and `{}` as `serde_json` does.
    #[test]
    fn empty_collections() {
        check("empty", &base(VarMap(&[], &[]), &[], PairMap(&[])));
    }

    /// Every kind of variable value, as keys too, matches `serde_json`, alone and together.
    #[test]
    fn vars_of_every_kind() {
        let mut values: Vec<Value> = [0, 1, -1, 42, -9_999_999_999, i64::MAX, i64::MIN]
            .into_iter()
            .map(Value::Int)
            .collect();
        values.extend(FLOATS.iter().map(|&x| Value::Float(x)));
        values.extend(STRINGS.iter().map(|s| Value::Str((*s).to_owned())));
        for (i, v) in values.iter().enumerate() {
            let name = STRINGS[i % STRINGS.len()];
            let names = [name];
            check(
                &format!("var {name:?} = {v:?}"),
                &base(VarMap(&names, std::slice::from_ref(v)), &[], PairMap(&[])),
            );
        }
        let names: Vec<&str> = (0..values.len())
            .map(|i| STRINGS[i % STRINGS.len()])
            .collect();
        check(
            "all vars",
            &base(VarMap(&names, &values), &[], PairMap(&[])),
        );
        // More names than values: both stop at the shorter, as the zip in `VarMap` does.
        check(
            "extra names",
            &base(VarMap(&names, &values[..2]), &[], PairMap(&[])),
        );
    }

    /// Every string field, escaped or not, matches `serde_json`.
    #[test]
    fn strings_in_every_field() {
        for s in STRINGS {
            let exchanges = [
                Exchange {
                    sent: (*s).to_owned(),
                    reply: Some((*s).to_owned()),
                    elapsed_ms: Duration::from_micros(5),
                },
                Exchange {
                    sent: (*s).to_owned(),
                    reply: None,
                    elapsed_ms: Duration::ZERO,
                },
            ];
            let pairs = [
                ((*s).to_owned(), (*s).to_owned()),
                ("v".into(), (*s).into()),
            ];
            let mut p = base(VarMap(&[], &[]), &exchanges, PairMap(&pairs));
            p.id = s;
            p.step = s;
            p.instrument = s;
            p.error = Some(s);
            p.status = "failed";
            check(&format!("string {s:?}"), &p);
        }
    }

    /// Replies absent, present and empty; errors absent and present; every status; and the
    /// numbers at their extremes.
    #[test]
    fn optional_fields_and_numbers() {
        let replies = [None, Some(String::new()), Some("+1.000E-3".to_owned())];
        let exchanges: Vec<Exchange> = replies
            .iter()
            .map(|r| Exchange {
                sent: "READ?".into(),
                reply: r.clone(),
                elapsed_ms: Duration::from_nanos(1_234_567),
            })
            .collect();
        for (status, error) in [
            ("ok", None),
            ("failed", Some("timeout after 2s")),
            ("aborted", Some("")),
        ] {
            for n in 0..=exchanges.len() {
                let mut p = base(VarMap(&[], &[]), &exchanges[..n], PairMap(&[]));
                p.status = status;
                p.error = error;
                check(&format!("{status} with {n} commands"), &p);
            }
        }
        for (index, conn, attempt) in [(0, 0, 0), (u64::MAX, usize::MAX, u32::MAX), (9, 10, 99)] {
            let mut p = base(VarMap(&[], &[]), &[], PairMap(&[]));
            (p.index, p.conn, p.attempt) = (index, conn, attempt);
            check(&format!("numbers {index} {conn} {attempt}"), &p);
        }
    }

    /// Durations, in the point and in its commands, match `serde_json`'s float text.
    #[test]
    fn durations_match() {
        for d in durations() {
            let exchanges = [Exchange {
                sent: "X".into(),
                reply: None,
                elapsed_ms: d,
            }];
            let mut p = base(VarMap(&[], &[]), &exchanges, PairMap(&[]));
            p.elapsed_ms = d;
            check(&format!("duration {d:?}"), &p);
        }
    }

    /// Every millisecond count below a few seconds matches: all fraction shapes.
    #[test]
    fn every_fraction() {
        for micros in (0..3_000).chain(999_000..1_001_000) {
            let mut p = base(VarMap(&[], &[]), &[], PairMap(&[]));
            p.elapsed_ms = Duration::from_micros(micros);
            check(&format!("{micros} us"), &p);
        }
    }

    /// Times match `humantime`'s text through `serde_json`, from the epoch to year 9999.
    #[test]
    fn times_match() {
        for t in times() {
            let mut p = base(VarMap(&[], &[]), &[], PairMap(&[]));
            p.started_at = t;
            check(&format!("time {t:?}"), &p);
        }
    }

    /// Times `humantime` refuses (before the epoch, from year 10000 on) leave the direct
    /// path, so `serde_json` handles them as it always did; the last second it accepts does not.
    #[test]
    fn refused_times_leave_the_direct_path() {
        let epoch = SystemTime::UNIX_EPOCH;
        for (t, direct) in [
            (epoch - Duration::from_nanos(1), false),
            (epoch + Duration::from_secs(YEAR_10000), false),
            (
                epoch + Duration::from_secs(u64::from(u32::MAX) * 1000),
                false,
            ),
            (epoch + Duration::new(YEAR_10000 - 1, 999_999_999), true),
            (epoch, true),
        ] {
            let mut buf = Vec::new();
            assert_eq!(push_time(&mut buf, t).is_some(), direct, "{t:?}");
            assert_eq!(buf.is_empty(), !direct, "{t:?}");
        }
    }

    /// The calendar agrees with `humantime` on each day of four centuries around 2000.
    #[test]
    fn calendar_matches_humantime() {
        for day in 0..4 * 146_097 {
            let t = SystemTime::UNIX_EPOCH + Duration::from_secs(day * 86_400);
            let text = humantime::format_rfc3339_seconds(t).to_string();
            let (y, m, d) = civil_from_days(day);
            assert_eq!(format!("{y:04}-{m:02}-{d:02}"), text[..10], "day {day}");
        }
    }
}
