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

/// What [`encode`] writes, after some bytes already in the buffer (kept as they were); the
/// same with the step's head freshly cached and cached from the record before.
fn fast_text(p: &Point<'_>) -> String {
    let mut head = StepHead::default();
    let mut buf = b"prefix".to_vec();
    encode(&mut buf, &mut head, p).expect("a point encodes");
    assert_eq!(&buf[..6], b"prefix", "bytes already there are kept");
    let first = String::from_utf8(buf[6..].to_vec()).expect("UTF-8");
    buf.clear();
    encode(&mut buf, &mut head, p).expect("a point encodes again");
    assert_eq!(
        String::from_utf8(buf).expect("UTF-8"),
        first,
        "the cached head writes the same"
    );
    first
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
        let names = [name.to_owned()];
        check(
            &format!("var {name:?} = {v:?}"),
            &base(VarMap(&names, std::slice::from_ref(v)), &[], PairMap(&[])),
        );
    }
    let names: Vec<String> = (0..values.len())
        .map(|i| STRINGS[i % STRINGS.len()].to_owned())
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
                on: None,
                conn: None,
            },
            Exchange {
                sent: (*s).to_owned(),
                reply: None,
                elapsed_ms: Duration::ZERO,
                on: None,
                conn: None,
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
            on: None,
            conn: None,
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
            on: None,
            conn: None,
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

/// The cached second follows the records' times: the same second, the next, an earlier one.
#[test]
fn cached_second_follows_the_times() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::new(1_764_036_987, 999_000_000);
    let mut head = StepHead::default();
    for t in [
        t0,
        t0 - Duration::from_millis(998),
        t0 + Duration::from_millis(1),
        t0 + Duration::from_secs(86_400),
        t0,
    ] {
        let mut p = base(VarMap(&[], &[]), &[], PairMap(&[]));
        p.started_at = t;
        let mut buf = Vec::new();
        encode(&mut buf, &mut head, &p).expect("a point encodes");
        assert_eq!(
            String::from_utf8(buf).expect("UTF-8"),
            reference(&p),
            "{t:?}"
        );
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
        assert_eq!(push_time(&mut buf, &mut None, t).is_some(), direct, "{t:?}");
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

/// One cached head serves consecutive records of a step; a record of another step (or
/// instrument, or variables), or one whose id is not `STEP/INDEX`, is still written right,
/// and so is the first step's next record after it.
#[test]
fn step_head_follows_the_records() {
    let names = ["v".to_owned()];
    let other_names = ["w".to_owned(), "v".to_owned()];
    let vars = [Value::Int(7), Value::Float(0.5)];
    let sweep = base(VarMap(&names, &vars[..1]), &[], PairMap(&[]));
    let mut other_step = base(VarMap(&other_names, &vars), &[], PairMap(&[]));
    other_step.step = "other";
    other_step.id = "other/3";
    let mut other_instrument = base(VarMap(&names, &vars[..1]), &[], PairMap(&[]));
    other_instrument.instrument = "scope";
    let mut custom_id = base(VarMap(&names, &vars[..1]), &[], PairMap(&[]));
    custom_id.id = "custom id";
    let mut escaped = base(VarMap(&names, &vars[..1]), &[], PairMap(&[]));
    escaped.step = "quote\"d";
    escaped.id = "quote\"d/3";
    let mut head = StepHead::default();
    for (case, p) in [
        ("sweep", &sweep),
        ("other step", &other_step),
        ("sweep again", &sweep),
        ("other instrument", &other_instrument),
        ("custom id", &custom_id),
        ("escaped step", &escaped),
        ("sweep last", &sweep),
    ] {
        let mut buf = Vec::new();
        encode(&mut buf, &mut head, p).expect("a point encodes");
        assert_eq!(
            String::from_utf8(buf).expect("UTF-8"),
            reference(p),
            "{case}"
        );
    }
}
