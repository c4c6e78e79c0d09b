//! Application default credentials of the kinds only google-cloud-auth reads (feature
//! `google-cloud-auth`): workload identity federation (`external_account`) and
//! `impersonated_service_account`, each against local endpoints over real HTTP, each asserting
//! the token that reached the fake API. The kinds both paths read (an authorized-user file,
//! the metadata server) are tested in `auth`, through whichever path the build has.

use google_ads::{Config, GoogleAdsClient};

use super::*;

/// The child's part of each test: `use_application_default_credentials` against the fake at
/// `ADS_TEST_CHILD_ADC_FAKE`, one call; the environment (GOOGLE_APPLICATION_CREDENTIALS) set
/// by the parent.
async fn child_calls_with_adc() -> bool {
    let Ok(fake_uri) = std::env::var("ADS_TEST_CHILD_ADC_FAKE") else {
        return false;
    };
    let client = GoogleAdsClient::builder(adc_config(fake_uri))
        .build()
        .unwrap();
    client
        .customer()
        .list_accessible_customers(google_ads::latest::services::ListAccessibleCustomersRequest {})
        .await
        .unwrap();
    true
}

/// `use_application_default_credentials` against the fake at `fake_uri`.
fn adc_config(fake_uri: String) -> Config {
    Config::builder()
        .with_developer_token("dev")
        .with("use_application_default_credentials", "true")
        .with_endpoint(fake_uri)
        .build()
        .unwrap()
}

/// Runs `test` in a child with GOOGLE_APPLICATION_CREDENTIALS naming a file holding `json`
/// (and HOME empty, so no gcloud file is read), against `fake`; fails with its output.
async fn run_child_with_credentials(test: &str, json: serde_json::Value, fake: &FakeServer) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials.json");
    std::fs::write(&file, json.to_string()).unwrap();
    let child = crate::run_test_in_child(
        test,
        &[
            ("GOOGLE_APPLICATION_CREDENTIALS", file.display().to_string()),
            ("HOME", dir.path().display().to_string()),
            ("ADS_TEST_CHILD_ADC_FAKE", fake.uri()),
        ],
    )
    .await;
    crate::assert_child_passed(&child);
}

/// Workload identity federation with a file-sourced subject token: the subject token is read
/// from its file and exchanged at the (local) STS endpoint named in the credentials file, for
/// the adwords scope; the STS token reaches the API.
#[tokio::test]
async fn external_account_with_a_file_subject_token_reaches_the_api() {
    if child_calls_with_adc().await {
        return;
    }
    let sts = TokenEndpoint::start(Answer::Json(
        serde_json::json!({
            "access_token": "federated-token",
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "token_type": "Bearer",
            "expires_in": 3600,
        })
        .to_string(),
    ))
    .await;
    let subject_dir = tempfile::tempdir().unwrap();
    let subject = subject_dir.path().join("subject-token");
    std::fs::write(&subject, "subject-jwt-from-the-platform").unwrap();
    let audience = "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/provider";
    let fake = FakeServer::start().await.unwrap();
    run_child_with_credentials(
        "client::adc::external_account_with_a_file_subject_token_reaches_the_api",
        serde_json::json!({
            "type": "external_account",
            "audience": audience,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": sts.uri,
            "credential_source": { "file": subject.display().to_string() },
        }),
        &fake,
    )
    .await;
    assert_eq!(sts.requests(), 1);
    let form = sts.form(0);
    assert_eq!(
        value(&form, "grant_type"),
        "urn:ietf:params:oauth:grant-type:token-exchange"
    );
    assert_eq!(
        value(&form, "subject_token"),
        "subject-jwt-from-the-platform"
    );
    assert_eq!(value(&form, "audience"), audience);
    assert_eq!(
        value(&form, "scope"),
        "https://www.googleapis.com/auth/adwords"
    );
    assert_eq!(
        fake.calls()[0].header("authorization"),
        Some("Bearer federated-token")
    );
}

/// An impersonated service account: the source credentials (an authorized user, refreshed at
/// a local token endpoint) call the (local) IAM endpoint's generateAccessToken for the target
/// account with the adwords scope; the IAM token reaches the API.
#[tokio::test]
async fn impersonated_service_account_reaches_the_api() {
    if child_calls_with_adc().await {
        return;
    }
    let source = TokenEndpoint::start(Answer::Token("source-token", 3600)).await;
    let iam = TokenEndpoint::start(Answer::Json(
        serde_json::json!({
            "accessToken": "impersonated-token",
            "expireTime": "2099-01-01T00:00:00Z",
        })
        .to_string(),
    ))
    .await;
    let iam_base = format!("http://{}", iam.addr);
    let target = "reports@project.iam.gserviceaccount.com";
    let fake = FakeServer::start().await.unwrap();
    run_child_with_credentials(
        "client::adc::impersonated_service_account_reaches_the_api",
        serde_json::json!({
            "type": "impersonated_service_account",
            "service_account_impersonation_url": format!(
                "{iam_base}/v1/projects/-/serviceAccounts/{target}:generateAccessToken"
            ),
            "source_credentials": {
                "type": "authorized_user",
                "client_id": "source-client",
                "client_secret": "source-secret",
                "refresh_token": "source-refresh",
                "token_uri": source.uri,
            },
        }),
        &fake,
    )
    .await;
    assert_eq!(source.requests(), 1);
    let form = source.form(0);
    assert_eq!(value(&form, "grant_type"), "refresh_token");
    assert_eq!(value(&form, "refresh_token"), "source-refresh");

    let seen = iam.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].0,
        format!("POST /v1/projects/-/serviceAccounts/{target}:generateAccessToken")
    );
    let (authorization, body) = iam.received.lock().unwrap()[0].clone();
    assert_eq!(authorization.as_deref(), Some("Bearer source-token"));
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body["scope"],
        serde_json::json!(["https://www.googleapis.com/auth/adwords"])
    );
    assert_eq!(
        fake.calls()[0].header("authorization"),
        Some("Bearer impersonated-token")
    );
}

/// google-cloud-auth's fetches sit inside the same token timeout: a metadata server that
/// accepts the request and never answers fails the call with an error naming the source and
/// the timeout, instead of hanging it. The child runs on tokio's paused clock, so the 5 s
/// timeout passes as soon as nothing else can run.
#[tokio::test]
async fn a_metadata_server_that_never_answers_fails_the_call_after_the_token_timeout() {
    if let Ok(fake_uri) = std::env::var("ADS_TEST_CHILD_HANG_FAKE") {
        tokio::time::pause();
        let client = GoogleAdsClient::builder(adc_config(fake_uri))
            .with_token_timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap();
        let error = tokio::time::timeout(
            std::time::Duration::from_secs(3600),
            client.customer().list_accessible_customers(
                google_ads::latest::services::ListAccessibleCustomersRequest {},
            ),
        )
        .await
        .expect("the call hung")
        .unwrap_err();
        let message = error.to_string();
        assert!(error.is_auth(), "{message}");
        assert!(
            message.contains("application default credentials (google-cloud-auth)")
                && message.contains("within 5s"),
            "{message}"
        );
        return;
    }
    let metadata = TokenEndpoint::start(Answer::Token("never", 3600)).await;
    let _held = metadata.hold();
    let home = tempfile::tempdir().unwrap();
    let fake = FakeServer::start().await.unwrap();
    let host = metadata.addr.to_string();
    let child = crate::run_test_in_child(
        "client::adc::a_metadata_server_that_never_answers_fails_the_call_after_the_token_timeout",
        &[
            ("HOME", home.path().display().to_string()),
            ("GCE_METADATA_HOST", host),
            ("ADS_TEST_CHILD_HANG_FAKE", fake.uri()),
        ],
    )
    .await;
    crate::assert_child_passed(&child);
    // Whether the request reached the held endpoint before the paused clock ran out the
    // timeout is up to the sockets; the child's error (the token timeout's) is the point.
    assert!(fake.calls().is_empty(), "nothing was sent without a token");
}
