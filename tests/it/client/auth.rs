//! Credentials, headers, single-flight refresh, revoked tokens, secrets kept out of output.

use std::sync::Arc;

use base64::Engine as _;
use google_ads::auth::{AccessToken, AuthError, BoxFuture, TokenSource};
use google_ads::latest::services::ListAccessibleCustomersRequest;
use google_ads::transport::TransportOptions;
use google_ads::{CallOptions, Config, GoogleAdsClient, Secret};

use super::*;

const DEV: &str = "dev-token-123";

fn refresh_config(endpoint: &TokenEndpoint) -> google_ads::config::ConfigBuilder {
    Config::builder()
        .with_developer_token(DEV)
        .with_refresh_token("client-1.apps.example", "client-secret-1", "refresh-1")
        .with("token_uri", endpoint.uri.clone())
}

#[tokio::test]
async fn refresh_token_credentials_and_the_exact_headers_over_tls() {
    let endpoint = TokenEndpoint::start(Answer::Token("access-1", 3600)).await;
    let (fake, client) = tls_fake_and_client(
        refresh_config(&endpoint)
            .with_login_customer_id("9876543210")
            .with("linked_customer_id", "5555555555"),
    )
    .await;
    let names = list(&client).await.unwrap();
    assert_eq!(names.resource_names, ["customers/1234567890"]);

    assert_eq!(endpoint.requests(), 1);
    let form = endpoint.form(0);
    assert_eq!(value(&form, "grant_type"), "refresh_token");
    assert_eq!(value(&form, "client_id"), "client-1.apps.example");
    assert_eq!(value(&form, "client_secret"), "client-secret-1");
    assert_eq!(value(&form, "refresh_token"), "refresh-1");

    let call = &fake.calls()[0];
    assert_eq!(call.header("authorization"), Some("Bearer access-1"));
    assert_eq!(call.header("developer-token"), Some(DEV));
    assert_eq!(call.header("login-customer-id"), Some("9876543210"));
    assert_eq!(call.header("linked-customer-id"), Some("5555555555"));
    let api_client = call.header("x-goog-api-client").unwrap();
    assert!(
        api_client.starts_with("gl-rust/1.") && api_client.contains(" tonic/0.14 gccl/"),
        "{api_client}"
    );

    // A second call reuses the cached token.
    list(&client).await.unwrap();
    assert_eq!(endpoint.requests(), 1);
}

#[tokio::test]
async fn per_call_login_customer_id_overrides_the_configured_one() {
    let endpoint = TokenEndpoint::start(Answer::Token("access-1", 3600)).await;
    let (fake, client) =
        tls_fake_and_client(refresh_config(&endpoint).with_login_customer_id("9876543210")).await;
    let request = CallOptions::new()
        .login_customer_id("1112223334".parse().unwrap())
        .request(ListAccessibleCustomersRequest {});
    client
        .customer()
        .list_accessible_customers(request)
        .await
        .unwrap();
    assert_eq!(
        fake.calls()[0].header("login-customer-id"),
        Some("1112223334")
    );
    let err = "111-222-3334"
        .parse::<google_ads::CustomerId>()
        .unwrap_err();
    assert!(
        err.to_string().contains("10 digits without dashes"),
        "{err}"
    );
}

#[tokio::test]
async fn service_account_assertion_is_signed_and_names_the_right_parties() {
    let endpoint = TokenEndpoint::start(Answer::Token("sa-token", 3600)).await;
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("key.json");
    let mut key: serde_json::Value =
        serde_json::from_str(include_str!("../data/service-account.json")).unwrap();
    key["token_uri"] = serde_json::Value::String(endpoint.uri.clone());
    std::fs::write(&key_path, key.to_string()).unwrap();

    let (fake, client) = tls_fake_and_client(
        Config::builder()
            .with_developer_token(DEV)
            .with_service_account(key_path.to_str().unwrap(), Some("user@example.com".into())),
    )
    .await;
    list(&client).await.unwrap();
    assert_eq!(
        fake.calls()[0].header("authorization"),
        Some("Bearer sa-token")
    );

    let form = endpoint.form(0);
    assert_eq!(
        value(&form, "grant_type"),
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let jwt = value(&form, "assertion");
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: serde_json::Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], "test-key-1");
    assert_eq!(claims["iss"], key["client_email"]);
    assert_eq!(claims["sub"], "user@example.com");
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/adwords");
    assert_eq!(claims["aud"], endpoint.uri.as_str());
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert!(exp > iat && exp - iat <= 3600);

    // Verify the signature against the key's public half.
    use rustls_pki_types::pem::PemObject as _;
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(
        key["private_key"].as_str().unwrap().as_bytes(),
    )
    .unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        pair.public().as_ref(),
    );
    let signed = format!("{}.{}", parts[0], parts[1]);
    public
        .verify(signed.as_bytes(), &b64.decode(parts[2]).unwrap())
        .expect("the signature verifies");
    let mut tampered = signed.into_bytes();
    tampered[5] ^= 1;
    assert!(
        public
            .verify(&tampered, &b64.decode(parts[2]).unwrap())
            .is_err()
    );
}

struct CountingSource(std::sync::atomic::AtomicUsize);

impl TokenSource for CountingSource {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(AccessToken {
                token: Secret::new(format!("custom-{n}")),
                expires_at: None,
            })
        })
    }
}

#[tokio::test]
async fn fixed_access_token_and_a_custom_token_source() {
    let fake = FakeServer::builder().tls(true).start().await.unwrap();
    let options = TransportOptions {
        extra_roots_pem: vec![fake.ca_pem().unwrap().to_owned()],
        ..Default::default()
    };
    let fixed = Config::builder()
        .with_developer_token(DEV)
        .with("access_token", "fixed-1")
        .with_endpoint(fake.uri())
        .build()
        .unwrap();
    GoogleAdsClient::builder(fixed.clone())
        .with_transport_options(options.clone())
        .build()
        .unwrap()
        .customer()
        .list_accessible_customers(ListAccessibleCustomersRequest {})
        .await
        .unwrap();
    let custom = GoogleAdsClient::builder(fixed)
        .with_transport_options(options)
        .with_token_source(Arc::new(CountingSource(Default::default())))
        .build()
        .unwrap();
    list(&custom).await.unwrap();
    let calls = fake.calls();
    assert_eq!(calls[0].header("authorization"), Some("Bearer fixed-1"));
    assert_eq!(calls[1].header("authorization"), Some("Bearer custom-0"));
}

/// ListAccessibleCustomers, the cheapest call there is.
async fn list(client: &GoogleAdsClient) -> Outcome {
    client
        .customer()
        .list_accessible_customers(ListAccessibleCustomersRequest {})
        .await
}

type Outcome =
    Result<google_ads::latest::services::ListAccessibleCustomersResponse, google_ads::Error>;

/// `n` concurrent ListAccessibleCustomers calls.
fn spawn_calls(client: &GoogleAdsClient, n: usize) -> Vec<tokio::task::JoinHandle<Outcome>> {
    (0..n)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { list(&client).await })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_cause_one_token_request() {
    let endpoint = TokenEndpoint::start(Answer::Token("access-shared", 3600)).await;
    let release = endpoint.hold();
    let (fake, client) = tls_fake_and_client(refresh_config(&endpoint)).await;
    let calls = spawn_calls(&client, 1000);
    // Every call is waiting on the one token request held at the endpoint. Released all at
    // once: were there more requests than one, they would all be answered, and counted.
    endpoint.wait_for_requests(1).await;
    release.close();
    for call in calls {
        call.await.unwrap().expect("no call fails");
    }
    assert_eq!(endpoint.requests(), 1);
    assert_eq!(fake.calls().len(), 1000);
    assert!(
        fake.calls()
            .iter()
            .all(|c| c.header("authorization") == Some("Bearer access-shared"))
    );
}

// One thread: every spawned call reaches the token cache in its first poll, before the test
// task can release the endpoint's answer. On two workers a call still unpolled when the
// refusal came (a busy machine) rightly started a second refresh (errors are not cached), and
// the count of one was a race.
#[tokio::test]
async fn a_revoked_refresh_token_fails_every_waiting_call_with_an_auth_error() {
    let endpoint = TokenEndpoint::start(Answer::Revoked).await;
    let release = endpoint.hold();
    let (fake, client) = tls_fake_and_client(refresh_config(&endpoint)).await;
    let calls = spawn_calls(&client, 100);
    endpoint.wait_for_requests(1).await;
    release.close();
    for call in calls {
        let error = call.await.unwrap().unwrap_err();
        assert!(error.is_auth() && !error.is_retryable(), "{error}");
        assert_eq!(error.attempts(), 1, "a permanent error is not retried");
        let message = error.to_string();
        assert!(
            message.contains("invalid_grant") && message.contains("generate a new one"),
            "{message}"
        );
    }
    assert_eq!(
        endpoint.requests(),
        1,
        "one refresh, its failure shared by every waiting call"
    );
    assert!(fake.calls().is_empty(), "nothing was sent without a token");
}

#[tokio::test]
async fn plaintext_to_a_non_loopback_host_is_refused_unless_forced() {
    let config = |endpoint: &str| {
        Config::builder()
            .with_developer_token(DEV)
            .with("access_token", "t")
            .with_endpoint(endpoint)
            .build()
            .unwrap()
    };
    let build = |config: Config, options: TransportOptions| {
        GoogleAdsClient::builder(config)
            .with_transport_options(options)
            .build()
    };
    let err = build(
        config("http://ads.example.com:80"),
        TransportOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("refusing plaintext to ads.example.com"),
        "{err}"
    );
    let forced = TransportOptions {
        force_plaintext: true,
        ..Default::default()
    };
    build(config("http://ads.example.com:80"), forced).unwrap();
    build(
        config("https://ads.example.com"),
        TransportOptions::default(),
    )
    .unwrap();
    // The whole loopback range is loopback, for the channel and the token client alike.
    for host in ["127.0.0.1", "127.0.0.2", "localhost", "[::1]"] {
        build(
            config(&format!("http://{host}:1")),
            TransportOptions::default(),
        )
        .unwrap();
    }
    for host in ["128.0.0.1", "ads.example.com", "10.0.0.1"] {
        let refused = build(
            config(&format!("http://{host}:1")),
            TransportOptions::default(),
        );
        assert!(refused.is_err(), "{host}");
    }
}

/// Captures everything tracing writes, at every level.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_trace_output_errors_or_debug() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    const SECRETS: [&str; 4] = [
        "SECRET-client-secret",
        "SECRET-refresh",
        "SECRET-access",
        "SECRET-devtoken",
    ];
    let endpoint = TokenEndpoint::start(Answer::Token("SECRET-access", 3600)).await;
    let (_fake, client) = tls_fake_and_client(
        Config::builder()
            .with_developer_token("SECRET-devtoken")
            .with_refresh_token("client-id", "SECRET-client-secret", "SECRET-refresh")
            .with("token_uri", endpoint.uri.clone())
            .with("unknown_key", "x"),
    )
    .await;
    list(&client).await.unwrap();
    let revoked = TokenEndpoint::start(Answer::Revoked).await;
    let (_fake2, failing) =
        tls_fake_and_client(refresh_config(&revoked).with("refresh_token", "SECRET-refresh")).await;
    let status = list(&failing).await.unwrap_err();

    let mut output = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        output.contains("google_ads.call"),
        "the span was captured: {output}"
    );
    output.push_str(&format!(
        "{client:?}\n{:?}\n{status:?}\n{status}\n",
        client.config()
    ));
    for secret in SECRETS {
        assert!(!output.contains(secret), "{secret} leaked:\n{output}");
    }
    assert!(format!("{:?}", client.config()).contains("<redacted>"));
}

/// GOOGLE_APPLICATION_CREDENTIALS names an authorized-user file: its refresh token is used.
/// The variable is set in a child process that runs this test again (the child's part is the
/// branch at the top), so no other test's thread ever sees the environment change.
#[tokio::test]
async fn application_default_credentials_from_an_authorized_user_file() {
    if let Ok(fake_uri) = std::env::var("ADS_TEST_CHILD_FAKE") {
        let config = Config::builder()
            .with_developer_token(DEV)
            .with("use_application_default_credentials", "true")
            .with_endpoint(fake_uri)
            .build()
            .unwrap();
        GoogleAdsClient::builder(config)
            .build()
            .unwrap()
            .customer()
            .list_accessible_customers(ListAccessibleCustomersRequest {})
            .await
            .unwrap();
        return;
    }
    let endpoint = TokenEndpoint::start(Answer::Token("adc-token", 3600)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("application_default_credentials.json");
    let json = serde_json::json!({
        "type": "authorized_user",
        "client_id": "adc-client",
        "client_secret": "adc-secret",
        "refresh_token": "adc-refresh",
        "token_uri": endpoint.uri,
    });
    std::fs::write(&file, json.to_string()).unwrap();
    let fake = FakeServer::start().await.unwrap();
    let child = crate::run_test_in_child(
        "client::auth::application_default_credentials_from_an_authorized_user_file",
        &[
            ("GOOGLE_APPLICATION_CREDENTIALS", file.display().to_string()),
            ("ADS_TEST_CHILD_FAKE", fake.uri()),
        ],
    )
    .await;
    crate::assert_child_passed(&child);
    let form = endpoint.form(0);
    assert_eq!(value(&form, "grant_type"), "refresh_token");
    assert_eq!(value(&form, "client_id"), "adc-client");
    assert_eq!(value(&form, "refresh_token"), "adc-refresh");
    assert_eq!(
        fake.calls()[0].header("authorization"),
        Some("Bearer adc-token")
    );
}

/// On Google Cloud, no key file: with neither GOOGLE_APPLICATION_CREDENTIALS nor gcloud's
/// file, application default credentials ask the metadata server (here a local one, through
/// GCE_METADATA_HOST, as Google's libraries allow) for the attached account's token with the
/// adwords scope and the `Metadata-Flavor: Google` header; the token reaches the API. Its
/// expiry (60 s, inside the refresh margin) makes the next call fetch a fresh one first (the
/// crate's own reading; google-cloud-auth refreshes in its own cache).
#[tokio::test]
async fn application_default_credentials_from_the_metadata_server() {
    if let Ok(fake_uri) = std::env::var("ADS_TEST_CHILD_METADATA_FAKE") {
        let config = Config::builder()
            .with_developer_token(DEV)
            .with("use_application_default_credentials", "true")
            .with_endpoint(fake_uri)
            .build()
            .unwrap();
        let client = GoogleAdsClient::builder(config).build().unwrap();
        list(&client).await.unwrap();
        list(&client).await.unwrap();
        return;
    }
    let endpoint = TokenEndpoint::start(Answer::Token("metadata-token", 60)).await;
    let home = tempfile::tempdir().unwrap();
    let fake = FakeServer::start().await.unwrap();
    let host = endpoint.addr.to_string();
    let child = crate::run_test_in_child(
        "client::auth::application_default_credentials_from_the_metadata_server",
        &[
            ("HOME", home.path().display().to_string()),
            ("GCE_METADATA_HOST", host),
            ("ADS_TEST_CHILD_METADATA_FAKE", fake.uri()),
        ],
    )
    .await;
    crate::assert_child_passed(&child);
    let seen = endpoint.seen.lock().unwrap().clone();
    // The crate's own reading refreshes a token inside its refresh margin before the next call;
    // google-cloud-auth keeps and refreshes the token in its own cache (in the background,
    // ahead of expiry), so the second call there may reuse it.
    let fetches = if cfg!(feature = "google-cloud-auth") {
        1..=2
    } else {
        2..=2
    };
    assert!(
        fetches.contains(&seen.len()),
        "a fresh token before the second call: {seen:?}"
    );
    for (request, flavor) in &seen {
        assert_eq!(
            request,
            "GET /computeMetadata/v1/instance/service-accounts/default/token?scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fadwords"
        );
        assert_eq!(flavor.as_deref(), Some("Google"));
    }
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    assert!(
        calls
            .iter()
            .all(|c| c.header("authorization") == Some("Bearer metadata-token"))
    );
}

#[tokio::test]
async fn one_summary_event_per_call_with_customer_request_id_status_and_fault() {
    use google_ads::latest::resources::Label;
    use google_ads::latest::services::{
        LabelOperation, MutateGoogleAdsRequest, MutateOperation, label_operation, mutate_operation,
    };
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let endpoint = TokenEndpoint::start(Answer::Token("t", 3600)).await;
    let (_fake, client) = tls_fake_and_client(refresh_config(&endpoint)).await;
    let label = |name: &str| MutateOperation {
        operation: Some(mutate_operation::Operation::LabelOperation(Box::new(
            LabelOperation {
                operation: Some(label_operation::Operation::Create(Label {
                    name: Some(name.into()),
                    ..Default::default()
                })),
                ..Default::default()
            },
        ))),
    };
    let request = |name: &str| MutateGoogleAdsRequest {
        customer_id: "1234567890".into(),
        mutate_operations: vec![label(name)],
        ..Default::default()
    };
    client.google_ads().mutate(request("once")).await.unwrap();
    client
        .google_ads()
        .mutate(request("once"))
        .await
        .unwrap_err();
    let output = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let finished: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("call succeeded") || l.contains("call failed"))
        .collect();
    assert_eq!(finished.len(), 2, "{output}");
    assert!(finished[0].contains(" INFO ") && finished[0].contains("call succeeded"));
    // The summary names the fault by codes and path; the user's text stays in the detail.
    assert!(finished[1].contains(" WARN "), "{}", finished[1]);
    assert!(
        finished[1].contains(
            "fault=INVALID_ARGUMENT label_error: DUPLICATE_NAME @ mutate_operations[0].label_operation.create.name"
        ),
        "{}",
        finished[1]
    );
    assert!(!finished[1].contains("once"), "{}", finished[1]);
    for (line, status) in finished.iter().zip(["grpc_status=0", "grpc_status=3"]) {
        for field in [
            "service=GoogleAdsService",
            "method=Mutate",
            "customer_id=1234567890",
            "request_id=",
            "duration_ms=",
            status,
        ] {
            assert!(line.contains(field), "{field} missing from {line}");
        }
    }
}

#[tokio::test]
async fn a_token_is_refreshed_ahead_of_its_expiry() {
    // 30 s left is inside the 60 s margin: the next call fetches a new token although the
    // old one still works. (3600 s tokens are reused: see the first test.)
    let endpoint = TokenEndpoint::start(Answer::Token("short-lived", 30)).await;
    let (_fake, client) = tls_fake_and_client(refresh_config(&endpoint)).await;
    for expected in 1..=3 {
        list(&client).await.unwrap();
        assert_eq!(endpoint.requests(), expected);
    }
}

/// A token endpoint that is down is a passing failure: the call waits it out like
/// UNAVAILABLE (nothing was sent meanwhile) and succeeds once a token comes.
#[tokio::test(start_paused = true)]
async fn a_token_endpoint_down_twice_then_up_is_retried_to_success() {
    let endpoint = TokenEndpoint::start(Answer::Token("access-late", 3600)).await;
    endpoint.answer_first([Answer::Down, Answer::Down]);
    let (fake, client) = tls_fake_and_client(refresh_config(&endpoint)).await;
    list(&client).await.unwrap();
    assert_eq!(endpoint.requests(), 3);
    let calls = fake.calls();
    assert_eq!(calls.len(), 1, "nothing was sent without a token");
    assert_eq!(calls[0].header("authorization"), Some("Bearer access-late"));
}

/// The same failure, kept: a transient token error is an auth error that may pass.
#[tokio::test(start_paused = true)]
async fn a_token_endpoint_that_stays_down_gives_a_transient_auth_error() {
    let endpoint = TokenEndpoint::start(Answer::Down).await;
    let (fake, client) = tls_fake_and_client(refresh_config(&endpoint)).await;
    let error = list(&client).await.unwrap_err();
    assert!(error.is_auth() && error.is_retryable(), "{error}");
    assert_eq!(error.attempts(), google_ads::retry::DEFAULT_ATTEMPTS);
    assert_eq!(
        endpoint.requests(),
        google_ads::retry::DEFAULT_ATTEMPTS as usize
    );
    assert!(error.to_string().contains("503"), "{error}");
    assert!(fake.calls().is_empty());
}

/// A revoked refresh token is final: one token request, one attempt, the permanent error.
#[tokio::test(start_paused = true)]
async fn a_revoked_refresh_token_fails_once_with_the_permanent_error() {
    let endpoint = TokenEndpoint::start(Answer::Revoked).await;
    let (fake, client) = tls_fake_and_client(refresh_config(&endpoint)).await;
    let error = list(&client).await.unwrap_err();
    assert!(error.is_auth() && !error.is_retryable(), "{error}");
    let auth = error.auth_error().expect("the token source's error");
    assert!(auth.is_permanent());
    assert_eq!(error.attempts(), 1);
    assert_eq!(endpoint.requests(), 1);
    assert!(fake.calls().is_empty());
}

/// A token endpoint that accepts the request and never answers: each refresh fails after the
/// token timeout with an error naming the endpoint (before, the call hung for good), the call
/// ends once its attempts are spent, and nothing reaches the API without a token.
#[tokio::test(start_paused = true)]
async fn a_token_endpoint_that_never_answers_fails_the_call_after_the_token_timeout() {
    let endpoint = TokenEndpoint::start(Answer::Token("never", 3600)).await;
    let _held = endpoint.hold();
    let fake = FakeServer::start().await.unwrap();
    let config = refresh_config(&endpoint)
        .with_endpoint(fake.uri())
        .build()
        .unwrap();
    let client = GoogleAdsClient::builder(config)
        .with_token_timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let error = tokio::time::timeout(std::time::Duration::from_secs(3600), list(&client))
        .await
        .expect("the call hung")
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&format!("token endpoint {}", endpoint.uri))
            && message.contains("within 5s"),
        "{message}"
    );
    assert!(error.is_auth(), "{error}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(5));
    assert!(endpoint.requests() >= 1);
    assert!(fake.calls().is_empty(), "nothing was sent without a token");
}

/// A token source that panics on its first fetch, then works.
struct PanicsOnce(std::sync::atomic::AtomicUsize);

impl TokenSource for PanicsOnce {
    fn fetch(&self) -> BoxFuture<'_, Result<AccessToken, AuthError>> {
        Box::pin(async move {
            if self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                panic!("the first fetch breaks");
            }
            Ok(AccessToken {
                token: Secret::new("after-the-panic"),
                expires_at: None,
            })
        })
    }
}

/// A panicking token source fails the refresh it was in with an error (the panic's message
/// in it); the cache keeps no poisoned refresh, so the next call fetches again and works.
/// Before, the panic stayed in the shared refresh and every later call panicked too.
#[tokio::test]
async fn a_token_source_that_panics_once_fails_one_refresh_and_the_next_call_works() {
    let fake = FakeServer::start().await.unwrap();
    let config = Config::builder()
        .with_developer_token(DEV)
        .with("access_token", "unused")
        .with_endpoint(fake.uri())
        .build()
        .unwrap();
    let client = GoogleAdsClient::builder(config)
        .with_token_source(Arc::new(PanicsOnce(Default::default())))
        .build()
        .unwrap();
    // With no retries, the first call ends with the refresh's error.
    let error = client
        .customer()
        .list_accessible_customers(
            CallOptions::new()
                .retry_policy(google_ads::retry::NeverRetry)
                .request(ListAccessibleCustomersRequest {}),
        )
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("panicked: the first fetch breaks"),
        "{error}"
    );
    list(&client).await.unwrap();
    assert_eq!(
        fake.calls()[0].header("authorization"),
        Some("Bearer after-the-panic")
    );
}

/// An `expires_in` past what the clock can hold fails that refresh (before, it panicked
/// adding it to the clock, inside the shared refresh); the retry refreshes again and the call
/// goes through with the next token.
#[tokio::test(start_paused = true)]
async fn an_absurd_expiry_fails_that_refresh_and_the_next_one_works() {
    let endpoint = TokenEndpoint::start(Answer::Token("fine", 3600)).await;
    endpoint.answer_first([Answer::Token("absurd", u64::MAX)]);
    let (fake, client) = tls_fake_and_client(refresh_config(&endpoint)).await;
    list(&client).await.unwrap();
    assert_eq!(endpoint.requests(), 2);
    assert_eq!(fake.calls()[0].header("authorization"), Some("Bearer fine"));
}

/// `json_key_file_path` naming a credentials file of another kind (here gcloud's authorized
/// user file) is refused at build time with an error naming its type and where such files go;
/// before, it failed on the missing private key, which did not say why.
#[tokio::test]
async fn a_key_file_of_another_kind_is_refused_naming_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("adc.json");
    let json = serde_json::json!({
        "type": "authorized_user",
        "client_id": "c",
        "client_secret": "s",
        "refresh_token": "r",
    });
    std::fs::write(&file, json.to_string()).unwrap();
    let config = Config::builder()
        .with_developer_token(DEV)
        .with("json_key_file_path", file.display().to_string())
        .build()
        .unwrap();
    let error = GoogleAdsClient::builder(config).build().unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(r#"of type "authorized_user", not "service_account""#)
            && message.contains("use_application_default_credentials"),
        "{message}"
    );
}

/// A token endpoint whose host takes no connection (a listener whose backlog is full: the
/// kernel drops further SYNs, so connecting hangs): each token request fails after the token
/// connect timeout (here 2 s) with an error naming that timeout, well before the
/// token timeout (30 s), and nothing reaches the API without a token.
#[tokio::test(start_paused = true)]
async fn a_token_endpoint_that_takes_no_connection_fails_after_the_connect_timeout() {
    // Backlog 1, never accepted: a few connections fill it, and the next SYN goes unanswered.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut filling = Vec::new();
    for _ in 0..8 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        match tokio::time::timeout(std::time::Duration::from_millis(50), socket.connect(addr)).await
        {
            Ok(Ok(stream)) => filling.push(stream),
            _ => break,
        }
    }
    let fake = FakeServer::start().await.unwrap();
    let config = Config::builder()
        .with_developer_token(DEV)
        .with_refresh_token("client", "secret", "refresh")
        .with("token_uri", format!("http://{addr}/token"))
        .with_endpoint(fake.uri())
        .build()
        .unwrap();
    let client = GoogleAdsClient::builder(config)
        .with_token_connect_timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let error = tokio::time::timeout(std::time::Duration::from_secs(3600), list(&client))
        .await
        .expect("the call hung")
        .unwrap_err();
    let message = error.to_string();
    assert!(error.is_auth(), "{message}");
    assert!(
        message.contains(&format!("token endpoint http://{addr}/token unreachable"))
            && message.contains("no connection within 2s (the token connect timeout)")
            && !message.contains("(the token timeout)"),
        "{message}"
    );
    // Each attempt waited out the connect timeout, not the 30 s token timeout.
    let attempts = error.attempts() as u32;
    assert!(attempts >= 1);
    let connecting = started.elapsed();
    assert!(
        connecting >= std::time::Duration::from_secs(2) * attempts,
        "{connecting:?}"
    );
    assert!(fake.calls().is_empty());
    drop(filling);
}
