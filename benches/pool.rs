//! The benchmark of issue 6: `sequencer run` end to end against the physical limit.
//!
//! Run with `cargo bench --bench pool` (release build). Everything is measured in one run on
//! loopback, against the built-in simulator ([`SimThread`], in this process):
//!
//! - throughput: a 50,000-point single-query sweep with 1, 4 and 10 connections and zero
//!   latency, as points per second for the real binary (run log written), next to a plain
//!   tokio client doing the same round trips over the same number of connections, in a
//!   process of its own like `sequencer run` (this bench binary run again with
//!   [`PLAIN_CLIENT`] set), timed the same way, from spawn to exit;
//! - latency-bound makespan: 1,000 points with 10 ms latency over 10 connections, next to
//!   the ideal ceil(P/N) x 10 ms and the plain client;
//! - scale: time and peak memory (the child's `VmHWM`, sampled every few milliseconds) for
//!   10,000, 100,000 and 1,000,000 points;
//! - `sequencer check` on a 1,000,000-point sequence;
//! - write then query with Nagle on, as pyvisa-py sends them: milliseconds per pair with
//!   the simulator's quick ACKs and with delayed ACKs ([`nagle`]).
//!
//! Throughput and makespan are each measured [`ROUNDS`] times, the plain client and the
//! sequencer taking turns, and the best time of each is kept: this machine is a shared VM
//! whose speed drifts by tens of percent within a minute, and the best of a few turns is
//! what each side can do when nothing else runs.
//!
//! With two CPUs or more, the simulator's thread runs on one CPU and the client under test
//! (either one) on another ([`Placement`]): left to itself, the scheduler moves the client
//! onto the simulator's CPU at its socket wake-ups, and how often it does decided more of
//! the result than the client did. One row repeats the 10-connection throughput unpinned,
//! for comparison.
//!
//! It prints a Markdown table with the ratios and whether each target of the issue holds.
//! `BENCH_QUICK=1` runs a tenth of the points, for a smoke test; `BENCH_ONLY=nagle` only
//! the write-then-query row.

#[path = "pool/nagle.rs"]
mod nagle;

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sequencer::sim::{SimConfig, SimThread};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The binary under test, built in release mode by `cargo bench`.
const BIN: &str = env!("CARGO_BIN_EXE_sequencer");

/// Turns each side takes at a throughput or makespan measurement (the best one counts):
/// half of them with each placement, when pinned. With six, the 10-connection ratio still
/// moved by ±0.01 between runs of the same code.
const ROUNDS: usize = 10;

/// Set (to `ADDRESS CONNECTIONS POINTS`) when this binary is run again as the plain client.
const PLAIN_CLIENT: &str = "SEQUENCER_BENCH_PLAIN_CLIENT";

/// One row of the result table.
struct Row {
    /// What was measured.
    what: String,
    /// The measured figure, formatted.
    value: String,
    /// What it is compared with, formatted.
    reference: String,
    /// value / reference as the target states it, formatted.
    ratio: String,
    /// The target and whether it holds, if the issue sets one.
    target: String,
}

fn main() {
    if let Ok(args) = std::env::var(PLAIN_CLIENT) {
        run_as_plain_client(&args);
        return;
    }
    let quick = std::env::var("BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let scale = if quick { 10 } else { 1 };
    let dir = scratch_dir();
    let mut rows = Vec::new();
    // Counted before anything is pinned.
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let place = Placement::choose();
    println!("{}", place.describe());
    if std::env::var("BENCH_ONLY").is_ok_and(|v| v == "nagle") {
        nagle::row(place, u32::try_from(scale).unwrap_or(1), &mut rows);
        print_table(&rows, cpus);
        let _ = std::fs::remove_dir_all(&dir);
        return;
    }

    // Throughput at zero latency.
    throughput(&dir, 50_000 / scale, place, &mut rows);

    // The per-point cost of expressions (issue 16): a step with a `let:` and two
    // expression placeholders beside the plain step, alternately, at 10 connections.
    expressions(&dir, 50_000 / scale, place, &mut rows);

    // Latency-bound makespan.
    let (points, conns, latency) = (1_000 / scale, 10usize, Duration::from_millis(10));
    let (plain, run) = best_of(&dir, latency, points, conns, place);
    let ideal = latency * u32::try_from(points.div_ceil(conns as u64)).unwrap_or(u32::MAX);
    let over_plain = run.as_secs_f64() / plain.as_secs_f64();
    rows.push(Row {
        what: format!("makespan, {points} points x 10 ms, {conns} connections"),
        value: ms(run),
        reference: format!("{} plain client; ideal {}", ms(plain), ms(ideal)),
        ratio: format!(
            "{over_plain:.3} of plain, {:.3} of ideal",
            run.as_secs_f64() / ideal.as_secs_f64()
        ),
        target: verdict(over_plain <= 1.03, "<= 1.03 of plain"),
    });

    // Scale: time and peak memory.
    let mut peaks = Vec::new();
    for points in [10_000u64, 100_000, 1_000_000] {
        let points = points / scale;
        let sim = start_sim(Duration::ZERO, place);
        let run = run_sequence(&dir, &sim, points, 10, true);
        peaks.push(run.peak_kib);
        rows.push(Row {
            what: format!("scale, {points} points, 10 connections"),
            value: format!("{} , peak {:.1} MiB", ms(run.elapsed), mib(run.peak_kib)),
            reference: String::new(),
            ratio: String::new(),
            target: if points >= 1_000_000 / scale {
                verdict(mib(run.peak_kib) < 64.0, "< 64 MiB")
            } else {
                String::new()
            },
        });
    }
    // The same million points nested (issue 15): 100 iterations of a loop, each a
    // 10,000-point step; within the flat bound, as nothing grows with iterations.
    let (outer, inner) = (100u64, 10_000 / scale);
    let sim = start_sim(Duration::ZERO, place);
    let file = write_nested(&dir, outer, inner, 10);
    let run = run_file(&file, &sim, true);
    rows.push(Row {
        what: format!("scale, nested {outer} x {inner} points, 10 connections"),
        value: format!("{} , peak {:.1} MiB", ms(run.elapsed), mib(run.peak_kib)),
        reference: format!("flat {:.1} MiB", mib(peaks[2])),
        ratio: format!("{:.2}", mib(run.peak_kib) / mib(peaks[2])),
        target: verdict(mib(run.peak_kib) < 64.0, "< 64 MiB"),
    });
    let growth = mib(peaks[2]) / mib(peaks[0]);
    rows.push(Row {
        what: "memory growth, 100x the points".into(),
        value: format!("{:.1} -> {:.1} MiB", mib(peaks[0]), mib(peaks[2])),
        reference: String::new(),
        ratio: format!("{growth:.2}"),
        target: verdict(growth < 1.5, "flat (< 1.5x)"),
    });

    // `check` on a million points.
    let points = 1_000_000 / scale;
    let file = write_sequence(&dir, points, 10);
    let started = Instant::now();
    let out = Command::new(BIN)
        .arg("check")
        .arg(&file)
        .output()
        .expect("cannot run sequencer check");
    assert!(out.status.success(), "check failed: {out:?}");
    let took = started.elapsed();
    rows.push(Row {
        what: format!("check, {points} points"),
        value: ms(took),
        reference: String::new(),
        ratio: String::new(),
        target: verdict(took < Duration::from_secs(1), "< 1 s"),
    });

    // Write then query with Nagle on.
    nagle::row(place, u32::try_from(scale).unwrap_or(1), &mut rows);

    print_table(&rows, cpus);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The throughput rows: `points` at zero latency over 1, 4 and 10 connections, placed as
/// `place` says, then (if that pinned) 10 connections again unpinned, for comparison.
fn throughput(dir: &Path, points: u64, place: Placement, rows: &mut Vec<Row>) {
    for conns in [1usize, 4, 10] {
        let (plain, run) = best_of(dir, Duration::ZERO, points, conns, place);
        let (ours, limit) = (rate(points, run), rate(points, plain));
        let ratio = ours / limit;
        let target = if conns == 10 {
            verdict(ratio >= 0.7, ">= 0.7")
        } else {
            String::new()
        };
        rows.push(Row {
            what: format!("throughput, {points} points, {conns} connections"),
            value: format!("{ours:.0} points/s"),
            reference: format!("{limit:.0} points/s (plain tokio client)"),
            ratio: format!("{ratio:.2}"),
            target,
        });
    }

    // The same at 10 connections without pinning, for comparison only.
    if let Placement::Pinned { .. } = place {
        let (plain, run) = best_of(dir, Duration::ZERO, points, 10, Placement::Free);
        let (ours, limit) = (rate(points, run), rate(points, plain));
        rows.push(Row {
            what: format!("throughput, {points} points, 10 connections, not pinned"),
            value: format!("{ours:.0} points/s"),
            reference: format!("{limit:.0} points/s (plain tokio client)"),
            ratio: format!("{:.2}", ours / limit),
            target: String::new(),
        });
    }
}

/// The expressions row: `points` at zero latency over 10 connections, the step with a
/// `let:` and two expression placeholders against the same step with a plain `{i}`, best
/// of [`ROUNDS`] turns each, taken alternately against the same simulator.
fn expressions(dir: &Path, points: u64, place: Placement, rows: &mut Vec<Row>) {
    let conns = 10;
    let sim = start_sim(Duration::ZERO, place);
    place.enter(Role::Client);
    let plain_file = write_sequence(dir, points, conns);
    let expr_file = write_expr_sequence(dir, points, conns);
    let (mut plain, mut expr) = (Duration::MAX, Duration::MAX);
    for _ in 0..ROUNDS {
        plain = plain.min(run_file(&plain_file, &sim, false).elapsed);
        expr = expr.min(run_file(&expr_file, &sim, false).elapsed);
    }
    let (ours, reference) = (rate(points, expr), rate(points, plain));
    let ratio = ours / reference;
    rows.push(Row {
        what: format!("throughput, let + 2 expressions, {points} points, {conns} connections"),
        value: format!("{ours:.0} points/s"),
        reference: format!("{reference:.0} points/s (plain `V{{i}}?` step)"),
        ratio: format!("{ratio:.2}"),
        target: verdict(ratio >= 0.9, ">= 0.9 of the plain step"),
    });
}

/// [`write_sequence`] with a `let:` and two expressions in the command:
/// `V{i * 2 + 1}:{j:.6}:{abs(i - 3)}?` with `j = i / 1000 + 1e-6`.
fn write_expr_sequence(dir: &Path, points: u64, conns: usize) -> PathBuf {
    write_step(
        &dir.join(format!("bench-expr-{points}-{conns}.yaml")),
        points,
        conns,
        "let: {j: \"i / 1000 + 1e-6\"}\n    commands: [\"V{i * 2 + 1}:{j:.6}:{abs(i - 3)}?\"]",
    )
}

/// The best times of the plain client and of `sequencer run` over [`ROUNDS`] turns each,
/// taken alternately against the same simulator.
///
/// Pinned, the turns alternate between two simulators, one on each of the two CPUs, the
/// clients on the other one: on this VM one CPU suits one side better than the other, and
/// neither side gets to pick.
fn best_of(
    dir: &Path,
    latency: Duration,
    points: u64,
    conns: usize,
    place: Placement,
) -> (Duration, Duration) {
    let sims: Vec<(SimThread, Placement)> = place
        .both_ways()
        .into_iter()
        .map(|p| (start_sim(latency, p), p))
        .collect();
    let (mut plain, mut ours) = (Duration::MAX, Duration::MAX);
    for round in 0..ROUNDS {
        let (sim, place) = &sims[round % sims.len()];
        place.enter(Role::Client);
        plain = plain.min(plain_client_process(sim.addr(), conns, points));
        ours = ours.min(run_sequence(dir, sim, points, conns, false).elapsed);
    }
    (plain, ours)
}

/// A fresh scratch folder for sequences and run logs.
fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sequencer_bench_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("cannot create the scratch folder");
    dir
}

/// A simulator with this reply latency, on 127.0.0.1:0 in its own thread, placed as `place`
/// says; the processes this thread starts afterwards (the clients) run where `place` puts
/// clients.
fn start_sim(latency: Duration, place: Placement) -> SimThread {
    // A new thread, and a child process, start with the affinity of the thread creating it.
    place.enter(Role::Simulator);
    let sim = SimThread::spawn(SimConfig {
        latency,
        ..SimConfig::default()
    })
    .expect("cannot start the simulator");
    place.enter(Role::Client);
    sim
}

/// Which side of a measurement a thread is about to start.
#[derive(Clone, Copy)]
enum Role {
    Simulator,
    Client,
}

/// Where the simulator and the clients run.
#[derive(Clone, Copy)]
enum Placement {
    /// The simulator's thread on one CPU, every client process on another.
    Pinned { sim: usize, client: usize },
    /// Wherever the scheduler puts them (one CPU, or no way to pin).
    Free,
}

impl Placement {
    /// Pinned to the first two CPUs this process may use, if it may use two.
    fn choose() -> Placement {
        match affinity::allowed_at_start().as_slice() {
            [sim, client, ..] => Placement::Pinned {
                sim: *sim,
                client: *client,
            },
            _ => Placement::Free,
        }
    }

    /// This placement and, pinned, the same with the two CPUs swapped.
    fn both_ways(self) -> Vec<Placement> {
        match self {
            Placement::Pinned { sim, client } => vec![
                self,
                Placement::Pinned {
                    sim: client,
                    client: sim,
                },
            ],
            Placement::Free => vec![self],
        }
    }

    /// Makes the calling thread (and what it starts next) run where `role` belongs.
    fn enter(self, role: Role) {
        let done = match (self, role) {
            (Placement::Pinned { sim, .. }, Role::Simulator) => affinity::pin(&[sim]),
            (Placement::Pinned { client, .. }, Role::Client) => affinity::pin(&[client]),
            (Placement::Free, _) => affinity::pin(&affinity::allowed_at_start()),
        };
        if let Err(e) = done {
            eprintln!("cannot set the CPU affinity: {e}");
        }
    }

    /// One line for the report.
    fn describe(self) -> String {
        match self {
            Placement::Pinned { sim, client } => format!(
                "simulator and client under test (plain or sequencer) pinned to a CPU each: \
                 CPUs {sim} and {client}, both ways round, alternately"
            ),
            Placement::Free => "not pinned (fewer than two CPUs, or no affinity API)".into(),
        }
    }
}

/// CPU affinity of the calling thread, through `sched_setaffinity`.
#[cfg(target_os = "linux")]
mod affinity {
    use std::sync::OnceLock;

    use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

    /// The CPUs this thread may run on now.
    pub fn allowed() -> Vec<usize> {
        sched_getaffinity(None).map_or_else(
            |_| Vec::new(),
            |set| (0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect(),
        )
    }

    /// The CPUs the bench was allowed at its first call: what "not pinned" goes back to.
    pub fn allowed_at_start() -> Vec<usize> {
        static START: OnceLock<Vec<usize>> = OnceLock::new();
        START.get_or_init(allowed).clone()
    }

    /// Restricts the calling thread to `cpus`.
    pub fn pin(cpus: &[usize]) -> std::io::Result<()> {
        allowed_at_start();
        let mut set = CpuSet::new();
        for &cpu in cpus {
            set.set(cpu);
        }
        sched_setaffinity(None, &set).map_err(std::io::Error::from)
    }
}

/// No affinity API: nothing is pinned.
#[cfg(not(target_os = "linux"))]
mod affinity {
    pub fn allowed_at_start() -> Vec<usize> {
        Vec::new()
    }

    pub fn pin(_: &[usize]) -> std::io::Result<()> {
        Ok(())
    }
}

/// A `points`-point sweep of one query each, over `conns` connections.
fn write_sequence(dir: &Path, points: u64, conns: usize) -> PathBuf {
    write_step(
        &dir.join(format!("bench-{points}-{conns}.yaml")),
        points,
        conns,
        "commands: [\"V{i}?\"]",
    )
}

/// Writes at `path` a sequence of one step: a `points`-point sweep of `i`, every point
/// independent, over `conns` connections, with `body` (its `commands:` and what goes with
/// them, in the step's indentation).
fn write_step(path: &Path, points: u64, conns: usize, body: &str) -> PathBuf {
    let text = format!(
        "name: bench\n\
         instrument: {{max_connections: {conns}}}\n\
         steps:\n  \
           - name: s\n    \
             sweep: {{i: {{start: 0, stop: {last}, step: 1}}}}\n    \
             parallel: all\n    \
             {body}\n",
        last = points - 1
    );
    std::fs::write(path, text).expect("cannot write the sequence");
    path.to_owned()
}

/// A loop of `outer` iterations whose body is an `inner`-point sweep of one query each,
/// over `conns` connections.
fn write_nested(dir: &Path, outer: u64, inner: u64, conns: usize) -> PathBuf {
    let path = dir.join(format!("bench-nested-{outer}x{inner}-{conns}.yaml"));
    let text = format!(
        "name: bench\n\
         instrument: {{max_connections: {conns}}}\n\
         steps:\n  \
           - name: T\n    \
             sweep: {{t: {{start: 0, stop: {last_outer}, step: 1}}}}\n    \
             steps:\n      \
               - name: s\n        \
                 sweep: {{i: {{start: 0, stop: {last}, step: 1}}}}\n        \
                 parallel: all\n        \
                 commands: [\"V{{i}}?\"]\n",
        last_outer = outer - 1,
        last = inner - 1
    );
    std::fs::write(&path, text).expect("cannot write the sequence");
    path
}

/// What one `sequencer run` took.
struct RunResult {
    /// Wall time from spawn to exit.
    elapsed: Duration,
    /// Highest `VmHWM` seen, in KiB.
    peak_kib: u64,
}

/// Runs the real binary on a fresh sequence against `sim`; panics unless it succeeds. With
/// `sample_memory`, reads the child's peak memory every 2 ms while it runs (the scale rows);
/// without, only waits for it, as for the plain client, so that timed runs carry no
/// measuring load (a read of `/proc` 500 times a second, and up to 2 ms late to see the exit).
fn run_sequence(
    dir: &Path,
    sim: &SimThread,
    points: u64,
    conns: usize,
    sample_memory: bool,
) -> RunResult {
    run_file(&write_sequence(dir, points, conns), sim, sample_memory)
}

/// Runs the real binary on the sequence `file` against `sim`; see [`run_sequence`].
fn run_file(file: &Path, sim: &SimThread, sample_memory: bool) -> RunResult {
    let log = file.with_extension("jsonl");
    let _ = std::fs::remove_file(&log);
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .arg("-q")
        .arg("run")
        .arg(file)
        .arg("--address")
        .arg(sim.addr().to_string())
        .arg("-o")
        .arg(&log)
        .stdout(Stdio::null())
        .spawn()
        .expect("cannot start sequencer");
    let mut peak_kib = 0;
    let status = loop {
        if !sample_memory {
            break child.wait().expect("wait failed");
        }
        if let Some(kib) = vm_hwm_kib(child.id()) {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait failed") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    assert!(status.success(), "sequencer run failed: {status}");
    let _ = std::fs::remove_file(&log);
    RunResult { elapsed, peak_kib }
}

/// The process's peak resident memory so far (`VmHWM`), in KiB; `None` once it has exited
/// or where `/proc` does not exist.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The plain client's process: `args` is `ADDRESS CONNECTIONS POINTS`.
fn run_as_plain_client(args: &str) {
    let mut it = args.split_whitespace();
    let addr = it
        .next()
        .and_then(|a| a.parse().ok())
        .expect("plain client address");
    let conns = it
        .next()
        .and_then(|c| c.parse().ok())
        .expect("plain client connections");
    let points = it
        .next()
        .and_then(|p| p.parse().ok())
        .expect("plain client points");
    plain_client(addr, conns, points);
}

/// Runs [`plain_client`] in a process of its own (this binary again), like `sequencer run`;
/// returns the time from spawn to exit, as for the sequencer.
fn plain_client_process(addr: SocketAddr, conns: usize, points: u64) -> Duration {
    let exe = std::env::current_exe().expect("cannot find the bench binary");
    let started = Instant::now();
    let status = Command::new(exe)
        .env(PLAIN_CLIENT, format!("{addr} {conns} {points}"))
        .stdout(Stdio::null())
        .status()
        .expect("cannot start the plain client");
    assert!(status.success(), "the plain client failed: {status}");
    started.elapsed()
}

/// The limit: `points` round trips of the same texts over `conns` plain tokio connections,
/// each taking the next point as soon as it has its reply.
fn plain_client(addr: SocketAddr, conns: usize, points: u64) -> Duration {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("cannot build a runtime");
    runtime.block_on(async move {
        let next = Arc::new(AtomicU64::new(0));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..conns {
            let next = Arc::clone(&next);
            tasks.push(tokio::spawn(async move {
                let stream = TcpStream::connect(addr).await.expect("cannot connect");
                stream.set_nodelay(true).expect("nodelay");
                let (read, mut write) = stream.into_split();
                let mut read = BufReader::new(read);
                let (mut text, mut reply) = (Vec::new(), String::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= points {
                        break;
                    }
                    text.clear();
                    writeln!(text, "V{i}?").expect("write to a Vec");
                    write.write_all(&text).await.expect("send");
                    reply.clear();
                    read.read_line(&mut reply).await.expect("reply");
                }
            }));
        }
        for task in tasks {
            task.await.expect("client task panicked");
        }
        started.elapsed()
    })
}

/// Points per second.
fn rate(points: u64, took: Duration) -> f64 {
    points as f64 / took.as_secs_f64()
}

/// A duration in milliseconds, one decimal.
fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// KiB to MiB.
fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// `target: ok` or `target: MISSED`.
fn verdict(holds: bool, target: &str) -> String {
    format!("{target}: {}", if holds { "ok" } else { "MISSED" })
}

/// Prints the rows as a Markdown table, with the machine it ran on.
fn print_table(rows: &[Row], cpus: usize) {
    println!("\nsequencer benchmark ({cpus} CPUs; loopback; built-in simulator)\n");
    println!("| measurement | sequencer | reference | ratio | target |");
    println!("| --- | --- | --- | --- | --- |");
    for r in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            r.what, r.value, r.reference, r.ratio, r.target
        );
    }
}
