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
//! Pacing: at most `max_running` jobs at once across customers, at most
//! `jobs_per_customer` per customer (the API allows 100 pending or running); a customer's
//! RunBatchJob calls at least `run_spacing` apart (2 s); two jobs of one customer that touch
//! the same campaign or ad group never run at the same time, and run in their order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt as _};
use serde_json::{Value, json};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::plan;
use super::{
    BatchJobDriver, BatchState, Event, JobStatus, OperationSource, PollSchedule, ResultPage, Stage,
    StateSink, Summary, add, job_statuses,
};
use crate::customer_id::IntoCustomerId;
use crate::latest::enums::batch_job_status_enum::BatchJobStatus;
use crate::latest::services::MutateOperation;
use crate::{CustomerId, Error, GoogleAdsClient};

/// One customer's work: a source that can be read again (the fleet reads it to plan the jobs,
/// and each job reads its part).
pub struct CustomerWork {
    customer: CustomerId,
    source: OperationSource,
}

impl CustomerWork {
    /// `customer`'s operations, in order.
    pub fn new(
        customer: impl crate::customer_id::IntoCustomerId,
        source: OperationSource,
    ) -> Result<Self, Error> {
        if !source.is_reopenable() {
            return Err(Error::invalid(
                "source",
                "a fleet reads each customer's work more than once: give a re-openable source",
            ));
        }
        Ok(Self {
            customer: customer.into_customer_id()?,
            source,
        })
    }
}

/// What happened in the fleet.
#[derive(Clone, Debug, PartialEq)]
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
    /// A job finished, every result delivered.
    JobDone {
        /// The customer.
        customer: CustomerId,
        /// The job's number.
        job: usize,
        /// Its summary.
        summary: Summary,
    },
    /// Every job finished.
    Done(BTreeMap<CustomerId, Summary>),
}

/// One planned job and how far it got.
#[derive(Clone, Debug, PartialEq)]
pub struct FleetJob {
    /// Its first operation in the customer's work.
    pub start: u64,
    /// The operation after its last.
    pub end: u64,
    /// The campaigns and ad groups it touches (`campaigns/1`, `adGroups/2`).
    pub touches: BTreeSet<String>,
    /// Its driver's state, once started.
    pub state: Option<BatchState>,
}

impl FleetJob {
    fn done(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.stage == Stage::Done)
    }
}

/// The whole fleet's state: every customer's plan and every job's driver state; saved after
/// every step of any job. A new process given it carries the fleet on.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetState {
    /// Each customer's jobs, in order.
    pub customers: BTreeMap<CustomerId, Vec<FleetJob>>,
    /// How many operations of each customer's work are in jobs (the end of its last job):
    /// all of a planned source, the part of a merged stream cut so far. Operations after
    /// these were read into a buffer at most, and are not in the state.
    pub consumed: BTreeMap<CustomerId, u64>,
}

impl FleetState {
    /// Operations of `customer`'s work in jobs.
    fn consumed_of(&self, customer: CustomerId) -> u64 {
        self.consumed.get(&customer).copied().unwrap_or_else(|| {
            self.customers
                .get(&customer)
                .and_then(|jobs| jobs.last())
                .map_or(0, |job| job.end)
        })
    }
}

impl FleetState {
    /// The state as JSON.
    pub fn to_json(&self) -> String {
        let customers: serde_json::Map<String, Value> = self
            .customers
            .iter()
            .map(|(customer, jobs)| {
                let jobs: Vec<Value> = jobs
                    .iter()
                    .map(|job| {
                        json!({
                            "start": job.start,
                            "end": job.end,
                            "touches": job.touches,
                            "state": job.state.as_ref().map(|s| {
                                serde_json::from_str::<Value>(&s.to_json()).unwrap_or_default()
                            }),
                        })
                    })
                    .collect();
                (customer.to_string(), Value::Array(jobs))
            })
            .collect();
        let consumed: BTreeMap<String, u64> = self
            .consumed
            .iter()
            .map(|(customer, count)| (customer.to_string(), *count))
            .collect();
        json!({ "customers": customers, "consumed": consumed }).to_string()
    }

    /// The state from [`to_json`](Self::to_json).
    pub fn from_json(text: &str) -> Result<Self, Error> {
        let bad =
            |what: &str| Error::invalid(format!("fleet state: {what}"), "missing or malformed");
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid("fleet state", format!("not JSON: {e}")))?;
        let mut out = FleetState::default();
        for (customer, jobs) in v
            .get("customers")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("customers"))?
        {
            let customer: CustomerId = customer.parse()?;
            let mut list = Vec::new();
            for job in jobs.as_array().ok_or_else(|| bad("jobs"))? {
                let number = |k: &str| job.get(k).and_then(Value::as_u64).ok_or_else(|| bad(k));
                let state = match job.get("state") {
                    Some(Value::Null) | None => None,
                    Some(state) => Some(BatchState::from_json(&state.to_string())?),
                };
                list.push(FleetJob {
                    start: number("start")?,
                    end: number("end")?,
                    touches: job
                        .get("touches")
                        .and_then(Value::as_array)
                        .map(|t| {
                            t.iter()
                                .filter_map(|s| s.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default(),
                    state,
                });
            }
            out.customers.insert(customer, list);
        }
        // Absent from states saved before it was recorded: then the end of the last job.
        if let Some(consumed) = v.get("consumed").and_then(Value::as_object) {
            for (customer, count) in consumed {
                out.consumed.insert(
                    customer.parse()?,
                    count.as_u64().ok_or_else(|| bad("consumed"))?,
                );
            }
        }
        Ok(out)
    }
}

/// Where a fleet saves its state.
pub trait FleetSink: Send + 'static {
    /// Saves `state` (the newest replaces the last).
    fn save(&mut self, state: &FleetState) -> std::io::Result<()>;
}

impl FleetSink for super::FileSink {
    fn save(&mut self, state: &FleetState) -> std::io::Result<()> {
        self.write(&state.to_json())
    }
}

impl super::FileSink {
    /// The fleet state saved in `path`, if there is one.
    pub fn load_fleet(path: impl Into<std::path::PathBuf>) -> Result<Option<FleetState>, Error> {
        let path = path.into();
        match std::fs::read_to_string(&path) {
            Ok(text) => FleetState::from_json(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::invalid(
                format!("fleet state file {}", path.display()),
                format!("cannot be read: {e}"),
            )),
        }
    }
}

/// The fleet's settings.
#[derive(Clone, Copy, Debug)]
struct Settings {
    job_size: u64,
    max_running: usize,
    jobs_per_customer: usize,
    run_spacing: Duration,
    schedule: PollSchedule,
    chunk_size: usize,
    page_size: i32,
    /// A merged stream's buffer per customer, in operations (`None`: the job size + 1).
    buffer: Option<usize>,
}

impl Settings {
    /// The buffer per customer: at least a job and the operation after it.
    fn buffer(&self) -> usize {
        let least = usize::try_from(self.job_size)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        self.buffer.unwrap_or(least).max(least)
    }
}

/// The work of a fleet: a source per customer, or one merged stream.
enum Work {
    Sources(Vec<CustomerWork>),
    /// Taken when the fleet starts.
    Stream(Option<MergedStream>),
}

/// A merged stream, its customer ids checked.
type MergedStream = BoxStream<'static, Result<(CustomerId, MutateOperation), Error>>;

/// Runs many jobs for many customers (see the module doc). A poller: [`poll`](Self::poll)
/// gives the next event, [`until_done`](Self::until_done) runs to the end.
pub struct FleetRunner {
    client: GoogleAdsClient,
    work: Work,
    settings: Settings,
    state: Arc<Mutex<FleetState>>,
    sink: Option<Arc<Mutex<Box<dyn FleetSink>>>>,
    events: Option<mpsc::Receiver<Delivery>>,
    unacknowledged: Option<oneshot::Sender<()>>,
    summaries: BTreeMap<CustomerId, Summary>,
    finished: bool,
}

impl std::fmt::Debug for FleetRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetRunner")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// An event from a job's task, with the acknowledgement a results page waits for.
type Delivery = (Result<FleetEvent, Error>, Option<oneshot::Sender<()>>);

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
    /// handed to a [`BatchJobDriver`] once the job may start: a slot among the
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
                schedule: PollSchedule::default(),
                chunk_size: 1000,
                page_size: 1000,
                buffer: None,
            },
            state: Arc::new(Mutex::new(state)),
            sink: None,
            events: None,
            unacknowledged: None,
            summaries: BTreeMap::new(),
            finished: false,
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
        self.settings.schedule = schedule;
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
        self.sink = Some(Arc::new(Mutex::new(Box::new(sink))));
        self
    }

    /// The state now.
    pub fn state(&self) -> FleetState {
        lock(&self.state).clone()
    }

    /// Runs the fleet to the end, handing every results page to `on_results`; returns the
    /// summary per customer.
    pub async fn until_done(
        mut self,
        mut on_results: impl FnMut(CustomerId, &ResultPage),
    ) -> Result<BTreeMap<CustomerId, Summary>, Error> {
        loop {
            match self.poll().await? {
                FleetEvent::Results { customer, page, .. } => on_results(customer, &page),
                FleetEvent::Done(summaries) => return Ok(summaries),
                _ => {}
            }
        }
    }

    /// The next event. The first call plans the jobs and starts them.
    pub async fn poll(&mut self) -> Result<FleetEvent, Error> {
        if let Some(ack) = self.unacknowledged.take() {
            let _ = ack.send(());
        }
        if self.finished {
            return Ok(FleetEvent::Done(self.summaries.clone()));
        }
        if self.events.is_none() {
            return self.start().await;
        }
        let Some(events) = self.events.as_mut() else {
            return Err(Error::stopped("the fleet's tasks are gone", false));
        };
        match events.recv().await {
            Some((event, ack)) => {
                self.unacknowledged = ack;
                event
            }
            None => {
                self.finished = true;
                // Every job's state holds its summary, those done in an earlier process too.
                self.summaries = lock(&self.state)
                    .customers
                    .iter()
                    .map(|(customer, jobs)| {
                        let mut summary = Summary::default();
                        for state in jobs.iter().filter_map(|j| j.state.as_ref()) {
                            add(&mut summary, &state.summary);
                        }
                        (*customer, summary)
                    })
                    .collect();
                Ok(FleetEvent::Done(self.summaries.clone()))
            }
        }
    }

    /// Plans what is not planned yet (one customer per call returns its plan), then starts
    /// every job's task (or a merged stream's reader) and the watcher.
    async fn start(&mut self) -> Result<FleetEvent, Error> {
        if let Work::Sources(work) = &mut self.work
            && let Some(work) = work
                .iter_mut()
                .find(|w| !lock(&self.state).customers.contains_key(&w.customer))
        {
            let mut jobs =
                plan::plan(work.customer, &mut work.source, self.settings.job_size).await?;
            for job in &mut jobs {
                plan::add_campaigns(&self.client, work.customer, &mut job.touches).await?;
            }
            let ranges: Vec<(u64, u64)> = jobs.iter().map(|j| (j.start, j.end)).collect();
            let customer = work.customer;
            {
                let mut state = lock(&self.state);
                state
                    .consumed
                    .insert(customer, ranges.last().map_or(0, |r| r.1));
                state.customers.insert(
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
            }
            self.save();
            return Ok(FleetEvent::Planned {
                customer,
                jobs: ranges,
            });
        }
        let (sender, receiver) = mpsc::channel(64);
        self.events = Some(receiver);
        let shared = Arc::new(Shared {
            client: self.client.clone(),
            settings: self.settings,
            state: self.state.clone(),
            sink: self.sink.clone(),
            running: Arc::new(Semaphore::new(self.settings.max_running)),
            per_customer: Mutex::new(BTreeMap::new()),
            gate: Mutex::new(BTreeMap::new()),
            gate_changed: Notify::new(),
            watched: Mutex::new(BTreeMap::new()),
            watch_changed: Notify::new(),
        });
        let plans = self.state();
        match &mut self.work {
            Work::Sources(work) => {
                let mut queue = Vec::new();
                for work in work.iter() {
                    let Some(jobs) = plans.customers.get(&work.customer) else {
                        continue;
                    };
                    for (number, job) in jobs.iter().enumerate() {
                        if job.done() {
                            continue;
                        }
                        let source = work.source.part(job.start, job.end)?;
                        queue.push((work.customer, number, job.clone(), source));
                    }
                }
                let (shared, events) = (shared.clone(), sender.clone());
                tokio::spawn(async move {
                    start_in_order(&shared, &events, queue).await;
                    shared.sender_done(events);
                });
            }
            Work::Stream(stream) => {
                let stream = stream
                    .take()
                    .ok_or_else(|| Error::stopped("the merged stream is already read", false))?;
                let mut feeds = BTreeMap::new();
                let mut started = Vec::new();
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
                            started.push((*customer, number, job.clone(), none));
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
                tokio::spawn(async move {
                    let events = feeder.events.clone();
                    let shared = feeder.shared.clone();
                    // Jobs already on the server take their slots first.
                    if start_in_order(&shared, &events, started).await
                        && let Err(error) = feeder.run(stream).await
                    {
                        let _ = events.send((Err(error), None)).await;
                    }
                    shared.sender_done(events);
                });
            }
        }
        let watcher = shared.clone();
        let weak = sender.downgrade();
        tokio::spawn(async move { watcher.watch(weak).await });
        drop(sender);
        Box::pin(self.poll()).await
    }

    fn save(&self) {
        if let Some(sink) = &self.sink {
            let mut sink = lock(sink); // before the snapshot: see Shared::save_job
            let state = self.state();
            if let Err(error) = sink.save(&state) {
                tracing::warn!(%error, "could not save the fleet's state");
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Per customer: when its last job was run, and the numbers of its jobs running.
type Gates = BTreeMap<CustomerId, (Option<Instant>, BTreeSet<usize>)>;
/// Per customer: its running jobs by name, each with where to say its status.
type Watched = BTreeMap<CustomerId, BTreeMap<String, watch::Sender<Option<JobStatus>>>>;

/// What every job's task shares.
struct Shared {
    client: GoogleAdsClient,
    settings: Settings,
    state: Arc<Mutex<FleetState>>,
    sink: Option<Arc<Mutex<Box<dyn FleetSink>>>>,
    running: Arc<Semaphore>,
    /// Each customer's job slots, made when first needed.
    per_customer: Mutex<BTreeMap<CustomerId, Arc<Semaphore>>>,
    gate: Mutex<Gates>,
    gate_changed: Notify,
    /// The running jobs the watcher reads.
    watched: Mutex<Watched>,
    watch_changed: Notify,
}

impl Shared {
    /// `customer`'s job slots.
    fn slots(&self, customer: CustomerId) -> Arc<Semaphore> {
        lock(&self.per_customer)
            .entry(customer)
            .or_insert_with(|| Arc::new(Semaphore::new(self.settings.jobs_per_customer)))
            .clone()
    }

    /// Takes a slot among the running jobs and one of `customer`'s.
    async fn slot(&self, customer: CustomerId) -> Result<Permits, Error> {
        let gone = |_| Error::stopped("the fleet was dropped", false);
        let running = self.running.clone().acquire_owned().await.map_err(gone)?;
        let mine = self.slots(customer).acquire_owned().await.map_err(gone)?;
        Ok((running, mine))
    }

    /// Records a job cut from `customer`'s stream (its operations now consumed) and saves
    /// the state; returns its number.
    fn add_job(&self, customer: CustomerId, job: FleetJob) -> usize {
        let mut sink = self.sink.as_ref().map(|sink| lock(sink)); // see save_job
        let (number, snapshot) = {
            let mut fleet = lock(&self.state);
            fleet.consumed.insert(customer, job.end);
            let jobs = fleet.customers.entry(customer).or_default();
            jobs.push(job);
            let number = jobs.len() - 1;
            (number, sink.as_ref().map(|_| fleet.clone()))
        };
        if let (Some(sink), Some(snapshot)) = (sink.as_mut(), snapshot)
            && let Err(error) = sink.save(&snapshot)
        {
            tracing::warn!(%error, "could not save the fleet's state");
        }
        number
    }

    fn save_job(&self, customer: CustomerId, number: usize, state: &BatchState) {
        // The sink's lock is taken first and held while the snapshot is taken and written:
        // two jobs saving at once must not let the older snapshot land last.
        let mut sink = self.sink.as_ref().map(|sink| lock(sink));
        let snapshot = {
            let mut fleet = lock(&self.state);
            if let Some(job) = fleet
                .customers
                .get_mut(&customer)
                .and_then(|j| j.get_mut(number))
            {
                job.state = Some(state.clone());
            }
            sink.as_ref().map(|_| fleet.clone())
        };
        if let (Some(sink), Some(snapshot)) = (sink.as_mut(), snapshot)
            && let Err(error) = sink.save(&snapshot)
        {
            tracing::warn!(%error, "could not save the fleet's state");
        }
    }

    /// Waits until job `number` of `customer` may run: the customer's last run at least the
    /// spacing ago, no running job of the customer touching what it touches, and every
    /// earlier job of the customer touching it finished.
    async fn wait_turn(&self, customer: CustomerId, number: usize, touches: &BTreeSet<String>) {
        loop {
            let notified = self.gate_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait = {
                let mut gate = lock(&self.gate);
                let (last, running) = gate.entry(customer).or_default();
                let fleet = lock(&self.state);
                let jobs = fleet
                    .customers
                    .get(&customer)
                    .map_or(&[][..], Vec::as_slice);
                let overlaps = |other: usize| {
                    jobs.get(other)
                        .is_some_and(|j| !j.touches.is_disjoint(touches))
                };
                let blocked = running.iter().any(|r| overlaps(*r))
                    || (0..number).any(|earlier| overlaps(earlier) && !jobs[earlier].done());
                let wait = last.map_or(Duration::ZERO, |l| {
                    (l + self.settings.run_spacing).saturating_duration_since(Instant::now())
                });
                if !blocked && wait.is_zero() {
                    *last = Some(Instant::now());
                    running.insert(number);
                    return;
                }
                (!blocked).then_some(wait)
            };
            match wait {
                Some(wait) => {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    fn finished(&self, customer: CustomerId, number: usize) {
        if let Some((_, running)) = lock(&self.gate).get_mut(&customer) {
            running.remove(&number);
        }
        self.gate_changed.notify_waiters();
    }

    /// The watcher holds only a weak sender and ends when the last strong one is gone: each
    /// holder drops its sender through here, which wakes the watcher to see whether it was the
    /// last.
    fn sender_done(&self, events: mpsc::Sender<Delivery>) {
        drop(events);
        self.watch_changed.notify_waiters();
    }

    /// Reads the running jobs: each job on the guide's schedule counted from its own start
    /// (a job started late is not read at the slow end of an older job's schedule), and when
    /// any job of a customer is due, all of that customer's jobs in one query. Holds only a
    /// weak sender: the fleet's event channel closes when the last job's task ends, so `Done`
    /// comes at once, not a poll later.
    async fn watch(&self, events: mpsc::WeakSender<Delivery>) {
        // Per customer, per running job: its polls so far and when the next is due.
        let mut due: BTreeMap<CustomerId, BTreeMap<String, (u32, Instant)>> = BTreeMap::new();
        loop {
            let notified = self.watch_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if events.upgrade().is_none_or(|sender| sender.is_closed()) {
                return; // every job's task ended, or the runner is gone
            }
            let first = Instant::now() + self.settings.schedule.delay(0);
            let running: Vec<(CustomerId, Vec<String>)> = lock(&self.watched)
                .iter()
                .map(|(c, jobs)| (*c, jobs.keys().cloned().collect()))
                .collect();
            due = running
                .into_iter()
                .filter(|(_, jobs)| !jobs.is_empty())
                .map(|(customer, jobs)| {
                    let mut known = due.remove(&customer).unwrap_or_default();
                    let jobs = jobs
                        .into_iter()
                        .map(|job| {
                            let at = known.remove(&job).unwrap_or((0, first));
                            (job, at)
                        })
                        .collect();
                    (customer, jobs)
                })
                .collect();
            let Some(next) = due
                .values()
                .flat_map(|jobs| jobs.values())
                .map(|j| j.1)
                .min()
            else {
                notified.await;
                continue;
            };
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = notified => continue,
            }
            let now = Instant::now();
            for (customer, jobs) in due.iter_mut() {
                if jobs.values().all(|(_, at)| *at > now) {
                    continue;
                }
                let names: Vec<&str> = jobs.keys().map(String::as_str).collect();
                match job_statuses(&self.client, *customer, &names).await {
                    Ok(statuses) => {
                        let watched = lock(&self.watched);
                        for status in statuses {
                            if let Some(sender) =
                                watched.get(customer).and_then(|w| w.get(&status.job))
                            {
                                let _ = sender.send(Some(status));
                            }
                        }
                    }
                    Err(error) => tracing::warn!(%error, %customer, "could not read the jobs"),
                }
                let read = Instant::now();
                for (polls, at) in jobs.values_mut().filter(|(_, at)| *at <= now) {
                    *polls += 1;
                    *at = read + self.settings.schedule.delay(*polls);
                }
            }
        }
    }
}

/// A slot among the running jobs and one of the customer's.
type Permits = (OwnedSemaphorePermit, OwnedSemaphorePermit);

/// Hands out slots in job order, starting each job as it gets one: a job holding a slot never
/// waits (for a campaign or ad group) on an earlier job of its customer that has none, which
/// with few slots could otherwise wait forever. False when the fleet is gone.
async fn start_in_order(
    shared: &Arc<Shared>,
    events: &mpsc::Sender<Delivery>,
    jobs: Vec<(CustomerId, usize, FleetJob, OperationSource)>,
) -> bool {
    for (customer, number, job, source) in jobs {
        let Ok(permits) = shared.slot(customer).await else {
            return false;
        };
        spawn_job(shared, customer, number, &job, source, events, permits);
    }
    true
}

/// Starts job `number` of `customer` in a task of its own, holding the slots given.
fn spawn_job(
    shared: &Arc<Shared>,
    customer: CustomerId,
    number: usize,
    job: &FleetJob,
    source: OperationSource,
    events: &mpsc::Sender<Delivery>,
    permits: Permits,
) {
    let task = JobTask {
        shared: shared.clone(),
        customer,
        number,
        job: job.clone(),
        source,
        events: events.clone(),
        permits,
    };
    tokio::spawn(async move {
        let events = task.events.clone();
        let shared = task.shared.clone();
        if let Err(error) = task.run().await {
            let _ = events.send((Err(error), None)).await;
        }
        shared.sender_done(events);
    });
}

/// One job's life in the fleet.
struct JobTask {
    shared: Arc<Shared>,
    customer: CustomerId,
    number: usize,
    job: FleetJob,
    source: OperationSource,
    events: mpsc::Sender<Delivery>,
    /// Held until the task ends.
    permits: Permits,
}

/// Saves a job's driver state into the fleet's.
struct JobSink {
    shared: Arc<Shared>,
    customer: CustomerId,
    number: usize,
}

impl StateSink for JobSink {
    fn save(&mut self, state: &BatchState) -> std::io::Result<()> {
        self.shared.save_job(self.customer, self.number, state);
        Ok(())
    }
}

impl JobTask {
    async fn run(self) -> Result<(), Error> {
        let JobTask {
            shared,
            customer,
            number,
            job,
            source,
            events,
            // The slots, held until the task ends.
            permits: _permits,
        } = self;
        let gone = || Error::stopped("the fleet was dropped", false);
        let settings = shared.settings;
        let sink = JobSink {
            shared: shared.clone(),
            customer,
            number,
        };
        let mut driver = match job.state.clone() {
            Some(state) => BatchJobDriver::resume(&shared.client, state, source),
            None => BatchJobDriver::new(&shared.client, customer, source)?,
        }
        .with_chunk_size(settings.chunk_size)
        .with_results_page_size(settings.page_size)
        .with_poll_schedule(settings.schedule)
        .with_state_sink(sink);
        if matches!(driver.state().stage, Stage::Running | Stage::Results) {
            // Resumed after its run: it holds its place among the running jobs.
            lock(&shared.gate)
                .entry(customer)
                .or_default()
                .1
                .insert(number);
        }
        let send = |event: FleetEvent| {
            let events = events.clone();
            async move { events.send((Ok(event), None)).await.map_err(|_| gone()) }
        };
        loop {
            match driver.state().stage {
                Stage::Starting => {
                    shared.wait_turn(customer, number, &job.touches).await;
                    let event = driver.poll().await?;
                    send(FleetEvent::Job {
                        customer,
                        job: number,
                        event,
                    })
                    .await?;
                }
                Stage::Running => {
                    let name = driver
                        .state()
                        .job
                        .clone()
                        .ok_or_else(|| Error::stopped("a running job has no name", false))?;
                    let (tx, mut rx) = watch::channel(None);
                    lock(&shared.watched)
                        .entry(customer)
                        .or_default()
                        .insert(name.clone(), tx);
                    shared.watch_changed.notify_waiters();
                    loop {
                        rx.changed().await.map_err(|_| gone())?;
                        let Some(status) = rx.borrow_and_update().clone() else {
                            continue;
                        };
                        let done = status.status == BatchJobStatus::Done;
                        send(FleetEvent::Job {
                            customer,
                            job: number,
                            event: Event::Progress(super::Progress {
                                status: status.status,
                                executed: status.executed,
                                total: status.operation_count,
                                estimated_completion_ratio: status.estimated_completion_ratio,
                                polls: 0,
                                waited: Duration::ZERO,
                            }),
                        })
                        .await?;
                        if done {
                            break;
                        }
                    }
                    if let Some(watched) = lock(&shared.watched).get_mut(&customer) {
                        watched.remove(&name);
                    }
                    driver.job_done();
                }
                Stage::Done => {
                    shared.finished(customer, number);
                    let summary = driver.state().summary.clone();
                    send(FleetEvent::JobDone {
                        customer,
                        job: number,
                        summary,
                    })
                    .await?;
                    return Ok(());
                }
                _ => match driver.poll().await? {
                    Event::Results(mut page) => {
                        // Indices of the customer's work, not of the job.
                        page.first += job.start;
                        for outcome in &mut page.outcomes {
                            outcome.index += job.start;
                        }
                        let (ack, acknowledged) = oneshot::channel();
                        events
                            .send((
                                Ok(FleetEvent::Results {
                                    customer,
                                    job: number,
                                    page,
                                }),
                                Some(ack),
                            ))
                            .await
                            .map_err(|_| gone())?;
                        // Delivered once the caller asks for the next event.
                        acknowledged.await.map_err(|_| gone())?;
                    }
                    Event::Done(_) => {}
                    event => {
                        send(FleetEvent::Job {
                            customer,
                            job: number,
                            event,
                        })
                        .await?
                    }
                },
            }
        }
    }
}

/// One customer of a merged stream: its buffer, and on resume what its jobs need again.
struct Feed {
    /// Operations of the customer read so far (the next one's index).
    seen: u64,
    /// Operations in jobs before this process: skipped, or given to `refills`.
    consumed: u64,
    /// Every job's operations (first, the one after its last), for the temporary ids of
    /// skipped operations, and the one the next skipped operation is in.
    jobs: Vec<(u64, u64)>,
    job: usize,
    /// Unfinished jobs whose drivers read their operations again, in order: number, job,
    /// its operations read so far.
    refills: VecDeque<(usize, FleetJob, Vec<MutateOperation>)>,
    open: plan::OpenWork,
}

impl Feed {
    fn new(customer: CustomerId, consumed: u64) -> Self {
        Self {
            seen: 0,
            consumed,
            jobs: Vec::new(),
            job: 0,
            refills: VecDeque::new(),
            open: plan::OpenWork::new(customer, consumed),
        }
    }
}

/// Reads a merged stream into the customers' buffers and cuts their jobs.
struct Feeder {
    shared: Arc<Shared>,
    events: mpsc::Sender<Delivery>,
    feeds: BTreeMap<CustomerId, Feed>,
}

impl Feeder {
    async fn run(mut self, mut stream: MergedStream) -> Result<(), Error> {
        let job_size = self.shared.settings.job_size;
        let buffer = self.shared.settings.buffer();
        while let Some(item) = stream.next().await {
            let (customer, operation) = item?;
            let feed = self
                .feeds
                .entry(customer)
                .or_insert_with(|| Feed::new(customer, 0));
            let at = feed.seen;
            feed.seen += 1;
            if at < feed.consumed {
                // In a job before this process: its temporary ids are retired, and an
                // unfinished job that reads its operations again gets it.
                while feed.jobs.get(feed.job).is_some_and(|(_, end)| *end <= at) {
                    feed.job += 1;
                }
                let job = feed.jobs.get(feed.job).filter(|(start, _)| *start <= at);
                feed.open
                    .retire(job.copied().unwrap_or((at, at)), &operation);
                let refill = feed
                    .refills
                    .front_mut()
                    .filter(|(_, job, _)| job.start <= at && at < job.end);
                if let Some((_, job, operations)) = refill {
                    operations.push(operation);
                    if operations.len() as u64 == job.end.saturating_sub(job.start)
                        && let Some((number, job, operations)) = feed.refills.pop_front()
                    {
                        // In order with the jobs cut after it: a later job that touches
                        // what it touches waits for it, so it must not wait for a slot.
                        let permits = self.shared.slot(customer).await?;
                        let source = OperationSource::from_vec(operations);
                        spawn_job(
                            &self.shared,
                            customer,
                            number,
                            &job,
                            source,
                            &self.events,
                            permits,
                        );
                    }
                }
                continue;
            }
            feed.open.push(operation)?;
            if feed.open.len() >= buffer {
                let count = feed.open.cut(job_size, true)?;
                let (start, operations) = feed.open.take(count);
                self.hand_off(customer, start, operations).await?;
            }
        }
        // The stream's end: every buffer is cut into its last jobs.
        for (customer, mut feed) in std::mem::take(&mut self.feeds) {
            if let Some((_, job, _)) = feed.refills.front() {
                return Err(Error::invalid(
                    format!("customer {customer}: the merged stream"),
                    format!(
                        "ended at operation {} of the customer, before the end of its job {}..{} cut before: to resume, re-supply the stream from its beginning",
                        feed.seen, job.start, job.end
                    ),
                ));
            }
            while feed.open.len() > 0 {
                let count = feed.open.cut(job_size, false)?;
                let (start, operations) = feed.open.take(count);
                self.hand_off(customer, start, operations).await?;
            }
        }
        Ok(())
    }

    /// Hands a job cut from `customer`'s buffer to its driver once it may start (until then
    /// the stream is not read), recorded in the state first.
    async fn hand_off(
        &self,
        customer: CustomerId,
        start: u64,
        operations: Vec<MutateOperation>,
    ) -> Result<(), Error> {
        let end = start.saturating_add(operations.len() as u64);
        let mut touches = BTreeSet::new();
        for operation in &operations {
            plan::touches(customer, operation, &mut touches);
        }
        plan::add_campaigns(&self.shared.client, customer, &mut touches).await?;
        let permits = self.shared.slot(customer).await?;
        let job = FleetJob {
            start,
            end,
            touches,
            state: None,
        };
        let number = self.shared.add_job(customer, job.clone());
        self.events
            .send((
                Ok(FleetEvent::Cut {
                    customer,
                    job: number,
                    start,
                    end,
                }),
                None,
            ))
            .await
            .map_err(|_| Error::stopped("the fleet was dropped", false))?;
        let source = OperationSource::from_vec(operations);
        spawn_job(
            &self.shared,
            customer,
            number,
            &job,
            source,
            &self.events,
            permits,
        );
        Ok(())
    }
}
