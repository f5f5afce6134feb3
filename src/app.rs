//! The subcommands carried out: `run`, `check`, `sim`.
//!
//! `run` loads and validates the sequence, applies `--address`/`--sim`, creates the run log,
//! opens one [`Pool`] per instrument, starts the [`Sequencer`] and waits for its
//! [`Summary`]. Everything here runs inside the actix system that `main` starts.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Instant, SystemTime};

use actix::prelude::*;
use tokio::sync::oneshot;

use crate::cli::{Command, RunArgs, SimArgs};
use crate::error::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Error, Result};
use crate::pool::{Open, Pool};
use crate::runlog::{self, RunLog};
use crate::sequence::duration::format_duration;
use crate::sequence::{self, Address, Sequence, plan};
use crate::sequencer::{Interrupt, Sequencer, Summary};
use crate::sim::{self, SimConfig, SimThread};

/// Carries out one subcommand; returns the process exit code.
pub async fn execute(command: Command) -> Result<i32> {
    match command {
        Command::Run(args) => run(args).await,
        Command::Check { sequence } => {
            let seq = sequence::load(&sequence)?;
            print!("{}", plan::describe(&seq));
            Ok(EXIT_OK)
        }
        Command::Sim(args) => serve(args).await,
    }
}

/// `sequencer sim`: serve until Ctrl-C.
async fn serve(args: SimArgs) -> Result<i32> {
    let sim_err = |source| Error::Sim {
        address: args.listen.clone(),
        source,
    };
    let listen: std::net::SocketAddr = args.listen.parse().map_err(|_| {
        Error::usage(format!(
            "--listen `{}` is not an address such as `127.0.0.1:5025` (port 0 picks a free port)",
            args.listen
        ))
    })?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(sim_err)?;
    let addr = listener.local_addr().map_err(sim_err)?;
    println!("listening on {addr}");
    let config = SimConfig {
        latency: args.latency,
        max_connections: args
            .max_connections
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    sim::run_with(listener, config, shutdown)
        .await
        .map_err(sim_err)?;
    Ok(EXIT_OK)
}

/// Applies `--address` values to the sequence's instruments.
fn apply_addresses(seq: &mut Sequence, values: &[String]) -> Result<()> {
    for value in values {
        let (name, addr) = match value.split_once('=') {
            Some((name, addr)) => (Some(name), addr),
            None => (None, value.as_str()),
        };
        let address = Address::parse(addr).map_err(|m| Error::usage(format!("--address: {m}")))?;
        let index = match name {
            Some(name) => seq
                .instruments
                .iter()
                .position(|i| i.name == name)
                .ok_or_else(|| {
                    Error::usage(format!(
                        "--address: no instrument named `{name}` (instruments: {})",
                        instrument_names(seq)
                    ))
                })?,
            None if seq.instruments.len() == 1 => 0,
            None => {
                return Err(Error::usage(format!(
                    "--address: this sequence has several instruments; write `NAME=ADDR` (instruments: {})",
                    instrument_names(seq)
                )));
            }
        };
        seq.instruments[index].address = Some(address);
    }
    Ok(())
}

fn instrument_names(seq: &Sequence) -> String {
    seq.instruments
        .iter()
        .map(|i| format!("`{}`", i.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Loads the sequence and gives every instrument its address: `--address`, or a
/// simulator with `--sim` (returned: it runs until dropped).
fn prepare(args: &RunArgs) -> Result<(Sequence, Vec<SimThread>)> {
    let mut seq = sequence::load(&args.sequence)?;
    apply_addresses(&mut seq, &args.address)?;
    // Simulators live until the run is over (dropping one stops it).
    let mut sims = Vec::new();
    if args.sim {
        for ins in &mut seq.instruments {
            let config = SimConfig {
                latency: args.sim_latency,
                max_connections: None,
            };
            let sim = SimThread::spawn(config).map_err(|source| Error::Sim {
                address: "127.0.0.1:0".into(),
                source,
            })?;
            ins.address = Some(sim.addr().into());
            sims.push(sim);
        }
    }
    if let Some(ins) = seq.instruments.iter().find(|i| i.address.is_none()) {
        return Err(Error::usage(format!(
            "instrument `{}` has no address: add `address:` to it in `{}`, or pass --address ADDR or --sim",
            ins.name,
            args.sequence.display()
        )));
    }
    Ok((seq, sims))
}

/// `sequencer run`.
async fn run(args: RunArgs) -> Result<i32> {
    let (seq, sims) = prepare(&args)?;
    let started_at = SystemTime::now();
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| RunLog::default_path(&seq.name, started_at));
    let log_err = |source| Error::RunLog {
        path: path.clone(),
        source,
    };
    let mut log = RunLog::create(&path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            // Nothing was sent: a clash of names is invalid input, not a failed run.
            Error::usage(format!(
                "run log `{}` already exists; choose another `-o` path (logs are never overwritten)",
                path.display()
            ))
        } else {
            log_err(source)
        }
    })?;
    let run_id = run_id(&seq.name, started_at);
    let start = runlog::Start {
        run_id: &run_id,
        name: &seq.name,
        sequence: args.sequence.display().to_string(),
        sequence_sha256: &seq.sha256,
        metadata: &seq.metadata,
        instruments: seq
            .instruments
            .iter()
            .map(|i| runlog::InstrumentEntry {
                name: &i.name,
                address: i
                    .address
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                max_connections: i.max_connections,
                simulated: args.sim,
            })
            .collect(),
        total_points: seq.total_points(),
        started_at,
        version: env!("CARGO_PKG_VERSION"),
    };
    log.write("start", &start).map_err(log_err)?;
    let seq = Arc::new(seq);
    let clock = Instant::now();
    // Ctrl-C while connecting still ends the log with a stop record.
    let opened = tokio::select! {
        opened = open_pools(&seq) => opened,
        () = wait_signal() => Err(Error::Interrupted),
    };
    let pools = match opened {
        Ok(pools) => pools,
        Err(err) => {
            let interrupted = matches!(err, Error::Interrupted);
            let stop = runlog::Stop {
                exit_status: if interrupted { "abort" } else { "fail" },
                reason: &err.to_string(),
                points_ok: 0,
                points_failed: 0,
                points_not_run: seq.total_points(),
                ended_at: SystemTime::now(),
            };
            log.write("stop", &stop)
                .and_then(|()| log.sync())
                .map_err(log_err)?;
            return Err(err);
        }
    };
    let (tx, rx) = oneshot::channel();
    let sequencer = Sequencer::new(seq.clone(), pools, log, tx).start();
    let interrupts = actix::spawn(watch_interrupts(sequencer));
    let summary = rx
        .await
        .map_err(|_| Error::Internal("the sequencer stopped without a summary".into()))?;
    interrupts.abort();
    drop(sims);
    report(&summary, &path, clock.elapsed(), &seq);
    Ok(match summary.exit_status {
        "success" => EXIT_OK,
        "abort" => EXIT_INTERRUPTED,
        _ => EXIT_FAILED,
    })
}

/// Opens every instrument's pool, returning each with the connections it opened; warns when an instrument accepts fewer connections than
/// asked, fails when one accepts none.
async fn open_pools(seq: &Sequence) -> Result<Vec<(Addr<Pool>, usize)>> {
    let ids = Arc::new(AtomicUsize::new(0));
    let mut pools = Vec::new();
    for ins in &seq.instruments {
        let Some(address) = ins.address.clone() else {
            return Err(Error::Internal(format!(
                "instrument `{}` has no address",
                ins.name
            )));
        };
        let pool = Pool::new(Arc::new(ins.clone()), address.clone(), ids.clone()).start();
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

/// First Ctrl-C (or SIGTERM): stop dispatching, finish, teardown. Second: exit at once.
async fn watch_interrupts(sequencer: Addr<Sequencer>) {
    wait_signal().await;
    sequencer.do_send(Interrupt);
    wait_signal().await;
    eprintln!("interrupted twice: exiting now");
    std::process::exit(EXIT_INTERRUPTED);
}

/// Waits for SIGINT or SIGTERM; never returns if signals cannot be watched.
async fn wait_signal() {
    if !signalled().await {
        std::future::pending::<()>().await;
    }
}

/// Waits for SIGINT or SIGTERM; false if signals cannot be watched.
async fn signalled() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return tokio::signal::ctrl_c().await.is_ok();
        };
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.is_ok(),
            _ = term.recv() => true,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

/// A run id unique enough to tell runs apart: name, start time and a random suffix.
fn run_id(name: &str, at: SystemTime) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    let secs = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{name}-{secs}-{:08x}", h.finish() as u32)
}

/// The end-of-run summary on stdout.
fn report(summary: &Summary, path: &Path, elapsed: std::time::Duration, seq: &Sequence) {
    println!(
        "{}: {} of {} points ok, {} failed, {} not run in {} ({})",
        seq.name,
        summary.points_ok,
        seq.total_points(),
        summary.points_failed,
        summary.points_not_run,
        format_duration(std::time::Duration::from_millis(elapsed.as_millis() as u64)),
        summary.exit_status
    );
    if summary.exit_status != "success" {
        println!("reason: {}", summary.reason);
    }
    if let Some(e) = &summary.log_error {
        println!("run log incomplete: {e}");
    }
    println!("run log: {}", path.display());
}
