//! GoogleAdsService.Mutate and the per-resource Mutate* services.

use google_ads::fake::FakeServer;
use google_ads::latest::enums::campaign_status_enum::CampaignStatus;
use google_ads::latest::enums::response_content_type_enum::ResponseContentType;
use google_ads::latest::errors::GoogleAdsFailure;
use google_ads::latest::services::campaign_service_client::CampaignServiceClient;
use google_ads::latest::services::google_ads_service_client::GoogleAdsServiceClient;
use google_ads::latest::services::{
    CampaignOperation, MutateCampaignsRequest, MutateGoogleAdsRequest, MutateGoogleAdsResponse,
    MutateOperation, campaign_operation, mutate_operation, mutate_operation_response,
};
use prost::Message;
use tonic::Code;

use super::*;

fn request(operations: Vec<MutateOperation>) -> MutateGoogleAdsRequest {
    MutateGoogleAdsRequest {
        customer_id: CID.into(),
        mutate_operations: operations,
        ..Default::default()
    }
}

async fn mutate(
    ctx: &Ctx,
    request: MutateGoogleAdsRequest,
) -> Result<MutateGoogleAdsResponse, tonic::Status> {
    GoogleAdsServiceClient::new(ctx.channel.clone())
        .mutate(req(request))
        .await
        .map(|r| r.into_inner())
}

/// The resource names of the results, "" where an operation failed.
fn names(response: &MutateGoogleAdsResponse) -> Vec<String> {
    use mutate_operation_response::Response::*;
    response
        .mutate_operation_responses
        .iter()
        .map(|r| match &r.response {
            Some(CampaignBudgetResult(r)) => r.resource_name.clone(),
            Some(CampaignResult(r)) => r.resource_name.clone(),
            Some(AdGroupResult(r)) => r.resource_name.clone(),
            Some(LabelResult(r)) => r.resource_name.clone(),
            None => String::new(),
            Some(other) => panic!("unexpected result {other:?}"),
        })
        .collect()
}

fn partial_failure(response: &MutateGoogleAdsResponse) -> (String, GoogleAdsFailure) {
    let status = response
        .partial_failure_error
        .as_ref()
        .expect("partial_failure_error");
    assert_eq!(status.code, 3);
    assert_eq!(status.details.len(), 1);
    assert!(
        status.details[0]
            .type_url
            .ends_with("errors.GoogleAdsFailure"),
        "{}",
        status.details[0].type_url
    );
    (
        status.message.clone(),
        GoogleAdsFailure::decode(status.details[0].value.as_slice()).unwrap(),
    )
}

#[tokio::test]
async fn budget_and_campaign_linked_by_temporary_name_are_created_atomically() {
    let ctx = start_default().await;
    let response = mutate(
        &ctx,
        request(vec![
            budget(-1, "B", 10_000_000),
            campaign(-2, "C", &temp_budget(-1)),
        ]),
    )
    .await
    .unwrap();
    let names = names(&response);
    assert!(
        names[0].starts_with(&format!("customers/{CID}/campaignBudgets/"))
            && !names[0].ends_with("/-1"),
        "{names:?}"
    );
    assert!(
        names[1].starts_with(&format!("customers/{CID}/campaigns/")) && !names[1].ends_with("/-2"),
        "{names:?}"
    );
    assert_eq!(ctx.fake.count(CID, "CampaignBudget"), 1);
    assert_eq!(ctx.fake.count(CID, "Campaign"), 1);
}

#[tokio::test]
async fn mutable_resource_results_carry_the_resource_with_real_references() {
    let ctx = start_default().await;
    let mut request = request(vec![
        budget(-1, "B", 10_000_000),
        campaign(-2, "C", &temp_budget(-1)),
    ]);
    request.response_content_type = ResponseContentType::MutableResource as i32;
    let response = mutate(&ctx, request).await.unwrap();
    let budget_name = names(&response)[0].clone();
    let Some(mutate_operation_response::Response::CampaignResult(result)) =
        &response.mutate_operation_responses[1].response
    else {
        panic!("campaign result");
    };
    let campaign = result.campaign.as_ref().expect("the campaign itself");
    assert_eq!(
        campaign.campaign_budget.as_deref(),
        Some(budget_name.as_str()),
        "the temporary reference was resolved"
    );
    assert_eq!(campaign.name.as_deref(), Some("C"));
    assert!(campaign.id.is_some_and(|id| id > 0));
}

/// Ops: 0 good budget, 1 campaign with a duplicate name, 2 good label, 3 label with the
/// same name as 2 (duplicate within the request).
fn mixed_input() -> Vec<MutateOperation> {
    vec![
        budget(-1, "B", 10_000_000),
        campaign(-2, "Taken", &temp_budget(-1)),
        label("L1"),
        label("L1"),
    ]
}

#[tokio::test]
async fn atomic_and_partial_failure_differ_on_the_same_input() {
    let ctx = start_default().await;
    // An existing campaign named "Taken".
    mutate(
        &ctx,
        request(vec![
            budget(-1, "B0", 10_000_000),
            campaign(-2, "Taken", &temp_budget(-1)),
        ]),
    )
    .await
    .unwrap();

    let status = mutate(&ctx, request(mixed_input())).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "Request contains an invalid argument.");
    assert_eq!(
        codes(&failure(&status)),
        [
            "campaign_error: DUPLICATE_CAMPAIGN_NAME @ mutate_operations[1].campaign_operation.create.name",
            "label_error: DUPLICATE_NAME @ mutate_operations[3].label_operation.create.name",
        ]
    );
    assert_eq!(
        (
            ctx.fake.count(CID, "CampaignBudget"),
            ctx.fake.count(CID, "Label")
        ),
        (1, 0),
        "atomic: nothing committed"
    );

    let mut partial = request(mixed_input());
    partial.partial_failure = true;
    let response = mutate(&ctx, partial).await.unwrap();
    let names = names(&response);
    assert!(
        !names[0].is_empty() && names[1].is_empty() && !names[2].is_empty() && names[3].is_empty(),
        "{names:?}"
    );
    let (message, failure) = partial_failure(&response);
    assert!(
        message.starts_with(
            "Multiple errors in 'details'. First error: Campaign name is already in use."
        ),
        "{message}"
    );
    assert_eq!(
        codes(&failure),
        [
            "campaign_error: DUPLICATE_CAMPAIGN_NAME @ mutate_operations[1].campaign_operation.create.name",
            "label_error: DUPLICATE_NAME @ mutate_operations[3].label_operation.create.name",
        ]
    );
    assert_eq!(
        (
            ctx.fake.count(CID, "CampaignBudget"),
            ctx.fake.count(CID, "Label")
        ),
        (2, 1),
        "partial: good ones committed"
    );
}

#[tokio::test]
async fn validate_only_reports_errors_and_commits_nothing() {
    let ctx = start_default().await;
    let mut good = request(vec![budget(-1, "B", 10_000_000)]);
    good.validate_only = true;
    let response = mutate(&ctx, good).await.unwrap();
    assert!(response.mutate_operation_responses.is_empty());
    let mut bad = request(vec![budget(-1, "B", 10_000_001)]);
    bad.validate_only = true;
    let status = mutate(&ctx, bad).await.unwrap_err();
    assert_eq!(
        codes(&failure(&status)),
        [
            "campaign_budget_error: NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT @ mutate_operations[0].campaign_budget_operation.create.amount_micros"
        ]
    );
    assert_eq!(ctx.fake.count(CID, "CampaignBudget"), 0);
}

#[tokio::test]
async fn temporary_name_rules() {
    let ctx = start_default().await;
    let cases: Vec<(Vec<MutateOperation>, Vec<&str>)> = vec![
        // The same temporary id twice, even across resource types.
        (
            vec![
                budget(-1, "B1", 10_000_000),
                campaign(-1, "C1", &temp_budget(-1)),
            ],
            vec![
                "new_resource_creation_error: DUPLICATE_TEMP_IDS @ mutate_operations[1].campaign_operation.create.resource_name",
            ],
        ),
        // Referenced before the operation that creates it.
        (
            vec![
                campaign(-2, "C2", &temp_budget(-1)),
                budget(-1, "B2", 10_000_000),
            ],
            vec![
                "mutate_error: RESOURCE_NOT_FOUND @ mutate_operations[0].campaign_operation.create.campaign_budget",
            ],
        ),
        // A child of a failed parent.
        (
            vec![
                budget(-1, "B3", 5),
                campaign(-2, "C3", &temp_budget(-1)),
                ad_group(-3, "G3", &temp_campaign(-2)),
            ],
            vec![
                "campaign_budget_error: NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT @ mutate_operations[0].campaign_budget_operation.create.amount_micros",
                "new_resource_creation_error: TEMP_ID_RESOURCE_HAD_ERRORS @ mutate_operations[1].campaign_operation.create.campaign_budget",
                "new_resource_creation_error: TEMP_ID_RESOURCE_HAD_ERRORS @ mutate_operations[2].ad_group_operation.create.campaign",
            ],
        ),
        // A real id on create.
        (
            vec![budget(42, "B4", 10_000_000)],
            vec![
                "new_resource_creation_error: CANNOT_SET_ID_FOR_CREATE @ mutate_operations[0].campaign_budget_operation.create.resource_name",
            ],
        ),
    ];
    for (ops, expected) in cases {
        let mut partial = request(ops);
        partial.partial_failure = true;
        let response = mutate(&ctx, partial).await.unwrap();
        assert_eq!(codes(&partial_failure(&response).1), expected);
    }
    // Temporary ids are not remembered across requests.
    let status = mutate(&ctx, request(vec![campaign(-2, "C5", &temp_budget(-1))]))
        .await
        .unwrap_err();
    assert_eq!(
        codes(&failure(&status)),
        [
            "mutate_error: RESOURCE_NOT_FOUND @ mutate_operations[0].campaign_operation.create.campaign_budget"
        ]
    );
}

#[tokio::test]
async fn the_same_resource_twice_in_one_request_is_refused() {
    let ctx = start_default().await;
    let created = mutate(
        &ctx,
        request(vec![
            budget(-1, "B", 10_000_000),
            campaign(-2, "C", &temp_budget(-1)),
        ]),
    )
    .await
    .unwrap();
    let campaign_name = names(&created)[1].clone();
    let update = |status: CampaignStatus| MutateOperation {
        operation: Some(mutate_operation::Operation::CampaignOperation(Box::new(
            CampaignOperation {
                operation: Some(campaign_operation::Operation::Update(
                    google_ads::latest::resources::Campaign {
                        resource_name: campaign_name.clone(),
                        status: status as i32,
                        ..Default::default()
                    },
                )),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["status".into()],
                }),
            },
        ))),
    };
    let status = mutate(
        &ctx,
        request(vec![
            update(CampaignStatus::Paused),
            update(CampaignStatus::Enabled),
        ]),
    )
    .await
    .unwrap_err();
    assert_eq!(
        codes(&failure(&status)),
        [
            "mutate_error: ID_EXISTS_IN_MULTIPLE_MUTATES @ mutate_operations[1].campaign_operation.update"
        ]
    );
    let response = mutate(&ctx, request(vec![update(CampaignStatus::Paused)]))
        .await
        .unwrap();
    assert_eq!(names(&response), [campaign_name]);
}

#[tokio::test]
async fn validation_of_required_fields_parents_enums_and_amounts() {
    let ctx = start_default().await;
    let missing_budget_ref = campaign(-2, "C", "");
    let mut bad_enum = campaign_resource(-3, "C2", &format!("customers/{CID}/campaignBudgets/777"));
    bad_enum.status = 1; // UNKNOWN: output only
    let unknown_parent = campaign(-4, "C3", &format!("customers/{CID}/campaignBudgets/777"));
    let mut partial = request(vec![
        missing_budget_ref,
        MutateOperation {
            operation: Some(mutate_operation::Operation::CampaignOperation(Box::new(
                CampaignOperation {
                    operation: Some(campaign_operation::Operation::Create(bad_enum)),
                    ..Default::default()
                },
            ))),
        },
        unknown_parent,
        budget(-5, "Negative", -10_000),
        MutateOperation { operation: None },
    ]);
    partial.partial_failure = true;
    let response = mutate(&ctx, partial).await.unwrap();
    assert_eq!(
        codes(&partial_failure(&response).1),
        [
            "field_error: REQUIRED @ mutate_operations[0].campaign_operation.create.campaign_budget",
            "mutate_error: RESOURCE_NOT_FOUND @ mutate_operations[1].campaign_operation.create.campaign_budget",
            "request_error: INVALID_ENUM_VALUE @ mutate_operations[1].campaign_operation.create.status",
            "mutate_error: RESOURCE_NOT_FOUND @ mutate_operations[2].campaign_operation.create.campaign_budget",
            "campaign_budget_error: NEGATIVE_MONEY_AMOUNT @ mutate_operations[3].campaign_budget_operation.create.amount_micros",
            "request_error: OPERATION_REQUIRED @ mutate_operations[4]",
        ]
    );
}

#[tokio::test]
async fn more_than_ten_thousand_operations_are_refused() {
    let ctx = start_default().await;
    let ops = (0..10_001).map(|i| label(&format!("L{i}"))).collect();
    let status = mutate(&ctx, request(ops)).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        codes(&failure(&status)),
        ["request_error: TOO_MANY_MUTATE_OPERATIONS @ mutate_operations"]
    );
}

#[tokio::test]
async fn per_resource_service_uses_operations_paths_and_its_own_results() {
    let ctx = start_default().await;
    let budget_name = names(
        &mutate(&ctx, request(vec![budget(-1, "B", 10_000_000)]))
            .await
            .unwrap(),
    )[0]
    .clone();
    let create = |name: &str| CampaignOperation {
        operation: Some(campaign_operation::Operation::Create(campaign_resource(
            0,
            name,
            &budget_name,
        ))),
        ..Default::default()
    };
    let mut no_temp = create("A");
    if let Some(campaign_operation::Operation::Create(c)) = no_temp.operation.as_mut() {
        c.resource_name.clear();
    }
    let response = CampaignServiceClient::new(ctx.channel.clone())
        .mutate_campaigns(req(MutateCampaignsRequest {
            customer_id: CID.into(),
            operations: vec![no_temp.clone(), no_temp],
            partial_failure: true,
            response_content_type: ResponseContentType::MutableResource as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.results.len(), 2);
    assert!(
        response.results[0]
            .campaign
            .as_ref()
            .is_some_and(|c| c.name.as_deref() == Some("A"))
    );
    assert!(response.results[1].resource_name.is_empty());
    let failure = GoogleAdsFailure::decode(
        response.partial_failure_error.unwrap().details[0]
            .value
            .as_slice(),
    )
    .unwrap();
    assert_eq!(
        codes(&failure),
        ["campaign_error: DUPLICATE_CAMPAIGN_NAME @ operations[1].create.name"]
    );
}

#[tokio::test]
async fn interleaved_resource_types_cost_more_steps_than_grouped_ones() {
    tokio::time::pause();
    let ctx =
        start(FakeServer::builder().mutate_step_latency(std::time::Duration::from_secs(1))).await;
    let timed = |ops: Vec<MutateOperation>| {
        let ctx = &ctx;
        async move {
            let started = tokio::time::Instant::now();
            let mut r = request(ops);
            r.validate_only = true;
            mutate(ctx, r).await.unwrap();
            started.elapsed().as_secs()
        }
    };
    let grouped = timed(vec![
        label("A"),
        label("B"),
        budget(-1, "X", 10_000),
        budget(-2, "Y", 10_000),
    ])
    .await;
    let interleaved = timed(vec![
        label("A"),
        budget(-1, "X", 10_000),
        label("B"),
        budget(-2, "Y", 10_000),
    ])
    .await;
    assert_eq!((grouped, interleaved), (2, 4));
}

#[tokio::test]
async fn every_modelled_resource_through_its_own_service() {
    use google_ads::latest::common::{
        AdTextAsset, KeywordInfo, LanguageInfo, ResponsiveSearchAdInfo,
    };
    use google_ads::latest::resources::{
        Ad, AdGroupAd, AdGroupCriterion, CampaignBudget, CampaignCriterion, Label, ad,
        ad_group_criterion, campaign_criterion,
    };
    use google_ads::latest::services::ad_group_ad_service_client::AdGroupAdServiceClient;
    use google_ads::latest::services::ad_group_criterion_service_client::AdGroupCriterionServiceClient;
    use google_ads::latest::services::ad_group_service_client::AdGroupServiceClient;
    use google_ads::latest::services::campaign_budget_service_client::CampaignBudgetServiceClient;
    use google_ads::latest::services::campaign_criterion_service_client::CampaignCriterionServiceClient;
    use google_ads::latest::services::label_service_client::LabelServiceClient;
    use google_ads::latest::services::*;
    let ctx = start_default().await;
    let ch = ctx.channel.clone();
    let budget = CampaignBudgetServiceClient::new(ch.clone())
        .mutate_campaign_budgets(req(MutateCampaignBudgetsRequest {
            customer_id: CID.into(),
            operations: vec![CampaignBudgetOperation {
                operation: Some(campaign_budget_operation::Operation::Create(
                    CampaignBudget {
                        name: Some("B".into()),
                        amount_micros: Some(1_000_000),
                        ..Default::default()
                    },
                )),
                ..Default::default()
            }],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .results[0]
        .resource_name
        .clone();
    let campaign = CampaignServiceClient::new(ch.clone())
        .mutate_campaigns(req(MutateCampaignsRequest {
            customer_id: CID.into(),
            operations: vec![CampaignOperation {
                operation: Some(campaign_operation::Operation::Create(Campaign {
                    resource_name: String::new(),
                    ..campaign_resource(0, "C", &budget)
                })),
                ..Default::default()
            }],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .results[0]
        .resource_name
        .clone();
    let ad_group = AdGroupServiceClient::new(ch.clone())
        .mutate_ad_groups(req(MutateAdGroupsRequest {
            customer_id: CID.into(),
            operations: vec![AdGroupOperation {
                operation: Some(ad_group_operation::Operation::Create(
                    google_ads::latest::resources::AdGroup {
                        name: Some("G".into()),
                        campaign: Some(campaign.clone()),
                        ..Default::default()
                    },
                )),
                ..Default::default()
            }],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .results[0]
        .resource_name
        .clone();
    let ad_group_id = ad_group.rsplit('/').next().unwrap().to_owned();

    let ad = AdGroupAdServiceClient::new(ch.clone())
        .mutate_ad_group_ads(req(MutateAdGroupAdsRequest {
            customer_id: CID.into(),
            operations: vec![AdGroupAdOperation {
                operation: Some(ad_group_ad_operation::Operation::Create(AdGroupAd {
                    ad_group: Some(ad_group.clone()),
                    ad: Some(Ad {
                        final_urls: vec!["https://example.com".into()],
                        ad_data: Some(ad::AdData::ResponsiveSearchAd(ResponsiveSearchAdInfo {
                            headlines: vec![AdTextAsset {
                                text: Some("Hello".into()),
                                ..Default::default()
                            }],
                            ..Default::default()
                        })),
                        ..Default::default()
                    }),
                    ..Default::default()
                })),
                ..Default::default()
            }],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .results[0]
        .resource_name
        .clone();
    assert!(
        ad.starts_with(&format!("customers/{CID}/adGroupAds/{ad_group_id}~")),
        "composite name from the parent: {ad}"
    );

    let criterion = AdGroupCriterionServiceClient::new(ch.clone())
        .mutate_ad_group_criteria(req(MutateAdGroupCriteriaRequest {
            customer_id: CID.into(),
            operations: vec![AdGroupCriterionOperation {
                operation: Some(ad_group_criterion_operation::Operation::Create(
                    AdGroupCriterion {
                        ad_group: Some(ad_group.clone()),
                        criterion: Some(ad_group_criterion::Criterion::Keyword(KeywordInfo {
                            text: Some("shoes".into()),
                            match_type: 2,
                        })),
                        ..Default::default()
                    },
                )),
                ..Default::default()
            }],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .results[0]
        .resource_name
        .clone();
    assert!(
        criterion.starts_with(&format!("customers/{CID}/adGroupCriteria/{ad_group_id}~")),
        "{criterion}"
    );

    let campaign_id = campaign.rsplit('/').next().unwrap().to_owned();
    let campaign_criterion = CampaignCriterionServiceClient::new(ch.clone())
        .mutate_campaign_criteria(req(MutateCampaignCriteriaRequest {
            customer_id: CID.into(),
            operations: vec![CampaignCriterionOperation {
                operation: Some(campaign_criterion_operation::Operation::Create(
                    CampaignCriterion {
                        campaign: Some(campaign.clone()),
                        criterion: Some(campaign_criterion::Criterion::Language(LanguageInfo {
                            language_constant: Some("languageConstants/1000".into()),
                        })),
                        ..Default::default()
                    },
                )),
                ..Default::default()
            }],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .results[0]
        .resource_name
        .clone();
    assert!(
        campaign_criterion.starts_with(&format!("customers/{CID}/campaignCriteria/{campaign_id}~")),
        "{campaign_criterion}"
    );

    let status = LabelServiceClient::new(ch.clone())
        .mutate_labels(req(MutateLabelsRequest {
            customer_id: CID.into(),
            operations: vec![LabelOperation {
                operation: Some(label_operation::Operation::Create(Label::default())),
                ..Default::default()
            }],
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(
        codes(&failure(&status)),
        ["field_error: REQUIRED @ operations[0].create.name"]
    );
    for (message, count) in [
        ("CampaignBudget", 1),
        ("Campaign", 1),
        ("AdGroup", 1),
        ("AdGroupAd", 1),
        ("AdGroupCriterion", 1),
        ("CampaignCriterion", 1),
        ("Label", 0),
    ] {
        assert_eq!(ctx.fake.count(CID, message), count, "{message}");
    }
}
