//! The upper bound of every count and duration a sequence (or `--deadline`) may give.
//!
//! Each bound is far above what an experiment needs and low enough that nothing derived from
//! it can overflow: point counts stay below 10^12, so a step's index, a pass times a sweep
//! length, the sum over every step and a point count times the commands of a point (at most
//! 50,000, the YAML node budget) all fit a `u64` many times over; durations stay below 30
//! days, so adding one to an `Instant` or summing the waits of a point cannot overflow
//! either. [`super::compile`] refuses a value above its bound at its line and column, the
//! schema ([`super::schema`]) states the same maxima, and the README lists them.

use std::time::Duration;

use super::duration::format_duration;

/// Most points of one sweep, of one step (sweep times `repeat`) and of a whole sequence.
pub const MAX_POINTS: u64 = 1_000_000_000_000;

/// How [`MAX_POINTS`] is written in messages.
pub const MAX_POINTS_TEXT: &str = "10^12";

/// Longest duration: a `wait`, a `timeout`, a poll's `every`, a `connect_timeout`,
/// `--deadline`. Thirty days.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);

/// How [`MAX_DURATION`] is written in messages.
pub const MAX_DURATION_TEXT: &str = "30 days (`720h`)";

/// How deep loops (steps with `steps:`) nest: a step in the body of a loop in the body of
/// another is two deep. Experiments nest two or three loops (temperature, field, gate
/// voltage); the YAML reader's depth budget leaves room for this many and the commands
/// inside them.
pub const MAX_NESTING: usize = 8;

/// What to do about loops nested deeper than [`MAX_NESTING`].
pub const NESTING_HELP: &str = "loops nest at most 8 deep: sweep several variables in one \
    loop's `sweep:` (a product), or split the run into several sequences";

/// The range of a whole-number key, and what to do about a value above it.
#[derive(Debug, Clone, Copy)]
pub struct CountBound {
    /// Smallest value accepted.
    pub min: i64,
    /// Largest value accepted.
    pub max: i64,
    /// What to do instead of going past `max`.
    pub help: &'static str,
}

/// `max_connections`: a lab instrument serves a handful of connections; each is a socket
/// (two with the built-in simulator), and a process may open only so many.
pub const MAX_CONNECTIONS: CountBound = CountBound {
    min: 1,
    max: 1024,
    help: "an instrument serves a handful of connections at once: give the number it accepts \
           (often 1 to 16)",
};

/// `concurrency`: never more points at once than the pool has connections.
pub const CONCURRENCY: CountBound = CountBound {
    min: 1,
    max: MAX_CONNECTIONS.max,
    help: "points in flight are also bounded by the instrument's `max_connections`, at most \
           1024",
};

/// `repeat`: a step has at most [`MAX_POINTS`] points.
pub const REPEAT: CountBound = CountBound {
    min: 1,
    max: MAX_POINTS.cast_signed(),
    help: "a step has at most 10^12 points: split the run into several",
};

/// `num` of a range: a sweep has at most [`MAX_POINTS`] points.
pub const NUM: CountBound = CountBound {
    min: 1,
    max: MAX_POINTS.cast_signed(),
    help: "a sweep has at most 10^12 points: split the range over several steps",
};

/// `retries`, per step or run-wide.
pub const RETRIES: CountBound = CountBound {
    min: 0,
    max: 1000,
    help: "a point that failed a thousand times will fail again: find out why it fails",
};

/// `reconnect_attempts`: dials are 2.5 to 5 s apart once the backoff is at its cap, so
/// 1000 already keep trying for 40 minutes or more.
pub const RECONNECT_ATTEMPTS: CountBound = CountBound {
    min: 1,
    max: 1000,
    help: "1000 dials, 2.5 to 5s apart once the backoff is at its cap, already keep trying \
           for 40 minutes or more",
};

/// Why `d` is refused as a duration (`what`: ``` `wait` ```, `--deadline`), or `None`.
pub fn duration_problem(what: &str, d: Duration) -> Option<String> {
    (d > MAX_DURATION).then(|| {
        format!(
            "{what} must be at most {MAX_DURATION_TEXT}, got `{}`",
            format_duration(d)
        )
    })
}

/// What to do about a duration above [`MAX_DURATION`].
pub const DURATION_HELP: &str =
    "a sequence runs for hours or days: for longer pauses, end the run and `resume` it later";

#[cfg(test)]
mod tests {
    use super::*;

    /// The bounds keep the arithmetic done on them inside a `u64` and a `Duration`: a
    /// sequence's total points times the commands of a point, and every wait of a point
    /// (one per YAML node) added up.
    #[test]
    fn bounds_leave_room() {
        let nodes = 50_000u64;
        assert!(MAX_POINTS.checked_mul(nodes).is_some());
        assert!(MAX_POINTS.checked_mul(nodes).unwrap() < u64::MAX / 100);
        let waits = MAX_DURATION.checked_mul(u32::try_from(nodes).unwrap());
        assert!(waits.is_some());
        assert_eq!(REPEAT.max.cast_unsigned(), MAX_POINTS);
        assert_eq!(format_duration(MAX_DURATION), "720h");
    }

    /// A duration just above the bound is refused with the bound and the value as the
    /// user would write them; the bound itself is accepted.
    #[test]
    fn durations_above_30_days_are_refused() {
        assert_eq!(duration_problem("`wait`", MAX_DURATION), None);
        assert_eq!(
            duration_problem("`wait`", MAX_DURATION + Duration::from_secs(1)).as_deref(),
            Some("`wait` must be at most 30 days (`720h`), got `720h1s`")
        );
    }

    /// The nesting bound is the one its help and the schema's description of `steps:`
    /// state, and the YAML reader's depth budget has room for it: each loop takes two
    /// levels (its map, its `steps:` list), around the file's map, the top `steps:` list,
    /// and a step's map, `commands:`, a command map and a poll's `until:`.
    #[test]
    fn nesting_bound_is_stated_and_fits_the_yaml_budget() {
        let stated = format!("at most {MAX_NESTING} deep");
        assert!(NESTING_HELP.contains(&stated));
        let schema = super::super::schema::schema().to_value();
        let steps = &schema["definitions"]["Step"]["properties"]["steps"]["description"];
        assert!(
            steps.as_str().is_some_and(|d| d.contains(&stated)),
            "{steps}"
        );
        const { assert!(2 + 2 * MAX_NESTING + 4 <= crate::yaml::MAX_DEPTH) };
    }
}
