//! What a run tells the operator and the log about itself: its id and the end-of-run
//! summary.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::sequence::Sequence;
use crate::sequence::duration::format_duration;
use crate::sequencer::Summary;

/// A run id unique enough to tell runs apart: name, start time and a random suffix.
pub fn run_id(name: &str, at: SystemTime) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{name}-{secs}-{:08x}", h.finish() as u32)
}

/// The end-of-run summary on stdout: counts and duration on the first line (a format
/// scripts may rely on), then retries, the reason of a failure, the effective parallelism
/// and the run log's path.
pub fn report(summary: &Summary, path: &Path, elapsed: Duration, seq: &Sequence) {
    let mut line = format!(
        "{}: {} of {} points ok, {} failed",
        seq.name,
        summary.points_ok,
        seq.total_points(),
        summary.points_failed
    );
    if summary.points_aborted > 0 {
        let _ = write!(line, ", {} aborted", summary.points_aborted);
    }
    let _ = write!(
        line,
        ", {} not run in {} ({})",
        summary.points_not_run,
        format_duration(Duration::from_millis(elapsed.as_millis() as u64)),
        summary.exit_status
    );
    println!("{line}");
    if summary.retries > 0 {
        println!(
            "retries: {} (connections broke or replies were late; see the run log)",
            summary.retries
        );
    }
    if summary.exit_status != "success" {
        println!("reason: {}", summary.reason);
    }
    if let Some(e) = &summary.log_error {
        println!("run log incomplete: {e}");
    }
    let connections: usize = seq.instruments.iter().map(|i| i.max_connections).sum();
    if let Some(line) = parallelism(summary.busy, elapsed, connections) {
        println!("{line}");
    }
    println!("run log: {}", path.display());
}

/// `effective parallelism: 2.9 of 4 connections (615ms of point time in 212ms)`: the
/// points' elapsed times added up, over the run's wall time, i.e. how many points ran at
/// once on average. `None` when no point ran.
fn parallelism(busy: Duration, elapsed: Duration, connections: usize) -> Option<String> {
    if busy.is_zero() || elapsed.is_zero() {
        return None;
    }
    let ms = |d: Duration| format_duration(Duration::from_millis(d.as_millis() as u64));
    Some(format!(
        "effective parallelism: {:.1} of {connections} connection{} ({} of point time in {})",
        busy.as_secs_f64() / elapsed.as_secs_f64(),
        if connections == 1 { "" } else { "s" },
        ms(busy),
        ms(elapsed)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parallelism is point time over wall time, with both shown; nothing when no point ran.
    #[test]
    fn parallelism_is_point_time_over_wall_time() {
        let ms = Duration::from_millis;
        let cases = [
            (
                ms(615),
                ms(212),
                4,
                Some("effective parallelism: 2.9 of 4 connections (615ms of point time in 212ms)"),
            ),
            (
                ms(1000),
                ms(1000),
                1,
                Some("effective parallelism: 1.0 of 1 connection (1s of point time in 1s)"),
            ),
            (Duration::ZERO, ms(50), 4, None),
        ];
        for (busy, elapsed, connections, want) in cases {
            assert_eq!(
                parallelism(busy, elapsed, connections).as_deref(),
                want,
                "{busy:?} {elapsed:?}"
            );
        }
    }
}
