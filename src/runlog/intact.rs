//! Is the run log still where the run says it is, and whole? A log deleted, moved, replaced
//! or cut short (a copy-truncate) under a running sequencer would otherwise go unnoticed:
//! the writes go on into a file nobody will find, and the summary names a path that no
//! longer holds the run.
//!
//! The sequencer asks at every background fsync, at least once a second
//! ([`RunLog::checkpoint`] then [`Checkpoint::run`] on a blocking thread), and once more
//! before its stop record ([`RunLog::check_intact`]). The open file's metadata is compared
//! with the path's: no link left (deleted), another file or none at the path (replaced,
//! moved), or fewer bytes than were written (truncated; the log is opened for appending, so
//! later writes land at the new end and the length stays short). The check costs an
//! `fstat` and a `stat`.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::RunLog;

/// How a run log went missing under its run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lost {
    /// Its last name was removed: what it holds goes when the run closes it.
    Deleted,
    /// Its path names nothing now (it was renamed or moved away).
    Moved,
    /// Its path names another file.
    Replaced,
    /// It holds fewer bytes than the run wrote to it.
    Truncated {
        /// Bytes it holds.
        len: u64,
        /// Bytes the run wrote to it.
        written: u64,
    },
}

/// A [`Lost`] log, with its path: the text the run reports (`run log incomplete: ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostLog {
    /// The path the run writes to.
    pub path: PathBuf,
    /// What happened to it.
    pub lost: Lost,
}

impl fmt::Display for LostLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match &self.lost {
            Lost::Deleted => write!(
                f,
                "`{path}` was deleted while the run was writing it: its records are lost"
            ),
            Lost::Moved => write!(
                f,
                "`{path}` was moved or renamed while the run was writing it: the path no \
                 longer holds the log"
            ),
            Lost::Replaced => write!(
                f,
                "`{path}` was replaced by another file while the run was writing it: the \
                 path no longer holds the log"
            ),
            Lost::Truncated { len, written } => write!(
                f,
                "`{path}` was truncated while the run was writing it (it holds {len} of the \
                 {written} bytes written): records are lost"
            ),
        }
    }
}

/// What a background fsync of the log needs: a handle on the open file (shared, no new
/// file descriptor), and what to compare it with afterwards.
#[derive(Debug)]
pub struct Checkpoint {
    /// The open log.
    file: Arc<File>,
    /// Where it should be.
    path: PathBuf,
    /// Bytes it should hold.
    written: u64,
    /// Bytes were written since the last fsync: force them to disk first.
    sync: bool,
}

impl Checkpoint {
    /// Forces the log to disk (if anything was written since the last time), then checks
    /// that it is still whole at its path. Blocks: for a blocking thread.
    pub fn run(self) -> io::Result<Option<LostLog>> {
        if self.sync {
            self.file.sync_data()?;
        }
        check(&self.file, &self.path, self.written)
    }
}

impl RunLog {
    /// Writes what is pending and returns what a blocking thread needs to force it all to
    /// disk and check the log ([`Checkpoint::run`]): for a caller that must not wait for
    /// the disk (an fsync takes 10 ms on this machine's disk, more on a network share).
    pub fn checkpoint(&mut self) -> io::Result<Checkpoint> {
        self.flush()?;
        let sync = self.unsynced > 0;
        self.unsynced = 0;
        Ok(Checkpoint {
            file: Arc::clone(&self.file),
            path: self.path.clone(),
            written: self.written,
            sync,
        })
    }

    /// Checks now that the log is still whole at its path (see [`Checkpoint::run`]).
    pub fn check_intact(&self) -> io::Result<Option<LostLog>> {
        check(&self.file, &self.path, self.written)
    }
}

/// Compares the open `file` with what `path` names now and with the `written` bytes.
fn check(file: &File, path: &Path, written: u64) -> io::Result<Option<LostLog>> {
    let open = file.metadata()?;
    let lost = |lost| {
        Ok(Some(LostLog {
            path: path.to_owned(),
            lost,
        }))
    };
    if open.nlink() == 0 {
        return lost(Lost::Deleted);
    }
    match std::fs::metadata(path) {
        Ok(now) if now.dev() != open.dev() || now.ino() != open.ino() => {
            return lost(Lost::Replaced);
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => return lost(Lost::Moved),
        // Another error (a folder made unreadable) tells nothing about the file.
        Ok(_) | Err(_) => {}
    }
    if open.len() < written {
        return lost(Lost::Truncated {
            len: open.len(),
            written,
        });
    }
    Ok(None)
}
