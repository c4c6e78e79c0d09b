//! One GAQL query over many accounts, into one file: [`AccountReport`].
//!
//! At most [`accounts_in_flight`](AccountReport::accounts_in_flight) accounts are queried at
//! once (each a SearchStream through the client, so through its quota budget). Each account's
//! rows go to a spool file of its own as they arrive; when the account has finished, its spool
//! is appended to the output whole, so each account's rows are contiguous, accounts come in
//! the order they finish, and memory stays flat whatever the number of accounts or rows. An
//! account that fails for good (USER_PERMISSION_DENIED, CUSTOMER_NOT_ENABLED, a field not
//! valid for it) is recorded with its error, its partial rows dropped, and the others go on.
//! The output is written under a temporary name (`<output>.partial`) and renamed when
//! complete; the spool folder (`<output>.spool/`) is removed at the end.
//!
//! Parquet (feature `parquet`) is a folder of part files instead, as warehouses load them:
//! `part-00000.parquet`, `part-00001.parquet`..., each holding whole accounts (an account's
//! spooled rows are written into the open part when it finishes), closed once it holds
//! [`rows_per_part`](AccountReport::rows_per_part) rows or at the end; each written as
//! `.part-NNNNN.parquet.partial`, fsynced and renamed when whole. Typed columns: see
//! [`crate::search::ParquetWriter`].
//!
//! With a [`state`](AccountReport::state), a run stopped at any point (killed, a crash) is
//! carried on by [`resume`](AccountReport::resume): the accounts already in the output are
//! kept, the output is cut back to the last of them (a Parquet folder keeps the parts the
//! state counts and loses the rest: the accounts of an unfinished part run again), and the
//! others run; no account's rows are written twice. The state follows the
//! batch state's rules (versioned, each save fsynced, locked while a run uses it). Accounts
//! that failed are tried again on resume.
//!
//! When the query does not select `customer.id`, a first column `customer_id` says whose each
//! row is (added to the output, not to the query).
//!
//! Owns: the fan-out, the spool and the output (`output`), the per-account outcomes, the
//! report's state (`state`). Does not own: which accounts
//! ([`crate::accounts::AccountTree`] lists them), how a row is written ([`crate::search`]'s
//! writers).
//!
//! ```no_run
//! # async fn demo(client: google_ads::GoogleAdsClient) -> Result<(), google_ads::Error> {
//! use google_ads::account_report::{AccountReport, Format};
//! use google_ads::accounts::AccountTree;
//!
//! let tree = AccountTree::walk(&client, &["1234567890".parse()?]).await?;
//! let summary = AccountReport::new(&client, "SELECT campaign.id, metrics.clicks FROM campaign")?
//!     .accounts(tree.clients())
//!     .accounts_in_flight(8)
//!     .write(Format::Csv, "report.csv".as_ref())
//!     .await?;
//! for failed in summary.failed() {
//!     eprintln!("{}: {}", failed.customer_id, failed.error.as_ref().unwrap());
//! }
//! # Ok(()) }
//! ```

mod output;
mod state;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::time::Instant;

use self::output::{Output, ParquetParts, SpoolWriter, Taken, file_error};
use self::state::{ReportState, StateFile};
use crate::accounts::Account;
use crate::search::{CsvWriter, select_fields};
use crate::{CallOptions, CustomerId, Error, GoogleAdsClient, Violation};

/// The accounts queried at once by default.
pub const DEFAULT_ACCOUNTS_IN_FLIGHT: usize = 8;

/// The rows a Parquet part holds before it is closed, by default (a part holds whole
/// accounts, so one may hold more).
pub const DEFAULT_ROWS_PER_PART: u64 = 1_000_000;

/// The output's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// CSV with a header, as [`CsvWriter`] writes it.
    Csv,
    /// JSON lines, as [`JsonLinesWriter`](crate::search::JsonLinesWriter) writes them.
    JsonLines,
    /// A folder of Parquet files holding whole accounts, as `ParquetWriter` writes them (feature
    /// `parquet`).
    #[cfg(feature = "parquet")]
    Parquet,
}

impl Format {
    /// Its name: `csv`, `jsonl`, `parquet`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
            #[cfg(feature = "parquet")]
            Format::Parquet => "parquet",
        }
    }
}

/// One query over many accounts into one file; see the module doc.
#[derive(Debug)]
pub struct AccountReport<'c> {
    client: &'c GoogleAdsClient,
    query: String,
    /// (account, its login-customer-id).
    accounts: Vec<(CustomerId, Option<CustomerId>)>,
    in_flight: usize,
    /// Whether to add the `customer_id` column.
    add_customer_id: bool,
    on_progress: Option<ProgressObserver>,
    state: Option<PathBuf>,
    resume: bool,
    rows_per_part: u64,
}

/// Where the report stands, after each account has finished
/// ([`AccountReport::on_progress`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Accounts finished (written or failed), those of the run resumed included.
    pub accounts_done: usize,
    /// Accounts in the report.
    pub accounts_total: usize,
    /// Rows written so far.
    pub rows: u64,
    /// Accounts failed so far.
    pub failed: usize,
}

struct ProgressObserver(Box<dyn Fn(&Progress) + Send + Sync>);

impl std::fmt::Debug for ProgressObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressObserver")
    }
}

/// How one account's part of the report went.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AccountOutcome {
    /// The account.
    pub customer_id: CustomerId,
    /// Rows written (none when it failed).
    pub rows: u64,
    /// From its first attempt to its last row or its failure.
    pub duration: Duration,
    /// Attempts its call took (1 when it was not retried).
    pub attempts: u32,
    /// Why it failed, when it did.
    pub error: Option<Error>,
    /// Written by the run this one resumed.
    pub earlier: bool,
}

/// Every account's outcome, in the order they finished.
#[derive(Clone, Debug)]
pub struct ReportSummary {
    /// One per account, in the order they finished (those of a resumed run first).
    pub outcomes: Vec<AccountOutcome>,
}

impl ReportSummary {
    /// The accounts that failed.
    pub fn failed(&self) -> impl Iterator<Item = &AccountOutcome> {
        self.outcomes.iter().filter(|o| o.error.is_some())
    }

    /// Rows written, over all accounts.
    pub fn rows(&self) -> u64 {
        self.outcomes.iter().map(|o| o.rows).sum()
    }
}

impl<'c> AccountReport<'c> {
    /// A report of `query` (checked here: a query that does not parse, or selects a field the
    /// API does not have, is refused before anything is sent).
    pub fn new(client: &'c GoogleAdsClient, query: &str) -> Result<Self, Error> {
        let fields = select_fields(query)?;
        for field in &fields {
            crate::search::Column::new(field)?;
        }
        Ok(Self {
            client,
            query: query.to_owned(),
            accounts: Vec::new(),
            in_flight: DEFAULT_ACCOUNTS_IN_FLIGHT,
            add_customer_id: !fields.iter().any(|f| f == "customer.id"),
            on_progress: None,
            state: None,
            resume: false,
            rows_per_part: DEFAULT_ROWS_PER_PART,
        })
    }

    /// Calls `observer` each time an account has finished (its rows appended, or its failure
    /// recorded), on the task running the report: for a progress bar or progress lines.
    pub fn on_progress(mut self, observer: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.on_progress = Some(ProgressObserver(Box::new(observer)));
        self
    }

    /// Adds accounts of an [`crate::accounts::AccountTree`] (each with its login-customer-id).
    pub fn accounts<'a>(mut self, accounts: impl IntoIterator<Item = &'a Account>) -> Self {
        self.accounts.extend(
            accounts
                .into_iter()
                .map(|a| (a.id, Some(a.login_customer_id))),
        );
        self
    }

    /// Adds one account, reached directly or through `login` (its manager).
    pub fn account(mut self, id: CustomerId, login: Option<CustomerId>) -> Self {
        self.accounts.push((id, login));
        self
    }

    /// At most `accounts` queried at once (at least 1; default [`DEFAULT_ACCOUNTS_IN_FLIGHT`]).
    pub fn accounts_in_flight(mut self, accounts: usize) -> Self {
        self.in_flight = accounts;
        self
    }

    /// Parquet only: a part file is closed once it holds at least `rows` rows (at least 1;
    /// default [`DEFAULT_ROWS_PER_PART`]). Each part holds whole accounts, so fewer, larger
    /// files than one per account (warehouses load large files best; a load job takes a
    /// bounded number of files).
    pub fn rows_per_part(mut self, rows: u64) -> Self {
        self.rows_per_part = rows;
        self
    }

    /// Keeps the report's state in the file `path`, saved after each finished account, so
    /// that a stopped run can be [resumed](Self::resume). A new run refuses a state that
    /// exists (it may be a stopped run's); a lock beside it (`<path>.lock`) refuses a second
    /// run on it while one is going.
    pub fn state(mut self, path: impl Into<PathBuf>) -> Self {
        self.state = Some(path.into());
        self
    }

    /// Carries on the stopped run whose [`state`](Self::state) is given: the accounts in its
    /// output are kept (in the summary as [`earlier`](AccountOutcome::earlier)), the others
    /// run, those that had failed included. The query, format and output must be the run's.
    /// A run that had completed is not run again: its summary comes back as saved (its
    /// failed accounts with their errors as text).
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Runs the query on every account and writes the rows to `output` (see the module doc).
    /// Fails only when the settings break a rule (before anything is sent) or the output
    /// cannot be written; an account's failure is in the summary.
    pub async fn write(self, format: Format, output: &Path) -> Result<ReportSummary, Error> {
        if self.in_flight == 0 || self.rows_per_part == 0 {
            let field = if self.in_flight == 0 {
                "accounts_in_flight"
            } else {
                "rows_per_part"
            };
            return Err(Error::violated(vec![Violation::new(
                None,
                field,
                "must be at least 1",
            )]));
        }
        let parquet = ParquetParts {
            query: self.query.clone(),
            add_customer_id: self.add_customer_id,
            rows_per_part: self.rows_per_part,
        };
        let (state_file, mut state) = self.open_state(format, output)?;
        let earlier = match &self.state {
            Some(path) => state.earlier_outcomes(path, state.complete)?,
            None => Vec::new(),
        };
        let sink = match (self.resume, state.complete) {
            (false, _) => Some(Output::create(
                format,
                output,
                &self.header(format)?,
                &parquet,
            )?),
            (true, false) => {
                Output::reopen(format, output, state.output_bytes, &state.parts, &parquet)?
            }
            (true, true) => None,
        };
        let Some(mut sink) = sink else {
            // The run resumed had written everything (its output is in place).
            if let (Some(file), Some(path)) = (&state_file, &self.state)
                && !state.complete
            {
                state.complete = true;
                file.save(&state)?;
                return Ok(ReportSummary {
                    outcomes: state.earlier_outcomes(path, true)?,
                });
            }
            return Ok(ReportSummary { outcomes: earlier });
        };
        // A stopped run's failed accounts run again.
        state.failed.clear();
        if let Some(file) = &state_file {
            state.output_bytes = sink.length();
            sink.sync()?;
            file.save(&state)?;
        }

        let done: HashSet<CustomerId> = earlier.iter().map(|o| o.customer_id).collect();
        let mut seen = HashSet::new();
        let to_run: Vec<_> = self
            .accounts
            .iter()
            .copied()
            .filter(|(id, _)| !done.contains(id) && seen.insert(*id))
            .collect();
        let mut progress = Progress {
            accounts_done: earlier.len(),
            accounts_total: earlier.len() + to_run.len(),
            rows: earlier.iter().map(|o| o.rows).sum(),
            failed: 0,
        };
        let job = Arc::new(Job {
            client: self.client.clone(),
            query: self.query.clone(),
            add_customer_id: self.add_customer_id,
            format,
        });
        // Each account on a task of its own, so that one account's writing never delays
        // another's reading (or its timing); dropping the report aborts them.
        let to_run: Vec<_> = to_run
            .into_iter()
            .map(|(id, login)| (id, login, sink.spool_path(id)))
            .collect();
        let mut finished = futures_util::stream::iter(to_run)
            .map(|(id, login, spool)| {
                Aborting(tokio::spawn(job.clone().run_account(id, login, spool)))
            })
            .buffer_unordered(self.in_flight);
        let mut outcomes = earlier;
        // Accounts in the open Parquet part: in the state once it is closed.
        let mut pending = Vec::new();
        while let Some((outcome, spooled)) = finished.next().await {
            let taken = match &spooled {
                Some(spooled) => Some(sink.take_part(outcome.customer_id, spooled)?),
                None => None,
            };
            if let Some(file) = &state_file {
                match taken {
                    // Failed: recorded at once.
                    None => state.push(&outcome),
                    Some(Taken::Durable) => {
                        // The output first: the state must never count rows it may not have.
                        sink.sync()?;
                        state.push(&outcome);
                        state.output_bytes = sink.length();
                    }
                    Some(Taken::Pending) => pending.push(outcome.clone()),
                    Some(Taken::PartClosed(part)) => {
                        pending.push(outcome.clone());
                        state.part_closed(part, pending.drain(..));
                    }
                }
                file.save(&state)?;
            }
            progress.accounts_done += 1;
            progress.rows += outcome.rows;
            progress.failed += usize::from(outcome.error.is_some());
            if let Some(observer) = &self.on_progress {
                (observer.0)(&progress);
            }
            outcomes.push(outcome);
        }
        drop(finished);
        let closed = sink.finish()?;
        if let Some(file) = &state_file {
            if let Some(part) = closed {
                state.part_closed(part, pending.drain(..));
            }
            state.complete = true;
            file.save(&state)?;
        }
        Ok(ReportSummary { outcomes })
    }

    /// The state to keep (a new one, or the stopped run's when resuming, checked to be this
    /// report's), and its file, locked; none when no state is kept.
    fn open_state(
        &self,
        format: Format,
        output: &Path,
    ) -> Result<(Option<StateFile>, ReportState), Error> {
        match (&self.state, self.resume) {
            (None, true) => Err(Error::violated(vec![Violation::new(
                None,
                "resume",
                "needs the state of the run to resume (state)",
            )])),
            (None, false) => Ok((None, ReportState::new(&self.query, format, output))),
            (Some(path), false) => Ok((
                Some(StateFile::create(path)?),
                ReportState::new(&self.query, format, output),
            )),
            (Some(path), true) => {
                let (file, state) = StateFile::open(path)?;
                state.check_same(path, &self.query, format, output)?;
                Ok((Some(file), state))
            }
        }
    }

    /// The output's first bytes: a CSV's one header line (the accounts' parts have none).
    fn header(&self, format: Format) -> Result<Vec<u8>, Error> {
        if format != Format::Csv {
            return Ok(Vec::new());
        }
        CsvWriter::header_line(&self.query, self.add_customer_id)
    }
}

/// What every account's task needs.
struct Job {
    client: GoogleAdsClient,
    query: String,
    add_customer_id: bool,
    format: Format,
}

/// A spawned account task, aborted when dropped.
struct Aborting<T>(tokio::task::JoinHandle<T>);

impl<T> std::future::Future for Aborting<T> {
    type Output = T;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<T> {
        match std::pin::Pin::new(&mut self.0).poll(cx) {
            std::task::Poll::Ready(Ok(value)) => std::task::Poll::Ready(value),
            std::task::Poll::Ready(Err(error)) => match error.try_into_panic() {
                // The task's panic, passed on as the caller's.
                Ok(panic) => std::panic::resume_unwind(panic),
                // Cancelled: only when the runtime shuts down, which polls nothing more.
                Err(_) => std::task::Poll::Pending,
            },
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
}

impl<T> Drop for Aborting<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Job {
    /// One account's rows into its spool file `part`: the outcome, and the spool to take
    /// into the output when it succeeded.
    async fn run_account(
        self: Arc<Self>,
        id: CustomerId,
        login: Option<CustomerId>,
        part: PathBuf,
    ) -> (AccountOutcome, Option<PathBuf>) {
        let started = Instant::now();
        let retries = Arc::new(AtomicU32::new(0));
        let result = self.write_part(&part, id, login, &retries).await;
        let attempts = 1 + retries.load(Ordering::Relaxed);
        let mut outcome = AccountOutcome {
            customer_id: id,
            rows: 0,
            duration: started.elapsed(),
            attempts,
            error: None,
            earlier: false,
        };
        match result {
            Ok(rows) => {
                outcome.rows = rows;
                (outcome, Some(part))
            }
            Err(error) => {
                let _ = std::fs::remove_file(&part);
                outcome.attempts = attempts.max(error.attempts());
                outcome.error = Some(error);
                (outcome, None)
            }
        }
    }

    async fn write_part(
        &self,
        part: &Path,
        id: CustomerId,
        login: Option<CustomerId>,
        retries: &Arc<AtomicU32>,
    ) -> Result<u64, Error> {
        let counter = retries.clone();
        let mut options = CallOptions::new().on_retry(move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        });
        if let Some(login) = login {
            options = options.login_customer_id(login);
        }
        let mut rows = self
            .client
            .search_stream(id, &self.query)
            .with_call_options(options)
            .await?
            .lazy();
        // The writers buffer inside.
        let file = std::fs::File::create(part).map_err(|e| file_error("create", part, e))?;
        let customer_id = self.add_customer_id.then_some(id);
        let mut writer = SpoolWriter::new(self.format, file, &self.query, customer_id)?;
        let write_error = |e: std::io::Error| file_error("write", part, e);
        let mut count = 0u64;
        while let Some(row) = rows.next().await {
            writer.write_row(&row?).map_err(write_error)?;
            count += 1;
        }
        writer.finish().map_err(write_error)?;
        Ok(count)
    }
}
