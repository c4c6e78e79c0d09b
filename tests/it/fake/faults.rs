//! Scripted faults: status codes, quota with retry delay, latency, connection resets.

use std::time::Duration;

use google_ads::fake::Fault;
use google_ads::latest::services::customer_service_client::CustomerServiceClient;
use google_ads::latest::services::google_ads_service_client::GoogleAdsServiceClient;
use google_ads::latest::services::{
    ListAccessibleCustomersRequest, MutateGoogleAdsRequest, SearchGoogleAdsStreamRequest,
};
use tonic::Code;

use super::*;

async fn list(ctx: &Ctx) -> Result<(), tonic::Status> {
    CustomerServiceClient::new(ctx.channel.clone())
        .list_accessible_customers(req(ListAccessibleCustomersRequest {}))
        .await
        .map(|_| ())
}

#[tokio::test]
async fn status_faults_fire_the_scripted_number_of_times() {
    let ctx = start_default().await;
    ctx.fake.inject(
        "CustomerService/ListAccessibleCustomers",
        Fault::Status(Code::Unavailable),
    );
    ctx.fake
        .inject_times("ListAccessibleCustomers", Fault::Status(Code::Internal), 2);
    ctx.fake.inject(
        "ListAccessibleCustomers",
        Fault::Status(Code::DeadlineExceeded),
    );
    let unavailable = list(&ctx).await.unwrap_err();
    assert_eq!(unavailable.code(), Code::Unavailable);
    assert!(
        unavailable
            .metadata()
            .get_bin(google_ads::FAILURE_TRAILER_KEY)
            .is_none(),
        "like the front end: no failure"
    );
    assert!(!request_id(&unavailable).is_empty());
    for _ in 0..2 {
        let internal = list(&ctx).await.unwrap_err();
        assert_eq!(internal.code(), Code::Internal);
        assert_eq!(
            codes(&failure(&internal)),
            ["internal_error: INTERNAL_ERROR"]
        );
    }
    let deadline = list(&ctx).await.unwrap_err();
    assert_eq!(deadline.code(), Code::DeadlineExceeded);
    assert_eq!(
        codes(&failure(&deadline)),
        ["internal_error: DEADLINE_EXCEEDED"]
    );
    list(&ctx).await.unwrap();
    assert_eq!(ctx.fake.calls().len(), 5);
}

#[tokio::test]
async fn quota_faults_carry_the_retry_delay() {
    let ctx = start_default().await;
    ctx.fake.inject(
        "ListAccessibleCustomers",
        Fault::Quota {
            retry_delay: Duration::from_secs(40),
            developer: false,
        },
    );
    ctx.fake.inject(
        "ListAccessibleCustomers",
        Fault::Quota {
            retry_delay: Duration::from_secs(3600),
            developer: true,
        },
    );
    for (expected_code, expected_delay, scope) in [
        ("RESOURCE_TEMPORARILY_EXHAUSTED", 40, 2),
        ("RESOURCE_EXHAUSTED", 3600, 3),
    ] {
        let status = list(&ctx).await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted);
        let failure = failure(&status);
        assert_eq!(codes(&failure), [format!("quota_error: {expected_code}")]);
        let details = failure.errors[0]
            .details
            .as_ref()
            .unwrap()
            .quota_error_details
            .as_ref()
            .unwrap();
        assert_eq!(details.retry_delay.unwrap().seconds, expected_delay);
        assert_eq!(details.rate_scope, scope);
    }
}

#[tokio::test(start_paused = true)]
async fn latency_is_tokio_time() {
    let ctx = start_default().await;
    ctx.fake.inject_always(
        "ListAccessibleCustomers",
        Fault::Latency(Duration::from_secs(30 * 60)),
    );
    let started = tokio::time::Instant::now();
    list(&ctx).await.unwrap();
    list(&ctx).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(60 * 60),
        "two half-hour calls, on the paused clock"
    );
}

#[tokio::test]
async fn a_reset_after_handling_loses_the_response_but_not_the_change() {
    let ctx = start_default().await;
    ctx.fake
        .inject("GoogleAdsService/Mutate", Fault::ResetAfterHandling);
    let request = MutateGoogleAdsRequest {
        customer_id: CID.into(),
        mutate_operations: vec![label("Kept")],
        ..Default::default()
    };
    let status = GoogleAdsServiceClient::new(ctx.channel.clone())
        .mutate(req(request))
        .await
        .unwrap_err();
    assert!(
        matches!(
            status.code(),
            Code::Unavailable | Code::Unknown | Code::Internal
        ),
        "{status:?}"
    );
    assert_eq!(
        ctx.fake.count(CID, "Label"),
        1,
        "the change committed before the connection dropped"
    );
}

#[tokio::test]
async fn a_reset_before_handling_loses_the_request() {
    let ctx = start_default().await;
    ctx.fake
        .inject("GoogleAdsService/Mutate", Fault::ResetBeforeHandling);
    let request = MutateGoogleAdsRequest {
        customer_id: CID.into(),
        mutate_operations: vec![label("Lost")],
        ..Default::default()
    };
    let status = GoogleAdsServiceClient::new(ctx.channel.clone())
        .mutate(req(request))
        .await
        .unwrap_err();
    // The connection dropped: tonic's transport error (UNKNOWN), no answer from the server.
    assert_eq!(status.code(), Code::Unknown, "{status:?}");
    assert!(status.message().contains("transport error"), "{status:?}");
    assert!(status.metadata().get("request-id").is_none(), "{status:?}");
    assert_eq!(ctx.fake.count(CID, "Label"), 0);
}

#[tokio::test]
async fn a_stream_cut_mid_way_delivers_its_first_rows_then_fails() {
    let ctx = start_default().await;
    ctx.fake.synthetic_campaigns(CID, 30_000);
    ctx.fake
        .inject("SearchStream", Fault::ResetAfterRows(10_000));
    let request = SearchGoogleAdsStreamRequest {
        customer_id: CID.into(),
        query: "SELECT campaign.id FROM campaign".into(),
        ..Default::default()
    };
    let mut stream = GoogleAdsServiceClient::new(ctx.channel.clone())
        .search_stream(req(request))
        .await
        .unwrap()
        .into_inner();
    let mut rows = 0;
    let error = loop {
        match stream.message().await {
            Ok(Some(batch)) => rows += batch.results.len(),
            Ok(None) => panic!("the stream ended cleanly after {rows} rows"),
            Err(status) => break status,
        }
    };
    assert_eq!(rows, 10_000);
    // Cut by the connection, not ended by a status from the server.
    assert_eq!(error.code(), Code::Unknown, "{error:?}");
    assert!(
        error.message().contains("error reading a body"),
        "{error:?}"
    );
}

mod per_customer {
    use google_ads::latest::resources::BatchJob;
    use google_ads::latest::services::batch_job_service_client::BatchJobServiceClient;
    use google_ads::latest::services::{
        AddBatchJobOperationsRequest, BatchJobOperation, MutateBatchJobRequest, RunBatchJobRequest,
        batch_job_operation,
    };
    use google_ads::longrunning::GetOperationRequest;
    use google_ads::longrunning::operations_client::OperationsClient;

    use super::*;

    const A: &str = "1111111111";
    const B: &str = "2222222222";

    /// A pending job of `customer` holding one operation.
    async fn job(ctx: &Ctx, customer: &str) -> String {
        let mut client = BatchJobServiceClient::new(ctx.channel.clone());
        let create = BatchJobOperation {
            operation: Some(batch_job_operation::Operation::Create(BatchJob::default())),
        };
        let job = client
            .mutate_batch_job(req(MutateBatchJobRequest {
                customer_id: customer.into(),
                operation: Some(create),
            }))
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap()
            .resource_name;
        client
            .add_batch_job_operations(req(AddBatchJobOperationsRequest {
                resource_name: job.clone(),
                sequence_token: String::new(),
                mutate_operations: vec![label("L")],
            }))
            .await
            .unwrap();
        job
    }

    async fn run(ctx: &Ctx, job: &str) -> Result<String, tonic::Status> {
        BatchJobServiceClient::new(ctx.channel.clone())
            .run_batch_job(req(RunBatchJobRequest {
                resource_name: job.into(),
            }))
            .await
            .map(|r| r.into_inner().name)
    }

    #[tokio::test(start_paused = true)]
    async fn a_customers_fault_fires_on_its_calls_only_and_before_the_global_ones() {
        let ctx = start(FakeServer::builder().customer(A).customer(B)).await;
        let (a1, a2, b1) = (job(&ctx, A).await, job(&ctx, A).await, job(&ctx, B).await);
        ctx.fake.inject_for(
            A,
            "BatchJobService/RunBatchJob",
            Fault::AdsError {
                code: Code::PermissionDenied,
                category: "authorization_error",
                name: "USER_PERMISSION_DENIED",
            },
            None,
        );
        ctx.fake
            .inject("RunBatchJob", Fault::Status(Code::Unavailable));

        // A's own fault comes first and leaves the global one for the next call.
        for job in [&a1, &a2] {
            let status = run(&ctx, job).await.unwrap_err();
            assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
            assert_eq!(
                codes(&failure(&status)),
                ["authorization_error: USER_PERMISSION_DENIED"]
            );
        }
        let status = run(&ctx, &b1).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "the global fault, once");
        let operation = run(&ctx, &b1).await.unwrap();
        assert!(operation.starts_with(&format!("customers/{B}/operations/")));
        assert!(
            run(&ctx, &a1).await.is_err(),
            "A's fault fires forever (times None)"
        );
        assert_eq!(
            ctx.fake.batch_job_operations(&a1).unwrap().len(),
            1,
            "A's job is untouched"
        );

        // An operation name carries its customer too; Some(n) fires n times.
        ctx.fake.inject_for(
            B,
            "Operations/GetOperation",
            Fault::Status(Code::Internal),
            Some(1),
        );
        ctx.fake.inject_for(
            A,
            "Operations/GetOperation",
            Fault::Status(Code::Internal),
            Some(0),
        );
        let mut operations = OperationsClient::new(ctx.channel.clone());
        let get = GetOperationRequest { name: operation };
        let status = operations
            .get_operation(req(get.clone()))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Internal);
        operations.get_operation(req(get)).await.unwrap();
    }
}

mod recognising_the_fake {
    use google_ads::fake::{FAKE_HEADER, answers_as_fake};
    use google_ads::latest::services::ListAccessibleCustomersResponse;
    use google_ads::latest::services::customer_service_server::{
        CustomerService, CustomerServiceServer,
    };
    use google_ads::longrunning::ListOperationsRequest;
    use google_ads::longrunning::operations_client::OperationsClient;

    use super::*;

    fn version(metadata: &tonic::metadata::MetadataMap) -> Option<&str> {
        metadata.get(FAKE_HEADER).and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn every_answer_carries_the_fake_header() {
        let ctx = start_default().await;
        let ours = Some(env!("CARGO_PKG_VERSION"));
        let mut customers = CustomerServiceClient::new(ctx.channel.clone());
        let ok = customers
            .list_accessible_customers(req(ListAccessibleCustomersRequest {}))
            .await
            .unwrap();
        assert_eq!(version(ok.metadata()), ours, "unary success");
        let refused = customers
            .list_accessible_customers(ListAccessibleCustomersRequest {})
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated);
        assert_eq!(version(refused.metadata()), ours, "unary failure");

        let mut ads = GoogleAdsServiceClient::new(ctx.channel.clone());
        let stream = ads
            .search_stream(req(SearchGoogleAdsStreamRequest {
                customer_id: CID.into(),
                query: "SELECT campaign.id FROM campaign".into(),
                ..Default::default()
            }))
            .await
            .unwrap();
        assert_eq!(version(stream.metadata()), ours, "stream");
        let bad = ads
            .search_stream(req(SearchGoogleAdsStreamRequest {
                customer_id: CID.into(),
                query: "SELECT nothing FROM nowhere".into(),
                ..Default::default()
            }))
            .await
            .unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument);
        assert_eq!(version(bad.metadata()), ours, "stream failure");

        // A method the fake does not serve: still the fake's answer, and in the call log.
        let unserved = OperationsClient::new(ctx.channel.clone())
            .list_operations(req(ListOperationsRequest::default()))
            .await
            .unwrap_err();
        assert_eq!(unserved.code(), Code::Unimplemented);
        assert_eq!(version(unserved.metadata()), ours, "unimplemented");
        let calls = ctx.fake.calls();
        assert_eq!(calls.len(), 5);
        assert!(calls[4].method.ends_with("Operations/ListOperations"));
    }

    /// A gRPC server that is not the fake: CustomerService alone, answering
    /// ListAccessibleCustomers (or refusing it) without the fake's header.
    struct Plain {
        refuse: bool,
    }

    #[tonic::async_trait]
    impl CustomerService for Plain {
        async fn list_accessible_customers(
            &self,
            _: tonic::Request<ListAccessibleCustomersRequest>,
        ) -> Result<tonic::Response<ListAccessibleCustomersResponse>, tonic::Status> {
            if self.refuse {
                return Err(tonic::Status::permission_denied("not you"));
            }
            Ok(tonic::Response::new(ListAccessibleCustomersResponse {
                resource_names: vec!["customers/1234567890".into()],
            }))
        }
    }

    async fn plain_server(refuse: bool) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(CustomerServiceServer::new(Plain { refuse }))
                .serve_with_incoming(incoming),
        );
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn answers_as_fake_tells_the_fake_from_another_server_on_loopback() {
        let ctx = start_default().await;
        assert!(
            answers_as_fake(&crate::client_at(ctx.fake.uri()))
                .await
                .unwrap()
        );

        let plain = plain_server(false).await;
        assert!(!answers_as_fake(&crate::client_at(plain)).await.unwrap());

        // A failure the fake answered is still the fake's; another server's is an error.
        let refusing =
            start(FakeServer::builder().token_verifier(|_| google_ads::fake::TokenCheck::Revoked))
                .await;
        assert!(
            answers_as_fake(&crate::client_at(refusing.fake.uri()))
                .await
                .unwrap()
        );
        let plain = plain_server(true).await;
        let error = answers_as_fake(&crate::client_at(plain)).await.unwrap_err();
        assert_eq!(error.code(), Some(Code::PermissionDenied), "{error}");
    }
}
