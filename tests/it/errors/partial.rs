//! Partial failures mapped to the operations that caused them.

use google_ads::MutateResponse as _;
use google_ads::PartialFailure;
use google_ads::failure::CodeName;
use google_ads::latest::services::{
    CampaignBudgetOperation, MutateCampaignBudgetsRequest, MutateGoogleAdsRequest, MutateOperation,
    mutate_operation,
};

use google_ads::fake::Fault;

use super::*;

/// Ten budgets, 2, 5 and 9 with amounts the API refuses, each for its own reason.
fn ten_budgets() -> Vec<CampaignBudgetOperation> {
    (0..10)
        .map(|i| match i {
            2 => budget(i, -10_000),
            5 => budget(i, 1),
            9 => budget(i, -1),
            _ => budget(i, 10_000_000),
        })
        .collect()
}

/// The same ten, for GoogleAdsService.Mutate and batch jobs.
fn ten_budget_mutate_operations() -> Vec<MutateOperation> {
    ten_budgets()
        .into_iter()
        .map(|op| MutateOperation {
            operation: Some(mutate_operation::Operation::CampaignBudgetOperation(
                Box::new(op),
            )),
        })
        .collect()
}

fn names(errors: &[GoogleAdsError]) -> Vec<String> {
    errors
        .iter()
        .map(|e| CodeName::of(e).unwrap().to_string())
        .collect()
}

/// The ten through GoogleAdsService.Mutate with partial failure.
async fn mutate_ten_with_partial_failure(
    client: &GoogleAdsClient,
) -> google_ads::latest::services::MutateGoogleAdsResponse {
    client
        .google_ads()
        .mutate(MutateGoogleAdsRequest {
            customer_id: CID.into(),
            mutate_operations: ten_budget_mutate_operations(),
            partial_failure: true,
            ..Default::default()
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn ten_operations_failing_at_2_5_9_map_to_their_operations() {
    let (_fake, client, _) = fake_and_client(FakeServer::builder()).await;
    let response = mutate_ten_with_partial_failure(&client).await;
    let failure = response.partial_failure();
    assert_eq!(failure.failed_indices(), [2, 5, 9]);
    assert_eq!(
        names(failure.errors_for(2)),
        ["campaign_budget_error: NEGATIVE_MONEY_AMOUNT"]
    );
    assert_eq!(
        names(failure.errors_for(5)),
        ["campaign_budget_error: NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT"]
    );
    assert_eq!(
        names(failure.errors_for(9)),
        ["campaign_budget_error: NEGATIVE_MONEY_AMOUNT"]
    );
    assert!(failure.unattributed().is_empty());

    let outcomes = response.outcomes();
    assert_eq!(outcomes.len(), 10, "one per operation sent");
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(result) => {
                assert!(![2, 5, 9].contains(&i), "operation {i} should have failed");
                assert!(result.response.is_some(), "operation {i} has its result");
            }
            Err(errors) => {
                assert!([2, 5, 9].contains(&i), "operation {i} should have passed");
                assert_eq!(google_ads::failure::operation_index(&errors[0]), Some(i));
            }
        }
    }
}

/// Per-service mutates index errors by `operations`, not `mutate_operations`.
#[tokio::test]
async fn a_per_service_mutate_maps_the_same_way() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    let response = client
        .campaign_budget()
        .mutate_campaign_budgets(MutateCampaignBudgetsRequest {
            customer_id: CID.into(),
            operations: ten_budgets(),
            partial_failure: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(response.partial_failure().failed_indices(), [2, 5, 9]);
    let created: Vec<usize> = response
        .outcomes()
        .iter()
        .enumerate()
        .filter(|(_, o)| o.as_ref().is_ok_and(|r| !r.resource_name.is_empty()))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(created, [0, 1, 3, 4, 6, 7, 8]);
    assert_eq!(fake.count(CID, "CampaignBudget"), 7);
}

/// An atomic mutate that fails names the operations that broke it, through `Error`.
#[tokio::test]
async fn an_atomic_failure_names_its_operations() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    let error = client
        .campaign_budget()
        .mutate_campaign_budgets(MutateCampaignBudgetsRequest {
            customer_id: CID.into(),
            operations: ten_budgets(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        error
            .errors_by_operation()
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        [2, 5, 9]
    );
    assert_eq!(
        fake.count(CID, "CampaignBudget"),
        0,
        "atomic: nothing committed"
    );
}

#[test]
fn a_failed_status_without_a_readable_failure_is_not_lost() {
    let status = google_ads::rpc::Status {
        code: 3,
        message: "Something went wrong.".into(),
        details: vec![prost_types::Any {
            type_url: format!(
                "type.googleapis.com/{}.errors.GoogleAdsFailure",
                google_ads::latest::PACKAGE
            ),
            value: vec![0xff, 0xff],
        }],
    };
    let failure = PartialFailure::from_status(&status);
    assert!(!failure.is_empty());
    assert_eq!(failure.message(), Some("Something went wrong."));
}

/// A batch job's results map the same way, by their `operation_index`.
#[tokio::test(start_paused = true)]
async fn batch_job_results_map_to_their_operations() {
    use google_ads::latest::resources::BatchJob;
    use google_ads::latest::services::{
        AddBatchJobOperationsRequest, BatchJobOperation, ListBatchJobResultsRequest,
        MutateBatchJobRequest, RunBatchJobRequest, batch_job_operation,
    };
    use google_ads::longrunning::GetOperationRequest;

    let (_fake, client, _) = fake_and_client(FakeServer::builder()).await;
    let job = client
        .batch_job()
        .mutate_batch_job(MutateBatchJobRequest {
            customer_id: CID.into(),
            operation: Some(BatchJobOperation {
                operation: Some(batch_job_operation::Operation::Create(BatchJob::default())),
            }),
        })
        .await
        .unwrap()
        .result
        .unwrap()
        .resource_name;
    let ops = ten_budget_mutate_operations();
    // Two uploads: indices run across them.
    let (first, second) = ops.split_at(4);
    let mut token = String::new();
    for chunk in [first, second] {
        token = client
            .batch_job()
            .add_batch_job_operations(AddBatchJobOperationsRequest {
                resource_name: job.clone(),
                sequence_token: token.clone(),
                mutate_operations: chunk.to_vec(),
            })
            .await
            .unwrap()
            .next_sequence_token;
    }
    let operation = client
        .batch_job()
        .run_batch_job(RunBatchJobRequest {
            resource_name: job.clone(),
        })
        .await
        .unwrap();
    loop {
        let state = client
            .operations()
            .get_operation(GetOperationRequest {
                name: operation.name.clone(),
            })
            .await
            .unwrap();
        if state.done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    let results = client
        .batch_job()
        .list_batch_job_results(ListBatchJobResultsRequest {
            resource_name: job,
            page_size: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .results;
    let failure = PartialFailure::from_batch_results(&results);
    assert_eq!(failure.failed_indices(), [2, 5, 9]);
    assert_eq!(
        names(failure.errors_for(5)),
        ["campaign_budget_error: NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT"]
    );
    let outcomes = PartialFailure::batch_outcomes(&results);
    assert_eq!(outcomes.len(), 10);
    for (i, outcome) in &outcomes {
        assert_eq!(outcome.is_err(), [2, 5, 9].contains(i), "operation {i}");
    }
}

/// Every operation-list field name of the API gives an index; other first fields do not.
#[test]
fn operation_fields_of_every_mutate_and_upload_are_understood() {
    use google_ads::failure::operation_index;
    for field in [
        "mutate_operations",
        "operations",
        "conversions",
        "conversion_adjustments",
    ] {
        let error = GoogleAdsError {
            location: path(&[(field, Some(4)), ("x", None)]),
            ..Default::default()
        };
        assert_eq!(operation_index(&error), Some(4), "{field}");
    }
    for (field, index) in [
        ("customer_id", Some(4)),
        ("operations", None),
        ("operations", Some(-1)),
    ] {
        let error = GoogleAdsError {
            location: path(&[(field, index)]),
            ..Default::default()
        };
        assert_eq!(operation_index(&error), None, "{field} {index:?}");
    }
}

/// An unreadable partial failure names no operation: every operation the server left without
/// a result is reported failed (with the failure's message), none as committed.
#[tokio::test]
async fn a_corrupt_partial_failure_leaves_no_failed_operation_ok() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.inject("GoogleAdsService/Mutate", Fault::CorruptPartialFailure);
    let response = mutate_ten_with_partial_failure(&client).await;
    let failure = response.partial_failure();
    assert!(
        failure.failed_indices().is_empty(),
        "nothing is attributable"
    );
    assert!(!failure.is_empty());
    let outcomes = response.outcomes();
    assert_eq!(outcomes.len(), 10);
    for (i, outcome) in outcomes.iter().enumerate() {
        match (i, outcome) {
            (2 | 5 | 9, Err(errors)) => {
                assert!(
                    errors[0].message.contains("Multiple errors in 'details'"),
                    "{i}: {errors:?}"
                );
            }
            (2 | 5 | 9, Ok(result)) => panic!("operation {i} failed but reads Ok: {result:?}"),
            (_, Ok(result)) => assert!(result.response.is_some(), "{i}"),
            (_, Err(errors)) => panic!("operation {i} committed but reads Err: {errors:?}"),
        }
    }
    assert_eq!(fake.count(CID, "CampaignBudget"), 7);
}

/// Errors without an operation index (about the request as a whole) cannot be attributed
/// either: the per-service results without a resource name are the failed ones.
#[test]
fn unattributed_errors_fail_the_empty_results() {
    use google_ads::latest::services::{MutateCampaignBudgetResult, MutateCampaignBudgetsResponse};
    let unattributed = ads_error(
        google_ads::latest::errors::error_code::ErrorCode::InternalError(2),
        "something broke",
        None,
    );
    let response = MutateCampaignBudgetsResponse {
        partial_failure_error: Some(google_ads::rpc::Status {
            code: 3,
            message: "Multiple errors in 'details'. First error: something broke".into(),
            details: vec![prost_types::Any {
                type_url: format!(
                    "type.googleapis.com/google.ads.googleads.{}.errors.GoogleAdsFailure",
                    google_ads::API_VERSION
                ),
                value: GoogleAdsFailure {
                    errors: vec![unattributed.clone()],
                    request_id: "r".into(),
                }
                .encode_to_vec(),
            }],
        }),
        results: vec![
            MutateCampaignBudgetResult {
                resource_name: "customers/1234567890/campaignBudgets/1".into(),
                ..Default::default()
            },
            MutateCampaignBudgetResult::default(),
        ],
    };
    let outcomes = response.outcomes();
    assert!(outcomes[0].is_ok());
    assert_eq!(outcomes[1].as_ref().unwrap_err(), &vec![unattributed]);
}
