//! Integration tests of the `sequencer` binary: every test runs the real executable against
//! a simulated (or deliberately broken) instrument on 127.0.0.1:0 and checks exit codes,
//! stderr and the JSON Lines run log. Behaviours of the actors that depend on timing
//! (stopping, cancelling, holds, retries, redials and their backoff, refused sessions,
//! lanes) are specified in-process, on a paused clock, in the library's `actor_tests`;
//! these keep what only the real binary shows. Scripted instruments come from
//! `sequencer::testing`, served over TCP.
//!
//! # Layout
//! - [`support`]: running the binary with a timeout guard, scratch folders, run logs, sims.
//! - [`examples`]: every file in `sequences/` runs and checks clean; the cryostat example
//!   (nested loop, `on: tc`) in detail, with `export` and `plot --group`.
//! - [`log_content`]: point records carry the right variables, texts, replies and values.
//! - [`connections`]: the pool's bound, concurrency, parallel speed-up, fewer connections.
//! - [`lanes`]: only points declared independent overlap: read-backs, lanes in sweep
//!   order, `check`'s plan and its warning about `concurrency:` alone.
//! - [`validation`]: invalid input (or a taken `-o` path) exits 2 and sends nothing.
//! - [`bounds`]: every count and duration above its bound exits 2 at its position; pools
//!   beyond the open-file limit, descriptors running out mid-run; Unicode names end to end.
//! - [`failures`]: unreachable instruments, failing points, reply timeouts.
//! - [`recovery`]: a connection lost mid-run, replaced after refused redials.
//! - [`faults`]: every simulator fault: each point accounted for exactly once, no stale reply.
//! - [`deadline`]: `--deadline` cuts long waits and polls, teardown still runs.
//! - [`signals`]: real signals: SIGINT and SIGTERM once, three times, while connecting;
//!   SIGHUP (and `nohup`); `--deadline`.
//! - [`dead_outputs`]: stdout, stderr or the terminal closed mid-run: the run ends as it
//!   would have; `export`, `diff`, `schema`, `completions` and `resume` into a closed pipe.
//! - [`strays`]: instruments that send lines nobody asked for (double answers, late copies,
//!   greetings) never make an `ok` point record another point's reply.
//! - [`output`]: the progress bar only on a terminal, `--quiet`, JSON log lines naming the
//!   connection and instrument, the summary's effective parallelism.
//! - [`resume`]: `kill -9` at any moment then `resume`; torn lines; logs resume refuses.
//! - [`log_paths`]: bad `-o` paths exit 2 and send nothing; safe default names; empty logs
//!   reused by `run -o`; `resume --sequence` for a sequence file that moved.
//! - [`log_lost`]: a log deleted or truncated mid-run: noticed, teardown, exit 1.
//! - [`devices`]: device files: ramping setpoints polled until settled, limits, bad files.
//! - [`nested`]: loops three deep (path ids, every level's vars), `repeat` on a loop,
//!   `kill -9` inside an iteration then `resume` (`on_resume: rerun`), `diff` by path id,
//!   `on:` borrowing within the lender's `max_connections`.
//! - [`replay`]: a recorded run replayed and compared with `sequencer diff`; several
//!   instruments, terminations, `on_connect`, the simulator's report.
//! - [`diff`]: `diff`'s notes on torn lines and different sequences; advice per command for
//!   a log that is not one; differences in sweep order, setup and teardown apart.
//! - [`export`]: `export` as CSV and JSON Lines (exact text of a known run), `plot` to SVG
//!   (labels, one line per series) and PNG, unknown names.
//! - [`plots`]: plot text: characters the PNG's font lacks reported once, legend values
//!   as commands render them.
//! - [`framing`]: the simulator's terminations and greeting: `sim --eom`, `--greeting`,
//!   `sim: {eom}` under `run --sim`, bad values.
//! - [`pyvisa_sim`]: device files answer byte for byte like pyvisa-sim (skipped without python3).
//! - [`pyvisa_clients`]: pyvisa-py as drivers use it: a CR LF file without a `TCPIP SOCKET`
//!   eom, a greeting on connect, write-then-query with Nagle on; [`pyvisa_venv`] makes the
//!   Python side for both.
//! - [`robustness`]: random, mutated and pathological sequence files never panic; each is
//!   refused with exit 2 and a short message, within a memory limit.
//! - [`instruments`]: several instruments in one run: a pool and a simulator each,
//!   `--address NAME=ADDR`, validation errors naming the instrument.
//! - [`params`]: `params:` and `--set`: counts, lists, durations, the start record,
//!   `check --set`, refusals, `resume` with the recorded values, `diff` notes.
//! - [`expressions`]: expressions rendered into commands, `let:` in `vars` and `export`,
//!   measured values reused, `check:` mismatches and retries, `expect:` placeholders, a
//!   poll's `until:` expression, `when:` on commands and steps, points failed by an
//!   expression at run time; the load errors at line and column.
//! - [`stop_when`]: each `stop_when` action and a step's `when:` (break records, counts,
//!   exit codes), `resume` honouring a break, `diff` and `export`; validation at line:col.
//! - [`schema`]: `sequencer schema` validates every example and rejects bad files.
//! - [`help`]: every subcommand's `--help` has an example; shell completions.

mod bounds;
mod connections;
mod dead_outputs;
mod deadline;
mod devices;
mod diff;
mod examples;
mod export;
mod expressions;
mod failures;
mod faults;
mod framing;
mod help;
mod instruments;
mod lanes;
mod log_content;
mod log_lost;
mod log_paths;
mod nested;
mod output;
mod params;
mod plots;
mod pyvisa_clients;
mod pyvisa_sim;
mod pyvisa_venv;
mod recovery;
mod replay;
mod resume;
mod robustness;
mod schema;
mod signals;
mod stop_when;
mod strays;
mod support;
mod validation;
