//! Randomness of a device file: `RANDOM(min, max, n)` replies and delay jitter.
//!
//! A reply containing `RANDOM` is pyvisa-sim's `random_response`: the first
//! `{RANDOM(min, max, n)...}` directive gives the range and count, every directive is cut
//! out of the text, and what is left is formatted `n` times with a uniform draw, the results
//! joined by `", "`. The regular expressions are pyvisa-sim's, loose as they are (`.` in
//! `\d*.\d*` is any character). [`Rng`] is a seeded splitmix64, so a device file with
//! `seed:` answers the same numbers on every run.

use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

use super::pyfmt::{self, PyError, PyType, PyValue};

/// Most values one directive may ask for; pyvisa-sim has no limit, but a reply of a
/// million numbers is a typo, not a test.
const MAX_COUNT: i64 = 100_000;

/// Finds the first directive and its three numbers (pyvisa-sim's `findall` pattern).
static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{RANDOM\((\d*.\d*), (\d*.\d*), (\d*)\).*\}").expect("constant regex")
});

/// Every directive, to cut out (pyvisa-sim's `sub` pattern).
static CUT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"RANDOM\((\d*.\d*), (\d*.\d*), (\d*)\)").expect("constant regex"));

/// Why a `RANDOM` reply cannot be served, where pyvisa-sim would raise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum RandomError {
    /// No directive pyvisa-sim's pattern finds.
    #[error(
        "no `{{RANDOM(min, max, n)}}` directive (pyvisa-sim treats any reply containing \
         `RANDOM` as one)"
    )]
    NoDirective,
    /// A bound or count Python cannot convert.
    #[error("bad number `{text}` in `RANDOM(...)`: {cause}")]
    BadNumber {
        /// The number as written.
        text: String,
        /// Python's error.
        cause: PyError,
    },
    /// A count past [`MAX_COUNT`] (or below zero).
    #[error("`RANDOM(...)` asks for {count} values; at most {MAX_COUNT} are served")]
    TooMany {
        /// The count, as Python's `str` writes it.
        count: String,
    },
    /// The reply cannot format a drawn value.
    #[error(transparent)]
    Format(#[from] PyError),
}

/// A parsed `RANDOM` reply.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Directive {
    /// Lower bound of the uniform draw.
    min: f64,
    /// Upper bound.
    max: f64,
    /// Values per reply.
    count: usize,
    /// The reply with every directive removed, formatted once per value.
    template: String,
}

impl Directive {
    /// Parses `response`, which contains `RANDOM`; the error says why pyvisa-sim would fail.
    pub fn parse(response: &str) -> Result<Directive, RandomError> {
        let caps = DIRECTIVE
            .captures(response)
            .ok_or(RandomError::NoDirective)?;
        let number = |i: usize, ty: PyType| {
            let text = caps.get(i).map_or("", |m| m.as_str());
            PyValue::Str(text.to_owned())
                .convert(ty)
                .map_err(|cause| RandomError::BadNumber {
                    text: text.to_owned(),
                    cause,
                })
        };
        let float = |v: PyValue| match v {
            PyValue::Float(f) => f,
            PyValue::Int(i) => i as f64,
            PyValue::Str(_) => f64::NAN,
        };
        let min = float(number(1, PyType::Float)?);
        let max = float(number(2, PyType::Float)?);
        let count = match number(3, PyType::Int)? {
            PyValue::Int(n) if (0..=MAX_COUNT).contains(&n) => n as usize,
            other => {
                return Err(RandomError::TooMany {
                    count: other.to_py_string(),
                });
            }
        };
        let template = CUT.replace_all(response, "").into_owned();
        Ok(Directive {
            min,
            max,
            count,
            template,
        })
    }

    /// One reply: `count` uniform draws in `[min, max]`, each formatted, joined by `", "`.
    pub fn render(&self, rng: &mut Rng) -> Result<String, RandomError> {
        let mut out = Vec::with_capacity(self.count);
        for _ in 0..self.count {
            // Python's random.uniform: a + (b - a) * random().
            let value = self.min + (self.max - self.min) * rng.next_f64();
            out.push(pyfmt::format(&self.template, &PyValue::Float(value))?);
        }
        Ok(out.join(", "))
    }

    /// Checks that the reply can be rendered at all (the format applied to `min`).
    pub fn check(&self) -> Result<(), RandomError> {
        pyfmt::format(&self.template, &PyValue::Float(self.min))?;
        Ok(())
    }
}

/// A reply with `RANDOM` in it, rendered; the error says why pyvisa-sim would fail.
pub(super) fn respond(response: &str, rng: &mut Rng) -> Result<String, RandomError> {
    Directive::parse(response)?.render(rng)
}

/// Vigna's splitmix64: a tiny seeded generator, plenty for test noise.
#[derive(Debug, Clone)]
pub(super) struct Rng {
    /// Advanced by the golden-ratio increment at every draw.
    state: u64,
}

impl Rng {
    /// A generator for `seed`; `stream` separates generators sharing a seed (so jitter
    /// draws do not shift the `RANDOM` values).
    pub fn new(seed: u64, stream: u64) -> Rng {
        Rng {
            state: mix(seed ^ mix(stream.wrapping_add(1))),
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state)
    }

    /// A uniform draw in `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64
    }

    /// A uniform duration in `[0, max)`.
    pub fn below(&mut self, max: Duration) -> Duration {
        max.mul_f64(self.next_f64())
    }
}

/// The splitmix64 finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A seed from the process's hash randomness, for devices without `seed:`.
pub(super) fn entropy() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0x5EED_u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Directives parse like pyvisa-sim's regular expressions read them.
    #[test]
    fn parse_directives() {
        let d = Directive::parse("{RANDOM(0, 10, 3):.2f}").unwrap();
        assert_eq!((d.min, d.max, d.count), (0.0, 10.0, 3));
        assert_eq!(d.template, "{:.2f}");
        let d = Directive::parse("V={RANDOM(0.5, 1.5, 1)}V").unwrap();
        assert_eq!((d.min, d.max, d.count), (0.5, 1.5, 1));
        assert_eq!(d.template, "V={}V");
        for bad in [
            "RANDOM",
            "{RANDOM(1,2,3)}",
            "{RANDOM(1, 2, )}",
            "{RANDOM(1, 2, 999999)}",
        ] {
            assert!(Directive::parse(bad).is_err(), "{bad}");
        }
    }

    /// Draws stay in range, come `n` to a reply, and repeat under the same seed.
    #[test]
    fn render_in_range_and_reproducible() {
        let d = Directive::parse("{RANDOM(2, 3, 4):.3f}").unwrap();
        let mut rng = Rng::new(7, 0);
        let reply = d.render(&mut rng).unwrap();
        let values: Vec<f64> = reply.split(", ").map(|v| v.parse().unwrap()).collect();
        assert_eq!(values.len(), 4);
        assert!(values.iter().all(|v| (2.0..=3.0).contains(v)), "{reply}");
        assert_eq!(d.render(&mut Rng::new(7, 0)).unwrap(), reply);
        assert_eq!(
            Directive::parse("{RANDOM(1, 2, 0)}")
                .unwrap()
                .render(&mut rng),
            Ok(String::new())
        );
    }

    /// Jitter draws lie in `[0, max)`.
    #[test]
    fn below_is_bounded() {
        let mut rng = Rng::new(1, 1);
        let max = Duration::from_millis(10);
        assert!((0..1000).all(|_| rng.below(max) < max));
    }
}
