//! Request checks: credentials, developer token, login-customer-id, customer ids; call log.

use google_ads::fake::{FakeServer, TokenCheck};
use google_ads::latest::services::customer_service_client::CustomerServiceClient;
use google_ads::latest::services::google_ads_service_client::GoogleAdsServiceClient;
use google_ads::latest::services::{ListAccessibleCustomersRequest, MutateGoogleAdsRequest};
use tonic::{Code, Request};

use super::*;

#[tokio::test]
async fn list_accessible_customers_lists_the_configured_customers() {
    let ctx = start(
        FakeServer::builder()
            .customer("1111111111")
            .customer("2222222222"),
    )
    .await;
    let response = CustomerServiceClient::new(ctx.channel.clone())
        .list_accessible_customers(req(ListAccessibleCustomersRequest {}))
        .await
        .unwrap();
    assert!(response.metadata().get("request-id").is_some());
    assert_eq!(
        response.into_inner().resource_names,
        ["customers/1111111111", "customers/2222222222"]
    );
}

#[tokio::test]
async fn missing_authorization_is_unauthenticated_with_a_failure_and_request_id() {
    let ctx = start_default().await;
    let mut request = Request::new(ListAccessibleCustomersRequest {});
    request
        .metadata_mut()
        .insert("developer-token", "dev".parse().unwrap());
    let status = CustomerServiceClient::new(ctx.channel.clone())
        .list_accessible_customers(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let failure = failure(&status);
    assert_eq!(
        codes(&failure),
        ["authentication_error: OAUTH_TOKEN_HEADER_INVALID"]
    );
    assert_eq!(failure.request_id, request_id(&status));
}

#[tokio::test]
async fn the_token_verifier_decides_and_its_verdict_is_the_error_code() {
    let ctx = start(FakeServer::builder().token_verifier(|token| match token {
        "good" => TokenCheck::Valid,
        "old" => TokenCheck::Expired,
        "gone" => TokenCheck::Revoked,
        _ => TokenCheck::Invalid,
    }))
    .await;
    let mut client = CustomerServiceClient::new(ctx.channel.clone());
    for (token, expected) in [
        ("old", Some("authentication_error: OAUTH_TOKEN_EXPIRED")),
        ("gone", Some("authentication_error: OAUTH_TOKEN_REVOKED")),
        ("junk", Some("authentication_error: OAUTH_TOKEN_INVALID")),
        ("good", None),
    ] {
        let mut request = req(ListAccessibleCustomersRequest {});
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
        match (client.list_accessible_customers(request).await, expected) {
            (Ok(_), None) => {}
            (Err(status), Some(code)) => {
                assert_eq!(status.code(), Code::Unauthenticated, "{token}");
                assert_eq!(codes(&failure(&status)), [code]);
            }
            (other, _) => panic!("{token}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn developer_token_is_required_and_checked_when_configured() {
    let ctx = start(FakeServer::builder().developer_token("approved")).await;
    let mut client = CustomerServiceClient::new(ctx.channel.clone());
    let mut request = req(ListAccessibleCustomersRequest {});
    request.metadata_mut().remove("developer-token");
    let status = client.list_accessible_customers(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        codes(&failure(&status)),
        ["request_error: DEVELOPER_TOKEN_PARAMETER_MISSING"]
    );

    let status = client
        .list_accessible_customers(req(ListAccessibleCustomersRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(
        codes(&failure(&status)),
        ["authorization_error: AUTHORIZATION_ERROR"]
    );

    let mut request = req(ListAccessibleCustomersRequest {});
    request
        .metadata_mut()
        .insert("developer-token", "approved".parse().unwrap());
    client.list_accessible_customers(request).await.unwrap();
}

#[tokio::test]
async fn customer_ids_must_be_ten_digits_and_accessible() {
    let ctx = start_default().await;
    let mut client = GoogleAdsServiceClient::new(ctx.channel.clone());
    let mutate = |customer_id: &str| {
        req(MutateGoogleAdsRequest {
            customer_id: customer_id.into(),
            mutate_operations: vec![label("L")],
            ..Default::default()
        })
    };
    let status = client.mutate(mutate("123-456-7890")).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        codes(&failure(&status)),
        ["request_error: INVALID_CUSTOMER_ID"]
    );
    let status = client.mutate(mutate("9999999999")).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(
        codes(&failure(&status)),
        ["authorization_error: USER_PERMISSION_DENIED"]
    );
    client.mutate(mutate(CID)).await.unwrap();
}

#[tokio::test]
async fn login_customer_id_is_required_when_configured() {
    let ctx = start(FakeServer::builder().require_login_customer_id(true)).await;
    let mut client = CustomerServiceClient::new(ctx.channel.clone());
    let status = client
        .list_accessible_customers(req(ListAccessibleCustomersRequest {}))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        codes(&failure(&status)),
        ["request_error: LOGIN_CUSTOMER_ID_PARAMETER_MISSING"]
    );
    let mut request = req(ListAccessibleCustomersRequest {});
    request
        .metadata_mut()
        .insert("login-customer-id", "9876543210".parse().unwrap());
    client.list_accessible_customers(request).await.unwrap();
}

#[tokio::test]
async fn the_call_log_records_method_headers_and_request() {
    let ctx = start_default().await;
    let mut request = req(MutateGoogleAdsRequest {
        customer_id: CID.into(),
        mutate_operations: vec![label("Logged")],
        ..Default::default()
    });
    request
        .metadata_mut()
        .insert("linked-customer-id", "5555555555".parse().unwrap());
    GoogleAdsServiceClient::new(ctx.channel.clone())
        .mutate(request)
        .await
        .unwrap();
    let calls = ctx.fake.calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(
        call.method,
        format!(
            "google.ads.googleads.{}.services.GoogleAdsService/Mutate",
            google_ads::API_VERSION
        )
    );
    assert_eq!(
        call.header("authorization"),
        Some("Bearer test-access-token")
    );
    assert_eq!(call.header("developer-token"), Some("test-developer-token"));
    assert_eq!(call.header("linked-customer-id"), Some("5555555555"));
    let sent: MutateGoogleAdsRequest = call.decode().unwrap();
    assert_eq!(sent.mutate_operations, vec![label("Logged")]);
}

#[tokio::test]
async fn tls_with_the_handed_out_certificate() {
    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
    let fake = FakeServer::builder().tls(true).start().await.unwrap();
    assert!(fake.uri().starts_with("https://localhost:"));
    let ca = fake.ca_pem().expect("a certificate with TLS");
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    let channel = Endpoint::from_shared(fake.uri())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let names = CustomerServiceClient::new(channel)
        .list_accessible_customers(req(ListAccessibleCustomersRequest {}))
        .await
        .unwrap();
    assert_eq!(
        names.into_inner().resource_names,
        [format!("customers/{CID}")]
    );

    // Without trusting it, the handshake fails.
    let untrusted = ClientTlsConfig::new().domain_name("localhost");
    let refused = async {
        Endpoint::from_shared(fake.uri())
            .unwrap()
            .tls_config(untrusted)
            .unwrap()
            .connect()
            .await
    };
    assert!(
        refused.await.is_err(),
        "a self-signed certificate is not trusted by default"
    );
}
