//! [`ConnFaults`]: the fault decisions for one connection, pure and deterministic.
//!
//! The accept loop in [`crate::sim`] builds one from [`Faults`] and the connection's accept
//! number for every connection it serves, and hands it to the session. For each command (a
//! non-empty line) the session asks [`ConnFaults::on_command`] first, before the device sees
//! the line, and for each reply the device produces it asks [`ConnFaults::on_reply`]. Both
//! only count and draw from a seeded generator, so every decision is reproducible.
//!
//! Order of the checks for command number `c` (from 1):
//! 1. `drop-after=N`: the session closes the connection right after serving command N
//!    ([`ConnFaults::closes_after`]); a command `c > N` still in flight is not served.
//! 2. `drop-rate=P`: one draw per command, stalled or not; below `P` closes the same way.
//! 3. `stall-after=N`: `c > N` ignores the command (not run, no reply); the connection stays.
//! 4. Otherwise the device runs it; if it answers, that reply is numbered `r` (from 1):
//!    `garbage-every=G` replaces it with [`GARBAGE`] when `G` divides `r`, and
//!    `late-every=L` delays it by `late-by` when `L` divides `r`. Both may hit one reply.

use std::fmt;
use std::time::Duration;

use super::faults::Faults;

/// The malformed line sent instead of a reply by `garbage-every`: control characters, no
/// number, nothing a real reply looks like. The session adds the terminator.
pub const GARBAGE: &str = "\u{1}#GARBAGE?!\u{7f}";

/// What the session does with a command it has just read, decided before the device runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Run it on the device; deliver its reply, if any, as [`ConnFaults::on_reply`] says.
    Serve,
    /// Read it and do nothing: the connection is stalled but stays open.
    Ignore,
    /// Close the connection now, without running or answering the command.
    Close(DropCause),
}

/// Which fault closed a connection, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropCause {
    /// `drop-after`: the connection is past its Nth command.
    DropAfter,
    /// `drop-rate`: the seeded draw for this command fell below the rate.
    DropRate,
}

impl fmt::Display for DropCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DropCause::DropAfter => "drop-after",
            DropCause::DropRate => "drop-rate",
        })
    }
}

/// How one reply is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivery {
    /// Send [`GARBAGE`] instead of the reply.
    pub garbage: bool,
    /// Delay added to the normal latency; zero for a reply on time.
    pub late_by: Duration,
}

/// Fault state of one connection: the settings, the counts so far and the drop generator.
#[derive(Debug, Clone)]
pub struct ConnFaults {
    /// The sim's settings; `refuse-after` is the accept loop's business and ignored here.
    faults: Faults,
    /// Draws for `drop-rate`, seeded from the seed and the accept number; `None` without it.
    rng: Option<SplitMix64>,
    /// Commands read so far, ignored and dropped ones included; bumped by `on_command`.
    commands: u64,
    /// Replies the device has produced so far; bumped by `on_reply`.
    replies: u64,
}

impl ConnFaults {
    /// State for the connection with accept number `conn` (1 for the first one served).
    pub fn new(faults: &Faults, conn: u64) -> ConnFaults {
        ConnFaults {
            faults: faults.clone(),
            rng: faults
                .drop_rate
                .map(|rate| SplitMix64::for_connection(rate.seed, conn)),
            commands: 0,
            replies: 0,
        }
    }

    /// Counts one more command and decides its fate; see the module docs for the order.
    pub fn on_command(&mut self) -> Verdict {
        self.commands += 1;
        let c = self.commands;
        // The session closes right after serving the Nth command; a command that still
        // arrives (already in flight) is not served.
        if self.faults.drop_after.is_some_and(|n| c > n) {
            return Verdict::Close(DropCause::DropAfter);
        }
        if let (Some(rate), Some(rng)) = (self.faults.drop_rate, self.rng.as_mut())
            && rng.next_f64() < rate.probability
        {
            return Verdict::Close(DropCause::DropRate);
        }
        if self.faults.stall_after.is_some_and(|n| c > n) {
            return Verdict::Ignore;
        }
        Verdict::Serve
    }

    /// True when the command just counted was the last one `drop-after` allows: the session
    /// closes the connection once it has served it.
    pub fn closes_after(&self) -> bool {
        self.faults.drop_after == Some(self.commands)
    }

    /// Counts one more reply of a served command and says how to deliver it. (A period of
    /// 0, which parsing refuses, never matches: reply numbers start at 1.)
    pub fn on_reply(&mut self) -> Delivery {
        self.replies += 1;
        let r = self.replies;
        let late = self.faults.late.filter(|late| r.is_multiple_of(late.every));
        Delivery {
            garbage: self
                .faults
                .garbage_every
                .is_some_and(|n| r.is_multiple_of(n)),
            late_by: late.map_or(Duration::ZERO, |late| late.by),
        }
    }

    /// Commands read so far on this connection, for logs.
    pub fn commands(&self) -> u64 {
        self.commands
    }

    /// Replies produced so far on this connection, for logs.
    pub fn replies(&self) -> u64 {
        self.replies
    }
}

/// Vigna's splitmix64: tiny, fast, and good enough to decide drops reproducibly.
#[derive(Debug, Clone)]
struct SplitMix64 {
    /// Advanced by the golden-ratio increment at every draw.
    state: u64,
}

/// The splitmix64 increment: 2^64 divided by the golden ratio, made odd.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

impl SplitMix64 {
    /// A generator for connection `conn` under `seed`. Both are hashed before being combined,
    /// so neighbouring seeds or connections start far apart in the sequence instead of one
    /// connection's draws being another's shifted by a step.
    fn for_connection(seed: u64, conn: u64) -> SplitMix64 {
        SplitMix64 {
            state: mix(mix(seed) ^ conn),
        }
    }

    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        mix(self.state)
    }

    /// A uniform draw in `[0, 1)` from the top 53 bits, so `< 1.0` always holds and
    /// `< 0.0` never does.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }
}

/// The splitmix64 output function (a bijective 64-bit mixer).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::faults::{DropRate, Late};

    /// Feeds `script` to fresh state: `q` is a query, `w` a write. Returns one letter per
    /// command: `R` reply, `W` silent write, `G` garbage, `L` late, `B` both, `I` ignored,
    /// `X` closed by drop-after, `D` closed by drop-rate; stops at the first close.
    fn run(faults: &Faults, conn: u64, script: &str) -> String {
        let mut state = ConnFaults::new(faults, conn);
        let mut out = String::new();
        for kind in script.chars() {
            match state.on_command() {
                Verdict::Close(DropCause::DropAfter) => out.push('X'),
                Verdict::Close(DropCause::DropRate) => out.push('D'),
                Verdict::Ignore => out.push('I'),
                Verdict::Serve if kind == 'w' => out.push('W'),
                Verdict::Serve => {
                    let delivery = state.on_reply();
                    let late = !delivery.late_by.is_zero();
                    if late {
                        assert_eq!(Some(delivery.late_by), faults.late.map(|l| l.by));
                    }
                    out.push(match (delivery.garbage, late) {
                        (false, false) => 'R',
                        (true, false) => 'G',
                        (false, true) => 'L',
                        (true, true) => 'B',
                    });
                }
            }
            if out.ends_with(['X', 'D']) {
                break;
            }
        }
        out
    }

    /// Settings from `--fault` text; none for an empty text.
    fn faults(spec: &str) -> Faults {
        let specs: Vec<String> = Some(spec)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .into_iter()
            .collect();
        Faults::parse(&specs).unwrap()
    }

    /// Each fault alone and in combination, as scripts of commands and expected outcomes.
    #[test]
    fn decisions() {
        let cases: &[(&str, &str, &str)] = &[
            ("", "qwqq", "RWRR"),
            ("refuse-after=1", "qwq", "RWR"),
            ("drop-after=1", "qq", "RX"),
            ("drop-after=3", "qwqq", "RWRX"),
            ("stall-after=2", "qwqwq", "RWIII"),
            ("garbage-every=2", "qwqqwqq", "RWGRWGR"),
            ("garbage-every=1", "qwq", "GWG"),
            ("late-every=3", "qqqqqq", "RRLRRL"),
            ("late-every=2,late-by=1s", "qwqwq", "RWLWR"),
            ("garbage-every=2,late-every=3", "qqqqqq", "RGLGRB"),
            ("drop-after=4,garbage-every=2", "qqqqq", "RGRGX"),
            ("stall-after=2,drop-after=4", "qqqqq", "RRIIX"),
            ("stall-after=1,garbage-every=1", "qqq", "GII"),
            ("stall-after=3,late-every=1", "qqqq", "LLLI"),
            ("drop-rate=1", "qq", "D"),
            ("drop-rate=0", "qwqq", "RWRR"),
            ("drop-rate=0,drop-after=1", "qq", "RX"),
            ("drop-rate=1,stall-after=1", "q", "D"),
        ];
        for (spec, script, expected) in cases {
            assert_eq!(
                run(&faults(spec), 1, script),
                *expected,
                "`{spec}` on `{script}`"
            );
        }
    }

    /// Counts are per connection: a new state starts again from command and reply 1.
    #[test]
    fn counts_restart_per_connection() {
        let faults = faults("drop-after=2,garbage-every=1");
        for conn in 1..=3 {
            assert_eq!(run(&faults, conn, "qqq"), "GGX", "connection {conn}");
        }
        let mut state = ConnFaults::new(&faults, 1);
        state.on_command();
        state.on_reply();
        assert_eq!((state.commands(), state.replies()), (1, 1));
    }

    /// The same seed and connection give the same drops; another seed or connection does not.
    #[test]
    fn drop_rate_is_reproducible() {
        let rate = |seed| Faults {
            drop_rate: Some(DropRate {
                seed,
                probability: 0.3,
            }),
            ..Faults::default()
        };
        let script = "q".repeat(40);
        // Every command drawn until each of 20 connections drops: the drop positions.
        let positions = |faults: &Faults| -> Vec<usize> {
            (1..=20)
                .map(|conn| run(faults, conn, &script).len())
                .collect()
        };
        let first = positions(&rate(7));
        assert_eq!(first, positions(&rate(7)));
        assert_ne!(first, positions(&rate(8)));
        assert!(first.windows(2).any(|w| w[0] != w[1]), "{first:?}");
        assert!(first.iter().all(|&p| p < 40), "{first:?}");
    }

    /// Over 10,000 commands the share dropped is close to the rate (about 6 standard
    /// deviations of margin), for several rates and seeds.
    #[test]
    fn drop_rate_is_roughly_the_probability() {
        const COMMANDS: u32 = 10_000;
        for (seed, probability) in [(0, 0.1), (1, 0.5), (u64::MAX, 0.02), (3, 0.9)] {
            let faults = Faults {
                drop_rate: Some(DropRate { seed, probability }),
                ..Faults::default()
            };
            let mut state = ConnFaults::new(&faults, 1);
            // The pure state keeps deciding after a close, which the session never asks for.
            let drops = (0..COMMANDS)
                .filter(|_| matches!(state.on_command(), Verdict::Close(_)))
                .count();
            let expected = f64::from(COMMANDS) * probability;
            let margin = 6.0 * (expected * (1.0 - probability)).sqrt();
            assert!(
                (drops as f64 - expected).abs() < margin,
                "seed {seed}, rate {probability}: {drops} drops"
            );
        }
    }

    /// A late reply is late by exactly `late-by`; others by nothing.
    #[test]
    fn late_by_is_the_configured_delay() {
        let by = Duration::from_millis(1500);
        let faults = Faults {
            late: Some(Late { every: 2, by }),
            ..Faults::default()
        };
        let mut state = ConnFaults::new(&faults, 1);
        let delays: Vec<Duration> = (0..4).map(|_| state.on_reply().late_by).collect();
        assert_eq!(delays, [Duration::ZERO, by, Duration::ZERO, by]);
    }

    /// splitmix64 matches the reference outputs for state 1234567, and draws stay in [0, 1).
    #[test]
    fn splitmix64_reference() {
        let mut rng = SplitMix64 { state: 1_234_567 };
        let outputs: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(
            outputs,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
        let mut rng = SplitMix64::for_connection(0, 1);
        assert!(
            (0..1000)
                .map(|_| rng.next_f64())
                .all(|x| (0.0..1.0).contains(&x))
        );
    }
}
