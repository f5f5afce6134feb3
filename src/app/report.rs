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

/// The end-of-run summary on stdout.
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
    println!("run log: {}", path.display());
}
