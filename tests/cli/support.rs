//! Helpers shared by the integration tests: run the real `sequencer` binary with a timeout
//! guard (or in the background, to signal it and watch its stderr), write sequences into a
//! scratch folder, read run logs (torn ones too), start simulated instruments on 127.0.0.1:0,
//! and talk to them over a plain TCP connection. Scripted instruments are the library's
//! (`sequencer::testing`, served over TCP with `Instrument::listen`), the same that the
//! actors' in-process tests use.
//!
//! Everything a helper starts is stopped when its value is dropped (also when a test
//! panics), so no process, thread or socket outlives its test.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use sequencer::sim::{SimConfig, SimThread};
use serde_json::Value;

/// Safety net: a run that takes longer is killed and the test fails. Not a timing claim.
pub const GUARD: Duration = Duration::from_secs(30);

/// What a finished `sequencer` process left behind.
#[derive(Debug)]
pub struct Output {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl Output {
    /// The exit code; panics (with the output) if the process was killed by a signal.
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("sequencer killed by a signal\n{self}"))
    }

    /// Stderr with miette's wrapping and gutters undone, whitespace collapsed to single
    /// spaces, so a phrase can be found however the terminal width broke it.
    pub fn stderr_flat(&self) -> String {
        flat(&self.stderr)
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status: {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }
}

/// `text` with box-drawing gutters removed and all whitespace runs made single spaces.
pub fn flat(text: &str) -> String {
    text.replace(['│', '|'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs the real binary with `args` in `cwd`, waits at most [`GUARD`] (killing it after
/// that), and returns its exit status and output.
pub fn sequencer<I, S>(cwd: &Path, args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Running::spawn(cwd, args).wait()
}

/// A `sequencer` process running in the background, so a test can act on the instrument
/// while the run goes on. Dropped before [`Running::wait`] (a test panicked), it is killed.
pub struct Running {
    child: Child,
    /// Readers of the piped stdout and stderr; taken by [`Running::wait`].
    pipes: Option<(JoinHandle<String>, JoinHandle<String>)>,
    /// Stderr read so far, filled by its reader thread while the process runs.
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Running {
    /// Starts the real binary with `args` in `cwd` and returns at once.
    pub fn spawn<I, S>(cwd: &Path, args: I) -> Running
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Running::start(Command::new(env!("CARGO_BIN_EXE_sequencer")), cwd, args)
    }

    /// Starts `cmd` (the binary, or a wrapper such as `prlimit` that runs it) with `args`
    /// appended, in `cwd`, and returns at once.
    pub fn start<I, S>(cmd: Command, cwd: &Path, args: I) -> Running
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = spawn_piped(cmd, cwd, args);
        // Drain both pipes on their own threads so a chatty child never blocks on a full pipe.
        let live = Arc::new(Mutex::new(Vec::new()));
        let stdout = drain(
            child.stdout.take().expect("stdout is piped"),
            Arc::default(),
        );
        let stderr = drain(child.stderr.take().expect("stderr is piped"), live.clone());
        Running {
            child,
            pipes: Some((stdout, stderr)),
            stderr: live,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends signal `name` (`INT`, `TERM`, `KILL`) with `kill -NAME <pid>`, as an operator
    /// would. The child is reaped only by [`Running::wait`], so the pid cannot be reused.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("cannot run `kill`");
        assert!(status.success(), "`kill -{name} {}` failed", self.pid());
    }

    /// True once the process has exited.
    pub fn exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Stderr written so far, flattened like [`Output::stderr_flat`].
    pub fn stderr_so_far(&self) -> String {
        flat(&String::from_utf8_lossy(&self.stderr.lock().unwrap()))
    }

    /// Waits until stderr contains `text` (flattened); panics, with stderr, if the process
    /// exits first or [`GUARD`] passes.
    pub fn wait_for_stderr(&mut self, text: &str) {
        let deadline = Instant::now() + GUARD;
        loop {
            if self.stderr_so_far().contains(text) {
                return;
            }
            assert!(
                !self.exited() && Instant::now() < deadline,
                "stderr never said `{text}`; it says:\n{}",
                self.stderr_so_far()
            );
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Waits for the process to exit, at most [`GUARD`] (killing it after that, and
    /// failing the test), and returns its exit status and output.
    pub fn wait(mut self) -> Output {
        let deadline = Instant::now() + GUARD;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                Ok(None) | Err(_) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        let (stdout, stderr) = self.pipes.take().expect("pipes are taken only here");
        let stdout = stdout.join().expect("stdout reader panicked");
        let stderr = stderr.join().expect("stderr reader panicked");
        let Some(status) = status else {
            panic!(
                "sequencer did not finish within {GUARD:?}; killed\n--- stdout ---\n{stdout}--- stderr ---\n{stderr}"
            );
        };
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `cmd` with `args` appended, in `cwd`, with stdout and stderr piped, no stdin, and
/// default verbosity, no colours and no backtraces, whatever the developer's environment
/// says.
fn spawn_piped<I, S>(mut cmd: Command, cwd: &Path, args: I) -> Child
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", cmd.get_program().display()))
}

/// Reads `pipe` to its end on a new thread, appending to `sink` as bytes arrive; returns
/// everything read.
fn drain(mut pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<u8>>>) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => sink.lock().unwrap().extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        String::from_utf8_lossy(&sink.lock().unwrap()).into_owned()
    })
}

/// Source of unique scratch folder names within this test process.
static SCRATCH: AtomicUsize = AtomicUsize::new(0);

/// A fresh folder under the system temp dir, removed with everything in it on drop.
#[derive(Debug)]
pub struct Scratch {
    /// The folder; no hyphens in its name, so wrapped messages never break a path.
    path: PathBuf,
}

impl Scratch {
    /// Creates a folder no other test (or earlier run) uses.
    pub fn new() -> Scratch {
        loop {
            let n = SCRATCH.fetch_add(1, Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("sequencer_cli_{}_{n}", std::process::id()));
            match std::fs::create_dir(&path) {
                Ok(()) => return Scratch { path },
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => panic!("cannot create {}: {e}", path.display()),
            }
        }
    }

    /// Writes `text` to `name` in the folder and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, text).expect("cannot write a scratch file");
        path
    }

    /// A path in the folder (not created).
    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Runs `sequencer` in this folder.
    pub fn sequencer<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        sequencer(&self.path, args)
    }

    /// Starts `sequencer` in this folder and returns at once.
    pub fn spawn<I, S>(&self, args: I) -> Running
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Running::spawn(&self.path, args)
    }

    /// Writes `yaml` as `name`, runs `sequencer run name -o <log> extra...`, and returns
    /// the output and the run log's records (empty if no log was written).
    pub fn run(&self, name: &str, yaml: &str, extra: &[&str]) -> (Output, Vec<Value>) {
        self.start_run(name, yaml, extra).finish()
    }

    /// Same as [`Scratch::run`], but returns as soon as the process has started.
    pub fn start_run(&self, name: &str, yaml: &str, extra: &[&str]) -> Run {
        self.write(name, yaml);
        let log = self.join(&format!("{name}.jsonl"));
        let mut args: Vec<&OsStr> = vec![OsStr::new("run"), OsStr::new(name)];
        args.push(OsStr::new("-o"));
        args.push(log.as_os_str());
        args.extend(extra.iter().map(OsStr::new));
        Run {
            process: Running::spawn(&self.path, &args),
            log,
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A `sequencer run` going on in the background (see [`Scratch::start_run`]).
pub struct Run {
    process: Running,
    /// Its `-o` path.
    log: PathBuf,
}

impl Run {
    /// The running process, to signal it or watch its stderr.
    pub fn process(&mut self) -> &mut Running {
        &mut self.process
    }

    /// Its `-o` path (the log may not exist yet).
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Waits for the run to end (see [`Running::wait`]) and returns its output, without
    /// reading the log (which a killed run may leave torn).
    pub fn wait(self) -> Output {
        self.process.wait()
    }

    /// Waits for the run to end (see [`Running::wait`]) and returns its output and the run
    /// log's records (empty if no log was written).
    pub fn finish(self) -> (Output, Vec<Value>) {
        let out = self.process.wait();
        let records = if self.log.exists() {
            read_log(&self.log)
        } else {
            Vec::new()
        };
        (out, records)
    }
}

/// Parses a JSON Lines run log; every line must be one JSON object.
pub fn read_log(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read run log {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: not JSON ({e}): {line}", path.display(), i + 1))
        })
        .collect()
}

/// The complete (newline-terminated) lines of a run log, each parsed; a torn last line is
/// left out, and is returned as the second value. A missing file has no lines.
pub fn read_complete_lines(path: &Path) -> (Vec<Value>, Option<String>) {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Vec::new(), None),
        Err(e) => panic!("cannot read run log {}: {e}", path.display()),
    };
    let text = String::from_utf8_lossy(&bytes);
    let (complete, torn) = match text.rfind('\n') {
        Some(end) => (&text[..=end], &text[end + 1..]),
        None => ("", &text[..]),
    };
    let records = complete
        .lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}:{}: not JSON ({e}): {line}", path.display(), i + 1))
        })
        .collect();
    (records, (!torn.is_empty()).then(|| torn.to_owned()))
}

/// Number of complete lines in a file so far (0 if it does not exist yet).
pub fn count_lines(path: &Path) -> usize {
    // Pieces between newlines, less the (possibly empty) one after the last newline.
    std::fs::read(path).map_or(0, |b| b.split(|&c| c == b'\n').count() - 1)
}

/// Polls `done` every 2 ms until it holds; panics with `what` after [`GUARD`].
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + GUARD;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

/// The records of one `type` (`start`, `point`, `stop`).
pub fn of_type<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == kind).collect()
}

/// Point records of sweep steps (not `setup` or `teardown`).
pub fn step_points(records: &[Value]) -> Vec<&Value> {
    of_type(records, "point")
        .into_iter()
        .filter(|r| r["step"] != "setup" && r["step"] != "teardown")
        .collect()
}

/// True for the record of a session the instrument refused a little late (the README's
/// Connections): a failed first point, the only point of its connection, ended by the
/// instrument closing or resetting the connection within 50 ms. Such an attempt is run
/// again without using up a retry.
pub fn refused_late(records: &[Value], p: &Value) -> bool {
    let error = p["error"].as_str().unwrap_or_default();
    p["status"] == "failed"
        && (error.contains("closed by the instrument") || error.contains("reset"))
        && p["elapsed_ms"].as_f64().is_some_and(|ms| ms < 50.0)
        && step_points(records)
            .iter()
            .filter(|r| r["conn"] == p["conn"])
            .count()
            == 1
}

/// The one point record with this id; panics if there is none or several.
pub fn point<'a>(records: &'a [Value], id: &str) -> &'a Value {
    let found: Vec<&Value> = of_type(records, "point")
        .into_iter()
        .filter(|r| r["id"] == id)
        .collect();
    assert_eq!(found.len(), 1, "point records with id `{id}`: {found:#?}");
    found[0]
}

/// The last record, which must be the `stop` record.
pub fn stop(records: &[Value]) -> &Value {
    let last = records.last().expect("the run log is empty");
    assert_eq!(last["type"], "stop", "last record is not `stop`: {last}");
    last
}

/// An RFC 3339 timestamp field of a record.
pub fn time(record: &Value, field: &str) -> SystemTime {
    let text = record[field]
        .as_str()
        .unwrap_or_else(|| panic!("`{field}` is not a string in {record}"));
    humantime::parse_rfc3339(text).unwrap_or_else(|e| panic!("bad `{field}` `{text}`: {e}"))
}

/// A millisecond field of a record as a duration.
pub fn millis(record: &Value, field: &str) -> Duration {
    let ms = record[field]
        .as_f64()
        .unwrap_or_else(|| panic!("`{field}` is not a number in {record}"));
    Duration::from_secs_f64(ms / 1e3)
}

/// Start and end of a point on the connection, in ms since the epoch, from its record.
/// Log timestamps have millisecond resolution, so the start is moved later by a margin:
/// the interval then lies inside the real one and back-to-back points never look overlapped.
pub fn interval(record: &Value) -> (f64, f64) {
    let start = time(record, "started_at")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a start after 1970")
        .as_secs_f64()
        * 1e3;
    let end = start + millis(record, "elapsed_ms").as_secs_f64() * 1e3;
    (start + 1.5, end)
}

/// A simulated instrument on 127.0.0.1:0 in its own thread; dropping it stops it.
pub fn sim(latency: Duration, max_connections: Option<usize>) -> SimThread {
    SimThread::spawn(SimConfig {
        latency,
        max_connections,
        ..SimConfig::default()
    })
    .expect("cannot start the simulated instrument")
}

/// A plain blocking client connection held by the test itself.
pub struct Probe {
    reader: BufReader<TcpStream>,
}

impl Probe {
    /// Connects to `addr`, with a read timeout of [`GUARD`].
    pub fn connect(addr: SocketAddr) -> Probe {
        let stream = TcpStream::connect(addr).expect("probe cannot connect");
        stream.set_read_timeout(Some(GUARD)).unwrap();
        Probe {
            reader: BufReader::new(stream),
        }
    }

    /// Sends `line` and returns the reply line without its terminator.
    pub fn query(&mut self, line: &str) -> String {
        self.reader
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .expect("probe cannot send");
        let mut reply = String::new();
        self.reader
            .read_line(&mut reply)
            .expect("probe read failed");
        reply.trim_end().to_owned()
    }
}

/// A port on 127.0.0.1 that nothing listens on: bound on port 0, then released.
pub fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

/// A server process (`sequencer sim ...`, or a reference server) that announced `listening on ADDR` as its first
/// stdout line and serves in the background. Dropping it kills and reaps the process, also
/// when a test panics.
pub struct Serving {
    child: Child,
    /// The address from the `listening on` line.
    addr: SocketAddr,
    /// Stderr so far, filled by its reader thread; shown when the server misbehaves.
    stderr: Arc<Mutex<Vec<u8>>>,
    /// The stdout and stderr readers, joined once the process is gone.
    readers: Vec<JoinHandle<String>>,
}

impl Serving {
    /// Starts the real binary with `args` in `cwd` and waits, at most [`GUARD`], for its
    /// `listening on ADDR` line; panics, with its stderr, if it exits or prints anything else.
    pub fn spawn<I, S>(cwd: &Path, args: I) -> Serving
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Serving::start(Command::new(env!("CARGO_BIN_EXE_sequencer")), cwd, args)
    }

    /// Same as [`Serving::spawn`] for another server program `cmd` (a reference
    /// implementation, say) that announces itself the same way.
    pub fn start<I, S>(cmd: Command, cwd: &Path, args: I) -> Serving
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = spawn_piped(cmd, cwd, args);
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let err_reader = drain(
            child.stderr.take().expect("stderr is piped"),
            stderr.clone(),
        );
        let (first_line, first) = std::sync::mpsc::channel();
        let mut out = BufReader::new(child.stdout.take().expect("stdout is piped"));
        // The first line goes to the test; the rest is read and dropped so the server
        // never blocks on a full pipe.
        let out_reader = thread::spawn(move || {
            let mut line = String::new();
            let _ = out.read_line(&mut line);
            let _ = first_line.send(line);
            let _ = std::io::copy(&mut out, &mut std::io::sink());
            String::new()
        });
        let mut serving = Serving {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stderr,
            readers: vec![out_reader, err_reader],
        };
        let line = first.recv_timeout(GUARD).unwrap_or_default();
        serving.addr = line
            .trim_end()
            .strip_prefix("listening on ")
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| {
                // Give a dying process a moment to finish its message.
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "the server did not say `listening on ADDR`; its first stdout line: {line:?}\n--- stderr ---\n{}",
                    serving.stderr_so_far()
                )
            });
        serving
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stderr written so far, as text.
    pub fn stderr_so_far(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}
