//! Driving a prepared run: open one [`Pool`] per instrument (all at once), start the
//! [`Sequencer`] (the pools send it their connect records once it subscribes), forward Ctrl-C/SIGTERM and the
//! deadline to it, report its summary, and, however the run ended, print the simulators'
//! reports.

use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;
use tokio::sync::{mpsc, oneshot};

use super::progress::Bar;
use super::report::{report, summary_of};
use super::signals::{Caught, Signals};
use super::tally::tally;
use crate::abort::Abort;
use crate::connection::{Dialer, Lenders, Tcp};
use crate::error::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Error, Result};
use crate::pool::{Lending, Open, Pool, TakeConnects};
use crate::resume::Resume;
use crate::runlog::{self, RunLog};
use crate::sequence::Sequence;
use crate::sequence::duration::format_duration;
use crate::sequencer::{Interrupt, Progress, Sequencer, Silent};
use crate::sim::SimThread;

/// A run ready to go: its sequence (with addresses), its open log, and its simulators.
pub(super) struct Prepared {
    pub(super) seq: Sequence,
    pub(super) log: RunLog,
    pub(super) path: PathBuf,
    /// Simulators serving the instruments; dropped (stopped) when the run is over.
    pub(super) sims: Vec<SimThread>,
    /// What a resumed log already holds (empty for a new run).
    pub(super) resume: Resume,
    /// `--deadline`.
    pub(super) deadline: Option<Duration>,
    /// Listening since the command started, so no Ctrl-C kills the process unrecorded.
    pub(super) signals: Signals,
}

/// Opens the pools, runs the sequencer to the end, and reports; then stops the simulators
/// and prints what they report, however the run ended (a replay's unrecorded commands are
/// often why it failed early).
pub(super) async fn drive(mut run: Prepared) -> Result<i32> {
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
    let abort = Abort::default();
    // Every connection holds a clone of `alive_tx`: `alive` ends when all are closed.
    let (alive_tx, mut alive) = mpsc::channel::<()>(1);
    // Every pool gets its `Open` before any answer is awaited, so the instruments are
    // dialled at the same time, not one after another.
    let (pools, opening) = start_pools(&seq, &abort, &alive_tx)?;
    // Ctrl-C (or the deadline) while connecting still ends the log with a stop record.
    let opened = tokio::select! {
        opened = await_open(opening) => opened,
        caught = signals.recv() => Err(Error::Interrupted(caught.reason().into())),
        () = until(deadline_at) => Err(Error::Interrupted(deadline_reason(deadline_at))),
    };
    let pools = match opened {
        Ok(caps) => pools.into_iter().zip(caps).collect(),
        Err(err) => {
            // The connections that did open sent their `on_connect` commands: log them.
            let mut written = Ok(());
            for pool in &pools {
                for record in pool.send(TakeConnects).await.unwrap_or_default() {
                    written = written.and_then(|()| log.write("connect", &record));
                }
            }
            let interrupted = matches!(err, Error::Interrupted(_));
            let already = resume.ok_points(&seq);
            let stop = runlog::Stop {
                exit_status: if interrupted { "abort" } else { "fail" },
                reason: &err.to_string(),
                points_ok: already,
                points_failed: 0,
                points_aborted: 0,
                points_skipped: 0,
                points_not_run: seq.total_points().saturating_sub(already),
                retries: 0,
                ended_at: SystemTime::now(),
            };
            let written = written.and_then(|()| log.write_stop(&stop));
            // Scripts read the summary's first line whatever happened.
            let log_error = written.as_ref().err().map(ToString::to_string);
            report(&summary_of(&stop, log_error), &path, clock.elapsed(), &seq);
            written.map_err(|source| Error::RunLog {
                path: path.clone(),
                source,
            })?;
            return Err(err);
        }
    };
    drop(alive_tx);
    let (tx, rx) = oneshot::channel();
    // A bar per step on a terminal; nothing otherwise (piped, `--quiet`).
    let progress: Box<dyn Progress> = match crate::logging::bars() {
        Some(bars) => Box::new(Bar::new(bars)),
        None => Box::new(Silent),
    };
    let sequencer = Sequencer::new(seq.clone(), pools, log, abort, resume, tx)
        .with_progress(progress)
        .with_notices(crate::logging::notice)
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
        return Err(died(&path, &seq, clock.elapsed()));
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

/// The sequencer died (a bug): still ends the log with a stop record saying so, with the
/// counts its point records give, and prints the summary. Returns the error to report.
fn died(path: &Path, seq: &Sequence, elapsed: Duration) -> Error {
    let err = Error::Internal("the sequencer stopped without a summary".into());
    let len = std::fs::metadata(path).map_or(0, |m| m.len());
    let counts = tally(path, seq);
    let reason = err.to_string();
    let stop = runlog::Stop {
        exit_status: "fail",
        reason: &reason,
        points_ok: counts.ok,
        points_failed: counts.failed,
        points_aborted: counts.aborted,
        points_skipped: 0,
        points_not_run: seq
            .total_points()
            .saturating_sub(counts.ok + counts.failed + counts.aborted),
        retries: counts.retries,
        ended_at: SystemTime::now(),
    };
    let written = RunLog::append(path, len).and_then(|mut log| log.write_stop(&stop));
    let log_error = written.err().map(|e| e.to_string());
    report(&summary_of(&stop, log_error), path, elapsed, seq);
    err
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

/// Starts every instrument's pool and asks each to open its connections ([`Open`]); returns
/// the pools, and their answers to await with [`await_open`].
fn start_pools(
    seq: &Sequence,
    abort: &Abort,
    alive: &mpsc::Sender<()>,
) -> Result<(Vec<Addr<Pool>>, Vec<Opening>)> {
    let ids = Arc::new(AtomicUsize::new(0));
    let tcp: Rc<dyn Dialer> = Rc::new(Tcp);
    let mut pools = Vec::new();
    let mut opening = Vec::new();
    // The pools lend each other connections for `on:` commands, if any command says `on:`
    // (otherwise a connection need not look at each point's commands for them).
    let lends = seq
        .leaves()
        .chain(&seq.setup)
        .chain(&seq.teardown)
        .any(|step| step.commands.iter().any(|c| c.on().is_some()));
    let lending = Rc::new(Lending::new(
        seq.instruments.iter().map(|i| i.name.clone()).collect(),
    ));
    let lenders: Rc<dyn Lenders> = lending.clone();
    for (index, ins) in seq.instruments.iter().enumerate() {
        let Some(address) = ins.address.clone() else {
            return Err(Error::Internal(format!(
                "instrument `{}` has no address",
                ins.name
            )));
        };
        let pool = Pool::new(
            Arc::new(ins.clone()),
            tcp.clone(),
            address.clone(),
            ids.clone(),
            abort.clone(),
            alive.clone(),
        );
        let pool = if lends {
            pool.lending(index, lenders.clone())
        } else {
            pool
        }
        .start();
        opening.push(Opening {
            instrument: ins.name.clone(),
            address: address.to_string(),
            answer: pool.send(Open),
        });
        pools.push(pool);
    }
    lending.set(&pools);
    Ok((pools, opening))
}

/// One pool's pending answer to [`Open`].
struct Opening {
    /// The instrument's name.
    instrument: String,
    /// Where it is dialled.
    address: String,
    /// The answer: the connections the pool will keep, or why none opened.
    answer: actix::dev::Request<Pool, Open>,
}

/// Awaits every pool's answer to [`Open`] (each comes as soon as one connection is open;
/// the pools warn when an instrument accepts fewer than asked): the connections each will
/// keep, or the first instrument that accepts none.
async fn await_open(opening: Vec<Opening>) -> Result<Vec<usize>> {
    let mut caps = Vec::new();
    for o in opening {
        let cap = o
            .answer
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
            .map_err(|reason| Error::Connect {
                instrument: o.instrument,
                address: o.address,
                reason: reason.to_string(),
            })?;
        caps.push(cap);
    }
    Ok(caps)
}

/// Forwards every Ctrl-C (or SIGTERM) to the sequencer, which escalates: stop dispatching,
/// then cancel the points in flight, then exit at once; and SIGHUP, which only ever stops
/// dispatching.
async fn watch_interrupts(mut signals: Signals, sequencer: Addr<Sequencer>) {
    loop {
        let interrupt = match signals.recv().await {
            Caught::Interrupt => Interrupt::Signal,
            Caught::Hangup => Interrupt::Hangup,
        };
        sequencer.do_send(interrupt);
    }
}
