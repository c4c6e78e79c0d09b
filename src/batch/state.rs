//! What a driver must remember to carry on in another process: [`BatchState`], saved after
//! every step through a [`StateSink`] ([`StateFile`] keeps it in a locked file, written
//! durably).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files::{self, StateLock};
use crate::{CustomerId, Error};

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Stage {
    /// Checking the operations (a re-openable source is read whole first).
    Validating,
    /// Creating the job.
    Creating,
    /// Uploading operations.
    Uploading,
    /// Asking the job to run.
    Starting,
    /// Waiting for the job to finish.
    Running,
    /// Reading results.
    Results,
    /// Every result read.
    Done,
}

/// How a job's operations ended: the summary of its results.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Summary {
    /// Operations that succeeded.
    pub succeeded: u64,
    /// Failed operations by error code (`mutate_error: RESOURCE_NOT_FOUND`), one count per
    /// operation (its first error).
    pub failed: BTreeMap<String, u64>,
    /// Operations the results did not mention.
    pub missing: u64,
}

impl Summary {
    /// Failed operations in all.
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }

    /// Adds `other`'s counts to these.
    pub(crate) fn add(&mut self, other: &Summary) {
        self.succeeded += other.succeeded;
        self.missing += other.missing;
        for (code, n) in &other.failed {
            *self.failed.entry(code.clone()).or_default() += n;
        }
    }
}

/// A driver's state: small, serialisable (serde), saved after every step. A new process
/// given it (and the same source) carries on where the last one stopped. Decoding is strict:
/// every field must be there (`null` for an absent option), unknown fields are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BatchState {
    /// The customer.
    pub customer_id: CustomerId,
    /// The stage reached.
    pub stage: Stage,
    /// The job's resource name, once created.
    #[serde(deserialize_with = "required")]
    pub job: Option<String>,
    /// The job's long-running operation, once run.
    #[serde(deserialize_with = "required")]
    pub operation: Option<String>,
    /// Operations the server has acknowledged.
    pub acknowledged: u64,
    /// A running hash of the acknowledged operations' encodings (FNV-1a), to refuse another
    /// source on resume. Saved as 16 hex digits.
    #[serde(with = "hex")]
    pub acknowledged_hash: u64,
    /// The operations of the upload call under way when the state was saved (it may or may
    /// not have landed: the next run asks the server).
    pub in_flight: u64,
    /// The sequence token for the next upload.
    #[serde(deserialize_with = "required")]
    pub sequence_token: Option<String>,
    /// Operations in the job, once all are uploaded.
    #[serde(deserialize_with = "required")]
    pub total: Option<u64>,
    /// Results handed to the caller and acknowledged.
    pub results_delivered: u64,
    /// The page token of the next results page.
    #[serde(deserialize_with = "required")]
    pub results_page_token: Option<String>,
    /// The summary of the results delivered so far.
    pub summary: Summary,
}

/// An `Option` field that must be present (as a value or `null`): serde would take a
/// missing one for `None`, and a state missing a field is a broken state, not an empty one.
pub(crate) fn required<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer)
}

/// A hash as 16 hex digits: JSON readers that hold numbers as doubles would round a u64.
mod hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hash: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{hash:016x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        u64::from_str_radix(&text, 16).map_err(|_| {
            serde::de::Error::custom(format!("acknowledged_hash {text:?} is not 16 hex digits"))
        })
    }
}

impl BatchState {
    pub(crate) fn new(customer_id: CustomerId) -> Self {
        Self {
            customer_id,
            stage: Stage::Validating,
            job: None,
            operation: None,
            acknowledged: 0,
            acknowledged_hash: FNV_OFFSET,
            in_flight: 0,
            sequence_token: None,
            total: None,
            results_delivered: 0,
            results_page_token: None,
            summary: Summary::default(),
        }
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// FNV-1a over `bytes`, continuing from `hash`. Written here: the hash only has to tell two
/// sources apart across processes (so it must be stable, which std's hashers are not), not
/// resist an adversary.
pub(crate) fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// The error of a failed save of `whose` state: it stops the work before anything further
/// is sent or delivered.
pub(crate) fn save_failed(whose: &str, error: &std::io::Error) -> Error {
    Error::stopped(format!("{whose} state could not be saved: {error}"), false)
}

/// Where a driver saves its state after every step.
pub trait StateSink: Send + 'static {
    /// Saves `state` (the newest replaces the last). A save that returned is durable: a
    /// crash after it resumes from this state.
    fn save(&mut self, state: &BatchState) -> std::io::Result<()>;

    /// Whether a save blocks on I/O: then it runs on tokio's blocking threads, never on an
    /// async worker. `false` for a sink that only keeps the state in memory.
    fn blocking(&self) -> bool {
        true
    }
}

/// A driver's state in a file: [`open`](Self::open) locks it for the run (a second run on
/// the same file, in any process, is refused), [`load`](Self::load) reads what the last run
/// saved, and each save replaces the file durably (written beside it, fsynced, renamed, the
/// folder fsynced): after a crash or a power cut the file holds the last save that returned.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
    _lock: StateLock,
}

impl StateFile {
    /// The state file at `path`, locked for this run through `PATH.lock` beside it.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, Error> {
        let path = path.into();
        let mut lock = path.clone().into_os_string();
        lock.push(".lock");
        let lock = StateLock::take("batch state", &path, Path::new(&lock))?;
        Ok(Self { path, _lock: lock })
    }

    /// The state saved in the file, if there is one; an error naming the file when it is
    /// not a whole state of this crate's version.
    pub fn load(&self) -> Result<Option<BatchState>, Error> {
        files::read("batch state", &self.path)?
            .map(|bytes| files::decode("batch state", &self.path, KIND, &bytes))
            .transpose()
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The key a driver's state is saved under.
const KIND: &str = "batch_job";

impl StateSink for StateFile {
    fn save(&mut self, state: &BatchState) -> std::io::Result<()> {
        files::write_durably(&self.path, &files::encode(KIND, state))
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))
    }
}
