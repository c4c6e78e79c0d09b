//! BatchJobService and google.longrunning.Operations: jobs built up with sequence tokens,
//! run in the background in partial-failure mode with temporary ids scoped to the job.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tonic::{Code, Request, Response, Status};

use super::failure::{self, AdsError};
use super::gate::Fault;
use super::jobs::*;
use super::mutate::{Mutation, OpIn, OpResult};
use super::mutate::{mutate_ops, mutate_responses};
use super::reflect::{self, full};
use super::state::{BatchModel, Fake, State, lock};
use super::store::CustomerData;
use crate::latest::enums::batch_job_status_enum::BatchJobStatus;
use crate::latest::enums::response_content_type_enum::ResponseContentType;
use crate::latest::resources::{BatchJob, batch_job::BatchJobMetadata};
use crate::latest::services::{self, batch_job_operation};
use crate::longrunning::{self, Operation};

impl Fake {
    fn fail(&self, request_id: &str, code: Code, error: AdsError) -> Status {
        failure::status(code, &[error], request_id)
    }

    /// Writes the job's resource into the customer's store, so GAQL reads it like any other.
    fn publish(&self, (customer_id, job): (String, BatchJob)) {
        let resource = reflect::to_dynamic(&job, reflect::message(&full("resources.BatchJob")));
        lock(&self.0.store)
            .entry(customer_id)
            .or_default()
            .insert(job.resource_name, resource);
    }

    fn unpublish(&self, customer_id: &str, name: &str) {
        if let Some(data) = lock(&self.0.store).get_mut(customer_id) {
            data.remove(name);
        }
    }
}

fn customer_of(name: &str) -> &str {
    name.strip_prefix("customers/")
        .and_then(|r| r.split('/').next())
        .unwrap_or_default()
}

#[tonic::async_trait]
impl services::batch_job_service_server::BatchJobService for Fake {
    async fn mutate_batch_job(
        &self,
        request: Request<services::MutateBatchJobRequest>,
    ) -> Result<Response<services::MutateBatchJobResponse>, Status> {
        let customer_id = request.get_ref().customer_id.clone();
        let entry = self.enter(&request, Some(&customer_id)).await?;
        let operation = request.into_inner().operation.and_then(|o| o.operation);
        let resource_name = match operation {
            Some(batch_job_operation::Operation::Create(create)) => {
                let mut jobs = lock(&self.0.batch);
                let active = jobs
                    .jobs
                    .values()
                    .filter(|j| {
                        j.customer_id == customer_id
                            && j.resource.status != BatchJobStatus::Done as i32
                    })
                    .count();
                if active >= self.0.batch_model.jobs_per_customer {
                    return Err(self.fail(
                        &entry.request_id,
                        Code::InvalidArgument,
                        AdsError::new(
                            "resource_count_limit_exceeded_error",
                            "ACCOUNT_LIMIT",
                            "The account has as many pending or running batch jobs as it may.",
                        )
                        .at("operation.create")
                        .trigger(active.to_string()),
                    ));
                }
                let id = lock(&self.0.store)
                    .entry(customer_id.clone())
                    .or_default()
                    .allocate_id();
                let name = format!("customers/{customer_id}/batchJobs/{id}");
                let token = jobs.token();
                let job = Job {
                    customer_id: customer_id.clone(),
                    resource: BatchJob {
                        resource_name: name.clone(),
                        id: Some(id),
                        next_add_sequence_token: Some(token),
                        status: BatchJobStatus::Pending as i32,
                        metadata: Some(BatchJobMetadata {
                            creation_date_time: Some(now_string()),
                            operation_count: Some(0),
                            execution_limit_seconds: create
                                .metadata
                                .and_then(|m| m.execution_limit_seconds),
                            ..Default::default()
                        }),
                        long_running_operation: None,
                    },
                    operations: Vec::new(),
                    results: Vec::new(),
                    cancelled: false,
                    touches: HashSet::new(),
                };
                self.publish(job.snapshot());
                jobs.jobs.insert(name.clone(), job);
                name
            }
            Some(batch_job_operation::Operation::Remove(name)) => {
                let mut jobs = lock(&self.0.batch);
                match jobs.jobs.get(&name) {
                    Some(job) if job.customer_id == customer_id => {
                        if job.resource.status != BatchJobStatus::Pending as i32 {
                            return Err(self.fail(
                                &entry.request_id,
                                Code::InvalidArgument,
                                batch_error(
                                    "CAN_ONLY_REMOVE_PENDING_JOB",
                                    "Only a job that has not run can be removed.",
                                )
                                .at("operation.remove"),
                            ));
                        }
                    }
                    _ => {
                        return Err(self.fail(
                            &entry.request_id,
                            Code::InvalidArgument,
                            not_found(&name).at("operation.remove"),
                        ));
                    }
                }
                jobs.jobs.remove(&name);
                self.unpublish(&customer_id, &name);
                name
            }
            None => {
                return Err(self.fail(
                    &entry.request_id,
                    Code::InvalidArgument,
                    AdsError::new(
                        "request_error",
                        "OPERATION_REQUIRED",
                        "The operation must create or remove a job.",
                    )
                    .at("operation"),
                ));
            }
        };
        self.respond(
            &entry,
            services::MutateBatchJobResponse {
                result: Some(services::MutateBatchJobResult { resource_name }),
            },
        )
    }

    async fn add_batch_job_operations(
        &self,
        request: Request<services::AddBatchJobOperationsRequest>,
    ) -> Result<Response<services::AddBatchJobOperationsResponse>, Status> {
        let size = request.get_ref().encoded_len();
        let customer_id = customer_of(&request.get_ref().resource_name).to_owned();
        let entry = self
            .enter_landing_here(&request, Some(&customer_id))
            .await?;
        let request = request.into_inner();
        let fail =
            |error: AdsError| Err(self.fail(&entry.request_id, Code::InvalidArgument, error));
        // A call landing late is checked now, as it arrives, sequence token included, and again
        // when it lands if it has a token (see Fault::LandLate).
        let late = match entry.late_fault {
            Some(Fault::LandLate(delay)) => Some(delay),
            _ => None,
        };
        if let Some(delay) = late {
            if let Err(error) = lock(&self.0.batch).check_add(&request, size, true) {
                return fail(error);
            }
            self.land_late(&entry, delay).await;
        }
        // A late call with a token is checked again as it lands (the server checks the token
        // of the call it applies); a first, token-less one has nothing to check.
        let check_token = late.is_none() || !request.sequence_token.is_empty();
        let added = {
            let mut jobs = lock(&self.0.batch);
            jobs.add(request, size, check_token)
                .inspect(|(_, _, snapshot)| {
                    // Published under the jobs lock, so a removed job is never published again.
                    self.publish(snapshot.clone());
                })
        };
        match added {
            Ok((total_operations, next_sequence_token, _)) => self.respond(
                &entry,
                services::AddBatchJobOperationsResponse {
                    total_operations,
                    next_sequence_token,
                },
            ),
            Err(error) => fail(error),
        }
    }

    async fn run_batch_job(
        &self,
        request: Request<services::RunBatchJobRequest>,
    ) -> Result<Response<Operation>, Status> {
        let name = request.get_ref().resource_name.clone();
        let customer_id = customer_of(&name).to_owned();
        let entry = self.enter(&request, Some(&customer_id)).await?;
        let operation = {
            let mut jobs = lock(&self.0.batch);
            let id = lock(&self.0.store)
                .entry(customer_id.clone())
                .or_default()
                .allocate_id();
            let Some(job) = jobs.jobs.get_mut(&name) else {
                return Err(self.fail(
                    &entry.request_id,
                    Code::InvalidArgument,
                    not_found(&name).at("resource_name"),
                ));
            };
            if job.resource.status != BatchJobStatus::Pending as i32 {
                return Err(self.fail(
                    &entry.request_id,
                    Code::InvalidArgument,
                    batch_error(
                        "CANNOT_MODIFY_JOB_AFTER_JOB_STARTS_RUNNING",
                        "The job has already been run.",
                    ),
                ));
            }
            let lro = format!("customers/{customer_id}/operations/{id}");
            job.touches = touches(&customer_id, &job.operations);
            let mut touched: Vec<String> = job.touches.iter().cloned().collect();
            touched.sort();
            let run = BatchJobRun {
                job: name.clone(),
                customer_id: customer_id.clone(),
                touches: touched,
                started: self.0.started.elapsed(),
                ended: None,
                removed: false,
            };
            job.resource.status = BatchJobStatus::Running as i32;
            job.resource.long_running_operation = Some(lro.clone());
            job.resource.next_add_sequence_token = None;
            if let Some(m) = job.resource.metadata.as_mut() {
                m.start_date_time = Some(now_string());
                m.estimated_completion_ratio = Some(0.0);
                m.executed_operation_count = Some(0);
            }
            let operation = operation_of(&lro, job);
            let snapshot = job.snapshot();
            jobs.operations.insert(lro, name.clone());
            jobs.runs.push(run);
            // Under the jobs lock, so a removed job is never published again.
            self.publish(snapshot);
            drop(jobs);
            operation
        };
        tokio::spawn(execute(self.clone(), name));
        self.respond(&entry, operation)
    }

    async fn list_batch_job_results(
        &self,
        request: Request<services::ListBatchJobResultsRequest>,
    ) -> Result<Response<services::ListBatchJobResultsResponse>, Status> {
        let customer_id = customer_of(&request.get_ref().resource_name).to_owned();
        let entry = self.enter(&request, Some(&customer_id)).await?;
        let request = request.into_inner();
        let fail =
            |error: AdsError| Err(self.fail(&entry.request_id, Code::InvalidArgument, error));
        let jobs = lock(&self.0.batch);
        let Some(job) = jobs.jobs.get(&request.resource_name) else {
            return fail(not_found(&request.resource_name).at("resource_name"));
        };
        if job.resource.status != BatchJobStatus::Done as i32 {
            return fail(batch_error(
                "RESULTS_NOT_READY",
                "The job has not finished: results are not ready.",
            ));
        }
        let page_size = match request.page_size {
            0 => 1000,
            n @ 1..=1000 => n as usize,
            n => {
                return fail(
                    batch_error(
                        "INVALID_PAGE_SIZE",
                        "The page size must be between 0 and 1000.",
                    )
                    .at("page_size")
                    .trigger(n.to_string()),
                );
            }
        };
        let start = if request.page_token.is_empty() {
            0
        } else {
            match request
                .page_token
                .strip_prefix("results-")
                .and_then(|s| s.parse::<usize>().ok())
            {
                Some(start) if start <= job.results.len() => start,
                _ => {
                    return fail(
                        AdsError::new(
                            "request_error",
                            "INVALID_PAGE_TOKEN",
                            "Page token is invalid.",
                        )
                        .at("page_token")
                        .trigger(request.page_token),
                    );
                }
            }
        };
        // Like the real service, a page may hold fewer results than asked for.
        let end = job
            .results
            .len()
            .min(start + page_size.min(self.0.batch_model.page_cap));
        let mutable = request.response_content_type == ResponseContentType::MutableResource as i32;
        // A scripted bad page: the previous page's last result again first.
        let first = match entry.late_fault {
            Some(Fault::RepeatResults) => start.saturating_sub(1),
            _ => start,
        };
        let slice = &job.results[first..end];
        let fields: Vec<String> = slice.iter().map(|(f, _)| f.clone()).collect();
        let outcomes: Vec<OpResult> = slice.iter().map(|(_, r)| r.clone()).collect();
        let responses = mutate_responses(&fields, &outcomes, mutable);
        let mut results: Vec<services::BatchJobResult> = slice
            .iter()
            .zip(responses)
            .enumerate()
            .map(|(i, ((_, outcome), response))| services::BatchJobResult {
                operation_index: (first + i) as i64,
                mutate_operation_response: outcome.is_ok().then_some(response),
                status: outcome.as_ref().err().map(|errors| crate::rpc::Status {
                    code: Code::InvalidArgument as i32,
                    ..failure::partial_failure(errors, &entry.request_id)
                }),
            })
            .collect();
        if let Some(Fault::BogusResultIndex(index)) = entry.late_fault
            && let Some(result) = results.first_mut()
        {
            result.operation_index = index;
        }
        let next_page_token = if end < job.results.len() {
            format!("results-{end}")
        } else {
            String::new()
        };
        drop(jobs);
        self.respond(
            &entry,
            services::ListBatchJobResultsResponse {
                results,
                next_page_token,
            },
        )
    }
}

/// Removes job `name` as someone else would, whatever its state: gone from the jobs, its
/// long-running operation and GAQL. Whether it was there.
pub(crate) fn remove_job(state: &State, name: &str) -> bool {
    let mut jobs = lock(&state.batch);
    let Some(job) = jobs.jobs.remove(name) else {
        return false;
    };
    jobs.operations.retain(|_, job| job != name);
    let at = state.started.elapsed();
    if let Some(run) = jobs.runs.iter_mut().rev().find(|r| r.job == name) {
        run.ended.get_or_insert(at);
        run.removed = true;
    }
    // Under the jobs lock, as every publish is: nothing puts it back.
    if let Some(data) = lock(&state.store).get_mut(&job.customer_id) {
        data.remove(name);
    }
    true
}

/// Cancels job `name` as CancelOperation on its long-running operation does. Whether it has
/// one (it has been run).
pub(crate) fn cancel_job(state: &State, name: &str) -> bool {
    match lock(&state.batch).jobs.get_mut(name) {
        Some(job) if job.resource.long_running_operation.is_some() => {
            job.cancelled = true;
            true
        }
        _ => false,
    }
}

fn operation_of(name: &str, job: &Job) -> Operation {
    let metadata = job.resource.metadata.clone().unwrap_or_default();
    Operation {
        name: name.to_owned(),
        metadata: Some(prost_types::Any {
            type_url: format!(
                "type.googleapis.com/{}",
                full("resources.BatchJob.BatchJobMetadata")
            ),
            value: metadata.encode_to_vec(),
        }),
        done: job.resource.status == BatchJobStatus::Done as i32,
        result: None,
    }
}

/// Runs a job's operations in chunks, a chunk per second of tokio time, in partial-failure
/// mode with one temporary-id scope for the whole job; stops at cancel or the time limit.
async fn execute(fake: Fake, name: String) {
    let state: &Arc<State> = &fake.0;
    let started = tokio::time::Instant::now();
    let mut mutation = Mutation::default();
    let mut index = 0;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut jobs = lock(&state.batch);
        let rate = rate_of(&jobs, &name, state.batch_model);
        let Some(job) = jobs.jobs.get_mut(&name) else {
            return;
        };
        let limit = job
            .resource
            .metadata
            .as_ref()
            .and_then(|m| m.execution_limit_seconds);
        let over_time =
            limit.is_some_and(|l| started.elapsed() > Duration::from_secs(l.max(0) as u64));
        if job.cancelled || over_time {
            let reason = if job.cancelled {
                "The batch job was cancelled."
            } else {
                "The batch job ran past its execution limit."
            };
            for (field, _) in mutate_ops(&job.operations[index..], index) {
                job.results.push((
                    field,
                    Err(vec![AdsError::new(
                        "internal_error",
                        "INTERNAL_ERROR",
                        reason,
                    )]),
                ));
            }
            index = job.operations.len();
        }
        let mut end = job.operations.len().min(index + rate);
        let customer_id = job.customer_id.clone();
        let mut chunk = mutate_ops(&job.operations[index..end], index);
        // A sub-batch that the chunk would cut runs whole in this one.
        while end < job.operations.len() {
            let next = mutate_ops(&job.operations[end..end + 1], end);
            let key = |(field, op): &Pending| op.as_ref().ok().and_then(|op| sub_batch(field, op));
            match (chunk.last().and_then(key), key(&next[0])) {
                (Some(a), Some(b)) if a == b => {
                    chunk.extend(next);
                    end += 1;
                }
                _ => break,
            }
        }
        {
            let mut store = lock(&state.store);
            let data = store.entry(customer_id).or_default();
            let mut rest = chunk.into_iter().enumerate().peekable();
            while let Some((offset, first)) = rest.next() {
                // The operations of one all-or-nothing sub-batch run together.
                let key = first.1.as_ref().ok().and_then(|op| sub_batch(&first.0, op));
                let mut group = vec![(offset, first)];
                while let Some((_, next)) = rest.peek() {
                    let same = key.is_some()
                        && next.1.as_ref().ok().and_then(|op| sub_batch(&next.0, op)) == key;
                    if !same {
                        break;
                    }
                    group.extend(rest.next());
                }
                let outcomes = run_group(&mut mutation, &job.customer_id, data, index, group, key);
                job.results.extend(outcomes);
            }
        }
        index = end;
        let total = job.operations.len();
        let done = index >= total;
        if let Some(m) = job.resource.metadata.as_mut() {
            m.executed_operation_count = Some(index as i64);
            m.estimated_completion_ratio = Some(if total == 0 {
                1.0
            } else {
                index as f64 / total as f64
            });
            if done {
                m.completion_date_time = Some(now_string());
            }
        }
        if done {
            job.resource.status = BatchJobStatus::Done as i32;
        }
        let snapshot = job.snapshot();
        if done {
            jobs.ended(&name, state.started.elapsed());
        }
        // Under the jobs lock, so a removed job is never published again.
        fake.publish(snapshot);
        drop(jobs);
        if done {
            return;
        }
    }
}

/// How many operations job `name` runs this second: the per-job rate, or its even share of
/// the server's capacity when that is less; a tenth of it while another running job of its
/// customer touches the same campaign or ad group.
fn rate_of(jobs: &Jobs, name: &str, model: BatchModel) -> usize {
    let running: Vec<&Job> = jobs
        .jobs
        .values()
        .filter(|j| j.resource.status == BatchJobStatus::Running as i32 && !j.cancelled)
        .collect();
    let share = match model.capacity {
        Some(capacity) => (capacity / running.len().max(1))
            .max(1)
            .min(model.ops_per_second),
        None => model.ops_per_second,
    };
    let Some(job) = jobs.jobs.get(name) else {
        return share;
    };
    let overlaps = running.iter().any(|other| {
        other.resource.resource_name != job.resource.resource_name
            && other.customer_id == job.customer_id
            && !other.touches.is_disjoint(&job.touches)
    });
    if overlaps { (share / 10).max(1) } else { share }
}

/// An operation to run: its member (oneof field) and the operation, or why it cannot run.
type Pending = (String, Result<OpIn, Vec<AdsError>>);

/// The all-or-nothing sub-batch an operation belongs to, by its parent: an asset group with
/// its asset group assets, one asset group's listing group filters, a campaign with its
/// campaign assets.
fn sub_batch(field: &str, op: &OpIn) -> Option<(&'static str, String)> {
    let resource = reflect::set_oneof_field(&op.op, "operation").and_then(|(verb, value)| {
        matches!(verb.name(), "create" | "update")
            .then(|| value.as_message().cloned())
            .flatten()
    })?;
    let string = |name: &str| {
        resource
            .get_field_by_name(name)
            .and_then(|v| v.as_str().map(str::to_owned))
            .filter(|s| !s.is_empty())
    };
    match field {
        "asset_group_operation" => Some(("asset_group", string("resource_name")?)),
        "asset_group_asset_operation" => Some(("asset_group", string("asset_group")?)),
        "asset_group_listing_group_filter_operation" => {
            Some(("listing_tree", string("asset_group")?))
        }
        "campaign_operation" => Some(("campaign", string("resource_name")?)),
        "campaign_asset_operation" => Some(("campaign", string("campaign")?)),
        _ => None,
    }
}

/// Runs one operation, or one sub-batch all or nothing: when one of its operations fails,
/// nothing of it commits, and the others fail with the sub-batch's transaction error.
fn run_group(
    mutation: &mut Mutation,
    customer_id: &str,
    data: &mut CustomerData,
    index: usize,
    group: Vec<(usize, Pending)>,
    key: Option<(&'static str, String)>,
) -> Vec<(String, OpResult)> {
    let run_one = |mutation: &mut Mutation,
                   data: &mut CustomerData,
                   offset: usize,
                   field: &str,
                   op: Result<OpIn, Vec<AdsError>>| {
        if ATOMIC_ONLY.contains(&field) || ACTIONS.contains(&field) {
            let (name, message) = if ACTIONS.contains(&field) {
                ("INTERNAL_ERROR", "This action cannot run in a batch job.")
            } else {
                (
                    "MUTATE_NOT_ALLOWED",
                    "This operation is not supported in batch jobs.",
                )
            };
            let category = if ACTIONS.contains(&field) {
                "internal_error"
            } else {
                "mutate_error"
            };
            return Err(vec![AdsError::new(category, name, message).under(&[(
                "mutate_operations".to_owned(),
                Some((index + offset) as i32),
            )])]);
        }
        op.and_then(|op| mutation.execute(customer_id, data, &op))
    };
    if group.len() == 1 || key.is_none() {
        return group
            .into_iter()
            .map(|(offset, (field, op))| {
                let outcome = run_one(mutation, data, offset, &field, op);
                (field, outcome)
            })
            .collect();
    }
    let (mut scratch_data, mut scratch_mutation) = (data.clone(), mutation.clone());
    let mut created = Vec::new();
    let outcomes: Vec<(String, usize, OpResult)> = group
        .into_iter()
        .map(|(offset, (field, op))| {
            if let Ok(op) = &op
                && let Some((verb, value)) = reflect::set_oneof_field(&op.op, "operation")
                && verb.name() == "create"
                && let Some(resource) = value.as_message()
                && let Some(name) = resource.get_field_by_name("resource_name")
                && let Some(name) = name.as_str()
            {
                created.push(name.to_owned());
            }
            let outcome = run_one(&mut scratch_mutation, &mut scratch_data, offset, &field, op);
            (field, offset, outcome)
        })
        .collect();
    if outcomes.iter().all(|(_, _, o)| o.is_ok()) {
        *data = scratch_data;
        *mutation = scratch_mutation;
        return outcomes.into_iter().map(|(f, _, o)| (f, o)).collect();
    }
    // Rolled back: the sub-batch's temporary names are failed ones now.
    for name in &created {
        mutation.fail_temp(name);
    }
    let transaction = match key.map(|(kind, _)| kind) {
        Some("asset_group") => "ASSET_GROUP_AND_ASSET_GROUP_ASSET_TRANSACTION_FAILURE",
        Some("listing_tree") => "ASSET_GROUP_LISTING_GROUP_FILTER_TRANSACTION_FAILURE",
        _ => "CAMPAIGN_AND_CAMPAIGN_ASSET_TRANSACTION_FAILURE",
    };
    outcomes
        .into_iter()
        .map(|(field, offset, outcome)| match outcome {
            Err(errors) => (field, Err(errors)),
            Ok(_) => (
                field,
                Err(vec![
                    batch_error(
                        transaction,
                        "Another operation of this all-or-nothing group failed.",
                    )
                    .under(&[(
                        "mutate_operations".to_owned(),
                        Some((index + offset) as i32),
                    )]),
                ]),
            ),
        })
        .collect()
}

#[tonic::async_trait]
impl longrunning::operations_server::Operations for Fake {
    async fn get_operation(
        &self,
        request: Request<longrunning::GetOperationRequest>,
    ) -> Result<Response<Operation>, Status> {
        let name = request.get_ref().name.clone();
        let entry = self.enter(&request, Some(customer_of(&name))).await?;
        let jobs = lock(&self.0.batch);
        let operation = jobs
            .operations
            .get(&name)
            .and_then(|job| jobs.jobs.get(job))
            .map(|job| operation_of(&name, job));
        drop(jobs);
        match operation {
            Some(operation) => self.respond(&entry, operation),
            None => Err(self.fail(
                &entry.request_id,
                Code::NotFound,
                not_found(&name).at("name"),
            )),
        }
    }

    async fn cancel_operation(
        &self,
        request: Request<longrunning::CancelOperationRequest>,
    ) -> Result<Response<()>, Status> {
        let name = request.get_ref().name.clone();
        let entry = self.enter(&request, Some(customer_of(&name))).await?;
        let mut jobs = lock(&self.0.batch);
        let job = jobs.operations.get(&name).cloned();
        match job.and_then(|job| jobs.jobs.get_mut(&job)) {
            Some(job) => job.cancelled = true,
            None => {
                drop(jobs);
                return Err(self.fail(
                    &entry.request_id,
                    Code::NotFound,
                    not_found(&name).at("name"),
                ));
            }
        }
        drop(jobs);
        self.respond(&entry, ())
    }

    async fn wait_operation(
        &self,
        request: Request<longrunning::WaitOperationRequest>,
    ) -> Result<Response<Operation>, Status> {
        let name = request.get_ref().name.clone();
        let timeout = request
            .get_ref()
            .timeout
            .map_or(Duration::from_secs(60), |t| {
                Duration::new(t.seconds.max(0) as u64, t.nanos.max(0) as u32)
            });
        let entry = self.enter(&request, Some(customer_of(&name))).await?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let operation = {
                let jobs = lock(&self.0.batch);
                jobs.operations
                    .get(&name)
                    .and_then(|job| jobs.jobs.get(job))
                    .map(|job| operation_of(&name, job))
            };
            match operation {
                None => {
                    return Err(self.fail(
                        &entry.request_id,
                        Code::NotFound,
                        not_found(&name).at("name"),
                    ));
                }
                Some(op) if op.done || tokio::time::Instant::now() >= deadline => {
                    return self.respond(&entry, op);
                }
                Some(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
    }
}
