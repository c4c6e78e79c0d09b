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
//! When the query does not select `customer.id`, a first column `customer_id` says whose each
//! row is (added to the output, not to the query).
//!
//! Owns: the fan-out, the spool, the per-account outcomes. Does not own: which accounts
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

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::time::Instant;

use crate::accounts::Account;
use crate::search::{CsvWriter, JsonLinesWriter, select_fields};
use crate::{CallOptions, CustomerId, Error, GoogleAdsClient, Violation};

/// The accounts queried at once by default.
pub const DEFAULT_ACCOUNTS_IN_FLIGHT: usize = 8;

/// The output's format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// CSV with a header, as [`CsvWriter`] writes it.
    Csv,
    /// JSON lines, as [`JsonLinesWriter`] writes them.
    JsonLines,
}

/// One query over many accounts into one file; see the module doc.
#[derive(Debug)]
pub struct AccountReport<'c> {
    client: &'c GoogleAdsClient,
    query: String,
    /// (account, its login-customer-id).
    accounts: Vec<(CustomerId, Option<CustomerId>)>,
    in_flight: usize,
    /// The query's SELECT list, checked.
    fields: Vec<String>,
    /// Whether to add the `customer_id` column.
    add_customer_id: bool,
    on_progress: Option<ProgressObserver>,
}

/// Where the report stands, after each account has finished
/// ([`AccountReport::on_progress`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Accounts finished (written or failed).
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
}

/// Every account's outcome, in the order they finished.
#[derive(Clone, Debug)]
pub struct ReportSummary {
    /// One per account, in the order they finished.
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
            fields,
            on_progress: None,
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

    /// Runs the query on every account and writes the rows to `output` (see the module doc).
    /// Fails only when the settings break a rule (before anything is sent) or the output
    /// cannot be written; an account's failure is in the summary.
    pub async fn write(self, format: Format, output: &Path) -> Result<ReportSummary, Error> {
        if self.in_flight == 0 {
            return Err(Error::violated(vec![Violation::new(
                None,
                "accounts_in_flight",
                "must be at least 1",
            )]));
        }
        let partial = with_suffix(output, ".partial");
        let spool = with_suffix(output, ".spool");
        std::fs::create_dir_all(&spool).map_err(|e| file_error("create", &spool, e))?;
        let mut out =
            BufWriter::new(File::create(&partial).map_err(|e| file_error("create", &partial, e))?);
        if format == Format::Csv {
            // The one header; the accounts' parts have none.
            let mut header = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(&mut out);
            let fields = &self.fields;
            let leading = self.add_customer_id.then_some("customer_id");
            header
                .write_record(leading.into_iter().chain(fields.iter().map(String::as_str)))
                .map_err(io::Error::from)
                .and_then(|()| header.flush())
                .map_err(|e| file_error("write", &partial, e))?;
        }
        let job = Arc::new(Job {
            client: self.client.clone(),
            query: self.query.clone(),
            add_customer_id: self.add_customer_id,
            format,
            spool: spool.clone(),
        });
        // Each account on a task of its own, so that one account's writing never delays
        // another's reading (or its timing); dropping the report aborts them.
        let mut finished = futures_util::stream::iter(self.accounts.iter().copied())
            .map(|(id, login)| Aborting(tokio::spawn(job.clone().run_account(id, login))))
            .buffer_unordered(self.in_flight);
        let mut outcomes = Vec::new();
        let mut progress = Progress {
            accounts_done: 0,
            accounts_total: self.accounts.len(),
            rows: 0,
            failed: 0,
        };
        while let Some((outcome, part)) = finished.next().await {
            if let Some(part) = part {
                let mut file = File::open(&part).map_err(|e| file_error("read", &part, e))?;
                io::copy(&mut file, &mut out).map_err(|e| file_error("write", &partial, e))?;
                let _ = std::fs::remove_file(&part);
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
        out.into_inner()
            .map_err(|e| e.into_error())
            .and_then(|file| file.sync_all())
            .map_err(|e| file_error("write", &partial, e))?;
        std::fs::rename(&partial, output).map_err(|e| file_error("rename", &partial, e))?;
        let _ = std::fs::remove_dir_all(&spool);
        Ok(ReportSummary { outcomes })
    }
}

/// What every account's task needs.
struct Job {
    client: GoogleAdsClient,
    query: String,
    add_customer_id: bool,
    format: Format,
    spool: PathBuf,
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
    /// One account's rows into its spool file: the outcome, and the file when it succeeded.
    async fn run_account(
        self: Arc<Self>,
        id: CustomerId,
        login: Option<CustomerId>,
    ) -> (AccountOutcome, Option<PathBuf>) {
        let started = Instant::now();
        let retries = Arc::new(AtomicU32::new(0));
        let part = self.spool.join(format!("{id}.part"));
        let result = self.spool_rows(&part, id, login, &retries).await;
        let attempts = 1 + retries.load(Ordering::Relaxed);
        let (rows, error, part) = match result {
            Ok(rows) => (rows, None, Some(part)),
            Err(error) => {
                let _ = std::fs::remove_file(&part);
                let attempts = attempts.max(error.attempts());
                return (
                    AccountOutcome {
                        customer_id: id,
                        rows: 0,
                        duration: started.elapsed(),
                        attempts,
                        error: Some(error),
                    },
                    None,
                );
            }
        };
        (
            AccountOutcome {
                customer_id: id,
                rows,
                duration: started.elapsed(),
                attempts,
                error,
            },
            part,
        )
    }

    async fn spool_rows(
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
        let file = File::create(part).map_err(|e| file_error("create", part, e))?;
        let customer_id = self.add_customer_id.then_some(id);
        let mut writer = match self.format {
            Format::Csv => PartWriter::Csv(CsvWriter::new(file, &self.query)?.without_header()),
            Format::JsonLines => PartWriter::JsonLines(JsonLinesWriter::new(file, &self.query)?),
        }
        .with_customer_id(customer_id);
        let write_error = |e: io::Error| file_error("write", part, e);
        let mut count = 0u64;
        while let Some(row) = rows.next().await {
            writer.write_row(&row?).map_err(write_error)?;
            count += 1;
        }
        writer.finish().map_err(write_error)?;
        Ok(count)
    }
}

/// An account's part, in the report's format.
// One per account, for the account's run: boxing the larger writer would gain nothing.
#[allow(clippy::large_enum_variant)]
enum PartWriter {
    Csv(CsvWriter<File>),
    JsonLines(JsonLinesWriter<File>),
}

impl PartWriter {
    fn with_customer_id(self, id: Option<CustomerId>) -> Self {
        match (self, id) {
            (Self::Csv(w), Some(id)) => Self::Csv(w.with_customer_id_column(id)),
            (Self::JsonLines(w), Some(id)) => Self::JsonLines(w.with_customer_id_column(id)),
            (writer, None) => writer,
        }
    }

    fn write_row(&mut self, row: &crate::search::Row) -> io::Result<()> {
        match self {
            Self::Csv(w) => w.write_row(row),
            Self::JsonLines(w) => w.write_row(row),
        }
    }

    fn finish(self) -> io::Result<File> {
        match self {
            Self::Csv(w) => w.finish(),
            Self::JsonLines(w) => w.finish(),
        }
    }
}

/// An output file that could not be written: the report stops (no account's rows are lost
/// silently).
fn file_error(what: &str, path: &Path, error: io::Error) -> Error {
    Error::stopped(
        format!("the report could not {what} {}: {error}", path.display()),
        false,
    )
}

/// `path` with `suffix` added to its file name (`report.csv` -> `report.csv.partial`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
