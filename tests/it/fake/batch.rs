//! BatchJobService and google.longrunning.Operations, under tokio's paused clock.

use std::time::Duration;

use google_ads::fake::FakeServer;
use google_ads::latest::enums::batch_job_status_enum::BatchJobStatus;
use google_ads::latest::resources::{BatchJob, batch_job::BatchJobMetadata};
use google_ads::latest::services::batch_job_service_client::BatchJobServiceClient;
use google_ads::latest::services::google_ads_service_client::GoogleAdsServiceClient;
use google_ads::latest::services::{
    AddBatchJobOperationsRequest, BatchJobOperation, ListBatchJobResultsRequest,
    MutateBatchJobRequest, MutateOperation, RunBatchJobRequest, SearchGoogleAdsRequest,
    batch_job_operation, mutate_operation,
};
use google_ads::longrunning::operations_client::OperationsClient;
use google_ads::longrunning::{CancelOperationRequest, GetOperationRequest};
use prost::Message;
use tonic::Code;

use super::*;

struct Jobs {
    client: BatchJobServiceClient<Channel>,
}

impl Jobs {
    fn new(ctx: &Ctx) -> Self {
        Self {
            client: BatchJobServiceClient::new(ctx.channel.clone()),
        }
    }

    async fn create(&mut self) -> String {
        let operation = BatchJobOperation {
            operation: Some(batch_job_operation::Operation::Create(BatchJob::default())),
        };
        let request = MutateBatchJobRequest {
            customer_id: CID.into(),
            operation: Some(operation),
        };
        self.client
            .mutate_batch_job(req(request))
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap()
            .resource_name
    }

    async fn add(
        &mut self,
        job: &str,
        token: &str,
        ops: Vec<MutateOperation>,
    ) -> Result<(i64, String), tonic::Status> {
        let request = AddBatchJobOperationsRequest {
            resource_name: job.into(),
            sequence_token: token.into(),
            mutate_operations: ops,
        };
        self.client
            .add_batch_job_operations(req(request))
            .await
            .map(|r| {
                let r = r.into_inner();
                (r.total_operations, r.next_sequence_token)
            })
    }

    async fn run(
        &mut self,
        job: &str,
    ) -> Result<google_ads::longrunning::Operation, tonic::Status> {
        self.client
            .run_batch_job(req(RunBatchJobRequest {
                resource_name: job.into(),
            }))
            .await
            .map(|r| r.into_inner())
    }

    async fn results(
        &mut self,
        job: &str,
        page_size: i32,
        token: &str,
    ) -> Result<google_ads::latest::services::ListBatchJobResultsResponse, tonic::Status> {
        let request = ListBatchJobResultsRequest {
            resource_name: job.into(),
            page_size,
            page_token: token.into(),
            ..Default::default()
        };
        self.client
            .list_batch_job_results(req(request))
            .await
            .map(|r| r.into_inner())
    }
}

fn batch_codes(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument);
    codes(&failure(status))
}

async fn metadata(ctx: &Ctx, operation: &str) -> (bool, BatchJobMetadata) {
    let op = OperationsClient::new(ctx.channel.clone())
        .get_operation(req(GetOperationRequest {
            name: operation.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let any = op.metadata.unwrap();
    assert!(
        any.type_url
            .ends_with("resources.BatchJob.BatchJobMetadata"),
        "{}",
        any.type_url
    );
    (
        op.done,
        BatchJobMetadata::decode(any.value.as_slice()).unwrap(),
    )
}

#[tokio::test(start_paused = true)]
async fn a_job_runs_in_the_background_with_progress_temp_ids_across_uploads_and_paged_results() {
    let ctx = start(
        FakeServer::builder()
            .batch_ops_per_second(2)
            .batch_page_cap(2),
    )
    .await;
    let mut jobs = Jobs::new(&ctx);
    let job = jobs.create().await;
    assert!(job.starts_with(&format!("customers/{CID}/batchJobs/")));

    // Temporary ids are scoped to the job: the campaign of the second upload uses the budget
    // of the first. The bad budget's child fails with TEMP_ID_RESOURCE_HAD_ERRORS.
    let (total, token) = jobs
        .add(
            &job,
            "",
            vec![budget(-1, "B", 10_000_000), budget(-2, "Bad", 1)],
        )
        .await
        .unwrap();
    assert_eq!(total, 2);
    let customer_op = MutateOperation {
        operation: Some(mutate_operation::Operation::CustomerOperation(
            Box::default(),
        )),
    };
    let (total, _) = jobs
        .add(
            &job,
            &token,
            vec![
                campaign(-3, "C", &temp_budget(-1)),
                campaign(-4, "D", &temp_budget(-2)),
                customer_op,
            ],
        )
        .await
        .unwrap();
    assert_eq!(total, 5);

    let operation = jobs.run(&job).await.unwrap();
    assert!(
        operation
            .name
            .starts_with(&format!("customers/{CID}/operations/"))
    );
    assert!(!operation.done);
    let status = jobs.results(&job, 0, "").await.unwrap_err();
    assert_eq!(batch_codes(&status), ["batch_job_error: RESULTS_NOT_READY"]);

    // Two operations a second: the metadata moves 0 -> 2 -> 4 -> 5.
    let mut seen = Vec::new();
    loop {
        let (done, meta) = metadata(&ctx, &operation.name).await;
        seen.push(meta.executed_operation_count.unwrap_or_default());
        assert_eq!(meta.operation_count, Some(5));
        if done {
            assert_eq!(meta.estimated_completion_ratio, Some(1.0));
            assert!(
                meta.completion_date_time.is_some_and(|t| t.len() == 19),
                "yyyy-mm-dd hh:mm:ss"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    seen.dedup();
    assert_eq!(seen, [0, 2, 4, 5]);

    // Pages hold at most 2 results, whatever was asked; results come in upload order.
    let mut results = Vec::new();
    let mut token = String::new();
    loop {
        let page = jobs.results(&job, 1000, &token).await.unwrap();
        assert!(page.results.len() <= 2);
        results.extend(page.results);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(
        results
            .iter()
            .map(|r| r.operation_index)
            .collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    let failed: Vec<i64> = results
        .iter()
        .filter(|r| r.status.is_some())
        .map(|r| r.operation_index)
        .collect();
    assert_eq!(failed, [1, 3, 4]);
    assert!(
        results[0].mutate_operation_response.is_some()
            && results[2].mutate_operation_response.is_some()
    );
    let error_of = |i: usize| {
        let status = results[i].status.as_ref().unwrap();
        codes(&GoogleAdsFailure::decode(status.details[0].value.as_slice()).unwrap())
    };
    assert_eq!(
        error_of(3),
        [
            "new_resource_creation_error: TEMP_ID_RESOURCE_HAD_ERRORS @ mutate_operations[3].campaign_operation.create.campaign_budget"
        ]
    );
    assert_eq!(
        error_of(4),
        ["mutate_error: MUTATE_NOT_ALLOWED @ mutate_operations[4]"]
    );
    assert_eq!(
        ctx.fake.count(CID, "Campaign"),
        1,
        "no rollback of the good operations"
    );
}

#[tokio::test(start_paused = true)]
async fn every_batch_job_error() {
    let ctx = start_default().await;
    let mut jobs = Jobs::new(&ctx);
    let job = jobs.create().await;

    assert_eq!(
        batch_codes(&jobs.add(&job, "", vec![]).await.unwrap_err()),
        ["batch_job_error: EMPTY_OPERATIONS @ mutate_operations"]
    );
    assert_eq!(
        batch_codes(
            &jobs
                .add(&job, "made-up", vec![label("A")])
                .await
                .unwrap_err()
        ),
        ["batch_job_error: INVALID_SEQUENCE_TOKEN @ sequence_token"]
    );
    let (_, token) = jobs.add(&job, "", vec![label("A")]).await.unwrap();
    assert_eq!(
        batch_codes(&jobs.add(&job, "", vec![label("B")]).await.unwrap_err()),
        ["batch_job_error: INVALID_SEQUENCE_TOKEN @ sequence_token"],
        "a stale (first-call) token"
    );
    let huge: Vec<MutateOperation> = (0..2000)
        .map(|i| label(&format!("{i}{}", "x".repeat(6000))))
        .collect();
    assert_eq!(
        batch_codes(&jobs.add(&job, &token, huge).await.unwrap_err()),
        ["batch_job_error: REQUEST_TOO_LARGE"]
    );
    let (_, token) = jobs.add(&job, &token, vec![label("B")]).await.unwrap();
    assert_eq!(
        batch_codes(&jobs.results(&job, -1, "").await.unwrap_err()),
        ["batch_job_error: RESULTS_NOT_READY"],
        "not ready comes before the page size check"
    );

    let operation = jobs.run(&job).await.unwrap();
    assert_eq!(
        batch_codes(&jobs.add(&job, &token, vec![label("C")]).await.unwrap_err()),
        ["batch_job_error: CANNOT_MODIFY_JOB_AFTER_JOB_STARTS_RUNNING"]
    );
    let remove = BatchJobOperation {
        operation: Some(batch_job_operation::Operation::Remove(job.clone())),
    };
    let status = jobs
        .client
        .mutate_batch_job(req(MutateBatchJobRequest {
            customer_id: CID.into(),
            operation: Some(remove),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        batch_codes(&status),
        ["batch_job_error: CAN_ONLY_REMOVE_PENDING_JOB @ operation.remove"]
    );

    while !metadata(&ctx, &operation.name).await.0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    for size in [-1, 1001] {
        assert_eq!(
            batch_codes(&jobs.results(&job, size, "").await.unwrap_err()),
            ["batch_job_error: INVALID_PAGE_SIZE @ page_size"]
        );
    }
    assert_eq!(jobs.results(&job, 0, "").await.unwrap().results.len(), 2);

    // A pending job can be removed.
    let pending = jobs.create().await;
    let remove = BatchJobOperation {
        operation: Some(batch_job_operation::Operation::Remove(pending.clone())),
    };
    jobs.client
        .mutate_batch_job(req(MutateBatchJobRequest {
            customer_id: CID.into(),
            operation: Some(remove),
        }))
        .await
        .unwrap();
    assert_eq!(
        batch_codes(&jobs.add(&pending, "", vec![label("X")]).await.unwrap_err()),
        ["mutate_error: RESOURCE_NOT_FOUND @ resource_name"]
    );
}

#[tokio::test(start_paused = true)]
async fn the_job_is_readable_with_gaql_including_its_next_sequence_token() {
    let ctx = start_default().await;
    let mut jobs = Jobs::new(&ctx);
    let job = jobs.create().await;
    let (_, token) = jobs.add(&job, "", vec![label("A")]).await.unwrap();
    let query = format!(
        "SELECT batch_job.resource_name, batch_job.next_add_sequence_token, batch_job.status, batch_job.metadata.operation_count \
         FROM batch_job WHERE batch_job.resource_name = '{job}'"
    );
    let rows = GoogleAdsServiceClient::new(ctx.channel.clone())
        .search(req(SearchGoogleAdsRequest {
            customer_id: CID.into(),
            query,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(rows.len(), 1);
    let read = rows[0].batch_job.as_ref().unwrap();
    assert_eq!(
        read.next_add_sequence_token.as_deref(),
        Some(token.as_str())
    );
    assert_eq!(read.status, BatchJobStatus::Pending as i32);
    assert_eq!(read.metadata.as_ref().unwrap().operation_count, Some(1));
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_the_job_and_keeps_what_ran() {
    let ctx = start(FakeServer::builder().batch_ops_per_second(1)).await;
    let mut jobs = Jobs::new(&ctx);
    let job = jobs.create().await;
    jobs.add(&job, "", (0..5).map(|i| label(&format!("L{i}"))).collect())
        .await
        .unwrap();
    let operation = jobs.run(&job).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    OperationsClient::new(ctx.channel.clone())
        .cancel_operation(req(CancelOperationRequest {
            name: operation.name.clone(),
        }))
        .await
        .unwrap();
    while !metadata(&ctx, &operation.name).await.0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let page = jobs.results(&job, 0, "").await.unwrap();
    assert_eq!(page.results.len(), 5, "a result for every operation");
    let ran = page.results.iter().filter(|r| r.status.is_none()).count();
    assert_eq!(
        ran, 2,
        "two seconds at one operation a second before the cancel"
    );
    assert_eq!(
        ctx.fake.count(CID, "Label"),
        2,
        "what ran is not rolled back"
    );
}

#[tokio::test(start_paused = true)]
async fn execution_limit_cancels_a_long_job() {
    let ctx = start(FakeServer::builder().batch_ops_per_second(1)).await;
    let mut jobs = Jobs::new(&ctx);
    let create = BatchJob {
        metadata: Some(BatchJobMetadata {
            execution_limit_seconds: Some(3),
            ..Default::default()
        }),
        ..Default::default()
    };
    let operation = BatchJobOperation {
        operation: Some(batch_job_operation::Operation::Create(create)),
    };
    let job = jobs
        .client
        .mutate_batch_job(req(MutateBatchJobRequest {
            customer_id: CID.into(),
            operation: Some(operation),
        }))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap()
        .resource_name;
    jobs.add(&job, "", (0..10).map(|i| label(&format!("L{i}"))).collect())
        .await
        .unwrap();
    let operation = jobs.run(&job).await.unwrap();
    while !metadata(&ctx, &operation.name).await.0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(ctx.fake.count(CID, "Label"), 3);
}

#[tokio::test(start_paused = true)]
async fn a_lost_upload_response_is_recovered_from_the_jobs_next_sequence_token() {
    use google_ads::fake::Fault;
    let ctx = start_default().await;
    let mut jobs = Jobs::new(&ctx);
    let job = jobs.create().await;
    let (_, token) = jobs.add(&job, "", vec![label("A")]).await.unwrap();
    ctx.fake
        .inject("AddBatchJobOperations", Fault::ResetAfterHandling);
    jobs.add(&job, &token, vec![label("B")])
        .await
        .expect_err("the response is lost");

    // A new connection; the job says where the upload stands.
    let channel = Endpoint::from_shared(ctx.fake.uri())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let query = format!(
        "SELECT batch_job.next_add_sequence_token, batch_job.metadata.operation_count FROM batch_job WHERE batch_job.resource_name = '{job}'"
    );
    let rows = GoogleAdsServiceClient::new(channel.clone())
        .search(req(SearchGoogleAdsRequest {
            customer_id: CID.into(),
            query,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .results;
    let read = rows[0].batch_job.as_ref().unwrap();
    assert_eq!(
        read.metadata.as_ref().unwrap().operation_count,
        Some(2),
        "the lost call's operations were added"
    );
    let next = read.next_add_sequence_token.clone().unwrap();
    assert_ne!(next, token);
    let mut jobs = Jobs {
        client: BatchJobServiceClient::new(channel),
    };
    assert_eq!(jobs.add(&job, &next, vec![label("C")]).await.unwrap().0, 3);
}

/// The job as GAQL reads it on `channel`, if it reads it.
async fn read_job(channel: &Channel, job: &str) -> Option<BatchJob> {
    let query = format!(
        "SELECT batch_job.resource_name, batch_job.status, batch_job.next_add_sequence_token, \
         batch_job.metadata.operation_count FROM batch_job WHERE batch_job.resource_name = '{job}'"
    );
    let rows = GoogleAdsServiceClient::new(channel.clone())
        .search(req(SearchGoogleAdsRequest {
            customer_id: CID.into(),
            query,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert!(rows.len() <= 1);
    rows.into_iter()
        .next()
        .and_then(|row| row.batch_job.map(|job| *job))
}

async fn new_channel(ctx: &Ctx) -> Channel {
    Endpoint::from_shared(ctx.fake.uri())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_token_less_upload_landing_late_doubles_the_job() {
    use google_ads::fake::Fault;
    let ctx = start_default().await;
    let mut jobs = Jobs::new(&ctx);
    let job = jobs.create().await;
    let ops = vec![label("A"), label("B")];

    // Checked as it arrives: a wrong token is refused at once, and the fault is spent.
    ctx.fake.inject(
        "AddBatchJobOperations",
        Fault::LandLate(Duration::from_secs(30)),
    );
    assert_eq!(
        batch_codes(&jobs.add(&job, "made-up", ops.clone()).await.unwrap_err()),
        ["batch_job_error: INVALID_SEQUENCE_TOKEN @ sequence_token"]
    );

    ctx.fake.inject(
        "AddBatchJobOperations",
        Fault::LandLate(Duration::from_secs(30)),
    );
    let sent = tokio::time::Instant::now();
    let status = jobs.add(&job, "", ops.clone()).await.unwrap_err();
    // No answer: the connection dropped, as with ResetBeforeHandling.
    assert_eq!(status.code(), Code::Unknown, "{status:?}");
    assert!(status.metadata().get("request-id").is_none(), "{status:?}");

    // The client reads the job back, finds it empty, and sends the same upload again.
    let channel = new_channel(&ctx).await;
    let read = read_job(&channel, &job).await.unwrap();
    assert_eq!(read.metadata.unwrap().operation_count, Some(0));
    let mut jobs = Jobs {
        client: BatchJobServiceClient::new(channel.clone()),
    };
    let (total, token) = jobs.add(&job, "", ops.clone()).await.unwrap();
    assert_eq!(total, 2);

    tokio::time::sleep_until(sent + Duration::from_secs(29)).await;
    assert_eq!(ctx.fake.batch_job_operations(&job).unwrap().len(), 2);
    tokio::time::sleep_until(sent + Duration::from_secs(31)).await;
    let read = read_job(&channel, &job).await.unwrap();
    assert_eq!(
        read.metadata.unwrap().operation_count,
        Some(4),
        "the late upload landed on top of its copy"
    );
    assert_eq!(read.status, BatchJobStatus::Pending as i32);
    let next = read.next_add_sequence_token.unwrap();
    assert_ne!(next, token, "the late upload moved the token on");
    let held: Vec<MutateOperation> = ctx.fake.batch_job_operations(&job).unwrap();
    assert_eq!(held, [ops.clone(), ops].concat());
    let uploads = ctx
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.method.ends_with("AddBatchJobOperations"))
        .count();
    assert_eq!(uploads, 3, "the refused one, the late one and its copy");
}

#[tokio::test(start_paused = true)]
async fn a_run_landing_late_starts_the_job_after_the_delay() {
    use google_ads::fake::Fault;
    let ctx = start_default().await;
    let mut jobs = Jobs::new(&ctx);
    let job = jobs.create().await;
    jobs.add(&job, "", vec![label("A")]).await.unwrap();
    ctx.fake
        .inject("RunBatchJob", Fault::LandLate(Duration::from_secs(10)));
    let status = jobs.run(&job).await.unwrap_err();
    assert_eq!(status.code(), Code::Unknown, "{status:?}");
    let channel = new_channel(&ctx).await;
    assert_eq!(
        read_job(&channel, &job).await.unwrap().status,
        BatchJobStatus::Pending as i32
    );
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_ne!(
        read_job(&channel, &job).await.unwrap().status,
        BatchJobStatus::Pending as i32,
        "the run landed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_job_removed_by_someone_else_is_gone_even_while_running() {
    let ctx = start(FakeServer::builder().batch_ops_per_second(1)).await;
    let mut jobs = Jobs::new(&ctx);
    let job = jobs.create().await;
    let (_, token) = jobs
        .add(&job, "", (0..5).map(|i| label(&format!("L{i}"))).collect())
        .await
        .unwrap();
    let operation = jobs.run(&job).await.unwrap().name;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(ctx.fake.count(CID, "Label"), 1);

    assert!(ctx.fake.remove_batch_job(&job));
    assert!(!ctx.fake.remove_batch_job(&job), "already gone");
    assert!(read_job(&ctx.channel, &job).await.is_none());
    assert!(ctx.fake.batch_job_operations(&job).is_none());

    // Its RPCs answer as for a job that never was.
    let never = format!("customers/{CID}/batchJobs/42");
    let never_operation = format!("customers/{CID}/operations/42");
    let mut answers = Vec::new();
    for (job, operation) in [(&job, &operation), (&never, &never_operation)] {
        let add = jobs.add(job, &token, vec![label("X")]).await.unwrap_err();
        let run = jobs.run(job).await.unwrap_err();
        let results = jobs.results(job, 0, "").await.unwrap_err();
        let get = OperationsClient::new(ctx.channel.clone())
            .get_operation(req(GetOperationRequest {
                name: operation.clone(),
            }))
            .await
            .unwrap_err();
        let cancel = OperationsClient::new(ctx.channel.clone())
            .cancel_operation(req(CancelOperationRequest {
                name: operation.clone(),
            }))
            .await
            .unwrap_err();
        answers.push(
            [add, run, results, get, cancel]
                .iter()
                .map(|s| (s.code(), codes(&failure(s)).join(", ").replace(job, "JOB")))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(
        answers[0][0],
        (
            Code::InvalidArgument,
            "mutate_error: RESOURCE_NOT_FOUND @ resource_name".to_owned()
        )
    );
    assert_eq!(answers[0][3].0, Code::NotFound);

    // It ran no further, and nothing brings it back.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(ctx.fake.count(CID, "Label"), 1, "what ran stays");
    assert!(read_job(&ctx.channel, &job).await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_job_cancelled_by_someone_else_stops_as_with_cancel_operation() {
    let ctx = start(FakeServer::builder().batch_ops_per_second(1)).await;
    let mut jobs = Jobs::new(&ctx);
    let pending = jobs.create().await;
    jobs.add(&pending, "", vec![label("P")]).await.unwrap();
    assert!(
        !ctx.fake.cancel_batch_job(&pending),
        "a pending job has no operation to cancel"
    );
    assert!(
        !ctx.fake
            .cancel_batch_job(&format!("customers/{CID}/batchJobs/42"))
    );

    let job = jobs.create().await;
    jobs.add(&job, "", (0..5).map(|i| label(&format!("L{i}"))).collect())
        .await
        .unwrap();
    let operation = jobs.run(&job).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(ctx.fake.cancel_batch_job(&job));
    while !metadata(&ctx, &operation.name).await.0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let page = jobs.results(&job, 0, "").await.unwrap();
    assert_eq!(page.results.len(), 5, "a result for every operation");
    let ran = page.results.iter().filter(|r| r.status.is_none()).count();
    assert_eq!(ran, 2, "two seconds at one operation a second");
    assert_eq!(ctx.fake.count(CID, "Label"), 2);

    // The pending job was left as it was: it runs whole.
    let operation = jobs.run(&pending).await.unwrap();
    while !metadata(&ctx, &operation.name).await.0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(ctx.fake.count(CID, "Label"), 3);
}

#[tokio::test(start_paused = true)]
async fn scripted_bad_results_pages_repeat_a_result_or_carry_a_bogus_index() {
    use google_ads::fake::Fault;
    let ctx = start(FakeServer::builder().batch_page_cap(2)).await;
    let mut jobs = Jobs::new(&ctx);
    let job = jobs.create().await;
    jobs.add(&job, "", (0..5).map(|i| label(&format!("L{i}"))).collect())
        .await
        .unwrap();
    let operation = jobs.run(&job).await.unwrap();
    while !metadata(&ctx, &operation.name).await.0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let indexes = |page: &google_ads::latest::services::ListBatchJobResultsResponse| {
        page.results
            .iter()
            .map(|r| r.operation_index)
            .collect::<Vec<_>>()
    };

    // On a first page there is no previous result to repeat.
    ctx.fake.inject("ListBatchJobResults", Fault::RepeatResults);
    let first = jobs.results(&job, 0, "").await.unwrap();
    assert_eq!(indexes(&first), [0, 1]);
    let token = first.next_page_token;

    ctx.fake.inject("ListBatchJobResults", Fault::RepeatResults);
    let repeated = jobs.results(&job, 0, &token).await.unwrap();
    assert_eq!(indexes(&repeated), [1, 2, 3], "1 again, already delivered");
    assert_eq!(repeated.results[0], first.results[1]);

    ctx.fake.inject(
        "ListBatchJobResults",
        Fault::BogusResultIndex(1_000_000_000_000),
    );
    let bogus = jobs.results(&job, 0, &token).await.unwrap();
    assert_eq!(indexes(&bogus), [1_000_000_000_000, 3]);

    let normal = jobs.results(&job, 0, &token).await.unwrap();
    assert_eq!(indexes(&normal), [2, 3]);
    assert_eq!(
        bogus.results[0].mutate_operation_response, normal.results[0].mutate_operation_response,
        "only the index is wrong"
    );
    assert_eq!(repeated.next_page_token, normal.next_page_token);
    assert_eq!(bogus.next_page_token, normal.next_page_token);
}

#[tokio::test(start_paused = true)]
async fn every_call_is_logged_with_its_arrival_time_batch_calls_too() {
    let ctx = start(FakeServer::builder().customer(CID).customer("2222222222")).await;
    let mut jobs = Jobs::new(&ctx);
    let first = jobs.create().await;
    let second = jobs.create().await;
    jobs.add(&first, "", vec![label("A")]).await.unwrap();
    jobs.add(&second, "", vec![label("B")]).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    jobs.run(&first).await.unwrap();
    tokio::time::sleep(Duration::from_secs(7)).await;
    jobs.run(&second).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // A method the fake does not serve is logged too.
    OperationsClient::new(ctx.channel.clone())
        .delete_operation(req(google_ads::longrunning::DeleteOperationRequest {
            name: format!("customers/{CID}/operations/1"),
        }))
        .await
        .unwrap_err();

    let calls = ctx.fake.calls();
    let runs: Vec<Duration> = calls
        .iter()
        .filter(|c| c.method.ends_with("BatchJobService/RunBatchJob"))
        .map(|c| c.at)
        .collect();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[1] - runs[0], Duration::from_secs(7));
    assert!(calls.windows(2).all(|w| w[0].at <= w[1].at), "in order");
    let last = calls.last().unwrap();
    assert!(last.method.ends_with("Operations/DeleteOperation"));
    assert_eq!(last.at - runs[0], Duration::from_secs(9));
    assert!(last.request.is_empty(), "never decoded");
    assert_eq!(last.header("developer-token"), Some("test-developer-token"));
}
