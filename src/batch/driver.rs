//! [`BatchJobDriver`]: the life of one BatchJobService job, as a poller. Each
//! [`poll`](BatchJobDriver::poll) takes one step (validate, create, upload a chunk, start,
//! read the running job, hand out a page of results) and says what it did.

use crate::latest::errors::batch_job_error_enum::BatchJobError;
use crate::latest::errors::error_code::ErrorCode;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use prost::Message as _;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument as _;

use super::checks::{self, JobChecks};
use super::files;
use super::job::{self, BatchOutcome, JobStatus, PollSchedule, ResultPage};
use super::source::{OperationSource, Operations};
use super::state::{self, BatchState, Stage, StateSink, Summary, fnv1a};
use super::upload;
use crate::customer_id::IntoCustomerId;
use crate::latest::enums::batch_job_status_enum::BatchJobStatus;
use crate::latest::resources::{BatchJob, batch_job::BatchJobMetadata};
use crate::latest::services::{
    BatchJobOperation, MutateBatchJobRequest, MutateOperation, RunBatchJobRequest,
    batch_job_operation,
};
use crate::longrunning::CancelOperationRequest;
use crate::retry::{Failure, RetryLoop};
use crate::{Error, GoogleAdsClient};

/// What one step of the driver did.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The whole source was checked (a re-openable source); a one-pass source is checked as
    /// it uploads, and says `None`.
    Validated {
        /// The operations the source holds, when it was read whole.
        operations: Option<u64>,
    },
    /// The job was created.
    Created {
        /// Its resource name.
        job: String,
    },
    /// A chunk was uploaded and acknowledged: one event per upload call the server answered.
    Uploaded {
        /// Operations the server holds.
        acknowledged: u64,
        /// Operations in all, when known.
        total: Option<u64>,
    },
    /// Every operation is up (and checked, for a one-pass source): the job is asked to run
    /// next.
    UploadFinished {
        /// Operations in the job.
        total: u64,
    },
    /// The job was asked to run.
    Started {
        /// Its long-running operation.
        operation: String,
    },
    /// The job was read while running.
    Progress(Progress),
    /// A page of results, one outcome per operation, in order. It counts as delivered (and
    /// is not handed out again after a resume) once the next step is asked for.
    Results(ResultPage),
    /// Every result was handed out.
    Done(Summary),
}

/// A running job as last read.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Progress {
    /// PENDING, RUNNING or DONE.
    pub status: BatchJobStatus,
    /// Operations executed.
    pub executed: u64,
    /// Operations in the job.
    pub total: u64,
    /// The server's estimate, 0 to 1.
    pub estimated_completion_ratio: f64,
    /// Reads of the job so far.
    pub polls: u32,
    /// Time waited for it so far.
    pub waited: Duration,
}

/// Drives one batch job (see the module doc).
pub struct BatchJobDriver {
    client: GoogleAdsClient,
    source: OperationSource,
    state: BatchState,
    sink: Option<Box<dyn StateSink>>,
    chunk_size: usize,
    execution_limit: Option<Duration>,
    /// Set by `with_poll_schedule`; else the default for the server (`PollSchedule::default_for`).
    schedule: Option<PollSchedule>,
    page_size: i32,
    content: i32,
    upload_attempts: u32,
    /// The source being uploaded, and the operation read ahead that did not fit a chunk.
    reader: Option<Operations>,
    ahead: Option<MutateOperation>,
    /// Checks of a one-pass source, run as it uploads.
    checks: Option<JobChecks>,
    /// The chunk being uploaded, encoded, kept until acknowledged.
    chunk: Vec<Bytes>,
    exhausted: bool,
    /// The results page handed out and not yet acknowledged: (next index, next token,
    /// summary of the page, last page).
    unacknowledged: Option<(u64, Option<String>, Summary, bool)>,
    polls: u32,
    waiting_since: Option<Instant>,
    last_progress: Option<Progress>,
    /// Where the Running stage reads the job: its own GAQL query on the schedule (`None`), or
    /// a fleet's watcher, which reads every running job of the customer in one query.
    status_feed: Option<watch::Receiver<StatusRead>>,
    /// Successful reads in a row that did not return the job.
    absent_reads: u32,
    span: tracing::Span,
}

/// One read of a running job by a fleet's watcher.
#[derive(Clone, Debug)]
pub(crate) enum StatusRead {
    /// Not read yet.
    Unread,
    /// The job as read.
    Read(JobStatus),
    /// The query ran and the job was not among its rows.
    Absent,
    /// The query failed.
    Failed(Error),
}

/// What a job read back after a failed upload says of the chunk in flight.
enum Reconciled {
    /// It landed: acknowledged, with the job's next sequence token.
    Landed(Option<String>),
    /// It did not: send it again.
    Resend,
    /// The first, token-less upload went unanswered and the job is still empty: it may yet
    /// land, and nothing could tell it from a second sending, so the job is given up (removed)
    /// and a new one made.
    Abandon,
    /// Neither (another writer, a bug) or the job can no longer take operations.
    Stop(Error),
}

/// Reads in a row without the job before it counts as gone (removed by someone else): one
/// read could miss a job just created, if the API's reads lag its writes.
const ABSENT_READS: u32 = 3;

impl std::fmt::Debug for BatchJobDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchJobDriver")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl BatchJobDriver {
    /// A driver for a new job of `customer_id` over `source`.
    pub fn new(
        client: &GoogleAdsClient,
        customer_id: impl IntoCustomerId,
        source: OperationSource,
    ) -> Result<Self, Error> {
        let customer_id = customer_id.into_customer_id()?;
        Ok(Self::with_state(
            client,
            BatchState::new(customer_id),
            source,
        ))
    }

    /// A driver carrying on from `state` (saved by an earlier process) over the same
    /// `source`: operations already uploaded are read again from the source and compared
    /// with what was uploaded (a different source is refused), and the job continues at its
    /// stage.
    pub fn resume(client: &GoogleAdsClient, state: BatchState, source: OperationSource) -> Self {
        Self::with_state(client, state, source)
    }

    fn with_state(client: &GoogleAdsClient, state: BatchState, source: OperationSource) -> Self {
        let span = tracing::info_span!(
            "google_ads.batch_job",
            customer_id = %state.customer_id,
            job = tracing::field::Empty
        );
        if let Some(job) = &state.job {
            span.record("job", tracing::field::display(job));
        }
        Self {
            client: client.clone(),
            source,
            state,
            sink: None,
            chunk_size: 1000,
            execution_limit: None,
            schedule: None,
            page_size: 1000,
            content: 0,
            upload_attempts: 8,
            reader: None,
            ahead: None,
            checks: None,
            chunk: Vec::new(),
            exhausted: false,
            unacknowledged: None,
            polls: 0,
            waiting_since: None,
            last_progress: None,
            status_feed: None,
            absent_reads: 0,
            span,
        }
    }

    /// Saves the state there after every step (and when dropped).
    pub fn with_state_sink(mut self, sink: impl StateSink) -> Self {
        self.sink = Some(Box::new(sink));
        self
    }

    /// Operations per upload call (default 1,000; each call also stays under the API's
    /// 10,484,504 bytes). An all-or-nothing sub-batch is never cut between calls.
    pub fn with_chunk_size(mut self, operations: usize) -> Self {
        self.chunk_size = operations.max(1);
        self
    }

    /// The job's `execution_limit_seconds`: the server cancels it if it runs longer.
    pub fn with_execution_limit(mut self, limit: Duration) -> Self {
        self.execution_limit = Some(limit);
        self
    }

    /// When to read the running job (default [`PollSchedule::default`]).
    pub fn with_poll_schedule(mut self, schedule: PollSchedule) -> Self {
        self.schedule = Some(schedule);
        self
    }

    /// The poll schedule: the one given, else the guide's (or every 100 ms for the fake).
    fn schedule(&self) -> PollSchedule {
        self.schedule
            .unwrap_or_else(|| PollSchedule::default_for(&self.client))
    }

    /// Results per page (1 to 1,000, the default).
    pub fn with_results_page_size(mut self, size: i32) -> Self {
        self.page_size = size.clamp(1, 1000);
        self
    }

    /// Results with the resources (`MutableResource`) or names only (the default).
    pub fn with_response_content_type(
        mut self,
        content: crate::latest::enums::response_content_type_enum::ResponseContentType,
    ) -> Self {
        self.content = content as i32;
        self
    }

    /// How many times one upload call is tried (default 8), the job read back between.
    pub fn with_upload_attempts(mut self, attempts: u32) -> Self {
        self.upload_attempts = attempts.max(1);
        self
    }

    /// The state now (what the sink last saved).
    pub fn state(&self) -> &BatchState {
        &self.state
    }

    /// Takes one step and says what it did. After [`Event::Done`], says it again.
    pub async fn poll(&mut self) -> Result<Event, Error> {
        let span = self.span.clone();
        let stage = self.state.stage;
        let step = tracing::info_span!(parent: &span, "stage", stage = ?stage);
        self.step().instrument(step).await
    }

    /// Runs the job to the end, handing each results page to `on_results`, and returns the
    /// summary.
    pub async fn until_done(
        mut self,
        mut on_results: impl FnMut(&ResultPage),
    ) -> Result<Summary, Error> {
        loop {
            match self.poll().await? {
                Event::Results(page) => on_results(&page),
                Event::Done(summary) => return Ok(summary),
                _ => {}
            }
        }
    }

    /// Every event, ending with [`Event::Done`] or the first error.
    pub fn into_stream(self) -> BoxStream<'static, Result<Event, Error>> {
        futures_util::stream::unfold(Some(self), |driver| async move {
            let mut driver = driver?;
            match driver.poll().await {
                Ok(Event::Done(summary)) => Some((Ok(Event::Done(summary)), None)),
                Ok(event) => Some((Ok(event), Some(driver))),
                Err(error) => Some((Err(error), None)),
            }
        })
        .boxed()
    }

    /// Cancels the running job (its long-running operation). Cancelled jobs do not roll
    /// back what already ran.
    pub async fn cancel(&self) -> Result<(), Error> {
        let Some(operation) = &self.state.operation else {
            return Err(Error::invalid(
                "batch job",
                "has not been run: nothing to cancel",
            ));
        };
        self.client
            .operations()
            .cancel_operation(CancelOperationRequest {
                name: operation.clone(),
            })
            .await
    }

    /// Removes the job, which must not have run.
    pub async fn remove(&self) -> Result<(), Error> {
        let Some(job) = &self.state.job else {
            return Err(Error::invalid(
                "batch job",
                "has not been created: nothing to remove",
            ));
        };
        remove_job(&self.client, self.state.customer_id.to_string(), job).await
    }

    /// The Running stage reads the job from `feed` (a fleet's watcher) instead of its own
    /// query; the schedule's max wait holds the same.
    pub(crate) fn set_status_feed(&mut self, feed: watch::Receiver<StatusRead>) {
        self.status_feed = Some(feed);
    }

    /// Saves the state; a failed save stops the driver before anything further is sent or
    /// delivered (a crash after it would repeat what the lost state recorded).
    async fn save(&mut self) -> Result<(), Error> {
        let state = self.state.clone();
        files::save_through(&mut self.sink, |s| s.blocking(), move |s| s.save(&state))
            .await?
            .map_err(|error| state::save_failed("the batch job's", &error))
    }

    async fn step(&mut self) -> Result<Event, Error> {
        if let Some((next, token, summary, last)) = self.unacknowledged.take() {
            // The caller asked for more: the page handed out is delivered.
            self.state.results_delivered = next;
            self.state.results_page_token = token;
            self.state.summary.add(&summary);
            if last {
                self.state.stage = Stage::Done;
            }
            self.save().await?;
        }
        match self.state.stage {
            Stage::Validating => self.validate().await,
            Stage::Creating => self.create().await,
            Stage::Uploading => self.upload().await,
            Stage::Starting => self.start().await,
            Stage::Running => self.wait().await,
            Stage::Results => self.results().await,
            Stage::Done => Ok(Event::Done(self.state.summary.clone())),
        }
    }

    /// A re-openable source is read whole and checked before anything is sent.
    async fn validate(&mut self) -> Result<Event, Error> {
        let operations = if self.source.is_reopenable() {
            let mut checks = JobChecks::new(self.state.customer_id);
            let mut stream = self.source.open().ok_or_else(source_gone)?;
            while let Some(operation) = stream.next().await {
                checks.check(&operation?);
            }
            let total = checks.checked();
            checks.finish()?;
            tracing::info!(operations = total, "checked the whole job");
            // The upload must read exactly as many: a source that ends early the second time
            // (an I/O error taken for an end) must not run a shorter job.
            self.state.total = Some(total);
            Some(total)
        } else {
            None
        };
        self.state.stage = Stage::Creating;
        self.save().await?;
        Ok(Event::Validated { operations })
    }

    async fn create(&mut self) -> Result<Event, Error> {
        let execution_limit_seconds = self
            .execution_limit
            .map(|d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX));
        // Sent again after a broken connection: the worst a lost answer can leave is an empty
        // pending job, which the API deletes after 7 days.
        let request = crate::CallOptions::new()
            .idempotent(true)
            .request(MutateBatchJobRequest {
                customer_id: self.state.customer_id.to_string(),
                operation: Some(BatchJobOperation {
                    operation: Some(batch_job_operation::Operation::Create(BatchJob {
                        metadata: Some(BatchJobMetadata {
                            execution_limit_seconds,
                            ..Default::default()
                        }),
                        ..Default::default()
                    })),
                }),
            });
        let response = self.client.batch_job().mutate_batch_job(request).await?;
        let job = response
            .result
            .map(|r| r.resource_name)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::stopped("MutateBatchJob answered without a job name", false))?;
        self.span.record("job", tracing::field::display(&job));
        tracing::info!(job, "created");
        self.state.job = Some(job.clone());
        self.state.stage = Stage::Uploading;
        self.save().await?;
        Ok(Event::Created { job })
    }

    fn job(&self) -> Result<String, Error> {
        self.state
            .job
            .clone()
            .ok_or_else(|| Error::stopped("the batch state names no job", false))
    }

    /// Opens the source for uploading: after a resume, the operations already uploaded are
    /// read again and their hash compared; a one-pass source is checked as it goes.
    async fn open_reader(&mut self) -> Result<(), Error> {
        let mut stream = self.source.open().ok_or_else(source_gone)?;
        let mut checks =
            (!self.source.is_reopenable()).then(|| JobChecks::new(self.state.customer_id));
        // What the server holds may be more than acknowledged: the call in flight landed.
        let job = self.job()?;
        if self.state.acknowledged > 0 || self.state.in_flight > 0 {
            let server = job::job_status(&self.client, self.state.customer_id, &job).await?;
            let (acknowledged, in_flight) = (self.state.acknowledged, self.state.in_flight);
            let hold = server.operation_count;
            tracing::info!(
                acknowledged,
                in_flight,
                server = hold,
                "resuming the upload"
            );
            if hold != acknowledged && hold != acknowledged + in_flight {
                return Err(mismatch(&job, hold, acknowledged, in_flight));
            }
            if hold == 0 {
                // The first upload was in the air at the crash and has not landed: it still
                // may, so the job is given up (see `abandon`).
                self.abandon(&job).await?;
                self.reader = Some(stream);
                self.checks = checks;
                return Ok(());
            }
            let mut hash = state::BatchState::new(self.state.customer_id).acknowledged_hash;
            let mut read = 0u64;
            while read < hold {
                let Some(operation) = stream.next().await.transpose()? else {
                    return Err(Error::invalid(
                        "source",
                        format!("ends after {read} operations, but the job already holds {hold}"),
                    ));
                };
                if let Some(checks) = checks.as_mut() {
                    checks.check(&operation);
                }
                hash = fnv1a(hash, &operation.encode_to_vec());
                read += 1;
                if read == acknowledged && hash != self.state.acknowledged_hash {
                    return Err(Error::invalid(
                        "source",
                        format!(
                            "its first {acknowledged} operations differ from those uploaded to {job}: resume with the same source"
                        ),
                    ));
                }
            }
            self.state.acknowledged = hold;
            self.state.acknowledged_hash = hash;
            self.state.in_flight = 0;
            self.state.sequence_token = server.next_add_sequence_token;
            if hold == 0 {
                self.state.sequence_token = None;
            }
            self.save().await?;
        }
        self.reader = Some(stream);
        self.checks = checks;
        Ok(())
    }

    /// Fills the chunk: up to `chunk_size` operations and the API's byte limit, never
    /// cutting an all-or-nothing sub-batch.
    async fn fill_chunk(&mut self) -> Result<(), Error> {
        let mut bytes = 0usize;
        let mut last_group: Option<(&'static str, String)> = None;
        loop {
            let operation = match self.ahead.take() {
                Some(operation) => operation,
                None => {
                    let Some(reader) = self.reader.as_mut() else {
                        self.exhausted = true;
                        return Ok(());
                    };
                    match reader.next().await.transpose()? {
                        Some(operation) => {
                            if let Some(checks) = self.checks.as_mut() {
                                checks.check(&operation);
                            }
                            operation
                        }
                        None => {
                            self.exhausted = true;
                            return Ok(());
                        }
                    }
                }
            };
            let group = checks::sub_batch(&operation).map(|(k, p)| (k, p.to_owned()));
            let continues = group.is_some() && group == last_group;
            let size = operation.encoded_len() + 10;
            let full = self.chunk.len() >= self.chunk_size && !continues;
            let too_big = bytes + size > upload::MAX_REQUEST_BYTES - 2048;
            if !self.chunk.is_empty() && (full || too_big) {
                if continues && too_big {
                    return Err(Error::invalid(
                        format!(
                            "mutate_operations[{}]",
                            self.state.acknowledged + self.chunk.len() as u64
                        ),
                        "an all-or-nothing sub-batch does not fit one upload call (10,484,504 bytes)",
                    ));
                }
                self.ahead = Some(operation);
                return Ok(());
            }
            bytes += size;
            last_group = group;
            self.chunk.push(Bytes::from(operation.encode_to_vec()));
        }
    }

    async fn upload(&mut self) -> Result<Event, Error> {
        let abandoned = |driver: &Self| Event::Uploaded {
            acknowledged: 0,
            total: driver.state.total,
        };
        if self.reader.is_none() && !self.exhausted {
            self.open_reader().await?;
            if self.state.stage == Stage::Creating {
                return Ok(abandoned(self));
            }
        }
        if self.chunk.is_empty() {
            self.fill_chunk().await?;
        }
        if let Some(checks) = &self.checks
            && checks.failed()
        {
            return self.refuse_late().await;
        }
        if self.chunk.is_empty() {
            // Everything is up: a one-pass source's last checks, then run.
            if let Some(checks) = self.checks.take()
                && let Err(error) = checks.finish()
            {
                self.remove_after_refusal().await;
                return Err(error);
            }
            self.reader = None;
            let acknowledged = self.state.acknowledged;
            match self.state.total {
                Some(total) if total != acknowledged => {
                    return Err(Error::stopped(
                        format!(
                            "the operation source gave {acknowledged} operations on this reading and {total} when it was checked: the job is not run (it must give the same operations each time it is opened)"
                        ),
                        false,
                    ));
                }
                _ => self.state.total = Some(acknowledged),
            }
            self.state.stage = Stage::Starting;
            self.save().await?;
            return Ok(Event::UploadFinished {
                total: self.state.acknowledged,
            });
        }
        self.upload_chunk().await?;
        if self.state.stage == Stage::Creating {
            return Ok(abandoned(self));
        }
        Ok(Event::Uploaded {
            acknowledged: self.state.acknowledged,
            total: self.state.total,
        })
    }

    /// A one-pass source broke a rule after the job was created: it is removed, unrun.
    async fn refuse_late(&mut self) -> Result<Event, Error> {
        let checks = self.checks.take();
        self.remove_after_refusal().await;
        match checks.map(JobChecks::finish) {
            Some(Err(error)) => Err(error),
            _ => Err(Error::stopped("the job's operations break a rule", false)),
        }
    }

    async fn remove_after_refusal(&mut self) {
        if let Some(job) = self.state.job.clone() {
            match remove_job(&self.client, self.state.customer_id.to_string(), &job).await {
                Ok(()) => {
                    tracing::warn!(job, "removed the job, unrun: its operations break a rule")
                }
                Err(error) => tracing::warn!(job, %error, "could not remove the refused job"),
            }
        }
    }

    /// Sends the chunk until the server holds it exactly once: after a failure that may
    /// have landed, the job is read back before anything is sent again (the retry loop's
    /// next attempt starts with that read).
    async fn upload_chunk(&mut self) -> Result<(), Error> {
        let job = self.job()?;
        let n = self.chunk.len() as u64;
        let policy = upload::reconciled(self.upload_attempts);
        let mut attempts = RetryLoop::new(&policy, false);
        self.state.in_flight = n;
        self.save().await?;
        loop {
            if attempts.next_attempt() > 1 {
                match self.reconcile_upload(&job, n).await {
                    Ok(Reconciled::Landed(token)) => return self.acknowledge(token).await,
                    Ok(Reconciled::Abandon) => return self.abandon(&job).await,
                    Ok(Reconciled::Resend) => {}
                    Ok(Reconciled::Stop(error)) => return Err(error),
                    Err(failure) => {
                        attempts.wait_after(failure).await?;
                        continue;
                    }
                }
            }
            let expected = self.state.acknowledged + n;
            let request =
                upload::encode_request(&job, self.state.sequence_token.as_deref(), &self.chunk);
            let failure = match upload::add_operations(&self.client, request).await {
                Ok(response) if response.total_operations == expected as i64 => {
                    let token = Some(response.next_sequence_token).filter(|t| !t.is_empty());
                    return self.acknowledge(token).await;
                }
                // Read back before anything else: the count decides.
                Ok(response) => Failure::answered(Error::stopped(
                    format!(
                        "AddBatchJobOperations says the job holds {} operations, expected {expected}",
                        response.total_operations
                    ),
                    false,
                )),
                Err(error) => Failure::unanswered(error),
            };
            attempts.wait_after(failure).await?;
        }
    }

    /// After a failed upload, what the job read back says; a failure when it could not be
    /// read (the retry loop decides about that one).
    async fn reconcile_upload(&mut self, job: &str, n: u64) -> Result<Reconciled, Failure> {
        let server = job::job_status(&self.client, self.state.customer_id, job)
            .await
            .map_err(Failure::unanswered)?;
        let (acknowledged, hold) = (self.state.acknowledged, server.operation_count);
        if server.status != BatchJobStatus::Pending {
            return Ok(Reconciled::Stop(Error::stopped(
                format!(
                    "batch job {job} is {:?}: operations can no longer be added",
                    server.status
                ),
                false,
            )));
        }
        let decision = if hold == acknowledged + n {
            "landed"
        } else if hold == 0 && acknowledged == 0 {
            "abandon"
        } else if hold == acknowledged {
            "resend"
        } else {
            "stop"
        };
        tracing::info!(
            acknowledged,
            in_flight = n,
            server = hold,
            decision,
            "reconciled"
        );
        match decision {
            "landed" => Ok(Reconciled::Landed(server.next_add_sequence_token)),
            "abandon" => Ok(Reconciled::Abandon),
            "resend" => {
                self.state.sequence_token = server.next_add_sequence_token;
                Ok(Reconciled::Resend)
            }
            _ => Ok(Reconciled::Stop(mismatch(job, hold, acknowledged, n))),
        }
    }

    /// Gives up `job`, whose first upload went unanswered while it reads empty: a token-less
    /// first call that lands late cannot be refused by the server, and a late one landing
    /// after a second sending (or in the place of a later chunk's lost one) would leave the
    /// job holding the wrong operations with the right count. The job is removed (so a late
    /// landing finds none; a job that cannot be removed stays pending, unrun, and the API
    /// deletes it after 7 days) and the state goes back to Creating: the next step makes a
    /// new job and the chunk in hand goes there.
    async fn abandon(&mut self, job: &str) -> Result<(), Error> {
        tracing::warn!(
            job,
            "the first upload went unanswered and the job reads empty: removing it and making a new one"
        );
        if let Err(error) = remove_job(&self.client, self.state.customer_id.to_string(), job).await
        {
            tracing::warn!(job, %error, "could not remove the abandoned job (it stays pending, unrun)");
        }
        self.state.job = None;
        self.state.stage = Stage::Creating;
        self.state.in_flight = 0;
        self.state.sequence_token = None;
        self.save().await
    }

    async fn acknowledge(&mut self, token: Option<String>) -> Result<(), Error> {
        for operation in self.chunk.drain(..) {
            self.state.acknowledged_hash = fnv1a(self.state.acknowledged_hash, &operation);
        }
        self.state.acknowledged += self.state.in_flight;
        self.state.in_flight = 0;
        self.state.sequence_token = token;
        self.save().await
    }

    /// RunBatchJob, once. The job is read first: a lost answer to an earlier RunBatchJob (or
    /// a crash before its state was saved) shows as its operation, and a job that does not
    /// hold exactly the operations uploaded is never run (a first upload that landed late,
    /// twice, would run doubled).
    async fn start(&mut self) -> Result<Event, Error> {
        let job = self.job()?;
        let total = self.state.total.unwrap_or(self.state.acknowledged);
        let policy = upload::reconciled(self.upload_attempts);
        let mut attempts = RetryLoop::new(&policy, false);
        // A refusal because the job already runs sends us back to read it, once.
        let mut refused = false;
        let operation = loop {
            attempts.next_attempt();
            let server = match job::job_status(&self.client, self.state.customer_id, &job).await {
                Ok(server) => server,
                Err(error) => {
                    attempts.wait_after(Failure::unanswered(error)).await?;
                    continue;
                }
            };
            if let Some(operation) = server.long_running_operation {
                break operation;
            }
            if server.operation_count != total {
                return Err(Error::stopped(
                    format!(
                        "batch job {job} holds {} operations but {total} were uploaded: it is not run (an upload landed twice, or another writer added to it)",
                        server.operation_count
                    ),
                    false,
                ));
            }
            let request = crate::CallOptions::new()
                .retry_policy(crate::retry::NeverRetry)
                .request(RunBatchJobRequest {
                    resource_name: job.clone(),
                });
            match self.client.batch_job().run_batch_job(request).await {
                Ok(operation) => break operation.name,
                // Started by an earlier call after all: the next read finds its operation.
                Err(error)
                    if !refused
                        && error.has_error_code(ErrorCode::BatchJobError(
                            BatchJobError::CannotModifyJobAfterJobStartsRunning.into(),
                        )) =>
                {
                    refused = true;
                }
                Err(error) => attempts.wait_after(Failure::unanswered(error)).await?,
            }
        };
        tracing::info!(operation, "running");
        self.state.operation = Some(operation.clone());
        self.state.stage = Stage::Running;
        self.save().await?;
        Ok(Event::Started { operation })
    }

    /// Reads the running job: from the fleet's watcher, or with its own query on the
    /// schedule. A read that fails for a passing reason is one more poll; one that fails for
    /// good, or a job missing from several reads in a row, ends the job with an error; past
    /// the schedule's max wait, an error with the elapsed time and the polls (the job keeps
    /// running).
    async fn wait(&mut self) -> Result<Event, Error> {
        let job = self.job()?;
        let since = *self.waiting_since.get_or_insert_with(Instant::now);
        let deadline = since + self.schedule().max_wait();
        loop {
            let read = match self.status_feed.as_mut() {
                Some(feed) => {
                    tokio::select! {
                        changed = feed.changed() => {
                            changed.map_err(|_| Error::stopped("the fleet's watcher is gone", false))?;
                            feed.borrow_and_update().clone()
                        }
                        () = tokio::time::sleep_until(deadline) => {
                            return Err(self.waited_too_long(&job, since));
                        }
                    }
                }
                None => {
                    let delay = self.schedule().delay(self.polls);
                    if Instant::now() + delay > deadline {
                        return Err(self.waited_too_long(&job, since));
                    }
                    tokio::time::sleep(delay).await;
                    match job::job_statuses(&self.client, self.state.customer_id, &[&job]).await {
                        Ok(rows) => rows
                            .into_iter()
                            .find(|s| s.job == job)
                            .map_or(StatusRead::Absent, StatusRead::Read),
                        Err(error) => StatusRead::Failed(error),
                    }
                }
            };
            let server = match read {
                StatusRead::Unread => continue,
                StatusRead::Failed(error) if error.is_retryable() => {
                    self.polls += 1;
                    tracing::warn!(%error, polls = self.polls, "could not read the running job; reading it again later");
                    continue;
                }
                StatusRead::Failed(error) => return Err(error),
                StatusRead::Absent => {
                    self.polls += 1;
                    self.absent_reads += 1;
                    if self.absent_reads >= ABSENT_READS {
                        return Err(job::not_found(&job));
                    }
                    continue;
                }
                StatusRead::Read(server) => server,
            };
            self.polls += 1;
            self.absent_reads = 0;
            let progress = Progress {
                status: server.status,
                executed: server.executed,
                total: server.operation_count,
                estimated_completion_ratio: server.estimated_completion_ratio,
                polls: self.polls,
                waited: since.elapsed(),
            };
            tracing::info!(polls = self.polls, executed = progress.executed, total = progress.total, status = ?progress.status, "polled");
            self.last_progress = Some(progress.clone());
            if server.status == BatchJobStatus::Done {
                self.state.stage = Stage::Results;
                self.save().await?;
            }
            return Ok(Event::Progress(progress));
        }
    }

    /// The error for a job still running past the schedule's max wait.
    fn waited_too_long(&self, job: &str, since: Instant) -> Error {
        let waited = since.elapsed();
        let progress = match &self.last_progress {
            Some(p) => format!(
                "{} of {} operations executed ({:.0}%)",
                p.executed,
                p.total,
                p.estimated_completion_ratio * 100.0
            ),
            None => "no progress read yet".to_owned(),
        };
        Error::stopped(
            format!(
                "batch job {job} is still running after {waited:?} and {} polls (the most to wait is {:?}); last known: {progress}. It keeps running: cancel it, or resume to wait longer",
                self.polls,
                self.schedule().max_wait()
            ),
            true,
        )
    }

    /// One page of results, placeholders for operations the results skip.
    async fn results(&mut self) -> Result<Event, Error> {
        let job = self.job()?;
        let page = job::results_page(
            &self.client,
            &job,
            self.state.results_page_token.as_deref(),
            self.page_size,
            self.content,
        )
        .await?;
        let first = self.state.results_delivered;
        let total = self.state.total.unwrap_or(self.state.acknowledged);
        let (mut outcomes, mut next) = job::outcomes(&job, first, total, page.results)?;
        let last = page.next_page_token.is_none();
        if last {
            while next < total {
                outcomes.push(BatchOutcome {
                    index: next,
                    outcome: Err(job::missing()),
                });
                next += 1;
            }
        }
        let mut summary = Summary::default();
        for outcome in &outcomes {
            match &outcome.outcome {
                Ok(_) => summary.succeeded += 1,
                Err(errors) if errors.first().is_some_and(|e| e.error_code.is_none()) => {
                    if errors[0].message == job::missing()[0].message {
                        summary.missing += 1;
                    } else {
                        *summary.failed.entry("no error code".into()).or_default() += 1;
                    }
                }
                Err(errors) => {
                    let code = errors
                        .first()
                        .and_then(crate::failure::CodeName::of)
                        .map_or_else(|| "unknown error code".to_owned(), |c| c.to_string());
                    *summary.failed.entry(code).or_default() += 1;
                }
            }
        }
        self.unacknowledged = Some((next, page.next_page_token, summary, last));
        Ok(Event::Results(ResultPage { first, outcomes }))
    }
}

impl Drop for BatchJobDriver {
    fn drop(&mut self) {
        // A driver dropped mid-way (a cancelled future, Ctrl-C) leaves its state behind.
        // Drop cannot wait: the save runs here, on whatever thread drops the driver.
        if let Some(sink) = self.sink.as_mut()
            && let Err(error) = sink.save(&self.state)
        {
            tracing::warn!(%error, "could not save the batch job's state on drop");
        }
    }
}

fn source_gone() -> Error {
    Error::invalid(
        "source",
        "a one-pass source can be read once: it is already read",
    )
}

fn mismatch(job: &str, hold: u64, acknowledged: u64, in_flight: u64) -> Error {
    Error::stopped(
        format!(
            "batch job {job} holds {hold} operations, but {acknowledged} were acknowledged and {in_flight} were in flight: another writer, or a bug. The job is not run"
        ),
        false,
    )
}

async fn remove_job(client: &GoogleAdsClient, customer_id: String, job: &str) -> Result<(), Error> {
    client
        .batch_job()
        .mutate_batch_job(MutateBatchJobRequest {
            customer_id,
            operation: Some(BatchJobOperation {
                operation: Some(batch_job_operation::Operation::Remove(job.to_owned())),
            }),
        })
        .await
        .map(|_| ())
}
