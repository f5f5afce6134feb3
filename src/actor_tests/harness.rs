//! The in-process harness: a sequence run by the real actors (one [`Pool`] per instrument,
//! its [`Connection`](crate::connection::Connection)s, the [`Sequencer`]) against scripted
//! [`Instrument`]s over in-memory pipes, on an actix system whose tokio clock is paused;
//! what it leaves is an [`Ended`]: the summary, the run log's records, the log lines, and
//! how long the run took in virtual time.

use std::future::Future;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::prelude::*;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::abort::Abort;
use crate::connection::{Dialer, Lenders};
use crate::pool::{Lending, Open, Pool};
use crate::resume::Resume;
use crate::runlog::RunLog;
use crate::sequence::{Address, Sequence};
use crate::sequencer::{Interrupt, Sequencer, Summary};
use crate::testing::Instrument;

/// Milliseconds, for scripts and schedules that read as specs.
pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs `fut` to its end on an actix system whose tokio clock starts paused: time moves
/// only when every task waits, straight to the next timer, so timeouts, backoffs, waits
/// and polls take no real time and always fire in the same order.
pub(super) fn paused<F: Future>(fut: F) -> F::Output {
    actix_rt::System::with_tokio_rt(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .expect("cannot build a tokio runtime")
    })
    .block_on(fut)
}

/// Runs `yaml` against `instrument` (its only instrument) to the end; see [`Run`].
pub(super) fn run(yaml: &str, instrument: &Instrument) -> Ended {
    Run::new(yaml).instrument(instrument).go()
}

/// Only opens the pool of `yaml`'s one instrument, `instrument`: the connections it will
/// keep, or why none opened (the text the app reports).
pub(super) fn open_only(yaml: &str, instrument: &Instrument) -> Result<usize, String> {
    let seq = Run::new(yaml).instrument(instrument).sequence();
    paused(async move {
        let (alive_tx, _alive) = mpsc::channel::<()>(1);
        let ins = &seq.instruments[0];
        let pool = Pool::new(
            Arc::new(ins.clone()),
            Rc::new(instrument.clone()),
            ins.address.clone().expect("set by `sequence`"),
            Arc::new(AtomicUsize::new(0)),
            Abort::default(),
            alive_tx,
        )
        .start();
        let opened = pool.send(Open).await.expect("the pool is alive");
        opened.map_err(|e| e.to_string())
    })
}

/// A run to make: the sequence, its instruments and what happens to it on the way.
pub(super) struct Run {
    yaml: String,
    /// One per instrument of the sequence, in its order.
    instruments: Vec<Instrument>,
    /// Interrupts, and when they come (from the start of the run, connecting included).
    interrupts: Vec<(Duration, Interrupt)>,
    /// What a resumed log already holds (default: a fresh run).
    resume: Option<Resume>,
}

impl Run {
    /// A run of the sequence `yaml`.
    pub(super) fn new(yaml: &str) -> Run {
        Run {
            yaml: yaml.to_owned(),
            instruments: Vec::new(),
            interrupts: Vec::new(),
            resume: None,
        }
    }

    /// The run resumes a log that holds `resume`.
    pub(super) fn resume(mut self, resume: Resume) -> Run {
        self.resume = Some(resume);
        self
    }

    /// The test's sequence, compiled (for reading a log to resume against it).
    pub(super) fn compiled(&self) -> Sequence {
        crate::sequence::parse(&self.yaml, std::path::Path::new("test.yaml"))
            .unwrap_or_else(|e| panic!("the test's sequence is invalid: {e:?}"))
    }

    /// The next instrument of the sequence is `instrument`.
    pub(super) fn instrument(mut self, instrument: &Instrument) -> Run {
        self.instruments.push(instrument.clone());
        self
    }

    /// `interrupt` reaches the sequencer `at` into the run (Ctrl-C, SIGHUP, the deadline:
    /// what the binary's signal handler and deadline timer send).
    pub(super) fn at(mut self, at: Duration, interrupt: Interrupt) -> Run {
        self.interrupts.push((at, interrupt));
        self
    }

    /// Runs it to its end, on a paused clock.
    pub(super) fn go(self) -> Ended {
        let log = Capture::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(log.clone())
            .with_ansi(false)
            .with_target(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let file = TempLog::new();
        let (summary, took) = paused(self.drive(file.0.clone()));
        let text = std::fs::read_to_string(&file.0).expect("cannot read the run log back");
        let records = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("a run log line is not JSON"))
            .collect();
        Ended {
            summary,
            records,
            log: log.text(),
            took,
        }
    }

    /// Opens the pools and runs the sequencer, as `app/drive.rs` does; returns the summary
    /// and the run's virtual time, once every connection is closed.
    /// The sequence, each instrument addressed by its name (the scripted instruments
    /// answer whatever address is dialled).
    fn sequence(&self) -> Sequence {
        let mut seq = crate::sequence::parse(&self.yaml, std::path::Path::new("test.yaml"))
            .unwrap_or_else(|e| panic!("the test's sequence is invalid: {e:?}"));
        assert_eq!(
            seq.instruments.len(),
            self.instruments.len(),
            "one scripted instrument per instrument of the sequence"
        );
        for ins in &mut seq.instruments {
            ins.address = Some(Address {
                host: ins.name.clone(),
                port: 5025,
            });
        }
        seq
    }

    async fn drive(self, path: PathBuf) -> (Summary, Duration) {
        let start = Instant::now();
        let seq = Arc::new(self.sequence());
        let log = RunLog::create(&path).expect("cannot create the run log");
        let abort = Abort::default();
        let (alive_tx, mut alive) = mpsc::channel::<()>(1);
        let ids = Arc::new(AtomicUsize::new(0));
        let mut pools = Vec::new();
        let lending = Rc::new(Lending::new(
            seq.instruments.iter().map(|i| i.name.clone()).collect(),
        ));
        let lenders: Rc<dyn Lenders> = lending.clone();
        for (index, (ins, instrument)) in seq.instruments.iter().zip(&self.instruments).enumerate()
        {
            let dialer: Rc<dyn Dialer> = Rc::new(instrument.clone());
            let pool = Pool::new(
                Arc::new(ins.clone()),
                dialer,
                ins.address.clone().expect("set above"),
                ids.clone(),
                abort.clone(),
                alive_tx.clone(),
            )
            .lending(index, lenders.clone())
            .start();
            pools.push(pool);
        }
        lending.set(&pools);
        drop(alive_tx);
        let mut opened = Vec::new();
        for pool in pools {
            let cap = pool
                .send(Open)
                .await
                .expect("the pool is alive")
                .unwrap_or_else(|e| panic!("no connection opened: {e}"));
            opened.push((pool, cap));
        }
        let (tx, rx) = oneshot::channel();
        let resume = self.resume.unwrap_or_default();
        let sequencer = Sequencer::new(seq, opened, log, abort, resume, tx).start();
        for (at, interrupt) in self.interrupts {
            let sequencer = sequencer.clone();
            actix::spawn(async move {
                tokio::time::sleep_until(start + at).await;
                sequencer.do_send(interrupt);
            });
        }
        drop(sequencer);
        let summary = rx.await.expect("the sequencer ended without a summary");
        let took = start.elapsed();
        // Every connection closed (its `alive` sender dropped), and the instrument has
        // seen it: the journal is complete.
        let closed = tokio::time::timeout(Duration::from_secs(60), alive.recv()).await;
        assert!(closed.is_ok(), "a connection outlived the run by a minute");
        tokio::time::sleep(ms(1)).await;
        (summary, took)
    }
}

/// What a run left.
pub(super) struct Ended {
    /// The sequencer's summary.
    pub(super) summary: Summary,
    /// The run log's records (no start record: the harness writes none).
    pub(super) records: Vec<Value>,
    /// The log lines (info and above) the actors wrote.
    pub(super) log: String,
    /// From the start of the run (connecting included) to the summary, in virtual time.
    pub(super) took: Duration,
}

impl Ended {
    /// Point records of sweep steps (not setup or teardown), in log order.
    pub(super) fn points(&self) -> Vec<&Value> {
        self.records
            .iter()
            .filter(|r| r["type"] == "point" && r["step"] != "setup" && r["step"] != "teardown")
            .collect()
    }

    /// The ids of the step point records, in log order, one per record.
    pub(super) fn ids(&self) -> Vec<&str> {
        self.points()
            .iter()
            .filter_map(|p| p["id"].as_str())
            .collect()
    }

    /// Every record of point `id` (its attempts), in log order.
    pub(super) fn attempts(&self, id: &str) -> Vec<&Value> {
        self.records
            .iter()
            .filter(|r| r["type"] == "point" && r["id"] == id)
            .collect()
    }

    /// The one record of point `id`; panics if there is none or several.
    pub(super) fn point(&self, id: &str) -> &Value {
        let found = self.attempts(id);
        assert_eq!(found.len(), 1, "records of `{id}`: {found:#?}");
        found[0]
    }

    /// The stop record, which must be the last.
    pub(super) fn stop(&self) -> &Value {
        let last = self.records.last().expect("the run log is empty");
        assert_eq!(
            last["type"], "stop",
            "the last record is not `stop`: {last}"
        );
        last
    }

    /// How many lines of the actors' log contain `text`.
    pub(super) fn said(&self, text: &str) -> usize {
        self.log.lines().filter(|l| l.contains(text)).count()
    }
}

/// The run log of one test, in the temp folder; removed when dropped.
struct TempLog(PathBuf);

impl TempLog {
    fn new() -> TempLog {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("sequencer_actor_{}_{n}.jsonl", std::process::id());
        TempLog(std::env::temp_dir().join(name))
    }
}

impl Drop for TempLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Log lines written by the actors, kept for the test to read.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(
            &self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}
