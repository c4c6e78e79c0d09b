//! The batch-job driver: [`BatchJobDriver`] takes one job of up to a million mixed operations
//! from a source, checks it, creates the job, uploads every operation exactly once, runs it,
//! watches it, and hands back one outcome per operation, in order; its small
//! [`BatchState`], saved after every step, lets another process carry on after a crash.
//!
//! Owns: the life of one BatchJobService job. Does not own: the checks (`mutate`'s
//! validator, reused across the whole job), the calls (the service handles and the layer),
//! or scheduling many jobs.
//!
//! Shaped as a poller: [`poll`](BatchJobDriver::poll) takes one step and says what happened
//! ([`Event`]); [`until_done`](BatchJobDriver::until_done) runs to the end;
//! [`into_stream`](BatchJobDriver::into_stream) yields the events.
//!
//! ```no_run
//! # async fn demo(client: google_ads::GoogleAdsClient, operations: Vec<google_ads::latest::services::MutateOperation>) -> Result<(), google_ads::Error> {
//! use google_ads::batch::{BatchJobDriver, FileSink, OperationSource};
//!
//! let driver = BatchJobDriver::new(&client, "1234567890", OperationSource::from_vec(operations))?
//!     .with_state_sink(FileSink::new("job.json"));
//! let summary = driver
//!     .until_done(|page| {
//!         for outcome in &page.outcomes {
//!             if let Err(errors) = &outcome.outcome {
//!                 eprintln!("operation {} failed: {}", outcome.index, errors[0].message);
//!             }
//!         }
//!     })
//!     .await?;
//! println!("{} succeeded, {} failed", summary.succeeded, summary.failed_total());
//! # Ok(()) }
//! ```

mod checks;
mod fleet;
mod job;
mod plan;
mod source;
pub(crate) mod state;
mod upload;

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use prost::Message as _;
use tokio::time::Instant;
use tracing::Instrument as _;

pub use fleet::{CustomerWork, FleetEvent, FleetJob, FleetRunner, FleetSink, FleetState};
pub use job::{BatchOutcome, JobStatus, PollSchedule, ResultPage, job_statuses};
pub use source::OperationSource;
pub use state::{BatchState, FileSink, Stage, StateSink, Summary};

use crate::customer_id::IntoCustomerId;
use crate::latest::enums::batch_job_status_enum::BatchJobStatus;
use crate::latest::resources::{BatchJob, batch_job::BatchJobMetadata};
use crate::latest::services::{
    BatchJobOperation, MutateBatchJobRequest, MutateOperation, RunBatchJobRequest,
    batch_job_operation,
};
use crate::longrunning::CancelOperationRequest;
use crate::{Error, GoogleAdsClient};
use checks::JobChecks;
use state::fnv1a;

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
    /// A chunk was uploaded and acknowledged.
    Uploaded {
        /// Operations the server holds.
        acknowledged: u64,
        /// Operations in all, when known.
        total: Option<u64>,
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
    schedule: PollSchedule,
    page_size: i32,
    content: i32,
    upload_attempts: u32,
    /// The source being uploaded, and the operation read ahead that did not fit a chunk.
    reader: Option<BoxStream<'static, MutateOperation>>,
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
    span: tracing::Span,
}

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
            schedule: PollSchedule::default(),
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
        self.schedule = schedule;
        self
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

    /// The fleet read the job DONE: results come next.
    pub(crate) fn job_done(&mut self) {
        if self.state.stage == Stage::Running {
            self.state.stage = Stage::Results;
            self.save();
        }
    }

    fn save(&mut self) {
        if let Some(sink) = self.sink.as_mut()
            && let Err(error) = sink.save(&self.state)
        {
            tracing::warn!(%error, "could not save the batch job's state");
        }
    }

    async fn step(&mut self) -> Result<Event, Error> {
        if let Some((next, token, summary, last)) = self.unacknowledged.take() {
            // The caller asked for more: the page handed out is delivered.
            self.state.results_delivered = next;
            self.state.results_page_token = token;
            add(&mut self.state.summary, &summary);
            if last {
                self.state.stage = Stage::Done;
            }
            self.save();
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
                checks.check(&operation);
            }
            let total = checks.checked();
            checks.finish()?;
            tracing::info!(operations = total, "checked the whole job");
            Some(total)
        } else {
            None
        };
        self.state.stage = Stage::Creating;
        self.save();
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
        self.save();
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
            let mut hash = state::BatchState::new(self.state.customer_id).acknowledged_hash;
            let mut read = 0u64;
            while read < hold {
                let Some(operation) = stream.next().await else {
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
            self.save();
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
                    match reader.next().await {
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
        if self.reader.is_none() && !self.exhausted {
            self.open_reader().await?;
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
            self.state.total = Some(self.state.acknowledged);
            self.state.stage = Stage::Starting;
            self.save();
            return Ok(Event::Uploaded {
                acknowledged: self.state.acknowledged,
                total: self.state.total,
            });
        }
        self.upload_chunk().await?;
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

    /// Sends the chunk until the server holds it exactly once.
    async fn upload_chunk(&mut self) -> Result<(), Error> {
        let job = self.job()?;
        let n = self.chunk.len() as u64;
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.state.in_flight = n;
            self.save();
            let request =
                upload::encode_request(&job, self.state.sequence_token.as_deref(), &self.chunk);
            let error = match upload::add_operations(&self.client, request).await {
                Ok(response)
                    if response.total_operations == (self.state.acknowledged + n) as i64 =>
                {
                    let token = Some(response.next_sequence_token).filter(|t| !t.is_empty());
                    self.acknowledge(token);
                    return Ok(());
                }
                Ok(response) => Error::stopped(
                    format!(
                        "AddBatchJobOperations says the job holds {} operations, expected {}",
                        response.total_operations,
                        self.state.acknowledged + n
                    ),
                    false,
                ),
                Err(error) if upload::certainly_not_applied(&error) => return Err(error),
                Err(error) => error,
            };
            if attempt >= self.upload_attempts {
                return Err(error);
            }
            let wait = upload::backoff(&error, attempt);
            tracing::info!(attempt, error = %error, wait_ms = wait.as_millis() as u64, "upload failed; reading the job back");
            tokio::time::sleep(wait).await;
            let server = job::job_status(&self.client, self.state.customer_id, &job).await?;
            let (acknowledged, hold) = (self.state.acknowledged, server.operation_count);
            if server.status != BatchJobStatus::Pending {
                return Err(Error::stopped(
                    format!(
                        "batch job {job} is {:?}: operations can no longer be added",
                        server.status
                    ),
                    false,
                ));
            }
            if hold == acknowledged + n {
                tracing::info!(
                    acknowledged,
                    in_flight = n,
                    server = hold,
                    decision = "landed",
                    "reconciled"
                );
                self.acknowledge(server.next_add_sequence_token);
                return Ok(());
            }
            if hold != acknowledged {
                tracing::warn!(
                    acknowledged,
                    in_flight = n,
                    server = hold,
                    decision = "stop",
                    "reconciled"
                );
                return Err(mismatch(&job, hold, acknowledged, n));
            }
            tracing::info!(
                acknowledged,
                in_flight = n,
                server = hold,
                decision = "resend",
                "reconciled"
            );
            self.state.sequence_token = if hold == 0 {
                None
            } else {
                server.next_add_sequence_token
            };
        }
    }

    fn acknowledge(&mut self, token: Option<String>) {
        for operation in self.chunk.drain(..) {
            self.state.acknowledged_hash = fnv1a(self.state.acknowledged_hash, &operation);
        }
        self.state.acknowledged += self.state.in_flight;
        self.state.in_flight = 0;
        self.state.sequence_token = token;
        self.save();
    }

    /// RunBatchJob, once: a lost answer is resolved by reading the job back (running: it
    /// landed; still pending: it is sent again).
    async fn start(&mut self) -> Result<Event, Error> {
        let job = self.job()?;
        let mut attempt = 0;
        let operation = loop {
            attempt += 1;
            let request = crate::CallOptions::new()
                .retry_policy(crate::retry::NeverRetry)
                .request(RunBatchJobRequest {
                    resource_name: job.clone(),
                });
            let error = match self.client.batch_job().run_batch_job(request).await {
                Ok(operation) => break operation.name,
                // An earlier RunBatchJob landed (its answer or our saved state was lost: a
                // crash between the two): the job knows its operation.
                Err(error)
                    if error.has_code(
                        "batch_job_error",
                        "CANNOT_MODIFY_JOB_AFTER_JOB_STARTS_RUNNING",
                    ) =>
                {
                    let server =
                        job::job_status(&self.client, self.state.customer_id, &job).await?;
                    match server.long_running_operation {
                        Some(operation) => break operation,
                        None => return Err(error),
                    }
                }
                Err(error) if upload::certainly_not_applied(&error) => return Err(error),
                Err(error) if attempt >= self.upload_attempts => return Err(error),
                Err(error) => error,
            };
            tracing::info!(%error, attempt, "RunBatchJob failed; reading the job back");
            tokio::time::sleep(upload::backoff(&error, attempt)).await;
            let server = job::job_status(&self.client, self.state.customer_id, &job).await?;
            if let Some(operation) = server.long_running_operation {
                break operation;
            }
        };
        tracing::info!(operation, "running");
        self.state.operation = Some(operation.clone());
        self.state.stage = Stage::Running;
        self.save();
        Ok(Event::Started { operation })
    }

    /// Waits the schedule's delay, then reads the job.
    async fn wait(&mut self) -> Result<Event, Error> {
        let job = self.job()?;
        let since = *self.waiting_since.get_or_insert_with(Instant::now);
        let delay = self.schedule.delay(self.polls);
        if since.elapsed() + delay > self.schedule.max_wait() {
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
            return Err(Error::stopped(
                format!(
                    "batch job {job} is still running after {waited:?} and {} polls (the most to wait is {:?}); last known: {progress}. It keeps running: cancel it, or resume to wait longer",
                    self.polls,
                    self.schedule.max_wait()
                ),
                true,
            ));
        }
        tokio::time::sleep(delay).await;
        self.polls += 1;
        let server = job::job_status(&self.client, self.state.customer_id, &job).await?;
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
            self.save();
        }
        Ok(Event::Progress(progress))
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
        let (mut outcomes, mut next) = job::outcomes(first, page.results);
        let last = page.next_page_token.is_none();
        if last {
            let total = self.state.total.unwrap_or(next);
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
        self.save();
    }
}

pub(crate) fn add(total: &mut Summary, page: &Summary) {
    total.succeeded += page.succeeded;
    total.missing += page.missing;
    for (code, n) in &page.failed {
        *total.failed.entry(code.clone()).or_default() += n;
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
