//! [`Operations`] (building a request's operations, temporary names included) and
//! [`MutateRequest`] (checking, grouping, splitting and sending them through
//! GoogleAdsService.Mutate, results mapped back to the caller's order).

use prost_types::FieldMask;

use super::mask::field_mask;
use super::members::{self, Create, MutateResource, RemovableName, Update};
use super::names::TempNames;
use super::order;
use super::validate::{MAX_OPERATIONS_PER_REQUEST, Validator};
use crate::customer_id::IntoCustomerId;
use crate::error::failure;
use crate::latest::enums::response_content_type_enum::ResponseContentType;
use crate::latest::errors::GoogleAdsError;
use crate::latest::services::{MutateGoogleAdsRequest, MutateOperation, MutateOperationResponse};
use crate::{CallOptions, CustomerId, Error, GoogleAdsClient, PartialFailure};

/// The operations of one request (or batch job) for one customer, in order. Creating a
/// resource that has no resource name gives it a temporary one, returned typed, to put into
/// the resources that reference it.
///
/// ```
/// use google_ads::mutate::Operations;
/// use google_ads::latest::resources::{Campaign, CampaignBudget};
///
/// let mut operations = Operations::new("1234567890")?;
/// let budget = operations.create(CampaignBudget {
///     name: Some("Budget".into()),
///     amount_micros: Some(50_000_000),
///     ..Default::default()
/// })?;
/// let campaign = operations.create(Campaign {
///     name: Some("Campaign".into()),
///     campaign_budget: Some(budget.to_string()),
///     ..Default::default()
/// })?;
/// assert_eq!(budget.to_string(), "customers/1234567890/campaignBudgets/-1");
/// assert_eq!(campaign.to_string(), "customers/1234567890/campaigns/-2");
/// assert_eq!(operations.len(), 2);
/// # Ok::<(), google_ads::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Operations {
    names: TempNames,
    operations: Vec<MutateOperation>,
    /// Per operation: whether [`create`](Self::create) allocated its name (a temporary name
    /// of this customer and the resource's own pattern, its parents taken from references
    /// the resource holds), so the checks need not read that name again.
    allocated: Vec<bool>,
}

impl Operations {
    /// No operations yet, for `customer_id`.
    pub fn new(customer_id: impl IntoCustomerId) -> Result<Self, Error> {
        Ok(Self::with_names(TempNames::new(customer_id)?))
    }

    /// No operations yet, drawing temporary ids from `names` (to keep ids unique across
    /// several lists that go into one batch job).
    pub fn with_names(names: TempNames) -> Self {
        Self {
            names,
            operations: Vec::new(),
            allocated: Vec::new(),
        }
    }

    /// The customer the operations are for.
    pub fn customer_id(&self) -> CustomerId {
        self.names.customer_id()
    }

    /// The temporary-id allocator.
    pub fn names(&mut self) -> &mut TempNames {
        &mut self.names
    }

    /// Creates `resource`, giving it the next temporary name when it has none. Returns its
    /// name (temporary or the one it had): `name.into()` moves its text into the field of a
    /// resource that references it, `name.to_string()` copies it.
    pub fn create<R: Create>(&mut self, mut resource: R) -> Result<R::Name, Error> {
        let allocated = resource.resource_name().is_empty();
        let name = self.names.assign(&mut resource)?;
        self.add(resource.create_mutate_operation(), allocated);
        Ok(name)
    }

    fn add(&mut self, operation: MutateOperation, allocated: bool) {
        self.operations.push(operation);
        self.allocated.push(allocated);
    }

    /// [`create`](Self::create), with the operation's other fields (e.g.
    /// `exempt_policy_violation_keys`) set by `edit`.
    pub fn create_with<R: Create>(
        &mut self,
        mut resource: R,
        edit: impl FnOnce(&mut R::Operation),
    ) -> Result<R::Name, Error> {
        let name = self.names.assign(&mut resource)?;
        let mut operation = resource.create_operation();
        edit(&mut operation);
        // `edit` may have changed the name: it is read again.
        self.add(operation.into(), false);
        Ok(name)
    }

    /// Updates the fields `resource` sets (its `resource_name` names it): the mask is every
    /// set field, `false`, `0` and empty values of fields with presence included (see
    /// [`super::FieldMaskBuilder`] to clear fields or replace a message whole).
    pub fn update<R: Update>(&mut self, resource: R) {
        let mask = field_mask(&resource);
        self.update_with_mask(resource, mask);
    }

    /// Updates the fields `mask` names to their values in `resource`.
    pub fn update_with_mask<R: Update>(&mut self, resource: R, mask: FieldMask) {
        self.add(resource.update_operation(mask).into(), false);
    }

    /// Removes the resource named `name`.
    pub fn remove<N: RemovableName>(&mut self, name: &N) {
        self.add(
            <N::Resource as super::Remove>::remove_operation(name).into(),
            false,
        );
    }

    /// Adds any operation as it is (a typed `XxxOperation` or a `MutateOperation`); its
    /// temporary names are checked with the rest before sending.
    pub fn push(&mut self, operation: impl Into<MutateOperation>) {
        self.add(operation.into(), false);
    }

    /// How many operations there are.
    pub fn len(&self) -> usize {
        self.operations.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }

    /// The operations, in order.
    pub fn as_slice(&self) -> &[MutateOperation] {
        &self.operations
    }

    /// Whether operation `i`'s name was allocated by [`create`](Self::create).
    fn allocated(&self, i: usize) -> bool {
        self.allocated.get(i).copied().unwrap_or(false)
    }

    /// The operations, in order.
    pub fn into_operations(self) -> Vec<MutateOperation> {
        self.operations
    }

    /// Checks the operations as one request or job would take them: temporary names created
    /// once, before use, for one type and used only if created; every operation writing the
    /// customer's own resources; every update with a mask. Each rule broken is named with
    /// its operation index and field path.
    pub fn validate(&self) -> Result<(), Error> {
        let mut validator = Validator::new(self.customer_id(), "mutate_operations");
        for (i, operation) in self.operations.iter().enumerate() {
            let info = members::info(operation);
            validator.check_info(i, &info, self.allocated(i), &self.operations, &mut |_| {});
        }
        validator.finish()
    }
}

/// What the result of one operation says: its resource name (most results have one) and, for
/// `ResponseContentType::MutableResource`, the resource.
pub trait MutateResult {
    /// The name of the resource created, updated or removed; `None` for results without one
    /// (actions such as BookCampaigns) and for empty results.
    fn resource_name(&self) -> Option<&str>;

    /// The resource, when the result is of `R`'s member and carries it.
    fn resource<R: MutateResource>(&self) -> Option<&R>;
}

impl MutateResult for MutateOperationResponse {
    fn resource_name(&self) -> Option<&str> {
        members::result_resource_name(self).filter(|name| !name.is_empty())
    }

    fn resource<R: MutateResource>(&self) -> Option<&R> {
        R::from_result(self)
    }
}

/// One operation's outcome: the server's result, or the errors it failed with.
pub type Outcome = Result<MutateOperationResponse, Vec<GoogleAdsError>>;

/// A request ready to send: the operations in the order sent, and for each the caller's
/// index.
#[derive(Clone, Debug)]
pub struct PreparedRequest {
    /// The request.
    pub request: MutateGoogleAdsRequest,
    /// `indices[k]` is the caller's index of `request.mutate_operations[k]`.
    pub indices: Vec<usize>,
}

/// GoogleAdsService.Mutate of some [`Operations`]: built by [`GoogleAdsClient::mutate`],
/// checked before anything is sent.
///
/// By default the request is atomic (all operations commit or none) and keeps the caller's
/// order. With [`group_by_type`](Self::group_by_type) the operations go in runs of one
/// resource type (each change of type costs the API about one more call), every ordering
/// edge kept. With [`partial_failure`](Self::partial_failure), any number of operations go in
/// requests of at most 10,000 (or [`max_operations_per_request`](Self::max_operations_per_request)),
/// each a range of the caller's order, cut only where no two linked operations fall on both
/// sides (a stretch of linked operations longer than a request is refused); an atomic request
/// over the limit is refused, never split. Results and errors come back in the caller's order
/// and indices.
#[derive(Debug)]
#[must_use]
pub struct MutateRequest<'c> {
    client: &'c GoogleAdsClient,
    operations: Operations,
    partial_failure: bool,
    validate_only: bool,
    group_by_type: bool,
    content: ResponseContentType,
    limit: usize,
    options: CallOptions,
}

impl GoogleAdsClient {
    /// A GoogleAdsService.Mutate of `operations`: set its options, then
    /// [`send`](MutateRequest::send).
    pub fn mutate(&self, operations: Operations) -> MutateRequest<'_> {
        MutateRequest {
            client: self,
            operations,
            partial_failure: false,
            validate_only: false,
            group_by_type: false,
            content: ResponseContentType::Unspecified,
            limit: MAX_OPERATIONS_PER_REQUEST,
            options: CallOptions::new(),
        }
    }
}

impl MutateRequest<'_> {
    /// Good operations commit even when others fail (default: all or nothing).
    pub fn partial_failure(mut self, yes: bool) -> Self {
        self.partial_failure = yes;
        self
    }

    /// Check only: the server validates, nothing commits.
    pub fn validate_only(mut self, yes: bool) -> Self {
        self.validate_only = yes;
        self
    }

    /// Send the operations in runs of one resource type (fewer type changes, lower latency),
    /// keeping every ordering edge; results still come in the caller's order.
    pub fn group_by_type(mut self, yes: bool) -> Self {
        self.group_by_type = yes;
        self
    }

    /// What results carry: `ResourceNameOnly` (the default) or `MutableResource`.
    pub fn response_content_type(mut self, content: ResponseContentType) -> Self {
        self.content = content;
        self
    }

    /// The most operations in one request when partial failure lets work be split (at most
    /// and by default 10,000).
    pub fn max_operations_per_request(mut self, limit: usize) -> Self {
        self.limit = limit.clamp(1, MAX_OPERATIONS_PER_REQUEST);
        self
    }

    /// Per-call settings for every request sent.
    pub fn call_options(mut self, options: CallOptions) -> Self {
        self.options = options;
        self
    }

    /// The requests to send, checked, split and ordered: what [`send`](Self::send) sends.
    /// Nothing is sent.
    pub fn prepare(mut self) -> Result<Vec<PreparedRequest>, Error> {
        let plan = self.plan()?;
        let mut operations = std::mem::take(&mut self.operations.operations);
        // One request in the caller's order: the list as it is. Otherwise each operation is
        // moved once (they are large: a MutateOperation is as big as its largest resource).
        if let [only] = plan.as_slice()
            && only.len() == operations.len()
            && only.iter().enumerate().all(|(k, i)| k == *i)
        {
            let indices = plan.into_iter().next().unwrap_or_default();
            return Ok(vec![PreparedRequest {
                request: self.request(operations),
                indices,
            }]);
        }
        Ok(plan
            .into_iter()
            .map(|indices| PreparedRequest {
                request: self.request(
                    indices
                        .iter()
                        .map(|i| std::mem::take(&mut operations[*i]))
                        .collect(),
                ),
                indices,
            })
            .collect())
    }

    /// Checks, then sends; one outcome per operation, in the caller's order.
    ///
    /// An atomic request that fails is an `Err` whose errors name the caller's operation
    /// indices. With partial failure, a request that fails as a whole gives its operations
    /// that error, and the operations of the requests after it are not sent (their outcome
    /// says so): [`MutateResults::request_errors`] has the failure.
    pub async fn send(self) -> Result<MutateResults, Error> {
        let (client, options, partial_failure, validate_only) = (
            self.client,
            self.options.clone(),
            self.partial_failure,
            self.validate_only,
        );
        let total = self.operations.len();
        let prepared = self.prepare()?;
        let mut outcomes: Vec<Option<Outcome>> = vec![None; total];
        let mut request_errors = Vec::new();
        let parts = prepared.len();
        for PreparedRequest { request, indices } in prepared {
            if !request_errors.is_empty() {
                for i in &indices {
                    outcomes[*i] = Some(Err(vec![note(format!(
                        "not sent: request {} of {parts} failed before it",
                        request_errors.len()
                    ))]));
                }
                continue;
            }
            match client
                .google_ads()
                .mutate(options.clone().request(request))
                .await
            {
                Ok(response) => {
                    let failure = response
                        .partial_failure_error
                        .as_ref()
                        .map(PartialFailure::from_status)
                        .unwrap_or_default();
                    let results = &response.mutate_operation_responses;
                    let sent: Vec<Outcome> = if results.len() == indices.len() {
                        failure
                            .outcomes(results)
                            .into_iter()
                            .map(|o| o.cloned())
                            .collect()
                    } else {
                        // validate_only answers with no results: each operation has its
                        // errors, or passed.
                        (0..indices.len())
                            .map(|k| match failure.errors_for(k) {
                                [] if failure.is_empty() || validate_only => {
                                    Ok(MutateOperationResponse::default())
                                }
                                [] => Err(vec![note(
                                    "the server returned no result for this operation",
                                )]),
                                errors => Err(errors.to_vec()),
                            })
                            .collect()
                    };
                    for (k, outcome) in sent.into_iter().enumerate() {
                        outcomes[indices[k]] = Some(outcome.map_err(|mut errors| {
                            for error in &mut errors {
                                failure::map_operation_index(error, |i| {
                                    indices.get(i).copied().unwrap_or(i)
                                });
                            }
                            errors
                        }));
                    }
                }
                Err(error) => {
                    let error =
                        error.map_operation_indices(|i| indices.get(i).copied().unwrap_or(i));
                    if !partial_failure {
                        return Err(error);
                    }
                    let by_operation = error.errors_by_operation();
                    for i in &indices {
                        let errors: Vec<GoogleAdsError> = match by_operation.get(i) {
                            Some(errors) => errors.iter().map(|e| (*e).clone()).collect(),
                            None => vec![note(format!("the request failed: {error}"))],
                        };
                        outcomes[*i] = Some(Err(errors));
                    }
                    request_errors.push(error);
                }
            }
        }
        Ok(MutateResults {
            outcomes: outcomes
                .into_iter()
                .map(|o| o.unwrap_or_else(|| Err(vec![note("not sent")])))
                .collect(),
            request_errors,
        })
    }

    /// The caller's indices of each request, in the order sent.
    fn plan(&self) -> Result<Vec<Vec<usize>>, Error> {
        let operations = self.operations.as_slice();
        if operations.is_empty() {
            return Err(Error::invalid(
                "mutate_operations",
                "at least one operation is required",
            ));
        }
        if !self.partial_failure && operations.len() > MAX_OPERATIONS_PER_REQUEST {
            return Err(Error::invalid(
                "mutate_operations",
                format!(
                    "{} operations: an atomic request takes at most {MAX_OPERATIONS_PER_REQUEST} and is never split (with partial failure, work is split over several requests)",
                    operations.len()
                ),
            ));
        }
        let split = operations.len() > self.limit;
        if !split && !self.group_by_type {
            self.operations.validate()?;
            return Ok(vec![(0..operations.len()).collect()]);
        }
        // One walk of each operation: the checks, and the names the ordering edges read.
        let customer = self.operations.customer_id();
        let mut validator = Validator::new(customer, "mutate_operations");
        let mut builder = order::DepsBuilder::new(customer, operations.len());
        for (i, operation) in operations.iter().enumerate() {
            let info = members::info(operation);
            let allocated = self.operations.allocated(i);
            validator.check_info(i, &info, allocated, operations, &mut |value| {
                builder.mention(value)
            });
            builder.push(&info);
        }
        validator.finish()?;
        let deps = builder.finish();
        if !split {
            return Ok(vec![order::group_by_type(&deps)]);
        }
        let parts = order::partition(&deps, &[], self.limit, "mutate_operations")
            .map_err(Error::violated)?;
        if !self.group_by_type {
            return Ok(parts);
        }
        Ok(parts
            .into_iter()
            .map(|part| {
                let sub = deps.within(&part);
                order::group_by_type(&sub)
                    .into_iter()
                    .map(|k| part[k])
                    .collect()
            })
            .collect())
    }

    fn request(&self, mutate_operations: Vec<MutateOperation>) -> MutateGoogleAdsRequest {
        MutateGoogleAdsRequest {
            customer_id: self.operations.customer_id().to_string(),
            mutate_operations,
            partial_failure: self.partial_failure,
            validate_only: self.validate_only,
            response_content_type: self.content as i32,
        }
    }
}

/// An error of our own making for an operation's outcome.
fn note(message: impl Into<String>) -> GoogleAdsError {
    GoogleAdsError {
        message: message.into(),
        ..Default::default()
    }
}

/// One outcome per operation sent, in the caller's order.
#[derive(Clone, Debug)]
pub struct MutateResults {
    outcomes: Vec<Outcome>,
    request_errors: Vec<Error>,
}

impl MutateResults {
    /// Each operation's result or errors, in the caller's order.
    pub fn outcomes(&self) -> &[Outcome] {
        &self.outcomes
    }

    /// The outcomes, owned.
    pub fn into_outcomes(self) -> Vec<Outcome> {
        self.outcomes
    }

    /// Whether every operation succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.outcomes.iter().all(Result::is_ok)
    }

    /// The failed operations: caller's index and errors.
    pub fn failures(&self) -> impl Iterator<Item = (usize, &[GoogleAdsError])> {
        self.outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.as_ref().err().map(|e| (i, e.as_slice())))
    }

    /// Each operation's resource name, `None` where it failed or its result has none.
    pub fn resource_names(&self) -> Vec<Option<&str>> {
        self.outcomes
            .iter()
            .map(|o| o.as_ref().ok().and_then(MutateResult::resource_name))
            .collect()
    }

    /// With partial failure over several requests: the requests that failed as a whole.
    pub fn request_errors(&self) -> &[Error] {
        &self.request_errors
    }
}
