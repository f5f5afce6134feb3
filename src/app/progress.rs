//! The run's progress on a terminal: an indicatif bar per sweep step, below the log lines.
//!
//! [`Bar`] is the [`Progress`] sink that [`super::run`] gives the sequencer when
//! [`crate::logging::bars`] says stderr is a terminal worth drawing on. A step's bar reads
//!
//! ```text
//! iv [===============>               ] 812/2200 points  143/s  ETA 10s  3 failed  4/4 conns
//! ```
//!
//! (rate and ETA from indicatif's estimate, failures so far, points in flight of the most
//! the step may have, each holding a connection), and when the step ends it is replaced by
//! one permanent line, `iv: 2200/2200 points, 3 failed in 15.2s (144/s)`.
//!
//! Per point the sequencer only moves counters here: `ProgressBar::inc` (an atomic add and a
//! clock read) and atomic stores for failures and connections, which the bar's template
//! reads when it draws. All drawing happens on indicatif's steady-tick thread, ten times a
//! second (with a ticker installed, `inc` never draws), so a fast sweep pays nothing for it
//! and a slow one still shows time passing.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressState, ProgressStyle};

use crate::sequence::duration::format_duration;
use crate::sequencer::Progress;

/// How often the bar is redrawn, by indicatif's ticker thread (the only place it draws).
const STEADY_TICK: Duration = Duration::from_millis(100);

/// The template of a running step's bar; the custom keys are filled by [`Bar::style`].
const TEMPLATE: &str =
    "{prefix} [{wide_bar}] {pos}/{len} points  {speed}  ETA {left}  {failed} failed  {conns} conns";

/// Counters the sequencer moves and the bar's template reads.
#[derive(Default)]
struct Counters {
    /// Points of the current step that failed (or were aborted) for good.
    failed: AtomicU64,
    /// Points of the current step in flight.
    in_flight: AtomicUsize,
    /// The most points of the current step that may be in flight.
    limit: AtomicUsize,
}

/// One indicatif bar per sweep step, in the process's [`MultiProgress`].
pub struct Bar {
    /// Where bars are drawn (shared with the log writer, so log lines go above them).
    bars: MultiProgress,
    /// Style of a running step's bar, built once.
    style: ProgressStyle,
    /// Read by `style` when it draws; reset at each step.
    counters: Arc<Counters>,
    /// The running step: its bar, name and start; `None` between steps.
    current: Option<(ProgressBar, String, Instant)>,
}

impl Bar {
    /// Bars drawn in `bars`.
    pub fn new(bars: MultiProgress) -> Self {
        let counters = Arc::new(Counters::default());
        Bar {
            bars,
            style: Bar::style(&counters),
            counters,
            current: None,
        }
    }

    /// The running-step style: [`TEMPLATE`] with its custom keys reading `counters`.
    fn style(counters: &Arc<Counters>) -> ProgressStyle {
        let (failed, conns) = (counters.clone(), counters.clone());
        ProgressStyle::with_template(TEMPLATE)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
            .with_key("speed", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&rate(s.per_sec()));
            })
            .with_key("left", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = w.write_str(&eta(s.pos(), s.eta()));
            })
            .with_key(
                "failed",
                move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", failed.failed.load(Ordering::Relaxed));
                },
            )
            .with_key(
                "conns",
                move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(
                        w,
                        "{}/{}",
                        conns.in_flight.load(Ordering::Relaxed),
                        conns.limit.load(Ordering::Relaxed)
                    );
                },
            )
    }
}

impl Progress for Bar {
    fn step_started(&mut self, name: &str, total: u64) {
        self.step_ended();
        self.counters.failed.store(0, Ordering::Relaxed);
        self.counters.in_flight.store(0, Ordering::Relaxed);
        let pb = self.bars.add(
            ProgressBar::new(total)
                .with_style(self.style.clone())
                .with_prefix(name.to_owned()),
        );
        pb.enable_steady_tick(STEADY_TICK);
        self.current = Some((pb, name.to_owned(), Instant::now()));
    }

    fn point_done(&mut self, ok: bool) {
        if let Some((pb, ..)) = &self.current {
            pb.inc(1);
        }
        if !ok {
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn in_flight(&mut self, points: usize, limit: usize) {
        self.counters.in_flight.store(points, Ordering::Relaxed);
        self.counters.limit.store(limit, Ordering::Relaxed);
    }

    fn step_ended(&mut self) {
        let Some((pb, name, started)) = self.current.take() else {
            return;
        };
        let took = started.elapsed();
        let done = pb.position();
        let line = step_line(
            &name,
            done,
            pb.length().unwrap_or(done),
            self.counters.failed.load(Ordering::Relaxed),
            took,
        );
        pb.finish_and_clear();
        self.bars.remove(&pb);
        // Written like a log line (MultiProgress::println would leave it without a newline
        // when no bar is left), so it stays above later bars and lines; dropped if stderr
        // is gone.
        crate::logging::show(&format!("{line}\n"));
    }
}

/// The line a finished step leaves: `iv: 22/22 points, 0 failed in 212ms (104/s)`.
fn step_line(name: &str, done: u64, total: u64, failed: u64, took: Duration) -> String {
    let per_sec = done as f64 / took.as_secs_f64().max(1e-9);
    format!(
        "{name}: {done}/{total} points, {failed} failed in {} ({})",
        format_duration(round(took)),
        rate(per_sec)
    )
}

/// Points per second for people: `143/s`, `2.5/s`, or `12/min` below one a second.
fn rate(per_sec: f64) -> String {
    match per_sec {
        r if !r.is_finite() || r <= 0.0 => "-/s".to_owned(),
        r if r >= 10.0 => format!("{r:.0}/s"),
        r if r >= 1.0 => format!("{r:.1}/s"),
        r => format!("{:.0}/min", r * 60.0),
    }
}

/// Time left for people, to the second rounded up (`1m5s`); `?` before the first point is
/// done.
fn eta(done: u64, left: Duration) -> String {
    if done == 0 {
        return "?".to_owned();
    }
    let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    format_duration(Duration::from_secs(secs))
}

/// A duration shown to the millisecond under ten seconds, to a tenth under a minute, and to
/// the second above, so step lines stay short.
fn round(d: Duration) -> Duration {
    let ms = d.as_millis() as u64;
    let step = match ms {
        0..10_000 => 1,
        10_000..60_000 => 100,
        _ => 1000,
    };
    Duration::from_millis(ms / step * step)
}

#[cfg(test)]
mod tests {
    use indicatif::{InMemoryTerm, ProgressDrawTarget};

    use super::*;

    /// Rates and times read the way the bar shows them.
    #[test]
    fn rates_and_durations_read_well() {
        let rates = [
            (143.4, "143/s"),
            (2.46, "2.5/s"),
            (0.2, "12/min"),
            (0.0, "-/s"),
            (f64::INFINITY, "-/s"),
        ];
        for (per_sec, want) in rates {
            assert_eq!(rate(per_sec), want, "{per_sec}");
        }
        assert_eq!(eta(0, Duration::from_secs(5)), "?");
        assert_eq!(eta(3, Duration::from_millis(65_900)), "1m6s");
        assert_eq!(eta(3, Duration::ZERO), "0s");
        assert_eq!(
            round(Duration::from_micros(212_345)),
            Duration::from_millis(212)
        );
        assert_eq!(
            round(Duration::from_millis(15_234)),
            Duration::from_millis(15_200)
        );
        assert_eq!(
            step_line("iv", 22, 22, 1, Duration::from_millis(200)),
            "iv: 22/22 points, 1 failed in 200ms (110/s)"
        );
    }

    /// On a (simulated) terminal the bar shows points done of the total, failures and
    /// connections in use, and is cleared when the step ends.
    #[test]
    fn bar_shows_counts_then_leaves_a_line() {
        let term = InMemoryTerm::new(10, 100);
        let bars =
            MultiProgress::with_draw_target(ProgressDrawTarget::term_like(Box::new(term.clone())));
        let mut bar = Bar::new(bars);
        bar.step_started("iv", 10);
        bar.in_flight(3, 4);
        for ok in [true, true, false] {
            bar.point_done(ok);
        }
        // Drawing is indicatif's (the steady tick): wait for a frame with the counts.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !term.contents().contains("3/10") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let live = term.contents();
        assert!(live.starts_with("iv ["), "{live:?}");
        for part in ["3/10 points", "1 failed", "3/4 conns", "ETA "] {
            assert!(live.contains(part), "no `{part}` in {live:?}");
        }
        // The step's own line goes to stderr like a log line; the bar is cleared.
        bar.step_ended();
        let after = term.contents();
        assert!(!after.contains("points"), "the bar is gone: {after:?}");
        assert!(bar.current.is_none());
    }
}
