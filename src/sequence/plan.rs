//! The plan `sequencer check` prints: steps, points, what runs at the same time, commands
//! and the minimum duration the sequence's waits imply. Pure arithmetic over a validated
//! [`Sequence`]; nothing is expanded. Counts and durations are bounded
//! ([`super::bounds`]), and the sums and products here saturate all the same.

use std::fmt::Write;
use std::time::Duration;

use super::duration::format_duration;
use super::sweep::Mode;
use super::sweep::lanes::Lanes;
use super::{Command, Parallel, Sequence, Step};

/// Sum of the `wait`s in one point's commands.
fn waits(step: &Step) -> Duration {
    step.commands
        .iter()
        .map(|c| match c {
            Command::Wait(d) => *d,
            _ => Duration::ZERO,
        })
        .fold(Duration::ZERO, Duration::saturating_add)
}

/// `d` times `n`, or [`Duration::MAX`] past it. (`Duration::saturating_mul` takes a `u32`,
/// and a step has up to 10^12 points.)
fn times(d: Duration, n: u64) -> Duration {
    let nanos = d.as_nanos().saturating_mul(u128::from(n));
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    if secs == u64::MAX {
        return Duration::MAX;
    }
    Duration::new(secs, (nanos % 1_000_000_000) as u32)
}

/// Commands that send something, per point.
fn sends(step: &Step) -> u64 {
    step.commands
        .iter()
        .filter(|c| c.template().is_some())
        .count() as u64
}

/// `1 command`, `3 commands`.
fn commands(n: u64) -> String {
    counted(n, "command")
}

/// `1 point`, `3 points` and the like.
fn counted(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Lower bound for a step whose points run at most `parallel` at once: waves of
/// `parallel` points (of one point for a step that runs one at a time; at least as many as
/// its longest lane has points), each wave at least its waits.
pub fn minimum_duration(step: &Step, parallel: usize) -> Duration {
    let all = step.points().div_ceil(parallel.max(1) as u64);
    let waves = match &step.parallel {
        Parallel::All => all,
        Parallel::Serial => step.points(),
        Parallel::Lanes(slots) => all.max(Lanes::shape(&step.sweep, step.repeat, slots).longest),
    };
    times(waits(step), waves)
}

/// What runs at the same time, after the point count: `, one at a time`, `, all
/// independent, at most 4 at once`, ` in 2 lanes by ch, at most 4 at once`.
fn parallel_phrase(step: &Step, parallel: usize) -> String {
    match &step.parallel {
        Parallel::Serial => ", one at a time".into(),
        Parallel::All => format!(", all independent, at most {parallel} at once"),
        Parallel::Lanes(slots) => {
            let names = step.sweep.names();
            let vars: Vec<&str> = slots.iter().map(|&s| names[s].as_str()).collect();
            let by = match vars.split_last() {
                Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
                _ => vars.concat(),
            };
            let lanes = Lanes::shape(&step.sweep, step.repeat, slots).lanes;
            format!(
                " in {} by {by}, at most {parallel} at once",
                counted(lanes, "lane")
            )
        }
    }
}

/// Human-readable plan of `seq`, one line per item.
pub fn describe(seq: &Sequence) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "sequence `{}` ({}) is valid",
        seq.name,
        seq.path.display()
    );
    for ins in &seq.instruments {
        let address = ins.address.as_ref().map_or_else(
            || "no address (use --address or --sim)".to_owned(),
            ToString::to_string,
        );
        let _ = writeln!(
            out,
            "instrument `{}`: {address}, up to {}, timeout {}",
            ins.name,
            counted(ins.max_connections as u64, "connection"),
            format_duration(ins.io.timeout)
        );
    }
    let mut total_min = Duration::ZERO;
    let mut total_sends = 0u64;
    // Top-level steps (loops are planned on the `nested` branch).
    let top: Vec<std::sync::Arc<super::Step>> = seq
        .steps
        .iter()
        .filter_map(|n| match n {
            super::Node::Step(s) => Some(s.clone()),
            super::Node::Loop(_) => None,
        })
        .collect();
    for (label, steps) in [
        ("setup", &seq.setup),
        ("step", &top),
        ("teardown", &seq.teardown),
    ] {
        for step in steps {
            let parallel = step
                .concurrency
                .min(seq.instruments[step.instrument].max_connections);
            let min = minimum_duration(step, parallel);
            total_min = total_min.saturating_add(min);
            total_sends = total_sends.saturating_add(sends(step).saturating_mul(step.points()));
            let _ = write!(out, "{label} `{}`", step.name);
            if seq.instruments.len() > 1 {
                let _ = write!(out, " on `{}`", seq.instruments[step.instrument].name);
            }
            if label == "step" {
                let _ = write!(out, ": {}", counted(step.points(), "point"));
                // What runs at once, then where the points come from.
                let mut shape = Vec::new();
                if step.points() > 1 {
                    out.push_str(&parallel_phrase(step, parallel));
                }
                if !step.sweep.axes().is_empty() {
                    let sep = if step.sweep.mode() == Mode::Zip {
                        " zip "
                    } else {
                        " x "
                    };
                    let axes: Vec<String> = step
                        .sweep
                        .axes()
                        .iter()
                        .map(|(n, a)| format!("{n} ({})", a.len()))
                        .collect();
                    shape.push(axes.join(sep));
                }
                match (step.repeat, step.sweep.axes().is_empty()) {
                    (1, _) => {}
                    (r, false) => shape.push(format!("{r} repeats")),
                    (r, true) => shape.push(format!("one point repeated {r} times")),
                }
                let _ = write!(out, "; ");
                if !shape.is_empty() {
                    let _ = write!(out, "{}, ", shape.join(" x "));
                }
                let _ = write!(out, "{} each", commands(sends(step)));
            } else {
                let _ = write!(out, ": {}", commands(sends(step)));
            }
            if !min.is_zero() {
                let _ = write!(out, ", waits >= {}", format_duration(min));
            }
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "total: {}, {}, minimum duration {} (from waits)",
        counted(seq.total_points(), "point"),
        commands(total_sends),
        format_duration(total_min)
    );
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The plan line of the only step of a sequence with `max_connections: 4` whose step
    /// has these extra keys.
    fn step_line(keys: &str) -> String {
        let yaml = format!(
            "instrument: {{max_connections: 4}}\nsteps:\n- name: iv\n{keys}  commands: ['SOUR', {{wait: 10ms}}]\n"
        );
        let seq = super::super::parse(&yaml, Path::new("t.yaml")).unwrap();
        describe(&seq)
            .lines()
            .find(|l| l.starts_with("step "))
            .unwrap()
            .to_owned()
    }

    /// Durations multiply exactly up to the largest `Duration`, then saturate.
    #[test]
    fn times_saturates() {
        let ms = Duration::from_millis;
        assert_eq!(times(ms(10), 22), ms(220));
        assert_eq!(times(ms(1500), 3), ms(4500));
        assert_eq!(times(ms(10), 0), Duration::ZERO);
        let max = super::super::bounds::MAX_DURATION;
        assert_eq!(
            times(max, 1_000_000_000_000).as_secs(),
            2_592_000_000_000_000_000
        );
        assert_eq!(times(max, u64::MAX), Duration::MAX);
        assert_eq!(times(Duration::MAX, 2), Duration::MAX);
    }

    /// Each step's line says its points, what runs at once (lanes and their variables, all,
    /// or one at a time), where the points come from, and the least time its waits take.
    #[test]
    fn step_lines() {
        let sweep = "  sweep: {ch: [1, 2], volt: {start: 0, stop: 1, num: 11}}\n";
        let cases = [
            (
                format!("{sweep}  parallel: [ch]\n"),
                "step `iv`: 22 points in 2 lanes by ch, at most 4 at once; ch (2) x volt (11), 1 command each, waits >= 110ms",
            ),
            (
                format!("{sweep}  parallel: [ch, volt]\n  concurrency: 2\n"),
                "step `iv`: 22 points in 22 lanes by ch and volt, at most 2 at once; ch (2) x volt (11), 1 command each, waits >= 110ms",
            ),
            (
                format!("{sweep}  parallel: all\n"),
                "step `iv`: 22 points, all independent, at most 4 at once; ch (2) x volt (11), 1 command each, waits >= 60ms",
            ),
            (
                format!("{sweep}  concurrency: 8\n"),
                "step `iv`: 22 points, all independent, at most 4 at once; ch (2) x volt (11), 1 command each, waits >= 60ms",
            ),
            (
                sweep.to_owned(),
                "step `iv`: 22 points, one at a time; ch (2) x volt (11), 1 command each, waits >= 220ms",
            ),
            (
                format!("{sweep}  repeat: 2\n  parallel: [ch]\n"),
                "step `iv`: 44 points in 2 lanes by ch, at most 4 at once; ch (2) x volt (11) x 2 repeats, 1 command each, waits >= 220ms",
            ),
            (
                "  mode: zip\n  sweep: {ch: [1, 2, 1], volt: [0, 1, 2]}\n  parallel: [ch]\n"
                    .to_owned(),
                "step `iv`: 3 points in 2 lanes by ch, at most 4 at once; ch (3) zip volt (3), 1 command each, waits >= 20ms",
            ),
            (
                "  sweep: {ch: [1]}\n".to_owned(),
                "step `iv`: 1 point; ch (1), 1 command each, waits >= 10ms",
            ),
            (
                "  repeat: 3\n".to_owned(),
                "step `iv`: 3 points, one at a time; one point repeated 3 times, 1 command each, waits >= 30ms",
            ),
        ];
        for (keys, want) in cases {
            assert_eq!(step_line(&keys), want, "{keys}");
        }
    }
}
