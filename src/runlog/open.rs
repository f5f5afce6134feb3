//! Opening a run log: a new one for `sequencer run`, at `-o PATH` or at the default path
//! made from the sequence's name, and an existing one for `sequencer resume`.
//!
//! `run` opens its log before it dials any instrument, so every problem with the path is
//! found while nothing has been sent: [`RunLog::create`] and [`RunLog::create_default`]
//! turn each into an [`OpenError`] that says what is wrong and what to do (a directory, a
//! path under a file, no permission, a read-only file system, a name too long, a log that
//! is already there), which `run` reports as invalid input (exit 2). A log is never
//! overwritten; an empty file (a run killed before it wrote its start record) is reused.
//!
//! Every log is opened for appending (`O_APPEND`): whatever happens to the file under a
//! run (a copy-truncate), a write lands at its end, never behind a hole of zero bytes, and
//! the file's length tells how much of what was written is still there (`intact.rs`).

use std::fmt::{self, Write as _};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use sha2::{Digest, Sha256};

use super::RunLog;

/// Longest sequence name, in bytes, kept whole in a default log file name; a longer one is
/// cut and ends with a hash of the whole name. With the time stamp, a `-N` suffix and the
/// extension, the file name stays far below the 255 bytes file systems allow.
const MAX_NAME_BYTES: usize = 64;

/// Most default file names tried in one second (`NAME-STAMP-2.jsonl`, `-3`, ...).
const MAX_TRIES: u32 = 1000;

/// Why a run log could not be made ready for a run. Nothing has been sent at that point.
#[derive(Debug)]
pub struct OpenError {
    /// The log's path.
    pub path: PathBuf,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong with a run log's path (each with its own advice, see [`OpenError`]).
#[derive(Debug)]
pub enum Problem {
    /// The path is a directory (or ends with `/`).
    IsDirectory,
    /// A folder on the way is a file.
    UnderAFile(PathBuf),
    /// The path exists and is not a regular file (a device, a pipe).
    NotAFile,
    /// A file with content is there: logs are never overwritten.
    NotEmpty,
    /// Another `sequencer` process holds the file.
    InUse,
    /// The folder may not be written to.
    PermissionDenied,
    /// The file system is mounted read-only.
    ReadOnly,
    /// A name in the path (or the whole path) is longer than the file system takes.
    NameTooLong,
    /// The disk is full.
    Full,
    /// Anything else the operating system refused.
    Other(io::Error),
    /// The file was made, but its start record could not be written.
    Write(io::Error),
}

impl OpenError {
    fn new(path: &Path, problem: Problem) -> OpenError {
        OpenError {
            path: path.to_owned(),
            problem,
        }
    }

    /// The error for an I/O error `e` met while making the file at `path` (or its folders).
    fn from_io(path: &Path, e: io::Error) -> OpenError {
        use io::ErrorKind as K;
        let problem = match e.kind() {
            K::IsADirectory => Problem::IsDirectory,
            // A folder on the way is a file: `create_dir_all` says "exists", `open` ENOTDIR.
            K::NotADirectory | K::AlreadyExists => match file_on_the_way(path) {
                Some(file) => Problem::UnderAFile(file),
                None => Problem::Other(e),
            },
            K::PermissionDenied => Problem::PermissionDenied,
            K::ReadOnlyFilesystem => Problem::ReadOnly,
            K::InvalidFilename => Problem::NameTooLong,
            K::StorageFull | K::QuotaExceeded => Problem::Full,
            _ => Problem::Other(e),
        };
        OpenError::new(path, problem)
    }

    /// The error for a start record that could not be written.
    pub fn write(path: &Path, e: io::Error) -> OpenError {
        let problem = match e.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Problem::Full,
            _ => Problem::Write(e),
        };
        OpenError::new(path, problem)
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        write!(f, "cannot create run log `{path}`: ")?;
        match &self.problem {
            Problem::IsDirectory => write!(
                f,
                "it is a directory; give a file path, such as `-o {}`",
                Path::new(&self.path).join("run.jsonl").display()
            )?,
            Problem::UnderAFile(file) => write!(
                f,
                "`{}` is a file, not a directory; choose another `-o` path",
                file.display()
            )?,
            Problem::NotAFile => f.write_str(
                "it exists and is not a regular file; give the path of a new `.jsonl` file with `-o`",
            )?,
            Problem::NotEmpty => f.write_str(
                "it already exists and is not empty, and a run log is never overwritten; choose another `-o` path",
            )?,
            Problem::InUse => f.write_str(
                "it is in use by another sequencer process (is that run still going?); choose another `-o` path",
            )?,
            Problem::PermissionDenied => f.write_str(
                "permission denied; choose a directory you may write to with `-o`",
            )?,
            Problem::ReadOnly => f.write_str(
                "the file system is read-only; choose a directory on a writable disk with `-o`",
            )?,
            Problem::NameTooLong => write!(
                f,
                "{}; choose a shorter `-o` path",
                too_long(&self.path)
            )?,
            Problem::Full => f.write_str(
                "the disk is full; free some space, or choose a directory on another disk with `-o`",
            )?,
            Problem::Other(e) => write!(
                f,
                "{}; choose another `-o` path, in a directory you may write to",
                lowercase(e)
            )?,
            Problem::Write(e) => write!(
                f,
                "writing its start record failed: {}; choose another `-o` path",
                lowercase(e)
            )?,
        }
        f.write_str(" (nothing was sent)")
    }
}

impl std::error::Error for OpenError {}

/// The operating system's message, first letter lowercase (`no such file or directory`).
fn lowercase(e: &io::Error) -> String {
    let text = e.to_string();
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_lowercase().chain(chars).collect()
    })
}

/// What is too long in `path`: its longest name if that passes 255 bytes, else the path.
fn too_long(path: &Path) -> String {
    let longest = path
        .components()
        .map(|c| c.as_os_str().len())
        .max()
        .unwrap_or(0);
    if longest > 255 {
        format!("a name in it is {longest} bytes long, and most file systems take at most 255")
    } else {
        format!(
            "the path is too long for the file system ({} bytes)",
            path.as_os_str().len()
        )
    }
}

/// The deepest folder on the way to `path` that is a file, if any.
fn file_on_the_way(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir()))
        .map(Path::to_owned)
}

impl RunLog {
    /// Makes the run log of a new run at `path` (`-o`), with its folders. A file already
    /// there is reused only if it is empty (a run killed before its start record): a log
    /// is never overwritten.
    pub fn create(path: &Path) -> Result<RunLog, OpenError> {
        make_folders(path)?;
        match create_new(path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => reuse_empty(path),
            Err(e) => Err(OpenError::from_io(path, e)),
            Ok(log) => Ok(log),
        }
    }

    /// Makes the run log of a new run at the default path,
    /// `runs/<name>-<YYYYmmdd-HHMMSS>.jsonl` ([`default_file_name`]), with `-2`, `-3`...
    /// before the extension when that is taken.
    pub fn create_default(name: &str, now: SystemTime) -> Result<RunLog, OpenError> {
        create_numbered(Path::new("runs"), &default_file_name(name, now))
    }

    /// Opens an existing log to append to it, first cutting it to `valid_len` bytes (a torn
    /// last line must not be glued to the next record).
    pub fn append(path: &Path, valid_len: u64) -> io::Result<RunLog> {
        let file = OpenOptions::new().append(true).open(path)?;
        // Locked before cutting: another process may still be writing this log.
        lock(&file)?;
        file.set_len(valid_len)?;
        Ok(RunLog::new(file, path, valid_len))
    }
}

/// Makes a new log named `file` in `folder`, or `NAME-2.jsonl`, `NAME-3.jsonl`... when
/// that is taken.
fn create_numbered(folder: &Path, file: &str) -> Result<RunLog, OpenError> {
    let base = file.trim_end_matches(".jsonl");
    let mut path = folder.join(file);
    make_folders(&path)?;
    for n in 2..=MAX_TRIES + 1 {
        match create_new(&path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                path = folder.join(format!("{base}-{n}.jsonl"));
            }
            Err(e) => return Err(OpenError::from_io(&path, e)),
            Ok(log) => return Ok(log),
        }
    }
    Err(OpenError::new(&path, Problem::NotEmpty))
}

/// Makes the folders of `path`.
fn make_folders(path: &Path) -> Result<(), OpenError> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => std::fs::create_dir_all(dir).map_err(|e| OpenError::from_io(path, e)),
        None => Ok(()),
    }
}

/// Makes a new file at `path` (never one that exists), locked, its directory entry synced.
fn create_new(path: &Path) -> io::Result<RunLog> {
    let file = OpenOptions::new()
        .append(true)
        .create_new(true)
        .open(path)?;
    lock(&file)?;
    // The new directory entry must survive a power cut too.
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(RunLog::new(file, path, 0))
}

/// Takes over the file at `path` if it is an empty regular file that no other process
/// holds; says why not otherwise.
fn reuse_empty(path: &Path) -> Result<RunLog, OpenError> {
    let refuse = |problem| Err(OpenError::new(path, problem));
    // Looked at before opening: opening a pipe for writing would wait for a reader.
    let meta = std::fs::metadata(path).map_err(|e| OpenError::from_io(path, e))?;
    if meta.is_dir() {
        return refuse(Problem::IsDirectory);
    }
    if !meta.is_file() {
        return refuse(Problem::NotAFile);
    }
    if meta.len() > 0 {
        return refuse(Problem::NotEmpty);
    }
    let file = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| OpenError::from_io(path, e))?;
    match lock(&file) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return refuse(Problem::InUse),
        Err(e) => return Err(OpenError::from_io(path, e)),
        Ok(()) => {}
    }
    // Looked at again under the lock: a run may have begun writing it meanwhile.
    if file
        .metadata()
        .map_err(|e| OpenError::from_io(path, e))?
        .len()
        > 0
    {
        return refuse(Problem::NotEmpty);
    }
    Ok(RunLog::new(file, path, 0))
}

/// Takes an exclusive lock on the log for as long as it is open, so two processes never
/// write one log; `WouldBlock` if another holds it.
fn lock(file: &File) -> io::Result<()> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "the run log is in use by another process",
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// `<name>-<YYYYmmdd-HHMMSS>.jsonl` (UTC), the name made safe for any file system: every
/// character but letters, digits, `-`, `_` and `.` (control characters, `/`, `\`, `:`,
/// spaces...) becomes `_`, a leading `.` too (no hidden files), and a name longer than
/// [`MAX_NAME_BYTES`] is cut and ends with 8 hex digits of its SHA-256, so two long names
/// that begin alike still get different files.
pub fn default_file_name(name: &str, now: SystemTime) -> String {
    let stamp = humantime::format_rfc3339_seconds(now).to_string();
    // 2026-11-25T02:16:27Z -> 20261125-021627
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let stamp = format!(
        "{}-{}",
        digits.get(..8).unwrap_or_default(),
        digits.get(8..14).unwrap_or_default()
    );
    let mut safe: String = name
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_alphanumeric() || "-_".contains(c) || (c == '.' && i > 0) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        safe.push_str("run");
    }
    if safe.len() > MAX_NAME_BYTES {
        let mut cut = MAX_NAME_BYTES - 9;
        while !safe.is_char_boundary(cut) {
            cut -= 1;
        }
        safe.truncate(cut);
        let hash = Sha256::digest(name.as_bytes());
        safe.push('-');
        for byte in &hash[..4] {
            let _ = write!(safe, "{byte:02x}");
        }
    }
    format!("{safe}-{stamp}.jsonl")
}

#[cfg(test)]
mod tests;
