//! Retries against the fake's faults, on tokio's paused clock: no test waits for real.

use std::time::Duration;

use google_ads::CallOptions;
use google_ads::Error;
use google_ads::fake::{Fault, TokenCheck};
use google_ads::latest::resources::Label;
use google_ads::latest::services::{
    LabelOperation, MutateLabelsRequest, SearchGoogleAdsRequest, label_operation,
};
use google_ads::retry::{FailedAttempt, GoogleRetry, NeverRetry, RetryPolicy, RetryPolicyExt as _};
use google_ads::search::StreamExt as _;
use tokio::time::Instant;
use tonic::Code;

use super::*;

fn calls_to(fake: &FakeServer, method: &str) -> usize {
    fake.calls()
        .iter()
        .filter(|c| c.method.ends_with(method))
        .count()
}

async fn search(client: &GoogleAdsClient) -> Result<usize, Error> {
    let response = client
        .google_ads()
        .search(SearchGoogleAdsRequest {
            customer_id: CID.into(),
            query: "SELECT campaign.id FROM campaign".into(),
            ..Default::default()
        })
        .await?;
    Ok(response.results.len())
}

fn create_label(name: &str) -> MutateLabelsRequest {
    MutateLabelsRequest {
        customer_id: CID.into(),
        operations: vec![LabelOperation {
            operation: Some(label_operation::Operation::Create(Label {
                name: Some(name.into()),
                ..Default::default()
            })),
            ..Default::default()
        }],
        ..Default::default()
    }
}

async fn label_failure(client: &GoogleAdsClient, name: &str) -> Error {
    client
        .label()
        .mutate_labels(create_label(name))
        .await
        .expect_err("the label mutate should fail")
}

#[tokio::test(start_paused = true)]
async fn retry_then_success() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.synthetic_campaigns(CID, 3);
    fake.inject_times(
        "GoogleAdsService/Search",
        Fault::Status(Code::Unavailable),
        2,
    );
    let started = Instant::now();
    assert_eq!(search(&client).await.unwrap(), 3);
    let waited = started.elapsed();
    assert_eq!(calls_to(&fake, "GoogleAdsService/Search"), 3);
    // Backoff 5 s then 6.5 s, each jittered to between half and all of it.
    assert!(
        waited >= Duration::from_millis(2_500 + 3_250) && waited <= Duration::from_millis(11_600),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_budget_exhausted_surfaces_the_last_error_with_the_attempt_count() {
    let (fake, _, _) = fake_and_client(FakeServer::builder()).await;
    let client = client_with_policy(&fake, GoogleRetry::default().with_attempt_limit(4));
    fake.inject_always("GoogleAdsService/Search", Fault::Status(Code::Unavailable));
    let error = search(&client).await.unwrap_err();
    assert_eq!(error.code(), Some(Code::Unavailable));
    assert_eq!(error.attempts(), 4);
    assert_eq!(calls_to(&fake, "GoogleAdsService/Search"), 4);
    assert!(error.request_id().is_some(), "{error}");
    assert!(
        error.to_string().ends_with("gave up after 4 attempts"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_overall_time_limit_stops_retries() {
    let (fake, _, _) = fake_and_client(FakeServer::builder()).await;
    let client = client_with_policy(
        &fake,
        GoogleRetry::default().with_time_limit(Duration::from_secs(30)),
    );
    fake.inject_always("GoogleAdsService/Search", Fault::Status(Code::Unavailable));
    let started = Instant::now();
    let error = search(&client).await.unwrap_err();
    assert!(
        started.elapsed() <= Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        error.attempts() >= 3,
        "5 s-ish backoffs fit at least twice in 30 s"
    );
}

#[tokio::test(start_paused = true)]
async fn a_quota_wait_honours_a_40_second_retry_delay() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.inject(
        "GoogleAdsService/Search",
        Fault::Quota {
            retry_delay: Duration::from_secs(40),
            developer: false,
        },
    );
    let started = Instant::now();
    search(&client).await.unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(40) && waited <= Duration::from_secs(44),
        "at least the retry delay, plus at most 10% jitter: {waited:?}"
    );
    assert_eq!(calls_to(&fake, "GoogleAdsService/Search"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_quota_delay_past_the_cap_is_surfaced_with_the_delay() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.inject(
        "GoogleAdsService/Search",
        Fault::Quota {
            retry_delay: Duration::from_secs(3 * 3600),
            developer: true,
        },
    );
    let started = Instant::now();
    let error = search(&client).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1), "no wait");
    assert!(error.is_quota());
    assert_eq!(error.retry_delay(), Some(Duration::from_secs(3 * 3600)));
    assert!(
        error
            .to_string()
            .contains("the server asks to retry after 10800s"),
        "{error}"
    );
    assert_eq!(calls_to(&fake, "GoogleAdsService/Search"), 1);
}

#[tokio::test(start_paused = true)]
async fn invalid_argument_is_not_retried() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    let error = client
        .google_ads()
        .search(SearchGoogleAdsRequest {
            customer_id: CID.into(),
            query: "SELECT nonsense FROM".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(Code::InvalidArgument));
    assert_eq!(error.attempts(), 1);
    assert_eq!(calls_to(&fake, "GoogleAdsService/Search"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_create_mutate_is_not_retried_on_deadline_exceeded_by_default() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.inject(
        "LabelService/MutateLabels",
        Fault::Status(Code::DeadlineExceeded),
    );
    let error = label_failure(&client, "Once").await;
    assert_eq!(error.code(), Some(Code::DeadlineExceeded));
    assert_eq!(calls_to(&fake, "LabelService/MutateLabels"), 1);

    // Opted in for this call: retried, and it passes.
    fake.inject(
        "LabelService/MutateLabels",
        Fault::Status(Code::DeadlineExceeded),
    );
    let mut request = tonic::Request::new(create_label("Twice"));
    CallOptions::new().idempotent(true).apply(&mut request);
    client.label().mutate_labels(request).await.unwrap();
    assert_eq!(calls_to(&fake, "LabelService/MutateLabels"), 3);
}

#[tokio::test(start_paused = true)]
async fn a_mutate_is_retried_on_unavailable_from_the_server() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.inject(
        "LabelService/MutateLabels",
        Fault::Status(Code::Unavailable),
    );
    client
        .label()
        .mutate_labels(create_label("A"))
        .await
        .unwrap();
    assert_eq!(calls_to(&fake, "LabelService/MutateLabels"), 2);
    assert_eq!(fake.count(CID, "Label"), 1);
}

#[tokio::test(start_paused = true)]
async fn a_mutate_whose_connection_broke_after_handling_is_not_resent() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.inject("LabelService/MutateLabels", Fault::ResetAfterHandling);
    let error = label_failure(&client, "Committed").await;
    assert_eq!(error.attempts(), 1, "{error}");
    assert_eq!(fake.count(CID, "Label"), 1, "committed once, not twice");
}

#[tokio::test(start_paused = true)]
async fn a_search_whose_connection_broke_is_retried() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.synthetic_campaigns(CID, 2);
    fake.inject("GoogleAdsService/Search", Fault::ResetBeforeHandling);
    assert_eq!(search(&client).await.unwrap(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_attempt_timeout_is_deadline_exceeded_and_retried_for_reads() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.synthetic_campaigns(CID, 1);
    fake.inject(
        "GoogleAdsService/Search",
        Fault::Latency(Duration::from_secs(600)),
    );
    let mut request = tonic::Request::new(SearchGoogleAdsRequest {
        customer_id: CID.into(),
        query: "SELECT campaign.id FROM campaign".into(),
        ..Default::default()
    });
    CallOptions::new()
        .attempt_timeout(Duration::from_secs(10))
        .apply(&mut request);
    let started = Instant::now();
    let rows = client.google_ads().search(request).await.unwrap();
    assert_eq!(rows.results.len(), 1);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let first = &fake.calls()[0];
    assert_eq!(first.header("grpc-timeout"), Some("10000m"));
}

#[tokio::test(start_paused = true)]
async fn an_expired_token_is_refreshed_once_and_the_call_retried() {
    let builder = FakeServer::builder().token_verifier(|token| match token {
        "token-1" => TokenCheck::Expired,
        _ => TokenCheck::Valid,
    });
    let (fake, client, tokens) = fake_and_client(builder).await;
    client
        .customer()
        .list_accessible_customers(google_ads::latest::services::ListAccessibleCustomersRequest {})
        .await
        .unwrap();
    assert_eq!(tokens.0.load(std::sync::atomic::Ordering::SeqCst), 2);
    let sent: Vec<_> = fake
        .calls()
        .iter()
        .map(|c| c.header("authorization").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(sent, ["Bearer token-1", "Bearer token-2"]);

    // A token that keeps failing is refreshed once only, then surfaced.
    let builder = FakeServer::builder().token_verifier(|_| TokenCheck::Expired);
    let (fake, client, tokens) = fake_and_client(builder).await;
    let error = client
        .customer()
        .list_accessible_customers(google_ads::latest::services::ListAccessibleCustomersRequest {})
        .await
        .unwrap_err();
    assert!(error.is_auth(), "{error}");
    assert_eq!(fake.calls().len(), 2);
    assert_eq!(tokens.0.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_stream_failing_before_its_first_row_is_retried() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.synthetic_campaigns(CID, 25_000);
    fake.inject(
        "GoogleAdsService/SearchStream",
        Fault::Status(Code::Unavailable),
    );
    let rows = client
        .search_stream(CID, "SELECT campaign.id FROM campaign")
        .await
        .unwrap()
        .collect_all()
        .await
        .unwrap();
    assert_eq!(rows.len(), 25_000);
    assert_eq!(calls_to(&fake, "GoogleAdsService/SearchStream"), 2);
}

#[tokio::test(start_paused = true)]
async fn a_stream_cut_midway_names_the_rows_delivered_and_is_not_restarted() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.synthetic_campaigns(CID, 25_000);
    fake.inject(
        "GoogleAdsService/SearchStream",
        Fault::ResetAfterRows(10_000),
    );
    let mut stream = client
        .search_stream(CID, "SELECT campaign.id FROM campaign")
        .await
        .unwrap();
    let mut delivered = 0;
    let error = loop {
        match stream.next().await {
            Some(Ok(_)) => delivered += 1,
            Some(Err(error)) => break error,
            None => panic!("the stream should break"),
        }
    };
    assert_eq!(delivered, 10_000);
    assert_eq!(error.rows_delivered(), Some(10_000));
    assert!(
        error
            .to_string()
            .contains("the stream broke after delivering 10000 rows; it was not restarted"),
        "{error}"
    );
    assert_eq!(calls_to(&fake, "GoogleAdsService/SearchStream"), 1);
}

#[tokio::test]
async fn bad_search_input_names_the_field_before_anything_is_sent() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    let error = client
        .search_stream("123-456-7890", "SELECT campaign.id FROM campaign")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("customer_id"), "{error}");
    assert!(error.to_string().contains("10 digits"), "{error}");
    let error = client.search_stream(CID, "  ").await.unwrap_err();
    assert!(error.to_string().contains("query"), "{error}");
    assert!(fake.calls().is_empty());
}

/// A retry sends the same headers as the first attempt, per-call metadata included.
#[tokio::test(start_paused = true)]
async fn a_retry_resends_every_header_of_the_first_attempt() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.inject(
        "CustomerService/ListAccessibleCustomers",
        Fault::Status(Code::Unavailable),
    );
    let request = CallOptions::new()
        .login_customer_id("9876543210".parse().unwrap())
        .request(google_ads::latest::services::ListAccessibleCustomersRequest {});
    client
        .customer()
        .list_accessible_customers(request)
        .await
        .unwrap();
    let calls = fake.calls();
    assert_eq!(calls.len(), 2);
    let headers = |i: usize| {
        let mut h: Vec<(String, String)> = calls[i]
            .metadata
            .iter()
            .filter(|(k, _)| k != "user-agent")
            .cloned()
            .collect();
        h.sort();
        h
    };
    assert_eq!(headers(0), headers(1));
    assert_eq!(calls[1].header("login-customer-id"), Some("9876543210"));
    assert_eq!(
        calls[1].header("developer-token"),
        Some("test-developer-token")
    );
    assert_eq!(calls[1].header("content-type"), Some("application/grpc"));
}

/// tonic's status decoder panics on undecodable status details; the client's layer drops
/// them, keeps the status, and retries as usual.
#[tokio::test(start_paused = true)]
async fn corrupt_status_details_from_the_server_neither_panic_nor_hide_the_status() {
    let (fake, client, _) = fake_and_client(FakeServer::builder()).await;
    fake.synthetic_campaigns(CID, 1);
    fake.inject("GoogleAdsService/Search", Fault::CorruptStatusDetails);
    assert_eq!(search(&client).await.unwrap(), 1);
    assert_eq!(calls_to(&fake, "GoogleAdsService/Search"), 2);

    let client = client_with_policy(&fake, NeverRetry);
    fake.inject("GoogleAdsService/Search", Fault::CorruptStatusDetails);
    let error = search(&client).await.unwrap_err();
    assert_eq!(error.code(), Some(Code::Unavailable));
    assert!(error.request_id().is_some());
    assert!(
        error
            .to_string()
            .contains("The service is currently unavailable."),
        "{error}"
    );
}

/// The default policy gives up after 5 attempts: a dead endpoint fails in about half a
/// minute, not after Google's 4-hour overall limit.
#[tokio::test(start_paused = true)]
async fn a_dead_endpoint_fails_after_the_default_attempt_limit() {
    // A socket bound but not listening: connections to it are refused, and no other test
    // can take the port while it is held.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    let config = Config::builder()
        .with_access_token("unused")
        .with_developer_token("test-developer-token")
        .with_endpoint(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let client = GoogleAdsClient::builder(config).build().unwrap();
    let started = Instant::now();
    let error = search(&client).await.unwrap_err();
    assert_eq!(error.code(), Some(Code::Unavailable), "{error}");
    assert_eq!(error.attempts(), google_ads::retry::DEFAULT_ATTEMPTS);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    assert!(error.to_string().contains("cannot connect"), "{error}");
}

/// A policy can be checked on its own: errors decoded from the fake's real answers, attempts
/// built with `FailedAttempt::new`, no call made per decision. This is the decision table of
/// the default policy, which the tests above exercise through whole calls.
#[tokio::test(start_paused = true)]
async fn a_policy_decides_on_attempts_built_from_real_errors() {
    let (fake, _, _) = fake_and_client(FakeServer::builder()).await;
    let client = client_with_policy(&fake, NeverRetry);
    let fail_with = async |fault: Fault| {
        fake.inject("LabelService/MutateLabels", fault);
        label_failure(&client, "L").await
    };
    let unavailable = fail_with(Fault::Status(Code::Unavailable)).await;
    let deadline = fail_with(Fault::Status(Code::DeadlineExceeded)).await;
    let quota = fail_with(Fault::Quota {
        retry_delay: Duration::from_secs(40),
        developer: false,
    })
    .await;
    let invalid = fail_with(Fault::Status(Code::InvalidArgument)).await;
    let policy = GoogleRetry::default();
    let first = |error| FailedAttempt::new(error, 1, Duration::from_secs(1));

    let delay = policy
        .retry_after(&first(&unavailable))
        .expect("UNAVAILABLE is retried");
    assert!(
        (Duration::from_millis(2500)..=Duration::from_secs(5)).contains(&delay),
        "the first backoff, 5 s jittered to [1/2, 1]: {delay:?}"
    );
    // The connection broke mid-call: a mutate may have committed.
    let mut broken = first(&unavailable);
    broken.from_server = false;
    assert_eq!(policy.retry_after(&broken), None);
    // No connection was made: nothing was sent.
    broken.connect_failed = true;
    assert!(policy.retry_after(&broken).is_some());

    assert_eq!(
        policy.retry_after(&first(&deadline)),
        None,
        "a mutate may have committed"
    );
    let mut read = first(&deadline);
    read.idempotent = true;
    assert!(policy.retry_after(&read).is_some());

    let wait = policy
        .retry_after(&first(&quota))
        .expect("a 40 s quota delay is waited");
    assert!(
        (Duration::from_secs(40)..=Duration::from_secs(44)).contains(&wait),
        "{wait:?}"
    );
    assert_eq!(policy.retry_after(&first(&invalid)), None);

    let limited = GoogleRetry::default().with_attempt_limit(3);
    assert!(
        limited
            .retry_after(&FailedAttempt::new(&unavailable, 2, Duration::ZERO))
            .is_some()
    );
    assert_eq!(
        limited.retry_after(&FailedAttempt::new(&unavailable, 3, Duration::ZERO)),
        None
    );
}

/// What a retry observer saw of one wait: when (since the test began), the method, the
/// attempt, the error's code and quota delay, and the wait announced.
#[derive(Debug)]
struct Seen {
    at: Duration,
    method: String,
    attempt: u32,
    code: Option<Code>,
    quota: bool,
    retry_delay: Option<Duration>,
    delay: Duration,
}

type SeenLog = std::sync::Arc<std::sync::Mutex<Vec<Seen>>>;

/// An observer that notes each wait in `log`, timed from `started`.
fn noting(
    log: &SeenLog,
    started: Instant,
) -> impl Fn(&google_ads::retry::Retrying<'_>) + Send + Sync + 'static {
    let log = log.clone();
    move |r| {
        log.lock().unwrap().push(Seen {
            at: started.elapsed(),
            method: r.method.to_owned(),
            attempt: r.attempt,
            code: r.error.code(),
            quota: r.error.is_quota(),
            retry_delay: r.error.retry_delay(),
            delay: r.delay,
        })
    }
}

#[tokio::test(start_paused = true)]
async fn the_clients_retry_observer_sees_each_quota_wait_before_it_starts() {
    let fake = FakeServer::builder().start().await.unwrap();
    fake.synthetic_campaigns(CID, 2);
    let log = SeenLog::default();
    let started = Instant::now();
    let client = client_builder(&fake, std::sync::Arc::new(CountingTokens::default()))
        .on_retry(noting(&log, started))
        .build()
        .unwrap();
    fake.inject(
        "GoogleAdsService/Search",
        Fault::Quota {
            retry_delay: Duration::from_secs(40),
            developer: false,
        },
    );
    fake.inject(
        "GoogleAdsService/Search",
        Fault::Status(Code::ResourceExhausted),
    );

    assert_eq!(search(&client).await.unwrap(), 2);
    let total = started.elapsed();
    let seen = log.lock().unwrap();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let (first, second) = (&seen[0], &seen[1]);
    assert_eq!(first.method, "GoogleAdsService/Search");
    assert_eq!((first.attempt, second.attempt), (1, 2));
    assert!(first.quota && second.quota, "{seen:?}");
    assert_eq!(first.code, Some(Code::ResourceExhausted));
    assert_eq!(first.retry_delay, Some(Duration::from_secs(40)));
    assert!(
        (Duration::from_secs(40)..=Duration::from_secs(44)).contains(&first.delay),
        "at least the server's delay: {seen:?}"
    );
    assert_eq!(second.retry_delay, None);
    assert!(
        (Duration::from_millis(3_250)..=Duration::from_millis(6_500)).contains(&second.delay),
        "the second backoff, 6.5 s jittered: {seen:?}"
    );
    // Each is told before its wait: the first at once, the second after the first wait.
    assert!(first.at < Duration::from_secs(1), "{seen:?}");
    assert!(
        second.at >= first.delay && second.at < first.delay + Duration::from_secs(1),
        "{seen:?}"
    );
    assert!(total >= first.delay + second.delay, "{total:?} {seen:?}");
    assert_eq!(calls_to(&fake, "GoogleAdsService/Search"), 3);
}

#[tokio::test(start_paused = true)]
async fn a_calls_retry_observer_replaces_the_clients_for_that_call() {
    let fake = FakeServer::builder().start().await.unwrap();
    let started = Instant::now();
    let (client_log, call_log) = (SeenLog::default(), SeenLog::default());
    let client = client_builder(&fake, std::sync::Arc::new(CountingTokens::default()))
        .on_retry(noting(&client_log, started))
        .build()
        .unwrap();
    let quota = Fault::Quota {
        retry_delay: Duration::from_secs(2),
        developer: false,
    };

    // A mutate refused for quota was not applied: it is sent again, and lands once.
    fake.inject("LabelService/MutateLabels", quota.clone());
    let request = CallOptions::new()
        .on_retry(noting(&call_log, started))
        .request(create_label("Observed by the call"));
    client.label().mutate_labels(request).await.unwrap();
    assert_eq!(fake.count(CID, "Label"), 1);
    assert_eq!(call_log.lock().unwrap().len(), 1);
    assert_eq!(
        call_log.lock().unwrap()[0].method,
        "LabelService/MutateLabels"
    );
    assert!(client_log.lock().unwrap().is_empty());

    fake.inject("LabelService/MutateLabels", quota);
    client
        .label()
        .mutate_labels(create_label("Observed by the client"))
        .await
        .unwrap();
    assert_eq!(client_log.lock().unwrap().len(), 1);
    assert_eq!(call_log.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_retry_observer_is_not_told_of_the_attempt_the_policy_gives_up_on() {
    let fake = FakeServer::builder().start().await.unwrap();
    let log = SeenLog::default();
    let client = client_builder(&fake, std::sync::Arc::new(CountingTokens::default()))
        .with_retry_policy(GoogleRetry::default().with_attempt_limit(3))
        .on_retry(noting(&log, Instant::now()))
        .build()
        .unwrap();
    fake.inject_always("GoogleAdsService/Search", Fault::Status(Code::Unavailable));
    let error = search(&client).await.unwrap_err();
    assert_eq!(error.attempts(), 3);
    let seen = log.lock().unwrap();
    let attempts: Vec<u32> = seen.iter().map(|s| s.attempt).collect();
    assert_eq!(attempts, [1, 2], "two waits, none after the last attempt");
    assert!(
        seen.iter()
            .all(|s| s.code == Some(Code::Unavailable) && !s.quota)
    );
}
