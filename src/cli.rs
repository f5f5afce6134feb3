//! Command-line interface: subcommands and flags (clap derive).
//!
//! Only parsing lives here; [`crate::app`] carries the commands out.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::sequence::Eom;
use crate::sequence::bounds::{MAX_DURATION, MAX_DURATION_TEXT};
use crate::sequence::duration::{DurationError, format_duration, parse_duration};
use crate::sequence::termination::{TerminationError, unescape};

/// Run YAML experiment sequences against lab instruments over a pool of TCP connections.
#[derive(Debug, Parser)]
#[command(name = "sequencer", version, about, long_about = None)]
#[command(after_help = "Examples:\n  \
    sequencer run sequences/sweep.yaml --sim\n  \
    sequencer run sweep.yaml --address 127.0.0.1:5025 -o runs/today.jsonl\n  \
    sequencer run sequences/cryostat-iv.yaml --sim --set vmax=0.5 --set temps=[300,200]\n  \
    sequencer check sweep.yaml\n  \
    sequencer sim --listen 127.0.0.1:5025 --latency 10ms --max-connections 4\n  \
    sequencer sim --device sequences/devices/smu.yaml\n  \
    sequencer diff runs/golden.jsonl runs/today.jsonl\n  \
    sequencer export runs/today.jsonl -o today.csv\n  \
    sequencer plot runs/today.jsonl --x volt --y current --group ch\n  \
    sequencer run sequences/two-instruments.yaml --address smu=10.0.0.7:5025\n  \
    sequencer schema > sequence.schema.json")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v info, -vv debug); `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr, and no progress bar.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log lines on stderr as text for people or as JSON objects (one a line) for machines.
    #[arg(long, global = true, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How log lines on stderr are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `2026-11-25T02:26:57.889Z  INFO connection open conn=1 instrument=smu ...`
    Text,
    /// `{"timestamp":"...","level":"INFO","message":"connection open","conn":1,...}`
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a sequence and write its run log.
    #[command(after_help = "Examples:\n  \
        sequencer run sequences/sweep.yaml --sim\n  \
        sequencer run sweep.yaml --address TCPIP::192.168.0.5::5025::SOCKET -o runs/today.jsonl\n  \
        sequencer run sequences/two-instruments.yaml --address smu=10.0.0.7:5025   # one of several instruments\n\n\
        Exit codes: 0 success, 1 run failed, 2 invalid input (nothing sent), 130 interrupted.")]
    Run(RunArgs),
    /// Continue an interrupted or failed run from its log: runs every point that is not
    /// `ok` yet and appends to the same log.
    #[command(after_help = "Examples:\n  \
        sequencer resume runs/iv-sweep-20261125-021627.jsonl\n  \
        sequencer resume runs/today.jsonl --address 127.0.0.1:5025\n  \
        sequencer resume runs/today.jsonl --sequence ~/moved/sweep.yaml   # the sequence file moved\n\n\
        The sequence file must be unchanged (its sha256 is in the log) unless --force is given.")]
    Resume(ResumeArgs),
    /// Validate a sequence and print its plan; sends nothing.
    #[command(after_help = "Examples:\n  sequencer check sequences/sweep.yaml\n  \
        sequencer check sequences/cryostat-iv.yaml --set temps=[300,200] --set vmax=0.5")]
    Check {
        /// The sequence file.
        sequence: PathBuf,
        /// Set a parameter of the file's `params:` (repeatable): VALUE is read as YAML,
        /// e.g. `--set vmax=0.5`, `--set temps=[300,200]`, `--set settle=2s`.
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = set_arg)]
        set: Vec<(String, String)>,
    },
    /// Serve the built-in simulated instrument over TCP.
    #[command(
        after_help = "Examples:\n  sequencer sim --listen 127.0.0.1:5025 --latency 10ms --max-connections 4\n  \
        sequencer sim --listen 127.0.0.1:0 --fault drop-after=50 --fault garbage-every=7\n  \
        sequencer sim --device sequences/devices/tempcontroller.yaml\n  \
        sequencer sim --device lab.yaml --name \"keithley 2400\"\n  \
        sequencer sim --replay runs/golden.jsonl --replay-speed 0\n  \
        sequencer sim --replay runs/two-instruments.jsonl --instrument smu\n  \
        sequencer sim --device lakeshore_model336.yaml --eom CRLF\n  \
        sequencer sim --eom '\\r\\n,\\n' --greeting 'Model 430 IP Interface\\r\\nHello.'\n\n\
        Without --device or --replay, a generic SCPI device: `HEADER VALUE` stores, `HEADER?` returns it (0 if never set),\n\
        *IDN?, *OPC? (1), *RST, SIM:CONN? and SIM:CONN:PEAK? (open and peak connections).\n\n\
        Faults (counts per connection unless said): drop-after=N closes the connection after\n\
        its Nth command; stall-after=N stops answering after N commands; garbage-every=N\n\
        sends a malformed reply every Nth reply; late-every=N and late-by=DUR send every Nth\n\
        reply DUR late; refuse-after=N accepts only N connections in the sim's life;\n\
        drop-rate=P and seed=S drop the connection before a reply with probability P."
    )]
    Sim(SimArgs),
    /// Compare two run logs point by point (vars, commands, replies, values, status),
    /// ignoring timestamps, connection ids and timings. Exit 0 when they match, 1 when not.
    #[command(
        after_help = "Example (check that a sequence still gives the recorded results):\n  \
        sequencer run sweep.yaml --replay runs/golden.jsonl -o runs/ci.jsonl\n  \
        sequencer diff runs/golden.jsonl runs/ci.jsonl"
    )]
    Diff {
        /// The reference run log.
        a: PathBuf,
        /// The run log to compare with it.
        b: PathBuf,
    },
    /// Write a run log as a table for a spreadsheet: one row per sweep point (its last
    /// record), a column per sweep variable and per `as` value, then `status`, `attempt`,
    /// `started_at`, `elapsed_ms`. Setup and teardown are left out.
    #[command(after_help = "Examples:\n  \
        sequencer export runs/iv-sweep-20261125-022657.jsonl -o iv.csv\n  \
        sequencer export runs/today.jsonl --format jsonl | jq .current\n\n\
        Values that read as numbers are written as numbers. A variable and a value with the same\n\
        name (or one named like a fixed column) become `var:NAME` and `value:NAME`.")]
    Export(ExportArgs),
    /// Plot one value against one variable of a run log as SVG or PNG, one line per value
    /// of `--group`, axes named, titled with the run's name.
    #[command(after_help = "Examples:\n  \
        sequencer plot runs/iv-sweep-20261125-022657.jsonl --x volt --y current --group ch\n  \
        sequencer plot runs/today.jsonl --x volt --y current -o docs/iv.png\n\n\
        Names are the columns of `sequencer export`: any sweep variable or value, or a fixed\n\
        column (`--group step`: one line per step). Points whose x or y is not a number are\n\
        skipped and counted.")]
    Plot(PlotArgs),
    /// Print the JSON Schema (draft 7) of the sequence file format, for editors.
    #[command(after_help = "Example:\n  \
        sequencer schema > sequence.schema.json\n\n\
        Then make this the first line of a sequence file saved beside it, for completion and\n\
        hover help in any editor with the YAML language server (VS Code, Neovim, Helix, ...):\n  \
        # yaml-language-server: $schema=./sequence.schema.json\n\n\
        The schema checks each value on its own; `sequencer check` checks the whole file.")]
    Schema,
    /// Print a shell completion script for `sequencer` to stdout.
    #[command(after_help = "Examples:\n  \
        sequencer completions bash > ~/.local/share/bash-completion/completions/sequencer\n  \
        sequencer completions zsh > ~/.zfunc/_sequencer     # with fpath+=(~/.zfunc) before compinit\n  \
        sequencer completions fish > ~/.config/fish/completions/sequencer.fish")]
    Completions {
        /// The shell to complete in.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Flags of `sequencer run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The sequence file.
    pub sequence: PathBuf,
    /// Instrument address, overriding the file: `host:port` or `TCPIP::host::port::SOCKET`;
    /// `NAME=ADDR` for one of several instruments (repeatable).
    #[arg(short, long, value_name = "ADDR", conflicts_with_all = ["device", "replay"])]
    pub address: Vec<String>,
    /// Simulator options.
    #[command(flatten)]
    pub sim: SimOpts,
    /// Run log path (default `runs/<name>-<YYYYmmdd-HHMMSS>.jsonl`).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Set a parameter of the file's `params:` for this run (repeatable): VALUE is read as
    /// YAML, e.g. `--set vmax=0.5`, `--set temps=[300,200]`, `--set settle=2s`. The start
    /// record holds the effective values.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = set_arg)]
    pub set: Vec<(String, String)>,
    /// Stop the run like a first Ctrl-C once it has taken this long (e.g. `8h`; at most
    /// `720h`).
    #[arg(long, value_name = "DUR", value_parser = deadline_arg)]
    pub deadline: Option<Duration>,
}

/// Flags of `sequencer resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The run log to continue (appended to).
    pub log: PathBuf,
    /// Instrument address instead of the one recorded in the log (`NAME=ADDR` for one of
    /// several instruments; repeatable).
    #[arg(short, long, value_name = "ADDR", conflicts_with_all = ["device", "replay"])]
    pub address: Vec<String>,
    /// Simulator options.
    #[command(flatten)]
    pub sim: SimOpts,
    /// The sequence file, when it is no longer at the path the run log records (moved,
    /// renamed, another checkout); its sha256 is checked as usual (see `--force`).
    #[arg(long, value_name = "FILE")]
    pub sequence: Option<PathBuf>,
    /// Resume even though the sequence file changed since the run started (or with other
    /// parameters than the recorded ones, with `--set`).
    #[arg(long)]
    pub force: bool,
    /// Change a parameter from its recorded value (repeatable; needs `--force`: the points
    /// already run had the recorded values). Without it, the recorded values are used.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = set_arg)]
    pub set: Vec<(String, String)>,
    /// Stop like a first Ctrl-C once the resumed run has taken this long (at most `720h`).
    #[arg(long, value_name = "DUR", value_parser = deadline_arg)]
    pub deadline: Option<Duration>,
}

/// The built-in simulator as the instrument of `run` and `resume`.
#[derive(Debug, Args)]
pub struct SimOpts {
    /// Run against the built-in simulated instrument (one per instrument, on free ports):
    /// the device file named by the instrument's `sim:` entry, else the generic device.
    #[arg(long, conflicts_with = "address")]
    pub sim: bool,
    /// With `--sim`, `--device` or `--replay`: delay before every reply of the simulator.
    // Not `requires = "sim"`: `--device` and `--replay` imply `--sim`; `start_sims` refuses
    // these without any of the three.
    #[arg(long, value_name = "DUR", value_parser = duration_arg, default_value = "0s")]
    pub sim_latency: Duration,
    /// With `--sim`, `--device` or `--replay`: inject a fault (repeatable; see
    /// `sequencer sim --help`).
    #[arg(long = "fault", value_name = "KEY=VALUE")]
    pub faults: Vec<String>,
    /// What the simulator says (`--device`, `--replay`); either implies `--sim`.
    #[command(flatten)]
    pub model: ModelArgs,
}

/// What a simulated instrument says: the generic device (default), a pyvisa-sim device
/// file, or the replies recorded in a run log.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Simulate the instrument described by a pyvisa-sim device file (spec 1.0/1.1).
    #[arg(long, value_name = "FILE", conflicts_with = "replay")]
    pub device: Option<PathBuf>,
    /// The device to simulate, from a device file that describes several.
    #[arg(long, value_name = "DEVICE", requires = "device")]
    pub name: Option<String>,
    /// Replay the replies recorded in a run log (same command, same order; recorded latency).
    #[arg(long, value_name = "RUN.jsonl")]
    pub replay: Option<PathBuf>,
    /// Replay latency factor: 1 as recorded, 2 twice as fast, 0 no delay.
    #[arg(long, value_name = "F", default_value_t = 1.0, requires = "replay")]
    pub replay_speed: f64,
}

impl ModelArgs {
    /// True when a device file or a replay was asked for.
    pub fn is_set(&self) -> bool {
        self.device.is_some() || self.replay.is_some()
    }
}

/// Flags of `sequencer sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:5025", value_name = "ADDR")]
    pub listen: String,
    /// Delay before every reply.
    #[arg(long, value_name = "DUR", value_parser = duration_arg, default_value = "0s")]
    pub latency: Duration,
    /// Accept at most this many simultaneous connections; further ones are closed at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
    /// Inject a fault (repeatable, or comma-separated): drop-after=N, stall-after=N,
    /// garbage-every=N, late-every=N with late-by=DUR, refuse-after=N, drop-rate=P with seed=S.
    #[arg(long = "fault", value_name = "KEY=VALUE")]
    pub faults: Vec<String>,
    /// What the simulator says.
    #[command(flatten)]
    pub model: ModelArgs,
    /// With --replay of a log of several instruments: the instrument to replay.
    #[arg(long, value_name = "NAME", requires = "replay")]
    pub instrument: Option<String>,
    /// Terminations: Q ends each message read, R each reply (default: Q), overriding the
    /// device file's or the log's; `\n`, `\r\n`, `\r` as typed, or LF, CR, CRLF.
    #[arg(long, value_name = "Q[,R]", value_parser = eom_arg)]
    pub eom: Option<Eom>,
    /// Text sent on every new connection before anything is read, with the reply
    /// termination (overrides a device file's `greeting:`); `\r\n` inside as typed.
    #[arg(long, value_name = "TEXT", value_parser = greeting_arg)]
    pub greeting: Option<String>,
}

/// Flags of `sequencer export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run log.
    pub log: PathBuf,
    /// Output format [default: from the `-o` name (`.jsonl`, `.ndjson`, `.json`: jsonl),
    /// else csv].
    #[arg(long, value_enum)]
    pub format: Option<crate::export::Format>,
    /// Write to this file (replaced if it exists) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Flags of `sequencer plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The run log.
    pub log: PathBuf,
    /// Horizontal axis: a sweep variable or value.
    #[arg(long, value_name = "VAR")]
    pub x: String,
    /// Vertical axis: a value (or sweep variable).
    #[arg(long, value_name = "VALUE")]
    pub y: String,
    /// One line per value of this variable (or value, or `step`), with a legend.
    #[arg(long, value_name = "VAR")]
    pub group: Option<String>,
    /// Output file, `.svg` or `.png` [default: the log's path with `.svg`].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Why a flag's value was refused: clap prints it after the flag and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgError {
    /// Not a duration.
    #[error(transparent)]
    Duration(#[from] DurationError),
    /// A `--deadline` past the longest duration a sequence may have.
    #[error(
        "the deadline must be at most {MAX_DURATION_TEXT}, got `{}`: leave `--deadline` out \
         for a run without one",
        format_duration(*.got)
    )]
    DeadlineTooLong {
        /// The deadline given.
        got: Duration,
    },
    /// Not a termination (`--eom`, `--greeting`'s escapes).
    #[error(transparent)]
    Termination(#[from] TerminationError),
    /// `--greeting` with nothing in it.
    #[error("the greeting is empty: leave `--greeting` out for none")]
    EmptyGreeting,
}

/// Parses a `--latency`-style duration.
fn duration_arg(text: &str) -> Result<Duration, ArgError> {
    Ok(parse_duration(text)?)
}

/// Parses `--deadline`: a duration of at most 30 days, like every duration of a sequence
/// (so that adding it to the clock cannot overflow).
fn deadline_arg(text: &str) -> Result<Duration, ArgError> {
    let d = duration_arg(text)?;
    if d > MAX_DURATION {
        return Err(ArgError::DeadlineTooLong { got: d });
    }
    Ok(d)
}

/// Parses `--set NAME=VALUE` into the name and the (YAML) value text.
fn set_arg(text: &str) -> Result<(String, String), crate::sequence::params::ParamError> {
    crate::sequence::params::split_override(text)
}

/// Parses `--eom Q[,R]`.
fn eom_arg(text: &str) -> Result<Eom, ArgError> {
    Ok(Eom::parse(text)?)
}

/// Parses `--greeting`: escapes decoded, never empty.
fn greeting_arg(text: &str) -> Result<String, ArgError> {
    match unescape(text)? {
        greeting if greeting.is_empty() => Err(ArgError::EmptyGreeting),
        greeting => Ok(greeting),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The clap definition is consistent (no conflicting names, valid defaults).
    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `--deadline` takes up to 30 days, like every duration of a sequence, and says so.
    #[test]
    fn deadline_is_bounded() {
        assert_eq!(deadline_arg("8h"), Ok(Duration::from_secs(8 * 3600)));
        assert_eq!(deadline_arg("720h"), Ok(Duration::from_secs(720 * 3600)));
        assert_eq!(
            deadline_arg("1000000000000000h").unwrap_err().to_string(),
            "the deadline must be at most 30 days (`720h`), got `1000000000000000h`: leave \
             `--deadline` out for a run without one"
        );
        assert!(
            deadline_arg("8")
                .unwrap_err()
                .to_string()
                .contains("no unit")
        );
    }
}
