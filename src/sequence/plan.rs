//! The plan `sequencer check` prints: steps, and loops as a tree with their iterations and
//! points per level, what runs at the same time, commands and the minimum duration the
//! sequence's waits imply. Pure arithmetic over a validated
//! [`Sequence`]; nothing is expanded. Counts and durations are bounded
//! ([`super::bounds`]), and the sums and products here saturate all the same.

use std::fmt::Write;
use std::time::Duration;

use super::duration::format_duration;
use super::sweep::Mode;
use super::sweep::Sweep;
use super::sweep::lanes::Lanes;
use super::{Command, Loop, Node, Parallel, Sequence, Step};

/// Sum of the `wait`s in one point's commands.
fn waits(step: &Step) -> Duration {
    step.commands
        .iter()
        .map(|c| match c {
            Command::Wait { pause, .. } => *pause,
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

/// What a part of the sequence costs at least: the time its waits take, and the commands
/// it sends (saturating).
#[derive(Debug, Clone, Copy, Default)]
struct Cost {
    /// Least time, from waits.
    min: Duration,
    /// Commands sent.
    sends: u64,
}

impl Cost {
    /// Adds `other`, one after the other.
    fn add(&mut self, other: Cost) {
        self.min = self.min.saturating_add(other.min);
        self.sends = self.sends.saturating_add(other.sends);
    }

    /// `n` times this.
    fn times(self, n: u64) -> Cost {
        Cost {
            min: times(self.min, n),
            sends: self.sends.saturating_mul(n),
        }
    }
}

/// Points in flight at once for `step`: its concurrency, within its pool.
fn in_flight(seq: &Sequence, step: &Step) -> usize {
    step.concurrency
        .min(seq.instruments[step.instrument].max_connections)
}

/// The line of a setup or teardown step.
fn hook_line(out: &mut String, seq: &Sequence, label: &str, step: &Step) -> Cost {
    let min = minimum_duration(step, in_flight(seq, step));
    let _ = write!(out, "{label} `{}`", step.name);
    if seq.instruments.len() > 1 {
        let _ = write!(out, " on `{}`", seq.instruments[step.instrument].name);
    }
    let _ = write!(out, ": {}", commands(sends(step)));
    line_end(out, step, min)
}

/// The lines of `node`, indented `depth` levels (a loop's body one deeper than the loop),
/// and what all of its points cost. A step in a loop's body shows one iteration's points;
/// the loop's line multiplies.
fn node_lines(out: &mut String, seq: &Sequence, node: &Node, depth: usize) -> Cost {
    let indent = "  ".repeat(depth);
    match node {
        Node::Step(step) => {
            out.push_str(&indent);
            step_line(out, seq, step)
        }
        Node::Loop(l) => {
            let at = out.len();
            let mut per_iteration = Cost::default();
            for child in &l.body {
                per_iteration.add(node_lines(out, seq, child, depth + 1));
            }
            let cost = per_iteration.times(l.iterations());
            out.insert_str(at, &format!("{indent}{}\n", loop_line(l, cost.min)));
            cost
        }
    }
}

/// A loop's line: `` loop `T`: 5 iterations x (settle 1 + iv 21) = 110 points; setpoint
/// (5) ``, or for a group `` group `g`: a 1 + b 3 = 4 points ``, then the least time its
/// waits take.
fn loop_line(l: &Loop, min: Duration) -> String {
    let body: Vec<String> = l
        .body
        .iter()
        .map(|n| format!("{} {}", n.name(), n.points()))
        .collect();
    let body = body.join(" + ");
    let points = counted(l.points(), "point");
    let group = l.sweep.axes().is_empty() && l.repeat == 1;
    let mut line = if group {
        format!("group `{}`: {body} = {points}", l.name)
    } else {
        format!(
            "loop `{}`: {} x ({body}) = {points}",
            l.name,
            counted(l.iterations(), "iteration")
        )
    };
    let mut shape = Vec::new();
    if !l.sweep.axes().is_empty() {
        shape.push(axes(&l.sweep));
    }
    match (l.repeat, l.sweep.axes().is_empty()) {
        (1, _) => {}
        (r, false) => shape.push(format!("{r} repeats")),
        (r, true) => shape.push(format!("repeated {r} times")),
    }
    if !shape.is_empty() {
        let _ = write!(line, "; {}", shape.join(" x "));
    }
    if !min.is_zero() {
        let _ = write!(line, ", waits >= {}", format_duration(min));
    }
    line
}

/// `ch (2) x volt (11)`, or `ch (3) zip volt (3)`.
fn axes(sweep: &Sweep) -> String {
    let sep = if sweep.mode() == Mode::Zip {
        " zip "
    } else {
        " x "
    };
    let axes: Vec<String> = sweep
        .axes()
        .iter()
        .map(|(n, a)| format!("{n} ({})", a.len()))
        .collect();
    axes.join(sep)
}

/// A step's line (without indentation): points, what runs at once, where the points come
/// from, commands (and how many go to other instruments), the least time its waits take.
fn step_line(out: &mut String, seq: &Sequence, step: &Step) -> Cost {
    let parallel = in_flight(seq, step);
    let min = minimum_duration(step, parallel);
    let _ = write!(out, "step `{}`", step.name);
    if seq.instruments.len() > 1 {
        let _ = write!(out, " on `{}`", seq.instruments[step.instrument].name);
    }
    let _ = write!(out, ": {}", counted(step.points(), "point"));
    // What runs at once, then where the points come from.
    let mut shape = Vec::new();
    if step.points() > 1 {
        out.push_str(&parallel_phrase(step, parallel));
    }
    if !step.sweep.axes().is_empty() {
        shape.push(axes(&step.sweep));
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
    let elsewhere = elsewhere(seq, step);
    if !elsewhere.is_empty() {
        let _ = write!(out, " ({elsewhere})");
    }
    line_end(out, step, min)
}

/// The end of a step's (or hook's) line: the least time its waits take, its conditions;
/// and what it costs.
fn line_end(out: &mut String, step: &Step, min: Duration) -> Cost {
    if !min.is_zero() {
        let _ = write!(out, ", waits >= {}", format_duration(min));
    }
    conditions(out, step);
    out.push('\n');
    Cost {
        min,
        sends: sends(step).saturating_mul(step.points()),
    }
}

/// A step's `let:` values, `when:` and `stop_when:`, each after a `; `: `let `ilim`, only
/// when `setpoint <= 150`, stop when `i > 1e-3` (next: T)`.
fn conditions(out: &mut String, step: &Step) {
    if !step.lets.is_empty() {
        let names: Vec<String> = step.lets.iter().map(|l| format!("`{}`", l.name)).collect();
        let _ = write!(out, "; let {}", names.join(", "));
    }
    if let Some(when) = &step.when {
        let _ = write!(out, "; only when `{}`", when.text);
    }
    for s in &step.stop_when {
        let _ = write!(out, "; stop when `{}` ({})", s.text, s.action);
    }
}

/// The commands of a point sent to other instruments (`on:`), by instrument in the
/// sequence's order: `1 on `tc``, `2 on `tc`, 1 on `dmm``; empty when there are none.
fn elsewhere(seq: &Sequence, step: &Step) -> String {
    let mut parts = Vec::new();
    for (i, ins) in seq.instruments.iter().enumerate() {
        let n = step
            .commands
            .iter()
            .filter(|c| c.template().is_some() && c.on() == Some(i))
            .count();
        if n > 0 {
            parts.push(format!("{n} on `{}`", ins.name));
        }
    }
    parts.join(", ")
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
    let mut total = Cost::default();
    for step in &seq.setup {
        total.add(hook_line(&mut out, seq, "setup", step));
    }
    for node in &seq.steps {
        total.add(node_lines(&mut out, seq, node, 0));
    }
    for step in &seq.teardown {
        total.add(hook_line(&mut out, seq, "teardown", step));
    }
    let (total_min, total_sends) = (total.min, total.sends);
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

    /// The plan of a sequence, from its first step or loop line to the end.
    fn tree(yaml: &str) -> String {
        let seq = super::super::parse(yaml, Path::new("t.yaml")).unwrap();
        let plan = describe(&seq);
        let at = plan
            .find("\nstep ")
            .into_iter()
            .chain(plan.find("\nloop "))
            .chain(plan.find("\ngroup "))
            .min()
            .unwrap();
        plan[at + 1..].to_owned()
    }

    /// Loops print as a tree: each loop's line multiplies its iterations by its body's
    /// points per iteration, names its variables and the least time its waits take; the
    /// lines of its body, one level deeper, count one iteration; `on:` commands are counted
    /// by instrument; the total counts every iteration.
    #[test]
    fn loops_print_as_a_tree() {
        let cryostat = "instruments: {tc: {}, smu: {}}\nsteps:\n\
            - name: T\n  sweep: {setpoint: [300, 250, 200, 150, 100]}\n  steps:\n\
            \x20 - name: settle\n    instrument: tc\n    commands: ['TEMP:SETP {setpoint}', {wait: 1s}]\n\
            \x20 - name: iv\n    instrument: smu\n    sweep: {volt: {start: 0, stop: 1, num: 21}}\n\
            \x20   commands: ['V {volt}', 'I?', {query: 'TEMP?', on: tc}]\n";
        assert_eq!(
            tree(cryostat),
            "loop `T`: 5 iterations x (settle 1 + iv 21) = 110 points; setpoint (5), waits >= 5s\n\
             \x20 step `settle` on `tc`: 1 point; 1 command each, waits >= 1s\n\
             \x20 step `iv` on `smu`: 21 points, one at a time; volt (21), 3 commands each (1 on `tc`)\n\
             total: 110 points, 320 commands, minimum duration 5s (from waits)\n"
        );
        let deep = "steps:\n\
            - name: A\n  sweep: {a: [1, 2], b: [3, 4, 5]}\n  repeat: 2\n  steps:\n\
            \x20 - name: G\n    steps:\n\
            \x20   - {name: x, commands: [X, {wait: 10ms}]}\n\
            \x20   - name: R\n      repeat: 3\n      steps: [{name: y, sweep: {v: [1, 2]}, commands: [Y]}]\n\
            - {name: z, commands: [Z]}\n";
        assert_eq!(
            tree(deep),
            "loop `A`: 12 iterations x (G 7) = 84 points; a (2) x b (3) x 2 repeats, waits >= 120ms\n\
             \x20 group `G`: x 1 + R 6 = 7 points, waits >= 10ms\n\
             \x20   step `x`: 1 point; 1 command each, waits >= 10ms\n\
             \x20   loop `R`: 3 iterations x (y 2) = 6 points; repeated 3 times\n\
             \x20     step `y`: 2 points, one at a time; v (2), 1 command each\n\
             step `z`: 1 point; 1 command each\n\
             total: 85 points, 85 commands, minimum duration 120ms (from waits)\n"
        );
    }

    /// Nothing in the plan grows with iterations or points: a loop of 1,000 iterations
    /// around 1,000 points per iteration, or of 10^6 around 10^6, is counted, not walked.
    #[test]
    fn plans_of_large_loops_are_arithmetic() {
        for n in [1_000u64, 1_000_000] {
            let yaml = format!(
                "steps:\n- name: T\n  sweep: {{t: {{start: 1, stop: 2, num: {n}}}}}\n  steps:\n\
                 \x20 - name: iv\n    sweep: {{v: {{start: 0, stop: 1, num: {n}}}}}\n    \
                 commands: ['V {{v}}', {{wait: 1ms}}]\n"
            );
            let plan = tree(&yaml);
            let total = n * n;
            assert!(
                plan.ends_with(&format!(
                    "total: {} points, {} commands, minimum duration {} (from waits)\n",
                    total,
                    total,
                    format_duration(times(Duration::from_millis(1), total))
                )),
                "{plan}"
            );
        }
    }
}
