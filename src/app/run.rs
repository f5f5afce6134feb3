//! `sequencer run` and `sequencer resume`: prepare the sequence (addresses, simulators)
//! and the run log (new, or the resumed one with what it already holds), then hand the
//! run to [`super::drive`].

use std::path::PathBuf;
use std::time::SystemTime;

use super::drive::{Prepared, drive};
use super::limits::check_open_files;
use super::report::run_id;
use super::signals::Signals;
use super::{apply_addresses, check_addresses, start_sims};
use crate::cli::{ResumeArgs, RunArgs};
use crate::error::{EXIT_OK, Error, Result};
use crate::resume::{self, Resume};
use crate::runlog::{self, RunLog};
use crate::sequence::{self, Address, Sequence};

/// `sequencer run`.
pub async fn run(args: RunArgs) -> Result<i32> {
    let signals = Signals::new();
    let mut seq = sequence::load(&args.sequence)?;
    super::warn_about(&seq);
    apply_addresses(&mut seq, &args.address)?;
    check_open_files(&seq, args.sim.sim || args.sim.model.is_set())?;
    let sims = start_sims(&mut seq, &args.sim)?;
    check_addresses(&seq)?;
    let started_at = SystemTime::now();
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| RunLog::default_path(&seq.name, started_at));
    let mut log = RunLog::create(&path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            // Nothing was sent: a clash of names is invalid input, not a failed run.
            Error::usage(format!(
                "run log `{}` already exists; choose another `-o` path (logs are never overwritten)",
                path.display()
            ))
        } else {
            Error::RunLog {
                path: path.clone(),
                source,
            }
        }
    })?;
    let run_id = run_id(&seq.name, started_at);
    let start = runlog::Start {
        run_id: &run_id,
        name: &seq.name,
        // Absolute, so `resume` finds the file from any directory.
        sequence: std::path::absolute(&args.sequence)
            .unwrap_or_else(|_| args.sequence.clone())
            .display()
            .to_string(),
        sequence_sha256: &seq.sha256,
        metadata: &seq.metadata,
        instruments: instrument_entries(&seq, args.sim.sim),
        total_points: seq.total_points(),
        started_at,
        version: env!("CARGO_PKG_VERSION"),
    };
    log.write("start", &start)
        .and_then(|()| log.sync())
        .map_err(|source| Error::RunLog {
            path: path.clone(),
            source,
        })?;
    drive(Prepared {
        seq,
        log,
        path,
        sims,
        resume: Resume::default(),
        deadline: args.deadline,
        signals,
    })
    .await
}

/// `sequencer resume`: run what a log does not have as `ok` yet, appending to it.
pub async fn resume(args: ResumeArgs) -> Result<i32> {
    let signals = Signals::new();
    let records = resume::open(&args.log)?;
    let seq_path = records.start()["sequence"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| {
            Error::usage(format!(
                "run log `{}` names no sequence",
                args.log.display()
            ))
        })?;
    let mut seq = sequence::load(&seq_path)?;
    super::warn_about(&seq);
    let mut state = resume::read_log(records, &seq, false)?;
    let recorded = state.sha256().unwrap_or_default().to_owned();
    let forced = recorded != seq.sha256;
    if forced && !args.force {
        return Err(Error::usage(format!(
            "sequence `{}` changed since this run started (sha256 {} then, {} now): resuming could mix two experiments; pass --force to resume anyway",
            seq_path.display(),
            short(&recorded),
            short(&seq.sha256)
        )));
    }
    if forced {
        // Another sequence: an ok record counts only for a point with the same vars.
        state = resume::read_log(resume::open(&args.log)?, &seq, true)?;
    }
    if state.ignored > 0 {
        tracing::warn!(
            "{} point record(s) in the log are not points of `{}`: ignored",
            state.ignored,
            seq_path.display()
        );
    }
    if state.last_stop.as_deref() == Some("success") {
        super::stdout::say(&format!(
            "nothing to resume: run log `{}` ended with success\n",
            args.log.display()
        ));
        return Ok(EXIT_OK);
    }
    recorded_addresses(
        &mut seq,
        &state.latest,
        args.sim.sim || !args.address.is_empty(),
    )?;
    apply_addresses(&mut seq, &args.address)?;
    check_open_files(&seq, args.sim.sim || args.sim.model.is_set())?;
    let sims = start_sims(&mut seq, &args.sim)?;
    check_addresses(&seq)?;
    if let Some(bytes) = state.torn {
        tracing::warn!(
            "run log `{}` ends with a torn line ({bytes} bytes, an interrupted write): ignoring it",
            args.log.display()
        );
    }
    let log_err = |source| Error::RunLog {
        path: args.log.clone(),
        source,
    };
    let mut log = RunLog::append(&args.log, state.valid_len).map_err(|source| {
        if source.kind() == std::io::ErrorKind::WouldBlock {
            Error::usage(format!(
                "run log `{}` is in use by another sequencer process: is that run still going?",
                args.log.display()
            ))
        } else {
            log_err(source)
        }
    })?;
    let points_done = state.resume.ok_points(&seq);
    let record = runlog::ResumeRecord {
        resumed_at: SystemTime::now(),
        sequence_sha256: &seq.sha256,
        forced,
        instruments: instrument_entries(&seq, args.sim.sim),
        points_done,
        torn_bytes: state.torn,
        version: env!("CARGO_PKG_VERSION"),
    };
    log.write("resume", &record)
        .and_then(|()| log.sync())
        .map_err(log_err)?;
    super::stdout::say(&format!(
        "resuming `{}`: {points_done} of {} points already ok\n",
        super::report::one_line(&seq.name),
        seq.total_points()
    ));
    drive(Prepared {
        seq,
        log,
        path: args.log.clone(),
        sims,
        resume: state.resume,
        deadline: args.deadline,
        signals,
    })
    .await
}

/// Gives each instrument the address recorded in the start record. A run that used `--sim`
/// has no instrument to go back to: that needs `--sim` or `--address` again.
fn recorded_addresses(
    seq: &mut Sequence,
    start: &serde_json::Value,
    overridden: bool,
) -> Result<()> {
    let empty = Vec::new();
    let recorded = start["instruments"].as_array().unwrap_or(&empty);
    for ins in &mut seq.instruments {
        let Some(entry) = recorded.iter().find(|e| e["name"] == ins.name.as_str()) else {
            continue;
        };
        if entry["simulated"] == true && !overridden {
            return Err(Error::usage(
                "this run used the built-in simulator (--sim), which is gone: resume it with --sim, or --address ADDR",
            ));
        }
        if let Some(addr) = entry["address"]
            .as_str()
            .and_then(|a| Address::parse(a).ok())
        {
            ins.address = Some(addr);
        }
    }
    Ok(())
}

/// The first 12 hex digits of a hash, for messages.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Instruments as the start and resume records show them.
fn instrument_entries(seq: &Sequence, simulated: bool) -> Vec<runlog::InstrumentEntry<'_>> {
    seq.instruments
        .iter()
        .map(|i| runlog::InstrumentEntry {
            name: &i.name,
            address: i
                .address
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            max_connections: i.max_connections,
            simulated,
            write_termination: &i.io.write_termination,
            read_termination: &i.io.read_termination,
        })
        .collect()
}
