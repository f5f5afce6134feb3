//! The experiment sequence: YAML model, validation, sweeps, placeholders. No I/O but reading
//! the file.
//!
//! [`load`] reads a file, [`raw`] mirrors its YAML, [`compile`] validates it into a
//! [`Sequence`]: a tree of [`Node`]s, steps and loops (steps with `steps:`, whose body runs
//! once per point of their own sweep), where every step and loop has a lazily expanded
//! [`sweep::Sweep`] and every step parsed [`template::Template`]s, so nothing here grows with
//! the number of iterations or points. A step in a loop's body sees the loops' variables
//! before its own ([`Step::outer`]). Every problem is reported with file, line and column
//! through an [`InvalidFile`]; [`load`] says why a file could not be loaded with a
//! [`LoadError`].

pub mod address;
pub mod bounds;
mod compile;
pub mod conditions;
pub mod duration;
pub mod expr;
pub mod name;
pub mod params;
pub mod plan;
pub mod raw;
pub mod schema;
pub mod sweep;
pub mod template;
pub mod termination;
mod tree;
mod until;
pub mod value;
pub mod walk;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use address::Address;
pub use conditions::{Action, Condition, LoopRef, StopWhen};
pub use raw::{Greeting, OnError, OnResume, ReplyRule};
use sha2::{Digest, Sha256};
pub use termination::Eom;
pub use tree::{Leaves, Loop, Node};
pub use until::{Bound, Until};

use crate::yaml::InvalidFile;
use expr::Expr;
use sweep::Sweep;
use template::Template;

/// A validated sequence, ready to run.
#[derive(Debug)]
pub struct Sequence {
    /// Run name (`name:` or the file stem).
    pub name: String,
    /// The file it came from.
    pub path: PathBuf,
    /// Hex SHA-256 of the file's bytes, recorded so a log can be tied to its sequence.
    pub sha256: String,
    /// Free-form `metadata:`, copied into the run log.
    pub metadata: serde_json::Value,
    /// The effective parameters (`params:` with the `--set` values), in file order; the
    /// start record holds them ([`params::to_json`]).
    pub params: Vec<(String, params::Param)>,
    /// Instruments in file order; steps refer to them by index.
    pub instruments: Vec<Instrument>,
    /// Setup steps (one per instrument that has setup commands), named `setup`.
    pub setup: Vec<Arc<Step>>,
    /// The tree of steps: steps and loops, run one after another.
    pub steps: Vec<Node>,
    /// Teardown steps, named `teardown`.
    pub teardown: Vec<Arc<Step>>,
    /// What a failed point does to the run.
    pub on_error: OnError,
    /// Things in the file that are valid but likely not meant, each `file:line:col: text`
    /// (`check` and `run` print them on stderr).
    pub warnings: Vec<String>,
}

/// One instrument and how to talk to it.
#[derive(Debug, Clone)]
pub struct Instrument {
    /// Name in the sequence (`instrument` for the single-instrument form).
    pub name: String,
    /// Where to connect; `None` until given by `--address` or `--sim`.
    pub address: Option<Address>,
    /// Pool size.
    pub max_connections: usize,
    /// Where the file gives `max_connections` (1-based line and column), for messages
    /// about the pool's size; `None` for the default.
    pub max_connections_at: Option<(u64, u64)>,
    /// Line framing and timeouts.
    pub io: IoSettings,
    /// What the instrument sends by itself on a new connection (read before `on_connect`).
    pub greeting: Greeting,
    /// Commands sent on every new connection before it takes work.
    pub on_connect: Vec<Command>,
    /// Dial attempts (with backoff) before the instrument counts as unreachable.
    pub reconnect_attempts: u32,
    /// What `--sim` serves for this instrument and how it frames messages (`sim:`).
    pub sim: SimSettings,
}

/// An instrument's `sim:` entry: what `run --sim` serves for it (empty without one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimSettings {
    /// The pyvisa-sim device file to serve; `None`: the generic device.
    pub device: Option<SimDevice>,
    /// `eom:`, the simulator's terminations, overriding what the device file (or the
    /// recording, with `--replay`) says.
    pub eom: Option<Eom>,
}

/// The device file of an instrument's `sim:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimDevice {
    /// The device file, as written in the sequence (relative to the sequence file's folder).
    pub device: PathBuf,
    /// Which device of the file, for files that describe several.
    pub name: Option<String>,
    /// Where `device:` is in the sequence file (1-based line and column), for messages
    /// about the device file.
    pub line: u64,
    /// See `line`.
    pub column: u64,
}

/// Framing and timing of one instrument's connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoSettings {
    /// Appended to every command.
    pub write_termination: String,
    /// Ends every reply line (never empty).
    pub read_termination: String,
    /// Per-command reply timeout.
    pub timeout: Duration,
    /// Timeout for opening one connection.
    pub connect_timeout: Duration,
}

impl Default for IoSettings {
    fn default() -> Self {
        IoSettings {
            write_termination: "\n".into(),
            read_termination: "\n".into(),
            timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// A step: a sweep of points, each running the same commands on one connection.
#[derive(Debug)]
pub struct Step {
    /// Name, unique among its siblings; point ids are `name/index` (in a loop's body,
    /// behind the loops' names and iterations: `T/2/name/index`).
    pub name: String,
    /// Index into [`Sequence::instruments`].
    pub instrument: usize,
    /// The lazily expanded sweep.
    pub sweep: Sweep,
    /// How many passes over the sweep.
    pub repeat: u64,
    /// Max points of this step in flight (1 when [`Parallel::Serial`]).
    pub concurrency: usize,
    /// Which of its points may run at the same time.
    pub parallel: Parallel,
    /// The commands of every point.
    pub commands: Vec<Command>,
    /// How many times a failed point is run again (on another connection).
    pub retries: u32,
    /// Which failures are retried besides broken connections and reply timeouts.
    pub retry_on: RetryPolicy,
    /// Variables of the enclosing loops, outermost first, before the step's own: a point's
    /// values are these loops' current values then the step's sweep values, and every slot
    /// in its templates, `until` bounds etc. indexes that concatenation (but not
    /// [`Parallel::Lanes`], which names the step's own variables only). Empty at the top
    /// level, in setup and teardown.
    pub outer: Vec<String>,
    /// What a resume does when it continues an iteration of this step's loop (always
    /// [`OnResume::Continue`] outside loops).
    pub on_resume: OnResume,
    /// `stop_when:`, in file order: checked after each point that completes ok (by the
    /// connection that ran it, which reports the first that holds in
    /// [`crate::exec::Fired`]).
    pub stop_when: Vec<StopWhen>,
    /// `when:`: the step runs only in the iterations where it holds
    /// ([`conditions::stage_runs`]).
    pub when: Option<Condition>,
    /// Values computed for every point after its sweep values, in order: the enclosing
    /// loops' `let:`s, then the step's own. Each may read the values before it.
    pub lets: Vec<Let>,
    /// Whether some text or condition of the step reads a value measured in the point
    /// (`as:`): only then does running a point keep its replies as values.
    pub keeps_measured: bool,
}

/// A `let:` value that could not be computed for a point.
#[derive(Debug, Clone)]
pub struct LetFailed {
    /// The `let:` value's name.
    pub name: String,
    /// Why.
    pub error: expr::EvalError,
}

/// A `let:` value: its name and how it is computed.
#[derive(Debug, Clone)]
pub struct Let {
    /// The name.
    pub name: String,
    /// The expression, over the values before it.
    pub expr: Expr,
}

/// Which points of a step may run at the same time (`parallel:`): only the person who
/// wrote the sequence knows which are independent, so the default is one at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parallel {
    /// Every point is independent (`parallel: all`, or `concurrency:` above 1 alone).
    All,
    /// One point at a time, in order: no `parallel:` (setup and teardown too).
    Serial,
    /// Points whose values of these sweep variables (their slots in the step's own sweep,
    /// ascending, not counting [`Step::outer`]) differ may run at the same time; points with the same values (a lane) run one after another,
    /// in sweep order, pass after pass.
    Lanes(Vec<usize>),
}

/// Failures retried besides broken connections and reply timeouts, which always are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryPolicy {
    /// A poll that did not reach its condition in time.
    pub poll_timeout: bool,
    /// A reply that differed from `expect`.
    pub mismatch: bool,
}

impl RetryPolicy {
    /// From the YAML list.
    pub fn from_list(list: &[raw::RetryOn]) -> Self {
        RetryPolicy {
            poll_timeout: list.contains(&raw::RetryOn::Timeout),
            mismatch: list.contains(&raw::RetryOn::Mismatch),
        }
    }
}

impl Step {
    /// Number of points: sweep length times repeat.
    pub fn points(&self) -> u64 {
        self.sweep.len().saturating_mul(self.repeat)
    }

    /// The names of a point's values in slot order: the enclosing loops' variables
    /// ([`Step::outer`]), then the step's own, then the `let:` values.
    pub fn var_names(&self) -> impl Iterator<Item = &str> {
        self.outer
            .iter()
            .chain(self.sweep.names())
            .map(String::as_str)
            .chain(self.lets.iter().map(|l| l.name.as_str()))
    }
}

/// One command of a point, with placeholders still to render. `on` is the instrument
/// (index into [`Sequence::instruments`]) it is sent to when that is not the point's own
/// (`on: tc`); `None`: the point's own connection. `when`: the command runs only in points
/// where it holds.
#[derive(Debug, Clone)]
pub enum Command {
    /// Send; read nothing.
    Write {
        /// The text to send.
        text: Template,
        /// Another instrument to send it to.
        on: Option<usize>,
        /// Runs only when this holds.
        when: Option<Box<Expr>>,
    },
    /// Send; read one reply line.
    Query {
        /// The text to send.
        text: Template,
        /// Name of the reply in the point's `values`.
        name: Option<String>,
        /// The point fails unless the reply equals this, rendered.
        expect: Option<Template>,
        /// The point fails as a mismatch unless this holds once the reply is taken.
        check: Option<Box<Expr>>,
        /// Another instrument to send it to.
        on: Option<usize>,
        /// Runs only when this holds.
        when: Option<Box<Expr>>,
    },
    /// Pause without sending.
    Wait {
        /// How long.
        pause: Duration,
        /// Another instrument whose connection is held during the pause.
        on: Option<usize>,
        /// Runs only when this holds.
        when: Option<Box<Expr>>,
    },
    /// Query every `every` until `until` holds or `timeout` passes.
    Poll {
        /// The query to send.
        text: Template,
        /// When to stop polling.
        until: Until,
        /// Pause between queries.
        every: Duration,
        /// Longest the poll may take.
        timeout: Duration,
        /// Name of the last reply in `values`.
        name: Option<String>,
        /// Another instrument to send it to.
        on: Option<usize>,
        /// Runs only when this holds.
        when: Option<Box<Expr>>,
    },
}

impl Command {
    /// The condition under which it runs, if it has one.
    pub fn when(&self) -> Option<&Expr> {
        match self {
            Command::Write { when, .. }
            | Command::Query { when, .. }
            | Command::Wait { when, .. }
            | Command::Poll { when, .. } => when.as_deref(),
        }
    }

    /// True for a command that reads a reply (a query or a poll).
    pub fn reads(&self) -> bool {
        matches!(self, Command::Query { .. } | Command::Poll { .. })
    }

    /// The name its reply is kept under (`as:`), if it has one.
    pub fn measures(&self) -> Option<&str> {
        match self {
            Command::Query { name, .. } | Command::Poll { name, .. } => name.as_deref(),
            Command::Write { .. } | Command::Wait { .. } => None,
        }
    }

    /// The template this command sends, if it sends anything.
    pub fn template(&self) -> Option<&Template> {
        match self {
            Command::Write { text: t, .. }
            | Command::Query { text: t, .. }
            | Command::Poll { text: t, .. } => Some(t),
            Command::Wait { .. } => None,
        }
    }

    /// The instrument (index into [`Sequence::instruments`]) this command goes to when it
    /// is not the point's own (`on: tc`); `None`: the point's own connection.
    pub fn on(&self) -> Option<usize> {
        match self {
            Command::Write { on, .. }
            | Command::Query { on, .. }
            | Command::Wait { on, .. }
            | Command::Poll { on, .. } => *on,
        }
    }
}

impl Sequence {
    /// Total sweep points over the tree of steps, every iteration of every loop counted
    /// (setup and teardown not counted). Compiling keeps it at most
    /// [`bounds::MAX_POINTS`].
    pub fn total_points(&self) -> u64 {
        self.steps
            .iter()
            .fold(0u64, |acc, n| acc.saturating_add(n.points()))
    }
}

/// Why a sequence file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read at all.
    #[error("cannot read sequence file `{}`", path.display())]
    Read {
        /// The path given.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file is not a valid sequence: the problems point into it.
    #[error(transparent)]
    Invalid(#[from] Box<InvalidFile>),
    /// A `--set` value names no parameter of the file, or has the wrong type.
    #[error(transparent)]
    Params(#[from] params::ParamError),
}

/// Reads, parses and validates the sequence file at `path`.
///
/// Files over 1 MiB are refused unread: a sequence is a few kilobytes (sweeps are ranges,
/// not lists), so a bigger file is the wrong file, and parsing it would only cost time and
/// memory. The read stops there too, so a device or a pipe that never ends is refused.
pub fn load(path: &Path) -> Result<Sequence, LoadError> {
    load_with(path, &[])
}

/// [`load`] with parameter overrides: `(name, value)` pairs, each value YAML text as
/// `--set NAME=VALUE` gives it, applied in order over the file's `params:`.
pub fn load_with(path: &Path, overrides: &[(String, String)]) -> Result<Sequence, LoadError> {
    /// Largest sequence file accepted.
    const MAX_BYTES: u64 = 1 << 20;
    let text = crate::yaml::read_text(path, MAX_BYTES, "a sequence").map_err(|source| {
        LoadError::Read {
            path: path.to_owned(),
            source,
        }
    })?;
    let mut seq = parse_with(&text, path, overrides)?;
    seq.sha256 = hex(&Sha256::digest(text.as_bytes()));
    Ok(seq)
}

/// Parses and validates sequence text; `path` names it in errors and gives the default name.
pub fn parse(text: &str, path: &Path) -> Result<Sequence, InvalidFile> {
    compile::compile(text, path)
}

/// [`parse`] with parameter overrides (see [`load_with`]). The file's `params:` are read
/// first, on their own: the overrides are checked against them, and the whole file is
/// then read with the effective values in scope. A file whose `params:` cannot be read is
/// compiled without them, so that its problems are reported as such, not as an unknown
/// `--set` name.
pub fn parse_with(
    text: &str,
    path: &Path,
    overrides: &[(String, String)],
) -> Result<Sequence, LoadError> {
    let Ok(defaults) = compile::read_params(text) else {
        let seq = compile::compile_with(text, path, Vec::new()).map_err(Box::new)?;
        params::resolve(
            &seq.params,
            overrides,
            &path.display().to_string(),
            read_value,
        )?;
        return Ok(seq);
    };
    let effective = params::resolve(
        &defaults,
        overrides,
        &path.display().to_string(),
        read_value,
    )?;
    Ok(compile::compile_with(text, path, effective).map_err(Box::new)?)
}

/// A `--set` value: YAML text, read as a parameter value.
fn read_value(text: &str) -> Result<raw::RawParam, serde_saphyr::Error> {
    if text.trim().is_empty() {
        return Ok(raw::RawParam::One(raw::Scalar::Text(String::new())));
    }
    serde_saphyr::from_str_with_options::<raw::RawParam>(text, compile::yaml_options())
}

/// Lowercase hex of a digest.
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
