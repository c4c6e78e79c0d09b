//! The watcher: reads a fleet's running jobs, each on the guide's schedule counted from its
//! own start, and when any job of a customer is due, all of that customer's running jobs in one
//! GAQL query. Each job's driver gets every read of it ([`StatusRead`]) and applies its own
//! rules to it (the max wait, a job gone, a read failing for good), as a driver alone does
//! with its own query.

use std::collections::BTreeMap;
use std::sync::Mutex;

use tokio::sync::{Notify, mpsc, watch};
use tokio::time::Instant;

use super::{Delivery, lock};
use crate::batch::driver::StatusRead;
use crate::batch::{PollSchedule, job_statuses};
use crate::{CustomerId, GoogleAdsClient};

/// The running jobs, per customer, each with where its reads go.
#[derive(Default)]
pub(super) struct Watcher {
    jobs: Mutex<BTreeMap<CustomerId, BTreeMap<String, watch::Sender<StatusRead>>>>,
    changed: Notify,
}

impl Watcher {
    /// Starts reading `job` of `customer`; its reads arrive on the receiver.
    pub fn register(&self, customer: CustomerId, job: &str) -> watch::Receiver<StatusRead> {
        let (sender, receiver) = watch::channel(StatusRead::Unread);
        lock(&self.jobs)
            .entry(customer)
            .or_default()
            .insert(job.to_owned(), sender);
        self.changed.notify_waiters();
        receiver
    }

    /// Stops reading `job`.
    pub fn unregister(&self, customer: CustomerId, job: &str) {
        let mut jobs = lock(&self.jobs);
        if let Some(of_customer) = jobs.get_mut(&customer) {
            of_customer.remove(job);
            if of_customer.is_empty() {
                jobs.remove(&customer);
            }
        }
    }

    /// Wakes the watcher to see whether the fleet still has senders (see [`run`](Self::run)).
    pub fn wake(&self) {
        self.changed.notify_waiters();
    }

    /// Reads the running jobs until the last strong sender of the fleet's events is gone (the
    /// fleet's event channel closes when the last job's task ends, so `Done` comes at once,
    /// not a poll later).
    pub async fn run(
        &self,
        client: &GoogleAdsClient,
        given: Option<PollSchedule>,
        events: mpsc::WeakSender<Delivery>,
    ) {
        let schedule = || given.unwrap_or_else(|| PollSchedule::default_for(client));
        // Per customer, per running job: its polls so far and when the next is due.
        let mut due: BTreeMap<CustomerId, BTreeMap<String, (u32, Instant)>> = BTreeMap::new();
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if events.upgrade().is_none_or(|sender| sender.is_closed()) {
                return;
            }
            let first = Instant::now() + schedule().delay(0);
            let running: Vec<(CustomerId, Vec<String>)> = lock(&self.jobs)
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
                let read = job_statuses(client, *customer, &names).await;
                {
                    let watched = lock(&self.jobs);
                    let Some(senders) = watched.get(customer) else {
                        continue;
                    };
                    match read {
                        Ok(statuses) => {
                            for (job, sender) in senders {
                                let found = statuses.iter().find(|s| s.job == *job).cloned();
                                let _ =
                                    sender.send(found.map_or(StatusRead::Absent, StatusRead::Read));
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, %customer, "could not read the running jobs");
                            for sender in senders.values() {
                                let _ = sender.send(StatusRead::Failed(error.clone()));
                            }
                        }
                    }
                }
                let read = Instant::now();
                for (polls, at) in jobs.values_mut().filter(|(_, at)| *at <= now) {
                    *polls += 1;
                    *at = read + schedule().delay(*polls);
                }
            }
        }
    }
}
