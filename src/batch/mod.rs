//! Batch jobs: [`BatchJobDriver`] takes one job of up to a million mixed operations from a
//! source, checks it, creates the job, uploads every operation exactly once, runs it, watches
//! it, and hands back one outcome per operation, in order; its small [`BatchState`], saved
//! after every step, lets another process carry on after a crash. [`FleetRunner`] runs many
//! such jobs for many customers, paced, each job's failure its own.
//!
//! Owns: the life of BatchJobService jobs (`driver`), their checks (`checks`, reusing
//! `mutate`'s validator), sources (`source`), upload (`upload`), the server's view of a job
//! (`job`), saved state (`state`) and its files (`files`: versioned, durable, locked), and
//! the fleet (`fleet/`). Does not own: the calls (the
//! service handles and the layer) or the retry rules (`retry`, whose one loop every wait
//! here runs on).
//!
//! Both are pollers: `poll` takes one step and says what happened, `until_done` runs to the
//! end, `into_stream` yields the events.
//!
//! ```no_run
//! # async fn demo(client: google_ads::GoogleAdsClient, operations: Vec<google_ads::latest::services::MutateOperation>) -> Result<(), google_ads::Error> {
//! use google_ads::batch::{BatchJobDriver, OperationSource, StateFile};
//!
//! // Locked for this run: a second run on job.json is refused.
//! let file = StateFile::open("job.json")?;
//! let driver = match file.load()? {
//!     Some(saved) => BatchJobDriver::resume(&client, saved, OperationSource::from_vec(operations)),
//!     None => BatchJobDriver::new(&client, "1234567890", OperationSource::from_vec(operations))?,
//! }
//! .with_state_sink(file);
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
mod driver;
pub(crate) mod files;
mod fleet;
mod job;
mod source;
pub(crate) mod state;
mod upload;

pub use driver::{BatchJobDriver, Event, Progress};
pub use fleet::{
    CustomerReport, CustomerWork, FleetEvent, FleetJob, FleetReport, FleetRunner, FleetSink,
    FleetState, JobReport, JobResult, StateFolder,
};
pub use job::{BatchOutcome, JobStatus, PollSchedule, ResultPage, job_statuses};
pub use source::OperationSource;
pub use state::{BatchState, Stage, StateFile, StateSink, Summary};

#[doc(hidden)]
pub use fleet::pacing as __pacing;
