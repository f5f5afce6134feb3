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
use crate::runlog::{self, OpenError, RunLog};
use crate::sequence::{self, Address, Sequence};

/// `sequencer run`.
pub async fn run(args: RunArgs) -> Result<i32> {
    let signals = Signals::new();
    let mut seq = sequence::load_with(&args.sequence, &args.set)?;
    super::warn_about(&seq);
    apply_addresses(&mut seq, &args.address)?;
    check_open_files(&seq, args.sim.sim || args.sim.model.is_set())?;
    let sims = start_sims(&mut seq, &args.sim)?;
    check_addresses(&seq)?;
    let started_at = SystemTime::now();
    // Before any instrument is dialled: a bad path is invalid input, nothing was sent.
    let mut log = match &args.output {
        Some(path) => RunLog::create(path)?,
        None => RunLog::create_default(&seq.name, started_at)?,
    };
    let path = log.path().to_owned();
    let run_id = run_id(&seq.name, started_at);
    let start = runlog::Start {
        run_id: &run_id,
        name: &seq.name,
        // Absolute, so `resume` finds the file from any directory.
        sequence: absolute(&args.sequence),
        sequence_sha256: &seq.sha256,
        metadata: &seq.metadata,
        params: sequence::params::to_json(&seq.params),
        instruments: instrument_entries(&seq, args.sim.sim),
        total_points: seq.total_points(),
        started_at,
        version: env!("CARGO_PKG_VERSION"),
    };
    if let Err(e) = log.write("start", &start).and_then(|()| log.sync()) {
        // Nothing of the run is in it: left empty, so that `run -o` may use it again.
        log.discard();
        return Err(OpenError::write(&path, e).into());
    }
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
    let (seq_path, mut seq) = resume_sequence(&args, records.start())?;
    super::warn_about(&seq);
    let mut state = resume::read_log(records, &seq, false)?;
    let recorded = state.sha256().unwrap_or_default().to_owned();
    // New parameter values (allowed with --force only) make another experiment too.
    let forced = recorded != seq.sha256 || !args.set.is_empty();
    if forced && !args.force {
        let what = if args.sequence.is_some() {
            "is not the sequence this run started with"
        } else {
            "changed since this run started"
        };
        return Err(Error::usage(format!(
            "sequence `{}` {what} (sha256 {} then, {} now): resuming could mix two experiments; pass --force to resume anyway",
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
    let mut log = append_to(&args.log, state.valid_len)?;
    let points_done = state.resume.ok_points(&seq);
    let record = runlog::ResumeRecord {
        resumed_at: SystemTime::now(),
        sequence: absolute(&seq_path),
        sequence_sha256: &seq.sha256,
        forced,
        params: sequence::params::to_json(&seq.params),
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

/// Opens the run log at `path` to append after its first `valid_len` bytes; a log that
/// cannot be (in use, not writable) is invalid input, as nothing was sent yet.
fn append_to(path: &std::path::Path, valid_len: u64) -> Result<RunLog> {
    RunLog::append(path, valid_len).map_err(|source| {
        if source.kind() == std::io::ErrorKind::WouldBlock {
            Error::usage(format!(
                "run log `{}` is in use by another sequencer process: is that run still going?",
                path.display()
            ))
        } else {
            Error::usage(format!(
                "cannot append to run log `{}`: {source}; make it writable, or resume a copy \
                 of it (nothing was sent)",
                path.display()
            ))
        }
    })
}

/// The sequence a resume runs: `--sequence`, else the file the start record names, loaded.
/// A recorded file that cannot be read (moved, deleted) is invalid input that suggests
/// `--sequence`.
fn resume_sequence(args: &ResumeArgs, start: &serde_json::Value) -> Result<(PathBuf, Sequence)> {
    if !args.set.is_empty() && !args.force {
        let names: Vec<String> = args.set.iter().map(|(n, v)| format!("`{n}={v}`")).collect();
        return Err(Error::usage(format!(
            "--set {} on resume: the points already run used the recorded parameters ({});              resume without --set to use them, or pass --force to continue with new values",
            names.join(", "),
            recorded_params_text(start)
        )));
    }
    if let Some(path) = &args.sequence {
        let overrides = resume_overrides(path, args, start)?;
        return Ok((path.clone(), sequence::load_with(path, &overrides)?));
    }
    let path = start["sequence"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| {
            Error::usage(format!(
                "run log `{}` names no sequence; give it with `--sequence PATH`",
                args.log.display()
            ))
        })?;
    let loaded = resume_overrides(&path, args, start)
        .and_then(|overrides| Ok(sequence::load_with(&path, &overrides)?));
    match loaded {
        Err(Error::ReadSequence { path, source }) => Err(Error::usage(format!(
            "cannot read sequence file `{}`, which run log `{}` was started with: {source}; \
             if it moved, give its new path with `--sequence PATH` (its sha256 is checked)",
            path.display(),
            args.log.display()
        ))),
        loaded => Ok((path, loaded?)),
    }
}

/// The parameters a resume loads the sequence at `path` with: those the start record
/// holds (the run's effective values), then `--set`. A recorded parameter the file no longer
/// has (a changed file, with `--force`) is left out with a warning.
fn resume_overrides(
    path: &std::path::Path,
    args: &ResumeArgs,
    start: &serde_json::Value,
) -> Result<Vec<(String, String)>> {
    let mut overrides = Vec::new();
    if let Some(recorded) = start["params"].as_object().filter(|r| !r.is_empty()) {
        let now = sequence::load(path)?.params;
        for (name, value) in recorded {
            if sequence::params::get(&now, name).is_none() {
                tracing::warn!(
                    "the run log records parameter `{name}`, which sequence `{}` no longer has: \
                     ignored",
                    path.display()
                );
                continue;
            }
            overrides.push((name.clone(), value.to_string()));
        }
    }
    overrides.extend(args.set.iter().cloned());
    Ok(overrides)
}

/// The start record's parameters as `` `name` = value `` text, for messages.
fn recorded_params_text(start: &serde_json::Value) -> String {
    match start["params"].as_object().filter(|r| !r.is_empty()) {
        None => "none".to_owned(),
        Some(recorded) => recorded
            .iter()
            .map(|(name, value)| format!("`{name}` = `{value}`"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// `path` made absolute (as given if that fails), as text for a record.
fn absolute(path: &std::path::Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
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
