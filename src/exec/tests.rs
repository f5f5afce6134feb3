//! Tests of the parent module.
use super::*;
use crate::sequence::template::Template;
use crate::sequence::value::Value;
use crate::sequence::{Bound, Until};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, duplex};

/// The point's error as recorded.
fn err(out: &Ran) -> Option<String> {
    out.error.as_ref().map(ToString::to_string)
}

fn t(s: &str) -> Template {
    Template::parse(s, &crate::sequence::template::TestNames(&[])).unwrap()
}

/// A scripted instrument: answers each query line with the next scripted reply.
fn instrument(
    stream: DuplexStream,
    replies: Vec<&'static str>,
) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let (r, mut w) = tokio::io::split(stream);
        let mut lines = BufReader::new(r).lines();
        let mut seen = Vec::new();
        let mut replies = replies.into_iter();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.ends_with('?') {
                // Out of replies: stay silent (the client times out).
                if let Some(r) = replies.next() {
                    w.write_all(format!("{r}\n").as_bytes()).await.unwrap();
                }
            }
            seen.push(line);
        }
        seen
    })
}

async fn run(
    commands: Vec<Command>,
    replies: Vec<&'static str>,
    timeout_ms: u64,
) -> (Ran, Vec<String>) {
    run_with(commands, replies, timeout_ms, Values::default()).await
}

/// [`run`] for a point with these values.
async fn run_with(
    commands: Vec<Command>,
    replies: Vec<&'static str>,
    timeout_ms: u64,
    mut values: Values,
) -> (Ran, Vec<String>) {
    let (a, b) = duplex(1024);
    let server = instrument(b, replies);
    let mut io = LineIo::new(a, "\n", "\n");
    let out = run_commands(
        &mut io,
        &commands,
        0..commands.len(),
        &mut values,
        &mut ReplyTimer::new(Duration::from_millis(timeout_ms)),
        Conn {
            id: 7,
            instrument: "scripted",
            others: None,
        },
        Stops::none(),
    )
    .await;
    drop(io);
    (out, server.await.unwrap())
}

/// Writes record no reply, queries record theirs, `as` names a value.
#[tokio::test(start_paused = true)]
async fn writes_and_queries_are_recorded() {
    let cmds = vec![
        Command::Write {
            text: t("SOUR1:VOLT 0.5"),
            on: None,
            when: None,
        },
        Command::Query {
            text: t("MEAS1:CURR?"),
            name: Some("current".into()),
            expect: None,
            on: None,
            check: None,
            when: None,
        },
    ];
    let (out, seen) = run(cmds, vec!["1.5e-3"], 1000).await;
    assert_eq!(err(&out), None);
    assert_eq!(seen, ["SOUR1:VOLT 0.5", "MEAS1:CURR?"]);
    let sent: Vec<&str> = out.exchanges.iter().map(|e| e.sent.as_str()).collect();
    assert_eq!(sent, seen, "each exchange records the text it sent");
    assert_eq!(out.exchanges[0].reply, None);
    assert_eq!(out.exchanges[1].reply.as_deref(), Some("1.5e-3"));
    assert_eq!(out.values, [("current".to_owned(), "1.5e-3".to_owned())]);
    assert!(out.in_step);
}

/// A wrong reply to an `expect` query fails the point and closes the connection (it may be
/// a reply out of step); nothing more is sent.
#[tokio::test(start_paused = true)]
async fn expect_mismatch_fails_the_point_and_its_connection() {
    let cmds = vec![
        Command::Query {
            text: t("*OPC?"),
            name: None,
            expect: Some(t("1")),
            on: None,
            check: None,
            when: None,
        },
        Command::Write {
            text: t("NEVER"),
            on: None,
            when: None,
        },
    ];
    let (out, seen) = run(cmds, vec!["0"], 1000).await;
    assert_eq!(
        err(&out).as_deref(),
        Some("reply `0` to `*OPC?` is not the expected `1`")
    );
    assert!(!out.in_step);
    assert_eq!(seen, ["*OPC?"], "nothing is sent after a failure");
}

/// No reply within the timeout breaks the connection, with the command and connection named.
#[tokio::test(start_paused = true)]
async fn timeout_breaks_connection() {
    let cmds = vec![Command::Query {
        text: t("MEAS1:CURR?"),
        name: None,
        expect: None,
        on: None,
        check: None,
        when: None,
    }];
    let (out, _) = run(cmds, vec![], 50).await;
    assert_eq!(
        err(&out).as_deref(),
        Some("timeout after 50ms waiting for reply to `MEAS1:CURR?` on connection 7")
    );
    assert!(!out.in_step);
    assert_eq!(out.exchanges[0].sent, "MEAS1:CURR?");
    assert!(out.exchanges[0].elapsed_ms >= Duration::from_millis(50));
    assert!(out.elapsed >= out.exchanges[0].elapsed_ms);
}

/// A poll repeats until the condition holds and records every query.
#[tokio::test(start_paused = true)]
async fn poll_until_equals() {
    let cmds = vec![Command::Poll {
        text: t("STAT?"),
        until: Until::Equals("IDLE".into()),
        every: Duration::from_millis(1),
        timeout: Duration::from_secs(5),
        name: Some("state".into()),
        on: None,
        when: None,
    }];
    let (out, _) = run(cmds, vec!["BUSY", "BUSY", "IDLE"], 1000).await;
    assert_eq!(err(&out), None);
    assert_eq!(out.exchanges.len(), 3);
    assert!(
        out.exchanges.iter().all(|e| e.sent == "STAT?"),
        "every query of the poll records its text: {:?}",
        out.exchanges
    );
    let queries: Duration = out.exchanges.iter().map(|e| e.elapsed_ms).sum();
    assert!(
        out.elapsed >= queries + Duration::from_millis(2),
        "the point's time covers its queries and the waits between them: {:?} < {queries:?} + 2 ms",
        out.elapsed
    );
    assert_eq!(out.values, [("state".to_owned(), "IDLE".to_owned())]);
}

/// A poll that never satisfies its condition fails with the last reply, connection intact.
#[tokio::test(start_paused = true)]
async fn poll_times_out() {
    let cmds = vec![Command::Poll {
        text: t("TEMP?"),
        until: Until::Below(Bound::Fixed(10.0)),
        every: Duration::from_millis(5),
        timeout: Duration::from_millis(30),
        name: None,
        on: None,
        when: None,
    }];
    let (out, _) = run(cmds, vec!["300"; 100], 1000).await;
    let err = err(&out).unwrap();
    assert!(
        err.starts_with("poll `TEMP?` did not reach below `10` within 30ms (last reply `300`"),
        "{err}"
    );
    assert!(out.in_step);
}

/// Cancelling stops the point at once as aborted and marks the connection broken.
#[tokio::test(start_paused = true)]
async fn cancel_aborts_the_point() {
    let (a, b) = duplex(1024);
    let server = instrument(b, vec![]);
    let mut io = LineIo::new(a, "\n", "\n");
    let cmds = vec![
        Command::Write {
            text: t("A 1"),
            on: None,
            when: None,
        },
        Command::Wait {
            pause: Duration::from_secs(30),
            on: None,
            when: None,
        },
    ];
    let cancel = tokio::time::sleep(Duration::from_millis(20));
    let out = run_commands(
        &mut io,
        &cmds,
        0..cmds.len(),
        &mut Values::default(),
        &mut ReplyTimer::new(Duration::from_secs(1)),
        Conn {
            id: 1,
            instrument: "scripted",
            others: None,
        },
        Stops {
            cancel,
            cut: Past::never(),
        },
    )
    .await;
    assert_eq!(out.kind(), Some(FailKind::Aborted));
    assert!(!out.in_step);
    assert_eq!(
        out.exchanges.len(),
        1,
        "what was sent before the abort is kept"
    );
    assert_eq!(out.exchanges[0].sent, "A 1");
    assert!(
        out.elapsed >= Duration::from_millis(20),
        "the point lasted until the abort: {:?}",
        out.elapsed
    );
    drop(io);
    server.await.unwrap();
}

/// Replies with control characters or invalid UTF-8 are malformed; ordinary ones are not.
#[test]
fn malformed_replies() {
    let cases = [
        ("1.25E-3", false),
        ("+1.000000E+00,+2.0", false),
        ("a\tb", false),
        ("\u{1}#GARBAGE?!\u{7f}", true),
        ("12\u{0}3", true),
        ("bad \u{fffd} utf8", true),
    ];
    for (reply, want) in cases {
        assert_eq!(is_malformed(reply), want, "{reply:?}");
    }
}

/// Until conditions, table-driven.
#[test]
fn until_conditions() {
    let cases = [
        (Until::Equals("IDLE".into()), "IDLE", true),
        (Until::Equals("IDLE".into()), "BUSY", false),
        (
            Until::Matches(regex::Regex::new("^OK").unwrap()),
            "OK 3",
            true,
        ),
        (
            Until::Within {
                tol: 0.5,
                of: Bound::Fixed(300.0),
            },
            "300.4",
            true,
        ),
        (
            Until::Within {
                tol: 0.5,
                of: Bound::Fixed(300.0),
            },
            "299.4",
            false,
        ),
        (Until::Above(Bound::Fixed(1.0)), "1.5", true),
        (Until::Above(Bound::Fixed(1.0)), "garbage", false),
        (Until::Below(Bound::Fixed(1.0)), " 0.5 ", true),
    ];
    for (until, reply, want) in cases {
        assert_eq!(
            until.holds(reply, &Vec::new()).unwrap(),
            want,
            "{until} on {reply}"
        );
    }
}

/// A bound naming a sweep variable takes the point's value of it.
#[test]
fn until_with_variable_bounds() {
    let vars = vec![Value::Str("ch1".into()), Value::Float(4.0)];
    let within = Until::Within {
        tol: 0.1,
        of: Bound::Var(1, "setpoint".into()),
    };
    assert!(within.holds("4.05", &vars).unwrap());
    assert!(!within.holds("3.85", &vars).unwrap());
    assert_eq!(within.describe(&vars), "within `0.1` of `4`");
    assert_eq!(within.to_string(), "within `0.1` of `{setpoint}`");
    let above = Until::Above(Bound::Var(1, "setpoint".into()));
    assert!(above.holds("4.5", &vars).unwrap());
    // A text value never satisfies a numeric condition.
    assert!(
        !Until::Above(Bound::Var(0, "ch".into()))
            .holds("4.5", &vars)
            .unwrap()
    );
}

/// The connection's one reply timer: a command that outlives the deadline of the one before
/// it is not timed out by that earlier deadline, and one with no reply still times out after
/// its own full timeout.
#[tokio::test(start_paused = true)]
async fn each_command_gets_its_own_full_timeout() {
    let (a, b) = duplex(1024);
    // Replies 120 ms and then 150 ms after each query: the second comes 270 ms after the
    // start, past the first query's deadline (200 ms) but within its own (320 ms).
    let server = tokio::spawn(async move {
        let (r, mut w) = tokio::io::split(b);
        let mut lines = BufReader::new(r).lines();
        for (delay, reply) in [(120, "one"), (150, "two")] {
            if lines.next_line().await.ok().flatten().is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(delay)).await;
            w.write_all(format!("{reply}\n").as_bytes()).await.unwrap();
        }
        // Then silence until the client hangs up.
        while let Ok(Some(_)) = lines.next_line().await {}
    });
    let mut io = LineIo::new(a, "\n", "\n");
    let query = |text: &str| Command::Query {
        text: t(text),
        name: None,
        expect: None,
        on: None,
        check: None,
        when: None,
    };
    let cmds = vec![query("A?"), query("B?"), query("C?")];
    let out = run_commands(
        &mut io,
        &cmds,
        0..cmds.len(),
        &mut Values::default(),
        &mut ReplyTimer::new(Duration::from_millis(200)),
        Conn {
            id: 3,
            instrument: "slow",
            others: None,
        },
        Stops::none(),
    )
    .await;
    let replies: Vec<Option<&str>> = out.exchanges.iter().map(|e| e.reply.as_deref()).collect();
    assert_eq!(replies, [Some("one"), Some("two"), None], "{out:?}");
    assert_eq!(
        err(&out).as_deref(),
        Some("timeout after 200ms waiting for reply to `C?` on connection 3")
    );
    assert!(
        out.exchanges[2].elapsed_ms >= Duration::from_millis(200),
        "the silent query waited its whole timeout: {:?}",
        out.exchanges[2].elapsed_ms
    );
    drop(io);
    server.await.unwrap();
}

/// A raw instrument: sends `greeting` first (if any), then answers the n-th line it reads
/// with `answers[n]`, byte for byte (nothing once they run out), and closes the
/// connection after the last one when `close` is set.
fn raw_instrument(
    stream: DuplexStream,
    greeting: &'static [u8],
    answers: Vec<&'static [u8]>,
    close: bool,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (r, mut w) = tokio::io::split(stream);
        w.write_all(greeting).await.unwrap();
        let mut lines = BufReader::new(r).lines();
        let mut answers = answers.into_iter().peekable();
        while let Ok(Some(_)) = lines.next_line().await {
            let Some(a) = answers.next() else { continue };
            if w.write_all(a).await.is_err() {
                break;
            }
            if close && answers.peek().is_none() {
                return;
            }
        }
    })
}

/// One case of [`unsolicited_data_fails_the_point`]: what the instrument sends, the
/// point's commands, and what must come of them.
struct StrayCase {
    name: &'static str,
    greeting: &'static [u8],
    answers: Vec<&'static [u8]>,
    close: bool,
    commands: Vec<Command>,
    /// How the point's error starts; `None` for a point that must succeed.
    error: Option<&'static str>,
    broken: bool,
}

impl StrayCase {
    /// Runs the point against its instrument and checks the outcome.
    async fn check(self) {
        let name = self.name;
        let (a, b) = duplex(1024);
        let server = raw_instrument(b, self.greeting, self.answers, self.close);
        let mut io = LineIo::new(a, "\n", "\n");
        let out = run_commands(
            &mut io,
            &self.commands,
            0..self.commands.len(),
            &mut Values::default(),
            &mut ReplyTimer::new(Duration::from_secs(1)),
            Conn {
                id: 7,
                instrument: "scripted",
                others: None,
            },
            Stops::none(),
        )
        .await;
        match self.error {
            None => assert_eq!(err(&out), None, "{name}"),
            Some(prefix) => {
                let err = err(&out).unwrap_or_default();
                assert!(err.starts_with(prefix), "{name}: {err}");
                assert_eq!(out.kind(), Some(FailKind::Connection), "{name}");
            }
        }
        assert_eq!(!out.in_step, self.broken, "{name}");
        drop(io);
        server.await.unwrap();
    }
}

/// Data nobody asked for: a reply sent twice, an answer to a write, a greeting. Before a
/// connection's first command it is a greeting, dropped; before a reading command or at
/// the end of the point it fails the point and breaks the connection, with the data in
/// the message; the instrument's close after the point breaks the connection but leaves
/// the point ok.
#[tokio::test(start_paused = true)]
async fn unsolicited_data_fails_the_point() {
    let q = |s: &str| Command::Query {
        text: t(s),
        name: None,
        expect: None,
        on: None,
        check: None,
        when: None,
    };
    let w = |s: &str| Command::Write {
        text: t(s),
        on: None,
        when: None,
    };
    let wait = || Command::Wait {
        pause: Duration::from_millis(10),
        on: None,
        when: None,
    };
    let cases = [
        StrayCase {
            name: "clean",
            greeting: b"",
            answers: vec![b"1\n"],
            close: false,
            commands: vec![q("Q?")],
            error: None,
            broken: false,
        },
        StrayCase {
            name: "answered twice at once",
            greeting: b"",
            answers: vec![b"1\n1\n"],
            close: false,
            commands: vec![q("Q?")],
            error: Some("unsolicited data after `Q?` on connection 7: `1\\n`"),
            broken: true,
        },
        StrayCase {
            name: "greeting before the first command",
            greeting: b"HELLO\n",
            answers: vec![b"1\n"],
            close: false,
            commands: vec![wait(), q("Q?")],
            error: None,
            broken: false,
        },
        StrayCase {
            name: "an answer to a write, before a query",
            greeting: b"",
            answers: vec![b"OK\n", b"1\n"],
            close: false,
            commands: vec![w("A 1"), wait(), q("Q?")],
            error: Some("unsolicited data before `Q?` on connection 7: `OK\\n`"),
            broken: true,
        },
        StrayCase {
            name: "an answer to a write, at the end",
            greeting: b"",
            answers: vec![b"OK\n"],
            close: false,
            commands: vec![w("A 1"), wait()],
            error: Some("unsolicited data after `A 1` on connection 7: `OK\\n`"),
            broken: true,
        },
        StrayCase {
            name: "closed after the reply",
            greeting: b"",
            answers: vec![b"1\n"],
            close: true,
            commands: vec![q("Q?"), wait()],
            error: None,
            broken: true,
        },
    ];
    for case in cases {
        case.check().await;
    }
}

/// Runs `cmds` against an instrument answering each query with `1` after `delay`, with
/// the run's deadline passing after `cut_after`.
async fn run_with_deadline(cmds: Vec<Command>, delay: Duration, cut_after: Duration) -> Ran {
    let (a, b) = duplex(1024);
    let server = tokio::spawn(async move {
        let (r, mut w) = tokio::io::split(b);
        let mut lines = BufReader::new(r).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if line.ends_with('?') {
                tokio::time::sleep(delay).await;
                if w.write_all(b"1\n").await.is_err() {
                    break;
                }
            }
        }
    });
    let mut io = LineIo::new(a, "\n", "\n");
    let abort = crate::abort::Abort::default();
    let stops = Stops {
        cancel: std::future::pending(),
        cut: abort.cut_past(0),
    };
    let mut timer = ReplyTimer::new(Duration::from_secs(5));
    let mut values = Values::default();
    let run = run_commands(
        &mut io,
        &cmds,
        0..cmds.len(),
        &mut values,
        &mut timer,
        Conn {
            id: 4,
            instrument: "slow",
            others: None,
        },
        stops,
    );
    let deadline = async {
        tokio::time::sleep(cut_after).await;
        abort.cut();
    };
    let (out, ()) = tokio::join!(run, deadline);
    drop(io);
    server.await.unwrap();
    out
}

/// When the run's deadline passes, a point in a `wait` or between polls stops there
/// (`Deadline`, the connection kept: nothing is on its way), a reply being awaited is
/// still taken, and the wait after it stops at once.
#[tokio::test(start_paused = true)]
async fn the_deadline_cuts_waits_and_polls_not_replies() {
    let q = Command::Query {
        text: t("Q?"),
        name: Some("q".into()),
        expect: None,
        on: None,
        check: None,
        when: None,
    };
    let long = Command::Wait {
        pause: Duration::from_secs(30),
        on: None,
        when: None,
    };
    let poll = Command::Poll {
        text: t("P?"),
        until: Until::Equals("DONE".into()),
        every: Duration::from_secs(30),
        timeout: Duration::from_secs(60),
        name: Some("p".into()),
        on: None,
        when: None,
    };
    let ms = Duration::from_millis;
    let out = run_with_deadline(vec![long.clone(), q.clone()], ms(0), ms(20)).await;
    assert_eq!(out.kind(), Some(FailKind::Deadline), "{out:?}");
    assert_eq!(
        err(&out).as_deref(),
        Some("deadline: the run's deadline passed during a `wait: 30s`")
    );
    assert!(out.in_step);
    assert!(out.exchanges.is_empty(), "nothing sent after the wait");

    let out = run_with_deadline(vec![poll], ms(0), ms(20)).await;
    assert_eq!(out.kind(), Some(FailKind::Deadline), "{out:?}");
    let err = err(&out).unwrap_or_default();
    assert!(
        err.starts_with(
            "deadline: the run's deadline passed during the poll `P?` (last reply `1`, 1 queries)"
        ),
        "{err}"
    );
    assert_eq!(out.values, [("p".to_owned(), "1".to_owned())]);
    assert!(out.in_step);

    let out = run_with_deadline(vec![q, long], ms(60), ms(10)).await;
    assert_eq!(out.kind(), Some(FailKind::Deadline), "{out:?}");
    assert_eq!(
        out.values,
        [("q".to_owned(), "1".to_owned())],
        "the reply was taken"
    );
    assert!(out.elapsed < Duration::from_secs(5), "{:?}", out.elapsed);
}

/// A rendered command with a line break (a text value no check at load saw) is not sent:
/// the point fails before it, naming the template, and nothing goes out.
#[tokio::test(start_paused = true)]
async fn a_rendered_line_break_is_never_sent() {
    let text = Template::parse("LABEL {x}", &crate::sequence::template::TestNames(&["x"])).unwrap();
    let cmds = vec![Command::Write {
        text,
        on: None,
        when: None,
    }];
    let values = Values::new(vec![Value::Str("a\nb".into())].into(), false, 1);
    let (out, seen) = run_with(cmds, vec![], 1000, values).await;
    let error = out.error.expect("the point fails").to_string();
    assert!(
        error.contains("`LABEL {x}` renders as `LABEL a\\nb`"),
        "{error}"
    );
    assert!(seen.is_empty(), "{seen:?}");
    assert!(out.exchanges.is_empty());
}

/// A `stop_when` condition fires on the point's measured values; one that reads a value its
/// command's `when:` skipped does not hold (the point stays ok); one that cannot read a
/// reply as a number fails the point.
#[test]
fn stop_when_fires_on_measured_values_and_not_on_skipped_ones() {
    use crate::sequence::conditions::{Action, StopWhen};
    use crate::sequence::expr::{Binding, Expr, Kind, Scope};
    /// `v` a variable at slot 0, `i` the reply of command 0 (slot 1).
    struct Names;
    impl Scope for Names {
        fn lookup(&self, name: &str) -> Option<Binding> {
            match name {
                "v" => Some(Binding::Slot(0, Kind::Number)),
                "i" => Some(Binding::Slot(1, Kind::Reply)),
                _ => None,
            }
        }
        fn known(&self) -> Vec<String> {
            vec!["v".into(), "i".into()]
        }
    }
    let conditions = [StopWhen {
        text: "i > v".into(),
        at: (1, 1),
        expr: Expr::parse("i > v", &Names).unwrap(),
        action: Action::Break,
    }];
    let fire_on = |reply: Option<&str>| {
        let mut values = Values::new(vec![Value::Float(0.5)].into(), true, 1);
        if let Some(reply) = reply {
            values.take(0, reply);
        }
        let mut ran = Ran::start(0);
        fire(&mut ran, &conditions, &values);
        ran
    };
    let fired = fire_on(Some("+7.5E-01")).fired.expect("0.75 > 0.5 fires");
    assert_eq!(fired.condition, 0);
    assert_eq!(
        fired.values,
        [
            ("i".to_owned(), Value::Float(0.75)),
            ("v".to_owned(), Value::Float(0.5))
        ]
    );
    let held = fire_on(Some("0.25"));
    assert!(held.fired.is_none() && held.error.is_none());
    let skipped = fire_on(None);
    assert!(
        skipped.fired.is_none() && skipped.error.is_none(),
        "{skipped:?}"
    );
    let garbage = fire_on(Some("OVLD"));
    assert!(garbage.fired.is_none());
    let error = garbage
        .error
        .expect("a reply that is not a number fails")
        .to_string();
    assert!(error.contains("reply `OVLD` is not a number"), "{error}");
}
