//! `sequencer run` and `sequencer resume`: prepare the sequence and the run log, then
//! [`drive`] the run: open one [`Pool`] per instrument, start the [`Sequencer`] (with the
//! pools' connect records to write), forward Ctrl-C/SIGTERM and the deadline to it, report
//! its [`Summary`], and, however the run ended, print the simulators' reports.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;
use tokio::sync::{mpsc, oneshot, watch};

use super::progress::Bar;
use super::report::{report, run_id};
use super::signals::Signals;
use super::{apply_addresses, check_addresses, start_sims};
use crate::cli::{ResumeArgs, RunArgs};
use crate::error::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Error, Result};
use crate::pool::{Open, Pool};
use crate::resume::{self, Resume};
use crate::runlog::{self, RunLog};
use crate::sequence::duration::format_duration;
use crate::sequence::{self, Address, Sequence};
use crate::sequencer::{Interrupt, Progress, Sequencer, Silent};
use crate::sim::SimThread;

/// A run ready to go: its sequence (with addresses), its open log, and its simulators.
struct Prepared {
    seq: Sequence,
    log: RunLog,
    path: PathBuf,
    /// Simulators serving the instruments; dropped (stopped) when the run is over.
    sims: Vec<SimThread>,
    /// What a resumed log already holds (empty for a new run).
    resume: Resume,
    /// `--deadline`.
    deadline: Option<Duration>,
    /// Listening since the command started, so no Ctrl-C kills the process unrecorded.
    signals: Signals,
}

/// `sequencer run`.
pub async fn run(args: RunArgs) -> Result<i32> {
    let signals = Signals::new();
    let mut seq = sequence::load(&args.sequence)?;
    apply_addresses(&mut seq, &args.address)?;
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
        println!(
            "nothing to resume: run log `{}` ended with success",
            args.log.display()
        );
        return Ok(EXIT_OK);
    }
    recorded_addresses(
        &mut seq,
        &state.latest,
        args.sim.sim || !args.address.is_empty(),
    )?;
    apply_addresses(&mut seq, &args.address)?;
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
    println!(
        "resuming `{}`: {points_done} of {} points already ok",
        seq.name,
        seq.total_points()
    );
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

/// Opens the pools, runs the sequencer to the end, and reports; then stops the simulators
/// and prints what they report, however the run ended (a replay's unrecorded commands are
/// often why it failed early).
async fn drive(mut run: Prepared) -> Result<i32> {
    let sims = std::mem::take(&mut run.sims);
    let result = run_to_end(run).await;
    // `stop` joins the simulator's OS thread, blocking this (actix) thread, on purpose:
    // the run is over, and the join only waits for that thread's runtime to abort its
    // sessions, drop them and return the model's report. Measured (debug build, the
    // connections already closed, as here): 0.3 ms median, 5 ms worst of 20 stops after
    // 256 connections; not worth a `spawn_blocking` thread.
    for sim in sims {
        if let Some(report) = sim.stop() {
            crate::logging::notice(tracing::Level::WARN, &format!("simulator: {report}"));
        }
    }
    result
}

/// Opens the pools, runs the sequencer to the end, and reports its summary.
async fn run_to_end(run: Prepared) -> Result<i32> {
    let Prepared {
        seq,
        mut log,
        path,
        sims: _,
        resume,
        deadline,
        mut signals,
    } = run;
    let seq = Arc::new(seq);
    let clock = Instant::now();
    // The deadline counts from here, connecting included.
    let deadline_at = deadline.map(|d| (tokio::time::Instant::now() + d, d));
    let (abort_tx, abort_rx) = watch::channel(0u64);
    // Every connection holds a clone of `alive_tx`: `alive` ends when all are closed.
    let (alive_tx, mut alive) = mpsc::channel::<()>(1);
    // The pools send each new connection's `on_connect` record here, for the log.
    let (connects_tx, mut connects) = mpsc::unbounded_channel();
    // Ctrl-C (or the deadline) while connecting still ends the log with a stop record.
    let opened = tokio::select! {
        opened = open_pools(&seq, &abort_rx, &alive_tx, &connects_tx) => opened,
        () = signals.recv() => Err(Error::Interrupted("interrupted by the operator".into())),
        () = until(deadline_at) => Err(Error::Interrupted(deadline_reason(deadline_at))),
    };
    let pools = match opened {
        Ok(pools) => pools,
        Err(err) => {
            // The connections that did open sent their `on_connect` commands: log them.
            let mut written = Ok(());
            while let Ok(record) = connects.try_recv() {
                written = written.and_then(|()| log.write("connect", &record));
            }
            let interrupted = matches!(err, Error::Interrupted(_));
            let already = resume.ok_points(&seq);
            let stop = runlog::Stop {
                exit_status: if interrupted { "abort" } else { "fail" },
                reason: &err.to_string(),
                points_ok: already,
                points_failed: 0,
                points_aborted: 0,
                points_not_run: seq.total_points().saturating_sub(already),
                retries: 0,
                ended_at: SystemTime::now(),
            };
            written
                .and_then(|()| log.write("stop", &stop))
                .and_then(|()| log.sync())
                .map_err(|source| Error::RunLog {
                    path: path.clone(),
                    source,
                })?;
            return Err(err);
        }
    };
    drop((alive_tx, connects_tx));
    let (tx, rx) = oneshot::channel();
    // A bar per step on a terminal; nothing otherwise (piped, `--quiet`).
    let progress: Box<dyn Progress> = match crate::logging::bars() {
        Some(bars) => Box::new(Bar::new(bars)),
        None => Box::new(Silent),
    };
    let sequencer = Sequencer::new(seq.clone(), pools, log, abort_tx, resume, tx)
        .with_progress(progress)
        .with_connects(connects)
        .start();
    let interrupts = actix::spawn(watch_interrupts(signals, sequencer.clone()));
    let timer = deadline_at.map(|at| {
        let sequencer = sequencer.clone();
        actix::spawn(async move {
            until(Some(at)).await;
            sequencer.do_send(Interrupt::Deadline(deadline_reason(Some(at))));
        })
    });
    let Ok(summary) = rx.await else {
        // The sequencer died (a bug): still end the log with a stop record saying so.
        let err = Error::Internal("the sequencer stopped without a summary".into());
        let len = std::fs::metadata(&path).map_or(0, |m| m.len());
        if let Ok(mut log) = RunLog::append(&path, len) {
            let stop = runlog::Stop {
                exit_status: "fail",
                reason: &err.to_string(),
                points_ok: 0,
                points_failed: 0,
                points_aborted: 0,
                points_not_run: 0,
                retries: 0,
                ended_at: SystemTime::now(),
            };
            let _ = log.write("stop", &stop).and_then(|()| log.sync());
        }
        return Err(err);
    };
    let elapsed = clock.elapsed();
    interrupts.abort();
    if let Some(t) = timer {
        t.abort();
    }
    // The sequencer is gone, so are its pools: let their connections close (and log it)
    // before the summary and the exit. Bounded: one stuck in a point must not hold the exit.
    let _ = tokio::time::timeout(CLOSE_WAIT, alive.recv()).await;
    report(&summary, &path, elapsed, &seq);
    Ok(match summary.exit_status {
        "success" => EXIT_OK,
        "abort" => EXIT_INTERRUPTED,
        _ => EXIT_FAILED,
    })
}

/// Longest wait, once the run is over, for its connections to close and log it.
const CLOSE_WAIT: Duration = Duration::from_millis(250);

/// Resolves at the deadline; never without one.
async fn until(deadline: Option<(tokio::time::Instant, Duration)>) {
    match deadline {
        Some((at, _)) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The stop reason for a passed deadline.
fn deadline_reason(deadline: Option<(tokio::time::Instant, Duration)>) -> String {
    let d = deadline.map_or(Duration::ZERO, |(_, d)| d);
    format!("deadline of {} exceeded", format_duration(d))
}

/// Opens every instrument's pool, returning each with the connections it opened; warns
/// when an instrument accepts fewer connections than asked, fails when one accepts none.
async fn open_pools(
    seq: &Sequence,
    abort: &watch::Receiver<u64>,
    alive: &mpsc::Sender<()>,
    connects: &mpsc::UnboundedSender<runlog::Connect>,
) -> Result<Vec<(Addr<Pool>, usize)>> {
    let ids = Arc::new(AtomicUsize::new(0));
    let mut pools = Vec::new();
    for ins in &seq.instruments {
        let Some(address) = ins.address.clone() else {
            return Err(Error::Internal(format!(
                "instrument `{}` has no address",
                ins.name
            )));
        };
        let pool = Pool::new(
            Arc::new(ins.clone()),
            address.clone(),
            ids.clone(),
            abort.clone(),
            alive.clone(),
        )
        .recording_connects(connects.clone())
        .start();
        let opened = pool
            .send(Open)
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|reason| Error::Connect {
                instrument: ins.name.clone(),
                address: address.to_string(),
                reason,
            })?;
        if opened < ins.max_connections {
            let which = if seq.instruments.len() > 1 {
                format!("instrument `{}`", ins.name)
            } else {
                "instrument".to_owned()
            };
            tracing::warn!(
                "{which} accepted {opened} of {} connections; continuing with {opened}",
                ins.max_connections
            );
        }
        pools.push((pool, opened));
    }
    Ok(pools)
}

/// Forwards every Ctrl-C (or SIGTERM) to the sequencer, which escalates: stop dispatching,
/// then cancel the points in flight, then exit at once.
async fn watch_interrupts(mut signals: Signals, sequencer: Addr<Sequencer>) {
    loop {
        signals.recv().await;
        sequencer.do_send(Interrupt::Signal);
    }
}
