//! The subcommands carried out: `run`, `resume`, `check`, `sim`, `diff`, `export`, `plot`,
//! `schema`, `completions` ([`generate`] for the last two).
//!
//! `run` and `resume` live in [`run`]: they prepare a run log and a sequence with addresses,
//! then `drive::drive` opens the pools, starts the sequencer and waits for its summary.
//! Everything here runs inside the actix system that `main` starts. `export` and `plot`
//! only read a run log: [`crate::export`] and [`crate::plot`] do the work.

mod drive;
mod generate;
mod limits;
mod progress;
mod report;
mod run;
mod signals;
mod stdout;
mod tally;

use std::path::Path;
use std::sync::Arc;

use crate::cli::{Command, ModelArgs, SimArgs, SimOpts};
use crate::error::{EXIT_FAILED, EXIT_OK, Error, Result};
use crate::sequence::{self, Address, Greeting, Sequence, SimDevice, plan};
use crate::sim::pyvisa::{DeviceError, DeviceFile};
use crate::sim::replay::Recording;
use crate::sim::{self, Blueprint, Faults, SimConfig, SimThread};

/// Carries out one subcommand; returns the process exit code.
pub async fn execute(command: Command) -> Result<i32> {
    match command {
        Command::Run(args) => run::run(args).await,
        Command::Resume(args) => run::resume(args).await,
        Command::Check { sequence, set } => {
            let seq = sequence::load_with(&sequence, &set)?;
            warn_about(&seq);
            // What `run --sim` would serve must load too: a bad device file is invalid input.
            for ins in &seq.instruments {
                if let Some(sim) = &ins.sim.device {
                    sim_device(&seq, &ins.name, sim)?;
                }
            }
            stdout::say(&plan::describe(&seq));
            Ok(EXIT_OK)
        }
        Command::Sim(args) => serve(args).await,
        Command::Export(args) => stdout::quiet_if_closed(
            crate::export::export(&args.log, args.format, args.output.as_deref()).map(|_| EXIT_OK),
        ),
        Command::Plot(args) => {
            let request = crate::plot::Request {
                log: args.log,
                x: args.x,
                y: args.y,
                group: args.group,
                output: args.output,
            };
            stdout::say(&format!("{}\n", crate::plot::plot(&request)?));
            Ok(EXIT_OK)
        }
        Command::Schema => stdout::quiet_if_closed(generate::schema()),
        Command::Completions { shell } => stdout::quiet_if_closed(generate::completions(shell)),
        Command::Diff { a, b } => stdout::quiet_if_closed(diff(&a, &b)),
    }
}

/// `sequencer diff A B`: the differences on stdout; exit 0 when there are none, else 1.
fn diff(a: &Path, b: &Path) -> Result<i32> {
    let diff = crate::diff::diff(a, b)?;
    for note in diff.notes() {
        tracing::warn!("{note}");
    }
    stdout::product(|out| writeln!(out, "{diff}"))?;
    Ok(if diff.is_equal() {
        EXIT_OK
    } else {
        EXIT_FAILED
    })
}

/// Logs the sequence's warnings (valid, but likely not meant), each with `file:line:col`.
fn warn_about(seq: &Sequence) {
    for warning in &seq.warnings {
        tracing::warn!("{warning}");
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
    // Load the device file or recording first: a bad one must not look like a server.
    let blueprint = blueprint(&args.model, args.instrument.as_deref())?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(sim_err)?;
    let addr = listener.local_addr().map_err(sim_err)?;
    stdout::say(&format!("listening on {addr}\n"));
    let config = SimConfig {
        latency: args.latency,
        max_connections: args
            .max_connections
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
        faults: faults(&args.faults)?,
        blueprint,
        eom: args.eom,
        greeting: args.greeting,
        delayed_acks: false,
    };
    if !config.faults.is_empty() {
        tracing::warn!("injecting faults: {}", config.faults);
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let report = sim::run_with(listener, config, shutdown)
        .await
        .map_err(sim_err)?;
    if let Some(report) = report {
        crate::logging::notice(tracing::Level::WARN, &report);
    }
    Ok(EXIT_OK)
}

/// The instrument `--device` or `--replay` asks for (of a recording: `instrument`, which a
/// log of several instruments needs); `None` for the generic device.
fn blueprint(args: &ModelArgs, instrument: Option<&str>) -> Result<Option<Arc<dyn Blueprint>>> {
    if let Some(path) = &args.device {
        let device = DeviceFile::load(path, args.name.as_deref())?;
        return Ok(Some(Arc::new(device)));
    }
    if let Some(path) = &args.replay {
        let recording = Recording::load(path, args.replay_speed)?;
        return Ok(Some(Arc::new(recording.instrument(instrument)?)));
    }
    Ok(None)
}

/// The device file an instrument's `sim:` entry names, read relative to the sequence file
/// (by `run --sim`, `resume --sim` and `check`). Every error names the instrument and
/// where its `sim:` is in the sequence; problems inside the file point at its own lines.
fn sim_device(seq: &Sequence, instrument: &str, sim: &SimDevice) -> Result<Arc<dyn Blueprint>> {
    let base = seq.path.parent().unwrap_or(Path::new(""));
    let path = base.join(&sim.device);
    let origin = format!(
        "instrument `{instrument}`: the `sim:` device file `{}` (named at {}:{}:{})",
        path.display(),
        seq.path.display(),
        sim.line,
        sim.column
    );
    let device = DeviceFile::load(&path, sim.name.as_deref()).map_err(|e| match e {
        DeviceError::Read { source, .. } => {
            Error::usage(format!("{origin} cannot be read: {source}"))
        }
        DeviceError::Invalid(problems) => {
            Error::from((*problems).with_origin(format!("{origin} is not valid")))
        }
        e @ (DeviceError::NoDevice { .. } | DeviceError::Several { .. }) => {
            Error::usage(format!("{origin}: {e}"))
        }
        e @ DeviceError::Unexplained { .. } => e.into(),
    })?;
    Ok(Arc::new(device))
}

/// Applies `--address` values to the sequence's instruments.
pub(crate) fn apply_addresses(seq: &mut Sequence, values: &[String]) -> Result<()> {
    for value in values {
        let (name, addr) = match value.split_once('=') {
            Some((name, addr)) => (Some(name), addr),
            None => (None, value.as_str()),
        };
        let address = Address::parse(addr).map_err(|reason| Error::Address {
            instrument: name.map(str::to_owned),
            reason,
        })?;
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

/// Parses `--fault` values.
fn faults(specs: &[String]) -> Result<Faults> {
    Faults::parse(specs).map_err(|reason| Error::Flag {
        flag: "--fault",
        reason: Box::new(reason),
    })
}

/// With `--sim`, starts one simulator per instrument and points the instrument at it. The
/// simulators run until the returned handles are dropped.
fn start_sims(seq: &mut Sequence, opts: &SimOpts) -> Result<Vec<SimThread>> {
    let mut sims = Vec::new();
    if !opts.sim && !opts.model.is_set() {
        if !opts.faults.is_empty() || !opts.sim_latency.is_zero() {
            return Err(Error::usage(
                "--fault and --sim-latency shape the built-in simulator: add --sim, --device FILE or --replay LOG (real instruments bring their own faults)",
            ));
        }
        return Ok(sims);
    }
    let faults = faults(&opts.faults)?;
    if opts.model.device.is_some() && seq.instruments.len() > 1 {
        return Err(Error::usage(
            "--device simulates one instrument and this sequence has several: name a device file per instrument with `sim: {device: FILE}` in the sequence",
        ));
    }
    // A recording is replayed per instrument: each gets its own records, framed as the
    // sequence says.
    let recording = match &opts.model.replay {
        Some(path) => Some(Recording::load(path, opts.model.replay_speed)?),
        None => None,
    };
    let given = match &opts.model.device {
        Some(_) => blueprint(&opts.model, None)?,
        None => None,
    };
    let alone = seq.instruments.len() == 1;
    let per_instrument = seq
        .instruments
        .iter()
        .map(|ins| match (&recording, &given, &ins.sim.device) {
            (Some(recording), _, _) => {
                let replay = recording.replay_of(&ins.name, alone, &ins.io)?;
                Ok(Some(Arc::new(replay) as Arc<dyn Blueprint>))
            }
            (None, Some(given), _) => Ok(Some(Arc::clone(given))),
            (None, None, Some(sim)) => sim_device(seq, &ins.name, sim).map(Some),
            (None, None, None) => Ok(None),
        })
        .collect::<Result<Vec<_>>>()?;
    for (ins, blueprint) in seq.instruments.iter_mut().zip(per_instrument) {
        // An instrument declared to greet (`greeting: line`) is simulated greeting: the
        // generic device with its `*IDN?` text; a device file or a replay as it says.
        let greeting = (ins.greeting == Greeting::Line && blueprint.is_none())
            .then(|| crate::sim::device::IDN.to_owned());
        let config = SimConfig {
            latency: opts.sim_latency,
            max_connections: None,
            faults: faults.clone(),
            blueprint,
            // The `sim:` entry's terminations frame whatever is served, a replay included.
            eom: ins.sim.eom.clone(),
            greeting,
            delayed_acks: false,
        };
        let sim = SimThread::spawn(config).map_err(|source| Error::Sim {
            address: "127.0.0.1:0".into(),
            source,
        })?;
        ins.address = Some(sim.addr().into());
        sims.push(sim);
    }
    Ok(sims)
}

/// Refuses to run with an instrument that has no address.
fn check_addresses(seq: &Sequence) -> Result<()> {
    match seq.instruments.iter().find(|i| i.address.is_none()) {
        Some(ins) => Err(Error::usage(format!(
            "instrument `{}` has no address: add `address:` to it in `{}`, or pass --address ADDR or --sim",
            ins.name,
            seq.path.display()
        ))),
        None => Ok(()),
    }
}
