//! The state on disk: versioned JSON decoded strictly, written so that a crash or a power cut
//! leaves the last save whole, and a lock held for as long as a run uses the state.
//!
//! A state file is `{"version": 1, "<kind>": {...}}`. Decoding checks the version first (an
//! unknown one is an error saying which this crate reads), then the content strictly: every
//! field required, unknown ones refused; each error names the file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;

/// The format this crate writes and reads.
pub(crate) const VERSION: u64 = 1;

/// `value` under `kind`, the version first (for a reader opening the file).
pub(crate) fn encode<T: Serialize>(kind: &str, value: &T) -> Vec<u8> {
    struct Envelope<'a, T>(&'a str, &'a T);
    impl<T: Serialize> Serialize for Envelope<'_, T> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap as _;
            let mut map = serializer.serialize_map(Some(2))?;
            map.serialize_entry("version", &VERSION)?;
            map.serialize_entry(self.0, self.1)?;
            map.end()
        }
    }
    // Our own types serialise to JSON without fail (string keys, no floats).
    let mut bytes = serde_json::to_vec_pretty(&Envelope(kind, value)).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// The `kind` saved in `bytes` (read from `path`, named in every error as `what`'s file:
/// "batch state").
pub(crate) fn decode<T: DeserializeOwned>(
    what: &str,
    path: &Path,
    kind: &str,
    bytes: &[u8],
) -> Result<T, Error> {
    let bad = |rule: String| Error::invalid(format!("{what} file {}", path.display()), rule);
    let mut object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes)
        .map_err(|e| {
            bad(format!(
                "not a whole state ({e}); an empty or cut file is what a crash leaves when a save is not durable"
            ))
        })?;
    match object.get("version") {
        Some(v) if v.as_u64() == Some(VERSION) => {}
        Some(v) => {
            return Err(bad(format!(
                "version {v}: this crate reads version {VERSION} only"
            )));
        }
        None => {
            return Err(bad(format!(
                "no \"version\" field (this crate writes {VERSION})"
            )));
        }
    }
    object.remove("version");
    let value = object
        .remove(kind)
        .ok_or_else(|| bad(format!("no \"{kind}\" field")))?;
    if let Some(other) = object.keys().next() {
        return Err(bad(format!("unknown field \"{other}\"")));
    }
    serde_json::from_value(value).map_err(|e| bad(format!("{kind}: {e}")))
}

/// Saves through the sink in `slot`, which is taken out for the save (it may move to a
/// blocking thread, see [`run_save`]) and put back after: the driver's and the fleet
/// runner's own sinks. The outer error: the save did not finish; the inner one: the sink's.
pub(crate) async fn save_through<S: ?Sized + Send + 'static>(
    slot: &mut Option<Box<S>>,
    blocking: impl FnOnce(&S) -> bool,
    save: impl FnOnce(&mut S) -> io::Result<()> + Send + 'static,
) -> Result<io::Result<()>, Error> {
    let Some(mut sink) = slot.take() else {
        return Ok(Ok(()));
    };
    let (sink, saved) = run_save(blocking(&sink), move || {
        let saved = save(&mut sink);
        (sink, saved)
    })
    .await?;
    *slot = Some(sink);
    Ok(saved)
}

/// Runs a save: on tokio's blocking threads when it does blocking I/O (`blocking`), so no
/// async worker waits on a disk; inline otherwise (an in-memory sink, where a thread hop
/// would only cost, and would let a simulation's tasks interleave by wall-clock timing).
pub(crate) async fn run_save<T: Send + 'static>(
    blocking: bool,
    save: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    if !blocking {
        return Ok(save());
    }
    tokio::task::spawn_blocking(save)
        .await
        .map_err(|e| Error::stopped(format!("a state save did not finish: {e}"), false))
}

/// The bytes of `path`; `None` when there is no such file.
pub(crate) fn read(what: &str, path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::invalid(
            format!("{what} file {}", path.display()),
            format!("cannot be read: {e}"),
        )),
    }
}

/// Temporary files of this process are told apart by a counter (and from other processes'
/// by the process id).
static TEMPORARY: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` durably: a temporary file of a unique name in the same
/// folder, written and fsynced, renamed over `path`, the folder fsynced (so the rename
/// survives a power cut too). A crash at any point leaves the old file or the new one,
/// whole. Written here rather than with `tempfile`: only the unique name was missing, and
/// `create_new` with the process id and a counter gives it.
pub(crate) fn write_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let folder = folder_of(path);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = folder.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        TEMPORARY.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    sync_folder(&folder)
}

/// The folder holding `path` (`.` for a bare file name), whose entry a rename changes.
pub(crate) fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Makes the renames in `folder` durable.
#[cfg(unix)]
pub(crate) fn sync_folder(folder: &Path) -> io::Result<()> {
    File::open(folder)?.sync_all()
}

// Windows cannot open a folder as a file; its renames are durable once they return.
#[cfg(not(unix))]
pub(crate) fn sync_folder(_: &Path) -> io::Result<()> {
    Ok(())
}

/// An exclusive lock on a state, held until dropped: a second run on the same state, in
/// another process or in this one, is refused. An advisory lock on a file of its own beside
/// the state (the state itself is replaced at every save), taken with `File::try_lock`
/// (flock on Unix, LockFileEx on Windows), which the system releases if the process dies.
#[derive(Debug)]
pub(crate) struct StateLock {
    _file: File,
}

impl StateLock {
    /// Takes the lock of `what` ("batch state") at `state` through the file `lock`.
    pub fn take(what: &str, state: &Path, lock: &Path) -> Result<Self, Error> {
        let field = || format!("{what} {}", state.display());
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(lock)
            .map_err(|e| {
                Error::invalid(
                    field(),
                    format!("its lock file {} cannot be opened: {e}", lock.display()),
                )
            })?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::invalid(
                field(),
                format!(
                    "in use by another run (its lock {} is held, by another process or a runner of this one); one run per state",
                    lock.display()
                ),
            )),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::invalid(
                field(),
                format!("its lock file {} cannot be locked: {e}", lock.display()),
            )),
        }
    }
}
