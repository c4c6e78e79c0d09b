//! What a fleet must remember to carry on in another process: [`FleetState`], every
//! customer's plan and every job's driver state, and where it is saved ([`FleetSink`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::batch::{BatchState, FileSink, Stage};
use crate::{CustomerId, Error};

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
    pub(super) fn done(&self) -> bool {
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
    pub(super) fn consumed_of(&self, customer: CustomerId) -> u64 {
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

impl FleetSink for FileSink {
    fn save(&mut self, state: &FleetState) -> std::io::Result<()> {
        self.write(&state.to_json())
    }
}

impl FileSink {
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
