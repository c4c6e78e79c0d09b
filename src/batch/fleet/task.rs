//! One job's life in a fleet: a slot in its customer's order, then every stage through the
//! job's own [`BatchJobDriver`] (its Running stage fed by the fleet's watcher), its turn before
//! RunBatchJob, and its end: done with its summary, or failed with its error, which frees its
//! slot and refuses the later jobs of the customer that touch what it touches.

use std::sync::Arc;

use futures_util::FutureExt as _;
use tokio::sync::{mpsc, oneshot};

use super::shared::Shared;
use super::state::FleetJob;
use super::{Delivery, FleetEvent};
use crate::batch::{BatchJobDriver, BatchState, Event, OperationSource, Stage, StateSink, Summary};
use crate::{CustomerId, Error};

/// Starts job `number` of `customer` (its operations from `source`) in a task of the fleet's
/// own; the task takes its slot in the customer's job order.
pub(super) fn spawn(
    shared: &Arc<Shared>,
    events: &mpsc::Sender<Delivery>,
    customer: CustomerId,
    number: usize,
    job: FleetJob,
    source: OperationSource,
) {
    let task = JobTask {
        shared: shared.clone(),
        events: events.clone(),
        customer,
        number,
        job,
        source,
    };
    shared.spawn(task.run());
}

/// One job of the fleet, ready to run in a task.
struct JobTask {
    shared: Arc<Shared>,
    events: mpsc::Sender<Delivery>,
    customer: CustomerId,
    number: usize,
    job: FleetJob,
    source: OperationSource,
}

/// Saves a job's driver state into the fleet's.
struct JobSink {
    shared: Arc<Shared>,
    customer: CustomerId,
    number: usize,
}

impl StateSink for JobSink {
    fn save(&mut self, state: &BatchState) -> std::io::Result<()> {
        self.shared.save_job(self.customer, self.number, state)
    }

    fn blocking(&self) -> bool {
        self.shared.sink_blocks()
    }
}

fn gone() -> Error {
    Error::stopped("the fleet was dropped", false)
}

impl JobTask {
    /// Runs the job to its end and says how it ended; an error that stops every account
    /// goes out as the fleet's error.
    async fn run(self) {
        let (shared, events) = (self.shared.clone(), self.events.clone());
        let (customer, number) = (self.customer, self.number);
        // A panic in a job (a bug) fails that job, never the others waiting on its slot.
        let driven = std::panic::AssertUnwindSafe(self.drive())
            .catch_unwind()
            .await;
        let driven = driven.unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Error::stopped(
                format!("the job's task panicked: {what}"),
                false,
            ))
        });
        shared.end(customer, number, driven.is_ok());
        let ended = match driven {
            Ok(summary) => Ok(FleetEvent::JobDone {
                customer,
                job: number,
                summary,
            }),
            Err(error) if shared.stops_everything(&error) => Err(error),
            Err(error) => {
                tracing::warn!(%customer, job = number, %error, "job failed");
                Ok(FleetEvent::JobFailed {
                    customer,
                    job: number,
                    error,
                })
            }
        };
        let _ = events.send((ended, None)).await;
        drop(events);
        shared.watcher.wake();
    }

    async fn drive(self) -> Result<Summary, Error> {
        let JobTask {
            shared,
            events,
            customer,
            number,
            job,
            source,
        } = self;
        shared.slot(customer, number).await?;
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
        .with_state_sink(sink);
        if let Some(schedule) = settings.schedule {
            driver = driver.with_poll_schedule(schedule);
        }
        if matches!(driver.state().stage, Stage::Running | Stage::Results) {
            // Run in an earlier process: it holds its place among the running jobs.
            shared.mark_running(customer, number);
        }
        let send = |event: FleetEvent| {
            let events = events.clone();
            async move { events.send((Ok(event), None)).await.map_err(|_| gone()) }
        };
        let mut watched: Option<String> = None;
        let result = loop {
            let starting = driver.state().stage == Stage::Starting;
            match driver.state().stage {
                Stage::Starting => {
                    if let Err(error) = shared.turn(customer, number).await {
                        break Err(error);
                    }
                }
                Stage::Running if watched.is_none() => {
                    let name = driver.state().job.clone().unwrap_or_default();
                    driver.set_status_feed(shared.watcher.register(customer, &name));
                    watched = Some(name);
                }
                _ => {}
            }
            let polled = driver.poll().await;
            if starting {
                // Its RunBatchJob settled, retries and all: the customer's next may go.
                shared.submitted(customer, number);
            }
            let event = match polled {
                Ok(event) => event,
                Err(error) => break Err(error),
            };
            match event {
                Event::Results(mut page) => {
                    // Indices of the customer's work, not of the job.
                    page.first += job.start;
                    for outcome in &mut page.outcomes {
                        outcome.index += job.start;
                    }
                    let (ack, acknowledged) = oneshot::channel();
                    let delivery = FleetEvent::Results {
                        customer,
                        job: number,
                        page,
                    };
                    if events.send((Ok(delivery), Some(ack))).await.is_err() {
                        break Err(gone());
                    }
                    // Delivered once the caller asks for the next event.
                    if acknowledged.await.is_err() {
                        break Err(gone());
                    }
                }
                Event::Done(summary) => break Ok(summary),
                event => {
                    if let Err(error) = send(FleetEvent::Job {
                        customer,
                        job: number,
                        event,
                    })
                    .await
                    {
                        break Err(error);
                    }
                }
            }
        };
        if let Some(name) = watched {
            shared.watcher.unregister(customer, &name);
        }
        result
    }
}
