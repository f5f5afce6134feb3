//! [`Faults`]: which misbehaviours the simulated instrument injects, parsed from `--fault`.
//!
//! The CLI hands its `--fault KEY=VALUE` values to [`Faults::parse`] and puts the result in
//! [`super::SimConfig::faults`]. The accept loop in [`crate::sim`] applies the one
//! server-wide fault (`refuse-after`) itself and gives every connection a `ConnFaults`
//! built from these settings, which decides command by command what to drop, ignore,
//! garble or delay. This file only parses, checks and prints the settings; it has no I/O
//! and no per-connection state.

use std::fmt;
use std::time::Duration;

use crate::sequence::duration::{DurationError, format_duration, parse_duration};

/// Every key [`Faults::parse`] accepts, in the order [`Faults`] prints them.
const KEYS: &str =
    "drop-after, stall-after, garbage-every, late-every, late-by, refuse-after, seed, drop-rate";

/// How late a late reply is when only `late-every` is given.
pub const DEFAULT_LATE_BY: Duration = Duration::from_secs(5);

/// Faults to inject; the default injects none. Counts are per connection unless noted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// `drop-after=N`: close each connection right after serving its Nth command.
    pub drop_after: Option<u64>,
    /// `stall-after=N`: answer each connection's first N commands, then read and ignore
    /// everything while keeping the connection open.
    pub stall_after: Option<u64>,
    /// `garbage-every=N`: every Nth reply on a connection is a malformed line.
    pub garbage_every: Option<u64>,
    /// `late-every=N` and `late-by=DUR`: every Nth reply on a connection comes late.
    pub late: Option<Late>,
    /// `refuse-after=N`: over the sim's whole life serve only N connections; later ones are
    /// accepted and closed at once. Server-wide, not per connection.
    pub refuse_after: Option<u64>,
    /// `seed=S` and `drop-rate=P`: drop a connection at each command with probability P.
    pub drop_rate: Option<DropRate>,
}

/// Settings of `late-every` and `late-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Late {
    /// Every `every`th reply on a connection is late (1 or more).
    pub every: u64,
    /// Added to the normal latency of a late reply (above zero).
    pub by: Duration,
}

/// Settings of `seed` and `drop-rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DropRate {
    /// Seeds every connection's generator, together with the connection's accept number, so
    /// the same seed drops the same commands of the same per-connection command sequence.
    pub seed: u64,
    /// Chance, from 0 to 1, that a command's connection is dropped before the reply.
    pub probability: f64,
}

/// Why `--fault` values were refused; each names the key or the pair at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    /// An empty pair: nothing between two commas, or an empty `--fault`.
    #[error("empty fault in `{spec}`: write `key=value` pairs separated by commas; known: {KEYS}")]
    Empty {
        /// The `--fault` value it is in.
        spec: String,
    },
    /// A pair without `=`.
    #[error("fault `{pair}` has no value: write `key=value`, like `drop-after=5`; known: {KEYS}")]
    NoValue {
        /// The pair as written.
        pair: String,
    },
    /// A key that is no fault.
    #[error("unknown fault `{key}`; known: {KEYS}")]
    Unknown {
        /// The key as written.
        key: String,
    },
    /// A key given a second time.
    #[error("fault `{key}` is given twice")]
    Twice {
        /// The key.
        key: String,
    },
    /// A value the key cannot take.
    #[error("bad value `{value}` for fault `{key}`: {expected}")]
    BadValue {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
        /// What the key takes.
        expected: Expected,
    },
    /// `late-by` without `late-every`.
    #[error(
        "fault `late-by` needs `late-every` to say which replies are late, like \
         `late-every=3,late-by=3s`"
    )]
    LateByAlone,
    /// `seed` without `drop-rate`.
    #[error(
        "fault `seed` needs `drop-rate`: the seed only chooses which commands drop-rate \
         drops, like `seed=7,drop-rate=0.1`"
    )]
    SeedAlone,
}

/// What a fault's value must be, said after a bad one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Expected {
    /// A count.
    #[error("expected a whole number of 1 or more")]
    Count,
    /// A seed.
    #[error("expected a whole number, like `7`")]
    Seed,
    /// A probability.
    #[error("expected a probability from 0 to 1, like `0.1`")]
    Probability,
    /// A duration of zero.
    #[error("expected a duration above zero, like `3s`")]
    AboveZero,
    /// Not a duration at all.
    #[error(transparent)]
    Duration(#[from] DurationError),
}

/// Keys seen so far while parsing, before the pairs that depend on each other are checked.
#[derive(Default)]
struct Seen {
    /// The settings being built; `late` and `drop_rate` are filled in at the end.
    faults: Faults,
    /// `late-every`, if given.
    late_every: Option<u64>,
    /// `late-by`, if given.
    late_by: Option<Duration>,
    /// `seed`, if given.
    seed: Option<u64>,
    /// `drop-rate`, if given.
    drop_rate: Option<f64>,
}

impl Faults {
    /// Parses `--fault` values (each `key=value`, or several comma-separated).
    ///
    /// Unknown keys, a missing `=`, a key given twice, bad numbers, counts of 0, rates
    /// outside 0..=1, bad or zero durations, `late-by` without `late-every` and `seed`
    /// without `drop-rate` are errors naming the key.
    pub fn parse(specs: &[String]) -> Result<Faults, FaultError> {
        let mut seen = Seen::default();
        for spec in specs {
            for pair in spec.split(',') {
                seen.pair(pair.trim(), spec)?;
            }
        }
        seen.finish()
    }

    /// True when no fault is set.
    pub fn is_empty(&self) -> bool {
        *self == Faults::default()
    }
}

impl Seen {
    /// Records one `key=value` pair of `spec`.
    fn pair(&mut self, pair: &str, spec: &str) -> Result<(), FaultError> {
        if pair.is_empty() {
            return Err(FaultError::Empty { spec: spec.into() });
        }
        let Some((key, value)) = pair.split_once('=') else {
            return Err(FaultError::NoValue { pair: pair.into() });
        };
        let (key, value) = (key.trim(), value.trim());
        let f = &mut self.faults;
        match key {
            "drop-after" => set(key, &mut f.drop_after, count(key, value)?),
            "stall-after" => set(key, &mut f.stall_after, count(key, value)?),
            "garbage-every" => set(key, &mut f.garbage_every, count(key, value)?),
            "late-every" => set(key, &mut self.late_every, count(key, value)?),
            "late-by" => set(key, &mut self.late_by, delay(key, value)?),
            "refuse-after" => set(key, &mut f.refuse_after, count(key, value)?),
            "seed" => set(key, &mut self.seed, seed(key, value)?),
            "drop-rate" => set(key, &mut self.drop_rate, probability(key, value)?),
            _ => Err(FaultError::Unknown { key: key.into() }),
        }
    }

    /// Checks the pairs that need each other and builds the settings.
    fn finish(self) -> Result<Faults, FaultError> {
        let mut faults = self.faults;
        faults.late = match (self.late_every, self.late_by) {
            (Some(every), by) => Some(Late {
                every,
                by: by.unwrap_or(DEFAULT_LATE_BY),
            }),
            (None, Some(_)) => {
                return Err(FaultError::LateByAlone);
            }
            (None, None) => None,
        };
        faults.drop_rate = match (self.seed, self.drop_rate) {
            (seed, Some(probability)) => Some(DropRate {
                seed: seed.unwrap_or(0),
                probability,
            }),
            (Some(_), None) => {
                return Err(FaultError::SeedAlone);
            }
            (None, None) => None,
        };
        Ok(faults)
    }
}

/// Stores `value` in `slot`, refusing a key given twice.
fn set<T>(key: &str, slot: &mut Option<T>, value: T) -> Result<(), FaultError> {
    if slot.is_some() {
        return Err(FaultError::Twice { key: key.into() });
    }
    *slot = Some(value);
    Ok(())
}

/// A bad `value` for `key`, which takes what `expected` says.
fn bad(key: &str, value: &str, expected: Expected) -> FaultError {
    FaultError::BadValue {
        key: key.into(),
        value: value.into(),
        expected,
    }
}

/// A count of 1 or more.
fn count(key: &str, value: &str) -> Result<u64, FaultError> {
    match value.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad(key, value, Expected::Count)),
    }
}

/// Any whole number, zero included.
fn seed(key: &str, value: &str) -> Result<u64, FaultError> {
    value
        .parse::<u64>()
        .map_err(|_| bad(key, value, Expected::Seed))
}

/// A probability from 0 to 1.
fn probability(key: &str, value: &str) -> Result<f64, FaultError> {
    match value.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(bad(key, value, Expected::Probability)),
    }
}

/// A duration above zero, with a unit.
fn delay(key: &str, value: &str) -> Result<Duration, FaultError> {
    match parse_duration(value) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(bad(key, value, Expected::AboveZero)),
        Err(error) => Err(bad(key, value, error.into())),
    }
}

impl fmt::Display for Faults {
    /// Comma-separated `key=value` pairs in a fixed key order, which [`Faults::parse`]
    /// reads back to the same settings; empty when no fault is set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut pairs: Vec<String> = Vec::new();
        let counts = [
            ("drop-after", self.drop_after),
            ("stall-after", self.stall_after),
            ("garbage-every", self.garbage_every),
        ];
        for (key, value) in counts {
            if let Some(n) = value {
                pairs.push(format!("{key}={n}"));
            }
        }
        if let Some(late) = self.late {
            pairs.push(format!("late-every={}", late.every));
            pairs.push(format!("late-by={}", format_duration(late.by)));
        }
        if let Some(n) = self.refuse_after {
            pairs.push(format!("refuse-after={n}"));
        }
        if let Some(rate) = self.drop_rate {
            pairs.push(format!("seed={}", rate.seed));
            pairs.push(format!("drop-rate={}", rate.probability));
        }
        f.write_str(&pairs.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses `specs` given as `&str`.
    fn parse(specs: &[&str]) -> Result<Faults, FaultError> {
        let specs: Vec<String> = specs.iter().map(|s| (*s).to_owned()).collect();
        Faults::parse(&specs)
    }

    /// Good specs give the expected settings and print back in canonical form.
    #[test]
    fn parses_good_specs() {
        let late = |every, ms| Late {
            every,
            by: Duration::from_millis(ms),
        };
        let rate = |seed, probability| DropRate { seed, probability };
        let cases: &[(&[&str], Faults, &str)] = &[
            (&[], Faults::default(), ""),
            (
                &["drop-after=5"],
                Faults {
                    drop_after: Some(5),
                    ..Faults::default()
                },
                "drop-after=5",
            ),
            (
                &["late-every=3", "drop-after=5,late-by=3s"],
                Faults {
                    drop_after: Some(5),
                    late: Some(late(3, 3000)),
                    ..Faults::default()
                },
                "drop-after=5,late-every=3,late-by=3s",
            ),
            (
                &["late-every=2"],
                Faults {
                    late: Some(late(2, 5000)),
                    ..Faults::default()
                },
                "late-every=2,late-by=5s",
            ),
            (
                &[" stall-after = 2 , garbage-every=4", "refuse-after=1"],
                Faults {
                    stall_after: Some(2),
                    garbage_every: Some(4),
                    refuse_after: Some(1),
                    ..Faults::default()
                },
                "stall-after=2,garbage-every=4,refuse-after=1",
            ),
            (
                &["drop-rate=0.25"],
                Faults {
                    drop_rate: Some(rate(0, 0.25)),
                    ..Faults::default()
                },
                "seed=0,drop-rate=0.25",
            ),
            (
                &["drop-rate=1", "seed=42"],
                Faults {
                    drop_rate: Some(rate(42, 1.0)),
                    ..Faults::default()
                },
                "seed=42,drop-rate=1",
            ),
            (
                &["drop-rate=0,seed=0"],
                Faults {
                    drop_rate: Some(rate(0, 0.0)),
                    ..Faults::default()
                },
                "seed=0,drop-rate=0",
            ),
        ];
        for (specs, expected, printed) in cases {
            let faults = parse(specs).unwrap_or_else(|e| panic!("{specs:?}: {e}"));
            assert_eq!(&faults, expected, "{specs:?}");
            assert_eq!(faults.to_string(), *printed, "{specs:?}");
            assert_eq!(faults.is_empty(), printed.is_empty(), "{specs:?}");
            // What Display prints parses back to the same settings.
            let reparsed = if printed.is_empty() {
                parse(&[])
            } else {
                parse(&[printed])
            };
            assert_eq!(reparsed.unwrap(), faults, "{printed}");
        }
    }

    /// Bad specs are refused with a message naming the key (and the known keys when the key
    /// itself is wrong).
    #[test]
    fn refuses_bad_specs() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["dorp-after=5"],
                "unknown fault `dorp-after`; known: drop-after, stall-after, garbage-every, \
                 late-every, late-by, refuse-after, seed, drop-rate",
            ),
            (&["drop-after"], "fault `drop-after` has no value"),
            (&["drop-after=5,"], "empty fault in `drop-after=5,`"),
            (&[""], "empty fault"),
            (&["drop-after=0"], "bad value `0` for fault `drop-after`"),
            (
                &["stall-after=-1"],
                "bad value `-1` for fault `stall-after`",
            ),
            (
                &["garbage-every=x"],
                "bad value `x` for fault `garbage-every`",
            ),
            (
                &["late-every=1.5"],
                "bad value `1.5` for fault `late-every`",
            ),
            (&["refuse-after="], "bad value `` for fault `refuse-after`"),
            (
                &["seed=abc,drop-rate=0.1"],
                "bad value `abc` for fault `seed`",
            ),
            (&["drop-rate=1.5"], "bad value `1.5` for fault `drop-rate`"),
            (
                &["drop-rate=-0.1"],
                "bad value `-0.1` for fault `drop-rate`",
            ),
            (&["drop-rate=NaN"], "bad value `NaN` for fault `drop-rate`"),
            (
                &["late-every=2,late-by=3"],
                "bad value `3` for fault `late-by`: `3` has no unit",
            ),
            (
                &["late-every=2,late-by=0s"],
                "bad value `0s` for fault `late-by`: expected",
            ),
            (
                &["late-every=2,late-by=3parsecs"],
                "bad value `3parsecs` for fault `late-by`: unknown unit `parsecs`",
            ),
            (&["late-by=3s"], "fault `late-by` needs `late-every`"),
            (&["seed=3"], "fault `seed` needs `drop-rate`"),
            (
                &["drop-after=5", "drop-after=6"],
                "fault `drop-after` is given twice",
            ),
            (&["late-by=1s,late-by=2s"], "fault `late-by` is given twice"),
        ];
        for (specs, expected) in cases {
            let error = parse(specs)
                .expect_err(&format!("{specs:?} was accepted"))
                .to_string();
            assert!(error.starts_with(expected), "{specs:?}: got {error}");
            assert!(error.starts_with(char::is_lowercase), "{error}");
        }
    }
}
