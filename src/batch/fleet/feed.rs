//! A merged stream of (customer, operation) read once into a bounded buffer per customer and
//! cut into jobs as it goes (the rule is [`FleetRunner::from_stream`](super::FleetRunner::from_stream)'s);
//! on resume, the operations of unfinished jobs handed to them again.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use super::plan;
use super::shared::Shared;
use super::state::FleetJob;
use super::task;
use super::{Delivery, FleetEvent, MergedStream};
use crate::batch::OperationSource;
use crate::latest::services::MutateOperation;
use crate::{CustomerId, Error};

/// One customer of a merged stream: its buffer, and on resume what its jobs need again.
pub(super) struct Feed {
    /// Operations of the customer read so far (the next one's index).
    seen: u64,
    /// Operations in jobs before this process: skipped, or given to `refills`.
    consumed: u64,
    /// Every job's operations (first, the one after its last), for the temporary ids of
    /// skipped operations, and the one the next skipped operation is in.
    pub jobs: Vec<(u64, u64)>,
    job: usize,
    /// Unfinished jobs whose drivers read their operations again, in order: number, job,
    /// its operations read so far.
    pub refills: VecDeque<(usize, FleetJob, Vec<MutateOperation>)>,
    open: plan::OpenWork,
}

impl Feed {
    pub fn new(customer: CustomerId, consumed: u64) -> Self {
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
pub(super) struct Feeder {
    pub shared: Arc<Shared>,
    pub events: mpsc::Sender<Delivery>,
    pub feeds: BTreeMap<CustomerId, Feed>,
}

impl Feeder {
    pub async fn run(mut self, mut stream: MergedStream) -> Result<(), Error> {
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
                        // Its slot before the stream goes on (slots go in job order).
                        self.slot(customer, number).await;
                        task::spawn(
                            &self.shared,
                            &self.events,
                            customer,
                            number,
                            job,
                            OperationSource::from_vec(operations),
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
        let job = FleetJob {
            start,
            end,
            touches,
            state: None,
        };
        let number = self.shared.add_job(customer, job.clone()).await?;
        // The stream waits until the job may upload: the buffers stay bounded.
        self.slot(customer, number).await;
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
        task::spawn(
            &self.shared,
            &self.events,
            customer,
            number,
            job,
            OperationSource::from_vec(operations),
        );
        Ok(())
    }

    /// Waits for the job's slot, or for its refusal (an earlier overlapping job failed),
    /// which its task then reports.
    async fn slot(&self, customer: CustomerId, number: usize) {
        let _ = self.shared.slot(customer, number).await;
    }
}
