//! The report's state on disk, for a run that is stopped (killed, a crash, a power cut) to be
//! carried on: which accounts are in the output whole, and how long the output is with them.
//!
//! The batch state's rules ([`crate::batch`]'s files): versioned JSON decoded strictly, each
//! save durable (a temporary file fsynced, renamed, the folder fsynced), and a lock held for
//! as long as a run uses the state. The output is fsynced before the state that counts it is
//! saved, so the state never claims rows the output may not have; what the output has past
//! `output_bytes` (an account appended after the last save) is cut off on resume.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{AccountOutcome, Format};
use crate::batch::files::{self, StateLock};
use crate::{CustomerId, Error};

const KIND: &str = "account_report";
const WHAT: &str = "report state";

/// What a run has done so far.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportState {
    pub query: String,
    /// [`Format::name`].
    pub format: String,
    pub output: PathBuf,
    /// The output's length with every finished account in it (a CSV's or JSON lines'
    /// `.partial` file; 0 for a Parquet folder).
    pub output_bytes: u64,
    /// Whether the output is complete and in place.
    pub complete: bool,
    /// The accounts whose rows are in the output, in the order they were written.
    pub finished: Vec<Finished>,
    /// A Parquet folder's complete parts, by file name (any other file in it is removed on
    /// resume).
    pub parts: Vec<String>,
    /// The accounts that failed, with their errors: tried again when a stopped run is
    /// resumed, reported again when a complete one is.
    pub failed: Vec<Failed>,
}

/// One account that failed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Failed {
    pub customer_id: String,
    pub error: String,
}

/// One account whose rows are in the output.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Finished {
    pub customer_id: String,
    pub rows: u64,
    pub attempts: u32,
    pub duration_ms: u64,
}

impl ReportState {
    pub fn new(query: &str, format: Format, output: &Path) -> Self {
        Self {
            query: query.to_owned(),
            format: format.name().to_owned(),
            output: output.to_owned(),
            output_bytes: 0,
            complete: false,
            finished: Vec::new(),
            parts: Vec::new(),
            failed: Vec::new(),
        }
    }

    /// Refuses a state written for another report: rows of another query or format would mix
    /// into the output.
    pub fn check_same(
        &self,
        path: &Path,
        query: &str,
        format: Format,
        output: &Path,
    ) -> Result<(), Error> {
        let differs = |what: &str, was: &str, now: &str| {
            Error::invalid(
                format!("{WHAT} {}", path.display()),
                format!(
                    "was written for {what} {was:?}, not {now:?}: resume with the same query, format and output, or start afresh with another state"
                ),
            )
        };
        if self.query != query {
            return Err(differs("the query", &self.query, query));
        }
        if self.format != format.name() {
            return Err(differs("the format", &self.format, format.name()));
        }
        if self.output != output {
            return Err(differs(
                "the output",
                &self.output.display().to_string(),
                &output.display().to_string(),
            ));
        }
        Ok(())
    }

    /// Records `outcome`: a finished account, or a failed one.
    pub fn push(&mut self, outcome: &AccountOutcome) {
        if let Some(error) = &outcome.error {
            self.failed.push(Failed {
                customer_id: outcome.customer_id.to_string(),
                error: error.to_string(),
            });
            return;
        }
        self.finished.push(Finished {
            customer_id: outcome.customer_id.to_string(),
            rows: outcome.rows,
            attempts: outcome.attempts,
            duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
        });
    }

    /// Records the Parquet part `name`, complete, holding `accounts`.
    pub fn part_closed(
        &mut self,
        name: String,
        accounts: impl IntoIterator<Item = AccountOutcome>,
    ) {
        for outcome in accounts {
            self.push(&outcome);
        }
        self.parts.push(name);
    }

    /// The finished accounts as outcomes of an earlier run (and, when `with_failed`, the
    /// failed ones, their errors as saved); an id that does not parse is an error naming the
    /// file.
    pub fn earlier_outcomes(
        &self,
        path: &Path,
        with_failed: bool,
    ) -> Result<Vec<AccountOutcome>, Error> {
        let id = |text: &str| {
            text.parse::<CustomerId>().map_err(|e| {
                Error::invalid(format!("{WHAT} file {}", path.display()), e.to_string())
            })
        };
        let mut outcomes = Vec::new();
        for f in &self.finished {
            outcomes.push(AccountOutcome {
                customer_id: id(&f.customer_id)?,
                rows: f.rows,
                duration: Duration::from_millis(f.duration_ms),
                attempts: f.attempts,
                error: None,
                earlier: true,
            });
        }
        for f in self.failed.iter().filter(|_| with_failed) {
            outcomes.push(AccountOutcome {
                customer_id: id(&f.customer_id)?,
                rows: 0,
                duration: Duration::ZERO,
                attempts: 0,
                error: Some(Error::stopped(
                    format!("failed in the run resumed: {}", f.error),
                    false,
                )),
                earlier: true,
            });
        }
        Ok(outcomes)
    }
}

/// The state's file, locked for as long as this value lives.
#[derive(Debug)]
pub(super) struct StateFile {
    path: PathBuf,
    _lock: StateLock,
}

impl StateFile {
    /// A new state at `path`; one already there is refused (it belongs to a run that may
    /// want resuming).
    pub fn create(path: &Path) -> Result<Self, Error> {
        let file = Self::lock(path)?;
        if files::read(WHAT, path)?.is_some() {
            return Err(Error::invalid(
                format!("{WHAT} {}", path.display()),
                "exists, from an earlier run: resume it (--resume), or remove it to start afresh",
            ));
        }
        Ok(file)
    }

    /// The state at `path`, which must exist.
    pub fn open(path: &Path) -> Result<(Self, ReportState), Error> {
        let file = Self::lock(path)?;
        let Some(bytes) = files::read(WHAT, path)? else {
            return Err(Error::invalid(
                format!("{WHAT} {}", path.display()),
                "does not exist: there is nothing to resume (leave out resume to start a run)",
            ));
        };
        let state = files::decode(WHAT, path, KIND, &bytes)?;
        Ok((file, state))
    }

    fn lock(path: &Path) -> Result<Self, Error> {
        let mut lock = path.as_os_str().to_owned();
        lock.push(".lock");
        Ok(Self {
            path: path.to_owned(),
            _lock: StateLock::take(WHAT, path, Path::new(&lock))?,
        })
    }

    /// Replaces the saved state with `state`, durably.
    pub fn save(&self, state: &ReportState) -> Result<(), Error> {
        files::write_durably(&self.path, &files::encode(KIND, state)).map_err(|e| {
            Error::stopped(
                format!("the {WHAT} {} could not be saved: {e}", self.path.display()),
                false,
            )
        })
    }
}
