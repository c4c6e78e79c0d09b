//! What every task of a fleet shares: the client and settings, the state and its sink, the
//! pacing (one lock, one notify), the watcher, the tasks themselves (owned here and aborted
//! with the runner: no task outlives it), and whether a save failed (which stops every
//! account).

use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::lock;
use super::pacing::{Answer, JobState, Limits, Pacing};
use super::state::{FleetJob, FleetSink, FleetState};
use super::watch::Watcher;
use crate::batch::files;
use crate::batch::state::save_failed;
use crate::batch::{BatchState, PollSchedule};
use crate::{CustomerId, Error, GoogleAdsClient};

/// The fleet's settings.
#[derive(Clone, Copy, Debug)]
pub(super) struct Settings {
    pub job_size: u64,
    pub max_running: usize,
    pub jobs_per_customer: usize,
    pub run_spacing: Duration,
    /// `None`: the default for the server (`PollSchedule::default_for`).
    pub schedule: Option<PollSchedule>,
    pub chunk_size: usize,
    pub page_size: i32,
    /// A merged stream's buffer per customer, in operations (`None`: the job size + 1).
    pub buffer: Option<usize>,
}

impl Settings {
    /// The buffer per customer: at least a job and the operation after it.
    pub fn buffer(&self) -> usize {
        let least = usize::try_from(self.job_size)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        self.buffer.unwrap_or(least).max(least)
    }
}

pub(super) struct Shared {
    pub client: GoogleAdsClient,
    pub settings: Settings,
    pub state: Mutex<FleetState>,
    /// The sink, if one was given; emptied when the runner is dropped, so its files (and the
    /// lock on them) are released then, not when the last aborted task lets go.
    sink: Option<Mutex<Option<Box<dyn FleetSink>>>>,
    save_failed: AtomicBool,
    pacing: Mutex<Pacing<CustomerId>>,
    pacing_changed: Notify,
    pub watcher: Watcher,
    tasks: Mutex<JoinSet<()>>,
}

impl Shared {
    pub fn new(
        client: GoogleAdsClient,
        settings: Settings,
        state: FleetState,
        sink: Option<Box<dyn FleetSink>>,
    ) -> Self {
        let mut pacing = Pacing::new(Limits {
            max_running: settings.max_running,
            per_customer: settings.jobs_per_customer,
            spacing: settings.run_spacing,
        });
        for (customer, jobs) in &state.customers {
            for (number, job) in jobs.iter().enumerate() {
                let ended = if job.done() {
                    JobState::Done
                } else {
                    JobState::Waiting
                };
                pacing.add(*customer, number, job.touches.clone(), ended);
            }
        }
        Self {
            client,
            settings,
            state: Mutex::new(state),
            sink: sink.map(|sink| Mutex::new(Some(sink))),
            save_failed: AtomicBool::new(false),
            pacing: Mutex::new(pacing),
            pacing_changed: Notify::new(),
            watcher: Watcher::default(),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Runs `task` as one of the fleet's own.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = lock(&self.tasks);
        // Finished tasks are reaped here, so the set holds only the live ones.
        while tasks.try_join_next().is_some() {}
        tasks.spawn(task);
    }

    /// Aborts every task (the runner is gone or stopped).
    pub fn abort_all(&self) {
        lock(&self.tasks).abort_all();
    }

    /// Waits for a slot for job `number` of `customer` (in the customer's job order); an
    /// error when an earlier job touching what it touches failed.
    pub async fn slot(&self, customer: CustomerId, number: usize) -> Result<(), Error> {
        loop {
            let notified = self.pacing_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let answer = lock(&self.pacing).take_slot(customer, number);
            match answer {
                Answer::Go => {
                    // A later job of the customer may take one now (slots go in order).
                    self.pacing_changed.notify_waiters();
                    return Ok(());
                }
                Answer::Refused { by } => return Err(refused(customer, number, by)),
                Answer::Wait(_) => notified.await,
            }
        }
    }

    /// Waits until job `number` of `customer` may be run (see the pacing rules); an error
    /// when an earlier job touching what it touches failed.
    pub async fn turn(&self, customer: CustomerId, number: usize) -> Result<(), Error> {
        loop {
            let notified = self.pacing_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let answer = lock(&self.pacing).take_turn(customer, number, Instant::now());
            match answer {
                Answer::Go => return Ok(()),
                Answer::Refused { by } => return Err(refused(customer, number, by)),
                Answer::Wait(Some(at)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = notified => {}
                    }
                }
                Answer::Wait(None) => notified.await,
            }
        }
    }

    /// The RunBatchJob of job `number` of `customer` settled (run, or failed for good).
    pub fn submitted(&self, customer: CustomerId, number: usize) {
        lock(&self.pacing).submitted(customer, number, Instant::now());
        self.pacing_changed.notify_waiters();
    }

    /// Job `number` of `customer` was run in an earlier process.
    pub fn mark_running(&self, customer: CustomerId, number: usize) {
        lock(&self.pacing).mark_running(customer, number);
    }

    /// Job `number` of `customer` ended; its slot goes to the next.
    pub fn end(&self, customer: CustomerId, number: usize, ok: bool) {
        lock(&self.pacing).end(customer, number, ok);
        self.pacing_changed.notify_waiters();
    }

    /// Records a job cut from `customer`'s stream (its operations now consumed) and saves the
    /// plan; returns its number.
    pub async fn add_job(
        self: &Arc<Self>,
        customer: CustomerId,
        job: FleetJob,
    ) -> Result<usize, Error> {
        let touches = job.touches.clone();
        let number = {
            let mut fleet = lock(&self.state);
            fleet.consumed.insert(customer, job.end);
            let jobs = fleet.customers.entry(customer).or_default();
            jobs.push(job);
            jobs.len() - 1
        };
        lock(&self.pacing).add(customer, number, touches, JobState::Waiting);
        self.save_plan().await?;
        Ok(number)
    }

    /// Whether the sink's saves block on I/O (they then run on blocking threads).
    pub fn sink_blocks(&self) -> bool {
        self.sink
            .as_ref()
            .is_some_and(|sink| lock(sink).as_ref().is_some_and(|s| s.blocking()))
    }

    /// Lets go of the sink (the runner is gone): later saves fail, and nothing is written.
    pub fn close_sink(&self) {
        if let Some(sink) = &self.sink {
            drop(lock(sink).take());
        }
    }

    /// Saves a job's driver state: into the fleet's, and through the sink (that job's only).
    pub fn save_job(
        &self,
        customer: CustomerId,
        number: usize,
        state: &BatchState,
    ) -> std::io::Result<()> {
        if let Some(job) = lock(&self.state)
            .customers
            .get_mut(&customer)
            .and_then(|j| j.get_mut(number))
        {
            job.state = Some(state.clone());
        }
        // Each job saves its steps one after another, so the newest of a job lands last.
        if let Some(sink) = &self.sink {
            lock(sink)
                .as_mut()
                .ok_or_else(dropped)?
                .save_job(customer, number, state)
                .inspect_err(|_| self.save_failed.store(true, Ordering::SeqCst))?;
        }
        Ok(())
    }

    /// Saves the plan; a failure stops the fleet.
    pub async fn save_plan(self: &Arc<Self>) -> Result<(), Error> {
        if self.sink.is_none() {
            return Ok(());
        }
        let shared = self.clone();
        files::run_save(self.sink_blocks(), move || {
            let Some(sink) = &shared.sink else {
                return Ok(());
            };
            // The sink's lock first, then the snapshot: two plan saves land in order.
            let mut sink = lock(sink);
            let snapshot = lock(&shared.state).clone();
            let saved = match sink.as_mut() {
                Some(sink) => sink.save_plan(&snapshot),
                None => Err(dropped()),
            };
            saved.map_err(|error| {
                shared.save_failed.store(true, Ordering::SeqCst);
                save_failed("the fleet's", &error)
            })
        })
        .await?
    }

    /// Whether `error` stops every account, not only its job: the state can no longer be
    /// saved, or the credentials are refused.
    pub fn stops_everything(&self, error: &Error) -> bool {
        self.save_failed.load(Ordering::SeqCst)
            || error.auth_error().is_some_and(|a| a.is_permanent())
            || error.code() == Some(tonic::Code::Unauthenticated)
    }
}

/// A save after the runner was dropped.
fn dropped() -> std::io::Error {
    std::io::Error::other("the fleet was dropped")
}

/// The error of a job never run because an earlier one touching the same campaigns or ad
/// groups failed.
fn refused(customer: CustomerId, number: usize, by: usize) -> Error {
    Error::stopped(
        format!(
            "job {number} of customer {customer} is not run: job {by}, which touches the same campaigns or ad groups, failed (they must run in order). Resume once job {by} can run"
        ),
        false,
    )
}
