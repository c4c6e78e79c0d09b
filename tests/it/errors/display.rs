//! Golden tests of `Error`'s Display, and its predicates.

use std::time::Duration;

use google_ads::Error;
use google_ads::latest::common::{Value, value};
use google_ads::latest::enums::advertising_channel_type_enum::AdvertisingChannelType;
use google_ads::latest::errors::error_code::ErrorCode as Code;
use google_ads::latest::errors::{ErrorDetails, QuotaErrorDetails};
use google_ads::latest::resources::Campaign;
use google_ads::latest::services::{
    CampaignOperation, MutateCampaignBudgetsRequest, MutateCampaignsRequest, campaign_operation,
};
use prost::Message;
use tonic::Code as Grpc;

use super::*;

#[test]
fn one_error_reads_code_path_message_trigger_and_request_id() {
    let mut error = ads_error(
        Code::CampaignError(12), // DUPLICATE_CAMPAIGN_NAME
        "A campaign with this name already exists.",
        path(&[
            ("mutate_operations", Some(3)),
            ("campaign_operation", None),
            ("create", None),
            ("name", None),
        ]),
    );
    error.trigger = Some(Value {
        value: Some(value::Value::StringValue("Summer sale".into())),
    });
    let status = status_with(
        Grpc::InvalidArgument,
        "Request contains an invalid argument.",
        "req-1",
        Some(&encoded(vec![error], "req-1")),
    );
    let error = Error::from(status);
    assert_eq!(
        error.to_string(),
        "INVALID_ARGUMENT, request id req-1: campaign_error: DUPLICATE_CAMPAIGN_NAME at \
         mutate_operations[3].campaign_operation.create.name: A campaign with this name already \
         exists. (trigger \"Summer sale\")"
    );
    assert_eq!(error.request_id(), Some("req-1"));
    assert_eq!(error.errors_by_operation().keys().collect::<Vec<_>>(), [&3]);
    assert!(!error.is_retryable() && !error.is_quota() && !error.is_auth());
    assert_eq!(error.attempts(), 1);
}

#[test]
fn several_errors_go_one_per_line_with_nested_paths() {
    let failure = encoded(
        vec![
            ads_error(
                Code::FieldError(2), // REQUIRED
                "The required field was not present.",
                path(&[("operations", Some(0)), ("create", None), ("name", None)]),
            ),
            ads_error(
                Code::UrlFieldError(44), // INVALID_URL
                "The url is invalid.",
                path(&[
                    ("operations", Some(7)),
                    ("create", None),
                    ("final_urls", Some(2)),
                ]),
            ),
            ads_error(Code::RangeError(2), "Too low.", None),
        ],
        "req-2",
    );
    let error = Error::from(status_with(
        Grpc::InvalidArgument,
        "Request contains an invalid argument.",
        "req-2",
        Some(&failure),
    ));
    assert_eq!(
        error.to_string(),
        "INVALID_ARGUMENT, request id req-2: 3 errors\n  \
         1. field_error: REQUIRED at operations[0].create.name: The required field was not present.\n  \
         2. url_field_error: INVALID_URL at operations[7].create.final_urls[2]: The url is invalid.\n  \
         3. range_error: TOO_LOW: Too low."
    );
    let by_op = error.errors_by_operation();
    assert_eq!(by_op.keys().copied().collect::<Vec<_>>(), [0, 7]);
    // What `main` returning Err prints (`{:?}`): the same lines, not an escaped struct; `{:#?}`
    // adds the code.
    assert_eq!(format!("{error:?}"), error.to_string());
    let pretty = format!("{error:#?}");
    assert!(pretty.contains("InvalidArgument"), "{pretty}");
}

#[test]
fn unknown_codes_from_a_newer_server_are_named_as_such() {
    // An enum value this version lacks, and an ErrorCode field number it lacks entirely
    // (field 9999, varint 3: written by hand, as a newer server would).
    let known_field = ads_error(Code::CampaignError(9999), "New value.", None);
    let mut failure = GoogleAdsFailure {
        errors: vec![known_field],
        request_id: "req-3".into(),
    }
    .encode_to_vec();
    let unknown_code: Vec<u8> = vec![0xf8, 0xe1, 0x04, 0x03]; // key (9999 << 3 | 0), value 3
    let mut error_bytes = vec![0x0a, unknown_code.len() as u8];
    error_bytes.extend(&unknown_code);
    error_bytes.extend([0x12, 16]);
    error_bytes.extend(b"From the future.");
    failure.push(0x0a);
    failure.push(error_bytes.len() as u8);
    failure.extend(error_bytes);
    let error = Error::from(status_with(
        Grpc::InvalidArgument,
        "Request contains an invalid argument.",
        "req-3",
        Some(&failure),
    ));
    assert_eq!(
        error.to_string(),
        format!(
            "INVALID_ARGUMENT, request id req-3: 2 errors\n  \
             1. campaign_error: 9999 (a value API {v} does not know): New value.\n  \
             2. unknown error code (not in API {v}): From the future.",
            v = google_ads::API_VERSION
        )
    );
}

#[test]
fn a_corrupt_trailer_keeps_the_status_and_says_why() {
    let error = Error::from(status_with(
        Grpc::Unavailable,
        "The service is currently unavailable.",
        "req-4",
        Some(&[0x0a, 0xff, 0xff, 0xff]),
    ));
    let text = error.to_string();
    assert!(
        text.starts_with(
            "UNAVAILABLE, request id req-4: The service is currently unavailable.\n  \
             (failure details unreadable: undecodable google.ads.googleads."
        ),
        "{text}"
    );
    assert!(error.failure().is_none());
    assert!(error.is_retryable());
}

#[test]
fn rest_style_error_info_is_shown_when_there_is_no_failure() {
    let info = google_ads::rpc::ErrorInfo {
        reason: "ACCESS_TOKEN_SCOPE_INSUFFICIENT".into(),
        domain: "googleapis.com".into(),
        ..Default::default()
    };
    let details = google_ads::rpc::Status {
        code: 7,
        message: "Request had insufficient authentication scopes.".into(),
        details: vec![prost_types::Any {
            type_url: "type.googleapis.com/google.rpc.ErrorInfo".into(),
            value: info.encode_to_vec(),
        }],
    };
    let status = tonic::Status::with_details(
        Grpc::PermissionDenied,
        "Request had insufficient authentication scopes.",
        details.encode_to_vec().into(),
    );
    let error = Error::from(status);
    assert_eq!(
        error.to_string(),
        "PERMISSION_DENIED: Request had insufficient authentication scopes. (reason \
         ACCESS_TOKEN_SCOPE_INSUFFICIENT, domain googleapis.com)"
    );
    assert!(error.is_auth());
}

#[test]
fn a_quota_error_gives_its_retry_delay() {
    let mut quota = ads_error(
        Code::QuotaError(4), // RESOURCE_TEMPORARILY_EXHAUSTED
        "Too many requests. Retry in 40 seconds.",
        None,
    );
    quota.details = Some(ErrorDetails {
        quota_error_details: Some(QuotaErrorDetails {
            rate_scope: 2,
            rate_name: "Requests per account".into(),
            retry_delay: Some(prost_types::Duration {
                seconds: 40,
                nanos: 0,
            }),
        }),
        ..Default::default()
    });
    let error = Error::from(status_with(
        Grpc::ResourceExhausted,
        "Resource has been exhausted.",
        "req-5",
        Some(&encoded(vec![quota], "req-5")),
    ));
    assert!(error.is_quota() && error.is_retryable());
    assert_eq!(error.retry_delay(), Some(Duration::from_secs(40)));
    assert_eq!(
        error.to_string(),
        "RESOURCE_EXHAUSTED, request id req-5: quota_error: RESOURCE_TEMPORARILY_EXHAUSTED: Too \
         many requests. Retry in 40 seconds.\n  the server asks to retry after 40s"
    );
    // A response over the size limit is RESOURCE_EXHAUSTED too, but no quota error.
    let too_big = Error::from(tonic::Status::resource_exhausted("message too large"));
    assert!(!too_big.is_quota() && !too_big.is_retryable());
}

/// The same Display for an error the fake really sent, through GoogleAdsClient.
#[tokio::test]
async fn a_real_duplicate_name_from_the_fake_reads_the_same() {
    let (_fake, client, _) = fake_and_client(FakeServer::builder()).await;
    let budget = client
        .campaign_budget()
        .mutate_campaign_budgets(MutateCampaignBudgetsRequest {
            customer_id: CID.into(),
            operations: vec![budget(0, 10_000_000)],
            ..Default::default()
        })
        .await
        .unwrap()
        .results
        .remove(0)
        .resource_name;
    let op = |name: &str| CampaignOperation {
        operation: Some(campaign_operation::Operation::Create(Campaign {
            name: Some(name.into()),
            advertising_channel_type: AdvertisingChannelType::Search as i32,
            campaign_budget: Some(budget.clone()),
            ..Default::default()
        })),
        ..Default::default()
    };
    let request = MutateCampaignsRequest {
        customer_id: CID.into(),
        operations: vec![op("Summer"), op("Summer")],
        ..Default::default()
    };
    let error = client
        .campaign()
        .mutate_campaigns(request)
        .await
        .unwrap_err();
    let id = error.request_id().expect("request id").to_owned();
    let text = error.to_string();
    assert!(
        text.starts_with(&format!("INVALID_ARGUMENT, request id {id}: ")),
        "{text}"
    );
    assert!(
        text.contains("campaign_error: DUPLICATE_CAMPAIGN_NAME at operations[1].create.name"),
        "{text}"
    );
}

#[test]
fn logs_mask_triggers_of_personal_data_fields() {
    use google_ads::failure::ErrorLine;
    let mut error = ads_error(
        Code::FieldError(2),
        "Bad email.",
        path(&[
            ("operations", Some(0)),
            ("create", None),
            ("email_address", None),
        ]),
    );
    error.trigger = Some(Value {
        value: Some(value::Value::StringValue("jane@example.com".into())),
    });
    assert_eq!(
        ErrorLine::masked(&error).to_string(),
        "field_error: REQUIRED at operations[0].create.email_address: Bad email. (trigger ****)"
    );
    assert!(
        ErrorLine::new(&error)
            .to_string()
            .contains("jane@example.com")
    );
    // Other fields keep their trigger in logs.
    error.location = path(&[("operations", Some(0)), ("create", None), ("name", None)]);
    assert!(
        ErrorLine::masked(&error)
            .to_string()
            .contains("jane@example.com")
    );
}

/// `?` into `Box<dyn Error>` keeps the decoded failure: what a program prints is the failure
/// with its codes, paths and request id, not a bare status.
#[tokio::test]
async fn question_mark_into_box_dyn_error_keeps_the_decoded_failure() {
    async fn create_twice(
        client: &GoogleAdsClient,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = || MutateCampaignBudgetsRequest {
            customer_id: CID.into(),
            operations: vec![budget(1, 10_000_000)],
            ..Default::default()
        };
        client
            .campaign_budget()
            .mutate_campaign_budgets(request())
            .await?;
        client
            .campaign_budget()
            .mutate_campaign_budgets(request())
            .await?;
        Ok(())
    }
    let (_fake, client, _) = fake_and_client(FakeServer::builder()).await;
    let error = create_twice(&client).await.unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("INVALID_ARGUMENT, request id ")
            && text.contains(
                "campaign_budget_error: DUPLICATE_NAME at operations[0].create.name: \
                 Budget name is already in use. (trigger \"Budget 1\")"
            ),
        "{text}"
    );
    let error = error
        .downcast::<Error>()
        .expect("the box holds google_ads::Error");
    assert_eq!(error.attempts(), 1);
    assert!(error.failure().is_some());
}
