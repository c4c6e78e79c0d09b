//! The fake's batch jobs as data: each job's operations, results and state, the jobs of the
//! server, and the record of every run. The services over them are in `batch`.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prost::Message;

use super::failure::AdsError;
use super::mutate::OpResult;
use crate::latest::enums::batch_job_status_enum::BatchJobStatus;
use crate::latest::resources::BatchJob;
use crate::latest::services;

/// The largest AddBatchJobOperations request the service takes, in bytes.
pub(super) const MAX_ADD_REQUEST_BYTES: usize = 10_484_504;
/// Operations that only GoogleAdsService.Mutate accepts.
pub(super) const ATOMIC_ONLY: &[&str] = &[
    "campaign_conversion_goal_operation",
    "conversion_goal_campaign_config_operation",
    "custom_conversion_goal_operation",
    "customer_conversion_goal_operation",
    "customer_operation",
];
/// Actions a job fails with INTERNAL_ERROR, as users report of the real service.
pub(super) const ACTIONS: &[&str] = &["book_campaigns_operation", "quote_campaigns_operation"];

pub(crate) struct Job {
    pub(super) customer_id: String,
    pub(super) resource: BatchJob,
    pub(super) operations: Vec<services::MutateOperation>,
    /// (oneof field, outcome) per operation once executed, in upload order.
    pub(super) results: Vec<(String, OpResult)>,
    pub(super) cancelled: bool,
    /// The campaigns and ad groups (`campaigns/1`, `adGroups/2`) its operations name, read
    /// when it starts running.
    pub(super) touches: HashSet<String>,
}

/// The campaigns and ad groups of `customer_id` that `operations` name with real ids: in
/// their names (`adGroups/2`), or as the parent of a composite one (`adGroupCriteria/2~5`).
pub(super) fn touches(
    customer_id: &str,
    operations: &[services::MutateOperation],
) -> HashSet<String> {
    let prefix = format!("customers/{customer_id}/");
    let mut out = HashSet::new();
    for operation in operations {
        let bytes = operation.encode_to_vec();
        let text = String::from_utf8_lossy(&bytes);
        for (at, _) in text.match_indices(&prefix) {
            let rest = &text[at + prefix.len()..];
            let Some((collection, id)) = rest.split_once('/') else {
                continue;
            };
            let kind = match collection {
                "campaigns" | "campaignCriteria" | "campaignAssets" => "campaigns",
                "adGroups" | "adGroupCriteria" | "adGroupAds" | "adGroupAssets" => "adGroups",
                _ => continue,
            };
            let id: String = id.chars().take_while(char::is_ascii_digit).collect();
            if !id.is_empty() {
                out.insert(format!("{kind}/{id}"));
            }
        }
    }
    out
}

#[derive(Default)]
pub(crate) struct Jobs {
    pub(super) jobs: HashMap<String, Job>,
    /// Long-running operation name -> job name.
    pub(super) operations: HashMap<String, String>,
    pub(super) next_token: u64,
    /// Every job run, in the order they were run; kept when a job is removed.
    pub(super) runs: Vec<BatchJobRun>,
}

/// One batch job's run as the fake saw it, on tokio's clock since the fake started: when
/// RunBatchJob was accepted, and when the job ended (done, cancelled and done, or removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchJobRun {
    /// The job's resource name.
    pub job: String,
    /// Its customer.
    pub customer_id: String,
    /// The campaigns and ad groups its operations name with real ids (`campaigns/1`,
    /// `adGroups/2`), read when it started.
    pub touches: Vec<String>,
    /// When it started running.
    pub started: Duration,
    /// When it ended, if it has.
    pub ended: Option<Duration>,
    /// Whether someone removed it (its end is then the removal).
    pub removed: bool,
}

impl Jobs {
    /// Every job run so far.
    pub(crate) fn runs(&self) -> Vec<BatchJobRun> {
        self.runs.clone()
    }

    pub(super) fn ended(&mut self, job: &str, at: Duration) {
        if let Some(run) = self
            .runs
            .iter_mut()
            .rev()
            .find(|r| r.job == job && r.ended.is_none())
        {
            run.ended = Some(at);
        }
    }

    /// The operations `job` holds.
    pub(crate) fn operations_of(&self, job: &str) -> Option<Vec<services::MutateOperation>> {
        self.jobs.get(job).map(|j| j.operations.clone())
    }

    /// Whether `request` may add its operations to its job now: the job exists and is
    /// pending, the request is neither too large nor empty, and (with `check_token`) its
    /// sequence token is the one expected.
    pub(super) fn check_add(
        &self,
        request: &services::AddBatchJobOperationsRequest,
        size: usize,
        check_token: bool,
    ) -> Result<(), AdsError> {
        let Some(job) = self.jobs.get(&request.resource_name) else {
            return Err(not_found(&request.resource_name).at("resource_name"));
        };
        if job.resource.status != BatchJobStatus::Pending as i32 {
            return Err(batch_error(
                "CANNOT_MODIFY_JOB_AFTER_JOB_STARTS_RUNNING",
                "The job has started running: operations can no longer be added.",
            ));
        }
        if size > MAX_ADD_REQUEST_BYTES {
            return Err(batch_error(
                "REQUEST_TOO_LARGE",
                "The request is larger than 10,484,504 bytes.",
            )
            .trigger(size.to_string()));
        }
        if request.mutate_operations.is_empty() {
            return Err(
                batch_error("EMPTY_OPERATIONS", "The request holds no operations.")
                    .at("mutate_operations"),
            );
        }
        // The first call sends no token; each later one the token the previous call returned.
        let expected = if job.operations.is_empty() {
            ""
        } else {
            job.resource
                .next_add_sequence_token
                .as_deref()
                .unwrap_or_default()
        };
        if check_token && request.sequence_token != expected {
            return Err(batch_error(
                "INVALID_SEQUENCE_TOKEN",
                "The sequence token is not the one the previous call returned.",
            )
            .at("sequence_token")
            .trigger(request.sequence_token.clone()));
        }
        Ok(())
    }

    /// Adds `request`'s operations to its job after [`check_add`](Self::check_add): the total
    /// the job holds, its next sequence token, and the job to publish.
    pub(super) fn add(
        &mut self,
        request: services::AddBatchJobOperationsRequest,
        size: usize,
        check_token: bool,
    ) -> Result<(i64, String, (String, BatchJob)), AdsError> {
        self.check_add(&request, size, check_token)?;
        let next = self.token();
        let Some(job) = self.jobs.get_mut(&request.resource_name) else {
            return Err(not_found(&request.resource_name).at("resource_name"));
        };
        job.operations.extend(request.mutate_operations);
        job.resource.next_add_sequence_token = Some(next.clone());
        let total = job.operations.len() as i64;
        if let Some(m) = job.resource.metadata.as_mut() {
            m.operation_count = Some(total);
        }
        Ok((total, next, job.snapshot()))
    }

    pub(super) fn token(&mut self) -> String {
        self.next_token += 1;
        // Opaque like the real ones; a client must echo it, never compute it.
        format!(
            "{:016x}",
            self.next_token.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        )
    }
}

/// "yyyy-mm-dd hh:mm:ss" in UTC, as BatchJobMetadata writes times. Hand-written: one format
/// does not warrant a date-time dependency.
pub(super) fn now_string() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (year, month, day) = super::date::civil(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub(super) fn batch_error(name: &'static str, message: &str) -> AdsError {
    AdsError::new("batch_job_error", name, message)
}

pub(super) fn not_found(name: &str) -> AdsError {
    AdsError::new(
        "mutate_error",
        "RESOURCE_NOT_FOUND",
        "The requested resource was not found.",
    )
    .trigger(name)
}

impl Job {
    /// What `publish` needs, taken while the jobs lock is held.
    pub(super) fn snapshot(&self) -> (String, BatchJob) {
        (self.customer_id.clone(), self.resource.clone())
    }
}
