//! The fleet's pacing as a pure state machine (no clock of its own, no tasks: the instants are
//! given), so its rules are tested alone:
//!
//! - **Slots, in each customer's job order.** A job holds a slot from the moment it may
//!   upload until it ends: at most `max_running` across customers and `per_customer` for one
//!   (the API allows 100 pending or running jobs per account). A job takes a slot only once
//!   every earlier job of its customer holds one or has ended. So a job holding a slot never
//!   waits on an earlier one that has none, the wait that deadlocked a resumed fleet with one
//!   slot: every job that is waited on holds a slot, and the earliest of them waits on none.
//! - **Turns.** RunBatchJob for a job only once no running job of its customer touches what
//!   it touches, every earlier job of the customer that touches it has ended, and the
//!   customer's last RunBatchJob was at least `spacing` ago (2 s: the guide's rule), counted
//!   from when that call settled (its retries included), and none is under way.
//! - **Failures.** A job that failed for good ends; every later job of its customer that
//!   touches what it touched is refused (never run out of order), naming it. Other jobs and
//!   customers go on.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

/// The limits of a fleet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Jobs holding a slot across customers.
    pub max_running: usize,
    /// Jobs holding a slot for one customer.
    pub per_customer: usize,
    /// The least time between two RunBatchJob calls of one customer.
    pub spacing: Duration,
}

/// Where a job stands, as pacing sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    /// Known, not holding a slot.
    Waiting,
    /// Holding a slot (uploading, or waiting for its turn).
    Holding,
    /// Holding a slot, run on the server.
    Running,
    /// Ended with every result delivered: its slot is free.
    Done,
    /// Ended with an error: its slot is free, and later jobs touching what it touches are
    /// refused.
    Failed,
}

impl JobState {
    fn ended(self) -> bool {
        matches!(self, JobState::Done | JobState::Failed)
    }
}

/// What a job asking for a slot or a turn is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Granted.
    Go,
    /// Not now: ask again when something changes, or at this instant (the spacing).
    Wait(Option<Instant>),
    /// Never: this earlier job of the customer, touching what this one touches, failed.
    Refused {
        /// The failed job's number.
        by: usize,
    },
}

#[derive(Debug)]
struct Job {
    touches: BTreeSet<String>,
    state: JobState,
}

#[derive(Debug, Default)]
struct Customer {
    jobs: Vec<Job>,
    holding: usize,
    /// When the customer's last RunBatchJob was granted, or settled once it has.
    last_run: Option<Instant>,
    /// The job whose RunBatchJob is under way (retries included): the next waits for it.
    submitting: Option<usize>,
}

/// Every customer's jobs and the slots they hold (see the module doc).
#[derive(Debug)]
pub struct Pacing<C> {
    limits: Limits,
    holding: usize,
    customers: BTreeMap<C, Customer>,
}

impl<C: Ord + Copy> Pacing<C> {
    /// No jobs yet.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits: Limits {
                max_running: limits.max_running.max(1),
                per_customer: limits.per_customer.max(1),
                spacing: limits.spacing,
            },
            holding: 0,
            customers: BTreeMap::new(),
        }
    }

    /// Job `number` of `customer`, touching `touches`, in `state` (`Done` for a job that
    /// ended in an earlier process). Numbers come in order per customer; a number past the
    /// next one leaves the gap as ended jobs touching nothing.
    pub fn add(&mut self, customer: C, number: usize, touches: BTreeSet<String>, state: JobState) {
        let jobs = &mut self.customers.entry(customer).or_default().jobs;
        while jobs.len() < number {
            jobs.push(Job {
                touches: BTreeSet::new(),
                state: JobState::Done,
            });
        }
        let job = Job { touches, state };
        match jobs.get_mut(number) {
            Some(slot) => *slot = job,
            None => jobs.push(job),
        }
    }

    /// The state of a job, if known.
    pub fn state(&self, customer: C, number: usize) -> Option<JobState> {
        Some(self.customers.get(&customer)?.jobs.get(number)?.state)
    }

    /// Slots held now, across customers.
    pub fn holding(&self) -> usize {
        self.holding
    }

    /// The earlier job of `customer` touching what job `number` touches that failed, if any.
    fn refused_by(&self, customer: &Customer, number: usize) -> Option<usize> {
        let touches = &customer.jobs.get(number)?.touches;
        (0..number).find(|&earlier| {
            let job = &customer.jobs[earlier];
            job.state == JobState::Failed && !job.touches.is_disjoint(touches)
        })
    }

    /// Takes a slot for job `number` of `customer` if it may have one now (see the module
    /// doc); `Go` at once for a job that already holds one.
    pub fn take_slot(&mut self, customer: C, number: usize) -> Answer {
        let limits = self.limits;
        let total = self.holding;
        let Some(entry) = self.customers.get(&customer) else {
            return Answer::Wait(None);
        };
        let Some(job) = entry.jobs.get(number) else {
            return Answer::Wait(None);
        };
        match job.state {
            JobState::Holding | JobState::Running => return Answer::Go,
            JobState::Waiting => {}
            JobState::Done | JobState::Failed => return Answer::Wait(None),
        }
        if let Some(by) = self.refused_by(entry, number) {
            return Answer::Refused { by };
        }
        let in_order = entry.jobs[..number]
            .iter()
            .all(|j| j.state != JobState::Waiting);
        if !in_order || total >= limits.max_running || entry.holding >= limits.per_customer {
            return Answer::Wait(None);
        }
        let Some(entry) = self.customers.get_mut(&customer) else {
            return Answer::Wait(None);
        };
        entry.jobs[number].state = JobState::Holding;
        entry.holding += 1;
        self.holding += 1;
        Answer::Go
    }

    /// Whether job `number` of `customer` (holding a slot) may be run at `now`; on `Go` it
    /// counts as running from `now`.
    pub fn take_turn(&mut self, customer: C, number: usize, now: Instant) -> Answer {
        let spacing = self.limits.spacing;
        let Some(entry) = self.customers.get(&customer) else {
            return Answer::Wait(None);
        };
        let Some(job) = entry.jobs.get(number) else {
            return Answer::Wait(None);
        };
        if job.state == JobState::Running {
            return Answer::Go;
        }
        if let Some(by) = self.refused_by(entry, number) {
            return Answer::Refused { by };
        }
        let touches = &job.touches;
        let blocked = entry.jobs.iter().enumerate().any(|(other, j)| {
            other != number
                && !j.touches.is_disjoint(touches)
                && (j.state == JobState::Running || (other < number && !j.state.ended()))
        });
        if blocked || entry.submitting.is_some_and(|other| other != number) {
            return Answer::Wait(None);
        }
        if let Some(last) = entry.last_run
            && now < last + spacing
        {
            return Answer::Wait(Some(last + spacing));
        }
        let Some(entry) = self.customers.get_mut(&customer) else {
            return Answer::Wait(None);
        };
        entry.last_run = Some(now);
        entry.submitting = Some(number);
        entry.jobs[number].state = JobState::Running;
        Answer::Go
    }

    /// The RunBatchJob of job `number` of `customer` settled at `now` (run, or failed for
    /// good after its retries): the customer's next turn is `spacing` after this, so a retry
    /// that lands late never comes within `spacing` of the next job's submission.
    pub fn submitted(&mut self, customer: C, number: usize, now: Instant) {
        if let Some(entry) = self.customers.get_mut(&customer)
            && entry.submitting == Some(number)
        {
            entry.submitting = None;
            entry.last_run = Some(now);
        }
    }

    /// Job `number` of `customer`, resumed after its RunBatchJob, counts as running (it
    /// holds its slot).
    pub fn mark_running(&mut self, customer: C, number: usize) {
        if let Some(job) = self
            .customers
            .get_mut(&customer)
            .and_then(|c| c.jobs.get_mut(number))
            && job.state == JobState::Holding
        {
            job.state = JobState::Running;
        }
    }

    /// Job `number` of `customer` ended (`ok`: every result delivered): its slot is free.
    pub fn end(&mut self, customer: C, number: usize, ok: bool) {
        let Some(entry) = self.customers.get_mut(&customer) else {
            return;
        };
        let Some(job) = entry.jobs.get_mut(number) else {
            return;
        };
        if matches!(job.state, JobState::Holding | JobState::Running) {
            entry.holding -= 1;
            self.holding -= 1;
        }
        if entry.submitting == Some(number) {
            entry.submitting = None;
        }
        job.state = if ok { JobState::Done } else { JobState::Failed };
    }
}
