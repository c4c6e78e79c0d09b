//! The job as the server sees it, read with one GAQL query on `batch_job` (the same query
//! serves many jobs at once), and its results page by page.

use std::time::Duration;

use crate::latest::enums::batch_job_status_enum::BatchJobStatus;
use crate::latest::errors::GoogleAdsError;
use crate::latest::services::{
    BatchJobResult, ListBatchJobResultsRequest, MutateOperationResponse, SearchGoogleAdsRequest,
};
use crate::retry::{
    BackoffPolicy as _, ExponentialBackoff, FailedAttempt, GoogleRetry, RetryPolicy,
    RetryPolicyExt as _, google_backoff,
};
use crate::{CallOptions, CustomerId, Error, GoogleAdsClient};

/// A job's state on the server.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct JobStatus {
    /// The job's resource name.
    pub job: String,
    /// PENDING, RUNNING or DONE.
    pub status: BatchJobStatus,
    /// Operations the job holds.
    pub operation_count: u64,
    /// Operations executed so far (once running).
    pub executed: u64,
    /// The server's estimate of the part done, 0 to 1 (once running).
    pub estimated_completion_ratio: f64,
    /// The token for the next upload (while pending).
    pub next_add_sequence_token: Option<String>,
    /// The job's long-running operation (once running).
    pub long_running_operation: Option<String>,
}

/// The state of each of `jobs` (of one customer), in one GAQL query.
pub async fn job_statuses(
    client: &GoogleAdsClient,
    customer: CustomerId,
    jobs: &[&str],
) -> Result<Vec<JobStatus>, Error> {
    let names: Vec<String> = jobs.iter().map(|j| format!("'{j}'")).collect();
    let query = format!(
        "SELECT batch_job.resource_name, batch_job.status, batch_job.next_add_sequence_token, \
         batch_job.long_running_operation, batch_job.metadata.operation_count, \
         batch_job.metadata.executed_operation_count, \
         batch_job.metadata.estimated_completion_ratio \
         FROM batch_job WHERE batch_job.resource_name IN ({})",
        names.join(", ")
    );
    let response = client
        .google_ads()
        .search(SearchGoogleAdsRequest {
            customer_id: customer.to_string(),
            query,
            ..Default::default()
        })
        .await?;
    Ok(response
        .results
        .into_iter()
        .filter_map(|row| {
            let job = row.batch_job?;
            let metadata = job.metadata.unwrap_or_default();
            let count = |n: Option<i64>| n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
            Some(JobStatus {
                job: job.resource_name,
                status: BatchJobStatus::try_from(job.status).unwrap_or_default(),
                operation_count: count(metadata.operation_count),
                executed: count(metadata.executed_operation_count),
                estimated_completion_ratio: metadata.estimated_completion_ratio.unwrap_or(0.0),
                next_add_sequence_token: job.next_add_sequence_token.filter(|t| !t.is_empty()),
                long_running_operation: job.long_running_operation.filter(|o| !o.is_empty()),
            })
        })
        .collect())
}

/// The state of one job; an error when the server does not know it.
pub(crate) async fn job_status(
    client: &GoogleAdsClient,
    customer: CustomerId,
    job: &str,
) -> Result<JobStatus, Error> {
    job_statuses(client, customer, &[job])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| not_found(job))
}

/// The error for a job the server no longer returns (removed by someone else): NOT_FOUND,
/// which no retry policy sends again.
pub(crate) fn not_found(job: &str) -> Error {
    Error::from(tonic::Status::not_found(format!(
        "batch job {job} is not found on the server (removed by someone else?)"
    )))
}

/// When to read a running job again: 30 s x1.33 per poll (30, 40, 53, 70 s...), at most
/// 10 minutes apart, for at most 24 hours in all (the MutateJobService guide's schedule).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PollSchedule {
    backoff: ExponentialBackoff,
    max_wait: Duration,
}

impl Default for PollSchedule {
    fn default() -> Self {
        Self {
            backoff: ExponentialBackoff::new(
                Duration::from_secs(30),
                1.33,
                Duration::from_secs(600),
            ),
            max_wait: Duration::from_secs(24 * 3600),
        }
    }
}

impl PollSchedule {
    /// Every 100 ms, for this crate's fake: the guide's 30 s would make a job the fake runs
    /// in milliseconds a 30 s wait. Never for the real API, whose guide asks for the default.
    pub fn local() -> Self {
        Self::default().with_backoff(Duration::from_millis(100), 1.0, Duration::from_millis(100))
    }

    /// The schedule of work left on the default: the guide's, or [`local`](Self::local) once
    /// `client` has been answered by the fake ([`GoogleAdsClient::answered_as_fake`](crate::GoogleAdsClient::answered_as_fake)).
    pub(crate) fn default_for(client: &crate::GoogleAdsClient) -> Self {
        if client.answered_as_fake() {
            Self::local()
        } else {
            Self::default()
        }
    }

    /// The first wait, the growth per poll and the longest wait between two polls.
    pub fn with_backoff(mut self, initial: Duration, multiplier: f64, max_delay: Duration) -> Self {
        self.backoff = ExponentialBackoff::new(initial, multiplier, max_delay);
        self
    }

    /// How long to wait for the job in all before giving up with an error (the job keeps
    /// running; cancel it if it should not).
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The longest wait in all.
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// The wait before poll `n` (0 for the first).
    pub fn delay(&self, n: u32) -> Duration {
        self.backoff.unjittered(n.saturating_add(1))
    }
}

/// Results pages are read again on their own when the server fails them: INTERNAL and
/// UNAVAILABLE on large jobs are a known server behaviour (API notes, section 3).
#[derive(Debug)]
struct PagePolicy(GoogleRetry);

impl RetryPolicy for PagePolicy {
    fn retry_after(&self, attempt: &FailedAttempt<'_>) -> Option<Duration> {
        if attempt.error.code() == Some(tonic::Code::Internal) {
            return Some(google_backoff().delay(attempt.attempt));
        }
        self.0.retry_after(attempt)
    }

    fn server_delay_cap(&self) -> Duration {
        self.0.server_delay_cap()
    }
}

/// One operation's outcome in a job: its index (in upload order: the caller's index) and
/// its result, or the errors it failed with. An operation the results did not mention gets
/// an error saying so.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BatchOutcome {
    /// The operation's index in the job.
    pub index: u64,
    /// Its result or errors.
    pub outcome: Result<MutateOperationResponse, Vec<GoogleAdsError>>,
}

/// A page of results: operations `first` to `first + outcomes.len()`, in order.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ResultPage {
    /// The index of the first outcome.
    pub first: u64,
    /// One per operation, in order, without gaps.
    pub outcomes: Vec<BatchOutcome>,
}

/// A raw page read, and the token of the page after it (`None`: the last).
pub(crate) struct RawPage {
    pub results: Vec<BatchJobResult>,
    pub next_page_token: Option<String>,
}

/// One ListBatchJobResults page, retried on its own when the server fails it.
pub(crate) async fn results_page(
    client: &GoogleAdsClient,
    job: &str,
    page_token: Option<&str>,
    page_size: i32,
    content: i32,
) -> Result<RawPage, Error> {
    let request = CallOptions::new()
        .retry_policy(PagePolicy(GoogleRetry::default()).with_attempt_limit(8))
        .request(ListBatchJobResultsRequest {
            resource_name: job.to_owned(),
            page_token: page_token.unwrap_or_default().to_owned(),
            page_size,
            response_content_type: content,
        });
    let response = client.batch_job().list_batch_job_results(request).await?;
    Ok(RawPage {
        results: response.results,
        next_page_token: Some(response.next_page_token).filter(|t| !t.is_empty()),
    })
}

/// The note standing in for an operation the results did not mention.
pub(crate) fn missing() -> Vec<GoogleAdsError> {
    vec![GoogleAdsError {
        message: "the job's results do not mention this operation".into(),
        ..Default::default()
    }]
}

/// `results` (a page of `job`, whose operations are `0..total`) as outcomes from index
/// `first` on: each result at its `operation_index`, a placeholder for any index skipped.
/// Returns the outcomes and the index after the last. An index at or past the total, or
/// lower than one already placed (a page repeated, a server bug), is an error giving both
/// numbers: the outcomes must stay one per operation, in order.
pub(crate) fn outcomes(
    job: &str,
    first: u64,
    total: u64,
    results: Vec<BatchJobResult>,
) -> Result<(Vec<BatchOutcome>, u64), Error> {
    let mut out = Vec::with_capacity(results.len());
    let mut next = first;
    for result in results {
        let bad = |rule: String| {
            Error::stopped(
                format!("ListBatchJobResults of {job}: {rule}; the results are not delivered"),
                false,
            )
        };
        let index = u64::try_from(result.operation_index).map_err(|_| {
            bad(format!(
                "operation_index {} is negative",
                result.operation_index
            ))
        })?;
        if index >= total {
            return Err(bad(format!(
                "operation_index {index} is past the job's {total} operations"
            )));
        }
        if index < next {
            return Err(bad(format!(
                "operation_index {index} comes after index {} was already placed",
                next - 1
            )));
        }
        // Placeholders only up to a real index below the total: never past it.
        while next < index {
            out.push(BatchOutcome {
                index: next,
                outcome: Err(missing()),
            });
            next += 1;
        }
        let failed = result.status.as_ref().filter(|s| s.code != 0);
        let outcome = match failed {
            None => Ok(result.mutate_operation_response.unwrap_or_default()),
            Some(status) => {
                let errors: Vec<GoogleAdsError> = crate::failure::from_rpc_status(status)
                    .into_iter()
                    .flat_map(|f| f.errors)
                    .collect();
                if errors.is_empty() {
                    Err(vec![GoogleAdsError {
                        message: status.message.clone(),
                        ..Default::default()
                    }])
                } else {
                    Err(errors)
                }
            }
        };
        out.push(BatchOutcome { index, outcome });
        next = index + 1;
    }
    Ok((out, next))
}
