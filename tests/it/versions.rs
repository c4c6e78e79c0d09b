//! Two API versions side by side (features `v25` and `v26`): one client, one fake, each
//! version's handles, rows and errors in its own types.

use google_ads::failure::{self, CodeName};
use google_ads::fake::FakeServer;
use google_ads::{v25, v26};

#[test]
fn enabled_versions_are_the_features() {
    assert_eq!(google_ads::API_VERSIONS, ["v25", "v26"]);
    assert_eq!(google_ads::API_VERSION, "v26");
    assert_eq!(google_ads::latest::API_VERSION, "v26");
    assert_eq!(
        google_ads::FAILURE_TRAILER_KEYS,
        [
            (
                "v25",
                "google.ads.googleads.v25.errors.googleadsfailure-bin"
            ),
            (
                "v26",
                "google.ads.googleads.v26.errors.googleadsfailure-bin"
            ),
        ]
    );
    assert_eq!(
        v25::paths::google_ads_service::SEARCH_STREAM,
        "/google.ads.googleads.v25.services.GoogleAdsService/SearchStream"
    );
    // Each version's descriptors are its own.
    for (version, set) in [
        ("v25", v25::FILE_DESCRIPTOR_SET),
        ("v26", v26::FILE_DESCRIPTOR_SET),
    ] {
        let pool = prost_reflect::DescriptorPool::decode(set).unwrap();
        let row = format!("google.ads.googleads.{version}.services.GoogleAdsRow");
        assert!(pool.get_message_by_name(&row).is_some(), "{row}");
    }
}

#[tokio::test]
async fn one_client_calls_both_versions_against_one_fake() {
    let fake = FakeServer::start().await.unwrap();
    let client = crate::client_at(fake.uri());

    let old = client
        .v25()
        .customer()
        .list_accessible_customers(v25::services::ListAccessibleCustomersRequest::default())
        .await
        .unwrap();
    let new = client
        .v26()
        .customer()
        .list_accessible_customers(v26::services::ListAccessibleCustomersRequest::default())
        .await
        .unwrap();
    assert_eq!(old.resource_names, new.resource_names);
    assert!(!old.resource_names.is_empty());

    // A write and a report through v25's services: v25's own types.
    let customer = fake.customer_ids()[0].clone();
    let budget = v25::resources::CampaignBudget {
        name: Some("Written through v25".into()),
        amount_micros: Some(5_000_000),
        ..Default::default()
    };
    let created = client
        .v25()
        .campaign_budget()
        .mutate_campaign_budgets(v25::services::MutateCampaignBudgetsRequest {
            customer_id: customer.clone(),
            operations: vec![v25::services::CampaignBudgetOperation {
                operation: Some(v25::services::campaign_budget_operation::Operation::Create(
                    budget,
                )),
                ..Default::default()
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let name = &created.results[0].resource_name;
    let response = client
        .v25()
        .google_ads()
        .search(v25::services::SearchGoogleAdsRequest {
            customer_id: customer.clone(),
            query: "SELECT campaign_budget.name FROM campaign_budget".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let rows: Vec<v25::services::GoogleAdsRow> = response.results;
    let budgets: Vec<&v25::resources::CampaignBudget> = rows
        .iter()
        .filter_map(|r| r.campaign_budget.as_deref())
        .collect();
    assert_eq!(budgets.len(), 1, "{rows:?}");
    assert_eq!(&budgets[0].resource_name, name);
    assert_eq!(budgets[0].name.as_deref(), Some("Written through v25"));

    // The fake saw each call under the version asked.
    let methods: Vec<String> = fake.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(
        methods,
        [
            "google.ads.googleads.v25.services.CustomerService/ListAccessibleCustomers",
            "google.ads.googleads.v26.services.CustomerService/ListAccessibleCustomers",
            "google.ads.googleads.v25.services.CampaignBudgetService/MutateCampaignBudgets",
            "google.ads.googleads.v25.services.GoogleAdsService/Search",
        ]
    );
}

#[tokio::test]
async fn each_version_s_error_decodes_with_its_own_code() {
    let fake = FakeServer::start().await.unwrap();
    let client = crate::client_at(fake.uri());
    let customer = fake.customer_ids()[0].clone();
    let bad_query = "SELECT campaign.id FROM no_such_resource";

    let old = client
        .v25()
        .google_ads()
        .search(v25::services::SearchGoogleAdsRequest {
            customer_id: customer.clone(),
            query: bad_query.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    let new = client
        .v26()
        .google_ads()
        .search(v26::services::SearchGoogleAdsRequest {
            customer_id: customer.clone(),
            query: bad_query.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();

    assert_eq!(old.failure_version(), Some("v25"));
    assert_eq!(new.failure_version(), Some("v26"));
    // The crate's Error reads both the same way: codes and messages.
    let code = |e: &google_ads::Error| CodeName::of(&e.errors()[0]).unwrap().to_string();
    assert_eq!(code(&old), code(&new));
    assert!(code(&old).starts_with("query_error: "), "{}", code(&old));

    // And each version's own typed failure is there under its own trailer key.
    let metadata = old.status().unwrap().metadata();
    let typed: v25::errors::GoogleAdsFailure =
        failure::decode_from_metadata(metadata, v25::FAILURE_TRAILER_KEY)
            .unwrap()
            .unwrap();
    let Some(v25::errors::error_code::ErrorCode::QueryError(value)) = typed.errors[0]
        .error_code
        .as_ref()
        .and_then(|c| c.error_code)
    else {
        panic!("a v25 QueryError: {typed:?}");
    };
    let name = v25::errors::query_error_enum::QueryError::try_from(value)
        .unwrap()
        .as_str_name();
    assert_eq!(format!("query_error: {name}"), code(&old));
    let v26_typed: Option<v26::errors::GoogleAdsFailure> =
        failure::decode_from_metadata(metadata, v26::FAILURE_TRAILER_KEY).unwrap();
    assert!(
        v26_typed.is_none(),
        "a v25 call's failure is under v25's key only"
    );
}

#[tokio::test]
async fn a_report_sent_on_v25_reads_by_path_in_v25() {
    use google_ads::search::{Column, StreamExt as _};

    let fake = FakeServer::start().await.unwrap();
    let customer = fake.customer_ids()[0].clone();
    fake.synthetic_campaigns(&customer, 5);
    let client = crate::client_at(fake.uri());

    let query = "SELECT campaign.id, campaign.name FROM campaign";
    let mut rows = client
        .search_stream(customer.as_str(), query)
        .with_api_version(v25::API_VERSION)
        .await
        .unwrap()
        .lazy();
    let (id, name) = (
        Column::in_version("campaign.id", "v25").unwrap(),
        Column::in_version("campaign.name", "v25").unwrap(),
    );
    let mut read = Vec::new();
    while let Some(row) = rows.next().await {
        let row = row.unwrap();
        read.push((
            row.read(&id).as_i64(),
            row.read(&name).as_str().map(str::to_owned),
        ));
    }
    assert_eq!(read.len(), 5);
    assert!(
        read.iter().all(|(id, name)| id.is_some() && name.is_some()),
        "{read:?}"
    );
    let methods: Vec<String> = fake.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(
        methods,
        ["google.ads.googleads.v25.services.GoogleAdsService/SearchStream"]
    );

    // A field v25 has and v26 dropped (docs/migrating-v25-to-v26.md) reads only in v25.
    let only_v25 = "ad_group_bid_modifier.hotel_length_of_stay.min_nights";
    assert!(Column::in_version(only_v25, "v25").is_ok());
    let refused = Column::new(only_v25).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("no field `hotel_length_of_stay`"),
        "{refused}"
    );

    // A version this build does not have: refused before anything is sent.
    let error = client
        .search_stream(customer.as_str(), query)
        .with_api_version("v19")
        .await
        .unwrap_err();
    assert_eq!(error.invalid_field(), Some("api_version"));
    assert!(error.to_string().contains("enabled: v25, v26"), "{error}");
    assert_eq!(
        Column::in_version("campaign.id", "v19")
            .unwrap_err()
            .invalid_field(),
        Some("api_version")
    );
    assert_eq!(fake.calls().len(), 1, "nothing more was sent");
}

#[test]
fn an_error_code_only_an_older_version_has_keeps_its_name() {
    use google_ads::latest::errors::{ErrorCode, GoogleAdsError, error_code};
    use v25::errors::criterion_error_enum::CriterionError as V25CriterionError;

    // Dropped in v26 (docs/migrating-v25-to-v26.md), sent by a v25 server: the failure reads
    // in the newest's types, and the value is named by the version that has it.
    let dropped = V25CriterionError::HotelLengthOfStayOverlapsWithExistingCriterion;
    assert!(
        google_ads::latest::errors::criterion_error_enum::CriterionError::try_from(dropped as i32)
            .is_err(),
        "the newest version does not know it"
    );
    let error = GoogleAdsError {
        error_code: Some(ErrorCode {
            error_code: Some(error_code::ErrorCode::CriterionError(dropped as i32)),
        }),
        ..Default::default()
    };
    assert_eq!(
        CodeName::of(&error).unwrap().to_string(),
        "criterion_error: HOTEL_LENGTH_OF_STAY_OVERLAPS_WITH_EXISTING_CRITERION"
    );
}

#[tokio::test]
async fn a_v25_partial_failure_reads_like_the_newest_s() {
    let fake = FakeServer::start().await.unwrap();
    let client = crate::client_at(fake.uri());
    let customer = fake.customer_ids()[0].clone();
    let budgets =
        |names: &[&str], partial_failure: bool| v25::services::MutateCampaignBudgetsRequest {
            customer_id: customer.clone(),
            operations: names
                .iter()
                .map(|name| v25::services::CampaignBudgetOperation {
                    operation: Some(v25::services::campaign_budget_operation::Operation::Create(
                        v25::resources::CampaignBudget {
                            name: Some((*name).into()),
                            amount_micros: Some(1_000_000),
                            ..Default::default()
                        },
                    )),
                    ..Default::default()
                })
                .collect(),
            partial_failure,
            ..Default::default()
        };
    let service = client.v25().campaign_budget();
    service
        .mutate_campaign_budgets(budgets(&["Taken"], false))
        .await
        .unwrap();
    let response = service
        .mutate_campaign_budgets(budgets(&["Taken", "Fresh"], true))
        .await
        .unwrap();

    let status = response.partial_failure_error.expect("a partial failure");
    let failures = failure::from_rpc_status(&status);
    assert_eq!(failures.len(), 1, "{status:?}");
    let error = &failures[0].errors[0];
    assert_eq!(
        CodeName::of(error).unwrap().to_string(),
        "campaign_budget_error: DUPLICATE_NAME"
    );
    assert_eq!(failure::operation_index(error), Some(0));
    assert!(response.results[0].resource_name.is_empty());
    assert!(!response.results[1].resource_name.is_empty());
}
