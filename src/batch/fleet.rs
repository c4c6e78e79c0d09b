//! [`FleetRunner`]: batch work larger than one job, for one or many customers. Each
//! customer's work is split into jobs ([`super::plan`]), the jobs run through
//! [`BatchJobDriver`]s side by side, paced the way the MutateJobService guide asks, watched
//! with one query per customer, and their outcomes come back as one stream, each tagged with
//! its customer and its index in that customer's work.
//!
//! Pacing: at most `max_running` jobs at once across customers, at most
//! `jobs_per_customer` per customer (the API allows 100 pending or running); a customer's
//! RunBatchJob calls at least `run_spacing` apart (2 s); two jobs of one customer that touch
//! the same campaign or ad group never run at the same time, and run in their order.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::plan;
use super::{
    BatchJobDriver, BatchState, Event, JobStatus, OperationSource, PollSchedule, ResultPage, Stage,
    StateSink, Summary, add, job_statuses,
};
use crate::latest::enums::batch_job_status_enum::BatchJobStatus;
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
        json!({ "customers": customers }).to_string()
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
}

/// Runs many jobs for many customers (see the module doc). A poller: [`poll`](Self::poll)
/// gives the next event, [`until_done`](Self::until_done) runs to the end.
pub struct FleetRunner {
    client: GoogleAdsClient,
    work: Vec<CustomerWork>,
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
    /// every job's task and the watcher.
    async fn start(&mut self) -> Result<FleetEvent, Error> {
        let unplanned = self
            .work
            .iter()
            .position(|w| !lock(&self.state).customers.contains_key(&w.customer));
        if let Some(i) = unplanned {
            let work = &mut self.work[i];
            let mut jobs =
                plan::plan(work.customer, &mut work.source, self.settings.job_size).await?;
            for job in &mut jobs {
                plan::add_campaigns(&self.client, work.customer, &mut job.touches).await?;
            }
            let ranges = jobs.iter().map(|j| (j.start, j.end)).collect();
            let customer = work.customer;
            lock(&self.state).customers.insert(
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
            running: Semaphore::new(self.settings.max_running),
            per_customer: lock(&self.state)
                .customers
                .keys()
                .map(|c| (*c, Semaphore::new(self.settings.jobs_per_customer)))
                .collect(),
            gate: Mutex::new(BTreeMap::new()),
            gate_changed: Notify::new(),
            watched: Mutex::new(BTreeMap::new()),
            watch_changed: Notify::new(),
        });
        let plans = self.state();
        for work in &self.work {
            let Some(jobs) = plans.customers.get(&work.customer) else {
                continue;
            };
            for (number, job) in jobs.iter().enumerate() {
                if job.done() {
                    continue;
                }
                let task = JobTask {
                    shared: shared.clone(),
                    customer: work.customer,
                    number,
                    job: job.clone(),
                    source: work.source.part(job.start, job.end)?,
                    events: sender.clone(),
                };
                tokio::spawn(async move {
                    let events = task.events.clone();
                    if let Err(error) = task.run().await {
                        let _ = events.send((Err(error), None)).await;
                    }
                });
            }
        }
        let watcher = shared.clone();
        let done = sender.clone();
        tokio::spawn(async move { watcher.watch(done).await });
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
    running: Semaphore,
    per_customer: BTreeMap<CustomerId, Semaphore>,
    gate: Mutex<Gates>,
    gate_changed: Notify,
    /// The running jobs the watcher reads.
    watched: Mutex<Watched>,
    watch_changed: Notify,
}

impl Shared {
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

    /// Reads every running job of each customer with one query per customer, on the
    /// schedule (starting over when a job starts), until every task has gone.
    async fn watch(&self, events: mpsc::Sender<Delivery>) {
        let mut polls = 0u32;
        loop {
            let notified = self.watch_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let customers: Vec<(CustomerId, Vec<String>)> = lock(&self.watched)
                .iter()
                .filter(|(_, jobs)| !jobs.is_empty())
                .map(|(c, jobs)| (*c, jobs.keys().cloned().collect()))
                .collect();
            if customers.is_empty() {
                if events.is_closed() || events.strong_count() <= 1 {
                    return;
                }
                polls = 0;
                tokio::select! {
                    _ = notified => {}
                    _ = events.closed() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.schedule.delay(polls)) => {}
                _ = events.closed() => return,
            }
            polls += 1;
            for (customer, jobs) in customers {
                let names: Vec<&str> = jobs.iter().map(String::as_str).collect();
                match job_statuses(&self.client, customer, &names).await {
                    Ok(statuses) => {
                        let watched = lock(&self.watched);
                        for status in statuses {
                            if let Some(sender) =
                                watched.get(&customer).and_then(|w| w.get(&status.job))
                            {
                                let _ = sender.send(Some(status));
                            }
                        }
                    }
                    Err(error) => tracing::warn!(%error, %customer, "could not read the jobs"),
                }
            }
        }
    }
}

/// One job's life in the fleet.
struct JobTask {
    shared: Arc<Shared>,
    customer: CustomerId,
    number: usize,
    job: FleetJob,
    source: OperationSource,
    events: mpsc::Sender<Delivery>,
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
        } = self;
        let gone = || Error::stopped("the fleet was dropped", false);
        let _running = shared.running.acquire().await.map_err(|_| gone())?;
        let _mine = match shared.per_customer.get(&customer) {
            Some(slots) => Some(slots.acquire().await.map_err(|_| gone())?),
            None => None,
        };
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
