//! Lost answers, refusals and resets: the job ends holding exactly the operations sent.

use std::time::Duration;

use google_ads::fake::Fault;
use google_ads::latest::services::{
    AddBatchJobOperationsRequest, BatchJobOperation, MutateBatchJobRequest, batch_job_operation,
};
use tonic::Code;

use super::*;

/// 10% of upload calls lose their answer after the fake applied them; others meet
/// UNAVAILABLE, a quota error with a retry delay, INVALID_SEQUENCE_TOKEN; results pages meet
/// resets and INTERNAL. The job holds every operation once, and every outcome comes back.
#[tokio::test(start_paused = true)]
async fn faults_lose_nothing_and_double_nothing() {
    let (fake, client) = fake_and_client(fast_fake().batch_page_cap(500)).await;
    let (operations, planted) = job_operations(600, 6, false);
    let upload = "BatchJobService/AddBatchJobOperations";
    fake.inject(upload, Fault::Status(Code::Unavailable));
    fake.inject(
        upload,
        Fault::Quota {
            retry_delay: Duration::from_secs(30),
            developer: false,
        },
    );
    fake.inject(
        upload,
        Fault::AdsError {
            code: Code::InvalidArgument,
            category: "batch_job_error",
            name: "INVALID_SEQUENCE_TOKEN",
        },
    );
    fake.inject_sometimes(upload, Fault::ResetAfterHandling, 0.10, 7);
    fake.inject_times(
        "BatchJobService/ListBatchJobResults",
        Fault::ResetBeforeHandling,
        2,
    );
    fake.inject(
        "BatchJobService/ListBatchJobResults",
        Fault::Status(Code::Internal),
    );
    let driver = BatchJobDriver::new(&client, CID, OperationSource::from_vec(operations.clone()))
        .unwrap()
        .with_chunk_size(100)
        .with_poll_schedule(quick_polls());
    let (outcomes, summary) = run_to_end(driver).await;

    let job = job_name(&fake);
    holds_exactly(&fake, &job, &operations).unwrap();
    // Every failed upload was followed by reading the job back: three scripted faults and
    // the lost answers (seeded: the same calls every run).
    let calls = fake.calls();
    let run = calls
        .iter()
        .position(|c| c.method.ends_with("RunBatchJob"))
        .unwrap();
    let uploads = calls[..run]
        .iter()
        .filter(|c| c.method.ends_with(upload))
        .count();
    let reads_back = calls[..run]
        .iter()
        .filter(|c| c.method.ends_with("GoogleAdsService/Search"))
        .count();
    let chunks = operations.len().div_ceil(100);
    // The three refused calls were sent again; a lost answer's chunk had landed: not resent.
    assert_eq!(uploads, chunks + 3);
    assert!(
        reads_back >= 3 + 2,
        "{reads_back} reads back: the lost answers fired"
    );
    assert_eq!(outcomes.len(), operations.len());
    let codes = codes(&outcomes);
    for &i in &planted.cascaded {
        assert_eq!(
            codes[i],
            "new_resource_creation_error: TEMP_ID_RESOURCE_HAD_ERRORS"
        );
    }
    assert_eq!(summary.missing, 0);
    assert_eq!(
        summary.succeeded as usize + summary.failed_total() as usize,
        operations.len()
    );
}

/// The assertion above can fail: a driver that, after a lost answer, takes the job's new
/// sequence token and sends the chunk again (the bug of the libraries that resend
/// blindly) leaves the chunk in the job twice, and `holds_exactly` says so.
#[tokio::test(start_paused = true)]
async fn a_blind_resend_is_caught_by_the_record() {
    let (fake, client) = fake_and_client(fast_fake()).await;
    let (operations, _) = job_operations(10, 1, false);
    let job = client
        .batch_job()
        .mutate_batch_job(MutateBatchJobRequest {
            customer_id: CID.into(),
            operation: Some(BatchJobOperation {
                operation: Some(batch_job_operation::Operation::Create(Default::default())),
            }),
        })
        .await
        .unwrap()
        .result
        .unwrap()
        .resource_name;
    let send = |token: String| AddBatchJobOperationsRequest {
        resource_name: job.clone(),
        sequence_token: token,
        mutate_operations: operations.clone(),
    };
    fake.inject("AddBatchJobOperations", Fault::ResetAfterHandling);
    let lost = client
        .batch_job()
        .add_batch_job_operations(send(String::new()))
        .await;
    assert!(lost.is_err(), "the answer was lost");
    // The bug: read the token back and resend, without comparing the count.
    let status = google_ads::batch::job_statuses(&client, CID.parse().unwrap(), &[&job])
        .await
        .unwrap()
        .remove(0);
    client
        .batch_job()
        .add_batch_job_operations(send(status.next_add_sequence_token.unwrap()))
        .await
        .unwrap();
    let caught = holds_exactly(&fake, &job, &operations).unwrap_err();
    assert!(
        caught.contains(&format!("holds {}", 2 * operations.len())),
        "{caught}"
    );
}
