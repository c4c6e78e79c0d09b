//! Partial failures mapped back to the operations that caused them.
//!
//! With `partial_failure: true`, a mutate answers OK with a result per operation (empty for the
//! failed ones) and a `partial_failure_error` whose GoogleAdsFailure errors name the operation
//! in their field path (`operations[5]...`). [`MutateResponse::outcomes`] lines both up:
//! `Ok(result)` or `Err(errors)` per operation sent, and never calls an operation a success
//! unless the server gave it a result.
//!
//! ```no_run
//! # async fn demo(client: google_ads::GoogleAdsClient, operations: Vec<google_ads::latest::services::CampaignOperation>) -> Result<(), google_ads::Error> {
//! use google_ads::MutateResponse as _;
//! use google_ads::latest::services::MutateCampaignsRequest;
//!
//! let response = client
//!     .campaign()
//!     .mutate_campaigns(MutateCampaignsRequest {
//!         customer_id: "1234567890".into(),
//!         operations,
//!         partial_failure: true,
//!         ..Default::default()
//!     })
//!     .await?;
//! for (i, outcome) in response.outcomes().into_iter().enumerate() {
//!     match outcome {
//!         Ok(result) => println!("operation {i}: {}", result.resource_name),
//!         Err(errors) => println!("operation {i} failed: {}", errors[0].message),
//!     }
//! }
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use super::failure;
use crate::latest::errors::GoogleAdsError;
use crate::latest::services::{BatchJobResult, MutateOperationResponse};

/// A mutate response that can carry a partial failure: `MutateGoogleAdsResponse` and every
/// per-service `Mutate...Response` / `Upload...Response` (implemented for all of them, from
/// the protos).
pub trait MutateResponse {
    /// The per-operation result type (its default value is an empty result: what the server
    /// leaves at the index of a failed operation).
    type Result: Default + PartialEq;

    /// The `partial_failure_error` field.
    fn partial_failure_error(&self) -> Option<&crate::rpc::Status>;

    /// One result per operation sent, in order.
    fn results(&self) -> &[Self::Result];

    /// The errors, grouped by the index of the operation they are about.
    fn partial_failure(&self) -> PartialFailure {
        self.partial_failure_error()
            .map(PartialFailure::from_status)
            .unwrap_or_default()
    }

    /// One entry per operation sent: its result, or the errors it failed with. See
    /// [`PartialFailure::outcomes`] for how results the failure does not name are judged.
    fn outcomes(&self) -> Vec<Result<&Self::Result, Vec<GoogleAdsError>>> {
        self.partial_failure().outcomes(self.results())
    }
}

/// Errors grouped by operation index.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PartialFailure {
    by_operation: BTreeMap<usize, Vec<GoogleAdsError>>,
    unattributed: Vec<GoogleAdsError>,
    message: Option<String>,
}

impl PartialFailure {
    /// Groups `errors` by the operation index in their field paths.
    pub fn from_errors(errors: impl IntoIterator<Item = GoogleAdsError>) -> Self {
        let mut out = Self::default();
        for error in errors {
            out.push(failure::operation_index(&error), error);
        }
        out
    }

    /// The errors of a `google.rpc.Status` whose details hold GoogleAdsFailures (a
    /// `partial_failure_error`). A non-OK status with no readable failure keeps its message.
    pub fn from_status(status: &crate::rpc::Status) -> Self {
        let mut out = Self::from_errors(
            failure::from_rpc_status(status)
                .into_iter()
                .flat_map(|f| f.errors),
        );
        if status.code != 0 && out.is_empty() {
            out.message = Some(status.message.clone());
        }
        out
    }

    /// The failed results of a batch job, by their `operation_index` (an index into every
    /// operation the job was given, across all uploads).
    pub fn from_batch_results(results: &[BatchJobResult]) -> Self {
        let mut out = Self::default();
        for result in results {
            let Some(status) = result.status.as_ref().filter(|s| s.code != 0) else {
                continue;
            };
            let index = usize::try_from(result.operation_index).ok();
            let errors: Vec<_> = failure::from_rpc_status(status)
                .into_iter()
                .flat_map(|f| f.errors)
                .collect();
            if errors.is_empty() {
                // A failed status without a readable failure still marks its operation.
                out.push(
                    index,
                    GoogleAdsError {
                        message: status.message.clone(),
                        ..Default::default()
                    },
                );
            }
            for error in errors {
                out.push(index, error);
            }
        }
        out
    }

    /// The outcome of each batch-job result, by operation index.
    pub fn batch_outcomes(
        results: &[BatchJobResult],
    ) -> BTreeMap<usize, Result<Option<&MutateOperationResponse>, Vec<GoogleAdsError>>> {
        let failure = Self::from_batch_results(results);
        results
            .iter()
            .filter_map(|r| Some((usize::try_from(r.operation_index).ok()?, r)))
            .map(|(i, r)| match failure.errors_for(i) {
                [] => (i, Ok(r.mutate_operation_response.as_ref())),
                errors => (i, Err(errors.to_vec())),
            })
            .collect()
    }

    /// Lines `results` (one per operation sent, empty where an operation failed) up with these
    /// errors: `Err` for every operation an error names; and, when the request partly failed,
    /// `Err` for every *empty* result too, with the errors no operation claims (or the
    /// failure's message, or a note that the server gave neither result nor error). An
    /// unreadable failure (undecodable details, errors without an operation index) therefore
    /// never lets a failed operation pass as committed. A result with content (an action's
    /// empty result message counts: its oneof is set) is `Ok`.
    pub fn outcomes<'a, R: Default + PartialEq>(
        &self,
        results: &'a [R],
    ) -> Vec<Result<&'a R, Vec<GoogleAdsError>>> {
        let empty = R::default();
        let mut unclaimed: Option<Vec<GoogleAdsError>> = None;
        results
            .iter()
            .enumerate()
            .map(|(i, result)| {
                if let Some(errors) = self.by_operation.get(&i) {
                    return Err(errors.clone());
                }
                if self.is_empty() || *result != empty {
                    return Ok(result);
                }
                Err(unclaimed
                    .get_or_insert_with(|| self.unclaimed_errors())
                    .clone())
            })
            .collect()
    }

    /// What an empty result no error names failed with: the unattributed errors, else the
    /// status message, else a note.
    fn unclaimed_errors(&self) -> Vec<GoogleAdsError> {
        if !self.unattributed.is_empty() {
            return self.unattributed.clone();
        }
        let message = match &self.message {
            Some(message) => {
                format!("the request partly failed and this operation has no result: {message}")
            }
            None => {
                "the request partly failed and this operation has no result, but no error names it"
                    .to_owned()
            }
        };
        vec![GoogleAdsError {
            message,
            ..Default::default()
        }]
    }

    fn push(&mut self, index: Option<usize>, error: GoogleAdsError) {
        match index {
            Some(i) => self.by_operation.entry(i).or_default().push(error),
            None => self.unattributed.push(error),
        }
    }

    /// Whether nothing failed.
    pub fn is_empty(&self) -> bool {
        self.by_operation.is_empty() && self.unattributed.is_empty() && self.message.is_none()
    }

    /// The indices of the operations that failed, ascending.
    pub fn failed_indices(&self) -> Vec<usize> {
        self.by_operation.keys().copied().collect()
    }

    /// The errors of operation `index` (empty if it succeeded).
    pub fn errors_for(&self, index: usize) -> &[GoogleAdsError] {
        self.by_operation.get(&index).map_or(&[], Vec::as_slice)
    }

    /// Every error, by operation index.
    pub fn by_operation(&self) -> &BTreeMap<usize, Vec<GoogleAdsError>> {
        &self.by_operation
    }

    /// Errors whose path names no operation (about the request as a whole).
    pub fn unattributed(&self) -> &[GoogleAdsError] {
        &self.unattributed
    }

    /// The status message, when the status failed but carried no readable GoogleAdsFailure.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

/// A [`MutateResponse`] impl for every response of the generated table.
macro_rules! mutate_responses {
    ($($response:ident $field:ident $result:ident;)*) => {
        $(
            impl MutateResponse for crate::latest::services::$response {
                type Result = crate::latest::services::$result;
                fn partial_failure_error(&self) -> Option<&crate::rpc::Status> {
                    self.partial_failure_error.as_ref()
                }
                fn results(&self) -> &[Self::Result] {
                    &self.$field
                }
            }
        )*
    };
}
crate::generated::mutate_response_table!(mutate_responses);
