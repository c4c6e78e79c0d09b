//! google_ads::Error, partial failures and retries, against the fake's faults.

mod display;
mod fuzz;
mod partial;
mod retry;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use google_ads::auth::{AccessToken, AuthError, BoxFuture, TokenSource};
use google_ads::fake::{FakeServer, FakeServerBuilder};
use google_ads::latest::errors::error_location::FieldPathElement;
use google_ads::latest::errors::{ErrorCode, ErrorLocation, GoogleAdsError, GoogleAdsFailure};
use google_ads::latest::resources::CampaignBudget;
use google_ads::latest::services::{CampaignBudgetOperation, campaign_budget_operation};
use google_ads::retry::RetryPolicy;
use google_ads::{Config, GoogleAdsClient, GoogleAdsClientBuilder, Secret};
use prost::Message;
use tonic::metadata::{MetadataMap, MetadataValue};

pub const CID: &str = "1234567890";

/// Tokens `token-1`, `token-2`... one per fetch, counted.
#[derive(Default)]
pub struct CountingTokens(pub AtomicUsize);

impl TokenSource for CountingTokens {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        Box::pin(async move {
            Ok(AccessToken {
                token: Secret::new(format!("token-{n}")),
                expires_at: None,
            })
        })
    }
}

/// A fake and a GoogleAdsClient on it (plaintext loopback), with counted tokens.
pub async fn fake_and_client(
    builder: FakeServerBuilder,
) -> (FakeServer, GoogleAdsClient, Arc<CountingTokens>) {
    let fake = builder.start().await.unwrap();
    let tokens = Arc::new(CountingTokens::default());
    let client = client_builder(&fake, tokens.clone()).build().unwrap();
    (fake, client, tokens)
}

/// A client builder for `fake` with tokens from `tokens`, for tests that set more.
pub fn client_builder(fake: &FakeServer, tokens: Arc<dyn TokenSource>) -> GoogleAdsClientBuilder {
    let config: Config = Config::builder()
        .with_access_token("unused")
        .with_developer_token("test-developer-token")
        .with_endpoint(fake.uri())
        .build()
        .unwrap();
    GoogleAdsClient::builder(config).with_token_source(tokens)
}

/// A second client on `fake` with its own retry policy.
pub fn client_with_policy(fake: &FakeServer, policy: impl RetryPolicy) -> GoogleAdsClient {
    client_builder(fake, Arc::new(CountingTokens::default()))
        .with_retry_policy(policy)
        .build()
        .unwrap()
}

pub fn path(elements: &[(&str, Option<i32>)]) -> Option<ErrorLocation> {
    Some(ErrorLocation {
        field_path_elements: elements
            .iter()
            .map(|(name, index)| FieldPathElement {
                field_name: (*name).into(),
                index: *index,
            })
            .collect(),
    })
}

pub fn ads_error(
    code: google_ads::latest::errors::error_code::ErrorCode,
    message: &str,
    location: Option<ErrorLocation>,
) -> GoogleAdsError {
    GoogleAdsError {
        error_code: Some(ErrorCode {
            error_code: Some(code),
        }),
        message: message.into(),
        location,
        ..Default::default()
    }
}

/// A status as the API sends it: code, message, request-id and the failure trailer.
pub fn status_with(
    code: tonic::Code,
    message: &str,
    request_id: &str,
    failure: Option<&[u8]>,
) -> tonic::Status {
    let mut metadata = MetadataMap::new();
    metadata.insert("request-id", request_id.parse().unwrap());
    if let Some(bytes) = failure {
        metadata.insert_bin(
            google_ads::FAILURE_TRAILER_KEY,
            MetadataValue::from_bytes(bytes),
        );
    }
    tonic::Status::with_metadata(code, message, metadata)
}

pub fn encoded(errors: Vec<GoogleAdsError>, request_id: &str) -> Vec<u8> {
    GoogleAdsFailure {
        errors,
        request_id: request_id.into(),
    }
    .encode_to_vec()
}

/// A campaign budget create named `Budget {i}`.
pub fn budget(i: usize, amount_micros: i64) -> CampaignBudgetOperation {
    CampaignBudgetOperation {
        operation: Some(campaign_budget_operation::Operation::Create(
            CampaignBudget {
                name: Some(format!("Budget {i}")),
                amount_micros: Some(amount_micros),
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}
