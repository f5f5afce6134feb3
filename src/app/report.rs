//! What a run tells the operator and the log about itself: its id and the end-of-run
//! summary.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::runlog;
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
/// and the run log's path. Every run that wrote a start record prints it, however it
/// ended; names, reasons and the path are shown on one line each (see [`one_line`]). If
/// stdout is gone the summary is dropped and the run ends as it would have.
pub fn report(summary: &Summary, path: &Path, elapsed: Duration, seq: &Sequence) {
    let mut text = format!(
        "{}: {} of {} points ok, {} failed",
        one_line(&seq.name),
        summary.points_ok,
        seq.total_points(),
        summary.points_failed
    );
    if summary.points_aborted > 0 {
        let _ = write!(text, ", {} aborted", summary.points_aborted);
    }
    if summary.points_skipped > 0 {
        let _ = write!(text, ", {} skipped", summary.points_skipped);
    }
    let _ = writeln!(
        text,
        ", {} not run in {} ({})",
        summary.points_not_run,
        format_duration(Duration::from_millis(elapsed.as_millis() as u64)),
        summary.exit_status
    );
    if summary.retries > 0 {
        let _ = writeln!(
            text,
            "retries: {} (attempts run again: a broken connection, a late reply, or a failure `retry_on` names; see the run log)",
            summary.retries
        );
    }
    if summary.exit_status != "success" {
        let _ = writeln!(text, "reason: {}", one_line(&summary.reason));
    }
    if let Some(e) = &summary.log_error {
        let _ = writeln!(text, "run log incomplete: {}", one_line(e));
    }
    let connections: usize = seq.instruments.iter().map(|i| i.max_connections).sum();
    if let Some(line) = parallelism(summary.busy, elapsed, connections) {
        let _ = writeln!(text, "{line}");
    }
    let _ = writeln!(text, "run log: {}", one_line(&path.display().to_string()));
    super::stdout::say(&text);
}

/// The summary of a run that ended with `stop` written by the caller, not the sequencer
/// (no connection could be opened, or the sequencer died): its counts, and `log_error` if
/// the stop record could not be written.
pub fn summary_of(stop: &runlog::Stop<'_>, log_error: Option<String>) -> Summary {
    Summary {
        exit_status: stop.exit_status,
        reason: stop.reason.to_owned(),
        points_ok: stop.points_ok,
        points_failed: stop.points_failed,
        points_aborted: stop.points_aborted,
        points_skipped: stop.points_skipped,
        retries: stop.retries,
        points_not_run: stop.points_not_run,
        busy: Duration::ZERO,
        log_error,
    }
}

/// `text` on one line: control characters (line breaks, tabs, escapes) written as Rust
/// escapes (`x\ny` for `"x\ny"`), so a name never splits the summary's lines.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
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

    /// Control characters are escaped, everything else (other scripts too) kept as is.
    #[test]
    fn one_line_escapes_control_characters() {
        let cases = [
            ("iv-sweep", "iv-sweep"),
            ("x\ny", "x\\ny"),
            ("a\tb\r\u{1b}[31m", "a\\tb\\r\\u{1b}[31m"),
            ("Probe-Ω-温度", "Probe-Ω-温度"),
            ("back\\slash", "back\\slash"),
        ];
        for (text, want) in cases {
            assert_eq!(one_line(text), want, "{text:?}");
        }
    }

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
