//! What a fleet must remember to carry on in another process: [`FleetState`], every
//! customer's plan and every job's driver state, and where it is saved ([`FleetSink`];
//! [`StateFolder`] on disk: the plan in one file, each job's state in one of its own).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::batch::files::{self, StateLock};
use crate::batch::state::required;
use crate::batch::{BatchState, Stage};
use crate::{CustomerId, Error};

/// One planned job and how far it got.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FleetJob {
    /// Its first operation in the customer's work.
    pub start: u64,
    /// The operation after its last.
    pub end: u64,
    /// The campaigns and ad groups it touches (`campaigns/1`, `adGroups/2`).
    pub touches: BTreeSet<String>,
    /// Its driver's state, once started.
    #[serde(deserialize_with = "required")]
    pub state: Option<BatchState>,
}

impl FleetJob {
    /// A planned job: operations `start..end` of its customer's work, the campaigns and ad
    /// groups it touches, its driver's state once started. For tools that write or repair a
    /// plan; a fleet plans its own.
    pub fn new(start: u64, end: u64, touches: BTreeSet<String>, state: Option<BatchState>) -> Self {
        Self {
            start,
            end,
            touches,
            state,
        }
    }

    pub(super) fn done(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.stage == Stage::Done)
    }
}

/// The whole fleet's state: every customer's plan and every job's driver state, as a
/// [`FleetSink`] saved it (the plan when it changes, a job's state after each of its
/// steps). A new process given it carries the fleet on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
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
    pub(super) fn consumed_of(&self, customer: CustomerId) -> u64 {
        self.consumed.get(&customer).copied().unwrap_or_else(|| {
            self.customers
                .get(&customer)
                .and_then(|jobs| jobs.last())
                .map_or(0, |job| job.end)
        })
    }
}

/// Where a fleet saves its state: its plan when it changes (planned, or a job cut from a
/// merged stream), and each job's driver state after every step of that job, so a save
/// costs one job's state, never the whole fleet's.
pub trait FleetSink: Send + 'static {
    /// Saves the plan: every customer's jobs and what is consumed. The job states in it are
    /// the ones saved so far (`None` for a job not started); a sink that keeps job states
    /// apart may ignore them.
    fn save_plan(&mut self, state: &FleetState) -> std::io::Result<()>;

    /// Saves the driver state of job `number` of `customer` (the newest replaces the last).
    fn save_job(
        &mut self,
        customer: CustomerId,
        number: usize,
        state: &BatchState,
    ) -> std::io::Result<()>;

    /// Whether a save blocks on I/O: then it runs on tokio's blocking threads, never on an
    /// async worker. `false` for a sink that only keeps the state in memory.
    fn blocking(&self) -> bool {
        true
    }
}

/// A fleet's state in a folder: [`open`](Self::open) locks it for the run (a second run on
/// it, in any process, is refused), [`load`](Self::load) reads what the last run saved. The
/// plan is `plan.json`, each job's driver state `jobs/CUSTOMER-NUMBER.json`, each written
/// durably (beside itself, fsynced, renamed, the folder fsynced) when it changes.
#[derive(Debug)]
pub struct StateFolder {
    folder: PathBuf,
    /// Job files of an earlier run in the folder are cleared at the first plan saved.
    planned: bool,
    _lock: StateLock,
}

/// The keys the plan and a job's state are saved under.
const PLAN: &str = "fleet_plan";
const JOB: &str = "batch_job";

/// The plan as saved: the state without the jobs' driver states.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Plan {
    customers: BTreeMap<CustomerId, Vec<PlannedJob>>,
    consumed: BTreeMap<CustomerId, u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlannedJob {
    start: u64,
    end: u64,
    touches: BTreeSet<String>,
}

impl StateFolder {
    /// The state folder at `folder` (made if missing), locked for this run through its
    /// file `lock`.
    pub fn open(folder: impl Into<PathBuf>) -> Result<Self, Error> {
        let folder = folder.into();
        std::fs::create_dir_all(folder.join("jobs")).map_err(|e| {
            Error::invalid(
                format!("fleet state folder {}", folder.display()),
                format!("cannot be made: {e}"),
            )
        })?;
        let lock = StateLock::take("batch state", &folder, &folder.join("lock"))?;
        Ok(Self {
            folder,
            planned: false,
            _lock: lock,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.folder
    }

    fn plan_path(&self) -> PathBuf {
        self.folder.join("plan.json")
    }

    fn job_path(&self, customer: CustomerId, number: usize) -> PathBuf {
        self.folder
            .join("jobs")
            .join(format!("{customer}-{number}.json"))
    }

    /// The state the last run saved, if it saved a plan; an error naming the file when one
    /// is not a whole state of this crate's version.
    pub fn load(&self) -> Result<Option<FleetState>, Error> {
        let path = self.plan_path();
        let Some(bytes) = files::read("batch state", &path)? else {
            return Ok(None);
        };
        let plan: Plan = files::decode("batch state", &path, PLAN, &bytes)?;
        let mut state = FleetState {
            customers: BTreeMap::new(),
            consumed: plan.consumed,
        };
        for (customer, jobs) in plan.customers {
            let mut loaded = Vec::with_capacity(jobs.len());
            for (number, job) in jobs.into_iter().enumerate() {
                let path = self.job_path(customer, number);
                let job_state: Option<BatchState> = files::read("batch state", &path)?
                    .map(|bytes| files::decode("batch state", &path, JOB, &bytes))
                    .transpose()?;
                if let Some(saved) = &job_state
                    && saved.customer_id != customer
                {
                    return Err(Error::invalid(
                        format!("batch state file {}", path.display()),
                        format!("holds customer {}, not {customer}", saved.customer_id),
                    ));
                }
                loaded.push(FleetJob {
                    start: job.start,
                    end: job.end,
                    touches: job.touches,
                    state: job_state,
                });
            }
            state.customers.insert(customer, loaded);
        }
        Ok(Some(state))
    }
}

impl FleetSink for StateFolder {
    fn save_plan(&mut self, state: &FleetState) -> std::io::Result<()> {
        if !self.planned {
            // A job file of an earlier run would be taken for this one's on resume.
            for (customer, jobs) in &state.customers {
                for (number, job) in jobs.iter().enumerate() {
                    if job.state.is_none() {
                        match std::fs::remove_file(self.job_path(*customer, number)) {
                            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                            _ => {}
                        }
                    }
                }
            }
            self.planned = true;
        }
        let plan = Plan {
            customers: state
                .customers
                .iter()
                .map(|(customer, jobs)| {
                    let jobs = jobs
                        .iter()
                        .map(|job| PlannedJob {
                            start: job.start,
                            end: job.end,
                            touches: job.touches.clone(),
                        })
                        .collect();
                    (*customer, jobs)
                })
                .collect(),
            consumed: state.consumed.clone(),
        };
        let path = self.plan_path();
        files::write_durably(&path, &files::encode(PLAN, &plan)).map_err(|e| named(&path, e))
    }

    fn save_job(
        &mut self,
        customer: CustomerId,
        number: usize,
        state: &BatchState,
    ) -> std::io::Result<()> {
        let path = self.job_path(customer, number);
        files::write_durably(&path, &files::encode(JOB, state)).map_err(|e| named(&path, e))
    }
}

/// `error` with the path it happened on.
fn named(path: &Path, error: std::io::Error) -> std::io::Error {
    std::io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}
