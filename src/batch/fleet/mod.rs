//! [`FleetRunner`]: batch work larger than one job, for one or many customers. Each
//! customer's work is split into jobs ([`super::plan`]), the jobs run through
//! [`BatchJobDriver`]s side by side, paced the way the MutateJobService guide asks, watched
//! with one query per customer, and their outcomes come back as one stream, each tagged with
//! its customer and its index in that customer's work.
//!
//! The work comes in one of two forms: a re-openable source per customer
//! ([`CustomerWork`], planned whole before any job starts), or one merged stream of
//! (customer, operation) read once through a bounded buffer per customer and cut into jobs
//! as it goes ([`FleetRunner::from_stream`]; `Feeder` below).
//!
//! Failure isolation: a job that fails for good ends as [`FleetEvent::JobFailed`] with its
//! error, frees its slot, and the later jobs of its customer that touch the same campaigns or
//! ad groups end failed too, naming it; everything else goes on. Only what stops every
//! account (the state cannot be saved, the credentials are refused) ends the fleet with an
//! error. The runner owns its tasks: dropping it aborts them.
//!
//! Files: `plan` (cutting work into jobs), `pacing` (slots, spacing, overlap: a pure state
//! machine), `shared` (what the tasks share), `task` (one job through its driver), `watch`
//! (one status query per customer), `feed` (the merged stream), `state` (what is saved).
//!
//! Pacing: at most `max_running` jobs at once across customers, at most
//! `jobs_per_customer` per customer (the API allows 100 pending or running); a customer's
//! RunBatchJob calls at least `run_spacing` apart (2 s); two jobs of one customer that touch
//! the same campaign or ad group never run at the same time, and run in their order.

mod feed;
#[doc(hidden)]
pub mod pacing;
mod plan;
mod shared;
mod state;
mod task;
mod watch;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt as _};
use tokio::sync::{mpsc, oneshot};

pub use state::{FleetJob, FleetSink, FleetState, StateFolder};

use super::{Event, OperationSource, PollSchedule, ResultPage, Stage, Summary};
use crate::batch::files;
use crate::batch::state::save_failed;
use crate::customer_id::IntoCustomerId;
use crate::latest::services::MutateOperation;
use crate::{CustomerId, Error, GoogleAdsClient};
use feed::{Feed, Feeder};
use shared::{Settings, Shared};

/// One customer's work: a source that can be read again (the fleet reads it to plan the jobs,
/// and each job reads its part).
pub struct CustomerWork {
    customer: CustomerId,
    source: OperationSource,
    /// Its length compared with a resumed plan.
    checked: bool,
}

impl CustomerWork {
    /// `customer`'s operations, in order.
    pub fn new(customer: impl IntoCustomerId, source: OperationSource) -> Result<Self, Error> {
        if !source.is_reopenable() {
            return Err(Error::invalid(
                "source",
                "a fleet reads each customer's work more than once: give a re-openable source",
            ));
        }
        Ok(Self {
            customer: customer.into_customer_id()?,
            source,
            checked: false,
        })
    }
}

/// What happened in the fleet.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum FleetEvent {
    /// A customer's work was split into jobs (operation ranges of its work).
    Planned {
        /// The customer.
        customer: CustomerId,
        /// Each job's first operation and the one after its last.
        jobs: Vec<(u64, u64)>,
    },
    /// A job was cut from a customer's operations in a merged stream
    /// ([`FleetRunner::from_stream`]) and handed to its driver.
    Cut {
        /// The customer.
        customer: CustomerId,
        /// The job's number among the customer's jobs.
        job: usize,
        /// Its first operation in the customer's work.
        start: u64,
        /// The operation after its last.
        end: u64,
    },
    /// A step of one job (created, uploaded, started, polled).
    Job {
        /// The customer.
        customer: CustomerId,
        /// The job's number among the customer's jobs.
        job: usize,
        /// What the job's driver did.
        event: Event,
    },
    /// Outcomes, their indices those of the customer's work. A page counts as delivered
    /// once the next event is asked for.
    Results {
        /// The customer.
        customer: CustomerId,
        /// The job's number among the customer's jobs.
        job: usize,
        /// The outcomes.
        page: ResultPage,
    },
    /// A job failed for good (its driver's error, or an earlier job of its customer touching
    /// the same campaigns or ad groups failed): its slot is freed, the rest go on. It stays
    /// resumable: a fleet resumed from the state tries it again.
    JobFailed {
        /// The customer.
        customer: CustomerId,
        /// The job's number.
        job: usize,
        /// Why.
        error: Error,
    },
    /// A job finished, every result delivered.
    JobDone {
        /// The customer.
        customer: CustomerId,
        /// The job's number.
        job: usize,
        /// Its summary.
        summary: Summary,
    },
    /// Every job ended: the report, job by job.
    Done(FleetReport),
}

/// How every job of a fleet ended.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct FleetReport {
    /// Each customer's jobs.
    pub customers: BTreeMap<CustomerId, CustomerReport>,
}

/// How one customer's jobs ended.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct CustomerReport {
    /// Its jobs, in order.
    pub jobs: Vec<JobReport>,
}

/// How one job ended.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct JobReport {
    /// Its first operation in the customer's work.
    pub start: u64,
    /// The operation after its last.
    pub end: u64,
    /// Done with its summary (in this process or an earlier one), or failed.
    pub result: JobResult,
}

/// The end of one job.
#[derive(Clone, Debug)]
pub enum JobResult {
    /// Every result delivered.
    Done(Summary),
    /// Failed for good, with its error; resumable.
    Failed(Error),
    /// Not ended (the fleet stopped first).
    Unfinished,
}

impl PartialEq for JobResult {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (JobResult::Done(a), JobResult::Done(b)) => a == b,
            (JobResult::Failed(a), JobResult::Failed(b)) => a.to_string() == b.to_string(),
            (JobResult::Unfinished, JobResult::Unfinished) => true,
            _ => false,
        }
    }
}

impl CustomerReport {
    /// The summaries of its jobs done, added up.
    pub fn summary(&self) -> Summary {
        let mut total = Summary::default();
        for job in &self.jobs {
            if let JobResult::Done(summary) = &job.result {
                total.add(summary);
            }
        }
        total
    }

    /// Its failed jobs: (number, error).
    pub fn failed(&self) -> Vec<(usize, &Error)> {
        self.jobs
            .iter()
            .enumerate()
            .filter_map(|(n, j)| match &j.result {
                JobResult::Failed(e) => Some((n, e)),
                _ => None,
            })
            .collect()
    }
}

impl FleetReport {
    /// Whether every job of every customer is done.
    pub fn all_done(&self) -> bool {
        self.customers.values().all(|c| {
            c.jobs
                .iter()
                .all(|j| matches!(j.result, JobResult::Done(_)))
        })
    }

    /// The summary per customer (of its jobs done).
    pub fn summaries(&self) -> BTreeMap<CustomerId, Summary> {
        self.customers
            .iter()
            .map(|(c, r)| (*c, r.summary()))
            .collect()
    }
}

/// The work of a fleet: a source per customer, or one merged stream.
enum Work {
    Sources(Vec<CustomerWork>),
    /// Taken when the fleet starts.
    Stream(Option<MergedStream>),
}

/// A merged stream, its customer ids checked.
pub(super) type MergedStream = BoxStream<'static, Result<(CustomerId, MutateOperation), Error>>;

/// Runs many jobs for many customers (see the module doc). A poller: [`poll`](Self::poll)
/// gives the next event, [`until_done`](Self::until_done) runs to the end,
/// [`into_stream`](Self::into_stream) yields the events. Dropping it aborts its tasks.
pub struct FleetRunner {
    client: GoogleAdsClient,
    work: Work,
    settings: Settings,
    /// The state and its sink until the fleet starts; then in `shared`.
    state: FleetState,
    sink: Option<Box<dyn FleetSink>>,
    shared: Option<Arc<Shared>>,
    events: Option<mpsc::Receiver<Delivery>>,
    unacknowledged: Option<oneshot::Sender<()>>,
    failures: BTreeMap<(CustomerId, usize), Error>,
    report: Option<FleetReport>,
}

impl std::fmt::Debug for FleetRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetRunner")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Drop for FleetRunner {
    fn drop(&mut self) {
        // No task outlives the runner: a task asleep in pacing must not wake to send
        // RunBatchJob, nor keep writing the state.
        if let Some(shared) = &self.shared {
            shared.abort_all();
            shared.close_sink();
        }
    }
}

/// A lock that a panic elsewhere did not make unusable: the data it guards stays whole
/// (every critical section here is a few plain writes).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An event from a job's task, with the acknowledgement a results page waits for.
pub(super) type Delivery = (Result<FleetEvent, Error>, Option<oneshot::Sender<()>>);

impl FleetRunner {
    /// A fleet over `work`, one entry per customer.
    pub fn new(client: &GoogleAdsClient, work: Vec<CustomerWork>) -> Self {
        Self::resume(client, FleetState::default(), work)
    }

    /// A fleet carrying on from `state` (saved by an earlier process) over the same work.
    pub fn resume(client: &GoogleAdsClient, state: FleetState, work: Vec<CustomerWork>) -> Self {
        Self::with_work(client, state, Work::Sources(work))
    }

    /// A fleet over one merged stream of `(customer, operation)`, read once, each
    /// customer's operations in the order of its work.
    ///
    /// # Buffers and backpressure
    ///
    /// Each customer's operations are read into a buffer of its own, at most
    /// [`with_buffer`](Self::with_buffer) operations (default: the job size + 1, and never
    /// less: a full buffer holds a job and one operation to show where the job may end).
    /// When a customer's buffer is full, a job is cut from its front (the rule below) and
    /// handed to a [`BatchJobDriver`](super::BatchJobDriver) once the job may start: a slot among the
    /// [`with_max_running`](Self::with_max_running) jobs and the customer's
    /// [`with_jobs_per_customer`](Self::with_jobs_per_customer). Until then the stream is not
    /// read: **a stalled customer stalls the whole stream**, every customer behind it
    /// included. Memory is therefore bounded by the buffers of the customers seen, plus the
    /// operations of the jobs in flight (each holds its operations until done): at most
    /// `customers x buffer + max_running x job_size` operations, and a few bytes per
    /// temporary id of the jobs cut (to refuse a late use of one). At the default job size
    /// (1,000,000) a buffer holds a million operations, some hundreds of MB: for many
    /// customers, choose a smaller job size. The ad groups a job touches are mapped to
    /// their campaigns by one query when it is cut, and the pacing, the overlap rule and the
    /// one status query per customer are those of the other form. At the stream's end,
    /// every buffer is cut into its last jobs.
    ///
    /// # The cut rule
    ///
    /// A job is at most the job size and never separates a temporary name's create from
    /// its uses, nor an all-or-nothing sub-batch (the linked stretches the other form plans
    /// with). One pass cannot see later uses of a temporary name, so the rule is: a full
    /// buffer is cut at the last point, at most the job size from its front, that no
    /// linked stretch *seen so far in the buffer* crosses. The buffer past the job size is
    /// the look-ahead: a use of a temporary name within `buffer - job size` operations of
    /// the customer after the last operation linked to it is always in the same job; a
    /// later one may find its name in a job already cut, and is then an error naming the
    /// customer and the operation's index in its work (never a job that fails on the
    /// server). A create of a temporary id of a job already cut starts a new resource in
    /// the new job. A stretch that outgrows a job is an error naming the customer and the
    /// operations. Work written as trees, each no larger than a job and each operation
    /// linked to one before it in its tree (a budget, its campaign, its ad groups, their
    /// criteria), is always cut between trees, whatever the buffer.
    ///
    /// # State and resume
    ///
    /// [`FleetState::consumed`] holds how many operations of each customer are in jobs;
    /// those still in a buffer are not. To carry on ([`resume_stream`](Self::resume_stream))
    /// re-supply the stream **from its beginning**, each customer's operations the same
    /// and in the same order (the interleaving of customers may differ): the runner skips
    /// the operations of finished jobs, gives the unfinished ones theirs again (their
    /// drivers compare what was uploaded, as a resumed driver does) and cuts the rest.
    ///
    /// The outcomes' indices are each customer's, counted in stream order. Errors (a
    /// customer id that does not parse, a late use of a temporary name, a stretch too
    /// large) come out of [`poll`](Self::poll); reading stops there, the jobs already cut
    /// carry on.
    pub fn from_stream<S, C>(client: &GoogleAdsClient, stream: S) -> Self
    where
        S: Stream<Item = (C, MutateOperation)> + Send + 'static,
        C: IntoCustomerId + Send + 'static,
    {
        Self::resume_stream(client, FleetState::default(), stream)
    }

    /// A fleet over a merged stream carrying on from `state`: `stream` is read again from
    /// its beginning (see [`from_stream`](Self::from_stream)).
    pub fn resume_stream<S, C>(client: &GoogleAdsClient, state: FleetState, stream: S) -> Self
    where
        S: Stream<Item = (C, MutateOperation)> + Send + 'static,
        C: IntoCustomerId + Send + 'static,
    {
        let mut item = 0u64;
        let stream = stream.map(move |(customer, operation)| {
            let at = item;
            item += 1;
            match customer.into_customer_id() {
                Ok(customer) => Ok((customer, operation)),
                Err(e) => Err(Error::invalid(
                    format!("stream item {at}: customer"),
                    e.to_string(),
                )),
            }
        });
        Self::with_work(client, state, Work::Stream(Some(stream.boxed())))
    }

    fn with_work(client: &GoogleAdsClient, state: FleetState, work: Work) -> Self {
        Self {
            client: client.clone(),
            work,
            settings: Settings {
                job_size: 1_000_000,
                max_running: 10,
                jobs_per_customer: 100,
                run_spacing: Duration::from_secs(2),
                schedule: None,
                chunk_size: 1000,
                page_size: 1000,
                buffer: None,
            },
            state,
            sink: None,
            shared: None,
            events: None,
            unacknowledged: None,
            failures: BTreeMap::new(),
            report: None,
        }
    }

    /// The most operations in one job (default and at most 1,000,000).
    pub fn with_job_size(mut self, operations: u64) -> Self {
        self.settings.job_size = operations.clamp(1, 1_000_000);
        self
    }

    /// The most jobs in flight at once, across customers (default 10).
    pub fn with_max_running(mut self, jobs: usize) -> Self {
        self.settings.max_running = jobs.max(1);
        self
    }

    /// The most jobs in flight for one customer (default and at most 100).
    pub fn with_jobs_per_customer(mut self, jobs: usize) -> Self {
        self.settings.jobs_per_customer = jobs.clamp(1, 100);
        self
    }

    /// The least time between two RunBatchJob calls of one customer (default 2 s).
    pub fn with_run_spacing(mut self, spacing: Duration) -> Self {
        self.settings.run_spacing = spacing;
        self
    }

    /// When to read running jobs (one query per customer per poll).
    pub fn with_poll_schedule(mut self, schedule: PollSchedule) -> Self {
        self.settings.schedule = Some(schedule);
        self
    }

    /// A merged stream's buffer per customer, in operations (default and at least the job
    /// size + 1): see [`from_stream`](Self::from_stream).
    pub fn with_buffer(mut self, operations: usize) -> Self {
        self.settings.buffer = Some(operations);
        self
    }

    /// Operations per upload call of each job (default 1,000).
    pub fn with_chunk_size(mut self, operations: usize) -> Self {
        self.settings.chunk_size = operations.max(1);
        self
    }

    /// Results per page (default 1,000).
    pub fn with_results_page_size(mut self, size: i32) -> Self {
        self.settings.page_size = size.clamp(1, 1000);
        self
    }

    /// Saves the fleet's state there after every step of any job.
    pub fn with_state_sink(mut self, sink: impl FleetSink) -> Self {
        self.sink = Some(Box::new(sink));
        self
    }

    /// The state now.
    pub fn state(&self) -> FleetState {
        match &self.shared {
            Some(shared) => lock(&shared.state).clone(),
            None => self.state.clone(),
        }
    }

    /// Runs the fleet to the end, handing every results page to `on_results`; returns the
    /// report, job by job. An error only for what stops every account (the state cannot be
    /// saved, the credentials are refused); a job's own failure is in the report.
    pub async fn until_done(
        mut self,
        mut on_results: impl FnMut(CustomerId, &ResultPage),
    ) -> Result<FleetReport, Error> {
        loop {
            match self.poll().await? {
                FleetEvent::Results { customer, page, .. } => on_results(customer, &page),
                FleetEvent::Done(report) => return Ok(report),
                _ => {}
            }
        }
    }

    /// Every event, ending with [`FleetEvent::Done`] or the error that stopped the fleet.
    pub fn into_stream(self) -> BoxStream<'static, Result<FleetEvent, Error>> {
        futures_util::stream::unfold(Some(self), |runner| async move {
            let mut runner = runner?;
            match runner.poll().await {
                Ok(FleetEvent::Done(report)) => Some((Ok(FleetEvent::Done(report)), None)),
                Ok(event) => Some((Ok(event), Some(runner))),
                Err(error) => Some((Err(error), None)),
            }
        })
        .boxed()
    }

    /// The next event. The first calls plan the jobs (one customer per call), then every job
    /// starts. After [`FleetEvent::Done`], says it again.
    pub async fn poll(&mut self) -> Result<FleetEvent, Error> {
        if let Some(ack) = self.unacknowledged.take() {
            let _ = ack.send(());
        }
        if let Some(report) = &self.report {
            return Ok(FleetEvent::Done(report.clone()));
        }
        if self.events.is_none() {
            return self.start().await;
        }
        let Some(events) = self.events.as_mut() else {
            return Err(Error::stopped("the fleet's tasks are gone", false));
        };
        match events.recv().await {
            Some((Ok(event), ack)) => {
                if let FleetEvent::JobFailed {
                    customer,
                    job,
                    error,
                } = &event
                {
                    self.failures.insert((*customer, *job), error.clone());
                }
                self.unacknowledged = ack;
                Ok(event)
            }
            Some((Err(error), _)) => {
                // It stops every account: nothing else may go on.
                if let Some(shared) = &self.shared {
                    shared.abort_all();
                }
                self.events = None;
                self.report = Some(self.build_report());
                Err(error)
            }
            None => {
                let report = self.build_report();
                self.report = Some(report.clone());
                Ok(FleetEvent::Done(report))
            }
        }
    }

    /// Every job's end, those done in an earlier process too (their state holds the summary).
    fn build_report(&self) -> FleetReport {
        let state = self.state();
        let customers = state
            .customers
            .iter()
            .map(|(customer, jobs)| {
                let jobs = jobs
                    .iter()
                    .enumerate()
                    .map(|(number, job)| JobReport {
                        start: job.start,
                        end: job.end,
                        result: match (&job.state, self.failures.get(&(*customer, number))) {
                            (Some(s), _) if s.stage == Stage::Done => {
                                JobResult::Done(s.summary.clone())
                            }
                            (_, Some(error)) => JobResult::Failed(error.clone()),
                            _ => JobResult::Unfinished,
                        },
                    })
                    .collect();
                (*customer, CustomerReport { jobs })
            })
            .collect();
        FleetReport { customers }
    }

    /// Plans what is not planned yet (one customer per call returns its plan; a resumed
    /// plan is checked against its source's length), then starts every job's task (or a
    /// merged stream's reader) and the watcher.
    async fn start(&mut self) -> Result<FleetEvent, Error> {
        if let Work::Sources(work) = &mut self.work {
            for work in work.iter_mut() {
                let planned = self.state.consumed_of(work.customer);
                if !self.state.customers.contains_key(&work.customer) {
                    let mut jobs =
                        plan::plan(work.customer, &mut work.source, self.settings.job_size).await?;
                    for job in &mut jobs {
                        plan::add_campaigns(&self.client, work.customer, &mut job.touches).await?;
                    }
                    let ranges: Vec<(u64, u64)> = jobs.iter().map(|j| (j.start, j.end)).collect();
                    let customer = work.customer;
                    self.state
                        .consumed
                        .insert(customer, ranges.last().map_or(0, |r| r.1));
                    self.state.customers.insert(
                        customer,
                        jobs.into_iter()
                            .map(|j| FleetJob {
                                start: j.start,
                                end: j.end,
                                touches: j.touches,
                                state: None,
                            })
                            .collect(),
                    );
                    self.save().await?;
                    return Ok(FleetEvent::Planned {
                        customer,
                        jobs: ranges,
                    });
                }
                if !work.checked {
                    // Resumed: the source must be the one planned, or the jobs' parts and
                    // indices would be another work's.
                    let count = plan::count(&mut work.source).await?;
                    if count != planned {
                        return Err(Error::invalid(
                            format!("customer {}: source", work.customer),
                            format!(
                                "gives {count} operations, but the saved plan holds {planned}: resume with the same work"
                            ),
                        ));
                    }
                    work.checked = true;
                }
            }
        }
        let (sender, receiver) = mpsc::channel(64);
        self.events = Some(receiver);
        let shared = Arc::new(Shared::new(
            self.client.clone(),
            self.settings,
            std::mem::take(&mut self.state),
            self.sink.take(),
        ));
        self.shared = Some(shared.clone());
        // The whole plan once, resumed or not: a sink given to a resumed fleet starts whole.
        shared.save_plan().await?;
        let plans = lock(&shared.state).clone();
        match &mut self.work {
            Work::Sources(work) => {
                for work in work.iter() {
                    let Some(jobs) = plans.customers.get(&work.customer) else {
                        continue;
                    };
                    for (number, job) in jobs.iter().enumerate() {
                        if job.done() {
                            continue;
                        }
                        let source = work.source.part(job.start, job.end)?;
                        task::spawn(&shared, &sender, work.customer, number, job.clone(), source);
                    }
                }
            }
            Work::Stream(stream) => {
                let stream = stream
                    .take()
                    .ok_or_else(|| Error::stopped("the merged stream is already read", false))?;
                let mut feeds = BTreeMap::new();
                for (customer, jobs) in &plans.customers {
                    let mut feed = Feed::new(*customer, plans.consumed_of(*customer));
                    for (number, job) in jobs.iter().enumerate() {
                        feed.jobs.push((job.start, job.end));
                        if job.done() {
                            continue;
                        }
                        let uploaded = job
                            .state
                            .as_ref()
                            .is_some_and(|s| s.stage >= Stage::Starting);
                        if uploaded {
                            // Its operations are on the server: its driver does not read them.
                            let none = OperationSource::from_vec(Vec::new());
                            task::spawn(&shared, &sender, *customer, number, job.clone(), none);
                        } else {
                            feed.refills.push_back((number, job.clone(), Vec::new()));
                        }
                    }
                    feeds.insert(*customer, feed);
                }
                let feeder = Feeder {
                    shared: shared.clone(),
                    events: sender.clone(),
                    feeds,
                };
                let watcher = shared.clone();
                shared.spawn(async move {
                    let events = feeder.events.clone();
                    if let Err(error) = feeder.run(stream).await {
                        let _ = events.send((Err(error), None)).await;
                    }
                    drop(events);
                    watcher.watcher.wake();
                });
            }
        }
        let weak = sender.downgrade();
        let watcher = shared.clone();
        shared.spawn(async move {
            watcher
                .watcher
                .run(&watcher.client, watcher.settings.schedule, weak)
                .await;
        });
        drop(sender);
        Box::pin(self.poll()).await
    }

    async fn save(&mut self) -> Result<(), Error> {
        let state = self.state.clone();
        files::save_through(
            &mut self.sink,
            |s| s.blocking(),
            move |s| s.save_plan(&state),
        )
        .await?
        .map_err(|error| save_failed("the fleet's", &error))
    }
}
