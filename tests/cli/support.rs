//! Helpers shared by the integration tests: run the real `sequencer` binary with a timeout
//! guard, write sequences into a scratch folder, read run logs, start simulated or silent
//! instruments on 127.0.0.1:0, and talk to them over a plain TCP connection.
//!
//! Everything a helper starts is stopped when its value is dropped (also when a test
//! panics), so no process, thread or socket outlives its test.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_sequencer"))
        .args(args)
        .current_dir(cwd)
        // Default verbosity and no colours, whatever the developer's environment says.
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start the sequencer binary");
    // Drain both pipes on their own threads so a chatty child never blocks on a full pipe.
    let stdout = drain(child.stdout.take().expect("stdout is piped"));
    let stderr = drain(child.stderr.take().expect("stderr is piped"));
    let deadline = Instant::now() + GUARD;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Ok(None) | Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
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

/// Reads `pipe` to its end on a new thread.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
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

    /// Writes `yaml` as `name`, runs `sequencer run name -o <log> extra...`, and returns
    /// the output and the run log's records (empty if no log was written).
    pub fn run(&self, name: &str, yaml: &str, extra: &[&str]) -> (Output, Vec<Value>) {
        self.write(name, yaml);
        let log = self.join(&format!("{name}.jsonl"));
        let mut args: Vec<&OsStr> = vec![OsStr::new("run"), OsStr::new(name)];
        args.push(OsStr::new("-o"));
        args.push(log.as_os_str());
        args.extend(extra.iter().map(OsStr::new));
        let out = self.sequencer(&args);
        let records = if log.exists() {
            read_log(&log)
        } else {
            Vec::new()
        };
        (out, records)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
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

/// A simulated instrument on 127.0.0.1:0 in its own thread; dropping it stops it.
pub fn sim(latency: Duration, max_connections: Option<usize>) -> SimThread {
    SimThread::spawn(SimConfig {
        latency,
        max_connections,
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

/// An instrument that accepts connections and reads everything sent, but never answers.
/// Dropping it closes every connection and joins its threads.
pub struct Silent {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Accepted connections, kept so drop can shut them down (ending their reader threads).
    conns: Arc<Mutex<Vec<TcpStream>>>,
    accept: Option<JoinHandle<Vec<JoinHandle<()>>>>,
}

impl Silent {
    /// Binds 127.0.0.1:0 and starts accepting.
    pub fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (stop, conns) = (stop.clone(), conns.clone());
            thread::spawn(move || {
                let mut readers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            stream.set_nonblocking(false).unwrap();
                            conns.lock().unwrap().push(stream.try_clone().unwrap());
                            readers.push(thread::spawn(move || {
                                let mut stream = stream;
                                let mut buf = [0u8; 1024];
                                while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
                            }));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(2)),
                    }
                }
                readers
            })
        };
        Silent {
            addr,
            stop,
            conns,
            accept: Some(accept),
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let readers = self
            .accept
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        for conn in self.conns.lock().unwrap().drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
        for reader in readers {
            let _ = reader.join();
        }
    }
}

/// A port on 127.0.0.1 that nothing listens on: bound on port 0, then released.
pub fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}
