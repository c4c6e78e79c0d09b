//! What a driver must remember to carry on in another process: [`BatchState`], saved after
//! every step through a [`StateSink`] ([`FileSink`] writes it to a file, atomically).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::{CustomerId, Error};

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Validating => "validating",
            Stage::Creating => "creating",
            Stage::Uploading => "uploading",
            Stage::Starting => "starting",
            Stage::Running => "running",
            Stage::Results => "results",
            Stage::Done => "done",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [
            Stage::Validating,
            Stage::Creating,
            Stage::Uploading,
            Stage::Starting,
            Stage::Running,
            Stage::Results,
            Stage::Done,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// How a job's operations ended: the summary of its results.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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

/// A driver's state: small, serialisable, saved after every step. A new process given it
/// (and the same source) carries on where the last one stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchState {
    /// The customer.
    pub customer_id: CustomerId,
    /// The stage reached.
    pub stage: Stage,
    /// The job's resource name, once created.
    pub job: Option<String>,
    /// The job's long-running operation, once run.
    pub operation: Option<String>,
    /// Operations the server has acknowledged.
    pub acknowledged: u64,
    /// A running hash of the acknowledged operations' encodings (FNV-1a), to refuse another
    /// source on resume.
    pub acknowledged_hash: u64,
    /// The operations of the upload call under way when the state was saved (it may or may
    /// not have landed: the next run asks the server).
    pub in_flight: u64,
    /// The sequence token for the next upload.
    pub sequence_token: Option<String>,
    /// Operations in the job, once all are uploaded.
    pub total: Option<u64>,
    /// Results handed to the caller and acknowledged.
    pub results_delivered: u64,
    /// The page token of the next results page.
    pub results_page_token: Option<String>,
    /// The summary of the results delivered so far.
    pub summary: Summary,
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

    /// The state as JSON.
    pub fn to_json(&self) -> String {
        json!({
            "customer_id": self.customer_id.to_string(),
            "stage": self.stage.name(),
            "job": self.job,
            "operation": self.operation,
            "acknowledged": self.acknowledged,
            "acknowledged_hash": format!("{:016x}", self.acknowledged_hash),
            "in_flight": self.in_flight,
            "sequence_token": self.sequence_token,
            "total": self.total,
            "results_delivered": self.results_delivered,
            "results_page_token": self.results_page_token,
            "summary": {
                "succeeded": self.summary.succeeded,
                "failed": self.summary.failed,
                "missing": self.summary.missing,
            },
        })
        .to_string()
    }

    /// The state from [`to_json`](Self::to_json); an error names the field at fault.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let bad =
            |field: &str| Error::invalid(format!("batch state: {field}"), "missing or malformed");
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid("batch state", format!("not JSON: {e}")))?;
        let string = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        let number = |key: &str| v.get(key).and_then(Value::as_u64);
        let summary = v.get("summary").ok_or_else(|| bad("summary"))?;
        Ok(Self {
            customer_id: string("customer_id")
                .ok_or_else(|| bad("customer_id"))?
                .parse()?,
            stage: string("stage")
                .and_then(|s| Stage::parse(&s))
                .ok_or_else(|| bad("stage"))?,
            job: string("job"),
            operation: string("operation"),
            acknowledged: number("acknowledged").ok_or_else(|| bad("acknowledged"))?,
            acknowledged_hash: string("acknowledged_hash")
                .and_then(|h| u64::from_str_radix(&h, 16).ok())
                .ok_or_else(|| bad("acknowledged_hash"))?,
            in_flight: number("in_flight").unwrap_or(0),
            sequence_token: string("sequence_token"),
            total: number("total"),
            results_delivered: number("results_delivered").unwrap_or(0),
            results_page_token: string("results_page_token"),
            summary: Summary {
                succeeded: summary
                    .get("succeeded")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                failed: summary
                    .get("failed")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_u64()?)))
                            .collect()
                    })
                    .unwrap_or_default(),
                missing: summary.get("missing").and_then(Value::as_u64).unwrap_or(0),
            },
        })
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
    /// Saves `state` (the newest replaces the last).
    fn save(&mut self, state: &BatchState) -> std::io::Result<()>;
}

/// Saves the state as JSON in a file, written to a temporary file and renamed over the last
/// one, so a crash mid-write leaves the previous state whole.
#[derive(Clone, Debug)]
pub struct FileSink {
    path: PathBuf,
}

impl FileSink {
    /// A sink writing `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The state saved in `path`, if there is one.
    pub fn load(path: impl Into<PathBuf>) -> Result<Option<BatchState>, Error> {
        let path = path.into();
        match std::fs::read_to_string(&path) {
            Ok(text) => BatchState::from_json(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::invalid(
                format!("batch state file {}", path.display()),
                format!("cannot be read: {e}"),
            )),
        }
    }
}

impl FileSink {
    /// Writes `text` to a temporary file and renames it over the file.
    pub(crate) fn write(&mut self, text: &str) -> std::io::Result<()> {
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".tmp");
        std::fs::write(&temporary, text)?;
        std::fs::rename(&temporary, &self.path)
    }
}

impl StateSink for FileSink {
    fn save(&mut self, state: &BatchState) -> std::io::Result<()> {
        self.write(&state.to_json())
    }
}
